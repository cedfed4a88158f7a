/**
 * Native max/avg/global pooling forward and backward (native/addon/pool.cc) on Float32Array NHWC inputs.
 * Output shapes and the geometry integers are worked out here; the addon re-checks them for memory safety only.
 * Float64Array inputs (the float64 reference checks), SharedArrayBuffer-backed arrays and ranks other than 4
 * run on the reference backend.
 */
import type { Backend, FloatArray, GlobalPoolMode, KTensor, Pool2DAttrs } from '../backend.js';
import { windowOutSize } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { isPlainF32 } from './elementwise.js';
import { allocF32 } from '../storage.js';

/** n, h, w, c, poolH, poolW, strideH, strideW, padTop, padBottom, padLeft, padRight. */
export type PoolGeometry = [number, number, number, number, number, number, number, number, number, number, number, number];

/** The pool entries of the addon (native/addon/pool.cc). Outputs are written in place. */
export interface PoolAddon extends NativeAddon {
  maxPool2dF32(x: Float32Array, y: Float32Array, ...g: PoolGeometry): void;
  maxPool2dBackwardF32(dy: Float32Array, x: Float32Array, dx: Float32Array, ...g: PoolGeometry): void;
  avgPool2dF32(x: Float32Array, y: Float32Array, ...g: PoolGeometry): void;
  avgPool2dBackwardF32(dy: Float32Array, dx: Float32Array, ...g: PoolGeometry): void;
  /** mode 0 avg, 1 max; x [n, hw, c] -> y [n, c]. */
  globalPool2dF32(mode: number, x: Float32Array, y: Float32Array, n: number, hw: number, c: number): void;
  globalPool2dBackwardF32(mode: number, dy: Float32Array, x: Float32Array, dx: Float32Array, n: number, hw: number, c: number): void;
}

function geometry(xShape: readonly number[], attrs: Pool2DAttrs): PoolGeometry {
  const [n, h, w, c] = xShape;
  return [n, h, w, c, attrs.poolSize[0], attrs.poolSize[1], attrs.strides[0], attrs.strides[1], ...attrs.pads];
}

function outShape(xShape: readonly number[], attrs: Pool2DAttrs): number[] {
  const [n, h, w, c] = xShape;
  const [pt, pb, pl, pr] = attrs.pads;
  return [n, windowOutSize(h, attrs.poolSize[0], attrs.strides[0], 1, pt, pb), windowOutSize(w, attrs.poolSize[1], attrs.strides[1], 1, pl, pr), c];
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The pool entries of the native backend. */
export function poolKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as PoolAddon;
  if (typeof a.maxPool2dF32 !== 'function') return {};
  const ref = referenceBackend;
  const ok4 = (t: KTensor<FloatArray>): t is KTensor<Float32Array> => t.shape.length === 4 && isPlainF32(t.data);

  function windowed(entry: 'maxPool2dF32' | 'avgPool2dF32', refFn: Backend['maxPool2d']): Backend['maxPool2d'] {
    return function pool<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
      if (!ok4(x)) return refFn(x, attrs);
      const shape = outShape(x.shape, attrs);
      if (shape.some((d) => d < 0)) return refFn(x, attrs); // the reference's RangeError for a window past the padded input
      const y = allocF32(size(shape));
      a[entry](x.data, y, ...geometry(x.shape, attrs));
      return { data: y as A, shape };
    };
  }

  return {
    maxPool2d: windowed('maxPool2dF32', ref.maxPool2d),
    avgPool2d: windowed('avgPool2dF32', ref.avgPool2d),

    maxPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
      if (!ok4(x) || !isPlainF32(dy.data) || dy.data.length !== size(outShape(x.shape, attrs))) {
        return ref.maxPool2dBackward(dy, x, attrs);
      }
      const dx = allocF32(x.data.length);
      a.maxPool2dBackwardF32(dy.data, x.data, dx, ...geometry(x.shape, attrs));
      return { data: dx as A, shape: [...x.shape] };
    },

    avgPool2dBackward<A extends FloatArray>(dy: KTensor<A>, xShape: readonly number[], attrs: Pool2DAttrs): KTensor<A> {
      if (xShape.length !== 4 || !isPlainF32(dy.data) || dy.data.length !== size(outShape(xShape, attrs))) {
        return ref.avgPool2dBackward(dy, xShape, attrs);
      }
      const dx = allocF32(size(xShape));
      a.avgPool2dBackwardF32(dy.data, dx, ...geometry(xShape, attrs));
      return { data: dx as A, shape: [...xShape] };
    },

    globalPool2d<A extends FloatArray>(x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
      if (!ok4(x)) return ref.globalPool2d(x, mode);
      const [n, h, w, c] = x.shape;
      const y = allocF32(n * c);
      a.globalPool2dF32(mode === 'max' ? 1 : 0, x.data, y, n, h * w, c);
      return { data: y as A, shape: [n, c] };
    },

    globalPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
      const [n, h, w, c] = x.shape;
      if (!ok4(x) || !isPlainF32(dy.data) || dy.data.length !== n * c) return ref.globalPool2dBackward(dy, x, mode);
      const dx = allocF32(x.data.length);
      a.globalPool2dBackwardF32(mode === 'max' ? 1 : 0, dy.data, x.data, dx, n, h * w, c);
      return { data: dx as A, shape: [...x.shape] };
    },
  };
}
