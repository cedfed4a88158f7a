/** Turning the loose arguments users pass (numbers, tensors) into tensors, with errors naming op and argument. */
import { DTypeError, opError } from '../errors.js';
import type { DType } from './dtype.js';
import { Tensor, type TensorOrScalar } from './tensor.js';

/** A Tensor as is, or a number as a scalar tensor of `dtype` (default float32; callers pick int32 or float64 to match a neighbour). */
export function toTensor(op: string, arg: string, v: TensorOrScalar, dtype: DType = 'float32'): Tensor {
  if (v instanceof Tensor) return v;
  if (typeof v === 'number') {
    return new Tensor(dtype === 'int32' ? Int32Array.of(v) : dtype === 'float64' ? Float64Array.of(v) : Float32Array.of(v), []);
  }
  throw opError(DTypeError, op, `argument '${arg}' must be a Tensor or a number, got ${describe(v)}`);
}

export function assertTensor(op: string, arg: string, v: unknown): Tensor {
  if (v instanceof Tensor) return v;
  throw opError(DTypeError, op, `argument '${arg}' must be a Tensor, got ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return `${typeof v} ${String(v)}`;
}
