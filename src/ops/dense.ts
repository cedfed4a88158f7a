/**
 * Fully connected layer maths (Keras Dense): y = activation(x @ w + bias), x [..., in], w [in, out] -> [..., out].
 * Leading axes are flattened into the matmul's M and restored, so [N, T, in] works as Keras does.
 * One backend matmul call with the bias and activation fused into its epilogue.
 *
 * Gradient (recorded on the tape), on x and w flattened to [M, in]: dz = dy masked by y > 0 for 'relu' (the
 * gradient at 0 is 0, as TensorFlow), dx = dz w^T, dw = x^T dz and dbias = the column sums of dz: two matmuls
 * with transposed operands, no copies.
 */
import { ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import type { FusedActivation } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { assertRank } from '../tensor/shape.js';
import { channelVector, checkOptions, f32, floatTensor, fromKernel, sameFloatDType, sumAxes, view } from './validate.js';

export interface DenseOptions {
  /** [out]. */
  readonly bias?: Tensor;
  /** Default 'linear'. */
  readonly activation?: FusedActivation;
}

const DENSE_KEYS = ['bias', 'activation'] as const;

/**
 * @example dense(x, w, { bias: b, activation: 'relu' }) // x [N, 784], w [784, 128] -> [N, 128]
 */
export function dense(x: Tensor, w: Tensor, options: DenseOptions = {}): Tensor {
  const op = 'dense';
  const o = checkOptions(op, options, DENSE_KEYS);
  const xt = floatTensor(op, 'x', x);
  const wt = floatTensor(op, 'w', w);
  if (xt.shape.length < 1) throw opError(ShapeError, op, `argument 'x' must have rank >= 1 [..., in], got a scalar`);
  assertRank(op, 'w', wt.shape, 2);
  const [k, n] = wt.shape;
  const inFeatures = xt.shape[xt.shape.length - 1];
  if (inFeatures !== k) {
    throw opError(
      ShapeError, op,
      `argument 'w' ${fmtShape(wt.shape)} expects ${k} input features but 'x' ${fmtShape(xt.shape)} has ${inFeatures} (its last axis)`,
    );
  }
  const activation = o.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') {
    throw opError(ValueError, op, `argument 'activation' must be 'linear' or 'relu', got ${JSON.stringify(activation)}`);
  }
  const bias = o.bias === undefined ? undefined : channelVector(op, 'bias', o.bias, n, `one per output unit of 'w' ${fmtShape(wt.shape)}`);
  sameFloatDType(op, [['x', xt], ['w', wt], ['bias', bias]]);
  const lead = xt.shape.slice(0, -1);
  const m = lead.reduce((a, b) => a * b, 1);
  const y = fromKernel(backendFor(xt, wt, bias).matmul(
    f32(view(xt, [1, m, k])), f32(view(wt, [1, k, n])), { transposeA: false, transposeB: false, activation }, bias && f32(bias),
  ), [...lead, n]);
  return record(op, y, [xt, wt, bias], (dy) => {
    const b = backendFor(xt, dy);
    // relu: y > 0 exactly where the pre-activation is, so y stands in for it (relu'(0) = 0, one fused pass).
    const dz = activation === 'relu' ? fromKernel(b.unaryGrad('relu', f32(y), f32(y), f32(dy), {}), dy.shape) : dy;
    const dz3 = f32(view(dz, [1, m, n]));
    const dx = xt.requiresGrad ? fromKernel(b.matmul(dz3, f32(view(wt, [1, k, n])), { transposeA: false, transposeB: true }), xt.shape) : null;
    const dw = wt.requiresGrad ? fromKernel(b.matmul(f32(view(xt, [1, m, k])), dz3, { transposeA: true, transposeB: false }), wt.shape) : null;
    const db = bias?.requiresGrad ? sumAxes(view(dz, [m, n]), [0]) : null;
    return [dx, dw, db];
  });
}
