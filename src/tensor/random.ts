/**
 * The stateful random generator behind every seeded op (rand, randn, initializers, shuffles).
 *
 * A `Generator` walks the Philox4x32-10 stream of its seed (src/random/philox.ts): uint32 draw n is word
 * n % 4 of block floor(n / 4), the same layout as `philoxUniformFill`, so a generator's output is a pure
 * function of (seed, number of words drawn) and the same seed gives bit-identical tensors on any machine.
 *
 * The global default generator is seeded from `crypto.getRandomValues` the first time it is used, so
 * unseeded runs differ (as in PyTorch and NumPy's `default_rng()`); call `manualSeed(seed)` for
 * reproducible runs.
 */
import { getRandomValues } from 'node:crypto';
import { DTypeError, ValueError, opError } from '../errors.js';
import { philox4x32, seedKey, uint32ToUnit } from '../random/philox.js';

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** What a `seed` option accepts: a seed for a fresh generator, or a generator to draw from (and advance). */
export type SeedLike = number | Generator;

/** A non-negative safe integer, the seeds Philox keys are built from. */
function checkSeed(op: string, arg: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw opError(ValueError, op, `argument '${arg}' must be a non-negative integer below 2^53, got ${String(seed)}`);
  }
  return seed;
}

/** 53 random bits from the OS, for generators nobody seeded. */
function entropySeed(): number {
  const w = getRandomValues(new Uint32Array(2));
  return (w[0] >>> 11) * TWO_POW_32 + w[1];
}

export class Generator {
  private seed_ = 0;
  private k0 = 0;
  private k1 = 0;
  /** Index of the next Philox block (a 64-bit counter kept as a double: exact below 2^53). */
  private block = 0;
  private readonly words = new Uint32Array(4);
  /** Next word of `words` to hand out; 4 means the block is used up. */
  private word = 4;
  /** Box–Muller yields two normals per pair of uniforms; the second waits here. */
  private spareNormal: number | undefined;

  /** `seed` omitted: 53 bits from `crypto.getRandomValues` (not reproducible). */
  constructor(seed?: number) {
    this.manualSeed(seed === undefined ? entropySeed() : checkSeed('Generator', 'seed', seed));
  }

  /** The seed the stream started from (the entropy-drawn one for unseeded generators). */
  get seed(): number {
    return this.seed_;
  }

  /** Number of uint32 words drawn since seeding: with `seed`, locates the generator in its stream. */
  get offset(): number {
    return this.block * 4 - (4 - this.word);
  }

  /** Restarts the stream of `seed` from its beginning. */
  manualSeed(seed: number): this {
    checkSeed('manualSeed', 'seed', seed);
    [this.k0, this.k1] = seedKey(seed);
    this.seed_ = seed;
    this.block = 0;
    this.word = 4;
    this.spareNormal = undefined;
    return this;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    if (this.word === 4) {
      const b = this.block++;
      philox4x32(this.k0, this.k1, b >>> 0, Math.floor(b / TWO_POW_32) >>> 0, 0, 0, this.words);
      this.word = 0;
    }
    return this.words[this.word++];
  }

  /** Uniform in [0, 1) with 53 random bits (27 + 26 from two words, as NumPy's genrand_res53). */
  nextFloat64(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** Uniform in [0, 1) with 24 random bits, exact in float32 (rounding a 53-bit draw could give 1). */
  nextFloat32(): number {
    return uint32ToUnit(this.nextUint32());
  }

  /** Standard normal by Box–Muller; the second value of each pair is cached for the next call. */
  nextNormal(): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return z;
    }
    const u1 = 1 - this.nextFloat64(); // in (0, 1], so the log is finite
    const u2 = this.nextFloat64();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, without modulo bias (rejects the incomplete last range). */
  nextBelow(n: number): number {
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const u = this.nextUint32();
      if (u < limit) return u % n;
    }
  }

  /** A fresh 53-bit seed, for kernels that take a seed (dropout) so that they follow this stream. */
  nextSeed(): number {
    return (this.nextUint32() >>> 11) * TWO_POW_32 + this.nextUint32();
  }
}

let defaultGenerator: Generator | undefined;

/** The global generator used when an op is given no seed; created (entropy-seeded) on first use. */
export function getDefaultGenerator(): Generator {
  defaultGenerator ??= new Generator();
  return defaultGenerator;
}

/** Seeds the global default generator (in place, so references to it follow); returns it. */
export function manualSeed(seed: number): Generator {
  checkSeed('manualSeed', 'seed', seed);
  return getDefaultGenerator().manualSeed(seed);
}

/** The generator an op draws from: a fresh one for a number, the given one, or the default. */
export function resolveGenerator(op: string, seed: SeedLike | undefined, arg = 'seed'): Generator {
  if (seed === undefined) return getDefaultGenerator();
  if (seed instanceof Generator) return seed;
  if (typeof seed === 'number') return new Generator(checkSeed(op, arg, seed));
  throw opError(DTypeError, op, `argument '${arg}' must be a number or a Generator, got ${seed === null ? 'null' : typeof seed}`);
}
