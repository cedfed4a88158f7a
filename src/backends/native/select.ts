/**
 * Native compare, where, clip and cast on Float32Array and Int32Array data, with the reference's semantics to the
 * bit (native/runtime/select.h): comparisons and where broadcast through per-axis strides worked out here
 * (broadcastStrides, 0 on broadcast axes); the addon (native/addon/select.cc) gets typed arrays and integers.
 * Float64 data, rank above 8 and shapes whose strides pass 2^31 run on the reference backend.
 */
import type { Backend, CompareOp, DataArray, ITensor, KTensor } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import { broadcastStrides } from '../reference/util.js';
import { sizeOf } from '../../tensor/shape.js';
import { allocF32 } from '../storage.js';
import type { NativeAddon } from './addon.js';
import { isPlain32, isPlainI32 } from './elementwise.js';
import { alloc32, allocI32, fitsInt32Lists } from './movement.js';

type Words = Float32Array | Int32Array;

/** The selection entries of the addon (native/addon/select.cc has the contract of each). */
export interface SelectAddon extends NativeAddon {
  compare(opCode: number, a: Words, b: Words, out: Int32Array, outShape: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  where32(cond: Int32Array, a: Words, b: Words, out: Words, outShape: Int32Array, condStrides: Int32Array,
    aStrides: Int32Array, bStrides: Int32Array): void;
  clip(x: Words, out: Words, lo: number, hi: number): void;
  cast(x: Words, out: Words): void;
  readonly compareOpCodes: Readonly<Record<CompareOp, number>>;
}

/** The selection entries of the native backend. */
export function selectKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as SelectAddon;
  if (typeof a.where32 !== 'function') return {};
  const ref = referenceBackend;
  const strides = (t: KTensor, outShape: readonly number[]): Int32Array => Int32Array.from(broadcastStrides(t.shape, outShape));

  return {
    compare(op: CompareOp, x: KTensor, y: KTensor, outShape: readonly number[]): ITensor {
      if (!isPlain32(x.data) || !isPlain32(y.data) || !fitsInt32Lists(outShape, x.shape, y.shape)) return ref.compare(op, x, y, outShape);
      const out = allocI32(sizeOf(outShape));
      a.compare(a.compareOpCodes[op], x.data, y.data, out, Int32Array.from(outShape), strides(x, outShape), strides(y, outShape));
      return { data: out, shape: [...outShape] };
    },

    where<A extends DataArray>(cond: ITensor, x: KTensor<A>, y: KTensor<A>, outShape: readonly number[]): KTensor<A> {
      if (!isPlainI32(cond.data) || !isPlain32(x.data) || !isPlain32(y.data) || !fitsInt32Lists(outShape, cond.shape, x.shape, y.shape)) {
        return ref.where(cond, x, y, outShape);
      }
      const out = alloc32(x.data, sizeOf(outShape));
      a.where32(cond.data, x.data, y.data, out, Int32Array.from(outShape), strides(cond, outShape),
        strides(x, outShape), strides(y, outShape));
      return { data: out as DataArray as A, shape: [...outShape] };
    },

    clip<A extends DataArray>(x: KTensor<A>, lo: number, hi: number): KTensor<A> {
      if (!isPlain32(x.data)) return ref.clip(x, lo, hi);
      const out = alloc32(x.data, x.data.length);
      a.clip(x.data, out, lo, hi);
      return { data: out as DataArray as A, shape: [...x.shape] };
    },

    cast(x: KTensor, dtype: 'float32' | 'int32'): KTensor<Float32Array | Int32Array> {
      if (!isPlain32(x.data)) return ref.cast(x, dtype);
      const n = x.data.length;
      const out = dtype === 'int32' ? allocI32(n) : allocF32(n);
      a.cast(x.data, out);
      return { data: out, shape: [...x.shape] };
    },
  };
}
