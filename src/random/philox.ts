/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
 * generator. The n-th draw is a pure function of (seed, n), so a kernel on any backend, split over any number
 * of threads, produces the same numbers; the native and CUDA backends implement the same function.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (exact in doubles via 16-bit halves). */
function mulhi32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const lh = aL * bH;
  const hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/**
 * One Philox4x32-10 block: key = (k0, k1), counter = (c0, c1, c2, c3), all uint32. Writes 4 uint32 to out.
 */
export function philox4x32(k0: number, k1: number, c0: number, c1: number, c2: number, c3: number, out: Uint32Array): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let key0 = k0 >>> 0, key1 = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** Splits a seed (any integer in [0, 2^53)) into the two key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

/** uint32 -> float in [0, 1) with 24 random bits: exactly representable in float32. */
export function uint32ToUnit(u: number): number {
  return (u >>> 8) * (1 / 16777216);
}

/**
 * Fills `out` with uniform [0, 1) draws number `offset`, `offset+1`, ... of stream (seed).
 * Draw n is word (n % 4) of block floor(n / 4), counter = (block low, block high, 0, 0).
 */
export function philoxUniformFill(seed: number, out: Float32Array | Float64Array, offset = 0): void {
  const [k0, k1] = seedKey(seed);
  const words = new Uint32Array(4);
  let block = -1;
  for (let i = 0; i < out.length; i++) {
    const n = offset + i;
    const b = Math.floor(n / 4);
    if (b !== block) {
      block = b;
      philox4x32(k0, k1, b >>> 0, Math.floor(b / 4294967296) >>> 0, 0, 0, words);
    }
    out[i] = uint32ToUnit(words[n & 3]);
  }
}
