/**
 * The addon loads through the package's own loader, reports the ISA path the OS says this machine has,
 * and the native backend's binary() matches the reference backend exactly, with every shape form the
 * kernels take going to the addon and every other one falling back to the reference.
 */
import { describe, expect, it, vi } from 'vitest';

import type { BinaryOp, DataArray, KTensor } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { loadNativeBackend, nativeInfo, rowBroadcastLength } from '../../src/backends/native/index.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { sizeOf } from '../../src/tensor/shape.js';
import { uniformF32 } from '../helpers/random.js';
import { expectedIsa, pathsBelow } from './harness.js';

const forcedIsa = process.env.NODEGRAD_ISA && process.env.NODEGRAD_ISA !== 'auto' ? process.env.NODEGRAD_ISA : undefined;

describe('native addon loading', () => {
  it('loads through node-gyp-build and is cached', () => {
    const first = loadNativeBackend();
    expect(first.error).toBeUndefined();
    expect(first.backend?.name).toBe('native');
    expect(first.addonPath).toMatch(/\.node$/);
    expect(loadNativeBackend()).toBe(first);
  });

  it('reports an ISA path that it can run, with scalar always available', () => {
    const info = nativeInfo();
    expect(info).not.toBeNull();
    if (!info) return;
    expect(['avx512', 'avx2', 'neon', 'scalar']).toContain(info.isa);
    expect(info.available).toContain(info.isa);
    expect(info.available[info.available.length - 1]).toBe('scalar');
    expect(info.forced).toBe(forcedIsa !== undefined);
    if (!forcedIsa) expect(info.isa).toBe(info.available[0]);
    expect(info.kernels.binaryF32).toMatch(info.isa === 'scalar' ? /_ref$/ : new RegExp(`_${info.isa}$`));
    expect(info.cpu.x86_64).toBe(process.arch === 'x64');
    expect(info.cpu.arm64).toBe(process.arch === 'arm64');
  });

  it('picks the best path the OS reports (avx512 with avx2 and scalar available on an AVX-512 machine)', () => {
    const want = expectedIsa();
    if (want === null) {
      console.warn('addon.test: cannot read CPU flags on this platform; only self-consistency was checked');
      return;
    }
    const info = nativeInfo()!;
    expect(info.available).toEqual(pathsBelow(want));
    if (!forcedIsa) expect(info.isa).toBe(want);
    if (want === 'avx512') {
      expect(info.cpu).toMatchObject({ avx2: true, fma: true, avx512f: true, avx512dq: true, avx512bw: true, avx512vl: true, osYmm: true, osZmm: true });
    }
  });
});

describe('setNumThreads argument check', () => {
  it('takes an integer in [1, 1024]; anything else is a TypeError / RangeError and leaves the pool as it was', () => {
    const addon = loadAddon().addon!;
    const before = addon.numThreads();
    const set = addon.setNumThreads as (...a: unknown[]) => void;
    const expected = "setNumThreads: argument 'n' must be an integer in [1, 1024], got ";
    for (const [bad, got] of [['2', 'string'], [null, 'null'], [undefined, 'undefined'], [2n, 'bigint']] as [unknown, string][]) {
      expect(() => set(bad)).toThrow(TypeError);
      expect(() => set(bad)).toThrow(expected + got);
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, 1025, 2 ** 53]) {
      expect(() => set(bad)).toThrow(RangeError);
      expect(() => set(bad)).toThrow(expected + String(bad));
    }
    expect(() => set()).toThrow("setNumThreads: expected 1 arguments (n), got 0");
    expect(addon.numThreads()).toBe(before);
  });
});

describe('rowBroadcastLength', () => {
  it.each([
    [[2, 3, 4], [2, 3, 4], 24],
    [[4], [2, 3, 4], 4],
    [[1, 1, 4], [2, 3, 4], 4],
    [[3, 4], [2, 3, 4], 12],
    [[], [2, 3, 4], 1],
    [[1], [2, 3, 4], 1],
    [[3, 1], [2, 3, 4], -1],
    [[2, 1, 4], [2, 3, 4], -1],
    [[5, 2, 3, 4], [2, 3, 4], -1],
    [[3], [0, 3], 3],
  ])('%j over %j -> %d', (inShape, outShape, want) => {
    expect(rowBroadcastLength(inShape, outShape)).toBe(want);
  });
});

describe('native backend binary', () => {
  const native = loadNativeBackend().backend!;
  const addon = loadAddon().addon!;

  function t<A extends DataArray>(data: A, shape: number[]): KTensor<A> {
    expect(data.length).toBe(sizeOf(shape));
    return { data, shape };
  }
  function f32(shape: number[], seed: number): KTensor<Float32Array> {
    const x = uniformF32(sizeOf(shape), seed, -3, 3);
    if (x.length > 2) { x[0] = -0; x[1] = NaN; x[2] = Infinity; }
    return t(x, shape);
  }
  function expectSame(got: KTensor, want: KTensor): void {
    expect(got.shape).toEqual(want.shape);
    expect(got.data.constructor).toBe(want.data.constructor);
    expect(got.data.length).toBe(want.data.length);
    for (let i = 0; i < want.data.length; i++) {
      if (!Object.is(got.data[i], want.data[i])) {
        throw new Error(`element ${i}: got ${got.data[i]}, want ${want.data[i]} (shape ${JSON.stringify(want.shape)})`);
      }
    }
  }

  // [aShape, bShape, outShape, ops that go to the addon]
  const cases: [number[], number[], number[], BinaryOp[]][] = [
    [[2, 3, 17], [2, 3, 17], [2, 3, 17], ['add', 'sub', 'mul', 'div']],
    [[2, 3, 17], [17], [2, 3, 17], ['add', 'sub', 'mul', 'div']],
    [[2, 3, 17], [1, 3, 17], [2, 3, 17], ['add', 'sub', 'mul', 'div']],
    [[2, 3, 17], [], [2, 3, 17], ['add', 'sub', 'mul', 'div']],
    [[2, 3, 17], [1, 1], [2, 3, 17], ['add', 'sub', 'mul', 'div']],
    [[17], [2, 3, 17], [2, 3, 17], ['add', 'mul']],
    [[], [5, 33], [5, 33], ['add', 'mul']],
    [[2, 1, 17], [3, 1], [2, 3, 17], []],
    [[2, 3, 1], [2, 3, 17], [2, 3, 17], []],
    [[0, 3], [3], [0, 3], ['add', 'sub', 'mul', 'div']],
    [[1000], [1000], [1000], ['add', 'sub', 'mul', 'div']],
  ];

  for (const [aShape, bShape, outShape, nativeOps] of cases) {
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum'] as BinaryOp[]) {
      const expectNative = nativeOps.includes(op);
      it(`${op} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)} -> ${JSON.stringify(outShape)} (${expectNative ? 'addon' : 'reference'})`, () => {
        const a = f32(aShape, 11);
        const b = f32(bShape, 12);
        const spy = vi.spyOn(addon, 'binaryF32');
        try {
          const got = native.binary(op, a, b, outShape);
          expect(spy).toHaveBeenCalledTimes(expectNative ? 1 : 0);
          expectSame(got, referenceBackend.binary(op, a, b, outShape));
        } finally {
          spy.mockRestore();
        }
      });
    }
  }

  it('leaves Float64Array and Int32Array inputs to the reference', () => {
    const spy = vi.spyOn(addon, 'binaryF32');
    try {
      const a64 = t(Float64Array.from([1, 2, 3]), [3]);
      expectSame(native.binary('add', a64, a64, [3]), referenceBackend.binary('add', a64, a64, [3]));
      const ai = t(Int32Array.from([7, -7, 9]), [3]);
      const bi = t(Int32Array.from([2, 2, -4]), [3]);
      expectSame(native.binary('div', ai, bi, [3]), referenceBackend.binary('div', ai, bi, [3]));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('leaves SharedArrayBuffer-backed inputs to the reference instead of throwing', () => {
    const shared = new Float32Array(new SharedArrayBuffer(16)).fill(2);
    const a = t(shared, [4]);
    const b = f32([4], 3);
    expectSame(native.binary('mul', a, b, [4]), referenceBackend.binary('mul', a, b, [4]));
  });

  it('never writes into its inputs', () => {
    const a = f32([4, 33], 5);
    const b = f32([33], 6);
    const a0 = a.data.slice(), b0 = b.data.slice();
    native.binary('sub', a, b, [4, 33]);
    expect(Array.from(a.data)).toEqual(Array.from(a0));
    expect(Array.from(b.data)).toEqual(Array.from(b0));
  });
});
