/**
 * The optimizer base class: what every optimizer shares, as Keras 3's `BaseOptimizer.apply` does it.
 *
 * One update (`applyGradients(pairs)` or `step(variables)`), in this order:
 *   1. check every gradient (a Tensor of float32 with its variable's shape, each variable once) and compute its
 *      sum of squares in float64; a NaN or infinite gradient throws `NonFiniteGradientError` naming the variable
 *      and nothing is changed (weights, slots and `iterations` stay as they were; see below);
 *   2. clip (at most one of the Keras options): `clipNorm` scales each gradient to an L2 norm of at most clipNorm
 *      (`g * clipNorm / max(||g||, clipNorm)`), `globalClipNorm` scales all of them by
 *      `globalClipNorm / max(||all gradients||, globalClipNorm)`, `clipValue` clamps each element to
 *      [-clipValue, clipValue];
 *   3. lr = the learning rate at `iterations` (a number, or a schedule evaluated at the step count, 0 first);
 *   4. decoupled weight decay (Keras 3 / AdamW, Loshchilov & Hutter): `w = w - w * weightDecay * lr` before the
 *      optimizer's own update, skipped for variables matched by `excludeFromWeightDecay`;
 *   5. the optimizer's update (each subclass documents its formula), then `iterations += 1`.
 *
 * Speed: the update of one variable is one loop over plain Float32Arrays (`variable.value.data` in place, the
 * gradient, and the optimizer's slots, which are Float32Arrays it owns), computing each element in float64 and
 * storing it rounded to float32 once. No tensor is created and nothing is recorded by autograd. Clipping, when
 * set, writes the clipped gradient into one reused scratch array; weight decay is fused into the update loop.
 *
 * A NaN or infinite gradient throws rather than skipping the step: a silently skipped step hides a diverging
 * model, and throwing before any write keeps the last good weights (the training loop reports a NaN loss on its
 * own, naming the epoch and batch; a finite loss with a non-finite gradient lands here, naming the variable).
 *
 * Variables on CUDA: the checks and the clipping factors are computed on the device, and one read-back per update
 * tells the host whether to go on. A probe (a device scalar, non-finite exactly when a gradient element is, or the
 * loss `stepWithLoss` is given) guards the update as PyTorch's GradScaler guards its step with found_inf: Adam and
 * SGD pass it to their CUDA kernels, which write nothing when it is not finite, so the update is enqueued before
 * the probe is read and the host waits once, at the end of the step; the optimizers without a CUDA kernel
 * (RMSprop, Adagrad, Adadelta: their updates download, run on the host and upload) read it before updating. A
 * non-finite probe leaves everything as it was (weights, slots, `iterations` and so the schedule's step), then the
 * host finds the bad gradient element and throws (or, for a non-finite loss, returns it to fit, which throws).
 *
 * State for exact resume: `getState()` returns `iterations` (an int32 scalar) and every slot as
 * `${variable.name}/${slot}` (copies), `setState(state)` replaces the optimizer's state with it. Slots of a
 * variable the optimizer has not seen yet wait, by name, until the first update (or `build`) that meets a
 * variable of that name, where the shape is checked. With the same config (`getConfig` / `optimizerFromConfig`)
 * and weights, a resumed run makes bit-identical updates to an uninterrupted one.
 */
import { DTypeError, DeviceError, NodegradError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { keep as keepTensor, scope } from '../tensor/scope.js';
import { add, clip, div, mul, sqrt, square } from '../tensor/elementwise.js';
import { concat } from '../tensor/manipulation.js';
import { mean, sum } from '../tensor/reduction.js';
import { deviceScalar, readScalars } from './device-values.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Variable } from '../nn/variable.js';
import { loadAddon, type NativeAddon } from '../backends/native/addon.js';
import {
  LearningRateSchedule,
  checkNumber,
  scheduleFromConfig,
  type ConfigValue,
  type ScheduleConfig,
} from './schedules.js';

/** An optimizer's configuration: its class name and constructor options, JSON-able. */
export interface OptimizerConfig {
  className: string;
  [key: string]: ConfigValue;
}

/** One entry of an optimizer's state: `iterations`, or a slot `${variable.name}/${slotName}`. */
export interface OptimizerStateEntry {
  name: string;
  value: Tensor;
}

/** Options every optimizer takes (Keras names, camelCase). */
export interface OptimizerOptions {
  /** A number >= 0, or a schedule of the step count. Each optimizer has its own default (Keras'). */
  learningRate?: number | LearningRateSchedule;
  /** Clip each gradient to this L2 norm (> 0). At most one of clipNorm, clipValue, globalClipNorm. */
  clipNorm?: number | null;
  /** Clamp each gradient element to [-clipValue, clipValue] (> 0). */
  clipValue?: number | null;
  /** Scale all gradients together so that their joint L2 norm is at most this (> 0). */
  globalClipNorm?: number | null;
  /** Decoupled weight decay coefficient (>= 0): w -= w * weightDecay * lr each step. Default null (none). */
  weightDecay?: number | null;
  /**
   * Variables whose name matches one of these regular expressions (JavaScript syntax, searched anywhere in the
   * name as Keras' `re.search`) get no weight decay, e.g. ['bias', 'batch_normalization'].
   */
  excludeFromWeightDecay?: readonly string[];
  /** A name for messages and configs. */
  name?: string;
}

/** The base options' keys (subclasses add theirs when checking a config). */
export const BASE_OPTION_KEYS = [
  'learningRate',
  'clipNorm',
  'clipValue',
  'globalClipNorm',
  'weightDecay',
  'excludeFromWeightDecay',
  'name',
] as const;

/** A gradient that is NaN or infinite somewhere; thrown before any variable is changed. */
export class NonFiniteGradientError extends ValueError {
  /** The variable whose gradient is not finite. */
  readonly variableName: string;
  /** The first flat index of a non-finite element, and its value. */
  readonly index: number;
  readonly value: number;
  constructor(op: string, variableName: string, index: number, value: number, shape: readonly number[]) {
    super(
      `${op}: the gradient of variable '${variableName}' ${fmtShape(shape)} is not finite (${value} at flat index ${index}); ` +
        'no variable was updated',
    );
    this.variableName = variableName;
    this.index = index;
    this.value = value;
  }
}

/** [gradient, variable], Keras' order; a null gradient skips its variable. */
export type GradientPair = readonly [grad: Tensor | null | undefined, variable: Variable];

interface PendingSlots {
  readonly shape: readonly number[];
  readonly arrays: Float32Array[];
}

export abstract class Optimizer {
  /** Keras' class name ('SGD', 'Adam', ...): the `className` of configs. */
  abstract readonly className: string;
  readonly name: string;
  readonly clipNorm: number | null;
  readonly clipValue: number | null;
  readonly globalClipNorm: number | null;
  #weightDecay: number | null;
  #learningRate: number | LearningRateSchedule;
  #iterations = 0;
  #exclude: string[] = [];
  #excludeRegex: RegExp[] = [];
  #excludeVars = new WeakSet<Variable>();
  /** Each variable's slots, in the order of slotNames(), created at its first update (or build). */
  #slots = new Map<Variable, Float32Array[]>();
  /** Slots from setState for variable names not met yet. */
  #pending = new Map<string, PendingSlots>();
  /**
   * Slots of variables on CUDA, as device tensors. Slots follow their variable: a variable moved by model.to()
   * finds its host slots uploaded at its next update (and device slots downloaded when it comes back).
   */
  #deviceSlots = new Map<Variable, Tensor[]>();
  #scratch = new Float32Array(0);

  /** @param defaultLearningRate the subclass's (Keras') default learning rate. */
  protected constructor(options: OptimizerOptions, defaultName: string, defaultLearningRate: number) {
    const op = new.target.name;
    this.name = options.name ?? defaultName;
    if (typeof this.name !== 'string') throw new ValueError(`${op}: 'name' must be a string`);
    this.#learningRate = checkLearningRate(op, options.learningRate ?? defaultLearningRate);
    const clip = (key: 'clipNorm' | 'clipValue' | 'globalClipNorm'): number | null =>
      options[key] == null ? null : checkNumber(op, key, options[key], '>0');
    this.clipNorm = clip('clipNorm');
    this.clipValue = clip('clipValue');
    this.globalClipNorm = clip('globalClipNorm');
    const set = (['clipNorm', 'clipValue', 'globalClipNorm'] as const).filter((k) => this[k] !== null);
    if (set.length > 1) {
      throw new ValueError(`${op}: only one of 'clipNorm', 'clipValue' and 'globalClipNorm' can be set, got ${set.map((k) => `${k}=${this[k]}`).join(', ')}`);
    }
    this.#weightDecay = options.weightDecay == null ? null : checkNumber(op, 'weightDecay', options.weightDecay, '>=0');
    if (options.excludeFromWeightDecay !== undefined) {
      if (!Array.isArray(options.excludeFromWeightDecay)) throw new ValueError(`${op}: 'excludeFromWeightDecay' must be an array of regular expressions (strings)`);
      this.#exclusions(op, options.excludeFromWeightDecay, []);
    }
  }

  // --- learning rate and counters ---------------------------------------------------------------------

  /** The learning rate of the next update: the number, or the schedule evaluated at `iterations`. */
  get learningRate(): number {
    const lr = this.#learningRate;
    return typeof lr === 'number' ? lr : lr.valueAt(this.#iterations);
  }
  /** Sets a number (replacing a schedule: ReduceLROnPlateau does this) or a schedule. */
  set learningRate(value: number | LearningRateSchedule) {
    this.#learningRate = checkLearningRate(`${this.className}.learningRate`, value);
  }
  /** The schedule, or null when the learning rate is a number. */
  get learningRateSchedule(): LearningRateSchedule | null {
    return typeof this.#learningRate === 'number' ? null : this.#learningRate;
  }
  /** Updates made so far (the step count schedules see). */
  get iterations(): number {
    return this.#iterations;
  }
  /** Decoupled weight decay coefficient, or null for none. */
  get weightDecay(): number | null {
    return this.#weightDecay;
  }
  set weightDecay(value: number | null) {
    this.#weightDecay = value == null ? null : checkNumber(`${this.className}.weightDecay`, 'weightDecay', value, '>=0');
  }

  /**
   * Exempts variables from weight decay (Keras' `exclude_from_weight_decay`): these Variable objects, and every
   * variable whose name matches one of `names` (regular expressions searched anywhere in the name). Adds to
   * earlier exclusions. Name patterns are part of getConfig; excluded Variable objects are saved as their
   * exact names.
   */
  excludeFromWeightDecay({ variables = [], names = [] }: { variables?: readonly Variable[]; names?: readonly string[] }): void {
    this.#exclusions(`${this.className}.excludeFromWeightDecay`, names, variables);
  }

  #exclusions(op: string, names: readonly string[], variables: readonly Variable[]): void {
    const res = names.map((n) => {
      if (typeof n !== 'string') throw new ValueError(`${op}: names must be strings (regular expressions), got ${typeof n}`);
      try {
        return new RegExp(n);
      } catch (e) {
        throw new ValueError(`${op}: '${n}' is not a valid regular expression (${(e as Error).message})`);
      }
    });
    names.forEach((n, i) => {
      this.#exclude.push(n);
      this.#excludeRegex.push(res[i]);
    });
    for (const v of variables) {
      this.#excludeVars.add(v);
      const exact = `^${v.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
      this.#exclude.push(exact);
      this.#excludeRegex.push(new RegExp(exact));
    }
  }

  #decays(v: Variable): boolean {
    if (this.#excludeVars.has(v)) return false;
    for (const re of this.#excludeRegex) if (re.test(v.name)) return false;
    return true;
  }

  // --- what subclasses provide ------------------------------------------------------------------------

  /** The slot names of this configuration (e.g. ['m', 'v'], or [] for plain SGD), fixed after construction. */
  protected abstract slotNames(): readonly string[];
  /** A slot's initial value (0; Adagrad's accumulator starts at initialAccumulatorValue). */
  protected slotInitialValue(_slot: number): number {
    return 0;
  }
  /**
   * Updates one variable in place: `w` the variable's storage, `g` its (clipped) gradient, `slots` in the order
   * of slotNames(), `lr` this step's learning rate, `t` the 1-based step number, `keep` the weight-decay factor
   * (1 - weightDecay * lr, or exactly 1 without decay) that multiplies w before the update is added.
   */
  protected abstract updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, t: number, keep: number): void;
  /**
   * updateVariable for a variable on CUDA: `w`, `g` and `slots` are CUDA tensors, updated in place. Adam and SGD
   * run their CUDA kernels; this default downloads, runs updateVariable and uploads (warning once per class).
   * `probe` (a CUDA scalar) is given to optimizers whose guardsDeviceUpdates is true: when it is NaN or infinite
   * the update must write nothing. The others get null: their step has read the probe and found it finite.
   */
  protected updateVariableOnDevice(w: Tensor, g: Tensor, slots: Tensor[], lr: number, t: number, keep: number, _probe: Tensor | null): void {
    if (!warnedHostUpdate.has(this.className)) {
      warnedHostUpdate.add(this.className);
      console.warn(`nodegrad: ${this.className} has no CUDA update kernel; its updates of CUDA variables run on the CPU (download, update, upload)`);
    }
    const wh = w.data as Float32Array;
    const sh = slots.map((x) => x.data as Float32Array);
    this.updateVariable(wh, g.data as Float32Array, sh, lr, t, keep);
    w.deviceStorage!.upload(wh);
    slots.forEach((x, i) => x.deviceStorage!.upload(sh[i]));
  }
  /** Whether updateVariableOnDevice honours its probe (a CUDA kernel with the guard): then the update is enqueued before the probe is read. */
  protected get guardsDeviceUpdates(): boolean {
    return false;
  }
  /** The subclass's own options for getConfig. */
  protected abstract ownConfig(): Record<string, ConfigValue>;

  // --- updates ----------------------------------------------------------------------------------------

  /**
   * Creates the slots of these variables now (Keras' `build`), so that a state loaded with setState is checked
   * against their shapes before training. Updating builds variables as it meets them, so this is optional.
   */
  build(variables: readonly Variable[]): void {
    for (const v of variables) this.#slotsFor(`${this.className}.build`, v);
  }

  /**
   * Applies one update from [gradient, variable] pairs (Keras' `apply_gradients`); null gradients skip. The
   * caller chose the pairs: a variable is updated whether or not it is marked trainable (step() filters).
   */
  applyGradients(pairs: ReadonlyArray<GradientPair>): void {
    const op = `${this.className}.applyGradients`;
    if (!Array.isArray(pairs)) throw new ValueError(`${op}: expected an array of [gradient, variable] pairs`);
    const grads: Tensor[] = [];
    const vars: Variable[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i];
      if (!Array.isArray(p) || p.length !== 2) throw new ValueError(`${op}: pair ${i} must be [gradient, variable]`);
      const [g, v] = p;
      if (g == null) continue;
      grads.push(g);
      vars.push(v);
    }
    if (grads.length === 0) {
      if (pairs.length === 0) return;
      throw new ValueError(`${op}: no gradient for any of the ${pairs.length} variables (${pairs.map((p) => `'${p[1]?.name}'`).join(', ')})`);
    }
    this.#apply(op, grads, vars, null, []);
  }

  /**
   * Applies one update to the trainable variables that have a gradient (`variable.grad`, left by backward());
   * others are skipped. Throws when trainable variables are given but none has a gradient (backward not run).
   */
  step(variables: readonly Variable[]): void {
    const op = `${this.className}.step`;
    const p = this.#gradients(op, variables);
    if (p) this.#apply(op, p.grads, p.vars, null, []);
  }

  /**
   * step(variables) for the loss they are the gradients of, as fit's training step on a CUDA model does it: the
   * update is guarded by the loss too (a NaN or infinite loss changes nothing: weights, slots, `iterations`), and
   * the values of `loss` and `alsoRead` (scalars) come back with the finite check, in one read-back after the update
   * was enqueued. Returns [loss, ...alsoRead] as numbers; the caller reports a non-finite loss. A non-finite
   * gradient under a finite loss throws NonFiniteGradientError, as step().
   */
  stepWithLoss(variables: readonly Variable[], loss: Tensor, alsoRead: readonly Tensor[] = []): number[] {
    const op = `${this.className}.step`;
    const p = this.#gradients(op, variables);
    if (p && loss.device === 'cuda') return this.#apply(op, p.grads, p.vars, loss, alsoRead);
    // A host loss costs nothing to read: checked first, as fit does on the CPU.
    const values = readScalars([loss, ...alsoRead]);
    if (p && Number.isFinite(values[0])) this.#apply(op, p.grads, p.vars, null, []);
    return values;
  }

  /** The trainable variables with a gradient and their gradients; null when none is trainable. */
  #gradients(op: string, variables: readonly Variable[]): { grads: Tensor[]; vars: Variable[] } | null {
    if (!Array.isArray(variables)) throw new ValueError(`${op}: expected an array of variables`);
    const grads: Tensor[] = [];
    const vars: Variable[] = [];
    let trainable = 0;
    for (const v of variables) {
      if (!v.trainable) continue;
      trainable++;
      const g = v.grad;
      if (g == null) continue;
      grads.push(g);
      vars.push(v);
    }
    if (grads.length === 0) {
      if (trainable === 0) return null;
      throw new ValueError(`${op}: none of the ${trainable} trainable variables has a gradient (call backward() on the loss first)`);
    }
    return { grads, vars };
  }

  /** Clears `.grad` of these variables (PyTorch's `optimizer.zero_grad()`). */
  zeroGrad(variables: readonly Variable[]): void {
    for (const v of variables) v.zeroGrad();
  }

  /**
   * One update; with `loss` (on CUDA) guarded by it too. Returns the values of the loss and `alsoRead` when a loss
   * is given ([] otherwise); a non-finite loss returns before anything changed.
   */
  #apply(op: string, grads: Tensor[], vars: Variable[], loss: Tensor | null, alsoRead: readonly Tensor[]): number[] {
    const n = grads.length;
    // 1. checks, sums of squares of the host gradients; nothing is written before all pass.
    const sumSq = new Float64Array(n);
    const seen = new Set<Variable>();
    const onDevice: number[] = [];
    for (let k = 0; k < n; k++) {
      const g = grads[k];
      const v = vars[k];
      if (typeof v !== 'object' || v === null || !(v.value instanceof Tensor)) throw new ValueError(`${op}: entry ${k} is not a Variable`);
      if (seen.has(v)) throw new ValueError(`${op}: variable '${v.name}' appears twice in one update`);
      seen.add(v);
      if (!(g instanceof Tensor)) throw new DTypeError(`${op}: the gradient of variable '${v.name}' must be a Tensor, got ${Object.prototype.toString.call(g)}`);
      if (g.isDisposed) throw new NodegradError(`${op}: the gradient of variable '${v.name}' was disposed`);
      if (g.dtype !== 'float32') throw new DTypeError(`${op}: the gradient of variable '${v.name}' must be float32, got ${g.dtype}`);
      if (!shapesEqual(g.shape, v.shape)) {
        throw new ShapeError(`${op}: the gradient of variable '${v.name}' has shape ${fmtShape(g.shape)} but the variable has shape ${fmtShape(v.shape)}`);
      }
      if (g.device !== v.value.device) {
        throw new DeviceError(`${op}: the gradient of variable '${v.name}' is on ${g.device} but the variable is on ${v.value.device}`);
      }
      if (g.device === 'cuda') {
        onDevice.push(k);
        continue;
      }
      const s = sumOfSquares(g.data as Float32Array);
      if (!Number.isFinite(s)) throw nonFinite(op, v, g.data as Float32Array)!;
      sumSq[k] = s;
    }
    const lr = this.learningRate;
    if (!(lr >= 0) || !Number.isFinite(lr)) {
      throw new ValueError(`${op}: the learning rate at step ${this.#iterations} is ${lr} (it must be a finite number >= 0)`);
    }
    const slots = vars.map((v) => (v.value.device === 'cuda' ? this.#deviceSlotsFor(op, v) : this.#slotsFor(op, v)));
    const t = this.#iterations + 1;
    const wd = this.#weightDecay;
    const keepOf = (v: Variable): number => (wd !== null && wd !== 0 && this.#decays(v) ? 1 - wd * lr : 1);
    let hostTotal = 0;
    for (let k = 0; k < n; k++) hostTotal += sumSq[k];

    // 2-5 on the device for the CUDA variables, with the step's one read-back.
    let values: number[] = [];
    if (onDevice.length) {
      const r = this.#deviceUpdate(op, grads, vars, slots as Tensor[][], onDevice, loss, alsoRead, hostTotal, { lr, t, keepOf });
      if (r.cancelled) return r.values;
      values = r.values;
      hostTotal = r.total ?? hostTotal;
    }

    // 2-5 on the host for the others.
    let globalScale = 1;
    if (this.globalClipNorm !== null) {
      const norm = Math.sqrt(hostTotal);
      if (norm > this.globalClipNorm) globalScale = this.globalClipNorm / norm;
    }
    for (let k = 0; k < n; k++) {
      const v = vars[k];
      if (v.value.device === 'cuda') continue;
      let scale = globalScale;
      if (this.clipNorm !== null) {
        const norm = Math.sqrt(sumSq[k]);
        if (norm > this.clipNorm) scale = this.clipNorm / norm;
      }
      let g = grads[k].data as Float32Array;
      if (scale !== 1 || this.clipValue !== null) g = this.#clipped(g, scale, this.clipValue);
      this.updateVariable(v.value.data as Float32Array, g, slots[k] as Float32Array[], lr, t, keepOf(v));
    }
    this.#iterations = t;
    return values;
  }

  /**
   * The update of the CUDA variables `ks` and the step's one read-back: the probe, the loss and `alsoRead` in one
   * download, after the guarded updates were enqueued (or before the unguarded ones). The probe is the mean of the
   * loss and of every gradient's mean. A mean of float32 values sums in double and cannot overflow (|mean| <= max
   * |x| <= FLT_MAX), and a non-finite term never cancels (inf - inf and NaN + x are NaN), so the probe is NaN or
   * infinite exactly when the loss or a gradient element is. Returns the values read ([loss, ...alsoRead] with a
   * loss), `cancelled` when the loss is not finite (nothing was written), and, with globalClipNorm over CUDA and
   * host variables together, the total sum of squares the host variables' factor needs.
   */
  #deviceUpdate(
    op: string, grads: Tensor[], vars: Variable[], slots: Tensor[][], ks: readonly number[], loss: Tensor | null,
    alsoRead: readonly Tensor[], hostTotal: number, at: { lr: number; t: number; keepOf: (v: Variable) => number },
  ): { values: number[]; cancelled: boolean; total: number | null } {
    return scope(() => {
      const terms = ks.map((k) => mean(grads[k]).withShape([1]));
      if (loss) terms.unshift(loss.withShape([1]));
      const probe = mean(concat(terms));
      const { scales, total } = this.#deviceClipFactors(grads, ks, hostTotal);
      const update = (guard: Tensor | null): void => {
        ks.forEach((k, i) => this.#updateOnDevice(vars[k], grads[k], slots[k], scales[i], at.lr, at.t, at.keepOf(vars[k]), guard));
      };
      const guarded = this.guardsDeviceUpdates;
      if (guarded) update(probe);
      const reported = loss ? [loss, ...alsoRead] : [];
      const mixedTotal = total !== null && ks.length < grads.length ? [total] : [];
      const read = readScalars([probe, ...reported, ...mixedTotal]);
      const values = read.slice(1, 1 + reported.length);
      if (!Number.isFinite(read[0])) {
        if (loss && !Number.isFinite(values[0])) return { values, cancelled: true, total: null };
        for (const k of ks) {  // the error path: find the first non-finite element on the host
          const e = nonFinite(op, vars[k], grads[k].data as Float32Array);
          if (e) throw e;
        }
        throw new NodegradError(`${op}: the finite check of the CUDA gradients is ${read[0]} but every element is finite (please report this)`);
      }
      if (!guarded) update(null);
      return { values, cancelled: false, total: mixedTotal.length ? read[read.length - 1] : null };
    });
  }

  /**
   * The clipping factor of each CUDA gradient as a CUDA scalar (null: no clipping), computed where the gradients
   * are so that nothing is read: clipNorm / max(||g||, clipNorm) per gradient, or globalClipNorm / max(||all||,
   * globalClipNorm) shared, with `hostTotal` (the host gradients' sum of squares) in the total; the total too for
   * globalClipNorm. A factor is exactly 1 when the norm is within the bound (x / x is 1). Squares are float32: an
   * element beyond ~1.8e19 makes its norm infinite and its factor 0 (in float64 the CPU finds a tiny factor instead).
   */
  #deviceClipFactors(grads: Tensor[], ks: readonly number[], hostTotal: number): { scales: (Tensor | null)[]; total: Tensor | null } {
    const bound = this.clipNorm ?? this.globalClipNorm;
    if (bound === null) return { scales: ks.map(() => null), total: null };
    const factor = (sumSq: Tensor): Tensor => div(deviceScalar(sumSq, bound), clip(sqrt(sumSq), bound, Infinity));
    const sq = ks.map((k) => sum(square(grads[k])));
    if (this.clipNorm !== null) return { scales: sq.map(factor), total: null };
    let total = sum(concat(sq.map((x) => x.withShape([1]))));
    if (hostTotal !== 0) total = add(total, hostTotal);
    const f = factor(total);
    return { scales: ks.map(() => f), total };
  }

  /** One update of a CUDA variable: clipping as device ops, then the subclass's device update. */
  #updateOnDevice(v: Variable, g: Tensor, slots: Tensor[], scale: Tensor | null, lr: number, t: number, keep: number, probe: Tensor | null): void {
    scope(() => {  // frees the clipped copies
      let gt = g;
      if (scale) gt = mul(gt, scale);
      if (this.clipValue !== null) gt = clip(gt, -this.clipValue, this.clipValue);
      this.updateVariableOnDevice(v.value, gt, slots, lr, t, keep, probe);
    });
  }

  #deviceSlotsFor(op: string, v: Variable): Tensor[] {
    let s = this.#deviceSlots.get(v);
    if (s) return s;
    const host = this.#slotsFor(op, v);
    s = host.map((a) => keepTensor(new Tensor(a, v.shape).to('cuda')));
    this.#slots.delete(v);
    this.#deviceSlots.set(v, s);
    return s;
  }

  /** The device slots of `v` back on the host (the variable moved to the CPU), if it has any. */
  #slotsFromDevice(v: Variable): Float32Array[] | undefined {
    const d = this.#deviceSlots.get(v);
    if (!d) return undefined;
    const host = d.map((x) => Float32Array.from(x.data as Float32Array));
    for (const x of d) x.dispose();
    this.#deviceSlots.delete(v);
    this.#slots.set(v, host);
    return host;
  }

  /** g * scale, clamped to [-c, c], in the scratch array (rounded to float32 as a gradient is). */
  #clipped(g: Float32Array, scale: number, c: number | null): Float32Array {
    if (this.#scratch.length < g.length) this.#scratch = new Float32Array(g.length);
    const out = this.#scratch.subarray(0, g.length);
    const n = g.length;
    if (c === null) {
      for (let i = 0; i < n; i++) out[i] = g[i] * scale;
    } else {
      for (let i = 0; i < n; i++) {
        const x = g[i] * scale;
        out[i] = x > c ? c : x < -c ? -c : x;
      }
    }
    return out;
  }

  #slotsFor(op: string, v: Variable): Float32Array[] {
    let s = this.#slots.get(v) ?? this.#slotsFromDevice(v);
    if (s) return s;
    const names = this.slotNames();
    const pending = this.#pending.get(v.name);
    if (pending) {
      if (!shapesEqual(pending.shape, v.shape)) {
        throw new ShapeError(`${op}: the loaded optimizer state of variable '${v.name}' has shape ${fmtShape(pending.shape)} but the variable has shape ${fmtShape(v.shape)}`);
      }
      this.#pending.delete(v.name);
      s = pending.arrays;
    } else {
      s = names.map((_, i) => {
        const a = new Float32Array(v.size);
        const init = this.slotInitialValue(i);
        if (init !== 0) a.fill(init);
        return a;
      });
    }
    this.#slots.set(v, s);
    return s;
  }

  // --- state --------------------------------------------------------------------------------------------

  /**
   * `iterations` (int32 scalar) and every slot, named `${variable.name}/${slot}` (float32, the variable's shape),
   * as copies; slots loaded by setState and not yet bound to a variable are included. Throws when two variables
   * with slots share a name (their slots could not be told apart on loading).
   */
  getState(): OptimizerStateEntry[] {
    const out: OptimizerStateEntry[] = [{ name: 'iterations', value: new Tensor(Int32Array.of(this.#iterations), []) }];
    const names = this.slotNames();
    const used = new Set<string>();
    const all: Array<[Variable, Float32Array[]]> = [...this.#slots];
    for (const [v, d] of this.#deviceSlots) all.push([v, d.map((x) => x.data as Float32Array)]);
    for (const [v, arrays] of all) {
      if (used.has(v.name)) throw new ValueError(`${this.className}.getState: two variables are named '${v.name}'; slot names must be unique to save and load`);
      used.add(v.name);
      names.forEach((s, i) => out.push({ name: `${v.name}/${s}`, value: new Tensor(arrays[i].slice(), v.shape) }));
    }
    for (const [vn, p] of this.#pending) {
      if (used.has(vn)) continue;
      names.forEach((s, i) => out.push({ name: `${vn}/${s}`, value: new Tensor(p.arrays[i].slice(), p.shape) }));
    }
    return out;
  }

  /**
   * Replaces the state with one from getState (of an optimizer of the same class and slot-relevant options):
   * `iterations` is required; each variable needs all its slots. Values are copied. Slots of variables this
   * optimizer already has are checked and set now; the others wait for a variable of that name (see top).
   */
  setState(state: ReadonlyArray<OptimizerStateEntry>): void {
    const op = `${this.className}.setState`;
    if (!Array.isArray(state)) throw new ValueError(`${op}: expected an array of { name, value } entries`);
    const names = this.slotNames();
    let iterations: number | null = null;
    const groups = new Map<string, { shape: readonly number[]; arrays: Array<Float32Array | undefined> }>();
    for (const e of state) {
      if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !(e.value instanceof Tensor)) {
        throw new ValueError(`${op}: each entry must be { name: string, value: Tensor }`);
      }
      if (e.name === 'iterations') {
        const it = e.value.size === 1 ? e.value.data[0] : NaN;
        if (!Number.isInteger(it) || it < 0) throw new ValueError(`${op}: 'iterations' must be one integer >= 0, got ${e.value.size === 1 ? it : `a tensor of shape ${fmtShape(e.value.shape)}`}`);
        iterations = it;
        continue;
      }
      const cut = e.name.lastIndexOf('/');
      const vn = cut > 0 ? e.name.slice(0, cut) : '';
      const slot = names.indexOf(e.name.slice(cut + 1));
      if (cut <= 0 || slot < 0) {
        throw new ValueError(`${op}: unknown state entry '${e.name}': ${this.className} with these options has slots ${names.length ? names.map((s) => `'<variable>/${s}'`).join(', ') : 'none'} and 'iterations'`);
      }
      if (e.value.dtype !== 'float32') throw new DTypeError(`${op}: state entry '${e.name}' must be float32, got ${e.value.dtype}`);
      let grp = groups.get(vn);
      if (!grp) groups.set(vn, (grp = { shape: e.value.shape, arrays: new Array(names.length) }));
      if (!shapesEqual(grp.shape, e.value.shape)) throw new ShapeError(`${op}: the slots of variable '${vn}' have different shapes (${fmtShape(grp.shape)} and ${fmtShape(e.value.shape)} for '${e.name}')`);
      if (grp.arrays[slot]) throw new ValueError(`${op}: state entry '${e.name}' appears twice`);
      grp.arrays[slot] = Float32Array.from(e.value.data as Float32Array);
    }
    if (iterations === null) throw new ValueError(`${op}: the state has no 'iterations' entry`);
    for (const [vn, grp] of groups) {
      const missing = names.filter((_, i) => !grp.arrays[i]);
      if (missing.length) throw new ValueError(`${op}: the state of variable '${vn}' lacks slot(s) ${missing.map((s) => `'${vn}/${s}'`).join(', ')}`);
    }
    const byName = new Map<string, Variable>();
    for (const v of this.#slots.keys()) byName.set(v.name, v);
    for (const v of this.#deviceSlots.keys()) byName.set(v.name, v);
    for (const [vn, grp] of groups) {
      const v = byName.get(vn);
      if (v && !shapesEqual(v.shape, grp.shape)) {
        throw new ShapeError(`${op}: the state of variable '${vn}' has shape ${fmtShape(grp.shape)} but the variable has shape ${fmtShape(v.shape)}`);
      }
    }
    // All checked: replace.
    this.#slots.clear();
    this.#pending.clear();
    for (const d of this.#deviceSlots.values()) for (const x of d) x.dispose();
    this.#deviceSlots.clear();
    for (const [vn, grp] of groups) {
      const arrays = grp.arrays as Float32Array[];
      const v = byName.get(vn);
      if (v) this.#slots.set(v, arrays);
      else this.#pending.set(vn, { shape: grp.shape, arrays });
    }
    this.#iterations = iterations;
  }

  /**
   * Names of variables whose slots setState loaded but no update or build has met yet. After loading a checkpoint,
   * `build(model.trainableVariables)` followed by an empty list proves the state matched the model by name.
   */
  pendingStateVariables(): string[] {
    return [...this.#pending.keys()];
  }

  // --- config ---------------------------------------------------------------------------------------------

  /** `{ className, name, learningRate, ...options }`, JSON-able; a schedule appears as its own config. */
  getConfig(): OptimizerConfig {
    const lr = this.#learningRate;
    return {
      className: this.className,
      name: this.name,
      learningRate: typeof lr === 'number' ? lr : lr.getConfig(),
      weightDecay: this.#weightDecay,
      clipNorm: this.clipNorm,
      clipValue: this.clipValue,
      globalClipNorm: this.globalClipNorm,
      excludeFromWeightDecay: [...this.#exclude],
      ...this.ownConfig(),
    };
  }
}

function checkLearningRate(op: string, lr: unknown): number | LearningRateSchedule {
  if (lr instanceof LearningRateSchedule) return lr;
  if (typeof lr === 'object' && lr !== null && typeof (lr as ScheduleConfig).className === 'string') {
    return scheduleFromConfig(lr as ScheduleConfig);
  }
  return checkNumber(op, 'learningRate', lr, '>=0');
}

// --- native updates --------------------------------------------------------------------------------------

/** The addon's update entries (Adam, SGD), when it loaded and has them. */
export type OptimAddon = Pick<NativeAddon, 'adamUpdateF32' | 'sgdUpdateF32'>;

let nativeEnabled = true;
let nativeAddon: OptimAddon | null | undefined;

/**
 * Variables smaller than this update in JS: below it the N-API call costs more than the loop. Both paths give
 * the same bits, so the cut only affects speed.
 */
export const NATIVE_UPDATE_MIN_SIZE = 1024;

/**
 * The addon for native optimizer updates, or null (not built, an old build without the entries, or turned off
 * with setNativeOptimizerUpdates). Internal (not exported from the package).
 */
export function nativeOptimAddon(): OptimAddon | null {
  if (!nativeEnabled) return null;
  if (nativeAddon === undefined) {
    const { addon } = loadAddon();
    nativeAddon = addon && typeof addon.adamUpdateF32 === 'function' && typeof addon.sgdUpdateF32 === 'function' ? addon : null;
  }
  return nativeAddon;
}

/** Turns the native update path on or off (tests and benchmarks compare the two); returns the previous setting. */
export function setNativeOptimizerUpdates(enabled: boolean): boolean {
  const prev = nativeEnabled;
  nativeEnabled = enabled;
  return prev;
}

/** True when `a` is a plain Float32Array over a non-shared ArrayBuffer (what the addon entries accept). */
export function isPlainF32(a: Float32Array): boolean {
  return a.constructor === Float32Array && !(typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer);
}

const warnedHostUpdate = new Set<string>();

/** NonFiniteGradientError for the first NaN or infinite element of `d`, the gradient of `v`; null when all are finite. */
function nonFinite(op: string, v: Variable, d: Float32Array): NonFiniteGradientError | null {
  const i = d.findIndex((x) => !Number.isFinite(x));
  return i < 0 ? null : new NonFiniteGradientError(op, v.name, i, d[i], v.shape);
}

/** Sum of squares in float64: finite unless an element is NaN or infinite (a float32 squared cannot overflow). */
function sumOfSquares(a: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  const n = a.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const x = a[i];
    const y = a[i + 1];
    s0 += x * x;
    s1 += y * y;
  }
  if (i < n) s0 += a[i] * a[i];
  return s0 + s1;
}
