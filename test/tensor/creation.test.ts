/** tensor(), filled tensors and ranges: exact values against hand-written expectations, and every bad input. */
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import {
  arange, eye, full, fullLike, linspace, ones, onesLike, scalar, tensor, zeros, zerosLike,
} from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { expectError } from '../helpers/errors.js';


describe('tensor()', () => {
  it('reads a number as a float32 scalar', () => {
    const t = tensor(2.5);
    expect(t.shape).toEqual([]);
    expect(t.dtype).toBe('float32');
    expect(t.item()).toBe(2.5);
  });

  it('reads flat and nested arrays row-major', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    const u = tensor([[[1], [2]], [[3], [4]]], undefined, 'int32');
    expect(u.shape).toEqual([2, 2, 1]);
    expect(u.dtype).toBe('int32');
    expect(u.data).toBeInstanceOf(Int32Array);
    expect(Array.from(u.data)).toEqual([1, 2, 3, 4]);
  });

  it('rounds to float32', () => {
    expect(tensor([0.1]).data[0]).toBe(Math.fround(0.1));
  });

  it('gives empty shapes for empty arrays', () => {
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
  });

  it('reshapes to `shape` when the counts agree', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(tensor(7, [1, 1]).shape).toEqual([1, 1]);
  });

  it('copies typed arrays: later writes to the source do not reach the tensor', () => {
    const src = new Float32Array([1, 2, 3]);
    const t = tensor(src);
    src[0] = 99;
    expect(t.data[0]).toBe(1);
    expect(t.data).not.toBe(src);
  });

  it('infers dtype from typed arrays: float ones float32, integer ones int32', () => {
    expect(tensor(new Int32Array([1, -2])).dtype).toBe('int32');
    expect(tensor(new Uint8Array([255, 0])).dtype).toBe('int32');
    expect(Array.from(tensor(new Uint8Array([255, 0])).data)).toEqual([255, 0]);
    const f = tensor(new Float64Array([0.1, 2]));
    expect(f.dtype).toBe('float32');
    expect(f.data[0]).toBe(Math.fround(0.1));
    expect(tensor(new Int32Array([3, 4]), [2, 1], 'float32').dtype).toBe('float32');
  });

  it('names the ragged branch', () => {
    expectError(() => tensor([[1, 2, 3], [4, 5]]), ShapeError, 'tensor:', "'values'", 'values[1] has length 2', 'values[0] has length 3');
    expectError(() => tensor([[[1, 2], [3, 4]], [[5, 6], [7]]]), ShapeError, 'values[1][1] has length 1');
    expectError(() => tensor([[1, 2], 3] as never), ShapeError, 'values[1] is a number', 'values[0] is an array');
    expectError(() => tensor([1, [2]] as never), ShapeError, 'values[1] is an array', 'values[0] is a number');
  });

  it('rejects non-numbers with DTypeError naming the path', () => {
    expectError(() => tensor([[1, 'a' as never]]), DTypeError, 'tensor:', 'values[0][1]', 'not a number');
    expectError(() => tensor([true as never]), DTypeError, 'values[0]');
    expectError(() => tensor('abc' as never), DTypeError, "argument 'values'");
    expectError(() => tensor({} as never), DTypeError, "argument 'values'");
    expectError(() => tensor(new BigInt64Array(2) as never), DTypeError, "argument 'values'");
  });

  it('rejects what int32 cannot hold, naming the element', () => {
    expectError(() => tensor([[1, 2], [3.5, 4]], undefined, 'int32'), ValueError, 'tensor:', 'values[1][0] = 3.5', 'cast');
    expectError(() => tensor([2 ** 31], undefined, 'int32'), ValueError, 'values[0]');
    expectError(() => tensor(new Float32Array([0.5]), undefined, 'int32'), ValueError, 'values[0] = 0.5');
  });

  it('rejects a shape that does not fit the values, naming both', () => {
    expectError(() => tensor([1, 2, 3], [2, 2]), ShapeError, 'tensor:', "'shape' [2,2]", '[3] has 3');
    expectError(() => tensor(5, [2]), ShapeError, "'shape' [2]", 'full()');
    expectError(() => tensor([1], [-1]), ValueError, "'shape'");
    expectError(() => tensor([1], [1], 'float16' as never), DTypeError, "'dtype'");
  });
});

describe('scalar, zeros, ones, full and the *Like variants', () => {
  it('fill their shapes', () => {
    expect(scalar(3).shape).toEqual([]);
    expect(scalar(3, 'int32').dtype).toBe('int32');
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(ones([2], 'int32').toArray()).toEqual([1, 1]);
    expect(ones([2], 'int32').dtype).toBe('int32');
    expect(full([2, 2], -1.5).toArray()).toEqual([[-1.5, -1.5], [-1.5, -1.5]]);
    expect(Number.isNaN(full([1], NaN).data[0])).toBe(true);
    expect(zeros([0, 4]).size).toBe(0);
    expect(zeros([]).shape).toEqual([]);
  });

  it('*Like copies shape and dtype unless told otherwise', () => {
    const x = tensor([[1, 2, 3]], undefined, 'int32');
    const z = zerosLike(x);
    expect(z.shape).toEqual([1, 3]);
    expect(z.dtype).toBe('int32');
    expect(onesLike(x, 'float32').dtype).toBe('float32');
    expect(Array.from(onesLike(x).data)).toEqual([1, 1, 1]);
    expect(Array.from(fullLike(x, 7).data)).toEqual([7, 7, 7]);
  });

  it('reject bad input', () => {
    expectError(() => zeros([2, -1]), ValueError, 'zeros:', "'shape'", '[2,-1]');
    expectError(() => ones(3 as never), DTypeError, 'ones:', "'shape'");
    expectError(() => full([2], 1.5, 'int32'), ValueError, 'full:', "'value' = 1.5");
    expectError(() => full([2], '1' as never), DTypeError, 'full:', "'value'");
    expectError(() => full([2.5], 1), ValueError, 'full:', "'shape'");
    expectError(() => zerosLike([1, 2] as never), DTypeError, 'zerosLike:', "'t'");
    expectError(() => fullLike(zeros([1]), 0.5, 'int32'), ValueError, 'fullLike:', "'value'");
    expectError(() => scalar('1' as never), DTypeError, 'scalar:', "'value'");
    expectError(() => scalar(1, 'bool' as never), DTypeError, 'scalar:', "'dtype'");
  });
});

describe('arange', () => {
  it('follows numpy', () => {
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(2, 8, 3).toArray()).toEqual([2, 5]);
    expect(arange(10, 0, -3).toArray()).toEqual([10, 7, 4, 1]);
    expect(arange(0, 5, -1).toArray()).toEqual([]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(-1.5, 1).toArray()).toEqual([-1.5, -0.5, 0.5]);
    // np.arange(1, 1.3, 0.1) has 4 elements: len = ceil((stop - start) / step) in float64.
    expect(arange(1, 1.3, 0.1).size).toBe(4);
  });

  it('makes int32 ranges', () => {
    const t = arange(-2, 3, 2, 'int32');
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.data)).toEqual([-2, 0, 2]);
  });

  it('rejects bad input', () => {
    expectError(() => arange(0, 5, 0), ValueError, 'arange:', "'step'");
    expectError(() => arange(NaN), ValueError, 'arange:', "'stop'"); // arange(n) means arange(0, n)
    expectError(() => arange(NaN, 1), ValueError, 'arange:', "'start'");
    expectError(() => arange(0, Infinity), ValueError, "'stop'");
    expectError(() => arange(0, 2, 0.5, 'int32'), ValueError, "'step' = 0.5", 'int32');
    expectError(() => arange(0, 2, 1, 'x' as never), DTypeError, "'dtype'");
  });
});

describe('linspace', () => {
  it('includes both ends, as numpy', () => {
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspace(1, -1, 3).toArray()).toEqual([1, 0, -1]);
    expect(linspace(2, 3, 1).toArray()).toEqual([2]);
    expect(linspace(2, 3, 0).shape).toEqual([0]);
    const t = linspace(0, 0.3, 4);
    expect(t.data[3]).toBe(Math.fround(0.3));
    expect(t.data[1]).toBe(Math.fround(0.1));
  });

  it('rejects bad input', () => {
    expectError(() => linspace(0, 1, -1), ValueError, 'linspace:', "'num'");
    expectError(() => linspace(0, 1, 2.5), ValueError, "'num'");
    expectError(() => linspace(0, NaN, 2), ValueError, "'stop'");
  });
});

describe('eye', () => {
  it('puts ones on the main diagonal', () => {
    expect(eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    const e = eye(3, 2, 'int32');
    expect(e.dtype).toBe('int32');
    expect(e.toArray()).toEqual([[1, 0], [0, 1], [0, 0]]);
    expect(eye(0).shape).toEqual([0, 0]);
  });

  it('rejects bad input', () => {
    expectError(() => eye(-1), ValueError, 'eye:', "'n'");
    expectError(() => eye(2, 1.5), ValueError, 'eye:', "'m'");
    expectError(() => eye(2, 2, 'float16' as never), DTypeError, "'dtype'");
  });
});

it('returns Tensor instances', () => {
  for (const t of [tensor([1]), scalar(1), zeros([1]), arange(2), linspace(0, 1, 2), eye(2)]) {
    expect(t).toBeInstanceOf(Tensor);
  }
});
