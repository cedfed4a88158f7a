/**
 * Argument checks shared by the ops in this folder (not exported from the `ops` namespace): tensor and dtype
 * checks, option objects, per-channel vectors, and the thin casts between Tensor and the kernel's KTensor.
 * Every error names the op, the argument and the shapes involved (src/errors.ts).
 */
import { DTypeError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import type { FloatArray, KTensor } from '../backends/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { assertTensor } from '../tensor/convert.js';

/** A float32 Tensor; int32 (labels, indices) is a DTypeError since every kernel here computes in float. */
export function floatTensor(op: string, arg: string, v: unknown): Tensor {
  const t = assertTensor(op, arg, v);
  if (t.dtype !== 'float32') {
    throw opError(DTypeError, op, `argument '${arg}' must be a float32 tensor, got ${t.dtype} ${fmtShape(t.shape)} (cast it first)`);
  }
  return t;
}

/** The Tensor as the kernel's float view (the dtype was checked by floatTensor). */
export function f32(t: Tensor): KTensor<Float32Array> {
  return t as unknown as KTensor<Float32Array>;
}

/** A kernel's output as a Tensor, optionally viewed with another shape of the same size (no copy). */
export function fromKernel(k: KTensor<FloatArray> | KTensor, shape?: readonly number[]): Tensor {
  const t = Tensor.fromKernel(k);
  return shape ? new Tensor(t.data, shape) : t;
}

/** The same storage seen with another shape of the same size (reshapes share storage, see tensor.ts). */
export function view(t: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(t.data, shape);
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
