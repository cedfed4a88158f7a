import { describe, expect, it } from 'vitest';
import { matmul } from '../../src/backends/reference/matmul.js';
import type { MatMulAttrs } from '../../src/backends/backend.js';
import { assertClose, EPS32, EPS64 } from '../helpers/close.js';
import { Rng, uniformF32, uniformF64 } from '../helpers/random.js';

const f64 = (xs: number[]): Float64Array => Float64Array.from(xs);

/** Explicit copy of [B, R, C] into [B, C, R]: the oracle never reads a transposed operand with strides. */
function transpose3(x: Float64Array, B: number, R: number, C: number): Float64Array {
  const out = new Float64Array(B * R * C);
  for (let b = 0; b < B; b++) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[b * R * C + c * R + r] = x[b * R * C + r * C + c];
  return out;
}

/** Naive oracle on untransposed operands, written as an outer-product (k-outer) accumulation. */
function oracle(a: Float64Array, Ba: number, b: Float64Array, Bb: number, M: number, K: number, N: number): Float64Array {
  const B = Math.max(Ba, Bb);
  const c = new Float64Array(B * M * N);
  for (let bi = 0; bi < B; bi++) {
    const A0 = Ba === 1 ? 0 : bi * M * K;
    const B0 = Bb === 1 ? 0 : bi * K * N;
    for (let k = 0; k < K; k++) {
      for (let m = 0; m < M; m++) {
        const av = a[A0 + m * K + k];
        for (let n = 0; n < N; n++) c[bi * M * N + m * N + n] += av * b[B0 + k * N + n];
      }
    }
  }
  return c;
}

/** A K-term double dot product of operands in [-1, 1]: K (reduction length) * eps64 * K (bound on sum |a b|). */
const tolK = (K: number): number => Math.max(K, 1) ** 2 * EPS64;

describe('reference matmul', () => {
  it('2x3 @ 3x2 by hand', () => {
    const a = { data: f64([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] };
    const b = { data: f64([7, 8, 9, 10, 11, 12]), shape: [1, 3, 2] };
    const c = matmul(a, b, { transposeA: false, transposeB: false });
    expect(c.shape).toEqual([1, 2, 2]);
    // [1 2 3; 4 5 6] @ [7 8; 9 10; 11 12] = [58 64; 139 154] (small integers: exact)
    expect(Array.from(c.data)).toEqual([58, 64, 139, 154]);
  });

  it('3x2 @ 2x3 by hand', () => {
    const a = { data: f64([1, -1, 0, 2, 3, 1]), shape: [1, 3, 2] };
    const b = { data: f64([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] };
    const c = matmul(a, b, { transposeA: false, transposeB: false });
    expect(c.shape).toEqual([1, 3, 3]);
    expect(Array.from(c.data)).toEqual([-3, -3, -3, 8, 10, 12, 7, 11, 15]);
  });

  it('every transpose combination agrees with explicit transposes and a naive loop', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 12; t++) {
      const M = rng.int(1, 6), K = rng.int(1, 7), N = rng.int(1, 5), B = rng.int(1, 3);
      const a = uniformF64(B * M * K, 100 + t);
      const b = uniformF64(B * K * N, 200 + t);
      const want = oracle(a, B, b, B, M, K, N);
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const ad = transposeA ? transpose3(a, B, M, K) : a;
          const bd = transposeB ? transpose3(b, B, K, N) : b;
          const c = matmul(
            { data: ad, shape: transposeA ? [B, K, M] : [B, M, K] },
            { data: bd, shape: transposeB ? [B, N, K] : [B, K, N] },
            { transposeA, transposeB },
          );
          const what = `B=${B} M=${M} K=${K} N=${N} tA=${transposeA} tB=${transposeB}`;
          expect(c.shape, what).toEqual([B, M, N]);
          assertClose(c.data, want, { atol: tolK(K), what });
        }
      }
    }
  });

  it('broadcasts a batch of 1 on either side', () => {
    const M = 3, K = 4, N = 2, B = 3;
    const a1 = uniformF64(M * K, 1);
    const aB = uniformF64(B * M * K, 2);
    const b1 = uniformF64(K * N, 3);
    const bB = uniformF64(B * K * N, 4);
    const attrs: MatMulAttrs = { transposeA: false, transposeB: false };
    const left = matmul({ data: a1, shape: [1, M, K] }, { data: bB, shape: [B, K, N] }, attrs);
    expect(left.shape).toEqual([B, M, N]);
    assertClose(left.data, oracle(a1, 1, bB, B, M, K, N), { atol: tolK(K), what: 'Ba=1' });
    const right = matmul({ data: aB, shape: [B, M, K] }, { data: b1, shape: [1, K, N] }, attrs);
    expect(right.shape).toEqual([B, M, N]);
    assertClose(right.data, oracle(aB, B, b1, 1, M, K, N), { atol: tolK(K), what: 'Bb=1' });
    // Each broadcast batch equals the unbatched product with that batch's slice.
    for (let bi = 0; bi < B; bi++) {
      const one = matmul({ data: a1, shape: [1, M, K] }, { data: bB.slice(bi * K * N, (bi + 1) * K * N), shape: [1, K, N] }, attrs);
      expect(Array.from(left.data.slice(bi * M * N, (bi + 1) * M * N))).toEqual(Array.from(one.data));
    }
  });

  it('adds bias and applies relu in the epilogue', () => {
    const a = { data: f64([1, 2, 3, 4]), shape: [1, 2, 2] };
    const b = { data: f64([1, -1, 0, 1]), shape: [1, 2, 2] };
    const bias = { data: f64([-2, 0.5]), shape: [2] };
    // a @ b = [1 1; 3 1]; + bias = [-1 1.5; 1 1.5]; relu -> [0 1.5; 1 1.5]
    const lin = matmul(a, b, { transposeA: false, transposeB: false, activation: 'linear' }, bias);
    expect(Array.from(lin.data)).toEqual([-1, 1.5, 1, 1.5]);
    const relu = matmul(a, b, { transposeA: false, transposeB: false, activation: 'relu' }, bias);
    expect(Array.from(relu.data)).toEqual([0, 1.5, 1, 1.5]);
    const noBias = matmul(a, b, { transposeA: false, transposeB: false, activation: 'relu' });
    expect(Array.from(noBias.data)).toEqual([1, 1, 3, 1]);
  });

  it('handles M, N or K equal to 1', () => {
    const attrs: MatMulAttrs = { transposeA: false, transposeB: false };
    // K = 1: outer product
    const outer = matmul({ data: f64([1, 2, 3]), shape: [1, 3, 1] }, { data: f64([4, 5]), shape: [1, 1, 2] }, attrs);
    expect(outer.shape).toEqual([1, 3, 2]);
    expect(Array.from(outer.data)).toEqual([4, 5, 8, 10, 12, 15]);
    // M = N = 1: dot product
    const dot = matmul({ data: f64([1, 2, 3]), shape: [1, 1, 3] }, { data: f64([4, 5, 6]), shape: [1, 3, 1] }, attrs);
    expect(dot.shape).toEqual([1, 1, 1]);
    expect(Array.from(dot.data)).toEqual([32]);
    // M = 1 with transposeA: a stored [1, K, 1]
    const row = matmul({ data: f64([1, 2]), shape: [1, 2, 1] }, { data: f64([1, 2, 3, 4]), shape: [1, 2, 2] }, { transposeA: true, transposeB: false });
    expect(Array.from(row.data)).toEqual([7, 10]);
  });

  it('K = 0 gives zeros, or the (activated) bias', () => {
    const a = { data: new Float64Array(0), shape: [2, 3, 0] };
    const b = { data: new Float64Array(0), shape: [1, 0, 2] };
    const c = matmul(a, b, { transposeA: false, transposeB: false });
    expect(c.shape).toEqual([2, 3, 2]);
    expect(Array.from(c.data)).toEqual(new Array(12).fill(0));
    const bias = { data: f64([-1, 2]), shape: [2] };
    const cb = matmul(a, b, { transposeA: false, transposeB: false, activation: 'relu' }, bias);
    expect(Array.from(cb.data)).toEqual([0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2]);
  });

  it('float32 in gives float32 out, the rounding of the double result', () => {
    const M = 5, K = 33, N = 7;
    const a = uniformF32(M * K, 31);
    const b = uniformF32(K * N, 32);
    const c = matmul({ data: a, shape: [1, M, K] }, { data: b, shape: [1, K, N] }, { transposeA: false, transposeB: false });
    expect(c.data).toBeInstanceOf(Float32Array);
    const want = oracle(Float64Array.from(a), 1, Float64Array.from(b), 1, M, K, N);
    // One float32 rounding of the stored result (EPS32 relative) plus the double sum's K * eps64.
    assertClose(c.data, want, { rtol: EPS32, atol: tolK(K), what: 'float32' });
    const d = matmul({ data: Float64Array.from(a), shape: [1, M, K] }, { data: Float64Array.from(b), shape: [1, K, N] }, { transposeA: false, transposeB: false });
    expect(d.data).toBeInstanceOf(Float64Array);
  });
});
