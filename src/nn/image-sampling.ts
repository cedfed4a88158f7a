/**
 * Image resampling behind the preprocessing and augmentation layers: affine (projective) warps with Keras/TF fill
 * modes, resizing, flips and per-image crops. NHWC, float32 (or float64, for the reference checks); plain typed
 * array loops with per-row / per-column coefficients computed once, and no allocation per pixel.
 *
 * Every op here records its gradient: each is a linear map of the image for fixed parameters (transforms, sizes,
 * flips, offsets), and its backward is the adjoint (a scatter-add with the same taps and weights), so Grad-CAM and
 * filter visualisation can differentiate through resizing or an augmentation layer called with training on.
 * Parameters (transform matrices, offsets) get no gradient.
 *
 * ## Coordinates (the pixel-centre convention)
 * `affineTransform` follows TF's ImageProjectiveTransformV3 (what Keras' RandomRotation / RandomZoom /
 * RandomTranslation / RandomShear run on the TensorFlow backend): the coordinate of pixel (row i, column j) is
 * (x = j, y = i), i.e. integer coordinates sit at pixel CENTRES and the image covers [-0.5, W - 0.5]. A transform
 * [a0, a1, a2, b0, b1, b2, c0, c1] maps each OUTPUT pixel (x, y) to the INPUT point
 *   x_in = (a0 x + a1 y + a2) / k,  y_in = (b0 x + b1 y + b2) / k,  k = c0 x + c1 y + 1
 * (the inverse of the visible motion). The input point is then mapped by the fill mode and interpolated:
 * - 'nearest' interpolation: the pixel at (round(y_in), round(x_in)), halves rounded up (coordinates are >= 0
 *   by then, where this is std::round);
 * - 'bilinear': the four pixels around the point, weights (1 - fx, fx) x (1 - fy, fy).
 * Fill modes (TF's MapCoordinate, on the continuous coordinate; for len = 1 every mode but 'constant' gives 0):
 * - 'constant': a point outside [0, W-1] x [0, H-1] takes `fillValue`, with no blending with the border pixels
 *   (TF's kernel returns the fill value for any such point);
 * - 'nearest': the coordinate is clamped to [0, len-1]           (a a a a | a b c d | d d d d);
 * - 'reflect': reflected about the outer edge of the border pixel (d c b a | a b c d | d c b a), then clamped;
 * - 'wrap': shifted by whole periods of len, then clamped          (a b c d | a b c d | a b c d). For points
 *   less than len - 1 outside the image this is TF's arithmetic exactly (the gap between the last pixel and the
 *   first of the next copy is not blended: (len-1, len) clamps to a, (-1, 0) to d). Further out TF divides by
 *   len - 1 where it means len and lands on the wrong pixel (7 in a row of 4 gives a, not d); here it stays
 *   periodic.
 *
 * `resizeImages` follows tf.image.resize (antialias off, half-pixel centres, as Keras' Resizing):
 * 'bilinear' samples input coordinate (o + 0.5) * in/out - 0.5 with its neighbours clamped to the image
 * (the same as PyTorch's interpolate(mode='bilinear', align_corners=False)); 'nearest' takes the pixel
 * floor((o + 0.5) * in/out) (PyTorch's 'nearest-exact'). The scales and source coordinates are computed in float32
 * as TF does, so index choices match it.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { record } from '../autograd/tape.js';
import { warnFallback } from '../backends/cuda/tensor-backend.js';
import { allocF32, zerosF32 } from '../backends/storage.js';
import { Tensor } from '../tensor/tensor.js';

export type FillMode = 'constant' | 'reflect' | 'wrap' | 'nearest';
export type Interpolation = 'bilinear' | 'nearest';
export const FILL_MODES: readonly FillMode[] = ['reflect', 'wrap', 'constant', 'nearest'];
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'nearest'];

type FloatArray = Float32Array | Float64Array;

const MODE_CONSTANT = 0;
const MODE_NEAREST = 1;
const MODE_REFLECT = 2;
const MODE_WRAP = 3;

function modeCode(mode: FillMode): number {
  return mode === 'constant' ? MODE_CONSTANT : mode === 'nearest' ? MODE_NEAREST : mode === 'reflect' ? MODE_REFLECT : MODE_WRAP;
}

/**
 * TF's MapCoordinate: a continuous input coordinate (pixel-centre units) mapped into [0, len - 1] by the fill mode
 * ('constant' leaves it as it is; the caller then fills what lies outside). See the header for 'wrap'.
 */
export function mapCoordinate(mode: FillMode, coord: number, len: number): number {
  return mapCoord(modeCode(mode), coord, len);
}

function mapCoord(mode: number, c: number, len: number): number {
  const last = len - 1;
  if (mode === MODE_CONSTANT || (c >= 0 && c <= last)) return c; // most points: inside, unchanged
  if (mode === MODE_REFLECT) {
    if (c < 0) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        c += sz2 * Math.trunc(-c / sz2); // into (-2 len, 0]
        c = c < -len ? c + sz2 : -c - 1;
      }
    } else if (c > last) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        c -= sz2 * Math.trunc(c / sz2); // into [0, 2 len)
        if (c >= len) c = sz2 - c - 1;
      }
    }
  } else if (mode === MODE_WRAP) {
    if (c < 0) c = len <= 1 ? 0 : c + len * Math.ceil(-c / len); // into [0, len)
    else if (c > last) c = len <= 1 ? 0 : c - len * Math.ceil((c - last) / len); // into (-1, len - 1]
  }
  // Clamp: also what 'nearest' is. NaN stays NaN, and the caller fills it.
  return c < 0 ? 0 : c > last ? last : c;
}

// --- checks ------------------------------------------------------------------------------------

/** A float NHWC batch: [N, H, W, C] float32 or float64. */
function images(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(`${op}: argument 'images' must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.rank !== 4) throw new ShapeError(`${op}: argument 'images' must have rank 4 [N, H, W, C], got shape ${fmtShape(x.shape)}`);
  if (x.dtype === 'int32') throw new DTypeError(`${op}: argument 'images' must be float32 (or float64), got int32 ${fmtShape(x.shape)} (cast it first)`);
  return x;
}

function positiveInt(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${op}: argument '${arg}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(op: string, arg: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new ValueError(`${op}: argument '${arg}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function alloc(like: FloatArray, n: number, zero: boolean): FloatArray {
  if (like instanceof Float64Array) return new Float64Array(n);
  return zero ? zerosF32(n) : allocF32(n);
}

/**
 * Records an op computed on host arrays (these ops have no CUDA kernels): for a CUDA input, its result and its input
 * gradient go back to the input's device (a download and an upload per call, noted once as a CPU fallback), so a
 * CUDA model with augmentation or resizing layers keeps every tensor on the GPU.
 */
export function recordHostOp(op: string, y: Tensor, x: Tensor, backward: (g: Tensor) => Tensor): Tensor {
  if (x.device === 'cpu') return record(op, y, [x], (g) => [backward(g)]);
  warnFallback(op, 'computed on the host');
  const toDevice = (t: Tensor): Tensor => {
    if (t.device === x.device) return t;
    const d = t.to(x.device);
    t.dispose();  // the host copy's pooled storage
    return d;
  };
  return record(op, toDevice(y), [x], (g) => [toDevice(backward(g))]);
}

// --- affine / projective transforms ------------------------------------------------------------

export interface AffineTransformOptions {
  /** Default 'bilinear'. */
  interpolation?: Interpolation;
  /** Default 'constant' (as TF's op; the Keras layers default to 'reflect'). */
  fillMode?: FillMode;
  /** What 'constant' fills with; default 0. */
  fillValue?: number;
  /** [height, width] of the output; default the input's. */
  outputSize?: readonly [number, number];
}

/**
 * The taps of one image's warp: per output pixel four (offset, weight) pairs, and a flag for pixels that take the
 * fill value. A neighbour outside the image (only ever with weight 0) points at a valid pixel instead, so the
 * channel loops have no branch.
 * Module-level scratch, grown on demand: the ops here are synchronous, so one plan is live at a time.
 */
let planIdx = new Int32Array(0);
let planW = new Float64Array(0);
let planFill = new Uint8Array(0);

function reservePlan(pixels: number): void {
  if (planFill.length < pixels) {
    planIdx = new Int32Array(pixels * 4);
    planW = new Float64Array(pixels * 4);
    planFill = new Uint8Array(pixels);
  }
}

/** Fills the plan for output [oh, ow] from the transform at t[to..to+8) on an input h x w with c channels. */
function buildAffinePlan(
  t: Float64Array, to: number, h: number, w: number, c: number, oh: number, ow: number, bilinear: boolean, mode: number,
): void {
  const idx = planIdx, wt = planW, fw = planFill;
  const a0 = t[to], a1 = t[to + 1], a2 = t[to + 2], b0 = t[to + 3], b1 = t[to + 4], b2 = t[to + 5], c0 = t[to + 6], c1 = t[to + 7];
  const projective = c0 !== 0 || c1 !== 0;
  const xLast = w - 1, yLast = h - 1;
  const rowStride = w * c;
  let p = 0;
  for (let oy = 0; oy < oh; oy++) {
    // Per-row coefficients: along a row x_in and y_in move by a0 and b0 per output pixel.
    const rx = a1 * oy + a2, ry = b1 * oy + b2, rk = c1 * oy + 1;
    for (let ox = 0; ox < ow; ox++, p++) {
      let xin = a0 * ox + rx, yin = b0 * ox + ry;
      if (projective) {
        const k = c0 * ox + rk;
        // TF: a zero projection is a point at infinity, outside the image.
        xin = k === 0 ? NaN : xin / k;
        yin = k === 0 ? NaN : yin / k;
      }
      const x = mapCoord(mode, xin, w), y = mapCoord(mode, yin, h);
      const q = p * 4;
      if (!(x >= 0 && x <= xLast && y >= 0 && y <= yLast)) {
        fw[p] = 1;
        continue;
      }
      fw[p] = 0;
      // x, y >= 0 here, so truncation is floor (and cheaper).
      if (!bilinear) {
        idx[q] = ((y + 0.5) | 0) * rowStride + ((x + 0.5) | 0) * c;
        wt[q] = 1;
        continue;
      }
      const x0 = x | 0, y0 = y | 0;
      const fx = x - x0, fy = y - y0;
      // At x == W-1 exactly the right neighbour is outside; its weight fx is 0, so it points at x0 (same for y).
      const dx = x0 < xLast ? c : 0;
      const dy = y0 < yLast ? rowStride : 0;
      const base = y0 * rowStride + x0 * c;
      idx[q] = base;
      idx[q + 1] = base + dx;
      idx[q + 2] = base + dy;
      idx[q + 3] = base + dy + dx;
      wt[q] = (1 - fx) * (1 - fy);
      wt[q + 1] = fx * (1 - fy);
      wt[q + 2] = (1 - fx) * fy;
      wt[q + 3] = fx * fy;
    }
  }
}

/** The transforms as a flat Float64Array of 8 per image ([1, 8] applies to every image). */
function transformRows(op: string, transforms: Tensor | Float64Array | readonly (readonly number[])[], n: number): { t: Float64Array; stride: number } {
  let t: Float64Array;
  if (transforms instanceof Float64Array) t = Float64Array.from(transforms); // the backward pass keeps its own copy
  else if (transforms instanceof Tensor) {
    if (transforms.rank !== 2 || transforms.shape[1] !== 8) throw new ShapeError(`${op}: argument 'transforms' must have shape [N, 8] or [1, 8], got ${fmtShape(transforms.shape)}`);
    t = Float64Array.from(transforms.data);
  } else if (Array.isArray(transforms)) {
    if (!transforms.every((r) => Array.isArray(r) && r.length === 8)) throw new ShapeError(`${op}: argument 'transforms' must be rows of 8 numbers [a0, a1, a2, b0, b1, b2, c0, c1]`);
    t = Float64Array.from(transforms.flat());
  } else {
    throw new DTypeError(`${op}: argument 'transforms' must be a Tensor [N, 8], a Float64Array or rows of 8 numbers`);
  }
  const rows = t.length / 8;
  if (!Number.isInteger(rows) || (rows !== 1 && rows !== n)) {
    throw new ShapeError(`${op}: argument 'transforms' must hold 8 numbers per image (${n} images) or 8 for all, got ${t.length} numbers`);
  }
  for (let i = 0; i < t.length; i++) if (!Number.isFinite(t[i])) throw new ValueError(`${op}: argument 'transforms' must be finite, got ${t[i]} at ${i}`);
  return { t, stride: rows === 1 ? 0 : 8 };
}

/**
 * Warps each image of x [N, H, W, C] by its transform (see the header for the convention), as TF's
 * ImageProjectiveTransformV3 / keras.ops.image.affine_transform. The gradient flows to x (not to the transforms).
 */
export function affineTransform(
  x: Tensor, transforms: Tensor | Float64Array | readonly (readonly number[])[], options: AffineTransformOptions = {},
): Tensor {
  const op = 'affineTransform';
  const xt = images(op, x);
  const [n, h, w, c] = xt.shape;
  const interpolation = oneOf(op, 'interpolation', options.interpolation ?? 'bilinear', INTERPOLATIONS);
  const fillMode = oneOf(op, 'fillMode', options.fillMode ?? 'constant', FILL_MODES);
  const fillValue = options.fillValue ?? 0;
  if (typeof fillValue !== 'number' || !Number.isFinite(fillValue)) throw new ValueError(`${op}: argument 'fillValue' must be a finite number, got ${JSON.stringify(options.fillValue)}`);
  const [oh, ow] = options.outputSize ?? [h, w];
  positiveInt(op, 'outputSize[0]', oh);
  positiveInt(op, 'outputSize[1]', ow);
  if (h === 0 || w === 0) throw new ShapeError(`${op}: argument 'images' must have non-empty height and width, got shape ${fmtShape(xt.shape)}`);
  const { t, stride } = transformRows(op, transforms, n);
  const bilinear = interpolation === 'bilinear';
  const mode = modeCode(fillMode);
  const src = xt.data as FloatArray;
  const out = alloc(src, n * oh * ow * c, false);
  affineForward(src, out, n, h, w, c, oh, ow, t, stride, bilinear, mode, fillValue);
  return recordHostOp(op, new Tensor(out, [n, oh, ow, c]), xt, (g) => {
    const dx = alloc(g.data as FloatArray, n * h * w * c, true);
    affineBackward(g.data as FloatArray, dx, n, h, w, c, oh, ow, t, stride, bilinear, mode);
    return new Tensor(dx, xt.shape);
  });
}

/** The warp on raw arrays: out [n, oh, ow, c] from src [n, h, w, c]. */
export function affineForward(
  src: FloatArray, out: FloatArray, n: number, h: number, w: number, c: number, oh: number, ow: number,
  t: Float64Array, stride: number, bilinear: boolean, mode: number, fill: number,
): void {
  const pixels = oh * ow;
  reservePlan(pixels);
  const idx = planIdx, wt = planW, fw = planFill;
  for (let b = 0; b < n; b++) {
    buildAffinePlan(t, b * stride, h, w, c, oh, ow, bilinear, mode);
    const sb = b * h * w * c;
    let o = b * pixels * c;
    if (!bilinear) {
      for (let p = 0; p < pixels; p++, o += c) {
        const s = sb + idx[p * 4];
        if (fw[p] !== 0) for (let k = 0; k < c; k++) out[o + k] = fill;
        else for (let k = 0; k < c; k++) out[o + k] = src[s + k];
      }
      continue;
    }
    for (let p = 0, q = 0; p < pixels; p++, q += 4, o += c) {
      if (fw[p] !== 0) {
        for (let k = 0; k < c; k++) out[o + k] = fill;
        continue;
      }
      const i0 = sb + idx[q], i1 = sb + idx[q + 1], i2 = sb + idx[q + 2], i3 = sb + idx[q + 3];
      const w0 = wt[q], w1 = wt[q + 1], w2 = wt[q + 2], w3 = wt[q + 3];
      for (let k = 0; k < c; k++) out[o + k] = w0 * src[i0 + k] + w1 * src[i1 + k] + w2 * src[i2 + k] + w3 * src[i3 + k];
    }
  }
}

/** The adjoint of affineForward (fill excluded): dx [n, h, w, c] (zeroed by the caller) += warp^T dy. */
export function affineBackward(
  dy: FloatArray, dx: FloatArray, n: number, h: number, w: number, c: number, oh: number, ow: number,
  t: Float64Array, stride: number, bilinear: boolean, mode: number,
): void {
  const pixels = oh * ow;
  reservePlan(pixels);
  const idx = planIdx, wt = planW, fw = planFill;
  for (let b = 0; b < n; b++) {
    buildAffinePlan(t, b * stride, h, w, c, oh, ow, bilinear, mode);
    const sb = b * h * w * c;
    let o = b * pixels * c;
    for (let p = 0, q = 0; p < pixels; p++, q += 4, o += c) {
      if (fw[p] !== 0) continue;
      if (!bilinear) {
        const s = sb + idx[q];
        for (let k = 0; k < c; k++) dx[s + k] += dy[o + k];
        continue;
      }
      const i0 = sb + idx[q], i1 = sb + idx[q + 1], i2 = sb + idx[q + 2], i3 = sb + idx[q + 3];
      const w0 = wt[q], w1 = wt[q + 1], w2 = wt[q + 2], w3 = wt[q + 3];
      for (let k = 0; k < c; k++) {
        const g = dy[o + k];
        dx[i0 + k] += w0 * g;
        dx[i1 + k] += w1 * g;
        dx[i2 + k] += w2 * g;
        dx[i3 + k] += w3 * g;
      }
    }
  }
}

/** The fill-mode code affineForward / affineBackward take. */
export function fillModeCode(mode: FillMode): number {
  return modeCode(mode);
}

// --- resizing ----------------------------------------------------------------------------------

export interface ResizeOptions {
  /** Default 'bilinear'. */
  interpolation?: Interpolation;
  /**
   * Crop the largest centred window with the target aspect ratio first, so the image is not distorted (Keras'
   * crop_to_aspect_ratio / smart_resize). Default false.
   */
  cropToAspectRatio?: boolean;
}

/**
 * The centred window [top, left, height, width] with the aspect ratio of outH x outW (Keras' crop_to_aspect_ratio:
 * crop height = floor(W * outH / outW) clamped to [1, H], and likewise the width; the offsets are floored).
 */
export function aspectRatioWindow(h: number, w: number, outH: number, outW: number): [number, number, number, number] {
  const ch = Math.max(Math.min(h, Math.floor((w * outH) / outW)), 1);
  const cw = Math.max(Math.min(w, Math.floor((h * outW) / outH)), 1);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/**
 * Per output index along one axis: the two source indices and the weight of the second (bilinear), or the one
 * source index (nearest), for a window [start, start + len) of the input resized to `out`. float32 arithmetic as TF.
 */
function axisTaps(len: number, out: number, bilinear: boolean, lo: Int32Array, hi: Int32Array, frac: Float64Array): void {
  const f = Math.fround;
  const scale = f(len / out);
  for (let o = 0; o < out; o++) {
    if (bilinear) {
      const s = f(f(f(o + 0.5) * scale) - 0.5);
      const s0 = Math.floor(s);
      lo[o] = Math.max(s0, 0);
      hi[o] = Math.min(Math.ceil(s), len - 1);
      frac[o] = f(s - s0);
    } else {
      lo[o] = Math.max(Math.min(Math.floor(f(f(o + 0.5) * scale)), len - 1), 0);
      hi[o] = lo[o];
      frac[o] = 0;
    }
  }
}

/**
 * Resizes x [N, H, W, C] to [N, height, width, C] as tf.image.resize (antialias off; see the header), optionally
 * cropping to the target aspect ratio first. The gradient flows to x.
 */
export function resizeImages(x: Tensor, size: readonly [number, number], options: ResizeOptions = {}): Tensor {
  const op = 'resizeImages';
  const xt = images(op, x);
  if (!Array.isArray(size) || size.length !== 2) throw new ValueError(`${op}: argument 'size' must be [height, width], got ${JSON.stringify(size)}`);
  const oh = positiveInt(op, 'size[0]', size[0]);
  const ow = positiveInt(op, 'size[1]', size[1]);
  const interpolation = oneOf(op, 'interpolation', options.interpolation ?? 'bilinear', INTERPOLATIONS);
  const [n, h, w, c] = xt.shape;
  if (h === 0 || w === 0) throw new ShapeError(`${op}: argument 'images' must have non-empty height and width, got shape ${fmtShape(xt.shape)}`);
  const [top, left, ch, cw] = options.cropToAspectRatio ? aspectRatioWindow(h, w, oh, ow) : [0, 0, h, w];
  if (ch === oh && cw === ow) {
    // Same size: TF's resize is then the identity (both interpolations sample pixel centres exactly).
    return ch === h && cw === w ? xt : xt.slice([0, top, left, 0], [n, ch, cw, c]);
  }
  const bilinear = interpolation === 'bilinear';
  const ylo = new Int32Array(oh), yhi = new Int32Array(oh), yf = new Float64Array(oh);
  const xlo = new Int32Array(ow), xhi = new Int32Array(ow), xf = new Float64Array(ow);
  axisTaps(ch, oh, bilinear, ylo, yhi, yf);
  axisTaps(cw, ow, bilinear, xlo, xhi, xf);
  // Offsets of the window's rows and columns in the input (element units).
  for (let i = 0; i < oh; i++) {
    ylo[i] = (ylo[i] + top) * w * c;
    yhi[i] = (yhi[i] + top) * w * c;
  }
  for (let j = 0; j < ow; j++) {
    xlo[j] = (xlo[j] + left) * c;
    xhi[j] = (xhi[j] + left) * c;
  }
  const src = xt.data as FloatArray;
  const out = alloc(src, n * oh * ow * c, false);
  resizeForward(src, out, n, h * w * c, c, oh, ow, ylo, yhi, yf, xlo, xhi, xf, bilinear);
  return recordHostOp(op, new Tensor(out, [n, oh, ow, c]), xt, (g) => {
    const dx = alloc(g.data as FloatArray, xt.size, true);
    resizeBackward(g.data as FloatArray, dx, n, h * w * c, c, oh, ow, ylo, yhi, yf, xlo, xhi, xf, bilinear);
    return new Tensor(dx, xt.shape);
  });
}

function resizeForward(
  src: FloatArray, out: FloatArray, n: number, imageSize: number, c: number, oh: number, ow: number,
  ylo: Int32Array, yhi: Int32Array, yf: Float64Array, xlo: Int32Array, xhi: Int32Array, xf: Float64Array, bilinear: boolean,
): void {
  let o = 0;
  for (let b = 0; b < n; b++) {
    const sb = b * imageSize;
    for (let i = 0; i < oh; i++) {
      const r0 = sb + ylo[i], r1 = sb + yhi[i], fy = yf[i];
      for (let j = 0; j < ow; j++, o += c) {
        const x0 = xlo[j], x1 = xhi[j], fx = xf[j];
        if (!bilinear) {
          for (let k = 0; k < c; k++) out[o + k] = src[r0 + x0 + k];
          continue;
        }
        for (let k = 0; k < c; k++) {
          // TF's compute_lerp: top + (bottom - top) * y_lerp, each row lerped along x first.
          const tl = src[r0 + x0 + k], tr = src[r0 + x1 + k], bl = src[r1 + x0 + k], br = src[r1 + x1 + k];
          const top = tl + (tr - tl) * fx;
          const bottom = bl + (br - bl) * fx;
          out[o + k] = top + (bottom - top) * fy;
        }
      }
    }
  }
}

function resizeBackward(
  dy: FloatArray, dx: FloatArray, n: number, imageSize: number, c: number, oh: number, ow: number,
  ylo: Int32Array, yhi: Int32Array, yf: Float64Array, xlo: Int32Array, xhi: Int32Array, xf: Float64Array, bilinear: boolean,
): void {
  let o = 0;
  for (let b = 0; b < n; b++) {
    const sb = b * imageSize;
    for (let i = 0; i < oh; i++) {
      const r0 = sb + ylo[i], r1 = sb + yhi[i], fy = yf[i];
      for (let j = 0; j < ow; j++, o += c) {
        const x0 = xlo[j], x1 = xhi[j], fx = xf[j];
        if (!bilinear) {
          for (let k = 0; k < c; k++) dx[r0 + x0 + k] += dy[o + k];
          continue;
        }
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        for (let k = 0; k < c; k++) {
          const g = dy[o + k];
          dx[r0 + x0 + k] += w00 * g;
          dx[r0 + x1 + k] += w01 * g;
          dx[r1 + x0 + k] += w10 * g;
          dx[r1 + x1 + k] += w11 * g;
        }
      }
    }
  }
}

// --- flips and crops ---------------------------------------------------------------------------

/** Bit 0 of a flip flag: mirror left-right (the width axis); bit 1: mirror top-bottom (the height axis). */
export const FLIP_HORIZONTAL = 1;
export const FLIP_VERTICAL = 2;

/** Mirrors each image b of x [N, H, W, C] as flags[b] says (FLIP_HORIZONTAL | FLIP_VERTICAL). The gradient flows to x. */
export function flipImages(x: Tensor, flags: Uint8Array): Tensor {
  const op = 'flipImages';
  const xt = images(op, x);
  const [n, h, w, c] = xt.shape;
  if (!(flags instanceof Uint8Array) || flags.length !== n) throw new ValueError(`${op}: argument 'flags' must be a Uint8Array with one entry per image (${n}), got ${flags?.length}`);
  const src = xt.data as FloatArray;
  const out = alloc(src, xt.size, false);
  flipKernel(src, out, n, h, w, c, flags);
  // A flip is its own inverse and its own adjoint.
  return recordHostOp(op, new Tensor(out, xt.shape), xt, (g) => {
    const dx = alloc(g.data as FloatArray, xt.size, false);
    flipKernel(g.data as FloatArray, dx, n, h, w, c, flags);
    return new Tensor(dx, xt.shape);
  });
}

function flipKernel(src: FloatArray, out: FloatArray, n: number, h: number, w: number, c: number, flags: Uint8Array): void {
  const row = w * c;
  for (let b = 0; b < n; b++) {
    const base = b * h * row;
    const fh = (flags[b] & FLIP_HORIZONTAL) !== 0, fv = (flags[b] & FLIP_VERTICAL) !== 0;
    for (let i = 0; i < h; i++) {
      const so = base + (fv ? h - 1 - i : i) * row;
      const oo = base + i * row;
      if (!fh) {
        out.set(src.subarray(so, so + row), oo);
        continue;
      }
      for (let j = 0; j < w; j++) {
        const s = so + (w - 1 - j) * c, o = oo + j * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k];
      }
    }
  }
}

/**
 * Crops a height x width window from each image of x [N, H, W, C], image b's at rows offsets[2b].., columns
 * offsets[2b+1]... The gradient flows to x (zero outside the windows).
 */
export function cropImages(x: Tensor, offsets: Int32Array, height: number, width: number): Tensor {
  const op = 'cropImages';
  const xt = images(op, x);
  const [n, h, w, c] = xt.shape;
  positiveInt(op, 'height', height);
  positiveInt(op, 'width', width);
  if (!(offsets instanceof Int32Array) || offsets.length !== 2 * n) throw new ValueError(`${op}: argument 'offsets' must be an Int32Array of 2 per image (${2 * n}), got ${offsets?.length}`);
  for (let b = 0; b < n; b++) {
    const top = offsets[2 * b], left = offsets[2 * b + 1];
    if (top < 0 || left < 0 || top + height > h || left + width > w) {
      throw new ValueError(`${op}: window ${height}x${width} at (${top}, ${left}) of image ${b} falls outside the ${h}x${w} image`);
    }
  }
  const src = xt.data as FloatArray;
  const out = alloc(src, n * height * width * c, false);
  const rowIn = w * c, rowOut = width * c;
  for (let b = 0; b < n; b++) {
    const sb = b * h * rowIn + offsets[2 * b] * rowIn + offsets[2 * b + 1] * c;
    const ob = b * height * rowOut;
    for (let i = 0; i < height; i++) out.set(src.subarray(sb + i * rowIn, sb + i * rowIn + rowOut), ob + i * rowOut);
  }
  return recordHostOp(op, new Tensor(out, [n, height, width, c]), xt, (g) => {
    const gd = g.data as FloatArray;
    const dx = alloc(gd, xt.size, true);
    for (let b = 0; b < n; b++) {
      const sb = b * h * rowIn + offsets[2 * b] * rowIn + offsets[2 * b + 1] * c;
      const ob = b * height * rowOut;
      for (let i = 0; i < height; i++) dx.set(gd.subarray(ob + i * rowOut, ob + (i + 1) * rowOut), sb + i * rowIn);
    }
    return new Tensor(dx, xt.shape);
  });
}
