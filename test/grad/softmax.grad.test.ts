/**
 * Finite-difference checks of the softmax family in float64. softmax and logSoftmax have no backward kernel:
 * their vector-Jacobian products are written here (dx = y (dy - sum(dy y)) and dx = dy - softmax sum(dy)),
 * which checks the forward kernels against the formulas the ops layer will use.
 */
import { describe, it } from 'vitest';
import {
  logSoftmax, softmax, softmaxCrossEntropy, softmaxCrossEntropyBackward,
} from '../../src/backends/reference/softmax.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { intsBelow, Rng, uniformF64 } from '../helpers/random.js';

/** outer / axis / inner sizes of `shape` around `axis`. */
function split(shape: number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return [outer, shape[axis], inner];
}

/** dx = y * (dy - sum_axis(dy * y)), the VJP of y = softmax(x). */
function softmaxVjp(y: Float64Array, dy: Float64Array, shape: number[], axis: number): Float64Array {
  const [outer, L, inner] = split(shape, axis);
  const dx = new Float64Array(y.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const idx = (l: number) => (o * L + l) * inner + i;
      let s = 0;
      for (let l = 0; l < L; l++) s += dy[idx(l)] * y[idx(l)];
      for (let l = 0; l < L; l++) dx[idx(l)] = y[idx(l)] * (dy[idx(l)] - s);
    }
  }
  return dx;
}

/** dx = dy - softmax(x) * sum_axis(dy), the VJP of logSoftmax. */
function logSoftmaxVjp(p: Float64Array, dy: Float64Array, shape: number[], axis: number): Float64Array {
  const [outer, L, inner] = split(shape, axis);
  const dx = new Float64Array(p.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const idx = (l: number) => (o * L + l) * inner + i;
      let s = 0;
      for (let l = 0; l < L; l++) s += dy[idx(l)];
      for (let l = 0; l < L; l++) dx[idx(l)] = dy[idx(l)] - p[idx(l)] * s;
    }
  }
  return dx;
}

function randomShape(rng: Rng): { shape: number[]; axis: number } {
  const rank = rng.int(1, 3);
  const shape = Array.from({ length: rank }, () => rng.int(1, 4));
  return { shape, axis: rng.int(0, rank - 1) };
}

describe('softmax / logSoftmax gradients by finite differences (float64)', () => {
  it('softmax along a random axis, 10 cases', () => {
    const rng = new Rng(21);
    for (let k = 0; k < 10; k++) {
      const { shape, axis } = randomShape(rng);
      const n = shape.reduce((p, d) => p * d, 1);
      gradCheck({
        what: `softmax shape [${shape}] axis ${axis}`,
        inputs: [uniformF64(n, 100 + k, -3, 3)],
        forward: (xs) => softmax({ data: xs[0], shape }, axis).data,
        backward: (xs, dy) => [softmaxVjp(softmax({ data: xs[0], shape }, axis).data, dy, shape, axis)],
        seed: 200 + k,
      });
    }
  });

  it('logSoftmax along a random axis, 10 cases', () => {
    const rng = new Rng(22);
    for (let k = 0; k < 10; k++) {
      const { shape, axis } = randomShape(rng);
      const n = shape.reduce((p, d) => p * d, 1);
      gradCheck({
        what: `logSoftmax shape [${shape}] axis ${axis}`,
        inputs: [uniformF64(n, 300 + k, -3, 3)],
        forward: (xs) => logSoftmax({ data: xs[0], shape }, axis).data,
        backward: (xs, dy) => [logSoftmaxVjp(softmax({ data: xs[0], shape }, axis).data, dy, shape, axis)],
        seed: 400 + k,
      });
    }
  });
});

describe('softmaxCrossEntropyBackward by finite differences (float64)', () => {
  it('int labels, 10 cases', () => {
    const rng = new Rng(23);
    for (let k = 0; k < 10; k++) {
      const N = rng.int(1, 4), C = rng.int(1, 6);
      const labels = { data: intsBelow(N, C, 500 + k), shape: [N] };
      gradCheck({
        what: `CE int labels N=${N} C=${C}`,
        inputs: [uniformF64(N * C, 600 + k, -4, 4)],
        forward: (xs) => softmaxCrossEntropy({ data: xs[0], shape: [N, C] }, labels).data,
        backward: (xs, dy) => [softmaxCrossEntropyBackward({ data: dy, shape: [N] }, { data: xs[0], shape: [N, C] }, labels).data],
        seed: 700 + k,
      });
    }
  });

  it('soft labels (rows summing to 1) and one-hot float labels, 10 cases', () => {
    const rng = new Rng(24);
    for (let k = 0; k < 10; k++) {
      const N = rng.int(1, 4), C = rng.int(2, 6);
      const raw = uniformF64(N * C, 800 + k, 0, 1);
      const soft = new Float64Array(N * C);
      const hard = intsBelow(N, C, 850 + k);
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += raw[n * C + c];
        for (let c = 0; c < C; c++) soft[n * C + c] = k % 2 === 0 ? raw[n * C + c] / s : c === hard[n] ? 1 : 0;
      }
      const labels = { data: soft, shape: [N, C] };
      gradCheck({
        what: `CE ${k % 2 === 0 ? 'soft' : 'one-hot float'} labels N=${N} C=${C}`,
        inputs: [uniformF64(N * C, 900 + k, -4, 4)],
        forward: (xs) => softmaxCrossEntropy({ data: xs[0], shape: [N, C] }, labels).data,
        backward: (xs, dy) => [softmaxCrossEntropyBackward({ data: dy, shape: [N] }, { data: xs[0], shape: [N, C] }, labels).data],
        seed: 950 + k,
      });
    }
  });
});
