/** Small helpers shared by the reference kernels. */
import type { DataArray } from '../backend.js';
import { stridesOf } from '../../tensor/shape.js';

/** A zeroed array of the same type as `like` (Float32Array, Float64Array or Int32Array). */
export function allocLike<A extends DataArray>(like: A, n: number): A {
  return new (like.constructor as new (n: number) => A)(n);
}

/**
 * Strides of `inShape` read as if broadcast to `outShape` (right-aligned; 0 on broadcast axes), so that
 * the flat input index of output coordinate c is sum(c[i] * s[i]).
 */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const own = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : own[i - off]));
}
