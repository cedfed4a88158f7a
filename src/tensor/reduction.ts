/**
 * Reductions: sum, mean, max, min, prod, argmax/argmin, variance/std, norm and logSumExp.
 *
 * - `axis`: a number, a list of distinct axes (negative counts from the end), or undefined for every axis;
 *   `keepDims` keeps reduced axes as length 1. Kernels accumulate in float64.
 * - dtypes: sum, max, min and prod keep int32 (wrapping modulo 2^32); mean, variance, std, norm and logSumExp
 *   return float32 (int32 input is cast first), or float64 for float64 input.
 * - Empty reductions follow TensorFlow: sum 0, prod 1, mean NaN, max -Infinity, min +Infinity (int32: the
 *   int32 lowest/highest). argmax/argmin over an empty axis throw (there is no index to return).
 * - NaN propagates through max/min/sum; argmax/argmin return the first NaN's index (NumPy). Ties: first index.
 * - variance is the population (biased) variance, as tf.moments and Keras' BatchNormalization; std its sqrt.
 * - norm: see NormOrd below.
 * - Gradients (recorded beside each op): max and min (and the max/min inside norm) split the gradient evenly
 *   among tied extremes, as TF's reduce_max and PyTorch's amax (so the pieces sum to g, whatever the ties);
 *   prod's is the product of the other elements, exact with zeros (no division by x); variance's is
 *   2 (x - mean) / n; norm's is 0 at the zero vector (PyTorch's subgradient) and g sign(x) (|x| / norm)^(p-1)
 *   for p-norms, 0 where x = 0 when p < 1 (the derivative is infinite there); logSumExp's is g softmax(x).
 *   argmax and argmin have none.
 */
import { DTypeError, NodegradError, ValueError, fmtShape, opError } from '../errors.js';
import type { ReduceOp } from '../backends/backend.js';
import { backendFor } from '../backends/registry.js';
import { Tensor, type TensorOrScalar } from './tensor.js';
import { describe, toTensor } from './convert.js';
import { normalizeAxes, normalizeAxis, shapesEqual } from './shape.js';
import * as man from './manipulation.js';
import { noGrad, record } from '../autograd/tape.js';
import * as ew from './elementwise.js';

/**
 * Order of a norm (tf.norm / NumPy names), by the number of axes reduced:
 * - 'euclidean': sqrt(sum x^2) over any axes (the 2-norm of a vector, Frobenius of a matrix).
 * - One axis, or axis undefined (the whole tensor read as one vector, as tf.norm): p-norms (sum |x|^p)^(1/p)
 *   for any finite p > 0 (1 and 2 included), Infinity = max |x|, -Infinity = min |x|.
 * - Two axes [rows, cols] (in the order given): 'fro', 1 = max column sum of |x|, Infinity = max row sum,
 *   -1 and -Infinity the minima. Spectral norms (2, -2) need an SVD and are rejected, as is every other case.
 */
export type NormOrd = 'euclidean' | 'fro' | number;

type Axis = number | readonly number[] | undefined;

/** int32 as float32; float32 and float64 as they are. */
function asFloat(t: Tensor): Tensor {
  return t.dtype === 'int32' ? Tensor.fromKernel(backendFor(t).cast(t, 'float32')) : t;
}

/** Runs an axis check, adding x's shape to its message (shape.ts's axis errors give only the rank). */
function withShapeInError<T>(shape: readonly number[], check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof NodegradError) e.message += ` (x ${fmtShape(shape)})`;
    throw e;
  }
}

/** Validates the loose axis argument's JS type, then normalizes it (sorted, distinct, in range). */
function resolveAxes(op: string, axis: unknown, shape: readonly number[]): number[] {
  if (axis !== undefined && typeof axis !== 'number' && !Array.isArray(axis)) {
    throw opError(DTypeError, op, `argument 'axis' must be a number, an array of numbers or undefined, got ${describe(axis)} (x ${fmtShape(shape)})`);
  }
  return withShapeInError(shape, () => normalizeAxes(op, axis as Axis, shape.length));
}

function checkKeepDims(op: string, keepDims: unknown): void {
  if (typeof keepDims !== 'boolean') throw opError(DTypeError, op, `argument 'keepDims' must be a boolean, got ${typeof keepDims} ${String(keepDims)}`);
}

/** The shape with reduced axes dropped, or kept as 1. */
function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const set = new Set(axes);
  return keepDims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
}

/** Reshape without a copy (the data is already in row-major order). */
function withShape(t: Tensor, shape: readonly number[]): Tensor {
  return t.withShape(shape);
}

/** Runs a kernel reduction on a validated tensor and axes. */
function runReduce(op: ReduceOp, t: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const out = Tensor.fromKernel(backendFor(t).reduce(op, t, axes));
  return keepDims ? withShape(out, reducedShape(t.shape, axes, true)) : out;
}

function reduceOp(op: ReduceOp, x: TensorOrScalar, axis: Axis, keepDims: boolean): Tensor {
  let t = toTensor(op, 'x', x);
  const axes = resolveAxes(op, axis, t.shape);
  checkKeepDims(op, keepDims);
  if (op === 'mean') t = asFloat(t);
  const y = runReduce(op, t, axes, keepDims);
  if (y.dtype === 'int32') return y;
  const src = t;
  const kept = reducedShape(src.shape, axes, true);
  return record(op, y, [src], (g) => [reduceGrad(op, src, withShape(y, kept), withShape(g, kept), axes)]);
}

/** dL/dx of a reduction, from x, the output y and its gradient g (both with the reduced axes kept as 1). */
function reduceGrad(op: ReduceOp, x: Tensor, y: Tensor, g: Tensor, axes: readonly number[]): Tensor {
  switch (op) {
    case 'sum': // g spread over the reduced axes
      return man.broadcastTo(g, x.shape);
    case 'mean': {
      let count = 1;
      for (const a of axes) count *= x.shape[a];
      return ew.div(man.broadcastTo(g, x.shape), count);
    }
    case 'max':
    case 'min':
      return extremeGrad(x, y, g, axes);
    case 'prod':
      return prodGrad(x, g, axes);
    default:
      throw new NodegradError(`reduce: no gradient for '${String(op)}'`);
  }
}

/** g split evenly among the elements equal to the extreme y (ties share it, TF's reduce_max gradient). */
function extremeGrad(x: Tensor, y: Tensor, g: Tensor, axes: readonly number[]): Tensor {
  const hits = man.cast(ew.equal(x, y), x.dtype);
  return ew.mul(hits, ew.div(g, sum(hits, axes, true)));
}

/**
 * d prod / d x_i = product of the other elements, computed without dividing by x_i: with z zeros in a group,
 * z = 0 gives prod / x_i, z = 1 gives the product of the nonzero elements at the zero and 0 elsewhere, z >= 2
 * gives 0 everywhere.
 */
function prodGrad(x: Tensor, g: Tensor, axes: readonly number[]): Tensor {
  const isZero = ew.equal(x, 0);
  const zeros = sum(isZero, axes, true);
  const nonzero = ew.where(isZero, 1, x);
  const nonzeroProd = prod(nonzero, axes, true);
  const atZero = ew.where(ew.equal(zeros, 1), nonzeroProd, 0);
  const elsewhere = ew.where(ew.equal(zeros, 0), ew.div(nonzeroProd, nonzero), 0);
  return ew.mul(g, ew.where(isZero, atZero, elsewhere));
}

/** Sum over `axis` (all axes by default). */
export function sum(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor { return reduceOp('sum', x, axis, keepDims); }
/**
 * Sums a broadcast result back to `shape` (the gradient of broadcasting): the leading axes it added and the
 * axes where `shape` has 1 are summed. Returns g itself when the shapes already match.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const s = axes.length ? sum(g, axes, true) : g;
  return man.reshape(s, shape);
}
/** Arithmetic mean over `axis`; float32. */
export function mean(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor { return reduceOp('mean', x, axis, keepDims); }
/** Maximum over `axis`; NaN propagates. */
export function max(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor { return reduceOp('max', x, axis, keepDims); }
/** Minimum over `axis`; NaN propagates. */
export function min(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor { return reduceOp('min', x, axis, keepDims); }
/** Product over `axis`. */
export function prod(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor { return reduceOp('prod', x, axis, keepDims); }

function argOp(op: 'argmax' | 'argmin', x: TensorOrScalar, axis: number): Tensor {
  const t = toTensor(op, 'x', x);
  if (typeof axis !== 'number') throw opError(DTypeError, op, `argument 'axis' must be a single integer, got ${describe(axis)} (x ${fmtShape(t.shape)})`);
  const ax = withShapeInError(t.shape, () => normalizeAxis(op, axis, t.rank));
  if (t.shape[ax] === 0) throw opError(ValueError, op, `argument 'x' ${fmtShape(t.shape)} is empty along axis ${axis}`);
  return Tensor.fromKernel(backendFor(t).argReduce(op === 'argmax' ? 'argMax' : 'argMin', t, ax));
}

/** Index (int32) of the first maximum along `axis` (default the last). */
export function argmax(x: TensorOrScalar, axis = -1): Tensor { return argOp('argmax', x, axis); }
/** Index (int32) of the first minimum along `axis` (default the last). */
export function argmin(x: TensorOrScalar, axis = -1): Tensor { return argOp('argmin', x, axis); }

function varianceImpl(op: string, x: TensorOrScalar, axis: Axis, keepDims: boolean): Tensor {
  const t = asFloat(toTensor(op, 'x', x));
  const axes = resolveAxes(op, axis, t.shape);
  checkKeepDims(op, keepDims);
  // Two passes (mean, then mean of squared deviations): no cancellation, unlike E[x^2] - E[x]^2.
  const mu = runReduce('mean', t, axes, true);
  const y = runReduce('mean', noGrad(() => ew.squaredDifference(t, mu)), axes, keepDims);
  let count = 1;
  for (const a of axes) count *= t.shape[a];
  // d/dx_i = 2 (x_i - mean) / n: the term through the mean sums to zero over the group.
  return record(op, y, [t], (g) => [ew.mul(withShape(g, reducedShape(t.shape, axes, true)), ew.mul(ew.sub(t, mu), 2 / count))]);
}

/** Population variance mean((x - mean(x))^2) over `axis` (tf.moments, Keras). */
export function variance(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor {
  return varianceImpl('variance', x, axis, keepDims);
}
/** Population standard deviation, sqrt(variance). */
export function std(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor {
  return ew.sqrt(varianceImpl('std', x, axis, keepDims));
}

/** max |x|, keeping dims, replaced by 1 where it is 0, infinite or NaN (a safe divisor for scaling). */
function safeScale(a: Tensor, axes: readonly number[]): Tensor {
  const m = runReduce('max', a, axes, true);
  return ew.where(ew.logicalAnd(ew.greater(m, 0), ew.less(m, Infinity)), m, 1);
}

/** Vector p-norm of |x| = a over `axes`, keeping dims. */
function vectorNorm(a: Tensor, ord: number, axes: readonly number[]): Tensor {
  if (ord === Infinity) return runReduce('max', a, axes, true);
  if (ord === -Infinity) return runReduce('min', a, axes, true);
  if (ord === 1) return runReduce('sum', a, axes, true);
  if (ord === 2) return ew.sqrt(runReduce('sum', ew.square(a), axes, true));
  // Scale by max |x| so that |x|^p neither overflows nor underflows float32 for large p.
  const s = safeScale(a, axes);
  return ew.mul(s, ew.pow(runReduce('sum', ew.pow(ew.div(a, s), ord), axes, true), 1 / ord));
}

/** The norm of x over `axis` (see NormOrd); float32 (float64 for float64 x). */
export function norm(x: TensorOrScalar, ord: NormOrd = 'euclidean', axis?: Axis, keepDims = false): Tensor {
  const t = asFloat(toTensor('norm', 'x', x));
  const { out, grad } = noGrad(() => normImpl(t, ord, axis, keepDims));
  return record('norm', out, [t], grad);
}

/** The norm's value and its gradient with respect to t (see the file header for the conventions). */
function normImpl(t: Tensor, ord: NormOrd, axis: Axis, keepDims: boolean): { out: Tensor; grad: (g: Tensor) => [Tensor] } {
  const op = 'norm';
  if (!(ord === 'euclidean' || ord === 'fro' || (typeof ord === 'number' && !Number.isNaN(ord)))) {
    throw opError(ValueError, op, `argument 'ord' must be 'euclidean', 'fro' or a number, got ${typeof ord === 'number' ? ord : JSON.stringify(ord)}`);
  }
  const axes = resolveAxes(op, axis, t.shape);
  checkKeepDims(op, keepDims);
  // The axes in the order the user gave them: a matrix norm reads the first as rows.
  const given = typeof axis === 'number' ? [axis] : axis === undefined ? axes : axis.map((a) => normalizeAxis(op, a, t.rank));
  const where = `x ${fmtShape(t.shape)}, axis ${axis === undefined ? 'undefined' : JSON.stringify(axis)}`;
  let out: Tensor;
  // dnorm/dx given the kept-dims norm y and gradient g.
  let dx: (y: Tensor, g: Tensor) => Tensor;
  /** x / y, 0 where y = 0 (the zero vector): the 2-norm's gradient direction. */
  const unit = (y: Tensor): Tensor => ew.where(ew.equal(y, 0), 0, ew.div(t, ew.where(ew.equal(y, 0), 1, y)));
  if (ord === 'euclidean' || ord === 'fro' || ord === 2) {
    if (ord === 'fro' && axes.length !== 2) throw opError(ValueError, op, `ord 'fro' needs exactly 2 axes (${where})`);
    if (ord === 2 && !(axis === undefined || axes.length === 1)) throw matrixOrdError(op, ord, axes, where);
    out = ew.sqrt(runReduce('sum', ew.square(t), axes, true));
    dx = (y, g) => ew.mul(g, unit(y));
  } else if (axis === undefined || axes.length === 1) {
    if (!(ord > 0) && ord !== -Infinity) {
      throw opError(ValueError, op, `vector norm order must be > 0, Infinity or -Infinity, got ord ${ord} (${where})`);
    }
    const a = ew.abs(t);
    out = vectorNorm(a, ord, axes);
    if (ord === Infinity || ord === -Infinity) {
      dx = (y, g) => ew.mul(ew.sign(t), extremeGrad(a, y, g, axes));
    } else if (ord === 1) {
      dx = (_y, g) => ew.mul(g, ew.sign(t));
    } else {
      // sign(x) (|x| / y)^(p-1): the ratio is at most 1, so nothing overflows for large p.
      const p = ord;
      dx = (y, g) => {
        const ratio = ew.div(a, ew.where(ew.equal(y, 0), 1, y));
        const d = ew.mul(ew.sign(t), ew.pow(ratio, p - 1));
        return ew.mul(g, ew.where(ew.equal(a, 0), 0, d));
      };
    }
  } else if (axes.length === 2) {
    if (Math.abs(ord) !== 1 && Math.abs(ord) !== Infinity) throw matrixOrdError(op, ord, axes, where);
    const rows = given[0];
    const cols = given[1];
    const a = ew.abs(t);
    const [sumAxis, overAxis] = Math.abs(ord) === 1 ? [rows, cols] : [cols, rows];
    const sums = runReduce('sum', a, [sumAxis], true);
    out = runReduce(ord > 0 ? 'max' : 'min', sums, [overAxis], true);
    // The extreme line sum (ties split) gets g; each of its elements passes it on times sign(x).
    dx = (y, g) => ew.mul(ew.sign(t), man.broadcastTo(extremeGrad(sums, y, g, [overAxis]), t.shape));
  } else {
    throw opError(ValueError, op, `a numeric ord needs 1 axis (vector norm) or 2 axes (matrix norm), got ${axes.length} axes with ord ${ord} (${where})`);
  }
  const kept = out;
  const result = keepDims ? out : withShape(out, reducedShape(t.shape, axes, false));
  return { out: result, grad: (g) => [dx(kept, withShape(g, kept.shape))] };
}

/** The error for a numeric ord that no branch of norm takes, worded by the number of axes given. */
function matrixOrdError(op: string, ord: number, axes: readonly number[], where: string): NodegradError {
  if (axes.length !== 2) {
    return opError(ValueError, op, `a numeric ord needs 1 axis (vector norm) or 2 axes (matrix norm), got ${axes.length} axes with ord ${ord} (${where})`);
  }
  return opError(ValueError, op, `matrix norm order must be 'fro', 'euclidean', 1, -1, Infinity or -Infinity, got ord ${ord} (spectral norms are not supported) (${where})`);
}

/** log(sum(exp(x))) over `axis`, stable: the max is subtracted first (ignored where it is not finite). */
export function logSumExp(x: TensorOrScalar, axis?: Axis, keepDims = false): Tensor {
  const op = 'logSumExp';
  const t = asFloat(toTensor(op, 'x', x));
  const axes = resolveAxes(op, axis, t.shape);
  checkKeepDims(op, keepDims);
  const out = noGrad(() => {
    const m = runReduce('max', t, axes, true);
    // An infinite or NaN max (or -Infinity from an empty axis) would turn x - m into NaN; shift by 0 there instead.
    const shift = ew.where(ew.less(ew.abs(m), Infinity), m, 0);
    return ew.add(ew.log(runReduce('sum', ew.exp(ew.sub(t, shift)), axes, true)), shift);
  });
  const y = keepDims ? out : withShape(out, reducedShape(t.shape, axes, false));
  // d/dx = g exp(x - lse) = g softmax(x) over the reduced axes.
  return record(op, y, [t], (g) => [ew.mul(withShape(g, out.shape), ew.exp(ew.sub(t, out)))]);
}
