/**
 * Pooling over x [N, H, W, C]: maxPool2d, avgPool2d (divides by the number of in-bounds elements of each
 * window, DESIGN.md), globalAvgPool2d / globalMaxPool2d, and the backward entry points autograd calls.
 *
 * Keras defaults: poolSize 2, strides = poolSize, padding 'valid'. Explicit paddings must be smaller than the
 * pool size along their axis ('same' always is): a window made of padding only would have no value.
 *
 * Gradients (recorded on the tape): each pool's backward kernel. Max pooling sends the gradient to the first
 * maximum of each window (TensorFlow's choice at ties; the gradient is not defined there). The backward entry
 * points record their own gradients where they are linear maps of dy (avgPool2dBackward, globalPool2dBackward);
 * maxPool2dBackward's gradient with respect to dy has no kernel and throws if a backward pass reaches it.
 */
import { NodegradError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import type { GlobalPoolMode, Pool2DAttrs } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkShape, pair, shapesEqual } from '../tensor/shape.js';
import { type Padding2D, checkPoolPadding, parsePadding2d, windowGeometry } from './padding.js';
import { checkOptions, f32, filledLike, floatTensor, fromKernel, sameFloatDType, sumAxes, view } from './validate.js';

export interface Pool2DOptions {
  /** Default 2 (Keras); a number or [ph, pw]. */
  readonly poolSize?: number | readonly [number, number];
  /** Default: poolSize (Keras). */
  readonly strides?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2D;
}

export interface GlobalPool2DOptions {
  /** true: [N, 1, 1, C] (Keras `keepdims`); default false: [N, C]. */
  readonly keepDims?: boolean;
}

const POOL_KEYS = ['poolSize', 'strides', 'padding'] as const;
const GLOBAL_KEYS = ['keepDims'] as const;

function nhwc(op: string, arg: string, v: unknown): Tensor {
  const t = floatTensor(op, arg, v);
  if (t.shape.length !== 4) {
    const hint = t.shape.length === 3 ? ` (a single image needs a batch axis of 1: ${arg}.expandDims(0))` : '';
    throw opError(ShapeError, op, `argument '${arg}' must have rank 4 [N, H, W, C], got shape ${fmtShape(t.shape)}${hint}`);
  }
  return t;
}

/** Resolved attributes and output shape of a pool over an input of shape xShape. */
function poolGeometry(op: string, options: Pool2DOptions | undefined, xArg: string, xShape: readonly number[]): { attrs: Pool2DAttrs; outShape: number[] } {
  const o = checkOptions(op, options, POOL_KEYS);
  const poolSize = pair(op, 'poolSize', o.poolSize ?? 2);
  const strides = o.strides === undefined ? poolSize : pair(op, 'strides', o.strides);
  const padding = parsePadding2d(op, o.padding);
  checkPoolPadding(op, padding, poolSize);
  const g = windowGeometry(op, padding, [xShape[1], xShape[2]], poolSize, strides, [1, 1], {
    input: `'${xArg}' ${fmtShape(xShape)}`, window: `the pool window ${fmtShape(poolSize)}`,
  });
  return {
    attrs: { poolSize, strides, pads: g.pads },
    outShape: [xShape[0], g.outHW[0], g.outHW[1], xShape[3]],
  };
}

function checkDy(op: string, dy: Tensor, expected: readonly number[], xArg: string, xShape: readonly number[]): void {
  if (!shapesEqual(dy.shape, expected)) {
    throw opError(
      ShapeError, op,
      `argument 'dy' ${fmtShape(dy.shape)} must have the pooled shape ${fmtShape(expected)} of '${xArg}' ${fmtShape(xShape)}`,
    );
  }
}

/**
 * Max pooling: x [N, H, W, C] -> [N, OH, OW, C]; padded positions never win.
 * @example maxPool2d(x, { poolSize: 3, strides: 2 })
 */
export function maxPool2d(x: Tensor, options: Pool2DOptions = {}): Tensor {
  const op = 'maxPool2d';
  const xt = nhwc(op, 'x', x);
  const { attrs } = poolGeometry(op, options, 'x', xt.shape);
  const y = fromKernel(backendFor(xt).maxPool2d(f32(xt), attrs));
  return record(op, y, [xt], (dy) => [fromKernel(backendFor(dy, xt).maxPool2dBackward(f32(dy), f32(xt), attrs))]);
}

/** Average pooling: x [N, H, W, C] -> [N, OH, OW, C]; each window's sum is divided by its in-bounds count. */
export function avgPool2d(x: Tensor, options: Pool2DOptions = {}): Tensor {
  const op = 'avgPool2d';
  const xt = nhwc(op, 'x', x);
  const { attrs } = poolGeometry(op, options, 'x', xt.shape);
  const y = fromKernel(backendFor(xt).avgPool2d(f32(xt), attrs));
  return record(op, y, [xt], (dy) => [fromKernel(backendFor(dy).avgPool2dBackward(f32(dy), xt.shape, attrs))]);
}

function globalPool(op: string, mode: GlobalPoolMode, x: unknown, options: GlobalPool2DOptions | undefined): Tensor {
  const o = checkOptions(op, options, GLOBAL_KEYS);
  const xt = nhwc(op, 'x', x);
  const keepDims = o.keepDims ?? false;
  if (typeof keepDims !== 'boolean') throw opError(ValueError, op, `argument 'keepDims' must be a boolean, got ${String(keepDims)}`);
  const [n, h, w, c] = xt.shape;
  if (h * w === 0) throw opError(ShapeError, op, `argument 'x' ${fmtShape(xt.shape)} has no pixels to pool`);
  const y = fromKernel(backendFor(xt).globalPool2d(f32(xt), mode), keepDims ? [n, 1, 1, c] : [n, c]);
  return record(op, y, [xt], (dy) => [fromKernel(backendFor(dy, xt).globalPool2dBackward(f32(view(dy, [n, c])), f32(xt), mode))]);
}

/** Mean over H and W: x [N, H, W, C] -> [N, C] (or [N, 1, 1, C] with keepDims). */
export function globalAvgPool2d(x: Tensor, options: GlobalPool2DOptions = {}): Tensor {
  return globalPool('globalAvgPool2d', 'avg', x, options);
}

/** Max over H and W: x [N, H, W, C] -> [N, C] (or [N, 1, 1, C] with keepDims). */
export function globalMaxPool2d(x: Tensor, options: GlobalPool2DOptions = {}): Tensor {
  return globalPool('globalMaxPool2d', 'max', x, options);
}

/** Gradient of maxPool2d(x, options): dy [N, OH, OW, C] goes to the first maximum of each window. */
export function maxPool2dBackward(dy: Tensor, x: Tensor, options: Pool2DOptions = {}): Tensor {
  const op = 'maxPool2dBackward';
  const dyt = nhwc(op, 'dy', dy);
  const xt = nhwc(op, 'x', x);
  const { attrs, outShape } = poolGeometry(op, options, 'x', xt.shape);
  checkDy(op, dyt, outShape, 'x', xt.shape);
  sameFloatDType(op, [['dy', dyt], ['x', xt]]);
  const dx = fromKernel(backendFor(dyt, xt).maxPool2dBackward(f32(dyt), f32(xt), attrs));
  // Piecewise constant in x (zero gradient away from ties); linear in dy, but its transpose (gathering g at each
  // window's maximum) has no kernel: a pass that needs it says so instead of dropping that path.
  return record(op, dx, [dyt, xt], () => {
    if (dyt.requiresGrad) {
      throw new NodegradError(`backward: the gradient of '${op}' with respect to 'dy' (a second-order gradient of maxPool2d) is not implemented`);
    }
    return [null, null];
  });
}

/** Gradient of avgPool2d on an input of shape xShape: dy [N, OH, OW, C] -> dx xShape. */
export function avgPool2dBackward(dy: Tensor, xShape: readonly number[], options: Pool2DOptions = {}): Tensor {
  const op = 'avgPool2dBackward';
  const dyt = nhwc(op, 'dy', dy);
  const xs = checkShape(op, 'xShape', xShape);
  if (xs.length !== 4) throw opError(ShapeError, op, `argument 'xShape' must have rank 4 [N, H, W, C], got ${fmtShape(xs)}`);
  const { attrs, outShape } = poolGeometry(op, options, 'xShape', xs);
  checkDy(op, dyt, outShape, 'xShape', xs);
  const dx = fromKernel(backendFor(dyt).avgPool2dBackward(f32(dyt), xs, attrs));
  // Linear in dy: its transpose is the average pool itself.
  return record(op, dx, [dyt], (g) => [fromKernel(backendFor(g).avgPool2d(f32(g), attrs))]);
}

/** Gradient of globalAvgPool2d / globalMaxPool2d: dy [N, C] (or [N, 1, 1, C]) -> dx like x. */
export function globalPool2dBackward(dy: Tensor, x: Tensor, mode: GlobalPoolMode): Tensor {
  const op = 'globalPool2dBackward';
  const dyt = floatTensor(op, 'dy', dy);
  const xt = nhwc(op, 'x', x);
  if (mode !== 'avg' && mode !== 'max') throw opError(ValueError, op, `argument 'mode' must be 'avg' or 'max', got ${String(mode)}`);
  const [n, h, w, c] = xt.shape;
  if (h * w === 0) throw opError(ShapeError, op, `argument 'x' ${fmtShape(xt.shape)} has no pixels to pool`);
  const flat = shapesEqual(dyt.shape, [n, c]);
  if (!flat && !shapesEqual(dyt.shape, [n, 1, 1, c])) {
    throw opError(ShapeError, op, `argument 'dy' ${fmtShape(dyt.shape)} must be [${n},${c}] or [${n},1,1,${c}] for 'x' ${fmtShape(xt.shape)}`);
  }
  sameFloatDType(op, [['dy', dyt], ['x', xt]]);
  const dx = fromKernel(backendFor(dyt, xt).globalPool2dBackward(f32(flat ? dyt : view(dyt, [n, c])), f32(xt), mode));
  // Linear in dy; piecewise constant (max) or constant (avg) in x, which gets no gradient. The transpose: the mean
  // over H and W (avg), or g at each channel's first maximum, picked by the routing mask of a dy of ones (max).
  return record(op, dx, [dyt, xt], (g) => {
    const b = backendFor(g, xt);
    let ddy: Tensor;
    if (mode === 'avg') ddy = fromKernel(b.globalPool2d(f32(g), 'avg'));
    else {
      const mask = b.globalPool2dBackward(filledLike(f32(g), [n, c], 1), f32(xt), 'max');
      ddy = sumAxes(fromKernel(b.binary('mul', f32(g), mask, g.shape)), [1, 2]);
    }
    return [view(ddy, dyt.shape), null];
  });
}
