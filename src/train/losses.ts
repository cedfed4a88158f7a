/**
 * Losses with Keras names and semantics, as classes (`new CategoricalCrossentropy({ fromLogits: true })`, what
 * `compile` resolves a string to) and as functions (`categoricalCrossentropy(yTrue, yPred)`). Every loss returns
 * a tensor that records for autograd: `loss.backward()` reaches the model's variables.
 *
 * Arguments are Keras' order, (yTrue, yPred). Each loss first computes an unreduced loss of shape yPred.shape
 * without its last axis (the class axis of cross-entropies; for binary cross-entropy and the regression losses
 * Keras' mean over the last axis), then reduces:
 * - 'mean' (default; Keras' "sum_over_batch_size"): sum of the (sample-weighted) unreduced losses divided by
 *   their count, the batch size for [N, C] predictions: a weighted sum over the batch, not a weighted mean;
 * - 'sum'; 'none' returns the unreduced [N, ...] tensor.
 * Unlike `keras.losses.categorical_crossentropy` (the per-sample function), the functions here reduce with
 * 'mean' by default, so `categoricalCrossentropy(y, p)` is a scalar as `keras.losses.CategoricalCrossentropy()(y, p)`.
 *
 * Definitions (Keras 3):
 * - categorical / sparse categorical cross-entropy, fromLogits: the fused, stable `ops.softmaxCrossEntropy`.
 *   From probabilities: p / sum(p) over the class axis, clipped to [1e-7, 1 - 1e-7], then -sum(y * log p).
 *   Sparse labels are int32 class indices (or float32 holding integers), of shape yPred.shape without the class
 *   axis, or with a trailing 1.
 * - binary cross-entropy, fromLogits: max(x, 0) - x z + log(1 + exp(-|x|)), whose gradient sigmoid(x) - z is
 *   recorded directly (stable for any logit, and exact at x = 0 where composing relu/abs would pick a
 *   subgradient). From probabilities: -(z log p + (1 - z) log(1 - p)) with p clipped to [1e-7, 1 - 1e-7].
 * - labelSmoothing s: categorical targets become y (1 - s) + s / C, binary ones z (1 - s) + s / 2.
 * - meanSquaredError, meanAbsoluteError: over the last axis; targets of shape [N] against predictions [N, 1]
 *   (or the reverse) are reshaped to match, as Keras squeezes them.
 *
 * Serialization (Keras' get_config / serialize / deserialize): every built-in class has `getConfig()`, JSON
 * `{ className, ...options }` with every option spelled out, and `lossFromConfig(config)` rebuilds an equal
 * loss. `serializeLoss(loss)` is the config when it round-trips (what saveModel stores), null for a loss that
 * cannot be saved: a FunctionLoss (a function is not JSON), or a subclass of a built-in that does not register
 * itself (`registerLoss`) with a getConfig of its own (its parent's config would rebuild the parent).
 */
import { DTypeError, NodegradError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { abs, clip, log, relu, sigmoid, softplus, sub, mul, neg, add } from '../tensor/elementwise.js';
import { mean, sum } from '../tensor/reduction.js';
import { cast, oneHot, reshape } from '../tensor/manipulation.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import type { FloatDType } from '../tensor/dtype.js';
import { softmaxCrossEntropy } from '../ops/loss.js';
import { noGrad, record } from '../autograd/tape.js';

/** Keras' backend epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before the log. */
export const EPSILON = 1e-7;

export type LossReduction = 'mean' | 'sum' | 'none';

export interface LossOptions {
  /** 'mean' (default, Keras' sum_over_batch_size), 'sum', or 'none' (the unreduced [N, ...] losses). */
  reduction?: LossReduction;
}

export interface CrossEntropyOptions extends LossOptions {
  /** Whether yPred holds logits (default false: probabilities, e.g. after a softmax or sigmoid layer). */
  fromLogits?: boolean;
  /** In [0, 1]: mixes the targets with the uniform distribution (default 0). */
  labelSmoothing?: number;
}

/** A loss a user writes: (yTrue, yPred) => a scalar, or per-sample losses that `compile` averages. */
export type LossFn = (yTrue: Tensor, yPred: Tensor) => Tensor;

/** A loss as JSON: its class name and its constructor options (`lossFromConfig` rebuilds it). */
export interface LossConfig {
  className: string;
  [option: string]: unknown;
}

/** What a model's compiled loss is resolved to. */
export abstract class Loss {
  /** The Keras name ("categorical_crossentropy"), used for per-output log keys. */
  abstract readonly name: string;
  readonly reduction: LossReduction;

  constructor(options: LossOptions = {}) {
    this.reduction = checkReduction(this.constructor.name, options.reduction);
  }

  /**
   * The targets as the loss uses them (cast, reshaped), checked against predictions of shape `predShape`:
   * a ShapeError / ValueError / DTypeError naming the loss, the shapes and the offending label otherwise.
   * `fit` calls it on the whole target tensor before training starts.
   */
  abstract prepareTargets(yTrue: Tensor, predShape: readonly number[], dtype?: FloatDType): Tensor;

  /** Unreduced loss, shape predShape without its last axis, recording for autograd. Targets already prepared. */
  protected abstract unreduced(yTrue: Tensor, yPred: Tensor): Tensor;

  /**
   * The loss of a batch. `sampleWeight` ([N], or broadcastable to the unreduced shape) multiplies each
   * sample's loss; 'mean' still divides by the number of losses (Keras).
   */
  call(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): Tensor {
    checkPred(this.name, yPred);
    const y = this.prepareTargets(yTrue, yPred.shape, floatDType(yPred));
    return this.reduce(this.unreduced(y, yPred), sampleWeight);
  }

  /** Applies sample weights and the reduction to an unreduced loss. */
  protected reduce(l: Tensor, sampleWeight?: Tensor | null): Tensor {
    let w = l;
    if (sampleWeight) w = mul(l, broadcastWeight(this.name, sampleWeight, l.shape, l.dtype === 'float64' ? 'float64' : 'float32'));
    if (this.reduction === 'none') return w;
    const total = sum(w);
    return this.reduction === 'sum' ? total : total.div(Math.max(l.size, 1));
  }

  /**
   * The loss as JSON, `{ className, ...options }`, that `lossFromConfig` rebuilds it from (Keras' get_config);
   * null when it has none (a FunctionLoss, or a custom subclass that does not override this).
   */
  getConfig(): LossConfig | null {
    return null;
  }

  /** A plain description for summaries and errors. */
  toString(): string {
    return this.name;
  }
}

/** A user's function, as a Loss: a non-scalar result is averaged (sample weights then apply to it). */
export class FunctionLoss extends Loss {
  readonly name: string;
  constructor(readonly fn: LossFn, name?: string) {
    super();
    this.name = name ?? (fn.name ? snakeCase(fn.name) : 'loss');
  }
  prepareTargets(yTrue: Tensor): Tensor {
    return yTrue;
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    const out = this.fn(yTrue, yPred);
    if (!(out instanceof Tensor)) throw new NodegradError(`loss '${this.name}': the loss function must return a Tensor, got ${typeof out}`);
    return out;
  }
  override call(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): Tensor {
    const l = this.unreduced(yTrue, yPred);
    if (l.size === 1 && !sampleWeight) return l.rank === 0 ? l : reshape(l, []);
    return this.reduce(l, sampleWeight);
  }
}

// --------------------------------------------------------------------------------------------------
// Cross-entropies

export class CategoricalCrossentropy extends Loss {
  readonly name = 'categorical_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyOptions = {}) {
    super(options);
    checkKeys('CategoricalCrossentropy', options, ['reduction', 'fromLogits', 'labelSmoothing']);
    this.fromLogits = checkBool('CategoricalCrossentropy', 'fromLogits', options.fromLogits);
    this.labelSmoothing = checkSmoothing('CategoricalCrossentropy', options.labelSmoothing);
  }
  override getConfig(): LossConfig {
    return { className: 'CategoricalCrossentropy', reduction: this.reduction, fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
  prepareTargets(yTrue: Tensor, predShape: readonly number[], dtype: FloatDType = 'float32'): Tensor {
    const op = this.name;
    checkTensor(op, 'yTrue', yTrue);
    if (predShape.length < 2) {
      throw new ShapeError(`${op}: predictions must have a class axis ([N, C]), got ${fmtShape(predShape)}`);
    }
    if (!shapesEqual(yTrue.shape, predShape)) {
      const sparse = shapesEqual(yTrue.shape, predShape.slice(0, -1)) || (yTrue.rank === predShape.length && yTrue.shape[yTrue.rank - 1] === 1);
      throw new ShapeError(
        `${op}: targets ${fmtShape(yTrue.shape)} must have the shape of the predictions ${fmtShape(predShape)} (one-hot or soft labels)` +
          (sparse ? "; for class indices use 'sparseCategoricalCrossentropy'" : ''),
      );
    }
    const y = cast(yTrue, dtype);
    return this.labelSmoothing > 0 ? smoothCategorical(y, this.labelSmoothing) : y;
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    return this.fromLogits ? logitsCrossEntropy(yPred, yTrue) : probsCrossEntropy(yTrue, yPred);
  }
  override call(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): Tensor {
    // The fused op reduces itself: one node instead of three on the common path.
    if (this.fromLogits && yPred.rank === 2 && !sampleWeight && this.reduction !== 'none') {
      checkPred(this.name, yPred);
      return softmaxCrossEntropy(yPred, this.prepareTargets(yTrue, yPred.shape, floatDType(yPred)), { reduction: this.reduction });
    }
    return super.call(yTrue, yPred, sampleWeight);
  }
}

export class SparseCategoricalCrossentropy extends Loss {
  readonly name = 'sparse_categorical_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyOptions = {}) {
    super(options);
    checkKeys('SparseCategoricalCrossentropy', options, ['reduction', 'fromLogits', 'labelSmoothing']);
    this.fromLogits = checkBool('SparseCategoricalCrossentropy', 'fromLogits', options.fromLogits);
    this.labelSmoothing = checkSmoothing('SparseCategoricalCrossentropy', options.labelSmoothing);
  }
  override getConfig(): LossConfig {
    return { className: 'SparseCategoricalCrossentropy', reduction: this.reduction, fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
  /** int32 class indices of shape predShape[:-1], each in [0, C). */
  prepareTargets(yTrue: Tensor, predShape: readonly number[]): Tensor {
    return sparseLabels(this.name, yTrue, predShape);
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    const c = yPred.shape[yPred.rank - 1];
    if (this.labelSmoothing > 0) {
      const y = smoothCategorical(cast(oneHot(yTrue, c), yPred.dtype), this.labelSmoothing);
      return this.fromLogits ? logitsCrossEntropy(yPred, y) : probsCrossEntropy(y, yPred);
    }
    if (this.fromLogits) return logitsCrossEntropy(yPred, yTrue);
    return probsCrossEntropy(cast(oneHot(yTrue, c), yPred.dtype), yPred);
  }
  override call(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): Tensor {
    if (this.fromLogits && yPred.rank === 2 && !sampleWeight && this.reduction !== 'none' && this.labelSmoothing === 0) {
      checkPred(this.name, yPred);
      return softmaxCrossEntropy(yPred, this.prepareTargets(yTrue, yPred.shape), { reduction: this.reduction });
    }
    return super.call(yTrue, yPred, sampleWeight);
  }
}

export class BinaryCrossentropy extends Loss {
  readonly name = 'binary_crossentropy';
  readonly fromLogits: boolean;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyOptions = {}) {
    super(options);
    checkKeys('BinaryCrossentropy', options, ['reduction', 'fromLogits', 'labelSmoothing']);
    this.fromLogits = checkBool('BinaryCrossentropy', 'fromLogits', options.fromLogits);
    this.labelSmoothing = checkSmoothing('BinaryCrossentropy', options.labelSmoothing);
  }
  override getConfig(): LossConfig {
    return { className: 'BinaryCrossentropy', reduction: this.reduction, fromLogits: this.fromLogits, labelSmoothing: this.labelSmoothing };
  }
  /** float32 targets in [0, 1] of the predictions' shape ([N] and [N, 1] are reshaped to match). */
  prepareTargets(yTrue: Tensor, predShape: readonly number[], dtype: FloatDType = 'float32'): Tensor {
    const op = this.name;
    const y = matchShape(op, yTrue, predShape);
    // CUDA targets are not read back (a download per step), as sparseLabels: fit checks them on the host first.
    const d = y.device === 'cpu' ? y.data : [];
    for (let i = 0; i < d.length; i++) {
      if (!(d[i] >= 0 && d[i] <= 1)) {
        throw new ValueError(`${op}: targets must be in [0, 1] (labels 0/1 or probabilities), got ${d[i]} at flat index ${i} of ${fmtShape(y.shape)}`);
      }
    }
    const f = cast(y, dtype);
    return this.labelSmoothing > 0 ? add(mul(f, 1 - this.labelSmoothing), 0.5 * this.labelSmoothing) : f;
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    const e = this.fromLogits ? sigmoidCrossEntropyWithLogits(yTrue, yPred) : probsBinaryCrossEntropy(yTrue, yPred);
    return lastAxisMean(e);
  }
}

// --------------------------------------------------------------------------------------------------
// Regression losses

export class MeanSquaredError extends Loss {
  readonly name = 'mean_squared_error';
  constructor(options: LossOptions = {}) {
    super(options);
    checkKeys('MeanSquaredError', options, ['reduction']);
  }
  override getConfig(): LossConfig {
    return { className: 'MeanSquaredError', reduction: this.reduction };
  }
  prepareTargets(yTrue: Tensor, predShape: readonly number[], dtype: FloatDType = 'float32'): Tensor {
    return cast(matchShape(this.name, yTrue, predShape), dtype);
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    const d = sub(yPred, yTrue);
    return lastAxisMean(mul(d, d));
  }
}

export class MeanAbsoluteError extends Loss {
  readonly name = 'mean_absolute_error';
  constructor(options: LossOptions = {}) {
    super(options);
    checkKeys('MeanAbsoluteError', options, ['reduction']);
  }
  override getConfig(): LossConfig {
    return { className: 'MeanAbsoluteError', reduction: this.reduction };
  }
  prepareTargets(yTrue: Tensor, predShape: readonly number[], dtype: FloatDType = 'float32'): Tensor {
    return cast(matchShape(this.name, yTrue, predShape), dtype);
  }
  protected unreduced(yTrue: Tensor, yPred: Tensor): Tensor {
    return lastAxisMean(abs(sub(yPred, yTrue)));
  }
}

// --------------------------------------------------------------------------------------------------
// Functions

/** Categorical cross-entropy of one-hot (or soft) targets [N, C] and predictions [N, C]; scalar by default. */
export function categoricalCrossentropy(yTrue: Tensor, yPred: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return new CategoricalCrossentropy(options).call(yTrue, yPred);
}
/** Cross-entropy of class indices [N] (int32) and predictions [N, C]; scalar by default. */
export function sparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return new SparseCategoricalCrossentropy(options).call(yTrue, yPred);
}
/** Binary cross-entropy of 0/1 (or soft) targets and predictions of the same shape; scalar by default. */
export function binaryCrossentropy(yTrue: Tensor, yPred: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return new BinaryCrossentropy(options).call(yTrue, yPred);
}
export function meanSquaredError(yTrue: Tensor, yPred: Tensor, options: LossOptions = {}): Tensor {
  return new MeanSquaredError(options).call(yTrue, yPred);
}
export function meanAbsoluteError(yTrue: Tensor, yPred: Tensor, options: LossOptions = {}): Tensor {
  return new MeanAbsoluteError(options).call(yTrue, yPred);
}

const LOSSES: Record<string, () => Loss> = {
  categorical_crossentropy: () => new CategoricalCrossentropy(),
  sparse_categorical_crossentropy: () => new SparseCategoricalCrossentropy(),
  binary_crossentropy: () => new BinaryCrossentropy(),
  mean_squared_error: () => new MeanSquaredError(),
  mse: () => new MeanSquaredError(),
  mean_absolute_error: () => new MeanAbsoluteError(),
  mae: () => new MeanAbsoluteError(),
};

/** The loss a compile identifier names: a Keras name in camelCase or snake_case ('mse' and 'mae' too), a Loss, or a function. */
export function getLoss(identifier: string | Loss | LossFn): Loss {
  if (identifier instanceof Loss) return identifier;
  if (typeof identifier === 'function') return new FunctionLoss(identifier);
  if (typeof identifier === 'string') {
    const make = LOSSES[snakeCase(identifier)];
    if (make) return make();
    throw new ValueError(
      `compile: unknown loss '${identifier}'; known: categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, ` +
        'meanSquaredError (mse), meanAbsoluteError (mae), or pass a Loss or a function (yTrue, yPred) => Tensor',
    );
  }
  throw new DTypeError(`compile: a loss must be a string, a Loss or a function, got ${describeValue(identifier)}`);
}

// --------------------------------------------------------------------------------------------------
// Serialization

type LossMaker = (options: Record<string, unknown>) => Loss;

/** Loss classes by className (exact spelling, as getConfig writes it). */
const lossClasses = new Map<string, LossMaker>([
  ['CategoricalCrossentropy', (o) => new CategoricalCrossentropy(o)],
  ['SparseCategoricalCrossentropy', (o) => new SparseCategoricalCrossentropy(o)],
  ['BinaryCrossentropy', (o) => new BinaryCrossentropy(o)],
  ['MeanSquaredError', (o) => new MeanSquaredError(o)],
  ['MeanAbsoluteError', (o) => new MeanAbsoluteError(o)],
]);
const builtinLossClasses = new Set(lossClasses.keys());

/**
 * Makes `lossFromConfig` (and so loadModel) rebuild a custom Loss class from its getConfig(): `make` receives
 * the config without className. The class's getConfig must return `{ className, ...options }` with this name.
 */
export function registerLoss(className: string, make: (options: Record<string, unknown>) => Loss): void {
  if (typeof className !== 'string' || className === '') throw new ValueError(`registerLoss: 'className' must be a non-empty string`);
  if (builtinLossClasses.has(className)) throw new ValueError(`registerLoss: '${className}' is a built-in loss class and cannot be replaced`);
  if (typeof make !== 'function') throw new DTypeError(`registerLoss: 'make' must be a function (options) => Loss, got ${describeValue(make)}`);
  lossClasses.set(className, make);
}

/**
 * Rebuilds a loss from `getConfig()` output, `{ className, ...options }` (Keras' deserialize). Unknown classes and
 * options throw; a null option means its default (JSON has no undefined).
 */
export function lossFromConfig(config: LossConfig): Loss {
  const op = 'lossFromConfig';
  if (typeof config !== 'object' || config === null || Array.isArray(config) || typeof config.className !== 'string') {
    throw new ValueError(`${op}: expected an object with a string 'className', got ${describeJson(config)}`);
  }
  const make = lossClasses.get(config.className);
  if (!make) {
    throw new ValueError(`${op}: unknown loss class '${config.className}' (known: ${[...lossClasses.keys()].join(', ')}; register custom classes with registerLoss)`);
  }
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (k !== 'className' && v !== null) options[k] = v;
  const loss = make(options);
  if (!(loss instanceof Loss)) throw new DTypeError(`${op}: the maker registered for '${config.className}' returned ${describeValue(loss)}, not a Loss`);
  return loss;
}

/**
 * The loss's config when it can be saved and loaded back (Keras' serialize): getConfig() is JSON and
 * lossFromConfig rebuilds a loss of the same class with the same config. Null otherwise: a FunctionLoss, a
 * subclass without a registered config of its own.
 */
export function serializeLoss(loss: Loss): LossConfig | null {
  if (!(loss instanceof Loss)) return null;
  const config = loss.getConfig();
  if (config === null) return null;
  let json: string;
  let back: Loss;
  try {
    json = JSON.stringify(config);
    back = lossFromConfig(JSON.parse(json) as LossConfig);
  } catch {
    return null;
  }
  if (back.constructor !== loss.constructor || JSON.stringify(back.getConfig()) !== json) return null;
  return JSON.parse(json) as LossConfig;
}

/** A short description of a value for errors about configs. */
function describeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    if (s !== undefined) return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    // Not JSON: fall through.
  }
  return describeValue(v);
}

// --------------------------------------------------------------------------------------------------
// Building blocks

/**
 * Binary cross-entropy from logits, elementwise: max(x, 0) - x z + log(1 + exp(-|x|)) (TensorFlow's
 * sigmoid_cross_entropy_with_logits). One recorded node whose gradient is g (sigmoid(x) - z) for the logits;
 * targets get none.
 */
export function sigmoidCrossEntropyWithLogits(labels: Tensor, logits: Tensor): Tensor {
  const op = 'sigmoidCrossEntropyWithLogits';
  if (!shapesEqual(labels.shape, logits.shape)) {
    throw new ShapeError(`${op}: labels ${fmtShape(labels.shape)} and logits ${fmtShape(logits.shape)} must have the same shape`);
  }
  const out = noGrad(() => add(sub(relu(logits), mul(logits, labels)), softplus(neg(abs(logits)))));
  return record(op, out, [logits, null], (g) => [mul(g, sub(sigmoid(logits), labels)), null]);
}

/** -sum(y log(clip(p / sum p))) over the last axis. */
function probsCrossEntropy(y: Tensor, p: Tensor): Tensor {
  const norm = p.div(sum(p, -1, true));
  const lp = log(clip(norm, EPSILON, 1 - EPSILON));
  return mul(sum(mul(y, lp), -1), -1);
}

/** The fused softmax cross-entropy over the last axis of any rank, unreduced. */
function logitsCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (logits.rank === 2) return softmaxCrossEntropy(logits, labels, { reduction: 'none' });
  const c = logits.shape[logits.rank - 1];
  const lead = logits.shape.slice(0, -1);
  const l2 = reshape(logits, [sizeOf(lead), c]);
  const y2 = labels.dtype === 'int32' ? reshape(labels, [sizeOf(lead)]) : reshape(labels, [sizeOf(lead), c]);
  return reshape(softmaxCrossEntropy(l2, y2, { reduction: 'none' }), lead);
}

/** -(z log p + (1 - z) log(1 - p)), p clipped to [eps, 1 - eps]. */
function probsBinaryCrossEntropy(z: Tensor, p: Tensor): Tensor {
  const pc = clip(p, EPSILON, 1 - EPSILON);
  const pos = mul(z, log(pc));
  const negPart = mul(sub(1, z), log(sub(1, pc)));
  return mul(add(pos, negPart), -1);
}

/** Keras' mean over the last axis for elementwise losses (a rank-1 tensor is already per-sample). */
function lastAxisMean(e: Tensor): Tensor {
  return e.rank >= 2 ? mean(e, -1) : e;
}

function smoothCategorical(y: Tensor, s: number): Tensor {
  const c = y.shape[y.rank - 1];
  return add(mul(y, 1 - s), s / c);
}

/** Class indices as int32 of shape predShape[:-1]; throws for a wrong shape, non-integers or an index out of range. */
export function sparseLabels(op: string, yTrue: Tensor, predShape: readonly number[]): Tensor {
  checkTensor(op, 'yTrue', yTrue);
  if (predShape.length < 2) throw new ShapeError(`${op}: predictions must have a class axis ([N, C]), got ${fmtShape(predShape)}`);
  const want = predShape.slice(0, -1);
  let y = yTrue;
  if (!shapesEqual(y.shape, want)) {
    if (y.rank === want.length + 1 && y.shape[y.rank - 1] === 1 && shapesEqual(y.shape.slice(0, -1), want)) {
      y = reshape(y, want);
    } else {
      const oneHotLike = shapesEqual(y.shape, predShape);
      throw new ShapeError(
        `${op}: targets must be class indices of shape ${fmtShape(want)} for predictions ${fmtShape(predShape)}, got ${fmtShape(yTrue.shape)}` +
          (oneHotLike ? "; for one-hot targets use 'categoricalCrossentropy'" : ''),
      );
    }
  }
  const c = predShape[predShape.length - 1];
  // CUDA labels are not read back (a download per step): fit() checks every label on the host before training.
  const d = y.device === 'cpu' ? y.data : [];
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (!Number.isInteger(v)) {
      throw new ValueError(`${op}: targets must be integer class indices, got ${v} at index ${i} (targets ${fmtShape(yTrue.shape)})`);
    }
    if (v < 0 || v >= c) {
      throw new ValueError(`${op}: label ${v} at index ${i} is out of range [0, ${c}) for predictions ${fmtShape(predShape)} with ${c} classes`);
    }
  }
  return y.dtype === 'int32' ? y : cast(y, 'int32');
}

/** Targets of the predictions' shape; [N] against [N, 1] (and the reverse) is reshaped, as Keras squeezes. */
function matchShape(op: string, yTrue: Tensor, predShape: readonly number[]): Tensor {
  checkTensor(op, 'yTrue', yTrue);
  if (shapesEqual(yTrue.shape, predShape)) return yTrue;
  const squeezeT = yTrue.rank > 0 && yTrue.shape[yTrue.rank - 1] === 1 ? yTrue.shape.slice(0, -1) : yTrue.shape;
  const squeezeP = predShape.length > 0 && predShape[predShape.length - 1] === 1 ? predShape.slice(0, -1) : predShape;
  if (shapesEqual(squeezeT, squeezeP)) return reshape(yTrue, predShape);
  throw new ShapeError(`${op}: targets ${fmtShape(yTrue.shape)} must have the shape of the predictions ${fmtShape(predShape)}`);
}

function broadcastWeight(op: string, w: Tensor, shape: readonly number[], dtype: FloatDType): Tensor {
  checkTensor(op, 'sampleWeight', w);
  const f = cast(w, dtype);
  if (shapesEqual(f.shape, shape)) return f;
  if (f.rank === 1 && shape.length >= 1 && f.shape[0] === shape[0]) {
    return shape.length === 1 ? f : reshape(f, [f.shape[0], ...shape.slice(1).map(() => 1)]);
  }
  if (f.rank === 2 && f.shape[1] === 1 && shape.length === 1 && f.shape[0] === shape[0]) return reshape(f, shape);
  throw new ShapeError(`${op}: sampleWeight ${fmtShape(w.shape)} does not fit the per-sample losses ${fmtShape(shape)} (one weight per sample: [${shape[0] ?? '?'}])`);
}

function checkPred(op: string, yPred: unknown): void {
  checkTensor(op, 'yPred', yPred);
  if ((yPred as Tensor).dtype === 'int32') throw new DTypeError(`${op}: predictions must be float32, got int32 ${fmtShape((yPred as Tensor).shape)}`);
}

/** The float dtype targets take to match the predictions (float64 in gradient checks). */
function floatDType(yPred: Tensor): FloatDType {
  return yPred.dtype === 'float64' ? 'float64' : 'float32';
}

function checkTensor(op: string, arg: string, v: unknown): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new DTypeError(`${op}: argument '${arg}' must be a Tensor, got ${describeValue(v)}`);
}

function checkReduction(op: string, r: unknown): LossReduction {
  const v = r ?? 'mean';
  if (v !== 'mean' && v !== 'sum' && v !== 'none') throw new ValueError(`${op}: option 'reduction' must be 'mean', 'sum' or 'none', got ${JSON.stringify(v)}`);
  return v;
}

function checkBool(op: string, arg: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new DTypeError(`${op}: option '${arg}' must be a boolean, got ${describeValue(v)}`);
  return v;
}

function checkSmoothing(op: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ValueError(`${op}: option 'labelSmoothing' must be a number in [0, 1], got ${String(v)}`);
  return v;
}

function checkKeys(op: string, options: object, keys: readonly string[]): void {
  if (typeof options !== 'object' || options === null) throw new DTypeError(`${op}: options must be an object, got ${describeValue(options)}`);
  for (const k of Object.keys(options)) {
    if (!keys.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${keys.join(', ')})`);
  }
}

/** "categoricalCrossentropy" -> "categorical_crossentropy"; snake_case stays. */
export function snakeCase(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Tensor) return `a ${v.dtype} Tensor ${fmtShape(v.shape)}`;
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : `${typeof v} ${String(v)}`;
}
