/**
 * Image encoders for the image tests, independent of the decoders under test: PNG (zlib + CRC, filter 0,
 * every colour type and 8/16-bit samples) and GIF (a standard LZW encoder, the table-growth rule of
 * giflib/omggif), plus a folder writer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A PNG of colour type 0 (grey), 2 (RGB), 3 (palette), 4 (grey+alpha) or 6 (RGBA); samples row-major, interleaved. */
export function encodePng(w: number, h: number, colorType: 0 | 2 | 3 | 4 | 6, bitDepth: 8 | 16, samples: ArrayLike<number>, palette?: Uint8Array): Uint8Array {
  const c = CHANNELS[colorType];
  const bps = bitDepth / 8;
  if (samples.length !== w * h * c) throw new Error(`encodePng: ${samples.length} samples for ${w}x${h}x${c}`);
  const stride = w * c * bps;
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const o = y * (stride + 1); // filter byte 0 (none)
    for (let i = 0; i < w * c; i++) {
      const v = samples[y * w * c + i];
      if (bps === 1) raw[o + 1 + i] = v;
      else {
        raw[o + 1 + 2 * i] = v >>> 8;
        raw[o + 2 + 2 * i] = v & 0xff;
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr)];
  if (colorType === 3) parts.push(chunk('PLTE', palette!));
  parts.push(chunk('IDAT', new Uint8Array(deflateSync(raw))), chunk('IEND', new Uint8Array(0)));
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A GIF89a of colour indices with a global palette of 2^bits colours (LZW-compressed). */
export function encodeGif(w: number, h: number, idx: Uint8Array, palette: Uint8Array, bits: number): Uint8Array {
  const ncol = 1 << bits;
  const head = [...'GIF89a'].map((ch) => ch.charCodeAt(0));
  head.push(w & 0xff, w >> 8, h & 0xff, h >> 8, 0x80 | (bits - 1), 0, 0);
  const gct = new Uint8Array(ncol * 3);
  gct.set(palette.subarray(0, ncol * 3));
  const desc = [0x2c, 0, 0, 0, 0, w & 0xff, w >> 8, h & 0xff, h >> 8, 0];
  const minSize = Math.max(2, bits);
  const lzw = lzwEncode(minSize, idx);
  const blocks: number[] = [minSize];
  for (let i = 0; i < lzw.length; i += 255) {
    const n = Math.min(255, lzw.length - i);
    blocks.push(n, ...lzw.subarray(i, i + n));
  }
  blocks.push(0, 0x3b);
  return concat([Uint8Array.from(head), gct, Uint8Array.from(desc), Uint8Array.from(blocks)]);
}

function lzwEncode(minSize: number, idx: Uint8Array): Uint8Array {
  const clear = 1 << minSize;
  const eoi = clear + 1;
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  let size = minSize + 1;
  const emit = (code: number) => {
    acc |= code << nbits;
    nbits += size;
    while (nbits >= 8) {
      out.push(acc & 0xff);
      acc >>>= 8;
      nbits -= 8;
    }
  };
  let table = new Map<number, number>();
  let next = eoi + 1;
  emit(clear);
  let prefix = idx[0];
  for (let i = 1; i < idx.length; i++) {
    const k = idx[i];
    const key = prefix * 256 + k;
    const hit = table.get(key);
    if (hit !== undefined) {
      prefix = hit;
      continue;
    }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      table = new Map();
      next = eoi + 1;
      size = minSize + 1;
    } else {
      if (next >= 1 << size) size++;
      table.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (nbits > 0) out.push(acc & 0xff);
  return Uint8Array.from(out);
}

/** Writes files (creating folders). */
export function writeFiles(files: Record<string, Uint8Array | string>): void {
  for (const [p, data] of Object.entries(files)) {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }
}
