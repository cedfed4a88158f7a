/**
 * Pixel plumbing shared by the visualisations: reading a feature map or an image out of a tensor, turning values
 * into bytes (the Keras book's standardise-and-clip, or a fixed range), nearest-neighbour upscaling, tiling cells
 * into a grid, and encoding/writing the result.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { type RawImage, encodePng, writePng } from './png.js';

/** What every visualisation returns: the pixels, their PNG encoding, and where it was written (null: nowhere). */
export interface VisImage extends RawImage {
  data: Uint8Array;
  png: Buffer;
  path: string | null;
}

/** One example's spatial map: [H, W, C] values, row-major. */
export interface FeatureMap {
  height: number;
  width: number;
  channels: number;
  data: Float32Array | Float64Array | Int32Array;
}

/** A [H, W, C] or [1, H, W, C] tensor as a FeatureMap (`what` names it in errors). */
export function featureMapOf(op: string, what: string, t: unknown): FeatureMap {
  if (!(t instanceof Tensor)) throw new ValueError(`${op}: argument '${what}' must be a Tensor [H, W, C] or [1, H, W, C], got ${describe(t)}`);
  let s = t.shape;
  if (s.length === 4) {
    if (s[0] !== 1) {
      throw new ShapeError(`${op}: argument '${what}' ${fmtShape(s)} holds ${s[0]} examples; pass one ([1, H, W, C] or [H, W, C], e.g. x.slice([i, 0, 0, 0], [1, ${s.slice(1).join(', ')}]))`);
    }
    s = s.slice(1);
  }
  if (s.length !== 3) throw new ShapeError(`${op}: argument '${what}' must have shape [H, W, C] or [1, H, W, C], got ${fmtShape(t.shape)}`);
  if (s[0] < 1 || s[1] < 1 || s[2] < 1) throw new ShapeError(`${op}: argument '${what}' ${fmtShape(t.shape)} is empty`);
  return { height: s[0], width: s[1], channels: s[2], data: t.data };
}

export function describe(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor ${fmtShape(v.shape)}`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return Object.prototype.toString.call(v);
  return JSON.stringify(v);
}

/** Mean and (population) standard deviation in double precision. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(v / n) };
}

/**
 * The Keras book's display mapping (Deep Learning with Python, 2nd ed., ch. 9): (v - mean) / std * 64 + 128,
 * clipped to [0, 255] and rounded. A constant input (std 0) has nothing to show and becomes 0, as the book leaves
 * an all-zero channel black.
 */
export function standardizedBytes(values: ArrayLike<number>, mean: number, std: number, out: Uint8Array = new Uint8Array(values.length)): Uint8Array {
  if (!(std > 0) || !Number.isFinite(std)) {
    out.fill(0);
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = clampByte(((values[i] - mean) / std) * 64 + 128);
  return out;
}

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Each pixel becomes a `scale` x `scale` block. */
export function upscaleNearest(img: RawImage, scale: number): RawImage {
  if (scale === 1) return img;
  const { width, height, channels, data } = img;
  const w = width * scale;
  const out = new Uint8Array(w * height * scale * channels);
  const row = new Uint8Array(w * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < scale; k++) {
        for (let c = 0; c < channels; c++) row[(x * scale + k) * channels + c] = data[(y * width + x) * channels + c];
      }
    }
    for (let k = 0; k < scale; k++) out.set(row, (y * scale + k) * row.length);
  }
  return { width: w, height: height * scale, channels, data: out };
}

/**
 * Tiles same-sized cells row by row, `columns` per row, `padding` pixels between cells (none around the grid),
 * the gaps filled with `background` (a grey level).
 */
export function tileGrid(cells: readonly RawImage[], columns: number, padding: number, background: number): RawImage {
  const { width: cw, height: ch, channels } = cells[0];
  const cols = Math.min(columns, cells.length);
  const rows = Math.ceil(cells.length / cols);
  const width = cols * cw + (cols - 1) * padding;
  const height = rows * ch + (rows - 1) * padding;
  const data = new Uint8Array(width * height * channels).fill(background);
  cells.forEach((cell, i) => {
    const x0 = (i % cols) * (cw + padding);
    const y0 = Math.floor(i / cols) * (ch + padding);
    for (let y = 0; y < ch; y++) {
      data.set(cell.data.subarray(y * cw * channels, (y + 1) * cw * channels), ((y0 + y) * width + x0) * channels);
    }
  });
  return { width, height, channels, data };
}

/** Encodes the image and writes it when a path is given. */
export function finish(img: RawImage, path: string | undefined | null): VisImage {
  const png = path ? writePng(path, img) : encodePng(img);
  return { width: img.width, height: img.height, channels: img.channels, data: img.data as Uint8Array, png, path: path ?? null };
}

// --- option checks ----------------------------------------------------------------------------------

export function checkKeys(op: string, options: object, keys: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new ValueError(`${op}: options must be an object, got ${describe(options)}`);
  for (const k of Object.keys(options)) {
    if (!keys.includes(k)) throw new ValueError(`${op}: unknown option '${k}'; options: ${keys.join(', ')}`);
  }
}

export function intOption(op: string, name: string, v: unknown, fallback: number, min: number, max = Infinity): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new ValueError(`${op}: option '${name}' must be an integer ${range}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function numberOption(op: string, name: string, v: unknown, fallback: number, ok: (x: number) => boolean, what: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ValueError(`${op}: option '${name}' must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

export function pathOption(op: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ValueError(`${op}: option 'path' must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** A [lo, hi] range of input values with lo < hi. */
export function rangeOption(op: string, name: string, v: unknown): [number, number] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || !(v[0] < v[1])) {
    throw new ValueError(`${op}: option '${name}' must be [low, high] with low < high, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}
