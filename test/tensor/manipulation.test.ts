/**
 * Shape and data movement against hand-written expectations, NumPy's documented examples and index
 * arithmetic written independently of the kernels; the reference kernels directly in float64 and int32;
 * and every bad input (error class, op, argument, shapes).
 */
import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import { arange, tensor, zeros } from '../../src/tensor/creation.js';
import {
  broadcastTo, cast, concat, expandDims, gather, oneHot, pad, permute, reshape, slice, split, squeeze, stack,
  tile, transpose, unstack,
} from '../../src/tensor/manipulation.js';
import * as kernels from '../../src/backends/reference/movement.js';
import { Rng } from '../helpers/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { expectError } from '../helpers/errors.js';


/** 0, 1, 2, ... in `shape` (float32 unless said). */
function iota(shape: number[], dtype: 'float32' | 'int32' = 'float32'): Tensor {
  return reshape(arange(0, shape.reduce((a, b) => a * b, 1), 1, dtype), shape);
}

/** Flat index -> coordinates by repeated division from the last axis. */
function unravel(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    c[a] = i % shape[a];
    i = Math.floor(i / shape[a]);
  }
  return c;
}

/** Coordinates -> flat index by Horner's rule. */
function ravel(c: readonly number[], shape: readonly number[]): number {
  return c.reduce((acc, v, a) => acc * shape[a] + v, 0);
}

describe('reshape', () => {
  it('shares storage and infers one -1', () => {
    const x = iota([2, 3, 4]);
    const y = reshape(x, [4, -1]);
    expect(y.shape).toEqual([4, 6]);
    expect(y.data).toBe(x.data);
    expect(reshape(x, [-1]).shape).toEqual([24]);
    expect(reshape(zeros([0, 3]), [3, 0]).shape).toEqual([3, 0]);
    expect(reshape(tensor([5]), []).shape).toEqual([]);
    expect(x.flatten().data).toBe(x.data);
  });

  it('rejects sizes that differ, naming both shapes', () => {
    expectError(() => reshape(iota([2, 3]), [4, 2]), ShapeError, 'reshape:', "'x'", '[2,3]', '[4,2]', '6', '8');
    expectError(() => reshape(iota([2, 3]), [4, -1]), ShapeError, 'reshape:', '[2,3]', '[4,-1]');
    expectError(() => reshape(zeros([0, 3]), [0, -1]), ShapeError, 'reshape:', '[0,-1]');
    expectError(() => reshape(iota([2, 3]), [-1, -1]), ValueError, 'reshape:', "'shape'", 'one -1');
    expectError(() => reshape(iota([2, 3]), [-2, -3]), ValueError, "'shape'");
    expectError(() => reshape(iota([2, 3]), [2.5, 2]), ValueError, "'shape'");
    expectError(() => reshape([1, 2] as never, [2]), DTypeError, 'reshape:', "'x'");
  });
});

describe('expandDims and squeeze', () => {
  it('insert and drop axes of length 1 as views', () => {
    const x = iota([2, 3]);
    expect(expandDims(x).shape).toEqual([1, 2, 3]);
    expect(expandDims(x, 1).shape).toEqual([2, 1, 3]);
    expect(expandDims(x, 2).shape).toEqual([2, 3, 1]);
    expect(expandDims(x, -1).shape).toEqual([2, 3, 1]);
    expect(expandDims(x, -3).shape).toEqual([1, 2, 3]);
    expect(expandDims(x, 1).data).toBe(x.data);
    const y = zeros([1, 2, 1, 3, 1]);
    expect(squeeze(y).shape).toEqual([2, 3]);
    expect(squeeze(y, 2).shape).toEqual([1, 2, 3, 1]);
    expect(squeeze(y, -1).shape).toEqual([1, 2, 1, 3]);
    expect(squeeze(y, [0, 4]).shape).toEqual([2, 1, 3]);
    expect(squeeze(zeros([1, 1])).shape).toEqual([]);
  });

  it('reject bad axes', () => {
    expectError(() => expandDims(iota([2, 3]), 3), ValueError, 'expandDims:', "'axis' = 3", '[-3, 2]', '[2,3]');
    expectError(() => expandDims(iota([2, 3]), -4), ValueError, 'expandDims:', "'axis'");
    expectError(() => squeeze(zeros([1, 2, 1]), 1), ShapeError, 'squeeze:', "'axis' 1", 'length 2', '[1,2,1]');
    expectError(() => squeeze(zeros([1, 2]), 2), ValueError, 'squeeze:', "'axis'");
    expectError(() => squeeze(zeros([1, 2]), [0, 0]), ValueError, 'squeeze:', 'repeats');
  });
});

describe('transpose and permute', () => {
  it('transposes a matrix', () => {
    expect(transpose(tensor([[1, 2, 3], [4, 5, 6]])).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
  });

  it('match index arithmetic over random shapes and permutations', () => {
    const rng = new Rng(31);
    for (let trial = 0; trial < 40; trial++) {
      const rank = rng.int(1, 5);
      const shape = Array.from({ length: rank }, () => rng.int(1, 4));
      const perm = Array.from({ length: rank }, (_, i) => i);
      for (let i = rank - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      const dtype = trial % 2 ? 'int32' : 'float32';
      const x = iota(shape, dtype);
      const y = permute(x, perm);
      const outShape = perm.map((p) => shape[p]);
      expect(y.shape).toEqual(outShape);
      expect(y.dtype).toBe(dtype);
      for (let i = 0; i < y.size; i++) {
        const oc = unravel(i, outShape);
        const ic = new Array<number>(rank);
        perm.forEach((p, k) => (ic[p] = oc[k]));
        expect(y.data[i], `shape ${shape} perm ${perm} at ${oc}`).toBe(ravel(ic, shape));
      }
    }
  });

  it('reverses axes by default', () => {
    const x = iota([2, 3, 4]);
    expect(transpose(x).toArray()).toEqual(permute(x, [2, 1, 0]).toArray());
    expect(transpose(x, [0, 2, 1]).shape).toEqual([2, 4, 3]);
  });

  it('rejects what is not a permutation', () => {
    const x = iota([2, 3]);
    expectError(() => permute(x, [0, 0]), ValueError, 'permute:', "'perm' [0,0]", '[2,3]');
    expectError(() => permute(x, [0, 2]), ValueError, 'permute:', "'perm'");
    expectError(() => permute(x, [1, 0, 2]), ValueError, 'permute:', "'perm'");
    expectError(() => transpose(x, [1]), ValueError, 'transpose:', "'perm'");
    expectError(() => permute(x, 'ab' as never), DTypeError, 'permute:', "'perm'");
  });
});

describe('slice', () => {
  const x = iota([3, 4]); // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]

  it('takes blocks, with negative begin and -1 or omitted size', () => {
    expect(slice(x, [1, 1], [2, 2]).toArray()).toEqual([[5, 6], [9, 10]]);
    expect(slice(x, [1, -2], [-1, 2]).toArray()).toEqual([[6, 7], [10, 11]]);
    expect(slice(x, [-1, 0]).toArray()).toEqual([[8, 9, 10, 11]]);
    expect(slice(x, [2]).toArray()).toEqual([[8, 9, 10, 11]]); // axes past begin are whole
    expect(slice(x, [0, 4]).shape).toEqual([3, 0]);
    expect(slice(x, [1, 0], [0, 4]).shape).toEqual([0, 4]);
  });

  it('matches index arithmetic on a rank-4 int32 tensor', () => {
    const y = iota([3, 4, 5, 2], 'int32');
    const begin = [1, 0, 2, 1];
    const size = [2, 3, 3, 1];
    const s = slice(y, begin, size);
    expect(s.dtype).toBe('int32');
    for (let i = 0; i < s.size; i++) {
      const c = unravel(i, size).map((v, a) => v + begin[a]);
      expect(s.data[i]).toBe(ravel(c, [3, 4, 5, 2]));
    }
  });

  it('rejects out-of-range begin and size', () => {
    expectError(() => slice(x, [4, 0]), ValueError, 'slice:', "'begin'[0] = 4", 'length 3', '[3,4]');
    expectError(() => slice(x, [-5, 0]), ValueError, 'slice:', "'begin'[0] = -5");
    expectError(() => slice(x, [1, 1], [3, 1]), ValueError, 'slice:', "'size'[0] = 3", '[3,4]');
    expectError(() => slice(x, [0, 0], [1, -2]), ValueError, "'size'[1] = -2");
    expectError(() => slice(x, [0, 0, 0]), ShapeError, 'slice:', "'begin'", '[3,4]');
    expectError(() => slice(x, [0, 0], [1]), ShapeError, "'size'");
    expectError(() => slice(x, [0.5, 0]), ValueError, "'begin'");
  });
});

describe('gather', () => {
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);

  it('picks rows and columns, with the indices shape in place of the axis', () => {
    expect(gather(x, [2, 0]).toArray()).toEqual([[7, 8, 9], [1, 2, 3]]);
    expect(gather(x, [2, 2, 0], 1).toArray()).toEqual([[3, 3, 1], [6, 6, 4], [9, 9, 7]]);
    expect(gather(x, [1], -1).toArray()).toEqual([[2], [5], [8]]);
    const idx = tensor([[0, 1], [1, 2]], undefined, 'int32');
    const g = gather(x, idx, 1);
    expect(g.shape).toEqual([3, 2, 2]);
    expect(g.toArray()).toEqual([[[1, 2], [2, 3]], [[4, 5], [5, 6]], [[7, 8], [8, 9]]]);
    expect(gather(x, []).shape).toEqual([0, 3]);
    expect(gather(tensor([5, 6, 7], undefined, 'int32'), [2]).toArray()).toEqual([7]);
  });

  it('rejects out-of-range indices, naming the index', () => {
    expectError(() => gather(x, [0, 3]), ValueError, 'gather:', "'indices' holds 3", 'position 1', '[0, 3)', '[3,3]');
    expectError(() => gather(x, [-1]), ValueError, "'indices' holds -1");
    expectError(() => gather(x, tensor([0, 1])), DTypeError, 'gather:', "'indices' must be int32", 'float32');
    expectError(() => gather(x, [0.5]), ValueError, "'indices'");
    expectError(() => gather(x, [0], 2), ValueError, 'gather:', "'axis' = 2");
    expectError(() => gather(tensor(1), [0]), ValueError, 'gather:', "'axis'");
  });
});

describe('concat, stack, unstack, split', () => {
  const a = tensor([[1, 2], [3, 4]]);
  const b = tensor([[5, 6]]);

  it('concat joins along an axis', () => {
    expect(concat([a, b]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(concat([a, tensor([[7], [8]])], 1).toArray()).toEqual([[1, 2, 7], [3, 4, 8]]);
    expect(concat([a, tensor([[7], [8]])], -1).shape).toEqual([2, 3]);
    expect(concat([a]).toArray()).toEqual(a.toArray());
    expect(concat([zeros([0, 2]), b]).toArray()).toEqual([[5, 6]]);
  });

  it('concat rejects mismatches', () => {
    expectError(() => concat([a, tensor([[1, 2, 3]])]), ShapeError, 'concat:', "'tensors[1]'", '[1,3]', '[2,2]', 'axis 0');
    expectError(() => concat([a, tensor([1, 2])]), ShapeError, "'tensors[1]'", '[2]');
    expectError(() => concat([a, tensor([[1, 2]], undefined, 'int32')]), DTypeError, 'concat:', "'tensors[1]' is int32");
    expectError(() => concat([]), ValueError, 'concat:', "'tensors'");
    expectError(() => concat([a, [1, 2] as never]), DTypeError, "'tensors[1]'");
    expectError(() => concat([tensor(1), tensor(2)]), ShapeError, 'concat:', 'scalars');
    expectError(() => concat([a, a], 2), ValueError, "'axis' = 2");
  });

  it('stack adds an axis; unstack undoes it', () => {
    const u = tensor([1, 2, 3]);
    const v = tensor([4, 5, 6]);
    expect(stack([u, v]).toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(stack([u, v], 1).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(stack([u, v], -1).shape).toEqual([3, 2]);
    expect(stack([tensor(1), tensor(2)]).toArray()).toEqual([1, 2]);
    const x = iota([2, 3, 4]);
    for (const axis of [0, 1, 2, -1]) {
      const parts = unstack(x, axis);
      expect(parts.length).toBe(x.shape[axis < 0 ? axis + 3 : axis]);
      expect(stack(parts, axis).toArray()).toEqual(x.toArray());
    }
    expect(unstack(a, 1).map((t) => t.toArray())).toEqual([[1, 3], [2, 4]]);
  });

  it('stack and unstack reject bad input', () => {
    expectError(() => stack([tensor([1, 2]), tensor([1, 2, 3])]), ShapeError, 'stack:', "'tensors[1]'", '[3]', '[2]');
    expectError(() => stack([tensor([1])], 2), ValueError, 'stack:', "'axis' = 2", '[-2, 1]');
    expectError(() => unstack(a, 2), ValueError, 'unstack:', "'axis'");
  });

  it('split by count and by sizes', () => {
    const x = iota([6, 2]);
    expect(split(x, 3).map((t) => t.toArray())).toEqual([[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9], [10, 11]]]);
    expect(split(x, [1, -1, 2]).map((t) => t.shape)).toEqual([[1, 2], [3, 2], [2, 2]]);
    expect(split(x, [4, 2]).map((t) => t.shape)).toEqual([[4, 2], [2, 2]]);
    expect(split(x, [6, 0]).map((t) => t.shape)).toEqual([[6, 2], [0, 2]]);
    expect(split(x, 2, 1).map((t) => t.toArray())).toEqual([[[0], [2], [4], [6], [8], [10]], [[1], [3], [5], [7], [9], [11]]]);
    expect(concat(split(x, [2, 1, 3]), 0).toArray()).toEqual(x.toArray());
  });

  it('split rejects counts that do not divide and sizes that do not sum', () => {
    const x = iota([6, 2]);
    expectError(() => split(x, 4), ValueError, 'split:', "'sizesOrCount' = 4", 'axis 0 of length 6', '[6,2]');
    expectError(() => split(x, 0), ValueError, 'split:', "'sizesOrCount'");
    expectError(() => split(x, [2, 3]), ValueError, 'split:', '[2,3]', 'sum to axis 0 of length 6');
    expectError(() => split(x, [4, 3, -1]), ValueError, 'split:', 'sum');
    expectError(() => split(x, [-1, -1]), ValueError, 'split:', 'one -1');
    expectError(() => split(x, []), ValueError, 'split:');
    expectError(() => split(x, 1, 2), ValueError, 'split:', "'axis'");
  });
});

describe('pad', () => {
  const v = tensor([1, 2, 3, 4, 5]);

  it("matches numpy's documented examples", () => {
    expect(pad(v, [[2, 3]], { mode: 'reflect' }).toArray()).toEqual([3, 2, 1, 2, 3, 4, 5, 4, 3, 2]);
    expect(pad(v, [[2, 3]], { mode: 'symmetric' }).toArray()).toEqual([2, 1, 1, 2, 3, 4, 5, 5, 4, 3]);
    expect(pad(v, [[2, 3]], { value: 4 }).toArray()).toEqual([4, 4, 1, 2, 3, 4, 5, 4, 4, 4]);
    expect(pad(v, [[1, 1]]).toArray()).toEqual([0, 1, 2, 3, 4, 5, 0]);
  });

  it('pads every axis (2-D reflect and symmetric by hand)', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(pad(x, [[1, 1], [2, 2]], { mode: 'reflect' }).toArray()).toEqual([
      [6, 5, 4, 5, 6, 5, 4],
      [3, 2, 1, 2, 3, 2, 1],
      [6, 5, 4, 5, 6, 5, 4],
      [3, 2, 1, 2, 3, 2, 1],
    ]);
    expect(pad(x, [[2, 0], [0, 3]], { mode: 'symmetric' }).toArray()).toEqual([
      [4, 5, 6, 6, 5, 4],
      [1, 2, 3, 3, 2, 1],
      [1, 2, 3, 3, 2, 1],
      [4, 5, 6, 6, 5, 4],
    ]);
    const c = pad(tensor([[1]], undefined, 'int32'), [[0, 1], [1, 0]], { value: -7 });
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([[-7, 1], [-7, -7]]);
  });

  it('rejects bad paddings and modes', () => {
    expectError(() => pad(v, [[5, 0]], { mode: 'reflect' }), ValueError, 'pad:', "'paddings'[0] = [5,0]", 'exceeds 4', 'reflect', '[5]');
    expectError(() => pad(v, [[0, 6]], { mode: 'symmetric' }), ValueError, 'pad:', 'exceeds 5');
    expectError(() => pad(v, [[-1, 0]]), ValueError, 'pad:', "'paddings[0][0]'");
    expectError(() => pad(v, [[1, 1], [1, 1]]), ShapeError, 'pad:', "'paddings'", '[5]');
    expectError(() => pad(v, [[1] as never]), ValueError, 'pad:', "'paddings'[0]");
    expectError(() => pad(v, [[1, 1]], { mode: 'edge' as never }), ValueError, 'pad:', "'mode'");
    expectError(() => pad(tensor([1], undefined, 'int32'), [[1, 1]], { value: 0.5 }), ValueError, 'pad:', "'value' = 0.5");
  });
});

describe('broadcastTo and tile', () => {
  it("tile follows numpy's documented examples", () => {
    const a = tensor([0, 1, 2]);
    expect(tile(a, [2]).toArray()).toEqual([0, 1, 2, 0, 1, 2]);
    expect(tile(a, [2, 2]).toArray()).toEqual([[0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]]);
    expect(tile(a, [2, 1, 2]).toArray()).toEqual([[[0, 1, 2, 0, 1, 2]], [[0, 1, 2, 0, 1, 2]]]);
    const b = tensor([[1, 2], [3, 4]]);
    expect(tile(b, [2]).toArray()).toEqual([[1, 2, 1, 2], [3, 4, 3, 4]]);
    expect(tile(b, [2, 1]).toArray()).toEqual([[1, 2], [3, 4], [1, 2], [3, 4]]);
    expect(tile(b, [0, 1]).shape).toEqual([0, 2]);
  });

  it('broadcastTo stretches axes of length 1', () => {
    expect(broadcastTo(tensor([1, 2, 3]), [2, 3]).toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
    expect(broadcastTo(tensor([[1], [2]]), [2, 3]).toArray()).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(broadcastTo(tensor(7), [2, 2]).toArray()).toEqual([[7, 7], [7, 7]]);
    expect(broadcastTo(tensor([[5]], undefined, 'int32'), [3, 1, 2]).toArray()).toEqual([[[5, 5]], [[5, 5]], [[5, 5]]]);
    expect(broadcastTo(tensor([1]), [0]).shape).toEqual([0]);
  });

  it('reject bad input', () => {
    expectError(() => broadcastTo(tensor([1, 2]), [3]), ShapeError, 'broadcastTo:', '[2]', '[3]');
    expectError(() => broadcastTo(tensor([[1, 2]]), [2]), ShapeError, 'broadcastTo:', '[1,2]', '[2]');
    expectError(() => broadcastTo(tensor([1]), [-1]), ValueError, 'broadcastTo:', "'shape'");
    expectError(() => tile(tensor([1]), [-1]), ValueError, 'tile:', "'reps'");
  });
});

describe('oneHot', () => {
  it('puts onValue at each index; out-of-range rows are offValue', () => {
    const t = oneHot(tensor([0, 2, -1, 3], undefined, 'int32'), 3);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]);
    const u = oneHot(tensor([[1], [0]], undefined, 'int32'), 2, { onValue: 0.9, offValue: 0.05 });
    expect(u.shape).toEqual([2, 1, 2]);
    expect(Array.from(u.data)).toEqual([0.05, 0.9, 0.9, 0.05].map(Math.fround));
  });

  it('rejects bad input', () => {
    expectError(() => oneHot(tensor([0, 1]), 2), DTypeError, 'oneHot:', "'indices' must be int32", 'float32', '[2]');
    expectError(() => oneHot(tensor([0], undefined, 'int32'), 0), ValueError, 'oneHot:', "'depth'");
    expectError(() => oneHot([0, 1] as never, 2), DTypeError, 'oneHot:', "'indices'");
    expectError(() => oneHot(tensor([0], undefined, 'int32'), 2, { onValue: '1' as never }), DTypeError, "'onValue'");
  });
});

describe('reference kernels keep the array type', () => {
  it('works in float64 and int32', () => {
    const x = { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const t = kernels.transpose(x, [1, 0]);
    expect(t.data).toBeInstanceOf(Float64Array);
    expect(Array.from(t.data)).toEqual([1, 4, 2, 5, 3, 6]);
    const p = kernels.pad({ data: Float64Array.from([1, 2, 3, 4, 5]), shape: [5] }, [[2, 3]], 'reflect', 0);
    expect(p.data).toBeInstanceOf(Float64Array);
    expect(Array.from(p.data)).toEqual([3, 2, 1, 2, 3, 4, 5, 4, 3, 2]);
    const g = kernels.gather({ data: Int32Array.from([7, 8, 9]), shape: [3] }, { data: Int32Array.from([2, 0]), shape: [2] }, 0);
    expect(g.data).toBeInstanceOf(Int32Array);
    expect(Array.from(g.data)).toEqual([9, 7]);
    const s = kernels.slice(x, [0, 0], [2, 2], [1, 2]); // strided: columns 0 and 2
    expect(Array.from(s.data)).toEqual([1, 3, 4, 6]);
    const c = kernels.concat([x, x], 1);
    expect(c.data).toBeInstanceOf(Float64Array);
    expect(c.shape).toEqual([2, 6]);
    expect(Array.from(c.data)).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
  });
});

describe('cast (needs the backend cast kernel)', () => {
  it('returns the tensor itself for the same dtype', () => {
    const x = tensor([1, 2]);
    expect(cast(x, 'float32')).toBe(x);
  });

  it('truncates floats toward zero and widens ints', () => {
    const i = cast(tensor([1.7, -1.7, 0.2, -0.2, 3]), 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.data)).toEqual([1, -1, 0, 0, 3]);
    const f = cast(tensor([[1, -2]], undefined, 'int32'), 'float32');
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([[1, -2]]);
  });

  it('rejects unknown dtypes', () => {
    expectError(() => cast(tensor([1]), 'float16' as never), DTypeError, 'cast:', "'dtype'");
    expectError(() => cast(5 as never, 'int32'), DTypeError, 'cast:', "'x'");
  });
});
