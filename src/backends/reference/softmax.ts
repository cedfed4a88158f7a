/**
 * Reference softmax, log-softmax and softmax cross-entropy.
 * Every reduction subtracts the maximum first and runs in a JS number (double): exp never overflows, and the
 * log-sum-exp form lse = max + log(sum exp(x - max)) keeps losses finite for logits like +-1e4.
 * An axis of length L is read at flat index (o * L + l) * inner + i (outer / axis / inner decomposition).
 */
import type { FloatArray, ITensor, KTensor } from '../backend.js';
import { allocLike } from './util.js';

/** outer = prod(shape[:axis]), len = shape[axis], inner = prod(shape[axis+1:]). */
function split(shape: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  const ax = axis < 0 ? axis + shape.length : axis;
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < ax; d++) outer *= shape[d];
  for (let d = ax + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, len: shape[ax], inner };
}

/** Shared body of softmax and logSoftmax: writes exp(x - lse) or x - lse along the axis. */
function softmaxImpl<A extends FloatArray>(x: KTensor<A>, axis: number, log: boolean): KTensor<A> {
  const { outer, len, inner } = split(x.shape, axis);
  const xd = x.data;
  const out = allocLike(xd, xd.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = -Infinity;
      for (let l = 0; l < len; l++) max = Math.max(max, xd[base + l * inner]);
      let sum = 0;
      for (let l = 0; l < len; l++) sum += Math.exp(xd[base + l * inner] - max);
      const logSum = Math.log(sum);
      for (let l = 0; l < len; l++) {
        const shifted = xd[base + l * inner] - max;
        out[base + l * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}

/** exp(x) / sum(exp(x)) along `axis` (negative axes count from the end). */
export function softmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A> {
  return softmaxImpl(x, axis, false);
}

/** x - log(sum(exp(x))) along `axis`. */
export function logSoftmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A> {
  return softmaxImpl(x, axis, true);
}

function isIntLabels(labels: ITensor | KTensor<FloatArray>): labels is ITensor {
  return labels.data instanceof Int32Array;
}

/** Log-sum-exp of row n of logits [N, C], and the row's max, in double. */
function rowLse(ld: FloatArray, n: number, C: number): { max: number; sum: number; lse: number } {
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, ld[n * C + c]);
  let sum = 0;
  for (let c = 0; c < C; c++) sum += Math.exp(ld[n * C + c] - max);
  return { max, sum, lse: max + Math.log(sum) };
}

/**
 * loss[n] = sum_c label[n, c] * (lse_n - logits[n, c]) for logits [N, C] and int32 labels [N] (one-hot) or
 * float labels [N, C]. The ops layer validates labels; an int label outside [0, C) is read here as an all-zero
 * one-hot row (loss 0) so that nothing is read out of bounds. Zero label weights are skipped, so a -Infinity
 * logit with weight 0 contributes 0, not 0 * Infinity = NaN.
 */
export function softmaxCrossEntropy<A extends FloatArray>(logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> {
  const [N, C] = logits.shape;
  const ld = logits.data;
  const out = allocLike(ld, N);
  for (let n = 0; n < N; n++) {
    const { lse } = rowLse(ld, n, C);
    let loss = 0;
    if (isIntLabels(labels)) {
      const k = labels.data[n];
      if (k >= 0 && k < C) loss = lse - ld[n * C + k];
    } else {
      for (let c = 0; c < C; c++) {
        const w = labels.data[n * C + c];
        if (w !== 0) loss += w * (lse - ld[n * C + c]);
      }
    }
    out[n] = loss;
  }
  return { data: out, shape: [N] };
}

/**
 * dlogits[n, c] = dloss[n] * (softmax(logits)[n, c] * sum_c' label[n, c'] - label[n, c]): the exact gradient of
 * softmaxCrossEntropy, which is the contract's dloss * (softmax - labels) whenever a label row sums to 1 (every
 * valid int label, every valid soft label). An out-of-range int label is an all-zero row here too: gradient 0.
 */
export function softmaxCrossEntropyBackward<A extends FloatArray>(
  dloss: KTensor<A>, logits: KTensor<A>, labels: ITensor | KTensor<A>,
): KTensor<A> {
  const [N, C] = logits.shape;
  const ld = logits.data;
  const out = allocLike(ld, N * C);
  for (let n = 0; n < N; n++) {
    const { max, sum } = rowLse(ld, n, C);
    const g = dloss.data[n];
    let labelSum = 0;
    let k = -1;
    if (isIntLabels(labels)) {
      k = labels.data[n];
      labelSum = k >= 0 && k < C ? 1 : 0;
    } else {
      for (let c = 0; c < C; c++) labelSum += labels.data[n * C + c];
    }
    for (let c = 0; c < C; c++) {
      const p = Math.exp(ld[n * C + c] - max) / sum;
      const label = isIntLabels(labels) ? (c === k ? 1 : 0) : labels.data[n * C + c];
      out[n * C + c] = g * (p * labelSum - label);
    }
  }
  return { data: out, shape: [N, C] };
}
