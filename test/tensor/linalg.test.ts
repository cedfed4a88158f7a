/**
 * matmul (src/tensor/linalg.ts) on the reference backend: hand-computed products, NumPy's 1-D rules, batch
 * broadcasting against an explicit loop, transposes, dtypes and bad input.
 * Tolerance: each output is a K-term dot product accumulated in float64 and rounded once to float32, so
 * |err| <= 2^-24 |c| + K 2^-53 sum|a b|; we allow 2^-23 |c| + 1e-6 for O(1) data.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { matmul } from '../../src/tensor/linalg.js';
import { setBackend } from '../../src/backends/registry.js';
import { DTypeError, ShapeError } from '../../src/errors.js';
import { assertClose } from '../helpers/close.js';
import { uniformF32 } from '../helpers/random.js';
import { expectError } from '../helpers/errors.js';

beforeAll(() => setBackend('reference'));

const f32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Float32Array.from(values), shape);
const i32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Int32Array.from(values), shape);
const arr = (t: Tensor) => Array.from(t.data);
const rand = (shape: number[], seed: number) => f32(Array.from(uniformF32(shape.reduce((p, d) => p * d, 1), seed)), shape);
const TOL = { rtol: 2 ** -23, atol: 1e-6 };


/** x[..., r, c] -> x[..., c, r] for a dense [..., R, C] array. */
function transposeLast(t: Tensor): Tensor {
  const s = t.shape;
  const R = s[s.length - 2];
  const C = s[s.length - 1];
  const out = new Float32Array(t.size);
  for (let b = 0; b < t.size / (R * C); b++) {
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[b * R * C + c * R + r] = t.data[b * R * C + r * C + c];
  }
  return new Tensor(out, [...s.slice(0, -2), C, R]);
}

describe('matmul values', () => {
  const a = f32([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = f32([7, 8, 9, 10, 11, 12], [3, 2]);

  test('rank 2, hand-computed', () => {
    const c = matmul(a, b);
    expect(c.shape).toEqual([2, 2]);
    expect(arr(c)).toEqual([58, 64, 139, 154]);
    expect(arr(a.matmul(b))).toEqual([58, 64, 139, 154]);
  });

  test('transposeA / transposeB read the stored operands transposed', () => {
    const at = transposeLast(a); // [3,2]
    const bt = transposeLast(b); // [2,3]
    expect(arr(matmul(at, b, { transposeA: true }))).toEqual([58, 64, 139, 154]);
    expect(arr(matmul(a, bt, { transposeB: true }))).toEqual([58, 64, 139, 154]);
    expect(arr(matmul(at, bt, { transposeA: true, transposeB: true }))).toEqual([58, 64, 139, 154]);
    // a^T [3,2] @ b^T [2,3] = (b a)^T, with b a = [[39,54,69],[49,68,87],[59,82,105]].
    expect(arr(matmul(a, b, { transposeA: true, transposeB: true }))).toEqual([39, 49, 59, 54, 68, 82, 69, 87, 105]);
  });

  test('1-D operands follow NumPy: the added axis is removed', () => {
    const v = f32([1, 0, -1]);
    const w = f32([2, 1]);
    const vb = matmul(v, b); // [3] @ [3,2] -> [2]
    expect(vb.shape).toEqual([2]);
    expect(arr(vb)).toEqual([-4, -4]);
    const av = matmul(a, v); // [2,3] @ [3] -> [2]
    expect(av.shape).toEqual([2]);
    expect(arr(av)).toEqual([-2, -2]);
    const vv = matmul(v, f32([4, 5, 6])); // [3] @ [3] -> []
    expect(vv.shape).toEqual([]);
    expect(vv.item()).toBe(-2);
    expect(arr(matmul(a, w, { transposeA: true }))).toEqual([6, 9, 12]); // a^T [3,2] @ [2]
    const batch = rand([4, 2, 3], 3);
    const bv = matmul(batch, v); // [4,2,3] @ [3] -> [4,2]
    expect(bv.shape).toEqual([4, 2]);
    const vB = matmul(w, batch); // [2] @ [4,2,3] -> [4,3]
    expect(vB.shape).toEqual([4, 3]);
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 3; k++) {
        const want = w.data[0] * batch.data[i * 6 + k] + w.data[1] * batch.data[i * 6 + 3 + k];
        expect(vB.data[i * 3 + k]).toBeCloseTo(want, 6);
      }
    }
    // 1-D operands ignore the transpose flags (a vector has no orientation).
    expect(arr(matmul(v, b, { transposeA: true }))).toEqual([-4, -4]);
  });

  test('batch broadcast [2,1,3,4] @ [5,4,2] -> [2,5,3,2] vs a loop', () => {
    const x = rand([2, 1, 3, 4], 1);
    const y = rand([5, 4, 2], 2);
    const c = matmul(x, y);
    expect(c.shape).toEqual([2, 5, 3, 2]);
    const want: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 5; j++) for (let m = 0; m < 3; m++) for (let n = 0; n < 2; n++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += x.data[i * 12 + m * 4 + k] * y.data[j * 8 + k * 2 + n];
      want.push(s);
    }
    assertClose(c.data, want, { ...TOL, what: '[2,1,3,4]@[5,4,2]' });
    // The same with both transposed.
    const ct = matmul(transposeLast(x), transposeLast(y), { transposeA: true, transposeB: true });
    assertClose(ct.data, want, { ...TOL, what: 'transposed batch' });
  });

  test('a whole-batch-1 or unbatched operand broadcasts against a batch', () => {
    const x = rand([3, 4], 4);
    const y = rand([2, 4, 5], 5);
    const c = matmul(x, y);
    expect(c.shape).toEqual([2, 3, 5]);
    const c1 = matmul(x.reshape([1, 3, 4]), y);
    expect(arr(c1)).toEqual(arr(c));
    for (let bi = 0; bi < 2; bi++) {
      const slice = new Tensor(y.data.slice(bi * 20, (bi + 1) * 20), [4, 5]);
      assertClose(c.data.slice(bi * 15, (bi + 1) * 15), matmul(x, slice).data, { what: `batch ${bi}` });
    }
    expect(matmul(y, rand([1, 1, 5, 2], 6)).shape).toEqual([1, 2, 4, 2]);
  });

  test('int32 operands compute in float32', () => {
    const c = matmul(i32([1, 2, 3, 4], [2, 2]), f32([1, 1], [2, 1]));
    expect(c.dtype).toBe('float32');
    expect(arr(c)).toEqual([3, 7]);
    expect(matmul(i32([1, 2]), i32([3, 4])).item()).toBe(11);
  });

  test('empty inner dimension gives zeros; empty outer dims give empty results', () => {
    const c = matmul(f32([], [2, 0]), f32([], [0, 3]));
    expect(c.shape).toEqual([2, 3]);
    expect(arr(c)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(matmul(f32([], [0, 2]), f32([1, 2], [2, 1])).shape).toEqual([0, 1]);
    expect(matmul(f32([], [0, 2, 3]), f32(new Array(6).fill(1), [3, 2])).shape).toEqual([0, 2, 2]);
  });
});

describe('matmul bad input', () => {
  test('inner dimension mismatch names both shapes and the transposes', () => {
    expectError(() => matmul(f32(new Array(6).fill(0), [2, 3]), f32(new Array(8).fill(0), [4, 2])), ShapeError,
      'matmul: inner dimensions do not match', "argument 'a' [2,3] (transposeA=false)", "argument 'b' [4,2] (transposeB=false)", 'K = 3 vs 4');
    expectError(() => matmul(f32(new Array(6).fill(0), [2, 3]), f32(new Array(6).fill(0), [2, 3]), { transposeB: true, transposeA: true }),
      ShapeError, "argument 'a' [2,3] (transposeA=true)", "(transposeB=true)", 'K = 2 vs 3');
    expectError(() => matmul(f32([1, 2]), f32([1, 2, 3])), ShapeError, "argument 'a' [2]", "argument 'b' [3]");
  });

  test('batch dimensions that do not broadcast', () => {
    expectError(() => matmul(rand([2, 3, 4], 1), rand([3, 4, 2], 2)), ShapeError,
      'matmul: batch dimensions [2] and [3] do not broadcast', "argument 'a' [2,3,4]", "argument 'b' [3,4,2]");
  });

  test('rank 0, non-tensors and bad options', () => {
    expectError(() => matmul(f32([1], []), f32([1])), ShapeError, "matmul: argument 'a' must have rank >= 1", '[]');
    expectError(() => matmul(f32([1]), f32([2], [])), ShapeError, "matmul: argument 'b' must have rank >= 1");
    expectError(() => matmul(3 as never, f32([1])), DTypeError, "matmul: argument 'a' must be a Tensor", 'number 3');
    expectError(() => matmul(f32([1]), [1] as never), DTypeError, "matmul: argument 'b' must be a Tensor", 'array');
    expectError(() => matmul(f32([1]), f32([1]), { transposeA: 1 as never }), DTypeError, "matmul: option 'transposeA' must be a boolean");
    expectError(() => matmul(f32([1]), f32([1]), 'T' as never), DTypeError, "matmul: argument 'options'");
  });
});
