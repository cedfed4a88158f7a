/**
 * Models: functional residual and inception graphs (outputs equal to running the same layers by hand),
 * several inputs and outputs, shared layers, nested models and freezing for fine-tuning, weights by name,
 * regularisation losses, config round trips (same architecture, and with setWeights the same outputs), the
 * TrainableModel contract with compile/fit/evaluate/predict, and bad input named by model and layer.
 * Equalities with hand-run layers are exact: the same ops on the same operands give the same bits.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { concat } from '../../src/tensor/manipulation.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import {
  Model, Sequential, clearSession, input, layerFromConfig, layers, model, modelFromConfig, regularizers, sequential, type Layer, type LayerConfig,
} from '../../src/nn/index.js';
import { uniformF32 } from '../helpers/random.js';
import { expectError } from '../helpers/errors.js';

let seed = 500;
function rnd(shape: readonly number[], lo = -1, hi = 1): Tensor {
  return new Tensor(uniformF32(shape.reduce((a, b) => a * b, 1), seed++, lo, hi), shape);
}
const bits = (t: Tensor | Tensor[]): number[][] => (Array.isArray(t) ? t : [t]).map((u) => Array.from(u.data));
const ref = <T>(fn: () => T): T => withBackend(referenceBackend, fn);

describe('functional graphs', () => {
  it('a residual block equals the same layers run by hand, with the input added back', () => {
    const c1 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' });
    const c2 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' });
    const x = input({ shape: [5, 5, 3] });
    const out = layers.relu().apply(layers.add().apply([x, c2.apply(c1.apply(x))]));
    const m = model({ inputs: x, outputs: out });
    expect(m.layers.map((l) => l.className)).toEqual(['InputLayer', 'Conv2D', 'Conv2D', 'Add', 'ReLU']);
    const t = rnd([2, 5, 5, 3]);
    const y = m.apply(t);
    const hand = t.add(c2.apply(c1.apply(t))).relu();
    expect(bits(y)).toEqual(bits(hand));
    expect(m.countParams()).toBe(2 * (3 * 3 * 3 * 3 + 3));
  });

  it('an inception block concatenates its branches along the channels', () => {
    const b1 = layers.conv2d({ filters: 2, kernelSize: 1 });
    const b2a = layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu' });
    const b2b = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' });
    const pool = layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' });
    const b3 = layers.conv2d({ filters: 1, kernelSize: 1 });
    const x = input({ shape: [6, 6, 4] });
    const out = layers.concatenate().apply([b1.apply(x), b2b.apply(b2a.apply(x)), b3.apply(pool.apply(x))]);
    expect([...out.shape]).toEqual([null, 6, 6, 6]);
    const m = model({ inputs: x, outputs: out });
    const t = rnd([1, 6, 6, 4]);
    const hand = concat([b1.apply(t), b2b.apply(b2a.apply(t)), b3.apply(pool.apply(t))], 3);
    expect(bits(m.apply(t))).toEqual(bits(hand));
  });

  it('several inputs and outputs: apply returns a list in output order; outputNames; execute', () => {
    const a = input({ shape: [4], name: 'a' });
    const b = input({ shape: [3], name: 'b' });
    const h = layers.concatenate().apply([layers.dense({ units: 5, activation: 'relu' }).apply(a), b]);
    const score = layers.dense({ units: 1, name: 'score' }).apply(h);
    const klass = layers.dense({ units: 3, activation: 'softmax', name: 'klass' }).apply(h);
    const m = model({ inputs: [a, b], outputs: [score, klass] });
    expect(m.outputNames).toEqual(['score', 'klass']);
    const ys = m.apply([rnd([2, 4]), rnd([2, 3])]) as unknown as Tensor[];
    expect(ys.map((y) => y.shape)).toEqual([[2, 1], [2, 3]]);
    expect(m.execute([rnd([1, 4]), rnd([1, 3])]).length).toBe(2);
    expect(m.computeOutputShape([[null, 4], [null, 3]])).toEqual([[null, 1], [null, 3]]);
    expectError(() => m.apply(rnd([2, 4])), ValueError, '(Functional): expects 2 inputs, got 1');
    expectError(() => m.apply([rnd([2, 4]), rnd([2, 4])]), ValueError, "input 1 ('b') expects shape [null,3], got [2,4]");
  });

  it('a shared layer is one set of weights; summary shows its output as "multiple" and both connections', () => {
    const shared = layers.dense({ units: 2, name: 'shared' });
    const a = input({ shape: [3] });
    const b = input({ shape: [3] });
    const m = model({ inputs: [a, b], outputs: layers.add().apply([shared.apply(a), shared.apply(b)]) });
    expect(m.countParams()).toBe(8);
    expect(m.weights.length).toBe(2);
    const text = m.summary({ printFn: () => {} });
    expect(text).toMatch(/shared \(Dense\)\s+multiple\s+8\s+input_layer\S*\[0\]\[0\]/);
    const [ta, tb] = [rnd([2, 3]), rnd([2, 3])];
    expect(bits(m.apply([ta, tb]))).toEqual(bits(shared.apply(ta).add(shared.apply(tb))));
  });

  it('a model is a layer: nested in sequential() and in a functional graph', () => {
    const base = sequential([layers.conv2d({ filters: 4, kernelSize: 3 }), layers.batchNormalization()], { inputShape: [6, 6, 2], name: 'base' });
    const head = layers.dense({ units: 3 });
    const outer = sequential([base, layers.globalAveragePooling2d(), head]);
    expect(outer.built).toBe(true);
    expect(outer.countParams()).toBe(base.countParams() + 4 * 3 + 3);
    const t = rnd([2, 6, 6, 2]);
    expect(bits(outer.apply(t))).toEqual(bits(head.apply(layers.globalAveragePooling2d().apply(base.apply(t)))));
    const text = outer.summary({ printFn: () => {} });
    expect(text).toContain(`base (Sequential)`);
    expect(text).toContain('(None, 4, 4, 4)');
  });

  it('refuses disconnected graphs, duplicate names, inputs not from input(), and a mix of tensors and symbols', () => {
    const a = input({ shape: [2] });
    const b = input({ shape: [2] });
    const y = layers.add().apply([a, b]);
    expectError(() => model({ inputs: a, outputs: y }), ValueError, 'the graph is disconnected', `'${b.name}'`);
    const d1 = layers.dense({ units: 2, name: 'twin' }).apply(a);
    const d2 = layers.dense({ units: 2, name: 'twin' }).apply(d1);
    expectError(() => model({ inputs: a, outputs: d2 }), ValueError, "layer names must be unique, but 'twin'");
    expectError(() => model({ inputs: d1, outputs: d1 }), ValueError, 'inputs[0] must come from input()');
    expectError(() => layers.add().apply([a, rnd([1, 2])] as never), ValueError, 'all Tensors or all SymbolicTensors');
    expectError(() => model({ inputs: a } as never), ValueError, "give both 'inputs' and 'outputs'");
  });
});

describe('freezing, weights and losses', () => {
  it('freezing a nested base keeps only the head trainable; batch norm in it then uses its moving statistics', () => {
    const base = sequential([layers.conv2d({ filters: 4, kernelSize: 3 }), layers.batchNormalization()], { inputShape: [5, 5, 1], name: 'conv_base' });
    const x = input({ shape: [5, 5, 1] });
    const out = layers.dense({ units: 2 }).apply(layers.flatten().apply(base.apply(x)));
    const m = model({ inputs: x, outputs: out });
    const all = m.trainableVariables.length;
    base.trainable = false;
    expect(m.trainableVariables.map((v) => v.name)).toEqual([`${m.getLayer(3).name}/kernel`, `${m.getLayer(3).name}/bias`]);
    expect(base.layers.every((l) => !l.trainable)).toBe(true);
    expect(base.weights.every((v) => !v.value.requiresGrad)).toBe(true);
    const bn = base.getLayer(1) as Layer & { movingMean: { value: Tensor } };
    const before = Array.from(bn.movingMean.value.data);
    m.apply(rnd([2, 5, 5, 1]), { training: true });
    expect(Array.from(bn.movingMean.value.data)).toEqual(before);
    const text = m.summary({ printFn: () => {} });
    const frozen = base.countParams();
    expect(text).toContain(`Non-trainable params: ${frozen.toLocaleString('en-US')}`);
    base.trainable = true;
    expect(m.trainableVariables.length).toBe(all);
    expect(m.variables.length).toBe(all + 2);
    m.getLayer('conv_base').trainable = false;
    m.getLayer(m.layers.length - 1).trainable = false;
    expect(m.trainableVariables).toEqual([]);
  });

  it('getWeights / setWeights by variable name (or as a list in weights order)', () => {
    const m = sequential([layers.dense({ units: 3, name: 'd1' }), layers.dense({ units: 1, name: 'd2' })], { inputShape: [2] });
    const w = m.getWeights();
    expect(Object.keys(w)).toEqual(['d1/kernel', 'd1/bias', 'd2/kernel', 'd2/bias']);
    const k = rnd([2, 3]);
    m.setWeights({ ...w, 'd1/kernel': k });
    expect(bits(m.getLayer('d1').weights[0].value)).toEqual(bits(k));
    expect(m.getWeights()['d1/kernel']).not.toBe(m.getLayer('d1').weights[0].value); // copies
    m.setWeights(Object.values(w));
    expect(bits(m.getLayer('d1').weights[0].value)).toEqual(bits(w['d1/kernel']));
    expectError(() => m.setWeights({ 'd1/kernel': k }), ValueError, 'missing d1/bias, d2/kernel, d2/bias');
    expectError(() => m.setWeights({ ...w, extra: k }), ValueError, 'unknown extra');
    expectError(() => m.setWeights({ ...w, 'd2/bias': k }), ShapeError, "sequential", "Variable 'd2/bias'", '[2,3]', '[1]');
    expectError(() => m.setWeights([k]), ValueError, 'setWeights got 1 arrays for 4 weights');
  });

  it('getLayer by name or index, with clear errors', () => {
    const m = sequential([layers.dense({ units: 2, name: 'a' }), layers.dense({ units: 1, name: 'b' })], { inputShape: [3] });
    expect(m.getLayer('b').name).toBe('b');
    expect(m.getLayer(0).name).toBe('a');
    expectError(() => m.getLayer('c'), ValueError, "no layer named 'c'; layers: a, b");
    expectError(() => m.getLayer(2), ValueError, 'index 2 is out of range; the model has 2 layers');
  });

  it('regularizationLoss: kernel l1/l2 penalties of trainable layers plus the last activity penalties, or null', () => {
    const d1 = layers.dense({ units: 3, kernelRegularizer: regularizers.l2(0.01), biasRegularizer: 'l1' });
    const d2 = layers.dense({ units: 2, kernelRegularizer: regularizers.l1l2({ l1: 0.1, l2: 0.2 }), activityRegularizer: regularizers.l1(0.5) });
    const m = sequential([d1, d2], { inputShape: [4] });
    d1.setWeights([rnd([4, 3]), rnd([3])]);
    const sum = (t: Tensor, f: (v: number) => number) => Array.from(t.data).reduce((a, v) => a + f(v), 0);
    const [k1, b1, k2] = [d1.kernel!.value, d1.bias!.value, d2.kernel!.value];
    const weightsPenalty = 0.01 * sum(k1, (v) => v * v) + 0.01 * sum(b1, Math.abs) + 0.1 * sum(k2, Math.abs) + 0.2 * sum(k2, (v) => v * v);
    expect(m.regularizationLoss()!.item()).toBeCloseTo(weightsPenalty, 5);
    const y = m.apply(rnd([5, 4]));
    expect(m.regularizationLoss()!.item()).toBeCloseTo(weightsPenalty + 0.5 * sum(y, Math.abs), 5);
    m.apply(rnd([1, 4]));
    const y2 = m.apply(rnd([1, 4]));
    expect(m.regularizationLoss()!.item()).toBeCloseTo(weightsPenalty + 0.5 * sum(y2, Math.abs), 5); // the last pass only
    d1.trainable = false;
    expect(m.regularizationLoss()!.item()).toBeCloseTo(0.1 * sum(k2, Math.abs) + 0.2 * sum(k2, (v) => v * v) + 0.5 * sum(y2, Math.abs), 5);
    expect(sequential([layers.dense({ units: 1 })], { inputShape: [2] }).regularizationLoss()).toBeNull();
  });
});

describe('names and autograd', () => {
  it('automatic names are unique per class (dense, dense_1, ...) and skip names given explicitly', () => {
    clearSession();
    expect([layers.dense({ units: 1 }).name, layers.dense({ units: 1 }).name, layers.conv2dTranspose({ filters: 1, kernelSize: 1 }).name]).toEqual(['dense', 'dense_1', 'conv2d_transpose']);
    layers.dense({ units: 1, name: 'dense_7' });
    expect(layers.dense({ units: 1 }).name).toBe('dense_8');
    expect(layers.leakyRelu().name).toBe('leaky_re_lu');
    expectError(() => layers.dense({ units: 1, name: 'a/b' }), ValueError, "option 'name' must be a non-empty string without '/'");
  });

  it('backward through a model fills .grad of the trainable weights only; frozen layers get none', () => {
    const d1 = layers.dense({ units: 4, activation: 'relu' });
    const bn = layers.batchNormalization();
    const d2 = layers.dense({ units: 1 });
    const m = sequential([d1, bn, d2], { inputShape: [3] });
    d1.trainable = false;
    const loss = (m.apply(rnd([8, 3]), { training: true }) as Tensor).square().mean();
    loss.backward();
    expect(d1.kernel!.grad).toBeNull();
    expect(bn.movingMean!.grad).toBeNull();
    for (const v of m.trainableVariables) expect(v.grad?.shape, v.name).toEqual([...v.shape]);
    expect(m.trainableVariables.map((v) => v.name.split('/')[1])).toEqual(['gamma', 'beta', 'kernel', 'bias']);
  });
});

describe('Sequential', () => {
  it('without an input shape builds on the first call, from the data', () => {
    const m = sequential([layers.dense({ units: 4, activation: 'relu' }), layers.dense({ units: 2 })]);
    expect(m.built).toBe(false);
    expectError(() => m.summary(), ValueError, 'summary() needs a built model');
    expectError(() => m.countParams(), ValueError, 'countParams() needs a built layer');
    expect(m.apply(rnd([3, 5])).shape).toEqual([3, 2]);
    expect(m.countParams()).toBe(5 * 4 + 4 + 4 * 2 + 2);
    expectError(() => m.apply(rnd([3, 6])), ValueError, "input 0 ('input_layer", 'expects shape [null,5], got [3,6]');
  });

  it('add() and pop(); input() as the first item fixes the input shape', () => {
    const m = sequential([input({ shape: [3] })]);
    m.add(layers.dense({ units: 4 }));
    m.add(layers.dense({ units: 2 }));
    expect(m.outputs[0].shape).toEqual([null, 2]);
    const last = m.pop();
    expect(last.className).toBe('Dense');
    expect(m.outputs[0].shape).toEqual([null, 4]);
    expect(m.apply(rnd([1, 3])).shape).toEqual([1, 4]);
    expectError(() => m.add(layers.conv2d({ filters: 1, kernelSize: 1 })), ShapeError, 'must have rank 4 [N, H, W, C], got shape [null,4]');
    expect(m.layers.length).toBe(1); // the failed add left the model as it was
  });
});

describe('configs', () => {
  /** A sequential model with every single-input layer type. */
  function everyLayer(): Sequential {
    return sequential([
      layers.rescaling({ scale: 1 / 255, offset: 0.1 }),
      layers.zeroPadding2d({ padding: [1, 2] }),
      layers.conv2d({ filters: 4, kernelSize: 3, strides: [1, 2], dilationRate: 1, kernelInitializer: { className: 'HeNormal', config: { seed: 3 } }, kernelRegularizer: 'l2' }),
      layers.batchNormalization({ momentum: 0.9 }),
      layers.relu({ maxValue: 6 }),
      layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'same' }),
      layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'elu' }),
      layers.conv2dTranspose({ filters: 3, kernelSize: 2, strides: 2, outputPadding: 1 }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.averagePooling2d({ poolSize: [2, 1], strides: 1, padding: 'same' }),
      layers.dropout({ rate: 0.3, seed: 1 }),
      layers.leakyRelu({ alpha: 0.1 }),
      layers.elu(),
      layers.activation({ activation: 'swish' }),
      layers.reshape({ targetShape: [-1, 6] }),
      layers.conv1d({ filters: 4, kernelSize: 2, padding: 'causal', groups: 2, activityRegularizer: 'l1' }),
      layers.flatten(),
      layers.dense({ units: 6, useBias: false }),
      layers.maxout({ numUnits: 3 }),
      layers.softmax(),
    ], { inputShape: [8, 7, 3], name: 'every_layer' });
  }

  it('sequential: modelFromConfig(getConfig()) through JSON gives the same architecture, and with setWeights the same outputs', () => {
    const m = everyLayer();
    const json = JSON.stringify(m.getConfig());
    const back = modelFromConfig(JSON.parse(json) as LayerConfig);
    expect(back).toBeInstanceOf(Sequential);
    expect(JSON.stringify(back.getConfig())).toBe(json);
    back.setWeights(m.getWeights());
    const t = rnd([2, 8, 7, 3], 0, 255);
    expect(bits(ref(() => back.apply(t)))).toEqual(bits(ref(() => m.apply(t))));
    expect(back.summary({ printFn: () => {} })).toBe(m.summary({ printFn: () => {} }));
  });

  it('functional: residual, inception, nested model, two inputs and outputs, a shared layer and training flags round-trip', () => {
    const base = sequential([layers.conv2d({ filters: 3, kernelSize: 1 }), layers.batchNormalization()], { inputShape: [4, 4, 3], name: 'nested_base' });
    base.getLayer(0).trainable = false;
    const img = input({ shape: [4, 4, 3], name: 'img' });
    const aux = input({ shape: [2], name: 'aux' });
    const f = base.apply(img, { training: false });
    const res = layers.add().apply([img, f]);
    const inc = layers.concatenate().apply([layers.conv2d({ filters: 2, kernelSize: 1 }).apply(res), layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same' }).apply(res)]);
    const pooled = layers.concatenate().apply([layers.globalAveragePooling2d().apply(inc), layers.globalMaxPooling2d().apply(inc), aux]);
    const shared = layers.dense({ units: 2, name: 'shared_head' });
    const o1 = shared.apply(pooled);
    const o2 = layers.dense({ units: 1, name: 'second' }).apply(layers.add().apply([o1, shared.apply(layers.dense({ units: 8 }).apply(pooled))]));
    const m = model({ inputs: [img, aux], outputs: [o1, o2], name: 'graph' });
    const json = JSON.stringify(m.getConfig());
    const back = modelFromConfig(JSON.parse(json) as LayerConfig);
    expect(back).toBeInstanceOf(Model);
    expect(JSON.stringify(back.getConfig())).toBe(json);
    expect((back.getLayer('nested_base') as Model).getLayer(0).trainable).toBe(false);
    expect(back.trainableVariables.length).toBe(m.trainableVariables.length);
    back.setWeights(m.getWeights());
    const ins = [rnd([2, 4, 4, 3]), rnd([2, 2])];
    expect(bits(back.apply(ins, { training: true }))).toEqual(bits(m.apply(ins, { training: true })));
  });

  it('a nested functional model round-trips too', () => {
    const ix = input({ shape: [3] });
    const inner = model({ inputs: ix, outputs: layers.dense({ units: 2, activation: 'relu' }).apply(ix), name: 'inner_fn' });
    const ox = input({ shape: [3] });
    const outer = model({ inputs: ox, outputs: layers.dense({ units: 1 }).apply(inner.apply(ox)), name: 'outer_fn' });
    const json = JSON.stringify(outer.getConfig());
    const back = modelFromConfig(JSON.parse(json) as LayerConfig);
    expect(JSON.stringify(back.getConfig())).toBe(json);
    back.setWeights(outer.getWeights());
    const t = rnd([4, 3]);
    expect(bits(back.apply(t))).toEqual(bits(outer.apply(t)));
  });

  it('layerFromConfig rebuilds single layers; unknown classes are named', () => {
    const d = layers.dense({ units: 3, activation: 'relu', name: 'solo' });
    const back = layerFromConfig(d.getConfig());
    expect(back.getConfig()).toEqual(d.getConfig());
    expectError(() => layerFromConfig({ className: 'Dense2', name: 'x', trainable: true }), ValueError, "unknown layer class 'Dense2'", 'Conv2D');
  });
});

describe('bad input names the layer', () => {
  it('a wrong input shape for a built model names the model, the input and both shapes', () => {
    const m = sequential([layers.conv2d({ filters: 2, kernelSize: 3 }), layers.flatten(), layers.dense({ units: 1 })], { inputShape: [28, 28, 1], name: 'mnist' });
    expectError(() => m.apply(rnd([2, 27, 28, 1])), ValueError, "mnist (Sequential): input 0 ('input_layer", 'expects shape [null,28,28,1], got [2,27,28,1]');
    expectError(() => m.apply(rnd([28, 28, 1])), ValueError, 'got [28,28,1] (a single example needs a batch axis of 1');
  });

  it('a built layer called on the wrong channels or rank names the layer and what it was built for', () => {
    const d = layers.dense({ units: 2, name: 'fc' });
    d.apply(rnd([1, 4]));
    expectError(() => d.apply(rnd([1, 5])), ShapeError, 'fc (Dense): axis -1 of the input must have length 4 (it was built for [null,4]), got shape [1,5]');
    const c = layers.conv2d({ filters: 2, kernelSize: 1, name: 'cv' });
    expectError(() => c.apply(rnd([4, 4, 3])), ShapeError, 'cv (Conv2D): the input must have rank 4 [N, H, W, C], got shape [4,4,3] (a single example');
  });

  it('an unknown activation, option or regularizer is refused at construction, naming the layer', () => {
    expectError(() => layers.conv2d({ filters: 2, kernelSize: 3, activation: 'rellu', name: 'c' }), ValueError, 'c (Conv2D): unknown activation "rellu"; known: linear, relu');
    expectError(() => layers.dense({ units: 2, kernel_size: 3 } as never), ValueError, "(Dense): unknown option 'kernel_size'");
    expectError(() => layers.dense({ units: 0 }), ValueError, "(Dense): option 'units' must be a positive integer, got 0");
    expectError(() => layers.dense({ units: 1, kernelRegularizer: 'l3' }), ValueError, "option 'kernelRegularizer': unknown regularizer");
    expectError(() => layers.conv2d({ filters: 4, kernelSize: 3, groups: 3 }), ValueError, "option 'groups' = 3 must divide 'filters' = 4");
  });

  it("a kernel larger than its input with 'valid' padding names the layer, in sequential() and functional models", () => {
    expectError(
      () => sequential([layers.conv2d({ filters: 8, kernelSize: 3 }), layers.conv2d({ filters: 4, kernelSize: 5, name: 'too_big' })], { inputShape: [5, 5, 1], name: 'small' }),
      ShapeError, 'small (Sequential): too_big (Conv2D): the kernel 5 is larger than the input height 3 of shape [null,3,3,8] with padding', "'same'",
    );
    const x = input({ shape: [2, 9, 1] });
    expectError(() => layers.maxPooling2d({ poolSize: 3, name: 'pool' }).apply(x), ShapeError, 'pool (MaxPooling2D): the pool window 3 is larger than the input height 2');
    expectError(() => layers.conv2d({ filters: 1, kernelSize: 3, name: 'eager' }).apply(rnd([1, 2, 2, 1])), ShapeError, 'eager (Conv2D): conv2d:');
  });

  it('merge layers check their inputs; op errors inside a layer carry its name', () => {
    const a = input({ shape: [3, 2] });
    const b = input({ shape: [4, 2] });
    expectError(() => layers.add({ name: 'sum' }).apply([a, b]), ShapeError, 'sum (Add): inputs must have matching shapes (or 1 to broadcast) on axis 1, got [null,3,2], [null,4,2]');
    expectError(() => layers.concatenate({ axis: 1, name: 'cat' }).apply([a, input({ shape: [3, 5] })]), ShapeError, 'cat (Concatenate): inputs must match on every axis but');
    expectError(() => layers.add({ name: 'one' }).apply(a), ValueError, 'one (Add): expects at least 2 inputs, got 1 (pass a list');
    expectError(() => layers.dense({ units: 1, name: 'ints' }).apply(new Tensor(Int32Array.from([1, 2]), [1, 2])), DTypeError, 'ints (Dense): dense:');
    expectError(() => layers.reshape({ targetShape: [5], name: 'rs' }).apply(a), ShapeError, 'rs (Reshape): cannot reshape an input of shape [null,3,2] (6 values per example)');
    expectError(() => layers.maxout({ numUnits: 4, name: 'mo' }).apply(a), ShapeError, "mo (Maxout): 'numUnits' = 4 must divide the 2 features");
  });
});

describe('training (src/train) through the model', () => {
  it('implements TrainableModel; compile / fit / evaluate / predict delegate to src/train', async () => {
    const m = sequential([layers.dense({ units: 8, activation: 'tanh' }), layers.dense({ units: 1 })], { inputShape: [2] });
    expect(m.stopTraining).toBe(false);
    expect(m.variables.length).toBe(4);
    expectError(() => m.fit(rnd([4, 2]), rnd([4, 1])), ValueError, 'fit() needs compile');
    m.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
    const x = rnd([64, 2]);
    const y = x.sum(1, true).mul(0.5);
    const before = (await m.evaluate(x, y, { batchSize: 64 })).loss;
    const history = await m.fit(x, y, { epochs: 20, batchSize: 16, verbose: 0, seed: 1 });
    expect(history.history.loss.length).toBe(20);
    const after = (await m.evaluate(x, y, { batchSize: 64 })).loss;
    expect(after).toBeLessThan(before);
    const p = await m.predict(x, { batchSize: 10 });
    expect(p.shape).toEqual([64, 1]);
    expect(bits(p)).toEqual(bits(m.predictOnBatch(x)));
  });
});
