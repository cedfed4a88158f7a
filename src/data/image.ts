/**
 * Image decoding and resizing for the input pipelines, off the main thread.
 *
 * Decoding: `@napi-rs/image` (Rust `image` crate behind N-API; prebuilt binaries per platform installed from
 * the npm registry as its optional dependencies, no install script) decodes JPEG (baseline and progressive),
 * PNG (every colour type and bit depth), BMP and WebP; GIF (the first frame, as Keras) is decoded here, in
 * TypeScript, and so are baseline greyscale JPEGs (bit-identical to the codec, cheaper on small pictures; see
 * decodeGrayJpeg). It was chosen over sharp (libvips) because a pipeline call of sharp costs 0.3-0.8 ms of CPU
 * per image whatever its size (measured on 28x28 JPEGs), 20-40x what this decoder costs on small images
 * (~13 us fixed per call, ~20 us per 28x28 JPEG all in: read, decode, convert, hand-over), and on large
 * photos it is as fast or faster; the input pipeline must not starve training (issue 5; bench/data.js). The
 * library is loaded lazily: without it (a platform with no prebuilt binary, or `npm install --omit=optional`)
 * image loading says so clearly and the rest of nodegrad works.
 *
 * Threads: decoding, channel conversion and resizing run in a small pool of worker threads
 * (`imageWorkers`), a batch per message; the main thread only receives each finished batch as one
 * Float32Array (transferred, not copied). So a training step (synchronous, on the main thread) overlaps the
 * decoding of the next batches.
 *
 * Semantics (Keras `image_dataset_from_directory` / `load_img`, TensorFlow's kernels):
 * - colour: 'grayscale' (1 channel; RGB to luma with PIL's integer ITU-R 601 weights
 *   (19595 R + 38470 G + 7471 B + 2^15) >> 16, as PIL's convert('L') in Keras), 'rgb' (3; grey is repeated,
 *   alpha dropped), 'rgba' (4; alpha 255 where the image has none). 16-bit samples keep their high byte
 *   (libpng's strip_16, as TensorFlow's decode_png); values are float32 in [0, 255].
 * - resize: tf.image.resize (antialias off, half-pixel centres): 'bilinear', 'nearest', 'bicubic' (Keys
 *   cubic a = -0.5, taps outside the image get weight 0 and the rest are renormalised, TF's quantised
 *   coefficient table), 'area' (TF's ResizeArea box average). Bicubic can overshoot [0, 255], as in TF.
 * - aspect: 'crop' is Keras' smart_resize (the largest centred window of the target aspect ratio, then
 *   resize), 'pad' is Keras 3's pad_to_aspect_ratio (centred zero padding to the target aspect ratio, then
 *   resize), 'stretch' resizes the whole image.
 * - EXIF orientation and ICC profiles are ignored (as tf.io.decode_image).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DTypeError, NodegradError, ValueError } from '../errors.js';
import { DataFormatError } from './errors.js';
import { Tensor } from '../tensor/tensor.js';

export type ColorMode = 'grayscale' | 'rgb' | 'rgba';
export type Interpolation = 'bilinear' | 'nearest' | 'bicubic' | 'area';
/** How an image whose aspect ratio differs from the target's is fitted: 'stretch' (default), 'crop' or 'pad'. */
export type AspectFit = 'stretch' | 'crop' | 'pad';

export const COLOR_MODES: readonly ColorMode[] = ['grayscale', 'rgb', 'rgba'];
export const INTERPOLATIONS: readonly Interpolation[] = ['bilinear', 'nearest', 'bicubic', 'area'];
/** Keras' other methods, rejected with a clear message. */
const UNSUPPORTED_INTERPOLATIONS = ['lanczos3', 'lanczos5', 'gaussian', 'mitchellcubic'];

/** File extensions the folder reader lists (lower-cased): Keras' list plus WebP. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.bmp', '.gif', '.jpeg', '.jpg', '.png', '.webp'];

/** What a worker makes of each image: its size, channels and how to get there. */
export interface DecodeSpec {
  /** Target height and width; 0 and 0 keep the image's own size (single images only). */
  height: number;
  width: number;
  channels: 1 | 3 | 4;
  interpolation: Interpolation;
  fit: AspectFit;
}

/** An image file that could not be read or decoded: a DataFormatError; `file` names it. */
export class ImageDecodeError extends DataFormatError {}

export function channelsOf(op: string, colorMode: unknown): 1 | 3 | 4 {
  if (colorMode === 'grayscale') return 1;
  if (colorMode === 'rgb') return 3;
  if (colorMode === 'rgba') return 4;
  throw new ValueError(`${op}: option 'colorMode' must be one of ${COLOR_MODES.map((m) => `'${m}'`).join(', ')}, got ${fmt(colorMode)}`);
}

export function checkInterpolation(op: string, v: unknown): Interpolation {
  const s = typeof v === 'string' ? v.toLowerCase() : v;
  if (INTERPOLATIONS.includes(s as Interpolation)) return s as Interpolation;
  const known = INTERPOLATIONS.map((m) => `'${m}'`).join(', ');
  if (UNSUPPORTED_INTERPOLATIONS.includes(s as string)) {
    throw new ValueError(`${op}: interpolation '${String(s)}' is not implemented (supported: ${known})`);
  }
  throw new ValueError(`${op}: option 'interpolation' must be one of ${known}, got ${fmt(v)}`);
}

/** `imageSize`: [height, width] or one number for a square. */
export function checkImageSize(op: string, v: unknown): [number, number] {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw new ValueError(`${op}: option 'imageSize' must be [height, width] (positive integers) or one integer, got ${fmt(v)}`);
}

function fmt(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
  return String(v);
}

// --------------------------------------------------------------------------------------------------
// Pixel kernels

/** A decoded image: interleaved samples of 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  /** 8-bit or 16-bit samples, or float samples in [0, 1]. */
  data: Uint8Array | Uint16Array | Float32Array;
}

/**
 * The decoding and resizing kernels, self-contained: the worker threads run this very function's source
 * (`pixelKernels.toString()`), and the main thread and the tests call it directly. It must not refer to
 * anything outside its body.
 */
export function pixelKernels() {
  type Img = { width: number; height: number; channels: number; data: Uint8Array | Uint16Array | Float32Array };
  type Spec = { height: number; width: number; channels: number; interpolation: string; fit: string };
  // Any object with the Transformer API of @napi-rs/image.
  type Codec = {
    Transformer: new (b: Uint8Array) => { metadataSync(): { width: number; height: number; colorType: number }; rawPixelsSync(): Uint8Array };
  };

  /** Skips GIF data sub-blocks from p; returns the position after the terminator. */
  function skipSubBlocks(b: Uint8Array, p: number): number {
    while (p < b.length && b[p] !== 0) p += b[p] + 1;
    if (p >= b.length) throw new Error('truncated GIF (a data block runs past the end of the file)');
    return p + 1;
  }

  /** GIF LZW: the colour indices of one frame (npix of them). */
  function lzw(minSize: number, data: Uint8Array, npix: number): Uint8Array {
    const clear = 1 << minSize;
    const eoi = clear + 1;
    const prefix = new Int16Array(4096);
    const suffix = new Uint8Array(4096);
    const stack = new Uint8Array(4097);
    for (let i = 0; i < clear; i++) suffix[i] = i;
    const out = new Uint8Array(npix);
    let size = minSize + 1;
    let mask = (1 << size) - 1;
    let avail = clear + 2;
    let old = -1;
    let first = 0;
    let bits = 0;
    let datum = 0;
    let op = 0;
    let i = 0;
    while (op < npix) {
      while (bits < size && i < data.length) {
        datum |= data[i++] << bits;
        bits += 8;
      }
      if (bits < size) break;
      let code = datum & mask;
      datum >>>= size;
      bits -= size;
      if (code === clear) {
        size = minSize + 1;
        mask = (1 << size) - 1;
        avail = clear + 2;
        old = -1;
        continue;
      }
      if (code === eoi) break;
      if (old === -1) {
        if (code >= clear) throw new Error('corrupt GIF image data (a code before any literal)');
        out[op++] = code;
        old = code;
        first = code;
        continue;
      }
      const inCode = code;
      let sp = 0;
      if (code > avail) throw new Error('corrupt GIF image data (a code beyond the table)');
      if (code === avail) {
        stack[sp++] = first;
        code = old;
      }
      while (code >= clear) {
        if (sp >= 4096 || code === eoi) throw new Error('corrupt GIF image data');
        stack[sp++] = suffix[code];
        code = prefix[code];
      }
      first = code;
      stack[sp++] = first;
      if (avail < 4096) {
        prefix[avail] = old;
        suffix[avail] = first;
        avail++;
        if ((avail & mask) === 0 && avail < 4096) {
          size++;
          mask += avail;
        }
      }
      old = inCode;
      while (sp > 0 && op < npix) out[op++] = stack[--sp];
    }
    if (op < npix) throw new Error(`truncated GIF image data (${op} of ${npix} pixels)`);
    return out;
  }

  /** The first frame of a GIF on its logical screen (outside the frame and transparent pixels: 0). */
  function decodeGif(b: Uint8Array): Img {
    const sig = String.fromCharCode(...b.subarray(0, 6));
    if (sig !== 'GIF87a' && sig !== 'GIF89a') throw new Error('not a GIF file');
    if (b.length < 13) throw new Error('truncated GIF header');
    const W = b[6] | (b[7] << 8);
    const H = b[8] | (b[9] << 8);
    const flags = b[10];
    let p = 13;
    let gct: Uint8Array | null = null;
    if (flags & 0x80) {
      const n = 2 << (flags & 7);
      gct = b.subarray(p, p + 3 * n);
      p += 3 * n;
    }
    let transparent = -1;
    for (;;) {
      if (p >= b.length) throw new Error('truncated GIF (no image before the end of the file)');
      const block = b[p++];
      if (block === 0x21) {
        const label = b[p++];
        if (label === 0xf9 && b[p] >= 4 && p + 4 < b.length) transparent = b[p + 1] & 1 ? b[p + 4] : -1;
        p = skipSubBlocks(b, p);
      } else if (block === 0x2c) {
        if (p + 9 > b.length) throw new Error('truncated GIF image descriptor');
        const left = b[p] | (b[p + 1] << 8);
        const top = b[p + 2] | (b[p + 3] << 8);
        const w = b[p + 4] | (b[p + 5] << 8);
        const h = b[p + 6] | (b[p + 7] << 8);
        const f = b[p + 8];
        p += 9;
        let ct = gct;
        if (f & 0x80) {
          const n = 2 << (f & 7);
          ct = b.subarray(p, p + 3 * n);
          p += 3 * n;
        }
        if (!ct) throw new Error('GIF frame without a colour table');
        const minSize = b[p++];
        if (!(minSize >= 1 && minSize <= 11)) throw new Error(`corrupt GIF image data (LZW code size ${minSize})`);
        const start = p;
        let total = 0;
        while (p < b.length && b[p] !== 0) {
          total += b[p];
          p += b[p] + 1;
        }
        if (p >= b.length) throw new Error('truncated GIF image data');
        const data = new Uint8Array(total);
        for (let q = start, o = 0; b[q] !== 0; q += b[q] + 1) {
          data.set(b.subarray(q + 1, q + 1 + b[q]), o);
          o += b[q];
        }
        const idx = lzw(minSize, data, w * h);
        const C = transparent >= 0 ? 4 : 3;
        const out = new Uint8Array(W * H * C);
        const rows: number[] = [];
        if (f & 0x40) {
          for (const [s0, step] of [[0, 8], [4, 8], [2, 4], [1, 2]]) for (let y = s0; y < h; y += step) rows.push(y);
        } else {
          for (let y = 0; y < h; y++) rows.push(y);
        }
        const ncol = ct.length / 3;
        for (let r = 0; r < h; r++) {
          const y = top + rows[r];
          if (y >= H) continue;
          for (let x = 0; x < w; x++) {
            const X = left + x;
            if (X >= W) break;
            const k = idx[r * w + x];
            if (k === transparent || k >= ncol) continue;
            const o = (y * W + X) * C;
            out[o] = ct[3 * k];
            out[o + 1] = ct[3 * k + 1];
            out[o + 2] = ct[3 * k + 2];
            if (C === 4) out[o + 3] = 255;
          }
        }
        return { width: W, height: H, channels: C, data: out };
      } else if (block === 0x3b) {
        throw new Error('GIF without an image');
      } else {
        throw new Error(`corrupt GIF (unknown block 0x${block.toString(16)})`);
      }
    }
  }

  // Baseline greyscale JPEG (one component, Huffman, 8-bit), decoded here rather than by the codec: decoding
  // competes with training for the CPU (issue 5), and on small pictures the codec's call costs more (28x28
  // Fashion-MNIST JPEGs: ~13.5 us there, ~9.5 us here; in the worker, all in: ~20 -> ~15 us per image).
  // The output is bit-identical to the codec's (zune-jpeg: the same integer IDCT, stb_image's), which the
  // tests check; anything else (progressive, arithmetic coding, 12-bit, colour, sampling factors other than
  // 1x1, a malformed table, data that ends early) returns null and goes to the codec, errors included.
  const ZZ = Uint8Array.of(0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63);
  type Huff = { fast: Int32Array; look: Int32Array; maxcode: Int32Array; valptr: Int32Array; vals: Uint8Array; seg: Uint8Array };
  /** Huffman tables by class * 4 + id, kept across images: most files of a folder share their tables. */
  const huffCache: Array<Huff | null> = [null, null, null, null, null, null, null, null];
  const blk = new Int32Array(64);
  /** Bits of lookahead of the Huffman lookup tables. */
  const LB = 11;
  const LMASK = (1 << LB) - 1;

  /**
   * A Huffman table from its DHT bytes (16 counts, then the symbols); null if it is not a valid code. `look`
   * maps the next LB bits to (length << 8) | symbol (0: a longer code); `fast` maps them to a decoded
   * coefficient when the code and its extra bits fit in LB bits: (value << 12) | 2048 | (run << 5) | bits used
   * (0: not there; AC end-of-block and zero-run symbols are never there). For DC (ac false) the run is 0.
   */
  function buildHuff(seg: Uint8Array, isAc: boolean): Huff | null {
    let total = 0;
    for (let l = 0; l < 16; l++) total += seg[l];
    if (total > 256 || seg.length !== 16 + total) return null;
    const vals = seg.slice(16);
    if (!isAc && vals.some((v) => v > 15)) return null; // as zune-jpeg, which rejects such a DC table
    const look = new Int32Array(1 << LB); // the next LB bits -> (length << 8) | symbol, 0 for longer codes
    const maxcode = new Int32Array(18).fill(-1);
    const valptr = new Int32Array(18);
    let code = 0;
    let k = 0;
    for (let l = 1; l <= 16; l++) {
      const n = seg[l - 1];
      valptr[l] = k - code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (l <= LB) {
          const shift = LB - l;
          look.fill((l << 8) | vals[k], code << shift, (code + 1) << shift);
        }
      }
      if (n > 0) {
        maxcode[l] = code - 1;
        if (code >= 1 << l) return null; // over-subscribed, or an all-ones code
      }
      code <<= 1;
    }
    const fast = new Int32Array(1 << LB);
    for (let i = 0; i < 1 << LB; i++) {
      const e = look[i];
      if (e === 0) continue;
      const l = e >> 8;
      const sym = e & 255;
      const size = isAc ? sym & 15 : sym;
      if ((isAc && size === 0) || size > 11 || l + size > LB) continue;
      let v = size === 0 ? 0 : (i >> (LB - l - size)) & ((1 << size) - 1);
      if (size > 0 && v < 1 << (size - 1)) v -= (1 << size) - 1;
      fast[i] = (v << 12) | 2048 | ((isAc ? sym >> 4 : 0) << 5) | (l + size);
    }
    return { fast, look, maxcode, valptr, vals, seg: seg.slice() };
  }

  function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** The integer IDCT of zune-jpeg and stb_image (constants scaled by 4096), clamped to 0..255. */
  function idctBlock(c: Int32Array, out: Uint8ClampedArray, o0: number, w: number, rows: number, cols: number): void {
    for (let p = 0; p < 8; p++) {
      // columns: 2 extra bits of precision kept; a column with only its first entry is constant
      if ((c[p + 8] | c[p + 16] | c[p + 24] | c[p + 32] | c[p + 40] | c[p + 48] | c[p + 56]) === 0) {
        const d = ((c[p] << 12) + 512) >> 10;
        c[p + 8] = c[p + 16] = c[p + 24] = c[p + 32] = c[p + 40] = c[p + 48] = c[p + 56] = d;
        c[p] = d;
        continue;
      }
      let p2 = c[p + 16];
      let p3 = c[p + 48];
      let p1 = Math.imul(p2 + p3, 2217);
      let t2 = (p1 + Math.imul(p3, -7567)) | 0;
      let t3 = (p1 + Math.imul(p2, 3135)) | 0;
      p2 = c[p];
      p3 = c[p + 32];
      let t0 = (p2 + p3) << 12;
      let t1 = (p2 - p3) << 12;
      const x0 = (t0 + t3 + 512) | 0;
      const x3 = (t0 - t3 + 512) | 0;
      const x1 = (t1 + t2 + 512) | 0;
      const x2 = (t1 - t2 + 512) | 0;
      t0 = c[p + 56];
      t1 = c[p + 40];
      t2 = c[p + 24];
      t3 = c[p + 8];
      p3 = (t0 + t2) | 0;
      let p4 = (t1 + t3) | 0;
      p1 = (t0 + t3) | 0;
      p2 = (t1 + t2) | 0;
      const p5 = Math.imul(p3 + p4, 4816);
      t0 = Math.imul(t0, 1223);
      t1 = Math.imul(t1, 8410);
      t2 = Math.imul(t2, 12586);
      t3 = Math.imul(t3, 6149);
      p1 = (p5 + Math.imul(p1, -3685)) | 0;
      p2 = (p5 + Math.imul(p2, -10497)) | 0;
      p3 = Math.imul(p3, -8034);
      p4 = Math.imul(p4, -1597);
      t3 = (t3 + p1 + p4) | 0;
      t2 = (t2 + p2 + p3) | 0;
      t1 = (t1 + p2 + p4) | 0;
      t0 = (t0 + p1 + p3) | 0;
      c[p] = (x0 + t3) >> 10;
      c[p + 8] = (x1 + t2) >> 10;
      c[p + 16] = (x2 + t1) >> 10;
      c[p + 24] = (x3 + t0) >> 10;
      c[p + 32] = (x3 - t0) >> 10;
      c[p + 40] = (x2 - t1) >> 10;
      c[p + 48] = (x1 - t2) >> 10;
      c[p + 56] = (x0 - t3) >> 10;
    }
    // rows: remove 1 << 17 with rounding, add the 128 bias
    const bias = 512 + 65536 + (128 << 17);
    for (let r = 0, i = 0; r < rows; r++, i += 8) {
      let p2 = c[i + 2];
      let p3 = c[i + 6];
      let p1 = Math.imul(p2 + p3, 2217);
      let t2 = (p1 + Math.imul(p3, -7567)) | 0;
      let t3 = (p1 + Math.imul(p2, 3135)) | 0;
      p2 = c[i];
      p3 = c[i + 4];
      let t0 = (p2 + p3) << 12;
      let t1 = (p2 - p3) << 12;
      const x0 = (t0 + t3 + bias) | 0;
      const x3 = (t0 - t3 + bias) | 0;
      const x1 = (t1 + t2 + bias) | 0;
      const x2 = (t1 - t2 + bias) | 0;
      t0 = c[i + 7];
      t1 = c[i + 5];
      t2 = c[i + 3];
      t3 = c[i + 1];
      c[i] = c[i + 1] = c[i + 2] = c[i + 3] = c[i + 4] = c[i + 5] = c[i + 6] = c[i + 7] = 0; // ready for the next block
      p3 = (t0 + t2) | 0;
      let p4 = (t1 + t3) | 0;
      p1 = (t0 + t3) | 0;
      p2 = (t1 + t2) | 0;
      const p5 = Math.imul(p3 + p4, 4816);
      t0 = Math.imul(t0, 1223);
      t1 = Math.imul(t1, 8410);
      t2 = Math.imul(t2, 12586);
      t3 = Math.imul(t3, 6149);
      p1 = (p5 + Math.imul(p1, -3685)) | 0;
      p2 = (p5 + Math.imul(p2, -10497)) | 0;
      p3 = Math.imul(p3, -8034);
      p4 = Math.imul(p4, -1597);
      t3 = (t3 + p1 + p4) | 0;
      t2 = (t2 + p2 + p3) | 0;
      t1 = (t1 + p2 + p4) | 0;
      t0 = (t0 + p1 + p3) | 0;
      // out clamps to 0..255 (a Uint8ClampedArray: no branches)
      const o = o0 + r * w;
      out[o] = (x0 + t3) >> 17;
      if (cols > 1) out[o + 1] = (x1 + t2) >> 17;
      if (cols > 2) out[o + 2] = (x2 + t1) >> 17;
      if (cols > 3) out[o + 3] = (x3 + t0) >> 17;
      if (cols > 4) out[o + 4] = (x3 - t0) >> 17;
      if (cols > 5) out[o + 5] = (x2 - t1) >> 17;
      if (cols > 6) out[o + 6] = (x1 - t2) >> 17;
      if (cols > 7) out[o + 7] = (x0 - t3) >> 17;
    }
    if (rows < 8) c.fill(0, rows * 8);
  }

  /**
   * A baseline (or extended sequential, Huffman, 8-bit) single-component JPEG of at most maxPixels pixels;
   * null for anything else.
   */
  function decodeGrayJpeg(b: Uint8Array, maxPixels = Infinity): Img | null {
    const n = b.length;
    if (n < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
    const qt: Array<Int32Array | null> = [null, null, null, null];
    const huff: Array<Huff | null> = [null, null, null, null, null, null, null, null];
    let width = 0;
    let height = 0;
    let qsel = -1;
    let comp = -1;
    let ri = 0;
    let p = 2;
    for (;;) {
      // the next marker (fill bytes 0xff allowed)
      if (p >= n || b[p] !== 0xff) return null;
      while (p < n && b[p] === 0xff) p++;
      if (p + 2 >= n) return null;
      const m = b[p];
      const len = (b[p + 1] << 8) | b[p + 2];
      const s0 = p + 3;
      const s1 = p + 1 + len;
      if (len < 2 || s1 > n) return null;
      p = s1;
      if ((m >= 0xe0 && m <= 0xef) || m === 0xfe) continue; // APPn, COM
      if (m === 0xdb) {
        for (let q = s0; q < s1; ) {
          const pq = b[q] >> 4;
          const tq = b[q] & 15;
          if (tq > 3 || pq > 1 || q + 1 + 64 * (pq + 1) > s1) return null;
          const t = new Int32Array(64);
          for (let k = 0; k < 64; k++) t[k] = pq ? (b[q + 1 + 2 * k] << 8) | b[q + 2 + 2 * k] : b[q + 1 + k];
          qt[tq] = t;
          q += 1 + 64 * (pq + 1);
        }
      } else if (m === 0xc4) {
        for (let q = s0; q < s1; ) {
          const tc = b[q] >> 4;
          const th = b[q] & 15;
          if (tc > 1 || th > 3 || q + 17 > s1) return null;
          let total = 0;
          for (let l = 0; l < 16; l++) total += b[q + 1 + l];
          if (q + 17 + total > s1) return null;
          const seg = b.subarray(q + 1, q + 17 + total);
          const slot = tc * 4 + th;
          let h = huffCache[slot];
          if (!h || !sameBytes(h.seg, seg)) {
            h = buildHuff(seg, tc === 1);
            if (!h) return null;
            huffCache[slot] = h;
          }
          huff[slot] = h;
          q += 17 + total;
        }
      } else if (m === 0xc0 || m === 0xc1) {
        if (len !== 11 || b[s0] !== 8 || b[s0 + 5] !== 1) return null; // 8-bit, one component
        height = (b[s0 + 1] << 8) | b[s0 + 2];
        width = (b[s0 + 3] << 8) | b[s0 + 4];
        if (width === 0 || height === 0 || width * height > maxPixels || b[s0 + 7] !== 0x11 || b[s0 + 8] > 3) return null;
        qsel = b[s0 + 8];
        comp = b[s0 + 6];
      } else if (m === 0xdd) {
        if (len !== 4) return null;
        ri = (b[s0] << 8) | b[s0 + 1];
      } else if (m === 0xda) {
        if (width === 0 || len !== 8 || b[s0] !== 1 || b[s0 + 1] !== comp || b[s0 + 3] !== 0 || b[s0 + 4] !== 63 || b[s0 + 5] !== 0) return null;
        const dc = huff[b[s0 + 2] >> 4];
        const ac = huff[4 + (b[s0 + 2] & 15)];
        const q = qt[qsel];
        if (!dc || !ac || !q) return null;
        return scanGray(b, p, width, height, ri, dc, ac, q);
      } else {
        return null; // SOF2 and the other processes, DNL, EOI before a scan, anything unexpected
      }
    }
  }

  /** A code longer than the LB-bit lookup (or not in it): (length << 8) | symbol, or -1 if it is not a code. */
  function slowSymbol(h: Huff, acc: number, bits: number): number {
    for (let l = LB + 1; l <= 16; l++) {
      const code = (acc >>> (bits - l)) & ((1 << l) - 1);
      if (code <= h.maxcode[l]) return (l << 8) | h.vals[h.valptr[l] + code];
    }
    return -1;
  }

  /** The entropy-coded data of a single-component scan from p: the picture, or null if anything is off. */
  function scanGray(b: Uint8Array, p: number, width: number, height: number, ri: number, dc: Huff, ac: Huff, q: Int32Array): Img | null {
    const n = b.length;
    const out = new Uint8Array(width * height);
    const outc = new Uint8ClampedArray(out.buffer);
    const bw = (width + 7) >> 3;
    const total = bw * ((height + 7) >> 3);
    const dcFast = dc.fast;
    const dcLook = dc.look;
    const acFast = ac.fast;
    const acLook = ac.look;
    const q0 = q[0];
    const zz = ZZ;
    const c = blk;
    // The bit reader lives in locals (a closure would keep them in memory): the low `bits` bits of acc are
    // unread; after the data ends (a marker), zero bytes are shifted in and counted in `pad`. Before each
    // code it holds more than 24 bits: a code and its extra bits need at most 16 + 11.
    let acc = 0;
    let bits = 0;
    let pad = 0;
    let atMarker = false;
    let pred = 0;
    let rst = 0;
    let by = 0;
    let bx = 0;
    c.fill(0); // (an earlier image may have stopped half-way through a block)
    for (let mcu = 0; mcu < total; mcu++) {
      if (ri > 0 && mcu > 0 && mcu % ri === 0) {
        if (bits < pad) return null;
        while (p + 1 < n && b[p] === 0xff && b[p + 1] === 0xff) p++;
        if (p + 1 >= n || b[p] !== 0xff || b[p + 1] !== 0xd0 + (rst & 7)) return null;
        p += 2;
        rst++;
        acc = bits = pad = pred = 0;
        atMarker = false;
      }
      // DC (blk is all zeros: the IDCT leaves it so)
      if (bits <= 16 && p + 1 < n && b[p] !== 0xff && b[p + 1] !== 0xff && !atMarker) {
        acc = (acc << 16) | (b[p] << 8) | b[p + 1];
        p += 2;
        bits += 16;
      }
      while (bits <= 24) {
        let v = 0;
        if (atMarker) pad += 8;
        else if (p >= n) {
          atMarker = true;
          pad += 8;
        } else if ((v = b[p]) !== 0xff) p++;
        else if (p + 1 < n && b[p + 1] === 0) p += 2;
        else {
          atMarker = true;
          v = 0;
          pad += 8;
        }
        acc = (acc << 8) | v;
        bits += 8;
      }
      let f = dcFast[(acc >>> (bits - LB)) & LMASK];
      if (f !== 0) {
        bits -= f & 31;
        pred = (pred + (f >> 12)) | 0;
      } else {
        let e = dcLook[(acc >>> (bits - LB)) & LMASK];
        if (e === 0 && (e = slowSymbol(dc, acc, bits)) < 0) return null;
        bits -= e >> 8;
        const s = e & 255;
        if (s > 11) return null;
        if (s > 0) {
          if (bits < s) {
            while (bits <= 24) {
              let v = 0;
              if (atMarker) pad += 8;
              else if (p >= n) {
                atMarker = true;
                pad += 8;
              } else if ((v = b[p]) !== 0xff) p++;
              else if (p + 1 < n && b[p + 1] === 0) p += 2;
              else {
                atMarker = true;
                v = 0;
                pad += 8;
              }
              acc = (acc << 8) | v;
              bits += 8;
            }
          }
          let v = (acc >>> (bits - s)) & ((1 << s) - 1);
          bits -= s;
          if (v < 1 << (s - 1)) v -= (1 << s) - 1;
          pred = (pred + v) | 0;
        }
      }
      c[0] = Math.imul(pred, q0);
      // AC
      let nz = false;
      for (let k = 1; k < 64; k++) {
        if (bits <= 16 && p + 1 < n && b[p] !== 0xff && b[p + 1] !== 0xff && !atMarker) {
          acc = (acc << 16) | (b[p] << 8) | b[p + 1];
          p += 2;
          bits += 16;
        }
        while (bits <= 24) {
          let v = 0;
          if (atMarker) pad += 8;
          else if (p >= n) {
            atMarker = true;
            pad += 8;
          } else if ((v = b[p]) !== 0xff) p++;
          else if (p + 1 < n && b[p + 1] === 0) p += 2;
          else {
            atMarker = true;
            v = 0;
            pad += 8;
          }
          acc = (acc << 8) | v;
          bits += 8;
        }
        f = acFast[(acc >>> (bits - LB)) & LMASK];
        let z: number;
        if (f !== 0) {
          bits -= f & 31;
          k += (f >> 5) & 15;
          if (k > 63) return null;
          z = Math.imul(f >> 12, q[k]);
        } else {
          let e = acLook[(acc >>> (bits - LB)) & LMASK];
          if (e === 0 && (e = slowSymbol(ac, acc, bits)) < 0) return null;
          bits -= e >> 8;
          const sym = e & 255;
          const s = sym & 15;
          if (s === 0) {
            if (sym !== 0xf0) break; // end of block
            k += 15;
            continue;
          }
          k += sym >> 4;
          if (k > 63) return null;
          if (bits < s) {
            while (bits <= 24) {
              let v = 0;
              if (atMarker) pad += 8;
              else if (p >= n) {
                atMarker = true;
                pad += 8;
              } else if ((v = b[p]) !== 0xff) p++;
              else if (p + 1 < n && b[p + 1] === 0) p += 2;
              else {
                atMarker = true;
                v = 0;
                pad += 8;
              }
              acc = (acc << 8) | v;
              bits += 8;
            }
          }
          let v = (acc >>> (bits - s)) & ((1 << s) - 1);
          bits -= s;
          if (v < 1 << (s - 1)) v -= (1 << s) - 1;
          z = Math.imul(v, q[k]);
        }
        c[zz[k]] = z;
        if (z !== 0) nz = true;
      }
      const rows = Math.min(8, height - 8 * by);
      const cols = Math.min(8, width - 8 * bx);
      const o0 = 8 * (by * width + bx);
      if (!nz) {
        // DC only: the IDCT is a constant (zune-jpeg's shortcut, equal to the full transform)
        let v = (c[0] + 1028) >> 3;
        c[0] = 0;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        for (let r = 0; r < rows; r++) out.fill(v, o0 + r * width, o0 + r * width + cols);
      } else {
        idctBlock(c, outc, o0, width, rows, cols);
      }
      if (++bx === bw) {
        bx = 0;
        by++;
      }
    }
    if (bits < pad) return null; // read past the end of the data
    return { width, height, channels: 1, data: out };
  }

  // JsColorType of @napi-rs/image: [channels, bytes per sample].
  const LAYOUTS = [[1, 1], [2, 1], [3, 1], [4, 1], [1, 2], [2, 2], [3, 2], [4, 2], [3, 4], [4, 4]];

  /** Decodes an encoded image (GIF here, everything else with the codec). */
  function decode(bytes: Uint8Array, codec: Codec | null): Img {
    if (bytes.length === 0) throw new Error('the file is empty');
    if (bytes.length >= 4 && bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x38) return decodeGif(bytes);
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      // up to 64x64: beyond, the codec's SIMD decoder is faster (~1.5x at 256x256) than its fixed cost
      const img = decodeGrayJpeg(bytes, 64 * 64);
      if (img) return img;
    }
    if (!codec) throw new Error('no image decoder is loaded');
    const t = new codec.Transformer(bytes);
    const md = t.metadataSync();
    const raw = t.rawPixelsSync();
    const px = md.width * md.height;
    if (!(px > 0)) throw new Error(`the image has no pixels (${md.width}x${md.height})`);
    let layout = LAYOUTS[md.colorType];
    if (!layout || layout[0] * layout[1] * px !== raw.length) {
      const per = raw.length / px;
      if (per === 3 || per === 4 || per === 1) layout = [per, 1];
      else throw new Error(`unexpected pixel layout (${raw.length} bytes for ${md.width}x${md.height}, colour type ${md.colorType})`);
    }
    const [channels, sb] = layout;
    let data: Uint8Array | Uint16Array | Float32Array;
    if (sb === 1) {
      data = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
    } else {
      const aligned = raw.byteOffset % sb === 0 ? raw : raw.slice();
      data = sb === 2 ? new Uint16Array(aligned.buffer, aligned.byteOffset, raw.length / 2) : new Float32Array(aligned.buffer, aligned.byteOffset, raw.length / 4);
    }
    return { width: md.width, height: md.height, channels, data };
  }

  /**
   * The image as [h, w, c] (c = 1, 3 or 4) with values 0..255 (integers): written into `out` from `off`, or
   * into a new Uint8Array (a quarter of the memory of float32, for large images on their way to a resize).
   */
  function toChannels(img: Img, c: number, out?: Float32Array | Uint8Array, off = 0): Float32Array | Uint8Array {
    const px = img.width * img.height;
    const s = img.channels;
    let d: Uint8Array;
    if (img.data instanceof Uint8Array) {
      d = img.data;
    } else if (img.data instanceof Uint16Array) {
      d = new Uint8Array(img.data.length);
      for (let i = 0; i < d.length; i++) d[i] = img.data[i] >>> 8;
    } else {
      d = new Uint8Array(img.data.length);
      for (let i = 0; i < d.length; i++) d[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255);
    }
    const o = out ?? new Uint8Array(px * c);
    let k = off;
    if (c === 1) {
      if (s <= 2) for (let p = 0; p < px; p++) o[k++] = d[p * s];
      else {
        for (let p = 0, i = 0; p < px; p++, i += s) o[k++] = (d[i] * 19595 + d[i + 1] * 38470 + d[i + 2] * 7471 + 0x8000) >>> 16;
      }
    } else {
      for (let p = 0, i = 0; p < px; p++, i += s) {
        if (s <= 2) {
          const v = d[i];
          o[k++] = v;
          o[k++] = v;
          o[k++] = v;
        } else {
          o[k++] = d[i];
          o[k++] = d[i + 1];
          o[k++] = d[i + 2];
        }
        if (c === 4) o[k++] = s === 2 ? d[i + 1] : s === 4 ? d[i + 3] : 255;
      }
    }
    return o;
  }

  /** Keras smart_resize: the centred window [y0, x0, h, w] of an h x w image with the target's aspect ratio. */
  function cropBox(h: number, w: number, th: number, tw: number): [number, number, number, number] {
    const ch = Math.max(1, Math.min(h, Math.floor((w * th) / tw)));
    const cw = Math.max(1, Math.min(w, Math.floor((h * tw) / th)));
    return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
  }

  /** Keras 3 pad_to_aspect_ratio: the image centred on zeros with the target's aspect ratio. */
  function padImage<A extends Float32Array | Uint8Array>(src: A, h: number, w: number, c: number, th: number, tw: number): { data: A; h: number; w: number } {
    const ph = Math.max(h, Math.floor((w * th) / tw));
    const pw = Math.max(w, Math.floor((h * tw) / th));
    if (ph === h && pw === w) return { data: src, h, w };
    const y0 = Math.floor((ph - h) / 2);
    const x0 = Math.floor((pw - w) / 2);
    const out = (src instanceof Uint8Array ? new Uint8Array(ph * pw * c) : new Float32Array(ph * pw * c)) as A;
    for (let y = 0; y < h; y++) out.set(src.subarray(y * w * c, (y + 1) * w * c), ((y + y0) * pw + x0) * c);
    return { data: out, h: ph, w: pw };
  }

  const f32 = Math.fround;

  /** Round half to even (C's lrintf in the default rounding mode). */
  function rint(v: number): number {
    const r = Math.round(v);
    return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  /** Keys cubic convolution kernel, a = -0.5 (TF's half-pixel bicubic). */
  function keys(x: number): number {
    const a = -0.5;
    const t = Math.abs(x);
    if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    return 0;
  }

  /** Per output position along one axis: source indices and weights (taps per position fixed). */
  function axisTaps(method: string, inSize: number, outSize: number): { taps: number; idx: Int32Array; wt: Float64Array } {
    const scale = f32(inSize / outSize);
    if (method === 'nearest') {
      const idx = new Int32Array(outSize);
      const wt = new Float64Array(outSize).fill(1);
      for (let x = 0; x < outSize; x++) idx[x] = Math.max(0, Math.min(Math.floor(f32(f32(x + 0.5) * scale)), inSize - 1));
      return { taps: 1, idx, wt };
    }
    if (method === 'bilinear') {
      const idx = new Int32Array(outSize * 2);
      const wt = new Float64Array(outSize * 2);
      for (let x = 0; x < outSize; x++) {
        const inx = f32(f32(f32(x + 0.5) * scale) - 0.5);
        const fl = Math.floor(inx);
        const lerp = f32(inx - fl);
        idx[2 * x] = Math.max(fl, 0);
        idx[2 * x + 1] = Math.min(Math.ceil(inx), inSize - 1);
        wt[2 * x] = 1 - lerp;
        wt[2 * x + 1] = lerp;
      }
      return { taps: 2, idx, wt };
    }
    if (method === 'bicubic') {
      const idx = new Int32Array(outSize * 4);
      const wt = new Float64Array(outSize * 4);
      const table = 1024;
      for (let x = 0; x < outSize; x++) {
        const inx = f32(f32(f32(x + 0.5) * scale) - 0.5);
        const base = Math.floor(inx);
        const offset = rint(f32(inx - base) * table);
        const t = offset / table;
        const raw = [f32(keys(1 + t)), f32(keys(t)), f32(keys(1 - t)), f32(keys(2 - t))];
        let sum = 0;
        for (let k = 0; k < 4; k++) {
          const want = base - 1 + k;
          const j = Math.min(inSize - 1, Math.max(0, want));
          idx[4 * x + k] = j;
          wt[4 * x + k] = j === want ? raw[k] : 0;
          sum += wt[4 * x + k];
        }
        if (Math.abs(sum) >= 1e-35) for (let k = 0; k < 4; k++) wt[4 * x + k] /= sum;
      }
      return { taps: 4, idx, wt };
    }
    if (method === 'area') {
      // TF ResizeArea: the input cells covering [x*scale, (x+1)*scale), weighted by their overlap.
      let taps = 1;
      const lists: Array<[number[], number[]]> = [];
      for (let x = 0; x < outSize; x++) {
        const in0 = f32(x * scale);
        const in1 = f32((x + 1) * scale);
        const is: number[] = [];
        const ws: number[] = [];
        for (let i = Math.floor(in0); i < Math.ceil(in1); i++) {
          const w = i < in0 ? (i + 1 > in1 ? scale : i + 1 - in0) : i + 1 > in1 ? in1 - i : 1;
          is.push(Math.min(inSize - 1, Math.max(0, i)));
          ws.push(w / scale);
        }
        taps = Math.max(taps, is.length);
        lists.push([is, ws]);
      }
      const idx = new Int32Array(outSize * taps);
      const wt = new Float64Array(outSize * taps);
      lists.forEach(([is, ws], x) => {
        for (let k = 0; k < is.length; k++) {
          idx[x * taps + k] = is[k];
          wt[x * taps + k] = ws[k];
        }
      });
      return { taps, idx, wt };
    }
    throw new Error(`unknown interpolation '${method}'`);
  }

  /**
   * Resizes the window [y0, y0+rh) x [x0, x0+rw) of src [h, w, c] to [oh, ow, c] (float32), written to out
   * from element `off`: separable, rows first into a [rh, ow, c] float32 temporary (only the rows the output
   * reads), then columns.
   */
  function resize(
    src: Float32Array | Uint8Array, w: number, c: number, y0: number, x0: number, rh: number, rw: number,
    oh: number, ow: number, method: string, out: Float32Array, off: number,
  ): void {
    if (rh === oh && rw === ow) {
      for (let y = 0; y < oh; y++) {
        const s = ((y0 + y) * w + x0) * c;
        for (let i = 0; i < ow * c; i++) out[off + y * ow * c + i] = src[s + i];
      }
      return;
    }
    const X = axisTaps(method, rw, ow);
    const Y = axisTaps(method, rh, oh);
    // Only the rows some output row reads.
    const need = new Uint8Array(rh);
    for (let k = 0; k < Y.idx.length; k++) if (Y.wt[k] !== 0 || Y.taps === 1) need[Y.idx[k]] = 1;
    const tmp = new Float32Array(rh * ow * c);
    const tx = X.taps;
    for (let y = 0; y < rh; y++) {
      if (!need[y]) continue;
      const row = ((y0 + y) * w + x0) * c;
      const t0 = y * ow * c;
      for (let x = 0; x < ow; x++) {
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          if (tx === 2) {
            // TF's form: a + (b - a) * lerp
            const a = src[row + X.idx[2 * x] * c + ch];
            const b = src[row + X.idx[2 * x + 1] * c + ch];
            acc = a + (b - a) * X.wt[2 * x + 1];
          } else {
            for (let k = 0; k < tx; k++) acc += src[row + X.idx[x * tx + k] * c + ch] * X.wt[x * tx + k];
          }
          tmp[t0 + x * c + ch] = acc;
        }
      }
    }
    const ty = Y.taps;
    const n = ow * c;
    for (let y = 0; y < oh; y++) {
      const o = off + y * n;
      if (ty === 2) {
        const a0 = Y.idx[2 * y] * n;
        const b0 = Y.idx[2 * y + 1] * n;
        const lerp = Y.wt[2 * y + 1];
        for (let i = 0; i < n; i++) out[o + i] = tmp[a0 + i] + (tmp[b0 + i] - tmp[a0 + i]) * lerp;
      } else {
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let k = 0; k < ty; k++) acc += tmp[Y.idx[y * ty + k] * n + i] * Y.wt[y * ty + k];
          out[o + i] = acc;
        }
      }
    }
  }

  /**
   * A decoded image as float32 [spec.height, spec.width, spec.channels] written into out from `off`
   * (spec.height = spec.width = 0: the image's own size, out allocated).
   */
  function prepare(img: Img, spec: Spec, out?: Float32Array, off = 0): { data: Float32Array; height: number; width: number } {
    const c = spec.channels;
    const keep = spec.height === 0 || spec.width === 0;
    const oh = keep ? img.height : spec.height;
    const ow = keep ? img.width : spec.width;
    const dst = out ?? new Float32Array(oh * ow * c);
    if (img.height === oh && img.width === ow) {
      // 8-bit samples with the wanted channels: one typed-array conversion (a native loop)
      if (img.channels === c && img.data instanceof Uint8Array) dst.set(img.data.subarray(0, oh * ow * c), off);
      else toChannels(img, c, dst, off);
      return { data: dst, height: oh, width: ow };
    }
    let src = toChannels(img, c);
    let h = img.height;
    let w = img.width;
    let box: [number, number, number, number] = [0, 0, h, w];
    if (spec.fit === 'crop') {
      box = cropBox(h, w, oh, ow);
    } else if (spec.fit === 'pad') {
      const p = padImage(src, h, w, c, oh, ow);
      src = p.data;
      h = p.h;
      w = p.w;
      box = [0, 0, h, w];
    }
    resize(src, w, c, box[0], box[1], box[2], box[3], oh, ow, spec.interpolation, dst, off);
    return { data: dst, height: oh, width: ow };
  }

  return { decodeGif, lzw, decodeGrayJpeg, decode, toChannels, cropBox, padImage, axisTaps, resize, prepare };
}

/** The kernels, for the main thread (tests, and images decoded synchronously). */
export const kernels = pixelKernels();

// --------------------------------------------------------------------------------------------------
// The codec

const CODEC = '@napi-rs/image';
let codecState: { path: string; error: null } | { path: null; error: string } | null = null;

/**
 * Loads the image codec once (lazily) and returns its resolved path for the workers; throws a clear error
 * naming the platform when it cannot be loaded.
 */
export function loadCodec(op: string): string {
  if (!codecState) {
    try {
      const req = createRequire(import.meta.url);
      const path = req.resolve(CODEC);
      req(path);
      codecState = { path, error: null };
    } catch (e) {
      codecState = { path: null, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  }
  if (codecState.path === null) {
    const plat = `${process.platform}-${process.arch}`;
    throw new NodegradError(
      `${op}: the image decoder ${CODEC} cannot be loaded on ${plat} (${codecState.error}). It is a dependency of nodegrad ` +
        'that installs a prebuilt binary per platform as an optional dependency: reinstall without --omit=optional, or ' +
        `\`npm install ${CODEC}\`; platforms without a binary cannot decode JPEG/PNG/BMP/WebP files. The rest of nodegrad works without it.`,
    );
  }
  return codecState.path;
}

// --------------------------------------------------------------------------------------------------
// Worker pool

interface Job {
  id: number;
  paths: string[];
  spec: DecodeSpec;
}

/** What a batch job gives back: the images that decoded, packed in order, and those that failed. */
export interface BatchResult {
  /** [decoded, height, width, channels] float32, rows in the order of the job's paths minus the failed ones. */
  data: Float32Array;
  height: number;
  width: number;
  failed: Array<{ index: number; message: string }>;
}

interface WorkerReply {
  id: number;
  data?: Float32Array;
  height?: number;
  width?: number;
  failed?: Array<{ index: number; message: string }>;
  fatal?: string;
}

const WORKER_SOURCE = (kernelsSource: string): string => `
'use strict';
var __name = (f) => f; // in case a transform added esbuild's keepNames helper calls
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let codec = null;
let codecError = null;
try { codec = require(workerData.codecPath); } catch (e) { codecError = String((e && e.message) || e).split('\\n')[0]; }
const K = (${kernelsSource})();
// Files are read into one buffer that grows as needed (no allocation per file; decoding copies what it keeps).
let rbuf = Buffer.allocUnsafe(1 << 16);
function readAll(path) {
  const fd = fs.openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      if (n === rbuf.length) {
        const b = Buffer.allocUnsafe(rbuf.length * 2);
        rbuf.copy(b, 0, 0, n);
        rbuf = b;
      }
      const k = fs.readSync(fd, rbuf, n, rbuf.length - n, null);
      if (k === 0) return rbuf.subarray(0, n);
      n += k;
    }
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', (job) => {
  const { id, paths, spec } = job;
  if (codecError) { parentPort.postMessage({ id, fatal: 'the image decoder cannot be loaded in a worker thread: ' + codecError }); return; }
  const failed = [];
  let out = null;
  let height = spec.height;
  let width = spec.width;
  let px = height * width * spec.channels;
  let row = 0;
  for (let i = 0; i < paths.length; i++) {
    try {
      const bytes = readAll(paths[i]);
      const img = K.decode(bytes, codec);
      if (px === 0) {
        const r = K.prepare(img, spec);
        out = r.data; height = r.height; width = r.width; px = out.length;
      } else {
        if (out === null) out = new Float32Array(paths.length * px);
        K.prepare(img, spec, out, row * px);
      }
      row++;
    } catch (e) {
      let msg = (e && e.message) ? String(e.message) : String(e);
      if (e && e.code === 'ENOENT') msg = 'the file does not exist (any more)';
      else if (e && e.code === 'EISDIR') msg = 'it is a directory';
      failed.push({ index: i, message: msg.split('\\n')[0] });
    }
  }
  if (out === null) out = new Float32Array(0);
  const data = row * px === out.length ? out : out.slice(0, row * px);
  parentPort.postMessage({ id, data, height, width, failed }, [data.buffer]);
});
`;

class PooledWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
  dead: Error | null = null;
  constructor(source: string, codecPath: string, onDeath: (w: PooledWorker) => void) {
    this.worker = new Worker(source, { eval: true, workerData: { codecPath }, name: 'nodegrad-image-decoder' });
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.fatal !== undefined) p.reject(new NodegradError(m.fatal));
      else p.resolve({ data: m.data!, height: m.height!, width: m.width!, failed: m.failed! });
    });
    const die = (e: Error) => {
      if (this.dead) return;
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      onDeath(this);
    };
    this.worker.on('error', (e) => die(new NodegradError(`an image decoding worker thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => die(new NodegradError(`an image decoding worker thread exited (code ${code})`)));
  }
  run(job: Job): Promise<BatchResult> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.pending.set(job.id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(job);
    });
  }
}

/** The default number of decoding threads: one per spare core, 1 to 4. */
export function defaultImageWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * The process-wide pool of decoding threads, shared by every image dataset. Threads start on first use,
 * do not keep the process alive while idle (unref), and grow to the largest count a dataset asked for.
 */
class ImageWorkerPool {
  private workers: PooledWorker[] = [];
  private nextId = 1;
  private source: string | null = null;

  size(): number {
    return this.workers.length;
  }

  /** Runs one batch job on the least-loaded of (at least) n threads. */
  run(op: string, paths: string[], spec: DecodeSpec, n: number): Promise<BatchResult> {
    const codecPath = loadCodec(op);
    this.source ??= WORKER_SOURCE(pixelKernels.toString());
    while (this.workers.length < n) {
      this.workers.push(new PooledWorker(this.source, codecPath, (w) => {
        this.workers = this.workers.filter((x) => x !== w);
      }));
    }
    let best = this.workers[0];
    for (const w of this.workers) if (w.pending.size < best.pending.size) best = w;
    return best.run({ id: this.nextId++, paths, spec });
  }

  /** Stops every thread (pending jobs fail); the next job starts new ones. */
  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.worker.terminate()));
  }
}

const pool = new ImageWorkerPool();

/** Decodes the files of one batch in a worker thread. */
export function decodeBatch(op: string, paths: string[], spec: DecodeSpec, workers = defaultImageWorkers()): Promise<BatchResult> {
  return pool.run(op, paths, spec, workers);
}

/** The decoding threads: how many are running, and a way to stop them (e.g. before a clean exit in tests). */
export const imageWorkers = {
  count: (): number => pool.size(),
  close: (): Promise<void> => pool.close(),
};

// --------------------------------------------------------------------------------------------------
// Single images

export interface LoadImageOptions {
  /** 'grayscale', 'rgb' (default) or 'rgba'. */
  colorMode?: ColorMode;
  /** [height, width] to resize to (default: the image's own size). */
  targetSize?: [number, number] | number | null;
  /** Resize method (default 'bilinear'). */
  interpolation?: Interpolation;
  /** Keep the aspect ratio by cropping (Keras' keep_aspect_ratio / crop_to_aspect_ratio). */
  cropToAspectRatio?: boolean;
  /** Keep the aspect ratio by zero padding. */
  padToAspectRatio?: boolean;
}

/**
 * One image file as a float32 Tensor [height, width, channels] with values 0..255 (Keras' load_img +
 * img_to_array), decoded in a worker thread.
 */
export async function loadImage(path: string, options: LoadImageOptions = {}): Promise<Tensor> {
  const op = 'loadImage';
  if (typeof path !== 'string' || path === '') throw new DTypeError(`${op}: argument 'path' must be a non-empty string, got ${fmt(path)}`);
  if (typeof options !== 'object' || options === null) throw new ValueError(`${op}: options must be an object`);
  const known = ['colorMode', 'targetSize', 'interpolation', 'cropToAspectRatio', 'padToAspectRatio'];
  for (const k of Object.keys(options)) if (!known.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (known: ${known.join(', ')})`);
  const channels = channelsOf(op, options.colorMode ?? 'rgb');
  const size = options.targetSize === undefined || options.targetSize === null ? [0, 0] : checkImageSize(op, options.targetSize);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  const fit = aspectFit(op, options.cropToAspectRatio, options.padToAspectRatio);
  const r = await decodeBatch(op, [path], { height: size[0], width: size[1], channels, interpolation, fit }, 1);
  if (r.failed.length > 0) throw new ImageDecodeError(op, path, `cannot decode: ${r.failed[0].message}`);
  return new Tensor(r.data, [r.height, r.width, channels]);
}

export function aspectFit(op: string, crop: unknown, pad: unknown): AspectFit {
  for (const [k, v] of [['cropToAspectRatio', crop], ['padToAspectRatio', pad]] as const) {
    if (v !== undefined && typeof v !== 'boolean') throw new ValueError(`${op}: option '${k}' must be a boolean, got ${fmt(v)}`);
  }
  if (crop && pad) throw new ValueError(`${op}: only one of 'cropToAspectRatio' and 'padToAspectRatio' can be true`);
  return crop ? 'crop' : pad ? 'pad' : 'stretch';
}
