/**
 * safetensors: files written by the reference implementation (PyTorch + huggingface safetensors, see
 * fixtures/make_fixtures.py) read back exactly; the writer reproduces the reference writer's bytes; round
 * trips of every writable dtype; every malformed input a FileFormatError naming the file and the tensor.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Tensor } from '../../src/tensor/tensor.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import {
  FileFormatError,
  MAX_HEADER_BYTES,
  parseSafetensors,
  readSafetensors,
  readSafetensorsSync,
  serializeSafetensors,
  writeSafetensors,
  type RawTensor,
  type TensorEntry,
} from '../../src/io/index.js';
import { halfToFloat32 } from '../../src/io/safetensors.js';
import { expectError } from '../helpers/errors.js';
import { Rng, uniformF64 } from '../helpers/random.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);

/** A safetensors file from a header text (padded to 8 like the reference unless told) and a data section. */
function build(header: string, data: Uint8Array | number = 0, declared?: bigint): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = Buffer.alloc(8 + h.length + body.length);
  out.writeBigUInt64LE(declared ?? BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(body, 8 + h.length);
  return out;
}
const entry = (dtype: string, shape: number[], begin: number, end: number): string =>
  JSON.stringify({ dtype, shape, data_offsets: [begin, end] });

function expectFormatError(bytes: Uint8Array, ...fragments: string[]): void {
  expectError(() => parseSafetensors(bytes, 'bad.safetensors'), FileFormatError, 'bad.safetensors', ...fragments);
}

describe('reading files written by the reference implementation', () => {
  it('decodes every dtype exactly (F32, F64, F16, BF16, I32, I64, U8, I8, I16, BOOL, scalars, empty)', () => {
    const f = readSafetensorsSync(fixture('dtypes.safetensors'));
    expect(f.metadata).toEqual({ format: 'pt', note: 'nodegrad fixture' });
    expect(new Set(f.names())).toEqual(new Set(['f32', 'f64', 'f16', 'bf16', 'i32', 'i64', 'i64_big', 'u8', 'i8', 'i16', 'bool', 'scalar', 'empty']));

    const f32 = f.getTensor('f32');
    expect(f32.dtype).toBe('float32');
    expect(f32.shape).toEqual([2, 3]);
    expect(Array.from(f32.data)).toEqual([-0.5, -0.25, 0, 0.25, 0.5, 0.75]);

    expect(Array.from(f.getArray('f64') as Float64Array)).toEqual([1 / 3, -0.1, 1e300, 2 ** -1074]);
    expect(Array.from(f.getTensor('f64').data)).toEqual([Math.fround(1 / 3), Math.fround(-0.1), Infinity, 0]);

    const f16 = Array.from(f.getFloat32('f16'));
    expect(f16.slice(0, 9)).toEqual([0, -0, 1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity]);
    expect(Object.is(f16[1], -0)).toBe(true);
    expect(f16[9]).toBe(0.0999755859375); // 0.1 rounded to half
    expect(Array.from(f.getFloat32('bf16'))).toEqual([0, 1, -1.5, 3.140625, 2 ** 100, -(2 ** -100), Infinity]);

    const i32 = f.getTensor('i32');
    expect(i32.dtype).toBe('int32');
    expect(i32.toArray()).toEqual([[-2147483648, 0], [7, 2147483647]]);
    expect(Array.from(f.getArray('i64') as BigInt64Array)).toEqual([-3n, 0n, 9n]);
    expect(Array.from(f.getTensor('i64').data)).toEqual([-3, 0, 9]);
    expect(Array.from(f.getArray('i64_big') as BigInt64Array)).toEqual([2n ** 40n]);
    expectError(() => f.getTensor('i64_big'), ValueError, 'dtypes.safetensors', "'i64_big'", '1099511627776', 'outside int32');
    expect(Array.from(f.getTensor('u8').data)).toEqual([0, 1, 255]);
    expect(Array.from(f.getTensor('i8').data)).toEqual([-128, 127]);
    expect(Array.from(f.getTensor('i16').data)).toEqual([-32768, 32767]);
    expect(f.info('bool').dtype).toBe('BOOL');
    expect(Array.from(f.getTensor('bool').data)).toEqual([1, 0, 1]);
    expect(f.getTensor('scalar').shape).toEqual([]);
    expect(f.getTensor('scalar').item()).toBe(2.5);
    expect(f.getTensor('empty').shape).toEqual([0, 3]);

    expectError(() => f.getFloat32('i32'), DTypeError, "'i32'", 'not a float dtype');
    expectError(() => f.info('nope'), ValueError, 'dtypes.safetensors', "no tensor named 'nope'");
  });

  it('reads a PyTorch state_dict (conv, batch norm with its I64 num_batches_tracked, linear)', async () => {
    const f = await readSafetensors(fixture('torch-state-dict.safetensors'));
    const want = JSON.parse(readFileSync(fixture('torch-state-dict.json'), 'utf8')) as Record<string, { shape: number[]; dtype: string; values: number[] }>;
    expect(new Set(f.names())).toEqual(new Set(Object.keys(want)));
    for (const [name, w] of Object.entries(want)) {
      const t = f.getTensor(name);
      expect(t.shape, name).toEqual(w.shape);
      expect(t.dtype, name).toBe(w.dtype === 'torch.int64' ? 'int32' : 'float32');
      expect(Array.from(t.data), name).toEqual(w.values.map((v) => (w.dtype === 'torch.int64' ? v : Math.fround(v))));
    }
    expect(f.info('1.num_batches_tracked').dtype).toBe('I64');
  });

  it('widens every one of the 65536 half-precision bit patterns exactly', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const got = halfToFloat32(bits);
    for (let i = 0; i < 65536; i++) {
      const s = i & 0x8000 ? -1 : 1;
      const e = (i >> 10) & 31;
      const m = i & 1023;
      const want = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
      if (!Object.is(got[i], want)) expect(got[i], `half 0x${i.toString(16)}`).toBe(want);
    }
  });
});

describe('writing', () => {
  const referenceTensors = (): Record<string, TensorEntry> => ({
    zeta: new Tensor(Float32Array.from([0, 1, 2, 3, 4], (v) => v * 0.25), [5]),
    alpha: new Tensor(Int32Array.from([-2, -1, 0, 1]), [4]),
    mid: { shape: [3], data: Float64Array.from([0, 1, 2], (v) => v / 3) },
    count: { dtype: 'I64', shape: [], data: BigInt64Array.from([12n]) },
    beta: new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]),
    flags: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  });

  it("produces the reference writer's bytes for the same tensors and metadata (order, offsets, padding)", () => {
    const ours = serializeSafetensors(referenceTensors(), { framework: 'nodegrad' });
    const theirs = readFileSync(fixture('writer-reference.safetensors'));
    expect(Buffer.from(ours).toString('latin1')).toBe(theirs.toString('latin1'));
  });

  it('pads the header with spaces to 8 bytes and orders tensors widest dtype first, so each is aligned', () => {
    const bytes = serializeSafetensors(referenceTensors());
    const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const f = parseSafetensors(bytes);
    expect(f.tensors.map((t) => t.name)).toEqual(['count', 'mid', 'beta', 'zeta', 'alpha', 'flags']);
    const width: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U8: 1 };
    for (const t of f.tensors) expect((8 + n + t.dataOffsets[0]) % width[t.dtype], t.name).toBe(0);
    expect(f.metadata).toEqual({});
    expect(Buffer.from(bytes).subarray(8, 8 + n).toString('utf8')).not.toContain('__metadata__');
  });

  it('round-trips every writable dtype, awkward shapes and names, metadata, through a file', async () => {
    const rng = new Rng(11);
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-st-'));
    try {
      for (let trial = 0; trial < 20; trial++) {
        const tensors = new Map<string, RawTensor>();
        const count = rng.int(0, 6);
        for (let k = 0; k < count; k++) {
          const rank = rng.int(0, 4);
          const shape = Array.from({ length: rank }, () => rng.int(0, 5));
          const n = shape.reduce((a, b) => a * b, 1);
          const u = uniformF64(n, trial * 100 + k, -1e6, 1e6);
          const kinds: (() => RawTensor)[] = [
            () => ({ shape, data: Float32Array.from(u) }),
            () => ({ shape, data: Float64Array.from(u) }),
            () => ({ shape, data: Int32Array.from(u, Math.round) }),
            () => ({ shape, data: BigInt64Array.from(u, (v) => BigInt(Math.round(v)) * 1234567n) }),
            () => ({ shape, data: BigUint64Array.from(u, (v) => BigInt(Math.abs(Math.round(v))) << 20n) }),
            () => ({ shape, data: Uint8Array.from(u, (v) => Math.abs(Math.round(v)) % 256) }),
            () => ({ dtype: 'BOOL', shape, data: Uint8Array.from(u, (v) => (v > 0 ? 1 : 0)) }),
            () => ({ shape, data: Int8Array.from(u, (v) => Math.round(v) % 128) }),
            () => ({ shape, data: Int16Array.from(u, (v) => Math.round(v) % 32768) }),
            () => ({ shape, data: Uint16Array.from(u, (v) => Math.abs(Math.round(v)) % 65536) }),
            () => ({ shape, data: Uint32Array.from(u, (v) => Math.abs(Math.round(v))) }),
          ];
          const names = [`layer_${k}/kernel`, `ü-名前 ${k}`, `quote"back\\slash\n${k}`, `${k}`, `conv${k}.weight`, `\u0001ctl${k}`];
          tensors.set(rng.pick(names), rng.pick(kinds)());
        }
        const metadata = trial % 2 ? { epoch: String(trial), 'ключ': 'значение "q"', empty: '' } : undefined;
        const path = join(dir, `t${trial}.safetensors`);
        await writeSafetensors(path, tensors, metadata);
        const f = await readSafetensors(path);
        expect(f.metadata).toEqual(metadata ?? {});
        expect(new Set(f.names())).toEqual(new Set(tensors.keys()));
        for (const [name, t] of tensors) {
          expect(f.info(name).shape, name).toEqual(t.shape);
          expect(f.info(name).dtype, name).toBe(t.dtype ?? f.info(name).dtype);
          const got = f.getArray(name);
          expect(got.constructor, name).toBe(t.data.constructor);
          expect(Array.from(got as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
        }
      }
      // Atomic writes leave no temp files behind.
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps float32 bits exactly (NaN payloads, -0, subnormals, infinities)', () => {
    const bits = Uint32Array.from([0x7fc00001, 0xffa00000, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]);
    const t = new Tensor(new Float32Array(bits.buffer), [7]);
    const back = parseSafetensors(serializeSafetensors({ t })).getTensor('t');
    expect(Array.from(new Uint32Array(back.data.buffer, back.data.byteOffset, 7))).toEqual(Array.from(bits));
  });

  it('rejects what it cannot write, naming the tensor', () => {
    const x = new Tensor(new Float32Array(2), [2]);
    expectError(() => serializeSafetensors([['a', x], ['a', x]]), ValueError, "'a' appears twice");
    expectError(() => serializeSafetensors({ __metadata__: x }), ValueError, "'__metadata__' is reserved");
    expectError(() => serializeSafetensors({ w: { shape: [3], data: new Float32Array(2) } }), ShapeError, "tensor 'w'", '[3] needs 3 elements but data has 2');
    expectError(() => serializeSafetensors({ w: { shape: [-1], data: new Float32Array(2) } }), ShapeError, "tensor 'w'", 'non-negative integers');
    expectError(() => serializeSafetensors({ w: { dtype: 'F16', shape: [2], data: new Uint16Array(2) } }), DTypeError, "tensor 'w'", 'F16 is not supported');
    expectError(() => serializeSafetensors({ w: { dtype: 'F64', shape: [2], data: new Float32Array(2) } }), DTypeError, "tensor 'w'", 'dtype F64 needs data of the matching typed array');
    expectError(() => serializeSafetensors({ w: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([0, 2]) } }), ValueError, "tensor 'w'", 'BOOL data must be 0 or 1');
    expectError(() => serializeSafetensors({ w: { shape: [2], data: [1, 2] as unknown as Float32Array } }), DTypeError, "tensor 'w'", 'typed array');
    expectError(() => serializeSafetensors({ w: x }, { epoch: 3 as unknown as string }), DTypeError, "metadata value of 'epoch' must be a string");
  });
});

describe('malformed files: each a FileFormatError naming the file and the tensor', () => {
  const ok = `{"a":${entry('F32', [2], 0, 8)}}`;

  it('accepts the hand-built baseline, an empty header, and entries out of offset order (as the reference does)', () => {
    expect(parseSafetensors(build(ok, 8)).getTensor('a').shape).toEqual([2]);
    expect(parseSafetensors(build('{}')).names()).toEqual([]);
    expect(parseSafetensors(build('  {}  ')).names()).toEqual([]);
    const swapped = parseSafetensors(build(`{"b":${entry('F32', [1], 4, 8)},"a":${entry('F32', [1], 0, 4)}}`, 8));
    expect(swapped.names()).toEqual(['a', 'b']);
  });

  it('file too short, header length larger than the file or over the limit', () => {
    expectFormatError(new Uint8Array(0), 'the file is 0 bytes', 'too short');
    expectFormatError(new Uint8Array(5), 'the file is 5 bytes');
    expectFormatError(build(ok, 8, 1000n), 'header length 1000 is larger than the rest of the file', 'truncated');
    expectFormatError(build(ok, 8, 2n ** 64n - 1n), `header length ${2n ** 64n - 1n} is larger`);
    expectFormatError(build('', 0, 0n), 'header length 0 is too small');
    const huge = Buffer.alloc(8 + MAX_HEADER_BYTES + 8);
    huge.writeBigUInt64LE(BigInt(MAX_HEADER_BYTES + 8), 0);
    expectFormatError(huge, `exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  });

  it('header not UTF-8, not JSON, not an object', () => {
    const latin1 = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff, 0xfe]), Buffer.from('":{}}')]);
    const b = Buffer.alloc(8 + latin1.length);
    b.writeBigUInt64LE(BigInt(latin1.length), 0);
    latin1.copy(b, 8);
    expectFormatError(b, 'not valid UTF-8');
    expectFormatError(build(`{"a":${entry('F32', [2], 0, 8)}`, 8), 'malformed JSON header');
    expectFormatError(build(`{"a":${entry('F32', [2], 0, 8)},}`, 8), 'malformed JSON header', "expected a string key");
    expectFormatError(build(`{'a':1}`), 'malformed JSON header');
    expectFormatError(build(`${ok} x`, 8), 'malformed JSON header', 'after the JSON value');
    expectFormatError(build('[1,2]'), 'must be a JSON object', 'an array');
    expectFormatError(build('"x"'), 'must be a JSON object', 'string');
  });

  it('duplicate tensor names', () => {
    expectFormatError(build(`{"a":${entry('F32', [1], 0, 4)},"a":${entry('F32', [1], 4, 8)}}`, 8), "names tensor 'a' twice");
    expectFormatError(build(`{"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}`, 4), 'malformed JSON header', 'duplicate key "dtype"');
  });

  it('unknown dtypes, dtypes not decoded', () => {
    expectFormatError(build(`{"w":${entry('F33', [1], 0, 4)}}`, 4), "tensor 'w'", 'unknown dtype "F33"');
    expectFormatError(build(`{"w":${entry('f32', [1], 0, 4)}}`, 4), "tensor 'w'", 'unknown dtype "f32"');
    expectFormatError(build(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, 4), "tensor 'w'", "no 'dtype'");
    const f8 = parseSafetensors(build(`{"w":${entry('F8_E4M3', [4], 0, 4)}}`, 4), 'f8.safetensors');
    expectError(() => f8.getTensor('w'), DTypeError, 'f8.safetensors', "tensor 'w'", 'F8_E4M3', 'does not decode');
  });

  it('bad shapes and offsets', () => {
    for (const shape of ['[-1]', '[1.0]', '[1e0]', '["2"]', '2', 'null', '[9007199254740993]']) {
      expectFormatError(build(`{"w":{"dtype":"F32","shape":${shape},"data_offsets":[0,4]}}`, 4), ...(shape.includes('.') || shape.includes('e') || shape.startsWith('[9') ? ['malformed JSON header'] : ["tensor 'w'", "'shape' must be an array"]));
    }
    for (const off of ['[0]', '[0,4,8]', '[-4,0]', '"0,4"', '[0,"4"]']) {
      expectFormatError(build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":${off}}}`, 4), ...(off === '[-4,0]' ? ["'data_offsets' must be [begin, end]"] : ["tensor 'w'", "'data_offsets' must be [begin, end]"]));
    }
    expectFormatError(build(`{"w":${entry('F32', [1], 8, 4)}}`, 8), "tensor 'w'", 'end before they begin');
  });

  it('offsets out of range (a truncated data section)', () => {
    expectFormatError(build(`{"w":${entry('F32', [4], 0, 16)}}`, 12), "tensor 'w'", 'data_offsets [0,16] run past the end of the data section (12 bytes)', 'truncated');
  });

  it("a byte size that is not dtype x shape", () => {
    expectFormatError(build(`{"w":${entry('F32', [2, 2], 0, 12)}}`, 12), "tensor 'w'", 'F32 [2,2] needs 16 bytes but data_offsets [0,12] hold 12');
    expectFormatError(build(`{"w":${entry('F64', [3], 0, 12)}}`, 12), "tensor 'w'", 'F64 [3] needs 24 bytes');
    expectFormatError(build(`{"w":${entry('F4', [3], 0, 2)}}`, 2), "tensor 'w'", 'not a whole number of bytes');
  });

  it('overlapping tensors, gaps, bytes after the last tensor', () => {
    expectFormatError(build(`{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [1], 4, 8)}}`, 8), 'overlap', "'a'", "'b'");
    expectFormatError(build(`{"a":${entry('F32', [2], 0, 8)},"b":${entry('F32', [2], 0, 8)}}`, 8), 'overlap');
    expectFormatError(build(`{"a":${entry('F32', [1], 0, 4)},"b":${entry('F32', [1], 8, 12)}}`, 12), "tensor 'b'", 'gap of 4 bytes', "after tensor 'a'");
    expectFormatError(build(`{"a":${entry('F32', [1], 4, 8)}}`, 8), "tensor 'a'", 'gap of 4 bytes after the header');
    expectFormatError(build(ok, 12), '4 bytes after the last tensor');
  });

  it('metadata that is not an object of strings', () => {
    expectFormatError(build('{"__metadata__":{"epoch":3}}'), "'__metadata__' value of 'epoch' must be a string");
    expectFormatError(build('{"__metadata__":[1]}'), "'__metadata__' must be an object of strings");
  });

  it('a tensor entry that is not an object', () => {
    expectFormatError(build('{"w":[1,2]}'), "tensor 'w'", 'must be an object');
  });

  it('every truncation of a real file is a FileFormatError', () => {
    const whole = readFileSync(fixture('dtypes.safetensors'));
    for (let len = 0; len < whole.length; len++) {
      let caught: unknown = null;
      try {
        parseSafetensors(whole.subarray(0, len), 'cut.safetensors');
      } catch (e) {
        caught = e;
      }
      expect(caught, `prefix of ${len} bytes`).toBeInstanceOf(FileFormatError);
    }
  });

  it('random byte corruption of the header never escapes as anything but a FileFormatError', () => {
    const whole = readFileSync(fixture('dtypes.safetensors'));
    const n = Number(whole.readBigUInt64LE(0));
    const rng = new Rng(5);
    for (let trial = 0; trial < 2000; trial++) {
      const b = Buffer.from(whole);
      const flips = rng.int(1, 3);
      for (let k = 0; k < flips; k++) b[rng.int(0, 8 + n - 1)] = rng.int(0, 255);
      try {
        const f = parseSafetensors(b, 'fuzz.safetensors');
        for (const name of f.names()) {
          try {
            f.getArray(name);
          } catch (e) {
            if (!(e instanceof DTypeError)) throw e; // a flip may turn a dtype into one that is not decoded
          }
        }
      } catch (e) {
        if (!(e instanceof FileFormatError)) throw new Error(`trial ${trial}: ${String(e)}`);
      }
    }
  });

  it('names the path when reading from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-st-'));
    try {
      const path = join(dir, 'weights.safetensors');
      writeFileSync(path, readFileSync(fixture('dtypes.safetensors')).subarray(0, 300));
      await expect(readSafetensors(path)).rejects.toThrow(FileFormatError);
      await expect(readSafetensors(path)).rejects.toThrow(`${path}: not a valid safetensors file`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The other direction: the reference implementation reads what nodegrad writes. Runs where a Python with the
// safetensors package is found (SAFETENSORS_PYTHON, else python3); elsewhere it is skipped, saying why.
const python = ((): string | null => {
  const candidates = [process.env.SAFETENSORS_PYTHON, 'python3'].filter((p): p is string => !!p);
  for (const p of candidates) {
    const r = spawnSync(p, ['-c', 'import safetensors.numpy, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return null;
})();
describe.skipIf(python === null)('the reference implementation reads our files (SAFETENSORS_PYTHON or python3 with safetensors)', () => {
  it('loads every dtype with the same values and metadata', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-st-'));
    try {
      const path = join(dir, 'ours.safetensors');
      const tensors: Record<string, TensorEntry> = {
        'conv2d/kernel': new Tensor(Float32Array.from(uniformF64(3 * 3 * 2 * 4, 1)), [3, 3, 2, 4]),
        labels: new Tensor(Int32Array.from([3, 1, 4, 1, 5]), [5]),
        f64: { shape: [2], data: Float64Array.from([1 / 3, -2.5]) },
        step: { dtype: 'I64', shape: [], data: BigInt64Array.from([2n ** 40n]) },
        mask: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      };
      writeFileSync(path, serializeSafetensors(tensors, { framework: 'nodegrad' }));
      const script = [
        'import json, sys',
        'from safetensors import safe_open',
        'from safetensors.numpy import load_file',
        'd = load_file(sys.argv[1])',
        'meta = safe_open(sys.argv[1], "np").metadata()',
        'print(json.dumps({"meta": meta, "t": {k: {"dtype": str(v.dtype), "shape": list(v.shape), "values": v.flatten().tolist()} for k, v in d.items()}}))',
      ].join('\n');
      const out = JSON.parse(execFileSync(python!, ['-c', script, path], { encoding: 'utf8' })) as {
        meta: Record<string, string>;
        t: Record<string, { dtype: string; shape: number[]; values: (number | boolean)[] }>;
      };
      expect(out.meta).toEqual({ framework: 'nodegrad' });
      expect(out.t['conv2d/kernel'].dtype).toBe('float32');
      expect(out.t['conv2d/kernel'].shape).toEqual([3, 3, 2, 4]);
      expect(out.t['conv2d/kernel'].values).toEqual(Array.from((tensors['conv2d/kernel'] as Tensor).data));
      expect(out.t.labels).toEqual({ dtype: 'int32', shape: [5], values: [3, 1, 4, 1, 5] });
      expect(out.t.f64).toEqual({ dtype: 'float64', shape: [2], values: [1 / 3, -2.5] });
      expect(out.t.step).toEqual({ dtype: 'int64', shape: [], values: [2 ** 40] });
      expect(out.t.mask).toEqual({ dtype: 'bool', shape: [2], values: [true, false] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
