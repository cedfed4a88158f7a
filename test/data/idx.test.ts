/**
 * IDX reader (src/data/idx.ts) on files written here: every element type, gzipped or not, labels and images as a
 * pair; and malformed input (wrong magic, truncated header and data, trailing bytes, gzip corruption, label
 * count != image count, a missing file), each a DataFormatError naming the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { encodeIdx, isGzip, loadIdxDataset, parseIdx, readIdx, type IdxType } from '../../src/data/idx.js';
import { DataFormatError } from '../../src/data/errors.js';
import { DTypeError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'nodegrad-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** An IDX file by hand (big-endian header), independent of encodeIdx. */
function handMade(code: number, shape: number[], body: number[]): Uint8Array {
  const h = Buffer.alloc(4 + 4 * shape.length);
  h[2] = code;
  h[3] = shape.length;
  shape.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(body)]);
}

describe('readIdx', () => {
  it('reads uint8 images as float32 and uint8 labels as int32, gzipped or not', async () => {
    const img = handMade(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    const lab = handMade(0x08, [2], [7, 9]);
    for (const gz of [false, true]) {
      const x = await readIdx(write(`img${gz}.idx`, gz ? gzipSync(img) : img));
      expect(x.dtype).toBe('float32');
      expect(x.shape).toEqual([2, 2, 3]);
      expect(Array.from(x.data)).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
      const y = await readIdx(write(`lab${gz}.idx`, gz ? gzipSync(lab) : lab));
      expect(y.dtype).toBe('int32');
      expect(Array.from(y.data)).toEqual([7, 9]);
    }
    expect((await readIdx(write('lab-f.idx', lab), { dtype: 'float32' })).dtype).toBe('float32');
    expect((await readIdx(write('img-i.idx', img), { dtype: 'int32' })).dtype).toBe('int32');
  });

  it('decodes every IDX type (big-endian), and encodeIdx round-trips them', async () => {
    // int8 -1, 127; int16 -2, 300; int32 -70000; float32 1.5; float64 -0.25
    expect(Array.from(parseIdx(handMade(0x09, [2], [0xff, 0x7f])).data)).toEqual([-1, 127]);
    expect(Array.from(parseIdx(handMade(0x0b, [2], [0xff, 0xfe, 0x01, 0x2c])).data)).toEqual([-2, 300]);
    expect(Array.from(parseIdx(handMade(0x0c, [1], [0xff, 0xfe, 0xee, 0x90])).data)).toEqual([-70000]);
    expect(Array.from(parseIdx(handMade(0x0d, [1, 1], [0x3f, 0xc0, 0, 0])).data)).toEqual([1.5]);
    expect(Array.from(parseIdx(handMade(0x0e, [1, 1], [0xbf, 0xd0, 0, 0, 0, 0, 0, 0])).data)).toEqual([-0.25]);
    const cases: Array<[IdxType, number[], 'int32' | 'float32']> = [
      ['uint8', [0, 128, 255], 'int32'],
      ['int8', [-128, 0, 127], 'int32'],
      ['int16', [-32768, 1, 32767], 'int32'],
      ['int32', [-2147483648, 5, 2147483647], 'int32'],
      ['float32', [-1.5, 0, 3.25], 'float32'],
      ['float64', [1e-3, -2, 1e10], 'float32'],
    ];
    for (const [type, vals, dtype] of cases) {
      const p = write(`rt-${type}.idx.gz`, encodeIdx(vals, [3], type, { gzip: true }));
      const t = await readIdx(p);
      expect(t.dtype).toBe(dtype);
      expect(Array.from(t.data)).toEqual(dtype === 'int32' ? vals : Array.from(new Float32Array(vals)));
      const t2 = parseIdx(encodeIdx(vals, [1, 3], type));
      expect(t2.shape).toEqual([1, 3]);
      expect(t2.dtype).toBe('float32');
    }
    expect(() => encodeIdx([256], [1], 'uint8')).toThrow('encodeIdx: value 256 at index 0 does not fit uint8');
    expect(() => parseIdx(handMade(0x0d, [1], [0, 0, 0, 0]), { dtype: 'int32' })).toThrow(DTypeError);
    expect(isGzip(gzipSync(new Uint8Array(3)))).toBe(true);
  });

  it('rejects a wrong magic number, naming the file and what was found', async () => {
    const p = write('magic.idx', Buffer.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0]));
    await expect(readIdx(p)).rejects.toThrow(DataFormatError);
    await expect(readIdx(p)).rejects.toThrow(`readIdx: ${p}: wrong magic number 0x12340801: an IDX file starts with 00 00, a type code`);
    const badType = write('type.idx', handMade(0x0a, [1], [0]));
    await expect(readIdx(badType)).rejects.toThrow(`readIdx: ${badType}: wrong magic number 0x00000a01`);
    const gzMagic = write('magic.idx.gz', gzipSync(Buffer.from('PK\x03\x04 not idx')));
    await expect(readIdx(gzMagic)).rejects.toThrow(`readIdx: ${gzMagic}: wrong magic number 0x504b0304 (after gunzip)`);
  });

  it('rejects truncated files and trailing bytes', async () => {
    const full = handMade(0x08, [3, 2, 2], Array.from({ length: 12 }, (_, i) => i));
    const short = write('short.idx', full.subarray(0, full.length - 5));
    await expect(readIdx(short)).rejects.toThrow(`readIdx: ${short}: is truncated: its header announces uint8 [3,2,2], 12 bytes of data, but 7 follow`);
    const header = write('header.idx', full.subarray(0, 9));
    await expect(readIdx(header)).rejects.toThrow(`readIdx: ${header}: is truncated: 9 bytes, but the header of 3 dimensions needs 16`);
    const tiny = write('tiny.idx', full.subarray(0, 2));
    await expect(readIdx(tiny)).rejects.toThrow(`readIdx: ${tiny}: is 2 bytes long, shorter than the 4-byte IDX header (truncated?)`);
    const extra = write('extra.idx', Buffer.concat([full, Buffer.from([1, 2])]));
    await expect(readIdx(extra)).rejects.toThrow(`readIdx: ${extra}: has 2 bytes after the uint8 [3,2,2] data its header announces`);
    // Truncated inside the data, after gunzip.
    const gzShort = write('short.idx.gz', gzipSync(full.subarray(0, 20)));
    await expect(readIdx(gzShort)).rejects.toThrow(`readIdx: ${gzShort}: is truncated (after gunzip)`);
  });

  it('rejects corrupt and truncated gzip data', async () => {
    const gz = Buffer.from(gzipSync(handMade(0x08, [64, 8], Array.from({ length: 512 }, (_, i) => (i * 7) % 256))));
    const cut = write('cut.idx.gz', gz.subarray(0, gz.length - 12));
    await expect(readIdx(cut)).rejects.toThrow(`readIdx: ${cut}: gzip data is corrupt or truncated (`);
    const flipped = Buffer.from(gz);
    flipped[20] ^= 0xff;
    flipped[21] ^= 0xff;
    const bad = write('bad.idx.gz', flipped);
    await expect(readIdx(bad)).rejects.toThrow(`readIdx: ${bad}: gzip data is corrupt or truncated (`);
    const missing = join(dir, 'nope.idx');
    await expect(readIdx(missing)).rejects.toThrow(`readIdx: ${missing}: no such file`);
  });
});

describe('loadIdxDataset', () => {
  it('pairs images and labels: x [N,H,W,1] float32, y [N] int32; normalize divides by 255', async () => {
    const imgs = write('pair-img.gz', encodeIdx([0, 51, 255, 102, 0, 0, 0, 255], [2, 2, 2], 'uint8', { gzip: true }));
    const labs = write('pair-lab', encodeIdx([3, 1], [2], 'uint8'));
    const { x, y } = await loadIdxDataset(imgs, labs);
    expect(x.shape).toEqual([2, 2, 2, 1]);
    expect(Array.from(x.data)).toEqual([0, 51, 255, 102, 0, 0, 0, 255]);
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual([3, 1]);
    const n = await loadIdxDataset(imgs, labs, { normalize: true });
    expect(Array.from(n.x.data)).toEqual([0, 0.2, 1, 0.4, 0, 0, 0, 1].map(Math.fround));
  });

  it('rejects a label count that differs from the image count, and swapped files', async () => {
    const imgs = write('cnt-img', encodeIdx(new Array(12).fill(0), [3, 2, 2]));
    const labs = write('cnt-lab', encodeIdx([1, 2], [2]));
    await expect(loadIdxDataset(imgs, labs)).rejects.toThrow(new DataFormatError('loadIdxDataset', labs, `has 2 labels but ${imgs} has 3 images`));
    await expect(loadIdxDataset(labs, imgs)).rejects.toThrow(`loadIdxDataset: ${labs}: holds [2] data; images are [N, H, W] or [N, H, W, C] (is this the labels file?)`);
  });
});
