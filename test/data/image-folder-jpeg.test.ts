/**
 * The greyscale JPEG decoder of src/data/image.ts (baseline / extended sequential, one component), which
 * replaces the codec's call for such files because it costs less CPU per small picture (issue 5: decoding
 * competes with training). Its output must be bit-identical to the codec's (@napi-rs/image, i.e. zune-jpeg),
 * so each test decodes a file both ways. The files come from the encoder below (independent of the decoder:
 * a float DCT, IJG quality scaling, the Annex K Huffman tables or permuted/custom ones so that long codes
 * are common, restart intervals, 8- and 16-bit quantisation tables). Anything else must return null, so that
 * the codec decodes it (or reports the error) exactly as before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernels as K, imageWorkers } from '../../src/data/image.js';
import { imageDatasetFromDirectory } from '../../src/data/image-folder.js';
import { writeFiles } from './image-folder-helpers.js';

const codec = createRequire(import.meta.url)('@napi-rs/image');

// --------------------------------------------------------------------------------------------------
// A greyscale JPEG encoder (ITU T.81)

const ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35,
  42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63];
const LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/** A DC table with one code of each length 1..12: the common small sizes get the longest codes when permuted. */
const DC_CHAIN_BITS = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
/** Annex K's AC symbols (162: end-of-block, zero run, every run/size pair), most frequent first. */
const AC_STD_VALS = [0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32,
  0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19,
  0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53,
  0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
  0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
  0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6,
  0xf7, 0xf8, 0xf9, 0xfa];

interface JpegOptions {
  quality?: number;
  /** Restart interval in MCUs (0: none). */
  restart?: number;
  /** 'standard' (Annex K), 'reversed' (the same code lengths, symbols in reverse: frequent symbols get long codes). */
  tables?: 'standard' | 'reversed';
  /** 16-bit quantisation table entries (extended sequential, SOF1). */
  table16?: boolean;
}

function huffman(bits: number[], vals: number[]): Map<number, [number, number]> {
  const t = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) t.set(vals[k++], [code++, len]);
    code <<= 1;
  }
  return t;
}

const COS = Float64Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i % 8) + 1) * Math.floor(i / 8) * Math.PI) / 16));

/** A grey w x h picture (bytes, row-major) as a single-component sequential JPEG. */
function encodeGrayJpeg(px: Uint8Array, w: number, h: number, o: JpegOptions = {}): Uint8Array {
  const quality = o.quality ?? 90;
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const cap = o.table16 ? 32767 : 255;
  const q = LUMA_Q.map((v) => Math.min(cap, Math.max(1, Math.floor((v * scale + 50) / 100))));
  const reversed = o.tables === 'reversed';
  const dcBits = reversed ? DC_CHAIN_BITS : DC_BITS;
  const dcVals = reversed ? [...DC_VALS].reverse() : DC_VALS;
  const acVals = reversed ? [...AC_STD_VALS].reverse() : AC_STD_VALS;
  const dcCodes = huffman(dcBits, dcVals);
  const acCodes = huffman(AC_BITS, acVals);
  const out: number[] = [];
  let acc = 0;
  let nacc = 0;
  const put = (code: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++nacc === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0);
        acc = 0;
        nacc = 0;
      }
    }
  };
  const flush = () => {
    if (nacc > 0) put(0x7f, 8 - nacc); // pad with ones
  };
  const cat = (v: number) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));
  const bitsOf = (v: number, n: number) => (v < 0 ? v + (1 << n) - 1 : v);
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  let prevDc = 0;
  let mcu = 0;
  let rst = 0;
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      if (o.restart && mcu > 0 && mcu % o.restart === 0) {
        flush();
        out.push(0xff, 0xd0 + (rst++ & 7));
        prevDc = 0;
      }
      mcu++;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = px[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)] - 128;
      for (let y = 0; y < 8; y++) {
        for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let x = 0; x < 8; x++) s += block[y * 8 + x] * COS[u * 8 + x];
          tmp[y * 8 + u] = (s * (u === 0 ? Math.SQRT1_2 : 1)) / 2;
        }
      }
      const coef = new Int32Array(64);
      for (let u = 0; u < 8; u++) {
        for (let v = 0; v < 8; v++) {
          let s = 0;
          for (let y = 0; y < 8; y++) s += tmp[y * 8 + u] * COS[v * 8 + y];
          coef[v * 8 + u] = Math.round((s * (v === 0 ? Math.SQRT1_2 : 1)) / 2 / q[ZIGZAG.indexOf(v * 8 + u)]);
        }
      }
      const diff = coef[0] - prevDc;
      prevDc = coef[0];
      const c0 = cat(diff);
      put(...dcCodes.get(c0)!);
      if (c0) put(bitsOf(diff, c0), c0);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const v = coef[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        while (run >= 16) {
          put(...acCodes.get(0xf0)!);
          run -= 16;
        }
        const c = cat(v);
        put(...acCodes.get((run << 4) | c)!);
        put(bitsOf(v, c), c);
        run = 0;
      }
      if (run > 0) put(...acCodes.get(0x00)!);
    }
  }
  flush();
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const dqt = o.table16 ? [0x10, ...ZIGZAG.flatMap((z) => [q[z] >> 8, q[z] & 0xff])] : [0, ...ZIGZAG.map((z) => q[z])];
  const head = [
    0xff, 0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...seg(0xfe, [...new TextEncoder().encode('nodegrad test')]),
    ...seg(0xdb, dqt),
    ...seg(o.table16 ? 0xc1 : 0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, ...dcBits, ...dcVals, 0x10, ...AC_BITS, ...acVals]),
    ...(o.restart ? seg(0xdd, [o.restart >> 8, o.restart & 0xff]) : []),
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
  ];
  return Uint8Array.from([...head, ...out, 0xff, 0xd9]);
}

// --------------------------------------------------------------------------------------------------
// Pictures

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

type Kind = 'noise' | 'smooth' | 'flat' | 'extremes' | 'edges';

function picture(kind: Kind, w: number, h: number, seed: number): Uint8Array {
  const r = rng(seed);
  const px = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v: number;
      if (kind === 'noise') v = r() * 256;
      else if (kind === 'smooth') v = 128 + 100 * Math.sin(x / 5 + seed) * Math.cos(y / 7);
      else if (kind === 'flat') v = 40 + 20 * Math.floor(x / 8) + 30 * Math.floor(y / 8); // constant per 8x8 block: DC only
      else if (kind === 'extremes') v = (x + y) % 2 === 0 ? 0 : 255; // overshoots: clamping
      else v = ((x >> 2) + (y >> 3)) % 2 === 0 ? 10 + 20 * r() : 230 + 20 * r();
      px[y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return px;
}

function codecPixels(jpg: Uint8Array): Uint8Array {
  return new Uint8Array(new codec.Transformer(jpg).rawPixelsSync());
}

function expectSameAsCodec(jpg: Uint8Array, w: number, h: number, what: string): void {
  const mine = K.decodeGrayJpeg(jpg);
  expect(mine, `${what}: the fast path declined it`).not.toBeNull();
  expect([mine!.width, mine!.height, mine!.channels], what).toEqual([w, h, 1]);
  const ref = codecPixels(jpg);
  expect(ref.length, what).toBe(w * h);
  let first = -1;
  for (let i = 0; i < ref.length && first < 0; i++) if (ref[i] !== mine!.data[i]) first = i;
  expect(first, `${what}: first differing pixel (codec ${ref[first]}, here ${mine!.data[first]})`).toBe(-1);
}

// --------------------------------------------------------------------------------------------------

describe('greyscale JPEG: bit-identical to the codec', () => {
  it('sizes, qualities and picture kinds', () => {
    const sizes: Array<[number, number]> = [[1, 1], [8, 8], [7, 9], [28, 28], [33, 17], [64, 48], [100, 3], [3, 70]];
    const kinds: Kind[] = ['noise', 'smooth', 'flat', 'extremes', 'edges'];
    let n = 0;
    for (const [w, h] of sizes) {
      for (const kind of kinds) {
        for (const quality of [5, 50, 90, 100]) {
          const jpg = encodeGrayJpeg(picture(kind, w, h, n), w, h, { quality });
          expectSameAsCodec(jpg, w, h, `${w}x${h} ${kind} q${quality}`);
          n++;
        }
      }
    }
  });

  it('long Huffman codes (frequent symbols on 9-16 bit codes), restart intervals, 16-bit quantisation tables', () => {
    const cases: Array<[string, JpegOptions]> = [
      ['reversed tables', { tables: 'reversed' }],
      ['reversed tables q100', { tables: 'reversed', quality: 100 }],
      ['restart every MCU', { restart: 1 }],
      ['restart every 3 MCUs', { restart: 3 }],
      ['restart every 5, reversed, q20', { restart: 5, tables: 'reversed', quality: 20 }],
      ['16-bit tables (SOF1)', { table16: true, quality: 3 }],
      ['16-bit tables q75 with restarts', { table16: true, quality: 75, restart: 2 }],
    ];
    let seed = 100;
    for (const [what, opts] of cases) {
      for (const [w, h] of [[28, 28], [41, 19], [80, 64]] as const) {
        for (const kind of ['noise', 'smooth', 'edges'] as const) {
          expectSameAsCodec(encodeGrayJpeg(picture(kind, w, h, seed++), w, h, opts), w, h, `${what} ${w}x${h} ${kind}`);
        }
      }
    }
  });

  it('decode() takes the fast path (up to 64x64) and hands back 1-channel 8-bit pixels; the folder reader gives the same values', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nodegrad-jpeg-'));
    try {
      const files: Record<string, Uint8Array> = {};
      const want: Uint8Array[] = [];
      for (let i = 0; i < 5; i++) {
        const jpg = encodeGrayJpeg(picture(i % 2 ? 'noise' : 'smooth', 20, 12, i), 20, 12, { quality: 60 + 8 * i });
        files[join(root, 'c', `f${i}.jpg`)] = jpg;
        want.push(codecPixels(jpg));
      }
      writeFiles(files);
      const img = K.decode(files[join(root, 'c', 'f0.jpg')], codec);
      expect(img.channels).toBe(1);
      expect(img.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(img.data)).toEqual(Array.from(want[0]));
      // over 64x64 pixels decode() leaves it to the codec (faster there); the fast path itself has no limit
      const big = encodeGrayJpeg(picture('smooth', 65, 64, 9), 65, 64);
      expect(K.decodeGrayJpeg(big, 64 * 64)).toBeNull();
      expect(Array.from(K.decode(big, codec).data)).toEqual(Array.from(codecPixels(big)));
      for (const colorMode of ['grayscale', 'rgb'] as const) {
        const ds = await imageDatasetFromDirectory(root, { imageSize: [12, 20], colorMode, shuffle: false, batchSize: 5, verbose: false });
        const batches = await ds.toArray();
        expect(batches.length).toBe(1);
        const x = batches[0].x;
        const c = colorMode === 'rgb' ? 3 : 1;
        expect(x.shape).toEqual([5, 12, 20, c]);
        const data = x.data;
        for (let i = 0; i < 5; i++) {
          for (let p = 0; p < 240; p++) for (let k = 0; k < c; k++) expect(data[(i * 240 + p) * c + k]).toBe(want[i][p]);
        }
      }
    } finally {
      await imageWorkers.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('greyscale JPEG: anything else goes to the codec', () => {
  const base = encodeGrayJpeg(picture('smooth', 24, 16, 1), 24, 16);
  const sofAt = base.findIndex((v, i) => v === 0xff && base[i + 1] === 0xc0);
  const patched = (offset: number, value: number) => {
    const b = Uint8Array.from(base);
    b[sofAt + offset] = value;
    return b;
  };

  it('declines colour, progressive, arithmetic, 12-bit and subsampled headers, and non-JPEG bytes', () => {
    const rgba = new Uint8Array(16 * 8 * 4).map((_, i) => (i * 29) % 256);
    const colour = new Uint8Array(codec.Transformer.fromRgbaPixels(rgba, 16, 8).jpegSync(90));
    expect(K.decodeGrayJpeg(colour)).toBeNull();
    expect(K.decode(colour, codec).channels).toBe(3); // the codec decoded it
    expect(K.decodeGrayJpeg(patched(1, 0xc2))).toBeNull(); // progressive
    expect(K.decodeGrayJpeg(patched(1, 0xc9))).toBeNull(); // arithmetic coding
    expect(K.decodeGrayJpeg(patched(4, 12))).toBeNull(); // 12-bit samples
    expect(K.decodeGrayJpeg(patched(11, 0x22))).toBeNull(); // sampling factors 2x2
    expect(K.decodeGrayJpeg(patched(6, 0))).toBeNull(); // height 0 (a DNL marker would follow)
    expect(K.decodeGrayJpeg(new TextEncoder().encode('not a jpeg'))).toBeNull();
    expect(K.decodeGrayJpeg(base.subarray(0, 3))).toBeNull();
  });

  it('declines invalid Huffman tables and truncated data; the codec then decides (same result or same error as before)', () => {
    const dht = base.findIndex((v, i) => v === 0xff && base[i + 1] === 0xc4);
    const bad = Uint8Array.from(base);
    bad[dht + 5] = 1; // DC table: one code of 1 bit, one of 2, four of 3 bits: more codes than fit
    bad[dht + 7] = 4;
    expect(K.decodeGrayJpeg(bad)).toBeNull();
    const sos = base.findIndex((v, i) => v === 0xff && base[i + 1] === 0xda);
    for (const cut of [sos + 12, sos + 40, base.length - 40, base.length - 3]) {
      const t = base.subarray(0, cut);
      const mine = K.decodeGrayJpeg(t);
      if (mine === null) continue; // the codec decodes or rejects it, as without the fast path
      expect(Array.from(mine.data), `cut at ${cut}`).toEqual(Array.from(codecPixels(t)));
    }
    // without an end marker the data still decodes, identically
    expectSameAsCodec(base.subarray(0, base.length - 2), 24, 16, 'no EOI');
  });

  it('declines what the codec rejects: a DC symbol over 15, a scan naming another component', () => {
    const dht = base.findIndex((v, i) => v === 0xff && base[i + 1] === 0xc4);
    const dcSym = Uint8Array.from(base);
    dcSym[dht + 5 + 16 + 11] = 0x1f; // the DC table's last symbol (size 11) becomes 31
    expect(() => codecPixels(dcSym)).toThrow();
    expect(K.decodeGrayJpeg(dcSym)).toBeNull();
    const sos = base.findIndex((v, i) => v === 0xff && base[i + 1] === 0xda);
    const comp = Uint8Array.from(base);
    comp[sos + 5] = 7; // the component the frame does not have
    expect(() => codecPixels(comp)).toThrow();
    expect(K.decodeGrayJpeg(comp)).toBeNull();
  });

  it('corrupted headers: whatever it decodes, the codec decodes the same (it never accepts what the codec rejects)', () => {
    const r = rng(11);
    const srcs = [base, encodeGrayJpeg(picture('noise', 30, 20, 5), 30, 20, { restart: 2, tables: 'reversed' })];
    let decoded = 0;
    for (let t = 0; t < 1500; t++) {
      const src = srcs[t % srcs.length];
      const b = Uint8Array.from(src);
      const end = src.findIndex((v, i) => v === 0xff && src[i + 1] === 0xda) + 10;
      for (let k = 0; k <= t % 2; k++) {
        const i = 2 + Math.floor(r() * (end - 2));
        b[i] = r() < 0.5 ? Math.floor(r() * 256) : b[i] ^ (1 << Math.floor(r() * 8));
      }
      const mine = K.decodeGrayJpeg(b);
      if (mine === null) continue;
      decoded++;
      let ref: Uint8Array;
      try {
        ref = codecPixels(b);
      } catch (e) {
        throw new Error(`trial ${t}: the fast path decoded a file the codec rejects (${(e as Error).message})`);
      }
      expect(Array.from(mine.data), `trial ${t}`).toEqual(Array.from(ref));
    }
    expect(decoded).toBeGreaterThan(100);
  });

  it('corrupted entropy-coded data: never throws; whatever it decodes, the codec decodes the same', () => {
    const r = rng(7);
    const src = encodeGrayJpeg(picture('noise', 40, 32, 3), 40, 32, { quality: 80, restart: 4 });
    const sos = src.findIndex((v, i) => v === 0xff && src[i + 1] === 0xda);
    let decoded = 0;
    for (let t = 0; t < 300; t++) {
      const b = Uint8Array.from(src);
      for (let k = 0; k < 1 + (t % 3); k++) b[sos + 10 + Math.floor(r() * (b.length - sos - 12))] = Math.floor(r() * 256);
      const mine = K.decodeGrayJpeg(b);
      if (mine === null) continue;
      decoded++;
      let ref: Uint8Array;
      try {
        ref = codecPixels(b);
      } catch (e) {
        throw new Error(`trial ${t}: the fast path decoded a file the codec rejects (${(e as Error).message})`);
      }
      expect(Array.from(mine.data), `trial ${t}`).toEqual(Array.from(ref));
    }
    expect(decoded).toBeGreaterThan(0);
  });
});

afterAll(() => imageWorkers.close());
