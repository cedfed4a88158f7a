/**
 * Shared arbitraries and seeded data for the property tests. fast-check draws shapes, attributes and a data
 * seed (so shrinking shrinks shapes and attributes, and a failure replays from the printed counterexample);
 * the arrays themselves come from the library's Philox stream (test/helpers/random.ts).
 *
 * The sizes lean on the awkward cases: 0 and 1 in every dimension that allows it, channels 1, 3, 17, 65 (not
 * multiples of any SIMD width), matrix sizes one off the tile sizes (8, 16, 32, 48, 64), lengths that cross
 * every vector body and tail.
 */
import fc from 'fast-check';

import type { KTensor } from '../../src/backends/backend.js';
import { uniformF64 } from '../helpers/random.js';

export { fc };

/** Data seed (shrinks toward 0). */
export const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

/** Batch sizes: empty, single, small. */
export const batchArb = fc.oneof(
  { arbitrary: fc.constant(0), weight: 1 },
  { arbitrary: fc.constant(1), weight: 3 },
  { arbitrary: fc.integer({ min: 2, max: 3 }), weight: 3 },
);

/** Image height or width: 1x1 images often. */
export const spatialArb = fc.oneof(
  { arbitrary: fc.constant(1), weight: 2 },
  { arbitrary: fc.integer({ min: 2, max: 9 }), weight: 5 },
);

/** Channel counts: 1, 3, 17, 65 and small ones. */
export const channelsArb = fc.oneof(
  { arbitrary: fc.constantFrom(1, 3, 17, 65), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 9 }), weight: 1 },
);

/** Matrix sizes M, N: small, and one off every tile size. */
export const tileDimArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 9 }), weight: 3 },
  { arbitrary: fc.constantFrom(15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65), weight: 2 },
  { arbitrary: fc.constant(0), weight: 1 },
);

/** Reduction lengths K: 1 often, small, around powers of two, and 0 rarely. */
export const kDimArb = fc.oneof(
  { arbitrary: fc.constant(1), weight: 2 },
  { arbitrary: fc.integer({ min: 2, max: 40 }), weight: 4 },
  { arbitrary: fc.constantFrom(63, 64, 65, 127, 128, 129, 255, 256, 257), weight: 2 },
  { arbitrary: fc.constant(0), weight: 1 },
);

/** Flat lengths that cross every 4/8/16-lane body and tail, x4 unrolled. */
export const lengthArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 40 }), weight: 3 },
  { arbitrary: fc.constantFrom(63, 64, 65, 127, 128, 129, 255, 256, 257, 1000, 1031), weight: 2 },
);

/** A small dimension for general-rank shapes. */
export const dimArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 6 },
  { arbitrary: fc.constantFrom(0, 7, 8, 9, 16, 17, 33), weight: 2 },
);

/** A shape of rank lo..hi whose size stays at most maxSize (later dims shrink to 1 when it would not). */
export function shapeArb(lo: number, hi: number, maxSize = 4096): fc.Arbitrary<number[]> {
  return fc.array(dimArb, { minLength: lo, maxLength: hi }).map((dims) => {
    let size = 1;
    return dims.map((d) => {
      const v = size * d > maxSize ? 1 : d;
      size *= Math.max(v, 1);
      return v;
    });
  });
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** IEEE specials and float32 edge values. */
export const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-40, 1.1754942e-38, 3.4028235e38, -3.4028235e38];

export interface DataOpts {
  lo?: number;
  hi?: number;
  /** Fraction of elements replaced by SPECIALS (or by `specials`). */
  specialRate?: number;
  specials?: readonly number[];
  /** Round to multiples of 1/quantum: repeated values (ties for max/argmax) and exact halves. */
  quantum?: number;
}

/** n float32 values uniform in [lo, hi) from `seed`, with optional specials and quantisation. */
export function f32data(n: number, seed: number, o: DataOpts = {}): Float32Array {
  const u = uniformF64(n, seed, o.lo ?? -1, o.hi ?? 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = o.quantum ? Math.round(u[i] * o.quantum) / o.quantum : u[i];
  const rate = o.specialRate ?? 0;
  if (rate > 0 && n > 0) {
    const sp = o.specials ?? SPECIALS;
    const pick = uniformF64(2 * n, (seed ^ 0x5bd1e995) >>> 0, 0, 1);
    for (let i = 0; i < n; i++) if (pick[2 * i] < rate) x[i] = sp[Math.floor(pick[2 * i + 1] * sp.length)];
  }
  return x;
}

/** n int32 values uniform in [lo, hi]. */
export function i32data(n: number, seed: number, lo: number, hi: number): Int32Array {
  const u = uniformF64(n, seed, 0, 1);
  return Int32Array.from(u, (v) => Math.min(hi, lo + Math.floor(v * (hi - lo + 1))));
}

export function tf(data: Float32Array, shape: readonly number[]): KTensor<Float32Array> {
  if (data.length !== sizeOf(shape)) throw new Error(`test bug: ${data.length} values for shape ${fmt(shape)}`);
  return { data, shape: [...shape] };
}

export function ti(data: Int32Array, shape: readonly number[]): KTensor<Int32Array> {
  if (data.length !== sizeOf(shape)) throw new Error(`test bug: ${data.length} values for shape ${fmt(shape)}`);
  return { data, shape: [...shape] };
}

/** A float64 copy of |x| (the magnitudes the error bounds are built from, computed by the oracle itself). */
export function abs64(t: KTensor): KTensor<Float64Array> {
  return { data: Float64Array.from(t.data, Math.abs), shape: [...t.shape] };
}

/** A float64 copy of x (exact). */
export function to64(t: KTensor): KTensor<Float64Array> {
  return { data: Float64Array.from(t.data), shape: [...t.shape] };
}

/** Memoises a thunk: magnitudes for the tolerances are computed only when a comparison needs them. */
export function lazy<T>(f: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v as T;
  };
}
