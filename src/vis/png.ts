/**
 * A small PNG encoder (ISO/IEC 15948, the W3C PNG specification): 8-bit greyscale, grey + alpha, RGB and RGBA,
 * non-interlaced. It needs nothing but node:zlib, so writing a picture of a network never depends on the image
 * codec the data pipelines load (an optional, per-platform binary).
 *
 * Layout: the 8-byte signature, IHDR (width, height, bit depth 8, colour type 0/4/2/6, compression 0, filter
 * method 0, interlace 0), one IDAT holding the zlib stream of the filtered scanlines, IEND. Every chunk ends with
 * the CRC-32 of its type and data (node's zlib.crc32 where it exists, Node >= 20.15, else a table).
 *
 * Filtering: each scanline is prefixed by a filter type byte (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth). 'adaptive'
 * (the default) picks, per row, the filter whose output has the smallest sum of absolute values read as signed
 * bytes: libpng's heuristic, which lets deflate find the runs in gradients and smooth heatmaps.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as zlib from 'node:zlib';
import { ShapeError, ValueError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';

/** Interleaved 8-bit pixels, row-major, top row first: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA channels. */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}

export type PngFilter = 'adaptive' | 'none' | 'sub' | 'up' | 'average' | 'paeth';
const FILTERS: readonly PngFilter[] = ['adaptive', 'none', 'sub', 'up', 'average', 'paeth'];

export interface EncodePngOptions {
  /** The scanline filter: 'adaptive' (default, chosen per row) or one fixed filter for every row. */
  filter?: PngFilter;
  /** zlib compression level 0-9 (default 6, zlib's default). */
  level?: number;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** PNG colour type by channel count. */
const COLOR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
/** The largest width or height PNG allows (2^31 - 1). */
const MAX_DIM = 0x7fffffff;

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) by the byte table of the PNG specification's annex D. */
export function crc32Table(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const zlibCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`: node's zlib.crc32 (Node >= 20.15) or the table. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc ? zlibCrc(bytes) >>> 0 : crc32Table(bytes);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Checks the fields of a RawImage; `op` names the caller in messages. */
export function checkRawImage(op: string, image: RawImage): void {
  if (!image || typeof image !== 'object') throw new ValueError(`${op}: argument 'image' must be { width, height, channels, data }, got ${String(image)}`);
  const { width, height, channels, data } = image;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIM) throw new ValueError(`${op}: image ${name} must be an integer in [1, 2^31-1], got ${String(v)}`);
  }
  if (!(channels in COLOR_TYPE)) throw new ValueError(`${op}: image channels must be 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), got ${String(channels)}`);
  if (!(data instanceof Uint8Array) && !(data instanceof Uint8ClampedArray)) {
    throw new ValueError(`${op}: image data must be a Uint8Array (8-bit samples), got ${Object.prototype.toString.call(data)}`);
  }
  const want = width * height * channels;
  if (data.length !== want) {
    throw new ShapeError(`${op}: image data has ${data.length} bytes but ${width}x${height}x${channels} needs ${want}`);
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Writes row `cur` filtered with `type` into out[1..]; out[0] = type. `prev` is the row above (zeros for the first). */
function filterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): void {
  out[0] = type;
  const n = cur.length;
  for (let i = 0; i < n; i++) {
    const x = cur[i];
    const a = i >= bpp ? cur[i - bpp] : 0;
    const b = prev[i];
    let v: number;
    switch (type) {
      case 0: v = x; break;
      case 1: v = x - a; break;
      case 2: v = x - b; break;
      case 3: v = x - ((a + b) >> 1); break;
      default: v = x - paeth(a, b, i >= bpp ? prev[i - bpp] : 0);
    }
    out[i + 1] = v & 0xff;
  }
}

/** libpng's heuristic: the sum of the filtered bytes read as signed values. */
function cost(row: Uint8Array): number {
  let s = 0;
  for (let i = 1; i < row.length; i++) s += row[i] < 128 ? row[i] : 256 - row[i];
  return s;
}

/** Encodes 8-bit pixels as a PNG file's bytes. */
export function encodePng(image: RawImage, options: EncodePngOptions = {}): Buffer {
  return encode('encodePng', image, options);
}

function encode(op: string, image: RawImage, options: EncodePngOptions): Buffer {
  checkRawImage(op, image);
  for (const k of Object.keys(options)) if (k !== 'filter' && k !== 'level') throw new ValueError(`${op}: unknown option '${k}'; options: filter, level`);
  const filter = options.filter ?? 'adaptive';
  if (!FILTERS.includes(filter)) throw new ValueError(`${op}: option 'filter' must be one of ${FILTERS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(filter)}`);
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new ValueError(`${op}: option 'level' must be an integer 0-9, got ${JSON.stringify(level)}`);
  const { width, height, channels } = image;
  const data = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPE[channels];
  // compression, filter method and interlace stay 0

  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  const zeros = new Uint8Array(stride);
  const fixed = filter === 'adaptive' ? -1 : FILTERS.indexOf(filter) - 1;
  const trial = fixed < 0 ? Array.from({ length: 5 }, () => new Uint8Array(stride + 1)) : [];
  for (let y = 0; y < height; y++) {
    const cur = data.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? data.subarray((y - 1) * stride, y * stride) : zeros;
    const dst = raw.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    if (fixed >= 0) {
      filterRow(fixed, cur, prev, channels, dst);
      continue;
    }
    let best = 0;
    let bestCost = Infinity;
    for (let t = 0; t < 5; t++) {
      filterRow(t, cur, prev, channels, trial[t]);
      const c = cost(trial[t]);
      if (c < bestCost) {
        bestCost = c;
        best = t;
      }
    }
    dst.set(trial[best]);
  }
  const idat = zlib.deflateSync(raw, { level });
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/**
 * Encodes `image` and writes it to `path` atomically (a temp file beside it, then a rename: a reader never sees a
 * half-written picture), creating missing parent folders. Returns the encoded bytes.
 */
export function writePng(path: string, image: RawImage, options: EncodePngOptions = {}): Buffer {
  if (typeof path !== 'string' || path === '') throw new ValueError(`writePng: argument 'path' must be a non-empty string, got ${JSON.stringify(path)}`);
  const png = encode('writePng', image, options);
  const full = resolve(path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileAtomicSync(full, png);
  return png;
}
