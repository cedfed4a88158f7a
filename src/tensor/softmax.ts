/**
 * softmax and logSoftmax along one axis (default the last, as Keras), computed stably by the kernel
 * (the max is subtracted first). Float-only: an int32 tensor is cast to float32 first, as the float-only
 * unary ops in elementwise.ts do; float64 stays float64. A rank-0 tensor has no axis and is rejected.
 * Gradients: softmax y gives y (g - sum(g y)); logSoftmax y gives g - e^y sum(g), sums along the axis.
 */
import { DTypeError, NodegradError, fmtShape, opError } from '../errors.js';
import type { KTensor } from '../backends/backend.js';
import { backendFor } from '../backends/registry.js';
import { Tensor } from './tensor.js';
import { assertTensor, describe } from './convert.js';
import { normalizeAxis } from './shape.js';
import { record } from '../autograd/tape.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduction.js';

function prepare(op: string, x: Tensor, axis: number): { t: Tensor; ax: number } {
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
  const t = x.dtype === 'int32' ? Tensor.fromKernel(backendFor(x).cast(x, 'float32')) : x;
  return { t, ax };
}

/** The tensor as the float kernels take it (float32 or float64; prepare cast int32 away). */
function floatView(t: Tensor): KTensor<Float32Array> {
  return t as unknown as KTensor<Float32Array>;
}

/** exp(x) / sum(exp(x)) along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const { t, ax } = prepare('softmax', x, axis);
  const y = Tensor.fromKernel(backendFor(t).softmax(floatView(t), ax));
  return record('softmax', y, [t], (g) => {
    const gy = mul(g, y);
    return [sub(gy, mul(y, sum(gy, ax, true)))];
  });
}

/** x - log(sum(exp(x))) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const { t, ax } = prepare('logSoftmax', x, axis);
  const y = Tensor.fromKernel(backendFor(t).logSoftmax(floatView(t), ax));
  return record('logSoftmax', y, [t], (g) => [sub(g, mul(exp(y), sum(g, ax, true)))]);
}
