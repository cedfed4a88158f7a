/**
 * ONNX export (src/io/onnx): models with seeded random weights (random biases and batch-norm scales, moving
 * statistics taken from a calibration batch so activations stay O(1) instead of saturating) are exported, run in
 * onnxruntime-node (an independent implementation of every op), and compared with model.predictOnBatch; every
 * compared output must also vary with the input by far more than the tolerance, so agreement means something.
 * onnx.checker (Python, full_check: schemas and shape inference) validates every file where /usr/bin/python3 has
 * onnx, and is skipped with the reason otherwise.
 *
 * Tolerances. The two runtimes compute the same float32 maths with different summation orders (nodegrad's GEMM
 * and im2col tiles against MLAS's), so they differ by rounding alone. A dot product of K terms rounded in float32
 * errs by about u * sqrt(K) times the size of its terms (u = 2^-24; rounding errors of random sign add like a
 * random walk: Higham & Mary's probabilistic bound lambda * sqrt(K) * u, which holds with overwhelming
 * probability for a small constant lambda), and with Glorot/He-scaled weights the activations keep the same
 * magnitude from layer to layer, so the relative errors of successive layers add up:
 *   max |onnx - nodegrad| <= lambda * u * sum_layers sqrt(K_l) * max |output|,  lambda = 4.
 * For the MNIST convnet, K = 9, 288, 576 and 1152 (conv 3x3x1, 3x3x32, 3x3x64, dense 1152) give
 * u * (3 + 17 + 24 + 34) = 4.6e-6 per unit of lambda; the bar of the issue, 1e-5 relative to max |output|, is
 * lambda ~ 2 and holds with the margin the measurements show (a few 1e-7). The softmax output does not amplify
 * errors: d softmax = p * (dz - <p, dz>), at most 2 max |dz| times max p. The deeper models get the same formula
 * with their own layers (floatTolerance below), computed from the model, never tuned to pass.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';

import { Tensor } from '../../src/tensor/tensor.js';
import { manualSeed } from '../../src/tensor/random.js';
import { randn, rand } from '../../src/tensor/creation.js';
import { ValueError } from '../../src/errors.js';
import { Layer, type CallOptions } from '../../src/nn/layer.js';
import { Model, model as functional } from '../../src/nn/model.js';
import { input } from '../../src/nn/input.js';
import { sequential } from '../../src/nn/sequential.js';
import * as layers from '../../src/nn/layers.js';
import { BatchNormalization, Conv1D, Conv2D, Conv2DTranspose, Dense, DepthwiseConv2D, SeparableConv2D } from '../../src/nn/index.js';
import { noGrad } from '../../src/autograd/index.js';
import { mnistConvnet } from '../../src/models/mnist.js';
import { resnet20 } from '../../src/models/resnet.js';
import { mobilenetV2 } from '../../src/models/mobilenet.js';
import { unet } from '../../src/models/segmentation.js';
import { NODEGRAD_VERSION } from '../../src/io/model.js';
import { ONNX_IR_VERSION, ONNX_OPSET_VERSION, OnnxExportError, exportOnnx } from '../../src/io/onnx/export.js';
import { Writer } from '../../src/io/onnx/protobuf.js';

const U = 2 ** -24;
const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Seeded random biases, batch-norm scales and statistics (their initial 0 and 1 would leave batch norm untested). */
function randomizeStatistics(m: Model, seed: number): void {
  let k = seed;
  for (const v of m.weights) {
    const n = v.name.split('/').pop()!;
    if (n === 'bias' || n === 'beta' || n === 'moving_mean') v.assign(randn(v.shape, { seed: k++ }).mul(0.1));
    else if (n === 'gamma' || n === 'moving_variance') v.assign(rand(v.shape, { seed: k++ }).add(0.5));
  }
}

/**
 * Batch-norm moving statistics from one batch (momentum 0 for one training-mode pass, the batch's own statistics
 * in every layer): random statistics would let activations grow layer after layer until ReLU6 saturates and the
 * outputs no longer depend on the input, which would make the comparison vacuous.
 */
function calibrate(m: Model, x: Tensor): void {
  const bns = m.weights.filter((v) => v.name.endsWith('/moving_mean')).length;
  const walk = (mm: Model, f: (l: BatchNormalization) => void): void => {
    for (const l of mm.layers) {
      if (l instanceof Model) walk(l, f);
      else if (l instanceof BatchNormalization) f(l);
    }
  };
  const saved: number[] = [];
  walk(m, (l) => {
    saved.push(l.momentum);
    (l as { momentum: number }).momentum = 0;
  });
  expect(saved.length).toBe(bns);
  noGrad(() => m.apply(x, { training: true }));
  walk(m, (l) => {
    (l as { momentum: number }).momentum = saved.shift()!;
  });
}

/** lambda * u * sum over the convolutions and dense layers of sqrt(reduction length) (see the file comment). */
function floatTolerance(m: Model, lambda = 4): number {
  let sum = 0;
  const walk = (mm: Model): void => {
    for (const l of mm.layers) {
      if (l instanceof Model) walk(l);
      else if (l instanceof Conv2D || l instanceof Conv1D || l instanceof Dense) {
        const s = l.kernel!.shape;
        sum += Math.sqrt(s.slice(0, -1).reduce((a, b) => a * b, 1));
      } else if (l instanceof SeparableConv2D) {
        const d = l.depthwiseKernel!.shape;
        sum += Math.sqrt(d[0] * d[1]) + Math.sqrt(d[2] * d[3]);
      } else if (l instanceof DepthwiseConv2D) {
        sum += Math.sqrt(l.depthwiseKernel!.shape[0] * l.depthwiseKernel!.shape[1]);
      } else if (l instanceof Conv2DTranspose) {
        const s = l.kernel!.shape;
        sum += Math.sqrt(s[0] * s[1] * s[3]);
      }
    }
  };
  walk(m);
  return lambda * U * sum;
}

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { logSeverityLevel: 3, intraOpNumThreads: 1 });
}

/** Runs the export in onnxruntime on `xs` (one per model input) and returns the outputs by name. */
async function runOnnx(bytes: Uint8Array, names: string[], xs: Tensor[]): Promise<Record<string, ort.Tensor>> {
  const s = await session(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  xs.forEach((x, i) => {
    feeds[names[i]] = x.dtype === 'int32'
      ? new ort.Tensor('int32', x.data as Int32Array, [...x.shape])
      : new ort.Tensor('float32', x.data as Float32Array, [...x.shape]);
  });
  const out = await s.run(feeds);
  await s.release();
  return out;
}

interface Compared {
  /** max |onnx - nodegrad| / max |nodegrad| per output. */
  relative: number[];
  tolerance: number;
}

/** Exports `m`, writes it for the checker, runs both and compares every output (shape and values). */
async function compare(name: string, m: Model, xs: Tensor[], tolerance = floatTolerance(m)): Promise<Compared> {
  const bytes = exportOnnx(m);
  writeFileSync(join(tmp, `${name}.onnx`), bytes);
  const expected = m.predictOnBatch(xs.length === 1 ? xs[0] : xs);
  const ys = Array.isArray(expected) ? expected : [expected];
  const got = await runOnnx(bytes, m.inputs.map((t) => t.node.layer.name), xs);
  expect(Object.keys(got).sort()).toEqual([...m.outputNames].sort());
  const relative = m.outputNames.map((n, i) => {
    const o = got[n];
    expect(o.dims, `${name}: output '${n}' shape`).toEqual(ys[i].shape);
    const e = ys[i].data as Float32Array;
    const a = o.data as Float32Array;
    let diff = 0, scale = 0;
    for (let j = 0; j < e.length; j++) {
      diff = Math.max(diff, Math.abs(a[j] - e[j]));
      scale = Math.max(scale, Math.abs(e[j]));
    }
    expect(Number.isFinite(diff), `${name}: output '${n}' is finite`).toBe(true);
    // The outputs must depend on the input, or agreeing on them proves nothing: examples 0 and 1 differ by far
    // more than the tolerance.
    const per = e.length / ys[i].shape[0];
    let spread = 0;
    for (let j = 0; j < per; j++) spread = Math.max(spread, Math.abs(e[j] - e[per + j]));
    expect(spread / scale, `${name}: output '${n}' varies with the input`).toBeGreaterThan(Math.max(1e-3, 20 * tolerance));
    return diff / scale;
  });
  for (const [i, r] of relative.entries()) {
    expect(r, `${name}: output '${m.outputNames[i]}' max |diff| / max |output| (tolerance ${tolerance.toExponential(2)})`).toBeLessThanOrEqual(tolerance);
  }
  return { relative, tolerance };
}

function images(shape: number[], seed: number): Tensor {
  return randn(shape, { seed });
}

// ---------------------------------------------------------------------------------------------------------------
// Models

/** A functional model with three outputs that uses every layer the export maps (and a nested model). */
function layerZoo(): Model {
  const inp = input({ shape: [13, 11, 3], name: 'image' });
  let x = layers.rescaling({ scale: 0.5, offset: -0.25 }).apply(inp);
  x = layers.normalization({ mean: [0.1, 0.2, -0.3], variance: [1.5, 0.5, 2] }).apply(x);
  x = layers.normalization().adapt(randn([40, 3], { seed: 41 }).mul(2).add(0.5)).apply(x); // statistics in weights
  x = layers.normalization({ axis: null, mean: 0.25, variance: 4, invert: true }).apply(x);
  for (const aug of [
    layers.gaussianNoise({ stddev: 0.1 }), layers.randomFlip(), layers.randomRotation({ factor: 0.1 }), layers.randomZoom({ heightFactor: 0.1 }),
    layers.randomTranslation({ heightFactor: 0.1, widthFactor: 0.1 }), layers.randomShear({ xFactor: 0.1 }), layers.randomContrast({ factor: 0.2 }),
    layers.randomBrightness({ factor: 0.1, valueRange: [-3, 3] }), layers.dropout({ rate: 0.5 }),
  ]) x = aug.apply(x);
  let a = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }).apply(x); // [7,6,8]
  a = layers.batchNormalization().apply(a);
  a = layers.depthwiseConv2d({ kernelSize: [3, 2], depthMultiplier: 2, padding: 'same', activation: 'relu6' }).apply(a); // [7,6,16]
  a = layers.separableConv2d({ filters: 12, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'gelu' }).apply(a);
  a = layers.conv2d({ filters: 12, kernelSize: 3, groups: 3, padding: 'same', activation: 'silu' }).apply(a);
  a = layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(a); // [4,3,12]
  const avg = layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }).apply(a);
  let c = layers.add().apply([a, avg]);
  c = layers.relu({ negativeSlope: 0.1, maxValue: 2 }).apply(c);
  let d = layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(c); // [5,6,12]
  d = layers.conv2dTranspose({ filters: 6, kernelSize: 3, strides: 2, outputPadding: 1, activation: 'tanh' }).apply(d); // [12,14,6]
  let e = layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', activation: 'sigmoid' }).apply(c); // [8,6,4]
  // Odd 'same' pads (the extra row and column at the end): stride 2 with kernel 3, and a dilated kernel.
  let e2 = layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(c); // [8,6,4]
  e2 = layers.conv2dTranspose({ filters: 4, kernelSize: 2, dilationRate: 3, padding: 'same', activation: 'relu' }).apply(e2);
  e = layers.add().apply([e, e2]);
  e = layers.resizing({ height: 12, width: 14, interpolation: 'nearest' }).apply(e);
  let f = layers.concatenate().apply([d, e]); // [12,14,10]
  f = layers.activation({ activation: 'selu' }).apply(f);
  let g = layers.concatenate({ axis: 1 }).apply([f, f]); // [24,14,10]
  g = layers.leakyRelu({ alpha: 0.1 }).apply(g);
  g = layers.elu({ alpha: 0.5 }).apply(g);
  g = layers.centerCrop({ height: 20, width: 10 }).apply(g);
  g = layers.averagePooling2d({ poolSize: 2 }).apply(g); // [10,5,10]
  g = layers.resizing({ height: 7, width: 9 }).apply(g); // bilinear, [7,9,10]
  const block = sequential([
    layers.conv2d({ filters: 10, kernelSize: 1, activation: 'swish' }),
    layers.activation({ activation: 'softplus' }),
  ], { inputShape: [7, 9, 10], name: 'nested' });
  g = layers.add().apply([g, block.apply(g)]);
  const map = layers.softmax({ axis: 1 }).apply(g); // output 1: a 4-D map, softmax over the height axis
  const pooled = layers.globalMaxPooling2d({ keepDims: true }).apply(g); // output 2: [1,1,10]
  let k = layers.globalAveragePooling2d().apply(g);
  k = layers.dense({ units: 12, activation: 'softsign' }).apply(k);
  k = layers.batchNormalization().apply(k);
  k = layers.reshape({ targetShape: [3, -1] }).apply(k); // [3,4]
  k = layers.dense({ units: 6, activation: 'leakyRelu' }).apply(k); // [3,6], MatMul + Add
  k = layers.conv1d({ filters: 4, kernelSize: 2, padding: 'causal', dilationRate: 2, activation: 'exponential' }).apply(k); // [3,4]
  k = layers.maxout({ numUnits: 2 }).apply(k); // [3,2]
  k = layers.flatten().apply(k);
  k = layers.dense({ units: 5, activation: 'logSoftmax' }).apply(k);
  const logits = layers.dropout({ rate: 0.3, name: 'logits' }).apply(k); // output 3: an identity layer
  return functional({ inputs: inp, outputs: [map, pooled, logits], name: 'zoo' });
}

// ---------------------------------------------------------------------------------------------------------------

describe('exportOnnx: the same outputs in onnxruntime-node', () => {
  it('the MNIST convnet (the bar: within 1e-5 of max |output|), with softmax and as logits', async () => {
    manualSeed(11);
    const m = mnistConvnet();
    randomizeStatistics(m, 100);
    const x = rand([16, 28, 28, 1], { seed: 5 });
    const bar = 1e-5;
    expect(floatTolerance(m, 2)).toBeLessThan(bar);
    const probs = await compare('mnist', m, [x], bar);
    manualSeed(11);
    const logits = mnistConvnet({ classifierActivation: null, name: 'mnist_logits' });
    randomizeStatistics(logits, 100);
    const r = await compare('mnist_logits', logits, [x], bar);
    console.log(`MNIST convnet: max |diff| / max |output| = ${probs.relative[0].toExponential(2)} (softmax), ${r.relative[0].toExponential(2)} (logits); bar 1e-5`);
  });

  it('ResNet-20 (residual adds, batch norm) in logits', async () => {
    manualSeed(12);
    const m = resnet20({ classifierActivation: null });
    randomizeStatistics(m, 200);
    calibrate(m, images([8, 32, 32, 3], 60));
    const r = await compare('resnet20', m, [images([4, 32, 32, 3], 6)]);
    console.log(`ResNet-20: ${r.relative[0].toExponential(2)} (tolerance ${r.tolerance.toExponential(2)})`);
  });

  it('MobileNetV2 alpha 0.35 at 32x32 (depthwise, ReLU6, ZeroPadding2D, inverted residuals)', async () => {
    manualSeed(13);
    const m = mobilenetV2({ alpha: 0.35, inputShape: [32, 32, 3], classes: 10, classifierActivation: null });
    randomizeStatistics(m, 300);
    calibrate(m, images([8, 32, 32, 3], 70));
    const r = await compare('mobilenetv2', m, [images([2, 32, 32, 3], 7)]);
    console.log(`MobileNetV2: ${r.relative[0].toExponential(2)} (tolerance ${r.tolerance.toExponential(2)})`);
  });

  it('a small U-Net (Conv2DTranspose, skip Concatenate, 4-D softmax output)', async () => {
    manualSeed(14);
    const m = unet({ inputShape: [32, 24, 3], filters: [4, 8], classes: 3 });
    randomizeStatistics(m, 400);
    const r = await compare('unet', m, [images([2, 32, 24, 3], 8)]);
    console.log(`U-Net: ${r.relative[0].toExponential(2)} (tolerance ${r.tolerance.toExponential(2)})`);
  });

  it('every supported layer, three outputs, a nested model', async () => {
    manualSeed(15);
    const m = layerZoo();
    randomizeStatistics(m, 500);
    calibrate(m, images([8, 13, 11, 3], 90));
    const r = await compare('zoo', m, [images([3, 13, 11, 3], 9)]);
    console.log(`layer zoo: ${r.relative.map((v) => v.toExponential(4)).join(', ')} (tolerance ${r.tolerance.toExponential(2)})`);
  });
});

describe('exportOnnx: graph details', () => {
  it('a Sequential with raw int32 pixels in, a symbolic batch (any batch size runs)', async () => {
    manualSeed(16);
    const inp = input({ shape: [8, 8, 1], dtype: 'int32', name: 'pixels' });
    const m = sequential([
      inp,
      layers.rescaling({ scale: 1 / 255 }),
      layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ]);
    const bytes = exportOnnx(m);
    writeFileSync(join(tmp, 'int_input.onnx'), bytes);
    for (const n of [1, 5]) {
      const x = new Tensor(Int32Array.from({ length: n * 64 }, (_, i) => (i * 37) % 256), [n, 8, 8, 1]);
      const want = m.predictOnBatch(x) as Tensor;
      const got = (await runOnnx(bytes, ['pixels'], [x]))[m.outputNames[0]];
      expect(got.dims).toEqual([n, 3]);
      const d = Math.max(...Array.from(want.data, (v, i) => Math.abs(v - (got.data as Float32Array)[i])));
      expect(d).toBeLessThanOrEqual(floatTolerance(m));
    }
  });

  it("unknown height and width: 'same' becomes auto_pad SAME_UPPER (strides, dilation, pooling)", async () => {
    manualSeed(17);
    const inp = input({ shape: [null, null, 2], name: 'any_size' });
    let x = layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }).apply(inp);
    x = layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' }).apply(x);
    x = layers.depthwiseConv2d({ kernelSize: 2, padding: 'same' }).apply(x);
    x = layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x);
    x = layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }).apply(x);
    const m = functional({ inputs: inp, outputs: x, name: 'fully_conv' });
    randomizeStatistics(m, 600);
    const bytes = exportOnnx(m);
    writeFileSync(join(tmp, 'fully_conv.onnx'), bytes);
    for (const [h, w] of [[9, 7], [10, 12], [1, 5]]) {
      const x0 = images([2, h, w, 2], h * 31 + w);
      const want = m.predictOnBatch(x0) as Tensor;
      const got = (await runOnnx(bytes, ['any_size'], [x0]))[m.outputNames[0]];
      expect(got.dims, `${h}x${w}`).toEqual(want.shape);
      const d = Math.max(...Array.from(want.data, (v, i) => Math.abs(v - (got.data as Float32Array)[i])));
      const scale = Math.max(...Array.from(want.data, Math.abs));
      expect(d / scale, `${h}x${w}`).toBeLessThanOrEqual(floatTolerance(m));
    }
  });

  it('Resizing and CenterCrop/RandomCrop at several size ratios (nearest picks the same pixels: no difference at all)', async () => {
    const inp = input({ shape: [7, 10, 2], name: 'img' });
    const outs = [];
    for (const [h, w] of [[3, 4], [5, 9], [14, 20], [11, 3], [7, 10], [21, 31]]) {
      outs.push(layers.resizing({ height: h, width: w, interpolation: 'nearest', name: `nearest_${h}x${w}` }).apply(inp));
      outs.push(layers.resizing({ height: h, width: w, name: `bilinear_${h}x${w}` }).apply(inp));
      outs.push(layers.resizing({ height: h, width: w, cropToAspectRatio: true, name: `cropped_${h}x${w}` }).apply(inp));
      outs.push(layers.centerCrop({ height: h, width: w, name: `center_${h}x${w}` }).apply(inp));
      outs.push(layers.randomCrop({ height: h, width: w, name: `random_${h}x${w}` }).apply(inp));
    }
    const m = functional({ inputs: inp, outputs: outs, name: 'resizes' });
    const x = images([2, 7, 10, 2], 10);
    const bytes = exportOnnx(m);
    writeFileSync(join(tmp, 'resizes.onnx'), bytes);
    const want = m.predictOnBatch(x) as Tensor[];
    const got = await runOnnx(bytes, ['img'], [x]);
    const maxX = Math.max(...Array.from(x.data, Math.abs));
    m.outputNames.forEach((n, i) => {
      expect(got[n].dims, n).toEqual(want[i].shape);
      const d = Math.max(...Array.from(want[i].data, (v, j) => Math.abs(v - (got[n].data as Float32Array)[j])));
      // Bilinear: ORT divides by out/in where nodegrad (as TF) multiplies by in/out, both in float32, so a source
      // coordinate s (< 10 pixels) moves by up to ~3u|s|, which moves the output by 3u|s| times the step between
      // neighbours (<= 2 max|x|); the lerps add ~4u max|x|.
      // CenterCrop slices when the window fits (exact) and resizes bilinearly when it does not.
      const [h, w] = want[i].shape.slice(1, 3);
      const exact = n.startsWith('nearest') || (n.startsWith('center') && h <= 7 && w <= 10);
      expect(d, n).toBeLessThanOrEqual(exact ? 0 : (6 * 10 + 4) * U * maxX);
    });
  });

  it('shared layers reuse one initializer; a tensor that is two outputs, and an input that is an output, get Identity nodes', async () => {
    manualSeed(18);
    const a = input({ shape: [4], name: 'a' });
    const b = input({ shape: [4], name: 'b' });
    const shared = layers.dense({ units: 4, name: 'shared' });
    const ya = shared.apply(a);
    const yb = shared.apply(b);
    const sum = layers.add({ name: 'sum' }).apply([ya, yb]);
    const m = functional({ inputs: [a, b], outputs: [sum, sum, a], name: 'two_inputs' });
    const bytes = exportOnnx(m);
    writeFileSync(join(tmp, 'two_inputs.onnx'), bytes);
    const xa = randn([3, 4], { seed: 1 }), xb = randn([3, 4], { seed: 2 });
    const got = await runOnnx(bytes, ['a', 'b'], [xa, xb]);
    expect(Object.keys(got).sort()).toEqual(['a_1', 'sum', 'sum_1']);
    const want = m.predictOnBatch([xa, xb]) as Tensor[];
    for (const [k, i] of [['sum', 0], ['sum_1', 1], ['a_1', 2]] as const) {
      const d = Math.max(...Array.from(want[i].data, (v, j) => Math.abs(v - (got[k].data as Float32Array)[j])));
      expect(d, k).toBeLessThanOrEqual(floatTolerance(m) * 10);
    }
    // The kernel [4,4] and bias [4] once each: 20 floats, not 40 (the protobuf holds them as raw bytes).
    expect(bytes.length).toBeLessThan(20 * 4 + 1200);
  });

  it('writes the file atomically when given a path, and returns the same bytes', () => {
    manualSeed(19);
    const m = mnistConvnet();
    const dir = mkdtempSync(join(tmp, 'write-'));
    const path = join(dir, 'mnist.onnx');
    const bytes = exportOnnx(m, path, { metadata: { task: 'fashion-mnist' } });
    // (Buffer.equals: vitest's deep equality over 400 kB would take seconds.)
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(['mnist.onnx']);
    // Deterministic: the same model gives the same bytes.
    expect(Buffer.from(exportOnnx(m, undefined, { metadata: { task: 'fashion-mnist' } })).equals(bytes)).toBe(true);
  });
});

describe('exportOnnx: what it refuses', () => {
  class TimesTwo extends Layer {
    static override readonly className = 'TimesTwo';
    override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
      return (Array.isArray(inputs) ? inputs[0] : inputs).mul(2);
    }
  }
  class MyDense extends Dense {
    static override readonly className = 'MyDense';
  }

  it('a layer without a mapping: OnnxExportError naming the layer and its class', () => {
    const inp = input({ shape: [4] });
    const m = functional({ inputs: inp, outputs: new TimesTwo({ name: 'double_it' }).apply(layers.dense({ units: 2 }).apply(inp)) });
    const err = (() => {
      try {
        exportOnnx(m);
      } catch (e) {
        return e as OnnxExportError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(OnnxExportError);
    expect(err.layerName).toBe('double_it');
    expect(err.layerClass).toBe('TimesTwo');
    expect(err.message).toMatch(/^exportOnnx: layer 'double_it' \(TimesTwo\): no ONNX mapping for layer class 'TimesTwo'; supported: .*Conv2D.*Dense/);
  });

  it('a subclass of a supported layer is not taken for its parent', () => {
    const m = sequential([new MyDense({ units: 2, name: 'mine' })], { inputShape: [3] });
    expect(() => exportOnnx(m)).toThrow(/layer 'mine' \(MyDense\): no ONNX mapping/);
  });

  it('a node called with training: true (its output is not the inference one)', () => {
    const inp = input({ shape: [4] });
    const y = layers.dropout({ rate: 0.5, name: 'mc_dropout' }).apply(inp, { training: true });
    const m = functional({ inputs: inp, outputs: layers.dense({ units: 1 }).apply(y) });
    expect(() => exportOnnx(m)).toThrow(/layer 'mc_dropout' \(Dropout\): it is called with training: true/);
  });

  it('an unbuilt model, something that is not a model, bad arguments', () => {
    expect(() => exportOnnx(sequential([layers.dense({ units: 1 })]))).toThrow(ValueError);
    expect(() => exportOnnx(sequential([layers.dense({ units: 1 })]))).toThrow(/is not built: give it an inputShape/);
    expect(() => exportOnnx(layers.dense({ units: 1 }) as unknown as Model)).toThrow(/argument 'model' must be a nodegrad Model/);
    const m = sequential([layers.dense({ units: 1 })], { inputShape: [2] });
    expect(() => exportOnnx(m, '')).toThrow(/argument 'path' must be a non-empty string/);
    expect(() => exportOnnx(m, undefined, { opset: 18 } as never)).toThrow(/unknown option 'opset'/);
    expect(() => exportOnnx(m, undefined, { metadata: { a: 1 } } as never)).toThrow(/'metadata' must map strings to strings/);
    expect(() => exportOnnx(m, join(tmp, 'no', 'such', 'dir', 'x.onnx'))).toThrow(/ENOENT/);
  });

  it("strided and dilated 'same' convolution of unknown size (onnxruntime has no auto_pad with dilation)", () => {
    const inp = input({ shape: [null, 8, 2] });
    const m = functional({ inputs: inp, outputs: layers.conv2d({ filters: 1, kernelSize: 3, strides: 2, dilationRate: 2, padding: 'same', name: 'sd' }).apply(inp) });
    expect(() => exportOnnx(m)).toThrow(/layer 'sd' \(Conv2D\): 'same' padding with strides \[2,2\] and dilation \[2,2\] needs known spatial lengths/);
  });

  it('Conv2DTranspose needs a known height and width', () => {
    const inp = input({ shape: [null, null, 2] });
    const m = functional({ inputs: inp, outputs: layers.conv2dTranspose({ filters: 1, kernelSize: 2, strides: 2, name: 'up' }).apply(inp) });
    expect(() => exportOnnx(m)).toThrow(/layer 'up' \(Conv2DTranspose\): the input's height and width must be known/);
  });
});

describe('protobuf wire format', () => {
  it('varints, negative int64, fixed32 floats, length-delimited and packed fields', () => {
    const w = new Writer();
    w.int(1, 300); // key 0x08, 300 = 0xac 0x02
    w.int(2, -1); // key 0x10, ten bytes: 0xff x 9, 0x01
    w.float(3, 1.5); // key 0x1d, 0x3fc00000 little-endian
    w.string(4, 'hi'); // key 0x22, length 2
    w.packedInts(5, [1, 150]); // key 0x2a, length 3: 0x01 0x96 0x01
    w.message(6, (m) => m.int(1, 2)); // key 0x32, length 2: 0x08 0x02
    expect([...w.finish()]).toEqual([
      0x08, 0xac, 0x02,
      0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
      0x1d, 0x00, 0x00, 0xc0, 0x3f,
      0x22, 0x02, 0x68, 0x69,
      0x2a, 0x03, 0x01, 0x96, 0x01,
      0x32, 0x02, 0x08, 0x02,
    ]);
    expect(() => new Writer().int(1, 1.5)).toThrow(/must be an integer/);
  });
});

// onnx.checker (full_check: schemas, types and shape inference) over every file the tests above wrote, and the
// ModelProto fields the issue asks for (IR 8, opset 17, producer, symbolic batch 'N', NHWC input).
const PYTHON = '/usr/bin/python3';
function onnxMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import onnx, onnx.checker'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import onnx (${(r.stderr || '').trim().split('\n').pop()}); install python3-onnx`;
}
const missing = onnxMissing();
if (missing) console.warn(`onnx-export.test: onnx.checker skipped: ${missing}`);

describe('onnx.checker', () => {
  it.skipIf(missing !== null)('accepts every exported model, which records IR 8, opset 17, producer nodegrad and a symbolic batch', () => {
    const files = readdirSync(tmp).filter((f) => f.endsWith('.onnx')).map((f) => join(tmp, f));
    expect(files.length).toBeGreaterThanOrEqual(9);
    const script = [
      'import json, sys, onnx',
      'out = {}',
      'for f in sys.argv[1:]:',
      '    m = onnx.load(f)',
      '    onnx.checker.check_model(m, full_check=True)',
      '    dims = lambda vi: [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None) for d in vi.type.tensor_type.shape.dim]',
      '    out[f.split("/")[-1]] = {"ir": m.ir_version, "opset": [[o.domain, o.version] for o in m.opset_import], "producer": [m.producer_name, m.producer_version],',
      '        "inputs": [[i.name, i.type.tensor_type.elem_type, dims(i)] for i in m.graph.input], "outputs": [[o.name, dims(o)] for o in m.graph.output],',
      '        "ops": sorted(set(n.op_type for n in m.graph.node)), "meta": {p.key: p.value for p in m.metadata_props}, "doc": m.doc_string}',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.stderr, 'onnx.checker').toBe('');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, { ir: number; opset: [string, number][]; producer: string[]; inputs: [string, number, unknown[]][]; outputs: [string, unknown[]][]; ops: string[]; meta: Record<string, string>; doc: string }>;
    for (const [f, i] of Object.entries(info)) {
      expect(i.ir, f).toBe(ONNX_IR_VERSION);
      expect(i.opset, f).toEqual([['', ONNX_OPSET_VERSION]]);
      expect(i.producer, f).toEqual(['nodegrad', NODEGRAD_VERSION]);
    }
    expect(ONNX_IR_VERSION).toBe(8);
    expect(ONNX_OPSET_VERSION).toBe(17);
    expect(info['mnist.onnx'].inputs).toEqual([['input_layer', 1, ['N', 28, 28, 1]]]);
    expect(info['mnist.onnx'].outputs).toEqual([['dense', ['N', 10]]]);
    expect(info['mnist.onnx'].meta).toEqual({ 'nodegrad.layout': 'NHWC' });
    expect(info['mnist.onnx'].doc).toMatch(/^mnist_convnet, exported by nodegrad /);
    expect(info['int_input.onnx'].inputs).toEqual([['pixels', 6, ['N', 8, 8, 1]]]);
    expect(info['zoo.onnx'].outputs.map((o) => o[1])).toEqual([['N', 7, 9, 10], ['N', 1, 1, 10], ['N', 5]]);
    expect(info['fully_conv.onnx'].inputs).toEqual([['any_size', 1, ['N', null, null, 2]]]);
    // The zoo uses every op the export emits.
    expect(info['zoo.onnx'].ops).toEqual(expect.arrayContaining([
      'Add', 'AveragePool', 'BatchNormalization', 'Clip', 'Concat', 'Conv', 'ConvTranspose', 'Div', 'Elu', 'Erf', 'Exp', 'Flatten', 'Gemm',
      'GlobalAveragePool', 'GlobalMaxPool', 'LeakyRelu', 'LogSoftmax', 'MatMul', 'MaxPool', 'Mul', 'Pad', 'ReduceMax', 'Reshape', 'Resize',
      'Selu', 'Sigmoid', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'Sub', 'Tanh', 'Transpose',
    ]));
  });
});
