/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written without dependencies.
 *
 *   [8 bytes]  N, the header length, unsigned 64-bit little-endian
 *   [N bytes]  a UTF-8 JSON object: {"__metadata__": {string: string}?, name: {dtype, shape, data_offsets}, ...}
 *              padded with spaces to a multiple of 8 bytes (as the reference writer does, so every tensor's
 *              data starts 8-byte aligned when the file is)
 *   [rest]     the data section: each tensor's little-endian, row-major bytes at [begin, end) of this section
 *
 * The writer produces the bytes the reference (Rust) writer produces for the same tensors and metadata:
 * tensors ordered by dtype (widest first, the reference's enum order reversed) then by name (UTF-8 bytes),
 * laid out back to back in that order, so every tensor is aligned to its element size.
 *
 * The reader validates everything before handing out a byte: the header length against the file size, the
 * header as strict JSON (no duplicate names, integers only), every dtype against the spec's list, every shape
 * and offset pair, the byte size against dtype x shape, and that the tensors tile the data section exactly
 * (no overlap, no gap, no trailing bytes: the reference's rule). Each error names the file and the tensor.
 *
 * dtypes: F32, I32 map to nodegrad tensors directly; F64 (narrowed to float32, or read exactly with
 * getArray), F16 and BF16 (widened to float32, read-only: PyTorch exports have them), I64, U8, I8, I16, U16,
 * U32, U64 and BOOL (to int32 with a range check: labels, counters such as batch norm's
 * num_batches_tracked). The other spec dtypes (F8_*, F4, F6_*, C64) are validated but not decoded.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DTypeError, ShapeError, ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { FileFormatError } from './errors.js';
import { JsonSyntaxError, isJsonObject, parseStrictJson, type JsonValue } from './json.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.js';

/** Every dtype of the safetensors spec, in the reference's enum order (the writer sorts by it, reversed). */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

const BITS: Record<SafetensorsDType, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};
const RANK = new Map<string, number>(SAFETENSORS_DTYPES.map((d, i) => [d, i]));
const FLOAT_DTYPES = new Set<SafetensorsDType>(['F32', 'F64', 'F16', 'BF16']);
const INT_DTYPES = new Set<SafetensorsDType>(['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

/** The reference reader's limit on the header length (100 MB); beyond it a file is rejected. */
export const MAX_HEADER_BYTES = 100_000_000;

export function isSafetensorsDType(x: unknown): x is SafetensorsDType {
  return typeof x === 'string' && RANK.has(x);
}
/** Bytes per element (fractional for the 4- and 6-bit dtypes). */
export function dtypeBytes(d: SafetensorsDType): number {
  return BITS[d] / 8;
}

/** The JS typed arrays a tensor's values come in (F16/BF16 are read as Float32Array: Node 20 has no Float16Array). */
export type SafetensorsArray =
  | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array
  | Uint32Array | BigUint64Array;

/** A tensor given as a typed array and shape; `dtype` defaults to the array's (Uint8Array: U8; say 'BOOL' for bool). */
export interface RawTensor {
  readonly dtype?: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: SafetensorsArray;
}
/** What the writer accepts per name: a nodegrad Tensor (F32 or I32) or a RawTensor. */
export type TensorEntry = Tensor | RawTensor;
/** Named tensors: a plain object, a Map, or [name, tensor] pairs (which must not repeat a name). */
export type TensorMap = Readonly<Record<string, TensorEntry>> | ReadonlyMap<string, TensorEntry> | Iterable<readonly [string, TensorEntry]>;

/** One tensor's header entry. `dataOffsets` are relative to the data section, as in the file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly dataOffsets: readonly [number, number];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function arrayDType(data: unknown): SafetensorsDType | null {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Uint8Array) return 'U8';
  if (data instanceof Int8Array) return 'I8';
  if (data instanceof Int16Array) return 'I16';
  if (data instanceof Uint16Array) return 'U16';
  if (data instanceof Uint32Array) return 'U32';
  if (data instanceof BigUint64Array) return 'U64';
  return null;
}

/** Reverses the bytes of each `width`-byte element in place (big-endian hosts only). */
function swapBytes(u8: Uint8Array, width: number): void {
  if (width <= 1) return;
  for (let i = 0; i < u8.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = u8[a];
      u8[a] = u8[b];
      u8[b] = t;
    }
  }
}

function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// --------------------------------------------------------------------------------------------------------------
// Writing

interface Prepared {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  bytes: Uint8Array;
}

function entriesOf(tensors: TensorMap): [string, TensorEntry][] {
  if (tensors instanceof Map) return [...(tensors as ReadonlyMap<string, TensorEntry>).entries()];
  if (typeof (tensors as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return [...(tensors as Iterable<readonly [string, TensorEntry]>)].map(([k, v]) => [k, v]);
  }
  return Object.entries(tensors as Record<string, TensorEntry>);
}

function prepare(name: string, entry: TensorEntry): Prepared {
  const where = `serializeSafetensors: tensor '${name}'`;
  if (typeof name !== 'string') throw new DTypeError(`serializeSafetensors: tensor names must be strings, got ${typeof name}`);
  if (name === '__metadata__') throw new ValueError(`${where}: '__metadata__' is reserved for the metadata`);
  let data: unknown;
  let shape: readonly number[];
  let dtype: SafetensorsDType | undefined;
  if (entry instanceof Tensor) {
    data = entry.data;
    shape = entry.shape;
  } else if (entry !== null && typeof entry === 'object' && 'data' in entry && 'shape' in entry) {
    data = entry.data;
    shape = entry.shape;
    dtype = entry.dtype;
  } else {
    throw new DTypeError(`${where}: expected a Tensor or {dtype?, shape, data}, got ${Object.prototype.toString.call(entry)}`);
  }
  const natural = arrayDType(data);
  if (natural === null) throw new DTypeError(`${where}: data must be a typed array, got ${Object.prototype.toString.call(data)}`);
  if (dtype === undefined) dtype = natural;
  if (!isSafetensorsDType(dtype)) throw new DTypeError(`${where}: unknown dtype '${String(dtype)}'`);
  if (dtype === 'F16' || dtype === 'BF16') {
    throw new DTypeError(`${where}: writing ${dtype} is not supported (nodegrad reads F16/BF16 files but writes F32/F64)`);
  }
  const expectedArray = dtype === 'BOOL' ? 'U8' : dtype;
  if (natural !== expectedArray) throw new DTypeError(`${where}: dtype ${dtype} needs data of the matching typed array, got ${Object.prototype.toString.call(data)}`);
  if (!Array.isArray(shape)) throw new ShapeError(`${where}: shape must be an array`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ShapeError(`${where}: shape ${fmt(shape)} must hold non-negative integers`);
  }
  const arr = data as SafetensorsArray;
  if (sizeOfShape(shape) !== arr.length) throw new ShapeError(`${where}: shape ${fmt(shape)} needs ${sizeOfShape(shape)} elements but data has ${arr.length}`);
  if (dtype === 'BOOL') {
    for (let i = 0; i < arr.length; i++) if ((arr as Uint8Array)[i] > 1) throw new ValueError(`${where}: BOOL data must be 0 or 1, got ${(arr as Uint8Array)[i]} at index ${i}`);
  }
  return { name, dtype, shape: [...shape], bytes: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

/** The header JSON the reference writer produces, unpadded. */
function headerJson(items: readonly Prepared[], offsets: readonly number[], metadata: Readonly<Record<string, string>> | undefined): string {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  items.forEach((t, k) => {
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offsets[k]},${offsets[k + 1]}]}`);
  });
  return `{${parts.join(',')}}`;
}

function checkMetadata(metadata: unknown): Readonly<Record<string, string>> | undefined {
  if (metadata === undefined) return undefined;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new DTypeError(`serializeSafetensors: metadata must be an object of strings, got ${Object.prototype.toString.call(metadata)}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of metadata instanceof Map ? metadata.entries() : Object.entries(metadata)) {
    if (typeof v !== 'string') throw new DTypeError(`serializeSafetensors: metadata value of '${String(k)}' must be a string, got ${typeof v} (JSON.stringify it)`);
    out[k as string] = v;
  }
  return out;
}

/** The metadata key under which `serializeSafetensors(..., { checksum: true })` records the data's sha256. */
export const DATA_SHA256_KEY = 'nodegrad.data_sha256';

export interface SerializeOptions {
  /**
   * Record the sha256 of the data section in the metadata (DATA_SHA256_KEY), so that a reader can tell a
   * corrupt file from a good one (`SafetensorsFile.verifyChecksum`); other readers ignore it.
   */
  checksum?: boolean;
}

/**
 * The bytes of a safetensors file holding `tensors` (and `metadata`, string to string). Names must be unique
 * and not '__metadata__'; the tensors' order in the file is the reference writer's, whatever order they are
 * given in.
 */
export function serializeSafetensors(
  tensors: TensorMap,
  metadata?: Readonly<Record<string, string>>,
  opts: SerializeOptions = {},
): Uint8Array {
  let meta = checkMetadata(metadata);
  const items: Prepared[] = [];
  const seen = new Set<string>();
  for (const [name, entry] of entriesOf(tensors)) {
    if (seen.has(name)) throw new ValueError(`serializeSafetensors: tensor name '${name}' appears twice`);
    seen.add(name);
    items.push(prepare(name, entry));
  }
  items.sort((a, b) => RANK.get(b.dtype)! - RANK.get(a.dtype)! || utf8Compare(a.name, b.name));
  const offsets = [0];
  for (const t of items) offsets.push(offsets[offsets.length - 1] + t.bytes.byteLength);
  if (opts.checksum) {
    // The hash of the data section as it will be in the file (little-endian), tensor by tensor.
    const h = createHash('sha256');
    for (const t of items) {
      if (LITTLE_ENDIAN) h.update(t.bytes);
      else {
        const c = t.bytes.slice();
        swapBytes(c, BITS[t.dtype] / 8);
        h.update(c);
      }
    }
    meta = { ...meta, [DATA_SHA256_KEY]: h.digest('hex') };
  }
  const header = Buffer.from(headerJson(items, offsets, meta), 'utf8');
  const padded = header.length + ((8 - (header.length % 8)) % 8);
  const dataLen = offsets[offsets.length - 1];
  const out = Buffer.allocUnsafe(8 + padded + dataLen);
  out.writeBigUInt64LE(BigInt(padded), 0);
  header.copy(out, 8);
  out.fill(0x20, 8 + header.length, 8 + padded);
  items.forEach((t, k) => {
    const at = 8 + padded + offsets[k];
    out.set(t.bytes, at);
    if (!LITTLE_ENDIAN) swapBytes(out.subarray(at, at + t.bytes.byteLength), BITS[t.dtype] / 8);
  });
  return out;
}

/** Writes a safetensors file atomically (see atomic.ts: a crash leaves the old file or the new one). */
export async function writeSafetensors(path: string, tensors: TensorMap, metadata?: Readonly<Record<string, string>>, opts?: SerializeOptions): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata, opts));
}
export function writeSafetensorsSync(path: string, tensors: TensorMap, metadata?: Readonly<Record<string, string>>, opts?: SerializeOptions): void {
  writeFileAtomicSync(path, serializeSafetensors(tensors, metadata, opts));
}

// --------------------------------------------------------------------------------------------------------------
// Reading

/** A parsed, validated safetensors file. Values are decoded on request, each into a fresh array. */
export class SafetensorsFile {
  /** The path (or '<buffer>'), as named in errors. */
  readonly source: string;
  /** The `__metadata__` map ({} when the file has none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in the order of its data. */
  readonly tensors: readonly TensorInfo[];
  readonly #byName: Map<string, TensorInfo>;
  readonly #data: Uint8Array;

  /** @internal use parseSafetensors / readSafetensors */
  constructor(source: string, metadata: Record<string, string>, tensors: TensorInfo[], data: Uint8Array) {
    this.source = source;
    this.metadata = Object.freeze(metadata);
    this.tensors = Object.freeze(tensors);
    this.#byName = new Map(tensors.map((t) => [t.name, t]));
    this.#data = data;
  }

  names(): string[] {
    return this.tensors.map((t) => t.name);
  }
  has(name: string): boolean {
    return this.#byName.has(name);
  }
  /** The header entry of `name`; throws naming the file when there is none. */
  info(name: string): TensorInfo {
    const t = this.#byName.get(name);
    if (!t) throw new ValueError(`${this.source}: no tensor named '${name}' (the file has ${this.tensors.length}: ${this.tensors.slice(0, 8).map((x) => `'${x.name}'`).join(', ')}${this.tensors.length > 8 ? ', ...' : ''})`);
    return t;
  }
  /** The raw little-endian bytes of `name` (a view into the file's buffer: do not write to it). */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    return this.#data.subarray(t.dataOffsets[0], t.dataOffsets[1]);
  }

  /**
   * Checks the data section against the sha256 its metadata records (DATA_SHA256_KEY): true when it matches,
   * false when the file records none; a mismatch throws FileFormatError (the file is corrupt).
   */
  verifyChecksum(): boolean {
    const want = this.metadata[DATA_SHA256_KEY];
    if (want === undefined) return false;
    const got = createHash('sha256').update(this.#data).digest('hex');
    if (got !== want) throw new FileFormatError(this.source, `the data does not match the sha256 recorded in its metadata: the file is corrupt`);
    return true;
  }

  /** A copy of the bytes in a fresh (aligned) buffer, converted to host byte order for `width`-byte elements. */
  #hostCopy(t: TensorInfo): ArrayBuffer {
    // Not `.slice()`: on a Buffer that is a view, not a copy.
    const copy = new Uint8Array(t.dataOffsets[1] - t.dataOffsets[0]);
    copy.set(this.#data.subarray(t.dataOffsets[0], t.dataOffsets[1]));
    if (!LITTLE_ENDIAN) swapBytes(copy, BITS[t.dtype] / 8);
    return copy.buffer;
  }

  /**
   * The values exactly, in the typed array of the dtype (F16/BF16: widened to Float32Array, exact).
   * Throws for the dtypes nodegrad does not decode (F8_*, F4, F6_*, C64).
   */
  getArray(name: string): SafetensorsArray {
    const t = this.info(name);
    const n = sizeOfShape(t.shape);
    switch (t.dtype) {
      case 'F32': return new Float32Array(this.#hostCopy(t), 0, n);
      case 'F64': return new Float64Array(this.#hostCopy(t), 0, n);
      case 'I32': return new Int32Array(this.#hostCopy(t), 0, n);
      case 'I64': return new BigInt64Array(this.#hostCopy(t), 0, n);
      case 'U64': return new BigUint64Array(this.#hostCopy(t), 0, n);
      case 'U32': return new Uint32Array(this.#hostCopy(t), 0, n);
      case 'I16': return new Int16Array(this.#hostCopy(t), 0, n);
      case 'U16': return new Uint16Array(this.#hostCopy(t), 0, n);
      case 'I8': return new Int8Array(this.#hostCopy(t), 0, n);
      case 'U8':
      case 'BOOL': return new Uint8Array(this.#hostCopy(t), 0, n);
      case 'F16': return halfToFloat32(new Uint16Array(this.#hostCopy(t), 0, n));
      case 'BF16': return bfloat16ToFloat32(new Uint16Array(this.#hostCopy(t), 0, n));
      default:
        throw new DTypeError(`${this.source}: tensor '${name}' has dtype ${t.dtype}, which nodegrad does not decode (it reads F32, F64, F16, BF16 and the integer dtypes)`);
    }
  }

  /** Float values as float32: F32 as is, F64 rounded to nearest, F16/BF16 widened. Other dtypes throw. */
  getFloat32(name: string): Float32Array {
    const t = this.info(name);
    if (!FLOAT_DTYPES.has(t.dtype)) throw new DTypeError(`${this.source}: tensor '${name}' has dtype ${t.dtype}, not a float dtype (F32, F64, F16, BF16)`);
    const a = this.getArray(name);
    return a instanceof Float32Array ? a : Float32Array.from(a as Float64Array);
  }

  /**
   * A nodegrad tensor: float32 for the float dtypes (F64 rounded), int32 for the integer dtypes (I64, U32,
   * U64 range-checked: a value int32 cannot hold throws, naming the index).
   */
  getTensor(name: string): Tensor {
    const t = this.info(name);
    if (FLOAT_DTYPES.has(t.dtype)) return new Tensor(this.getFloat32(name), t.shape);
    if (!INT_DTYPES.has(t.dtype)) this.getArray(name); // throws the "does not decode" error
    const a = this.getArray(name);
    if (a instanceof Int32Array) return new Tensor(a, t.shape);
    const out = new Int32Array(a.length);
    if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        if (v < -2147483648n || v > 2147483647n) throw new ValueError(`${this.source}: tensor '${name}' (${t.dtype}) holds ${v} at index ${i}, outside int32`);
        out[i] = Number(v);
      }
    } else {
      for (let i = 0; i < a.length; i++) {
        const v = a[i] as number;
        if (v > 2147483647) throw new ValueError(`${this.source}: tensor '${name}' (${t.dtype}) holds ${v} at index ${i}, outside int32`);
        out[i] = v;
      }
    }
    return new Tensor(out, t.shape);
  }
}

/** IEEE binary16 bits to float32 (exact: every half is a float). NaN payloads and signed zeros are kept. */
export function halfToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const sign = (x & 0x8000) << 16;
    const e = (x >> 10) & 0x1f;
    const f = x & 0x3ff;
    if (e === 0) {
      if (f === 0) u[i] = sign;
      else out[i] = (sign ? -1 : 1) * f * 2 ** -24; // subnormal half: a normal float
    } else if (e === 31) {
      u[i] = (sign | 0x7f800000 | (f << 13)) >>> 0;
    } else {
      u[i] = (sign | ((e + 112) << 23) | (f << 13)) >>> 0;
    }
  }
  return out;
}

/** bfloat16 bits to float32: the upper half of a float32. */
export function bfloat16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < h.length; i++) u[i] = (h[i] << 16) >>> 0;
  return out;
}

/**
 * Parses and validates the bytes of a safetensors file. `source` names it in errors (a path, or '<buffer>').
 * The returned file keeps a reference to `bytes` (decoding copies out of it).
 */
export function parseSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsFile {
  const bad = (msg: string): never => {
    throw new FileFormatError(source, `not a valid safetensors file: ${msg}`);
  };
  if (!(bytes instanceof Uint8Array)) throw new DTypeError(`parseSafetensors: argument 'bytes' must be a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  if (bytes.length < 8) bad(`the file is ${bytes.length} bytes, too short for the 8-byte header length (truncated or empty)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    bad(`the header length ${n64} is larger than the rest of the file (${bytes.length - 8} bytes): truncated, or not a safetensors file`);
  }
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) bad(`the header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  if (n < 2) bad(`the header length ${n} is too small for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return bad('the header is not valid UTF-8');
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(text, { integersOnly: true });
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      if (e.duplicate?.depth === 0) bad(`the header names tensor '${e.duplicate.key}' twice`);
      return bad(`malformed JSON header: ${e.message} (of ${n} header bytes)`);
    }
    throw e;
  }
  if (!isJsonObject(header)) return bad(`the header must be a JSON object, got ${Array.isArray(header) ? 'an array' : typeof header}`);
  const data = bytes.subarray(8 + n);
  const dataLen = data.length;
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const key of Object.keys(header)) {
    const v = header[key];
    if (key === '__metadata__') {
      if (!isJsonObject(v)) bad(`'__metadata__' must be an object of strings`);
      const m = v as Record<string, JsonValue>;
      for (const k of Object.keys(m)) if (typeof m[k] !== 'string') bad(`'__metadata__' value of '${k}' must be a string, got ${JSON.stringify(m[k])}`);
      metadata = { ...(m as Record<string, string>) };
      continue;
    }
    const t = `tensor '${key}'`;
    if (!isJsonObject(v)) return bad(`${t}: the entry must be an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: off } = v;
    if (dtype === undefined) bad(`${t}: no 'dtype'`);
    if (!isSafetensorsDType(dtype)) return bad(`${t}: unknown dtype ${JSON.stringify(dtype)} (the spec's are ${SAFETENSORS_DTYPES.join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && d >= 0)) {
      return bad(`${t}: 'shape' must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => typeof d === 'number' && d >= 0)) {
      return bad(`${t}: 'data_offsets' must be [begin, end], non-negative integers, got ${JSON.stringify(off)}`);
    }
    const dims = shape as number[];
    const [begin, end] = off as number[];
    if (begin > end) bad(`${t}: data_offsets [${begin},${end}] end before they begin`);
    if (end > dataLen) bad(`${t}: data_offsets [${begin},${end}] run past the end of the data section (${dataLen} bytes): the file is truncated`);
    const count = sizeOfShape(dims);
    const bits = count * BITS[dtype];
    if (!Number.isSafeInteger(bits)) bad(`${t}: shape ${fmt(dims)} is too large`);
    if (bits % 8 !== 0) bad(`${t}: ${count} elements of ${dtype} are not a whole number of bytes`);
    if (bits / 8 !== end - begin) {
      bad(`${t}: ${dtype} ${fmt(dims)} needs ${bits / 8} bytes but data_offsets [${begin},${end}] hold ${end - begin}`);
    }
    tensors.push({ name: key, dtype, shape: Object.freeze([...dims]), dataOffsets: Object.freeze([begin, end]) as readonly [number, number] });
  }
  // The tensors must tile the data section: sorted by offset, each begins where the previous ended.
  const order = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let at = 0;
  let prev: TensorInfo | null = null;
  for (const t of order) {
    const [begin, end] = t.dataOffsets;
    if (begin < at) bad(`tensor '${t.name}': data_offsets [${begin},${end}] overlap tensor '${prev!.name}' [${prev!.dataOffsets[0]},${prev!.dataOffsets[1]}]`);
    if (begin > at) bad(`tensor '${t.name}': data_offsets [${begin},${end}] leave a gap of ${begin - at} bytes after ${prev ? `tensor '${prev.name}'` : 'the header'}`);
    at = end;
    prev = t;
  }
  if (at !== dataLen) bad(`${dataLen - at} bytes after the last tensor are not covered by the header (the data section must end with the last tensor)`);
  return new SafetensorsFile(source, metadata, order, data);
}

/** Reads and validates a safetensors file (the whole file, asynchronously). */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readFile(path), path);
}
export function readSafetensorsSync(path: string): SafetensorsFile {
  return parseSafetensors(readFileSync(path), path);
}
