/**
 * The gradients the ops record, on the native backend in float32: each must equal, bit for bit, the backward
 * op called directly (ops.conv2dBackpropInput, ops.maxPool2dBackward, ...) on the same upstream gradient,
 * because the recorded gradient runs the same kernel on the same operands. A difference means the tape
 * resolved other attributes (padding, groups, views) than the forward did. Without the addon the same checks
 * run on the reference backend (the coverage line at the top says which).
 *
 * Also the tape's behaviour around the ops: inputs that do not require grad get nothing (and cost nothing),
 * labels get no gradient, noGrad records nothing, conv2dAsync records like conv2d, and the backward entry points
 * without a second-order gradient say so when a backward pass reaches them.
 */
import { describe, expect, it } from 'vitest';

import * as ops from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { mul, sign } from '../../src/tensor/elementwise.js';
import { matmul } from '../../src/tensor/linalg.js';
import { sum } from '../../src/tensor/reduction.js';
import { withBackend } from '../../src/backends/registry.js';
import { gradients, noGrad } from '../../src/autograd/index.js';
import { NodegradError } from '../../src/errors.js';
import { compareTensors, nativeBackend, nativeLoadError } from '../helpers/backends.js';
import { expectError } from '../helpers/errors.js';
import { uniformF32 } from '../helpers/random.js';

console.log(`[autograd ops] recorded gradients vs the backward ops on the ${nativeBackend.name} backend${nativeLoadError ? ` (native addon NOT loaded: ${nativeLoadError})` : ''}`);

let seed = 1000;
/** A float32 tensor uniform in [lo, hi), a fresh seed per call. */
function rnd(shape: readonly number[], lo = -1, hi = 1): Tensor {
  return new Tensor(uniformF32(shape.reduce((a, b) => a * b, 1), seed++, lo, hi), shape);
}
const leaf = (shape: readonly number[], lo?: number, hi?: number): Tensor => rnd(shape, lo, hi).requireGrad();

function same(got: Tensor | null, want: Tensor, what: string): void {
  expect(got, what).not.toBeNull();
  compareTensors(got!, want, 'exact', what);
}

/** Runs fn on the native backend (or its stand-in). */
const onNative = <T>(fn: () => T): T => withBackend(nativeBackend, fn);

/** d<dy, y>/d(wrt): the recorded gradients for the upstream gradient dy. */
const tape = (y: Tensor, wrt: Tensor[], dy: Tensor): Tensor[] => gradients(y, wrt, { gradient: dy });

describe('recorded gradients equal the backward ops (native, float32, exact)', () => {
  const convCases = [
    { x: [2, 7, 6, 4], w: [3, 3, 4, 6], o: { strides: 1, padding: 'same' } },
    { x: [1, 9, 8, 4], w: [3, 2, 2, 6], o: { strides: [2, 3], padding: 'valid', dilation: 1, groups: 2 } },
    { x: [2, 8, 8, 3], w: [3, 3, 3, 5], o: { strides: 2, padding: [[1, 0], [2, 1]], dilation: [2, 1] } },
    { x: [1, 5, 5, 6], w: [1, 1, 2, 3], o: { padding: 'same', groups: 3 } },
  ] as const;
  for (const c of convCases) {
    it(`conv2d x [${c.x}] w [${c.w}] ${JSON.stringify(c.o)}`, () => onNative(() => {
      const x = leaf(c.x);
      const w = leaf(c.w);
      const bias = leaf([c.w[3]]);
      const y = ops.conv2d(x, w, { ...c.o, bias });
      const dy = rnd(y.shape);
      const [dx, dw, db] = tape(y, [x, w, bias], dy);
      same(dx, ops.conv2dBackpropInput(dy, w, x.shape, c.o), 'dx');
      same(dw, ops.conv2dBackpropFilter(x, dy, w.shape, c.o), 'dw');
      same(db, sum(dy, [0, 1, 2]), 'dbias');
    }));
  }

  it('conv2dAsync records the same gradient as conv2d', async () => {
    const x = leaf([2, 6, 5, 3]);
    const w = leaf([3, 3, 3, 4]);
    const o = { strides: 2, padding: 'same' as const };
    const y = await onNative(() => ops.conv2dAsync(x, w, o));
    expect(y.requiresGrad).toBe(true);
    const dy = rnd(y.shape);
    onNative(() => {
      const [dx, dw] = tape(y, [x, w], dy);
      same(dx, ops.conv2dBackpropInput(dy, w, x.shape, o), 'dx');
      same(dw, ops.conv2dBackpropFilter(x, dy, w.shape, o), 'dw');
    });
    // noGrad around the awaited call covers the continuation that records.
    const quiet = await noGrad(async () => await onNative(() => ops.conv2dAsync(x, w, o)));
    expect(quiet.requiresGrad).toBe(false);
  });

  it('conv1d (causal, dilated, grouped) through its 4-D views', () => onNative(() => {
    const x = leaf([2, 9, 4]);
    const w = leaf([3, 2, 6]);
    const bias = leaf([6]);
    const y = ops.conv1d(x, w, { padding: 'causal', dilation: 2, groups: 2, stride: 2, bias });
    const dy = rnd(y.shape);
    const [dx, dw, db] = tape(y, [x, w, bias], dy);
    // causal pads (K-1)*d = 4 on the left: the conv2d with explicit pads on H = 1.
    const o = { strides: [1, 2] as [number, number], dilation: [1, 2] as [number, number], padding: [[0, 0], [4, 0]] as [[number, number], [number, number]], groups: 2 };
    const dy4 = dy.reshape([2, 1, dy.shape[1], 6]);
    same(dx, ops.conv2dBackpropInput(dy4, w.reshape([1, 3, 2, 6]), [2, 1, 9, 4], o).reshape(x.shape), 'dx');
    same(dw, ops.conv2dBackpropFilter(x.reshape([2, 1, 9, 4]), dy4, [1, 3, 2, 6], o).reshape(w.shape), 'dw');
    same(db, sum(dy, [0, 1]), 'dbias');
  }));

  it('depthwiseConv2d (multiplier 2) as the grouped conv it runs', () => onNative(() => {
    const x = leaf([2, 7, 7, 3]);
    const w = leaf([3, 3, 3, 2]);
    const bias = leaf([6]);
    const o = { strides: 2, padding: 'same' as const, dilation: 1 };
    const y = ops.depthwiseConv2d(x, w, { ...o, bias });
    const dy = rnd(y.shape);
    const [dx, dw, db] = tape(y, [x, w, bias], dy);
    const g = { ...o, groups: 3 };
    same(dx, ops.conv2dBackpropInput(dy, w.reshape([3, 3, 1, 6]), x.shape, g), 'dx');
    same(dw, ops.conv2dBackpropFilter(x, dy, [3, 3, 1, 6], g).reshape(w.shape), 'dw');
    same(db, sum(dy, [0, 1, 2]), 'dbias');
  }));

  it('separableConv2d: the depthwise and the pointwise steps chained', () => onNative(() => {
    const x = leaf([1, 6, 6, 2]);
    const dwW = leaf([3, 3, 2, 2]);
    const pwW = leaf([1, 1, 4, 5]);
    const bias = leaf([5]);
    const y = ops.separableConv2d(x, dwW, pwW, { padding: 'same', bias });
    const dy = rnd(y.shape);
    const [dx, ddw, dpw, db] = tape(y, [x, dwW, pwW, bias], dy);
    const depth = noGrad(() => ops.depthwiseConv2d(x, dwW, { padding: 'same' }));
    same(dpw, ops.conv2dBackpropFilter(depth, dy, pwW.shape), 'dpointwise');
    same(db, sum(dy, [0, 1, 2]), 'dbias');
    const dDepth = ops.conv2dBackpropInput(dy, pwW, depth.shape);
    const g = { padding: 'same' as const, groups: 2 };
    same(dx, ops.conv2dBackpropInput(dDepth, dwW.reshape([3, 3, 1, 4]), x.shape, g), 'dx');
    same(ddw, ops.conv2dBackpropFilter(x, dDepth, [3, 3, 1, 4], g).reshape(dwW.shape), 'ddepthwise');
  }));

  it('conv2dTranspose: dx is conv2d(dy, w), dw the filter gradient with dy as the input', () => onNative(() => {
    const x = leaf([2, 4, 3, 5]);
    const w = leaf([3, 3, 4, 5]);
    const bias = leaf([4]);
    const o = { strides: 2, padding: 'same' as const };
    const y = ops.conv2dTranspose(x, w, { ...o, bias, outputPadding: 1 });
    const dy = rnd(y.shape);
    const [dx, dw, db] = tape(y, [x, w, bias], dy);
    same(dx, ops.conv2d(dy, w, o), 'dx');
    same(dw, ops.conv2dBackpropFilter(dy, x, w.shape, o), 'dw');
    same(db, sum(dy, [0, 1, 2]), 'dbias');
  }));

  it('pools: max, avg (overlapping, padded), global avg/max with and without keepDims', () => onNative(() => {
    const x = leaf([2, 7, 6, 3]);
    for (const o of [{ poolSize: 3, strides: 2, padding: 'same' }, { poolSize: [2, 3], strides: 1 }, { poolSize: 2 }] as const) {
      const ym = ops.maxPool2d(x, o);
      const dym = rnd(ym.shape);
      same(tape(ym, [x], dym)[0], ops.maxPool2dBackward(dym, x, o), `maxPool2d ${JSON.stringify(o)}`);
      const ya = ops.avgPool2d(x, o);
      const dya = rnd(ya.shape);
      same(tape(ya, [x], dya)[0], ops.avgPool2dBackward(dya, x.shape, o), `avgPool2d ${JSON.stringify(o)}`);
    }
    for (const keepDims of [false, true]) {
      for (const [f, mode] of [[ops.globalAvgPool2d, 'avg'], [ops.globalMaxPool2d, 'max']] as const) {
        const y = f(x, { keepDims });
        const dy = rnd(y.shape);
        same(tape(y, [x], dy)[0], ops.globalPool2dBackward(dy, x, mode), `global ${mode} keepDims ${keepDims}`);
      }
    }
  }));

  for (const training of [true, false]) {
    it(`batchNorm (${training ? 'training' : 'inference'}): dx, dgamma, dbeta from batchNormBackward`, () => onNative(() => {
      const x = leaf([4, 3, 3, 5]);
      const gamma = leaf([5], 0.5, 1.5);
      const beta = leaf([5]);
      const movingMean = rnd([5]);
      const movingVar = rnd([5], 0.5, 2);
      const r = ops.batchNorm(x, { gamma, beta, movingMean, movingVar, training, epsilon: 1e-3 });
      const dy = rnd(x.shape);
      const [dx, dg, db] = tape(r.y, [x, gamma, beta], dy);
      const want = ops.batchNormBackward(dy, x, { gamma, mean: r.mean, variance: r.variance, epsilon: 1e-3, training });
      same(dx, want.dx, 'dx');
      same(dg, want.dgamma, 'dgamma');
      same(db, want.dbeta, 'dbeta');
      // The moving statistics are constants: updating them records nothing.
      expect(r.movingMean?.requiresGrad ?? false).toBe(false);
    }));
  }

  for (const activation of ['linear', 'relu'] as const) {
    it(`dense (${activation}, rank-3 x): two matmuls and a column sum`, () => onNative(() => {
      const x = leaf([3, 2, 5]);
      const w = leaf([5, 4]);
      const bias = leaf([4]);
      const y = ops.dense(x, w, { bias, activation });
      const dy = rnd(y.shape);
      const [dx, dw, db] = tape(y, [x, w, bias], dy);
      // relu's output is >= 0, so sign(y) is the mask of y > 0.
      const dz = (activation === 'relu' ? mul(dy, sign(y.detach())) : dy).reshape([6, 4]);
      same(dx, matmul(dz, w, { transposeB: true }).reshape(x.shape), 'dx');
      same(dw, matmul(x.reshape([6, 5]), dz, { transposeA: true }), 'dw');
      same(db, sum(dz, 0), 'dbias');
    }));
  }

  it('softmaxCrossEntropy: logits gradient from the backward op; labels get none', () => onNative(() => {
    const logits = leaf([5, 4], -3, 3);
    const sparse = new Tensor(Int32Array.from([0, 3, 1, 1, 2]), [5]);
    const hot = rnd([5, 4], 0, 1).requireGrad(); // soft labels that require grad: still no gradient
    for (const labels of [sparse, hot]) {
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        const loss = ops.softmaxCrossEntropy(logits, labels, { reduction });
        const dl = rnd(loss.shape);
        const [dlogits, dlabels] = gradients(loss, labels === hot ? [logits, hot] : [logits], { gradient: dl });
        same(dlogits, ops.softmaxCrossEntropyBackward(dl, logits, labels, { reduction }), `${labels.dtype} ${reduction}`);
        if (dlabels) expect(Array.from(dlabels.data).every((v) => v === 0)).toBe(true);
      }
    }
  }));

  it('dropout and dropoutWithMask: dy * mask, the mask of the forward; the identity passes dy through', () => onNative(() => {
    const x = leaf([4, 33]);
    const y = ops.dropout(x, { rate: 0.3, seed: 9 });
    const { mask } = noGrad(() => ops.dropoutWithMask(x, { rate: 0.3, seed: 9 }));
    const dy = rnd(y.shape);
    same(tape(y, [x], dy)[0], mul(dy, mask), 'dropout');
    const r = ops.dropoutWithMask(x, { rate: 0.5, seed: 3 });
    same(tape(r.y, [x], dy)[0], mul(dy, r.mask), 'dropoutWithMask');
    const off = ops.dropout(x, { rate: 0.5, training: false });
    expect(off).toBe(x);
  }));
});

describe('the tape around the ops', () => {
  it('computes only what is asked: an input without requiresGrad gets no gradient', () => onNative(() => {
    const x = rnd([1, 5, 5, 2]); // the first layer's input: its dx is never computed
    const w = leaf([3, 3, 2, 3]);
    const y = ops.conv2d(x, w);
    expect(y.requiresGrad).toBe(true);
    const node = y.gradNode!;
    const gs = node.backward(rnd(y.shape));
    expect(gs[0]).toBeNull();
    expect(gs[1]!.shape).toEqual([3, 3, 2, 3]);
    expect(gs[2]).toBeNull();
    // Nothing requires grad: nothing is recorded; likewise under noGrad.
    expect(ops.conv2d(x, rnd([3, 3, 2, 3])).requiresGrad).toBe(false);
    expect(noGrad(() => ops.conv2d(x, w)).requiresGrad).toBe(false);
    expect(noGrad(() => ops.batchNorm(leaf([4, 2]), { training: true })).y.requiresGrad).toBe(false);
  }));

  it('a backward pass through a backward op without a second-order gradient throws, naming it', () => onNative(() => {
    const x = rnd([1, 4, 4, 1]);
    const dy = leaf([1, 2, 2, 1]);
    const dx = ops.maxPool2dBackward(dy, x);
    expectError(() => sum(dx).backward(), NodegradError, "'maxPool2dBackward'", "'dy'", 'not implemented');
    const bx = leaf([4, 2]);
    const stats = noGrad(() => ops.batchNorm(bx, { training: true }));
    const g = ops.batchNormBackward(rnd([4, 2]), bx, { mean: stats.mean, variance: stats.variance, training: true });
    expectError(() => sum(g.dx).backward(), NodegradError, "'batchNormBackward'", 'not implemented');
  }));

  it('rejects float arguments of different dtypes, naming both', () => {
    const x = new Tensor(new Float64Array(2 * 5 * 5 * 3), [2, 5, 5, 3]);
    expectError(() => ops.conv2d(x, rnd([3, 3, 3, 4])), Error, 'conv2d', "argument 'w' is float32", "'x' is float64");
  });
});
