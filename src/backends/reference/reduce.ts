/**
 * Reference reductions. Floats accumulate in float64 and round once on store; int32 sum and prod wrap
 * modulo 2^32 at every step (TF's int32 arithmetic), so the result does not depend on the order; int32 mean
 * truncates the quotient (the ops layer casts int32 to float32 before a mean).
 *
 * Empty reductions (an axis of length 0) give the identity, as TensorFlow: sum 0, prod 1, mean NaN (0/0),
 * max -Infinity and min +Infinity (int32: the int32 lowest / highest value).
 * NaN propagates through max and min (NumPy, and tf.reduce_max on CPU); argMax / argMin treat NaN as the
 * extreme value, so the first NaN's index wins (NumPy's argmax/argmin). Ties go to the first index.
 */
import type { ArgReduceOp, DataArray, ITensor, KTensor, ReduceOp } from '../backend.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { allocLike } from './util.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Flat offsets of every coordinate of `shape` (row-major order) under the given strides. */
function offsets(shape: readonly number[], strides: readonly number[]): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const coord = new Array<number>(shape.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      coord[ax]++;
      off += strides[ax];
      if (coord[ax] < shape[ax]) break;
      off -= strides[ax] * shape[ax];
      coord[ax] = 0;
    }
  }
  return out;
}

/**
 * Splits x's axes into kept and reduced ones: `base[o]` is the flat offset of output element o and `inner`
 * lists the offsets, relative to it, of the elements that reduce into it.
 */
function plan(shape: readonly number[], axes: readonly number[]): { outShape: number[]; base: Int32Array; inner: Int32Array } {
  const strides = stridesOf(shape);
  const reduced = new Set(axes);
  const keptAxes = shape.map((_, i) => i).filter((i) => !reduced.has(i));
  const outShape = keptAxes.map((i) => shape[i]);
  const base = offsets(outShape, keptAxes.map((i) => strides[i]));
  const inner = offsets(axes.map((i) => shape[i]), axes.map((i) => strides[i]));
  return { outShape, base, inner };
}

/** Reduces the sorted, distinct `axes`; the output shape drops them. */
export function reduce<A extends DataArray>(op: ReduceOp, x: KTensor<A>, axes: readonly number[]): KTensor<A> {
  const { outShape, base, inner } = plan(x.shape, axes);
  const src = x.data;
  const out = allocLike(src, base.length);
  const isInt = src instanceof Int32Array;
  const m = inner.length;
  for (let o = 0; o < base.length; o++) {
    const b = base[o];
    let acc: number;
    switch (op) {
      case 'sum':
      case 'mean':
        acc = 0;
        if (isInt) for (let j = 0; j < m; j++) acc = (acc + src[b + inner[j]]) | 0;
        else for (let j = 0; j < m; j++) acc += src[b + inner[j]];
        if (op === 'mean') acc /= m;
        break;
      case 'prod':
        acc = 1;
        if (isInt) for (let j = 0; j < m; j++) acc = Math.imul(acc, src[b + inner[j]]);
        else for (let j = 0; j < m; j++) acc *= src[b + inner[j]];
        break;
      case 'max':
        acc = isInt ? INT32_MIN : -Infinity;
        for (let j = 0; j < m; j++) acc = Math.max(acc, src[b + inner[j]]); // Math.max propagates NaN.
        break;
      case 'min':
        acc = isInt ? INT32_MAX : Infinity;
        for (let j = 0; j < m; j++) acc = Math.min(acc, src[b + inner[j]]);
        break;
      default:
        throw new Error(`reduce: unknown op '${String(op)}'`);
    }
    out[o] = acc;
  }
  return { data: out, shape: outShape };
}

/** Index of the first max / min along `axis` (first NaN wins); the output shape drops the axis. */
export function argReduce(op: ArgReduceOp, x: KTensor, axis: number): ITensor {
  const { outShape, base } = plan(x.shape, [axis]);
  const stride = stridesOf(x.shape)[axis];
  const len = x.shape[axis];
  const src = x.data;
  const out = new Int32Array(base.length);
  const better = op === 'argMax' ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
  for (let o = 0; o < base.length; o++) {
    let bestIdx = 0;
    let best = len > 0 ? src[base[o]] : NaN;
    for (let j = 1; j < len && !Number.isNaN(best); j++) {
      const v = src[base[o] + j * stride];
      if (Number.isNaN(v) || better(v, best)) {
        best = v;
        bestIdx = j;
      }
    }
    out[o] = bestIdx;
  }
  return { data: out, shape: outShape };
}
