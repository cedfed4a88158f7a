/**
 * Gradients of shape and data movement (src/tensor/manipulation.ts): finite differences in float64 for every
 * op, and exact float32 checks of where each gradient lands (scatter-adds of gather, reflect pads and tiles sum
 * integers exactly).
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { arange, tensor } from '../../src/tensor/creation.js';
import * as man from '../../src/tensor/manipulation.js';
import { mul } from '../../src/tensor/elementwise.js';
import { sum } from '../../src/tensor/reduction.js';
import { backward, gradients } from '../../src/autograd/index.js';
import { randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

/** d sum(w * f(x)) / dx for float32 x = 0..n-1 of `shape` and weights w = 1, 2, 3, ... of f's output shape. */
function weighted(shape: number[], f: (x: Tensor) => Tensor): number[] {
  const x = arange(shape.reduce((p, d) => p * d, 1)).reshape(shape).detach().requireGrad();
  const y = f(x);
  const w = arange(1, y.size + 1).reshape(y.shape);
  return vals(gradients(sum(mul(y, w)), [x])[0]);
}

describe('views and permutations (float64 finite differences)', () => {
  const x = () => randF64([2, 3, 4], 1);
  const cases: Array<[string, (t: Tensor) => Tensor]> = [
    ['reshape', (t) => man.reshape(t, [4, -1])],
    ['flatten', (t) => t.flatten()],
    ['expandDims', (t) => man.expandDims(t, -2)],
    ['squeeze', (t) => man.squeeze(man.reshape(t, [2, 1, 3, 4, 1]))],
    ['squeeze axis', (t) => man.squeeze(man.reshape(t, [2, 1, 12]), 1)],
    ['permute', (t) => man.permute(t, [2, 0, 1])],
    ['permute identity', (t) => man.permute(t, [0, 1, 2])],
    ['transpose', (t) => man.transpose(t)],
    ['transpose perm', (t) => man.transpose(t, [1, 0, 2])],
    ['slice', (t) => man.slice(t, [1, -2], [1, 2])],
    ['slice whole', (t) => man.slice(t, [0, 1, 1], [-1, -1, 2])],
    ['broadcastTo', (t) => man.broadcastTo(man.slice(t, [0, 0, 0], [2, 1, 4]), [3, 2, 5, 4])],
    ['broadcastTo same', (t) => man.broadcastTo(t, [2, 3, 4])],
    ['tile', (t) => man.tile(t, [2, 1, 3])],
    ['tile longer reps', (t) => man.tile(man.slice(t, [0, 0, 0], [1, 2, 2]), [2, 1, 2, 1])],
    ['tile shorter reps', (t) => man.tile(t, [2])],
  ];
  cases.forEach(([name, f]) => it(name, () => tapeGradCheck({ what: name, inputs: [x()], fn: f })));
});

describe('gather, concat, stack, unstack, split, pad (float64 finite differences)', () => {
  it('gather with repeated indices along each axis, and int32 index tensors of rank 2', () => {
    const x = randF64([3, 4, 2], 2);
    tapeGradCheck({ what: 'gather axis 0', inputs: [x], fn: (t) => man.gather(t, [2, 0, 2, 2]) });
    tapeGradCheck({ what: 'gather axis 1', inputs: [x], fn: (t) => man.gather(t, new Tensor(Int32Array.of(3, 1, 1, 0, 3, 3), [2, 3]), 1) });
    tapeGradCheck({ what: 'gather axis -1', inputs: [x], fn: (t) => man.gather(t, [1], -1) });
  });

  it('concat along each axis; stack along a new axis; inputs that do not require grad', () => {
    const a = randF64([2, 3], 3);
    const b = randF64([2, 1], 4);
    const c = randF64([2, 2], 5);
    tapeGradCheck({ what: 'concat axis 1', inputs: [a, b, c], fn: (p, q, r) => man.concat([p, q, r], 1) });
    tapeGradCheck({ what: 'concat axis 0', inputs: [a, randF64([1, 3], 6)], fn: (p, q) => man.concat([p, q, p], 0) });
    tapeGradCheck({ what: 'concat wrt one', inputs: [a, c], wrt: [1], fn: (p, q) => man.concat([p, q], -1) });
    const s = randF64([2, 3], 7);
    tapeGradCheck({ what: 'stack 0', inputs: [a, s], fn: (p, q) => man.stack([p, q, p]) });
    tapeGradCheck({ what: 'stack -1', inputs: [a, s], fn: (p, q) => man.stack([p, q], -1) });
  });

  it('unstack and split: parts used unevenly, some not at all', () => {
    const x = randF64([3, 4], 8);
    tapeGradCheck({ what: 'unstack 0', inputs: [x], fn: (t) => { const [p, , r] = man.unstack(t); return mul(p, r); } });
    tapeGradCheck({ what: 'unstack 1', inputs: [x], fn: (t) => man.stack(man.unstack(t, 1).reverse(), 1) });
    tapeGradCheck({ what: 'split count', inputs: [x], fn: (t) => { const [p, q] = man.split(t, 2, 1); return mul(p, q); } });
    tapeGradCheck({ what: 'split sizes', inputs: [x], fn: (t) => man.split(t, [1, -1, 1], 0)[1] });
  });

  it('pad in each mode, on several axes', () => {
    const x = randF64([3, 4], 9);
    const pads: Array<[number, number]> = [[1, 2], [2, 1]];
    tapeGradCheck({ what: 'pad constant', inputs: [x], fn: (t) => man.pad(t, pads, { value: 3 }) });
    tapeGradCheck({ what: 'pad reflect', inputs: [x], fn: (t) => man.pad(t, pads, { mode: 'reflect' }) });
    tapeGradCheck({ what: 'pad symmetric', inputs: [x], fn: (t) => man.pad(t, [[3, 0], [4, 4]], { mode: 'symmetric' }) });
  });

  it('cast between float dtypes passes the gradient back in the input dtype', () => {
    // float64 -> float32 -> float64 would round (finite differences need float64 throughout): check exactly.
    const x = tensor([1, 2, 3], undefined, 'float64').requireGrad();
    const y = man.cast(x, 'float32');
    expect(y.dtype).toBe('float32');
    const [g] = gradients(sum(mul(y, tensor([0.5, 2, -1]))), [x]);
    expect(g.dtype).toBe('float64');
    expect(vals(g)).toEqual([0.5, 2, -1]);
    const z = tensor([1.5, 2]).requireGrad();
    const [gz] = gradients(sum(mul(man.cast(z, 'float64'), 3)), [z]);
    expect(gz.dtype).toBe('float32');
    expect(vals(gz)).toEqual([3, 3]);
  });
});

describe('where each gradient lands (exact float32)', () => {
  it('slice pads with zeros; transpose permutes back', () => {
    expect(weighted([2, 3], (x) => man.slice(x, [0, 1], [2, 1]))).toEqual([0, 1, 0, 0, 2, 0]);
    expect(weighted([2, 3], (x) => man.transpose(x))).toEqual([1, 3, 5, 2, 4, 6]);
  });

  it('gather adds repeated picks', () => {
    expect(weighted([3, 2], (x) => man.gather(x, [2, 0, 2]))).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
  });

  it('tile and broadcastTo sum the copies', () => {
    expect(weighted([2], (x) => man.tile(x, [3]))).toEqual([1 + 3 + 5, 2 + 4 + 6]);
    expect(weighted([2, 1], (x) => man.broadcastTo(x, [2, 2, 3]))).toEqual([1 + 2 + 3 + 7 + 8 + 9, 4 + 5 + 6 + 10 + 11 + 12]);
  });

  it('reflect and symmetric pads add mirrored copies to their sources', () => {
    // reflect [0,1,2] by (2, 1): [2,1,0,1,2,1] with weights 1..6 -> x0: 3, x1: 2 + 4 + 6, x2: 1 + 5.
    expect(weighted([3], (x) => man.pad(x, [[2, 1]], { mode: 'reflect' }))).toEqual([3, 12, 6]);
    // symmetric by (2, 1): [1,0,0,1,2,2] -> x0: 2 + 3, x1: 1 + 4, x2: 5 + 6.
    expect(weighted([3], (x) => man.pad(x, [[2, 1]], { mode: 'symmetric' }))).toEqual([5, 5, 11]);
  });

  it('concat, split and unstack route blocks; unused parts give zeros', () => {
    expect(weighted([2, 2], (x) => man.concat([x, x], 1))).toEqual([1 + 3, 2 + 4, 5 + 7, 6 + 8]);
    expect(weighted([4], (x) => man.split(x, [1, 3])[1])).toEqual([0, 1, 2, 3]);
    expect(weighted([2, 2], (x) => man.unstack(x, 1)[0])).toEqual([1, 0, 2, 0]);
  });

  it('backward accumulates through several views of one leaf', () => {
    const x = tensor([1, 2, 3, 4]).requireGrad();
    const y = sum(mul(man.reshape(x, [2, 2]), man.transpose(man.reshape(x, [2, 2]))));
    backward(y);
    // sum_ij x_ij x_ji: d/dx_ij = 2 x_ji.
    expect(vals(x.grad)).toEqual([2, 6, 4, 8]);
  });

  it('oneHot and casts to int32 are not recorded', () => {
    const x = tensor([1.5, 2]).requireGrad();
    expect(man.cast(x, 'int32').requiresGrad).toBe(false);
    expect(man.oneHot(tensor([0, 1], undefined, 'int32'), 2).requiresGrad).toBe(false);
    expect(man.cast(x, 'float32')).toBe(x);
  });
});
