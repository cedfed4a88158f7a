/**
 * Initializers: Keras fans and formulas, the statistics of the draws (bounds, mean and variance within 5 standard
 * errors of the sample size), and reproducibility through the library's Philox generator (manualSeed, seeds).
 */
import { describe, expect, it } from 'vitest';

import { manualSeed } from '../../src/tensor/random.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { initializers, layers, sequential } from '../../src/nn/index.js';
import { computeFans, getInitializer } from '../../src/nn/initializers.js';
import { ValueError } from '../../src/errors.js';
import { expectError } from '../helpers/errors.js';

function stats(t: Tensor): { mean: number; variance: number; maxAbs: number; n: number } {
  const d = t.data;
  let s = 0;
  let m = 0;
  for (const v of d) {
    s += v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / d.length;
  let q = 0;
  for (const v of d) q += (v - mean) ** 2;
  return { mean, variance: q / d.length, maxAbs: m, n: d.length };
}

/** Checks a sample against a distribution of variance v with fourth moment m4, at 5 standard errors. */
function expectMoments(t: Tensor, v: number, m4: number, what: string): void {
  const s = stats(t);
  expect(Math.abs(s.mean), `${what}: mean`).toBeLessThan(5 * Math.sqrt(v / s.n));
  expect(Math.abs(s.variance - v), `${what}: variance ${s.variance} vs ${v}`).toBeLessThan(5 * Math.sqrt((m4 - v * v) / s.n));
}

// Fourth moments: uniform on [-L, L] has L^4 / 5; a normal 3 sigma^4; the normal truncated at 2 sigma (rescaled
// to variance sigma^2) has E z^4 / (E z^2)^2 = 2.3655 (integrated numerically from the truncated density).
const uniformM4 = (limit: number) => limit ** 4 / 5;
const TRUNC_KURTOSIS = 2.3655;

describe('fans (Keras compute_fans)', () => {
  it('dense [in, out], conv kernels scaled by the receptive field, vectors and scalars', () => {
    expect(computeFans([784, 128])).toEqual([784, 128]);
    expect(computeFans([3, 3, 16, 32])).toEqual([144, 288]);
    expect(computeFans([5, 8, 4])).toEqual([40, 20]);
    expect(computeFans([7])).toEqual([7, 7]);
    expect(computeFans([])).toEqual([1, 1]);
  });
});

describe('distributions', () => {
  it('glorotUniform draws from [-sqrt(6/(fanIn+fanOut)), +...] with variance limit^2/3', () => {
    for (const shape of [[100, 200], [3, 3, 16, 32]]) {
      const [fi, fo] = computeFans(shape);
      const limit = Math.sqrt(6 / (fi + fo));
      const w = initializers.glorotUniform({ seed: 1 }).call(shape);
      const s = stats(w);
      expect(s.maxAbs).toBeLessThanOrEqual(limit);
      expect(s.maxAbs).toBeGreaterThan(0.99 * limit);
      expectMoments(w, limit * limit / 3, uniformM4(limit), `glorotUniform ${shape}`);
    }
  });

  it('heUniform and lecunUniform use sqrt(6/fanIn) and sqrt(3/fanIn)', () => {
    const he = initializers.heUniform({ seed: 2 }).call([400, 50]);
    const lim = Math.sqrt(6 / 400);
    expect(stats(he).maxAbs).toBeLessThanOrEqual(lim);
    expectMoments(he, lim * lim / 3, uniformM4(lim), 'heUniform');
    const lc = initializers.lecunUniform({ seed: 3 }).call([300, 40]);
    expect(stats(lc).maxAbs).toBeLessThanOrEqual(Math.sqrt(3 / 300));
  });

  it('heNormal, glorotNormal and lecunNormal are truncated normals whose std is sqrt(2/fanIn), sqrt(2/(fanIn+fanOut)), sqrt(1/fanIn)', () => {
    const cases: Array<[string, Tensor, number]> = [
      ['heNormal', initializers.heNormal({ seed: 4 }).call([3, 3, 8, 64]), 2 / 72],
      ['glorotNormal', initializers.glorotNormal({ seed: 5 }).call([120, 80]), 2 / 200],
      ['lecunNormal', initializers.lecunNormal({ seed: 6 }).call([256, 64]), 1 / 256],
    ];
    for (const [what, w, v] of cases) {
      expectMoments(w, v, TRUNC_KURTOSIS * v * v, what);
      // Keras divides the std by 0.8796 (the std of a normal truncated at 2) so the draws end at 2 / 0.8796 std.
      expect(stats(w).maxAbs, what).toBeLessThanOrEqual((2 * Math.sqrt(v)) / 0.87962566103423978 * (1 + 1e-6));
    }
  });

  it('randomNormal, randomUniform and truncatedNormal use the Keras defaults (std 0.05, [-0.05, 0.05))', () => {
    const n = initializers.randomNormal({ seed: 7 }).call([10000]);
    expectMoments(n, 0.05 ** 2, 3 * 0.05 ** 4, 'randomNormal');
    const u = initializers.randomUniform({ seed: 8, minval: 2, maxval: 3 }).call([5000]);
    expect(Math.min(...u.data)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...u.data)).toBeLessThan(3);
    const t = initializers.truncatedNormal({ seed: 9, mean: 1, stddev: 0.5 }).call([5000]);
    for (const v of t.data) expect(Math.abs(v - 1)).toBeLessThanOrEqual(1 + 1e-6);
    expect(stats(initializers.randomUniform({ seed: 1 }).call([1000])).maxAbs).toBeLessThanOrEqual(0.05);
  });

  it('zeros, ones and constant', () => {
    expect(Array.from(initializers.zeros().call([2, 2]).data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(initializers.ones().call([3]).data)).toEqual([1, 1, 1]);
    expect(Array.from(initializers.constant({ value: 0.25 }).call([2]).data)).toEqual([0.25, 0.25]);
  });
});

describe('seeding', () => {
  const build = () => sequential([
    layers.conv2d({ filters: 4, kernelSize: 3 }),
    layers.batchNormalization(),
    layers.flatten(),
    layers.dense({ units: 3, kernelInitializer: 'heNormal', biasInitializer: 'randomNormal' }),
  ], { inputShape: [6, 6, 2] });
  const values = (m: ReturnType<typeof build>) => m.weights.map((v) => Array.from(v.value.data));

  it('manualSeed before building gives bit-identical weights; another seed gives others', () => {
    manualSeed(42);
    const a = values(build());
    manualSeed(42);
    const b = values(build());
    manualSeed(43);
    const c = values(build());
    expect(b).toEqual(a);
    expect(c[0]).not.toEqual(a[0]);
  });

  it('a seeded initializer owns its stream: fresh instances repeat, one instance continues', () => {
    const a = initializers.glorotUniform({ seed: 11 }).call([4, 4]);
    const b = initializers.glorotUniform({ seed: 11 }).call([4, 4]);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const shared = initializers.glorotUniform({ seed: 11 });
    shared.call([4, 4]);
    expect(Array.from(shared.call([4, 4]).data)).not.toEqual(Array.from(a.data));
    // Unaffected by the global generator.
    manualSeed(1);
    const c = initializers.heNormal({ seed: 5 }).call([8]);
    manualSeed(2);
    expect(Array.from(initializers.heNormal({ seed: 5 }).call([8]).data)).toEqual(Array.from(c.data));
  });
});

describe('identifiers and configs', () => {
  it("accepts Keras and TF.js spellings and round-trips configs", () => {
    for (const id of ['glorot_uniform', 'glorotUniform', 'GlorotUniform']) expect(getInitializer(id).className).toBe('GlorotUniform');
    const vs = initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'uniform', seed: 3 });
    const back = getInitializer(JSON.parse(JSON.stringify(vs.serialize())));
    expect(back.serialize()).toEqual(vs.serialize());
    expect(Array.from(back.call([5, 5]).data)).toEqual(Array.from(initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'uniform', seed: 3 }).call([5, 5]).data));
  });

  it('rejects unknown names and bad options, naming the layer and option', () => {
    expectError(() => getInitializer('glorot'), ValueError, "unknown initializer \"glorot\"", 'GlorotUniform');
    expectError(() => layers.dense({ units: 2, kernelInitializer: 'nope' }), ValueError, "(Dense): option 'kernelInitializer'", 'unknown initializer');
    expectError(() => initializers.randomUniform({ minval: 1, maxval: 0 }), ValueError, "'minval' (1) must be less than 'maxval' (0)");
    expectError(() => initializers.heNormal({ seed: -1 }), ValueError, "'seed' must be a non-negative integer");
  });
});
