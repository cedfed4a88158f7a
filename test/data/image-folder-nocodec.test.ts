/**
 * Without the image decoder's native binary (a platform with no prebuilt @napi-rs/image, or optional
 * dependencies omitted), image loading fails with a clear message and the rest of nodegrad still works.
 * Simulated with NAPI_RS_NATIVE_LIBRARY_PATH pointing nowhere (the napi-rs loader then finds no binding);
 * this file runs in a process of its own (vitest's forks pool), so the codec was never loaded before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Dataset } from '../../src/data/dataset.js';
import { imageDatasetFromDirectory } from '../../src/data/image-folder.js';
import { loadImage } from '../../src/data/image.js';
import { tensor } from '../../src/index.js';
import { encodePng, writeFiles } from './image-folder-helpers.js';

process.env.NAPI_RS_NATIVE_LIBRARY_PATH = join(tmpdir(), 'nodegrad-no-such-binding.node');
const root = mkdtempSync(join(tmpdir(), 'nodegrad-nocodec-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('without the image decoder', () => {
  it('imageDatasetFromDirectory and loadImage say which library is missing, on which platform', async () => {
    writeFiles({ [join(root, 'k/a.png')]: encodePng(2, 2, 0, 8, [1, 2, 3, 4]) });
    const plat = `${process.platform}-${process.arch}`;
    const want = new RegExp(`^imageDatasetFromDirectory: the image decoder @napi-rs/image cannot be loaded on ${plat} .*The rest of nodegrad works without it`);
    await expect(imageDatasetFromDirectory(root, { verbose: false })).rejects.toThrow(want);
    await expect(loadImage(join(root, 'k/a.png'))).rejects.toThrow(/^loadImage: the image decoder @napi-rs\/image cannot be loaded/);
  });

  it('the rest of nodegrad works', async () => {
    expect(Array.from(tensor([1, 2, 3]).add(1).data)).toEqual([2, 3, 4]);
    const got = await Dataset.fromTensorSlices(tensor([1, 2, 3, 4])).batch(2).toArray();
    expect(got.map((t) => Array.from(t.data))).toEqual([[1, 2], [3, 4]]);
  });
});
