/**
 * The seeded generator and the random creation ops: reproducibility (same seed, bit-identical), the stream
 * layout against philox.ts, ranges, and moments within 5 standard errors over 1e5 draws (each test is seeded,
 * so it is deterministic; the bound says a correct sampler passes for all but a negligible share of seeds).
 */
import { describe, expect, it } from 'vitest';
import { DTypeError, ValueError } from '../../src/errors.js';
import { philox4x32, philoxUniformFill, seedKey } from '../../src/random/philox.js';
import { Generator, getDefaultGenerator, manualSeed, resolveGenerator } from '../../src/tensor/random.js';
import { rand, randInt, randn, truncatedNormal, uniform } from '../../src/tensor/creation.js';
import { expectError } from '../helpers/errors.js';


function moments(x: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i] - mean) ** 2;
  return { mean, variance: q / x.length };
}

const N = 100_000;

describe('Generator', () => {
  it('hands out the words of the Philox stream in order (block b = counter (b, 0, 0, 0))', () => {
    const seed = 2 ** 40 + 12345; // exercises the high key word
    const g = new Generator(seed);
    const [k0, k1] = seedKey(seed);
    const words = new Uint32Array(4);
    for (let b = 0; b < 3; b++) {
      philox4x32(k0, k1, b, 0, 0, 0, words);
      for (let w = 0; w < 4; w++) expect(g.nextUint32()).toBe(words[w]);
    }
    expect(g.offset).toBe(12);
  });

  it('nextFloat32 matches philoxUniformFill of the same seed', () => {
    const g = new Generator(9);
    const want = new Float64Array(10);
    philoxUniformFill(9, want);
    for (let i = 0; i < 10; i++) expect(g.nextFloat32()).toBe(want[i]);
  });

  it('nextFloat64 takes 27 + 26 bits of two words', () => {
    const a = new Generator(5);
    const b = new Generator(5);
    for (let i = 0; i < 100; i++) {
      const hi = b.nextUint32() >>> 5;
      const lo = b.nextUint32() >>> 6;
      const u = a.nextFloat64();
      expect(u).toBe((hi * 2 ** 26 + lo) / 2 ** 53);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });

  it('caches the second Box–Muller value', () => {
    const g = new Generator(1);
    g.nextNormal();
    expect(g.offset).toBe(4); // two float64 draws = four words
    g.nextNormal();
    expect(g.offset).toBe(4); // served from the cache
    g.nextNormal();
    expect(g.offset).toBe(8);
  });

  it('restarts its stream on manualSeed, spare normal included', () => {
    const g = new Generator(3);
    const first = [g.nextNormal(), g.nextNormal(), g.nextNormal()];
    g.manualSeed(3);
    expect([g.nextNormal(), g.nextNormal(), g.nextNormal()]).toEqual(first);
    expect(g.seed).toBe(3);
  });

  it('is seeded from the OS when no seed is given', () => {
    const a = new Generator();
    const b = new Generator();
    expect(Number.isSafeInteger(a.seed)).toBe(true);
    expect(a.seed).not.toBe(b.seed); // 2^-53 chance of a false failure
  });

  it('nextBelow covers [0, n) evenly', () => {
    const g = new Generator(11);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[g.nextBelow(6)]++;
    // Each count is Binomial(60000, 1/6): sd = sqrt(60000 * 1/6 * 5/6) ~ 91.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt(60_000 * (1 / 6) * (5 / 6)));
  });

  it('nextSeed returns safe integers that differ', () => {
    const g = new Generator(4);
    const s1 = g.nextSeed();
    const s2 = g.nextSeed();
    expect(Number.isSafeInteger(s1) && s1 >= 0).toBe(true);
    expect(s1).not.toBe(s2);
  });

  it('rejects bad seeds', () => {
    expectError(() => new Generator(-1), ValueError, 'Generator:', "'seed'");
    expectError(() => new Generator(1.5), ValueError, 'Generator:', "'seed'");
    expectError(() => new Generator(2 ** 53), ValueError, 'Generator:', "'seed'");
    expectError(() => manualSeed(NaN), ValueError, 'manualSeed:', "'seed'");
    expectError(() => manualSeed('7' as never), ValueError, 'manualSeed:', "'seed'");
    expectError(() => resolveGenerator('rand', 'abc' as never), DTypeError, 'rand:', "'seed'", 'string');
  });
});

describe('manualSeed and the default generator', () => {
  it('makes unseeded draws reproducible', () => {
    const g = manualSeed(123);
    expect(g).toBe(getDefaultGenerator());
    const a = rand([5]);
    const b = randn([5]);
    manualSeed(123);
    expect(rand([5]).data).toEqual(a.data);
    expect(randn([5]).data).toEqual(b.data);
  });

  it('reseeds in place, so held references follow', () => {
    const held = getDefaultGenerator();
    manualSeed(7);
    expect(getDefaultGenerator()).toBe(held);
    expect(held.seed).toBe(7);
  });
});

describe('seeded random tensors', () => {
  it('the same seed gives bit-identical tensors; another seed does not', () => {
    const makers = [
      (seed: number) => rand([4, 5], { seed }),
      (seed: number) => uniform([20], -2, 3, { seed }),
      (seed: number) => randn([3, 7], { mean: 1, std: 2, seed }),
      (seed: number) => truncatedNormal([21], { seed }),
      (seed: number) => randInt([20], -5, 50, { seed }),
    ];
    for (const make of makers) {
      const a = make(42);
      const b = make(42);
      expect(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)).toEqual(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
      expect(Array.from(make(43).data)).not.toEqual(Array.from(a.data));
    }
  });

  it('a Generator seed is drawn from and advanced', () => {
    const g = new Generator(8);
    const a = rand([3], { seed: g });
    const b = rand([3], { seed: g });
    expect([...a.data, ...b.data]).toEqual([...rand([6], { seed: 8 }).data]);
  });

  it('rand is the philox uniform stream: float32 in [0, 1) with 24-bit resolution', () => {
    const t = rand([2, 500], { seed: 17 });
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 500]);
    const want = new Float32Array(1000);
    philoxUniformFill(17, want);
    expect(t.data).toEqual(want);
    for (const v of t.data) {
      expect(v >= 0 && v < 1).toBe(true);
      expect(Number.isInteger(v * 2 ** 24)).toBe(true);
    }
  });

  it('uniform stays in [min, max) and has the right moments', () => {
    const t = uniform([N], -2, 3, { seed: 5 });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of t.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(-2);
    expect(hi).toBeLessThan(3);
    const { mean, variance } = moments(t.data);
    const sd = 5 / Math.sqrt(12); // of U(-2, 3)
    expect(Math.abs(mean - 0.5)).toBeLessThan((5 * sd) / Math.sqrt(N));
    // Var of the sample variance of a uniform: (mu4 - sigma^4) / n with mu4 = 9/5 sigma^4.
    expect(Math.abs(variance - sd * sd)).toBeLessThan(5 * Math.sqrt(0.8 / N) * sd * sd);
  });

  it('uniform never returns max even where float32 rounding would reach it', () => {
    // float32 spacing below 1 is 2^-24: a 1/32 share of these draws lies within 2^-25 of 1 and rounds up to it.
    const t = uniform([N], 1 - 2 ** -20, 1, { seed: 2 });
    let hi = 0;
    for (const v of t.data) hi = Math.max(hi, v);
    expect(hi).toBe(1 - 2 ** -24); // the clamped draws sit just below max
  });

  it('randn has mean and std within 5 standard errors over 1e5 draws', () => {
    for (const [mean, std, seed] of [[0, 1, 1], [2, 3, 2], [-1, 0.5, 3]]) {
      const t = randn([N], { mean, std, seed });
      const z = Float64Array.from(t.data, (v) => (v - mean) / std);
      const m = moments(z);
      expect(Math.abs(m.mean), `mean of randn(${mean}, ${std})`).toBeLessThan(5 / Math.sqrt(N));
      expect(Math.abs(m.variance - 1), `variance of randn(${mean}, ${std})`).toBeLessThan(5 * Math.sqrt(2 / N));
    }
  });

  it('randn with std 0 is the mean', () => {
    expect(Array.from(randn([3], { mean: 4, std: 0, seed: 1 }).data)).toEqual([4, 4, 4]);
  });

  it('truncatedNormal stays within 2 std and has the truncated moments', () => {
    const t = truncatedNormal([N], { mean: 0, std: 1, seed: 9 });
    for (const v of t.data) expect(Math.abs(v)).toBeLessThanOrEqual(2);
    // N(0,1) truncated to [-2, 2]: variance 1 - 4 phi(2) / (2 Phi(2) - 1).
    const phi2 = Math.exp(-2) / Math.sqrt(2 * Math.PI);
    const mass = 0.9544997361036416; // erf(sqrt 2)
    const v = 1 - (4 * phi2) / mass;
    const m = moments(t.data);
    expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(v / N));
    // Lighter tails than a normal, so 2 sigma^4 / n bounds the variance of the sample variance.
    expect(Math.abs(m.variance - v)).toBeLessThan(5 * Math.sqrt(2 / N) * v);

    const s = truncatedNormal([10_000], { mean: 5, std: 0.05, seed: 10 });
    for (const x of s.data) expect(Math.abs(x - 5)).toBeLessThanOrEqual(0.1 + 1e-6);
  });

  it('randInt draws int32 in [low, high), every value about equally often', () => {
    const t = randInt([60_000], -3, 3, { seed: 6 });
    expect(t.dtype).toBe('int32');
    const counts = new Map<number, number>();
    for (const v of t.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(5 * Math.sqrt(60_000 * (1 / 6) * (5 / 6)));
    const wide = randInt([1000], -(2 ** 31), 2 ** 31, { seed: 1 });
    expect(wide.data.some((v) => v < 0) && wide.data.some((v) => v > 0)).toBe(true);
    expect(Array.from(randInt([4], 7, 8, { seed: 1 }).data)).toEqual([7, 7, 7, 7]);
  });

  it('rejects bad input, naming op and argument', () => {
    expectError(() => rand([2, -1]), ValueError, 'rand:', "'shape'", '[2,-1]');
    expectError(() => rand([2], { dtype: 'int32' }), DTypeError, 'rand:', "'dtype'", 'randInt');
    expectError(() => rand([2], { seed: -3 }), ValueError, 'rand:', "'seed'");
    expectError(() => rand([2], 5 as never), DTypeError, 'rand:', "'options'");
    expectError(() => uniform([2], 1, 1), ValueError, 'uniform:', "'min' = 1", "'max' = 1");
    expectError(() => uniform([2], 0, Infinity), ValueError, 'uniform:', "'max'");
    expectError(() => uniform([2.5], 0, 1), ValueError, 'uniform:', "'shape'");
    expectError(() => randn([2], { std: -1 }), ValueError, 'randn:', "'std'");
    expectError(() => randn([2], { mean: NaN }), ValueError, 'randn:', "'mean'");
    expectError(() => truncatedNormal([2], { std: Infinity }), ValueError, 'truncatedNormal:', "'std'");
    expectError(() => truncatedNormal([2], { seed: 'x' as never }), DTypeError, 'truncatedNormal:', "'seed'");
    expectError(() => randInt([2], 3, 3), ValueError, 'randInt:', "'low' = 3", "'high' = 3");
    expectError(() => randInt([2], 0.5, 3), ValueError, 'randInt:', "'low'");
    expectError(() => randInt([2], 0, 2 ** 32), ValueError, 'randInt:', "'high'");
    expectError(() => randInt('2' as never, 0, 3), DTypeError, 'randInt:', "'shape'");
  });
});
