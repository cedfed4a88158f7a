/**
 * The native data-movement and selection entries (native/addon/movement.cc, select.cc): copies keep every bit,
 * NaN payloads included (the property tests count any NaN as equal to any NaN), the backend routes float32 and
 * int32 to the addon and float64, SharedArrayBuffer-backed data and rank above 8 to the reference; then every
 * boundary check: each bad call throws a TypeError or RangeError naming the function and the argument, writes
 * nothing, and the addon keeps working.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Backend, KTensor } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { loadNativeBackend } from '../../src/backends/native/index.js';
import type { BroadcastBinaryAddon, MathUnaryAddon } from '../../src/backends/native/elementwise.js';
import type { MovementAddon } from '../../src/backends/native/movement.js';
import type { SelectAddon } from '../../src/backends/native/select.js';
import { referenceBackend as ref } from '../../src/backends/reference/index.js';
import { expectError } from '../helpers/errors.js';

const load = loadNativeBackend();
const native = load.backend as Backend;
const addon = loadAddon().addon as MovementAddon & SelectAddon & BroadcastBinaryAddon & MathUnaryAddon;

const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
const f32 = (n: number, v = 0): Float32Array => new Float32Array(n).fill(v);

/** Float32 data whose bit patterns are `bits` (signalling and payload-carrying NaNs among them). */
function fromBits(bits: number[], shape: number[]): { f: KTensor<Float32Array>; i: KTensor<Int32Array> } {
  const i = Int32Array.from(bits);
  return { f: { data: new Float32Array(i.buffer), shape }, i: { data: i, shape } };
}

const bitsOf = (t: KTensor): number[] => Array.from(new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length));

describe.skipIf(!load.backend)('native copies keep every bit', () => {
  // 0x7f800001: a signalling NaN (a float64 round trip would set its quiet bit); 0xffc12345: a negative NaN with a payload.
  const bits = Array.from({ length: 24 }, (_, k) => [0x7f800001, 0xffc12345 | 0, 0x7fc00000 + k, -2147483648, k][k % 5]);
  const { f, i } = fromBits(bits, [2, 3, 4]);
  const cond = { data: Int32Array.from({ length: 24 }, (_, k) => k % 3), shape: [2, 3, 4] };
  // Each case on float32 against the reference on the same bits as int32 (where every copy is exact).
  const cases: [string, (b: Backend, x: KTensor) => KTensor][] = [
    ['transpose', (b, x) => b.transpose(x, [2, 0, 1])],
    ['slice', (b, x) => b.slice(x, [0, 1, 1], [2, 2, 2], [1, 1, 2])],
    ['pad reflect', (b, x) => b.pad(x, [[1, 1], [2, 2], [3, 3]], 'reflect', 0)],
    ['pad symmetric', (b, x) => b.pad(x, [[2, 0], [0, 3], [1, 4]], 'symmetric', 0)],
    ['concat', (b, x) => b.concat([x, x], 1)],
    ['gather', (b, x) => b.gather(x, { data: i32(3, 0, 3), shape: [3] }, 2)],
    ['where', (b, x) => b.where(cond, x, b.transpose(x, [0, 1, 2]), [2, 3, 4])],
  ];
  for (const [name, run] of cases) {
    it(`${name} on float32 copies NaN payloads as they are`, () => {
      expect(bitsOf(run(native, f))).toEqual(bitsOf(run(ref, i)));
    });
  }
  it('cast float32 -> float32 copies the bits', () => {
    expect(bitsOf(native.cast(f, 'float32'))).toEqual(bits);
  });
});

describe.skipIf(!load.backend)('routing', () => {
  afterEach(() => vi.restoreAllMocks());
  it('float32 and int32 run on the addon', () => {
    const spy = vi.spyOn(addon, 'stridedCopy32');
    native.transpose({ data: f32(6), shape: [2, 3] }, [1, 0]);
    native.pad({ data: new Int32Array(6), shape: [2, 3] }, [[1, 0], [0, 1]], 'constant', 5);
    expect(spy).toHaveBeenCalledTimes(2);
  });
  it('float64, SharedArrayBuffer-backed data and rank 9 run on the reference, with its results', () => {
    const spy = vi.spyOn(addon, 'stridedCopy32');
    const x64 = { data: Float64Array.from({ length: 6 }, (_, k) => k / 3), shape: [2, 3] };
    expect(native.transpose(x64, [1, 0])).toEqual(ref.transpose(x64, [1, 0]));
    const sab = { data: new Float32Array(new SharedArrayBuffer(24)).fill(2), shape: [2, 3] };
    expect(Array.from(native.slice(sab, [0, 1], [2, 2], [1, 1]).data)).toEqual([2, 2, 2, 2]);
    const deep = { data: Float32Array.from({ length: 16 }, (_, k) => k), shape: [2, 1, 1, 2, 1, 1, 2, 1, 2] };
    const perm = [8, 7, 6, 5, 4, 3, 2, 1, 0];
    expect(native.transpose(deep, perm)).toEqual(ref.transpose(deep, perm));
    expect(spy).not.toHaveBeenCalled();
  });
  it('an int32 pad value is stored as Int32Array would store it, a float32 one rounded', () => {
    const xi = { data: i32(1, 2), shape: [2] };
    expect(Array.from(native.pad(xi, [[1, 1]], 'constant', 2 ** 32 + 7.9).data)).toEqual([7, 1, 2, 7]);
    const xf = { data: Float32Array.of(1), shape: [1] };
    expect(native.pad(xf, [[1, 0]], 'constant', 0.1).data[0]).toBe(Math.fround(0.1));
  });
});

// ---------------------------------------------------------------------------------------------
// boundary checks

type Entry = {
  fn: keyof typeof addon;
  /** A good call's arguments (fresh each time; outputs filled with 7). */
  make: () => unknown[];
  /** Output positions (must stay untouched by a rejected call). */
  outs: number[];
  /** [position, name, what it must be] of each typed-array argument. */
  arrays: [number, string, string][];
};

const ENTRIES: Entry[] = [
  {
    fn: 'stridedCopy32',
    make: () => [f32(6, 1), f32(6, 7), i32(3, 2), i32(3, 2), i32(1, 3), i32(0, 0), i32(1, 1), 0, 0],
    outs: [1],
    arrays: [[0, 'x', 'a Float32Array or an Int32Array'], [1, 'out', 'a Float32Array or an Int32Array'],
      [2, 'outShape', 'an Int32Array'], [3, 'inDims', 'an Int32Array'], [4, 'inStrides', 'an Int32Array'],
      [5, 'offsets', 'an Int32Array'], [6, 'steps', 'an Int32Array']],
  },
  {
    fn: 'concatCopy32', make: () => [f32(4, 1), f32(8, 7), 2, 2, 4, 2], outs: [1],
    arrays: [[0, 'x', 'a Float32Array or an Int32Array'], [1, 'out', 'a Float32Array or an Int32Array']],
  },
  {
    fn: 'gather32', make: () => [f32(6, 1), i32(2, 0), f32(4, 7), 2, 3, 1], outs: [2],
    arrays: [[0, 'x', 'a Float32Array or an Int32Array'], [1, 'indices', 'an Int32Array'], [2, 'out', 'a Float32Array or an Int32Array']],
  },
  {
    fn: 'oneHotF32', make: () => [i32(1, 0), f32(6, 7), 3, 1, 0], outs: [1],
    arrays: [[0, 'indices', 'an Int32Array'], [1, 'out', 'a Float32Array']],
  },
  {
    fn: 'compare', make: () => [0, f32(6, 1), f32(3, 1), new Int32Array(6).fill(7), i32(2, 3), i32(3, 1), i32(0, 1)], outs: [3],
    arrays: [[1, 'a', 'a Float32Array or an Int32Array'], [2, 'b', 'a Float32Array or an Int32Array'], [3, 'out', 'an Int32Array'],
      [4, 'outShape', 'an Int32Array'], [5, 'aStrides', 'an Int32Array'], [6, 'bStrides', 'an Int32Array']],
  },
  {
    fn: 'where32', make: () => [i32(1, 0), f32(6, 1), f32(1, 2), f32(6, 7), i32(2, 3), i32(1, 0), i32(3, 1), i32(0, 0)], outs: [3],
    arrays: [[0, 'cond', 'an Int32Array'], [1, 'a', 'a Float32Array or an Int32Array'], [2, 'b', 'a Float32Array or an Int32Array'],
      [3, 'out', 'a Float32Array or an Int32Array'], [4, 'outShape', 'an Int32Array'], [5, 'condStrides', 'an Int32Array'],
      [6, 'aStrides', 'an Int32Array'], [7, 'bStrides', 'an Int32Array']],
  },
  {
    fn: 'clip', make: () => [f32(4, 3), f32(4, 7), 0, 1], outs: [1],
    arrays: [[0, 'x', 'a Float32Array or an Int32Array'], [1, 'out', 'a Float32Array or an Int32Array']],
  },
  {
    fn: 'cast', make: () => [f32(4, 3), new Int32Array(4).fill(7)], outs: [1],
    arrays: [[0, 'x', 'a Float32Array or an Int32Array'], [1, 'out', 'a Float32Array or an Int32Array']],
  },
  // The elementwise entries that share the broadcast plan (native/addon/scalar_math.cc).
  {
    fn: 'broadcastBinaryF32', make: () => [2, f32(6, 1), f32(3, 1), f32(6, 7), i32(2, 3), i32(3, 1), i32(0, 1)], outs: [3],
    arrays: [[1, 'a', 'a Float32Array'], [2, 'b', 'a Float32Array'], [3, 'out', 'a Float32Array'], [4, 'outShape', 'an Int32Array'],
      [5, 'aStrides', 'an Int32Array'], [6, 'bStrides', 'an Int32Array']],
  },
  {
    fn: 'mathUnaryF32', make: () => [0, f32(4, 3), f32(4, 7)], outs: [2],
    arrays: [[1, 'x', 'a Float32Array'], [2, 'y', 'a Float32Array']],
  },
];

function call(fn: string, args: unknown[]): unknown {
  return (addon[fn as keyof typeof addon] as (...a: unknown[]) => unknown)(...args);
}

function untouched(e: Entry, args: unknown[], replaced = -1): void {
  for (const o of e.outs) if (o !== replaced) expect(Array.from(args[o] as Float32Array).every((v) => v === 7), `${e.fn} output untouched`).toBe(true);
}

describe.skipIf(!load.backend)('movement and selection entries reject bad arguments', () => {
  afterEach(() => {
    const out = f32(6);
    addon.stridedCopy32(Float32Array.from([1, 2, 3, 4, 5, 6]), out, i32(3, 2), i32(3, 2), i32(1, 3), i32(0, 0), i32(1, 1), 0, 0);
    expect(Array.from(out)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  for (const e of ENTRIES) {
    it(`${e.fn}: a good call works, a wrong argument count is a TypeError`, () => {
      expect(() => call(e.fn, e.make())).not.toThrow();
      const n = e.make().length;
      for (const k of [0, n - 1, n + 1]) {
        expectError(() => call(e.fn, [...e.make(), 0].slice(0, k)), TypeError, `${e.fn}: expected ${n} arguments`, `got ${k}`);
      }
    });

    for (const [pos, name, must] of e.arrays) {
      it(`${e.fn}: '${name}' of the wrong type, shared or detached -> TypeError naming it`, () => {
        for (const [desc, bad] of [['Float64Array', new Float64Array(6)], ['Array', [1, 2]], ['number', 1], ['undefined', undefined],
          ['Uint32Array', new Uint32Array(6)]] as [string, unknown][]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be ${must}, got ${desc}`);
          untouched(e, args, pos);
        }
        const shared = e.make();
        shared[pos] = new Int32Array(new SharedArrayBuffer(4 * (shared[pos] as Int32Array).length));
        if (must.startsWith('a Float32Array') && !must.includes('Int32')) shared[pos] = new Float32Array(new SharedArrayBuffer(4 * (e.make()[pos] as Float32Array).length));
        expectError(() => call(e.fn, shared), TypeError, `${e.fn}: argument '${name}' is backed by a SharedArrayBuffer`);
        const gone = e.make();
        const buf = (gone[pos] as Int32Array).buffer;
        structuredClone(buf, { transfer: [buf as ArrayBuffer] });
        expectError(() => call(e.fn, gone), TypeError, `${e.fn}: argument '${name}' is backed by a detached ArrayBuffer`);
      });
    }
  }

  it('broadcastBinaryF32 and mathUnaryF32: unknown op codes, strides reaching past an input, a short output -> RangeError', () => {
    const good = (): unknown[] => [2, f32(6, 1), f32(3, 1), f32(6, 7), i32(2, 3), i32(3, 1), i32(0, 1)];
    const cases: [string, unknown[], string][] = [
      ['broadcastBinaryF32', Object.assign(good(), { 0: 9 }), "broadcastBinaryF32: argument 'opCode'"],
      ['broadcastBinaryF32', Object.assign(good(), { 6: i32(1, 1) }), "broadcastBinaryF32: argument 'bStrides'"],
      ['broadcastBinaryF32', Object.assign(good(), { 3: f32(5, 7) }), "broadcastBinaryF32: argument 'out'"],
      ['mathUnaryF32', [13, f32(4, 3), f32(4, 7)], "mathUnaryF32: argument 'opCode'"],
      ['mathUnaryF32', [0, f32(4, 3), f32(3, 7)], "mathUnaryF32: argument 'y'"],
    ];
    for (const [fn, args, msg] of cases) {
      expectError(() => call(fn, args), RangeError, msg);
      expect(Array.from(args[fn === 'mathUnaryF32' ? 2 : 3] as Float32Array).every((v) => v === 7), `${fn} output untouched`).toBe(true);
    }
  });

  it('float32 and int32 data must not be mixed where one type is copied', () => {
    const cases: [string, unknown[], string][] = [
      ['stridedCopy32', [f32(6), new Int32Array(6), i32(3, 2), i32(3, 2), i32(1, 3), i32(0, 0), i32(1, 1), 0, 0], "'out' is an Int32Array but 'x' is a Float32Array"],
      ['concatCopy32', [new Int32Array(4), f32(8), 2, 2, 4, 2], "'out' is a Float32Array but 'x' is an Int32Array"],
      ['gather32', [f32(6), i32(0), new Int32Array(2), 2, 3, 1], "'out' is an Int32Array but 'x' is a Float32Array"],
      ['compare', [0, f32(6), new Int32Array(3), new Int32Array(6), i32(2, 3), i32(3, 1), i32(0, 1)], "'b' is an Int32Array but 'a' is a Float32Array"],
      ['where32', [i32(1), f32(6), f32(1), new Int32Array(6), i32(2, 3), i32(0, 0), i32(3, 1), i32(0, 0)], "'out' is an Int32Array but 'a' is a Float32Array"],
      ['clip', [new Int32Array(4), f32(4), 0, 1], "'out' is a Float32Array but 'x' is an Int32Array"],
    ];
    for (const [fn, args, msg] of cases) expectError(() => call(fn, args), TypeError, `${fn}: argument ${msg}; they must have the same type`);
  });

  it('stridedCopy32: lists of the wrong length or with entries out of range -> RangeError', () => {
    const e = ENTRIES[0];
    const bad: [number, unknown, string][] = [
      [2, new Int32Array(9), "argument 'outShape' has 9 entries; at most 8 axes are supported"],
      [3, i32(2), "argument 'inDims' must have 2 entries (one per axis), got 1"],
      [2, i32(3, -1), "argument 'outShape' entry 1 must be in [0, 2147483647], got -1"],
      [4, i32(-3, 1), "argument 'inStrides' entry 0 must be in [0, 2147483647], got -3"],
      [6, i32(1, 0), "argument 'steps' entry 1 must be in [1, 2147483647], got 0"],
      [1, f32(5, 7), "argument 'out' has length 5 but prod(outShape) is 6"],
      [7, 4, "argument 'mode' must be an integer in [0, 3] (0 in range, 1 constant, 2 reflect, 3 symmetric), got 4"],
      [8, -1, "argument 'fill' must be an integer in [0, 4294967295], got -1"],
    ];
    for (const [pos, v, msg] of bad) {
      const args = e.make();
      args[pos] = v;
      expectError(() => call(e.fn, args), RangeError, `stridedCopy32: ${msg}`);
      untouched(e, args, pos);
    }
  });

  it('stridedCopy32: every read must stay inside x', () => {
    const e = ENTRIES[0];
    const cases: [Partial<Record<number, unknown>>, string][] = [
      [{ 4: i32(3, 2) }, "stridedCopy32: argument 'inStrides' reach element 8 of 'x', which has 6"],
      [{ 5: i32(0, 1) }, 'stridedCopy32: axis 1 reads positions [1, 2] of an input axis of length 2'],
      [{ 6: i32(1, 2) }, 'stridedCopy32: axis 1 reads positions [0, 2] of an input axis of length 2'],
      // One mirror maps positions -1..2 (reflect) or -2..3 (symmetric) into an axis of length 2.
      [{ 2: i32(3, 5), 5: i32(0, -2), 7: 2 }, 'stridedCopy32: axis 1 reads positions [-2, 2] of an input axis of length 2, which mode 2'],
      [{ 2: i32(3, 7), 5: i32(0, -2), 7: 3 }, 'stridedCopy32: axis 1 reads positions [-2, 4] of an input axis of length 2, which mode 3'],
    ];
    for (const [patch, msg] of cases) {
      const args = e.make();
      for (const [k, v] of Object.entries(patch)) args[Number(k)] = v;
      const n = (args[2] as Int32Array).reduce((p, d) => p * d, 1);
      args[1] = f32(n, 7);
      expectError(() => call(e.fn, args), RangeError, msg);
      untouched(e, args);
    }
    // Constant mode reads the fill value outside the input: any offset is fine, and an empty input reads nothing.
    const out = f32(6, 7);
    addon.stridedCopy32(f32(0), out, i32(3, 2), i32(0, 2), i32(2, 1), i32(-1, 5), i32(1, 1), 1, 0x3f800000);
    expect(Array.from(out)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('lengths and offsets of concat, gather, oneHot, compare, where, clip and cast are checked', () => {
    const cases: [string, unknown[], string][] = [
      ['concatCopy32', [f32(3), f32(8), 2, 2, 4, 2], "concatCopy32: argument 'x' has length 3 but outer*chunk is 4"],
      ['concatCopy32', [f32(4), f32(7), 2, 2, 4, 2], "concatCopy32: argument 'out' has length 7 but outer*outRow is 8"],
      ['concatCopy32', [f32(4), f32(8), 2, 2, 4, 3], 'concatCopy32: offset + chunk (5) must not exceed outRow (4)'],
      ['gather32', [f32(6), i32(0, 3), f32(4), 2, 3, 1], "gather32: argument 'indices' entry 1 is 3, outside [0, 3)"],
      ['gather32', [f32(6), i32(-1), f32(2), 2, 3, 1], "gather32: argument 'indices' entry 0 is -1, outside [0, 3)"],
      ['gather32', [f32(6), i32(0), f32(3), 2, 3, 1], "gather32: argument 'out' has length 3 but outer*indices.length*inner is 2"],
      ['oneHotF32', [i32(0, 1), f32(5), 3, 1, 0], "oneHotF32: argument 'out' has length 5 but indices.length*depth is 6"],
      ['compare', [8, f32(6), f32(3), new Int32Array(6), i32(2, 3), i32(3, 1), i32(0, 1)], "compare: argument 'opCode' must be an integer in [0, 7]"],
      ['compare', [0, f32(6), f32(2), new Int32Array(6), i32(2, 3), i32(3, 1), i32(0, 1)], "compare: argument 'bStrides' reach element 2 of 'b', which has 2"],
      ['where32', [i32(1), f32(6), f32(1), f32(6), i32(2, 3), i32(1, 0), i32(3, 1), i32(0, 0)], "where32: argument 'condStrides' reach element 1 of 'cond', which has 1"],
      ['where32', [i32(1), f32(6), f32(1), f32(5), i32(2, 3), i32(0, 0), i32(3, 1), i32(0, 0)], "where32: argument 'out' has length 5 but prod(outShape) is 6"],
      ['clip', [f32(4), f32(3), 0, 1], "clip: argument 'out' has length 3 but x's length is 4"],
      ['cast', [f32(4), new Int32Array(5)], "cast: argument 'out' has length 5 but x's length is 4"],
    ];
    for (const [fn, args, msg] of cases) expectError(() => call(fn, args), RangeError, msg);
    expectError(() => call('clip', [f32(4), f32(4), '0', 1]), TypeError, "clip: argument 'lo' must be a number, got string");
  });

  it('outputs must not overlap inputs (clip and cast may work in place)', () => {
    const buf = f32(12);
    const cases: [string, unknown[], string][] = [
      ['stridedCopy32', [buf.subarray(0, 6), buf.subarray(3, 9), i32(3, 2), i32(3, 2), i32(1, 3), i32(0, 0), i32(1, 1), 0, 0], "stridedCopy32: argument 'out' overlaps 'x'"],
      ['concatCopy32', [buf.subarray(0, 4), buf.subarray(2, 10), 2, 2, 4, 2], "concatCopy32: argument 'out' overlaps 'x'"],
      ['gather32', [buf.subarray(0, 6), i32(0), buf.subarray(5, 7), 2, 3, 1], "gather32: argument 'out' overlaps 'x'"],
      ['where32', [i32(1), buf.subarray(0, 6), f32(1), buf.subarray(0, 6), i32(2, 3), i32(0, 0), i32(3, 1), i32(0, 0)], "where32: argument 'out' overlaps 'a'"],
      ['clip', [buf.subarray(0, 4), buf.subarray(1, 5), 0, 1], "clip: argument 'out' overlaps 'x'"],
    ];
    for (const [fn, args, msg] of cases) expectError(() => call(fn, args), RangeError, msg);
    const x = Float32Array.of(-2, 0.5, 3, NaN);
    addon.clip(x, x, 0, 1);
    expect(Array.from(x)).toEqual([0, 0.5, 1, NaN]);
    const y = Float32Array.of(-2.5, 7.9);
    addon.cast(y, new Int32Array(y.buffer));
    expect(Array.from(new Int32Array(y.buffer))).toEqual([-2, 7]);
  });
});
