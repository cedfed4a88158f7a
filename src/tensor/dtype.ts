/** float32 for compute, int32 for labels, indices and 0/1 masks (DESIGN.md fixes these two). */
export type DType = 'float32' | 'int32';

export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : Int32Array;

export const DTYPES: readonly DType[] = ['float32', 'int32'];

export function isDType(x: unknown): x is DType {
  return x === 'float32' || x === 'int32';
}

export function allocFor(dtype: DType, size: number): Float32Array | Int32Array {
  return dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
}

export function dtypeOf(data: Float32Array | Int32Array): DType {
  return data instanceof Int32Array ? 'int32' : 'float32';
}

/** Result dtype of a binary arithmetic op: float32 wins, as in NumPy's float32/int32 promotion. */
export function promote(a: DType, b: DType): DType {
  return a === 'float32' || b === 'float32' ? 'float32' : 'int32';
}
