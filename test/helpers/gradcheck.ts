/**
 * Finite-difference gradient check in float64.
 *
 * For a kernel y = f(x1..xk) and its backward g(dy) = (dL/dx1..dL/dxk) with L = <dy, y> for a random dy,
 * each checked input element gets the central difference (L(x + h e) - L(x - h e)) / 2h.
 * Its error is h^2/6 |L'''| (truncation) + about eps64 |L| / h (rounding). With h = 1e-5 and O(1) data both
 * terms are below 1e-9, so a tolerance of 1e-6 (relative to max(1, |g|)) has three orders of margin, while a
 * wrong formula is off by O(1). Non-smooth ops (relu, max pool) need data away from their kinks: the caller
 * chooses inputs whose ties and kinks are farther than h.
 */
import { uniformF64 } from './random.js';

export interface GradCheckCase {
  /** The point at which to check, one array per input. */
  inputs: Float64Array[];
  /** Flat output of the kernel. */
  forward: (xs: Float64Array[]) => ArrayLike<number>;
  /** Gradients for each input listed in `wrt` (same order as `inputs`; entries for unlisted inputs are ignored). */
  backward: (xs: Float64Array[], dy: Float64Array) => (ArrayLike<number> | undefined)[];
  /** Which inputs to check (default: all). */
  wrt?: number[];
  /** Names the case in the failure message. */
  what: string;
  seed?: number;
  h?: number;
  tol?: number;
  /** Check at most this many elements per input (evenly spread), to bound the cost on big cases. */
  maxPerInput?: number;
}

export function gradCheck(c: GradCheckCase): void {
  const h = c.h ?? 1e-5;
  const tol = c.tol ?? 1e-6;
  const y0 = c.forward(c.inputs);
  const dy = uniformF64(y0.length, c.seed ?? 7, -1, 1);
  const loss = (xs: Float64Array[]): number => {
    const y = c.forward(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += dy[i] * y[i];
    return s;
  };
  const analytic = c.backward(c.inputs, dy);
  const wrt = c.wrt ?? c.inputs.map((_, i) => i);
  for (const k of wrt) {
    const x = c.inputs[k];
    const g = analytic[k];
    if (!g || g.length !== x.length) {
      throw new Error(`${c.what}: gradient for input ${k} has length ${g?.length} but the input has ${x.length}`);
    }
    const stride = c.maxPerInput && x.length > c.maxPerInput ? x.length / c.maxPerInput : 1;
    for (let t = 0; t < x.length; t += stride) {
      const i = Math.floor(t);
      const saved = x[i];
      x[i] = saved + h;
      const lp = loss(c.inputs);
      x[i] = saved - h;
      const lm = loss(c.inputs);
      x[i] = saved;
      const num = (lp - lm) / (2 * h);
      const err = Math.abs(num - g[i]);
      if (!(err <= tol * Math.max(1, Math.abs(num), Math.abs(g[i])))) {
        throw new Error(`${c.what}: d/d(input ${k})[${i}]: analytic ${g[i]}, finite difference ${num} (|error| ${err})`);
      }
    }
  }
}
