import { describe, expect, it } from 'vitest';
import { batchNorm } from '../../src/backends/reference/batchnorm.js';
import { assertClose, EPS32, EPS64 } from '../helpers/close.js';
import { uniformF32, uniformF64 } from '../helpers/random.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);
const t = (data: Float64Array, shape: number[]) => ({ data, shape });

describe('reference batchNorm', () => {
  it('hand-checked [4, 1]: mean 2.5, biased variance 1.25', () => {
    const r = batchNorm(t(f64([1, 2, 3, 4]), [4, 1]), t(f64([1]), [1]), t(f64([0]), [1]), undefined, undefined, { epsilon: 0, training: true });
    expect(Array.from(r.mean.data)).toEqual([2.5]);
    expect(Array.from(r.variance.data)).toEqual([1.25]);
    expect(r.y.shape).toEqual([4, 1]);
    const s = Math.sqrt(1.25);
    // one subtraction, one sqrt, one division: 4 eps64 relative on values below 1.5
    assertClose(r.y.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], { atol: 4 * 1.5 * EPS64, what: 'hand' });
  });

  it('applies gamma, beta and epsilon', () => {
    const r = batchNorm(t(f64([1, 2, 3, 4]), [4, 1]), t(f64([2]), [1]), t(f64([0.5]), [1]), undefined, undefined, { epsilon: 1e-3, training: true });
    const s = Math.sqrt(1.25 + 1e-3);
    assertClose(r.y.data, [-3 / s + 0.5, -1 / s + 0.5, 1 / s + 0.5, 3 / s + 0.5], { atol: 8 * 3 * EPS64, what: 'affine' });
  });

  it('NHWC rank 4 normalises each channel over N, H and W', () => {
    const [N, H, W, C] = [2, 3, 4, 5];
    const x = uniformF64(N * H * W * C, 1, -3, 5);
    const gamma = uniformF64(C, 2, 0.5, 2);
    const beta = uniformF64(C, 3);
    const eps = 1e-3;
    const r = batchNorm(t(x, [N, H, W, C]), t(gamma, [C]), t(beta, [C]), undefined, undefined, { epsilon: eps, training: true });
    expect(r.y.shape).toEqual([N, H, W, C]);
    const R = N * H * W;
    for (let c = 0; c < C; c++) {
      // Direct per-channel formula: gather the channel, then mean and biased variance.
      const vals: number[] = [];
      for (let n = 0; n < N; n++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) vals.push(x[((n * H + h) * W + w) * C + c]);
      const mean = vals.reduce((s, v) => s + v, 0) / R;
      const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / R;
      // R-term sums of values up to 5 (and squares up to 25): R * eps64 * 25.
      const tol = R * EPS64 * 25;
      expect(Math.abs(r.mean.data[c] - mean)).toBeLessThanOrEqual(tol);
      expect(Math.abs(r.variance.data[c] - variance)).toBeLessThanOrEqual(tol);
      const want = vals.map((v) => gamma[c] * (v - mean) / Math.sqrt(variance + eps) + beta[c]);
      const got = vals.map((_, k) => r.y.data[k * C + c]);
      // |xhat| <= 8 / sqrt(eps + var) < 10 times gamma <= 2, with the statistics' R * eps64 error: R * eps64 * 20, margin 4.
      assertClose(got, want, { atol: 4 * R * EPS64 * 20, what: `channel ${c}` });
    }
  });

  it('inference uses the given statistics and returns them unchanged', () => {
    const [N, C] = [6, 3];
    const x = uniformF64(N * C, 4, -2, 2);
    const gamma = f64([1, 2, 0.5]);
    const beta = f64([0, -1, 3]);
    const mean = f64([0.25, -0.5, 1]);
    const variance = f64([2, 0.5, 4]);
    const eps = 1e-3;
    const r = batchNorm(t(x, [N, C]), t(gamma, [C]), t(beta, [C]), t(mean, [C]), t(variance, [C]), { epsilon: eps, training: false });
    expect(Array.from(r.mean.data)).toEqual(Array.from(mean));
    expect(Array.from(r.variance.data)).toEqual(Array.from(variance));
    const want = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) {
      const c = i % C;
      want[i] = gamma[c] * (x[i] - mean[c]) / Math.sqrt(variance[c] + eps) + beta[c];
    }
    // a handful of roundings on values below ~10: 8 * 10 * eps64
    assertClose(r.y.data, want, { atol: 8 * 10 * EPS64, what: 'inference' });
    // The batch's own statistics are not used: they differ from the given ones, and so does y.
    const train = batchNorm(t(x, [N, C]), t(gamma, [C]), t(beta, [C]), undefined, undefined, { epsilon: eps, training: true });
    expect(Array.from(train.y.data)).not.toEqual(Array.from(r.y.data));
  });

  it('float32 in gives float32 out (rounded double computation)', () => {
    const [N, C] = [8, 4];
    const x = uniformF32(N * C, 5, -2, 2);
    const one = (v: number) => ({ data: new Float32Array(C).fill(v), shape: [C] });
    const r = batchNorm({ data: x, shape: [N, C] }, one(1), one(0), undefined, undefined, { epsilon: 1e-3, training: true });
    expect(r.y.data).toBeInstanceOf(Float32Array);
    expect(r.mean.data).toBeInstanceOf(Float32Array);
    expect(r.variance.data).toBeInstanceOf(Float32Array);
    const d = batchNorm(t(Float64Array.from(x), [N, C]), t(new Float64Array(C).fill(1), [C]), t(new Float64Array(C), [C]), undefined, undefined, { epsilon: 1e-3, training: true });
    // computed in double from the same inputs, rounded once on store: EPS32 relative
    assertClose(r.y.data, d.y.data, { rtol: EPS32, what: 'float32 y' });
    assertClose(r.mean.data, d.mean.data, { rtol: EPS32, what: 'float32 mean' });
  });
});
