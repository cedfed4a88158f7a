import { describe, expect, it } from 'vitest';
import {
  logSoftmax, softmax, softmaxCrossEntropy, softmaxCrossEntropyBackward,
} from '../../src/backends/reference/softmax.js';
import { assertClose, EPS32, EPS64 } from '../helpers/close.js';
import { intsBelow, uniformF32, uniformF64 } from '../helpers/random.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);
const t = (data: Float64Array, shape: number[]) => ({ data, shape });

/** Direct formula exp(x) / sum exp(x) along `axis` of a rank-3 [D0, D1, D2], no max shift (data in [-2, 2]). */
function directSoftmax3(x: Float64Array, dims: number[], axis: number): Float64Array {
  const [D0, D1, D2] = dims;
  const at = (i: number, j: number, k: number): number => (i * D1 + j) * D2 + k;
  const out = new Float64Array(x.length);
  for (let i = 0; i < D0; i++) {
    for (let j = 0; j < D1; j++) {
      for (let k = 0; k < D2; k++) {
        let sum = 0;
        for (let l = 0; l < dims[axis]; l++) {
          sum += Math.exp(x[axis === 0 ? at(l, j, k) : axis === 1 ? at(i, l, k) : at(i, j, l)]);
        }
        out[at(i, j, k)] = Math.exp(x[at(i, j, k)]) / sum;
      }
    }
  }
  return out;
}

describe('reference softmax / logSoftmax', () => {
  it('rows sum to 1', () => {
    const N = 6, C = 11;
    const y = softmax(t(uniformF64(N * C, 1, -5, 5), [N, C]), 1);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        expect(y.data[n * C + c]).toBeGreaterThan(0);
        s += y.data[n * C + c];
      }
      // C probabilities each rounded (eps64) and summed (C * eps64): 2 * C * eps64.
      expect(Math.abs(s - 1)).toBeLessThanOrEqual(2 * C * EPS64);
    }
  });

  it('along axis 0, 1 and 2 (and -1) of a rank-3 tensor matches the direct formula', () => {
    const dims = [3, 4, 5];
    const x = uniformF64(60, 2, -2, 2);
    for (const axis of [0, 1, 2]) {
      const want = directSoftmax3(x, dims, axis);
      // exp of |x| <= 2 and a sum of up to 5 terms: a few eps64 each, relative; 16 * L * eps64 is generous.
      assertClose(softmax(t(x, dims), axis).data, want, { rtol: 16 * dims[axis] * EPS64, what: `softmax axis ${axis}` });
      const logWant = want.map(Math.log);
      assertClose(logSoftmax(t(x, dims), axis).data, logWant, { atol: 16 * dims[axis] * EPS64, what: `logSoftmax axis ${axis}` });
    }
    expect(Array.from(softmax(t(x, dims), -1).data)).toEqual(Array.from(softmax(t(x, dims), 2).data));
  });

  it('is exact-ish and finite for huge logits', () => {
    expect(Array.from(softmax(t(f64([1e4, 0]), [1, 2]), 1).data)).toEqual([1, 0]);
    expect(Array.from(logSoftmax(t(f64([1e4, 0]), [1, 2]), 1).data)).toEqual([0, -1e4]);
    expect(Array.from(softmax(t(f64([-1e4, -1e4]), [1, 2]), 1).data)).toEqual([0.5, 0.5]);
    const big = softmax({ data: Float32Array.of(3e38, -3e38, 3e38), shape: [3] }, 0);
    expect(big.data).toBeInstanceOf(Float32Array);
    expect(Array.from(big.data)).toEqual([0.5, 0, 0.5]);
    const bigLog = logSoftmax({ data: Float32Array.of(3e38, 0), shape: [2] }, 0);
    expect(Array.from(bigLog.data)).toEqual([0, Math.fround(-3e38)]);
  });

  it('logSoftmax equals log(softmax) where both are finite', () => {
    const x = uniformF64(7 * 9, 3, -30, 30);
    const y = softmax(t(x, [7, 9]), 1).data;
    const ly = logSoftmax(t(x, [7, 9]), 1).data;
    for (let i = 0; i < x.length; i++) {
      // |log p| <= 60: log's relative error eps64 on p's rounding gives an absolute eps64; the subtraction
      // x - max - log(sum) loses up to 60 * eps64. 4 * 60 * eps64 bounds both.
      if (y[i] > 0) expect(Math.abs(ly[i] - Math.log(y[i]))).toBeLessThanOrEqual(4 * 60 * EPS64);
    }
  });

  it('float32 in gives float32 out within float32 rounding', () => {
    const x = uniformF32(4 * 10, 4, -3, 3);
    const y = softmax({ data: x, shape: [4, 10] }, 1);
    expect(y.data).toBeInstanceOf(Float32Array);
    const want = softmax(t(Float64Array.from(x), [4, 10]), 1).data;
    // computed in double, rounded once: EPS32 relative
    assertClose(y.data, want, { rtol: EPS32, what: 'float32 softmax' });
    expect(logSoftmax({ data: x, shape: [4, 10] }, 1).data).toBeInstanceOf(Float32Array);
  });
});

describe('reference softmaxCrossEntropy', () => {
  it('hand-checked small case: CE = log(sum exp) - x_label', () => {
    const logits = t(f64([0, 0, 0, 1, 2, 3]), [2, 3]);
    const loss = softmaxCrossEntropy(logits, { data: Int32Array.of(1, 2), shape: [2] });
    const want = [Math.log(3), Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3];
    // a 3-term lse: a few eps64 relative to values near 1
    assertClose(loss.data, want, { atol: 8 * EPS64 * 3, what: 'CE hand' });
  });

  it('is finite and exact for logits of +-1e4', () => {
    const logits = t(f64([1e4, 0, 0, 1e4, -1e4, 1e4]), [3, 2]);
    const loss = softmaxCrossEntropy(logits, { data: Int32Array.of(0, 0, 0), shape: [3] });
    // correct class with a huge margin: 0; label on the small logit: 1e4 (and 2e4 for a -1e4 logit)
    expect(Array.from(loss.data)).toEqual([0, 1e4, 2e4]);
    const g = softmaxCrossEntropyBackward(t(f64([1, 1, 1]), [3]), logits, { data: Int32Array.of(0, 0, 0), shape: [3] });
    expect(Array.from(g.data)).toEqual([0, 0, -1, 1, -1, 1]);
    const lossF = softmaxCrossEntropy({ data: Float32Array.of(1e4, -1e4), shape: [1, 2] }, { data: Int32Array.of(1), shape: [1] });
    expect(lossF.data).toBeInstanceOf(Float32Array);
    expect(Array.from(lossF.data)).toEqual([2e4]);
  });

  it('int labels and their one-hot rows give identical losses and gradients', () => {
    const N = 9, C = 7;
    const logits = t(uniformF64(N * C, 5, -4, 4), [N, C]);
    const ints = { data: intsBelow(N, C, 6), shape: [N] };
    const onehot = new Float64Array(N * C);
    for (let n = 0; n < N; n++) onehot[n * C + ints.data[n]] = 1;
    expect(Array.from(softmaxCrossEntropy(logits, t(onehot, [N, C])).data)).toEqual(Array.from(softmaxCrossEntropy(logits, ints).data));
    const dloss = t(uniformF64(N, 7), [N]);
    expect(Array.from(softmaxCrossEntropyBackward(dloss, logits, t(onehot, [N, C])).data))
      .toEqual(Array.from(softmaxCrossEntropyBackward(dloss, logits, ints).data));
  });

  it('soft labels: loss = -sum label * logSoftmax, gradient = dloss * (softmax - label)', () => {
    const N = 4, C = 5;
    const logits = t(uniformF64(N * C, 8, -3, 3), [N, C]);
    const raw = uniformF64(N * C, 9, 0.1, 1);
    const labels = new Float64Array(N * C);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += raw[n * C + c];
      for (let c = 0; c < C; c++) labels[n * C + c] = raw[n * C + c] / s;
    }
    const ls = logSoftmax(logits, 1).data;
    const p = softmax(logits, 1).data;
    const wantLoss = new Float64Array(N);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) wantLoss[n] -= labels[n * C + c] * ls[n * C + c];
    // C-term sums of values below ~10: C * eps64 * 10, margin 4.
    assertClose(softmaxCrossEntropy(logits, t(labels, [N, C])).data, wantLoss, { atol: 4 * C * EPS64 * 10, what: 'soft CE' });
    const dloss = uniformF64(N, 10);
    const wantGrad = new Float64Array(N * C);
    for (let i = 0; i < N * C; i++) wantGrad[i] = dloss[Math.floor(i / C)] * (p[i] - labels[i]);
    // label rows sum to 1 only to C * eps64: that times |p| <= 1, plus a few roundings.
    assertClose(softmaxCrossEntropyBackward(t(dloss, [N]), logits, t(labels, [N, C])).data, wantGrad, { atol: 4 * C * EPS64, what: 'soft CE grad' });
  });

  it('an out-of-range int label reads nothing out of bounds: loss and gradient 0', () => {
    const logits = t(f64([1, 2, 3, 4]), [2, 2]);
    const labels = { data: Int32Array.of(2, -1), shape: [2] };
    expect(Array.from(softmaxCrossEntropy(logits, labels).data)).toEqual([0, 0]);
    expect(Array.from(softmaxCrossEntropyBackward(t(f64([1, 1]), [2]), logits, labels).data)).toEqual([0, 0, 0, 0]);
  });
});
