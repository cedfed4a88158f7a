/** dropout: seeded determinism, the inverted-dropout mask, identity outside training, generators. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { random } from './fixtures.js';

beforeAll(() => setBackend('reference'));

describe('dropout', () => {
  const x = random([100, 100], 1);

  it('the same seed gives the same output; another seed another', () => {
    const a = ops.dropout(x, { rate: 0.3, seed: 42 });
    const b = ops.dropout(x, { rate: 0.3, seed: 42 });
    const c = ops.dropout(x, { rate: 0.3, seed: 43 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    expect(Array.from(ops.dropoutWithMask(x, { rate: 0.3, seed: 42 }).y.data)).toEqual(Array.from(a.data));
  });

  it('mask is 0 or 1/(1-rate), y = x * mask, and about `rate` of the elements are dropped', () => {
    const { y, mask } = ops.dropoutWithMask(x, { rate: 0.5, seed: 7 });
    let dropped = 0;
    for (let i = 0; i < x.size; i++) {
      expect([0, 2]).toContain(mask.data[i]);
      expect(y.data[i]).toBe(Math.fround(x.data[i] * mask.data[i]));
      if (mask.data[i] === 0) dropped++;
    }
    // Binomial(10000, 0.5): standard deviation 50, so 5 sigma is 250.
    expect(Math.abs(dropped - 5000)).toBeLessThan(250);
  });

  it('training false and rate 0 are the identity; dropoutWithMask then returns a mask of ones', () => {
    expect(ops.dropout(x, { rate: 0.5, training: false })).toBe(x);
    expect(ops.dropout(x, { rate: 0, seed: 3 })).toBe(x);
    const r = ops.dropoutWithMask(x, { rate: 0.5, training: false });
    expect(r.y).toBe(x);
    expect(r.mask.shape).toEqual(x.shape);
    expect(r.mask.data.every((v) => v === 1)).toBe(true);
  });

  it('a Generator (or the seeded default generator) gives a fresh mask per call and replays from its seed', () => {
    const g1 = new Generator(5);
    const a1 = ops.dropout(x, { rate: 0.5, seed: g1 });
    const a2 = ops.dropout(x, { rate: 0.5, seed: g1 });
    expect(Array.from(a1.data)).not.toEqual(Array.from(a2.data));
    const g2 = new Generator(5);
    expect(Array.from(ops.dropout(x, { rate: 0.5, seed: g2 }).data)).toEqual(Array.from(a1.data));
    manualSeed(9);
    const d1 = ops.dropout(x, { rate: 0.5 });
    manualSeed(9);
    expect(Array.from(ops.dropout(x, { rate: 0.5 }).data)).toEqual(Array.from(d1.data));
  });
});
