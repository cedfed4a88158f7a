/**
 * Reference batch normalisation over the last axis of x [..., C] (NHWC or [N, C]): R = size / C rows share
 * each channel's statistics. Training uses the batch mean and the biased batch variance (DESIGN.md), each
 * computed in two passes in double; inference uses the moving statistics it is given.
 */
import type { BatchNormAttrs, FloatArray, KTensor } from '../backend.js';
import { allocLike } from './util.js';

/** Per-channel batch mean and biased variance (divide by R), two passes, in double. R = 0 gives NaN (0/0). */
function batchStats(xd: FloatArray, C: number): { mean: Float64Array; variance: Float64Array } {
  const R = xd.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) mean[c] += xd[r * C + c];
  for (let c = 0; c < C; c++) mean[c] /= R;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const d = xd[r * C + c] - mean[c];
      variance[c] += d * d;
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= R;
  return { mean, variance };
}

/**
 * y = gamma * (x - mean) / sqrt(variance + epsilon) + beta per channel.
 * training: mean / variance are the batch ones and are returned; inference: the given ones are used and
 * returned as copies with the same values (a kernel allocates its outputs; the caller may own the inputs).
 */
export function batchNorm<A extends FloatArray>(
  x: KTensor<A>, gamma: KTensor<A>, beta: KTensor<A>, mean: KTensor<A> | undefined, variance: KTensor<A> | undefined,
  attrs: BatchNormAttrs,
): { y: KTensor<A>; mean: KTensor<A>; variance: KTensor<A> } {
  const C = x.shape[x.shape.length - 1];
  const xd = x.data;
  let mu: ArrayLike<number>;
  let v: ArrayLike<number>;
  if (attrs.training) {
    const s = batchStats(xd, C);
    mu = s.mean;
    v = s.variance;
  } else {
    if (!mean || !variance) throw new Error('batchNorm: inference needs the moving mean and variance');
    mu = mean.data;
    v = variance.data;
  }
  const y = allocLike(xd, xd.length);
  const R = xd.length / C;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const xhat = (xd[r * C + c] - mu[c]) / Math.sqrt(v[c] + attrs.epsilon);
      y[r * C + c] = gamma.data[c] * xhat + beta.data[c];
    }
  }
  const meanOut = allocLike(xd, C);
  const varOut = allocLike(xd, C);
  for (let c = 0; c < C; c++) {
    meanOut[c] = mu[c];
    varOut[c] = v[c];
  }
  return { y: { data: y, shape: [...x.shape] }, mean: { data: meanOut, shape: [C] }, variance: { data: varOut, shape: [C] } };
}

/**
 * With xhat = (x - mean) * istd, istd = 1 / sqrt(variance + epsilon), per channel over R rows:
 *   dbeta = sum(dy), dgamma = sum(dy * xhat);
 *   training (mean and variance are functions of x): dx = gamma * istd / R * (R * dy - dbeta - xhat * dgamma);
 *   inference (they are constants): dx = dy * gamma * istd.
 */
export function batchNormBackward<A extends FloatArray>(
  dy: KTensor<A>, x: KTensor<A>, gamma: KTensor<A>, mean: KTensor<A>, variance: KTensor<A>, attrs: BatchNormAttrs,
): { dx: KTensor<A>; dgamma: KTensor<A>; dbeta: KTensor<A> } {
  const C = x.shape[x.shape.length - 1];
  const xd = x.data;
  const dyd = dy.data;
  const R = xd.length / C;
  const istd = new Float64Array(C);
  for (let c = 0; c < C; c++) istd[c] = 1 / Math.sqrt(variance.data[c] + attrs.epsilon);

  // Channel sums in double: sum(dy) and sum(dy * xhat).
  const sumDy = new Float64Array(C);
  const sumDyXhat = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      sumDy[c] += dyd[i];
      sumDyXhat[c] += dyd[i] * (xd[i] - mean.data[c]) * istd[c];
    }
  }

  const dx = allocLike(xd, xd.length);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const scale = gamma.data[c] * istd[c];
      if (attrs.training) {
        const xhat = (xd[i] - mean.data[c]) * istd[c];
        dx[i] = (scale / R) * (R * dyd[i] - sumDy[c] - xhat * sumDyXhat[c]);
      } else {
        dx[i] = dyd[i] * scale;
      }
    }
  }
  const dgamma = allocLike(xd, C);
  const dbeta = allocLike(xd, C);
  for (let c = 0; c < C; c++) {
    dgamma[c] = sumDyXhat[c];
    dbeta[c] = sumDy[c];
  }
  return { dx: { data: dx, shape: [...x.shape] }, dgamma: { data: dgamma, shape: [C] }, dbeta: { data: dbeta, shape: [C] } };
}
