/**
 * Properties: native batchNorm (training and inference) and batchNormBackward against the reference, over
 * [N, C] and NHWC inputs with batch 0/1/n, 1x1 images, channels 1, 3, 17, 65, and data whose mean is large
 * against its spread.
 *
 * Tolerances, per channel over R = size / C rows, first order in u = eps32 = 2^-24 (the reference works in
 * double: its own error is below these terms), with A = mean|x| and the exact (double) batch mean m and
 * biased variance v:
 * - batch mean: a sum of R terms and a division:  dm = gamma_{R+1} A.
 * - batch variance:  dv = gamma_{R+4} (v + |m| sqrt(v)) + 2 dm^2. Two-pass: with the computed mean
 *   m' = m + d, sum (x - m')^2 / R = v + d^2 exactly, and the R rounded squares of rounded differences and their
 *   sum add gamma_{R+3} (v + d^2). Welford / pairwise updates: Chan, Golub & LeVeque (1983) bound the error by
 *   about R u kappa v with kappa = sqrt(1 + m^2/v), and kappa v <= v + |m| sqrt(v). The one-pass
 *   E[x^2] - m^2 errs by about R u kappa^2 v and fails this bound when |m| >> std (offset 20, spread 0.1
 *   below): the textbook cancellation, rejected on purpose.
 * - istd = 1/sqrt(v + epsilon): relative error rho = dv / (2 (v + epsilon)) + 4 u (add, sqrt, division; or an
 *   rsqrt estimate refined to within 3 ulp).
 * - y = gamma (x - m) istd + beta, also as x*scale + shift with scale = gamma istd, shift = beta - m scale
 *   (then x*scale and m*scale cancel, so the rounding terms scale with |x| + |m|, not |x - m|):
 *   |dy| <= |scale| ((|x| + |m|)(rho + 4u) + dm) + 2u |beta| + 2u |ref|.
 *   The returned mean and variance: dm + u|ref| and dv + u|ref|; inference returns them as given: exact.
 * - backward, with the given (float32) mean and variance: istd within rho = 4u, xhat within
 *   dxh = istd (|x| + |m|)(rho + 2u);  dbeta = sum dy: sumBound(R, sum|dy|);  dgamma = sum dy xhat:
 *   sum |dy| dxh + gamma_{R+1} sum |dy| |xhat|, plus u|ref|;  dx (training) = scale/R (R dy - dbeta - xhat dgamma):
 *   |scale|/R (3u (R|dy| + |dbeta| + |xhat dgamma|) + e_dbeta + dxh |dgamma| + |xhat| e_dgamma) + (rho + 2u)|ref|;
 *   dx (inference) = dy scale: (rho + 2u)|ref|.
 */
import { describe, it } from 'vitest';

import type { BatchNormAttrs, KTensor } from '../../src/backends/backend.js';
import { EPS32 } from '../helpers/close.js';
import { checkKernel, fcParams, gamma32, reportCoverage, sumBound } from '../helpers/backends.js';
import { batchArb, channelsArb, f32data, fc, fmt, lazy, seedArb, sizeOf, spatialArb, tf } from './arb.js';

reportCoverage('batchnorm', ['batchNorm', 'batchNormBackward']);

const u = EPS32;

const bnCaseArb = fc.record({
  N: batchArb,
  layout: fc.constantFrom<'NC' | 'NHWC'>('NC', 'NHWC'),
  H: spatialArb, W: spatialArb, C: channelsArb,
  training: fc.boolean(),
  epsilon: fc.constantFrom(1e-3, 1e-5),
  offset: fc.constantFrom(0, 0, 1, -3, 20),
  spread: fc.constantFrom(1, 0.1, 3),
  seed: seedArb,
}).map((r) => {
  let { H, W } = r;
  while (Math.max(r.N, 1) * H * W * r.C > 20000 && (H > 1 || W > 1)) { if (H >= W) H = Math.ceil(H / 2); else W = Math.ceil(W / 2); }
  const shape = r.layout === 'NC' ? [r.N, r.C] : [r.N, H, W, r.C];
  return { ...r, shape };
});

interface ChannelStats { R: number; m: Float64Array; v: Float64Array; A: Float64Array }

/** Exact (double) per-channel statistics of x. */
function stats(x: Float32Array, C: number): ChannelStats {
  const R = x.length / C;
  const m = new Float64Array(C), v = new Float64Array(C), A = new Float64Array(C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) { const t = x[r * C + c]; m[c] += t; A[c] += Math.abs(t); }
  for (let c = 0; c < C; c++) { m[c] /= R; A[c] /= R; }
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) { const d = x[r * C + c] - m[c]; v[c] += d * d; }
  for (let c = 0; c < C; c++) v[c] /= R;
  return { R, m, v, A };
}

function makeInputs(r: { shape: number[]; C: number; offset: number; spread: number; seed: number }) {
  const n = sizeOf(r.shape);
  const x = tf(f32data(n, r.seed, { lo: r.offset - r.spread, hi: r.offset + r.spread }), r.shape);
  const gammaData = f32data(r.C, r.seed + 1, { lo: 0.5, hi: 1.5 });
  for (let c = 0; c < r.C; c += 3) gammaData[c] = -gammaData[c];
  const gamma = tf(gammaData, [r.C]);
  const beta = tf(f32data(r.C, r.seed + 2), [r.C]);
  const movingMean = tf(f32data(r.C, r.seed + 3, { lo: r.offset - 1, hi: r.offset + 1 }), [r.C]);
  const movingVar = tf(f32data(r.C, r.seed + 4, { lo: 0.05, hi: 2 * r.spread * r.spread }), [r.C]);
  return { x, gamma, beta, movingMean, movingVar };
}

describe('props: batch norm, native vs reference', () => {
  it('batchNorm: training (batch statistics) and inference (moving statistics)', () => {
    fc.assert(
      fc.property(bnCaseArb, (r) => {
        const { x, gamma, beta, movingMean, movingVar } = makeInputs(r);
        const attrs: BatchNormAttrs = { epsilon: r.epsilon, training: r.training };
        const C = r.C;
        const b = lazy(() => {
          const s = stats(x.data, C);
          const dm = new Float64Array(C), dv = new Float64Array(C), rho = new Float64Array(C), mm = new Float64Array(C), sc = new Float64Array(C);
          for (let c = 0; c < C; c++) {
            const mc = r.training ? s.m[c] : movingMean.data[c];
            const vc = r.training ? s.v[c] : movingVar.data[c];
            dm[c] = r.training ? gamma32(s.R + 1) * s.A[c] : 0;
            dv[c] = r.training ? gamma32(s.R + 4) * (s.v[c] + Math.abs(s.m[c]) * Math.sqrt(s.v[c])) + 2 * dm[c] * dm[c] : 0;
            rho[c] = dv[c] / (2 * (vc + r.epsilon)) + 4 * u;
            mm[c] = Math.abs(mc);
            sc[c] = Math.abs(gamma.data[c]) / Math.sqrt(vc + r.epsilon);
          }
          return { dm, dv, rho, mm, sc };
        });
        checkKernel({
          kernel: 'batchNorm',
          what: `${r.training ? 'training' : 'inference'} x ${fmt(r.shape)} epsilon ${r.epsilon} data ${r.offset}+-${r.spread}`,
          run: (be) => {
            const o = be.batchNorm(x, gamma, beta, r.training ? undefined : movingMean, r.training ? undefined : movingVar, attrs);
            return { y: o.y, mean: o.mean, variance: o.variance };
          },
          tol: {
            y: (i, ref) => {
              const { dm, rho, mm, sc } = b();
              const c = i % C;
              return sc[c] * ((Math.abs(x.data[i]) + mm[c]) * (rho[c] + 4 * u) + dm[c]) + 2 * u * Math.abs(beta.data[c]) + 2 * u * Math.abs(ref);
            },
            mean: r.training ? (c, ref) => b().dm[c] + u * Math.abs(ref) : 'exact',
            variance: r.training ? (c, ref) => b().dv[c] + u * Math.abs(ref) : 'exact',
          },
          inputs: [x, gamma, beta, movingMean, movingVar],
        });
      }),
      fcParams(150, 'batchNorm'),
    );
  });

  it('batchNormBackward: training and inference', () => {
    fc.assert(
      fc.property(bnCaseArb, (r) => {
        const { x, gamma, movingMean, movingVar } = makeInputs(r);
        const attrs: BatchNormAttrs = { epsilon: r.epsilon, training: r.training };
        const C = r.C;
        // The statistics the forward used: the batch ones (rounded to float32, as the forward returns them) or the moving ones.
        let mean: KTensor<Float32Array> = movingMean;
        let variance: KTensor<Float32Array> = movingVar;
        if (r.training && x.data.length > 0) {
          const s = stats(x.data, C);
          mean = tf(Float32Array.from(s.m), [C]);
          variance = tf(Float32Array.from(s.v), [C]);
        }
        const dy = tf(f32data(x.data.length, r.seed + 9), r.shape);
        const bounds = lazy(() => {
          const R = x.data.length / C;
          const istd = new Float64Array(C), sumAbsDy = new Float64Array(C), G = new Float64Array(C), sumAbsDyXh = new Float64Array(C);
          const dbeta = new Float64Array(C), dgamma = new Float64Array(C);
          for (let c = 0; c < C; c++) istd[c] = 1 / Math.sqrt(variance.data[c] + r.epsilon);
          for (let i = 0; i < x.data.length; i++) {
            const c = i % C;
            const xh = (x.data[i] - mean.data[c]) * istd[c];
            sumAbsDy[c] += Math.abs(dy.data[i]);
            G[c] += Math.abs(dy.data[i]) * (Math.abs(x.data[i]) + Math.abs(mean.data[c])) * istd[c];
            sumAbsDyXh[c] += Math.abs(dy.data[i] * xh);
            dbeta[c] += dy.data[i];
            dgamma[c] += dy.data[i] * xh;
          }
          const rho = 4 * u;
          const eDbeta = new Float64Array(C), eDgamma = new Float64Array(C);
          for (let c = 0; c < C; c++) {
            eDbeta[c] = sumBound(R, sumAbsDy[c], dbeta[c]);
            eDgamma[c] = (rho + 2 * u) * G[c] + gamma32(R + 1) * sumAbsDyXh[c] + u * Math.abs(dgamma[c]);
          }
          return { R, istd, rho, eDbeta, eDgamma, dbeta, dgamma };
        });
        checkKernel({
          kernel: 'batchNormBackward',
          what: `${r.training ? 'training' : 'inference'} x ${fmt(r.shape)} epsilon ${r.epsilon} data ${r.offset}+-${r.spread}`,
          run: (be) => {
            const o = be.batchNormBackward(dy, x, gamma, mean, variance, attrs);
            return { dx: o.dx, dgamma: o.dgamma, dbeta: o.dbeta };
          },
          tol: {
            dbeta: (c) => bounds().eDbeta[c],
            dgamma: (c) => bounds().eDgamma[c],
            dx: (i, ref) => {
              const { R, istd, rho, eDbeta, eDgamma, dbeta, dgamma } = bounds();
              const c = i % C;
              const scale = Math.abs(gamma.data[c]) * istd[c];
              if (!r.training) return (rho + 2 * u) * Math.abs(ref);
              const xh = Math.abs((x.data[i] - mean.data[c]) * istd[c]);
              const dxh = istd[c] * (Math.abs(x.data[i]) + Math.abs(mean.data[c])) * (rho + 2 * u);
              const terms = R * Math.abs(dy.data[i]) + Math.abs(dbeta[c]) + xh * Math.abs(dgamma[c]);
              return (scale / R) * (3 * u * terms + eDbeta[c] + dxh * Math.abs(dgamma[c]) + xh * eDgamma[c]) + (rho + 2 * u) * Math.abs(ref);
            },
          },
          inputs: [dy, x, gamma, mean, variance],
        });
      }),
      fcParams(150, 'batchNormBackward'),
    );
  });
});
