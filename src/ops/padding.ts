/**
 * Padding and output sizes of the 2-D window ops (convolutions and pooling), in one place.
 *
 * `padding` is 'valid' (none), 'same' (TensorFlow/Keras: out = ceil(in / s),
 * total = max((out-1)*s + (k-1)*d + 1 - in, 0), before = floor(total / 2), the extra row/column after), or
 * explicit `[[top, bottom], [left, right]]` of non-negative integers (TensorFlow's NHWC form
 * `[[0,0],[top,bottom],[left,right],[0,0]]` is accepted too). conv1d also takes 'causal' and `[left, right]`.
 * Strings are matched case-insensitively, as Keras does.
 *
 * The public helpers `convOutputShape`, `poolOutputShape`, `convTransposeOutputShape` and the per-axis
 * `convOutputLength` / `convTransposeOutputLength` give layers their output shapes without running an op;
 * the ops compute shapes through the same functions, so the two cannot disagree.
 */
import { ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import type { Pads4 } from '../backends/backend.js';
import { checkNonNegativeInt, checkPositiveInt, pair } from '../tensor/shape.js';

export type PadPair = readonly [number, number];
/** 'valid' | 'same' | [[top, bottom], [left, right]]. */
export type Padding2D = 'valid' | 'same' | readonly [PadPair, PadPair];
/** conv1d: 'valid' | 'same' | 'causal' (all padding before, as Keras Conv1D) | [left, right]. */
export type Padding1D = 'valid' | 'same' | 'causal' | PadPair;

/** Padding of one spatial axis before it is resolved against a size: a mode, or explicit [before, after]. */
export type AxisPadding = 'valid' | 'same' | PadPair;

/** One pair [before, after] of non-negative integers, or a ValueError naming where it sits. */
function padPair(op: string, arg: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) {
    throw opError(ValueError, op, `argument '${arg}' must be a pair [before, after] of non-negative integers, got ${JSON.stringify(v)}`);
  }
  return [checkNonNegativeInt(op, `${arg}[0]`, v[0]), checkNonNegativeInt(op, `${arg}[1]`, v[1])];
}

function unknownPadding(op: string, arg: string, v: unknown, modes: string): ValueError {
  return opError(
    ValueError, op,
    `argument '${arg}' must be ${modes} or explicit [[top, bottom], [left, right]], got ${typeof v === 'string' ? `'${v}'` : JSON.stringify(v)}`,
  );
}

/** The user's 2-D `padding` as one AxisPadding per spatial axis (height, width); undefined is 'valid'. */
export function parsePadding2d(op: string, padding: unknown, arg = 'padding'): [AxisPadding, AxisPadding] {
  if (padding === undefined) return ['valid', 'valid'];
  if (typeof padding === 'string') {
    const mode = padding.toLowerCase();
    if (mode === 'valid' || mode === 'same') return [mode, mode];
    throw unknownPadding(op, arg, padding, `'valid', 'same'`);
  }
  if (Array.isArray(padding) && padding.length === 2) {
    return [padPair(op, `${arg}[0]`, padding[0]), padPair(op, `${arg}[1]`, padding[1])];
  }
  if (Array.isArray(padding) && padding.length === 4) {
    // TensorFlow's explicit NHWC form: the batch and channel pairs must be zero.
    const batch = padPair(op, `${arg}[0]`, padding[0]);
    const chan = padPair(op, `${arg}[3]`, padding[3]);
    if (batch[0] || batch[1] || chan[0] || chan[1]) {
      throw opError(ValueError, op, `argument '${arg}' may not pad the batch or channel axis, got ${JSON.stringify(padding)}`);
    }
    return [padPair(op, `${arg}[1]`, padding[1]), padPair(op, `${arg}[2]`, padding[2])];
  }
  throw unknownPadding(op, arg, padding, `'valid', 'same'`);
}

/** The user's 1-D `padding` (conv1d): 'causal' pads (k-1)*d before and nothing after. */
export function parsePadding1d(op: string, padding: unknown, kernel: number, dilation: number, arg = 'padding'): AxisPadding {
  if (padding === undefined) return 'valid';
  if (typeof padding === 'string') {
    const mode = padding.toLowerCase();
    if (mode === 'valid' || mode === 'same') return mode;
    if (mode === 'causal') return [(kernel - 1) * dilation, 0];
    throw opError(ValueError, op, `argument '${arg}' must be 'valid', 'same', 'causal' or explicit [left, right], got '${padding}'`);
  }
  if (Array.isArray(padding) && padding.length === 2 && typeof padding[0] !== 'object') return padPair(op, arg, padding);
  throw opError(ValueError, op, `argument '${arg}' must be 'valid', 'same', 'causal' or explicit [left, right], got ${JSON.stringify(padding)}`);
}

/** TensorFlow's 'same' padding [before, after] of one axis (DESIGN.md): the odd row or column goes after. */
export function samePads(inSize: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** [before, after] of one axis for a resolved size. */
export function resolveAxisPadding(p: AxisPadding, inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  if (p === 'valid') return [0, 0];
  if (p === 'same') return samePads(inSize, kernel, stride, dilation);
  return [p[0], p[1]];
}

function describePadding(p: AxisPadding): string {
  return typeof p === 'string' ? `'${p}'` : `[${p[0]},${p[1]}]`;
}

/** Who is who in window-geometry messages: the input argument and the window's argument, with shapes. */
export interface WindowNames {
  /** e.g. `'x' [1,5,5,3]` */
  readonly input: string;
  /** e.g. `the kernel of 'w' [7,7,3,8]` or `the pool window 'poolSize' [3,3]` */
  readonly window: string;
}

export interface WindowGeometry {
  readonly pads: Pads4;
  readonly outHW: [number, number];
}

/**
 * Resolves padding against an input of spatial size inHW and checks that the window fits: the window spans
 * (k-1)*d+1 input pixels along each axis and must not exceed the padded input (no empty outputs).
 */
export function windowGeometry(
  op: string,
  padding: readonly [AxisPadding, AxisPadding],
  inHW: readonly [number, number],
  kernelHW: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  names: WindowNames,
): WindowGeometry {
  const axes = ['rows', 'columns'] as const;
  const pads: number[] = [];
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const [before, after] = resolveAxisPadding(padding[a], inHW[a], kernelHW[a], strides[a], dilations[a]);
    const span = (kernelHW[a] - 1) * dilations[a] + 1;
    const padded = inHW[a] + before + after;
    if (span > padded) {
      const dil = dilations[a] > 1 ? ` (${kernelHW[a]} taps, dilation ${dilations[a]})` : '';
      throw opError(
        ShapeError, op,
        `${names.window} spans ${span} ${axes[a]}${dil} but ${names.input} has ${padded} ${axes[a]} ` +
          `(${inHW[a]} + padding ${before}+${after}): the window does not fit under padding ${describePadding(padding[a])}`,
      );
    }
    pads.push(before, after);
    out.push(Math.floor((padded - span) / strides[a]) + 1);
  }
  return { pads: [pads[0], pads[1], pads[2], pads[3]], outHW: [out[0], out[1]] };
}

// ---------------------------------------------------------------------------------------------
// Public output-size helpers (for layers' shape inference). They validate like the ops and throw the
// same errors, named after the helper.

export interface ConvShapeOptions {
  /** Default 1. */
  readonly strides?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2D;
  /** Default 1. */
  readonly dilation?: number | readonly [number, number];
}

export interface PoolShapeOptions {
  /** Default: the pool size (Keras). */
  readonly strides?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2D;
}

export interface ConvTransposeShapeOptions extends ConvShapeOptions {
  /** Extra rows/columns after the output, each smaller than its stride (Keras `output_padding`). */
  readonly outputPadding?: number | readonly [number, number];
}

/**
 * Output length of a convolution along one axis (Keras `conv_output_length`): 'valid' gives
 * floor((in - ((k-1)*d+1)) / s) + 1, 'same' ceil(in / s), explicit [before, after] pads first.
 * Throws a ShapeError when the kernel does not fit.
 * @example convOutputLength(7, 3, { stride: 2 }) // 3
 */
export function convOutputLength(
  inSize: number,
  kernelSize: number,
  options: { stride?: number; padding?: 'valid' | 'same' | PadPair; dilation?: number } = {},
): number {
  const op = 'convOutputLength';
  checkNonNegativeInt(op, 'inSize', inSize);
  const k = checkPositiveInt(op, 'kernelSize', kernelSize);
  const s = checkPositiveInt(op, 'stride', options.stride ?? 1);
  const d = checkPositiveInt(op, 'dilation', options.dilation ?? 1);
  const p = options.padding === undefined || typeof options.padding === 'string'
    ? parsePadding2d(op, options.padding)[0]
    : padPair(op, 'padding', options.padding);
  const g = windowGeometry(op, [p, 'valid'], [inSize, 1], [k, 1], [s, 1], [d, 1], {
    input: `an input of length ${inSize}`, window: `the kernel ${k}`,
  });
  return g.outHW[0];
}

/** Splits [H, W, C] or [N, H, W, C] (N may be null: unknown batch, as in Keras) into its parts. */
function splitInputShape(op: string, inputShape: readonly (number | null)[]): { lead: (number | null)[]; hw: [number, number]; c: number } {
  if (!Array.isArray(inputShape) || (inputShape.length !== 3 && inputShape.length !== 4)) {
    throw opError(
      ShapeError, op,
      `argument 'inputShape' must be [H, W, C] or [N, H, W, C], got ${Array.isArray(inputShape) ? fmtShape(inputShape.map(Number)) : String(inputShape)}`,
    );
  }
  const lead = inputShape.length === 4 ? [inputShape[0]] : [];
  if (lead.length && lead[0] !== null) checkNonNegativeInt(op, 'inputShape[0]', lead[0]);
  const off = lead.length;
  const h = checkNonNegativeInt(op, `inputShape[${off}]`, inputShape[off]);
  const w = checkNonNegativeInt(op, `inputShape[${off + 1}]`, inputShape[off + 1]);
  const c = checkNonNegativeInt(op, `inputShape[${off + 2}]`, inputShape[off + 2]);
  return { lead, hw: [h, w], c };
}

/**
 * Output shape of conv2d with `filters` output channels on an input [H, W, C] or [N, H, W, C] (N may be null);
 * the result has the same rank. Throws like conv2d when the kernel does not fit.
 * @example convOutputShape([224, 224, 3], 11, 96, { strides: 4 }) // [54, 54, 96]
 */
export function convOutputShape(inputShape: readonly number[], kernelSize: number | readonly [number, number], filters: number, options?: ConvShapeOptions): number[];
export function convOutputShape(inputShape: readonly (number | null)[], kernelSize: number | readonly [number, number], filters: number, options?: ConvShapeOptions): (number | null)[];
export function convOutputShape(
  inputShape: readonly (number | null)[], kernelSize: number | readonly [number, number], filters: number, options: ConvShapeOptions = {},
): (number | null)[] {
  const op = 'convOutputShape';
  const { lead, hw } = splitInputShape(op, inputShape);
  const k = pair(op, 'kernelSize', kernelSize);
  checkPositiveInt(op, 'filters', filters);
  const strides = pair(op, 'strides', options.strides ?? 1);
  const dilations = pair(op, 'dilation', options.dilation ?? 1);
  const g = windowGeometry(op, parsePadding2d(op, options.padding), hw, k, strides, dilations, {
    input: `'inputShape' ${fmtShape(inputShape.map(Number))}`, window: `the kernel ${fmtShape(k)}`,
  });
  return [...lead, g.outHW[0], g.outHW[1], filters];
}

/**
 * Output shape of maxPool2d / avgPool2d on [H, W, C] or [N, H, W, C] (N may be null); channels are kept.
 * Strides default to the pool size, as Keras.
 * @example poolOutputShape([55, 55, 96], 3, { strides: 2 }) // [27, 27, 96]
 */
export function poolOutputShape(inputShape: readonly number[], poolSize: number | readonly [number, number], options?: PoolShapeOptions): number[];
export function poolOutputShape(inputShape: readonly (number | null)[], poolSize: number | readonly [number, number], options?: PoolShapeOptions): (number | null)[];
export function poolOutputShape(
  inputShape: readonly (number | null)[], poolSize: number | readonly [number, number], options: PoolShapeOptions = {},
): (number | null)[] {
  const op = 'poolOutputShape';
  const { lead, hw, c } = splitInputShape(op, inputShape);
  const k = pair(op, 'poolSize', poolSize);
  const strides = options.strides === undefined ? k : pair(op, 'strides', options.strides);
  const padding = parsePadding2d(op, options.padding);
  checkPoolPadding(op, padding, k);
  const g = windowGeometry(op, padding, hw, k, strides, [1, 1], {
    input: `'inputShape' ${fmtShape(inputShape.map(Number))}`, window: `the pool window ${fmtShape(k)}`,
  });
  return [...lead, g.outHW[0], g.outHW[1], c];
}

/** Explicit pool padding must be smaller than the window, or a window could hold padding only. */
export function checkPoolPadding(op: string, padding: readonly [AxisPadding, AxisPadding], poolHW: readonly [number, number]): void {
  for (let a = 0; a < 2; a++) {
    const p = padding[a];
    if (typeof p !== 'string' && (p[0] >= poolHW[a] || p[1] >= poolHW[a])) {
      throw opError(
        ValueError, op,
        `argument 'padding' [${p[0]},${p[1]}] along ${a === 0 ? 'height' : 'width'} must be smaller than the pool size ${poolHW[a]} ` +
          `(a window of padding only has no value)`,
      );
    }
  }
}

/**
 * Output length of a transposed convolution along one axis, as Keras `deconv_output_length`:
 * without outputPadding, 'valid' gives in*s + max(kEff - s, 0) (= (in-1)*s + kEff when kEff >= s) and
 * 'same' in*s; with outputPadding p, 'valid' gives (in-1)*s + kEff + p and 'same' (in-1)*s + kEff - 2*floor(kEff/2) + p;
 * explicit [before, after] gives (in-1)*s + kEff - before - after + p. kEff = (k-1)*d + 1.
 */
export function convTransposeOutputLength(
  inSize: number,
  kernelSize: number,
  options: { stride?: number; padding?: 'valid' | 'same' | PadPair; outputPadding?: number; dilation?: number } = {},
): number {
  const op = 'convTransposeOutputLength';
  checkNonNegativeInt(op, 'inSize', inSize);
  const k = checkPositiveInt(op, 'kernelSize', kernelSize);
  const s = checkPositiveInt(op, 'stride', options.stride ?? 1);
  const d = checkPositiveInt(op, 'dilation', options.dilation ?? 1);
  const p = options.padding === undefined || typeof options.padding === 'string'
    ? parsePadding2d(op, options.padding)[0]
    : padPair(op, 'padding', options.padding);
  const extra = options.outputPadding === undefined ? undefined : outputPaddingPair(op, options.outputPadding, [s, s], [d, d])[0];
  return transposeAxisLength(p, inSize, k, s, d, extra);
}

/** The formula of convTransposeOutputLength on validated values (shared with conv2dTranspose). */
export function transposeAxisLength(p: AxisPadding, inSize: number, k: number, s: number, d: number, outputPadding: number | undefined): number {
  const kEff = (k - 1) * d + 1;
  if (outputPadding === undefined) {
    if (p === 'valid') return inSize * s + Math.max(kEff - s, 0);
    if (p === 'same') return inSize * s;
    return (inSize - 1) * s + kEff - p[0] - p[1];
  }
  if (p === 'valid') return (inSize - 1) * s + kEff + outputPadding;
  if (p === 'same') return (inSize - 1) * s + kEff - 2 * Math.floor(kEff / 2) + outputPadding;
  return (inSize - 1) * s + kEff - p[0] - p[1] + outputPadding;
}

/**
 * Output shape of conv2dTranspose with `filters` output channels on [H, W, C] or [N, H, W, C] (N may be null).
 * @example convTransposeOutputShape([4, 4, 8], 3, 16, { strides: 2, padding: 'same' }) // [8, 8, 16]
 */
export function convTransposeOutputShape(inputShape: readonly number[], kernelSize: number | readonly [number, number], filters: number, options?: ConvTransposeShapeOptions): number[];
export function convTransposeOutputShape(inputShape: readonly (number | null)[], kernelSize: number | readonly [number, number], filters: number, options?: ConvTransposeShapeOptions): (number | null)[];
export function convTransposeOutputShape(
  inputShape: readonly (number | null)[], kernelSize: number | readonly [number, number], filters: number, options: ConvTransposeShapeOptions = {},
): (number | null)[] {
  const op = 'convTransposeOutputShape';
  const { lead, hw } = splitInputShape(op, inputShape);
  const k = pair(op, 'kernelSize', kernelSize);
  checkPositiveInt(op, 'filters', filters);
  const strides = pair(op, 'strides', options.strides ?? 1);
  const dilations = pair(op, 'dilation', options.dilation ?? 1);
  const padding = parsePadding2d(op, options.padding);
  const outputPadding = options.outputPadding === undefined ? undefined : outputPaddingPair(op, options.outputPadding, strides, dilations);
  const out = resolveTransposeGeometry(op, padding, hw, k, strides, dilations, outputPadding, undefined, {
    input: `'inputShape' ${fmtShape(inputShape.map(Number))}`, window: `the kernel ${fmtShape(k)}`,
  });
  return [...lead, out.outHW[0], out.outHW[1], filters];
}

/** outputPadding: non-negative, and smaller than the stride (or the dilation), as Keras and TensorFlow require. */
export function outputPaddingPair(
  op: string, v: unknown, strides: readonly [number, number], dilations: readonly [number, number],
): [number, number] {
  let p: [number, number];
  if (typeof v === 'number') p = [checkNonNegativeInt(op, 'outputPadding', v), v];
  else if (Array.isArray(v) && v.length === 2) {
    p = [checkNonNegativeInt(op, 'outputPadding[0]', v[0]), checkNonNegativeInt(op, 'outputPadding[1]', v[1])];
  } else {
    throw opError(ValueError, op, `argument 'outputPadding' must be a non-negative integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  for (let a = 0; a < 2; a++) {
    if (p[a] >= Math.max(strides[a], dilations[a])) {
      throw opError(
        ValueError, op,
        `argument 'outputPadding' [${p[0]},${p[1]}] must be smaller than the strides [${strides[0]},${strides[1]}]` +
          (dilations[a] > 1 ? ` or the dilation [${dilations[0]},${dilations[1]}]` : '') + ` along each axis`,
      );
    }
  }
  return p;
}

/**
 * Geometry of a transposed convolution, seen as the gradient of the forward convolution that maps its output
 * (size O) back to its input (size in): O comes from outputShape or the Keras formula, the pads are the forward
 * convolution's padding resolved on O, and the forward convolution of O must give back `in`.
 */
export function resolveTransposeGeometry(
  op: string,
  padding: readonly [AxisPadding, AxisPadding],
  inHW: readonly [number, number],
  kernelHW: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  outputPadding: readonly [number, number] | undefined,
  outputHW: readonly [number, number] | undefined,
  names: WindowNames,
): WindowGeometry {
  const axes = ['height', 'width'];
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const o = outputHW ? outputHW[a] : transposeAxisLength(padding[a], inHW[a], kernelHW[a], strides[a], dilations[a], outputPadding?.[a]);
    if (o < 1) {
      throw opError(
        ShapeError, op,
        `the output ${axes[a]} would be ${o} for ${names.input} with ${names.window}, strides [${strides[0]},${strides[1]}] and ` +
          `padding ${describePadding(padding[a])}`,
      );
    }
    out.push(o);
  }
  const g = windowGeometry(op, padding, [out[0], out[1]], kernelHW, strides, dilations, {
    input: `the output ${fmtShape(out)}`, window: names.window,
  });
  for (let a = 0; a < 2; a++) {
    if (g.outHW[a] !== inHW[a]) {
      throw opError(
        ShapeError, op,
        `an output ${axes[a]} of ${out[a]} maps back to ${g.outHW[a]}, not the ${inHW[a]} of ${names.input} ` +
          `(${names.window}, stride ${strides[a]}, dilation ${dilations[a]}, padding ${describePadding(padding[a])}` +
          (outputPadding ? `, outputPadding ${outputPadding[a]}` : '') + `)`,
      );
    }
  }
  return { pads: g.pads, outHW: [out[0], out[1]] };
}
