/**
 * Properties: native softmax, logSoftmax, softmaxCrossEntropy (int and one-hot / soft float labels) and its
 * backward against the reference, over axes of every position, row lengths across vector tails, large logits
 * (+-1e3 offsets) and -Infinity (masked) logits.
 *
 * Tolerances, per row of length L with max m, shifted z_j = x_j - m, S = sum_j e^{z_j}, p_j = e^{z_j} / S and
 * U = 4 ulp for exp and log (a float32 SIMD exp/log within 3.5 ulp, plus the reference's 0.5), 1 ulp <= 2 eps32
 * relative (u = eps32 = 2^-24). Everything is first order in u, the reference's double error below that:
 * - exp(z_j): z_j rounded (eps32 |z_j| absolute, so that relative in e^z) and exp itself (2U eps32 relative);
 *   S: those errors weighted by p_j, plus gamma_{L-1} for the sum:  dS/S <= 2U eps32 + eps32 zbar + gamma_{L-1},
 *   zbar = sum_j p_j |z_j|.
 * - softmax: p_i = e^{z_i} / S, one more rounding for the division or the reciprocal multiply, one for the
 *   reference:  |got - ref| <= (gamma_{L + 4U + 3} + eps32 (|z_i| + zbar)) |ref| + 2^-126 (subnormal results).
 * - logSoftmax: z_i - log S, or x_i - (m + log S) (then the roundings of m + log S and of x_i - lse are
 *   absolute, of size |m| and |lse|):  |got - ref| <= eps32 (|z_i| + zbar) + 2U eps32 |log S| + dS/S
 *   + 2 eps32 (|m| + |log S|) + 2 eps32 |ref|.
 * - softmaxCrossEntropy: int label k: -logSoftmax_k, the same bound. Float labels w: sum_c w_c (lse - x_c) in
 *   any arrangement (also lse sum(w) - sum(w x), which cancels for large logits):
 *   sum_c |w_c| B_c + gamma_{C+2} sum_c |w_c| (|lse| + |x_c|), B_c the logSoftmax bound of element c.
 * - backward: g (p_c L_sum - l_c), L_sum = sum_c l_c:
 *   |g| (Bp_c |L_sum| + p_c gamma_C sum|l| + 3 eps32 (p_c |L_sum| + |l_c|)) + eps32 |ref|, Bp_c the softmax bound.
 */
import { describe, expect, it } from 'vitest';

import type { FloatArray, ITensor, KTensor } from '../../src/backends/backend.js';
import { EPS32 } from '../helpers/close.js';
import { MIN_NORMAL32, checkKernel, fcParams, gamma32, nativeBackend, reportCoverage, reportsBadIndices } from '../helpers/backends.js';
import { batchArb, f32data, fc, fmt, i32data, lazy, lengthArb, seedArb, shapeArb, sizeOf, tf, ti } from './arb.js';

reportCoverage('softmax', ['softmax', 'logSoftmax', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward']);

const U = 4;

/** Per-element error bounds of softmax and logSoftmax along `axis`, from the row statistics (in double). */
function softmaxBounds(x: FloatArray, shape: readonly number[], axis: number): { soft: Float64Array; log: Float64Array } {
  const ax = axis < 0 ? axis + shape.length : axis;
  const outer = sizeOf(shape.slice(0, ax));
  const L = shape[ax];
  const inner = sizeOf(shape.slice(ax + 1));
  const soft = new Float64Array(x.length);
  const log = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (l: number): number => (o * L + l) * inner + i;
      let m = -Infinity;
      for (let l = 0; l < L; l++) m = Math.max(m, x[at(l)]);
      let S = 0;
      let zw = 0;
      for (let l = 0; l < L; l++) {
        const z = x[at(l)] - m;
        const e = Math.exp(z);
        S += e;
        if (e > 0) zw += e * Math.abs(z);
      }
      const zbar = zw / S;
      const logS = Math.log(S);
      const dS = 2 * U * EPS32 + EPS32 * zbar + gamma32(L - 1);
      for (let l = 0; l < L; l++) {
        const z = Math.abs(x[at(l)] - m);
        const p = Math.exp(x[at(l)] - m) / S;
        const ls = x[at(l)] - m - logS;
        soft[at(l)] = (gamma32(L + 4 * U + 3) + EPS32 * (z + zbar)) * p + MIN_NORMAL32;
        log[at(l)] = EPS32 * (z + zbar) + 2 * U * EPS32 * Math.abs(logS) + dS + 2 * EPS32 * (Math.abs(m) + Math.abs(logS)) + 2 * EPS32 * Math.abs(ls);
      }
    }
  }
  return { soft, log };
}

/** Logits: spread `spread`, offset (large logits), optional -Infinity (masked) and NaN entries. */
function logits(n: number, seed: number, spread: number, offset: number, masked: boolean): Float32Array {
  const x = f32data(n, seed, { lo: offset - spread, hi: offset + spread, specialRate: masked ? 0.1 : 0, specials: [-Infinity, -Infinity, -Infinity, Infinity, NaN] });
  return x;
}

const valueArb = fc.record({
  spread: fc.constantFrom(1, 5, 30),
  offset: fc.constantFrom(0, 0, -50, 1000, -1000),
  masked: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: seedArb,
});

const rowsArb = fc.record({ N: batchArb, C: fc.oneof(lengthArb.filter((n) => n >= 1), fc.constantFrom(1, 2, 10)) })
  .map(({ N, C }) => ({ N, C: Math.min(C, 1031) }));

type Labels = { kind: 'int'; t: ITensor } | { kind: 'onehot' | 'soft'; t: KTensor<Float32Array> };

function makeLabels(kind: 'int' | 'onehot' | 'soft', N: number, C: number, seed: number, outOfRange: boolean): Labels {
  const k = i32data(N, seed, outOfRange ? -1 : 0, outOfRange ? C : C - 1);
  if (kind === 'int') return { kind, t: ti(k, [N]) };
  const w = new Float32Array(N * C);
  if (kind === 'onehot') {
    for (let n = 0; n < N; n++) w[n * C + Math.min(Math.max(k[n], 0), C - 1)] = 1;
  } else {
    const u = f32data(N * C, seed + 7, { lo: 0, hi: 1 });
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += u[n * C + c];
      for (let c = 0; c < C; c++) w[n * C + c] = s > 0 ? u[n * C + c] / s : 1 / C;
    }
  }
  return { kind, t: tf(w, [N, C]) };
}

/** Label weight l[n, c] and row sums, for the bounds. */
function labelAt(labels: Labels, N: number, C: number): { l: Float64Array; sum: Float64Array; absSum: Float64Array } {
  const l = new Float64Array(N * C);
  if (labels.kind === 'int') {
    for (let n = 0; n < N; n++) { const k = labels.t.data[n]; if (k >= 0 && k < C) l[n * C + k] = 1; }
  } else {
    l.set(labels.t.data);
  }
  const sum = new Float64Array(N);
  const absSum = new Float64Array(N);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) { sum[n] += l[n * C + c]; absSum[n] += Math.abs(l[n * C + c]); }
  return { l, sum, absSum };
}

describe('props: softmax and cross-entropy, native vs reference', () => {
  it('softmax and logSoftmax: any axis (negative too), large and masked logits', () => {
    const arb = shapeArb(1, 4, 3000).filter((s) => s.length > 0).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: -shape.length, max: shape.length - 1 }), v: valueArb, log: fc.boolean() }));
    const rowArb = rowsArb.chain(({ N, C }) => fc.record({ shape: fc.constant([N, C]), axis: fc.constantFrom(1, -1), v: valueArb, log: fc.boolean() }));
    fc.assert(
      fc.property(fc.oneof(arb, rowArb), ({ shape, axis, v, log }) => {
        const ax = axis < 0 ? axis + shape.length : axis;
        if (shape[ax] === 0) return; // softmax over an empty axis has no elements
        const x = tf(logits(sizeOf(shape), v.seed, v.spread, v.offset, v.masked), shape);
        const bounds = lazy(() => softmaxBounds(x.data, shape, axis));
        const kernel = log ? 'logSoftmax' : 'softmax';
        checkKernel({
          kernel,
          what: `x ${fmt(shape)} axis ${axis} logits ${v.offset}+-${v.spread}${v.masked ? ' +masked/inf/nan' : ''}`,
          run: (b) => ({ y: log ? b.logSoftmax(x, axis) : b.softmax(x, axis) }),
          tol: (i) => (log ? bounds().log[i] : bounds().soft[i]),
          inputs: [x],
        });
      }),
      fcParams(200, 'softmax', 'logSoftmax'),
    );
  });

  it('softmaxCrossEntropy and its backward: int labels (some out of range), one-hot and soft float labels', () => {
    fc.assert(
      fc.property(rowsArb, valueArb, fc.constantFrom<'int' | 'onehot' | 'soft'>('int', 'onehot', 'soft'), fc.boolean(), fc.boolean(),
        ({ N, C }, v, kind, outOfRange, backward) => {
          const x = tf(logits(N * C, v.seed, v.spread, v.offset, false), [N, C]);
          const labels = makeLabels(kind, N, C, v.seed + 3, outOfRange && kind === 'int');
          const lt = labels.t as ITensor | KTensor<Float32Array>;
          const stats = lazy(() => ({ b: softmaxBounds(x.data, [N, C], 1), lab: labelAt(labels, N, C) }));
          const what = `logits ${fmt([N, C])} ${v.offset}+-${v.spread} labels ${kind} ${fmt(labels.t.shape)}${outOfRange && kind === 'int' ? ' (some out of range)' : ''}`;
          const bad = kind === 'int' ? Array.from(labels.t.data).findIndex((k) => k < 0 || k >= C) : -1;
          if (bad >= 0 && reportsBadIndices) {
            // The CUDA kernels report the first bad label (the error surfaces when the result is read back).
            const g = tf(f32data(N, v.seed + 5, { lo: -2, hi: 2 }), [N]);
            const call = backward ? () => nativeBackend.softmaxCrossEntropyBackward(g, x, lt as KTensor<Float32Array>)
              : () => nativeBackend.softmaxCrossEntropy(x, lt as KTensor<Float32Array>);
            expect(call, what).toThrow(`argument 'labels' holds ${labels.t.data[bad]} at flat position ${bad}, out of range [0, ${C})`);
            return;
          }
          if (!backward) {
            checkKernel({
              kernel: 'softmaxCrossEntropy', what,
              run: (b) => ({ loss: b.softmaxCrossEntropy(x, lt as KTensor<Float32Array>) }),
              tol: (n) => {
                const { b, lab } = stats();
                let bound = 0;
                let mag = 0;
                let m = -Infinity;
                for (let c = 0; c < C; c++) m = Math.max(m, x.data[n * C + c]);
                let S = 0;
                for (let c = 0; c < C; c++) S += Math.exp(x.data[n * C + c] - m);
                const lse = m + Math.log(S);
                for (let c = 0; c < C; c++) {
                  const w = Math.abs(lab.l[n * C + c]);
                  bound += w * b.log[n * C + c];
                  mag += w * (Math.abs(lse) + Math.abs(x.data[n * C + c]));
                }
                return bound + (labels.kind === 'int' ? 0 : gamma32(C + 2) * mag);
              },
              inputs: [x, labels.t],
            });
          } else {
            const g = tf(f32data(N, v.seed + 5, { lo: -2, hi: 2 }), [N]);
            checkKernel({
              kernel: 'softmaxCrossEntropyBackward', what: `${what} dloss ${fmt([N])}`,
              run: (b) => ({ dlogits: b.softmaxCrossEntropyBackward(g, x, lt as KTensor<Float32Array>) }),
              tol: (i, ref) => {
                const { b, lab } = stats();
                const n = Math.floor(i / C);
                let m = -Infinity;
                for (let c = 0; c < C; c++) m = Math.max(m, x.data[n * C + c]);
                let S = 0;
                for (let c = 0; c < C; c++) S += Math.exp(x.data[n * C + c] - m);
                const p = Math.exp(x.data[i] - m) / S;
                const Ls = Math.abs(lab.sum[n]);
                return Math.abs(g.data[n]) * (b.soft[i] * Ls + p * gamma32(C) * lab.absSum[n] + 3 * EPS32 * (p * Ls + Math.abs(lab.l[i])))
                  + EPS32 * Math.abs(ref);
              },
              inputs: [g, x, labels.t],
            });
          }
        }),
      fcParams(200, 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward'),
    );
  });
});
