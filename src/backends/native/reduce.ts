/**
 * Native reductions (native/addon/eltwise.cc, reduceF32): sum, mean, max and min of a Float32Array over one
 * contiguous run of axes, viewed as x [outer, len, inner] -> [outer, inner]. That covers a full reduction, the
 * last axis, and all axes but the last (bias gradients, global pooling). Sums accumulate in double; max and
 * min follow Math.max / Math.min (NaN propagates). prod, int32 inputs and non-contiguous axes go to the reference.
 */
import type { Backend, DataArray, KTensor, ReduceOp } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { isPlainF32 } from './elementwise.js';
import { allocF32 } from '../storage.js';

/** The reduce entry of the addon. y [outer, inner] is written in place. */
export interface ReduceAddon extends NativeAddon {
  reduceF32(opCode: number, x: Float32Array, y: Float32Array, outer: number, len: number, inner: number): void;
  readonly reduceOpCodes: Readonly<Record<'sum' | 'mean' | 'max' | 'min', number>>;
}

/**
 * [outer, len, inner] for reducing the sorted, distinct `axes` of `shape` when they are one contiguous run
 * (an empty list reduces nothing: len 1); null otherwise.
 */
export function reduceSplit(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return [shape.reduce((p, d) => p * d, 1), 1, 1];
  const first = axes[0];
  const last = axes[axes.length - 1];
  if (last - first + 1 !== axes.length) return null;
  let outer = 1;
  let len = 1;
  let inner = 1;
  for (let i = 0; i < shape.length; i++) {
    if (i < first) outer *= shape[i];
    else if (i <= last) len *= shape[i];
    else inner *= shape[i];
  }
  return [outer, len, inner];
}

/** The reduce entry of the native backend (empty when the addon lacks reduceF32). */
export function reduceKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as ReduceAddon;
  if (typeof a.reduceF32 !== 'function') return {};
  const codes = a.reduceOpCodes as Readonly<Partial<Record<ReduceOp, number>>>;
  return {
    reduce<A extends DataArray>(op: ReduceOp, x: KTensor<A>, axes: readonly number[]): KTensor<A> {
      const code = codes[op];
      const split = code === undefined || !isPlainF32(x.data) ? null : reduceSplit(x.shape, axes);
      if (code === undefined || split === null) return referenceBackend.reduce(op, x, axes);
      const [outer, len, inner] = split;
      const y = allocF32(outer * inner);
      a.reduceF32(code, x.data as Float32Array, y, outer, len, inner);
      const dropped = new Set(axes);
      return { data: y as A, shape: x.shape.filter((_, i) => !dropped.has(i)) };
    },
  };
}
