/**
 * Native conv2d, conv2dBackwardData, conv2dBackwardFilter and their Promise forms (native/addon/conv.cc).
 * Output shapes and the 18 geometry integers are worked out here; the addon re-checks them for memory safety
 * only. Float64Array inputs (the float64 reference checks) and SharedArrayBuffer-backed arrays, which the addon
 * refuses, run on the reference backend.
 */
import type { AsyncKernels, Backend, Conv2DAttrs, FloatArray, KTensor } from '../backend.js';
import { windowOutSize } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import type { NativeAddon } from './addon.js';
import { allocF32 } from '../storage.js';
import { isPlainF32 } from './elementwise.js';

/**
 * n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft, padRight,
 * groups: x [n, h, width, cin], w [kh, kw, cin/groups, cout], y [n, oh, ow, cout].
 */
export type ConvGeometry = [
  number, number, number, number, number, number, number, number, number,
  number, number, number, number, number, number, number, number, number,
];

/** The conv entries of the addon (native/addon/conv.cc). Outputs are written in place; the Promise forms resolve with them. */
export interface ConvAddon extends NativeAddon {
  /** Geometry then the fused activation: 0 linear, 1 relu. */
  conv2dF32(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, ...g: [...ConvGeometry, ConvActivation]): void;
  conv2dF32Async(
    x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, ...g: [...ConvGeometry, ConvActivation]
  ): Promise<Float32Array>;
  conv2dBackwardDataF32(dy: Float32Array, w: Float32Array, dx: Float32Array, ...g: ConvGeometry): void;
  conv2dBackwardDataF32Async(dy: Float32Array, w: Float32Array, dx: Float32Array, ...g: ConvGeometry): Promise<Float32Array>;
  conv2dBackwardFilterF32(x: Float32Array, dy: Float32Array, dw: Float32Array, ...g: ConvGeometry): void;
  conv2dBackwardFilterF32Async(x: Float32Array, dy: Float32Array, dw: Float32Array, ...g: ConvGeometry): Promise<Float32Array>;
}

/** The addon's code of a fused activation (native/runtime/gemm.h Activation): 0 linear, 1 relu. */
export type ConvActivation = 0 | 1;
const actCode = (attrs: Conv2DAttrs): ConvActivation => (attrs.activation === 'relu' ? 1 : 0);

/** The geometry integers of a conv with input [n, h, width, cin], filter [kh, kw, cg, cout] and output oh x ow. */
export function convGeometry(
  xShape: readonly number[], wShape: readonly number[], attrs: Conv2DAttrs, oh: number, ow: number,
): ConvGeometry {
  const [n, h, width, cin] = xShape;
  const [kh, kw, , cout] = wShape;
  const [padTop, padBottom, padLeft, padRight] = attrs.pads;
  return [
    n, h, width, cin, kh, kw, cout, oh, ow,
    attrs.strides[0], attrs.strides[1], attrs.dilations[0], attrs.dilations[1],
    padTop, padBottom, padLeft, padRight, attrs.groups,
  ];
}

// Output size of the forward conv of x [n, h, width, cin] through a kh x kw window.
function outHW(xShape: readonly number[], wShape: readonly number[], attrs: Conv2DAttrs): [number, number] {
  const [padTop, padBottom, padLeft, padRight] = attrs.pads;
  return [
    windowOutSize(xShape[1], wShape[0], attrs.strides[0], attrs.dilations[0], padTop, padBottom),
    windowOutSize(xShape[2], wShape[1], attrs.strides[1], attrs.dilations[1], padLeft, padRight),
  ];
}

// One prepared call: the output array, its shape, and the geometry.
interface Prepared {
  readonly out: Float32Array;
  readonly shape: number[];
  readonly g: ConvGeometry;
}

function prepared(shape: number[], g: ConvGeometry): Prepared {
  return { out: allocF32(shape[0] * shape[1] * shape[2] * shape[3]), shape, g };
}

function prepareForward(x: KTensor, w: KTensor, attrs: Conv2DAttrs): Prepared {
  const [oh, ow] = outHW(x.shape, w.shape, attrs);
  return prepared([x.shape[0], oh, ow, w.shape[3]], convGeometry(x.shape, w.shape, attrs, oh, ow));
}

// dy [n, oh, ow, cout] gives oh and ow; xShape the input size (several input sizes map to one output size).
function prepareBackwardData(dy: KTensor, w: KTensor, xShape: readonly number[], attrs: Conv2DAttrs): Prepared {
  return prepared([...xShape], convGeometry(xShape, w.shape, attrs, dy.shape[1], dy.shape[2]));
}

function prepareBackwardFilter(x: KTensor, dy: KTensor, wShape: readonly number[], attrs: Conv2DAttrs): Prepared {
  return prepared([...wShape], convGeometry(x.shape, wShape, attrs, dy.shape[1], dy.shape[2]));
}

const f32 = (a: FloatArray): Float32Array => a as Float32Array;

/** The conv entries of the native backend and their Promise forms (empty when the addon was built without them). */
export function convKernels(addon: NativeAddon): Partial<Backend> {
  const a = addon as ConvAddon;
  if (typeof a.conv2dF32 !== 'function') return {};
  const ref = referenceBackend;
  // All operands plain Float32Arrays: the addon runs it; anything else (float64 checks, shared memory) the reference.
  const onNative = (x: KTensor, w: KTensor, bias?: KTensor): boolean =>
    isPlainF32(x.data as FloatArray) && isPlainF32(w.data as FloatArray) && (!bias || isPlainF32(bias.data as FloatArray));

  function conv2d<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): KTensor<A> {
    if (!onNative(x, w, bias)) return ref.conv2d(x, w, attrs, bias);
    const p = prepareForward(x, w, attrs);
    a.conv2dF32(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, p.out, ...p.g, actCode(attrs));
    return { data: p.out as A, shape: p.shape };
  }

  function conv2dBackwardData<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
    if (!onNative(dy, w)) return ref.conv2dBackwardData(dy, w, xShape, attrs);
    const p = prepareBackwardData(dy, w, xShape, attrs);
    a.conv2dBackwardDataF32(f32(dy.data), f32(w.data), p.out, ...p.g);
    return { data: p.out as A, shape: p.shape };
  }

  function conv2dBackwardFilter<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
    if (!onNative(x, dy)) return ref.conv2dBackwardFilter(x, dy, wShape, attrs);
    const p = prepareBackwardFilter(x, dy, wShape, attrs);
    a.conv2dBackwardFilterF32(f32(x.data), f32(dy.data), p.out, ...p.g);
    return { data: p.out as A, shape: p.shape };
  }

  // Promise forms: same arguments and results; float64 runs the reference synchronously, then resolves.
  const async: AsyncKernels = {
    async conv2d<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): Promise<KTensor<A>> {
      if (!onNative(x, w, bias)) return ref.conv2d(x, w, attrs, bias);
      const p = prepareForward(x, w, attrs);
      await a.conv2dF32Async(f32(x.data), f32(w.data), bias ? f32(bias.data) : null, p.out, ...p.g, actCode(attrs));
      return { data: p.out as A, shape: p.shape };
    },
    async conv2dBackwardData<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): Promise<KTensor<A>> {
      if (!onNative(dy, w)) return ref.conv2dBackwardData(dy, w, xShape, attrs);
      const p = prepareBackwardData(dy, w, xShape, attrs);
      await a.conv2dBackwardDataF32Async(f32(dy.data), f32(w.data), p.out, ...p.g);
      return { data: p.out as A, shape: p.shape };
    },
    async conv2dBackwardFilter<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): Promise<KTensor<A>> {
      if (!onNative(x, dy)) return ref.conv2dBackwardFilter(x, dy, wShape, attrs);
      const p = prepareBackwardFilter(x, dy, wShape, attrs);
      await a.conv2dBackwardFilterF32Async(f32(x.data), f32(dy.data), p.out, ...p.g);
      return { data: p.out as A, shape: p.shape };
    },
  };

  return { conv2d, conv2dBackwardData, conv2dBackwardFilter, async };
}
