/**
 * Finite-difference check of gradients recorded on the autograd tape, in float64.
 *
 * For y = fn(x1..xk) built from tensor ops and a random dy of y's shape, L = sum(dy * y). The analytic
 * gradient dL/dxi comes from the tape (`gradients()` from L to float64 leaves that require grad); each checked
 * element gets the central difference (L(x + h e) - L(x - h e)) / 2h, with L summed in double from y's data.
 *
 * Error analysis (as test/helpers/gradcheck.ts): truncation h^2/6 |L'''| plus rounding about
 * eps64 sum|dy_i y_i| / h (each y_i carries a relative error near eps64 = 1.1e-16, float64 kernels round once).
 * With h = 1e-5, O(1) data and derivatives, and outputs of at most a few hundred elements, both terms are
 * below 1e-8, so tol = 1e-6 relative to max(1, |numeric|, |analytic|) keeps two orders of margin while a wrong
 * formula is off by O(1). Non-smooth ops (relu, abs, max, clip) need data whose kinks and ties are farther than
 * h from every checked point: the caller chooses such inputs and says why.
 */
import { Tensor } from '../../src/tensor/tensor.js';
import { gradients, noGrad } from '../../src/autograd/index.js';
import { mul } from '../../src/tensor/elementwise.js';
import { sum } from '../../src/tensor/reduction.js';
import { uniformF64 } from './random.js';

export interface TapeGradCheckCase {
  /** Names the case in the failure message. */
  what: string;
  /** The point at which to check: float64 tensors (copied; the caller's tensors are not touched). */
  inputs: Tensor[];
  /** The function under test, built from tensor ops; must return a float64 tensor. */
  fn: (...xs: Tensor[]) => Tensor;
  /** Which inputs to differentiate (default: all); the others are passed as constants. */
  wrt?: number[];
  /** Finite-difference step (default 1e-5). */
  h?: number;
  /** Tolerance relative to max(1, |numeric|, |analytic|) (default 1e-6). */
  tol?: number;
  /** Check at most this many elements per input (evenly spread), to bound the cost on big cases. */
  maxPerInput?: number;
  /** Seed of dy (default 7). */
  seed?: number;
}

/** Throws an Error naming the case, the input, the flat index and both values at the first mismatch. */
export function tapeGradCheck(c: TapeGradCheckCase): void {
  const h = c.h ?? 1e-5;
  const tol = c.tol ?? 1e-6;
  const wrt = c.wrt ?? c.inputs.map((_, i) => i);
  c.inputs.forEach((x, i) => {
    if (!(x instanceof Tensor) || x.dtype !== 'float64') {
      throw new Error(`${c.what}: input ${i} must be a float64 Tensor (finite differences need float64), got ${x instanceof Tensor ? x.dtype : typeof x}`);
    }
  });
  // Private copies: the differences perturb these arrays in place.
  const data = c.inputs.map((x) => Float64Array.from(x.data));
  const consts = c.inputs.map((x, i) => new Tensor(data[i], x.shape));

  // Analytic: through the tape from L = sum(dy * y) to fresh leaves.
  const leaves = c.inputs.map((x, i) => (wrt.includes(i) ? new Tensor(data[i], x.shape).requireGrad() : consts[i]));
  const y = c.fn(...leaves);
  if (!(y instanceof Tensor) || y.dtype !== 'float64') {
    throw new Error(`${c.what}: fn must return a float64 Tensor, got ${y instanceof Tensor ? y.dtype : typeof y}`);
  }
  const dyData = uniformF64(y.size, c.seed ?? 7, -1, 1);
  const dy = new Tensor(dyData, y.shape);
  if (!y.requiresGrad) throw new Error(`${c.what}: the output does not require grad: fn recorded nothing on the tape`);
  const grads = gradients(sum(mul(y, dy)), wrt.map((k) => leaves[k]));

  const loss = (): number =>
    noGrad(() => {
      const out = c.fn(...consts);
      let s = 0;
      for (let i = 0; i < out.size; i++) s += dyData[i] * out.data[i];
      return s;
    });

  wrt.forEach((k, slot) => {
    const x = data[k];
    const g = grads[slot];
    if (g.dtype !== 'float64' || g.size !== x.length || g.shape.join() !== c.inputs[k].shape.join()) {
      throw new Error(`${c.what}: gradient for input ${k} is ${g.dtype} [${g.shape}] but the input is float64 [${c.inputs[k].shape}]`);
    }
    const gd = g.data;
    const stride = c.maxPerInput && x.length > c.maxPerInput ? x.length / c.maxPerInput : 1;
    for (let t = 0; t < x.length; t += stride) {
      const i = Math.floor(t);
      const saved = x[i];
      x[i] = saved + h;
      const lp = loss();
      x[i] = saved - h;
      const lm = loss();
      x[i] = saved;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(num - gd[i]);
      if (!(err <= tol * Math.max(1, Math.abs(num), Math.abs(gd[i])))) {
        throw new Error(`${c.what}: d/d(input ${k})[${i}]: analytic ${gd[i]}, finite difference ${num} (|error| ${err})`);
      }
    }
  });
}

/** A float64 tensor of `shape`, uniform in [lo, hi) from the Philox stream of `seed`. */
export function randF64(shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return new Tensor(uniformF64(n, seed, lo, hi), shape);
}

/**
 * randF64, with every value within `gap` of a kink moved 2 gap past it, so that central differences of step
 * h << gap never straddle the kink (relu at 0, relu6 at 0 and 6, clip at its bounds).
 */
export function randAway(shape: readonly number[], seed: number, kinks: readonly number[], gap = 0.05, lo = -1, hi = 1): Tensor {
  const t = randF64(shape, seed, lo, hi);
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    for (const k of kinks) if (Math.abs(d[i] - k) < gap) d[i] = k + (d[i] >= k ? 2 : -2) * gap;
  }
  return t;
}

/**
 * A float64 tensor of distinct values, neighbours more than gap/2 apart, in a seeded random order, so that every max,
 * min and sort is decided by more than the finite-difference step (no ties).
 */
export function distinctF64(shape: readonly number[], seed: number, gap = 0.1): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const keys = uniformF64(n, seed, 0, 1);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
  const data = new Float64Array(n);
  const jitter = uniformF64(n, seed + 1, 0, gap / 2);
  // Rank r maps to (r - n/2) gap plus a jitter below gap/2: neighbours stay more than gap/2 apart.
  order.forEach((pos, r) => (data[pos] = (r - n / 2) * gap + jitter[r]));
  return new Tensor(data, shape);
}
