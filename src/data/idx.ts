/**
 * IDX files (the format of MNIST, Fashion-MNIST, EMNIST, KMNIST): gzipped or not, every IDX element type.
 *
 * Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
 * 0x0E float64), the number of dimensions d, then d big-endian uint32 sizes and the data, row-major,
 * big-endian. A file starting with 1f 8b is gunzipped first (in the thread pool).
 *
 * dtype of the result: rank-1 integer data (labels) gives int32; anything else float32 (uint8 images keep their
 * values 0..255). `dtype` overrides it for integer data.
 */
import { readFile } from 'node:fs/promises';
import { gunzip as gunzipCb, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { Tensor } from '../tensor/tensor.js';
import { DTypeError, fmtShape } from '../errors.js';
import { DataFormatError } from './errors.js';

const gunzipAsync = promisify(gunzipCb);

/** IDX element types by code: name, bytes per element, whether integer. */
const TYPES: Record<number, { name: IdxType; bytes: number; integer: boolean }> = {
  0x08: { name: 'uint8', bytes: 1, integer: true },
  0x09: { name: 'int8', bytes: 1, integer: true },
  0x0b: { name: 'int16', bytes: 2, integer: true },
  0x0c: { name: 'int32', bytes: 4, integer: true },
  0x0d: { name: 'float32', bytes: 4, integer: false },
  0x0e: { name: 'float64', bytes: 8, integer: false },
};
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
const CODES: Record<IdxType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

export interface IdxOptions {
  /** The tensor's dtype (default: int32 for rank-1 integer data, float32 otherwise); int32 needs integer data. */
  dtype?: 'float32' | 'int32';
}

/** Whether bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The bytes of a file, gunzipped when it starts with 1f 8b. Errors (missing file, corrupt gzip) are
 * DataFormatError / the fs error, naming the file and `op`.
 */
export async function readMaybeGzip(op: string, path: string): Promise<{ bytes: Uint8Array; gzipped: boolean }> {
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DataFormatError(op, path, 'no such file');
    throw new DataFormatError(op, path, `cannot be read (${err.code ?? err.message})`);
  }
  if (!isGzip(raw)) return { bytes: raw, gzipped: false };
  try {
    return { bytes: await gunzipAsync(raw), gzipped: true };
  } catch (e) {
    throw new DataFormatError(op, path, `gzip data is corrupt or truncated (${(e as Error).message}); delete the file and fetch it again`);
  }
}

/** An IDX file's header, checked against the bytes that follow it. */
export interface IdxHeader {
  type: IdxType;
  shape: number[];
  /** Byte offset of the data. */
  offset: number;
}

/** Parses and checks the header of IDX bytes (file names the source in messages). */
export function parseIdxHeader(bytes: Uint8Array, file = '<buffer>', op = 'readIdx', gzipped = false): IdxHeader {
  const after = gzipped ? ' (after gunzip)' : '';
  if (bytes.length < 4) throw new DataFormatError(op, file, `is ${bytes.length} bytes long${after}, shorter than the 4-byte IDX header (truncated?)`);
  const code = bytes[2];
  const t = TYPES[code];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !t || bytes[3] === 0) {
    const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    throw new DataFormatError(
      op, file,
      `wrong magic number 0x${magic.toString(16).padStart(8, '0')}${after}: an IDX file starts with 00 00, a type code ` +
        '(08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64) and the number of dimensions (e.g. 0x00000803 for MNIST images)',
    );
  }
  const ndim = bytes[3];
  const offset = 4 + 4 * ndim;
  if (bytes.length < offset) throw new DataFormatError(op, file, `is truncated${after}: ${bytes.length} bytes, but the header of ${ndim} dimensions needs ${offset}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const need = shape.reduce((a, d) => a * d, 1) * t.bytes;
  const have = bytes.length - offset;
  if (have < need) {
    throw new DataFormatError(op, file, `is truncated${after}: its header announces ${t.name} ${fmtShape(shape)}, ${need} bytes of data, but ${have} follow`);
  }
  if (have > need) {
    throw new DataFormatError(op, file, `has ${have - need} bytes${after} after the ${t.name} ${fmtShape(shape)} data its header announces (not an IDX file, or files concatenated)`);
  }
  return { type: t.name, shape, offset };
}

/** Decodes IDX bytes (already gunzipped) into a tensor. */
export function parseIdx(bytes: Uint8Array, options: IdxOptions & { file?: string; op?: string; gzipped?: boolean } = {}): Tensor {
  const file = options.file ?? '<buffer>';
  const op = options.op ?? 'parseIdx';
  const h = parseIdxHeader(bytes, file, op, options.gzipped);
  const t = TYPES[CODES[h.type]];
  const dtype = options.dtype ?? (t.integer && h.shape.length === 1 ? 'int32' : 'float32');
  if (dtype !== 'float32' && dtype !== 'int32') throw new DTypeError(`${op}: option 'dtype' must be 'float32' or 'int32', got ${String(dtype)}`);
  if (dtype === 'int32' && !t.integer) throw new DTypeError(`${op}: ${file} holds ${h.type} data; option dtype 'int32' needs integer data`);
  const n = h.shape.reduce((a, d) => a * d, 1);
  const out = dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  const body = bytes.subarray(h.offset, h.offset + n * t.bytes);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  switch (h.type) {
    case 'uint8':
      out.set(body);
      break;
    case 'int8':
      out.set(new Int8Array(body.buffer, body.byteOffset, n));
      break;
    case 'int16':
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, false);
      break;
    case 'int32':
      for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, false);
      break;
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, false);
      break;
    case 'float64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, false);
      break;
  }
  return new Tensor(out, h.shape);
}

/** Reads an IDX file (gzipped or not) into a tensor: uint8 images as float32 0..255, labels as int32. */
export async function readIdx(path: string, options: IdxOptions = {}): Promise<Tensor> {
  const { bytes, gzipped } = await readMaybeGzip('readIdx', path);
  return parseIdx(bytes, { ...options, file: path, op: 'readIdx', gzipped });
}

/**
 * IDX bytes for values of the given shape and element type (values are converted: rounded and range-checked
 * for integer types), gzipped when `gzip`. The inverse of parseIdx / readIdx.
 */
export function encodeIdx(values: ArrayLike<number>, shape: readonly number[], type: IdxType = 'uint8', options: { gzip?: boolean } = {}): Uint8Array {
  const code = CODES[type];
  if (code === undefined) throw new DTypeError(`encodeIdx: type must be one of ${Object.keys(CODES).join(', ')}, got ${String(type)}`);
  const t = TYPES[code];
  const n = shape.reduce((a, d) => a * d, 1);
  if (values.length !== n) throw new DTypeError(`encodeIdx: ${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
  if (shape.length === 0 || shape.length > 255) throw new DTypeError(`encodeIdx: an IDX file has 1 to 255 dimensions, got ${shape.length}`);
  const offset = 4 + 4 * shape.length;
  const out = new Uint8Array(offset + n * t.bytes);
  const dv = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const ranges: Partial<Record<IdxType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647] };
  const range = ranges[type];
  for (let i = 0; i < n; i++) {
    let v = values[i];
    if (range) {
      v = Math.round(v);
      if (!(v >= range[0] && v <= range[1])) throw new DTypeError(`encodeIdx: value ${values[i]} at index ${i} does not fit ${type}`);
    }
    const p = offset + i * t.bytes;
    switch (type) {
      case 'uint8': out[p] = v; break;
      case 'int8': dv.setInt8(p, v); break;
      case 'int16': dv.setInt16(p, v, false); break;
      case 'int32': dv.setInt32(p, v, false); break;
      case 'float32': dv.setFloat32(p, v, false); break;
      case 'float64': dv.setFloat64(p, v, false); break;
    }
  }
  return options.gzip ? gzipSync(out, { level: 9 }) : out;
}

export interface IdxDatasetOptions {
  /** Divide images by 255 (values in [0, 1]); default false (0..255). */
  normalize?: boolean;
}

/**
 * Images and labels from a pair of IDX files: x float32 [N, H, W, 1] (a rank-3 image file gains the channel
 * axis; rank 4 is kept), y int32 [N]. The label count must match the image count.
 */
export async function loadIdxDataset(imagesPath: string, labelsPath: string, options: IdxDatasetOptions = {}): Promise<{ x: Tensor; y: Tensor }> {
  const op = 'loadIdxDataset';
  const [imgs, labs] = await Promise.all([readMaybeGzip(op, imagesPath), readMaybeGzip(op, labelsPath)]);
  const x = parseIdx(imgs.bytes, { file: imagesPath, op, gzipped: imgs.gzipped, dtype: 'float32' });
  if (x.rank !== 3 && x.rank !== 4) throw new DataFormatError(op, imagesPath, `holds ${fmtShape(x.shape)} data; images are [N, H, W] or [N, H, W, C] (is this the labels file?)`);
  const y = parseIdx(labs.bytes, { file: labelsPath, op, gzipped: labs.gzipped });
  if (y.rank !== 1 || y.dtype !== 'int32') throw new DataFormatError(op, labelsPath, `holds ${fmtShape(y.shape)} ${y.dtype} data; labels are integer [N] (is this the images file?)`);
  if (y.shape[0] !== x.shape[0]) {
    throw new DataFormatError(op, labelsPath, `has ${y.shape[0]} labels but ${imagesPath} has ${x.shape[0]} images`);
  }
  if (options.normalize) {
    const d = x.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] /= 255;
  }
  return { x: x.rank === 3 ? new Tensor(x.data, [...x.shape, 1]) : x, y };
}
