/**
 * Native elementwise kernels on Float32Array: binary add/sub/mul/div for the broadcast forms the SIMD kernel
 * handles (b same shape, a scalar, or a row over the trailing axes; a and b swapped for add and mul), every
 * BinaryOp in broadcastBinaryOpCodes under any other broadcast through per-axis strides (broadcastBinaryF32,
 * rank <= 8; pow and mod stay on the reference, whose NaN bits the C library does not reproduce), the unary ops
 * in the addon's unaryOpCodes (relu, sigmoid, tanh, exp, log, sqrt, square, neg, abs, leakyRelu, elu and the
 * activations relu6, selu, softplus, softsign, gelu, silu, hardSigmoid, logSigmoid) and mathUnaryOpCodes (sign,
 * rsqrt, reciprocal, expm1, sin, cos, tan, atan, sinh, cosh, floor, ceil, round; log1p, asin, acos for their NaN
 * bits and erf for its series stay on the reference), the activation gradients in
 * its unaryGradOpCodes (every UnaryGradOp), and, from
 * reduce.ts and softmax.ts, reductions, softmax / logSoftmax and softmax cross-entropy. Shapes are worked out
 * here; the addon only sees typed arrays, integers and op codes. Everything else goes to the reference backend.
 */
import type { Backend, BinaryOp, DataArray, FloatArray, KTensor, UnaryAttrs, UnaryGradOp, UnaryOp } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import { broadcastStrides } from '../reference/util.js';
import { sizeOf } from '../../tensor/shape.js';
import type { NativeAddon } from './addon.js';
import { reduceKernels } from './reduce.js';
import { softmaxKernels } from './softmax.js';
import { allocF32 } from '../storage.js';
import { fitsInt32Lists } from './movement.js';

/** The unary entry of the addon (native/addon/eltwise.cc). y may be x itself. */
export interface UnaryAddon extends NativeAddon {
  unaryF32(opCode: number, x: Float32Array, y: Float32Array, alpha: number): void;
  readonly unaryOpCodes: Readonly<Partial<Record<UnaryOp, number>>>;
}

/** The scalar-maths unary entry (native/addon/scalar_math.cc): ops unaryF32 lacks. y may be x itself. */
export interface MathUnaryAddon extends NativeAddon {
  mathUnaryF32(opCode: number, x: Float32Array, y: Float32Array): void;
  readonly mathUnaryOpCodes: Readonly<Partial<Record<UnaryOp, number>>>;
}

/** The broadcasting binary entry (native/addon/scalar_math.cc): the ops in its codes, inputs read through strides. */
export interface BroadcastBinaryAddon extends NativeAddon {
  broadcastBinaryF32(opCode: number, a: Float32Array, b: Float32Array, out: Float32Array, outShape: Int32Array,
    aStrides: Int32Array, bStrides: Int32Array): void;
  readonly broadcastBinaryOpCodes: Readonly<Partial<Record<BinaryOp, number>>>;
}

/** The unary gradient entry (native/addon/eltwise.cc). dx may be x, y or dy itself. */
export interface UnaryGradAddon extends NativeAddon {
  unaryGradF32(opCode: number, x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, alpha: number): void;
  readonly unaryGradOpCodes: Readonly<Partial<Record<UnaryGradOp, number>>>;
}

/**
 * How many trailing elements of an output of `outShape` one copy of an input of `inShape` covers when that
 * input repeats along the leading axes: its shape, less leading 1s, must equal the trailing axes of
 * outShape. Returns -1 for any other broadcast. [] or [1] -> 1 (scalar), outShape -> sizeOf(outShape).
 */
export function rowBroadcastLength(inShape: readonly number[], outShape: readonly number[]): number {
  let start = 0;
  while (start < inShape.length && inShape[start] === 1) start++;
  const rest = inShape.length - start;
  if (rest > outShape.length) return -1;
  const off = outShape.length - rest;
  let n = 1;
  for (let i = 0; i < rest; i++) {
    if (inShape[start + i] !== outShape[off + i]) return -1;
    n *= inShape[start + i];
  }
  return n;
}

/** A Float32Array the addon accepts: it refuses SharedArrayBuffer-backed arrays (they go to the reference). */
export function isPlainF32(x: DataArray | undefined): x is Float32Array {
  return x instanceof Float32Array && !isShared(x);
}

/** A Float32Array or Int32Array the addon accepts: movement and selection take either (as 32-bit words). */
export function isPlain32(x: DataArray | undefined): x is Float32Array | Int32Array {
  return (x instanceof Float32Array || x instanceof Int32Array) && !isShared(x);
}

/** An Int32Array the addon accepts (indices, masks). */
export function isPlainI32(x: DataArray | undefined): x is Int32Array {
  return x instanceof Int32Array && !isShared(x);
}

function isShared(x: DataArray): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && x.buffer instanceof SharedArrayBuffer;
}

/** Backend.binary with the addon's kernels where they apply. */
export function makeBinary(addon: NativeAddon): typeof referenceBackend.binary {
  const codes = addon.binaryOpCodes as Readonly<Partial<Record<BinaryOp, number>>>;
  const general = addon as BroadcastBinaryAddon;
  const hasGeneral = typeof general.broadcastBinaryF32 === 'function';
  return function binary<A extends DataArray>(
    op: BinaryOp, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[],
  ): KTensor<A> {
    const code = codes[op];
    if (code !== undefined && isPlainF32(a.data) && isPlainF32(b.data)) {
      const n = sizeOf(outShape);
      // a fills the output, b repeats over it.
      if (a.data.length === n && b.data.length === rowBroadcastLength(b.shape, outShape)) {
        const out = allocF32(n);
        addon.binaryF32(code, a.data, b.data, out);
        return { data: out as A, shape: [...outShape] };
      }
      // b fills the output and a repeats: swap the operands where that gives the same IEEE result.
      if ((op === 'add' || op === 'mul') && b.data.length === n && a.data.length === rowBroadcastLength(a.shape, outShape)) {
        const out = allocF32(n);
        addon.binaryF32(code, b.data, a.data, out);
        return { data: out as A, shape: [...outShape] };
      }
    }
    const generalCode = hasGeneral ? general.broadcastBinaryOpCodes[op] : undefined;
    if (generalCode !== undefined && isPlainF32(a.data) && isPlainF32(b.data) && fitsInt32Lists(outShape, a.shape, b.shape)) {
      const out = allocF32(sizeOf(outShape));
      general.broadcastBinaryF32(generalCode, a.data, b.data, out, Int32Array.from(outShape),
        Int32Array.from(broadcastStrides(a.shape, outShape)), Int32Array.from(broadcastStrides(b.shape, outShape)));
      return { data: out as A, shape: [...outShape] };
    }
    return referenceBackend.binary(op, a, b, outShape);
  };
}

/** Backend.unary with the addon's kernels for the ops they have (unaryF32 first, then mathUnaryF32), on Float32Array. */
export function makeUnary(addon: NativeAddon): typeof referenceBackend.unary {
  const a = addon as UnaryAddon & MathUnaryAddon;
  const codes = a.unaryOpCodes ?? {};
  const mathCodes = a.mathUnaryOpCodes ?? {};
  return function unary<A extends DataArray>(op: UnaryOp, x: KTensor<A>, attrs: UnaryAttrs): KTensor<A> {
    const code = codes[op];
    const mathCode = mathCodes[op];
    if (!isPlainF32(x.data) || (code === undefined && mathCode === undefined)) return referenceBackend.unary(op, x, attrs);
    const y = allocF32(x.data.length);
    if (code !== undefined) a.unaryF32(code, x.data, y, attrs.alpha ?? 0);
    else if (mathCode !== undefined) a.mathUnaryF32(mathCode, x.data, y);
    return { data: y as A, shape: [...x.shape] };
  };
}

/** Backend.unaryGrad with the addon's kernel for the ops it has, when x, y and dy are all plain Float32Arrays. */
export function makeUnaryGrad(addon: NativeAddon): typeof referenceBackend.unaryGrad {
  const a = addon as UnaryGradAddon;
  const codes = a.unaryGradOpCodes ?? {};
  return function unaryGrad<A extends FloatArray>(op: UnaryGradOp, x: KTensor<A>, y: KTensor<A>, dy: KTensor<A>, attrs: UnaryAttrs): KTensor<A> {
    const code = codes[op];
    if (code === undefined || !isPlainF32(x.data) || !isPlainF32(y.data) || !isPlainF32(dy.data)) {
      return referenceBackend.unaryGrad(op, x, y, dy, attrs);
    }
    const dx = allocF32(x.data.length);
    a.unaryGradF32(code, x.data, y.data, dy.data, dx, attrs.alpha ?? 0);
    return { data: dx as A, shape: [...x.shape] };
  };
}

/** The elementwise entries of the native backend. */
export function elementwiseKernels(addon: NativeAddon): Partial<Backend> {
  const out: Partial<Backend> = { binary: makeBinary(addon) };
  if (typeof (addon as UnaryAddon).unaryF32 === 'function') out.unary = makeUnary(addon);
  if (typeof (addon as UnaryGradAddon).unaryGradF32 === 'function') out.unaryGrad = makeUnaryGrad(addon);
  return { ...out, ...reduceKernels(addon), ...softmaxKernels(addon) };
}
