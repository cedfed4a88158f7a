/**
 * imageDatasetFromDirectory on folders written by the test: listing and class order, labels in every mode,
 * colour modes, resizing, Keras' seeded split, per-epoch reshuffling, invalid files and folders, and
 * training with fit.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import { imageDatasetFromDirectory, numpyShuffle, type LabeledImageBatch } from '../../src/data/image-folder.js';
import { ImageDecodeError, imageWorkers, loadImage } from '../../src/data/image.js';
import { DataFormatError } from '../../src/data/errors.js';
import { layers, manualSeed, optimizers, sequential } from '../../src/index.js';
import { encodePng, writeFiles } from './image-folder-helpers.js';

const codec = createRequire(import.meta.url)('@napi-rs/image');
let root: string;
const Q = { verbose: false } as const;

/** A 4x6 grey PNG whose every pixel is v. */
const flat = (v: number, w = 6, h = 4) => encodePng(w, h, 0, 8, new Uint8Array(w * h).fill(v));
/** A 4x6 RGB PNG, every pixel [r, g, b]. */
const flatRgb = (r: number, g: number, b: number, w = 6, h = 4) => encodePng(w, h, 2, 8, Uint8Array.from({ length: w * h * 3 }, (_, i) => [r, g, b][i % 3]));

/** The value of the first pixel of every image of a batch (identifies the file). */
function ids(x: Tensor): number[] {
  const per = x.size / x.shape[0];
  return Array.from({ length: x.shape[0] }, (_, i) => x.data[i * per]);
}

async function collect<T>(ds: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of ds) out.push(b);
  return out;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nodegrad-imgfolder-'));
  // main/: classes 'b_dog' (3 files), 'a_cat' (2 files + 1 nested), a hidden folder, a loose file, a text file.
  writeFiles({
    [join(root, 'main/b_dog/x1.png')]: flat(30),
    [join(root, 'main/b_dog/x0.png')]: flat(20),
    [join(root, 'main/b_dog/X2.PNG')]: flat(40),
    [join(root, 'main/a_cat/c.png')]: flat(10),
    [join(root, 'main/a_cat/b.png')]: flat(5),
    [join(root, 'main/a_cat/sub/a.png')]: flat(15),
    [join(root, 'main/a_cat/notes.txt')]: 'not an image',
    [join(root, 'main/.hidden/h.png')]: flat(99),
    [join(root, 'main/loose.png')]: flat(98),
  });
  // many/: 3 classes x 8 files, file k of class c has value 10 * c + k + 1 (unique ids).
  const many: Record<string, Uint8Array> = {};
  for (let c = 0; c < 3; c++) for (let k = 0; k < 8; k++) many[join(root, `many/c${c}/f${k}.png`)] = flat(10 * c + k + 1);
  writeFiles(many);
});

afterAll(async () => {
  await imageWorkers.close();
  rmSync(root, { recursive: true, force: true });
});

describe('listing and labels', () => {
  it('sorted class folders, recursive listing, Keras order, int labels', async () => {
    const ds = await imageDatasetFromDirectory(join(root, 'main'), { ...Q, shuffle: false, imageSize: [4, 6], colorMode: 'grayscale', batchSize: 4 });
    expect(ds.classNames).toEqual(['a_cat', 'b_dog']);
    expect(ds.fileCount).toBe(6);
    // per class: files of the folder itself, then of sub-folders (sorted by folder path); 'X2.PNG' < 'x0.png'
    expect(ds.filePaths.map((p) => p.slice(root.length + 6))).toEqual(['a_cat/b.png', 'a_cat/c.png', 'a_cat/sub/a.png', 'b_dog/X2.PNG', 'b_dog/x0.png', 'b_dog/x1.png']);
    expect(Array.from(ds.fileLabels!)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(ds.size).toBe(2);
    const batches = await collect(ds);
    expect(batches.map((b) => b.x.shape)).toEqual([[4, 4, 6, 1], [2, 4, 6, 1]]);
    expect(batches.flatMap((b) => ids(b.x))).toEqual([5, 10, 15, 40, 20, 30]);
    expect(batches[0].y.dtype).toBe('int32');
    expect(batches.flatMap((b) => Array.from(b.y.data))).toEqual([0, 0, 0, 1, 1, 1]);
    // every pixel of an image has its value
    const x = batches[0].x.data;
    for (let i = 0; i < 24; i++) expect(x[24 + i]).toBe(10);
  });

  it("categorical, binary and null label modes; classNames order and subset", async () => {
    const base = { ...Q, shuffle: false, imageSize: [4, 6], colorMode: 'grayscale', batchSize: 8 } as const;
    const [cat] = await collect(await imageDatasetFromDirectory(join(root, 'main'), { ...base, labelMode: 'categorical' }));
    expect(cat.y.shape).toEqual([6, 2]);
    expect(Array.from(cat.y.data)).toEqual([1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]);
    const [bin] = await collect(await imageDatasetFromDirectory(join(root, 'main'), { ...base, labelMode: 'binary' }));
    expect(bin.y.shape).toEqual([6, 1]);
    expect(bin.y.dtype).toBe('float32');
    expect(Array.from(bin.y.data)).toEqual([0, 0, 0, 1, 1, 1]);
    // labelMode null: as labels null (Keras), the whole tree without labels
    const none = await imageDatasetFromDirectory(join(root, 'main'), { ...base, labelMode: null });
    expect(none.classNames).toBeNull();
    const [only] = await collect(none);
    expect(only).toBeInstanceOf(Tensor);
    expect(only.shape).toEqual([8, 4, 6, 1]);
    await expect(imageDatasetFromDirectory(join(root, 'main'), { ...base, labelMode: null, classNames: ['a_cat'] })).rejects.toThrow(/classNames cannot be given without labels/);
    // classNames: explicit order, and a subset of the folders
    const rev = await imageDatasetFromDirectory(join(root, 'main'), { ...base, classNames: ['b_dog', 'a_cat'] });
    expect(rev.classNames).toEqual(['b_dog', 'a_cat']);
    const [r] = await collect(rev);
    expect(ids(r.x)).toEqual([40, 20, 30, 5, 10, 15]);
    expect(Array.from(r.y.data)).toEqual([0, 0, 0, 1, 1, 1]);
    const sub = await imageDatasetFromDirectory(join(root, 'main'), { ...base, classNames: ['b_dog'] });
    expect(sub.fileCount).toBe(3);
  });

  it('labels: null lists the whole tree; explicit labels follow the sorted paths', async () => {
    const base = { ...Q, shuffle: false, imageSize: [4, 6], colorMode: 'grayscale', batchSize: 16 } as const;
    const all = await imageDatasetFromDirectory(join(root, 'main'), { ...base, labels: null });
    // hidden folders are only skipped as class folders; Keras' walk lists every file of the tree
    expect(all.fileCount).toBe(8);
    expect(all.classNames).toBeNull();
    const [x] = await collect(all);
    expect((x as Tensor).shape[0]).toBe(8);
    const explicit = await imageDatasetFromDirectory(join(root, 'many'), { ...base, batchSize: 32, labels: Array.from({ length: 24 }, (_, i) => i % 4) });
    expect(explicit.classNames).toEqual(['0', '1', '2', '3']);
    const [b] = await collect(explicit);
    expect(Array.from(b.y.data)).toEqual(Array.from({ length: 24 }, (_, i) => i % 4));
  });

  it('batchSize null yields single images; the counts are known', async () => {
    const ds = await imageDatasetFromDirectory(join(root, 'main'), { ...Q, shuffle: false, imageSize: [4, 6], colorMode: 'grayscale', batchSize: null, labelMode: 'categorical' });
    expect(ds.size).toBe(6);
    const els = await collect(ds);
    expect(els.map((e) => e.x.shape)).toEqual(Array(6).fill([4, 6, 1]));
    expect(els.map((e) => e.y.shape)).toEqual(Array(6).fill([2]));
    expect(els.map((e) => e.x.data[0])).toEqual([5, 10, 15, 40, 20, 30]);
    expect(Array.from(els[3].y.data)).toEqual([0, 1]);
  });
});

describe('images', () => {
  it('colour modes: grey as rgb, rgb as grayscale (PIL luma), rgba alpha', async () => {
    writeFiles({
      [join(root, 'colour/k/rgb.png')]: flatRgb(200, 100, 50),
      [join(root, 'colour/k/rgba.png')]: encodePng(6, 4, 6, 8, Uint8Array.from({ length: 96 }, (_, i) => [1, 2, 3, 128][i % 4])),
      [join(root, 'colour/k/zgrey.png')]: flat(77),
    });
    const dir = join(root, 'colour');
    const opts = { ...Q, shuffle: false, imageSize: [4, 6], batchSize: 3 } as const;
    const [rgb] = await collect(await imageDatasetFromDirectory(dir, { ...opts, colorMode: 'rgb' }));
    expect(rgb.x.shape).toEqual([3, 4, 6, 3]);
    const px = (x: Tensor, i: number, c: number) => Array.from(x.data.subarray(i * 24 * c, i * 24 * c + c));
    expect(px(rgb.x, 0, 3)).toEqual([200, 100, 50]);
    expect(px(rgb.x, 1, 3)).toEqual([1, 2, 3]);
    expect(px(rgb.x, 2, 3)).toEqual([77, 77, 77]);
    const [g] = await collect(await imageDatasetFromDirectory(dir, { ...opts, colorMode: 'grayscale' }));
    expect(px(g.x, 0, 1)).toEqual([(200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >>> 16]);
    const [a] = await collect(await imageDatasetFromDirectory(dir, { ...opts, colorMode: 'rgba' }));
    expect(px(a.x, 0, 4)).toEqual([200, 100, 50, 255]);
    expect(px(a.x, 1, 4)).toEqual([1, 2, 3, 128]);
    expect(px(a.x, 2, 4)).toEqual([77, 77, 77, 255]);
  });

  it('resizes every image to imageSize (bilinear, nearest, crop, pad) and decodes JPEG within a tolerance', async () => {
    const grad = encodePng(8, 4, 0, 8, Uint8Array.from({ length: 32 }, (_, i) => (i % 8) * 30));
    const rgba = new Uint8Array(16 * 16 * 4).fill(255);
    for (let i = 0; i < 256; i++) rgba.set([120, 60, 30], 4 * i);
    writeFiles({
      [join(root, 'sizes/k/a-grad.png')]: grad,
      [join(root, 'sizes/k/b-small.png')]: flat(50, 3, 2),
      [join(root, 'sizes/k/c.jpg')]: new Uint8Array(codec.Transformer.fromRgbaPixels(rgba, 16, 16).jpegSync(95)),
    });
    const dir = join(root, 'sizes');
    const base = { ...Q, shuffle: false, colorMode: 'grayscale', batchSize: 3 } as const;
    const [b] = await collect(await imageDatasetFromDirectory(dir, { ...base, imageSize: [2, 4] }));
    expect(b.x.shape).toEqual([3, 2, 4, 1]);
    // 8 -> 4 columns, bilinear half-pixel: input positions 0.5, 2.5, 4.5, 6.5
    expect(Array.from(b.x.data.subarray(0, 4))).toEqual([15, 75, 135, 195]);
    expect(Array.from(b.x.data.subarray(8, 16))).toEqual(Array(8).fill(50));
    const jpgLuma = (120 * 19595 + 60 * 38470 + 30 * 7471 + 0x8000) >>> 16;
    for (const v of b.x.data.subarray(16, 24)) expect(Math.abs(v - jpgLuma)).toBeLessThanOrEqual(4);
    const [n] = await collect(await imageDatasetFromDirectory(dir, { ...base, imageSize: [2, 4], interpolation: 'nearest' }));
    expect(Array.from(n.x.data.subarray(0, 4))).toEqual([30, 90, 150, 210]);
    // crop [4, 8] to a square: the middle 4 columns (60..150), then 4 -> 2
    const [c] = await collect(await imageDatasetFromDirectory(dir, { ...base, imageSize: 2, cropToAspectRatio: true }));
    expect(Array.from(c.x.data.subarray(0, 2))).toEqual([75, 135]);
    const [p] = await collect(await imageDatasetFromDirectory(dir, { ...base, imageSize: 8, padToAspectRatio: true, interpolation: 'nearest' }));
    expect(p.x.shape).toEqual([3, 8, 8, 1]);
    expect(Array.from(p.x.data.subarray(0, 8))).toEqual(Array(8).fill(0)); // padding rows on top
    expect(Array.from(p.x.data.subarray(16, 24))).toEqual([0, 30, 60, 90, 120, 150, 180, 210]);
  });

  it('loadImage: one file as [H, W, C], own size or resized', async () => {
    const t = await loadImage(join(root, 'main/a_cat/c.png'), { colorMode: 'grayscale' });
    expect(t.shape).toEqual([4, 6, 1]);
    expect(t.data[5]).toBe(10);
    const r = await loadImage(join(root, 'main/a_cat/c.png'), { targetSize: [2, 3] });
    expect(r.shape).toEqual([2, 3, 3]);
    await expect(loadImage(join(root, 'main/a_cat/notes.txt'))).rejects.toThrow(ImageDecodeError);
    await expect(loadImage(join(root, 'nope.png'))).rejects.toThrow(/^loadImage: .*nope\.png: cannot decode: the file does not exist/);
  });
});

describe('split and shuffling', () => {
  const dir = () => join(root, 'many');
  const base = { ...Q, imageSize: [4, 6], colorMode: 'grayscale', batchSize: 5 } as const;

  it("Keras' split: NumPy's shuffle of the sorted files, the last fraction for validation; disjoint, complete", async () => {
    const opts = { ...base, validationSplit: 0.25, seed: 1337 } as const;
    const train = await imageDatasetFromDirectory(dir(), { ...opts, subset: 'training' });
    const val = await imageDatasetFromDirectory(dir(), { ...opts, subset: 'validation' });
    expect([train.fileCount, val.fileCount]).toEqual([18, 6]);
    const sorted = (await imageDatasetFromDirectory(dir(), { ...base, shuffle: false })).filePaths.slice();
    const expected = sorted.slice();
    numpyShuffle(expected, 1337);
    expect([...train.filePaths, ...val.filePaths]).toEqual(expected);
    expect(new Set([...train.filePaths, ...val.filePaths]).size).toBe(24);
    // the labels follow their files
    const idsOf = async (ds: AsyncIterable<LabeledImageBatch>) => (await collect(ds)).flatMap((b) => ids(b.x).map((v, i) => [v, b.y.data[i]]));
    for (const [v, y] of [...(await idsOf(train)), ...(await idsOf(val))]) expect(y).toBe(Math.floor(v / 10));
    const seen = [...(await idsOf(train)), ...(await idsOf(val))].map(([v]) => v).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 24 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8) + 1));
    // subset 'both' gives the same pair
    const [t2, v2] = await imageDatasetFromDirectory(dir(), { ...opts, subset: 'both' });
    expect(t2.filePaths).toEqual(train.filePaths);
    expect(v2.filePaths).toEqual(val.filePaths);
    // another seed, another split
    const other = await imageDatasetFromDirectory(dir(), { ...opts, seed: 7, subset: 'validation' });
    expect(other.filePaths).not.toEqual(val.filePaths);
  });

  it('reshuffles every iteration, the same sequence for the same seed; validation of "both" is not reshuffled', async () => {
    const order = async (ds: AsyncIterable<LabeledImageBatch>) => (await collect(ds)).flatMap((b) => ids(b.x));
    const a = await imageDatasetFromDirectory(dir(), { ...base, seed: 3 });
    const b = await imageDatasetFromDirectory(dir(), { ...base, seed: 3 });
    const a1 = await order(a);
    const a2 = await order(a);
    expect(a1).not.toEqual(a2);
    expect([...a1].sort((x, y) => x - y)).toEqual([...a2].sort((x, y) => x - y));
    expect(await order(b)).toEqual(a1);
    expect(await order(b)).toEqual(a2);
    const [, val] = await imageDatasetFromDirectory(dir(), { ...base, seed: 3, validationSplit: 0.5, subset: 'both' });
    expect(await order(val)).toEqual(await order(val));
    const fixed = await imageDatasetFromDirectory(dir(), { ...base, shuffle: false });
    expect(await order(fixed)).toEqual(Array.from({ length: 24 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8) + 1));
  });

  it('stopping early leaves nothing hanging; the dataset restarts', async () => {
    const ds = await imageDatasetFromDirectory(dir(), { ...base, batchSize: 2, shuffle: false, prefetch: 4 });
    for await (const b of ds) {
      expect(b.x.shape[0]).toBe(2);
      break;
    }
    const take = await collect(ds.take(2));
    expect(take.flatMap((b) => ids(b.x))).toEqual([1, 2, 3, 4]);
  });
});

describe('errors', () => {
  const base = { ...Q, imageSize: [4, 6] } as const;

  it('missing, empty and malformed folders', async () => {
    await expect(imageDatasetFromDirectory(join(root, 'nope'), base)).rejects.toThrow(/directory '.*nope' does not exist/);
    await expect(imageDatasetFromDirectory(join(root, 'main/loose.png'), base)).rejects.toThrow(/is not a directory/);
    writeFiles({ [join(root, 'flat/a.png')]: flat(1), [join(root, 'flat/b.png')]: flat(2) });
    await expect(imageDatasetFromDirectory(join(root, 'flat'), base)).rejects.toThrow(/no class sub-folders.*holds 2 image file\(s\) directly.*labels: null/);
    writeFiles({ [join(root, 'empty/a/readme.txt')]: 'x', [join(root, 'empty/b/.keep')]: '' });
    await expect(imageDatasetFromDirectory(join(root, 'empty'), base)).rejects.toThrow(/no images found in directory .*allowed formats: \.bmp, \.gif/);
    await expect(imageDatasetFromDirectory(join(root, 'main'), { ...base, classNames: ['a_cat', 'cow'] })).rejects.toThrow(/no folder for \["cow"\]/);
    await expect(imageDatasetFromDirectory(join(root, 'many'), { ...base, labelMode: 'binary' })).rejects.toThrow(/exactly 2 classes, found 3/);
    await expect(imageDatasetFromDirectory(join(root, 'many'), { ...base, labels: [0, 1] })).rejects.toThrow(/2 labels were given but 24 image files/);
  });

  it('bad options', async () => {
    const d = join(root, 'many');
    await expect(imageDatasetFromDirectory(d, { ...base, validationSplit: 0.2 })).rejects.toThrow(/validationSplit needs subset/);
    await expect(imageDatasetFromDirectory(d, { ...base, subset: 'training' })).rejects.toThrow(/needs validationSplit/);
    await expect(imageDatasetFromDirectory(d, { ...base, validationSplit: 0.2, subset: 'training' })).rejects.toThrow(/give a seed/);
    await expect(imageDatasetFromDirectory(d, { ...base, validationSplit: 1.5, subset: 'training', seed: 1 })).rejects.toThrow(/between 0 and 1/);
    await expect(imageDatasetFromDirectory(d, { ...base, validationSplit: 0.01, subset: 'both', seed: 1 })).rejects.toThrow(/leaves no validation files/);
    await expect(imageDatasetFromDirectory(d, { ...base, colorMode: 'cmyk' as never })).rejects.toThrow(/colorMode.*'grayscale', 'rgb', 'rgba'/);
    await expect(imageDatasetFromDirectory(d, { ...base, interpolation: 'lanczos3' as never })).rejects.toThrow(/'lanczos3' is not implemented/);
    await expect(imageDatasetFromDirectory(d, { ...base, imageSize: [0, 3] as never })).rejects.toThrow(/imageSize/);
    await expect(imageDatasetFromDirectory(d, { ...base, batchSize: 0 })).rejects.toThrow(/batchSize.*positive integer/);
    await expect(imageDatasetFromDirectory(d, { ...base, imgSize: 3 } as never)).rejects.toThrow(/unknown option 'imgSize'/);
    await expect(imageDatasetFromDirectory(d, { ...base, cropToAspectRatio: true, padToAspectRatio: true })).rejects.toThrow(/only one of/);
    await expect(imageDatasetFromDirectory(d, { ...base, seed: -1 })).rejects.toThrow(/seed/);
  });

  it('a corrupt image: an error naming the file, or skipped with one warning', async () => {
    writeFiles({
      [join(root, 'bad/a/ok1.png')]: flat(1),
      [join(root, 'bad/a/ok2.png')]: flat(2),
      [join(root, 'bad/b/broken.jpg')]: 'definitely not a jpeg',
      [join(root, 'bad/b/ok3.png')]: flat(3),
      [join(root, 'bad/b/trunc.png')]: flat(4).subarray(0, 40),
    });
    const d = join(root, 'bad');
    const opts = { ...base, shuffle: false, colorMode: 'grayscale', batchSize: 2 } as const;
    const ds = await imageDatasetFromDirectory(d, opts);
    const err = await collect(ds).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect(err).toBeInstanceOf(DataFormatError);
    expect(String((err as Error).message)).toMatch(/^imageDatasetFromDirectory: .*bad\/b\/broken\.jpg: cannot decode: .*onInvalidImage: 'skip'/);
    expect((err as ImageDecodeError).file).toMatch(/broken\.jpg$/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const skip = await imageDatasetFromDirectory(d, { ...opts, onInvalidImage: 'skip' });
      const got = (await collect(skip)).flatMap((b) => ids(b.x));
      expect(got).toEqual([1, 2, 3]);
      await collect(skip); // a second epoch warns no more
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0][0])).toMatch(/skipping '.*broken\.jpg'/);
      expect(skip.skippedFiles.map((p) => p.slice(d.length + 1))).toEqual(['b/broken.jpg', 'b/trunc.png']);
    } finally {
      warn.mockRestore();
    }
  });

  it('followLinks: linked folders inside a class are walked only when asked', async () => {
    writeFiles({ [join(root, 'links/k/own.png')]: flat(1), [join(root, 'elsewhere/e.png')]: flat(2) });
    symlinkSync(join(root, 'elsewhere'), join(root, 'links/k/linked'));
    const off = await imageDatasetFromDirectory(join(root, 'links'), base);
    const on = await imageDatasetFromDirectory(join(root, 'links'), { ...base, followLinks: true });
    expect([off.fileCount, on.fileCount]).toEqual([1, 2]);
  });

  it('prints what it found, as Keras', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await imageDatasetFromDirectory(join(root, 'many'), { imageSize: [4, 6], validationSplit: 0.25, subset: 'both', seed: 1 });
      expect(log.mock.calls.map((c) => c[0])).toEqual(['Found 24 files belonging to 3 classes.', 'Using 18 files for training.', 'Using 6 files for validation.']);
    } finally {
      log.mockRestore();
    }
  });
});

describe('training', () => {
  it('fit trains on the folder and validates on the held-out part (class = brightness)', async () => {
    const files: Record<string, Uint8Array> = {};
    for (let c = 0; c < 2; c++) for (let k = 0; k < 20; k++) files[join(root, `train/c${c}/f${k}.png`)] = flat(c === 0 ? 20 + k : 200 + k);
    writeFiles(files);
    const [train, val] = await imageDatasetFromDirectory(join(root, 'train'), {
      ...Q, imageSize: [4, 6], colorMode: 'grayscale', batchSize: 8, validationSplit: 0.25, subset: 'both', seed: 5,
    });
    manualSeed(0);
    const model = sequential([layers.rescaling({ scale: 1 / 255 }), layers.flatten(), layers.dense({ units: 2, activation: 'softmax' })], { inputShape: [4, 6, 1] });
    model.compile({ optimizer: new optimizers.Adam({ learningRate: 0.05 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await model.fit(train, undefined, { epochs: 15, verbose: 0, validationData: val });
    expect(h.history.loss.length).toBe(15);
    expect(h.history.val_accuracy.at(-1)).toBe(1);
    expect(h.history.loss.at(-1)!).toBeLessThan(h.history.loss[0]);
  });
});
