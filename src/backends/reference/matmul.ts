/**
 * Reference batched matmul: C[b] = act(op(A[b]) @ op(B[b]) + bias), op = transpose or identity.
 * Plain triple loop over (batch, m, n) with the k-sum in a JS number (double), rounded once on store,
 * so a float32 result is the float32 rounding of a (nearly) exact dot product.
 */
import type { FloatArray, KTensor, MatMulAttrs } from '../backend.js';
import { allocLike } from './util.js';

/**
 * a [Ba, M, K] ([Ba, K, M] if transposeA), b [Bb, K, N] ([Bb, N, K] if transposeB), Ba and Bb equal to B or 1,
 * bias [N] optional -> [B, M, N].
 */
export function matmul<A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): KTensor<A> {
  const { transposeA, transposeB } = attrs;
  const relu = attrs.activation === 'relu';
  const [Ba, a1, a2] = a.shape;
  const [Bb, b1, b2] = b.shape;
  const M = transposeA ? a2 : a1;
  const K = transposeA ? a1 : a2;
  const N = transposeB ? b1 : b2;
  // Not Math.max: an empty batch (Ba = 0 against Bb = 1) must stay empty.
  const B = Ba === 1 ? Bb : Ba;

  // Element (m, k) of op(A) and (k, n) of op(B) at these flat offsets plus the batch offset.
  const aStrideM = transposeA ? 1 : K;
  const aStrideK = transposeA ? M : 1;
  const bStrideK = transposeB ? 1 : N;
  const bStrideN = transposeB ? K : 1;

  const ad = a.data;
  const bd = b.data;
  const out = allocLike(ad, B * M * N);
  for (let bi = 0; bi < B; bi++) {
    const aOff = (Ba === 1 ? 0 : bi) * M * K;
    const bOff = (Bb === 1 ? 0 : bi) * K * N;
    const cOff = bi * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          s += ad[aOff + m * aStrideM + k * aStrideK] * bd[bOff + k * bStrideK + n * bStrideN];
        }
        if (bias) s += bias.data[n];
        // `s < 0` (not Math.max) so that a NaN passes through relu, as it does through the sum.
        if (relu && s < 0) s = 0;
        out[cOff + m * N + n] = s;
      }
    }
  }
  return { data: out, shape: [B, M, N] };
}
