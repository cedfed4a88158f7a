/**
 * CIFAR-10 and CIFAR-100 binary batches (the "binary version" of https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * A CIFAR-10 batch is records of 1 label byte (0..9) and 3072 pixel bytes; CIFAR-100 records have 2 label bytes
 * (coarse 0..19, then fine 0..99). The pixels are three 32x32 planes, red, green, blue, each row-major (CHW);
 * the readers return NHWC images [N, 32, 32, 3] (float32, 0..255 or [0, 1] with `normalize`) and int32 labels.
 * A file starting with 1f 8b is gunzipped first.
 *
 * The format has no magic number: a file is checked by its size (a whole number of records) and its labels
 * (in range), which catches a CIFAR-100 file given to the CIFAR-10 reader and most other mistakes.
 */
import { Tensor } from '../tensor/tensor.js';
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { DataFormatError } from './errors.js';
import { readMaybeGzip } from './idx.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;

export interface CifarOptions {
  /** Divide pixels by 255 (values in [0, 1]); default false (0..255). */
  normalize?: boolean;
}
export interface Cifar100Options extends CifarOptions {
  /** Which labels y holds (both are returned as `fine` and `coarse`); default 'fine', as Keras. */
  labelMode?: 'fine' | 'coarse';
}

export interface CifarBatch {
  /** float32 [N, 32, 32, 3]. */
  x: Tensor;
  /** int32 [N]. */
  y: Tensor;
}
export interface Cifar100Batch extends CifarBatch {
  fine: Tensor;
  coarse: Tensor;
}

/** Records of `labelBytes` labels and 3072 CHW pixel bytes, decoded to NHWC. */
function decode(op: string, file: string, bytes: Uint8Array, gzipped: boolean, labelBytes: number, classes: readonly number[], names: readonly string[], normalize: boolean) {
  const rec = labelBytes + PIXELS;
  const after = gzipped ? ' (after gunzip)' : '';
  if (bytes.length === 0) throw new DataFormatError(op, file, `is empty${after}`);
  if (bytes.length % rec !== 0) {
    const other = labelBytes === 1 ? 3074 : 3073;
    const hint = bytes.length % other === 0 ? ` (its size fits ${labelBytes === 1 ? 'CIFAR-100' : 'CIFAR-10'} records: use ${labelBytes === 1 ? 'readCifar100Batch' : 'readCifar10Batch'})` : ' (truncated, or not a CIFAR binary batch)';
    throw new DataFormatError(op, file, `is ${bytes.length} bytes${after}, not a whole number of ${rec}-byte records: ${Math.floor(bytes.length / rec)} records and ${bytes.length % rec} bytes left over${hint}`);
  }
  const n = bytes.length / rec;
  const labels = classes.map(() => new Int32Array(n));
  const x = new Float32Array(n * PIXELS);
  const div = normalize ? 255 : 1;
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    for (let k = 0; k < labelBytes; k++) {
      const v = bytes[base + k];
      if (v >= classes[k]) {
        throw new DataFormatError(op, file, `record ${i} has ${names[k]} label ${v}, outside [0, ${classes[k] - 1}] (not a ${labelBytes === 1 ? 'CIFAR-10' : 'CIFAR-100'} batch?)`);
      }
      labels[k][i] = v;
    }
    const px = base + labelBytes;
    const o = i * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      const q = o + 3 * p;
      x[q] = bytes[px + p] / div;
      x[q + 1] = bytes[px + PLANE + p] / div;
      x[q + 2] = bytes[px + 2 * PLANE + p] / div;
    }
  }
  return { x: new Tensor(x, [n, SIDE, SIDE, 3]), labels: labels.map((l) => new Tensor(l, [n])) };
}

/** Decodes CIFAR-10 binary records already in memory. */
export function parseCifar10Batch(bytes: Uint8Array, options: CifarOptions & { file?: string } = {}): CifarBatch {
  const r = decode('parseCifar10Batch', options.file ?? '<buffer>', bytes, false, 1, [10], ['class'], options.normalize ?? false);
  return { x: r.x, y: r.labels[0] };
}

/** Reads a CIFAR-10 binary batch (data_batch_1.bin ... test_batch.bin): x [N,32,32,3] float32, y [N] int32. */
export async function readCifar10Batch(path: string, options: CifarOptions = {}): Promise<CifarBatch> {
  const op = 'readCifar10Batch';
  const { bytes, gzipped } = await readMaybeGzip(op, path);
  const r = decode(op, path, bytes, gzipped, 1, [10], ['class'], options.normalize ?? false);
  return { x: r.x, y: r.labels[0] };
}

/** Reads a CIFAR-100 binary batch (train.bin, test.bin): x [N,32,32,3], fine and coarse labels (y: labelMode). */
export async function readCifar100Batch(path: string, options: Cifar100Options = {}): Promise<Cifar100Batch> {
  const op = 'readCifar100Batch';
  const mode = options.labelMode ?? 'fine';
  if (mode !== 'fine' && mode !== 'coarse') throw new DTypeError(`${op}: option 'labelMode' must be 'fine' or 'coarse', got ${String(mode)}`);
  const { bytes, gzipped } = await readMaybeGzip(op, path);
  const r = decode(op, path, bytes, gzipped, 2, [20, 100], ['coarse', 'fine'], options.normalize ?? false);
  const [coarse, fine] = r.labels;
  return { x: r.x, y: mode === 'fine' ? fine : coarse, fine, coarse };
}

/**
 * CIFAR binary records for NHWC images x [N, 32, 32, 3] (values 0..255, rounded) and labels: one int32 [N]
 * tensor (CIFAR-10) or [coarse, fine] (CIFAR-100). The inverse of the readers.
 */
export function encodeCifarBatch(x: Tensor, labels: Tensor | readonly [Tensor, Tensor]): Uint8Array {
  const op = 'encodeCifarBatch';
  if (x.rank !== 4 || x.shape[1] !== SIDE || x.shape[2] !== SIDE || x.shape[3] !== 3) throw new ShapeError(`${op}: x must be [N, 32, 32, 3], got ${fmtShape(x.shape)}`);
  const ls = labels instanceof Tensor ? [labels] : [...labels];
  const n = x.shape[0];
  ls.forEach((l) => {
    if (l.rank !== 1 || l.shape[0] !== n) throw new ShapeError(`${op}: labels must be [${n}], got ${fmtShape(l.shape)}`);
  });
  const rec = ls.length + PIXELS;
  const out = new Uint8Array(n * rec);
  const xd = x.data;
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    ls.forEach((l, k) => (out[base + k] = l.data[i]));
    for (let p = 0; p < PLANE; p++) {
      for (let c = 0; c < 3; c++) out[base + ls.length + c * PLANE + p] = Math.max(0, Math.min(255, Math.round(xd[(i * PLANE + p) * 3 + c])));
    }
  }
  return out;
}
