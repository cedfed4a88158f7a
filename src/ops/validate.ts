/**
 * Argument checks shared by the ops in this folder (not exported from the `ops` namespace): tensor and dtype
 * checks, option objects, per-channel vectors, and the thin casts between Tensor and the kernel's KTensor.
 * Every error names the op, the argument and the shapes involved (src/errors.ts).
 */
import { DTypeError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import type { FloatArray, KTensor } from '../backends/backend.js';
import { backendFor } from '../backends/registry.js';
import { Tensor } from '../tensor/tensor.js';
import { assertTensor } from '../tensor/convert.js';

/**
 * A float Tensor: float32, or float64 (the reference checks); int32 (labels, indices) is a DTypeError since
 * every kernel here computes in float.
 */
export function floatTensor(op: string, arg: string, v: unknown): Tensor {
  const t = assertTensor(op, arg, v);
  if (t.dtype === 'int32') {
    throw opError(DTypeError, op, `argument '${arg}' must be a float32 (or float64) tensor, got ${t.dtype} ${fmtShape(t.shape)} (cast it first)`);
  }
  return t;
}

/**
 * Checks that the float arguments of one op share a dtype (the kernels take one array type): a float64
 * argument beside float32 ones is a DTypeError naming both, rather than a silent cast whose gradient would come
 * back in the other dtype. Undefined entries (absent options) are skipped.
 */
export function sameFloatDType(op: string, args: ReadonlyArray<readonly [string, Tensor | undefined]>): void {
  const first = args.find(([, t]) => t !== undefined);
  if (!first) return;
  for (const [name, t] of args) {
    if (t && t.dtype !== first[1]!.dtype) {
      throw opError(
        DTypeError, op,
        `argument '${name}' is ${t.dtype} ${fmtShape(t.shape)} but '${first[0]}' is ${first[1]!.dtype} ${fmtShape(first[1]!.shape)} ` +
          `(the float arguments of one op share a dtype; cast one)`,
      );
    }
  }
}

/** The Tensor as the kernel's float view (the dtype was checked by floatTensor). */
export function f32(t: Tensor): KTensor<Float32Array> {
  return t as unknown as KTensor<Float32Array>;
}

/** A constant of `shape` filled with `value`, in the array type of `like` (float32, or float64 in the reference checks). */
export function filledLike(like: KTensor, shape: readonly number[], value: number): KTensor<Float32Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  // dtype when `like` has one (reading data of a CUDA tensor would download it).
  const f64 = (like as { dtype?: string }).dtype !== undefined ? (like as { dtype?: string }).dtype === 'float64' : like.data instanceof Float64Array;
  const data = f64 ? new Float64Array(n).fill(value) : new Float32Array(n).fill(value);
  return { data: data as Float32Array, shape };
}

/** Sum of t over `axes` (sorted, distinct) on the backend: bias and beta gradients, summed broadcasts. */
export function sumAxes(t: Tensor, axes: readonly number[]): Tensor {
  return fromKernel(backendFor(t).reduce('sum', f32(t), axes));
}

/** A kernel's output as a Tensor, optionally viewed with another shape of the same size (no copy). */
export function fromKernel(k: KTensor<FloatArray> | KTensor, shape?: readonly number[]): Tensor {
  const t = Tensor.fromKernel(k);
  return shape ? t.withShape(shape) : t;
}

/** The same storage seen with another shape of the same size (reshapes share storage, see tensor.ts). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  return t.withShape(shape);
}

/** Common misspellings of option names, so a typo gets a hint instead of being silently ignored. */
const HINTS: Record<string, string> = {
  stride: 'strides',
  strides: 'stride',
  dilations: 'dilation',
  dilationRate: 'dilation',
  kernelSize: 'poolSize',
  pool: 'poolSize',
  pads: 'padding',
  paddings: 'padding',
  useBias: 'bias',
  eps: 'epsilon',
  movingVariance: 'movingVar',
  variance: 'movingVar',
  mean: 'movingMean',
  p: 'rate',
  keepdims: 'keepDims',
};

/**
 * The options object of an op: undefined is {}; anything but a plain object is a DTypeError; an unknown key
 * is a ValueError listing the accepted ones (a misspelt 'stride' must not silently mean stride 1).
 */
export function checkOptions<T extends object>(op: string, options: T | undefined, allowed: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof Tensor) {
    throw opError(DTypeError, op, `argument 'options' must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const hint = HINTS[key] !== undefined && allowed.includes(HINTS[key]) && HINTS[key] !== key ? ` (did you mean '${HINTS[key]}'?)` : '';
      throw opError(ValueError, op, `unknown option '${key}'${hint}; the options are ${allowed.map((k) => `'${k}'`).join(', ')}`);
    }
  }
  return options;
}

/** A per-channel float32 vector [length] (bias, gamma, beta, moving statistics). */
export function channelVector(
  op: string, arg: string, v: unknown, length: number, what: string,
): Tensor {
  const t = floatTensor(op, arg, v);
  if (t.shape.length !== 1 || t.shape[0] !== length) {
    throw opError(ShapeError, op, `argument '${arg}' must have shape [${length}] (${what}), got ${fmtShape(t.shape)}`);
  }
  return t;
}
