/**
 * Elementwise maths on tensors: broadcasting binary arithmetic and comparisons, where, clip, and the unary
 * functions and activations. Validation and dtype resolution happen here; the kernels (getBackend()) compute.
 *
 * Conventions:
 * - Every tensor argument also accepts a number (a scalar). A number beside an int32 tensor is int32 when it is
 *   an integer in int32 range, otherwise float32; a number beside a number or a float32 tensor is float32;
 *   beside a float64 tensor it is float64 (a float32 scalar would round it before the float64 maths).
 * - Binary ops promote int32 < float32 < float64 (NumPy; float64 is for gradient checks). Shapes broadcast as
 *   NumPy; errors name both arguments and their shapes.
 * - int32 arithmetic wraps modulo 2^32 (TF). int32 `div` is floor division, as TF.js's tf.div on int32
 *   (TF proper would return float64 from truediv); an int32 zero divisor in div, floorDiv or mod throws a
 *   ValueError, as TF's "Integer division by zero"; an int32 negative exponent in pow throws (NumPy, TF).
 * - Comparisons and logical ops return int32 0/1 masks; logical ops read any nonzero value (NaN too) as true.
 * - Unary ops: neg, abs, sign and square keep int32. Every other unary op is float-only: on an int32 tensor it
 *   computes in float32 and returns float32 (TF would reject the int32 input; we promote, like NumPy's ufuncs).
 * - Gradients sit beside each op (autograd/tape.ts's record), summed back over broadcast axes. Conventions at
 *   kinks, as TensorFlow and PyTorch: relu, relu6, hardSigmoid, abs, sign, floor, ceil, round pass 0 where the
 *   derivative jumps (relu'(0) = 0, abs'(0) = 0); leakyRelu and elu use their x <= 0 branch at 0; clip passes
 *   the gradient on [min, max] inclusive; maximum/minimum split it evenly between tied a and b (PyTorch);
 *   pow's exponent gradient is g y log(a) where a > 0 and 0 elsewhere (TF), its base gradient 0 where b = 0
 *   (PyTorch; b a^(b-1) would be 0 * Infinity at a = 0).
 *   Comparisons and logical ops have none; where's condition gets none. mod's (TF's FloorMod) is
 *   (g, -g floor(a/b)); floorDiv's is zero (piecewise constant).
 * - Definitions of each function (stable sigmoid/softplus/logSigmoid, exact gelu, half-to-even round, floormod,
 *   NaN propagation) are documented in src/backends/reference/elementwise.ts, the oracle.
 */
import { DTypeError, ValueError, fmtShape, opError } from '../errors.js';
import type { BinaryOp, CompareOp, FloatArray, KTensor, UnaryGradOp, UnaryOp } from '../backends/backend.js';
import { backendFor } from '../backends/registry.js';
import { Tensor, type TensorOrScalar } from './tensor.js';
import { toTensor } from './convert.js';
import { type DType, promote } from './dtype.js';
import { broadcastShapes, checkFinite } from './shape.js';
import { sumTo } from './reduction.js';
import { cast } from './manipulation.js';
import { record } from '../autograd/tape.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** Unary ops whose kernels accept int32 (backend.ts). */
const INT_UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square']);

/** Converts with the recorded cast, so that a promoted input's gradient returns in its own dtype. */
function castTo(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : cast(t, dtype);
}

/** The dtype a bare number takes beside `other`. */
function numberDType(v: number, other: unknown): DType {
  if (other instanceof Tensor && other.dtype === 'float64') return 'float64';
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

/** Gradients of a binary op for its (promoted) inputs, before summing back over broadcast axes. */
type BinaryGrad = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null];

/**
 * Runs a broadcasting binary op and records its gradient; `grad` computes only what an input that requires
 * grad needs (test a.requiresGrad / b.requiresGrad), and the result is summed back to each input's shape.
 */
function binaryOp(op: BinaryOp, a: TensorOrScalar, b: TensorOrScalar, grad?: BinaryGrad): Tensor {
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
  const y = Tensor.fromKernel(backendFor(ta, tb).binary(op, ta, tb, outShape));
  if (!grad || y.dtype === 'int32') return y;
  return record(op, y, [ta, tb], (g) => {
    const [ga, gb] = grad(g, ta, tb, y);
    return [ga && sumTo(ga, ta.shape), gb && sumTo(gb, tb.shape)];
  });
}

function compareOp(op: CompareOp, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  const [ta, tb] = promotePair(op, a, b, ['a', 'b']);
  const outShape = broadcastShapes(op, ta.shape, tb.shape, ['a', 'b']);
  return Tensor.fromKernel(backendFor(ta, tb).compare(op, ta, tb, outShape));
}

/** dL/dx of a unary op from the output gradient g, its (float) input x and its output y. */
type UnaryGrad = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

function unaryOp(op: UnaryOp, x: TensorOrScalar, grad: UnaryGrad, alpha?: number): Tensor {
  let t = toTensor(op, 'x', x);
  if (t.dtype === 'int32' && !INT_UNARY.has(op)) t = castTo(t, 'float32');
  const y = Tensor.fromKernel(backendFor(t).unary(op, t, alpha === undefined ? {} : { alpha }));
  if (y.dtype === 'int32') return y;
  return record(op, y, [t], (g) => [grad(g, t, y)]);
}

/**
 * The gradient of an activation as one fused kernel, Backend.unaryGrad: dx = g op'(x) from x, y and g in a single
 * pass (its definitions, kink conventions and NaN behaviour are the reference's). g is taken in x's dtype.
 */
function activationGrad(op: UnaryGradOp, alpha?: number): UnaryGrad {
  const attrs = alpha === undefined ? {} : { alpha };
  return (g, t, y) => {
    const ft = (u: Tensor): KTensor<FloatArray> => u as KTensor<FloatArray>;
    return Tensor.fromKernel(backendFor(t, g).unaryGrad(op, ft(t), ft(y), ft(castTo(g, t.dtype)), attrs));
  };
}

/** A float 0/1 tensor of x's dtype from an int32 mask (gradients multiply by it). */
function maskOf(m: Tensor, like: Tensor): Tensor {
  return cast(m, like.dtype);
}

const zeroGrad: UnaryGrad = (g) => mul(g, 0);

// --- binary arithmetic ------------------------------------------------------------------------------
/** a + b. */
export function add(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('add', a, b, (g, ta, tb) => [ta.requiresGrad ? g : null, tb.requiresGrad ? g : null]);
}
/** a - b. */
export function sub(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('sub', a, b, (g, ta, tb) => [ta.requiresGrad ? g : null, tb.requiresGrad ? neg(g) : null]);
}
/** a * b. */
export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('mul', a, b, (g, ta, tb) => [ta.requiresGrad ? mul(g, tb) : null, tb.requiresGrad ? mul(g, ta) : null]);
}
/** a / b; floor division when both are int32 (TF.js). */
export function div(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  // d/da = g / b; d/db = -g * a / b^2 = -g * y / b.
  return binaryOp('div', a, b, (g, ta, tb, y) => [ta.requiresGrad ? div(g, tb) : null, tb.requiresGrad ? neg(div(mul(g, y), tb)) : null]);
}
/** a ** b (C pow semantics: pow(1, NaN) = 1). */
export function pow(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  // d/da = g b a^(b-1), 0 where b = 0 (0^-1 would give 0 * Infinity); d/db = g y log(a) where a > 0, else 0 (TF).
  return binaryOp('pow', a, b, (g, ta, tb, y) => [
    ta.requiresGrad ? mul(g, where(equal(tb, 0), 0, mul(tb, pow(ta, sub(tb, 1))))) : null,
    tb.requiresGrad ? mul(g, mul(y, where(greater(ta, 0), log(ta), 0))) : null,
  ]);
}
/** The share of the gradient that a gets from maximum/minimum: 1 where it wins, 1/2 where tied, else 0. */
function winnerShare(wins: Tensor, ties: Tensor, like: Tensor): Tensor {
  return add(maskOf(wins, like), mul(maskOf(ties, like), 0.5));
}
/** Elementwise max; NaN propagates. */
export function maximum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('maximum', a, b, (g, ta, tb) => {
    const ties = equal(ta, tb);
    return [
      ta.requiresGrad ? mul(g, winnerShare(greater(ta, tb), ties, g)) : null,
      tb.requiresGrad ? mul(g, winnerShare(less(ta, tb), ties, g)) : null,
    ];
  });
}
/** Elementwise min; NaN propagates. */
export function minimum(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('minimum', a, b, (g, ta, tb) => {
    const ties = equal(ta, tb);
    return [
      ta.requiresGrad ? mul(g, winnerShare(less(ta, tb), ties, g)) : null,
      tb.requiresGrad ? mul(g, winnerShare(greater(ta, tb), ties, g)) : null,
    ];
  });
}
/** Floor modulo: the result has the sign of b (Python %, tf.math.floormod). */
export function mod(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  // a - floor(a/b) b with the floor held constant between its jumps (TF's FloorMod gradient).
  return binaryOp('mod', a, b, (g, ta, tb) => [ta.requiresGrad ? g : null, tb.requiresGrad ? neg(mul(g, floorDiv(ta, tb))) : null]);
}
/** floor(a / b). */
export function floorDiv(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('floorDiv', a, b, (g, ta, tb) => [ta.requiresGrad ? mul(g, 0) : null, tb.requiresGrad ? mul(g, 0) : null]);
}
/** (a - b)^2. */
export function squaredDifference(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  return binaryOp('squaredDifference', a, b, (g, ta, tb) => {
    const d2 = mul(mul(g, sub(ta, tb)), 2);
    return [ta.requiresGrad ? d2 : null, tb.requiresGrad ? neg(d2) : null];
  });
}
/** atan2(a, b), the angle of the point (b, a); float32 result. */
export function atan2(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  // d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2).
  return binaryOp('atan2', a, b, (g, ta, tb) => {
    const r2 = add(square(ta), square(tb));
    return [ta.requiresGrad ? div(mul(g, tb), r2) : null, tb.requiresGrad ? neg(div(mul(g, ta), r2)) : null];
  });
}

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
 * condition != 0 ? a : b, all three broadcast together. `condition` may be int32 or float (nonzero, NaN
 * included, is true); a and b promote as in the binary ops. The gradient goes to a where the condition holds
 * and to b elsewhere; the condition gets none.
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
  if (c.dtype !== 'int32') c = Tensor.fromKernel(backendFor(c).compare('notEqual', c, toTensor(op, 'condition', 0, c.dtype), c.shape));
  const mask = c;
  const y = Tensor.fromKernel(backendFor(mask, ta, tb).where(mask as KTensor<Int32Array>, ta, tb, outShape));
  if (y.dtype === 'int32') return y;
  return record(op, y, [ta, tb], (g) => [
    ta.requiresGrad ? sumTo(where(mask, g, 0), ta.shape) : null,
    tb.requiresGrad ? sumTo(where(mask, 0, g), tb.shape) : null,
  ]);
}

/**
 * min(max(x, min), max). Bounds are numbers, not NaN, with min <= max; +-Infinity leaves that side open.
 * An int32 x stays int32 unless a bound is fractional (then float32, as the binary ops promote). The gradient
 * passes where min <= x <= max (inclusive, as TF and PyTorch).
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
  const y = Tensor.fromKernel(backendFor(t).clip(t, min, max));
  if (y.dtype === 'int32') return y;
  const src = t;
  return record(op, y, [src], (g) => [where(logicalAnd(greaterEqual(src, min), lessEqual(src, max)), g, 0)]);
}

// --- unary maths ------------------------------------------------------------------------------------
// Each gradient is written with the output y where that is cheaper or more accurate than recomputing f(x).
export function neg(x: TensorOrScalar): Tensor { return unaryOp('neg', x, (g) => neg(g)); }
/** |x|; gradient g sign(x), 0 at 0. */
export function abs(x: TensorOrScalar): Tensor { return unaryOp('abs', x, (g, t) => mul(g, sign(t))); }
/** -1, 0 or 1 (NaN stays NaN); zero gradient. */
export function sign(x: TensorOrScalar): Tensor { return unaryOp('sign', x, zeroGrad); }
export function square(x: TensorOrScalar): Tensor { return unaryOp('square', x, (g, t) => mul(g, mul(t, 2))); }
export function sqrt(x: TensorOrScalar): Tensor { return unaryOp('sqrt', x, (g, _t, y) => div(g, mul(y, 2))); }
/** 1 / sqrt(x); gradient -g y^3 / 2. */
export function rsqrt(x: TensorOrScalar): Tensor { return unaryOp('rsqrt', x, (g, _t, y) => mul(g, mul(pow(y, 3), -0.5))); }
export function reciprocal(x: TensorOrScalar): Tensor { return unaryOp('reciprocal', x, (g, _t, y) => neg(mul(g, square(y)))); }
export function exp(x: TensorOrScalar): Tensor { return unaryOp('exp', x, (g, _t, y) => mul(g, y)); }
/** e^x - 1, accurate near 0; gradient g e^x = g (y + 1). */
export function expm1(x: TensorOrScalar): Tensor { return unaryOp('expm1', x, (g, _t, y) => mul(g, add(y, 1))); }
export function log(x: TensorOrScalar): Tensor { return unaryOp('log', x, (g, t) => div(g, t)); }
/** log(1 + x), accurate near 0. */
export function log1p(x: TensorOrScalar): Tensor { return unaryOp('log1p', x, (g, t) => div(g, add(t, 1))); }
export function sin(x: TensorOrScalar): Tensor { return unaryOp('sin', x, (g, t) => mul(g, cos(t))); }
export function cos(x: TensorOrScalar): Tensor { return unaryOp('cos', x, (g, t) => neg(mul(g, sin(t)))); }
/** tan(x); gradient g (1 + y^2). */
export function tan(x: TensorOrScalar): Tensor { return unaryOp('tan', x, (g, _t, y) => mul(g, add(square(y), 1))); }
/** asin(x); gradient g / sqrt(1 - x^2). */
export function asin(x: TensorOrScalar): Tensor { return unaryOp('asin', x, (g, t) => mul(g, rsqrt(sub(1, square(t))))); }
export function acos(x: TensorOrScalar): Tensor { return unaryOp('acos', x, (g, t) => neg(mul(g, rsqrt(sub(1, square(t)))))); }
export function atan(x: TensorOrScalar): Tensor { return unaryOp('atan', x, (g, t) => div(g, add(square(t), 1))); }
export function sinh(x: TensorOrScalar): Tensor { return unaryOp('sinh', x, (g, t) => mul(g, cosh(t))); }
export function cosh(x: TensorOrScalar): Tensor { return unaryOp('cosh', x, (g, t) => mul(g, sinh(t))); }
/** Zero gradient (piecewise constant), as floor, ceil and round in TF and PyTorch. */
export function floor(x: TensorOrScalar): Tensor { return unaryOp('floor', x, zeroGrad); }
export function ceil(x: TensorOrScalar): Tensor { return unaryOp('ceil', x, zeroGrad); }
/** Round half to even (NumPy, TF): round(2.5) = 2. */
export function round(x: TensorOrScalar): Tensor { return unaryOp('round', x, zeroGrad); }
/** The error function; gradient g 2/sqrt(pi) e^(-x^2). */
export function erf(x: TensorOrScalar): Tensor {
  return unaryOp('erf', x, (g, t) => mul(g, mul(exp(neg(square(t))), TWO_OVER_SQRT_PI)));
}

// --- activations ------------------------------------------------------------------------------------
// Their gradients are one Backend.unaryGrad kernel each (activationGrad), written with y where that is cheaper.
/** tanh(x); gradient g (1 - y^2). */
export function tanh(x: TensorOrScalar): Tensor { return unaryOp('tanh', x, activationGrad('tanh')); }
/** 1 / (1 + e^-x); gradient g y (1 - y). */
export function sigmoid(x: TensorOrScalar): Tensor { return unaryOp('sigmoid', x, activationGrad('sigmoid')); }
/** max(x, 0); gradient g where x > 0 (0 at 0). */
export function relu(x: TensorOrScalar): Tensor { return unaryOp('relu', x, activationGrad('relu')); }
/** min(max(x, 0), 6); gradient g where 0 < x < 6. */
export function relu6(x: TensorOrScalar): Tensor { return unaryOp('relu6', x, activationGrad('relu6')); }
/**
 * x > 0 ? x : alpha x; alpha defaults to 0.2 (tf.nn.leaky_relu; Keras' LeakyReLU layer uses 0.3). Gradient g for
 * x > 0, alpha g at and below 0.
 */
export function leakyRelu(x: TensorOrScalar, alpha = 0.2): Tensor {
  const a = checkFinite('leakyRelu', 'alpha', alpha);
  return unaryOp('leakyRelu', x, activationGrad('leakyRelu', a), a);
}
/** x > 0 ? x : alpha (e^x - 1); alpha defaults to 1 (Keras). Gradient g for x > 0, g (y + alpha) at and below 0. */
export function elu(x: TensorOrScalar, alpha = 1): Tensor {
  const a = checkFinite('elu', 'alpha', alpha);
  return unaryOp('elu', x, activationGrad('elu', a), a);
}
/** Scaled elu with the self-normalising constants (Klambauer et al. 2017); gradient g scale or g (y + scale alpha). */
export function selu(x: TensorOrScalar): Tensor { return unaryOp('selu', x, activationGrad('selu')); }
/** log(1 + e^x), stable for large |x|; gradient g sigmoid(x). */
export function softplus(x: TensorOrScalar): Tensor { return unaryOp('softplus', x, activationGrad('softplus')); }
/** x / (1 + |x|); gradient g / (1 + |x|)^2. */
export function softsign(x: TensorOrScalar): Tensor { return unaryOp('softsign', x, activationGrad('softsign')); }
/** Exact gelu, x * Phi(x) with the erf form (Keras' approximate=False); gradient g (Phi(x) + x phi(x)). */
export function gelu(x: TensorOrScalar): Tensor { return unaryOp('gelu', x, activationGrad('gelu')); }
/** x * sigmoid(x) (swish); gradient g s (1 + x (1 - s)) with s = sigmoid(x). */
export function silu(x: TensorOrScalar): Tensor { return unaryOp('silu', x, activationGrad('silu')); }
/** max(0, min(1, 0.2 x + 0.5)) (tf.keras; Keras 3 changed to x/6 + 0.5); gradient 0.2 g on -2.5 < x < 2.5. */
export function hardSigmoid(x: TensorOrScalar): Tensor { return unaryOp('hardSigmoid', x, activationGrad('hardSigmoid')); }
/** log(sigmoid(x)), stable for large |x|; gradient g sigmoid(-x). */
export function logSigmoid(x: TensorOrScalar): Tensor { return unaryOp('logSigmoid', x, activationGrad('logSigmoid')); }
