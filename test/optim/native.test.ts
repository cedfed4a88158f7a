/**
 * Native optimizer updates (native/runtime/optim.cc via adamUpdateF32 / sgdUpdateF32): with the addon loaded,
 * Adam and SGD give bit-identical weights and slots to the JS loops (setNativeOptimizerUpdates(false)) at 1
 * and 2 threads, on random data over sizes around the JS/native cut and the native chunk size; and the addon
 * entries reject bad arguments with a TypeError / RangeError naming the function and argument, writing nothing.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

import { loadAddon } from '../../src/backends/native/addon.js';
import { getNumThreads, setNumThreads } from '../../src/backends/native/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import { Adam, AdamW, SGD, type Optimizer } from '../../src/optim/index.js';
import { NATIVE_UPDATE_MIN_SIZE, setNativeOptimizerUpdates } from '../../src/optim/optimizer.js';
import { expectError } from '../helpers/errors.js';

const addon = loadAddon().addon;
const hasEntries = addon !== null && typeof addon.adamUpdateF32 === 'function';

// Sizes: below the cut (JS either way), at it, one native chunk (8192), across chunks, and W1-like.
const SIZES = [7, NATIVE_UPDATE_MIN_SIZE, 8192, 8193, 3 * 8192 + 5, 50_001];

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomArray(n: number, r: () => number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    // Some exact zeros and a wide range of magnitudes.
    a[i] = u < 0.05 ? 0 : (r() - 0.5) * scale * Math.pow(10, Math.floor(r() * 6) - 3);
  }
  return a;
}

function makeVars(seed: number): Variable[] {
  const r = rng(seed);
  return SIZES.map((n, k) => new Variable(`v${k}/${k % 2 ? 'bias' : 'kernel'}`, new Tensor(randomArray(n, r, 2), [n]), true));
}

function grads(seed: number, step: number): Tensor[] {
  const r = rng(seed * 1000 + step + 1);
  return SIZES.map((n) => new Tensor(randomArray(n, r, 4), [n]));
}

/** Runs `steps` updates and returns every weight and slot, as raw bits. */
function trajectory(make: () => Optimizer, native: boolean, steps = 4): Uint32Array[] {
  const prev = setNativeOptimizerUpdates(native);
  try {
    const opt = make();
    const vars = makeVars(1);
    for (let t = 0; t < steps; t++) {
      const g = grads(1, t);
      opt.applyGradients(vars.map((v, k) => [g[k], v] as const));
    }
    const out = vars.map((v) => new Uint32Array((v.value.data as Float32Array).slice().buffer));
    for (const e of opt.getState()) {
      if (e.name !== 'iterations') out.push(new Uint32Array((e.value.data as Float32Array).slice().buffer));
    }
    return out;
  } finally {
    setNativeOptimizerUpdates(prev);
  }
}

function expectSameBits(a: Uint32Array[], b: Uint32Array[]): void {
  expect(a.length).toBe(b.length);
  for (let k = 0; k < a.length; k++) {
    expect(a[k].length).toBe(b[k].length);
    let first = -1;
    for (let i = 0; i < a[k].length; i++) {
      if (a[k][i] !== b[k][i]) {
        first = i;
        break;
      }
    }
    expect(first, `array ${k} differs at ${first}`).toBe(-1);
  }
}

const CASES: Array<[string, () => Optimizer]> = [
  ['adam', () => new Adam({ learningRate: 0.01 })],
  ['adam betas epsilon 1e-3', () => new Adam({ learningRate: 0.02, beta1: 0.5, beta2: 0.9, epsilon: 1e-3 })],
  ['adam amsgrad', () => new Adam({ learningRate: 0.01, beta2: 0.5, amsgrad: true })],
  ['adam weight decay + exclusions', () => new Adam({ learningRate: 0.01, weightDecay: 0.05, excludeFromWeightDecay: ['bias'] })],
  ['adamw amsgrad clipNorm', () => new AdamW({ learningRate: 0.05, weightDecay: 0.1, amsgrad: true, clipNorm: 1 })],
  ['sgd', () => new SGD({ learningRate: 0.1 })],
  ['sgd weight decay', () => new SGD({ learningRate: 0.1, weightDecay: 0.01 })],
  ['sgd momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9 })],
  ['sgd nesterov', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
  ['sgd nesterov decay clipValue', () => new SGD({ learningRate: 0.05, momentum: 0.7, nesterov: true, weightDecay: 0.02, clipValue: 0.5 })],
];

describe.skipIf(!hasEntries)('native optimizer updates are bit-identical to the JS loops', () => {
  const threads0 = hasEntries ? getNumThreads() : 1;
  afterAll(() => setNumThreads(threads0));
  afterEach(() => vi.restoreAllMocks());

  for (const threads of [1, 2]) {
    it.each(CASES)(`%s, ${threads} thread(s)`, (name, make) => {
      setNumThreads(threads);
      const entry = name.startsWith('sgd') ? 'sgdUpdateF32' : 'adamUpdateF32';
      const spy = vi.spyOn(addon as unknown as Record<string, (...a: unknown[]) => void>, entry);
      const js = trajectory(make, false);
      expect(spy).not.toHaveBeenCalled();
      const nat = trajectory(make, true);
      // Every variable at or above the cut went native, every step.
      expect(spy).toHaveBeenCalledTimes(4 * SIZES.filter((n) => n >= NATIVE_UPDATE_MIN_SIZE).length);
      expectSameBits(nat, js);
    });
  }
});

// --- bad input ------------------------------------------------------------------------------------------

function f32(n: number, v = 1): Float32Array {
  return new Float32Array(n).fill(v);
}
function shared(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}
function detached(n: number): Float32Array {
  const buf = new ArrayBuffer(n * 4);
  const view = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  return view;
}
const call = (fn: string, args: unknown[]) => () => (addon as unknown as Record<string, (...a: unknown[]) => void>)[fn](...args);

describe.skipIf(!hasEntries)('adamUpdateF32 / sgdUpdateF32 bad input', () => {
  const adamArgs = (o: Record<number, unknown> = {}): unknown[] => {
    const a: unknown[] = [f32(4, 1), f32(4, 0.5), f32(4, 0), f32(4, 0), null, 0.1, 0.1, 0.001, 1e-7, 1];
    for (const [k, v] of Object.entries(o)) a[Number(k)] = v;
    return a;
  };
  const sgdArgs = (o: Record<number, unknown> = {}): unknown[] => {
    const a: unknown[] = [f32(4, 1), f32(4, 0.5), f32(4, 0), 0.1, 0.9, false, 1];
    for (const [k, v] of Object.entries(o)) a[Number(k)] = v;
    return a;
  };

  it('argument counts', () => {
    expectError(call('adamUpdateF32', adamArgs().slice(0, 9)), TypeError, 'adamUpdateF32', 'expected 10 arguments');
    expectError(call('sgdUpdateF32', [...sgdArgs(), 1]), TypeError, 'sgdUpdateF32', 'expected 7 arguments');
  });

  it('wrong array types', () => {
    expectError(call('adamUpdateF32', adamArgs({ 0: new Float64Array(4) })), TypeError, 'adamUpdateF32', "'w'", 'Float64Array');
    expectError(call('adamUpdateF32', adamArgs({ 2: [0, 0, 0, 0] })), TypeError, "'m'");
    expectError(call('adamUpdateF32', adamArgs({ 4: new Int32Array(4) })), TypeError, "'vHat'");
    expectError(call('adamUpdateF32', adamArgs({ 3: shared(4) })), TypeError, "'v'");
    expectError(call('adamUpdateF32', adamArgs({ 1: detached(4) })), TypeError, "'g'");
    expectError(call('sgdUpdateF32', sgdArgs({ 2: 5 })), TypeError, 'sgdUpdateF32', "'velocity'");
    expectError(call('sgdUpdateF32', sgdArgs({ 1: undefined })), TypeError, "'g'");
  });

  it('wrong numbers and booleans', () => {
    expectError(call('adamUpdateF32', adamArgs({ 5: '0.1' })), TypeError, "'alpha'", 'number');
    expectError(call('adamUpdateF32', adamArgs({ 9: null })), TypeError, "'keep'");
    expectError(call('sgdUpdateF32', sgdArgs({ 5: 1 })), TypeError, "'nesterov'", 'boolean');
    expectError(call('sgdUpdateF32', sgdArgs({ 3: undefined })), TypeError, "'learningRate'");
  });

  it('length mismatches', () => {
    expectError(call('adamUpdateF32', adamArgs({ 1: f32(3) })), RangeError, 'adamUpdateF32', "'g'", 'length 3');
    expectError(call('adamUpdateF32', adamArgs({ 3: f32(5) })), RangeError, "'v'");
    expectError(call('adamUpdateF32', adamArgs({ 4: f32(2) })), RangeError, "'vHat'");
    expectError(call('sgdUpdateF32', sgdArgs({ 2: f32(8) })), RangeError, 'sgdUpdateF32', "'velocity'");
  });

  it('overlapping arrays', () => {
    const buf = new Float32Array(8);
    expectError(call('adamUpdateF32', adamArgs({ 0: buf.subarray(0, 4), 2: buf.subarray(2, 6) })), RangeError, "'m'", 'overlaps', "'w'");
    const m = f32(4, 0);
    expectError(call('adamUpdateF32', adamArgs({ 2: m, 3: m })), RangeError, "'v'", "'m'");
    expectError(call('adamUpdateF32', adamArgs({ 2: m, 4: m })), RangeError, "'vHat'");
    const w = f32(4);
    expectError(call('adamUpdateF32', adamArgs({ 0: w, 1: w })), RangeError, "'w'", "'g'");
    expectError(call('sgdUpdateF32', sgdArgs({ 0: w, 2: w })), RangeError, "'velocity'", "'w'");
    expectError(call('sgdUpdateF32', sgdArgs({ 1: w, 2: w })), RangeError, "'velocity'", "'g'");
  });

  it('a rejected call writes nothing; good calls work (empty arrays too)', () => {
    const w = f32(4, 1);
    const m = f32(4, 0);
    expectError(call('adamUpdateF32', [w, f32(4, 0.5), m, f32(3), null, 0.1, 0.1, 0.001, 1e-7, 1]), RangeError);
    expect(Array.from(w)).toEqual([1, 1, 1, 1]);
    expect(Array.from(m)).toEqual([0, 0, 0, 0]);
    addon!.adamUpdateF32(new Float32Array(0), new Float32Array(0), new Float32Array(0), new Float32Array(0), null, 0.1, 0.1, 0.001, 1e-7, 1);
    addon!.sgdUpdateF32(new Float32Array(0), new Float32Array(0), new Float32Array(0), 0.1, 0.9, true, 1);
    const w2 = Float32Array.from([1, 2]);
    addon!.sgdUpdateF32(w2, Float32Array.from([1, -1]), null, 0.5, 0, false, 1);
    expect(Array.from(w2)).toEqual([0.5, 2.5]);
  });
});
