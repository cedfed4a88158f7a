/**
 * Native matmul (SGEMM with the fused bias/activation epilogue, native/addon/gemm.cc) and its Promise form.
 * Shapes are worked out here; the addon re-checks every length for memory safety only. Float64Array inputs
 * (the float64 reference checks) and SharedArrayBuffer-backed arrays, which the addon refuses, run on the
 * reference backend.
 */
import type { AsyncKernels, Backend, FloatArray, KTensor, MatMulAttrs } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { allocF32 } from '../storage.js';
import { isPlainF32 } from './elementwise.js';

/** batch, batchA, batchB, m, n, k, transA, transB: the integers of one rank-3 matmul call. */
export type MatmulGeometry = [number, number, number, number, number, number, boolean, boolean];

/** The SGEMM entries of the addon (native/addon/gemm.cc). Outputs are written in place. */
export interface GemmAddon extends NativeAddon {
  /** out[t] = act(op(a[t or 0]) @ op(b[t or 0]) + bias); a [batchA, m, k] ([.., k, m] if transA), b [batchB, k, n] ([.., n, k] if transB). */
  matmulF32(a: Float32Array, b: Float32Array, out: Float32Array, ...rest: [...MatmulGeometry, Float32Array | null, number]): void;
  /** The same on the libuv pool; resolves with `out`. The arrays must not be written or detached until then. */
  matmulF32Async(a: Float32Array, b: Float32Array, out: Float32Array, ...rest: [...MatmulGeometry, Float32Array | null, number]): Promise<Float32Array>;
  /** c = act(alpha op(a) op(b) + beta c + bias), row strides lda/ldb/ldc; beta 0 never reads c. */
  gemmF32(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: Float32Array, lda: number,
    b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number, bias: Float32Array | null, activation: number,
  ): void;
  readonly matmulActivationCodes: Readonly<Record<'linear' | 'relu', number>>;
}

interface Prepared {
  readonly out: Float32Array;
  readonly shape: number[];
  readonly g: MatmulGeometry;
}

// a [Ba, M, K] ([Ba, K, M] if transposeA), b [Bb, K, N] ([Bb, N, K] if transposeB) -> [B, M, N].
function prepare(a: KTensor, b: KTensor, attrs: MatMulAttrs): Prepared {
  const { transposeA, transposeB } = attrs;
  const [Ba, a1, a2] = a.shape;
  const [Bb, b1, b2] = b.shape;
  const M = transposeA ? a2 : a1;
  const K = transposeA ? a1 : a2;
  const N = transposeB ? b1 : b2;
  // Not Math.max: an empty batch (Ba = 0 against Bb = 1) stays empty, as in the reference.
  const B = Ba === 1 ? Bb : Ba;
  return { out: allocF32(B * M * N), shape: [B, M, N], g: [B, Ba, Bb, M, N, K, transposeA, transposeB] };
}

/** The matmul entries of the native backend and the Promise form (empty when the addon was built without them). */
export function matmulKernels(addon: NativeAddon): Partial<Backend> {
  const x = addon as GemmAddon;
  if (typeof x.matmulF32 !== 'function') return {};
  const codes = x.matmulActivationCodes;
  const ref = referenceBackend;
  const native = (a: KTensor, b: KTensor, bias?: KTensor): boolean =>
    isPlainF32(a.data as FloatArray) && isPlainF32(b.data as FloatArray) && (!bias || isPlainF32(bias.data as FloatArray));
  const act = (attrs: MatMulAttrs): number => (attrs.activation === 'relu' ? codes.relu : codes.linear);

  function matmul<A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): KTensor<A> {
    if (!native(a, b, bias)) return ref.matmul(a, b, attrs, bias);
    const p = prepare(a, b, attrs);
    x.matmulF32(a.data as Float32Array, b.data as Float32Array, p.out, ...p.g, bias ? (bias.data as Float32Array) : null, act(attrs));
    return { data: p.out as A, shape: p.shape };
  }

  // Same arguments and results; float64 runs the reference synchronously, then resolves.
  const async: AsyncKernels = {
    async matmul<A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): Promise<KTensor<A>> {
      if (!native(a, b, bias)) return ref.matmul(a, b, attrs, bias);
      const p = prepare(a, b, attrs);
      await x.matmulF32Async(a.data as Float32Array, b.data as Float32Array, p.out, ...p.g, bias ? (bias.data as Float32Array) : null, act(attrs));
      return { data: p.out as A, shape: p.shape };
    },
  };

  return { matmul, async };
}
