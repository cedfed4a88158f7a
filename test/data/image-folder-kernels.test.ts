/**
 * The pixel kernels of src/data/image.ts (run on the main thread here; the worker threads run the same
 * source): decoding of every colour type and format, GIF against Pillow-written fixtures, channel
 * conversion, and tf.image.resize's methods against PyTorch values and hand-computed ones.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kernels as K, type DecodedImage } from '../../src/data/image.js';
import { MT19937, compareCodePoints, numpyShuffle } from '../../src/data/image-folder.js';
import { encodeGif, encodePng } from './image-folder-helpers.js';

const codec = createRequire(import.meta.url)('@napi-rs/image');
const FIX = fileURLToPath(new URL('./fixtures-images/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(FIX + name));

/** Decode and convert to c channels at the image's own size. */
function pixels(bytes: Uint8Array, c: number): { data: Float32Array; img: DecodedImage } {
  const img = K.decode(bytes, codec);
  return { img, data: Float32Array.from(K.toChannels(img, c)) };
}

/** Deterministic bytes. */
function ramp(n: number, mul = 37, add = 11): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * mul + add) % 256);
}

const luma = (r: number, g: number, b: number) => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;

describe('decode: PNG colour types (exact)', () => {
  const W = 5;
  const H = 3;
  const px = W * H;

  it('grayscale 8-bit: 1 channel as is, rgb repeats it, rgba adds alpha 255', () => {
    const g = ramp(px);
    const png = encodePng(W, H, 0, 8, g);
    expect(Array.from(pixels(png, 1).data)).toEqual(Array.from(g));
    const rgb = pixels(png, 3).data;
    for (let i = 0; i < px; i++) expect([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]).toEqual([g[i], g[i], g[i]]);
    const rgba = pixels(png, 4).data;
    for (let i = 0; i < px; i++) expect([rgba[4 * i], rgba[4 * i + 3]]).toEqual([g[i], 255]);
  });

  it('RGB 8-bit: exact; grayscale uses PIL luma weights', () => {
    const d = ramp(px * 3);
    const png = encodePng(W, H, 2, 8, d);
    expect(Array.from(pixels(png, 3).data)).toEqual(Array.from(d));
    const g = pixels(png, 1).data;
    for (let i = 0; i < px; i++) expect(g[i]).toBe(luma(d[3 * i], d[3 * i + 1], d[3 * i + 2]));
    const rgba = pixels(png, 4).data;
    for (let i = 0; i < px; i++) expect(rgba[4 * i + 3]).toBe(255);
  });

  it('RGBA 8-bit: rgba exact, rgb drops alpha, grayscale ignores alpha', () => {
    const d = ramp(px * 4, 53, 7);
    const png = encodePng(W, H, 6, 8, d);
    expect(Array.from(pixels(png, 4).data)).toEqual(Array.from(d));
    const rgb = pixels(png, 3).data;
    for (let i = 0; i < px; i++) expect([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]]).toEqual([d[4 * i], d[4 * i + 1], d[4 * i + 2]]);
    const g = pixels(png, 1).data;
    for (let i = 0; i < px; i++) expect(g[i]).toBe(luma(d[4 * i], d[4 * i + 1], d[4 * i + 2]));
  });

  it('grey + alpha: grey repeated, alpha kept in rgba', () => {
    const d = ramp(px * 2, 29, 3);
    const png = encodePng(W, H, 4, 8, d);
    const rgba = pixels(png, 4).data;
    for (let i = 0; i < px; i++) expect(Array.from(rgba.subarray(4 * i, 4 * i + 4))).toEqual([d[2 * i], d[2 * i], d[2 * i], d[2 * i + 1]]);
    const g = pixels(png, 1).data;
    for (let i = 0; i < px; i++) expect(g[i]).toBe(d[2 * i]);
  });

  it('16-bit grey and RGB keep the high byte of each sample', () => {
    const g16 = Uint16Array.from({ length: px }, (_, i) => (i * 4099 + 300) % 65536);
    const png = encodePng(W, H, 0, 16, g16);
    expect(Array.from(pixels(png, 1).data)).toEqual(Array.from(g16, (v) => v >>> 8));
    const rgb16 = Uint16Array.from({ length: px * 3 }, (_, i) => (i * 7919 + 12345) % 65536);
    const png3 = encodePng(W, H, 2, 16, rgb16);
    expect(Array.from(pixels(png3, 3).data)).toEqual(Array.from(rgb16, (v) => v >>> 8));
  });

  it('palette PNG: colours looked up', () => {
    const palette = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    const idx = Uint8Array.from({ length: px }, (_, i) => i % 4);
    const png = encodePng(W, H, 3, 8, idx, palette);
    const rgb = pixels(png, 3).data;
    for (let i = 0; i < px; i++) expect(Array.from(rgb.subarray(3 * i, 3 * i + 3))).toEqual(Array.from(palette.subarray(3 * idx[i], 3 * idx[i] + 3)));
  });
});

describe('decode: other formats', () => {
  const W = 8;
  const H = 6;
  const rgba = Uint8Array.from({ length: W * H * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 13) % 256));

  it('BMP and lossless WebP are exact', () => {
    for (const enc of ['bmpSync', 'webpLosslessSync'] as const) {
      const bytes = new Uint8Array(codec.Transformer.fromRgbaPixels(rgba, W, H)[enc]());
      const got = pixels(bytes, 4).data;
      expect(Array.from(got), enc).toEqual(Array.from(rgba));
    }
  });

  it('JPEG: a smooth image decodes within a few levels of the source', () => {
    const src = new Uint8Array(32 * 24 * 4);
    for (let y = 0; y < 24; y++) {
      for (let x = 0; x < 32; x++) {
        const o = (y * 32 + x) * 4;
        src[o] = 4 * x + 50;
        src[o + 1] = 5 * y + 40;
        src[o + 2] = 120;
        src[o + 3] = 255;
      }
    }
    const jpg = new Uint8Array(codec.Transformer.fromRgbaPixels(src, 32, 24).jpegSync(95));
    const { data, img } = pixels(jpg, 3);
    expect([img.width, img.height]).toEqual([32, 24]);
    let worst = 0;
    for (let i = 0; i < 32 * 24; i++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(data[3 * i + c] - src[4 * i + c]));
    expect(worst).toBeLessThanOrEqual(8);
  });

  it('garbage, empty and truncated files fail with a message', () => {
    expect(() => K.decode(new Uint8Array(0), codec)).toThrow(/empty/);
    expect(() => K.decode(new TextEncoder().encode('not an image at all'), codec)).toThrow();
    const png = encodePng(4, 4, 2, 8, ramp(48));
    expect(() => K.decode(png.subarray(0, 30), codec)).toThrow();
    expect(() => K.decode(fixture('pattern.gif').subarray(0, 200), codec)).toThrow(/truncated GIF/);
  });
});

describe('GIF (decoded in TypeScript)', () => {
  it('Pillow-written GIFs, plain and interlaced, match the same image as PNG', () => {
    const want = pixels(fixture('pattern.png'), 3).data;
    for (const f of ['pattern.gif', 'pattern-interlaced.gif']) {
      const { data, img } = pixels(fixture(f), 3);
      expect([img.width, img.height, img.channels], f).toEqual([23, 17, 3]);
      expect(Array.from(data), f).toEqual(Array.from(want));
    }
  });

  it('a transparent colour gives alpha 0 (and black in rgb, as TensorFlow)', () => {
    const want = pixels(fixture('pattern-transparent.png'), 4).data;
    const { data, img } = pixels(fixture('pattern-transparent.gif'), 4);
    expect(img.channels).toBe(4);
    let transparent = 0;
    for (let i = 0; i < 23 * 17; i++) {
      expect(data[4 * i + 3]).toBe(want[4 * i + 3]);
      if (want[4 * i + 3] === 255) expect(Array.from(data.subarray(4 * i, 4 * i + 3))).toEqual(Array.from(want.subarray(4 * i, 4 * i + 3)));
      else {
        transparent++;
        expect(Array.from(data.subarray(4 * i, 4 * i + 3))).toEqual([0, 0, 0]);
      }
    }
    expect(transparent).toBeGreaterThan(0);
  });

  it('round-trips random images through an LZW encoder (all code sizes, table resets)', () => {
    for (const [w, h, bits] of [[1, 1, 1], [7, 5, 2], [40, 30, 4], [64, 64, 8], [200, 90, 8]]) {
      const ncol = 1 << bits;
      const palette = Uint8Array.from({ length: ncol * 3 }, (_, i) => (i * 71 + 5) % 256);
      const idx = Uint8Array.from({ length: w * h }, (_, i) => ((i * 2654435761) >>> 13) % ncol);
      for (const runs of [false, true]) {
        const ix = runs ? Uint8Array.from(idx, (_, i) => Math.floor(i / 9) % ncol) : idx;
        const gif = encodeGif(w, h, ix, palette, bits);
        const { data } = pixels(gif, 3);
        for (let i = 0; i < w * h; i++) {
          if (data[3 * i] !== palette[3 * ix[i]] || data[3 * i + 2] !== palette[3 * ix[i] + 2]) {
            throw new Error(`${w}x${h} ${bits} bits runs=${runs}: pixel ${i} is ${data.subarray(3 * i, 3 * i + 3)}, want index ${ix[i]}`);
          }
        }
      }
    }
  });
});

describe('resize (tf.image.resize, antialias off, half-pixel centres)', () => {
  // x [3, 4, 1]
  const x = Float32Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
  const run = (method: string, oh: number, ow: number, src = x, h = 3, w = 4, c = 1) => {
    const out = new Float32Array(oh * ow * c);
    K.resize(src, w, c, 0, 0, h, w, oh, ow, method, out, 0);
    return Array.from(out);
  };
  const close = (got: number[], want: number[], tol = 1e-3) => {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(Math.abs(g - want[i]), `element ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol));
  };

  it('bilinear matches PyTorch (align_corners=False, no antialias: the same formula as TF)', () => {
    close(run('bilinear', 2, 3), [11.6667, 25.0, 38.3333, 71.6667, 85.0, 98.3333]);
    close(run('bilinear', 5, 7), [
      0.0, 3.5714, 9.2857, 15.0, 20.7143, 26.4286, 30.0, 16.0, 19.5714, 25.2857, 31.0, 36.7143, 42.4286, 46.0, 40.0, 43.5714, 49.2857,
      55.0, 60.7143, 66.4286, 70.0, 64.0, 67.5714, 73.2857, 79.0, 84.7143, 90.4286, 94.0, 80.0, 83.5714, 89.2857, 95.0, 100.7143,
      106.4286, 110.0,
    ]);
  });

  it("nearest matches PyTorch's nearest-exact (TF's half-pixel nearest)", () => {
    close(run('nearest', 2, 3), [0, 20, 30, 80, 100, 110]);
    close(run('nearest', 5, 7), [
      0, 0, 10, 20, 20, 30, 30, 0, 0, 10, 20, 20, 30, 30, 40, 40, 50, 60, 60, 70, 70, 80, 80, 90, 100, 100, 110, 110, 80, 80, 90, 100,
      100, 110, 110,
    ]);
  });

  it('bicubic: Keys a = -0.5 reproduces a quadratic inside; constants stay constant at the borders', () => {
    const q = Float32Array.from([0, 10, 40, 90]); // 10 i^2 as a [1, 4, 1] image
    const out = run('bicubic', 1, 8, q, 1, 4, 1);
    // output x=3 samples input 1.25: 10 * 1.25^2 (all four taps inside)
    expect(out[3]).toBeCloseTo(15.625, 4);
    expect(out[4]).toBeCloseTo(10 * 1.75 ** 2, 4);
    const flat = new Float32Array(12).fill(77);
    for (const [oh, ow] of [[5, 7], [2, 3], [1, 1]]) for (const v of run('bicubic', oh, ow, flat)) expect(v).toBeCloseTo(77, 4);
  });

  it('area: integer factors average blocks, fractional ones weigh the overlap', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]); // [4, 4]
    close(run('area', 2, 2, a, 4, 4), [(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4, (9 + 10 + 13 + 14) / 4, (11 + 12 + 15 + 16) / 4], 1e-5);
    const b = Float32Array.from([3, 9, 30]); // [1, 3] -> [1, 2]
    close(run('area', 1, 2, b, 1, 3), [(3 + 0.5 * 9) / 1.5, (0.5 * 9 + 30) / 1.5], 1e-4);
  });

  it('channels are resized independently; same size copies', () => {
    const two = new Float32Array(24);
    for (let i = 0; i < 12; i++) {
      two[2 * i] = x[i];
      two[2 * i + 1] = 200 - x[i];
    }
    const out = run('bilinear', 2, 3, two, 3, 4, 2);
    close(out.filter((_, i) => i % 2 === 0), [11.6667, 25.0, 38.3333, 71.6667, 85.0, 98.3333]);
    close(out.filter((_, i) => i % 2 === 1), [11.6667, 25.0, 38.3333, 71.6667, 85.0, 98.3333].map((v) => 200 - v));
    expect(run('bilinear', 3, 4)).toEqual(Array.from(x));
  });

  it('crop and pad to the aspect ratio as Keras (smart_resize, pad_to_aspect_ratio)', () => {
    expect(K.cropBox(100, 200, 50, 50)).toEqual([0, 50, 100, 100]);
    expect(K.cropBox(300, 100, 10, 20)).toEqual([125, 0, 50, 100]);
    expect(K.cropBox(7, 5, 7, 5)).toEqual([0, 0, 7, 5]);
    const p = K.padImage(Float32Array.from([1, 2, 3, 4]), 1, 4, 1, 2, 2); // [1, 4] padded to [4, 4]
    expect([p.h, p.w]).toEqual([4, 4]);
    expect(Array.from(p.data)).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    // prepare: a [2, 4] image cropped to a square then resized to [2, 2] keeps the middle columns
    const img = { width: 4, height: 2, channels: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
    const r = K.prepare(img, { height: 2, width: 2, channels: 1, interpolation: 'nearest', fit: 'crop' });
    expect(Array.from(r.data)).toEqual([2, 3, 6, 7]);
    const s = K.prepare(img, { height: 2, width: 2, channels: 1, interpolation: 'nearest', fit: 'stretch' });
    expect(Array.from(s.data)).toEqual([2, 4, 6, 8]);
  });
});

describe("NumPy's RandomState(seed).shuffle (the split Keras makes)", () => {
  it('MT19937 gives the reference outputs for seed 5489', () => {
    const r = new MT19937(5489);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
  });

  it('matches np.random.RandomState(seed).shuffle(list(range(n)))', () => {
    const want: Record<number, number[]> = {
      0: [2, 8, 4, 9, 1, 6, 7, 3, 0, 5],
      1: [2, 9, 6, 4, 0, 3, 1, 7, 8, 5],
      123: [4, 0, 7, 5, 8, 3, 1, 6, 9, 2],
      4294967295: [6, 9, 5, 1, 8, 0, 7, 4, 2, 3],
    };
    for (const [seed, w] of Object.entries(want)) {
      const a = Array.from({ length: 10 }, (_, i) => i);
      numpyShuffle(a, Number(seed));
      expect(a, `seed ${seed}`).toEqual(w);
    }
    const big = Array.from({ length: 1000 }, (_, i) => i);
    numpyShuffle(big, 1337);
    expect(big.slice(0, 10)).toEqual([977, 15, 56, 801, 747, 811, 115, 845, 457, 259]);
    expect(big.slice(-5)).toEqual([167, 232, 860, 189, 151]);
    const lab = Int32Array.from({ length: 10 }, (_, i) => i);
    numpyShuffle(lab, 123);
    expect(Array.from(lab)).toEqual(want[123]);
  });

  it("sorts names as Python's sorted() (code points)", () => {
    const names = ['b', 'a', 'B', 'a-b', 'a/b', '\u{1F600}', '\uFFFD', 'é'];
    expect([...names].sort(compareCodePoints)).toEqual(['B', 'a', 'a-b', 'a/b', 'b', 'é', '\uFFFD', '\u{1F600}']);
  });
});
