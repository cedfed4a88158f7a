/**
 * softmax and logSoftmax along one axis (default the last, as Keras), computed stably by the kernel
 * (the max is subtracted first). Float-only: an int32 tensor is cast to float32 first, as the float-only
 * unary ops in elementwise.ts do. A rank-0 tensor has no axis and is rejected.
 */
import { DTypeError, NodegradError, fmtShape, opError } from '../errors.js';
import type { KTensor } from '../backends/backend.js';
import { getBackend } from '../backends/registry.js';
import { Tensor } from './tensor.js';
import { assertTensor, describe } from './convert.js';
import { normalizeAxis } from './shape.js';

function prepare(op: string, x: Tensor, axis: number): { t: KTensor<Float32Array>; ax: number } {
  assertTensor(op, 'x', x);
  if (typeof axis !== 'number') throw opError(DTypeError, op, `argument 'axis' must be an integer, got ${describe(axis)} (x ${fmtShape(x.shape)})`);
  let ax: number;
  try {
    ax = normalizeAxis(op, axis, x.rank);
  } catch (e) {
    // shape.ts's axis errors give only the rank; add the shape.
    if (e instanceof NodegradError) e.message += ` (x ${fmtShape(x.shape)})`;
    throw e;
  }
  const f = x.dtype === 'float32' ? x : Tensor.fromKernel(getBackend().cast(x, 'float32'));
  return { t: { data: f.data as Float32Array, shape: f.shape }, ax };
}

/** exp(x) / sum(exp(x)) along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const { t, ax } = prepare('softmax', x, axis);
  return Tensor.fromKernel(getBackend().softmax(t, ax));
}

/** x - log(sum(exp(x))) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const { t, ax } = prepare('logSoftmax', x, axis);
  return Tensor.fromKernel(getBackend().logSoftmax(t, ax));
}
