/**
 * Native softmax, logSoftmax (native/addon/eltwise.cc) along an axis whose trailing axes are all 1 (the last
 * axis, in practice), and softmax cross-entropy forward / backward on logits [N, C] with int32 labels [N] or
 * Float32Array labels [N, C]. Every row subtracts its maximum first and sums exponentials in double; losses use
 * lse - x = (max - x) + log(sum), so large logits stay exact. Other axes and Float64Array go to the reference.
 */
import type { Backend, FloatArray, ITensor, KTensor } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { isPlainF32 } from './elementwise.js';
import { allocF32 } from '../storage.js';

/** The softmax and cross-entropy entries of the addon. Outputs are written in place; y may be x itself. */
export interface SoftmaxAddon extends NativeAddon {
  softmaxF32(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  logSoftmaxF32(x: Float32Array, y: Float32Array, rows: number, cols: number): void;
  softmaxCrossEntropyF32(logits: Float32Array, labels: Int32Array | Float32Array, loss: Float32Array, n: number, c: number): void;
  softmaxCrossEntropyBackwardF32(dloss: Float32Array, logits: Float32Array, labels: Int32Array | Float32Array,
    dlogits: Float32Array, n: number, c: number): void;
}

// [rows, cols] when softmax along `axis` is a softmax of contiguous rows (every later axis has size 1).
function rowsCols(shape: readonly number[], axis: number): [number, number] | null {
  const ax = axis < 0 ? axis + shape.length : axis;
  if (ax < 0 || ax >= shape.length) return null;
  for (let i = ax + 1; i < shape.length; i++) if (shape[i] !== 1) return null;
  let rows = 1;
  for (let i = 0; i < ax; i++) rows *= shape[i];
  return [rows, shape[ax]];
}

function isLabels(labels: ITensor | KTensor<FloatArray>, n: number, c: number): boolean {
  if (labels.data instanceof Int32Array) {
    return labels.data.length === n && !(typeof SharedArrayBuffer !== 'undefined' && labels.data.buffer instanceof SharedArrayBuffer);
  }
  return isPlainF32(labels.data) && labels.data.length === n * c;
}

/** The softmax entries of the native backend (empty when the addon lacks them). */
export function softmaxKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as SoftmaxAddon;
  if (typeof a.softmaxF32 !== 'function') return {};
  const ref = referenceBackend;
  function rowwise(log: boolean): Backend['softmax'] {
    return function softmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A> {
      const rc = isPlainF32(x.data) ? rowsCols(x.shape, axis) : null;
      if (!rc) return log ? ref.logSoftmax(x, axis) : ref.softmax(x, axis);
      const y = allocF32(x.data.length);
      if (log) a.logSoftmaxF32(x.data as Float32Array, y, rc[0], rc[1]);
      else a.softmaxF32(x.data as Float32Array, y, rc[0], rc[1]);
      return { data: y as A, shape: [...x.shape] };
    };
  }
  return {
    softmax: rowwise(false),
    logSoftmax: rowwise(true),

    softmaxCrossEntropy<A extends FloatArray>(logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> {
      const [n, c] = logits.shape;
      if (logits.shape.length !== 2 || !isPlainF32(logits.data) || !isLabels(labels, n, c)) {
        return ref.softmaxCrossEntropy(logits, labels);
      }
      const loss = allocF32(n);
      a.softmaxCrossEntropyF32(logits.data, labels.data as Int32Array | Float32Array, loss, n, c);
      return { data: loss as A, shape: [n] };
    },

    softmaxCrossEntropyBackward<A extends FloatArray>(
      dloss: KTensor<A>, logits: KTensor<A>, labels: ITensor | KTensor<A>,
    ): KTensor<A> {
      const [n, c] = logits.shape;
      if (logits.shape.length !== 2 || !isPlainF32(logits.data) || !isPlainF32(dloss.data) || dloss.data.length !== n ||
          !isLabels(labels, n, c)) {
        return ref.softmaxCrossEntropyBackward(dloss, logits, labels);
      }
      const dlogits = allocF32(n * c);
      a.softmaxCrossEntropyBackwardF32(dloss.data, logits.data, labels.data as Int32Array | Float32Array, dlogits, n, c);
      return { data: dlogits as A, shape: [n, c] };
    },
  };
}
