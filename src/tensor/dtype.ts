/**
 * float32 for compute, int32 for labels, indices and 0/1 masks (DESIGN.md fixes these two). float64 exists for
 * gradient checks and reference computations only ("reference checks run in float64"): it runs on the reference
 * kernels (the native backend hands Float64Array to them), is never the default, and wins every promotion.
 */
import { zerosF32 } from '../backends/storage.js';

export type DType = 'float32' | 'int32' | 'float64';
/** The float dtypes: what autograd differentiates and what float-only kernels take. */
export type FloatDType = 'float32' | 'float64';

export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array : Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];

export function isDType(x: unknown): x is DType {
  return x === 'float32' || x === 'int32' || x === 'float64';
}

export function isFloatDType(d: DType): d is FloatDType {
  return d !== 'int32';
}

/** Zero-filled storage; float32 comes from the aligned, recycled pool (src/backends/storage.ts). */
export function allocFor(dtype: DType, size: number): Float32Array | Int32Array | Float64Array {
  return dtype === 'float32' ? zerosF32(size) : dtype === 'int32' ? new Int32Array(size) : new Float64Array(size);
}

export function dtypeOf(data: Float32Array | Int32Array | Float64Array): DType {
  return data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : 'float32';
}

/** Result dtype of a binary arithmetic op: float64 > float32 > int32, as NumPy's promotion of these three. */
export function promote(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64';
  return a === 'float32' || b === 'float32' ? 'float32' : 'int32';
}

/** The float dtype a float-only op computes in: int32 becomes float32 (NumPy's ufuncs promote it likewise). */
export function floatOf(d: DType): FloatDType {
  return d === 'int32' ? 'float32' : d;
}
