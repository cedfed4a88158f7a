/**
 * The raw surface of nodegrad_cuda.node (native/cuda/addon/): device buffers and one entry per kernel, taking
 * buffers and integers exactly where the CPU addon takes typed arrays and integers (same argument order, op codes
 * and geometry integers), so the shape logic of src/backends/native/ carries over. Every entry checks its
 * arguments (TypeError / RangeError naming the entry and the argument) before anything reaches the GPU; a CUDA
 * failure throws an Error whose message names the entry and the kernel, with code 'ERR_NODEGRAD_CUDA'.
 *
 * Kernels are queued on one stream and run asynchronously: download() and synchronize() wait for them, and an
 * error inside a kernel surfaces there (NODEGRAD_CUDA_SYNC=1 synchronises after every launch to name it).
 * Kernels that read int32 indices (gather, scatterAddF32, the cross-entropy entries with int labels) check them on
 * the device: a bad one is reported to a record that takeIndexError() reads, and its outputs are NaN.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend.js';
import type { ConvGeometry } from '../native/conv.js';
import type { PoolGeometry } from '../native/pool.js';

declare const cudaBufferBrand: unique symbol;

/**
 * A block of device memory (a type-tagged napi External). free() releases it at once; otherwise the garbage
 * collector's finalizer does. Its size is reported to V8 (AdjustExternalMemory), so unreachable device memory
 * prompts collections.
 */
export interface CudaBuffer {
  readonly [cudaBufferBrand]: true;
}

export type CudaDType = 'float32' | 'int32';

export interface CudaDeviceInfo {
  readonly ordinal: number;
  readonly name: string;
  /** [major, minor], e.g. [9, 0] for H100. */
  readonly computeCapability: readonly [number, number];
  readonly smCount: number;
  /** Bytes. */
  readonly totalMemory: number;
  /** e.g. 12040 for CUDA 12.4. */
  readonly driverVersion: number;
  readonly runtimeVersion: number;
  /** cudaMallocAsync pools: buffers are reused without synchronising. */
  readonly memoryPools: boolean;
  /** The architectures the addon holds code for, e.g. "80,90". */
  readonly architectures: string;
}

export type CudaProbe = { readonly ok: true; readonly device: CudaDeviceInfo } | { readonly ok: false; readonly reason: string };

export interface CudaMemoryInfo {
  /** Bytes held by live buffers of this process. */
  readonly bufferBytes: number;
  /** Bytes of the kernels' reusable scratch (im2col columns, split-K partials, reduction partials). */
  readonly scratchBytes: number;
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** A bad index a kernel found on the device (native/cuda/include/ngcuda/common.h IndexCheck). */
export interface CudaIndexError {
  /** The Backend kernel: 'gather' | 'scatterAdd' | 'softmaxCrossEntropy' | 'softmaxCrossEntropyBackward'. */
  readonly op: string;
  /** 'indices' | 'labels'. */
  readonly argument: string;
  /** Flat position in the index array, its value there, and the valid range [0, bound). */
  readonly position: number;
  readonly value: number;
  readonly bound: number;
}

export interface CudaAddon {
  /** Never throws: whether a usable device is there, and why not. */
  probe(): CudaProbe;
  deviceInfo(): CudaDeviceInfo;
  /** Waits for every queued kernel; errors of asynchronous kernels surface here. */
  synchronize(): void;
  memoryInfo(): CudaMemoryInfo;
  /** TF32 tensor cores for matmul and convolutions (about 3 significant digits; off by default). */
  setTf32(on: boolean): void;
  tf32(): boolean;
  /** Frees the kernels' reusable scratch memory (it is allocated again when needed). */
  releaseScratch(): void;
  /**
   * Waits for the queued kernels and takes the first bad index a checking kernel reported since the last call (the
   * record is cleared), or null. Returns at once, without waiting, when no checking kernel ran since then.
   */
  takeIndexError(): CudaIndexError | null;

  // --- buffers ---------------------------------------------------------------------------------------------
  /** length elements of dtype (dtypeCodes: 0 float32, 1 int32), uninitialised. */
  alloc(length: number, dtype: number): CudaBuffer;
  /** Releases the memory now; freeing twice is allowed; using a freed buffer throws. */
  free(buffer: CudaBuffer): void;
  /** Copies a typed array of the buffer's dtype and length to the device. */
  upload(buffer: CudaBuffer, array: Float32Array | Int32Array): void;
  /** Waits for the kernels writing the buffer, copies it into `array` (its dtype and length) and returns it. */
  download<A extends Float32Array | Int32Array>(buffer: CudaBuffer, array: A): A;
  fill(buffer: CudaBuffer, value: number): void;
  /** dst = src, same dtype and length. */
  copy(dst: CudaBuffer, src: CudaBuffer): void;
  bufferInfo(buffer: CudaBuffer): { readonly length: number; readonly dtype: CudaDType; readonly bytes: number; readonly freed: boolean };
  readonly dtypeCodes: Readonly<Record<CudaDType, number>>;

  // --- elementwise, reductions, softmax (native/cuda/addon/eltwise.cc) --------------------------------------
  // The CPU addon's op codes, then the ops only the GPU has (every BinaryOp, UnaryOp and ReduceOp): float32, the
  // reference backend's semantics (native/cuda/include/ngcuda/eltwise.h).
  /** out[i] = a[i] op b[i % b.length]; b.length is a.length, 1 or a divisor of it; out may be a (or b, same length). */
  binaryF32(opCode: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer): void;
  /** out = a op b over outShape (rank <= 8), each read through its strides (0 on broadcast axes); out is neither. */
  binaryBroadcastF32(opCode: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void;
  readonly binaryOpCodes: Readonly<Record<BinaryOp, number>>;
  unaryF32(opCode: number, x: CudaBuffer, y: CudaBuffer, alpha: number): void;
  readonly unaryOpCodes: Readonly<Record<UnaryOp, number>>;
  unaryGradF32(opCode: number, x: CudaBuffer, y: CudaBuffer, dy: CudaBuffer, dx: CudaBuffer, alpha: number): void;
  readonly unaryGradOpCodes: Readonly<Record<string, number>>;
  /** x [outer, len, inner] -> y [outer, inner]. */
  reduceF32(opCode: number, x: CudaBuffer, y: CudaBuffer, outer: number, len: number, inner: number): void;
  readonly reduceOpCodes: Readonly<Record<ReduceOp, number>>;
  /** Along the middle axis of x [outer, len, inner] (the CPU addon's rows: inner 1); y may be x. */
  softmaxF32(x: CudaBuffer, y: CudaBuffer, outer: number, len: number, inner: number): void;
  logSoftmaxF32(x: CudaBuffer, y: CudaBuffer, outer: number, len: number, inner: number): void;
  /** labels: an int32 buffer [n] (a label outside [0, c): reported, NaN loss) or a float32 buffer [n, c]. */
  softmaxCrossEntropyF32(logits: CudaBuffer, labels: CudaBuffer, loss: CudaBuffer, n: number, c: number): void;
  softmaxCrossEntropyBackwardF32(dloss: CudaBuffer, logits: CudaBuffer, labels: CudaBuffer, dlogits: CudaBuffer, n: number, c: number): void;
  /** y = alpha x + beta y (in double per element): moving statistics, gradient accumulation. */
  axpbyF32(alpha: number, x: CudaBuffer, beta: number, y: CudaBuffer): void;

  // --- matmul (gemm.cc) ----------------------------------------------------------------------------------
  matmulF32(a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, batch: number, batchA: number, batchB: number,
    m: number, n: number, k: number, transA: boolean, transB: boolean, bias: CudaBuffer | null, activation: number): void;
  gemmF32(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, a: CudaBuffer, lda: number,
    b: CudaBuffer, ldb: number, beta: number, c: CudaBuffer, ldc: number, bias: CudaBuffer | null, activation: number): void;
  readonly matmulActivationCodes: Readonly<Record<'linear' | 'relu', number>>;

  // --- convolution (conv.cc): the CPU addon's 18 geometry integers ----------------------------------------
  conv2dF32(x: CudaBuffer, w: CudaBuffer, bias: CudaBuffer | null, out: CudaBuffer, ...g: [...ConvGeometry, number]): void;
  conv2dBackwardDataF32(dy: CudaBuffer, w: CudaBuffer, dx: CudaBuffer, ...g: ConvGeometry): void;
  conv2dBackwardFilterF32(x: CudaBuffer, dy: CudaBuffer, dw: CudaBuffer, ...g: ConvGeometry): void;
  /** 'depthwise' | '1x1+sgemm' | 'im2col+sgemm': the algorithm a geometry runs on. */
  convAlgorithm(...g: ConvGeometry): string;

  // --- pooling (pool.cc): the CPU addon's 12 geometry integers --------------------------------------------
  maxPool2dF32(x: CudaBuffer, y: CudaBuffer, ...g: PoolGeometry): void;
  maxPool2dBackwardF32(dy: CudaBuffer, x: CudaBuffer, dx: CudaBuffer, ...g: PoolGeometry): void;
  avgPool2dF32(x: CudaBuffer, y: CudaBuffer, ...g: PoolGeometry): void;
  avgPool2dBackwardF32(dy: CudaBuffer, dx: CudaBuffer, ...g: PoolGeometry): void;
  /** mode 0 avg, 1 max. */
  globalPool2dF32(mode: number, x: CudaBuffer, y: CudaBuffer, n: number, hw: number, c: number): void;
  globalPool2dBackwardF32(mode: number, dy: CudaBuffer, x: CudaBuffer, dx: CudaBuffer, n: number, hw: number, c: number): void;

  // --- batch norm (norm.cc): c is gamma's length ----------------------------------------------------------
  batchNormTrainF32(x: CudaBuffer, gamma: CudaBuffer, beta: CudaBuffer, epsilon: number, y: CudaBuffer, mean: CudaBuffer,
    variance: CudaBuffer): void;
  batchNormInferF32(x: CudaBuffer, gamma: CudaBuffer, beta: CudaBuffer, mean: CudaBuffer, variance: CudaBuffer,
    epsilon: number, y: CudaBuffer): void;
  batchNormBackwardF32(training: boolean, dy: CudaBuffer, x: CudaBuffer, gamma: CudaBuffer, mean: CudaBuffer,
    variance: CudaBuffer, epsilon: number, dx: CudaBuffer, dgamma: CudaBuffer, dbeta: CudaBuffer): void;

  // --- data movement (movement.cc): 32-bit words, float32 or int32 -----------------------------------------
  /**
   * out[c] = x[sum_a map(offsets[a] + c[a] * steps[a]) * inStrides[a]] over outShape (rank <= 8); mode
   * (copyModeCodes) maps positions outside [0, inDims[a]): inRange (never happens), constant (reads `fill`, the
   * uint32 bits of the value), reflect, symmetric. Transpose, slice and pad are all this copy.
   */
  stridedCopy(x: CudaBuffer, out: CudaBuffer, outShape: readonly number[], inDims: readonly number[], inStrides: readonly number[],
    offsets: readonly number[], steps: readonly number[], mode: number, fill: number): void;
  readonly copyModeCodes: Readonly<Record<'inRange' | 'constant' | 'reflect' | 'symmetric', number>>;
  /** out[o * outRow + offset + k] = x[o * chunk + k]: one concat input's rows. */
  concatCopy(x: CudaBuffer, out: CudaBuffer, outer: number, chunk: number, outRow: number, offset: number): void;
  /**
   * x [outer, dim, inner], int32 indices [nidx] -> out [outer, nidx, inner]. An index outside [0, dim) is reported
   * (takeIndexError) and its rows hold NaN (int32: -2^31).
   */
  gather(x: CudaBuffer, indices: CudaBuffer, out: CudaBuffer, outer: number, dim: number, inner: number): void;
  /**
   * Gather's adjoint: g [outer, nidx, inner] float32, int32 indices [nidx] -> out [outer, dim, inner], each output the
   * sum in ascending j, in double, rounded once (the reference's bits; deterministic). -1 is skipped; another index
   * outside [0, dim) is reported and makes out NaN. dim < 2^31 - 1.
   */
  scatterAddF32(g: CudaBuffer, indices: CudaBuffer, out: CudaBuffer, outer: number, dim: number, inner: number): void;
  /** out [nidx, depth] float32: onValue where indices[i] == column, offValue elsewhere. */
  oneHotF32(indices: CudaBuffer, out: CudaBuffer, depth: number, onValue: number, offValue: number): void;

  // --- comparisons, selection, conversions (select.cc); broadcasting as per-input strides over outShape ----
  /** out int32 0/1; a and b share a dtype. */
  compare(opCode: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void;
  readonly compareOpCodes: Readonly<Record<'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual' | 'logicalAnd' | 'logicalOr', number>>;
  /** out = cond != 0 ? a : b; cond int32, a, b and out one dtype. */
  where(cond: CudaBuffer, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: readonly number[],
    condStrides: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void;
  /** Math.min(Math.max(x, lo), hi), stored as the dtype stores it. */
  clip(x: CudaBuffer, out: CudaBuffer, lo: number, hi: number): void;
  /** To out's dtype: float32 -> int32 truncates (NaN 0, saturating), int32 -> float32 rounds to nearest. */
  cast(x: CudaBuffer, out: CudaBuffer): void;
  /** x [outer, len, inner] -> out int32 [outer, inner]: index of the first max / min (first NaN wins). */
  argReduce(opCode: number, x: CudaBuffer, out: CudaBuffer, outer: number, len: number, inner: number): void;
  readonly argReduceOpCodes: Readonly<Record<'argMax' | 'argMin', number>>;

  // --- dropout (dropout.cc): the CPU's Philox stream, bit-identical ----------------------------------------
  /** mask[i] = 1/(1-rate) if philoxUniform(seed, i) >= rate else 0 (rate <= 0: 1), y = x * mask; y may be x. */
  dropoutF32(x: CudaBuffer, y: CudaBuffer, mask: CudaBuffer, rate: number, seed: number): void;

  // --- optimizers (optim.cc), in place, bit-identical to the CPU addon's ----------------------------------
  // `probe` (one float32, or null) guards the update, as PyTorch's GradScaler found_inf: NaN or infinite, nothing
  // is written.
  adamUpdateF32(w: CudaBuffer, g: CudaBuffer, m: CudaBuffer, v: CudaBuffer, vHat: CudaBuffer | null, alpha: number,
    c1: number, c2: number, epsilon: number, keep: number, probe: CudaBuffer | null): void;
  sgdUpdateF32(w: CudaBuffer, g: CudaBuffer, velocity: CudaBuffer | null, learningRate: number, momentum: number,
    nesterov: boolean, keep: number, probe: CudaBuffer | null): void;
}
