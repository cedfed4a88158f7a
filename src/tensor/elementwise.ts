/**
 * Elementwise maths on tensors: broadcasting binary arithmetic and comparisons, where, clip, and the unary
 * functions and activations. Validation and dtype resolution happen here; the kernels (getBackend()) compute.
 *
 * Conventions:
 * - Every tensor argument also accepts a number (a scalar). A number beside an int32 tensor is int32 when it is
 *   an integer in int32 range, otherwise float32; a number beside a number or a float32 tensor is float32.
 * - Binary ops promote int32 with float32 to float32 (NumPy). Shapes broadcast as NumPy; errors name both
 *   arguments and their shapes.
 * - int32 arithmetic wraps modulo 2^32 (TF). int32 `div` is floor division, as TF.js's tf.div on int32
 *   (TF proper would return float64 from truediv); an int32 zero divisor in div, floorDiv or mod throws a
 *   ValueError, as TF's "Integer division by zero"; an int32 negative exponent in pow throws (NumPy, TF).
 * - Comparisons and logical ops return int32 0/1 masks; logical ops read any nonzero value (NaN too) as true.
 * - Unary ops: neg, abs, sign and square keep int32. Every other unary op is float-only: on an int32 tensor it
 *   computes in float32 and returns float32 (TF would reject the int32 input; we promote, like NumPy's ufuncs).
 * - Definitions of each function (stable sigmoid/softplus/logSigmoid, exact gelu, half-to-even round, floormod,
 *   NaN propagation) are documented in src/backends/reference/elementwise.ts, the oracle.
 */
import { DTypeError, ValueError, fmtShape, opError } from '../errors.js';
import type { BinaryOp, CompareOp, UnaryOp } from '../backends/backend.js';
import { getBackend } from '../backends/registry.js';
import { Tensor, type TensorOrScalar } from './tensor.js';
import { toTensor } from './convert.js';
import { type DType, promote } from './dtype.js';
import { broadcastShapes, checkFinite } from './shape.js';
import { sumTo } from './reduction.js';
import { record } from '../autograd/tape.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Unary ops whose kernels accept int32 (backend.ts). */
const INT_UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square']);

function castTo(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : Tensor.fromKernel(getBackend().cast(t, dtype));
}

/** The dtype a bare number takes beside `other`. */
function numberDType(v: number, other: unknown): DType {
  const intOk = Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
  return intOk && other instanceof Tensor && other.dtype === 'int32' ? 'int32' : 'float32';
}

/** Converts two loose arguments to tensors of one promoted dtype. */
function promotePair(op: string, a: TensorOrScalar, b: TensorOrScalar, names: readonly [string, string]): [Tensor, Tensor] {
  const ta = toTensor(op, names[0], a, typeof a === 'number' ? numberDType(a, b) : undefined);
  const tb = toTensor(op, names[1], b, typeof b === 'number' ? numberDType(b, a) : undefined);
  const dtype = promote(ta.dtype, tb.dtype);
  return [castTo(ta, dtype), castTo(tb, dtype)];
}

/** The tensor argument, or null for a number (numbers get no gradient). */
const asT = (v: TensorOrScalar): Tensor | null => (v instanceof Tensor ? v : null);
const shapeOf = (v: TensorOrScalar): readonly number[] => (v instanceof Tensor ? v.shape : []);

function binaryOp(op: BinaryOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  let [ta, tb] = promotePair(op, a, b, ['a', 'b']);
  const outShape = broadcastShapes(op, ta.shape, tb.shape, ['a', 'b']);
  if (ta.dtype === 'int32') {
    if ((op === 'div' || op === 'floorDiv' || op === 'mod') && tb.data.includes(0)) {
      throw opError(ValueError, op, `integer division by zero: int32 argument 'b' ${fmtShape(tb.shape)} contains 0`);
    }
    if (op === 'pow' && tb.data.some((v) => v < 0)) {
      throw opError(ValueError, op, `int32 argument 'b' ${fmtShape(tb.shape)} has a negative exponent (integers to negative powers are not allowed; cast to float32)`);
    }
    if (op === 'atan2') [ta, tb] = [castTo(ta, 'float32'), castTo(tb, 'float32')]; // float-only, as the unary ones.
  }
  return Tensor.fromKernel(getBackend().binary(op, ta, tb, outShape));
}

function compareOp(op: CompareOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [ta, tb] = promotePair(op, a, b, ['a', 'b']);
  const outShape = broadcastShapes(op, ta.shape, tb.shape, ['a', 'b']);
  return Tensor.fromKernel(getBackend().compare(op, ta, tb, outShape));
}

function unaryOp(op: UnaryOp, x: TensorOrScalar, alpha?: number): Tensor {
  let t = toTensor(op, 'x', x);
  if (t.dtype === 'int32' && !INT_UNARY.has(op)) t = castTo(t, 'float32');
  return Tensor.fromKernel(getBackend().unary(op, t, alpha === undefined ? {} : { alpha }));
}

// --- binary arithmetic ------------------------------------------------------------------------------
// Gradients: the same-shape gradient, summed back over broadcast axes (sumTo).
/** a + b. */
export function add(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const y = binaryOp('add', a, b);
  return record('add', y, [asT(a), asT(b)], (g) => [sumTo(g, shapeOf(a)), sumTo(g, shapeOf(b))]);
}
/** a - b. */
export function sub(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const y = binaryOp('sub', a, b);
  return record('sub', y, [asT(a), asT(b)], (g) => [sumTo(g, shapeOf(a)), sumTo(neg(g), shapeOf(b))]);
}
/** a * b. */
export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const y = binaryOp('mul', a, b);
  return record('mul', y, [asT(a), asT(b)], (g) => [sumTo(binaryOp('mul', g, b), shapeOf(a)), sumTo(binaryOp('mul', g, a), shapeOf(b))]);
}
/** a / b; floor division when both are int32 (TF.js). */
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const y = binaryOp('div', a, b);
  // d/da = g / b; d/db = -g * a / b^2 = -g * y / b.
  return record('div', y, [asT(a), asT(b)], (g) => [sumTo(binaryOp('div', g, b), shapeOf(a)), sumTo(neg(binaryOp('div', binaryOp('mul', g, y), b)), shapeOf(b))]);
}
/** a ** b (C pow semantics: pow(1, NaN) = 1). */
export function pow(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('pow', a, b); }
/** Elementwise max; NaN propagates. */
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('maximum', a, b); }
/** Elementwise min; NaN propagates. */
export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('minimum', a, b); }
/** Floor modulo: the result has the sign of b (Python %, tf.math.floormod). */
export function mod(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('mod', a, b); }
/** floor(a / b). */
export function floorDiv(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('floorDiv', a, b); }
/** (a - b)^2. */
export function squaredDifference(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('squaredDifference', a, b); }
/** atan2(a, b), the angle of the point (b, a); float32 result. */
export function atan2(a: TensorOrScalar, b: TensorOrScalar): Tensor { return binaryOp('atan2', a, b); }

// --- comparison and logic (int32 0/1 masks) -----------------------------------------------------------
export function equal(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('equal', a, b); }
export function notEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('notEqual', a, b); }
export function less(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('less', a, b); }
export function lessEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('lessEqual', a, b); }
export function greater(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('greater', a, b); }
export function greaterEqual(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('greaterEqual', a, b); }
export function logicalAnd(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('logicalAnd', a, b); }
export function logicalOr(a: TensorOrScalar, b: TensorOrScalar): Tensor { return compareOp('logicalOr', a, b); }

/**
 * condition != 0 ? a : b, all three broadcast together. `condition` may be int32 or float32 (nonzero, NaN
 * included, is true); a and b promote as in the binary ops.
 */
export function where(condition: TensorOrScalar, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const op = 'where';
  let c = toTensor(op, 'condition', condition);
  const [ta, tb] = promotePair(op, a, b, ['a', 'b']);
  // Pairwise checks name the two arguments at fault; pairwise compatibility implies all three broadcast.
  broadcastShapes(op, c.shape, ta.shape, ['condition', 'a']);
  broadcastShapes(op, c.shape, tb.shape, ['condition', 'b']);
  const abShape = broadcastShapes(op, ta.shape, tb.shape, ['a', 'b']);
  const outShape = broadcastShapes(op, c.shape, abShape, ['condition', 'a']);
  // A float condition becomes a mask by != 0 (a truncating cast would turn 0.5 into false).
  if (c.dtype !== 'int32') c = Tensor.fromKernel(getBackend().compare('notEqual', c, new Tensor(new Float32Array(1), []), c.shape));
  return Tensor.fromKernel(getBackend().where({ data: c.data as Int32Array, shape: c.shape }, ta, tb, outShape));
}

/**
 * min(max(x, min), max). Bounds are numbers, not NaN, with min <= max; +-Infinity leaves that side open.
 * An int32 x stays int32 unless a bound is fractional (then float32, as the binary ops promote).
 */
export function clip(x: TensorOrScalar, min: number, max: number): Tensor {
  const op = 'clip';
  let t = toTensor(op, 'x', x);
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (typeof v !== 'number') throw opError(DTypeError, op, `argument '${name}' must be a number, got ${typeof v} ${String(v)}`);
    if (Number.isNaN(v)) throw opError(ValueError, op, `argument '${name}' is NaN (x ${fmtShape(t.shape)})`);
  }
  if (min > max) throw opError(ValueError, op, `argument 'min' = ${min} is greater than argument 'max' = ${max} (x ${fmtShape(t.shape)})`);
  const fractional = (v: number) => Number.isFinite(v) && !Number.isInteger(v);
  if (t.dtype === 'int32' && (fractional(min) || fractional(max))) t = castTo(t, 'float32');
  return Tensor.fromKernel(getBackend().clip(t, min, max));
}

// --- unary maths ------------------------------------------------------------------------------------
export function neg(x: TensorOrScalar): Tensor { return unaryOp('neg', x); }
export function abs(x: TensorOrScalar): Tensor { return unaryOp('abs', x); }
/** -1, 0 or 1 (NaN stays NaN). */
export function sign(x: TensorOrScalar): Tensor { return unaryOp('sign', x); }
export function square(x: TensorOrScalar): Tensor { return unaryOp('square', x); }
export function sqrt(x: TensorOrScalar): Tensor { return unaryOp('sqrt', x); }
/** 1 / sqrt(x). */
export function rsqrt(x: TensorOrScalar): Tensor { return unaryOp('rsqrt', x); }
export function reciprocal(x: TensorOrScalar): Tensor { return unaryOp('reciprocal', x); }
export function exp(x: TensorOrScalar): Tensor { return unaryOp('exp', x); }
/** e^x - 1, accurate near 0. */
export function expm1(x: TensorOrScalar): Tensor { return unaryOp('expm1', x); }
export function log(x: TensorOrScalar): Tensor { return unaryOp('log', x); }
/** log(1 + x), accurate near 0. */
export function log1p(x: TensorOrScalar): Tensor { return unaryOp('log1p', x); }
export function sin(x: TensorOrScalar): Tensor { return unaryOp('sin', x); }
export function cos(x: TensorOrScalar): Tensor { return unaryOp('cos', x); }
export function tan(x: TensorOrScalar): Tensor { return unaryOp('tan', x); }
export function asin(x: TensorOrScalar): Tensor { return unaryOp('asin', x); }
export function acos(x: TensorOrScalar): Tensor { return unaryOp('acos', x); }
export function atan(x: TensorOrScalar): Tensor { return unaryOp('atan', x); }
export function sinh(x: TensorOrScalar): Tensor { return unaryOp('sinh', x); }
export function cosh(x: TensorOrScalar): Tensor { return unaryOp('cosh', x); }
export function floor(x: TensorOrScalar): Tensor { return unaryOp('floor', x); }
export function ceil(x: TensorOrScalar): Tensor { return unaryOp('ceil', x); }
/** Round half to even (NumPy, TF): round(2.5) = 2. */
export function round(x: TensorOrScalar): Tensor { return unaryOp('round', x); }
/** The error function. */
export function erf(x: TensorOrScalar): Tensor { return unaryOp('erf', x); }

// --- activations ------------------------------------------------------------------------------------
export function tanh(x: TensorOrScalar): Tensor { return unaryOp('tanh', x); }
export function sigmoid(x: TensorOrScalar): Tensor { return unaryOp('sigmoid', x); }
/** max(x, 0). */
export function relu(x: TensorOrScalar): Tensor { return unaryOp('relu', x); }
/** min(max(x, 0), 6). */
export function relu6(x: TensorOrScalar): Tensor { return unaryOp('relu6', x); }
/** x > 0 ? x : alpha x; alpha defaults to 0.2 (tf.nn.leaky_relu; Keras' LeakyReLU layer uses 0.3). */
export function leakyRelu(x: TensorOrScalar, alpha = 0.2): Tensor {
  return unaryOp('leakyRelu', x, checkFinite('leakyRelu', 'alpha', alpha));
}
/** x > 0 ? x : alpha (e^x - 1); alpha defaults to 1 (Keras). */
export function elu(x: TensorOrScalar, alpha = 1): Tensor {
  return unaryOp('elu', x, checkFinite('elu', 'alpha', alpha));
}
/** Scaled elu with the self-normalising constants (Klambauer et al. 2017). */
export function selu(x: TensorOrScalar): Tensor { return unaryOp('selu', x); }
/** log(1 + e^x), stable for large |x|. */
export function softplus(x: TensorOrScalar): Tensor { return unaryOp('softplus', x); }
/** x / (1 + |x|). */
export function softsign(x: TensorOrScalar): Tensor { return unaryOp('softsign', x); }
/** Exact gelu, x * Phi(x) with the erf form (Keras' approximate=False). */
export function gelu(x: TensorOrScalar): Tensor { return unaryOp('gelu', x); }
/** x * sigmoid(x) (swish). */
export function silu(x: TensorOrScalar): Tensor { return unaryOp('silu', x); }
/** max(0, min(1, 0.2 x + 0.5)) (tf.keras; Keras 3 changed to x/6 + 0.5). */
export function hardSigmoid(x: TensorOrScalar): Tensor { return unaryOp('hardSigmoid', x); }
/** log(sigmoid(x)), stable for large |x|. */
export function logSigmoid(x: TensorOrScalar): Tensor { return unaryOp('logSigmoid', x); }
