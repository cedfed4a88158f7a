/**
 * Metrics with Keras names: stateful objects (`update(yTrue, yPred)`, `result()`, `reset()`) that `fit` and
 * `evaluate` accumulate over the batches of an epoch, and standalone functions that return a number for one
 * batch (`categoricalAccuracy(y, p)`, `auc(y, p)`, `confusionMatrix(y, p)`).
 *
 * Metrics read the tensors' values on the host and count in float64; they record nothing for autograd. The
 * accuracy metrics count on the device for CUDA tensors and read back only when the result is asked for
 * (metrics-device.ts, which lists the metrics that read their inputs back instead).
 *
 * - Accuracy ('accuracy' / 'acc'): picks sparse categorical, categorical or binary accuracy as Keras does: from
 *   the compiled loss (sparse categorical cross-entropy -> sparse; binary cross-entropy -> binary) and
 *   otherwise from the shapes (predictions with last axis 1 -> binary; targets without the class axis ->
 *   sparse; else categorical). Binary accuracy thresholds at 0.5, or at 0 when the loss is binary
 *   cross-entropy fromLogits (Keras would threshold the logits at 0.5). Note: Keras' `metrics.Accuracy`
 *   class is exact equality; here `Accuracy` is the auto-selecting 'accuracy'.
 * - Top-k: the true class is in the top k when fewer than k classes score strictly higher (ties count in, as
 *   tf.math.in_top_k).
 * - Precision, Recall, F1Score: predictions of last axis 1 (or rank 1) are binary, positive when > threshold
 *   (0.5), targets positive when nonzero (Keras). Multi-class predictions [N, C] are single-label by default:
 *   the predicted class is the argmax, the true class the index (sparse targets) or the argmax (one-hot), and
 *   the result averages the per-class values: 'macro' (default, unweighted), 'micro' (pooled counts) or
 *   'weighted' (by support); `classId` reports one class, `perClass()` all of them. With an explicit
 *   `threshold`, multi-class predictions are multi-label instead (each class thresholded; Keras'
 *   Precision/Recall on [N, C] is this with 'micro'). A class with a zero denominator counts 0.
 * - AUC: ROC AUC. Default: Keras' approximation, 200 thresholds (0 - 1e-7, i/199 for i = 1..198, 1 + 1e-7),
 *   confusion counts per threshold (prediction > threshold), trapezoid rule ('interpolation') over
 *   (FPR, TPR). `exact: true` keeps every score and computes the exact area (ties as half, the
 *   Mann-Whitney statistic). Multi-class inputs are flattened against one-hot targets (Keras'
 *   multi_label=false). Predictions must be probabilities in [0, 1] unless `fromLogits` (sigmoid first).
 *   With no positives or no negatives the area is 0 (Keras' div_no_nan), NaN for `exact`.
 * - ConfusionMatrix: rows are true classes, columns predicted ones (tf.math.confusion_matrix); its result is
 *   a matrix, so it is not a compile metric: accumulate it over `predict` output, or call `confusionMatrix`.
 *
 * Serialization (Keras' get_config / serialize / deserialize): every built-in Metric class has `getConfig()`,
 * JSON `{ className, ...options }` (name included; an option left to its default by the constructor, such as
 * Precision's threshold, is null), and `metricFromConfig(config)` rebuilds an equal metric with fresh state.
 * `serializeMetric(m)` is the config when it round-trips (what saveModel stores), null for a FunctionMetric,
 * a bare MeanMetricWrapper (functions are not JSON) or an unregistered subclass (`registerMetric`).
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, type TensorData } from '../tensor/tensor.js';
import { shapesEqual } from '../tensor/shape.js';
import { describeValue, snakeCase, type Loss } from './losses.js';
import { DeviceCount, MAX_DEVICE_ROWS, binaryHits, categoricalHits, sparseHits, topKHits } from './metrics-device.js';

/** A metric as JSON: its class name and its constructor options (`metricFromConfig` rebuilds it). */
export interface MetricConfig {
  className: string;
  [option: string]: unknown;
}

/** A running metric. */
export abstract class Metric {
  /** The key in logs and History ("accuracy", "precision"; validation adds "val_"). */
  abstract readonly name: string;
  /** Accumulates one batch. `sampleWeight` ([N]) weighs samples where the metric supports it. */
  abstract update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void;
  /** The value over everything accumulated since the last reset. */
  abstract result(): number;
  abstract reset(): void;
  /** Keras' spellings. */
  updateState(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    this.update(yTrue, yPred, sampleWeight);
  }
  resetState(): void {
    this.reset();
  }
  /**
   * The metric as JSON, `{ className, ...options }`, that `metricFromConfig` rebuilds it from (Keras'
   * get_config); null when it has none (a FunctionMetric, a custom subclass that does not override this).
   */
  getConfig(): MetricConfig | null {
    return null;
  }
}

/** A weighted running mean of numbers: the loss tracker (Keras weighs each batch's loss by its size). */
export class Mean {
  private total = 0;
  private count = 0;
  constructor(readonly name = 'mean') {}
  update(value: number, weight = 1): void {
    this.total += value * weight;
    this.count += weight;
  }
  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

// --------------------------------------------------------------------------------------------------
// Host views

interface Host {
  readonly data: TensorData;
  readonly shape: readonly number[];
}

function host(op: string, arg: string, t: unknown): Host {
  if (!(t instanceof Tensor)) throw new DTypeError(`${op}: argument '${arg}' must be a Tensor, got ${describeValue(t)}`);
  return { data: t.data, shape: t.shape };
}

function lastDim(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1];
}

function argmaxRow(d: ArrayLike<number>, off: number, c: number): number {
  let best = 0;
  let bv = d[off];
  for (let j = 1; j < c; j++) {
    const v = d[off + j];
    if (v > bv || (Number.isNaN(bv) && !Number.isNaN(v))) {
      bv = v;
      best = j;
    }
  }
  return best;
}

/** Class-index targets for predictions [..., C]: shape pred[:-1] or pred[:-1] + [1]. */
function isSparseFor(yShape: readonly number[], predShape: readonly number[]): boolean {
  const lead = predShape.slice(0, -1);
  return shapesEqual(yShape, lead) || (yShape.length === lead.length + 1 && yShape[yShape.length - 1] === 1 && shapesEqual(yShape.slice(0, -1), lead));
}

/** True when y and p have the same shape after squeezing a trailing 1 (Keras' squeeze_or_expand). */
function sameSqueezed(yShape: readonly number[], pShape: readonly number[]): boolean {
  const sq = (s: readonly number[]) => (s.length > 0 && s[s.length - 1] === 1 ? s.slice(0, -1) : s);
  return shapesEqual(yShape, pShape) || shapesEqual(sq(yShape), sq(pShape));
}

function weightsOf(op: string, sw: Tensor | null | undefined, n: number): Float64Array | null {
  if (!sw) return null;
  const h = host(op, 'sampleWeight', sw);
  if (h.data.length !== n) throw new ShapeError(`${op}: sampleWeight ${fmtShape(h.shape)} must hold one weight per sample (${n})`);
  return Float64Array.from(h.data);
}

// --------------------------------------------------------------------------------------------------
// Mean-of-per-sample-values metrics

/** Per-position values (1 correct / 0 wrong, or an error) and how many positions each sample has. */
type PerSample = (op: string, y: Host, p: Host) => Float64Array;

/**
 * The device form of a PerSample of 0/1 values: after the host's shape checks, the batch's count of ones as a CUDA
 * scalar and the number of values; null for the cases that run on the host.
 */
type DeviceCounter = (op: string, y: Tensor, p: Tensor) => { hits: Tensor; rows: number } | null;

/** A DeviceCounter for per-row hits over predictions [..., C], after `check`. */
function rowCounter(check: (op: string, y: readonly number[], p: readonly number[]) => void, hits: (y: Tensor, p: Tensor) => Tensor): DeviceCounter {
  return (op, y, p) => {
    check(op, y.shape, p.shape);
    const c = lastDim(p.shape);
    const rows = c === 0 ? 0 : p.size / c;
    return rows > 0 && rows <= MAX_DEVICE_ROWS ? { hits: hits(y, p), rows } : null;
  };
}

/** The mean of per-sample values across batches (Keras' MeanMetricWrapper). */
export class MeanMetricWrapper extends Metric {
  private total = 0;
  private count = 0;
  /** The CUDA batches' sum, read when the result is asked for. */
  #device = new DeviceCount();
  constructor(readonly name: string, private readonly fn: PerSample, private readonly onDevice: DeviceCounter | null = null) {
    super();
  }
  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    if (this.onDevice && !sampleWeight && yTrue instanceof Tensor && yPred instanceof Tensor && yTrue.device === 'cuda' && yPred.device === 'cuda') {
      const d = this.onDevice(this.name, yTrue, yPred);
      if (d) {
        this.#device.add(d.hits, d.rows);
        this.count += d.rows;
        return;
      }
    }
    const y = host(this.name, 'yTrue', yTrue);
    const p = host(this.name, 'yPred', yPred);
    const v = this.fn(this.name, y, p);
    const n = p.shape.length === 0 ? 1 : p.shape[0];
    const w = weightsOf(this.name, sampleWeight, n);
    if (!w) {
      for (let i = 0; i < v.length; i++) this.total += v[i];
      this.count += v.length;
      return;
    }
    const per = n === 0 ? 0 : v.length / n;
    for (let i = 0; i < v.length; i++) {
      const wi = w[Math.floor(i / per)];
      this.total += v[i] * wi;
      this.count += wi;
    }
  }
  result(): number {
    this.total += this.#device.take();  // integer counts: exact in any order
    return this.count === 0 ? 0 : this.total / this.count;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
    this.#device.reset();
  }
}

function checkCategorical(op: string, y: readonly number[], p: readonly number[]): void {
  if (p.length < 1 || !shapesEqual(y, p)) {
    throw new ShapeError(`${op}: targets ${fmtShape(y)} must be one-hot with the shape of the predictions ${fmtShape(p)}` +
      (isSparseFor(y, p) ? " (class indices: use 'sparse_categorical_accuracy')" : ''));
  }
}

function checkSparse(op: string, y: readonly number[], p: readonly number[]): void {
  if (p.length < 2 || !isSparseFor(y, p)) {
    throw new ShapeError(`${op}: targets ${fmtShape(y)} must be class indices of shape ${fmtShape(p.slice(0, -1))} for predictions ${fmtShape(p)}`);
  }
}

function checkSameShape(op: string, y: readonly number[], p: readonly number[]): void {
  if (!sameSqueezed(y, p)) throw new ShapeError(`${op}: targets ${fmtShape(y)} must have the shape of the predictions ${fmtShape(p)}`);
}

function checkTopK(sparse: boolean): (op: string, y: readonly number[], p: readonly number[]) => void {
  return (op, y, p) => {
    if (p.length < 2) throw new ShapeError(`${op}: predictions must be [N, C], got ${fmtShape(p)}`);
    if (sparse) checkSparse(op, y, p);
    else if (!shapesEqual(y, p)) throw new ShapeError(`${op}: targets ${fmtShape(y)} must be one-hot with the shape of the predictions ${fmtShape(p)}`);
  };
}

const categoricalAccuracyFn: PerSample = (op, y, p) => {
  checkCategorical(op, y.shape, p.shape);
  const c = lastDim(p.shape);
  const rows = c === 0 ? 0 : p.data.length / c;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = argmaxRow(y.data, r * c, c) === argmaxRow(p.data, r * c, c) ? 1 : 0;
  return out;
};

const sparseCategoricalAccuracyFn: PerSample = (op, y, p) => {
  checkSparse(op, y.shape, p.shape);
  const c = lastDim(p.shape);
  const rows = c === 0 ? 0 : p.data.length / c;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = y.data[r] === argmaxRow(p.data, r * c, c) ? 1 : 0;
  return out;
};

function binaryAccuracyFn(threshold: number): PerSample {
  return (op, y, p) => {
    checkSameShape(op, y.shape, p.shape);
    const n = p.data.length;
    const perRow = p.shape.length >= 2 ? lastDim(p.shape) : 1;
    const out = new Float64Array(perRow === 0 ? 0 : n / perRow);
    // Keras: mean over the last axis of equal(y, p > threshold): per-row fractions, then their mean.
    for (let i = 0; i < n; i++) out[Math.floor(i / perRow)] += (y.data[i] === (p.data[i] > threshold ? 1 : 0) ? 1 : 0) / perRow;
    return out;
  };
}

/** Binary accuracy on the device: rows of one element (a count of 0/1) and a threshold float32 holds exactly. */
function binaryAccuracyDevice(threshold: number): DeviceCounter {
  return (op, y, p) => {
    checkSameShape(op, y.shape, p.shape);
    const perRow = p.shape.length >= 2 ? lastDim(p.shape) : 1;
    const ok = perRow === 1 && Math.fround(threshold) === threshold && p.size > 0 && p.size <= MAX_DEVICE_ROWS;
    return ok ? { hits: binaryHits(y, p, threshold), rows: p.size } : null;
  };
}

function topKFn(k: number, sparse: boolean): PerSample {
  return (op, y, p) => {
    checkTopK(sparse)(op, y.shape, p.shape);
    const c = lastDim(p.shape);
    const rows = c === 0 ? 0 : p.data.length / c;
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const t = sparse ? y.data[r] : argmaxRow(y.data, r * c, c);
      if (!(t >= 0 && t < c && Number.isInteger(t))) continue;
      const v = p.data[r * c + t];
      if (!Number.isFinite(v)) continue;
      let higher = 0;
      for (let j = 0; j < c; j++) if (p.data[r * c + j] > v) higher++;
      out[r] = higher < k ? 1 : 0;
    }
    return out;
  };
}

function errorFn(kind: 'mse' | 'mae'): PerSample {
  return (op, y, p) => {
    checkSameShape(op, y.shape, p.shape);
    const n = p.data.length;
    const perRow = p.shape.length >= 2 ? lastDim(p.shape) : 1;
    const out = new Float64Array(perRow === 0 ? 0 : n / perRow);
    for (let i = 0; i < n; i++) {
      const d = p.data[i] - y.data[i];
      out[Math.floor(i / perRow)] += (kind === 'mse' ? d * d : Math.abs(d)) / perRow;
    }
    return out;
  };
}

export class CategoricalAccuracy extends MeanMetricWrapper {
  constructor(name = 'categorical_accuracy') {
    super(name, categoricalAccuracyFn, rowCounter(checkCategorical, categoricalHits));
  }
  override getConfig(): MetricConfig {
    return { className: 'CategoricalAccuracy', name: this.name };
  }
}
export class SparseCategoricalAccuracy extends MeanMetricWrapper {
  constructor(name = 'sparse_categorical_accuracy') {
    super(name, sparseCategoricalAccuracyFn, rowCounter(checkSparse, sparseHits));
  }
  override getConfig(): MetricConfig {
    return { className: 'SparseCategoricalAccuracy', name: this.name };
  }
}
export class BinaryAccuracy extends MeanMetricWrapper {
  readonly threshold: number;
  constructor(options: { threshold?: number; name?: string } = {}) {
    const threshold = checkThreshold('BinaryAccuracy', options.threshold ?? 0.5);
    super(options.name ?? 'binary_accuracy', binaryAccuracyFn(threshold), binaryAccuracyDevice(threshold));
    this.threshold = threshold;
  }
  override getConfig(): MetricConfig {
    return { className: 'BinaryAccuracy', threshold: this.threshold, name: this.name };
  }
}
export class TopKCategoricalAccuracy extends MeanMetricWrapper {
  readonly k: number;
  constructor(options: { k?: number; name?: string } = {}) {
    const k = checkK('TopKCategoricalAccuracy', options.k);
    super(options.name ?? 'top_k_categorical_accuracy', topKFn(k, false), rowCounter(checkTopK(false), (y, p) => topKHits(y, p, k, false)));
    this.k = k;
  }
  override getConfig(): MetricConfig {
    return { className: 'TopKCategoricalAccuracy', k: this.k, name: this.name };
  }
}
export class SparseTopKCategoricalAccuracy extends MeanMetricWrapper {
  readonly k: number;
  constructor(options: { k?: number; name?: string } = {}) {
    const k = checkK('SparseTopKCategoricalAccuracy', options.k);
    super(options.name ?? 'sparse_top_k_categorical_accuracy', topKFn(k, true), rowCounter(checkTopK(true), (y, p) => topKHits(y, p, k, true)));
    this.k = k;
  }
  override getConfig(): MetricConfig {
    return { className: 'SparseTopKCategoricalAccuracy', k: this.k, name: this.name };
  }
}
export class MeanSquaredErrorMetric extends MeanMetricWrapper {
  constructor(name = 'mean_squared_error') {
    super(name, errorFn('mse'));
  }
  override getConfig(): MetricConfig {
    return { className: 'MeanSquaredErrorMetric', name: this.name };
  }
}
export class MeanAbsoluteErrorMetric extends MeanMetricWrapper {
  constructor(name = 'mean_absolute_error') {
    super(name, errorFn('mae'));
  }
  override getConfig(): MetricConfig {
    return { className: 'MeanAbsoluteErrorMetric', name: this.name };
  }
}

export type AccuracyKind = 'categorical' | 'sparse' | 'binary';

/** Keras' 'accuracy': the variant is chosen from the loss hint or, on the first batch, from the shapes. */
export class Accuracy extends Metric {
  readonly name: string;
  private inner: MeanMetricWrapper | null = null;
  readonly threshold: number;
  /** The kind given to the constructor (null: chosen from the shapes of the first batch). */
  private readonly givenKind: AccuracyKind | null;
  constructor(options: { name?: string; kind?: AccuracyKind; threshold?: number } = {}) {
    super();
    this.name = options.name ?? 'accuracy';
    this.threshold = checkThreshold('Accuracy', options.threshold ?? 0.5);
    this.givenKind = options.kind || null;
    if (options.kind) this.inner = this.make(options.kind);
  }
  /** The constructor's options: `kind` is null when it is chosen from the shapes (the state is not saved). */
  override getConfig(): MetricConfig {
    return { className: 'Accuracy', kind: this.givenKind, threshold: this.threshold, name: this.name };
  }
  /** The variant in use (null until the first batch when it is chosen from the shapes). */
  get kind(): AccuracyKind | null {
    if (!this.inner) return null;
    return this.inner instanceof SparseCategoricalAccuracy ? 'sparse' : this.inner instanceof CategoricalAccuracy ? 'categorical' : 'binary';
  }
  private make(kind: AccuracyKind): MeanMetricWrapper {
    if (kind === 'sparse') return new SparseCategoricalAccuracy(this.name);
    if (kind === 'categorical') return new CategoricalAccuracy(this.name);
    if (kind === 'binary') return new BinaryAccuracy({ name: this.name, threshold: this.threshold });
    throw new ValueError(`Accuracy: option 'kind' must be 'categorical', 'sparse' or 'binary', got ${String(kind)}`);
  }
  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    if (!this.inner) this.inner = this.make(inferAccuracyKind(yTrue.shape, yPred.shape));
    this.inner.update(yTrue, yPred, sampleWeight);
  }
  result(): number {
    return this.inner ? this.inner.result() : 0;
  }
  reset(): void {
    this.inner?.reset();
  }
}

/** Keras 3's rule: last axis 1 -> binary; targets of lower rank, or a trailing 1 against C > 1 -> sparse; else categorical. */
export function inferAccuracyKind(yShape: readonly number[], pShape: readonly number[]): AccuracyKind {
  if (pShape.length <= 1 || lastDim(pShape) === 1) return 'binary';
  if (yShape.length < pShape.length || (lastDim(yShape) === 1 && lastDim(pShape) > 1)) return 'sparse';
  return 'categorical';
}

// --------------------------------------------------------------------------------------------------
// Precision, recall, F1 from per-class confusion counts

export type Average = 'macro' | 'micro' | 'weighted';

export interface ClassificationMetricOptions {
  /** Binary / multi-label decision threshold; multi-class predictions without one use the argmax. */
  threshold?: number;
  /** How per-class values combine for multi-class inputs (default 'macro'). */
  average?: Average;
  /** Report one class (multi-class inputs; for binary inputs the positive class is the only one). */
  classId?: number;
  name?: string;
}

type Mode = 'binary' | 'multilabel' | 'multiclass';

/** Per-class true positives, false positives and false negatives, accumulated over batches. */
abstract class ClassCounts extends Metric {
  protected tp = new Float64Array(0);
  protected fp = new Float64Array(0);
  protected fn = new Float64Array(0);
  private mode: Mode | null = null;
  protected readonly threshold: number | undefined;
  protected readonly average: Average;
  protected readonly classId: number | undefined;
  private readonly className: string;
  constructor(op: string, options: ClassificationMetricOptions) {
    super();
    this.className = op;
    checkOptionKeys(op, options, ['threshold', 'average', 'classId', 'name']);
    this.threshold = options.threshold === undefined ? undefined : checkThreshold(op, options.threshold);
    const avg = options.average ?? 'macro';
    if (avg !== 'macro' && avg !== 'micro' && avg !== 'weighted') throw new ValueError(`${op}: option 'average' must be 'macro', 'micro' or 'weighted', got ${String(avg)}`);
    this.average = avg;
    if (options.classId !== undefined && !(Number.isInteger(options.classId) && options.classId >= 0)) {
      throw new ValueError(`${op}: option 'classId' must be a non-negative integer, got ${String(options.classId)}`);
    }
    this.classId = options.classId;
  }

  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    const y = host(this.name, 'yTrue', yTrue);
    const p = host(this.name, 'yPred', yPred);
    const c = lastDim(p.shape);
    const binary = p.shape.length <= 1 || c === 1;
    const mode: Mode = binary ? 'binary' : this.threshold !== undefined ? 'multilabel' : 'multiclass';
    const classes = binary ? 1 : c;
    if (this.mode === null) {
      this.mode = mode;
      this.tp = new Float64Array(classes);
      this.fp = new Float64Array(classes);
      this.fn = new Float64Array(classes);
      if (this.classId !== undefined && this.classId >= classes) {
        throw new ValueError(`${this.name}: option 'classId' = ${this.classId} is out of range for ${classes} class(es) (predictions ${fmtShape(p.shape)})`);
      }
    } else if (this.mode !== mode || this.tp.length !== classes) {
      throw new ShapeError(`${this.name}: predictions ${fmtShape(p.shape)} do not match the earlier batches (${this.tp.length} class(es), ${this.mode}); reset() first`);
    }
    const n = p.shape.length === 0 ? 1 : p.shape[0];
    const w = weightsOf(this.name, sampleWeight, n);
    if (mode === 'multiclass') {
      const sparse = isSparseFor(y.shape, p.shape);
      if (!sparse && !shapesEqual(y.shape, p.shape)) {
        throw new ShapeError(`${this.name}: targets ${fmtShape(y.shape)} must be class indices ${fmtShape(p.shape.slice(0, -1))} or one-hot ${fmtShape(p.shape)} for predictions ${fmtShape(p.shape)}`);
      }
      const rows = p.data.length / c;
      const per = rows / n;
      for (let r = 0; r < rows; r++) {
        const t = sparse ? y.data[r] : argmaxRow(y.data, r * c, c);
        if (!(Number.isInteger(t) && t >= 0 && t < c)) {
          throw new ValueError(`${this.name}: label ${t} at index ${r} is out of range [0, ${c}) for predictions ${fmtShape(p.shape)}`);
        }
        const k = argmaxRow(p.data, r * c, c);
        const wi = w ? w[Math.floor(r / per)] : 1;
        if (k === t) this.tp[t] += wi;
        else {
          this.fp[k] += wi;
          this.fn[t] += wi;
        }
      }
      return;
    }
    if (!sameSqueezed(y.shape, p.shape)) throw new ShapeError(`${this.name}: targets ${fmtShape(y.shape)} must have the shape of the predictions ${fmtShape(p.shape)}`);
    const thr = this.threshold ?? 0.5;
    const per = p.data.length / n;
    for (let i = 0; i < p.data.length; i++) {
      const k = binary ? 0 : i % c;
      const pos = p.data[i] > thr;
      const truth = y.data[i] !== 0;
      const wi = w ? w[Math.floor(i / per)] : 1;
      if (pos && truth) this.tp[k] += wi;
      else if (pos) this.fp[k] += wi;
      else if (truth) this.fn[k] += wi;
    }
  }

  reset(): void {
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
  }

  override getConfig(): MetricConfig {
    return { className: this.className, threshold: this.threshold ?? null, average: this.average, classId: this.classId ?? null, name: this.name };
  }

  /** The value from counts of one class (or pooled counts). */
  protected abstract value(tp: number, fp: number, fn: number): number;

  /** Per-class values (one entry for binary inputs). */
  perClass(): number[] {
    return Array.from(this.tp, (_, k) => this.value(this.tp[k], this.fp[k], this.fn[k]));
  }

  result(): number {
    const k = this.tp.length;
    if (k === 0) return 0;
    if (this.classId !== undefined) return this.value(this.tp[this.classId], this.fp[this.classId], this.fn[this.classId]);
    if (k === 1) return this.value(this.tp[0], this.fp[0], this.fn[0]);
    if (this.average === 'micro') {
      let tp = 0, fp = 0, fn = 0;
      for (let i = 0; i < k; i++) { tp += this.tp[i]; fp += this.fp[i]; fn += this.fn[i]; }
      return this.value(tp, fp, fn);
    }
    const vals = this.perClass();
    if (this.average === 'macro') return vals.reduce((a, b) => a + b, 0) / k;
    let s = 0, total = 0;
    for (let i = 0; i < k; i++) {
      const support = this.tp[i] + this.fn[i];
      s += vals[i] * support;
      total += support;
    }
    return total === 0 ? 0 : s / total;
  }
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export class Precision extends ClassCounts {
  readonly name: string;
  constructor(options: ClassificationMetricOptions = {}) {
    super('Precision', options);
    this.name = options.name ?? 'precision';
  }
  protected value(tp: number, fp: number): number {
    return ratio(tp, tp + fp);
  }
}

export class Recall extends ClassCounts {
  readonly name: string;
  constructor(options: ClassificationMetricOptions = {}) {
    super('Recall', options);
    this.name = options.name ?? 'recall';
  }
  protected value(tp: number, _fp: number, fn: number): number {
    return ratio(tp, tp + fn);
  }
}

export class F1Score extends ClassCounts {
  readonly name: string;
  constructor(options: ClassificationMetricOptions = {}) {
    super('F1Score', options);
    this.name = options.name ?? 'f1_score';
  }
  /** 2 tp / (2 tp + fp + fn) = 2 P R / (P + R); 0 when both are 0. */
  protected value(tp: number, fp: number, fn: number): number {
    return ratio(2 * tp, 2 * tp + fp + fn);
  }
}

// --------------------------------------------------------------------------------------------------
// AUC

export interface AUCOptions {
  /** Thresholds of the approximation (default 200, Keras). */
  numThresholds?: number;
  /** Exact area from every score instead of the threshold approximation (default false). */
  exact?: boolean;
  /** Predictions are logits: a sigmoid is applied first. */
  fromLogits?: boolean;
  name?: string;
}

/** ROC AUC (see the file comment for the definition and Keras parity). */
export class AUC extends Metric {
  readonly name: string;
  readonly numThresholds: number;
  readonly exact: boolean;
  readonly fromLogits: boolean;
  /** Float32 thresholds, increasing. */
  private readonly thresholds: Float64Array;
  /** Counts of positives / negatives whose prediction exceeds exactly j thresholds (index j). */
  private posHist: Float64Array;
  private negHist: Float64Array;
  private scores: number[] = [];
  private labels: number[] = [];
  private weights: number[] = [];

  constructor(options: AUCOptions = {}) {
    super();
    checkOptionKeys('AUC', options, ['numThresholds', 'exact', 'fromLogits', 'name']);
    const n = options.numThresholds ?? 200;
    if (!(Number.isInteger(n) && n > 1)) throw new ValueError(`AUC: option 'numThresholds' must be an integer > 1, got ${String(n)}`);
    this.numThresholds = n;
    for (const k of ['exact', 'fromLogits'] as const) {
      if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new DTypeError(`AUC: option '${k}' must be a boolean, got ${describeValue(options[k])}`);
    }
    this.exact = options.exact ?? false;
    this.fromLogits = options.fromLogits ?? false;
    this.name = options.name ?? 'auc';
    const t = new Float64Array(n);
    t[0] = Math.fround(0 - 1e-7);
    for (let i = 1; i < n - 1; i++) t[i] = Math.fround(i / (n - 1));
    t[n - 1] = Math.fround(1 + 1e-7);
    this.thresholds = t;
    this.posHist = new Float64Array(n + 1);
    this.negHist = new Float64Array(n + 1);
  }

  override getConfig(): MetricConfig {
    return { className: 'AUC', numThresholds: this.numThresholds, exact: this.exact, fromLogits: this.fromLogits, name: this.name };
  }

  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    const y = host(this.name, 'yTrue', yTrue);
    const p = host(this.name, 'yPred', yPred);
    let labels: ArrayLike<number> = y.data;
    if (!sameSqueezed(y.shape, p.shape)) {
      if (p.shape.length >= 2 && lastDim(p.shape) > 1 && isSparseFor(y.shape, p.shape)) {
        const c = lastDim(p.shape);
        const oh = new Float64Array(p.data.length);
        for (let r = 0; r < y.data.length; r++) {
          const t = y.data[r];
          if (!(Number.isInteger(t) && t >= 0 && t < c)) throw new ValueError(`${this.name}: label ${t} at index ${r} is out of range [0, ${c})`);
          oh[r * c + t] = 1;
        }
        labels = oh;
      } else {
        throw new ShapeError(`${this.name}: targets ${fmtShape(y.shape)} must have the shape of the predictions ${fmtShape(p.shape)} (or be class indices)`);
      }
    }
    const n = p.shape.length === 0 ? 1 : p.shape[0];
    const w = weightsOf(this.name, sampleWeight, n);
    const per = p.data.length / n;
    for (let i = 0; i < p.data.length; i++) {
      let s = p.data[i];
      if (this.fromLogits) s = Math.fround(1 / (1 + Math.exp(-s)));
      else if (!(s >= 0 && s <= 1)) {
        throw new ValueError(`${this.name}: predictions must be probabilities in [0, 1], got ${s} at flat index ${i} (for logits pass { fromLogits: true })`);
      }
      const truth = labels[i] !== 0;
      const wi = w ? w[Math.floor(i / per)] : 1;
      if (this.exact) {
        this.scores.push(s);
        this.labels.push(truth ? 1 : 0);
        this.weights.push(wi);
        continue;
      }
      // j = number of thresholds strictly below s (prediction > threshold counts as positive).
      let lo = 0, hi = this.numThresholds;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.thresholds[mid] < s) lo = mid + 1;
        else hi = mid;
      }
      if (truth) this.posHist[lo] += wi;
      else this.negHist[lo] += wi;
    }
  }

  result(): number {
    return this.exact ? this.exactArea() : this.thresholdArea();
  }

  private thresholdArea(): number {
    const n = this.numThresholds;
    // tp[j] = positives above threshold j = those exceeding more than j thresholds.
    const tpr = new Float64Array(n);
    const fpr = new Float64Array(n);
    let pos = 0, neg = 0;
    for (let j = 0; j <= n; j++) { pos += this.posHist[j]; neg += this.negHist[j]; }
    let tp = pos, fp = neg;
    for (let j = 0; j < n; j++) {
      tp -= this.posHist[j];
      fp -= this.negHist[j];
      tpr[j] = ratio(tp, pos);
      fpr[j] = ratio(fp, neg);
    }
    let area = 0;
    for (let j = 0; j < n - 1; j++) area += (fpr[j] - fpr[j + 1]) * (tpr[j] + tpr[j + 1]) / 2;
    return area;
  }

  private exactArea(): number {
    const m = this.scores.length;
    const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => this.scores[b] - this.scores[a]);
    let pos = 0, neg = 0;
    for (let i = 0; i < m; i++) {
      if (this.labels[i]) pos += this.weights[i];
      else neg += this.weights[i];
    }
    if (pos === 0 || neg === 0) return NaN;
    // Sweep the scores from high to low; each group of tied scores is one step of the ROC curve (a trapezoid).
    let tp = 0, fp = 0, area = 0;
    for (let i = 0; i < m; ) {
      const s = this.scores[order[i]];
      let dtp = 0, dfp = 0;
      for (; i < m && this.scores[order[i]] === s; i++) {
        const k = order[i];
        if (this.labels[k]) dtp += this.weights[k];
        else dfp += this.weights[k];
      }
      area += (dfp / neg) * (tp + dtp / 2) / pos;
      tp += dtp;
      fp += dfp;
    }
    return area;
  }

  reset(): void {
    this.posHist.fill(0);
    this.negHist.fill(0);
    this.scores = [];
    this.labels = [];
    this.weights = [];
  }
}

// --------------------------------------------------------------------------------------------------
// Confusion matrix

export interface ConfusionMatrixOptions {
  /** Number of classes (default: the predictions' last axis, 2 for binary predictions; required for class-index predictions). */
  numClasses?: number;
  /** Binary predictions: positive when > threshold (default 0.5). */
  threshold?: number;
}

/** Accumulates a confusion matrix: rows are true classes, columns predicted classes. */
export class ConfusionMatrix {
  readonly name = 'confusion_matrix';
  private counts: Float64Array | null = null;
  private k: number;
  private readonly threshold: number;
  constructor(options: ConfusionMatrixOptions = {}) {
    checkOptionKeys('ConfusionMatrix', options, ['numClasses', 'threshold']);
    if (options.numClasses !== undefined && !(Number.isInteger(options.numClasses) && options.numClasses > 0)) {
      throw new ValueError(`ConfusionMatrix: option 'numClasses' must be a positive integer, got ${String(options.numClasses)}`);
    }
    this.k = options.numClasses ?? 0;
    this.threshold = checkThreshold('ConfusionMatrix', options.threshold ?? 0.5);
  }
  /**
   * yTrue: class indices, or one-hot [N, C]. yPred: scores [N, C] (argmax), binary scores [N] / [N, 1]
   * (threshold), or int32 class indices [N].
   */
  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    const op = 'confusionMatrix';
    const y = host(op, 'yTrue', yTrue);
    const p = host(op, 'yPred', yPred);
    let pred: ArrayLike<number>;
    let classes: number;
    if (p.data instanceof Int32Array) {
      if (this.k === 0) throw new ValueError(`${op}: option 'numClasses' is required when predictions are class indices (int32 ${fmtShape(p.shape)})`);
      pred = p.data;
      classes = this.k;
    } else if (p.shape.length <= 1 || lastDim(p.shape) === 1) {
      pred = Array.from(p.data, (v) => (v > this.threshold ? 1 : 0));
      classes = 2;
    } else {
      const c = lastDim(p.shape);
      const rows = p.data.length / c;
      const a = new Int32Array(rows);
      for (let r = 0; r < rows; r++) a[r] = argmaxRow(p.data, r * c, c);
      pred = a;
      classes = c;
    }
    let truth: ArrayLike<number> = y.data;
    if (y.data.length !== pred.length) {
      const c = lastDim(y.shape);
      if (y.shape.length >= 2 && c > 1 && y.data.length === pred.length * c) {
        const a = new Int32Array(pred.length);
        for (let r = 0; r < pred.length; r++) a[r] = argmaxRow(y.data, r * c, c);
        truth = a;
      } else {
        throw new ShapeError(`${op}: targets ${fmtShape(y.shape)} do not match predictions ${fmtShape(p.shape)} (one class index or one-hot row per prediction)`);
      }
    }
    const k = this.k || classes;
    if (this.k && classes !== this.k && !(p.data instanceof Int32Array)) {
      throw new ShapeError(`${op}: predictions ${fmtShape(p.shape)} have ${classes} classes but numClasses is ${this.k}`);
    }
    this.k = k;
    this.counts ??= new Float64Array(k * k);
    const w = weightsOf(op, sampleWeight, pred.length);
    for (let i = 0; i < pred.length; i++) {
      const t = truth[i];
      const q = pred[i];
      if (!(Number.isInteger(t) && t >= 0 && t < k)) throw new ValueError(`${op}: label ${t} at index ${i} is out of range [0, ${k})`);
      if (!(q >= 0 && q < k)) throw new ValueError(`${op}: predicted class ${q} at index ${i} is out of range [0, ${k})`);
      this.counts[t * k + q] += w ? w[i] : 1;
    }
  }
  /** The matrix: result()[trueClass][predictedClass]. */
  result(): number[][] {
    const k = this.k;
    const c = this.counts ?? new Float64Array(k * k);
    return Array.from({ length: k }, (_, i) => Array.from(c.subarray(i * k, (i + 1) * k)));
  }
  reset(): void {
    this.counts?.fill(0);
  }
}

// --------------------------------------------------------------------------------------------------
// Functions (one batch -> a number)

function once(m: Metric, yTrue: Tensor, yPred: Tensor): number {
  m.update(yTrue, yPred);
  return m.result();
}

/** Fraction of rows whose argmax matches the one-hot target's. */
export function categoricalAccuracy(yTrue: Tensor, yPred: Tensor): number {
  return once(new CategoricalAccuracy(), yTrue, yPred);
}
/** Fraction of rows whose argmax equals the class index. */
export function sparseCategoricalAccuracy(yTrue: Tensor, yPred: Tensor): number {
  return once(new SparseCategoricalAccuracy(), yTrue, yPred);
}
/** Fraction of entries where (prediction > threshold) equals the 0/1 target. */
export function binaryAccuracy(yTrue: Tensor, yPred: Tensor, threshold = 0.5): number {
  return once(new BinaryAccuracy({ threshold }), yTrue, yPred);
}
/** 'accuracy' with the variant chosen from the shapes. */
export function accuracy(yTrue: Tensor, yPred: Tensor): number {
  return once(new Accuracy(), yTrue, yPred);
}
export function topKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k = 5): number {
  return once(new TopKCategoricalAccuracy({ k }), yTrue, yPred);
}
export function sparseTopKCategoricalAccuracy(yTrue: Tensor, yPred: Tensor, k = 5): number {
  return once(new SparseTopKCategoricalAccuracy({ k }), yTrue, yPred);
}
export function precision(yTrue: Tensor, yPred: Tensor, options: ClassificationMetricOptions = {}): number {
  return once(new Precision(options), yTrue, yPred);
}
export function recall(yTrue: Tensor, yPred: Tensor, options: ClassificationMetricOptions = {}): number {
  return once(new Recall(options), yTrue, yPred);
}
export function f1Score(yTrue: Tensor, yPred: Tensor, options: ClassificationMetricOptions = {}): number {
  return once(new F1Score(options), yTrue, yPred);
}
export function auc(yTrue: Tensor, yPred: Tensor, options: AUCOptions = {}): number {
  return once(new AUC(options), yTrue, yPred);
}
/** matrix[trueClass][predictedClass] for one batch. */
export function confusionMatrix(yTrue: Tensor, yPred: Tensor, options: ConfusionMatrixOptions = {}): number[][] {
  const m = new ConfusionMatrix(options);
  m.update(yTrue, yPred);
  return m.result();
}

// --------------------------------------------------------------------------------------------------
// Resolution of compile's identifiers

/** A metric a user writes: per-batch value (number or scalar Tensor) or per-sample values ([N] Tensor). */
export type MetricFn = (yTrue: Tensor, yPred: Tensor) => number | Tensor;

/** Wraps a MetricFn: scalar results are averaged weighted by batch size, per-sample ones per sample. */
export class FunctionMetric extends Metric {
  private total = 0;
  private count = 0;
  constructor(readonly name: string, private readonly fn: MetricFn) {
    super();
  }
  update(yTrue: Tensor, yPred: Tensor): void {
    const v = this.fn(yTrue, yPred);
    const n = yPred.shape.length === 0 ? 1 : yPred.shape[0];
    if (typeof v === 'number') {
      this.total += v * n;
      this.count += n;
    } else if (v instanceof Tensor) {
      if (v.size === 1) {
        this.total += v.data[0] * n;
        this.count += n;
      } else {
        for (let i = 0; i < v.size; i++) this.total += v.data[i];
        this.count += v.size;
      }
    } else {
      throw new DTypeError(`metric '${this.name}': the function must return a number or a Tensor, got ${describeValue(v)}`);
    }
  }
  result(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }
  reset(): void {
    this.total = 0;
    this.count = 0;
  }
}

const METRICS: Record<string, (name: string) => Metric> = {
  categorical_accuracy: (n) => new CategoricalAccuracy(n),
  sparse_categorical_accuracy: (n) => new SparseCategoricalAccuracy(n),
  binary_accuracy: (n) => new BinaryAccuracy({ name: n }),
  top_k_categorical_accuracy: (n) => new TopKCategoricalAccuracy({ name: n }),
  sparse_top_k_categorical_accuracy: (n) => new SparseTopKCategoricalAccuracy({ name: n }),
  precision: (n) => new Precision({ name: n }),
  recall: (n) => new Recall({ name: n }),
  f1_score: (n) => new F1Score({ name: n }),
  f1: (n) => new F1Score({ name: n }),
  auc: (n) => new AUC({ name: n }),
  mean_squared_error: (n) => new MeanSquaredErrorMetric(n),
  mse: (n) => new MeanSquaredErrorMetric(n),
  mean_absolute_error: (n) => new MeanAbsoluteErrorMetric(n),
  mae: (n) => new MeanAbsoluteErrorMetric(n),
};

/**
 * The metric a compile identifier names. Strings are Keras names in camelCase or snake_case; the log key is
 * the snake_case string ('accuracy' / 'acc' choose their variant from `loss`). Metric objects pass through;
 * functions become FunctionMetric named after the function.
 */
export function getMetric(identifier: string | Metric | MetricFn, loss?: Loss): Metric {
  if (identifier instanceof Metric) return identifier;
  if (identifier instanceof ConfusionMatrix) {
    throw new ValueError('compile: ConfusionMatrix is not a compile metric (its result is a matrix): call confusionMatrix(y, await predict(x)) instead');
  }
  if (typeof identifier === 'function') return new FunctionMetric(identifier.name ? snakeCase(identifier.name) : 'metric', identifier);
  if (typeof identifier === 'string') {
    const key = snakeCase(identifier);
    if (key === 'accuracy' || key === 'acc') return new Accuracy({ name: key, ...accuracyHint(loss) });
    const make = METRICS[key];
    if (make) return make(key);
    throw new ValueError(
      `compile: unknown metric '${identifier}'; known: accuracy, ${Object.keys(METRICS).join(', ')}, or pass a Metric or a function (yTrue, yPred) => number`,
    );
  }
  throw new DTypeError(`compile: a metric must be a string, a Metric or a function, got ${describeValue(identifier)}`);
}

// --------------------------------------------------------------------------------------------------
// Serialization

type MetricMaker = (options: Record<string, unknown>) => Metric;

/** A maker for a class whose constructor takes the name alone. */
function named(className: string, make: (name: string | undefined) => Metric): MetricMaker {
  return (o) => {
    checkOptionKeys(className, o, ['name']);
    return make(checkName(className, o.name));
  };
}

/** A maker for a class whose constructor takes an options object, which it does not check itself. */
function withOptions<O extends { name?: string }>(className: string, keys: readonly string[], make: (o: O) => Metric): MetricMaker {
  return (o) => {
    checkOptionKeys(className, o, [...keys, 'name']);
    checkName(className, o.name);
    return make(o as O);
  };
}

/** Metric classes by className (exact spelling, as getConfig writes it). */
const metricClasses = new Map<string, MetricMaker>([
  ['Accuracy', withOptions('Accuracy', ['kind', 'threshold'], (o) => new Accuracy(o))],
  ['CategoricalAccuracy', named('CategoricalAccuracy', (n) => new CategoricalAccuracy(n))],
  ['SparseCategoricalAccuracy', named('SparseCategoricalAccuracy', (n) => new SparseCategoricalAccuracy(n))],
  ['BinaryAccuracy', withOptions('BinaryAccuracy', ['threshold'], (o) => new BinaryAccuracy(o))],
  ['TopKCategoricalAccuracy', withOptions('TopKCategoricalAccuracy', ['k'], (o) => new TopKCategoricalAccuracy(o))],
  ['SparseTopKCategoricalAccuracy', withOptions('SparseTopKCategoricalAccuracy', ['k'], (o) => new SparseTopKCategoricalAccuracy(o))],
  ['MeanSquaredErrorMetric', named('MeanSquaredErrorMetric', (n) => new MeanSquaredErrorMetric(n))],
  ['MeanAbsoluteErrorMetric', named('MeanAbsoluteErrorMetric', (n) => new MeanAbsoluteErrorMetric(n))],
  ['Precision', withOptions('Precision', ['threshold', 'average', 'classId'], (o) => new Precision(o))],
  ['Recall', withOptions('Recall', ['threshold', 'average', 'classId'], (o) => new Recall(o))],
  ['F1Score', withOptions('F1Score', ['threshold', 'average', 'classId'], (o) => new F1Score(o))],
  ['AUC', withOptions('AUC', ['numThresholds', 'exact', 'fromLogits'], (o) => new AUC(o))],
]);
const builtinMetricClasses = new Set(metricClasses.keys());

/**
 * Makes `metricFromConfig` (and so loadModel) rebuild a custom Metric class from its getConfig(): `make`
 * receives the config without className. The class's getConfig must return `{ className, ...options }` with this name.
 */
export function registerMetric(className: string, make: (options: Record<string, unknown>) => Metric): void {
  if (typeof className !== 'string' || className === '') throw new ValueError(`registerMetric: 'className' must be a non-empty string`);
  if (builtinMetricClasses.has(className)) throw new ValueError(`registerMetric: '${className}' is a built-in metric class and cannot be replaced`);
  if (typeof make !== 'function') throw new DTypeError(`registerMetric: 'make' must be a function (options) => Metric, got ${describeValue(make)}`);
  metricClasses.set(className, make);
}

/**
 * Rebuilds a metric (fresh state) from `getConfig()` output, `{ className, ...options }` (Keras' deserialize).
 * Unknown classes and options throw; a null option means its default (JSON has no undefined).
 */
export function metricFromConfig(config: MetricConfig): Metric {
  const op = 'metricFromConfig';
  if (typeof config !== 'object' || config === null || Array.isArray(config) || typeof config.className !== 'string') {
    let got: string;
    try {
      got = JSON.stringify(config) ?? describeValue(config);
    } catch {
      got = describeValue(config);
    }
    throw new ValueError(`${op}: expected an object with a string 'className', got ${got}`);
  }
  const make = metricClasses.get(config.className);
  if (!make) {
    throw new ValueError(`${op}: unknown metric class '${config.className}' (known: ${[...metricClasses.keys()].join(', ')}; register custom classes with registerMetric)`);
  }
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) if (k !== 'className' && v !== null) options[k] = v;
  const metric = make(options);
  if (!(metric instanceof Metric)) throw new DTypeError(`${op}: the maker registered for '${config.className}' returned ${describeValue(metric)}, not a Metric`);
  return metric;
}

/**
 * The metric's config when it can be saved and loaded back (Keras' serialize): getConfig() is JSON and
 * metricFromConfig rebuilds a metric of the same class with the same config. Null otherwise: a FunctionMetric,
 * a bare MeanMetricWrapper, a subclass without a registered config of its own.
 */
export function serializeMetric(metric: Metric): MetricConfig | null {
  if (!(metric instanceof Metric)) return null;
  const config = metric.getConfig();
  if (config === null) return null;
  let json: string;
  let back: Metric;
  try {
    json = JSON.stringify(config);
    back = metricFromConfig(JSON.parse(json) as MetricConfig);
  } catch {
    return null;
  }
  if (back.constructor !== metric.constructor || JSON.stringify(back.getConfig()) !== json) return null;
  return JSON.parse(json) as MetricConfig;
}

function checkName(op: string, name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '') throw new DTypeError(`${op}: option 'name' must be a non-empty string, got ${describeValue(name)}`);
  return name;
}

/** What the loss says about 'accuracy' (Keras picks from the loss first). */
function accuracyHint(loss?: Loss): { kind?: AccuracyKind; threshold?: number } {
  if (!loss) return {};
  if (loss.name === 'sparse_categorical_crossentropy') return { kind: 'sparse' };
  if (loss.name === 'binary_crossentropy') return { kind: 'binary', threshold: (loss as { fromLogits?: boolean }).fromLogits ? 0 : 0.5 };
  if (loss.name === 'categorical_crossentropy') return { kind: 'categorical' };
  return {};
}

function checkThreshold(op: string, t: unknown): number {
  if (typeof t !== 'number' || Number.isNaN(t)) throw new ValueError(`${op}: option 'threshold' must be a number, got ${String(t)}`);
  return t;
}

function checkK(op: string, k: unknown): number {
  const v = k ?? 5;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${op}: option 'k' must be a positive integer, got ${String(v)}`);
  return v;
}

function checkOptionKeys(op: string, options: object, keys: readonly string[]): void {
  if (typeof options !== 'object' || options === null) throw new DTypeError(`${op}: options must be an object, got ${describeValue(options)}`);
  for (const k of Object.keys(options)) if (!keys.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${keys.join(', ')})`);
}
