/**
 * The standard datasets, as Keras' `keras.datasets`: `fashionMnist()`, `mnist()`, `cifar10()` resolve to
 * `{ train: { x, y }, test: { x, y } }` with x float32 NHWC ([N, 28, 28, 1] or [N, 32, 32, 3], values 0..255, or
 * [0, 1] with `normalize`) and y int32 class indices [N].
 *
 * Where the files come from, first match wins:
 * 1. `dataDir` (option): `<dataDir>` itself holds the files (and downloads go there);
 * 2. `$NODEGRAD_DATA/<name>/` (name: fashion-mnist, mnist, cifar10);
 * 3. the cache, `$XDG_CACHE_HOME/nodegrad/<name>/` or `~/.cache/nodegrad/<name>/`;
 * 4. for Fashion-MNIST, Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist;
 * 5. otherwise a download (unless `download: false`) into `$NODEGRAD_DATA/<name>/`, or the cache when
 *    NODEGRAD_DATA is not set, from the dataset's public location (mirrors in order, or `mirrors`), checked
 *    against the SHA-256 of the official files; later calls find it there.
 * IDX files may be gzipped (`<file>.gz`) or not (`<file>`). CIFAR-10 is the binary version: the extracted
 * `cifar-10-batches-bin/` folder or the `cifar-10-binary.tar.gz` archive (read in memory, not extracted).
 *
 * Fashion-MNIST's `subset`: 'full' (default) is the 60,000/10,000 images found or downloaded as above;
 * 'embedded' is the subset shipped in the package (assets/fashion-mnist-subset: the first 350 training and 100
 * test images of each class, 3,500/1,000); 'auto' is the full data when a local copy is found (steps 1-4),
 * else the embedded subset, without any network access (what `npm start` uses).
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../tensor/tensor.js';
import { ValueError, fmtShape } from '../errors.js';
import { DataFormatError, DownloadError } from './errors.js';
import { loadIdxDataset, readMaybeGzip } from './idx.js';
import { parseCifar10Batch } from './cifar.js';
import { downloadFile } from './download.js';

export interface Split {
  /** float32 [N, H, W, C]. */
  x: Tensor;
  /** int32 [N]. */
  y: Tensor;
}

export interface LoadedDataset {
  train: Split;
  test: Split;
  /** Class names by index. */
  classNames: readonly string[];
  /** 'full', or 'embedded' for the shipped Fashion-MNIST subset. */
  subset: 'full' | 'embedded';
  /** The folder (or archive) the data was read from. */
  source: string;
  /** Whether this call downloaded anything. */
  downloaded: boolean;
}

export interface LoadOptions {
  /** Divide pixels by 255 (values in [0, 1]); default false (0..255, as Keras). */
  normalize?: boolean;
  /** Download when no local copy is found (default true). */
  download?: boolean;
  /** A folder holding the files directly (searched first; downloads go there). */
  dataDir?: string;
  /** Base URLs to download from instead of the built-in mirrors (a file's name is appended). */
  mirrors?: readonly string[];
  /** Where download progress goes (default process.stderr; false: none). */
  progress?: false | NodeJS.WritableStream;
}

export interface FashionMnistOptions extends LoadOptions {
  /** 'full' (default), 'embedded' (the shipped subset) or 'auto' (full when found locally, else embedded). */
  subset?: 'full' | 'embedded' | 'auto';
}

interface RemoteFile {
  name: string;
  size: number;
  sha256: string;
  /** SHA-256 of the gunzipped content, when known (accepts a recompressed copy). */
  contentSha256?: string;
}

// --------------------------------------------------------------------------------------------------
// Catalogue: the official files and their published checksums

/**
 * Fashion-MNIST: the official files (sizes and SHA-256 as published alongside their MD5s, e.g. by
 * tensorflow-datasets; MD5s in the Fashion-MNIST README). Content SHA-256s: of the gunzipped IDX files of
 * Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1, which recompresses the same data.
 */
const FASHION_FILES: Record<string, RemoteFile> = {
  trainImages: { name: 'train-images-idx3-ubyte', size: 26421880, sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84', contentSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
  trainLabels: { name: 'train-labels-idx1-ubyte', size: 29515, sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845', contentSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
  testImages: { name: 't10k-images-idx3-ubyte', size: 4422102, sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073', contentSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
  testLabels: { name: 't10k-labels-idx1-ubyte', size: 5148, sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5', contentSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
};
const FASHION_MIRRORS = ['https://storage.googleapis.com/tensorflow/tf-keras-datasets/', 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'];
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** MNIST: the files of the mirrors torchvision and tensorflow-datasets use (yann.lecun.com is often down). */
const MNIST_FILES: Record<string, RemoteFile> = {
  trainImages: { name: 'train-images-idx3-ubyte', size: 9912422, sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609' },
  trainLabels: { name: 'train-labels-idx1-ubyte', size: 28881, sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c' },
  testImages: { name: 't10k-images-idx3-ubyte', size: 1648877, sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6' },
  testLabels: { name: 't10k-labels-idx1-ubyte', size: 4542, sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6' },
};
const MNIST_MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'https://storage.googleapis.com/cvdf-datasets/mnist/'];
const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html; MD5 c32a1d4ab5d03f1284b67883e8d87530). */
const CIFAR10_ARCHIVE: RemoteFile = { name: 'cifar-10-binary.tar.gz', size: 170052171, sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd' };
const CIFAR10_MIRRORS = ['https://www.cs.toronto.edu/~kriz/'];
const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const CIFAR10_TRAIN = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const CIFAR10_TEST = 'test_batch.bin';

/** Debian's dataset-fashion-mnist. */
const DEBIAN_FASHION = '/usr/share/datasets/fashion-mnist';

/** The shipped Fashion-MNIST subset (src/data or dist/data -> ../../assets). */
export function embeddedFashionMnistDir(): string {
  return fileURLToPath(new URL('../../assets/fashion-mnist-subset/', import.meta.url));
}

// --------------------------------------------------------------------------------------------------
// Locating files

/** The cache root: $XDG_CACHE_HOME/nodegrad or ~/.cache/nodegrad. */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'nodegrad');
}

/** The folders searched for dataset `name`, in order, and the one downloads go to. */
export function dataDirs(name: string, options: { dataDir?: string } = {}): { search: string[]; downloadTo: string } {
  if (options.dataDir !== undefined) return { search: [options.dataDir], downloadTo: options.dataDir };
  const env = process.env.NODEGRAD_DATA;
  const search: string[] = [];
  if (env) search.push(join(env, name));
  search.push(join(cacheDir(), name));
  if (name === 'fashion-mnist') search.push(DEBIAN_FASHION);
  return { search, downloadTo: env ? join(env, name) : join(cacheDir(), name) };
}

/** The path of an IDX file in dir, gzipped or not, or null. */
function idxPath(dir: string, name: string): string | null {
  for (const f of [`${name}.gz`, name]) {
    const p = join(dir, f);
    if (existsSync(p)) return p;
  }
  return null;
}

/** The first folder holding all four IDX files, as paths. */
function findIdx(dirs: readonly string[], files: Record<string, RemoteFile>): { dir: string; paths: Record<string, string> } | null {
  for (const dir of dirs) {
    const paths: Record<string, string> = {};
    let all = true;
    for (const [k, f] of Object.entries(files)) {
      const p = idxPath(dir, f.name);
      if (!p) {
        all = false;
        break;
      }
      paths[k] = p;
    }
    if (all) return { dir, paths };
  }
  return null;
}

function checkOptions(op: string, options: object, allowed: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw new ValueError(`${op}: unknown option '${k}' (options: ${allowed.join(', ')})`);
  }
}

async function fetchAll(op: string, files: readonly RemoteFile[], mirrors: readonly string[], dir: string, options: LoadOptions, gz: boolean): Promise<void> {
  for (const f of files) {
    const fileName = gz ? `${f.name}.gz` : f.name;
    const urls = mirrors.map((m) => (m.endsWith('/') ? m : `${m}/`) + fileName);
    try {
      await downloadFile(urls, join(dir, fileName), { sha256: f.sha256, contentSha256: f.contentSha256, size: f.contentSha256 ? undefined : f.size, progress: options.progress });
    } catch (e) {
      if (e instanceof DownloadError) e.message = `${op}: ${e.message}`;
      throw e;
    }
  }
}

function notFound(op: string, what: string, search: readonly string[], hint: string): ValueError {
  return new ValueError(`${op}: ${what} not found in ${search.join(', ')} and download is off${hint}`);
}

/** Loads an IDX dataset (MNIST's four files) from local copies, downloading them when missing. */
async function loadIdxFour(op: string, name: string, files: Record<string, RemoteFile>, mirrors: readonly string[], options: LoadOptions, expect: { train: number; test: number } | null, extraSearch: readonly string[] = []) {
  const { search, downloadTo } = dataDirs(name, options);
  const dirs = [...search, ...extraSearch];
  let found = findIdx(dirs, files);
  let downloaded = false;
  if (!found) {
    if (options.download === false) throw notFound(op, `the ${name} files`, dirs, '');
    await fetchAll(op, Object.values(files), options.mirrors ?? mirrors, downloadTo, options, true);
    downloaded = true;
    found = findIdx([downloadTo], files);
    if (!found) throw new DataFormatError(op, downloadTo, 'the downloaded files are missing');
  }
  const p = found.paths;
  const norm = { normalize: options.normalize ?? false };
  const [train, test] = await Promise.all([loadIdxDataset(p.trainImages, p.trainLabels, norm), loadIdxDataset(p.testImages, p.testLabels, norm)]);
  for (const [split, d, path] of [['train', train, p.trainImages], ['test', test, p.testImages]] as const) {
    if (d.x.shape[1] !== 28 || d.x.shape[2] !== 28 || d.x.shape[3] !== 1) throw new DataFormatError(op, path, `holds images ${fmtShape(d.x.shape)}; ${name} images are 28x28`);
    const n = expect?.[split];
    if (n !== undefined && d.x.shape[0] !== n) throw new DataFormatError(op, path, `holds ${d.x.shape[0]} images; the ${split} split of ${name} has ${n}`);
  }
  return { train, test, dir: found.dir, downloaded };
}

// --------------------------------------------------------------------------------------------------
// The datasets

/**
 * Fashion-MNIST (Zalando Research, MIT): 28x28 grey images of 10 clothing classes, 60,000 training and 10,000
 * test images ('full'), or the shipped 3,500/1,000 subset ('embedded'); 'auto' picks full when found locally.
 */
export async function fashionMnist(options: FashionMnistOptions = {}): Promise<LoadedDataset> {
  const op = 'datasets.fashionMnist';
  checkOptions(op, options, ['normalize', 'download', 'dataDir', 'mirrors', 'progress', 'subset']);
  const subset = options.subset ?? 'full';
  if (subset !== 'full' && subset !== 'embedded' && subset !== 'auto') throw new ValueError(`${op}: option 'subset' must be 'full', 'embedded' or 'auto', got ${String(subset)}`);
  const embedded = async (): Promise<LoadedDataset> => {
    const dir = embeddedFashionMnistDir();
    const r = await loadIdxFour(op, 'fashion-mnist', FASHION_FILES, [], { normalize: options.normalize, dataDir: dir, download: false }, null);
    return { train: r.train, test: r.test, classNames: FASHION_CLASSES, subset: 'embedded', source: dir, downloaded: false };
  };
  if (subset === 'embedded') return embedded();
  if (subset === 'auto' && !findIdx(dataDirs('fashion-mnist', options).search, FASHION_FILES)) return embedded();
  const r = await loadIdxFour(op, 'fashion-mnist', FASHION_FILES, FASHION_MIRRORS, subset === 'auto' ? { ...options, download: false } : options, { train: 60000, test: 10000 });
  return { train: r.train, test: r.test, classNames: FASHION_CLASSES, subset: 'full', source: r.dir, downloaded: r.downloaded };
}

/** MNIST: 28x28 grey handwritten digits, 60,000 training and 10,000 test images. */
export async function mnist(options: LoadOptions = {}): Promise<LoadedDataset> {
  const op = 'datasets.mnist';
  checkOptions(op, options, ['normalize', 'download', 'dataDir', 'mirrors', 'progress']);
  const r = await loadIdxFour(op, 'mnist', MNIST_FILES, MNIST_MIRRORS, options, { train: 60000, test: 10000 });
  return { train: r.train, test: r.test, classNames: MNIST_CLASSES, subset: 'full', source: r.dir, downloaded: r.downloaded };
}

/**
 * The members of a tar archive (ustar / GNU / pax headers; regular files only), by base name. Enough for the
 * dataset archives; not a general extractor.
 */
export function readTar(bytes: Uint8Array, file = '<buffer>'): Map<string, Uint8Array> {
  const op = 'readTar';
  const out = new Map<string, Uint8Array>();
  const text = (a: Uint8Array) => {
    const z = a.indexOf(0);
    return Buffer.from(z < 0 ? a : a.subarray(0, z)).toString('utf8');
  };
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= bytes.length) {
    const h = bytes.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    const stored = parseInt(text(h.subarray(148, 156)).trim(), 8);
    if (stored !== sum) throw new DataFormatError(op, file, `bad tar header checksum at byte ${off} (not a tar archive, or corrupt)`);
    const size = parseInt(text(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = text(h.subarray(345, 500));
    let name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longName = null;
    const start = off + 512;
    if (start + size > bytes.length) throw new DataFormatError(op, file, `is truncated: member ${name} needs ${size} bytes at ${start}, the archive has ${bytes.length}`);
    const body = bytes.subarray(start, start + size);
    if (type === 'L') longName = text(body);
    else if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(Buffer.from(body).toString('utf8'));
      if (m) longName = m[1];
    } else if (type === '0' || type === '7') {
      name = name.replace(/^\.\//, '');
      out.set(name.slice(name.lastIndexOf('/') + 1), body);
    }
    off = start + Math.ceil(size / 512) * 512;
  }
  return out;
}

function concatSplits(parts: { x: Tensor; y: Tensor }[]): Split {
  const n = parts.reduce((a, p) => a + p.x.shape[0], 0);
  const x = new Float32Array(n * 32 * 32 * 3);
  const y = new Int32Array(n);
  let i = 0;
  for (const p of parts) {
    x.set(p.x.data, i * 3072);
    y.set(p.y.data, i);
    i += p.x.shape[0];
  }
  return { x: new Tensor(x, [n, 32, 32, 3]), y: new Tensor(y, [n]) };
}

/** CIFAR-10: 32x32 colour images of 10 classes, 50,000 training (5 batches) and 10,000 test images. */
export async function cifar10(options: LoadOptions = {}): Promise<LoadedDataset> {
  const op = 'datasets.cifar10';
  checkOptions(op, options, ['normalize', 'download', 'dataDir', 'mirrors', 'progress']);
  const { search, downloadTo } = dataDirs('cifar10', options);
  const normalize = options.normalize ?? false;
  const names = [...CIFAR10_TRAIN, CIFAR10_TEST];
  const fromMembers = (get: (name: string) => Promise<{ bytes: Uint8Array; path: string }>) =>
    Promise.all(names.map(async (n) => {
      const { bytes, path } = await get(n);
      const b = parseCifar10Batch(bytes, { normalize, file: path });
      if (b.x.shape[0] !== 10000) throw new DataFormatError(op, path, `holds ${b.x.shape[0]} images; a CIFAR-10 batch has 10000`);
      return b;
    }));
  const finish = (batches: { x: Tensor; y: Tensor }[], source: string, downloaded: boolean): LoadedDataset => ({
    train: concatSplits(batches.slice(0, 5)), test: concatSplits(batches.slice(5)), classNames: CIFAR10_CLASSES, subset: 'full', source, downloaded,
  });
  // An extracted folder.
  for (const dir of search.flatMap((d) => [join(d, 'cifar-10-batches-bin'), d])) {
    if (names.every((n) => existsSync(join(dir, n)))) {
      const batches = await fromMembers(async (n) => {
        const { bytes } = await readMaybeGzip(op, join(dir, n));
        return { bytes, path: join(dir, n) };
      });
      return finish(batches, dir, false);
    }
  }
  // The archive, found or downloaded.
  let archive = search.map((d) => join(d, CIFAR10_ARCHIVE.name)).find((p) => existsSync(p));
  let downloaded = false;
  if (!archive) {
    if (options.download === false) throw notFound(op, `the CIFAR-10 files (cifar-10-batches-bin/ or ${CIFAR10_ARCHIVE.name})`, search, '');
    await fetchAll(op, [CIFAR10_ARCHIVE], options.mirrors ?? CIFAR10_MIRRORS, downloadTo, options, false);
    archive = join(downloadTo, CIFAR10_ARCHIVE.name);
    downloaded = true;
  }
  const { bytes } = await readMaybeGzip(op, archive);
  const members = readTar(bytes, archive);
  const batches = await fromMembers(async (n) => {
    const m = members.get(n);
    if (!m) throw new DataFormatError(op, archive, `has no member ${n} (not the CIFAR-10 binary archive?)`);
    return { bytes: m, path: `${archive}:${n}` };
  });
  return finish(batches, archive, downloaded);
}
