/**
 * The training loop: fit, evaluate and predict with Keras' options and semantics.
 *
 * One training step, inside `scope` (every tensor it creates goes back to the storage pool when it ends):
 * forward with `training: true`; each output's loss (times its weight) plus the model's regularizationLoss();
 * a check that the loss is finite; metric updates; backward; `optimizer.step(trainableVariables)`; gradients
 * cleared. A NaN or infinite loss stops training with a NonFiniteLossError naming the epoch and batch before
 * backward runs, so the weights are those after the last good step; a non-finite gradient under a finite loss
 * is refused by the optimizer before it writes anything, and reported with the epoch and batch too.
 *
 * On CUDA the step synchronises once, at its end: the metrics accumulate on the device, backward and the update
 * are enqueued with the update guarded by the loss (`optimizer.stepWithLoss`: nothing is written when the loss or
 * a gradient is not finite), and the loss comes back with the optimizer's finite check in one read-back, after
 * which a non-finite loss throws the same NonFiniteLossError, the weights, optimizer slots and iterations those
 * before the batch. (The device metrics have counted that batch by then; fit rejects, and every fit and evaluate
 * starts from reset metrics.) Batch logs are computed only when a callback reads them (callbacks.ts); an
 * evaluation step reads its losses back once too.
 *
 * The event loop stays free: fit, evaluate and predict are async and yield (setImmediate) after every batch,
 * so timers and requests run between steps. Kernels themselves run synchronously.
 *
 * Before the first step with tensor data, fit checks: the sample counts of x, y and sampleWeight; then runs
 * the model on one sample (inference mode, no gradient) to learn its outputs and checks every target tensor
 * against them (shapes, class indices in range for sparse losses, [0, 1] for binary cross-entropy) and each
 * metric's shapes, so bad labels fail before any weight changes.
 *
 * Shuffling draws a permutation per epoch from `seed` (a number or a Generator) or the library's default
 * generator: with `manualSeed(s)` before building and fitting, two runs give bit-identical weights.
 *
 * Errors: an error inside a step is rethrown with its class and "fit: epoch E/N, batch B/S: " in front; fit
 * then rejects without calling onTrainEnd (Keras), and a NonFiniteLossError carries the History so far.
 * Batches a DataSource yields belong to the source: after each batch's step fit hands it back through the
 * source's RELEASE_BATCH method when it has one (a Dataset then disposes the tensors it does not keep, so batch
 * storage is reused), and never disposes it otherwise; everything fit creates is disposed.
 */
import { NodegradError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, type TensorData as Storage } from '../tensor/tensor.js';
import { add, mul } from '../tensor/elementwise.js';
import { scope } from '../tensor/scope.js';
import { enableGrad, noGrad } from '../autograd/tape.js';
import { Generator, getDefaultGenerator, resolveGenerator } from '../tensor/random.js';
import type { TrainableModel } from './contract.js';
import type { Compiled, Head } from './compile.js';
import { Callback, CallbackList, History, lazyLogs, type Logs, type TrainingParams } from './callbacks.js';
import { ProgressLogger, formatLogs, formatPerStep, type ProgressStream } from './progress.js';
import {
  SourceReader, isDataSource, isTensorList, normalizeBatch, permutation, releaseBatch, rowsView, sourceSize, sampleCount, tensorBatch, toList,
  type Batch, type BatchLike, type DataSource, type Inputs,
} from './data.js';
import { describeValue } from './losses.js';
import { readScalars } from '../optim/device-values.js';

/** Validation data: [x, y], [x, y, sampleWeight], { x, y, sampleWeight }, or a DataSource. */
export type ValidationData =
  | readonly [Inputs, Inputs]
  | readonly [Inputs, Inputs, Tensor | null]
  | { x: Inputs; y: Inputs; sampleWeight?: Tensor | null }
  | DataSource;

/** Per-class loss weights: `{ 0: 1, 1: 5 }` or `[1, 5]`. */
export type ClassWeight = Readonly<Record<number, number>> | readonly number[];

export interface FitOptions {
  /** The epoch index to stop before (Keras: with initialEpoch, epochs - initialEpoch epochs run). Default 1. */
  epochs?: number;
  /** Samples per batch for tensor input (default 32). */
  batchSize?: number;
  /** 0 silent; 1 a progress bar on a TTY, one line per epoch otherwise; 2 one line per epoch. Default 1. */
  verbose?: 0 | 1 | 2;
  callbacks?: readonly Callback[];
  /** Fraction of the samples, the last ones before shuffling (Keras), held out for validation. */
  validationSplit?: number;
  validationData?: ValidationData;
  /** Batch size of the validation pass (default batchSize). */
  validationBatchSize?: number;
  /** Batches of a validation DataSource per evaluation (default: all). */
  validationSteps?: number;
  /** Validate after epochs whose 1-based number is a multiple of this (Keras' validation_freq; default 1). */
  validationFreq?: number;
  /** Shuffle tensor input before each epoch (default true; ignored for a DataSource, as Keras). */
  shuffle?: boolean;
  /** Weighs each sample's loss by its class (single-output models). */
  classWeight?: ClassWeight;
  /** Per-sample loss weights [N] for tensor input. */
  sampleWeight?: Tensor;
  /** Epoch to start at (resuming): epochs are numbered from it. Default 0. */
  initialEpoch?: number;
  /**
   * Batches per epoch for a DataSource: one iterator then serves the whole fit, stepsPerEpoch batches per
   * epoch (an infinite generator works); if it runs out, training stops with a warning, as Keras. Without it
   * each epoch iterates the source afresh to its end.
   */
  stepsPerEpoch?: number;
  /** The shuffling generator, or a seed for a fresh one (default: the library's default generator). */
  seed?: number | Generator;
  /** Where progress goes (default process.stdout). Not a Keras option. */
  progressStream?: ProgressStream;
}

export interface EvaluateOptions {
  /** Samples per batch for tensor input (default 32). */
  batchSize?: number;
  /** Batches of a DataSource to evaluate (default: all). */
  steps?: number;
  sampleWeight?: Tensor;
  /** 0 (default) silent; 1 or 2: one line with the batches, the time and the results when done. */
  verbose?: 0 | 1 | 2;
  /** Where that line goes (default process.stdout). */
  progressStream?: ProgressStream;
}

export interface PredictOptions {
  /** Samples per batch for tensor input (default 32). */
  batchSize?: number;
  /** Batches of a DataSource to predict (default: all). */
  steps?: number;
  /** 0 (default) silent; 1 or 2: one line with the batches and the time when done. */
  verbose?: 0 | 1 | 2;
  progressStream?: ProgressStream;
}

/** The one line evaluate / predict print with verbose > 0: "4/4 - 0s - 12ms/step - loss: 0.3012". */
function summaryLine(op: string, verbose: unknown, stream: ProgressStream | undefined, steps: number, start: number, logs: Logs): void {
  if (verbose !== 0 && verbose !== 1 && verbose !== 2 && verbose !== undefined) {
    throw new ValueError(`${op}: option 'verbose' must be 0, 1 or 2, got ${String(verbose)}`);
  }
  if (!verbose) return;
  const secs = (performance.now() - start) / 1000;
  (stream ?? process.stdout).write(`${steps}/${steps} - ${Math.floor(secs)}s - ${formatPerStep(steps ? secs / steps : 0)}${formatLogs(logs)}\n`);
}

/** The loss became NaN or infinite: training stopped before the update of that batch. */
export class NonFiniteLossError extends NodegradError {
  /** 0-based epoch and batch (as in callbacks); the message counts from 1. */
  readonly epoch: number;
  readonly batch: number;
  readonly value: number;
  /** The History of the epochs completed before the failure. */
  history: History | null = null;
  constructor(epoch: number, epochs: number, batch: number, steps: number | null, value: number) {
    super(
      `fit: the loss is ${value} at epoch ${epoch + 1}/${epochs}, batch ${batch + 1}${steps ? `/${steps}` : ''}; training stopped and ` +
        "the weights are those before this batch (lower the learning rate, check the data for NaN or extreme values, or set the optimizer's clipNorm)",
    );
    this.epoch = epoch;
    this.batch = batch;
    this.value = value;
  }
}

// --------------------------------------------------------------------------------------------------
// Prepared data

interface TensorData {
  kind: 'tensors';
  xs: Tensor[];
  ys: Tensor[] | null;
  sampleWeight: Tensor | null;
  n: number;
}
interface SourceData {
  kind: 'source';
  source: DataSource<unknown>;
}
type Data = TensorData | SourceData;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function checkInt(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ValueError(`${op}: option '${name}' must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function checkKeys(op: string, opts: object, keys: readonly string[]): void {
  if (typeof opts !== 'object' || opts === null) throw new ValueError(`${op}: options must be an object, got ${describeValue(opts)}`);
  for (const k of Object.keys(opts)) if (!keys.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${keys.join(', ')})`);
}

function prepare(op: string, x: unknown, y: unknown, sampleWeight: Tensor | undefined | null, needY: boolean): Data {
  if (isDataSource(x)) {
    if (y !== undefined && y !== null) throw new ValueError(`${op}: y must not be given with a DataSource (its batches carry the targets)`);
    if (sampleWeight) throw new ValueError(`${op}: sampleWeight must not be given with a DataSource (its batches carry them)`);
    return { kind: 'source', source: x };
  }
  const xs = toList(op, 'x', x);
  let ys: Tensor[] | null = null;
  if (y !== undefined && y !== null) ys = toList(op, 'y', y);
  else if (needY) throw new ValueError(`${op}: y is required with tensor x (or pass a DataSource of { x, y } batches)`);
  if (sampleWeight !== undefined && sampleWeight !== null && !(sampleWeight instanceof Tensor)) {
    throw new ValueError(`${op}: sampleWeight must be a Tensor, got ${describeValue(sampleWeight)}`);
  }
  const groups: Array<[string, Tensor[]]> = [['x', xs]];
  if (ys) groups.push(['y', ys]);
  if (sampleWeight) groups.push(['sampleWeight', [sampleWeight]]);
  const n = sampleCount(op, groups);
  if (n === 0) throw new ValueError(`${op}: x has no samples`);
  return { kind: 'tensors', xs, ys, sampleWeight: sampleWeight ?? null, n };
}

function sliceData(d: TensorData, start: number, end: number): TensorData {
  return {
    kind: 'tensors',
    xs: d.xs.map((t) => rowsView(t, start, end)),
    ys: d.ys ? d.ys.map((t) => rowsView(t, start, end)) : null,
    sampleWeight: d.sampleWeight ? rowsView(d.sampleWeight, start, end) : null,
    n: end - start,
  };
}

function validationDataOf(op: string, v: ValidationData): Data {
  const isInputs = (e: unknown) => e instanceof Tensor || isTensorList(e);
  if (Array.isArray(v) && (v.length === 2 || v.length === 3) && isInputs(v[0]) && isInputs(v[1])) {
    return prepare(`${op} (validationData)`, v[0], v[1], (v[2] as Tensor | null | undefined) ?? null, true);
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'x' in v) {
    const o = v as { x: Inputs; y: Inputs; sampleWeight?: Tensor | null };
    return prepare(`${op} (validationData)`, o.x, o.y, o.sampleWeight ?? null, true);
  }
  if (isDataSource(v)) return { kind: 'source', source: v };
  throw new ValueError(`${op}: validationData must be [x, y], [x, y, sampleWeight], { x, y } or a DataSource, got ${describeValue(v)}`);
}

function outputsOf(op: string, out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (isTensorList(out)) return out;
  throw new NodegradError(`${op}: model.apply must return a Tensor or an array of Tensors, got ${describeValue(out)}`);
}

/** The model's device ('cpu' for a TrainableModel without one). */
function deviceOf(model: TrainableModel): 'cpu' | 'cuda' {
  return model.device === 'cuda' ? 'cuda' : 'cpu';
}

/**
 * Batch tensors on the model's device: uploaded for a CUDA model (inside the step's scope, so freed after it). The
 * next batch is not uploaded ahead: an upload from pageable memory (cudaMemcpy) waits for the queued kernels, and
 * with the step's one read-back at its end there is no GPU work left for it to overlap.
 */
function onDevice(model: TrainableModel, ts: Tensor[]): Tensor[] {
  return deviceOf(model) === 'cpu' ? ts : ts.map((t) => t.to('cuda'));
}

function modelInput(xs: Tensor[], model?: TrainableModel): Tensor | Tensor[] {
  const d = model ? onDevice(model, xs) : xs;
  return d.length === 1 ? d[0] : d;
}

function checkTargetCount(op: string, ys: Tensor[], outs: Tensor[]): void {
  if (ys.length !== outs.length) {
    throw new ValueError(`${op}: the model has ${outs.length} output(s) (${outs.map((o) => fmtShape(o.shape)).join(', ')}) but ${ys.length} target tensor(s) were given`);
  }
}

// --------------------------------------------------------------------------------------------------
// Class weights

function classWeightTensor(op: string, cw: ClassWeight, y: Tensor): Tensor {
  const d = y.data;
  const n = y.rank === 0 ? 1 : y.shape[0];
  const c = y.rank >= 2 ? y.shape[y.rank - 1] : 1;
  if (y.rank > 2 || (y.rank === 2 && c > 1 && y.size !== n * c)) {
    throw new ShapeError(`${op}: classWeight needs targets of shape [N], [N, 1] or [N, C], got ${fmtShape(y.shape)}`);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let label: number;
    if (c > 1) {
      label = 0;
      for (let j = 1; j < c; j++) if (d[i * c + j] > d[i * c + label]) label = j;
    } else {
      label = Math.round(d[i]);
    }
    const w = (cw as Record<number, number>)[label];
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new ValueError(`${op}: classWeight has no finite weight for class ${label} (sample ${i}); give one for every class`);
    }
    out[i] = w;
  }
  return new Tensor(out, [n]);
}

function combinedWeights(op: string, batch: Batch, cw: ClassWeight | undefined): Tensor | null {
  if (!cw) return batch.sampleWeight;
  const w = classWeightTensor(op, cw, batch.ys![0]);
  return batch.sampleWeight ? mul(w, batch.sampleWeight.reshape([w.shape[0]])) : w;
}

// --------------------------------------------------------------------------------------------------
// Steps

interface StepPlace {
  epoch: number;
  epochs: number;
  batch: number;
  steps: number | null;
}

/**
 * Prefixes an error from a step with where it happened ("fit: epoch 2/10, batch 3/32: ..."), keeping its class;
 * an "op: " prefix the message already has is replaced.
 */
function located(err: unknown, where: string): unknown {
  if (err instanceof NonFiniteLossError || !(err instanceof Error)) return err;
  if (err.message.startsWith(where)) return err;
  const op = where.slice(0, where.indexOf(':') + 2);
  err.message = `${where}: ${err.message.startsWith(op) ? err.message.slice(op.length) : err.message}`;
  return err;
}

/** The losses of a batch: the total (the weighted sum of the heads' losses plus regularisation) and each head's. */
function batchLoss(model: TrainableModel, heads: readonly Head[], ys: Tensor[], outs: Tensor[], sw: Tensor | null): { total: Tensor; losses: Tensor[] } {
  let total: Tensor | null = null;
  const losses: Tensor[] = [];
  heads.forEach((h, i) => {
    const l = h.loss.call(ys[i], outs[i], sw);
    if (l.size !== 1) throw new ShapeError(`loss '${h.loss.name}' returned shape ${fmtShape(l.shape)}; a compiled loss must reduce to a scalar`);
    losses.push(l);
    const wl = h.weight === 1 ? l : mul(l, h.weight);
    total = total ? add(total, wl) : wl;
  });
  const reg = model.regularizationLoss();
  if (reg) total = add(total!, reg);
  return { total: total!, losses };
}

function trainStep(model: TrainableModel, compiled: Compiled, batch: Batch, cw: ClassWeight | undefined, place: StepPlace): void {
  const op = 'fit';
  const opt = compiled.optimizer;
  const vars = model.trainableVariables;
  const onCuda = deviceOf(model) === 'cuda';
  scope(() =>
    enableGrad(() => {
      // The whole batch goes up before any kernel is queued (an upload waits for the queued kernels).
      const xs = modelInput(batch.xs, model);
      const ys = onDevice(model, batch.ys!);
      const w = combinedWeights(op, batch, cw);
      const sw = w && onDevice(model, [w])[0];
      const outs = outputsOf(op, model.apply(xs, { training: true }));
      const heads = compiled.bind(model, outs.length);
      checkTargetCount(op, ys, outs);
      const { total, losses } = batchLoss(model, heads, ys, outs, sw);
      // [total, ...per head] as read back: checked, then tracked.
      const track = ([value, ...perHead]: number[]): void => {
        if (!Number.isFinite(value)) throw new NonFiniteLossError(place.epoch, place.epochs, place.batch, place.steps, value);
        compiled.lossTracker.update(value, batch.size);
        heads.forEach((h, i) => h.lossTracker.update(perHead[i], batch.size));
      };
      // On the CPU reading is free: a NaN stops the step here, before backward. On CUDA the values come back with the
      // optimizer's finite check, after the (guarded) update was enqueued.
      if (!onCuda) track(readScalars([total, ...losses]));
      heads.forEach((h, i) => {
        for (const m of h.metrics) m.update(ys[i], outs[i]);
      });
      if (!total.requiresGrad) {
        if (vars.some((v) => v.trainable)) {
          throw new NodegradError(`${op}: the loss does not depend on any trainable variable through recorded ops (did a layer compute under noGrad, or an op lack its gradient?)`);
        }
        if (onCuda) track(readScalars([total, ...losses]));
        return;
      }
      try {
        for (const v of vars) v.zeroGrad();
        total.backward();
        if (onCuda) track(opt.stepWithLoss(vars, total, losses));
        else opt.step(vars);
      } finally {
        opt.zeroGrad(vars);
      }
    }),
  );
}

/** An evaluation step: metrics (on the device for a CUDA model), then the losses, read back together. */
function testStep(model: TrainableModel, compiled: Compiled, batch: Batch): void {
  const op = 'evaluate';
  scope(() =>
    noGrad(() => {
      const xs = modelInput(batch.xs, model);
      const ys = onDevice(model, batch.ys!);
      const sw = batch.sampleWeight && onDevice(model, [batch.sampleWeight])[0];
      const outs = outputsOf(op, model.apply(xs, { training: false }));
      const heads = compiled.bind(model, outs.length);
      checkTargetCount(op, ys, outs);
      const { total, losses } = batchLoss(model, heads, ys, outs, sw);
      heads.forEach((h, i) => {
        for (const m of h.metrics) m.update(ys[i], outs[i]);
      });
      const [value, ...perHead] = readScalars([total, ...losses]);
      compiled.lossTracker.update(value, batch.size);
      heads.forEach((h, i) => h.lossTracker.update(perHead[i], batch.size));
    }),
  );
}

/**
 * Runs the model on one sample and checks every target against its outputs, metrics included, before any
 * training: wrong shapes and out-of-range labels fail here with the loss's message.
 */
function probe(op: string, model: TrainableModel, compiled: Compiled, d: TensorData, what: string): void {
  scope(() =>
    noGrad(() => {
      const outs = outputsOf(op, model.apply(modelInput(d.xs.map((t) => rowsView(t, 0, 1)), model), { training: false }));
      const heads = compiled.bind(model, outs.length);
      const ys = d.ys!;  // on the host: prepareTargets and the metrics check them in JS
      checkTargetCount(op, ys, outs);
      heads.forEach((h, i) => {
        const full = [d.n, ...outs[i].shape.slice(1)];
        try {
          h.loss.prepareTargets(ys[i], full);
          const y1 = rowsView(ys[i], 0, 1);
          for (const m of h.metrics) {
            m.update(y1, outs[i]);
            m.reset();
          }
        } catch (e) {
          throw located(e, `${op}: ${what}${heads.length > 1 ? ` for output '${h.output}'` : ''}`);
        }
      });
    }),
  );
}

// --------------------------------------------------------------------------------------------------
// Evaluation shared by fit (validation) and evaluate

async function runEvaluation(
  op: string, model: TrainableModel, compiled: Compiled, d: Data, batchSize: number, steps: number | undefined, counter?: { batches: number },
): Promise<Logs> {
  compiled.resetState();
  let seen = 0;
  if (d.kind === 'tensors') {
    if (!d.ys) throw new ValueError(`${op}: targets are required`);
    const nb = Math.ceil(d.n / batchSize);
    for (let b = 0; b < nb; b++) {
      const start = b * batchSize;
      const end = Math.min(d.n, start + batchSize);
      try {
        scope(() => testStep(model, compiled, {
          xs: tensorBatch(d.xs, start, end, null),
          ys: tensorBatch(d.ys!, start, end, null),
          sampleWeight: d.sampleWeight ? rowsView(d.sampleWeight, start, end) : null,
          size: end - start,
        }));
      } catch (e) {
        throw located(e, `${op}: batch ${b + 1}/${nb}`);
      }
      await yieldToEventLoop();
    }
    seen = nb;
  } else {
    const reader = new SourceReader(d.source);
    try {
      while (steps === undefined || seen < steps) {
        const r = await reader.next();
        if (r.done) break;
        try {
          testStep(model, compiled, normalizeBatch(op, r.value, true));
        } catch (e) {
          throw located(e, `${op}: batch ${seen + 1}`);
        } finally {
          releaseBatch(d.source, r.value);
        }
        seen++;
        await yieldToEventLoop();
      }
    } finally {
      if (steps !== undefined) await reader.close();
    }
    if (seen === 0) throw new ValueError(`${op}: the data source yielded no batches (a generator is exhausted after one pass: pass a re-iterable source such as an array or a Dataset)`);
  }
  if (counter) counter.batches = seen;
  return compiled.results();
}

/** Keras `model.evaluate`: the loss and metrics over the data, batched, in inference mode. */
/** `fit(dataset, { epochs })`: with a DataSource, a plain options object may stand where y would (Keras' form). */
function optionsInPlaceOfY(x: unknown, y: unknown): boolean {
  return isDataSource(x) && typeof y === 'object' && y !== null && !(y instanceof Tensor) && !Array.isArray(y) && Object.getPrototypeOf(y) === Object.prototype;
}

export async function evaluate(
  model: TrainableModel,
  compiled: Compiled,
  x: Inputs | DataSource,
  y?: Inputs | EvaluateOptions,
  options: EvaluateOptions = {},
): Promise<Record<string, number>> {
  const op = 'evaluate';
  if (optionsInPlaceOfY(x, y)) [y, options] = [undefined, y as EvaluateOptions];
  checkKeys(op, options, ['batchSize', 'steps', 'sampleWeight', 'verbose', 'progressStream']);
  const batchSize = checkInt(op, 'batchSize', options.batchSize ?? 32, 1);
  const steps = options.steps === undefined ? undefined : checkInt(op, 'steps', options.steps, 1);
  summaryLine(op, options.verbose, undefined, 0, 0, {}); // checks the option
  const start = performance.now();
  const d = prepare(op, x, y, options.sampleWeight, true);
  if (d.kind === 'tensors') probe(op, model, compiled, d, 'targets');
  const counter = { batches: 0 };
  const logs = await runEvaluation(op, model, compiled, d, batchSize, steps, counter);
  summaryLine(op, options.verbose, options.progressStream, counter.batches, start, logs);
  return logs;
}

// --------------------------------------------------------------------------------------------------
// fit

const FIT_KEYS = [
  'epochs', 'batchSize', 'verbose', 'callbacks', 'validationSplit', 'validationData', 'validationBatchSize', 'validationSteps',
  'validationFreq', 'shuffle', 'classWeight', 'sampleWeight', 'initialEpoch', 'stepsPerEpoch', 'seed', 'progressStream',
] as const;

/** Keras `model.fit`: trains for `epochs`, returns the History. */
export async function fit(
  model: TrainableModel,
  compiled: Compiled,
  x: Inputs | DataSource,
  y?: Inputs | FitOptions,
  options: FitOptions = {},
): Promise<History> {
  const op = 'fit';
  if (optionsInPlaceOfY(x, y)) [y, options] = [undefined, y as FitOptions];
  checkKeys(op, options, FIT_KEYS);
  const epochs = checkInt(op, 'epochs', options.epochs ?? 1, 0);
  const initialEpoch = checkInt(op, 'initialEpoch', options.initialEpoch ?? 0, 0);
  const batchSize = checkInt(op, 'batchSize', options.batchSize ?? 32, 1);
  const valBatchSize = checkInt(op, 'validationBatchSize', options.validationBatchSize ?? batchSize, 1);
  const valSteps = options.validationSteps === undefined ? undefined : checkInt(op, 'validationSteps', options.validationSteps, 1);
  const valFreq = checkInt(op, 'validationFreq', options.validationFreq ?? 1, 1);
  const verbose = options.verbose ?? 1;
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new ValueError(`${op}: option 'verbose' must be 0, 1 or 2, got ${String(verbose)}`);
  const shuffle = options.shuffle ?? true;
  const stepsPerEpoch = options.stepsPerEpoch === undefined ? undefined : checkInt(op, 'stepsPerEpoch', options.stepsPerEpoch, 1);
  const cw = options.classWeight;
  if (cw !== undefined && (typeof cw !== 'object' || cw === null)) throw new ValueError(`${op}: classWeight must be a record { class: weight } or an array, got ${describeValue(cw)}`);
  const gen = options.seed === undefined ? getDefaultGenerator() : resolveGenerator(op, options.seed);
  const userCallbacks = options.callbacks ?? [];
  if (!Array.isArray(userCallbacks) || userCallbacks.some((c) => !(c instanceof Callback))) {
    throw new ValueError(`${op}: callbacks must be an array of Callback objects (for functions, wrap them in a LambdaCallback)`);
  }

  // Data, validation split and checks, all before the first step.
  let train = prepare(op, x, y, options.sampleWeight, true);
  let val: Data | null = null;
  if (options.validationSplit !== undefined && options.validationSplit !== 0) {
    const s = options.validationSplit;
    if (typeof s !== 'number' || !(s > 0 && s < 1)) throw new ValueError(`${op}: validationSplit must be in (0, 1), got ${String(s)}`);
    if (options.validationData !== undefined) throw new ValueError(`${op}: give validationSplit or validationData, not both`);
    if (train.kind !== 'tensors') throw new ValueError(`${op}: validationSplit needs tensor x and y; with a DataSource pass validationData`);
    const splitAt = Math.floor(train.n * (1 - s));
    if (splitAt === 0 || splitAt === train.n) {
      throw new ValueError(`${op}: validationSplit ${s} of ${train.n} samples leaves ${splitAt === 0 ? 'no training' : 'no validation'} samples`);
    }
    val = sliceData(train, splitAt, train.n);
    train = sliceData(train, 0, splitAt);
  } else if (options.validationData !== undefined) {
    val = validationDataOf(op, options.validationData);
  }
  if (train.kind === 'tensors' && stepsPerEpoch !== undefined) throw new ValueError(`${op}: stepsPerEpoch applies to a DataSource; with tensors the epoch is ceil(samples / batchSize) batches`);
  if (cw && train.kind === 'tensors' && train.ys!.length !== 1) throw new ValueError(`${op}: classWeight needs a single-output model (got ${train.ys!.length} targets)`);
  if (train.kind === 'tensors') {
    probe(op, model, compiled, train, 'targets');
    if (cw) classWeightTensor(op, cw, train.ys![0]);
  }
  if (val?.kind === 'tensors') probe(op, model, compiled, val, 'validation targets');

  // Callbacks: the user's, then History, then progress.
  let history = userCallbacks.find((c): c is History => c instanceof History);
  const callbacks: Callback[] = [...userCallbacks];
  if (!history) callbacks.push((history = new History()));
  let progress: ProgressLogger | null = userCallbacks.find((c): c is ProgressLogger => c instanceof ProgressLogger) ?? null;
  if (verbose > 0 && !progress) callbacks.push((progress = new ProgressLogger({ verbose: verbose === 2 ? 2 : 1, stream: options.progressStream })));
  const list = new CallbackList(callbacks);

  const trainSteps = train.kind === 'tensors' ? Math.ceil(train.n / batchSize) : (stepsPerEpoch ?? sourceSize(train.source));
  const params: TrainingParams = {
    epochs,
    initialEpoch,
    steps: trainSteps,
    samples: train.kind === 'tensors' ? train.n : null,
    batchSize: train.kind === 'tensors' ? batchSize : null,
    verbose,
    metrics: [],
  };
  const metricKeys = () => {
    const keys = compiled.logKeys();
    return val ? [...keys, ...keys.map((k) => `val_${k}`)] : keys;
  };
  params.metrics = metricKeys();
  // The running values after a batch, computed only if a callback reads them (a read-back each on CUDA).
  const batchLogs = (): Logs => lazyLogs(compiled.logKeys(), () => compiled.results());
  list.setModel(model);
  list.setOptimizer(compiled.optimizer);
  list.setParams(params);
  model.stopTraining = false;

  // One iterator for the whole fit with stepsPerEpoch (Keras), else a fresh one per epoch.
  const persistent = train.kind === 'source' && stepsPerEpoch !== undefined ? new SourceReader(train.source) : null;
  let exhausted = false;
  let lastLogs: Logs = {};

  try {
    await list.trainBegin({});
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      compiled.resetState();
      await list.epochBegin(epoch, {});
      let seen = 0;
      const place = (b: number): StepPlace => ({ epoch, epochs, batch: b, steps: params.steps });
      const where = (b: number) => `${op}: epoch ${epoch + 1}/${epochs}, batch ${b + 1}${params.steps ? `/${params.steps}` : ''}`;

      if (train.kind === 'tensors') {
        const t = train;
        const order = shuffle ? permutation(t.n, gen) : null;
        for (let b = 0; b < trainSteps!; b++) {
          await list.batchBegin(b, {});
          const start = b * batchSize;
          const end = Math.min(t.n, start + batchSize);
          try {
            scope(() => trainStep(model, compiled, {
              xs: tensorBatch(t.xs, start, end, order),
              ys: tensorBatch(t.ys!, start, end, order),
              sampleWeight: t.sampleWeight ? tensorBatch([t.sampleWeight], start, end, order)[0] : null,
              size: end - start,
            }, cw, place(b)));
          } catch (e) {
            throw located(e, where(b));
          }
          seen++;
          await list.batchEnd(b, batchLogs());
          if (model.stopTraining) break;
          await yieldToEventLoop();
        }
      } else {
        const reader = persistent ?? new SourceReader(train.source);
        try {
          while (stepsPerEpoch === undefined || seen < stepsPerEpoch) {
            const r = await reader.next();
            if (r.done) {
              if (persistent) exhausted = true;
              break;
            }
            await list.batchBegin(seen, {});
            try {
              const batch = normalizeBatch(op, r.value, true);
              if (cw && batch.ys!.length !== 1) throw new ValueError(`classWeight needs a single-output model (got ${batch.ys!.length} targets)`);
              trainStep(model, compiled, batch, cw, place(seen));
            } catch (e) {
              throw located(e, where(seen));
            } finally {
              releaseBatch(train.source, r.value);
            }
            seen++;
            await list.batchEnd(seen - 1, batchLogs());
            if (model.stopTraining) break;
            await yieldToEventLoop();
          }
        } finally {
          if (!persistent) await reader.close();
        }
        if (seen === 0) {
          if (exhausted) {
            console.warn(`${op}: the data source ran out of batches at the start of epoch ${epoch + 1}; training stopped (it must yield stepsPerEpoch x epochs batches, or repeat)`);
            break;
          }
          throw new ValueError(
            `${op}: the data source yielded no batches in epoch ${epoch + 1}` +
              (epoch > initialEpoch ? ' (a one-shot iterator such as a generator is used up after one epoch: pass a re-iterable source such as an array or a Dataset, or set stepsPerEpoch)' : ''),
          );
        }
        if (params.steps === null) params.steps = seen;
        if (exhausted) console.warn(`${op}: the data source ran out after ${seen} batch(es) of epoch ${epoch + 1}; training stops after this epoch`);
      }

      const logs: Logs = compiled.results();
      if (val && (epoch + 1) % valFreq === 0 && !(model.stopTraining && seen === 0)) {
        const v = await runEvaluation(`${op} (validation)`, model, compiled, val, valBatchSize, valSteps);
        for (const [k, value] of Object.entries(v)) logs[`val_${k}`] = value;
      }
      params.metrics = metricKeys();
      await list.epochEnd(epoch, logs);
      lastLogs = logs;
      if (model.stopTraining || exhausted) break;
    }
    await list.trainEnd(lastLogs);
  } catch (e) {
    progress?.interrupt();
    if (e instanceof NonFiniteLossError) e.history = history;
    throw e;
  } finally {
    if (persistent) await persistent.close();
  }
  return history;
}

// --------------------------------------------------------------------------------------------------
// predict

/** Keras `model.predict` for a single-output model: batched, inference mode, no gradient. */
export async function predict(model: TrainableModel, x: Inputs | DataSource<BatchLike | Tensor>, options: PredictOptions = {}): Promise<Tensor> {
  const outs = await predictOutputs(model, x, options);
  if (outs.length !== 1) throw new ValueError(`predict: the model has ${outs.length} outputs; use predictOutputs to get them all`);
  return outs[0];
}

/** Every output of the model for x, batched, in inference mode, concatenated along the batch axis. */
export async function predictOutputs(model: TrainableModel, x: Inputs | DataSource<BatchLike | Tensor>, options: PredictOptions = {}): Promise<Tensor[]> {
  const op = 'predict';
  checkKeys(op, options, ['batchSize', 'steps', 'verbose', 'progressStream']);
  const batchSize = checkInt(op, 'batchSize', options.batchSize ?? 32, 1);
  const steps = options.steps === undefined ? undefined : checkInt(op, 'steps', options.steps, 1);
  summaryLine(op, options.verbose, undefined, 0, 0, {}); // checks the option
  const start = performance.now();
  let batches = 0;
  const d = prepare(op, x, undefined, undefined, false);
  const chunks: Storage[][] = [];
  let shapes: number[][] | null = null;
  let rows: number[] = [];
  const run = (xs: Tensor[]): void => {
    scope(() =>
      noGrad(() => {
        const outs = outputsOf(op, model.apply(modelInput(xs, model), { training: false }));
        batches++;
        if (!shapes) {
          shapes = outs.map((o) => [...o.shape]);
          rows = outs.map(() => 0);
          outs.forEach(() => chunks.push([]));
        } else if (outs.length !== shapes.length) {
          throw new NodegradError(`${op}: the model returned ${outs.length} outputs for this batch but ${shapes.length} before`);
        }
        outs.forEach((o, i) => {
          if (o.rank === 0) throw new ShapeError(`${op}: output ${i} is a scalar; outputs must have a batch axis`);
          chunks[i].push(o.data.slice());
          rows[i] += o.shape[0];
        });
      }),
    );
  };
  if (d.kind === 'tensors') {
    const nb = Math.ceil(d.n / batchSize);
    for (let b = 0; b < nb; b++) {
      const start = b * batchSize;
      const end = Math.min(d.n, start + batchSize);
      try {
        run(tensorBatch(d.xs, start, end, null));
      } catch (e) {
        throw located(e, `${op}: batch ${b + 1}/${nb}`);
      }
      await yieldToEventLoop();
    }
  } else {
    const reader = new SourceReader(d.source);
    let seen = 0;
    try {
      while (steps === undefined || seen < steps) {
        const r = await reader.next();
        if (r.done) break;
        try {
          run(normalizeBatch(op, r.value, false).xs);
        } catch (e) {
          throw located(e, `${op}: batch ${seen + 1}`);
        } finally {
          releaseBatch(d.source, r.value);
        }
        seen++;
        await yieldToEventLoop();
      }
    } finally {
      if (steps !== undefined) await reader.close();
    }
    if (seen === 0) throw new ValueError(`${op}: the data source yielded no batches`);
  }
  const finalShapes = shapes as number[][] | null;
  if (!finalShapes) throw new ValueError(`${op}: no batches`);
  summaryLine(op, options.verbose, options.progressStream, batches, start, {});
  return finalShapes.map((s, i) => {
    const parts = chunks[i];
    const total = parts.reduce((a, p) => a + p.length, 0);
    const out = parts[0] instanceof Int32Array ? new Int32Array(total) : parts[0] instanceof Float64Array ? new Float64Array(total) : new Float32Array(total);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return new Tensor(out, [rows[i], ...s.slice(1)]);
  });
}
