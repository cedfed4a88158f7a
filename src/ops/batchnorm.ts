/**
 * Batch normalisation over the last axis of x [..., C] (NHWC activations or [N, C] features), Keras semantics:
 * y = gamma * (x - mean) / sqrt(variance + epsilon) + beta.
 * - training: mean and the biased variance of the batch (every axis but the last); when moving statistics are
 *   given, returns updated ones, moving * momentum + batch * (1 - momentum) (Keras 3 uses the biased batch
 *   variance here too), as new tensors: nothing is mutated.
 * - inference (training false, the default as in a Keras layer call): uses movingMean / movingVar, which must be given.
 * Defaults: epsilon 1e-3, momentum 0.99, gamma ones, beta zeros (DESIGN.md).
 *
 * Gradients (recorded on the tape): y's, to x, gamma and beta, by the batchNormBackward kernel: in training
 * through the batch statistics (they are functions of x), in inference with the moving statistics as constants
 * (they get no gradient: they are state, updated outside the graph). In training the returned batch `mean` and
 * `variance` are differentiable too; the updated moving statistics are not (Keras assigns them outside the tape).
 */
import { NodegradError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import type { BatchNormAttrs, KTensor } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkFinite, shapesEqual } from '../tensor/shape.js';
import { channelVector, checkOptions, f32, filledLike, floatTensor, fromKernel, sameFloatDType } from './validate.js';

export interface BatchNormOptions {
  /** [C]; default ones. */
  readonly gamma?: Tensor;
  /** [C]; default zeros. */
  readonly beta?: Tensor;
  /** [C]; needed for inference; in training, both or neither, to get updated moving statistics back. */
  readonly movingMean?: Tensor;
  readonly movingVar?: Tensor;
  /** Default 1e-3; > 0. */
  readonly epsilon?: number;
  /** Default 0.99; in [0, 1]. */
  readonly momentum?: number;
  /** Default false (inference). */
  readonly training?: boolean;
}

export interface BatchNormResult {
  /** Its recorded gradient reads `mean` and `variance`: keep them until the backward pass. */
  readonly y: Tensor;
  /** The statistics y was normalised with: the batch ones in training, the moving ones in inference. */
  readonly mean: Tensor;
  readonly variance: Tensor;
  /** Training with moving statistics given: the updated ones. */
  readonly movingMean?: Tensor;
  readonly movingVar?: Tensor;
}

export interface BatchNormBackwardOptions {
  /** [C]; default ones. */
  readonly gamma?: Tensor;
  /** [C]: the statistics the forward pass normalised with (its `mean` and `variance` results). */
  readonly mean: Tensor;
  readonly variance: Tensor;
  /** Default 1e-3. */
  readonly epsilon?: number;
  /** As in the forward pass; default false. */
  readonly training?: boolean;
}

export interface BatchNormGrads {
  readonly dx: Tensor;
  readonly dgamma: Tensor;
  readonly dbeta: Tensor;
}

const BN_KEYS = ['gamma', 'beta', 'movingMean', 'movingVar', 'epsilon', 'momentum', 'training'] as const;
const BN_BACKWARD_KEYS = ['gamma', 'mean', 'variance', 'epsilon', 'training'] as const;

/** x [..., C] with a batch axis: rank >= 2 and C >= 1. */
function features(op: string, arg: string, v: unknown): Tensor {
  const t = floatTensor(op, arg, v);
  if (t.shape.length < 2) {
    throw opError(ShapeError, op, `argument '${arg}' must have rank >= 2 ([N, C] or [N, H, W, C]), got shape ${fmtShape(t.shape)}`);
  }
  if (t.shape[t.shape.length - 1] < 1) throw opError(ShapeError, op, `argument '${arg}' ${fmtShape(t.shape)} has no channels`);
  return t;
}

function epsilonOf(op: string, v: unknown): number {
  const eps = checkFinite(op, 'epsilon', v ?? 1e-3);
  if (eps <= 0) throw opError(ValueError, op, `argument 'epsilon' must be > 0, got ${eps}`);
  return eps;
}

function trainingOf(op: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw opError(ValueError, op, `argument 'training' must be a boolean, got ${String(v)}`);
  return v;
}

/** gamma or its default, ones [C] in x's float type. */
function gammaOr(gamma: Tensor | undefined, x: Tensor, c: number): KTensor<Float32Array> {
  return gamma ? f32(gamma) : filledLike(x, [c], 1);
}

/** moving * momentum + batch * (1 - momentum), on the backend (so it runs where the tensors live). */
function movingUpdate(moving: Tensor, batch: Tensor, momentum: number): Tensor {
  const b = backendFor(moving, batch);
  const shape = moving.shape;
  const kept = b.binary('mul', f32(moving), filledLike(moving, [], momentum), shape);
  const added = b.binary('mul', f32(batch), filledLike(moving, [], 1 - momentum), shape);
  return fromKernel(b.binary('add', kept, added, shape));
}

/**
 * Records the gradients of the batch statistics of x [..., C] over its R = size / C rows: d mean / dx = 1/R per
 * row, d variance / dx = 2 (x - mean) / R (the biased variance; the mean's own dependence on x cancels, as the
 * deviations sum to zero).
 */
function recordStatistics(op: string, x: Tensor, mean: Tensor, variance: Tensor): void {
  const c = x.shape[x.shape.length - 1];
  const rows = x.size / c;
  record(op, mean, [x], (g) => [fromKernel(backendFor(x, g).binary('mul', filledLike(x, x.shape, 1 / rows), f32(g), x.shape))]);
  record(op, variance, [x], (g) => {
    const b = backendFor(x, g);
    const dev = b.binary('sub', f32(x), f32(mean), x.shape);
    return [fromKernel(b.binary('mul', dev, b.binary('mul', f32(g), filledLike(x, [], 2 / rows), [c]), x.shape))];
  });
}

/**
 * Batch norm of x [..., C] over every axis but the last.
 * @example const { y, movingMean, movingVar } = batchNorm(x, { gamma, beta, movingMean, movingVar, training: true })
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): BatchNormResult {
  const op = 'batchNorm';
  const o = checkOptions(op, options, BN_KEYS);
  const xt = features(op, 'x', x);
  const c = xt.shape[xt.shape.length - 1];
  const of = `one per channel of 'x' ${fmtShape(xt.shape)}`;
  const gamma = o.gamma === undefined ? undefined : channelVector(op, 'gamma', o.gamma, c, of);
  const beta = o.beta === undefined ? undefined : channelVector(op, 'beta', o.beta, c, of);
  const movingMean = o.movingMean === undefined ? undefined : channelVector(op, 'movingMean', o.movingMean, c, of);
  const movingVar = o.movingVar === undefined ? undefined : channelVector(op, 'movingVar', o.movingVar, c, of);
  const epsilon = epsilonOf(op, o.epsilon);
  const momentum = checkFinite(op, 'momentum', o.momentum ?? 0.99);
  if (momentum < 0 || momentum > 1) throw opError(ValueError, op, `argument 'momentum' must be in [0, 1], got ${momentum}`);
  const training = trainingOf(op, o.training);

  if (!training && (!movingMean || !movingVar)) {
    throw opError(
      ValueError, op,
      `inference (training false, the default) needs 'movingMean' and 'movingVar' [${c}]; missing ` +
        [movingMean ? '' : `'movingMean'`, movingVar ? '' : `'movingVar'`].filter(Boolean).join(' and '),
    );
  }
  if (training && (movingMean === undefined) !== (movingVar === undefined)) {
    throw opError(ValueError, op, `give both 'movingMean' and 'movingVar' or neither (only '${movingMean ? 'movingMean' : 'movingVar'}' was given)`);
  }
  if (training && xt.size === 0) {
    throw opError(ShapeError, op, `training needs at least one example per channel; 'x' ${fmtShape(xt.shape)} is empty`);
  }

  sameFloatDType(op, [['x', xt], ['gamma', gamma], ['beta', beta], ['movingMean', movingMean], ['movingVar', movingVar]]);

  const attrs: BatchNormAttrs = { epsilon, training };
  const r = backendFor(xt, gamma, beta, movingMean).batchNorm(
    f32(xt), gammaOr(gamma, xt, c), beta ? f32(beta) : filledLike(xt, [c], 0),
    movingMean && f32(movingMean), movingVar && f32(movingVar), attrs,
  );
  const mean = fromKernel(r.mean);
  const variance = fromKernel(r.variance);
  const y = record(op, fromKernel(r.y), [xt, gamma, beta], (dy) => {
    const g = backendFor(dy, xt, mean).batchNormBackward(f32(dy), f32(xt), gammaOr(gamma, xt, c), f32(mean), f32(variance), attrs);
    return [xt.requiresGrad ? fromKernel(g.dx) : null, gamma?.requiresGrad ? fromKernel(g.dgamma) : null, beta?.requiresGrad ? fromKernel(g.dbeta) : null];
  });
  if (training) recordStatistics(op, xt, mean, variance);
  const result: BatchNormResult = { y, mean, variance };
  if (training && movingMean && movingVar) {
    return { ...result, movingMean: movingUpdate(movingMean, mean, momentum), movingVar: movingUpdate(movingVar, variance, momentum) };
  }
  return result;
}

/**
 * Gradients of batchNorm: dy like x -> { dx, dgamma [C], dbeta [C] }, given the statistics the forward used.
 * In inference those statistics are constants, so dx = dy * gamma / sqrt(variance + epsilon).
 */
export function batchNormBackward(dy: Tensor, x: Tensor, options: BatchNormBackwardOptions): BatchNormGrads {
  const op = 'batchNormBackward';
  const o = checkOptions(op, options, BN_BACKWARD_KEYS);
  const xt = features(op, 'x', x);
  const dyt = floatTensor(op, 'dy', dy);
  if (!shapesEqual(dyt.shape, xt.shape)) {
    throw opError(ShapeError, op, `argument 'dy' ${fmtShape(dyt.shape)} must have the shape of 'x' ${fmtShape(xt.shape)}`);
  }
  const c = xt.shape[xt.shape.length - 1];
  const of = `one per channel of 'x' ${fmtShape(xt.shape)}`;
  if (o.mean === undefined || o.variance === undefined) {
    throw opError(ValueError, op, `needs the forward statistics 'mean' and 'variance' [${c}]`);
  }
  const gamma = o.gamma === undefined ? undefined : channelVector(op, 'gamma', o.gamma, c, of);
  const mean = channelVector(op, 'mean', o.mean, c, of);
  const variance = channelVector(op, 'variance', o.variance, c, of);
  const epsilon = epsilonOf(op, o.epsilon);
  const training = trainingOf(op, o.training);
  sameFloatDType(op, [['dy', dyt], ['x', xt], ['gamma', gamma], ['mean', mean], ['variance', variance]]);
  const g = backendFor(dyt, xt, mean).batchNormBackward(f32(dyt), f32(xt), gammaOr(gamma, xt, c), f32(mean), f32(variance), { epsilon, training });
  // Second-order gradients of batch norm have no kernel: a backward pass that reaches these says so rather than
  // dropping that path.
  const inputs = [dyt, xt, gamma, mean, variance];
  const unsupported = (): never => {
    throw new NodegradError(`backward: the gradient of '${op}' (a second-order gradient of batchNorm) is not implemented`);
  };
  return {
    dx: record(op, fromKernel(g.dx), inputs, unsupported),
    dgamma: record(op, fromKernel(g.dgamma), inputs, unsupported),
    dbeta: record(op, fromKernel(g.dbeta), inputs, unsupported),
  };
}
