/**
 * Learning-rate schedules: functions of the optimizer's step count (`optimizer.iterations`, 0 for the first
 * update), Keras 3's `keras.optimizers.schedules` with the same formulas and argument names in camelCase.
 *
 * | schedule                 | value at step s                                                               |
 * |--------------------------|-------------------------------------------------------------------------------|
 * | exponentialDecay         | `initialLearningRate * decayRate ^ (s / decaySteps)` (`floor(s / decaySteps)` with `staircase`) |
 * | piecewiseConstantDecay   | `values[0]` for s <= boundaries[0], `values[i]` for boundaries[i-1] < s <= boundaries[i], `values[n]` after the last boundary |
 * | cosineDecay              | optional linear warmup from `initialLearningRate` to `warmupTarget` over `warmupSteps`, then `peak * ((1 - alpha) * 0.5 * (1 + cos(pi * min(d, decaySteps) / decaySteps)) + alpha)` with d the steps since warmup ended |
 *
 * `stepDecay` is `piecewiseConstantDecay` (a step function of boundaries and values); PyTorch's StepLR
 * (multiply by gamma every k steps) is `exponentialDecay({ decaySteps: k, decayRate: gamma, staircase: true })`.
 *
 * Values are computed in float64 (Keras computes them in float32; the difference is below float32 rounding of
 * the learning rate). Each schedule serialises with `getConfig()` to `{ className, ...arguments }` (JSON) and
 * back with `scheduleFromConfig` or the class's static `fromConfig`; `registerSchedule` adds custom classes.
 */
import { ValueError } from '../errors.js';

/** A JSON value: what configs are made of. */
export type ConfigValue = number | string | boolean | null | ConfigValue[] | { [key: string]: ConfigValue };

/** A schedule's configuration: its class name and its constructor's arguments. */
export interface ScheduleConfig {
  className: string;
  [key: string]: ConfigValue;
}

/** A learning rate as a function of the step count. Subclass it for a custom schedule (and `registerSchedule`). */
export abstract class LearningRateSchedule {
  /** The name configs use (Keras' class name, e.g. 'ExponentialDecay'). */
  abstract readonly className: string;
  /** The learning rate for the update made when `step` updates have already been made (step >= 0). */
  abstract valueAt(step: number): number;
  /** `{ className, ...arguments }`, JSON-able; `scheduleFromConfig` rebuilds an equal schedule. */
  abstract getConfig(): ScheduleConfig;
}

// --- argument checks -----------------------------------------------------------------------------------

/** Throws `ValueError` unless `value` is a finite number meeting `rule`. */
export function checkNumber(op: string, name: string, value: unknown, rule: 'any' | '>=0' | '>0' | '[0,1)' | '[0,1]' | 'int>=0' | 'int>0'): number {
  const bad = (what: string): never => {
    throw new ValueError(`${op}: '${name}' must be ${what}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value) ?? typeof value}`);
  };
  if (typeof value !== 'number' || Number.isNaN(value)) return bad(describe(rule));
  if (!Number.isFinite(value)) return bad(describe(rule));
  switch (rule) {
    case '>=0':
      if (value < 0) bad(describe(rule));
      break;
    case '>0':
      if (value <= 0) bad(describe(rule));
      break;
    case '[0,1)':
      if (value < 0 || value >= 1) bad(describe(rule));
      break;
    case '[0,1]':
      if (value < 0 || value > 1) bad(describe(rule));
      break;
    case 'int>=0':
      if (!Number.isInteger(value) || value < 0) bad(describe(rule));
      break;
    case 'int>0':
      if (!Number.isInteger(value) || value <= 0) bad(describe(rule));
      break;
    case 'any':
      break;
  }
  return value;
}

function describe(rule: string): string {
  switch (rule) {
    case '>=0':
      return 'a finite number >= 0';
    case '>0':
      return 'a finite number > 0';
    case '[0,1)':
      return 'a number in [0, 1)';
    case '[0,1]':
      return 'a number in [0, 1]';
    case 'int>=0':
      return 'an integer >= 0';
    case 'int>0':
      return 'an integer > 0';
    default:
      return 'a finite number';
  }
}

export function checkBoolean(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ValueError(`${op}: '${name}' must be a boolean, got ${JSON.stringify(value) ?? typeof value}`);
  return value;
}

/** Rejects keys a config or options object does not know (a typo would otherwise be silently ignored). */
export function checkKeys(op: string, options: object, allowed: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${allowed.join(', ')})`);
  }
}

function checkStep(op: string, step: number): void {
  if (typeof step !== 'number' || !(step >= 0) || !Number.isFinite(step)) {
    throw new ValueError(`${op}: 'step' must be a finite number >= 0, got ${String(step)}`);
  }
}

// --- ExponentialDecay ------------------------------------------------------------------------------------

export interface ExponentialDecayOptions {
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by decayRate (> 0). */
  decaySteps: number;
  /** Factor per decaySteps (> 0). */
  decayRate: number;
  /** Decay in whole periods (a step function) instead of continuously. Default false. */
  staircase?: boolean;
}

/** `initialLearningRate * decayRate ^ (step / decaySteps)`, the exponent floored when staircase (Keras ExponentialDecay). */
export class ExponentialDecay extends LearningRateSchedule {
  readonly className = 'ExponentialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(options: ExponentialDecayOptions) {
    super();
    const op = 'ExponentialDecay';
    checkKeys(op, options, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase']);
    this.initialLearningRate = checkNumber(op, 'initialLearningRate', options.initialLearningRate, '>=0');
    this.decaySteps = checkNumber(op, 'decaySteps', options.decaySteps, '>0');
    this.decayRate = checkNumber(op, 'decayRate', options.decayRate, '>0');
    this.staircase = checkBoolean(op, 'staircase', options.staircase ?? false);
  }

  valueAt(step: number): number {
    checkStep('ExponentialDecay.valueAt', step);
    let p = step / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate * Math.pow(this.decayRate, p);
  }

  getConfig(): ScheduleConfig {
    return {
      className: this.className,
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      decayRate: this.decayRate,
      staircase: this.staircase,
    };
  }

  static fromConfig(config: ScheduleConfig): ExponentialDecay {
    const { className: _c, ...rest } = config;
    return new ExponentialDecay(rest as unknown as ExponentialDecayOptions);
  }
}

// --- PiecewiseConstantDecay ------------------------------------------------------------------------------

export interface PiecewiseConstantDecayOptions {
  /** Strictly increasing step counts where the rate changes. */
  boundaries: readonly number[];
  /** One more value than boundaries: the rate up to and including boundaries[0], ..., after the last. */
  values: readonly number[];
}

/** A step function (Keras PiecewiseConstantDecay): values[i] for boundaries[i-1] < step <= boundaries[i]. */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  readonly className = 'PiecewiseConstantDecay';
  readonly boundaries: readonly number[];
  readonly values: readonly number[];

  constructor(options: PiecewiseConstantDecayOptions) {
    super();
    const op = 'PiecewiseConstantDecay';
    checkKeys(op, options, ['boundaries', 'values']);
    const { boundaries, values } = options;
    if (!Array.isArray(boundaries) || !Array.isArray(values)) {
      throw new ValueError(`${op}: 'boundaries' and 'values' must be arrays of numbers`);
    }
    if (values.length !== boundaries.length + 1) {
      throw new ValueError(`${op}: 'values' must have one more element than 'boundaries' (${boundaries.length} boundaries, ${values.length} values)`);
    }
    boundaries.forEach((b, i) => {
      checkNumber(op, `boundaries[${i}]`, b, 'any');
      if (i > 0 && !(b > boundaries[i - 1])) throw new ValueError(`${op}: 'boundaries' must be strictly increasing, got ${JSON.stringify(boundaries)}`);
    });
    values.forEach((v, i) => checkNumber(op, `values[${i}]`, v, '>=0'));
    this.boundaries = Object.freeze([...boundaries]);
    this.values = Object.freeze([...values]);
  }

  valueAt(step: number): number {
    checkStep('PiecewiseConstantDecay.valueAt', step);
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && step > b[i]) i++;
    return this.values[i];
  }

  getConfig(): ScheduleConfig {
    return { className: this.className, boundaries: [...this.boundaries], values: [...this.values] };
  }

  static fromConfig(config: ScheduleConfig): PiecewiseConstantDecay {
    const { className: _c, ...rest } = config;
    return new PiecewiseConstantDecay(rest as unknown as PiecewiseConstantDecayOptions);
  }
}

// --- CosineDecay -----------------------------------------------------------------------------------------

export interface CosineDecayOptions {
  /** The starting rate (the warmup's start when warmupTarget is given, else the peak). */
  initialLearningRate: number;
  /** Steps of the cosine decay, after the warmup (> 0). */
  decaySteps: number;
  /** The final rate as a fraction of the peak (in [0, 1]). Default 0. */
  alpha?: number;
  /** With warmup: the peak rate reached linearly after warmupSteps. Default null (no warmup). */
  warmupTarget?: number | null;
  /** Steps of linear warmup (integer >= 0; needs warmupTarget when > 0). Default 0. */
  warmupSteps?: number;
}

/**
 * Keras CosineDecay (SGDR without restarts), with the optional linear warmup of Keras 3: for step < warmupSteps,
 * `initial + (warmupTarget - initial) * step / warmupSteps`; then, with d = min(step - warmupSteps, decaySteps),
 * `peak * ((1 - alpha) * 0.5 * (1 + cos(pi * d / decaySteps)) + alpha)`, peak = warmupTarget ?? initialLearningRate.
 */
export class CosineDecay extends LearningRateSchedule {
  readonly className = 'CosineDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;

  constructor(options: CosineDecayOptions) {
    super();
    const op = 'CosineDecay';
    checkKeys(op, options, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupTarget', 'warmupSteps']);
    this.initialLearningRate = checkNumber(op, 'initialLearningRate', options.initialLearningRate, '>=0');
    this.decaySteps = checkNumber(op, 'decaySteps', options.decaySteps, '>0');
    this.alpha = checkNumber(op, 'alpha', options.alpha ?? 0, '[0,1]');
    this.warmupTarget = options.warmupTarget == null ? null : checkNumber(op, 'warmupTarget', options.warmupTarget, '>=0');
    this.warmupSteps = checkNumber(op, 'warmupSteps', options.warmupSteps ?? 0, 'int>=0');
    if (this.warmupSteps > 0 && this.warmupTarget === null) {
      // Keras silently ignores warmupSteps without a target; a warmup that does nothing is a mistake.
      throw new ValueError(`${op}: 'warmupSteps' is ${this.warmupSteps} but 'warmupTarget' is not set (the rate the warmup ends at)`);
    }
  }

  valueAt(step: number): number {
    checkStep('CosineDecay.valueAt', step);
    const { decaySteps, alpha, warmupSteps } = this;
    if (this.warmupTarget !== null && step < warmupSteps) {
      return (this.warmupTarget - this.initialLearningRate) * (step / warmupSteps) + this.initialLearningRate;
    }
    const peak = this.warmupTarget ?? this.initialLearningRate;
    const d = Math.min(step - (this.warmupTarget !== null ? warmupSteps : 0), decaySteps);
    const cosine = 0.5 * (1 + Math.cos((Math.PI * d) / decaySteps));
    return peak * ((1 - alpha) * cosine + alpha);
  }

  getConfig(): ScheduleConfig {
    return {
      className: this.className,
      initialLearningRate: this.initialLearningRate,
      decaySteps: this.decaySteps,
      alpha: this.alpha,
      warmupTarget: this.warmupTarget,
      warmupSteps: this.warmupSteps,
    };
  }

  static fromConfig(config: ScheduleConfig): CosineDecay {
    const { className: _c, ...rest } = config;
    return new CosineDecay(rest as unknown as CosineDecayOptions);
  }
}

// --- factories and the registry ----------------------------------------------------------------------------

/** `new ExponentialDecay(options)`. */
export function exponentialDecay(options: ExponentialDecayOptions): ExponentialDecay {
  return new ExponentialDecay(options);
}
/** `new PiecewiseConstantDecay(options)`. */
export function piecewiseConstantDecay(options: PiecewiseConstantDecayOptions): PiecewiseConstantDecay {
  return new PiecewiseConstantDecay(options);
}
/** Step decay: the same step function as piecewiseConstantDecay (boundaries, values). */
export function stepDecay(options: PiecewiseConstantDecayOptions): PiecewiseConstantDecay {
  return new PiecewiseConstantDecay(options);
}
/** `new CosineDecay(options)`. */
export function cosineDecay(options: CosineDecayOptions): CosineDecay {
  return new CosineDecay(options);
}

const schedules = new Map<string, (config: ScheduleConfig) => LearningRateSchedule>([
  ['exponentialdecay', ExponentialDecay.fromConfig],
  ['piecewiseconstantdecay', PiecewiseConstantDecay.fromConfig],
  ['cosinedecay', CosineDecay.fromConfig],
]);

/** Makes `scheduleFromConfig` (and optimizer configs) know a custom schedule class by its className. */
export function registerSchedule(className: string, fromConfig: (config: ScheduleConfig) => LearningRateSchedule): void {
  if (typeof className !== 'string' || className === '') throw new ValueError(`registerSchedule: 'className' must be a non-empty string`);
  schedules.set(className.toLowerCase(), fromConfig);
}

/** Rebuilds a schedule from `getConfig()` output (className matched case-insensitively). */
export function scheduleFromConfig(config: ScheduleConfig): LearningRateSchedule {
  if (typeof config !== 'object' || config === null || typeof config.className !== 'string') {
    throw new ValueError(`scheduleFromConfig: expected an object with a string 'className', got ${JSON.stringify(config)}`);
  }
  const make = schedules.get(config.className.toLowerCase());
  if (!make) {
    throw new ValueError(`scheduleFromConfig: unknown schedule '${config.className}' (known: ExponentialDecay, PiecewiseConstantDecay, CosineDecay and registered ones)`);
  }
  return make(config);
}
