/**
 * softmax / logSoftmax (src/tensor/softmax.ts) on the reference backend against exp/sum loops per axis,
 * stability for large logits, dtypes and bad input.
 * Tolerance: each output is a few float64 operations rounded once to float32: 2^-23 relative, plus 1e-7
 * absolute for logSoftmax near 0.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { logSoftmax, softmax } from '../../src/tensor/softmax.js';
import { setBackend } from '../../src/backends/registry.js';
import { DTypeError, ValueError } from '../../src/errors.js';
import { assertClose } from '../helpers/close.js';
import { uniformF32 } from '../helpers/random.js';
import { expectError } from '../helpers/errors.js';

beforeAll(() => setBackend('reference'));

const f32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Float32Array.from(values), shape);
const i32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Int32Array.from(values), shape);
const arr = (t: Tensor) => Array.from(t.data);
const U32 = 2 ** -23;


/** softmax of x [2,3,4] along `axis` by direct loops (naive exp/sum: fine for |x| <= 3). */
function loopSoftmax(x: ArrayLike<number>, shape: number[], axis: number, log: boolean): number[] {
  const strides = [shape[1] * shape[2], shape[2], 1];
  const out = new Array<number>(x.length);
  const others = [0, 1, 2].filter((a) => a !== axis);
  for (let p = 0; p < shape[others[0]]; p++) for (let q = 0; q < shape[others[1]]; q++) {
    const base = p * strides[others[0]] + q * strides[others[1]];
    let s = 0;
    for (let j = 0; j < shape[axis]; j++) s += Math.exp(x[base + j * strides[axis]]);
    for (let j = 0; j < shape[axis]; j++) {
      const v = x[base + j * strides[axis]];
      out[base + j * strides[axis]] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return out;
}

describe('softmax and logSoftmax', () => {
  const shape = [2, 3, 4];
  const x = f32(Array.from(uniformF32(24, 13, -3, 3)), shape);
  for (const axis of [0, 1, 2, -1, -3]) {
    test(`axis ${axis} vs exp/sum loops`, () => {
      const ax = axis < 0 ? axis + 3 : axis;
      const s = softmax(x, axis);
      expect(s.shape).toEqual(shape);
      expect(s.dtype).toBe('float32');
      assertClose(s.data, loopSoftmax(x.data, shape, ax, false), { rtol: 2 * U32, atol: 1e-9, what: `softmax axis ${axis}` });
      assertClose(logSoftmax(x, axis).data, loopSoftmax(x.data, shape, ax, true), { rtol: 2 * U32, atol: 1e-7, what: `logSoftmax axis ${axis}` });
    });
  }

  test('default axis is the last; Tensor methods agree', () => {
    expect(arr(softmax(x))).toEqual(arr(softmax(x, 2)));
    expect(arr(x.softmax())).toEqual(arr(softmax(x, -1)));
    expect(arr(x.logSoftmax(1))).toEqual(arr(logSoftmax(x, 1)));
  });

  test('stable for large logits', () => {
    expect(arr(softmax(f32([1000, 1000])))).toEqual([0.5, 0.5]);
    expect(arr(softmax(f32([-1000, 0])))).toEqual([0, 1]);
    expect(arr(logSoftmax(f32([1000, 0])))).toEqual([0, -1000]);
    expect(arr(logSoftmax(f32([-1e4, -1e4])))).toEqual([Math.fround(-Math.LN2), Math.fround(-Math.LN2)]);
  });

  test('rows sum to 1', () => {
    const s = softmax(f32(Array.from(uniformF32(60, 4, -10, 10)), [6, 10]));
    for (let r = 0; r < 6; r++) {
      let sum = 0;
      for (let c = 0; c < 10; c++) sum += s.data[r * 10 + c];
      expect(Math.abs(sum - 1)).toBeLessThan(10 * U32);
    }
  });

  test('int32 input computes in float32', () => {
    const s = softmax(i32([0, 0]));
    expect(s.dtype).toBe('float32');
    expect(arr(s)).toEqual([0.5, 0.5]);
    expect(logSoftmax(i32([1, 1])).dtype).toBe('float32');
  });
});

describe('bad input', () => {
  for (const [name, fn] of [['softmax', softmax], ['logSoftmax', logSoftmax]] as const) {
    test(`${name}: bad axis, rank 0, wrong types`, () => {
      const m = f32([1, 2, 3, 4, 5, 6], [2, 3]);
      expectError(() => fn(m, 2), ValueError, `${name}: argument 'axis' = 2 is out of range`, 'x [2,3]');
      expectError(() => fn(m, -3), ValueError, `${name}: argument 'axis' = -3`, 'x [2,3]');
      expectError(() => fn(m, 0.5), ValueError, `${name}: argument 'axis' must be an integer`, 'x [2,3]');
      expectError(() => fn(m, [0] as never), DTypeError, `${name}: argument 'axis' must be an integer`, 'array', 'x [2,3]');
      expectError(() => fn(f32([1], [])), ValueError, `${name}: argument 'axis' = -1`, 'rank 0', 'x []');
      expectError(() => fn([1, 2] as never), DTypeError, `${name}: argument 'x' must be a Tensor`, 'array');
      expectError(() => fn(2 as never), DTypeError, `${name}: argument 'x' must be a Tensor`, 'number 2');
    });
  }
});
