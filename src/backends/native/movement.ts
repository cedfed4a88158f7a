/**
 * Native data movement on Float32Array and Int32Array data, copied as 32-bit words (the reference's bits, NaN
 * payloads kept): transpose, slice and pad as one strided copy (output axis a reads position
 * offsets[a] + c * steps[a] of input axis a, mapped by the pad mode), concat as row copies, gather as row copies by
 * index, and oneHot. The shapes are worked out here, as src/backends/cuda/kernels.ts does for the GPU; the addon
 * (native/addon/movement.cc) gets typed arrays and integers. Float64 data (the gradient checks), rank above 8 and
 * shapes whose strides pass 2^31 run on the reference backend.
 */
import type { Backend, DataArray, KTensor, PadMode } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { allocF32 } from '../storage.js';
import type { NativeAddon } from './addon.js';
import { isPlain32, isPlainI32 } from './elementwise.js';

type Words = Float32Array | Int32Array;

/** The data-movement entries of the addon (native/addon/movement.cc has the contract of each). */
export interface MovementAddon extends NativeAddon {
  stridedCopy32(x: Words, out: Words, outShape: Int32Array, inDims: Int32Array, inStrides: Int32Array,
    offsets: Int32Array, steps: Int32Array, mode: number, fill: number): void;
  concatCopy32(x: Words, out: Words, outer: number, chunk: number, outRow: number, offset: number): void;
  gather32(x: Words, indices: Int32Array, out: Words, outer: number, dim: number, inner: number): void;
  oneHotF32(indices: Int32Array, out: Float32Array, depth: number, onValue: number, offValue: number): void;
  readonly copyModeCodes: Readonly<Record<'inRange' | PadMode, number>>;
}

/** The addon's strided entries take up to 8 axes, as Int32Arrays. */
const MAX_RANK = 8;
const MAX_I32 = 2 ** 31 - 1;

/** Shapes the strided entries take: rank <= 8 and every stride and size below 2^31 (empty axes counted as 1). */
export function fitsInt32Lists(...shapes: readonly (readonly number[])[]): boolean {
  return shapes.every((s) => s.length <= MAX_RANK && s.reduce((p, d) => p * Math.max(d, 1), 1) <= MAX_I32);
}

/** An uninitialised Int32Array of n elements over pooled storage (the kernel writes all of it). */
export function allocI32(n: number): Int32Array {
  const f = allocF32(n);
  return new Int32Array(f.buffer, f.byteOffset, n);
}

/** An uninitialised output of n elements with `like`'s array type, from the pool. */
export function alloc32<A extends Words>(like: A, n: number): A {
  return (like instanceof Int32Array ? allocI32(n) : allocF32(n)) as A;
}

/** The movement entries of the native backend. */
export function movementKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as MovementAddon;
  if (typeof a.stridedCopy32 !== 'function') return {};
  const ref = referenceBackend;

  // out[c] = x[sum map(offsets[i] + c[i] steps[i]) inStrides[i]] (native/runtime/movement.h).
  function stridedCopy<A extends Words>(x: KTensor<A>, shape: readonly number[], inDims: readonly number[],
    inStrides: readonly number[], offsets: readonly number[], steps: readonly number[], mode: number, fill: number): KTensor<A> {
    const out = alloc32(x.data, sizeOf(shape));
    a.stridedCopy32(x.data, out, Int32Array.from(shape), Int32Array.from(inDims), Int32Array.from(inStrides),
      Int32Array.from(offsets), Int32Array.from(steps), mode, fill);
    return { data: out, shape: [...shape] };
  }

  return {
    transpose<A extends DataArray>(x: KTensor<A>, perm: readonly number[]): KTensor<A> {
      if (!isPlain32(x.data) || !fitsInt32Lists(x.shape)) return ref.transpose(x, perm);
      const st = stridesOf(x.shape);
      const shape = perm.map((p) => x.shape[p]);
      return stridedCopy(x as KTensor<Words>, shape, shape, perm.map((p) => st[p]), shape.map(() => 0), shape.map(() => 1),
        a.copyModeCodes.inRange, 0) as KTensor<A>;
    },

    slice<A extends DataArray>(x: KTensor<A>, begin: readonly number[], size: readonly number[], steps: readonly number[]): KTensor<A> {
      if (!isPlain32(x.data) || !fitsInt32Lists(x.shape)) return ref.slice(x, begin, size, steps);
      return stridedCopy(x as KTensor<Words>, size, x.shape, stridesOf(x.shape), begin, steps, a.copyModeCodes.inRange, 0) as KTensor<A>;
    },

    pad<A extends DataArray>(x: KTensor<A>, paddings: readonly (readonly [number, number])[], mode: PadMode, value: number): KTensor<A> {
      const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
      if (!isPlain32(x.data) || !fitsInt32Lists(x.shape, shape)) return ref.pad(x, paddings, mode, value);
      // The pad value as the 32-bit word the output's array type stores for it (ToInt32 or float32 rounding).
      const fill = x.data instanceof Int32Array ? value >>> 0 : new Uint32Array(Float32Array.of(value).buffer)[0];
      return stridedCopy(x as KTensor<Words>, shape, x.shape, stridesOf(x.shape), paddings.map((p) => -p[0]), shape.map(() => 1),
        a.copyModeCodes[mode], fill) as KTensor<A>;
    },

    concat<A extends DataArray>(xs: readonly KTensor<A>[], axis: number): KTensor<A> {
      if (!xs.every((x) => isPlain32(x.data))) return ref.concat(xs, axis);
      const first = xs[0].shape;
      const outer = sizeOf(first.slice(0, axis));
      const inner = sizeOf(first.slice(axis + 1));
      const total = xs.reduce((t, x) => t + x.shape[axis], 0);
      const shape = [...first];
      shape[axis] = total;
      const out = alloc32(xs[0].data as Words, outer * total * inner);
      let offset = 0;
      for (const x of xs) {
        const chunk = x.shape[axis] * inner;
        a.concatCopy32(x.data as Words, out, outer, chunk, total * inner, offset);
        offset += chunk;
      }
      return { data: out as DataArray as A, shape };
    },

    gather<A extends DataArray>(x: KTensor<A>, indices: KTensor<Int32Array>, axis: number): KTensor<A> {
      if (!isPlain32(x.data) || !isPlainI32(indices.data)) return ref.gather(x, indices, axis);
      const outer = sizeOf(x.shape.slice(0, axis));
      const inner = sizeOf(x.shape.slice(axis + 1));
      const out = alloc32(x.data, outer * indices.data.length * inner);
      a.gather32(x.data, indices.data, out, outer, x.shape[axis], inner);
      return { data: out as DataArray as A, shape: [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)] };
    },

    oneHot(indices: KTensor<Int32Array>, depth: number, onValue: number, offValue: number): KTensor<Float32Array> {
      if (!isPlainI32(indices.data)) return ref.oneHot(indices, depth, onValue, offValue);
      const out = allocF32(indices.data.length * depth);
      a.oneHotF32(indices.data, out, depth, onValue, offValue);
      return { data: out, shape: [...indices.shape, depth] };
    },
  };
}
