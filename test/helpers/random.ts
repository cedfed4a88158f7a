/** Seeded test data from the library's own Philox stream: the same seed gives the same case everywhere. */
import { philoxUniformFill } from '../../src/random/philox.js';

/** n float64 values uniform in [lo, hi). */
export function uniformF64(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const u = new Float64Array(n);
  philoxUniformFill(seed, u);
  for (let i = 0; i < n; i++) u[i] = lo + (hi - lo) * u[i];
  return u;
}

export function uniformF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from(uniformF64(n, seed, lo, hi));
}

/** n int32 values uniform in [0, k). */
export function intsBelow(n: number, k: number, seed: number): Int32Array {
  const u = uniformF64(n, seed, 0, 1);
  return Int32Array.from(u, (v) => Math.min(k - 1, Math.floor(v * k)));
}

/** A tiny deterministic integer stream for choosing shapes and attributes in sweeps. */
export class Rng {
  private n = 0;
  constructor(private readonly seed: number) {}
  /** uniform integer in [lo, hi] */
  int(lo: number, hi: number): number {
    const u = new Float64Array(1);
    philoxUniformFill(this.seed, u, this.n++);
    return lo + Math.floor(u[0] * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
}
