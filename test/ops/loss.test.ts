/** softmaxCrossEntropy: per-example values, the three reductions, int32 vs one-hot labels, and its backward. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { fromFlat, int32, random, tensor } from './fixtures.js';

beforeAll(() => setBackend('reference'));

/** -log softmax(logits[n])[label] in float64, by log-sum-exp with the max subtracted. */
function oracle(logits: Float32Array, n: number, c: number, labels: readonly number[]): number[] {
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from(logits.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[labels[i]];
  });
}

function oneHot(labels: readonly number[], c: number): number[] {
  return labels.flatMap((l) => Array.from({ length: c }, (_, k) => (k === l ? 1 : 0)));
}

describe('softmaxCrossEntropy', () => {
  const logits = random([4, 3], 1);
  const labels = [2, 0, 1, 2];

  it("reductions 'none' [N], 'sum' and 'mean' (default) scalars; int32 and one-hot labels agree", () => {
    const expected = oracle(logits.data as Float32Array, 4, 3, labels);
    const none = ops.softmaxCrossEntropy(logits, int32(labels), { reduction: 'none' });
    expect(none.shape).toEqual([4]);
    assertClose(none.data, expected, { rtol: 8 * EPS32, atol: 8 * EPS32, what: 'none' });
    const hot = ops.softmaxCrossEntropy(logits, fromFlat(oneHot(labels, 3), [4, 3]), { reduction: 'none' });
    assertClose(hot.data, none.data, { rtol: 8 * EPS32, atol: 8 * EPS32, what: 'one-hot' });
    const sum = ops.softmaxCrossEntropy(logits, int32(labels), { reduction: 'sum' });
    expect(sum.shape).toEqual([]);
    assertClose(sum.data, [expected.reduce((a, b) => a + b)], { rtol: 16 * EPS32, what: 'sum' });
    const mean = ops.softmaxCrossEntropy(logits, int32(labels));
    expect(mean.shape).toEqual([]);
    assertClose(mean.data, [expected.reduce((a, b) => a + b) / 4], { rtol: 16 * EPS32, what: 'mean' });
  });

  it('soft labels: -sum_k p_k log softmax_k; large logits stay finite', () => {
    const soft = tensor([[0.25, 0.75], [0.5, 0.5]]);
    const l = tensor([[1000, 0], [-1000, 1000]]);
    const y = ops.softmaxCrossEntropy(l, soft, { reduction: 'none' });
    // Row 0: log softmax = [0, -1000]; row 1: [-2000, 0].
    assertClose(y.data, [0.75 * 1000, 0.5 * 2000], { rtol: 4 * EPS32, what: 'soft, large logits' });
  });

  it('backward: (softmax - onehot) * dloss, divided by N for mean', () => {
    const p = (i: number, k: number): number => {
      const row = Array.from(logits.data.subarray(i * 3, i * 3 + 3));
      const m = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      return Math.exp(row[k] - m) / z;
    };
    const grad = (scale: (i: number) => number): number[] =>
      Array.from({ length: 12 }, (_, j) => scale(Math.floor(j / 3)) * (p(Math.floor(j / 3), j % 3) - (labels[Math.floor(j / 3)] === j % 3 ? 1 : 0)));
    const tol = { rtol: 8 * EPS32, atol: 8 * EPS32 };
    const dMean = ops.softmaxCrossEntropyBackward(fromFlat([2], []), logits, int32(labels));
    assertClose(dMean.data, grad(() => 2 / 4), { ...tol, what: 'mean' });
    const dSum = ops.softmaxCrossEntropyBackward(fromFlat([2], []), logits, int32(labels), { reduction: 'sum' });
    assertClose(dSum.data, grad(() => 2), { ...tol, what: 'sum' });
    const w = [1, -1, 0.5, 3];
    const dNone = ops.softmaxCrossEntropyBackward(fromFlat(w, [4]), logits, fromFlat(oneHot(labels, 3), [4, 3]), { reduction: 'none' });
    expect(dNone.shape).toEqual([4, 3]);
    assertClose(dNone.data, grad((i) => w[i]), { ...tol, what: 'none' });
  });
});
