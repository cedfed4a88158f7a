/**
 * Properties: native batched matmul (with the fused bias / relu epilogue, both transposes, batch broadcast)
 * against the reference, and its Promise form against the synchronous one.
 *
 * Tolerance. Each output is bias + sum_k a_mk b_kn, a dot product of length K plus one term. Computed in float32
 * in any order and blocking (with or without FMA), against the reference which sums in double and rounds once:
 *   |got - ref| <= gamma_{K+1} S + eps32 |ref| (+ gamma64_{K+1} S + (K+1) 2^-149),  S = sum_k |a_mk b_kn| + |bias_n|
 * (Higham 3.1: the products add one rounding each, the sum of K+1 terms K more). S is the reference matmul of
 * |a| and |b| (plus |bias|) in float64. relu is 1-Lipschitz, so the same bound holds after it. K = 0 leaves
 * bias (or 0) exactly.
 */
import { describe, it } from 'vitest';

import type { KTensor, MatMulAttrs } from '../../src/backends/backend.js';
import { checkAsyncKernel, checkKernel, fcParams, nativeAsyncKernels, referenceBackend, reportCoverage, sumBound } from '../helpers/backends.js';
import { abs64, batchArb, f32data, fc, fmt, kDimArb, lazy, seedArb, sizeOf, tf, tileDimArb } from './arb.js';

reportCoverage('matmul', ['matmul']);

/**
 * Sizes: mostly small and off the tile sizes; one case in eight big enough (over 2^18 multiply-adds, several
 * MR panels, K across a 256-deep KC slice) that the native GEMM splits one product over the thread pool.
 */
const sizesArb = fc.oneof(
  { arbitrary: fc.record({ B: batchArb, M: tileDimArb, N: tileDimArb, K: kDimArb }), weight: 7 },
  {
    arbitrary: fc.record({
      B: fc.constant(1), M: fc.integer({ min: 97, max: 160 }), N: fc.integer({ min: 33, max: 70 }), K: fc.integer({ min: 257, max: 400 }),
    }),
    weight: 1,
  },
);

const matmulCaseArb = fc.record({
  sizes: sizesArb,
  bcast: fc.constantFrom<'none' | 'a' | 'b'>('none', 'none', 'a', 'b'),
  transposeA: fc.boolean(), transposeB: fc.boolean(),
  bias: fc.boolean(),
  activation: fc.constantFrom<MatMulAttrs['activation']>(undefined, 'linear', 'relu'),
  specials: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: seedArb,
}).map(({ sizes, ...c }) => {
  // Keep the reference's B*M*N*K work bounded (about 4.5M multiply-adds).
  let { M, N, K } = sizes;
  const B = sizes.B;
  while (Math.max(B, 1) * M * N * K > 4_500_000) {
    if (K >= M && K >= N) K = Math.ceil(K / 2);
    else if (M >= N) M = Math.ceil(M / 2);
    else N = Math.ceil(N / 2);
  }
  return { ...c, B, M, N, K };
});

function makeCase(c: {
  B: number; bcast: 'none' | 'a' | 'b'; M: number; N: number; K: number; transposeA: boolean; transposeB: boolean;
  bias: boolean; activation: MatMulAttrs['activation']; specials: boolean; seed: number;
}) {
  const Ba = c.bcast === 'a' ? 1 : c.B;
  const Bb = c.bcast === 'b' ? 1 : c.B;
  const aShape = c.transposeA ? [Ba, c.K, c.M] : [Ba, c.M, c.K];
  const bShape = c.transposeB ? [Bb, c.N, c.K] : [Bb, c.K, c.N];
  const rate = c.specials ? 0.01 : 0;
  const specials = [NaN, Infinity, -Infinity, -0, 1e-40];
  const a = tf(f32data(sizeOf(aShape), c.seed, { lo: -2, hi: 2, specialRate: rate, specials }), aShape);
  const b = tf(f32data(sizeOf(bShape), c.seed + 1, { lo: -2, hi: 2, specialRate: rate, specials }), bShape);
  const bias = c.bias ? tf(f32data(c.N, c.seed + 2, { lo: -2, hi: 2 }), [c.N]) : undefined;
  const attrs: MatMulAttrs = { transposeA: c.transposeA, transposeB: c.transposeB, ...(c.activation ? { activation: c.activation } : {}) };
  const what = `a ${fmt(aShape)} b ${fmt(bShape)}${bias ? ` bias [${c.N}]` : ''} M=${c.M} N=${c.N} K=${c.K} ` +
    `transposeA=${c.transposeA} transposeB=${c.transposeB} activation=${c.activation ?? '(none)'}${c.specials ? ' +specials' : ''}`;
  // S per output: |a| @ |b| + |bias| in float64, no activation.
  const S = lazy(() => referenceBackend.matmul(abs64(a), abs64(b), { transposeA: c.transposeA, transposeB: c.transposeB },
    bias ? abs64(bias) : undefined).data);
  const terms = c.K + (bias ? 1 : 0);
  const tol = (i: number, ref: number): number => sumBound(terms, S()[i], ref);
  const inputs: KTensor[] = bias ? [a, b, bias] : [a, b];
  return { a, b, bias, attrs, what, tol, inputs };
}

describe('props: matmul, native vs reference', () => {
  it('matmul: M/N/K off the tile sizes, K = 1, transposes, batch broadcast, empty batches, bias + relu epilogue', () => {
    fc.assert(
      fc.property(matmulCaseArb, (c) => {
        const { a, b, bias, attrs, what, tol, inputs } = makeCase(c);
        checkKernel({ kernel: 'matmul', what, run: (be) => ({ y: be.matmul(a, b, attrs, bias) }), tol, inputs });
      }),
      fcParams(250, 'matmul'),
    );
  });

  it.skipIf(!nativeAsyncKernels().includes('matmul'))('async matmul: bit-identical to the synchronous kernel', async () => {
    await fc.assert(
      fc.asyncProperty(matmulCaseArb, async (c) => {
        const { a, b, bias, attrs, what, inputs } = makeCase(c);
        await checkAsyncKernel('matmul', what, (f) => f.matmul(a, b, attrs, bias), (be) => be.matmul(a, b, attrs, bias), inputs);
      }),
      fcParams(20, 'matmul'),
    );
  });
});
