/**
 * compile: resolves the optimizer, the loss(es) and the metrics a model trains with (Keras `model.compile`).
 *
 * - optimizer: a name ('adam', 'sgd', ...), a config `{ className, ...options }` or an Optimizer.
 * - loss: a name, a Loss or a function (yTrue, yPred) => Tensor; for a multi-output model one per output (an
 *   array, or a record keyed by output name), or a single one applied to every output (Keras).
 * - metrics: a list applied to every output (strings make a fresh metric per output; a Metric object can only
 *   serve one output), or per output (an array of lists, or a record keyed by output name).
 * - lossWeights: per output (array or record); the training objective is sum(w_i * loss_i) plus the model's
 *   regularizationLoss().
 *
 * Log keys: 'loss' (the total, regularisation included, as Keras) and the metric names for a single-output
 * model; with several outputs also '<output>_loss' and '<output>_<metric>'. Output names are the model's
 * `outputNames` when it has them, else 'output_0', 'output_1', ...
 *
 * Heads (loss, weight, metrics per output) are bound the first time fit / evaluate sees the model's outputs,
 * since only then is their number known.
 */
import { DTypeError, ValueError } from '../errors.js';
import { getOptimizer } from '../optim/registry.js';
import type { Optimizer, OptimizerConfig } from '../optim/optimizer.js';
import type { TrainableModel } from './contract.js';
import { Loss, describeValue, getLoss, type LossFn } from './losses.js';
import { Mean, Metric, getMetric, type MetricFn } from './metrics.js';

export type LossIdentifier = string | Loss | LossFn;
export type MetricIdentifier = string | Metric | MetricFn;

export interface CompileConfig {
  optimizer: string | Optimizer | OptimizerConfig;
  loss: LossIdentifier | readonly LossIdentifier[] | Readonly<Record<string, LossIdentifier>>;
  metrics?: readonly MetricIdentifier[] | readonly (readonly MetricIdentifier[])[] | Readonly<Record<string, readonly MetricIdentifier[]>>;
  lossWeights?: readonly number[] | Readonly<Record<string, number>>;
}

/** One output's loss, weight and metrics. */
export interface Head {
  /** The output's name ('output_0' when the model gives none). */
  readonly output: string;
  /** Prefix of this output's log keys: '' for a single output, '<output>_' otherwise. */
  readonly prefix: string;
  readonly loss: Loss;
  readonly weight: number;
  readonly metrics: readonly Metric[];
  /** The running mean of this output's loss (logged only with several outputs). */
  readonly lossTracker: Mean;
}

export class Compiled {
  readonly optimizer: Optimizer;
  readonly config: CompileConfig;
  /** The running mean of the total loss ('loss'). */
  readonly lossTracker = new Mean('loss');
  #heads: Head[] | null = null;

  constructor(config: CompileConfig) {
    if (typeof config !== 'object' || config === null) throw new DTypeError(`compile: expected a config object, got ${describeValue(config)}`);
    for (const k of Object.keys(config)) {
      if (!['optimizer', 'loss', 'metrics', 'lossWeights'].includes(k)) throw new ValueError(`compile: unknown option '${k}' (known: optimizer, loss, metrics, lossWeights)`);
    }
    if (config.optimizer === undefined) throw new ValueError("compile: option 'optimizer' is required (e.g. 'adam')");
    if (config.loss === undefined) throw new ValueError("compile: option 'loss' is required (e.g. 'sparseCategoricalCrossentropy')");
    this.config = config;
    this.optimizer = getOptimizer(config.optimizer);
    // Resolve what can be checked without the model's outputs now, so typos fail at compile time.
    for (const l of lossList(config.loss)) getLoss(l);
    const m = config.metrics;
    if (m !== undefined && !Array.isArray(m) && (typeof m !== 'object' || m === null)) {
      throw new DTypeError(`compile: option 'metrics' must be an array (or per-output arrays), got ${describeValue(m)}`);
    }
  }

  /** The heads, once bound. */
  get heads(): readonly Head[] | null {
    return this.#heads;
  }

  /** Binds losses and metrics to the model's outputs (once; later calls check the count). */
  bind(model: TrainableModel, numOutputs: number): readonly Head[] {
    if (this.#heads) {
      if (this.#heads.length !== numOutputs) {
        throw new ValueError(`compile: the model was compiled for ${this.#heads.length} output(s) but returned ${numOutputs}`);
      }
      return this.#heads;
    }
    const names = outputNames(model, numOutputs);
    const losses = perOutput('loss', this.config.loss, names, (v): v is LossIdentifier => !Array.isArray(v) && !isPlainRecord(v));
    const weights = this.config.lossWeights === undefined
      ? names.map(() => 1)
      : perOutput('lossWeights', this.config.lossWeights, names, (v): v is number => typeof v === 'number');
    weights.forEach((w, i) => {
      if (typeof w !== 'number' || !Number.isFinite(w)) throw new ValueError(`compile: lossWeights for output '${names[i]}' must be a finite number, got ${String(w)}`);
    });
    const metricLists = this.metricLists(names);
    const single = numOutputs === 1;
    const seen = new Set<string>(['loss']);
    const usedObjects = new Set<Metric>();
    const heads: Head[] = names.map((output, i) => {
      const loss = getLoss(losses[i]);
      const prefix = single ? '' : `${output}_`;
      const metrics = metricLists[i].map((id) => {
        if (id instanceof Metric) {
          if (usedObjects.has(id)) throw new ValueError(`compile: metric object '${id.name}' is given for more than one output; give each output its own instance or a string`);
          usedObjects.add(id);
        }
        return getMetric(id, loss);
      });
      if (!single) {
        if (seen.has(`${prefix}loss`)) throw new ValueError(`compile: two outputs are named '${output}'`);
        seen.add(`${prefix}loss`);
      }
      for (const m of metrics) {
        const key = prefix + m.name;
        if (seen.has(key)) throw new ValueError(`compile: two metrics would log under '${key}'; give one a different name`);
        seen.add(key);
      }
      return { output, prefix, loss, weight: weights[i], metrics, lossTracker: new Mean(`${prefix}loss`) };
    });
    this.#heads = heads;
    return heads;
  }

  private metricLists(names: readonly string[]): MetricIdentifier[][] {
    const m = this.config.metrics;
    if (m === undefined) return names.map(() => []);
    if (Array.isArray(m)) {
      if (m.length > 0 && m.every((e) => Array.isArray(e))) {
        if (m.length !== names.length) throw new ValueError(`compile: 'metrics' has ${m.length} lists for ${names.length} outputs`);
        return (m as MetricIdentifier[][]).map((l) => [...l]);
      }
      if (m.some((e) => Array.isArray(e))) throw new ValueError("compile: 'metrics' mixes lists and single metrics; give one list per output, or one flat list");
      const flat = m as MetricIdentifier[];
      if (names.length > 1 && flat.some((e) => e instanceof Metric)) {
        throw new ValueError('compile: a flat metrics list with Metric objects is ambiguous for a multi-output model; give one list per output');
      }
      return names.map(() => [...flat]);
    }
    const rec = m as Record<string, readonly MetricIdentifier[]>;
    for (const k of Object.keys(rec)) if (!names.includes(k)) throw new ValueError(`compile: 'metrics' names output '${k}' but the model's outputs are ${names.join(', ')}`);
    return names.map((n) => {
      const l = rec[n] ?? [];
      if (!Array.isArray(l)) throw new DTypeError(`compile: 'metrics' for output '${n}' must be an array`);
      return [...l];
    });
  }

  /** Every log key of an epoch, in order (validation adds the same keys prefixed 'val_'). */
  logKeys(): string[] {
    const heads = this.#heads ?? [];
    const keys = ['loss'];
    if (heads.length > 1) for (const h of heads) keys.push(`${h.prefix}loss`);
    for (const h of heads) for (const m of h.metrics) keys.push(h.prefix + m.name);
    return keys;
  }

  /** Resets the loss trackers and the metrics (each epoch, and each evaluation). */
  resetState(): void {
    this.lossTracker.reset();
    for (const h of this.#heads ?? []) {
      h.lossTracker.reset();
      for (const m of h.metrics) m.reset();
    }
  }

  /** Current running values: 'loss', per-output losses, metrics. */
  results(prefix = ''): Record<string, number> {
    const heads = this.#heads ?? [];
    const out: Record<string, number> = { [`${prefix}loss`]: this.lossTracker.result() };
    if (heads.length > 1) for (const h of heads) out[`${prefix}${h.prefix}loss`] = h.lossTracker.result();
    for (const h of heads) for (const m of h.metrics) out[`${prefix}${h.prefix}${m.name}`] = m.result();
    return out;
  }
}

/** Keras `model.compile(...)`: resolves optimizer, losses and metrics. */
export function compile(_model: TrainableModel, config: CompileConfig): Compiled {
  return new Compiled(config);
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function lossList(l: CompileConfig['loss']): LossIdentifier[] {
  if (Array.isArray(l)) return [...l];
  if (isPlainRecord(l)) return Object.values(l) as LossIdentifier[];
  return [l as LossIdentifier];
}

function outputNames(model: TrainableModel, n: number): string[] {
  const given = model.outputNames;
  if (given && given.length === n) return [...given];
  return n === 1 ? ['output'] : Array.from({ length: n }, (_, i) => `output_${i}`);
}

/** A single value for every output, an array with one per output, or a record keyed by output name. */
function perOutput<T>(what: string, v: unknown, names: readonly string[], isSingle: (v: unknown) => v is T): T[] {
  if (isSingle(v)) return names.map(() => v);
  if (Array.isArray(v)) {
    if (v.length !== names.length) throw new ValueError(`compile: '${what}' has ${v.length} entries but the model has ${names.length} output(s)`);
    return [...v] as T[];
  }
  if (isPlainRecord(v)) {
    for (const k of Object.keys(v)) if (!names.includes(k)) throw new ValueError(`compile: '${what}' names output '${k}' but the model's outputs are ${names.join(', ')}`);
    return names.map((n) => {
      if (!(n in v)) throw new ValueError(`compile: '${what}' has no entry for output '${n}'`);
      return v[n] as T;
    });
  }
  throw new DTypeError(`compile: '${what}' must be one value, an array per output or a record by output name, got ${describeValue(v)}`);
}
