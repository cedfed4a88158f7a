/**
 * imageDatasetFromDirectory: Keras' `image_dataset_from_directory` for a folder of image files.
 *
 *   main/
 *     cat/  a.jpg  b.png  more/c.jpg      labels 0 (class folders sorted by name, or in classNames' order)
 *     dog/  d.jpg  ...                     labels 1
 *
 * Listing (as Keras): one sub-folder per class (names starting with '.' skipped), each walked recursively
 * (symbolic links to folders followed only with followLinks), files kept by extension (.jpeg .jpg .png .bmp
 * .gif, and .webp), ordered by folder path then file name (code point order, as Python's sorted()). With
 * `labels: null` or `labelMode: null` the whole tree is listed (class folders or not) without labels; with an
 * array of integer labels, one per file in that order.
 *
 * Split (bit-identical to Keras): with shuffle, the file list is shuffled by NumPy's legacy
 * `RandomState(seed).shuffle` (MT19937, reproduced here), then the last floor(validationSplit * n) files are
 * the validation subset and the others the training subset. The same seed gives the same subsets as Keras,
 * and the two never overlap.
 *
 * Iteration: the dataset yields batches `{ x, y }` (x float32 [B, H, W, C] with values 0..255, y per
 * labelMode: 'int' int32 [B], 'categorical' float32 one-hot [B, classes], 'binary' float32 [B, 1]) or, with
 * labelMode null, the image tensor alone. With shuffle, every iteration (epoch) visits the files in a fresh
 * seeded permutation (Keras shuffles within a buffer of 8 batches; a full permutation is at least as good);
 * a validation subset from subset: 'both' is never reshuffled. Decoding and resizing run in worker threads
 * (see image.ts), several batches ahead of the consumer, so loading overlaps training.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DTypeError, ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator, getDefaultGenerator } from '../tensor/random.js';
import { Dataset } from './dataset.js';
import {
  IMAGE_EXTENSIONS, ImageDecodeError, aspectFit, channelsOf, checkImageSize, checkInterpolation, decodeBatch, defaultImageWorkers, loadCodec,
  type ColorMode, type DecodeSpec, type Interpolation,
} from './image.js';

const OP = 'imageDatasetFromDirectory';

export type LabelMode = 'int' | 'categorical' | 'binary';

export interface ImageDatasetOptions {
  /** 'inferred' (default: from the class folders), null (no labels), or one integer label per file. */
  labels?: 'inferred' | null | readonly number[];
  /** 'int' (default), 'categorical', 'binary' (exactly two classes) or null (images only). */
  labelMode?: LabelMode | null;
  /** The class folders to use, in this order (default: every folder, sorted). Keras allows a subset. */
  classNames?: readonly string[];
  /** 'rgb' (default, 3 channels), 'grayscale' (1) or 'rgba' (4). */
  colorMode?: ColorMode;
  /** Images per batch (default 32); null yields single images. */
  batchSize?: number | null;
  /** [height, width] every image is resized to (default [256, 256]); one number for a square. */
  imageSize?: readonly [number, number] | number;
  /** Shuffle the files (default true): before the split, and again for every iteration. */
  shuffle?: boolean;
  /** Seed of the shuffles, an integer in [0, 2^32) (NumPy's range). Required with validationSplit and shuffle. */
  seed?: number;
  /** Fraction of the files held out for validation, in (0, 1); needs subset. */
  validationSplit?: number | null;
  /** 'training', 'validation' or 'both' (a [training, validation] pair); needs validationSplit. */
  subset?: 'training' | 'validation' | 'both' | null;
  /** 'bilinear' (default), 'nearest', 'bicubic' or 'area' (tf.image.resize's, antialias off). */
  interpolation?: Interpolation;
  /** Follow symbolic links to folders inside the class folders (default false). */
  followLinks?: boolean;
  /** Resize without distortion by cropping the largest centred window of the target aspect ratio. */
  cropToAspectRatio?: boolean;
  /** Resize without distortion by zero padding to the target aspect ratio. */
  padToAspectRatio?: boolean;
  /** Print "Found N files belonging to C classes." and the split as Keras does (default true). */
  verbose?: boolean;
  /** A file that cannot be read or decoded: 'error' (default) stops with its name; 'skip' leaves it out with a warning. */
  onInvalidImage?: 'error' | 'skip';
  /** Decoding threads (default: one per spare core, 1 to 4). Shared by every image dataset of the process. */
  workers?: number;
  /** Batches decoded ahead of the consumer (default workers + 1, at least 2). */
  prefetch?: number;
}

/** A batch with labels. */
export interface LabeledImageBatch {
  x: Tensor;
  y: Tensor;
}

/** Whether option K of O is null: 'yes', 'no', or 'maybe' (a type that allows null). */
type NullOption<O, K extends string> = O extends { [P in K]: null }
  ? 'yes'
  : O extends { [P in K]?: infer V }
    ? unknown extends V
      ? 'no'
      : null extends V
        ? 'maybe'
        : 'no'
    : 'no';
/** The element type for options O: the image tensor alone without labels, else { x, y }. */
export type ImageElement<O> = 'yes' extends NullOption<O, 'labelMode'> | NullOption<O, 'labels'>
  ? Tensor
  : 'maybe' extends NullOption<O, 'labelMode'> | NullOption<O, 'labels'>
    ? Tensor | LabeledImageBatch
    : LabeledImageBatch;
type Single<O> = ImageFolderDataset<ImageElement<O>>;
type Pair<O> = [ImageFolderDataset<ImageElement<O>>, ImageFolderDataset<ImageElement<O>>];
/** The result for options O: a [training, validation] pair with subset 'both'. */
export type ImageDatasetResult<O> = O extends { subset: 'both' }
  ? Pair<O>
  : O extends { subset?: infer S }
    ? unknown extends S
      ? Single<O>
      : 'both' extends S
        ? Single<O> | Pair<O>
        : Single<O>
    : Single<O>;

interface Listing {
  paths: string[];
  labels: Int32Array | null;
  classNames: string[] | null;
}

interface Plan {
  paths: string[];
  labels: Int32Array | null;
  classNames: string[] | null;
  numClasses: number;
  labelMode: LabelMode | null;
  batchSize: number | null;
  spec: DecodeSpec;
  shuffle: boolean;
  seed: number;
  onInvalidImage: 'error' | 'skip';
  workers: number;
  prefetch: number;
}

/**
 * The Dataset imageDatasetFromDirectory returns, with what it found: `classNames`, `filePaths` (this subset's
 * files, in the split's order), `fileCount`, `fileLabels`. Transformations (map, batch...) return plain Datasets.
 */
export class ImageFolderDataset<T = LabeledImageBatch> extends Dataset<T> {
  /** Class names, index = label (null without labels; the sorted distinct labels as strings for explicit labels). */
  readonly classNames: string[] | null;
  /** The files of this subset (after the split; iteration order is reshuffled per epoch with shuffle). */
  readonly filePaths: readonly string[];
  /** The number of files (images) in this subset. */
  readonly fileCount: number;
  /** The label of each file of filePaths (null without labels). */
  readonly fileLabels: Int32Array | null;
  /** Files left out so far because they could not be decoded (onInvalidImage: 'skip'). */
  readonly skippedFiles: string[];

  /** @internal Use imageDatasetFromDirectory. */
  constructor(plan: Plan, skipped: string[]) {
    const count = plan.batchSize === null ? plan.paths.length : Math.ceil(plan.paths.length / plan.batchSize);
    const root = new Generator(plan.seed);
    super(() => iterate(plan, skipped, root) as AsyncIterator<T>, count);
    this.classNames = plan.classNames;
    this.filePaths = plan.paths;
    this.fileCount = plan.paths.length;
    this.fileLabels = plan.labels;
    this.skippedFiles = skipped;
  }
}

// --------------------------------------------------------------------------------------------------
// NumPy's legacy RandomState shuffle

/** MT19937 as NumPy's RandomState(seed) (init_genrand seeding, genrand_int32 output). */
export class MT19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;
  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let k = 1; k < 624; k++) {
      const p = mt[k - 1] ^ (mt[k - 1] >>> 30);
      mt[k] = (Math.imul(1812433253, p) + k) >>> 0;
    }
  }
  nextUint32(): number {
    const mt = this.mt;
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
  /** NumPy's random_interval(max): uniform in [0, max] by masked rejection. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }
}

/** `np.random.RandomState(seed).shuffle(items)`, in place. */
export function numpyShuffle<T>(items: T[] | Int32Array, seed: number): void {
  const r = new MT19937(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.interval(i);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

// --------------------------------------------------------------------------------------------------
// Listing

/** Python's string order (code points; JS's default sort compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return a.codePointAt(i)! - b.codePointAt(i)!;
      return x - y;
    }
  }
  return a.length - b.length;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function hasImageExt(name: string): boolean {
  const l = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => l.endsWith(e));
}

/** os.walk(top, followlinks) sorted by folder path, files sorted, filtered by extension. */
async function walkImages(top: string, followLinks: boolean): Promise<string[]> {
  const groups: Array<[string, string[]]> = [];
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    if (followLinks) {
      let real: string;
      try {
        real = await realpath(dir);
      } catch {
        return;
      }
      if (seen.has(real)) return; // a link loop
      seen.add(real);
    }
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ValueError(`${OP}: cannot list '${dir}': ${(e as Error).message}`);
    }
    const files: string[] = [];
    const sub: string[] = [];
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) sub.push(p);
      else if (e.isSymbolicLink() && (await isDir(p))) {
        if (followLinks) sub.push(p);
      } else if (hasImageExt(e.name)) files.push(e.name);
    }
    files.sort(compareCodePoints);
    groups.push([dir, files]);
    for (const s of sub) await visit(s);
  };
  await visit(top);
  groups.sort((a, b) => compareCodePoints(a[0], b[0]));
  const out: string[] = [];
  for (const [d, files] of groups) for (const f of files) out.push(join(d, f));
  return out;
}

async function listDirectory(dir: string, labels: 'inferred' | null | readonly number[], classNames: readonly string[] | undefined, followLinks: boolean): Promise<Listing> {
  let st;
  try {
    st = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ValueError(`${OP}: directory '${dir}' ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`}`);
  }
  if (!st.isDirectory()) throw new ValueError(`${OP}: '${dir}' is not a directory`);
  if (labels !== 'inferred') {
    const paths = await walkImages(dir, followLinks);
    if (labels === null) return { paths, labels: null, classNames: null };
    if (labels.length !== paths.length) {
      throw new ValueError(`${OP}: ${labels.length} labels were given but ${paths.length} image files were found in '${dir}' (one label per file, in sorted path order)`);
    }
    const distinct = [...new Set(labels)].sort((a, b) => a - b);
    return { paths, labels: Int32Array.from(labels), classNames: distinct.map(String) };
  }
  const entries = (await readdir(dir)).sort(compareCodePoints);
  const subdirs: string[] = [];
  let loose = 0;
  for (const name of entries) {
    if (await isDir(join(dir, name))) {
      if (!name.startsWith('.')) subdirs.push(name);
    } else if (hasImageExt(name)) {
      loose++;
    }
  }
  let names = subdirs;
  if (classNames !== undefined) {
    const missing = classNames.filter((c) => !subdirs.includes(c));
    if (missing.length > 0) {
      throw new ValueError(
        `${OP}: classNames ${JSON.stringify(classNames)} do not match the sub-folders of '${dir}': no folder for ${JSON.stringify(missing)} ` +
          `(found ${JSON.stringify(subdirs)}; classNames may list a subset of them)`,
      );
    }
    names = [...classNames];
  }
  if (names.length === 0) {
    throw new ValueError(
      `${OP}: '${dir}' has no class sub-folders (labels: 'inferred' expects one sub-folder of images per class)` +
        (loose > 0 ? `; it holds ${loose} image file(s) directly: move them into class folders, or pass labels: null to load them without labels` : ''),
    );
  }
  const paths: string[] = [];
  const lab: number[] = [];
  for (let k = 0; k < names.length; k++) {
    const files = await walkImages(join(dir, names[k]), followLinks);
    for (const f of files) {
      paths.push(f);
      lab.push(k);
    }
  }
  return { paths, labels: Int32Array.from(lab), classNames: names };
}

// --------------------------------------------------------------------------------------------------
// Options

const KNOWN = [
  'labels', 'labelMode', 'classNames', 'colorMode', 'batchSize', 'imageSize', 'shuffle', 'seed', 'validationSplit', 'subset',
  'interpolation', 'followLinks', 'cropToAspectRatio', 'padToAspectRatio', 'verbose', 'onInvalidImage', 'workers', 'prefetch',
];

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

function checkBool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ValueError(`${OP}: option '${name}' must be a boolean, got ${describe(v)}`);
  return v;
}

function checkPositiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${OP}: option '${name}' must be a positive integer, got ${describe(v)}`);
  return v;
}

/**
 * A Dataset of the images under `directory`, labelled by their class folders, decoded and resized in worker
 * threads (see the file comment for the listing, split and iteration rules). With subset 'both', a
 * [training, validation] pair.
 *
 *   const [train, val] = await imageDatasetFromDirectory('photos', { validationSplit: 0.2, subset: 'both',
 *     seed: 1337, imageSize: [180, 180], batchSize: 32 });
 *   await model.fit(train, undefined, { epochs: 10, validationData: val });
 */
export async function imageDatasetFromDirectory<const O extends ImageDatasetOptions = Record<never, never>>(
  directory: string,
  options?: O,
): Promise<ImageDatasetResult<O>> {
  const o: ImageDatasetOptions = options ?? {};
  if (typeof directory !== 'string' || directory === '') throw new DTypeError(`${OP}: argument 'directory' must be a non-empty string, got ${describe(directory)}`);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ValueError(`${OP}: options must be an object, got ${describe(o)}`);
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw new ValueError(`${OP}: unknown option '${k}' (known: ${KNOWN.join(', ')})`);

  // labels and labelMode
  let labels: 'inferred' | null | readonly number[] = o.labels === undefined ? 'inferred' : o.labels;
  if (labels !== 'inferred' && labels !== null) {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'number' && Number.isInteger(l) && l >= 0)) {
      throw new ValueError(
        `${OP}: option 'labels' must be 'inferred', null, or an array of non-negative integer labels (one per image file, in sorted path order), got ${describe(labels)}`,
      );
    }
    if (o.classNames !== undefined) throw new ValueError(`${OP}: classNames can only be given with labels: 'inferred' (explicit labels name their classes by their values)`);
  }
  let labelMode: LabelMode | null = o.labelMode === undefined ? 'int' : o.labelMode;
  if (labelMode !== null && labelMode !== 'int' && labelMode !== 'categorical' && labelMode !== 'binary') {
    throw new ValueError(`${OP}: option 'labelMode' must be 'int', 'categorical', 'binary' or null, got ${describe(labelMode)}`);
  }
  // Keras: no labels either way means the whole tree is listed, class folders or not.
  if (labels === null || labelMode === null) {
    labels = null;
    labelMode = null;
  }
  if (labels === null && o.classNames !== undefined) throw new ValueError(`${OP}: classNames cannot be given without labels (labels: null or labelMode: null)`);
  const classNames = o.classNames;
  if (classNames !== undefined) {
    if (!Array.isArray(classNames) || classNames.length === 0 || !classNames.every((c) => typeof c === 'string' && c !== '')) {
      throw new ValueError(`${OP}: option 'classNames' must be a non-empty array of folder names, got ${describe(classNames)}`);
    }
    const dup = classNames.find((c, i) => classNames.indexOf(c) !== i);
    if (dup !== undefined) throw new ValueError(`${OP}: classNames lists '${dup}' twice`);
  }

  // images
  const channels = channelsOf(OP, o.colorMode ?? 'rgb');
  const [height, width] = checkImageSize(OP, o.imageSize ?? [256, 256]);
  const interpolation = checkInterpolation(OP, o.interpolation ?? 'bilinear');
  const fit = aspectFit(OP, o.cropToAspectRatio, o.padToAspectRatio);
  const batchSize = o.batchSize === null ? null : o.batchSize === undefined ? 32 : checkPositiveInt('batchSize', o.batchSize);
  const shuffle = checkBool('shuffle', o.shuffle, true);
  const followLinks = checkBool('followLinks', o.followLinks, false);
  const verbose = checkBool('verbose', o.verbose, true);
  const onInvalidImage = o.onInvalidImage ?? 'error';
  if (onInvalidImage !== 'error' && onInvalidImage !== 'skip') throw new ValueError(`${OP}: option 'onInvalidImage' must be 'error' or 'skip', got ${describe(onInvalidImage)}`);
  const workers = o.workers === undefined ? defaultImageWorkers() : checkPositiveInt('workers', o.workers);
  const prefetch = o.prefetch === undefined ? Math.max(2, workers + 1) : checkPositiveInt('prefetch', o.prefetch);

  // split (Keras' check_validation_split_arg)
  const split = o.validationSplit === undefined || o.validationSplit === null || o.validationSplit === 0 ? null : o.validationSplit;
  const subset = o.subset ?? null;
  if (split !== null && (typeof split !== 'number' || !(split > 0 && split < 1))) {
    throw new ValueError(`${OP}: option 'validationSplit' must be a number between 0 and 1 (exclusive), got ${describe(split)}`);
  }
  if (subset !== null && subset !== 'training' && subset !== 'validation' && subset !== 'both') {
    throw new ValueError(`${OP}: option 'subset' must be 'training', 'validation' or 'both', got ${describe(subset)}`);
  }
  if (split !== null && subset === null) throw new ValueError(`${OP}: validationSplit needs subset: 'training', 'validation' or 'both' (which part to return)`);
  if (subset !== null && split === null) throw new ValueError(`${OP}: subset '${subset}' needs validationSplit (the fraction of files held out for validation)`);
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)) {
    throw new ValueError(`${OP}: option 'seed' must be an integer in [0, 2^32), got ${describe(o.seed)}`);
  }
  if (split !== null && shuffle && o.seed === undefined) {
    throw new ValueError(`${OP}: with validationSplit and shuffle, give a seed, so that the training and validation subsets (made by separate calls) do not overlap`);
  }
  // Without a seed, one from the library's generator (manualSeed makes runs reproducible).
  const seed = o.seed ?? getDefaultGenerator().nextBelow(1e6);

  loadCodec(OP); // fail now, not at the first batch, when the decoder is missing

  const listing = await listDirectory(directory, labels, classNames, followLinks);
  const n = listing.paths.length;
  if (verbose) {
    if (listing.labels === null) console.log(`Found ${n} files.`);
    else console.log(`Found ${n} files belonging to ${listing.classNames!.length} classes.`);
  }
  if (n === 0) {
    throw new ValueError(`${OP}: no images found in directory '${directory}' (allowed formats: ${IMAGE_EXTENSIONS.join(', ')})`);
  }
  if (labelMode === 'binary' && listing.classNames!.length !== 2) {
    throw new ValueError(`${OP}: labelMode 'binary' needs exactly 2 classes, found ${listing.classNames!.length}: ${JSON.stringify(listing.classNames)}`);
  }
  const numClasses = listing.labels === null ? 0 : labels === 'inferred' ? listing.classNames!.length : Math.max(...listing.labels) + 1;

  const paths = listing.paths;
  const fileLabels = listing.labels;
  if (shuffle) {
    numpyShuffle(paths, seed);
    if (fileLabels) numpyShuffle(fileLabels, seed);
  }

  const make = (p: string[], l: Int32Array | null, shuffleEach: boolean) =>
    new ImageFolderDataset(
      {
        paths: p, labels: labelMode === null ? null : l, classNames: listing.classNames, numClasses, labelMode, batchSize,
        spec: { height, width, channels, interpolation, fit }, shuffle: shuffleEach, seed, onInvalidImage, workers, prefetch,
      },
      [],
    );
  if (split === null) return make(paths, fileLabels, shuffle) as unknown as ImageDatasetResult<O>;

  const nVal = Math.floor(split * n);
  if (nVal === 0 || nVal === n) {
    throw new ValueError(
      `${OP}: validationSplit ${split} of ${n} files leaves ${nVal === 0 ? 'no validation' : 'no training'} files (${nVal} of ${n} held out)`,
    );
  }
  const train = (): ImageFolderDataset<unknown> => {
    if (verbose) console.log(`Using ${n - nVal} files for training.`);
    return make(paths.slice(0, n - nVal), fileLabels ? fileLabels.slice(0, n - nVal) : null, shuffle);
  };
  const val = (reshuffle: boolean): ImageFolderDataset<unknown> => {
    if (verbose) console.log(`Using ${nVal} files for validation.`);
    return make(paths.slice(n - nVal), fileLabels ? fileLabels.slice(n - nVal) : null, reshuffle);
  };
  if (subset === 'training') return train() as unknown as ImageDatasetResult<O>;
  if (subset === 'validation') return val(shuffle) as unknown as ImageDatasetResult<O>;
  return [train(), val(false)] as unknown as ImageDatasetResult<O>;
}

// --------------------------------------------------------------------------------------------------
// Iteration

/** Images per worker job when batchSize is null. */
const CHUNK = 32;

function labelTensor(plan: Plan, labels: Int32Array): Tensor {
  const b = labels.length;
  if (plan.labelMode === 'int') return new Tensor(Int32Array.from(labels), [b]);
  if (plan.labelMode === 'binary') return new Tensor(Float32Array.from(labels), [b, 1]);
  const k = plan.numClasses;
  const y = new Float32Array(b * k);
  for (let i = 0; i < b; i++) y[i * k + labels[i]] = 1;
  return new Tensor(y, [b, k]);
}

async function* iterate(plan: Plan, skipped: string[], root: Generator): AsyncGenerator<unknown> {
  const n = plan.paths.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (plan.shuffle) {
    const g = new Generator(root.nextSeed());
    for (let i = n - 1; i > 0; i--) {
      const j = g.nextBelow(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  const per = plan.batchSize ?? CHUNK;
  const jobs = Math.ceil(n / per);
  const { height: H, width: W, channels: C } = plan.spec;
  const px = H * W * C;
  const queue: Array<{ idx: Int32Array; result: Promise<Awaited<ReturnType<typeof decodeBatch>>> }> = [];
  let submitted = 0;
  const submit = () => {
    while (queue.length < plan.prefetch && submitted < jobs) {
      const idx = order.subarray(submitted * per, Math.min(n, (submitted + 1) * per));
      const result = decodeBatch(OP, Array.from(idx, (i) => plan.paths[i]), plan.spec, plan.workers);
      result.catch(() => undefined); // surfaced in order when the consumer reaches it
      queue.push({ idx, result });
      submitted++;
    }
  };
  submit();
  while (queue.length > 0) {
    const { idx, result } = queue.shift()!;
    const r = await result;
    submit();
    let keepIdx: Int32Array = idx;
    if (r.failed.length > 0) {
      const first = r.failed[0];
      const path = plan.paths[idx[first.index]];
      if (plan.onInvalidImage === 'error') {
        const more = r.failed.length > 1 ? ` (and ${r.failed.length - 1} more file(s) of this batch)` : '';
        throw new ImageDecodeError(OP, path, `cannot decode: ${first.message}${more}; pass onInvalidImage: 'skip' to leave unreadable files out with a warning`);
      }
      const bad = new Set(r.failed.map((f) => f.index));
      for (const f of r.failed) {
        const p = plan.paths[idx[f.index]];
        if (!skipped.includes(p)) {
          skipped.push(p);
          console.warn(`${OP}: skipping '${p}': ${f.message}`);
        }
      }
      keepIdx = idx.filter((_, i) => !bad.has(i));
      if (keepIdx.length === 0) continue;
    }
    const b = keepIdx.length;
    const labels = plan.labels ? Int32Array.from(keepIdx, (i) => plan.labels![i]) : null;
    if (plan.batchSize !== null) {
      const x = new Tensor(r.data, [b, H, W, C]);
      yield labels ? { x, y: labelTensor(plan, labels) } : x;
    } else {
      const ys = labels ? labelTensor(plan, labels) : null;
      const row = ys ? ys.size / b : 0;
      for (let i = 0; i < b; i++) {
        const x = new Tensor(r.data.subarray(i * px, (i + 1) * px), [H, W, C]);
        if (!ys) {
          yield x;
          continue;
        }
        const data = ys.data.slice(i * row, (i + 1) * row) as Int32Array | Float32Array;
        yield { x, y: new Tensor(data, ys.shape.slice(1)) };
      }
    }
  }
}
