/** batchNorm: training and inference formulas, the Keras moving-statistics update, and the backward entry. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { random, tensor } from './fixtures.js';

beforeAll(() => setBackend('reference'));

/** Per-channel batch mean and biased variance of x [..., C] in float64. */
function stats(x: Float32Array, c: number): { mean: Float64Array; variance: Float64Array } {
  const r = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < x.length; i++) mean[i % c] += x[i] / r;
  for (let i = 0; i < x.length; i++) variance[i % c] += (x[i] - mean[i % c]) ** 2 / r;
  return { mean, variance };
}

describe('batchNorm', () => {
  it('training normalises NHWC over N, H, W with the biased variance, then scales and shifts', () => {
    const x = random([2, 3, 4, 3], 1);
    const gamma = tensor([1.5, -0.5, 2]);
    const beta = tensor([0.25, 0, -1]);
    const { y, mean, variance, movingMean } = ops.batchNorm(x, { gamma, beta, training: true });
    expect(movingMean).toBeUndefined();
    const s = stats(x.data as Float32Array, 3);
    // mean/variance are computed in double and rounded once; y likewise (a few roundings of O(1) values).
    assertClose(mean.data, s.mean, { rtol: 2 * EPS32, atol: 2 * EPS32, what: 'mean' });
    assertClose(variance.data, s.variance, { rtol: 2 * EPS32, what: 'variance' });
    const expected = Array.from(x.data, (v, i) => gamma.data[i % 3] * (v - s.mean[i % 3]) / Math.sqrt(s.variance[i % 3] + 1e-3) + beta.data[i % 3]);
    assertClose(y.data, expected, { rtol: 8 * EPS32, atol: 8 * EPS32, what: 'y' });
  });

  it('moving = moving * momentum + batch * (1 - momentum), as new tensors (exact with momentum 0.5)', () => {
    const x = tensor([[1, 0], [3, 4]]); // channel 0: mean 2, var 1; channel 1: mean 2, var 4
    const movingMean = tensor([0, 10]);
    const movingVar = tensor([1, 1]);
    const r = ops.batchNorm(x, { movingMean, movingVar, momentum: 0.5, training: true });
    expect(Array.from(r.mean.data)).toEqual([2, 2]);
    expect(Array.from(r.variance.data)).toEqual([1, 4]);
    expect(Array.from(r.movingMean!.data)).toEqual([1, 6]);
    expect(Array.from(r.movingVar!.data)).toEqual([1, 2.5]);
    expect(Array.from(movingMean.data)).toEqual([0, 10]); // nothing mutated
    expect(Array.from(movingVar.data)).toEqual([1, 1]);
  });

  it('default momentum 0.99 and epsilon 1e-3 (DESIGN.md)', () => {
    const x = random([8, 4], 2);
    const movingMean = random([4], 3);
    const movingVar = tensor([1, 2, 3, 4]);
    const r = ops.batchNorm(x, { movingMean, movingVar, training: true });
    const s = stats(x.data as Float32Array, 4);
    assertClose(r.movingMean!.data, Array.from(movingMean.data, (m, i) => m * 0.99 + s.mean[i] * 0.01), { rtol: 4 * EPS32, atol: 4 * EPS32, what: 'movingMean' });
    assertClose(r.movingVar!.data, Array.from(movingVar.data, (m, i) => m * 0.99 + s.variance[i] * 0.01), { rtol: 4 * EPS32, what: 'movingVar' });
    const y = r.y.data;
    assertClose(y, Array.from(x.data, (v, i) => (v - s.mean[i % 4]) / Math.sqrt(s.variance[i % 4] + 1e-3)), { rtol: 8 * EPS32, atol: 8 * EPS32, what: 'y' });
  });

  it('inference uses the moving statistics and returns them as mean/variance', () => {
    const x = random([2, 2, 2, 2], 4);
    const movingMean = tensor([0.5, -1]);
    const movingVar = tensor([4, 0.25]);
    const gamma = tensor([2, 3]);
    const r = ops.batchNorm(x, { movingMean, movingVar, gamma, epsilon: 0.01 });
    expect(r.movingMean).toBeUndefined();
    expect(Array.from(r.mean.data)).toEqual([0.5, -1]);
    expect(Array.from(r.variance.data)).toEqual([4, 0.25]);
    const expected = Array.from(x.data, (v, i) => gamma.data[i % 2] * (v - movingMean.data[i % 2]) / Math.sqrt(movingVar.data[i % 2] + 0.01));
    assertClose(r.y.data, expected, { rtol: 4 * EPS32, atol: 4 * EPS32, what: 'inference' });
  });

  it('batchNormBackward: dbeta = sum dy, dgamma = sum dy * xhat, training dx sums to zero per channel', () => {
    const x = random([6, 3], 5);
    const dy = random([6, 3], 6);
    const gamma = tensor([1, 2, -1]);
    const f = ops.batchNorm(x, { gamma, training: true });
    const g = ops.batchNormBackward(dy, x, { gamma, mean: f.mean, variance: f.variance, training: true });
    const s = stats(x.data as Float32Array, 3);
    const dbeta = [0, 0, 0];
    const dgamma = [0, 0, 0];
    const dxSum = [0, 0, 0];
    for (let i = 0; i < 18; i++) {
      dbeta[i % 3] += dy.data[i];
      dgamma[i % 3] += dy.data[i] * (x.data[i] - s.mean[i % 3]) / Math.sqrt(s.variance[i % 3] + 1e-3);
      dxSum[i % 3] += g.dx.data[i];
    }
    assertClose(g.dbeta.data, dbeta, { atol: 6 * 4 * EPS32, what: 'dbeta' });
    assertClose(g.dgamma.data, dgamma, { atol: 6 * 16 * EPS32, what: 'dgamma' });
    assertClose(dxSum, [0, 0, 0], { atol: 1e-5, what: 'sum dx' });
    // Inference: the statistics are constants, dx = dy * gamma / sqrt(var + eps).
    const gi = ops.batchNormBackward(dy, x, { gamma, mean: f.mean, variance: f.variance });
    assertClose(gi.dx.data, Array.from(dy.data, (d, i) => d * gamma.data[i % 3] / Math.sqrt(f.variance.data[i % 3] + 1e-3)), { rtol: 4 * EPS32, atol: 4 * EPS32, what: 'inference dx' });
  });
});
