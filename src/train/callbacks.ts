/**
 * Callbacks (Keras): hooks `fit` calls at the start and end of training, of each epoch and of each batch.
 * Epochs and batches are 0-based in the hooks, as Keras (the progress output prints epoch + 1). Every hook may
 * return a Promise: fit awaits it before going on.
 *
 * Order: the user's callbacks in the given order, then History, then the progress logger, so that a value a
 * callback adds to the epoch logs (ReduceLROnPlateau's `learning_rate`) is recorded and printed.
 *
 * - EarlyStopping (Keras 3): after each epoch, an improvement is `current < best - minDelta` ('min') or
 *   `current > best + minDelta` ('max'; 'auto' is 'max' for accuracy/auc/precision/recall/f1 names, else
 *   'min'). An improvement resets the wait unless it misses `baseline`; otherwise, once `wait >= patience`
 *   (and after the first epoch), training stops after this epoch. With restoreBestWeights the variables of the
 *   best epoch (every model variable, batch-norm statistics included) are restored at the end of training,
 *   whether or not it stopped early.
 * - ModelCheckpoint: after each epoch (or only on an improvement of `monitor` with saveBestOnly), saves to
 *   `filepath` formatted with the epoch (1-based) and the logs, Python-style: "ckpt-{epoch:02d}-{val_loss:.2f}".
 *   It calls `model.save(path)` (or `model.saveWeights(path)` with saveWeightsOnly), or the `save` function
 *   given in its options.
 * - ReduceLROnPlateau (Keras): improvement is `current < best - minDelta`; after `patience` epochs without
 *   one (cooldown epochs excepted), `lr = max(lr * factor, minLr)`. Adds `learning_rate` to the epoch logs.
 * - CSVLogger: one row per epoch, `epoch` then the log keys sorted, as Keras.
 * - LambdaCallback: hooks given as functions.
 * - History: `history.history[key][i]` for every log key of epoch `history.epoch[i]`; fit returns it.
 *
 * Batch logs are computed when first read (`lazyLogs`): on CUDA the running metrics live on the device and a value
 * costs a read-back, so a fit whose callbacks do not look at batch logs reads nothing for them. A callback that
 * overrides onBatchEnd may keep its logs and read them later, so it gets them computed before its call (Keras
 * likewise converts batch logs only for the callbacks that implement batch hooks); one that reads them only while
 * its hook runs (the progress bar) overrides `keepsBatchLogs()` to return false.
 */
import { appendFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { ValueError } from '../errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { TrainableModel } from './contract.js';

/** Values a hook receives: losses and metrics by key ('loss', 'accuracy', 'val_loss', ...). */
export type Logs = Record<string, number>;

/** What fit tells its callbacks about the run (Keras' `params`). */
export interface TrainingParams {
  /** The epoch index training stops before (fit's `epochs`). */
  epochs: number;
  initialEpoch: number;
  /** Batches per epoch; null while unknown (an iterable without stepsPerEpoch, before its first epoch ends). */
  steps: number | null;
  /** Training samples (tensor input), or null. */
  samples: number | null;
  batchSize: number | null;
  verbose: 0 | 1 | 2;
  /** The keys of the epoch logs, validation ones included when there is validation data. */
  metrics: string[];
}

type Hook<A extends unknown[]> = (...args: A) => void | Promise<void>;

export class Callback {
  /** The model being trained (set by fit before onTrainBegin). */
  model: TrainableModel | null = null;
  /** The compiled optimizer (set by fit), for callbacks that change the learning rate. */
  optimizer: Optimizer | null = null;
  params: TrainingParams | null = null;

  setModel(model: TrainableModel): void {
    this.model = model;
  }
  setOptimizer(optimizer: Optimizer): void {
    this.optimizer = optimizer;
  }
  setParams(params: TrainingParams): void {
    this.params = params;
  }

  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs?: Logs): void | Promise<void> {}
  /** Before training batch `batch` (0-based within the epoch). */
  onBatchBegin(_batch: number, _logs?: Logs): void | Promise<void> {}
  /** After training batch `batch`: logs hold the epoch's running loss and metrics so far. */
  onBatchEnd(_batch: number, _logs?: Logs): void | Promise<void> {}
  /**
   * Whether onBatchEnd may read its logs after it returns: then they are computed before the call (a read-back per
   * batch on CUDA). True when onBatchEnd is overridden; a callback that only reads them during the call may return
   * false.
   */
  keepsBatchLogs(): boolean {
    return this.onBatchEnd !== Callback.prototype.onBatchEnd;
  }

  /** The model, or a clear error for a callback used outside fit. */
  protected requireModel(): TrainableModel {
    if (!this.model) throw new ValueError(`${this.constructor.name}: no model set (callbacks are used through fit, which sets it)`);
    return this.model;
  }
}

/** Runs a list of callbacks hook by hook, awaiting each. */
export class CallbackList {
  constructor(readonly callbacks: readonly Callback[]) {}
  setModel(model: TrainableModel): void {
    for (const c of this.callbacks) c.setModel(model);
  }
  setOptimizer(o: Optimizer): void {
    for (const c of this.callbacks) c.setOptimizer(o);
  }
  setParams(p: TrainingParams): void {
    for (const c of this.callbacks) c.setParams(p);
  }
  async trainBegin(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainBegin(logs);
  }
  async trainEnd(logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onTrainEnd(logs);
  }
  async epochBegin(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochBegin(epoch, logs);
  }
  async epochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochEnd(epoch, logs);
  }
  async batchBegin(batch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onBatchBegin(batch, logs);
  }
  async batchEnd(batch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) {
      if (c.keepsBatchLogs()) settleLogs(logs);
      await c.onBatchEnd(batch, logs);
    }
  }
}

/**
 * Logs with these keys whose values `compute()` gives when one is first read (or written): then every key becomes
 * a plain property holding its value. fit's batch logs, so that values nobody reads cost nothing.
 */
export function lazyLogs(keys: readonly string[], compute: () => Logs): Logs {
  const logs: Logs = {};
  let settled = false;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    const values = compute();
    for (const k of keys) Object.defineProperty(logs, k, { value: values[k], writable: true, enumerable: true, configurable: true });
  };
  for (const k of keys) {
    Object.defineProperty(logs, k, {
      get: () => {
        settle();
        return logs[k];
      },
      set: (v: number) => {
        settle();
        logs[k] = v;
      },
      enumerable: true,
      configurable: true,
    });
  }
  return logs;
}

/** Computes lazy logs now (a no-op on plain ones). */
function settleLogs(logs: Logs): void {
  for (const k in logs) {
    void logs[k];
    return;
  }
}

/** Records the epoch logs; fit returns it. */
export class History extends Callback {
  /** The epoch indices recorded (0-based, initialEpoch first). */
  epoch: number[] = [];
  /** `history.loss[i]`, `history.val_accuracy[i]`, ... for epoch `epoch[i]`. */
  history: Record<string, number[]> = {};

  override onTrainBegin(): void {
    this.epoch = [];
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}

// --------------------------------------------------------------------------------------------------
// Monitoring helpers

export type MonitorMode = 'auto' | 'min' | 'max';

/** 'max' for names of metrics that grow with quality, 'min' otherwise (Keras' 'auto'). */
export function resolveMode(op: string, mode: MonitorMode | undefined, monitor: string): 'min' | 'max' {
  const m = mode ?? 'auto';
  if (m === 'min' || m === 'max') return m;
  if (m !== 'auto') throw new ValueError(`${op}: option 'mode' must be 'auto', 'min' or 'max', got ${JSON.stringify(m)}`);
  const base = monitor.replace(/^val_/, '');
  return /acc|auc|precision|recall|f1/.test(base) ? 'max' : 'min';
}

function checkNum(op: string, name: string, v: unknown, ok: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !ok(v)) throw new ValueError(`${op}: option '${name}' must be ${what}, got ${String(v)}`);
  return v;
}

function checkOptionKeys(op: string, options: object, keys: readonly string[]): void {
  for (const k of Object.keys(options)) if (!keys.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${keys.join(', ')})`);
}

/** Warns once per callback and key that the monitored value is missing from the logs. */
function warnMissing(op: string, monitor: string, logs: Logs, warned: Set<string>): void {
  if (warned.has(monitor)) return;
  warned.add(monitor);
  console.warn(`${op}: the monitored value '${monitor}' is not in the logs (available: ${Object.keys(logs).join(', ') || 'none'}); skipping`);
}

/** Copies of every model variable (batch-norm statistics included). */
export function getWeights(model: TrainableModel): Float32Array[] {
  return model.variables.map((v) => Float32Array.from(v.value.data as Float32Array));
}

/** Writes copies from getWeights back, in order. */
export function setWeights(model: TrainableModel, weights: readonly Float32Array[]): void {
  const vars = model.variables;
  if (vars.length !== weights.length) throw new ValueError(`setWeights: the model has ${vars.length} variables but ${weights.length} arrays were given`);
  vars.forEach((v, i) => v.assign(weights[i]));
}

// --------------------------------------------------------------------------------------------------
// EarlyStopping

export interface EarlyStoppingOptions {
  /** Default 'val_loss'. */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  verbose?: 0 | 1;
  mode?: MonitorMode;
  /** A value the monitored quantity must beat for the wait to reset. */
  baseline?: number | null;
  /** Restore the variables of the best epoch when training ends (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before monitoring (default 0). */
  startFromEpoch?: number;
}

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly verbose: 0 | 1;
  readonly mode: 'min' | 'max';
  readonly baseline: number | null;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  wait = 0;
  /** The epoch training was stopped at (0 when it was not). */
  stoppedEpoch = 0;
  best: number | null = null;
  bestEpoch = 0;
  bestWeights: Float32Array[] | null = null;
  private readonly warned = new Set<string>();

  constructor(options: EarlyStoppingOptions = {}) {
    super();
    const op = 'EarlyStopping';
    checkOptionKeys(op, options, ['monitor', 'minDelta', 'patience', 'verbose', 'mode', 'baseline', 'restoreBestWeights', 'startFromEpoch']);
    this.monitor = options.monitor ?? 'val_loss';
    this.minDelta = Math.abs(checkNum(op, 'minDelta', options.minDelta ?? 0, Number.isFinite, 'a finite number'));
    this.patience = checkNum(op, 'patience', options.patience ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.verbose = options.verbose ?? 0;
    this.mode = resolveMode(op, options.mode, this.monitor);
    this.baseline = options.baseline ?? null;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    this.startFromEpoch = checkNum(op, 'startFromEpoch', options.startFromEpoch ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  }

  private improves(current: number, reference: number | null): boolean {
    if (reference === null) return true;
    return this.mode === 'min' ? current + this.minDelta < reference : current - this.minDelta > reference;
  }

  override onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = null;
    this.bestEpoch = 0;
    this.bestWeights = null;
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const current = logs[this.monitor];
    if (current === undefined) {
      warnMissing('EarlyStopping', this.monitor, logs, this.warned);
      return;
    }
    if (epoch < this.startFromEpoch) return;
    const model = this.requireModel();
    if (this.restoreBestWeights && this.bestWeights === null) {
      this.bestWeights = getWeights(model);
      this.bestEpoch = epoch;
    }
    this.wait++;
    if (this.improves(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = getWeights(model);
      if (this.baseline === null || this.improves(current, this.baseline)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      model.stopTraining = true;
    }
  }

  override onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== null) {
      if (this.verbose > 0) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      setWeights(this.requireModel(), this.bestWeights);
    }
  }
}

// --------------------------------------------------------------------------------------------------
// ModelCheckpoint

export interface ModelCheckpointOptions {
  /** Default 'val_loss'. */
  monitor?: string;
  verbose?: 0 | 1;
  /** Save only when `monitor` improves on the best value so far (default false). */
  saveBestOnly?: boolean;
  /** Call model.saveWeights(path) instead of model.save(path) (default false). */
  saveWeightsOnly?: boolean;
  mode?: MonitorMode;
  /** Saves without a model method: called with the formatted path and the model. */
  save?: (path: string, model: TrainableModel) => void | Promise<void>;
}

type Saver = (path: string) => unknown;

export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly verbose: 0 | 1;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly mode: 'min' | 'max';
  best: number | null = null;
  /** Paths written, in order. */
  readonly saved: string[] = [];
  private readonly saveFn: ModelCheckpointOptions['save'];
  private readonly warned = new Set<string>();

  constructor(filepath: string, options: ModelCheckpointOptions = {}) {
    super();
    const op = 'ModelCheckpoint';
    if (typeof filepath !== 'string' || filepath === '') throw new ValueError(`${op}: 'filepath' must be a non-empty string, got ${String(filepath)}`);
    checkOptionKeys(op, options, ['monitor', 'verbose', 'saveBestOnly', 'saveWeightsOnly', 'mode', 'save']);
    this.filepath = filepath;
    this.monitor = options.monitor ?? 'val_loss';
    this.verbose = options.verbose ?? 0;
    this.saveBestOnly = options.saveBestOnly ?? false;
    this.saveWeightsOnly = options.saveWeightsOnly ?? false;
    this.mode = resolveMode(op, options.mode, this.monitor);
    this.saveFn = options.save;
    if (this.saveFn !== undefined && typeof this.saveFn !== 'function') throw new ValueError(`${op}: option 'save' must be a function (path, model) => void`);
  }

  private saver(): Saver {
    const model = this.requireModel() as TrainableModel & { save?: Saver; saveWeights?: Saver };
    if (this.saveFn) return (p) => this.saveFn!(p, model);
    const method = this.saveWeightsOnly ? 'saveWeights' : 'save';
    const f = model[method];
    if (typeof f !== 'function') {
      throw new ValueError(`ModelCheckpoint: the model has no ${method}(path) method; pass { save: (path, model) => ... } to save it yourself`);
    }
    return (p) => f.call(model, p);
  }

  override onTrainBegin(): void {
    this.saver(); // fail before the first epoch, not after it
  }

  override async onEpochEnd(epoch: number, logs: Logs = {}): Promise<void> {
    if (this.saveBestOnly) {
      const current = logs[this.monitor];
      if (current === undefined) {
        warnMissing('ModelCheckpoint', this.monitor, logs, this.warned);
        return;
      }
      const better = this.best === null || (this.mode === 'min' ? current < this.best : current > this.best);
      if (!better) {
        if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: ${this.monitor} did not improve from ${fmtNum(this.best!)}`);
        return;
      }
      if (this.verbose > 0) {
        console.log(`Epoch ${epoch + 1}: ${this.monitor} improved from ${this.best === null ? (this.mode === 'min' ? 'inf' : '-inf') : fmtNum(this.best)} to ${fmtNum(current)}`);
      }
      this.best = current;
    }
    const path = formatFilepath(this.filepath, epoch, logs);
    if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: saving model to ${path}`);
    await this.saver()(path);
    this.saved.push(path);
  }
}

function fmtNum(v: number): string {
  return v.toFixed(5);
}

/**
 * Python str.format for checkpoint names: `{epoch}` is epoch + 1, other fields are log keys; a spec
 * `[0][width][.precision][d|f|e|g]` formats as Python does ("{epoch:03d}", "{val_loss:.4f}").
 */
export function formatFilepath(template: string, epoch: number, logs: Logs): string {
  const values: Record<string, number> = { ...logs, epoch: epoch + 1 };
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, key: string, spec: string | undefined) => {
    const v = values[key];
    if (v === undefined) {
      throw new ValueError(`ModelCheckpoint: filepath '${template}' refers to '{${key}}' which is not in the logs (available: ${Object.keys(values).join(', ')})`);
    }
    return formatSpec(v, spec ?? '', key);
  });
}

function formatSpec(v: number, spec: string, key: string): string {
  if (spec === '') return String(v);
  const m = /^(0)?(\d+)?(?:\.(\d+))?([dfeg])?$/.exec(spec);
  if (!m) throw new ValueError(`ModelCheckpoint: unsupported format spec '${spec}' for '{${key}}' (use e.g. 02d, .4f, .2e)`);
  const [, zero, width, prec, type] = m;
  let s: string;
  const p = prec === undefined ? 6 : Number(prec);
  switch (type) {
    case 'd':
      s = String(Math.trunc(v));
      break;
    case 'e':
      s = v.toExponential(p).replace(/e([+-])(\d)$/, 'e$10$2');
      break;
    case 'g':
      s = String(Number(v.toPrecision(Math.max(p, 1))));
      break;
    case 'f':
      s = v.toFixed(p);
      break;
    default:
      s = prec === undefined ? String(v) : v.toFixed(p);
  }
  const w = width === undefined ? 0 : Number(width);
  if (s.length < w) {
    if (zero) {
      const neg = s.startsWith('-');
      s = (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(w - (neg ? 1 : 0), '0');
    } else {
      s = s.padStart(w, ' ');
    }
  }
  return s;
}

// --------------------------------------------------------------------------------------------------
// ReduceLROnPlateau

export interface ReduceLROnPlateauOptions {
  /** Default 'val_loss'. */
  monitor?: string;
  /** New rate = rate * factor, in (0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  verbose?: 0 | 1;
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement (default 1e-4). */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lower bound on the rate (default 0). */
  minLr?: number;
}

export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly verbose: 0 | 1;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  wait = 0;
  cooldownCounter = 0;
  best = Infinity;
  private readonly warned = new Set<string>();

  constructor(options: ReduceLROnPlateauOptions = {}) {
    super();
    const op = 'ReduceLROnPlateau';
    checkOptionKeys(op, options, ['monitor', 'factor', 'patience', 'verbose', 'mode', 'minDelta', 'cooldown', 'minLr']);
    this.monitor = options.monitor ?? 'val_loss';
    this.factor = checkNum(op, 'factor', options.factor ?? 0.1, (x) => x > 0 && x < 1, 'in (0, 1) (the rate is multiplied by it)');
    this.patience = checkNum(op, 'patience', options.patience ?? 10, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.verbose = options.verbose ?? 0;
    this.mode = resolveMode(op, options.mode, this.monitor);
    this.minDelta = checkNum(op, 'minDelta', options.minDelta ?? 1e-4, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
    this.cooldown = checkNum(op, 'cooldown', options.cooldown ?? 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.minLr = checkNum(op, 'minLr', options.minLr ?? 0, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
    this.reset();
  }

  private reset(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.cooldownCounter = 0;
  }

  private improves(current: number): boolean {
    return this.mode === 'min' ? current < this.best - this.minDelta : current > this.best + this.minDelta;
  }

  override onTrainBegin(): void {
    if (!this.optimizer) throw new ValueError('ReduceLROnPlateau: no optimizer set (use it through fit on a compiled model)');
    this.reset();
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const opt = this.optimizer!;
    logs.learning_rate = opt.learningRate;
    const current = logs[this.monitor];
    if (current === undefined) {
      warnMissing('ReduceLROnPlateau', this.monitor, logs, this.warned);
      return;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    if (this.improves(current)) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter === 0) {
      this.wait++;
      if (this.wait >= this.patience) {
        const old = opt.learningRate;
        if (old > Math.fround(this.minLr)) {
          const lr = Math.max(old * this.factor, this.minLr);
          opt.learningRate = lr;
          if (this.verbose > 0) console.log(`Epoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${lr}.`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }
}

// --------------------------------------------------------------------------------------------------
// CSVLogger

export interface CSVLoggerOptions {
  /** Default ','. */
  separator?: string;
  /** Append to an existing file instead of overwriting it (default false). */
  append?: boolean;
}

export class CSVLogger extends Callback {
  readonly filename: string;
  readonly separator: string;
  readonly append: boolean;
  private keys: string[] | null = null;

  constructor(filename: string, options: CSVLoggerOptions = {}) {
    super();
    if (typeof filename !== 'string' || filename === '') throw new ValueError(`CSVLogger: 'filename' must be a non-empty string, got ${String(filename)}`);
    checkOptionKeys('CSVLogger', options, ['separator', 'append']);
    this.filename = filename;
    this.separator = options.separator ?? ',';
    this.append = options.append ?? false;
  }

  override onTrainBegin(): void {
    this.keys = null;
    if (!this.append) writeFileSync(this.filename, '');
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const sep = this.separator;
    if (this.keys === null) {
      this.keys = Object.keys(logs).sort();
      const fresh = !this.append || !existsSync(this.filename) || statSync(this.filename).size === 0;
      if (fresh) appendFileSync(this.filename, ['epoch', ...this.keys].join(sep) + '\n');
    }
    const row = [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? '' : String(logs[k])))];
    appendFileSync(this.filename, row.join(sep) + '\n');
  }
}

// --------------------------------------------------------------------------------------------------
// LambdaCallback

export interface LambdaCallbackHooks {
  onTrainBegin?: Hook<[Logs]>;
  onTrainEnd?: Hook<[Logs]>;
  onEpochBegin?: Hook<[number, Logs]>;
  onEpochEnd?: Hook<[number, Logs]>;
  onBatchBegin?: Hook<[number, Logs]>;
  onBatchEnd?: Hook<[number, Logs]>;
}

/** A callback from functions: `new LambdaCallback({ onEpochEnd: (epoch, logs) => ... })`. */
export class LambdaCallback extends Callback {
  private readonly hooks: LambdaCallbackHooks;
  constructor(hooks: LambdaCallbackHooks) {
    super();
    checkOptionKeys('LambdaCallback', hooks, ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd']);
    for (const [k, f] of Object.entries(hooks)) if (typeof f !== 'function') throw new ValueError(`LambdaCallback: '${k}' must be a function`);
    this.hooks = hooks;
  }
  override onTrainBegin(logs: Logs = {}): void | Promise<void> {
    return this.hooks.onTrainBegin?.(logs);
  }
  override onTrainEnd(logs: Logs = {}): void | Promise<void> {
    return this.hooks.onTrainEnd?.(logs);
  }
  override onEpochBegin(epoch: number, logs: Logs = {}): void | Promise<void> {
    return this.hooks.onEpochBegin?.(epoch, logs);
  }
  override onEpochEnd(epoch: number, logs: Logs = {}): void | Promise<void> {
    return this.hooks.onEpochEnd?.(epoch, logs);
  }
  override onBatchBegin(batch: number, logs: Logs = {}): void | Promise<void> {
    return this.hooks.onBatchBegin?.(batch, logs);
  }
  override onBatchEnd(batch: number, logs: Logs = {}): void | Promise<void> {
    return this.hooks.onBatchEnd?.(batch, logs);
  }
  override keepsBatchLogs(): boolean {
    return this.hooks.onBatchEnd !== undefined;
  }
}
