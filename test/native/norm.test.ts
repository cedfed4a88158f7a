/**
 * Native batch norm (native/addon/norm.cc) against the reference backend, on every ISA path this machine runs
 * (others in a child vitest with NODEGRAD_ISA set) and at 1 and 2 threads: training and inference forward,
 * training and inference backward with dgamma/dbeta, over NHWC and [N, C] inputs, batch 0 and 1, 1x1 images,
 * channels 1, 3, 17, 64, 65 and 600 (the channel-split reduction), several row chunks, and inputs whose mean is
 * far larger than their spread (where E[x^2] - E[x]^2 in float would lose every digit). Then every boundary check.
 *
 * Tolerances (EPS32 = 2^-24, EPS64 = 2^-53; R rows per channel; the reference runs in double, rounds once):
 * - batch mean and variance: sums in double of exact shifted differences, one rounding: 2 EPS32 relative, plus
 *   4 R EPS64 max|x - x0| (mean) and 4 R EPS64 max(x - x0)^2 (variance) for the double sums themselves.
 * - y (training): (x - mean_hi) - mean_lo, times the rounded scale, plus beta with one FMA: at most 6 roundings of
 *   the terms: |err| <= 6 EPS32 (|gamma xhat| + |beta|).  Inference: 4 EPS32 (|gamma xhat| + |beta|).
 * - dbeta: a double sum: 2 EPS32 relative + 2 R EPS64 sum|dy|.  dgamma: each dy (x - mean) rounded in float
 *   (twice), then a double sum: 3 EPS32 istd sum|dy (x - mean)|.
 * - dx (training) = a dy - (b (x - mean) + k): 4 EPS32 (|a dy| + |b (x - mean)| + |k|) for the float evaluation,
 *   plus the sums' errors carried by b and k, plus one rounding of dx.  Inference dx = a dy: 3 EPS32 relative.
 * Results must also be bit-identical across runs and thread counts (fixed, shape-only reduction order).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

import type { Backend, BatchNormAttrs, KTensor } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { getNumThreads, loadNativeBackend, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import type { NormAddon } from '../../src/backends/native/norm.js';
import { referenceBackend as ref } from '../../src/backends/reference/index.js';
import { EPS32, EPS64, assertClose } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { uniformF32 } from '../helpers/random.js';

const load = loadNativeBackend();
const native = load.backend as Backend;
const addon = loadAddon().addon as NormAddon;
const info = nativeInfo();
const CHILD = process.env.NG_TEST_ISA_CHILD === '1';
const THREADS = [1, 2];
const savedThreads = load.backend ? getNumThreads() : 1;
afterAll(() => setNumThreads(savedThreads));

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** Runs f at every thread count, twice each; every array it returns must be bit-identical throughout. */
function atThreads<T>(f: () => T, arrays: (r: T) => ArrayLike<number>[], what: string): T {
  let first: T | undefined;
  for (const t of THREADS) {
    setNumThreads(t);
    for (let rep = 0; rep < 2; rep++) {
      const r = f();
      if (first === undefined) first = r;
      else {
        const a = arrays(r);
        const b = arrays(first);
        a.forEach((arr, i) => {
          if (!sameBits(arr, b[i])) throw new Error(`${what}: output ${i} differs at ${t} thread(s), run ${rep + 1}`);
        });
      }
    }
  }
  return first as T;
}

/** Elementwise |got - want| <= tol[i] (both NaN passes). */
function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if ((Number.isNaN(got[i]) && Number.isNaN(want[i])) || got[i] === want[i]) continue;
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol[i])) throw new Error(`${what}: index ${i}: got ${got[i]}, expected ${want[i]}, |err| ${err} > tolerance ${tol[i]}`);
  }
}

interface BnCase { name: string; shape: number[]; offset: number; spread: number }
const CASES: BnCase[] = [];
for (const c of [1, 3, 17, 64, 65]) {
  CASES.push(
    { name: `NHWC c${c}`, shape: [2, 5, 3, c], offset: 0.3, spread: 1 },
    { name: `batch 1, 1x1 image c${c}`, shape: [1, 1, 1, c], offset: 0, spread: 1 },
    { name: `batch 0 c${c}`, shape: [0, 4, 4, c], offset: 0, spread: 1 },
    { name: `mean 1e4 >> std 1 c${c}`, shape: [2, 6, 6, c], offset: 1e4, spread: 1 },
    { name: `mean 3e3 >> std 0.01 c${c}`, shape: [3, 4, 4, c], offset: 3e3, spread: 0.01 },
  );
}
CASES.push(
  { name: '[N, C] dense, C 600 (channel-split reduction)', shape: [5, 600], offset: -2, spread: 3 },
  { name: 'several row chunks 4x28x28x64', shape: [4, 28, 28, 64], offset: 0.5, spread: 2 },
  { name: 'several row chunks, odd channels 3x20x20x19', shape: [3, 20, 20, 19], offset: 1, spread: 1 },
);

function bnInputs(c: BnCase, seed: number): { x: KTensor<Float32Array>; gamma: KTensor<Float32Array>; beta: KTensor<Float32Array>; dy: KTensor<Float32Array> } {
  const C = c.shape[c.shape.length - 1];
  const n = c.shape.reduce((a, b) => a * b, 1);
  const x = uniformF32(n, seed, -1, 1).map((v, i) => Math.fround(c.offset * (1 + (i % C) / C) + c.spread * v));
  return {
    x: { data: x, shape: c.shape },
    gamma: { data: uniformF32(C, seed + 1, 0.5, 2), shape: [C] },
    beta: { data: uniformF32(C, seed + 2, -1, 1), shape: [C] },
    dy: { data: uniformF32(n, seed + 3, -1, 1), shape: c.shape },
  };
}

const TRAIN: BatchNormAttrs = { epsilon: 1e-3, training: true };
const INFER: BatchNormAttrs = { epsilon: 1e-3, training: false };

describe.skipIf(!load.backend)(`batch norm: native (${info?.isa ?? 'no addon'}) vs reference, threads ${THREADS.join(' and ')}`, () => {
  it('runs the ISA path NODEGRAD_ISA asked for, with native batchNorm and batchNormBackward', () => {
    if (CHILD) expect(info?.isa).toBe(process.env.NODEGRAD_ISA);
    expect(native.batchNorm).not.toBe(ref.batchNorm);
    expect(native.batchNormBackward).not.toBe(ref.batchNormBackward);
    expect(info?.kernels.batchNorm).toMatch(info?.isa === 'scalar' ? /_ref$/ : new RegExp(`_${info?.isa}$`));
    const spy = vi.spyOn(addon, 'batchNormTrainF32');
    const { x, gamma, beta } = bnInputs(CASES[0], 1);
    native.batchNorm(x, gamma, beta, undefined, undefined, TRAIN);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  for (const [ci, c] of CASES.entries()) {
    it(c.name, () => {
      const what = `${c.name} [${c.shape.join(',')}]`;
      const { x, gamma, beta, dy } = bnInputs(c, 100 * ci + 1);
      const C = gamma.data.length;
      const R = C === 0 ? 0 : x.data.length / C;
      const xCopy = x.data.slice();

      // Training forward: statistics and y.
      const want = ref.batchNorm(x, gamma, beta, undefined, undefined, TRAIN);
      const got = atThreads(() => native.batchNorm(x, gamma, beta, undefined, undefined, TRAIN),
        (r) => [r.y.data, r.mean.data, r.variance.data], `${what} batchNorm training`);
      expect(got.y.shape).toEqual(c.shape);
      expect(got.mean.shape).toEqual([C]);
      const meanTol = new Float64Array(C);
      const varTol = new Float64Array(C);
      for (let ch = 0; ch < C; ch++) {
        let dev = 0;
        for (let r = 0; r < R; r++) dev = Math.max(dev, Math.abs(x.data[r * C + ch] - x.data[ch]));
        meanTol[ch] = 2 * EPS32 * Math.abs(want.mean.data[ch]) + 4 * R * EPS64 * dev;
        varTol[ch] = 2 * EPS32 * Math.abs(want.variance.data[ch]) + 4 * R * EPS64 * dev * dev;
      }
      expectWithin(got.mean.data, want.mean.data, meanTol, `${what} batch mean`);
      expectWithin(got.variance.data, want.variance.data, varTol, `${what} batch variance`);
      const yTol = new Float64Array(x.data.length);
      for (let i = 0; i < yTol.length; i++) {
        const ch = i % C;
        const gx = Math.abs(want.y.data[i] - beta.data[ch]);
        yTol[i] = 6 * EPS32 * (gx + Math.abs(beta.data[ch]));
      }
      expectWithin(got.y.data, want.y.data, yTol, `${what} y (training)`);

      // Inference forward with the batch statistics as the moving ones.
      const wantI = ref.batchNorm(x, gamma, beta, want.mean, want.variance, INFER);
      const gotI = atThreads(() => native.batchNorm(x, gamma, beta, want.mean, want.variance, INFER),
        (r) => [r.y.data, r.mean.data, r.variance.data], `${what} batchNorm inference`);
      const yTolI = yTol.map((t) => (t * 4) / 6);
      expectWithin(gotI.y.data, wantI.y.data, yTolI, `${what} y (inference)`);
      expect(sameBits(gotI.mean.data, want.mean.data) && sameBits(gotI.variance.data, want.variance.data)).toBe(true);
      expect(gotI.mean.data).not.toBe(want.mean.data); // fresh arrays

      // Backward, training and inference.
      for (const attrs of [TRAIN, INFER]) {
        const mode = attrs.training ? 'training' : 'inference';
        const wb = ref.batchNormBackward(dy, x, gamma, want.mean, want.variance, attrs);
        const gb = atThreads(() => native.batchNormBackward(dy, x, gamma, want.mean, want.variance, attrs),
          (r) => [r.dx.data, r.dgamma.data, r.dbeta.data], `${what} batchNormBackward ${mode}`);
        expect(gb.dx.shape).toEqual(c.shape);
        const sumAbsDy = new Float64Array(C);
        const sumAbsDyD = new Float64Array(C);
        const istd = new Float64Array(C);
        for (let ch = 0; ch < C; ch++) istd[ch] = 1 / Math.sqrt(want.variance.data[ch] + attrs.epsilon);
        for (let i = 0; i < x.data.length; i++) {
          const ch = i % C;
          sumAbsDy[ch] += Math.abs(dy.data[i]);
          sumAbsDyD[ch] += Math.abs(dy.data[i] * (x.data[i] - want.mean.data[ch]));
        }
        const dbTol = Array.from({ length: C }, (_, ch) => 2 * EPS32 * Math.abs(wb.dbeta.data[ch]) + 2 * R * EPS64 * sumAbsDy[ch]);
        const dgTol = Array.from({ length: C }, (_, ch) => 3 * EPS32 * istd[ch] * sumAbsDyD[ch] + EPS32 * Math.abs(wb.dgamma.data[ch]));
        expectWithin(gb.dbeta.data, wb.dbeta.data, dbTol, `${what} dbeta (${mode})`);
        expectWithin(gb.dgamma.data, wb.dgamma.data, dgTol, `${what} dgamma (${mode})`);
        const dxTol = new Float64Array(x.data.length);
        for (let i = 0; i < dxTol.length; i++) {
          const ch = i % C;
          const a = gamma.data[ch] * istd[ch];
          const d = x.data[i] - want.mean.data[ch];
          if (!attrs.training) {
            dxTol[i] = 3 * EPS32 * Math.abs(a * dy.data[i]);
            continue;
          }
          const b = (a * istd[ch] * istd[ch] * (wb.dgamma.data[ch] / istd[ch])) / R;
          const k = (a * wb.dbeta.data[ch]) / R;
          dxTol[i] = 4 * EPS32 * (Math.abs(a * dy.data[i]) + Math.abs(b * d) + Math.abs(k)) +
            (Math.abs(a) * istd[ch] * istd[ch] * Math.abs(d) * 3 * EPS32 * sumAbsDyD[ch]) / R +
            (Math.abs(a) * (2 * EPS32 * Math.abs(wb.dbeta.data[ch]) + 2 * R * EPS64 * sumAbsDy[ch])) / R +
            EPS32 * Math.abs(wb.dx.data[i]);
        }
        expectWithin(gb.dx.data, wb.dx.data, dxTol, `${what} dx (${mode})`);
      }
      expect(sameBits(x.data, xCopy), 'x unchanged').toBe(true);
    });
  }

  it('large mean offset: the fused one-pass statistics keep every digit a naive float E[x^2] - E[x]^2 loses', () => {
    const C = 4;
    const R = 4096;
    const x = new Float32Array(R * C);
    const u = uniformF32(R * C, 77, -1, 1);
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(1e4 + u[i]);
    const t = { data: x, shape: [R, C] };
    const g = { data: new Float32Array(C).fill(1), shape: [C] };
    const b = { data: new Float32Array(C), shape: [C] };
    const want = ref.batchNorm(t, g, b, undefined, undefined, TRAIN);
    const got = native.batchNorm(t, g, b, undefined, undefined, TRAIN);
    assertClose(got.variance.data, want.variance.data, { rtol: 4 * EPS32, what: 'variance at mean 1e4' });
    // What the naive float formula gives (for contrast): variance ~1/3, error of order ulp(1e8) / 1 = 8.
    let s = Math.fround(0);
    let q = Math.fround(0);
    for (let r = 0; r < R; r++) {
      s = Math.fround(s + x[r * C]);
      q = Math.fround(q + Math.fround(x[r * C] * x[r * C]));
    }
    const naive = Math.fround(q / R) - Math.fround(s / R) ** 2;
    expect(Math.abs(naive - want.variance.data[0])).toBeGreaterThan(1e-2);
  });

  it('R = 0 gives NaN statistics (0/0) and zero dgamma/dbeta, like the reference', () => {
    const x = { data: new Float32Array(0), shape: [0, 3] };
    const g = { data: Float32Array.from([1, 2, 3]), shape: [3] };
    const got = native.batchNorm(x, g, g, undefined, undefined, TRAIN);
    expect(Array.from(got.mean.data).every(Number.isNaN)).toBe(true);
    const back = native.batchNormBackward(x, x, g, g, g, TRAIN);
    expect(Array.from(back.dgamma.data)).toEqual([0, 0, 0]);
    expect(Array.from(back.dbeta.data)).toEqual([0, 0, 0]);
  });
});

describe.skipIf(CHILD || !load.backend)('batch norm on the other ISA paths (child vitest with NODEGRAD_ISA)', () => {
  const others = (info?.available ?? []).filter((isa) => isa !== info?.isa);
  for (const isa of others) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url)), 'run', fileURLToPath(import.meta.url)], {
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

// Valid calls: x [4, 3] (c = 3 from gamma). `arrays` names the Float32Array arguments by position.
interface Entry { fn: string; nArgs: number; make: () => Args; arrays: [number, string, 'x' | 'c'][]; outs: number[]; eps: number }
const ENTRIES: Entry[] = [
  {
    fn: 'batchNormTrainF32', nArgs: 7, eps: 3,
    make: () => [f32(12), f32(3), f32(3), 1e-3, f32(12, 7), f32(3, 7), f32(3, 7)],
    arrays: [[0, 'x', 'x'], [1, 'gamma', 'c'], [2, 'beta', 'c'], [4, 'y', 'x'], [5, 'mean', 'c'], [6, 'variance', 'c']],
    outs: [4, 5, 6],
  },
  {
    fn: 'batchNormInferF32', nArgs: 7, eps: 5,
    make: () => [f32(12), f32(3), f32(3), f32(3), f32(3), 1e-3, f32(12, 7)],
    arrays: [[0, 'x', 'x'], [1, 'gamma', 'c'], [2, 'beta', 'c'], [3, 'mean', 'c'], [4, 'variance', 'c'], [6, 'y', 'x']],
    outs: [6],
  },
  {
    fn: 'batchNormBackwardF32', nArgs: 10, eps: 6,
    make: () => [true, f32(12), f32(12), f32(3), f32(3), f32(3), 1e-3, f32(12, 7), f32(3, 7), f32(3, 7)],
    arrays: [[1, 'dy', 'x'], [2, 'x', 'x'], [3, 'gamma', 'c'], [4, 'mean', 'c'], [5, 'variance', 'c'], [7, 'dx', 'x'],
      [8, 'dgamma', 'c'], [9, 'dbeta', 'c']],
    outs: [7, 8, 9],
  },
];

describe.skipIf(CHILD || !load.backend)('batch-norm entries reject bad arguments', () => {
  afterAll(() => {
    const y = f32(4, 0);
    const m = f32(2, 0);
    const v = f32(2, 0);
    addon.batchNormTrainF32(Float32Array.from([1, 10, 3, 30]), Float32Array.from([1, 1]), Float32Array.from([0, 0]), 0, y, m, v);
    expect(Array.from(m)).toEqual([2, 20]);
    expect(Array.from(v)).toEqual([1, 100]);
  });

  for (const e of ENTRIES) {
    it(`${e.fn}: wrong argument count -> TypeError`, () => {
      for (const k of [0, e.nArgs - 1, e.nArgs + 1]) {
        const args = [...e.make(), 0].slice(0, k);
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: expected ${e.nArgs} arguments`, `got ${k}`);
      }
    });

    for (const [pos, name, kind] of e.arrays) {
      it(`${e.fn}: '${name}' must be a live, unshared Float32Array of the right length`, () => {
        for (const [desc, bad] of [['Float64Array', new Float64Array(12)], ['Array', [1]], ['number', 1], ['undefined', undefined]] as [string, unknown][]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be a Float32Array, got ${desc}`);
        }
        const a1 = e.make();
        a1[pos] = shared(kind === 'x' ? 12 : 3);
        expectError(() => call(e.fn, a1), TypeError, `${e.fn}: argument '${name}' is backed by a SharedArrayBuffer`);
        const a2 = e.make();
        a2[pos] = detached(3);
        expectError(() => call(e.fn, a2), TypeError, `${e.fn}: argument '${name}' is backed by a detached ArrayBuffer`);
        // Wrong length: gamma sets c, so a wrong gamma shows up as x not being a multiple of c (or another length).
        const a3 = e.make();
        a3[pos] = f32(kind === 'x' ? 11 : 2);
        expectError(() => call(e.fn, a3), RangeError, `${e.fn}: argument '`);
        for (const o of e.outs) if (o !== pos) expect((a3[o] as Float32Array).every((v) => v === 7), 'outputs untouched').toBe(true);
      });
    }

    it(`${e.fn}: x not a whole number of rows -> RangeError naming the channel count`, () => {
      const args = e.make();
      const xPos = e.arrays.find(([, n]) => n === 'x')![0];
      args[xPos] = f32(13);
      expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument 'x' has length 13, which is not a multiple of the channel count 3`);
    });

    it(`${e.fn}: epsilon must be a finite number >= 0`, () => {
      for (const bad of ['1e-3', null]) {
        const args = e.make();
        args[e.eps] = bad;
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument 'epsilon' must be a number`);
      }
      for (const bad of [-1e-3, NaN, Infinity]) {
        const args = e.make();
        args[e.eps] = bad;
        expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument 'epsilon' must be a finite number >= 0`);
      }
    });

    it(`${e.fn}: outputs overlapping inputs or each other -> RangeError`, () => {
      const xPos = e.arrays.find(([, n]) => n === 'x')![0];
      const firstOut = e.outs[0];
      const args = e.make();
      args[firstOut] = args[xPos]; // dx / y aliasing x
      expectError(() => call(e.fn, args), RangeError, `overlaps 'x'`);
      if (e.outs.length > 1) {
        const a2 = e.make();
        const buf = f32(6, 7);
        a2[e.outs[1]] = buf.subarray(0, 3);
        a2[e.outs[2]] = buf.subarray(2, 5);
        const name = (pos: number) => e.arrays.find(([p]) => p === pos)![1];
        expectError(() => call(e.fn, a2), RangeError, `${e.fn}: argument '${name(e.outs[2])}' overlaps '${name(e.outs[1])}'; pass a separate output array`);
      }
    });
  }

  it("batchNormBackwardF32: 'training' must be a boolean", () => {
    for (const [desc, bad] of [['number', 1], ['string', 'true'], ['undefined', undefined]] as [string, unknown][]) {
      const args = ENTRIES[2].make();
      args[0] = bad;
      expectError(() => call('batchNormBackwardF32', args), TypeError, `batchNormBackwardF32: argument 'training' must be a boolean, got ${desc}`);
    }
  });

  it('c = 0 (empty gamma) accepts only an empty x', () => {
    expect(() => addon.batchNormTrainF32(f32(0), f32(0), f32(0), 1e-3, f32(0), f32(0), f32(0))).not.toThrow();
    expectError(() => addon.batchNormTrainF32(f32(2), f32(0), f32(0), 1e-3, f32(2), f32(0), f32(0)), RangeError,
      "batchNormTrainF32: argument 'x' has length 2, which is not a multiple of the channel count 0");
  });
});
