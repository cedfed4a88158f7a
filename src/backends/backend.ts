/**
 * The kernel interface: every kernel nodegrad has is listed here once, with its attributes and shapes.
 * The reference backend (pure TypeScript, the oracle) implements all of them; the native and CUDA backends
 * implement the same functions and are held to the reference by property tests.
 *
 * Contract for every kernel:
 * - Inputs are dense row-major arrays with their shapes (`KTensor`), already validated by src/ops and
 *   src/tensor: ranks, channel counts, dtypes and attribute values are correct when a kernel runs.
 *   Kernels re-check nothing that the ops layer owns (the native addon still guards lengths, for memory safety).
 * - Attributes are fully resolved: explicit paddings, positive integer strides and dilations.
 * - Kernels allocate and return their outputs and never write to their inputs.
 * - Float kernels accept Float32Array (the library) or Float64Array (the float64 reference checks in the
 *   tests) and return the same array type; the native backend accepts only Float32Array.
 * - Layouts are DESIGN.md's: activations NHWC, conv weights HWIO [KH, KW, Cin/groups, Cout].
 */

export type FloatArray = Float32Array | Float64Array;
export type DataArray = Float32Array | Float64Array | Int32Array;

/** A dense row-major array and its shape: what kernels read and return. `data.length === prod(shape)`. */
export interface KTensor<A extends DataArray = DataArray> {
  readonly data: A;
  readonly shape: readonly number[];
}
export type FTensor = KTensor<FloatArray>;
export type ITensor = KTensor<Int32Array>;

// ---------------------------------------------------------------------------------------------
// Attribute types

/** Elementwise unary ops. Int32 inputs are accepted by: neg, abs, sign, square (result int32). */
export type UnaryOp =
  | 'neg' | 'abs' | 'sign' | 'square' | 'sqrt' | 'rsqrt' | 'reciprocal'
  | 'exp' | 'expm1' | 'log' | 'log1p' | 'sin' | 'cos' | 'tan' | 'asin' | 'acos' | 'atan' | 'sinh' | 'cosh'
  | 'floor' | 'ceil' | 'round' | 'erf'
  | 'tanh' | 'sigmoid' | 'relu' | 'relu6' | 'leakyRelu' | 'elu' | 'selu' | 'softplus' | 'softsign'
  | 'gelu' | 'silu' | 'hardSigmoid' | 'logSigmoid';

/** `alpha`: the leakyRelu slope or the elu alpha; the ops layer always passes the value it resolved. */
export interface UnaryAttrs {
  readonly alpha?: number;
}

/**
 * Activations with a fused backward kernel (Backend.unaryGrad). Definitions, subgradients at kinks and NaN
 * behaviour: src/backends/reference/elementwise.ts.
 */
export type UnaryGradOp =
  | 'relu' | 'relu6' | 'leakyRelu' | 'elu' | 'selu' | 'hardSigmoid' | 'sigmoid' | 'tanh' | 'softsign'
  | 'softplus' | 'logSigmoid' | 'silu' | 'gelu';

/** Broadcasting binary arithmetic. Both inputs share a dtype (the ops layer casts first). */
export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'mod' | 'floorDiv' | 'atan2'
  | 'squaredDifference';

/** Broadcasting comparisons and logical ops; the result is an int32 0/1 mask. */
export type CompareOp =
  | 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual' | 'logicalAnd' | 'logicalOr';

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod';
export type ArgReduceOp = 'argMax' | 'argMin';
export type PadMode = 'constant' | 'reflect' | 'symmetric';

/** Paddings of a 2-D window op, in input pixels: [top, bottom, left, right]. */
export type Pads4 = readonly [number, number, number, number];

export interface Conv2DAttrs {
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  readonly pads: Pads4;
  /** Cin and Cout are both divisible by groups; the filter is [KH, KW, Cin/groups, Cout]. */
  readonly groups: number;
  /**
   * conv2d only (the backward kernels ignore it): applied to conv + bias in the kernel's epilogue, as matmul's.
   * relu keeps NaN and -0 (`v < 0 ? 0 : v`). Default 'linear'.
   */
  readonly activation?: FusedActivation;
}

export interface Pool2DAttrs {
  readonly poolSize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: Pads4;
}

export type GlobalPoolMode = 'avg' | 'max';

export interface BatchNormAttrs {
  readonly epsilon: number;
  /** true: normalise with the batch mean and biased batch variance; false: with the given moving statistics. */
  readonly training: boolean;
}

/** Fused epilogue of matmul / dense: y = act(x @ w + bias). */
export type FusedActivation = 'linear' | 'relu';

export interface MatMulAttrs {
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly activation?: FusedActivation;
}

// ---------------------------------------------------------------------------------------------
// Output-size arithmetic shared by kernels and ops (one definition).

/** Output length of a window op along one axis with explicit padding. */
export function windowOutSize(inSize: number, k: number, stride: number, dilation: number, padBefore: number, padAfter: number): number {
  const span = (k - 1) * dilation + 1;
  return Math.floor((inSize + padBefore + padAfter - span) / stride) + 1;
}

// ---------------------------------------------------------------------------------------------
// The interface

export interface Backend {
  /** 'reference' | 'native' | 'cuda'. */
  readonly name: string;

  // --- elementwise ---------------------------------------------------------------------------
  /** y = op(x), same shape and dtype. */
  unary<A extends DataArray>(op: UnaryOp, x: KTensor<A>, attrs: UnaryAttrs): KTensor<A>;
  /**
   * dx = dy * op'(x): the backward of unary(op) given its input x, its output y = unary(op, x, attrs) (used where
   * that is cheaper or more accurate, e.g. sigmoid dy y (1 - y)) and the output gradient dy. x, y and dy share
   * one shape and float dtype; dx has them too. attrs.alpha as the forward's (leakyRelu, elu).
   */
  unaryGrad<A extends FloatArray>(op: UnaryGradOp, x: KTensor<A>, y: KTensor<A>, dy: KTensor<A>, attrs: UnaryAttrs): KTensor<A>;
  /** NumPy broadcasting to `outShape` (computed by the ops layer); a and b share a dtype. */
  binary<A extends DataArray>(op: BinaryOp, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[]): KTensor<A>;
  /** Broadcasting comparison, int32 0/1 result; a and b share a dtype. */
  compare(op: CompareOp, a: KTensor, b: KTensor, outShape: readonly number[]): ITensor;
  /** out = cond != 0 ? a : b, all three broadcast to outShape; a and b share a dtype. */
  where<A extends DataArray>(cond: ITensor, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[]): KTensor<A>;
  /** min(max(x, lo), hi), same dtype. */
  clip<A extends DataArray>(x: KTensor<A>, lo: number, hi: number): KTensor<A>;
  /** Float -> int32 truncates toward zero (as TensorFlow's cast). */
  cast(x: KTensor, dtype: 'float32' | 'int32'): KTensor<Float32Array | Int32Array>;

  // --- reductions ----------------------------------------------------------------------------
  /** Reduces the sorted, distinct `axes`; the output shape drops them (keepDims is a reshape in ops). */
  reduce<A extends DataArray>(op: ReduceOp, x: KTensor<A>, axes: readonly number[]): KTensor<A>;
  /** Index of the first max / min along `axis`; the output shape drops it. */
  argReduce(op: ArgReduceOp, x: KTensor, axis: number): ITensor;

  // --- data movement -------------------------------------------------------------------------
  /** out.shape[i] = x.shape[perm[i]]. */
  transpose<A extends DataArray>(x: KTensor<A>, perm: readonly number[]): KTensor<A>;
  /** out[i] = x[begin + i*step] per axis; begin, size >= 0 and step >= 1 are resolved and in range. */
  slice<A extends DataArray>(x: KTensor<A>, begin: readonly number[], size: readonly number[], steps: readonly number[]): KTensor<A>;
  /**
   * out.shape = x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:]; indices are in range (host indices are checked by
   * the ops layer; the CUDA backend checks device indices on the device, see src/backends/cuda/device-storage.ts).
   */
  gather<A extends DataArray>(x: KTensor<A>, indices: ITensor, axis: number): KTensor<A>;
  /**
   * The adjoint of gather along `axis`: out has g's shape with axis `axis` (of length indices.size, indices read
   * flat) replaced by `dim`, zero-initialised, and out[.., indices[j], ..] += g[.., j, ..]. Each output sums its terms
   * in ascending j in double and rounds once. indices[j] == -1 is skipped (pad's adjoint uses it); any other index
   * outside [0, dim) is an error (the CUDA backend reports it at the next read and makes out NaN).
   */
  scatterAdd<A extends FloatArray>(g: KTensor<A>, indices: ITensor, dim: number, axis: number): KTensor<A>;
  /** Inputs agree on every axis but `axis`. */
  concat<A extends DataArray>(xs: readonly KTensor<A>[], axis: number): KTensor<A>;
  /** paddings[i] = [before, after] for axis i; reflect needs before, after < dim, symmetric <= dim. */
  pad<A extends DataArray>(x: KTensor<A>, paddings: readonly (readonly [number, number])[], mode: PadMode, value: number): KTensor<A>;
  /** [...indices.shape, depth] float32 with onValue where index matches, offValue elsewhere; out-of-range rows are all offValue. */
  oneHot(indices: ITensor, depth: number, onValue: number, offValue: number): KTensor<Float32Array>;

  // --- linear algebra ------------------------------------------------------------------------
  /**
   * Batched matmul over rank-3 operands: a is [Ba, M, K] ([Ba, K, M] if transposeA), b is [Bb, K, N]
   * ([Bb, N, K] if transposeB), Ba and Bb each equal to B or 1 (broadcast). Output [B, M, N].
   * Optional bias [N] added and activation applied in the same pass (dense layers).
   */
  matmul<A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): KTensor<A>;

  // --- softmax and losses --------------------------------------------------------------------
  /** Numerically stable softmax along `axis`. */
  softmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A>;
  /** Numerically stable log-softmax along `axis`. */
  logSoftmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A>;
  /**
   * Per-example cross-entropy of softmax(logits) against labels, stable for large logits.
   * logits [N, C]; labels int32 [N] with values in [0, C) or float [N, C] (one-hot or soft, rows summing to 1).
   * Returns [N]. The CPU kernels read an out-of-range int label as an all-zero row (the ops layer has rejected it);
   * the CUDA kernels, whose labels the ops layer does not read, report it at the next read and give that row NaN.
   */
  softmaxCrossEntropy<A extends FloatArray>(logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A>;
  /**
   * dlogits [N, C] = dloss[n] * (softmax(logits) * sum(labels[n]) - labels[n]) for dloss [N]: the exact gradient
   * of the forward, equal to dloss[n] * (softmax - onehot) for rows that sum to 1. Out-of-range int labels give 0
   * (CUDA: NaN and a report, as the forward).
   */
  softmaxCrossEntropyBackward<A extends FloatArray>(dloss: KTensor<A>, logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A>;

  // --- convolution ---------------------------------------------------------------------------
  /** x [N, H, W, Cin], w [KH, KW, Cin/groups, Cout], bias [Cout] optional -> y [N, OH, OW, Cout]. */
  conv2d<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): KTensor<A>;
  /**
   * dx [N, H, W, Cin] = gradient of conv2d with respect to x, given dy [N, OH, OW, Cout] and w.
   * `xShape` is given because several input sizes map to one output size. Also conv2dTranspose's forward.
   */
  conv2dBackwardData<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): KTensor<A>;
  /** dw [KH, KW, Cin/groups, Cout] = gradient of conv2d with respect to w, given x and dy. */
  conv2dBackwardFilter<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): KTensor<A>;

  // --- pooling -------------------------------------------------------------------------------
  /** x [N, H, W, C] -> [N, OH, OW, C]; padded positions never win. */
  maxPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A>;
  /** Routes dy to the first maximum of each window (recomputed from x), summing overlaps. */
  maxPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A>;
  /** Divides by the number of in-bounds elements of each window (DESIGN.md). */
  avgPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A>;
  avgPool2dBackward<A extends FloatArray>(dy: KTensor<A>, xShape: readonly number[], attrs: Pool2DAttrs): KTensor<A>;
  /** x [N, H, W, C] -> [N, C]. */
  globalPool2d<A extends FloatArray>(x: KTensor<A>, mode: GlobalPoolMode): KTensor<A>;
  /** dy [N, C] -> dx [N, H, W, C]; max routes to the first maximum. */
  globalPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, mode: GlobalPoolMode): KTensor<A>;

  // --- normalisation -------------------------------------------------------------------------
  /**
   * Batch norm over the last axis of x [..., C] (NHWC or [N, C]); gamma, beta [C].
   * training: normalises with the batch mean and biased variance and returns them ([C] each);
   * inference: uses `mean` and `variance` (the moving statistics), which must be given, and returns them as is.
   */
  batchNorm<A extends FloatArray>(
    x: KTensor<A>, gamma: KTensor<A>, beta: KTensor<A>, mean: KTensor<A> | undefined, variance: KTensor<A> | undefined,
    attrs: BatchNormAttrs,
  ): { y: KTensor<A>; mean: KTensor<A>; variance: KTensor<A> };
  /**
   * Gradients of batchNorm. `mean`/`variance` are the statistics the forward used (batch ones in training,
   * moving ones in inference, where they are constants and dx = dy * gamma / sqrt(variance + epsilon)).
   */
  batchNormBackward<A extends FloatArray>(
    dy: KTensor<A>, x: KTensor<A>, gamma: KTensor<A>, mean: KTensor<A>, variance: KTensor<A>, attrs: BatchNormAttrs,
  ): { dx: KTensor<A>; dgamma: KTensor<A>; dbeta: KTensor<A> };

  // --- regularisation ------------------------------------------------------------------------
  /**
   * Inverted dropout with a seeded mask: mask[i] = 1/(1-rate) if philoxUniform(seed, i) >= rate else 0,
   * y = x * mask. Element i's draw depends only on (seed, i), so every backend and thread count agrees.
   */
  dropout<A extends FloatArray>(x: KTensor<A>, rate: number, seed: number): { y: KTensor<A>; mask: KTensor<A> };

  // --- Promise forms -------------------------------------------------------------------------
  /**
   * Off-the-JS-thread forms of the heavy kernels (native backend), same arguments and results as the
   * synchronous ones. Absent entries: callers run the synchronous kernel. Inputs must not be written while a
   * promise is pending (the kernel reads them from another thread).
   */
  readonly async?: AsyncKernels;
}

export interface AsyncKernels {
  matmul?<A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): Promise<KTensor<A>>;
  conv2d?<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): Promise<KTensor<A>>;
  conv2dBackwardData?<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): Promise<KTensor<A>>;
  conv2dBackwardFilter?<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): Promise<KTensor<A>>;
}
