/**
 * The PNG encoder against independent decoders: @napi-rs/image (the Rust `png` crate, the codec the data
 * pipelines use) must give back every pixel exactly, for each colour type, each scanline filter and awkward sizes
 * (1x1, odd widths, rows wider than a deflate window); Pillow (/usr/bin/python3) decodes the same files when it is
 * installed. The chunk layout and CRCs are checked by a small parser here, and the CRC-32 table against known
 * values and node's zlib.crc32. Colormaps: viridis against its published hex values, jet against matplotlib's
 * segment definition evaluated by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { ShapeError, ValueError } from '../../src/errors.js';
import { type PngFilter, type RawImage, crc32, crc32Table, encodePng, writePng } from '../../src/vis/png.js';
import { colormaps } from '../../src/vis/colormap.js';
import { expectError } from '../helpers/errors.js';
import { uniformF64 } from '../helpers/random.js';

const req = createRequire(import.meta.url);
const codec = req('@napi-rs/image') as { Transformer: new (b: Uint8Array) => { metadataSync(): { width: number; height: number; colorType: number }; rawPixelsSync(): Uint8Array } };
// @napi-rs/image's JsColorType: L8 = 0, La8 = 1, Rgb8 = 2, Rgba8 = 3.
const COLOR_TYPE_BY_CHANNELS: Record<number, number> = { 1: 0, 2: 1, 3: 2, 4: 3 };

const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-vis-png-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomImage(width: number, height: number, channels: 1 | 2 | 3 | 4, seed: number): RawImage {
  const u = uniformF64(width * height * channels, seed, 0, 256);
  return { width, height, channels, data: Uint8Array.from(u, Math.floor) };
}

/** A smooth picture (gradients and a disc): what the filters are for, unlike noise. */
function smoothImage(width: number, height: number, channels: 1 | 2 | 3 | 4): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inDisc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (Math.min(width, height) / 3) ** 2;
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = inDisc ? 200 - 40 * c : (x * 7 + y * 3 + c * 50) & 0xff;
    }
  }
  return { width, height, channels, data };
}

function decodeNapi(png: Uint8Array): { width: number; height: number; colorType: number; pixels: Uint8Array } {
  const t = new codec.Transformer(png);
  const md = t.metadataSync();
  return { width: md.width, height: md.height, colorType: md.colorType, pixels: t.rawPixelsSync() };
}

/** Chunks of a PNG: type, data, and whether the stored CRC matches a CRC computed here (the table). */
function chunks(png: Buffer): Array<{ type: string; data: Buffer; crcOk: boolean }> {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out = [];
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    const crcOk = png.readUInt32BE(off + 8 + len) === crc32Table(png.subarray(off + 4, off + 8 + len));
    out.push({ type, data, crcOk });
    off += 12 + len;
  }
  expect(off).toBe(png.length);
  return out;
}

describe('encodePng', () => {
  const FILTERS: PngFilter[] = ['adaptive', 'none', 'sub', 'up', 'average', 'paeth'];

  it('round-trips every pixel through @napi-rs/image: each colour type and filter, random and smooth images', () => {
    let seed = 1;
    for (const channels of [1, 2, 3, 4] as const) {
      for (const [w, h] of [[1, 1], [7, 5], [33, 2], [2, 33]]) {
        for (const img of [randomImage(w, h, channels, seed++), smoothImage(w, h, channels)]) {
          for (const filter of FILTERS) {
            const d = decodeNapi(encodePng(img, { filter }));
            const what = `${w}x${h}x${channels} ${filter}`;
            expect([d.width, d.height, d.colorType], what).toEqual([w, h, COLOR_TYPE_BY_CHANNELS[channels]]);
            expect(Buffer.from(d.pixels).equals(Buffer.from(img.data)), what).toBe(true);
          }
        }
      }
    }
  });

  it('a wide image (rows beyond a 32 KiB deflate window), compression levels 0 and 9', () => {
    const img = smoothImage(12000, 3, 3);
    for (const level of [0, 9]) {
      const d = decodeNapi(encodePng(img, { level }));
      expect(Buffer.from(d.pixels).equals(Buffer.from(img.data))).toBe(true);
    }
  });

  it('writes signature, IHDR (8-bit, colour type 0/4/2/6, no interlace), one IDAT, IEND, each with a valid CRC', () => {
    for (const [channels, type] of [[1, 0], [2, 4], [3, 2], [4, 6]] as const) {
      const img = smoothImage(5, 3, channels);
      const cs = chunks(encodePng(img));
      expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect(cs.every((c) => c.crcOk)).toBe(true);
      const ihdr = cs[0].data;
      expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]]).toEqual([5, 3, 8, type, 0, 0, 0]);
      // The filtered scanlines: one filter byte (0-4) then width * channels bytes per row.
      const raw = zlib.inflateSync(cs[1].data);
      expect(raw.length).toBe(3 * (1 + 5 * channels));
      for (let y = 0; y < 3; y++) expect(raw[y * (1 + 5 * channels)]).toBeLessThanOrEqual(4);
      expect(cs[2].data.length).toBe(0);
    }
  });

  it('the adaptive filter compresses a smooth image better than no filtering', () => {
    const img = smoothImage(256, 256, 3);
    expect(encodePng(img).length).toBeLessThan(encodePng(img, { filter: 'none' }).length);
  });

  it('Pillow decodes the same pixels (when /usr/bin/python3 has PIL)', (ctx) => {
    const py = '/usr/bin/python3';
    const probe = existsSync(py) ? spawnSync(py, ['-c', 'import PIL'], { encoding: 'utf8' }) : null;
    if (!probe || probe.status !== 0) {
      console.log(`skipped: ${existsSync(py) ? `${py} cannot import PIL (apt-get install python3-pil)` : `no ${py}`}`);
      ctx.skip();
      return;
    }
    const cases = ([1, 2, 3, 4] as const).map((c, i) => ({ img: randomImage(9, 4, c, 100 + i), file: join(tmp, `pil-${c}.png`) }));
    for (const { img, file } of cases) writeFileSync(file, encodePng(img));
    const script = 'import sys\nfrom PIL import Image\nfor f in sys.argv[1:]:\n    im = Image.open(f); print(im.mode, im.size[0], im.size[1], im.tobytes().hex())';
    const r = spawnSync(py, ['-c', script, ...cases.map((c) => c.file)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    cases.forEach(({ img }, i) => {
      const [mode, w, h, hex] = lines[i].split(' ');
      expect([mode, Number(w), Number(h)]).toEqual([['L', 'LA', 'RGB', 'RGBA'][img.channels - 1], img.width, img.height]);
      expect(hex).toBe(Buffer.from(img.data).toString('hex'));
    });
  });

  it('rejects bad images and options', () => {
    const ok = randomImage(2, 2, 3, 9);
    expectError(() => encodePng({ ...ok, width: 0 }), ValueError, 'encodePng', 'width');
    expectError(() => encodePng({ ...ok, height: 1.5 }), ValueError, 'height');
    expectError(() => encodePng({ ...ok, channels: 5 as 4 }), ValueError, 'channels');
    expectError(() => encodePng({ ...ok, data: new Uint8Array(11) }), ShapeError, '11 bytes', '2x2x3 needs 12');
    expectError(() => encodePng({ ...ok, data: new Float32Array(12) as unknown as Uint8Array }), ValueError, 'Uint8Array');
    expectError(() => encodePng(ok, { filter: 'best' as PngFilter }), ValueError, "'filter'");
    expectError(() => encodePng(ok, { level: 10 }), ValueError, "'level'");
    expectError(() => encodePng(ok, { lvl: 1 } as object), ValueError, "unknown option 'lvl'");
  });
});

describe('crc32', () => {
  it('matches known values and zlib.crc32', () => {
    expect(crc32Table(Buffer.from('IEND'))).toBe(0xae426082);
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
    expect(crc32Table(new Uint8Array(0))).toBe(0);
    const data = Uint8Array.from(uniformF64(1000, 5, 0, 256), Math.floor);
    expect(crc32(data)).toBe(crc32Table(data));
    // Incremental: the CRC of a concatenation from the CRC of the first part.
    expect(crc32Table(data.subarray(400), crc32Table(data.subarray(0, 400)))).toBe(crc32Table(data));
    const z = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (z) expect(crc32Table(data)).toBe(z(data) >>> 0);
  });
});

describe('writePng', () => {
  it('writes the encoded bytes atomically, creating parent folders, leaving no temp file', () => {
    const img = smoothImage(10, 6, 3);
    const file = join(tmp, 'a', 'b', 'out.png');
    const png = writePng(file, img);
    expect(readFileSync(file).equals(png)).toBe(true);
    expect(png.equals(encodePng(img))).toBe(true);
    // Overwrite in place: still one file, the new content.
    const img2 = randomImage(3, 3, 1, 11);
    writePng(file, img2);
    expect(readdirSync(join(tmp, 'a', 'b'))).toEqual(['out.png']);
    expect(Buffer.from(decodeNapi(readFileSync(file)).pixels).equals(Buffer.from(img2.data))).toBe(true);
  });

  it('rejects a bad path or image without writing', () => {
    expectError(() => writePng('', randomImage(1, 1, 1, 1)), ValueError, "'path'");
    const file = join(tmp, 'never.png');
    expectError(() => writePng(file, { width: 2, height: 2, channels: 1, data: new Uint8Array(3) }), ShapeError, 'writePng', '3 bytes');
    expect(existsSync(file)).toBe(false);
  });
});

describe('colormaps', () => {
  const rgb = (table: Uint8Array, i: number) => [table[3 * i], table[3 * i + 1], table[3 * i + 2]];
  const hex = (s: string) => [1, 3, 5].map((k) => parseInt(s.slice(k, k + 2), 16));

  it('viridis: 256 entries, the published colours at 0, 1/4, 1/2, 3/4 and 1', () => {
    expect(colormaps.viridis.length).toBe(768);
    expect(rgb(colormaps.viridis, 0)).toEqual(hex('#440154'));
    expect(rgb(colormaps.viridis, 64)).toEqual(hex('#3b528b'));
    expect(rgb(colormaps.viridis, 128)).toEqual(hex('#21918c'));
    expect(rgb(colormaps.viridis, 192)).toEqual(hex('#5ec962'));
    expect(rgb(colormaps.viridis, 255)).toEqual(hex('#fde725'));
    // Perceptually uniform: no jumps between neighbours (a mistyped entry would show as one).
    for (let i = 1; i < 256; i++) for (let c = 0; c < 3; c++) expect(Math.abs(colormaps.viridis[3 * i + c] - colormaps.viridis[3 * i - 3 + c])).toBeLessThanOrEqual(3);
  });

  it("jet: matplotlib's segments, sampled at i / 255", () => {
    expect(colormaps.jet.length).toBe(768);
    expect(rgb(colormaps.jet, 0)).toEqual([0, 0, 128]); // blue 0.5
    expect(rgb(colormaps.jet, 255)).toEqual([128, 0, 0]); // red 0.5
    // x = 128/255: red (x - 0.35) / 0.31, green 1, blue 1 - (x - 0.34) / 0.31.
    const x = 128 / 255;
    expect(rgb(colormaps.jet, 128)).toEqual([Math.round(((x - 0.35) / 0.31) * 255), 255, Math.round((1 - (x - 0.34) / 0.31) * 255)]);
    // x = 32/255 (0.1255 > 0.125): green just above 0 ((x - 0.125) / 0.25), blue (0.5 + 0.5 (x / 0.11) capped at 1) = 1.
    const x2 = 32 / 255;
    expect(rgb(colormaps.jet, 32)).toEqual([0, Math.round(((x2 - 0.125) / 0.25) * 255), 255]);
    expect(rgb(colormaps.jet, 10)).toEqual([0, 0, Math.round((0.5 + 0.5 * (10 / 255 / 0.11)) * 255)]);
  });

  it('gray is the identity', () => {
    for (const i of [0, 1, 127, 255]) expect(rgb(colormaps.gray, i)).toEqual([i, i, i]);
  });
});
