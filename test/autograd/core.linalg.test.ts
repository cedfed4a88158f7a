/**
 * Gradients of matmul (every transpose flag, vectors, batch broadcasting) and of softmax / logSoftmax along
 * each axis, by float64 finite differences; a small network through many ops at once; exact float32 checks.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import { matmul } from '../../src/tensor/linalg.js';
import { logSoftmax, softmax } from '../../src/tensor/softmax.js';
import * as ew from '../../src/tensor/elementwise.js';
import { mean, sum } from '../../src/tensor/reduction.js';
import { gather, reshape } from '../../src/tensor/manipulation.js';
import { gradients } from '../../src/autograd/index.js';
import { randAway, randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

/** Stored shape of an operand [..batch, rows, cols], with rows and cols swapped when transposed. */
const stored = (batch: number[], r: number, c: number, t: boolean): number[] => [...batch, ...(t ? [c, r] : [r, c])];

describe('matmul (float64 finite differences)', () => {
  const M = 2;
  const K = 3;
  const N = 4;
  const batches: Array<[number[], number[]]> = [
    [[], []],
    [[2], [2]],
    [[2], []], // b shared by the batch
    [[], [3]], // a shared
    [[2, 1], [1, 3]], // both broadcast
    [[2, 3], [1]], // a leading 1
  ];
  batches.forEach(([ba, bb], i) => {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        it(`a batch ${JSON.stringify(ba)} b batch ${JSON.stringify(bb)} transposeA ${transposeA} transposeB ${transposeB}`, () => {
          const a = randF64(stored(ba, M, K, transposeA), 10 + i);
          const b = randF64(stored(bb, K, N, transposeB), 20 + i);
          tapeGradCheck({ what: `matmul ${i} ${transposeA} ${transposeB}`, inputs: [a, b], fn: (p, q) => matmul(p, q, { transposeA, transposeB }) });
        });
      }
    }
  });

  it('vectors: [K] @ [K, N], [.., M, K] @ [K], [K] @ [K]', () => {
    tapeGradCheck({ what: 'vec @ mat', inputs: [randF64([3], 30), randF64([3, 4], 31)], fn: (p, q) => matmul(p, q) });
    tapeGradCheck({ what: 'vec @ mat^T', inputs: [randF64([3], 30), randF64([4, 3], 31)], fn: (p, q) => matmul(p, q, { transposeB: true }) });
    tapeGradCheck({ what: 'batch mat @ vec', inputs: [randF64([2, 2, 3], 32), randF64([3], 33)], fn: (p, q) => matmul(p, q) });
    tapeGradCheck({ what: 'dot', inputs: [randF64([5], 34), randF64([5], 35)], fn: (p, q) => matmul(p, q) });
  });

  it('the same tensor on both sides (x^T x) and one side constant', () => {
    tapeGradCheck({ what: 'x^T x', inputs: [randF64([3, 2], 36)], fn: (x) => matmul(x, x, { transposeA: true }) });
    tapeGradCheck({ what: 'wrt b only', inputs: [randF64([2, 3], 37), randF64([3, 2], 38)], wrt: [1], fn: (p, q) => matmul(p, q) });
  });

  it('exact float32: dA = G B^T, dB = A^T G', () => {
    const a = tensor([[1, 2], [3, 4]]).requireGrad();
    const b = tensor([[1, 0, 2], [0, 1, 1]]).requireGrad();
    const [ga, gb] = gradients(sum(matmul(a, b)), [a, b]);
    expect(vals(ga)).toEqual([3, 2, 3, 2]);
    expect(vals(gb)).toEqual([4, 4, 4, 6, 6, 6]);
  });
});

describe('softmax and logSoftmax (float64 finite differences)', () => {
  for (const axis of [0, 1, -1]) {
    it(`softmax axis ${axis}`, () => {
      tapeGradCheck({ what: `softmax ${axis}`, inputs: [randF64([2, 3, 4], 40, -2, 2)], fn: (x) => softmax(x, axis) });
    });
    it(`logSoftmax axis ${axis}`, () => {
      tapeGradCheck({ what: `logSoftmax ${axis}`, inputs: [randF64([2, 3, 4], 41, -2, 2)], fn: (x) => logSoftmax(x, axis) });
    });
  }

  it('large logits stay finite', () => {
    tapeGradCheck({ what: 'logSoftmax large', inputs: [randF64([2, 5], 42, 300, 305)], fn: (x) => logSoftmax(x) });
  });

  it('exact float32: the gradient of sum(softmax) is 0; of a logSoftmax pick is onehot - softmax', () => {
    const x = tensor([[0, 0, 0, 0]]).requireGrad();
    expect(vals(gradients(sum(softmax(x)), [x])[0])).toEqual([0, 0, 0, 0]);
    const [g] = gradients(sum(gather(logSoftmax(x), [1], 1)), [x]);
    expect(vals(g)).toEqual([-0.25, 0.75, -0.25, -0.25]);
  });
});

describe('a small network through many ops', () => {
  it('mean cross-entropy of a two-layer MLP with relu and bias broadcasting', () => {
    const x = randF64([4, 3], 50);
    const w1 = randF64([3, 5], 51);
    const b1 = randF64([5], 52);
    const w2 = randF64([5, 2], 53);
    // Pre-activations of relu are checked away from 0 below (the data is fixed; the kink would break the FD).
    const h = ew.add(matmul(x, w1), b1);
    expect(Array.from(h.data).every((v) => Math.abs(v) > 1e-3)).toBe(true);
    const picks = new Tensor(Int32Array.of(0, 1, 1, 0), [4]);
    tapeGradCheck({
      what: 'mlp',
      inputs: [x, w1, b1, w2],
      fn: (xx, a, b, c) => {
        const logits = matmul(ew.relu(ew.add(matmul(xx, a), b)), c);
        const lp = reshape(logSoftmax(logits), [8]);
        const flat = new Tensor(Int32Array.from(picks.data, (p, i) => 2 * i + p), [4]);
        return ew.neg(mean(gather(lp, flat)));
      },
    });
  });

  it('elementwise chain with scalars, powers and a division', () => {
    tapeGradCheck({
      what: 'chain',
      inputs: [randAway([2, 3], 54, [0], 0.2), randF64([3], 55, 0.5, 1.5)],
      fn: (a, b) => ew.div(ew.sub(ew.pow(b, 2.5), ew.mul(a, 0.1)), ew.add(ew.square(a), b)),
    });
  });
});
