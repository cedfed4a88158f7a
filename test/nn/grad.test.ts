/**
 * Gradients through every layer type, by finite differences in float64 (test/helpers/tapecheck.ts): the layer
 * runs on float64 copies of its input and weights, substituted for the float32 variables with withWeights, so
 * autograd's gradient with respect to the input and every trainable weight is compared with central differences
 * of the same computation. Moving statistics enter as constants. Tolerances are tapecheck's (see its header);
 * non-smooth layers (relu, max pooling, maxout) get distinct, well-separated input values (no near-ties, nothing
 * near a kink); the dense relu case relies on its seed putting no pre-activation within h of 0.
 */
import { describe, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { layers, input, model, regularizers, withWeights, type Layer } from '../../src/nn/index.js';
import { tapeGradCheck } from '../helpers/tapecheck.js';
import { uniformF64 } from '../helpers/random.js';

let seed = 900;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
function f64(shape: readonly number[], lo = -1, hi = 1): Tensor {
  return new Tensor(uniformF64(size(shape), seed++, lo, hi), shape);
}

/**
 * Distinct values (2k + 0.5 - n) / n in a seeded random order: any two differ by 2/n and none is within 0.5/n of 0,
 * far more than h, so max pooling and maxout have no near-ties and relu no point near its kink.
 */
function distinct(shape: readonly number[]): Tensor {
  const n = size(shape);
  const keys = uniformF64(n, seed++);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  const data = new Float64Array(n);
  order.forEach((slot, k) => (data[slot] = (2 * k + 0.5 - n) / n));
  return new Tensor(data, shape);
}

/** Float64 values for a layer's weights: random, with variances positive (they are divided by). */
function weightValues(layer: Layer): Tensor[] {
  return layer.weights.map((v) => (v.name.endsWith('moving_variance') ? f64(v.shape, 0.5, 2) : f64(v.shape)));
}

interface Opts {
  training?: boolean;
  /** Input range (default [-1, 1)). */
  range?: [number, number];
  /** Well-separated input values (layers with max or kinks). */
  distinct?: boolean;
  /** Several inputs for merge layers. */
  inputs?: number[][];
  maxPerInput?: number;
}

/** Checks d(layer(x))/d(x and trainable weights). */
function checkLayer(what: string, layer: Layer, xShape: number[], o: Opts = {}): void {
  const shapes = o.inputs ?? [xShape];
  const xs32 = shapes.map((s) => new Tensor(new Float32Array(size(s)), s));
  layer.apply(xs32.length === 1 ? xs32[0] : xs32);
  const weights = layer.weights;
  const xs = shapes.map((s) => (o.distinct ? distinct(s) : f64(s, ...(o.range ?? [-1, 1]))));
  const ws = weightValues(layer);
  const n = xs.length;
  const wrt = [...xs.map((_, i) => i), ...weights.flatMap((v, i) => (v.trainable ? [n + i] : []))];
  tapeGradCheck({
    what,
    inputs: [...xs, ...ws],
    wrt,
    maxPerInput: o.maxPerInput ?? 48,
    fn: (...args) => withWeights(new Map(weights.map((v, i) => [v, args[n + i]])), () => {
      const ins = args.slice(0, n);
      return layer.apply(ins.length === 1 ? ins[0] : ins, { training: o.training ?? false });
    }),
  });
}

describe('gradients through layers (float64 finite differences)', () => {
  it('Dense: linear, relu, rank-3 input, no bias', () => {
    checkLayer('dense', layers.dense({ units: 3 }), [2, 4]);
    checkLayer('dense relu', layers.dense({ units: 3, activation: 'relu' }), [3, 4], { distinct: true });
    checkLayer('dense rank 3 softmax', layers.dense({ units: 3, activation: 'softmax', useBias: false }), [2, 2, 4]);
  });

  it("Conv2D: 'same' stride 2, groups, dilation, activation", () => {
    checkLayer('conv2d same s2', layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [2, 5, 4, 2]);
    checkLayer('conv2d groups', layers.conv2d({ filters: 4, kernelSize: [2, 3], groups: 2, activation: 'tanh' }), [1, 4, 5, 4]);
    checkLayer('conv2d dilation', layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2, activation: 'sigmoid' }), [1, 5, 5, 1]);
  });

  it('Conv1D (causal), Conv2DTranspose, DepthwiseConv2D, SeparableConv2D', () => {
    checkLayer('conv1d causal', layers.conv1d({ filters: 2, kernelSize: 3, padding: 'causal', dilationRate: 2 }), [2, 6, 2]);
    checkLayer('conv2dTranspose same s2', layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [1, 3, 2, 2]);
    checkLayer('conv2dTranspose outputPadding', layers.conv2dTranspose({ filters: 1, kernelSize: 2, strides: 2, outputPadding: 1 }), [1, 2, 2, 2]);
    checkLayer('depthwiseConv2d', layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), [1, 4, 3, 2]);
    checkLayer('separableConv2d', layers.separableConv2d({ filters: 3, kernelSize: 2, depthMultiplier: 2, strides: 2 }), [1, 5, 4, 2]);
  });

  it('pooling: max and average (same), global average and max', () => {
    checkLayer('maxPooling2d', layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), [2, 5, 4, 2], { distinct: true });
    checkLayer('averagePooling2d', layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), [2, 5, 4, 2]);
    checkLayer('globalAveragePooling2d', layers.globalAveragePooling2d(), [2, 3, 3, 2]);
    checkLayer('globalMaxPooling2d', layers.globalMaxPooling2d({ keepDims: true }), [2, 3, 3, 2], { distinct: true });
  });

  it('BatchNormalization: training (batch statistics), inference and frozen', () => {
    checkLayer('batchNorm training', layers.batchNormalization(), [3, 2, 2, 3], { training: true });
    checkLayer('batchNorm inference', layers.batchNormalization(), [3, 2, 2, 3]);
    const frozen = layers.batchNormalization({ trainable: false });
    checkLayer('batchNorm frozen', frozen, [2, 5], { training: true });
  });

  it('Dropout in training: the gradient passes through the kept elements, scaled', () => {
    // A fresh layer with the same seed per call draws the same mask, so the finite differences see one function.
    const x = f64([4, 6]);
    tapeGradCheck({ what: 'dropout', inputs: [x], fn: (t) => layers.dropout({ rate: 0.4, seed: 3 }).apply(t, { training: true }) });
  });

  it('reshaping and rescaling: Flatten, Reshape, ZeroPadding2D, Rescaling', () => {
    checkLayer('flatten', layers.flatten(), [2, 2, 3, 1]);
    checkLayer('reshape', layers.reshape({ targetShape: [3, -1] }), [2, 6]);
    checkLayer('zeroPadding2d', layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), [1, 2, 3, 2]);
    checkLayer('rescaling', layers.rescaling({ scale: 0.5, offset: -1 }), [2, 3]);
  });

  it('activation layers: relu (maxValue, negativeSlope), leakyRelu, elu, sigmoid, tanh, softmax, maxout, Activation', () => {
    checkLayer('relu', layers.relu(), [3, 5], { distinct: true });
    checkLayer('relu max', layers.relu({ maxValue: 0.5, negativeSlope: 0.1 }), [3, 5], { distinct: true });
    checkLayer('leakyRelu', layers.leakyRelu(), [3, 5], { distinct: true });
    checkLayer('elu', layers.elu({ alpha: 0.7 }), [3, 5]);
    checkLayer('sigmoid', layers.sigmoid(), [3, 5]);
    checkLayer('tanh', layers.tanh(), [3, 5]);
    checkLayer('softmax', layers.softmax(), [3, 5]);
    checkLayer('softmax axis 1', layers.softmax({ axis: 1 }), [2, 3, 2]);
    checkLayer('maxout', layers.maxout({ numUnits: 2 }), [3, 6], { distinct: true });
    checkLayer('activation gelu', layers.activation({ activation: 'gelu' }), [3, 5]);
  });

  it('merging: Add (with broadcasting) and Concatenate', () => {
    checkLayer('add', layers.add(), [], { inputs: [[2, 3], [2, 3], [1, 3]] });
    checkLayer('concatenate', layers.concatenate(), [], { inputs: [[2, 2, 3], [2, 2, 1]] });
  });

  it('a functional model: residual, inception, batch norm in training, dense head', () => {
    const x = input({ shape: [4, 4, 2] });
    const c = layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'elu' }).apply(x);
    const r = layers.add().apply([x, layers.batchNormalization().apply(c)]);
    const cat = layers.concatenate().apply([layers.conv2d({ filters: 1, kernelSize: 1 }).apply(r), layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }).apply(r)]);
    const out = layers.dense({ units: 2 }).apply(layers.globalAveragePooling2d().apply(cat));
    const m = model({ inputs: x, outputs: out });
    checkLayer('functional model', m, [3, 4, 4, 2], { training: true, maxPerInput: 24 });
  });

  it('regularization penalties: l1, l2 and l1l2 on the kernels', () => {
    const d = layers.dense({ units: 3, kernelRegularizer: regularizers.l1l2({ l1: 0.3, l2: 0.2 }), biasRegularizer: regularizers.l2(0.5) });
    d.apply(new Tensor(new Float32Array(4), [1, 4]));
    const [k, b] = [f64([4, 3]), f64([3])];
    tapeGradCheck({
      what: 'regularizationLoss',
      inputs: [k, b],
      fn: (kk, bb) => withWeights(new Map([[d.kernel!, kk], [d.bias!, bb]]), () => d.regularizationLoss()!),
    });
  });
});
