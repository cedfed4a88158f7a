/**
 * Gradients of the reductions (src/tensor/reduction.ts): finite differences in float64 over axes and keepDims,
 * and exact float32 checks of the tie convention (max/min split the gradient evenly among tied extremes) and
 * of prod with zeros.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import * as red from '../../src/tensor/reduction.js';
import { mul } from '../../src/tensor/elementwise.js';
import { gradients } from '../../src/autograd/index.js';
import { distinctF64, randAway, randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

type Axis = number | number[] | undefined;
const SHAPE = [2, 3, 4];
/** Axis sets over SHAPE: none, one (negative too), several non-contiguous, all. */
const AXES: Axis[] = [undefined, 0, -1, [0, 2], [1, 2], [0, 1, 2]];

describe('sum, mean, max, min, prod, variance, std, logSumExp over axes (float64 finite differences)', () => {
  const cases: Array<[string, (x: Tensor, axis: Axis, keep: boolean) => Tensor, (seed: number) => Tensor]> = [
    ['sum', red.sum, (s) => randF64(SHAPE, s)],
    ['mean', red.mean, (s) => randF64(SHAPE, s)],
    // Distinct values: no ties, so the arg-max is decided by more than the step.
    ['max', red.max, (s) => distinctF64(SHAPE, s)],
    ['min', red.min, (s) => distinctF64(SHAPE, s)],
    ['prod', red.prod, (s) => randF64(SHAPE, s, 0.5, 1.5)],
    ['variance', red.variance, (s) => randF64(SHAPE, s)],
    // std is sqrt(variance): variance > 0 for random data.
    ['std', red.std, (s) => randF64(SHAPE, s)],
    ['logSumExp', red.logSumExp, (s) => randF64(SHAPE, s, -3, 3)],
  ];
  cases.forEach(([name, f, data], i) => {
    AXES.forEach((axis, j) => {
      for (const keep of [false, true]) {
        it(`${name} axis ${JSON.stringify(axis)} keepDims ${keep}`, () => {
          tapeGradCheck({ what: `${name} ${JSON.stringify(axis)} ${keep}`, inputs: [data(200 + 10 * i + j)], fn: (x) => f(x, axis, keep) });
        });
      }
    });
  });

  it('prod is polynomial: finite differences hold also with one and two zeros in a group', () => {
    const x = randF64([3, 4], 300, 0.5, 1.5);
    x.data[1] = 0; // row 0: one zero
    x.data[8] = 0; // row 2: two zeros
    x.data[10] = 0;
    tapeGradCheck({ what: 'prod zeros rows', inputs: [x], fn: (t) => red.prod(t, 1) });
    tapeGradCheck({ what: 'prod zeros all', inputs: [x], fn: (t) => red.prod(t) });
  });

  it('logSumExp of large values (stable) and scalars', () => {
    tapeGradCheck({ what: 'lse large', inputs: [randF64([2, 5], 301, 500, 503)], fn: (x) => red.logSumExp(x, 1) });
    tapeGradCheck({ what: 'sum scalar', inputs: [randF64([], 302)], fn: (x) => red.sum(x) });
  });
});

describe('norm (float64 finite differences)', () => {
  const vector: Array<[string | number, Axis]> = [
    ['euclidean', undefined], ['euclidean', [0, 2]], [2, -1], [1, 1], [3, 0], [0.5, -1], [Infinity, -1], [-Infinity, 0], [1.5, undefined],
  ];
  vector.forEach(([ord, axis], i) => {
    for (const keep of [false, true]) {
      it(`ord ${String(ord)} axis ${JSON.stringify(axis)} keepDims ${keep}`, () => {
        // |x| distinct and 0.05 away from 0: sign(x) and the arg-max of |x| are fixed within the step.
        const x = distinctF64(SHAPE, 400 + i, 0.2);
        const d = x.data;
        for (let k = 0; k < d.length; k++) d[k] = (d[k] >= 0 ? 1 : -1) * (Math.abs(d[k]) + 0.05 + k * 1e-3);
        tapeGradCheck({ what: `norm ${String(ord)} ${JSON.stringify(axis)}`, inputs: [x], fn: (t) => red.norm(t, ord as never, axis, keep) });
      });
    }
  });

  const matrix: Array<[string | number, number[]]> = [['fro', [0, 1]], [1, [1, 2]], [-1, [2, 0]], [Infinity, [0, 2]], [-Infinity, [2, 1]]];
  matrix.forEach(([ord, axis], i) => {
    it(`matrix ord ${String(ord)} axis ${JSON.stringify(axis)}`, () => {
      // Entries away from 0 (sign fixed); random line sums are distinct far beyond the step.
      const x = randAway(SHAPE, 500 + i, [0], 0.1, -2, 2);
      tapeGradCheck({ what: `norm matrix ${String(ord)}`, inputs: [x], fn: (t) => red.norm(t, ord as never, axis) });
    });
  });

  it('is 0 at the zero vector (subgradient), not NaN', () => {
    const x = tensor([[0, 0], [3, 4]]).requireGrad();
    const [g] = gradients(red.sum(red.norm(x, 'euclidean', 1)), [x]);
    expect(vals(g)).toEqual([0, 0, 0.6, 0.8].map(Math.fround));
    const [g3] = gradients(red.sum(red.norm(x, 3, 1)), [x]);
    expect(vals(g3).slice(0, 2)).toEqual([0, 0]);
  });
});

describe('tie and zero conventions (exact float32)', () => {
  it('max and min split the gradient evenly among tied extremes', () => {
    const x = tensor([[1, 3, 3, 2], [5, 5, 5, 5]]).requireGrad();
    const [gmax] = gradients(red.sum(mul(red.max(x, 1), tensor([1, 3]))), [x]);
    expect(vals(gmax)).toEqual([0, 0.5, 0.5, 0, 0.75, 0.75, 0.75, 0.75]);
    const [gmin] = gradients(red.min(x), [x]);
    expect(vals(gmin)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    const [gall] = gradients(red.max(x), [x]);
    expect(vals(gall)).toEqual([0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
  });

  it('norm Infinity and the matrix norms split ties too', () => {
    const x = tensor([-2, 1, 2]).requireGrad();
    const [g] = gradients(red.norm(x, Infinity), [x]);
    expect(vals(g)).toEqual([-0.5, 0, 0.5]);
    // Column sums of |x| are 4 and 4: ord 1 splits between the columns.
    const m = tensor([[1, -3], [3, 1]]).requireGrad();
    const [gm] = gradients(red.norm(m, 1, [0, 1]), [m]);
    expect(vals(gm)).toEqual([0.5, -0.5, 0.5, 0.5]);
  });

  it('prod with zeros: the product of the others, no NaN', () => {
    const x = tensor([[2, 0, 3], [0, 0, 5], [1, 2, 3]]).requireGrad();
    const [g] = gradients(red.sum(red.prod(x, 1)), [x]);
    expect(vals(g)).toEqual([0, 6, 0, 0, 0, 0, 6, 3, 2]);
  });

  it('mean and variance gradients in float32', () => {
    const x = tensor([1, 2, 3, 6]).requireGrad();
    const [gv] = gradients(red.variance(x), [x]);
    // mean 3: 2 (x - 3) / 4.
    expect(vals(gv)).toEqual([-1, -0.5, 0, 1.5]);
  });

  it('argmax and argmin are not recorded; int32 sums are not either', () => {
    const x = tensor([1, 3, 2]).requireGrad();
    expect(red.argmax(x).requiresGrad).toBe(false);
    expect(red.argmin(x).requiresGrad).toBe(false);
    expect(red.sum(tensor([1, 2], undefined, 'int32')).requiresGrad).toBe(false);
  });
});
