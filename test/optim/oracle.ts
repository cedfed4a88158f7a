/**
 * The test problem and an independent oracle for the optimizers.
 *
 * `problem()` gives two variables ([2,3] and [4]) and T gradient steps whose values are dyadic rationals (exact in
 * float32), by the same formulas as fixtures/gen_torch_fixtures.py, so the PyTorch fixtures apply to them.
 *
 * `kerasTrajectory(spec)` re-implements Keras 3's `BaseOptimizer.apply` and each optimizer's `update_step` in
 * float64, written from the Keras source as whole-array operations (a transcription of keras/src/optimizers/*.py,
 * not of nodegrad's loops), for the cases PyTorch cannot check: Keras' epsilon placement with epsilon > 0,
 * schedules with momentum (where Keras' velocity and PyTorch's buffer differ), clipping, weight decay on every
 * optimizer.
 *
 * `trajectoryTolerance` derives the tolerance. nodegrad computes each step in float64 and rounds every stored value
 * (the weight and each slot) to float32 once, a relative error of at most u = 2^-24 per store. Over T steps the
 * weight's own stores contribute at most u * sum_t |w_t| <= u * T * W (W = max |w_t|). A slot's stored error is
 * carried by its recurrence (coefficients <= 1) and grows by at most u * |slot| per step, so at step t an update
 * built from k slots carries a relative error of at most (k * t + c) * u for c float64-exact operations rounded
 * once; summed over the steps this is at most u * (k + c) * T^2 * D (D = max |w_t - w_{t-1}|). With k <= 3 slots
 * and the update's own rounding, K = k + c = 4. The reference (PyTorch in float32, or the float64 oracle) may
 * err as much again, hence the factor 2: per element, atol = 2u * (T * W + 4 * T^2 * D). A wrong formula (bias
 * correction, epsilon placement, an off-by-one step count) moves a weight by ~1e-4 or more within a step, far
 * above this bound (~1e-6 for the problem here).
 */
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import { assertClose, EPS32 } from '../helpers/close.js';

export const T = 12;
export const SHAPES: readonly (readonly number[])[] = [[2, 3], [4]];

export function initialWeights(): number[][] {
  const a = Array.from({ length: 6 }, (_, i) => (((i * 5) % 7) - 3) * 0.25);
  const b = Array.from({ length: 4 }, (_, i) => ((((i * 3 + 1) % 5) - 2) * 0.5) + 0.125);
  return [a, b];
}

/** The gradient of element j (0..9 over both variables) at step t (0-based): never 0, exact in float32. */
export function gradValue(t: number, j: number): number {
  const s = 2 ** ((j % 3) - 1);
  const d = t < 6 ? 1 : 0.25;
  return ((((t * 7 + j * 13) % 17) - 8.5) / 8) * s * d;
}

/** Gradients of both variables at step t. */
export function gradsAt(t: number): number[][] {
  return [Array.from({ length: 6 }, (_, i) => gradValue(t, i)), Array.from({ length: 4 }, (_, i) => gradValue(t, 6 + i))];
}

/** Fresh variables with the initial weights (names 'a/kernel' and 'b/bias'). */
export function makeVariables(): Variable[] {
  const w = initialWeights();
  return [
    new Variable('a/kernel', new Tensor(Float32Array.from(w[0]), SHAPES[0]), true),
    new Variable('b/bias', new Tensor(Float32Array.from(w[1]), SHAPES[1]), true),
  ];
}

export function gradTensors(t: number, gradScale = 1): Tensor[] {
  const g = gradsAt(t);
  return g.map((x, k) => new Tensor(Float32Array.from(x, (v) => v * gradScale), SHAPES[k]));
}

/** Both variables' values, flattened ([2,3] then [4]). */
export function flat(vars: readonly Variable[]): number[] {
  return vars.flatMap((v) => Array.from(v.value.data as Float32Array));
}

// --- the oracle --------------------------------------------------------------------------------------------

export type OracleSpec = {
  lr: number | ((step: number) => number);
  weightDecay?: number;
  /** Variable indices excluded from weight decay. */
  noDecay?: readonly number[];
  clipNorm?: number;
  clipValue?: number;
  globalClipNorm?: number;
  gradScale?: number;
} & (
  | { kind: 'sgd'; momentum?: number; nesterov?: boolean }
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number; amsgrad?: boolean }
  | { kind: 'rmsprop'; rho?: number; momentum?: number; epsilon?: number; centered?: boolean }
  | { kind: 'adagrad'; initialAccumulatorValue?: number; epsilon?: number }
  | { kind: 'adadelta'; rho?: number; epsilon?: number }
);

type Vec = number[];
const map2 = (a: Vec, b: Vec, f: (x: number, y: number) => number): Vec => a.map((x, i) => f(x, b[i]));
const scale = (a: Vec, s: number): Vec => a.map((x) => x * s);
const add = (a: Vec, b: Vec): Vec => map2(a, b, (x, y) => x + y);
const sub = (a: Vec, b: Vec): Vec => map2(a, b, (x, y) => x - y);
const mul = (a: Vec, b: Vec): Vec => map2(a, b, (x, y) => x * y);
const div = (a: Vec, b: Vec): Vec => map2(a, b, (x, y) => x / y);
const sqrt = (a: Vec): Vec => a.map(Math.sqrt);
const square = (a: Vec): Vec => a.map((x) => x * x);
const addS = (a: Vec, s: number): Vec => a.map((x) => x + s);
const l2 = (a: Vec): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0));

/** Keras 3's trajectory in float64: the weights of both variables, flattened, after each of the T steps. */
export function kerasTrajectory(spec: OracleSpec, steps = T): number[][] {
  let w = initialWeights();
  const slots: Record<string, Vec[]> = {};
  const slot = (name: string, init = 0): Vec[] => (slots[name] ??= w.map((x) => x.map(() => init)));
  const out: number[][] = [];
  for (let iterations = 0; iterations < steps; iterations++) {
    let grads = gradsAt(iterations).map((g) => scale(g, spec.gradScale ?? 1));
    // _clip_gradients
    if (spec.clipNorm) grads = grads.map((g) => scale(g, spec.clipNorm! / Math.max(l2(g), spec.clipNorm!)));
    else if (spec.globalClipNorm) {
      const gn = l2(grads.flat());
      grads = grads.map((g) => scale(g, spec.globalClipNorm! * Math.min(1 / gn, 1 / spec.globalClipNorm!)));
    } else if (spec.clipValue) grads = grads.map((g) => g.map((x) => Math.min(Math.max(x, -spec.clipValue!), spec.clipValue!)));
    const lr = typeof spec.lr === 'number' ? spec.lr : spec.lr(iterations);
    // _apply_weight_decay
    if (spec.weightDecay !== undefined) {
      w = w.map((v, k) => (spec.noDecay?.includes(k) ? v : sub(v, scale(v, spec.weightDecay! * lr))));
    }
    // update_step per variable
    w = w.map((v, k) => {
      const g = grads[k];
      switch (spec.kind) {
        case 'sgd': {
          const mu = spec.momentum ?? 0;
          if (mu === 0) return sub(v, scale(g, lr));
          const m = slot('momentum');
          m[k] = sub(scale(m[k], mu), scale(g, lr));
          return spec.nesterov ? add(v, sub(scale(m[k], mu), scale(g, lr))) : add(v, m[k]);
        }
        case 'adam': {
          const b1 = spec.beta1 ?? 0.9;
          const b2 = spec.beta2 ?? 0.999;
          const eps = spec.epsilon ?? 1e-7;
          const localStep = iterations + 1;
          const alpha = (lr * Math.sqrt(1 - b2 ** localStep)) / (1 - b1 ** localStep);
          const m = slot('m');
          const vv = slot('v');
          m[k] = add(m[k], scale(sub(g, m[k]), 1 - b1));
          vv[k] = add(vv[k], scale(sub(square(g), vv[k]), 1 - b2));
          let den = vv[k];
          if (spec.amsgrad) {
            const vh = slot('vhat');
            vh[k] = map2(vh[k], vv[k], Math.max);
            den = vh[k];
          }
          return sub(v, div(scale(m[k], alpha), addS(sqrt(den), eps)));
        }
        case 'rmsprop': {
          const rho = spec.rho ?? 0.9;
          const eps = spec.epsilon ?? 1e-7;
          const mu = spec.momentum ?? 0;
          const vel = slot('velocity');
          vel[k] = add(scale(vel[k], rho), scale(square(g), 1 - rho));
          let den: Vec;
          if (spec.centered) {
            const ag = slot('average_gradient');
            ag[k] = add(scale(ag[k], rho), scale(g, 1 - rho));
            den = addS(sub(vel[k], square(ag[k])), eps);
          } else den = addS(vel[k], eps);
          const inc = div(scale(g, lr), sqrt(den));
          if (mu > 0) {
            const m = slot('momentum');
            m[k] = add(scale(m[k], mu), inc);
            return sub(v, m[k]);
          }
          return sub(v, inc);
        }
        case 'adagrad': {
          const eps = spec.epsilon ?? 1e-7;
          const acc = slot('accumulator', spec.initialAccumulatorValue ?? 0.1);
          acc[k] = add(acc[k], square(g));
          return sub(v, div(scale(g, lr), sqrt(addS(acc[k], eps))));
        }
        case 'adadelta': {
          const rho = spec.rho ?? 0.95;
          const eps = spec.epsilon ?? 1e-7;
          const rms = (x: Vec) => sqrt(addS(x, eps));
          const ag = slot('accumulated_grad');
          const ad = slot('accumulated_delta_var');
          ag[k] = add(scale(ag[k], rho), scale(square(g), 1 - rho));
          const delta = scale(div(mul(rms(ad[k]), g), rms(ag[k])), -1);
          ad[k] = add(scale(ad[k], rho), scale(square(delta), 1 - rho));
          return add(v, scale(delta, lr));
        }
      }
    });
    out.push(w.flat());
  }
  return out;
}

/** Per-element atol = 2u * (T * W + 4 * T^2 * D) over the expected trajectory (see the top of this file). */
export function trajectoryTolerance(expected: readonly (readonly number[])[], start: readonly number[] = initialWeights().flat()): number[] {
  const steps = expected.length;
  return start.map((w0, j) => {
    let W = Math.abs(w0);
    let D = 0;
    let prev = w0;
    for (const row of expected) {
      W = Math.max(W, Math.abs(row[j]));
      D = Math.max(D, Math.abs(row[j] - prev));
      prev = row[j];
    }
    return 2 * EPS32 * (steps * W + 4 * steps * steps * D);
  });
}

/** Compares every step of a trajectory elementwise against the expected one with the derived tolerance. */
export function assertTrajectory(actual: readonly (readonly number[])[], expected: readonly (readonly number[])[], what: string): { worstRatio: number } {
  const tol = trajectoryTolerance(expected);
  let worstRatio = 0;
  expected.forEach((row, t) => {
    row.forEach((e, j) => {
      const err = Math.abs(actual[t][j] - e);
      worstRatio = Math.max(worstRatio, err / tol[j]);
      if (!(err <= tol[j])) assertClose([actual[t][j]], [e], { atol: tol[j], what: `${what}, step ${t + 1}, element ${j}` });
    });
  });
  return { worstRatio };
}
