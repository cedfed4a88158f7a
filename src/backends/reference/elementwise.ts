/**
 * Reference elementwise kernels: unary maths and activations, broadcasting binary arithmetic,
 * comparisons, where, clip and cast. Plain loops computed in float64, stored into the input's array type
 * (Float32Array rounds once on store; Float64Array keeps full precision for the gradient checks).
 *
 * Definitions (the oracle every backend is held to):
 * - sigmoid: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below (no overflow for large |x|).
 * - softplus: log1p(e^-|x|) + max(x, 0); logSigmoid: min(x, 0) - log1p(e^-|x|) (both stable).
 * - gelu: exact, 0.5 x erfc(-x/sqrt 2) (Keras' approximate=False; erfc avoids cancellation for x << 0).
 * - selu: scale * (x > 0 ? x : alpha expm1(x)), alpha = 1.6732632423543772, scale = 1.0507009873554805.
 * - elu: x > 0 ? x : alpha expm1(x); leakyRelu: x > 0 ? x : alpha x (alpha from attrs, resolved by ops).
 * - relu6: min(max(x, 0), 6); hardSigmoid: max(0, min(1, 0.2x + 0.5)) (tf.keras 2; Keras 3 uses x/6 + 0.5).
 * - round: half to even (NumPy/TF), not Math.round's half up.
 * - erf/erfc: series erf(x) = 2/sqrt(pi) e^-x^2 sum 2^n x^(2n+1)/(2n+1)!! for |x| < 1.5 (all terms positive,
 *   no cancellation) and the Laplace continued fraction for erfc beyond; relative error below 1e-15 for erf
 *   and 1e-14 for erfc in float64 (checked against libm values in test/tensor/elementwise.test.ts), far under float32's 6e-8.
 * - Float mod is floormod (sign of the divisor, Python/TF); floorDiv is floor(a/b).
 * - pow follows C's pow where JS differs: pow(1, y) = 1 and pow(-1, +-Infinity) = 1, even for NaN y.
 * - maximum/minimum propagate NaN (NumPy, TF).
 * unaryGrad (dx from x, y = f(x) and dy; every product and sum in float64, rounded once on store):
 * - relu: x > 0 ? dy : 0; relu6: 0 < x < 6 ? dy : 0; hardSigmoid: -2.5 < x < 2.5 ? 0.2 dy : 0. Subgradient 0 at
 *   the kinks (TF, PyTorch); these select dy itself, so a NaN or infinite dy outside the band still gives 0.
 * - leakyRelu: x > 0 ? dy : alpha dy; elu: x > 0 ? dy : dy (y + alpha); selu: x > 0 ? scale dy :
 *   dy (y + scale alpha). The x <= 0 branch at 0.
 * - sigmoid: dy (y (1 - y)); tanh: dy (1 - y y); softsign: dy / ((1 + |x|) (1 + |x|)).
 * - softplus: dy sigmoid(x); logSigmoid: dy sigmoid(-x); silu: dy (s (1 + x t)) with s = sigmoid(x) and
 *   t = sigmoid(-x) (1 - s without its cancellation); gelu: dy (Phi(x) + x phi(x)), Phi(x) = erfc(-x/sqrt 2) / 2,
 *   phi(x) = e^(-x^2/2) / sqrt(2 pi).
 * - A NaN x fails every comparison: 0 from relu, relu6 and hardSigmoid, alpha dy from leakyRelu, NaN from the
 *   rest (elu and selu through y). silu and gelu are NaN at x = +-Infinity (x t and x phi(x) are Infinity * 0).
 * Int32 (neg, abs, sign, square; every binary op): results wrap modulo 2^32 like TF's int32; 'div' is floor
 * division (TF.js's int32 div), 'mod' floormod, pow by repeated squaring (exact mod 2^32). A zero divisor or a
 * negative exponent is rejected by the ops layer before the kernel runs; here they give 0.
 */
import type {
  BinaryOp, CompareOp, DataArray, FloatArray, ITensor, KTensor, UnaryAttrs, UnaryGradOp, UnaryOp,
} from '../backend.js';
import { sizeOf } from '../../tensor/shape.js';
import { allocLike, broadcastStrides } from './util.js';

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;
const SQRT1_2 = Math.SQRT1_2;

// ------------------------------------------------------------------------------------------------
// erf / erfc

/** erf for |x| < 1.5 by the positive series 2/sqrt(pi) e^-x^2 sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)). */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  // Ratio of successive terms is 2x^2/(2n+3) < 1 eventually; stop once a term no longer changes the sum.
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/**
 * erfc for x >= 1.5 by Laplace's continued fraction
 * erfc(x) = e^-x^2/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated bottom-up.
 */
function erfcContinuedFraction(x: number): number {
  if (x > 27) return 0; // e^-x^2 underflows float64 here.
  let f = x;
  // 100 levels reach full double precision for x >= 1.5 (the fraction converges faster as x grows).
  for (let k = 100; k >= 1; k--) f = x + k / 2 / f;
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** The error function, to about 1e-15 relative in float64. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 1.5) return erfSeries(x);
  const r = 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate relative to its own (tiny) value for large x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 1.5) return erfcContinuedFraction(x);
  if (x <= -1.5) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

// ------------------------------------------------------------------------------------------------
// unary

/** Round half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round breaks ties upward; an exact .5 tie that landed on an odd integer goes back down.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The float definition of each unary op (float64 in, float64 out). */
function floatUnary(op: UnaryOp, alpha: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'abs': return Math.abs;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : x); // keeps NaN and signed zero.
    case 'square': return (x) => x * x;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'reciprocal': return (x) => 1 / x;
    case 'exp': return Math.exp;
    case 'expm1': return Math.expm1;
    case 'log': return Math.log;
    case 'log1p': return Math.log1p;
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
    case 'tan': return Math.tan;
    case 'asin': return Math.asin;
    case 'acos': return Math.acos;
    case 'atan': return Math.atan;
    case 'sinh': return Math.sinh;
    case 'cosh': return Math.cosh;
    case 'floor': return Math.floor;
    case 'ceil': return Math.ceil;
    case 'round': return roundHalfEven;
    case 'erf': return erf;
    case 'tanh': return Math.tanh;
    case 'sigmoid': return sigmoid;
    case 'relu': return (x) => Math.max(x, 0);
    case 'relu6': return (x) => Math.min(Math.max(x, 0), 6);
    case 'leakyRelu': return (x) => (x > 0 ? x : alpha * x);
    case 'elu': return (x) => (x > 0 ? x : alpha * Math.expm1(x));
    case 'selu': return (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
    case 'softplus': return (x) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
    case 'softsign': return (x) => x / (1 + Math.abs(x));
    case 'gelu': return (x) => 0.5 * x * erfc(-x * SQRT1_2);
    case 'silu': return (x) => x * sigmoid(x);
    case 'hardSigmoid': return (x) => Math.max(0, Math.min(1, 0.2 * x + 0.5));
    case 'logSigmoid': return (x) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
    default: throw new Error(`unary: unknown op '${String(op)}'`);
  }
}

/** Int32 definitions (wrapping like TF's int32): only the ops the contract allows on int32. */
function intUnary(op: UnaryOp): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x | 0;
    case 'abs': return (x) => Math.abs(x) | 0;
    case 'sign': return Math.sign;
    case 'square': return (x) => Math.imul(x, x);
    default: throw new Error(`unary: op '${op}' is not defined on int32 (the ops layer casts to float32 first)`);
  }
}

/** y = op(x), same shape and array type. */
export function unary<A extends DataArray>(op: UnaryOp, x: KTensor<A>, attrs: UnaryAttrs): KTensor<A> {
  const f = x.data instanceof Int32Array ? intUnary(op) : floatUnary(op, attrs.alpha ?? 0);
  const src = x.data;
  const out = allocLike(src, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return { data: out, shape: [...x.shape] };
}

// ------------------------------------------------------------------------------------------------
// unary gradients

const INV_SQRT_2PI = 0.3989422804014327;
const SELU_SCALE_ALPHA = SELU_SCALE * SELU_ALPHA;

/** dx = g op'(x) from x, y = op(x) and the output gradient g (float64 in, float64 out). */
function floatUnaryGrad(op: UnaryGradOp, alpha: number): (x: number, y: number, g: number) => number {
  switch (op) {
    case 'relu': return (x, _y, g) => (x > 0 ? g : 0);
    case 'relu6': return (x, _y, g) => (x > 0 && x < 6 ? g : 0);
    case 'hardSigmoid': return (x, _y, g) => (x > -2.5 && x < 2.5 ? g * 0.2 : 0);
    case 'leakyRelu': return (x, _y, g) => (x > 0 ? g : alpha * g);
    case 'elu': return (x, y, g) => (x > 0 ? g : g * (y + alpha));
    case 'selu': return (x, y, g) => (x > 0 ? g * SELU_SCALE : g * (y + SELU_SCALE_ALPHA));
    case 'sigmoid': return (_x, y, g) => g * (y * (1 - y));
    case 'tanh': return (_x, y, g) => g * (1 - y * y);
    case 'softsign': return (x, _y, g) => g / ((1 + Math.abs(x)) * (1 + Math.abs(x)));
    case 'softplus': return (x, _y, g) => g * sigmoid(x);
    case 'logSigmoid': return (x, _y, g) => g * sigmoid(-x);
    case 'silu': return (x, _y, g) => g * (sigmoid(x) * (1 + x * sigmoid(-x)));
    case 'gelu': return (x, _y, g) => g * (0.5 * erfc(-x * SQRT1_2) + x * (INV_SQRT_2PI * Math.exp(-0.5 * x * x)));
    default: throw new Error(`unaryGrad: unknown op '${String(op)}'`);
  }
}

/** dx = dy * op'(x), given x, y = op(x) and dy of one shape; same shape and array type. */
export function unaryGrad<A extends FloatArray>(
  op: UnaryGradOp, x: KTensor<A>, y: KTensor<A>, dy: KTensor<A>, attrs: UnaryAttrs,
): KTensor<A> {
  const f = floatUnaryGrad(op, attrs.alpha ?? 0);
  const xd = x.data;
  const yd = y.data;
  const gd = dy.data;
  const out = allocLike(xd, xd.length);
  for (let i = 0; i < xd.length; i++) out[i] = f(xd[i], yd[i], gd[i]);
  return { data: out, shape: [...x.shape] };
}

// ------------------------------------------------------------------------------------------------
// binary

/** Floor modulo: the result has the sign of the divisor (Python, TF floormod). */
function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function cPow(a: number, b: number): number {
  if (a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return Math.pow(a, b);
}

/** Integer power by repeated squaring with wrapping multiplies, so the result is exact modulo 2^32. */
function intPow(a: number, b: number): number {
  if (b < 0) return 0; // rejected by the ops layer; defined here so the kernel is total.
  let result = 1;
  let base = a;
  let e = b;
  while (e > 0) {
    if (e & 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e >>>= 1;
  }
  return result;
}

function floatBinary(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'pow': return cPow;
    case 'maximum': return Math.max;
    case 'minimum': return Math.min;
    case 'mod': return floorMod;
    case 'floorDiv': return (a, b) => Math.floor(a / b);
    case 'atan2': return Math.atan2;
    case 'squaredDifference': return (a, b) => (a - b) * (a - b);
    default: throw new Error(`binary: unknown op '${String(op)}'`);
  }
}

function intBinary(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => (a + b) | 0;
    case 'sub': return (a, b) => (a - b) | 0;
    case 'mul': return Math.imul;
    case 'div':
    case 'floorDiv': return (a, b) => (b === 0 ? 0 : Math.floor(a / b) | 0); // a/b is exact enough: |a|,|b| < 2^31.
    case 'pow': return intPow;
    case 'maximum': return Math.max;
    case 'minimum': return Math.min;
    case 'mod': return (a, b) => (b === 0 ? 0 : floorMod(a, b) | 0);
    case 'atan2': return (a, b) => Math.atan2(a, b) | 0;
    case 'squaredDifference': return (a, b) => { const d = (a - b) | 0; return Math.imul(d, d); };
    default: throw new Error(`binary: unknown op '${String(op)}'`);
  }
}

/**
 * Calls visit(outIndex, aIndex, bIndex) for every output element in row-major order, with the flat input
 * indices found by stride arithmetic (stride 0 on broadcast axes).
 */
export function forEachBroadcast(
  outShape: readonly number[],
  inShapes: readonly (readonly number[])[],
  visit: (o: number, idx: Int32Array) => void,
): void {
  const rank = outShape.length;
  const n = sizeOf(outShape);
  if (n === 0) return;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  const coord = new Array<number>(rank).fill(0);
  const idx = new Int32Array(inShapes.length);
  for (let o = 0; o < n; o++) {
    visit(o, idx);
    // Odometer increment: bump the last axis, carrying into earlier ones, and move each input index along.
    for (let ax = rank - 1; ax >= 0; ax--) {
      coord[ax]++;
      for (let k = 0; k < idx.length; k++) idx[k] += strides[k][ax];
      if (coord[ax] < outShape[ax]) break;
      for (let k = 0; k < idx.length; k++) idx[k] -= strides[k][ax] * outShape[ax];
      coord[ax] = 0;
    }
  }
}

/** NumPy broadcasting of a and b to outShape; a and b share an array type. */
export function binary<A extends DataArray>(op: BinaryOp, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[]): KTensor<A> {
  const f = a.data instanceof Int32Array ? intBinary(op) : floatBinary(op);
  const out = allocLike(a.data, sizeOf(outShape));
  const ad = a.data;
  const bd = b.data;
  forEachBroadcast(outShape, [a.shape, b.shape], (o, idx) => {
    out[o] = f(ad[idx[0]], bd[idx[1]]);
  });
  return { data: out, shape: [...outShape] };
}

function comparison(op: CompareOp): (a: number, b: number) => boolean {
  switch (op) {
    case 'equal': return (a, b) => a === b;
    case 'notEqual': return (a, b) => a !== b;
    case 'less': return (a, b) => a < b;
    case 'lessEqual': return (a, b) => a <= b;
    case 'greater': return (a, b) => a > b;
    case 'greaterEqual': return (a, b) => a >= b;
    // Any nonzero value (NaN included) is true, as C's truthiness.
    case 'logicalAnd': return (a, b) => a !== 0 && b !== 0;
    case 'logicalOr': return (a, b) => a !== 0 || b !== 0;
    default: throw new Error(`compare: unknown op '${String(op)}'`);
  }
}

/** Broadcasting comparison; int32 0/1 result (comparisons with NaN are false, notEqual true). */
export function compare(op: CompareOp, a: KTensor, b: KTensor, outShape: readonly number[]): ITensor {
  const f = comparison(op);
  const out = new Int32Array(sizeOf(outShape));
  const ad = a.data;
  const bd = b.data;
  forEachBroadcast(outShape, [a.shape, b.shape], (o, idx) => {
    out[o] = f(ad[idx[0]], bd[idx[1]]) ? 1 : 0;
  });
  return { data: out, shape: [...outShape] };
}

/** out = cond != 0 ? a : b, all three broadcast to outShape. */
export function where<A extends DataArray>(cond: ITensor, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[]): KTensor<A> {
  const out = allocLike(a.data, sizeOf(outShape));
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  forEachBroadcast(outShape, [cond.shape, a.shape, b.shape], (o, idx) => {
    out[o] = cd[idx[0]] !== 0 ? ad[idx[1]] : bd[idx[2]];
  });
  return { data: out, shape: [...outShape] };
}

/** min(max(x, lo), hi), same array type; NaN elements stay NaN. */
export function clip<A extends DataArray>(x: KTensor<A>, lo: number, hi: number): KTensor<A> {
  const src = x.data;
  const out = allocLike(src, src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.min(Math.max(src[i], lo), hi);
  return { data: out, shape: [...x.shape] };
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Float -> int32 truncates toward zero (TF's cast); NaN -> 0 and out-of-range values (Infinity included)
 * saturate to the int32 limits rather than wrapping. Int32 -> float32 rounds to nearest (exact below 2^24).
 */
export function cast(x: KTensor, dtype: 'float32' | 'int32'): KTensor<Float32Array | Int32Array> {
  const src = x.data;
  const shape = [...x.shape];
  if (dtype === 'float32') return { data: Float32Array.from(src), shape };
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    out[i] = Number.isNaN(v) ? 0 : v <= INT32_MIN ? INT32_MIN : v >= INT32_MAX ? INT32_MAX : Math.trunc(v);
  }
  return { data: out, shape };
}
