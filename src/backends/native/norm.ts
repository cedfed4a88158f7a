/**
 * Native batchNorm forward and backward (native/addon/norm.cc) over the last axis of a Float32Array x [..., C].
 * Training runs the fused statistics pass and the normalisation; inference normalises with the given moving
 * statistics. Float64Array inputs and SharedArrayBuffer-backed arrays run on the reference backend.
 */
import type { Backend, BatchNormAttrs, FloatArray, KTensor } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { isPlainF32 } from './elementwise.js';
import { allocF32 } from '../storage.js';

/** The batch-norm entries of the addon (native/addon/norm.cc); c is gamma's length. Outputs are written in place. */
export interface NormAddon extends NativeAddon {
  batchNormTrainF32(x: Float32Array, gamma: Float32Array, beta: Float32Array, epsilon: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormInferF32(x: Float32Array, gamma: Float32Array, beta: Float32Array, mean: Float32Array,
    variance: Float32Array, epsilon: number, y: Float32Array): void;
  batchNormBackwardF32(training: boolean, dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array,
    variance: Float32Array, epsilon: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
}

// Every array a Float32Array the addon accepts, with per-channel ones of length c and x a whole number of rows.
function accepted(x: KTensor<FloatArray>, perChannel: readonly (KTensor<FloatArray> | undefined)[]): boolean {
  if (x.shape.length === 0 || !isPlainF32(x.data)) return false;
  const c = x.shape[x.shape.length - 1];
  return perChannel.every((t) => t !== undefined && isPlainF32(t.data) && t.data.length === c);
}

/** The norm entries of the native backend. */
export function normKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as NormAddon;
  if (typeof a.batchNormTrainF32 !== 'function') return {};
  const ref = referenceBackend;
  return {
    batchNorm<A extends FloatArray>(
      x: KTensor<A>, gamma: KTensor<A>, beta: KTensor<A>, mean: KTensor<A> | undefined, variance: KTensor<A> | undefined,
      attrs: BatchNormAttrs,
    ): { y: KTensor<A>; mean: KTensor<A>; variance: KTensor<A> } {
      const stats = attrs.training ? [] : [mean, variance];
      if (!accepted(x, [gamma, beta, ...stats])) return ref.batchNorm(x, gamma, beta, mean, variance, attrs);
      const c = gamma.data.length;
      const y = allocF32(x.data.length);
      let m: Float32Array;
      let v: Float32Array;
      if (attrs.training) {
        m = allocF32(c);
        v = allocF32(c);
        a.batchNormTrainF32(x.data as Float32Array, gamma.data as Float32Array, beta.data as Float32Array, attrs.epsilon, y, m, v);
      } else {
        m = (mean!.data as Float32Array).slice();
        v = (variance!.data as Float32Array).slice();
        a.batchNormInferF32(x.data as Float32Array, gamma.data as Float32Array, beta.data as Float32Array, m, v, attrs.epsilon, y);
      }
      return {
        y: { data: y as A, shape: [...x.shape] },
        mean: { data: m as A, shape: [c] },
        variance: { data: v as A, shape: [c] },
      };
    },

    batchNormBackward<A extends FloatArray>(
      dy: KTensor<A>, x: KTensor<A>, gamma: KTensor<A>, mean: KTensor<A>, variance: KTensor<A>, attrs: BatchNormAttrs,
    ): { dx: KTensor<A>; dgamma: KTensor<A>; dbeta: KTensor<A> } {
      if (!accepted(x, [gamma, mean, variance]) || !isPlainF32(dy.data) || dy.data.length !== x.data.length) {
        return ref.batchNormBackward(dy, x, gamma, mean, variance, attrs);
      }
      const c = gamma.data.length;
      const dx = allocF32(x.data.length);
      const dgamma = allocF32(c);
      const dbeta = allocF32(c);
      a.batchNormBackwardF32(attrs.training, dy.data as Float32Array, x.data as Float32Array, gamma.data as Float32Array,
        mean.data as Float32Array, variance.data as Float32Array, attrs.epsilon, dx, dgamma, dbeta);
      return {
        dx: { data: dx as A, shape: [...x.shape] },
        dgamma: { data: dgamma as A, shape: [c] },
        dbeta: { data: dbeta as A, shape: [c] },
      };
    },
  };
}
