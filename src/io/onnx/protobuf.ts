/**
 * A minimal protocol-buffers wire-format writer: enough to serialise ONNX models without a protobuf library.
 *
 * The wire format (https://protobuf.dev/programming-guides/encoding/): a message is a sequence of fields, each a
 * key `(field_number << 3) | wire_type` as a varint followed by the value. Wire types used here:
 *   0 VARINT   int32/int64/enum/bool, base-128 little-endian groups of 7 bits, high bit = "more follows";
 *              negative int32/int64 are sign-extended to 64 bits (always 10 bytes), as protobuf requires.
 *   2 LEN      a varint byte length, then the bytes: strings, bytes, nested messages, packed repeated scalars.
 *   5 I32      4 bytes little-endian: float (fixed32).
 * Fields at their default value are still written when the caller asks (proto2 `optional` semantics, which
 * onnx.proto uses): the reader sees exactly what we wrote.
 *
 * A Writer keeps a list of chunks and their total length, so a nested message is measured and appended without
 * copying its bytes (large weight tensors are copied once, in finish()).
 */
import { ValueError } from '../../errors.js';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class Writer {
  #chunks: Uint8Array[] = [];
  #length = 0;
  /** Small values are gathered here before becoming a chunk, so a message of many ints is not many arrays. */
  #scratch: number[] = [];

  /** Bytes written so far. */
  get length(): number {
    return this.#length + this.#scratch.length;
  }

  #flushScratch(): void {
    if (this.#scratch.length === 0) return;
    const c = Uint8Array.from(this.#scratch);
    this.#chunks.push(c);
    this.#length += c.length;
    this.#scratch = [];
  }

  #byte(b: number): void {
    this.#scratch.push(b);
  }

  /** Appends bytes as they are (kept by reference until finish()). */
  #raw(bytes: Uint8Array): void {
    if (bytes.length < 64) {
      for (let i = 0; i < bytes.length; i++) this.#scratch.push(bytes[i]);
      return;
    }
    this.#flushScratch();
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  /** An unsigned varint (0 <= v <= 2^53 - 1), or a negative integer sign-extended to 64 bits (10 bytes). */
  varint(v: number | bigint): void {
    if (typeof v === 'number' && !Number.isInteger(v)) throw new ValueError(`protobuf: a varint must be an integer, got ${v}`);
    if (typeof v === 'bigint' || v < 0 || v > Number.MAX_SAFE_INTEGER) {
      let u = BigInt.asUintN(64, BigInt(v));
      while (u >= 0x80n) {
        this.#byte(Number(u & 0x7fn) | 0x80);
        u >>= 7n;
      }
      this.#byte(Number(u));
      return;
    }
    while (v >= 0x80) {
      this.#byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#byte(v);
  }

  #key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** An int32/int64/enum/bool field (wire type 0). */
  int(field: number, v: number | bigint | boolean): void {
    this.#key(field, WIRE_VARINT);
    this.varint(typeof v === 'boolean' ? (v ? 1 : 0) : v);
  }

  /** A float field (wire type 5, fixed32 little-endian). */
  float(field: number, v: number): void {
    this.#key(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.#raw(b);
  }

  /** A bytes field (wire type 2). */
  bytes(field: number, data: Uint8Array): void {
    this.#key(field, WIRE_LEN);
    this.varint(data.length);
    this.#raw(data);
  }

  /** A string field (wire type 2, UTF-8). */
  string(field: number, s: string): void {
    this.bytes(field, utf8.encode(s));
  }

  /** A nested message field (wire type 2): `build` writes the message's fields into a fresh Writer. */
  message(field: number, build: (w: Writer) => void): void {
    const sub = new Writer();
    build(sub);
    sub.#flushScratch();
    this.#key(field, WIRE_LEN);
    this.varint(sub.#length);
    this.#flushScratch();
    for (const c of sub.#chunks) this.#chunks.push(c);
    this.#length += sub.#length;
  }

  /** A packed repeated int32/int64 field (wire type 2 holding consecutive varints). */
  packedInts(field: number, values: readonly (number | bigint)[]): void {
    const sub = new Writer();
    for (const v of values) sub.varint(v);
    this.bytes(field, sub.finish());
  }

  /** A packed repeated float field (wire type 2 holding consecutive fixed32 values). */
  packedFloats(field: number, values: ArrayLike<number>): void {
    this.bytes(field, float32LE(Float32Array.from(values)));
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    this.#flushScratch();
    if (this.#chunks.length === 1) return this.#chunks[0];
    const out = new Uint8Array(this.#length);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** The little-endian bytes of a typed array (a view of it on little-endian hosts, a swapped copy otherwise). */
export function float32LE(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i], true);
  return out;
}

/** Little-endian int64 bytes of integers (what ONNX stores in raw_data for INT64 tensors). */
export function int64LE(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (!Number.isSafeInteger(v)) throw new ValueError(`protobuf: an int64 value must be a safe integer, got ${v}`);
    dv.setBigInt64(8 * i, BigInt(v), true);
  });
  return out;
}
