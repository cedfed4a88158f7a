/**
 * Native pooling (native/addon/pool.cc) against the reference backend, on every ISA path this machine runs and at
 * 1 and 2 threads: max/avg pooling forward and backward, global avg/max pooling forward and backward, over batch
 * 0/1/2, 1x1 images, channels 1, 3, 17, 64, 65 (every SIMD body and tail), strides larger than the window,
 * padding, overlapping 3x3 stride-2 windows, all-padding windows, ties (first maximum wins, -0 vs +0) and NaN
 * (the first NaN wins). Then every boundary check of the six entries: each bad call throws a TypeError or
 * RangeError naming the function and argument, writes nothing, and the addon keeps working.
 *
 * ISA paths: NODEGRAD_ISA is read once when the addon loads, so the default path runs here and each other path
 * the CPU has runs this same file in a child vitest with NODEGRAD_ISA set (NG_TEST_ISA_CHILD=1 marks the child).
 *
 * Tolerances (EPS32 = 2^-24, the float32 unit roundoff; the reference sums in double and rounds once):
 * - max pooling forward, global max and both global backward passes: exact.
 * - max pooling backward: exact where windows do not overlap; otherwise a dx element sums m <= ceil(kh/sh) *
 *   ceil(kw/sw) gradients in float: |err| <= (m - 1) EPS32 sum|dy| <= m^2 EPS32 max|dy|.
 * - average pooling forward: a k-pixel float sum then a division: |err| <= (k - 1) EPS32 max|x| + EPS32 |y|.
 * - average pooling backward: m terms dy * (1/count), each with two roundings, summed in float:
 *   |err| <= (m + 1) m EPS32 max|dy|.
 * - global average: double sum, division in double, one rounding: 2 EPS32 relative.
 * Results must also be bit-identical across runs and across thread counts (the work split depends only on shape).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

import type { Backend, GlobalPoolMode, KTensor, Pool2DAttrs } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { getNumThreads, loadNativeBackend, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import type { PoolAddon } from '../../src/backends/native/pool.js';
import { referenceBackend as ref } from '../../src/backends/reference/index.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { uniformF32 } from '../helpers/random.js';

const load = loadNativeBackend();
const native = load.backend as Backend;
const addon = loadAddon().addon as PoolAddon;
const info = nativeInfo();
const CHILD = process.env.NG_TEST_ISA_CHILD === '1';
const THREADS = [1, 2];
const savedThreads = load.backend ? getNumThreads() : 1;
afterAll(() => setNumThreads(savedThreads));

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Bit-equal (any NaN equals any NaN; -0 and +0 differ). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

function expectExact(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      throw new Error(`${what}: index ${i}: got ${Object.is(got[i], -0) ? '-0' : got[i]}, expected ${Object.is(want[i], -0) ? '-0' : want[i]}`);
    }
  }
  expect(got.length, what).toBe(want.length);
}

/**
 * Runs f at every thread count, twice each: all results must be bit-identical (deterministic, and independent
 * of the thread count). Returns the result. Inputs must be unchanged afterwards (checked by the caller's copy).
 */
function atThreads<T extends { data: ArrayLike<number> }>(f: () => T, what: string): T {
  let first: T | undefined;
  for (const t of THREADS) {
    setNumThreads(t);
    for (let rep = 0; rep < 2; rep++) {
      const r = f();
      if (!first) first = r;
      else if (!sameBits(r.data, first.data)) throw new Error(`${what}: result differs at ${t} thread(s), run ${rep + 1}`);
    }
  }
  return first!;
}

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) > m) m = Math.abs(a[i]);
  return m;
};

function tensor(shape: number[], seed: number, kind: 'uniform' | 'ties'): KTensor<Float32Array> {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = uniformF32(n, seed, -1, 1);
  if (kind === 'ties') {
    // Values in {-2, ..., 2} with -0 among them: equal maxima everywhere; a few NaN.
    for (let i = 0; i < n; i++) data[i] = Math.round(data[i] * 2.4);
    for (let i = 3; i < n; i += 29) data[i] = NaN;
  }
  return { data, shape };
}

interface PoolCase { name: string; shape: [number, number, number, number]; attrs: Pool2DAttrs }

const attrs = (poolSize: [number, number], strides: [number, number], pads: [number, number, number, number]): Pool2DAttrs =>
  ({ poolSize, strides, pads });

const CASES: PoolCase[] = [];
for (const c of [1, 3, 17, 64, 65]) {
  CASES.push(
    { name: `2x2/2 c${c}`, shape: [2, 8, 8, c], attrs: attrs([2, 2], [2, 2], [0, 0, 0, 0]) },
    { name: `3x3/2 pad 1 (overlapping) c${c}`, shape: [2, 7, 9, c], attrs: attrs([3, 3], [2, 2], [1, 1, 1, 1]) },
    { name: `2x2/3 (stride > window) c${c}`, shape: [1, 8, 7, c], attrs: attrs([2, 2], [3, 3], [0, 0, 0, 0]) },
    { name: `3x3/1 pad 1 c${c}`, shape: [1, 5, 5, c], attrs: attrs([3, 3], [1, 1], [1, 1, 1, 1]) },
    { name: `1x1 image, 3x3 pad 1 c${c}`, shape: [2, 1, 1, c], attrs: attrs([3, 3], [1, 1], [1, 1, 1, 1]) },
    { name: `batch 0 c${c}`, shape: [0, 4, 4, c], attrs: attrs([2, 2], [2, 2], [0, 0, 0, 0]) },
    { name: `3x2/(2,1) asymmetric pads c${c}`, shape: [1, 6, 5, c], attrs: attrs([3, 2], [2, 1], [1, 0, 0, 1]) },
    { name: `all-padding windows c${c}`, shape: [1, 3, 3, c], attrs: attrs([2, 2], [1, 1], [2, 2, 2, 2]) },
    { name: `window larger than the input c${c}`, shape: [1, 2, 3, c], attrs: attrs([4, 4], [1, 1], [1, 2, 2, 1]) },
    { name: `2x3/(2,1): rows apart, columns overlapping c${c}`, shape: [1, 6, 6, c], attrs: attrs([2, 3], [2, 1], [0, 0, 0, 0]) },
    { name: `1x1/2 c${c}`, shape: [1, 5, 4, c], attrs: attrs([1, 1], [2, 2], [0, 0, 0, 0]) },
  );
}
CASES.push({ name: 'W3-like 2x2/2 8x16x16x64', shape: [8, 16, 16, 64], attrs: attrs([2, 2], [2, 2], [0, 0, 0, 0]) });

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

// ---------------------------------------------------------------------------------------------------------
// Native against the reference

describe.skipIf(!load.backend)(`pooling: native (${info?.isa ?? 'no addon'}) vs reference, threads ${THREADS.join(' and ')}`, () => {
  it('runs the ISA path NODEGRAD_ISA asked for, with native entries for every pooling kernel', () => {
    if (CHILD) expect(info?.isa).toBe(process.env.NODEGRAD_ISA);
    for (const k of ['maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'globalPool2d', 'globalPool2dBackward'] as const) {
      expect(native[k], k).not.toBe(ref[k]);
    }
    expect(info?.kernels.maxPool2d).toMatch(info?.isa === 'scalar' ? /_ref$/ : new RegExp(`_${info?.isa}$`));
  });

  it('Float32 rank-4 inputs reach the addon (no silent reference fallback)', () => {
    const spy = vi.spyOn(addon, 'maxPool2dF32');
    native.maxPool2d(tensor([1, 4, 4, 3], 1, 'uniform'), attrs([2, 2], [2, 2], [0, 0, 0, 0]));
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  for (const kind of ['uniform', 'ties'] as const) {
    for (const [ci, c] of CASES.entries()) {
      const seed = 1000 * ci + (kind === 'ties' ? 7 : 0);
      it(`${c.name}, ${kind}`, () => {
        const what = `${c.name} [${c.shape.join(',')}] pool ${c.attrs.poolSize} strides ${c.attrs.strides} pads ${c.attrs.pads} (${kind})`;
        const x = tensor(c.shape, seed, kind);
        const xCopy = x.data.slice();
        const [kh, kw] = c.attrs.poolSize;
        const [sh, sw] = c.attrs.strides;

        // max pooling: exact values, exact routing where windows do not overlap
        const yRef = ref.maxPool2d(x, c.attrs);
        const y = atThreads(() => native.maxPool2d(x, c.attrs), `${what} maxPool2d`);
        expect(y.shape).toEqual(yRef.shape);
        expectExact(y.data, yRef.data, `${what} maxPool2d`);

        const dy = tensor(yRef.shape as number[], seed + 1, 'uniform');
        const dxRef = ref.maxPool2dBackward(dy, x, c.attrs);
        const dx = atThreads(() => native.maxPool2dBackward(dy, x, c.attrs), `${what} maxPool2dBackward`);
        expect(dx.shape).toEqual(dxRef.shape);
        const m = ceilDiv(kh, sh) * ceilDiv(kw, sw);
        if (m === 1) expectExact(dx.data, dxRef.data, `${what} maxPool2dBackward`);
        else assertClose(dx.data, dxRef.data, { atol: m * m * EPS32 * maxAbs(dy.data), what: `${what} maxPool2dBackward` });

        // average pooling
        const aRef = ref.avgPool2d(x, c.attrs);
        const av = atThreads(() => native.avgPool2d(x, c.attrs), `${what} avgPool2d`);
        expect(av.shape).toEqual(aRef.shape);
        assertClose(av.data, aRef.data, { atol: kh * kw * EPS32 * maxAbs(x.data), rtol: EPS32, what: `${what} avgPool2d` });

        const daRef = ref.avgPool2dBackward(dy, c.shape, c.attrs);
        const da = atThreads(() => native.avgPool2dBackward(dy, c.shape, c.attrs), `${what} avgPool2dBackward`);
        expect(da.shape).toEqual(daRef.shape);
        assertClose(da.data, daRef.data, { atol: (m + 1) * m * EPS32 * maxAbs(dy.data), what: `${what} avgPool2dBackward` });

        // global pooling
        for (const mode of ['avg', 'max'] as GlobalPoolMode[]) {
          const gRef = ref.globalPool2d(x, mode);
          const g = atThreads(() => native.globalPool2d(x, mode), `${what} globalPool2d ${mode}`);
          expect(g.shape).toEqual(gRef.shape);
          if (mode === 'max') expectExact(g.data, gRef.data, `${what} globalPool2d max`);
          else assertClose(g.data, gRef.data, { rtol: 2 * EPS32, what: `${what} globalPool2d avg` });
          const gdy = tensor(gRef.shape as number[], seed + 2, 'uniform');
          const gdxRef = ref.globalPool2dBackward(gdy, x, mode);
          const gdx = atThreads(() => native.globalPool2dBackward(gdy, x, mode), `${what} globalPool2dBackward ${mode}`);
          expectExact(gdx.data, gdxRef.data, `${what} globalPool2dBackward ${mode}`);
        }
        expect(sameBits(x.data, xCopy), 'inputs unchanged').toBe(true);
      });
    }
  }

  it('a NaN wins its max window and takes the gradient (first NaN, first maximum)', () => {
    // One image, one channel, 2x2 windows: [[1, NaN], [5, NaN]] -> NaN, the first NaN gets dy.
    const x: KTensor<Float32Array> = { data: Float32Array.from([1, NaN, 5, NaN]), shape: [1, 2, 2, 1] };
    const a = attrs([2, 2], [2, 2], [0, 0, 0, 0]);
    expect(Number.isNaN(native.maxPool2d(x, a).data[0])).toBe(true);
    const dx = native.maxPool2dBackward({ data: Float32Array.from([3]), shape: [1, 1, 1, 1] }, x, a);
    expect(Array.from(dx.data)).toEqual([0, 3, 0, 0]);
    // Ties: -0 first, then +0: the first maximum (-0) wins and gets the gradient.
    const z: KTensor<Float32Array> = { data: Float32Array.from([-0, 0, 0, -1]), shape: [1, 2, 2, 1] };
    expect(Object.is(native.maxPool2d(z, a).data[0], -0)).toBe(true);
    expect(Array.from(native.maxPool2dBackward({ data: Float32Array.from([2]), shape: [1, 1, 1, 1] }, z, a).data)).toEqual([2, 0, 0, 0]);
  });

  it('Float64Array and rank-3 inputs run on the reference', () => {
    const x64: KTensor<Float64Array> = { data: Float64Array.from([1, 2, 3, 4]), shape: [1, 2, 2, 1] };
    const y = native.maxPool2d(x64, attrs([2, 2], [2, 2], [0, 0, 0, 0]));
    expect(y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(y.data)).toEqual([4]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every other ISA path, in a child process

describe.skipIf(CHILD || !load.backend)('pooling on the other ISA paths (child vitest with NODEGRAD_ISA)', () => {
  const others = (info?.available ?? []).filter((isa) => isa !== info?.isa);
  for (const isa of others) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const file = fileURLToPath(import.meta.url);
      const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
      const r = spawnSync(process.execPath, [vitest, 'run', file], {
        env: { ...process.env, NODEGRAD_ISA: isa, NG_TEST_ISA_CHILD: '1' },
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(r.status, `child vitest under NODEGRAD_ISA=${isa}:\n${(r.stdout + r.stderr).slice(-4000)}`).toBe(0);
      expect(r.stdout).toMatch(/Tests\s+.*\d+ passed/);
    }, 300_000);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Boundary checks

type Args = unknown[];
const call = (fn: string, args: Args): unknown => (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[fn](...args);
const f32 = (n: number, v = 1): Float32Array => new Float32Array(n).fill(v);
function detached(n: number): Float32Array {
  const buf = new ArrayBuffer(n * 4);
  const view = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  return view;
}
const shared = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));

// A valid call of each entry: x [1, 4, 4, 2], 2x2 stride 2 -> y [1, 2, 2, 2]; the geometry follows the arrays.
const DIMS = [1, 4, 4, 2, 2, 2, 2, 2, 0, 0, 0, 0];
const DIM_NAMES = ['n', 'h', 'w', 'c', 'poolH', 'poolW', 'strideH', 'strideW', 'padTop', 'padBottom', 'padLeft', 'padRight'];
interface Entry { fn: string; arrays: string[]; make: () => Args; nArgs: number }
const ENTRIES: Entry[] = [
  { fn: 'maxPool2dF32', arrays: ['x', 'y'], make: () => [f32(32), f32(8, 7), ...DIMS], nArgs: 14 },
  { fn: 'maxPool2dBackwardF32', arrays: ['dy', 'x', 'dx'], make: () => [f32(8), f32(32), f32(32, 7), ...DIMS], nArgs: 15 },
  { fn: 'avgPool2dF32', arrays: ['x', 'y'], make: () => [f32(32), f32(8, 7), ...DIMS], nArgs: 14 },
  { fn: 'avgPool2dBackwardF32', arrays: ['dy', 'dx'], make: () => [f32(8), f32(32, 7), ...DIMS], nArgs: 14 },
];
const GLOBAL: Entry[] = [
  { fn: 'globalPool2dF32', arrays: ['x', 'y'], make: () => [1, f32(32), f32(2, 7), 1, 16, 2], nArgs: 6 },
  { fn: 'globalPool2dBackwardF32', arrays: ['dy', 'x', 'dx'], make: () => [1, f32(2), f32(32), f32(32, 7), 1, 16, 2], nArgs: 7 },
];
const firstArray = (e: Entry): number => (e.fn.startsWith('global') ? 1 : 0);

describe.skipIf(CHILD || !load.backend)('pooling entries reject bad arguments', () => {
  // After every rejected call the addon still works.
  afterAll(() => {
    const y = f32(8, 0);
    addon.maxPool2dF32(Float32Array.from({ length: 32 }, (_, i) => i), y, 1, 4, 4, 2, 2, 2, 2, 2, 0, 0, 0, 0);
    expect(Array.from(y)).toEqual([10, 11, 14, 15, 26, 27, 30, 31]);
  });

  for (const e of [...ENTRIES, ...GLOBAL]) {
    it(`${e.fn}: wrong argument count -> TypeError`, () => {
      for (const k of [0, e.nArgs - 1, e.nArgs + 1]) {
        const args = [...e.make(), 0].slice(0, k);
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: expected ${e.nArgs} arguments`, `got ${k}`);
      }
    });

    e.arrays.forEach((name, j) => {
      const pos = firstArray(e) + j;
      it(`${e.fn}: '${name}' not a live, unshared Float32Array -> TypeError`, () => {
        for (const [kind, bad] of [
          ['Float64Array', new Float64Array(32)], ['Array', [1, 2]], ['Int32Array', new Int32Array(32)],
          ['number', 3], ['null', null], ['undefined', undefined],
        ] as [string, unknown][]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be a Float32Array, got ${kind}`);
        }
        const args = e.make();
        args[pos] = shared((args[pos] as Float32Array).length);
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' is backed by a SharedArrayBuffer`);
        args[pos] = detached(4);
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' is backed by a detached ArrayBuffer`);
      });

      it(`${e.fn}: '${name}' of the wrong length -> RangeError, nothing written`, () => {
        for (const delta of [-1, 1]) {
          const args = e.make();
          args[pos] = f32((args[pos] as Float32Array).length + delta);
          const out = args[firstArray(e) + e.arrays.length - 1] as Float32Array;
          expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument '${name}' has length`);
          if (out !== args[pos]) expect(out.every((v) => v === 7)).toBe(true);
        }
      });
    });

    it(`${e.fn}: an output overlapping an input -> RangeError`, () => {
      const args = e.make();
      const outPos = firstArray(e) + e.arrays.length - 1;
      const out = args[outPos] as Float32Array;
      const inPos = outPos - 1;
      const inLen = (args[inPos] as Float32Array).length;
      const buf = new Float32Array(inLen + out.length);
      args[inPos] = buf.subarray(0, inLen);
      args[outPos] = buf.subarray(inLen - 1, inLen - 1 + out.length);
      expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument '${e.arrays[e.arrays.length - 1]}' overlaps '${e.arrays[e.arrays.length - 2]}'`);
    });
  }

  for (const e of ENTRIES) {
    it(`${e.fn}: every geometry integer is checked`, () => {
      const at = e.arrays.length;
      DIM_NAMES.forEach((name, i) => {
        const lo = i >= 4 && i < 8 ? 1 : 0;
        for (const [bad, got] of [['2', 'string'], [null, 'null'], [{}, 'object']] as [unknown, string][]) {
          const args = e.make();
          args[at + i] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be an integer in [${lo}, 2147483647], got ${got}`);
        }
        for (const bad of [lo - 1, 1.5, NaN, Infinity, 2 ** 31]) {
          const args = e.make();
          args[at + i] = bad;
          expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument '${name}' must be an integer in [${lo}, 2147483647], got ${bad}`);
        }
      });
    });

    it(`${e.fn}: a window larger than the padded input -> RangeError`, () => {
      const args = e.make();
      args[e.arrays.length + 4] = 9; // poolH 9 > h 4 with stride 2
      expectError(() => call(e.fn, args), RangeError, `${e.fn}: the pool window (9x2) is larger than the padded input (4x4)`);
    });

    it(`${e.fn}: huge sizes whose product overflows are a length mismatch, not a crash`, () => {
      const args = e.make();
      const at = e.arrays.length;
      args[at] = 2 ** 31 - 1;
      args[at + 1] = 2 ** 31 - 1;
      args[at + 2] = 2 ** 31 - 1;
      expectError(() => call(e.fn, args), RangeError, 'has length');
    });
  }

  for (const e of GLOBAL) {
    it(`${e.fn}: mode and sizes are checked`, () => {
      for (const bad of [-1, 2, 0.5]) {
        const args = e.make();
        args[0] = bad;
        expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument 'mode' must be an integer in [0, 1] (0 avg, 1 max), got ${bad}`);
      }
      const args = e.make();
      args[0] = 'max';
      expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument 'mode' must be an integer in [0, 1] (0 avg, 1 max), got string`);
      for (const [i, name] of [[-3, 'n'], [-2, 'hw'], [-1, 'c']] as [number, string][]) {
        const a2 = e.make();
        a2[a2.length + i] = -1;
        expectError(() => call(e.fn, a2), RangeError, `${e.fn}: argument '${name}' must be an integer in [0, 2147483647], got -1`);
        const a3 = e.make();
        a3[a3.length + i] = 3;
        expectError(() => call(e.fn, a3), RangeError, 'has length');
      }
    });
  }
});
