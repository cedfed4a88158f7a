/**
 * CIFAR-10/100 binary batches (src/data/cifar.ts) on files written here: CHW planes become NHWC pixels, labels,
 * gzip, normalize; malformed input (truncated, labels out of range, a CIFAR-100 file given to the CIFAR-10
 * reader, corrupt gzip), each a DataFormatError naming the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { encodeCifarBatch, readCifar100Batch, readCifar10Batch } from '../../src/data/cifar.js';
import { DataFormatError } from '../../src/data/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'nodegrad-cifar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** Pixel value of image i, row r, column c, channel ch: a pattern that tells every coordinate apart. */
const pix = (i: number, r: number, c: number, ch: number) => (i * 37 + r * 7 + c * 3 + ch * 101) % 256;

/** A CIFAR file by hand: per record, label bytes then the R, G, B planes (row-major 32x32 each). */
function handMade(labels: number[][]): Uint8Array {
  const rec = labels[0].length + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((ls, i) => {
    const b = i * rec;
    ls.forEach((l, k) => (out[b + k] = l));
    for (let ch = 0; ch < 3; ch++) for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) out[b + ls.length + ch * 1024 + r * 32 + c] = pix(i, r, c, ch);
  });
  return out;
}

describe('readCifar10Batch', () => {
  it('decodes the CHW planes into NHWC images [N,32,32,3] and int32 labels', async () => {
    const p = write('data_batch_1.bin', handMade([[3], [9], [0]]));
    const { x, y } = await readCifar10Batch(p);
    expect(x.shape).toEqual([3, 32, 32, 3]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.data)).toEqual([3, 9, 0]);
    const at = (i: number, r: number, c: number, ch: number) => x.data[((i * 32 + r) * 32 + c) * 3 + ch];
    for (const [i, r, c] of [[0, 0, 0], [1, 5, 31], [2, 31, 17], [2, 12, 4]]) {
      for (let ch = 0; ch < 3; ch++) expect(at(i, r, c, ch)).toBe(pix(i, r, c, ch));
    }
    const norm = await readCifar10Batch(write('data_batch_1.bin.gz', gzipSync(handMade([[1]]))), { normalize: true });
    expect(norm.x.data[3 * (5 * 32 + 2) + 1]).toBe(Math.fround(pix(0, 5, 2, 1) / 255));
  });

  it('encodeCifarBatch is the inverse', async () => {
    const { x, y } = await readCifar10Batch(write('enc.bin', handMade([[4], [2]])));
    const back = await readCifar10Batch(write('enc2.bin', encodeCifarBatch(x, y)));
    expect(Array.from(back.x.data)).toEqual(Array.from(x.data));
    expect(Array.from(back.y.data)).toEqual([4, 2]);
  });

  it('rejects truncated files, out-of-range labels, CIFAR-100 files, corrupt gzip and empty files', async () => {
    const ok = handMade([[1], [2]]);
    const cut = write('cut.bin', ok.subarray(0, ok.length - 100));
    await expect(readCifar10Batch(cut)).rejects.toThrow(DataFormatError);
    await expect(readCifar10Batch(cut)).rejects.toThrow(
      `readCifar10Batch: ${cut}: is 6046 bytes, not a whole number of 3073-byte records: 1 records and 2973 bytes left over (truncated, or not a CIFAR binary batch)`,
    );
    const label = write('label.bin', handMade([[1], [12]]));
    await expect(readCifar10Batch(label)).rejects.toThrow(`readCifar10Batch: ${label}: record 1 has class label 12, outside [0, 9] (not a CIFAR-10 batch?)`);
    const c100 = write('train100.bin', handMade([[1, 50], [2, 60], [3, 70]]));
    await expect(readCifar10Batch(c100)).rejects.toThrow('(its size fits CIFAR-100 records: use readCifar100Batch)');
    const gz = Buffer.from(gzipSync(ok));
    const badGz = write('bad.bin.gz', gz.subarray(0, gz.length >> 1));
    await expect(readCifar10Batch(badGz)).rejects.toThrow(`readCifar10Batch: ${badGz}: gzip data is corrupt or truncated`);
    const empty = write('empty.bin', new Uint8Array(0));
    await expect(readCifar10Batch(empty)).rejects.toThrow(`readCifar10Batch: ${empty}: is empty`);
  });
});

describe('readCifar100Batch', () => {
  it('reads coarse and fine labels; y follows labelMode', async () => {
    const p = write('train.bin', handMade([[19, 99], [0, 42]]));
    const b = await readCifar100Batch(p);
    expect(b.x.shape).toEqual([2, 32, 32, 3]);
    expect(Array.from(b.coarse.data)).toEqual([19, 0]);
    expect(Array.from(b.fine.data)).toEqual([99, 42]);
    expect(b.y).toBe(b.fine);
    expect((await readCifar100Batch(p, { labelMode: 'coarse' })).y.toArray()).toEqual([19, 0]);
    expect(b.x.data[((1 * 32 + 3) * 32 + 4) * 3 + 2]).toBe(pix(1, 3, 4, 2));
    const back = await readCifar100Batch(write('train2.bin', encodeCifarBatch(b.x, [b.coarse, b.fine])));
    expect(Array.from(back.fine.data)).toEqual([99, 42]);
  });

  it('rejects coarse labels >= 20, fine labels >= 100 and CIFAR-10 files', async () => {
    const coarse = write('coarse.bin', handMade([[20, 1]]));
    await expect(readCifar100Batch(coarse)).rejects.toThrow(`readCifar100Batch: ${coarse}: record 0 has coarse label 20, outside [0, 19]`);
    const fine = write('fine.bin', handMade([[2, 1], [3, 100]]));
    await expect(readCifar100Batch(fine)).rejects.toThrow(`readCifar100Batch: ${fine}: record 1 has fine label 100, outside [0, 99]`);
    const c10 = write('c10.bin', handMade([[1], [2], [3]]));
    await expect(readCifar100Batch(c10)).rejects.toThrow('(its size fits CIFAR-10 records: use readCifar10Batch)');
    expect(() => encodeCifarBatch(new Tensor(new Float32Array(12), [1, 2, 2, 3]), new Tensor(new Int32Array(1), [1]))).toThrow('encodeCifarBatch: x must be [N, 32, 32, 3], got [1,2,2,3]');
  });
});
