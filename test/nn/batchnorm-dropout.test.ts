/**
 * The two layers whose behaviour depends on `training`: batch normalization (batch statistics and an in-place
 * moving-average update in training; moving statistics in inference; a frozen layer always in inference, as
 * Keras) and dropout (identity in inference; inverted dropout with seeded masks in training). Values are compared
 * with float64 computations of the Keras formulas on the reference backend.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { manualSeed } from '../../src/tensor/random.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { input, layers, model, sequential } from '../../src/nn/index.js';
import { uniformF32 } from '../helpers/random.js';

const ref = <T>(fn: () => T): T => withBackend(referenceBackend, fn);
const x = new Tensor(uniformF32(2 * 3 * 2 * 4, 5, -2, 3), [2, 3, 2, 4]);
const C = 4;
const ROWS = 12;

/** Per-channel mean and biased variance of x in float64. */
function batchStats(): { mean: number[]; variance: number[] } {
  const mean = new Array(C).fill(0);
  const variance = new Array(C).fill(0);
  for (let i = 0; i < x.size; i++) mean[i % C] += x.data[i] / ROWS;
  for (let i = 0; i < x.size; i++) variance[i % C] += (x.data[i] - mean[i % C]) ** 2 / ROWS;
  return { mean, variance };
}

function expectNormalized(y: Tensor, mean: number[], variance: number[], gamma: number[], beta: number[], eps: number, what: string): void {
  for (let i = 0; i < x.size; i++) {
    const c = i % C;
    const want = ((x.data[i] - mean[c]) / Math.sqrt(variance[c] + eps)) * gamma[c] + beta[c];
    expect(Math.abs(y.data[i] - want), `${what} element ${i}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
  }
}

function setBn(bn: ReturnType<typeof layers.batchNormalization>, v: { gamma: number[]; beta: number[]; mean: number[]; variance: number[] }): void {
  bn.setWeights([v.gamma, v.beta, v.mean, v.variance].map((a) => new Tensor(Float32Array.from(a), [C])));
}

describe('BatchNormalization', () => {
  const params = { gamma: [1.5, 0.5, 2, 1], beta: [0.1, -0.2, 0, 0.3], mean: [0.5, -0.5, 1, 0], variance: [2, 0.5, 1, 3] };

  it('training: normalises with the batch mean and biased variance, and updates moving = moving*0.99 + batch*0.01 in place', () => {
    const bn = layers.batchNormalization();
    ref(() => bn.apply(x));
    setBn(bn, params);
    const movingMean = bn.movingMean!.value;
    const y = ref(() => bn.apply(x, { training: true }));
    const s = batchStats();
    expectNormalized(y, s.mean, s.variance, params.gamma, params.beta, 1e-3, 'training');
    expect(bn.movingMean!.value).toBe(movingMean); // the same tensor object: updated in place
    for (let c = 0; c < C; c++) {
      expect(bn.movingMean!.value.data[c]).toBeCloseTo(params.mean[c] * 0.99 + s.mean[c] * 0.01, 6);
      expect(bn.movingVariance!.value.data[c]).toBeCloseTo(params.variance[c] * 0.99 + s.variance[c] * 0.01, 6);
    }
    expect(bn.movingMean!.value.requiresGrad).toBe(false);
  });

  it('inference: normalises with the moving statistics and changes nothing; momentum and epsilon are options', () => {
    const bn = layers.batchNormalization({ momentum: 0.5, epsilon: 0.01 });
    ref(() => bn.apply(x));
    setBn(bn, params);
    const y = ref(() => bn.apply(x));
    expectNormalized(y, params.mean, params.variance, params.gamma, params.beta, 0.01, 'inference');
    expect(Array.from(bn.movingMean!.value.data)).toEqual(params.mean.map(Math.fround));
    ref(() => bn.apply(x, { training: true }));
    const s = batchStats();
    expect(bn.movingMean!.value.data[1]).toBeCloseTo(params.mean[1] * 0.5 + s.mean[1] * 0.5, 6);
  });

  it('frozen (trainable false): inference statistics even when training, no update, no trainable weights', () => {
    const bn = layers.batchNormalization();
    ref(() => bn.apply(x));
    setBn(bn, params);
    bn.trainable = false;
    const y = ref(() => bn.apply(x, { training: true }));
    expectNormalized(y, params.mean, params.variance, params.gamma, params.beta, 1e-3, 'frozen');
    expect(Array.from(bn.movingVariance!.value.data)).toEqual(params.variance.map(Math.fround));
    expect(bn.trainableWeights).toEqual([]);
    expect(bn.nonTrainableWeights.length).toBe(4);
    expect(bn.gamma!.value.requiresGrad).toBe(false);
    bn.trainable = true;
    expect(bn.trainableWeights.map((w) => w.name.split('/')[1])).toEqual(['gamma', 'beta']);
    expect(bn.movingMean!.trainable).toBe(false);
  });

  it('center and scale false drop beta and gamma', () => {
    const bn = layers.batchNormalization({ center: false, scale: false });
    const y = ref(() => bn.apply(x, { training: true }));
    expect(bn.weights.map((w) => w.name.split('/')[1])).toEqual(['moving_mean', 'moving_variance']);
    const s = batchStats();
    expectNormalized(y, s.mean, s.variance, [1, 1, 1, 1], [0, 0, 0, 0], 1e-3, 'no center/scale');
  });

  it("follows the model's training flag, and a node's own training: false (a frozen base in inference mode)", () => {
    const inner = layers.batchNormalization();
    const m = sequential([inner], { inputShape: [3, 2, 4] });
    setBn(inner, params);
    ref(() => m.apply(x, { training: true }));
    expect(inner.movingMean!.value.data[0]).not.toBe(Math.fround(params.mean[0]));

    const bn = layers.batchNormalization();
    const inp = input({ shape: [3, 2, 4] });
    const f = model({ inputs: inp, outputs: bn.apply(inp, { training: false }) });
    setBn(bn, params);
    const y = ref(() => f.apply(x, { training: true }));
    expectNormalized(y, params.mean, params.variance, params.gamma, params.beta, 1e-3, 'node training false');
    expect(Array.from(bn.movingMean!.value.data)).toEqual(params.mean.map(Math.fround));
  });
});

describe('Dropout', () => {
  const big = new Tensor(new Float32Array(4000).fill(2), [40, 100]);

  it('is the identity in inference (the input tensor itself)', () => {
    const d = layers.dropout({ rate: 0.5 });
    expect(d.apply(big)).toBe(big);
    expect(d.apply(big, { training: false })).toBe(big);
  });

  it('in training zeroes about `rate` of the elements and scales the rest by 1/(1-rate)', () => {
    const y = ref(() => layers.dropout({ rate: 0.25, seed: 3 }).apply(big, { training: true }));
    let zeros = 0;
    for (const v of y.data) {
      if (v === 0) zeros++;
      else expect(v).toBeCloseTo(2 / 0.75, 6);
    }
    // Binomial(4000, 0.25): mean 1000, std 27.4; 5 standard deviations.
    expect(Math.abs(zeros - 1000)).toBeLessThan(5 * Math.sqrt(4000 * 0.25 * 0.75));
  });

  it('a seed replays the same masks in a rebuilt layer; successive calls draw new masks; manualSeed covers unseeded layers', () => {
    const masks = (d: ReturnType<typeof layers.dropout>) => [0, 1].map(() => Array.from(ref(() => d.apply(big, { training: true })).data));
    const a = masks(layers.dropout({ rate: 0.5, seed: 9 }));
    const b = masks(layers.dropout({ rate: 0.5, seed: 9 }));
    expect(b).toEqual(a);
    expect(a[1]).not.toEqual(a[0]);
    manualSeed(7);
    const c = masks(layers.dropout({ rate: 0.5 }));
    manualSeed(7);
    expect(masks(layers.dropout({ rate: 0.5 }))).toEqual(c);
  });

  it('rate 0 is the identity in training too; a rate outside [0, 1) is refused', () => {
    expect(layers.dropout({ rate: 0 }).apply(big, { training: true })).toBe(big);
    expect(() => layers.dropout({ rate: 1 })).toThrow(/option 'rate' must be in \[0, 1\), got 1/);
  });
});
