/**
 * Reductions (src/tensor/reduction.ts) on the reference backend against direct loops over every axis subset
 * of a rank-3 tensor, and hand values for variance, norms, logSumExp and the edge cases.
 * Tolerance of a float32 sum of n terms accumulated in float64 and rounded once: 2^-24 |s| (one rounding),
 * plus the float64 error n * 2^-53 sum|x|, far below; we allow 2^-23 |s| + n 2^-40 max|x|.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import * as red from '../../src/tensor/reduction.js';
import { setBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { DTypeError, ValueError } from '../../src/errors.js';
import { assertClose } from '../helpers/close.js';
import { uniformF32 } from '../helpers/random.js';
import { expectError } from '../helpers/errors.js';

beforeAll(() => setBackend('reference'));

const f32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Float32Array.from(values), shape);
const i32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Int32Array.from(values), shape);
const arr = (t: Tensor) => Array.from(t.data);
const U32 = 2 ** -23;


/** Direct loop: reduces x [2,3,4] over `axes` with (init, step, finish); output in row-major order of kept axes. */
function loopReduce(
  x: ArrayLike<number>, shape: number[], axes: number[],
  init: number, step: (acc: number, v: number) => number, finish: (acc: number, n: number) => number = (a) => a,
): { values: number[]; shape: number[] } {
  const [A, B, C] = shape;
  const keep = [0, 1, 2].filter((a) => !axes.includes(a));
  const outShape = keep.map((a) => shape[a]);
  const outSize = outShape.reduce((p, d) => p * d, 1);
  const acc = new Array<number>(outSize).fill(init);
  let n = 1;
  for (const a of axes) n *= shape[a];
  for (let i = 0; i < A; i++) for (let j = 0; j < B; j++) for (let k = 0; k < C; k++) {
    const c = [i, j, k];
    let o = 0;
    for (const a of keep) o = o * shape[a] + c[a];
    acc[o] = step(acc[o], x[(i * B + j) * C + k]);
  }
  return { values: acc.map((v) => finish(v, n)), shape: outShape };
}

const subsets: number[][] = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];

describe('sum, mean, max, min, prod over every axis subset of [2,3,4]', () => {
  const shape = [2, 3, 4];
  const x = f32(Array.from(uniformF32(24, 5, -2, 2)), shape);
  const ops = {
    sum: [0, (a: number, v: number) => a + v, undefined],
    mean: [0, (a: number, v: number) => a + v, (a: number, n: number) => a / n],
    max: [-Infinity, Math.max, undefined],
    min: [Infinity, Math.min, undefined],
    prod: [1, (a: number, v: number) => a * v, undefined],
  } as const;
  for (const [op, [init, step, finish]] of Object.entries(ops)) {
    for (const axes of subsets) {
      for (const keepDims of [false, true]) {
        test(`${op} axis [${axes}] keepDims ${keepDims}`, () => {
          const want = loopReduce(x.data, shape, axes, init, step, finish);
          // Undefined means every axis; a single axis may be given as a number or as a negative number.
          const axisArg = axes.length === 3 && !keepDims ? undefined : axes.length === 1 ? axes[0] - 3 : axes;
          const got = (red as unknown as Record<string, (x: Tensor, a: unknown, k: boolean) => Tensor>)[op](x, axisArg, keepDims);
          expect(got.dtype).toBe('float32');
          expect(got.shape).toEqual(keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : want.shape);
          assertClose(got.data, want.values, { rtol: U32, atol: 24 * 2 ** -40 * 2, what: `${op} [${axes}]` });
          // The Tensor method is the same function.
          const viaMethod = (x as unknown as Record<string, (a: unknown, k: boolean) => Tensor>)[op](axisArg, keepDims);
          expect(arr(viaMethod)).toEqual(arr(got));
        });
      }
    }
  }
});

describe('dtype and edge cases', () => {
  test('int32: sum/max/min/prod stay int32 (wrapping), mean is float32', () => {
    const x = i32([1, 2, 3, 4], [2, 2]);
    for (const op of ['sum', 'max', 'min', 'prod'] as const) expect(red[op](x).dtype, op).toBe('int32');
    expect(arr(red.sum(x, 0))).toEqual([4, 6]);
    expect(arr(red.prod(x))).toEqual([24]);
    const m = red.mean(x, 1);
    expect(m.dtype).toBe('float32');
    expect(arr(m)).toEqual([1.5, 3.5]);
    expect(arr(red.sum(i32([2147483647, 1])))).toEqual([-2147483648]);
    expect(arr(red.prod(i32([65536, 65536])))).toEqual([0]);
  });

  test('empty reductions give the identity (TensorFlow)', () => {
    const z = f32([], [2, 0, 3]);
    expect(red.sum(z, 1).shape).toEqual([2, 3]);
    expect(arr(red.sum(z, 1))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(red.prod(z, 1))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(arr(red.mean(z, 1)).every(Number.isNaN)).toBe(true);
    expect(arr(red.max(z, 1))).toEqual(new Array(6).fill(-Infinity));
    expect(arr(red.min(z, 1))).toEqual(new Array(6).fill(Infinity));
    expect(red.sum(z, 0).shape).toEqual([0, 3]);
    const zi = i32([], [0]);
    expect(arr(red.max(zi))).toEqual([-2147483648]);
    expect(arr(red.min(zi))).toEqual([2147483647]);
    expect(arr(red.sum(zi))).toEqual([0]);
  });

  test('NaN propagates through max, min and sum', () => {
    const x = f32([1, NaN, 3]);
    expect(red.max(x).item()).toBeNaN();
    expect(red.min(x).item()).toBeNaN();
    expect(red.sum(x).item()).toBeNaN();
  });

  test('scalars and empty axis lists', () => {
    expect(red.sum(f32([5], [])).item()).toBe(5);
    expect(red.sum(3).item()).toBe(3);
    const x = f32([1, 2, 3, 4], [2, 2]);
    const same = red.sum(x, []);
    expect(same.shape).toEqual([2, 2]);
    expect(arr(same)).toEqual([1, 2, 3, 4]);
    expect(red.sum(x, [-1, 0], true).shape).toEqual([1, 1]);
  });

  test('float64 kernels accumulate in double and keep the array type', () => {
    const r = referenceBackend.reduce('sum', { data: Float64Array.of(1e16, 1, -1e16), shape: [3] }, [0]);
    expect(r.data).toBeInstanceOf(Float64Array);
    expect(r.data[0]).toBe(0); // left-to-right double: (1e16 + 1) rounds to 1e16
    const s = red.sum(f32([2 ** 24, 1, 1]));
    expect(s.item()).toBe(2 ** 24 + 2); // float32 accumulation would lose both ones
  });
});

describe('argmax / argmin', () => {
  const shape = [2, 3, 4];
  const x = f32(Array.from(uniformF32(24, 8, -1, 1)), shape);
  for (const axis of [0, 1, 2, -1]) {
    test(`along axis ${axis} vs a loop`, () => {
      const ax = axis < 0 ? axis + 3 : axis;
      const want = (better: (v: number, b: number) => boolean) => {
        const strides = [12, 4, 1];
        const keep = [0, 1, 2].filter((a) => a !== ax);
        const out: number[] = [];
        for (let p = 0; p < shape[keep[0]]; p++) for (let q = 0; q < shape[keep[1]]; q++) {
          const base = p * strides[keep[0]] + q * strides[keep[1]];
          let bi = 0;
          for (let j = 1; j < shape[ax]; j++) if (better(x.data[base + j * strides[ax]], x.data[base + bi * strides[ax]])) bi = j;
          out.push(bi);
        }
        return out;
      };
      const am = red.argmax(x, axis);
      expect(am.dtype).toBe('int32');
      expect(am.shape).toEqual(shape.filter((_, i) => i !== ax));
      expect(arr(am)).toEqual(want((v, b) => v > b));
      expect(arr(red.argmin(x, axis))).toEqual(want((v, b) => v < b));
    });
  }

  test('default axis is the last; ties go to the first index; the first NaN wins', () => {
    const t = f32([1, 3, 3, 0, 0, 0, 5, NaN, 5, NaN], [2, 5]);
    expect(arr(t.argmax())).toEqual([1, 2]);
    expect(arr(t.argmin())).toEqual([3, 2]);
    expect(arr(red.argmax(f32([2, 2, 1])))).toEqual([0]);
    expect(arr(red.argmin(f32([1, 0, 0])))).toEqual([1]);
  });

  test('int32 input', () => {
    expect(arr(red.argmax(i32([3, 9, 9, 1])))).toEqual([1]);
  });
});

describe('variance and std', () => {
  test('population variance by hand', () => {
    const x = f32([1, 2, 3, 4]);
    expect(red.variance(x).item()).toBe(1.25);
    expect(red.std(x).item()).toBe(Math.fround(Math.sqrt(1.25)));
    const m = f32([1, 2, 3, 4, 6, 8], [2, 3]);
    assertClose(red.variance(m, 1).data, [2 / 3, 8 / 3], { rtol: U32, what: 'variance axis 1' });
    assertClose(red.variance(m, 0).data, [2.25, 4, 6.25], { rtol: U32, what: 'variance axis 0' });
    expect(red.variance(m, 1, true).shape).toEqual([2, 1]);
    expect(m.variance(-1).shape).toEqual([2]);
    assertClose(m.std(0).data, [1.5, 2, 2.5], { rtol: U32, what: 'std' });
  });

  test('two-pass: no cancellation for a large mean', () => {
    const x = f32([10001, 10002, 10003]);
    assertClose(red.variance(x).data, [2 / 3], { rtol: 1e-6, what: 'offset variance' });
  });

  test('int32 input gives float32', () => {
    const v = red.variance(i32([1, 2]));
    expect(v.dtype).toBe('float32');
    expect(v.item()).toBe(0.25);
  });
});

describe('norm', () => {
  const v = f32([3, -4]);
  test('vector norms', () => {
    expect(red.norm(v).item()).toBe(5);
    expect(v.norm().item()).toBe(5);
    expect(red.norm(v, 2).item()).toBe(5);
    expect(red.norm(v, 1).item()).toBe(7);
    expect(red.norm(v, Infinity).item()).toBe(4);
    expect(red.norm(v, -Infinity).item()).toBe(3);
    assertClose(red.norm(v, 3).data, [Math.cbrt(91)], { rtol: 4 * U32, what: 'p=3' });
    assertClose(red.norm(v, 0.5).data, [(Math.sqrt(3) + 2) ** 2], { rtol: 4 * U32, what: 'p=0.5' });
  });

  test('large p does not overflow (scaled by max |x|)', () => {
    assertClose(red.norm(f32([1e30, -1e30]), 10).data, [1e30 * 2 ** 0.1], { rtol: 8 * U32, what: 'p=10' });
    expect(red.norm(f32([0, 0]), 3).item()).toBe(0);
    expect(red.norm(f32([Infinity, 1]), 3).item()).toBe(Infinity);
  });

  test('axis undefined reads the whole tensor as one vector (tf.norm)', () => {
    const m = f32([1, -2, 3, 4], [2, 2]);
    expect(red.norm(m, 1).item()).toBe(10);
    expect(red.norm(m, Infinity).item()).toBe(4);
    expect(red.norm(m).item()).toBe(Math.fround(Math.sqrt(30)));
  });

  test('vector norms along one axis, keepDims', () => {
    const m = f32([3, 4, 0, 6, 8, 0], [2, 3]);
    expect(arr(red.norm(m, 'euclidean', 1))).toEqual([5, 10]);
    expect(arr(red.norm(m, 1, -1))).toEqual([7, 14]);
    expect(red.norm(m, 2, 1, true).shape).toEqual([2, 1]);
    expect(arr(red.norm(m, Infinity, 0))).toEqual([6, 8, 0]);
  });

  test('matrix norms over two axes, in the order given', () => {
    const m = f32([1, -2, 3, 4], [2, 2]);
    expect(red.norm(m, 'fro', [0, 1]).item()).toBe(Math.fround(Math.sqrt(30)));
    expect(red.norm(m, 'fro').item()).toBe(Math.fround(Math.sqrt(30)));
    expect(red.norm(m, 1, [0, 1]).item()).toBe(6); // column sums 4, 6
    expect(red.norm(m, -1, [0, 1]).item()).toBe(4);
    expect(red.norm(m, Infinity, [0, 1]).item()).toBe(7); // row sums 3, 7
    expect(red.norm(m, -Infinity, [0, 1]).item()).toBe(3);
    expect(red.norm(m, 1, [1, 0]).item()).toBe(7); // of the transpose
    // A batch of two 2x2 matrices [2,2,2] over the last two axes.
    const b = f32([1, -2, 3, 4, 0, 1, 1, 0], [2, 2, 2]);
    expect(arr(red.norm(b, 1, [1, 2]))).toEqual([6, 1]);
    expect(red.norm(b, 'fro', [-2, -1], true).shape).toEqual([2, 1, 1]);
    expect(arr(red.norm(b, 'euclidean', [0, 1, 2]))).toEqual([Math.fround(Math.sqrt(32))]);
  });

  test('int32 input gives float32', () => {
    const n = red.norm(i32([3, 4]));
    expect(n.dtype).toBe('float32');
    expect(n.item()).toBe(5);
  });

  test('unsupported orders are rejected with the shapes', () => {
    const m = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    expectError(() => red.norm(m, 'fro', 1), ValueError, "norm: ord 'fro' needs exactly 2 axes", 'x [2,3]');
    expectError(() => red.norm(f32([1, 2, 3]), 'fro'), ValueError, "norm: ord 'fro' needs exactly 2 axes", 'x [3]');
    expectError(() => red.norm(m, 0, 1), ValueError, 'norm: vector norm order must be > 0', 'ord 0', 'x [2,3]');
    expectError(() => red.norm(m, -2, 1), ValueError, 'norm: vector norm order', 'ord -2');
    expectError(() => red.norm(m, 2, [0, 1]), ValueError, 'norm: matrix norm order', 'spectral', 'x [2,3]');
    expectError(() => red.norm(f32([1], [1, 1, 1]), 1, [0, 1, 2]), ValueError, 'norm: a numeric ord needs 1 axis', 'x [1,1,1]');
    expectError(() => red.norm(m, NaN), ValueError, "norm: argument 'ord'");
    expectError(() => red.norm(m, 'nuc' as never), ValueError, "norm: argument 'ord'", 'nuc');
    expectError(() => red.norm(m, 2, 2), ValueError, "norm: argument 'axis' = 2 is out of range", 'x [2,3]');
  });
});

describe('logSumExp', () => {
  test('matches log(sum(exp)) for moderate values, per axis', () => {
    const m = f32([0, 1, 2, -1, 0.5, 3], [2, 3]);
    const want = [Math.log(1 + Math.E + Math.E ** 2), Math.log(Math.exp(-1) + Math.exp(0.5) + Math.exp(3))];
    assertClose(red.logSumExp(m, 1).data, want, { rtol: 2 * U32, what: 'lse axis 1' });
    assertClose(m.logSumExp(-1, true).data, want, { rtol: 2 * U32, what: 'lse keepDims' });
    expect(red.logSumExp(m, 1, true).shape).toEqual([2, 1]);
    const all = Math.log([0, 1, 2, -1, 0.5, 3].reduce((s, v) => s + Math.exp(v), 0));
    assertClose(red.logSumExp(m).data, [all], { rtol: 2 * U32, what: 'lse all' });
  });

  test('stable for large and infinite values', () => {
    assertClose(red.logSumExp(f32([1000, 1000])).data, [1000 + Math.LN2], { rtol: U32, what: 'large' });
    expect(red.logSumExp(f32([-1000, -1000])).item()).toBe(Math.fround(-1000 + Math.LN2));
    expect(red.logSumExp(f32([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(red.logSumExp(f32([Infinity, 0])).item()).toBe(Infinity);
    expect(red.logSumExp(f32([-Infinity, 0])).item()).toBe(0);
    expect(red.logSumExp(f32([], [0])).item()).toBe(-Infinity);
    expect(red.logSumExp(f32([NaN, 0])).item()).toBeNaN();
  });
});

describe('bad input', () => {
  const x = f32(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
  for (const op of ['sum', 'mean', 'max', 'min', 'prod', 'variance', 'std', 'logSumExp'] as const) {
    test(`${op}: bad axes, keepDims and x`, () => {
      const fn = red[op] as (x: unknown, axis?: unknown, keepDims?: unknown) => Tensor;
      expectError(() => fn(x, 3), ValueError, `${op}: argument 'axis' = 3 is out of range`, 'x [2,3,4]');
      expectError(() => fn(x, [-4]), ValueError, `${op}: argument 'axis' = -4`, 'x [2,3,4]');
      expectError(() => fn(x, [0, -3]), ValueError, `${op}: argument 'axis' repeats`, 'x [2,3,4]');
      expectError(() => fn(x, 1.5), ValueError, `${op}: argument 'axis' must be an integer`, 'x [2,3,4]');
      expectError(() => fn(x, '1'), DTypeError, `${op}: argument 'axis'`, 'x [2,3,4]');
      expectError(() => fn(x, null), DTypeError, `${op}: argument 'axis'`);
      expectError(() => fn(x, 0, 'yes'), DTypeError, `${op}: argument 'keepDims'`);
      expectError(() => fn('x'), DTypeError, `${op}: argument 'x'`);
    });
  }

  for (const op of ['argmax', 'argmin'] as const) {
    test(`${op}: bad axis, empty axis, rank 0`, () => {
      const fn = red[op] as (x: unknown, axis?: unknown) => Tensor;
      expectError(() => fn(x, 3), ValueError, `${op}: argument 'axis' = 3 is out of range`, 'x [2,3,4]');
      expectError(() => fn(x, [0]), DTypeError, `${op}: argument 'axis' must be a single integer`, 'x [2,3,4]');
      expectError(() => fn(f32([], [2, 0]), 1), ValueError, `${op}: argument 'x' [2,0] is empty along axis 1`);
      expectError(() => fn(f32([1], [])), ValueError, `${op}: argument 'axis' = -1`, 'x []');
      expectError(() => fn({}), DTypeError, `${op}: argument 'x'`);
    });
  }

  test('norm: bad axes and x', () => {
    expectError(() => red.norm(x, 2, [0, 0]), ValueError, "norm: argument 'axis' repeats", 'x [2,3,4]');
    expectError(() => red.norm(x, 'euclidean', 'a' as never), DTypeError, "norm: argument 'axis'");
    expectError(() => red.norm(undefined as never), DTypeError, "norm: argument 'x'");
  });
});
