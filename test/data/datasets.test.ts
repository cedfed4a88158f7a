/**
 * The standard datasets (src/data/datasets.ts): the embedded Fashion-MNIST subset (shapes, dtypes, classes,
 * normalize), the lookup order (dataDir, $NODEGRAD_DATA, the cache, Debian's copy), subset 'auto', download off,
 * the download path against a local HTTP server (Debian's Fashion-MNIST files served on 127.0.0.1 and verified by
 * the built-in checksums; wrong files rejected), and the tar reader CIFAR-10's archive needs.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { cifar10, dataDirs, embeddedFashionMnistDir, fashionMnist, mnist, readTar } from '../../src/data/datasets.js';
import { encodeIdx } from '../../src/data/idx.js';
import { DataFormatError, DownloadError } from '../../src/data/errors.js';

const DEBIAN = '/usr/share/datasets/fashion-mnist';
const hasDebian = existsSync(join(DEBIAN, 'train-images-idx3-ubyte.gz'));
const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-datasets-'));
const savedEnv = { NODEGRAD_DATA: process.env.NODEGRAD_DATA, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let server: Server;
let base = '';
/** Serves files of `root` by name; records the requests. */
let root = DEBIAN;
const hits: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = (req.url ?? '/').split('/').pop()!;
    hits.push(name);
    const p = join(root, name);
    if (!name || !existsSync(p)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': statSync(p).size });
    createReadStream(p).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const counts = (y: { data: ArrayLike<number> }) => {
  const c = new Array(10).fill(0);
  for (let i = 0; i < y.data.length; i++) c[y.data[i]]++;
  return c;
};

describe('the embedded Fashion-MNIST subset', () => {
  it('3,500 training and 1,000 test images, balanced, NHWC float32 0..255 and int32 labels', async () => {
    const d = await fashionMnist({ subset: 'embedded' });
    expect(d.subset).toBe('embedded');
    expect(d.source).toBe(embeddedFashionMnistDir());
    expect(d.train.x.shape).toEqual([3500, 28, 28, 1]);
    expect(d.test.x.shape).toEqual([1000, 28, 28, 1]);
    expect(d.train.x.dtype).toBe('float32');
    expect(d.train.y.dtype).toBe('int32');
    expect(counts(d.train.y)).toEqual(new Array(10).fill(350));
    expect(counts(d.test.y)).toEqual(new Array(10).fill(100));
    expect(d.classNames[9]).toBe('Ankle boot');
    let max = 0;
    for (const v of d.train.x.data) max = Math.max(max, v);
    expect(max).toBe(255);
    const n = await fashionMnist({ subset: 'embedded', normalize: true });
    expect(n.train.x.data[400]).toBeCloseTo(d.train.x.data[400] / 255, 7);
    // The package ships it with its licence.
    expect(readdirSync(embeddedFashionMnistDir()).sort()).toEqual(
      ['LICENSE', 'README.md', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'],
    );
  });

  it.runIf(hasDebian)('is the first 350 / 100 images of each class of the full data, in order', async () => {
    const [e, f] = await Promise.all([fashionMnist({ subset: 'embedded' }), fashionMnist({ dataDir: DEBIAN, download: false })]);
    const pick = (y: ArrayLike<number>, per: number) => {
      const c = new Array(10).fill(0);
      const idx: number[] = [];
      for (let i = 0; i < y.length; i++) if (c[y[i]] < per) (c[y[i]]++, idx.push(i));
      return idx;
    };
    const idx = pick(f.train.y.data, 350);
    for (const k of [0, 1234, 3499]) {
      expect(Array.from(e.train.x.data.subarray(k * 784, (k + 1) * 784))).toEqual(Array.from(f.train.x.data.subarray(idx[k] * 784, (idx[k] + 1) * 784)));
    }
    expect(Array.from(e.test.y.data)).toEqual(pick(f.test.y.data, 100).map((i) => f.test.y.data[i]));
  });
});

describe('finding the files', () => {
  it('search order: dataDir alone; else $NODEGRAD_DATA/<name>, the cache, Debian for Fashion-MNIST; downloads go to the first writable root', () => {
    process.env.NODEGRAD_DATA = '/data/ng';
    process.env.XDG_CACHE_HOME = '/xdg';
    expect(dataDirs('fashion-mnist')).toEqual({ search: ['/data/ng/fashion-mnist', '/xdg/nodegrad/fashion-mnist', DEBIAN], downloadTo: '/data/ng/fashion-mnist' });
    delete process.env.NODEGRAD_DATA;
    expect(dataDirs('mnist')).toEqual({ search: ['/xdg/nodegrad/mnist'], downloadTo: '/xdg/nodegrad/mnist' });
    expect(dataDirs('mnist', { dataDir: '/mine' })).toEqual({ search: ['/mine'], downloadTo: '/mine' });
  });

  it("subset 'auto' falls back to the embedded subset when no full copy is found, without downloading", async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    hits.length = 0;
    const d = await fashionMnist({ subset: 'auto', dataDir: empty, mirrors: [base] });
    expect(d.subset).toBe('embedded');
    expect(hits).toEqual([]);
    await expect(fashionMnist({ dataDir: empty, download: false })).rejects.toThrow(`datasets.fashionMnist: the fashion-mnist files not found in ${empty} and download is off`);
    await expect(mnist({ dataDir: empty, download: false })).rejects.toThrow('datasets.mnist: the mnist files not found in');
    await expect(fashionMnist({ subset: 'some' as never })).rejects.toThrow("datasets.fashionMnist: option 'subset' must be 'full', 'embedded' or 'auto', got some");
    await expect(mnist({ subest: 'x' } as never)).rejects.toThrow("datasets.mnist: unknown option 'subest'");
  });

  it.runIf(hasDebian)("finds Debian's copy, and $NODEGRAD_DATA before it ('auto' then uses the full data)", async () => {
    process.env.XDG_CACHE_HOME = join(tmp, 'no-cache');
    process.env.NODEGRAD_DATA = join(tmp, 'no-data');
    const d = await fashionMnist({ subset: 'auto', normalize: true });
    expect(d.subset).toBe('full');
    expect(d.source).toBe(DEBIAN);
    expect(d.train.x.shape).toEqual([60000, 28, 28, 1]);
    expect(d.test.y.shape).toEqual([10000]);
    // A copy under $NODEGRAD_DATA/fashion-mnist wins (ungzipped labels work too).
    const mine = join(tmp, 'ng', 'fashion-mnist');
    mkdirSync(mine, { recursive: true });
    for (const f of readdirSync(DEBIAN)) copyFileSync(join(DEBIAN, f), join(mine, f));
    rmSync(join(mine, 't10k-labels-idx1-ubyte.gz'));
    writeFileSync(join(mine, 't10k-labels-idx1-ubyte'), execFileSync('gzip', ['-dc', join(DEBIAN, 't10k-labels-idx1-ubyte.gz')]));
    process.env.NODEGRAD_DATA = join(tmp, 'ng');
    const e = await fashionMnist();
    expect(e.source).toBe(mine);
    expect(Array.from(e.test.y.data.subarray(0, 50))).toEqual(Array.from(d.test.y.data.subarray(0, 50)));
  });

  it('a local copy of the wrong size is refused, naming the file', async () => {
    const bad = join(tmp, 'small-mnist');
    mkdirSync(bad);
    writeFileSync(join(bad, 'train-images-idx3-ubyte.gz'), encodeIdx(new Array(2 * 784).fill(0), [2, 28, 28], 'uint8', { gzip: true }));
    writeFileSync(join(bad, 'train-labels-idx1-ubyte.gz'), encodeIdx([1, 2], [2], 'uint8', { gzip: true }));
    writeFileSync(join(bad, 't10k-images-idx3-ubyte'), encodeIdx(new Array(784).fill(0), [1, 28, 28]));
    writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx([1], [1]));
    await expect(mnist({ dataDir: bad })).rejects.toThrow(new DataFormatError('datasets.mnist', join(bad, 'train-images-idx3-ubyte.gz'), 'holds 2 images; the train split of mnist has 60000'));
  });
});

describe('downloads (local HTTP server)', () => {
  it.runIf(hasDebian)('Fashion-MNIST: downloaded once into the data folder, verified by the built-in checksums, then found there', async () => {
    root = DEBIAN;
    const into = join(tmp, 'dl-fashion');
    hits.length = 0;
    const d = await fashionMnist({ dataDir: into, mirrors: [base], progress: false });
    expect(d.downloaded).toBe(true);
    expect(d.source).toBe(into);
    expect(d.train.x.shape).toEqual([60000, 28, 28, 1]);
    expect(hits.sort()).toEqual(['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']);
    expect(readdirSync(into).sort()).toEqual(hits);
    hits.length = 0;
    const again = await fashionMnist({ dataDir: into, mirrors: [base], progress: false });
    expect(again.downloaded).toBe(false);
    expect(hits).toEqual([]);
  });

  it('files that do not match the published checksums are refused and not kept; a missing mirror file is reported', async () => {
    const fake = join(tmp, 'fake-mirror');
    mkdirSync(fake);
    for (const f of ['train-images-idx3-ubyte', 't10k-images-idx3-ubyte']) writeFileSync(join(fake, `${f}.gz`), gzipSync(encodeIdx(new Array(784).fill(0), [1, 28, 28])));
    writeFileSync(join(fake, 'train-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([1], [1])));
    root = fake;
    const into = join(tmp, 'dl-mnist');
    const err = await mnist({ dataDir: into, mirrors: [base], progress: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message).toMatch(/^datasets\.mnist: downloadFile: could not download train-images-idx3-ubyte\.gz to .*:\n {2}http:\/\/127\.0\.0\.1:\d+\/data\/train-images-idx3-ubyte\.gz: received \d+ bytes, expected 9912422/);
    expect(readdirSync(into)).toEqual([]);
    const ferr = await fashionMnist({ dataDir: join(tmp, 'dl-f2'), mirrors: [base], progress: false }).catch((e: Error) => e);
    expect((ferr as Error).message).toContain('checksum mismatch: SHA-256');
    expect((ferr as Error).message).toContain('(expected 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84)');
    rmSync(join(fake, 'train-images-idx3-ubyte.gz'));
    const merr = await fashionMnist({ dataDir: join(tmp, 'dl-f3'), mirrors: [base, base], progress: false }).catch((e: Error) => e);
    expect((merr as Error).message).toMatch(/train-images-idx3-ubyte\.gz: HTTP 404 Not Found\n {2}.*train-images-idx3-ubyte\.gz: HTTP 404 Not Found$/);
    root = DEBIAN;
  });
});

describe('CIFAR-10 archive', () => {
  it('readTar reads the members of a tar made by tar(1), by base name', () => {
    const src = join(tmp, 'tar-src', 'cifar-10-batches-bin');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(src, 'batches.meta.txt'), 'airplane\n'.repeat(100));
    const tarPath = join(tmp, 'x.tar');
    execFileSync('tar', ['-cf', tarPath, '-C', join(tmp, 'tar-src'), 'cifar-10-batches-bin']);
    const members = readTar(execFileSync('cat', [tarPath]));
    expect([...members.keys()].sort()).toEqual(['a.bin', 'batches.meta.txt']);
    expect(Array.from(members.get('a.bin')!)).toEqual([1, 2, 3]);
    expect(Buffer.from(members.get('batches.meta.txt')!).toString()).toBe('airplane\n'.repeat(100));
    const bytes = Buffer.from(execFileSync('cat', [tarPath]));
    bytes[10] ^= 0x55;
    expect(() => readTar(bytes, 'x.tar')).toThrow('readTar: x.tar: bad tar header checksum at byte 0 (not a tar archive, or corrupt)');
  });

  it('an archive without the batches, a missing copy with download off, a mirror serving the wrong archive', async () => {
    const dir = join(tmp, 'cifar');
    mkdirSync(join(tmp, 'cifar-src'), { recursive: true });
    writeFileSync(join(tmp, 'cifar-src', 'readme.html'), 'x');
    mkdirSync(dir);
    execFileSync('tar', ['-czf', join(dir, 'cifar-10-binary.tar.gz'), '-C', join(tmp, 'cifar-src'), 'readme.html']);
    await expect(cifar10({ dataDir: dir })).rejects.toThrow(`datasets.cifar10: ${join(dir, 'cifar-10-binary.tar.gz')}: has no member data_batch_1.bin (not the CIFAR-10 binary archive?)`);
    const none = join(tmp, 'cifar-none');
    mkdirSync(none);
    await expect(cifar10({ dataDir: none, download: false })).rejects.toThrow('datasets.cifar10: the CIFAR-10 files (cifar-10-batches-bin/ or cifar-10-binary.tar.gz) not found in');
    root = dir;
    const err = await cifar10({ dataDir: none, mirrors: [base], progress: false }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/cifar-10-binary\.tar\.gz: received \d+ bytes, expected 170052171/);
    expect(readdirSync(none)).toEqual([]);
    root = DEBIAN;
  });
});
