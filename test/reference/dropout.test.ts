import { describe, expect, it } from 'vitest';
import { dropout } from '../../src/backends/reference/dropout.js';
import { philoxUniformFill } from '../../src/random/philox.js';
import { uniformF32, uniformF64 } from '../helpers/random.js';

const t = (data: Float64Array, shape: number[]) => ({ data, shape });

describe('reference dropout', () => {
  it('the same seed gives the same mask; different seeds differ', () => {
    const x = t(uniformF64(1000, 1), [10, 100]);
    const a = dropout(x, 0.4, 123);
    const b = dropout(x, 0.4, 123);
    expect(Array.from(a.mask.data)).toEqual(Array.from(b.mask.data));
    expect(a.mask.shape).toEqual([10, 100]);
    expect(a.y.shape).toEqual([10, 100]);
    const c = dropout(x, 0.4, 124);
    let differ = 0;
    for (let i = 0; i < 1000; i++) if (a.mask.data[i] !== c.mask.data[i]) differ++;
    // independent masks differ at a fraction 2 p (1-p) = 0.48 of positions; 100 of 1000 is far below that.
    expect(differ).toBeGreaterThan(100);
  });

  it('mask is the documented formula: 1/(1-rate) where philoxUniform(seed, i) >= rate, else 0', () => {
    const n = 4099;
    const rate = 0.3;
    const seed = 2 ** 40 + 17;
    const u = new Float64Array(n);
    philoxUniformFill(seed, u);
    const { mask } = dropout(t(new Float64Array(n).fill(1), [n]), rate, seed);
    for (let i = 0; i < n; i++) expect(mask.data[i]).toBe(u[i] >= rate ? 1 / (1 - rate) : 0);
  });

  it('mask values are only 0 and 1/(1-rate); y = x * mask', () => {
    const x = uniformF32(5000, 2);
    const rate = 0.25;
    const { y, mask } = dropout({ data: x, shape: [5000] }, rate, 9);
    expect(y.data).toBeInstanceOf(Float32Array);
    expect(mask.data).toBeInstanceOf(Float32Array);
    const keep = Math.fround(1 / (1 - rate));
    for (let i = 0; i < x.length; i++) {
      expect(mask.data[i] === 0 || mask.data[i] === keep).toBe(true);
      // float32 x * float32 mask, rounded once: exactly the array's own product
      expect(y.data[i]).toBe(Math.fround(x[i] * mask.data[i]));
    }
  });

  it('the dropped fraction over 1e5 elements is within 5 standard deviations of rate', () => {
    const n = 100_000;
    for (const [rate, seed] of [[0.1, 1], [0.5, 2], [0.9, 3]] as const) {
      const { mask } = dropout(t(new Float64Array(n).fill(1), [n]), rate, seed);
      let dropped = 0;
      for (let i = 0; i < n; i++) if (mask.data[i] === 0) dropped++;
      // Binomial(n, rate): standard deviation sqrt(n p (1-p)).
      expect(Math.abs(dropped - n * rate)).toBeLessThanOrEqual(5 * Math.sqrt(n * rate * (1 - rate)));
    }
  });

  it('element i depends only on (seed, i): a prefix of a longer input gets the same mask prefix', () => {
    const long = dropout(t(uniformF64(777, 3), [777]), 0.5, 42);
    for (const len of [1, 3, 4, 5, 100]) {
      const short = dropout(t(uniformF64(len, 4), [len]), 0.5, 42);
      expect(Array.from(short.mask.data)).toEqual(Array.from(long.mask.data.slice(0, len)));
    }
  });

  it('rate 0 keeps everything with mask 1', () => {
    const x = uniformF64(100, 5);
    const { y, mask } = dropout(t(x, [100]), 0, 7);
    expect(Array.from(mask.data)).toEqual(new Array(100).fill(1));
    expect(Array.from(y.data)).toEqual(Array.from(x));
  });
});
