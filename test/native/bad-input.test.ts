/**
 * binaryF32 checks everything it is handed: each bad call throws a TypeError or RangeError naming the
 * function and the argument, writes nothing, and the process keeps running (a good call afterwards works).
 */
import { afterEach, describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backends/native/addon.js';

const addon = loadAddon().addon!;
const ADD = 0;

function f32(n: number, v = 1): Float32Array {
  return new Float32Array(n).fill(v);
}

function detached(n: number): Float32Array {
  const buf = new ArrayBuffer(n * 4);
  const view = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  return view;
}

function shared(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

type Call = unknown[];
function call(args: Call): void {
  (addon.binaryF32 as (...a: unknown[]) => void)(...args);
}

// After every rejected call the addon must still work.
afterEach(() => {
  const out = f32(3, 0);
  addon.binaryF32(ADD, Float32Array.from([1, 2, 3]), Float32Array.from([10, 20, 30]), out);
  expect(Array.from(out)).toEqual([11, 22, 33]);
});

describe('binaryF32 argument count', () => {
  it.each([0, 1, 3, 5])('%i arguments -> TypeError', (k) => {
    const args = [ADD, f32(4), f32(4), f32(4), f32(4)].slice(0, k);
    expect(() => call(args)).toThrow(TypeError);
    expect(() => call(args)).toThrow(`binaryF32: expected 4 arguments (opCode, a, b, out), got ${k}`);
  });
});

describe('binaryF32 opCode', () => {
  const expected = "binaryF32: argument 'opCode' must be an integer in [0, 3] (0 add, 1 sub, 2 mul, 3 div), got ";
  it.each([['0', 'string'], [null, 'null'], [undefined, 'undefined'], [{}, 'object'], [0n, 'bigint']])('%s -> TypeError', (code, got) => {
    expect(() => call([code, f32(4), f32(4), f32(4)])).toThrow(TypeError);
    expect(() => call([code, f32(4), f32(4), f32(4)])).toThrow(expected + got);
  });
  it.each([[-1], [4], [1.5], [NaN], [Infinity], [2 ** 32]])('%s -> RangeError', (code) => {
    const out = f32(4, 7);
    expect(() => call([code, f32(4), f32(4), out])).toThrow(RangeError);
    expect(() => call([code, f32(4), f32(4), out])).toThrow(expected + String(code));
    expect(Array.from(out)).toEqual([7, 7, 7, 7]);
  });
});

describe('binaryF32 array arguments', () => {
  const wrong: [string, () => unknown][] = [
    ['Array', () => [1, 2, 3, 4]],
    ['Float64Array', () => new Float64Array(4)],
    ['Int32Array', () => new Int32Array(4)],
    ['Uint8Array', () => Buffer.alloc(16)],
    ['DataView', () => new DataView(new ArrayBuffer(16))],
    ['ArrayBuffer', () => new ArrayBuffer(16)],
    ['number', () => 4],
    ['null', () => null],
    ['undefined', () => undefined],
    ['object', () => ({ length: 4 })],
  ];

  for (const [pos, name] of [[1, 'a'], [2, 'b'], [3, 'out']] as const) {
    for (const [kind, make] of wrong) {
      it(`${name} = ${kind} -> TypeError`, () => {
        const args: Call = [ADD, f32(4), f32(4), f32(4, 7)];
        args[pos] = make();
        expect(() => call(args)).toThrow(TypeError);
        expect(() => call(args)).toThrow(`binaryF32: argument '${name}' must be a Float32Array, got ${kind}`);
      });
    }

    it(`${name} over a SharedArrayBuffer -> TypeError`, () => {
      const args: Call = [ADD, f32(4), f32(4), f32(4, 7)];
      args[pos] = shared(4);
      expect(() => call(args)).toThrow(TypeError);
      expect(() => call(args)).toThrow(`binaryF32: argument '${name}' is backed by a SharedArrayBuffer`);
    });

    it(`${name} over a detached ArrayBuffer -> TypeError`, () => {
      const args: Call = [ADD, f32(4), f32(4), f32(4, 7)];
      const d = detached(4);
      expect(d.length).toBe(0);
      args[pos] = d;
      expect(() => call(args)).toThrow(TypeError);
      expect(() => call(args)).toThrow(`binaryF32: argument '${name}' is backed by a detached ArrayBuffer`);
    });
  }

  it('all three detached (every length 0) is still rejected', () => {
    expect(() => addon.binaryF32(ADD, detached(4), detached(4), detached(4))).toThrow(/argument 'a' is backed by a detached ArrayBuffer/);
  });

  it('empty arrays over live buffers are fine', () => {
    expect(() => addon.binaryF32(ADD, f32(0), f32(0), f32(0))).not.toThrow();
    expect(() => addon.binaryF32(ADD, new Float32Array(new ArrayBuffer(0)), f32(0), f32(0))).not.toThrow();
    expect(() => addon.binaryF32(ADD, f32(0), f32(3), f32(0))).not.toThrow();
  });

  it('a view over a shrunk resizable buffer has length 0 and is caught by the length check', () => {
    // Resizable ArrayBuffer (ES2024, in Node 20) is not in the ES2022 lib typings.
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const rab = new Resizable(64, { maxByteLength: 128 });
    const a = new Float32Array(rab, 16);
    expect(a.length).toBe(12);
    rab.resize(8);
    expect(a.length).toBe(0);
    expect(() => addon.binaryF32(ADD, a, f32(12), f32(12))).toThrow(RangeError);
    expect(() => addon.binaryF32(ADD, a, f32(12), f32(12))).toThrow(/argument 'out' has length 12 but 'a' has length 0/);
  });
});

describe('binaryF32 lengths', () => {
  it('out shorter or longer than a -> RangeError', () => {
    expect(() => addon.binaryF32(ADD, f32(8), f32(8), f32(7))).toThrow(RangeError);
    expect(() => addon.binaryF32(ADD, f32(8), f32(8), f32(9))).toThrow("binaryF32: argument 'out' has length 9 but 'a' has length 8; they must be equal");
  });

  it.each([[8, 3], [8, 9], [8, 16], [8, 0], [1, 2], [17, 4]])('a length %i with b length %i -> RangeError', (n, bn) => {
    const out = f32(n, 7);
    expect(() => addon.binaryF32(ADD, f32(n), f32(bn), out)).toThrow(RangeError);
    expect(() => addon.binaryF32(ADD, f32(n), f32(bn), out)).toThrow(`binaryF32: argument 'b' has length ${bn}, which must equal a's length ${n}, be 1, or divide it`);
    expect(out.every((v) => v === 7)).toBe(true);
  });

  it.each([[8, 8], [8, 1], [8, 2], [8, 4], [12, 3], [0, 0], [0, 5]])('a length %i with b length %i is accepted', (n, bn) => {
    const out = f32(n, 7);
    addon.binaryF32(ADD, f32(n, 1), Float32Array.from({ length: bn }, (_, i) => i), out);
    expect(Array.from(out)).toEqual(Array.from({ length: n }, (_, i) => 1 + (i % bn)));
  });
});

describe('binaryF32 aliasing', () => {
  it('out may be a itself, or b itself when b has a\'s length', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5]);
    addon.binaryF32(ADD, a, Float32Array.from([1, 1, 1, 1, 1]), a);
    expect(Array.from(a)).toEqual([2, 3, 4, 5, 6]);
    const b = Float32Array.from([10, 20, 30, 40, 50]);
    addon.binaryF32(1, Float32Array.from([1, 2, 3, 4, 5]), b, b);
    expect(Array.from(b)).toEqual([-9, -18, -27, -36, -45]);
    const c = Float32Array.from([3, 4]);
    addon.binaryF32(2, c, c, c);
    expect(Array.from(c)).toEqual([9, 16]);
  });

  it('out partly overlapping a -> RangeError', () => {
    const buf = Float32Array.from({ length: 40 }, (_, i) => i);
    const before = buf.slice();
    expect(() => addon.binaryF32(ADD, buf.subarray(0, 32), f32(32), buf.subarray(1, 33))).toThrow(RangeError);
    expect(() => addon.binaryF32(ADD, buf.subarray(1, 33), f32(32), buf.subarray(0, 32))).toThrow("binaryF32: argument 'out' partly overlaps 'a'");
    expect(Array.from(buf)).toEqual(Array.from(before));
  });

  it('out overlapping b other than exactly -> RangeError', () => {
    const buf = f32(40);
    expect(() => addon.binaryF32(ADD, f32(32), buf.subarray(4, 36), buf.subarray(0, 32))).toThrow(/argument 'out' overlaps 'b'/);
    // b is a row inside out: the kernel would overwrite the row while still reading it.
    const out = f32(16);
    expect(() => addon.binaryF32(ADD, f32(16), out.subarray(0, 4), out)).toThrow(RangeError);
    expect(() => addon.binaryF32(ADD, f32(16), out.subarray(0, 1), out)).toThrow(/argument 'out' overlaps 'b'/);
  });

  it('a and b may overlap each other (both are only read)', () => {
    const buf = Float32Array.from({ length: 10 }, (_, i) => i);
    const out = f32(8);
    addon.binaryF32(ADD, buf.subarray(0, 8), buf.subarray(2, 10), out);
    expect(Array.from(out)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });
});
