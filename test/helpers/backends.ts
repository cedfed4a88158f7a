/**
 * Runs one kernel on the native backend and on the reference backend (the oracle) with the same inputs and
 * compares every output element with a tolerance the caller derives, naming the case on failure.
 *
 * - A kernel counts as native iff `nativeBackend[k] !== referenceBackend[k]` (src/backends/native/index.ts
 *   merges the reference with whatever entries the addon's families return), so new native kernels are
 *   picked up without touching the tests. A kernel that is not native compares reference to reference:
 *   `coverageLine` says which is which, so nobody mistakes that for coverage.
 * - For a native kernel the comparison runs at every thread count in `THREAD_COUNTS` (the pool is resized
 *   in-process with setNumThreads: threads may change the summation order, which the tolerances cover), and
 *   at each count the kernel runs twice: the two results must be bit-identical (a fixed thread count is
 *   deterministic), and the inputs must be unchanged afterwards (kernels never write their inputs).
 * - Without the addon (not built, or NODEGRAD_ISA names a path the CPU lacks) every kernel compares reference
 *   to reference and the coverage line says why.
 * - NODEGRAD_PROPS_BACKEND=cuda (the vitest project 'props-cuda', added when the CUDA addon sees a GPU) puts the CUDA
 *   backend in the native backend's place, seen through host tensors: each call uploads its KTensor arguments, runs
 *   cudaTensorBackend() (src/backends/cuda/tensor-backend.ts, what `model.to('cuda')` trains with), downloads every
 *   result and frees the device buffers. It runs once per case (no thread counts), still twice bit-identical (the
 *   CUDA kernels are deterministic by design), with the device copies of the inputs unchanged; outputs are
 *   NaN-poisoned at allocation under NODEGRAD_POISON_OUTPUTS. Calls the backend sends to the CPU (gpuGap: the CPU
 *   backend runs them, with its one-time warning) are counted apart and printed after each file as CPU fallback,
 *   not CUDA coverage. NODEGRAD_PROPS_BACKEND=fake-cuda (the project 'props-fake-cuda', in `npm test`) runs the same
 *   wiring over test/helpers/fake-cuda.ts without a GPU: `npx vitest run --project props-fake-cuda`.
 */
import { afterAll } from 'vitest';

import type { AsyncKernels, Backend, DataArray, KTensor } from '../../src/backends/backend.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { getNumThreads, loadNativeBackend, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import { withBackend } from '../../src/backends/registry.js';
import { type CudaAddon, loadCuda, setCudaAddonForTesting } from '../../src/backends/cuda/index.js';
import { DeviceKTensor, DeviceStorage } from '../../src/backends/cuda/device-storage.js';
import { cudaTensorBackend } from '../../src/backends/cuda/tensor-backend.js';
import { EPS32 } from './close.js';
import { createFakeCuda } from './fake-cuda.js';

/** Every kernel of the Backend interface. A Record over keyof Backend, so a new kernel fails typecheck until listed. */
export type KernelName = Exclude<keyof Backend, 'name' | 'async'>;
const KERNEL_SET: Record<KernelName, true> = {
  unary: true, unaryGrad: true, binary: true, compare: true, where: true, clip: true, cast: true,
  reduce: true, argReduce: true,
  transpose: true, slice: true, gather: true, scatterAdd: true, concat: true, pad: true, oneHot: true,
  matmul: true,
  softmax: true, logSoftmax: true, softmaxCrossEntropy: true, softmaxCrossEntropyBackward: true,
  conv2d: true, conv2dBackwardData: true, conv2dBackwardFilter: true,
  maxPool2d: true, maxPool2dBackward: true, avgPool2d: true, avgPool2dBackward: true,
  globalPool2d: true, globalPool2dBackward: true,
  batchNorm: true, batchNormBackward: true,
  dropout: true,
};
export const KERNEL_NAMES = Object.keys(KERNEL_SET) as KernelName[];

const load = loadNativeBackend();
/** Why the addon did not load (undefined when it did). */
export const nativeLoadError: string | undefined = load.backend ? undefined : (load.error ?? 'the native addon did not load');

/**
 * NODEGRAD_PROPS_EMULATE=f32|mutant swaps float32 emulations (test/props/emulated.ts) in for the native kernels:
 * a check of the tolerances themselves (f32 must pass, mutant must fail), never set in `npm test`.
 */
const emulate = process.env.NODEGRAD_PROPS_EMULATE;
const emulated: Partial<Backend> | undefined = emulate === 'f32' || emulate === 'mutant'
  ? (await import('../props/emulated.js')).emulatedKernels(emulate === 'mutant')
  : undefined;

const propsBackend = process.env.NODEGRAD_PROPS_BACKEND;
if (propsBackend !== undefined && propsBackend !== 'cuda' && propsBackend !== 'fake-cuda') {
  throw new Error(`NODEGRAD_PROPS_BACKEND=${propsBackend}: expected cuda or fake-cuda`);
}
if (propsBackend && emulated) throw new Error('NODEGRAD_PROPS_BACKEND and NODEGRAD_PROPS_EMULATE replace the same backend: set one');
const cuda = propsBackend ? cudaThroughHost(propsBackend) : undefined;

/** The native backend, or the reference standing in for it when the addon did not load. */
export const nativeBackend: Backend = emulated
  ? { ...(load.backend ?? referenceBackend), ...emulated, name: `emulated-${emulate}`, async: {} }
  : cuda?.backend ?? load.backend ?? referenceBackend;
export { referenceBackend };

/**
 * True when the backend under test is the CUDA backend (NODEGRAD_PROPS_BACKEND), whose kernels report an index or
 * label out of range (a ValueError at the next read) where the CPU kernels, behind the ops layer's checks, read it
 * as a zero row: properties that feed such indices expect that error there.
 */
export const reportsBadIndices = cuda !== undefined;

/** True when the backend under test is the CPU addon itself (not CUDA, not an emulation): its double-evaluated kernels are held to 'exact'. */
export const testsCpuAddon = cuda === undefined && emulated === undefined && load.backend !== undefined;

/** True when the native backend has its own entry for `k` (the addon runs it, at least for some inputs). */
export function isNative(k: KernelName): boolean {
  return nativeBackend[k] !== referenceBackend[k];
}

/** The kernels the native backend implements itself. */
export function nativeKernels(): KernelName[] {
  return KERNEL_NAMES.filter(isNative);
}

/** The Promise forms the native backend offers (matmul, conv2d, ...). */
export function nativeAsyncKernels(): string[] {
  return Object.keys(nativeBackend.async ?? {}).filter((k) => typeof (nativeBackend.async as Record<string, unknown>)[k] === 'function');
}

/**
 * Thread counts each native kernel is checked at: 1 (serial path), 2 and 3 (an uneven split), or
 * NODEGRAD_PROPS_THREADS=1,4,... Restored to the pool's size afterwards.
 */
export const THREAD_COUNTS: readonly number[] = (process.env.NODEGRAD_PROPS_THREADS ?? '1,2,3')
  .split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 1);

/** One line saying, for `kernels`, which run natively and which compare reference to reference. */
export function coverageLine(label: string, kernels: readonly KernelName[]): string {
  const info = nativeInfo();
  const where = emulated
    ? `EMULATED float32 kernels (NODEGRAD_PROPS_EMULATE=${emulate}), not the addon`
    : cuda
    ? `CUDA backend on ${cuda.device} through host tensors (NODEGRAD_PROPS_BACKEND=${propsBackend}), once per case; ` +
      'the GPU / CPU-fallback split per call follows after the file'
    : nativeLoadError
    ? `native addon NOT loaded (${nativeLoadError})`
    : `isa=${info?.isa}${info?.forced ? ' (forced)' : ''} threads=${THREAD_COUNTS.join('/')} (pool default ${getNumThreads()})`;
  const nat = kernels.filter(isNative);
  const ref = kernels.filter((k) => !isNative(k));
  return `[props ${label}] ${where}: ${cuda ? 'cuda' : 'native'}: ${nat.length ? nat.join(', ') : '(none)'}; ` +
    `reference fallback, compared reference-to-reference: ${ref.length ? ref.join(', ') : '(none)'}`;
}

const reported = new Set<string>();
/**
 * Prints coverageLine once per label (call it at the top of each props file). With NODEGRAD_PROPS_STATS=1 it
 * also prints, after the file, the worst observed |error| / allowed per kernel: how tight the bounds are.
 */
export function reportCoverage(label: string, kernels: readonly KernelName[]): void {
  if (reported.has(label)) return;
  reported.add(label);
  console.log(coverageLine(label, kernels));
  if (cuda) afterAll(() => console.log(`[props ${label}] ${cudaSplitLine(kernels)}`));
  if (process.env.NODEGRAD_PROPS_STATS) {
    afterAll(() => {
      const rows = [...worstSeen.entries()].map(([k, v]) => `${k} ${v.ratio.toPrecision(3)} (${v.what})`);
      console.log(`[props ${label}] worst |error|/allowed:\n  ${rows.join('\n  ') || '(no toleranced comparisons)'}`);
    });
  }
}

/** Worst |error| / allowed seen per kernel (NODEGRAD_PROPS_STATS). */
const worstSeen = new Map<string, { ratio: number; what: string }>();
function noteRatio(what: string, ratio: number): void {
  const k = what.split(' ')[0];
  if (!(ratio > (worstSeen.get(k)?.ratio ?? -1))) return;
  worstSeen.set(k, { ratio, what: what.length > 160 ? `${what.slice(0, 160)}...` : what });
}

// ---------------------------------------------------------------------------------------------
// Tolerances and comparison

/**
 * How output elements are compared. 'exact': bit-equal (Object.is: -0 differs from 0; any NaN equals any NaN).
 * A function returns the largest allowed |got - ref| for flat element i, or accepts/rejects the element itself
 * by returning a boolean. In every mode a NaN reference needs a NaN result and an infinite reference the same
 * infinity (unless a boolean-returning function decides otherwise).
 */
export type Tol = 'exact' | ((i: number, ref: number, got: number) => number | boolean);

/** Higham's gamma_n = n u / (1 - n u) for float32 (u = 2^-24): the relative error bound of n roundings. */
export function gamma32(n: number): number {
  const nu = Math.max(n, 0) * EPS32;
  return nu < 1 ? nu / (1 - nu) : Infinity;
}

/** gamma_n for float64 (u = 2^-53): the reference's own error accumulating in doubles. */
export function gamma64(n: number): number {
  const nu = Math.max(n, 0) * 2 ** -53;
  return nu < 1 ? nu / (1 - nu) : Infinity;
}

/** Smallest float32 subnormal: gradual underflow adds at most half of it per rounding, in absolute terms. */
export const SUB32 = 2 ** -149;
/** Smallest normal float32. */
export const MIN_NORMAL32 = 2 ** -126;

/**
 * Bound for a sum of n terms (products included: each term then carries one more rounding, counted in n)
 * computed in float32 in any order and any blocking, against the reference which sums in double and rounds once:
 *   |got - ref| <= gamma32(n) * absSum + eps32 * |ref| + gamma64(n) * absSum + n * 2^-149
 * (Higham, Accuracy and Stability, 3.1: |fl(sum) - sum| <= gamma_{n-1} sum|x_i|, one more gamma step for
 * the products; eps32*|ref| is the reference's final rounding; the last terms the reference's double sum and
 * subnormal rounding). absSum = sum|x_i| (or sum|a_i b_i|) is computed in double by the caller.
 */
export function sumBound(n: number, absSum: number, ref: number): number {
  return gamma32(n) * absSum + EPS32 * Math.abs(ref) + gamma64(n) * absSum + n * SUB32;
}

/** Spacing of float32 numbers at |v| (ulp), for finite v; 2^-149 in the subnormal range. */
export function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < MIN_NORMAL32) return SUB32;
  if (!Number.isFinite(a)) return 2 ** 104; // infinity sits one FLT_MAX ulp past FLT_MAX (see compareTensors)
  const e = Math.floor(Math.log2(a));
  // log2 can be off by one near powers of two; fix up so that 2^e <= a < 2^(e+1).
  const ee = 2 ** e > a ? e - 1 : 2 ** (e + 1) <= a ? e + 1 : e;
  return 2 ** (Math.min(ee, 127) - 23);
}

const f32buf = new Float32Array(1);
const i32buf = new Int32Array(f32buf.buffer);
/** Position of a float32 value on the ordered integer line (adjacent floats differ by 1; +-0 both map to 0). */
function ordered32(v: number): number {
  f32buf[0] = v;
  const i = i32buf[0];
  return i < 0 ? -(i & 0x7fffffff) : i;
}

/** Number of float32 values between a and b (0 when equal; +-Infinity are one step past +-FLT_MAX). */
export function ulpDistance32(a: number, b: number): number {
  return Math.abs(ordered32(a) - ordered32(b));
}

function overflowValue(v: number): number {
  return v === Infinity ? 2 ** 128 : v === -Infinity ? -(2 ** 128) : v;
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(',')}]`;
}

function coordOf(i: number, shape: readonly number[]): string {
  const c: number[] = new Array(shape.length).fill(0);
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    if (n > 0) {
      c[d] = r % n;
      r = Math.floor(r / n);
    }
  }
  return shapeStr(c);
}

/** Throws a named error unless `got` matches `ref` (shape, array type, every element under `tol`). */
export function compareTensors(got: KTensor, ref: KTensor, tol: Tol, what: string): void {
  if (shapeStr(got.shape) !== shapeStr(ref.shape)) {
    throw new Error(`${what}: shape ${shapeStr(got.shape)}, reference ${shapeStr(ref.shape)}`);
  }
  if (got.data.constructor !== ref.data.constructor) {
    throw new Error(`${what}: array type ${got.data.constructor.name}, reference ${ref.data.constructor.name}`);
  }
  if (got.data.length !== ref.data.length) {
    throw new Error(`${what}: length ${got.data.length}, reference ${ref.data.length} (shape ${shapeStr(ref.shape)})`);
  }
  let bad = 0;
  let first = -1;
  let firstBound = NaN;
  let worstRatio = 0;
  let observed = 0;
  const g = got.data;
  const r = ref.data;
  for (let i = 0; i < r.length; i++) {
    const a = g[i];
    const e = r[i];
    let ok: boolean;
    let bound = 0;
    if (tol === 'exact') {
      ok = Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e));
    } else {
      const t = tol(i, e, a);
      if (typeof t === 'boolean') {
        ok = t;
      } else if (Number.isNaN(e) || Number.isNaN(a)) {
        ok = Number.isNaN(e) && Number.isNaN(a);
      } else if (!Number.isFinite(e) && !Number.isFinite(a)) {
        ok = a === e;
      } else {
        // One side overflowed: an infinite float32 result counts as +-2^128, the value past which rounding
        // overflows, so a result one ulp over FLT_MAX is one ulp (2^104) away, not infinitely far.
        bound = t;
        const err = Math.abs(overflowValue(a) - overflowValue(e));
        ok = a === e || err <= t;
        if (t > 0 && Number.isFinite(err)) observed = Math.max(observed, err / t);
        if (!ok && t > 0) worstRatio = Math.max(worstRatio, err / t);
        if (!ok && t === 0) worstRatio = Infinity;
      }
    }
    if (!ok) {
      bad++;
      if (first < 0) {
        first = i;
        firstBound = bound;
      }
    }
  }
  if (process.env.NODEGRAD_PROPS_STATS && tol !== 'exact') noteRatio(what, observed);
  if (bad > 0) {
    const a = g[first];
    const e = r[first];
    const tolText = tol === 'exact' ? 'exact (bit-equal)'
      : Number.isNaN(a) !== Number.isNaN(e) ? 'a NaN must match a NaN'
      : !Number.isFinite(a) && !Number.isFinite(e) ? 'infinities must match'
      : `allowed |error| ${firstBound}, worst |error|/allowed ${worstRatio.toPrecision(3)}`;
    throw new Error(
      `${what}: ${bad} of ${r.length} elements differ; first at flat ${first} = ${coordOf(first, ref.shape)} of ${shapeStr(ref.shape)}: ` +
        `native ${Object.is(a, -0) ? '-0' : a}, reference ${Object.is(e, -0) ? '-0' : e}, |error| ${Math.abs(a - e)}; ${tolText}`,
    );
  }
}

/**
 * Index of the first element where a and b are not bit-identical, or -1. NaNs count as equal whatever their
 * payload: JS itself produces NaNs with different sign bits depending on the JIT tier (the reference fallback
 * computing mod twice gives 0x7fc00000 and 0xffc00000), and no kernel contract speaks about payloads.
 */
function bitEqual(a: DataArray, b: DataArray): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** Named outputs of one kernel call; a kernel with one output returns it under any name (e.g. 'y'). */
export type Outputs = Record<string, KTensor>;

export interface KernelCase {
  /** The Backend entry under test. */
  readonly kernel: KernelName;
  /** Names the case: shapes and attributes (fast-check adds the shrunk counterexample). */
  readonly what: string;
  /** Calls the kernel on `b` with this case's inputs. */
  readonly run: (b: Backend) => Outputs;
  /** Tolerance per output name, or one for all of them. */
  readonly tol: Tol | Record<string, Tol>;
  /** The inputs run() reads, checked unchanged after the native calls. */
  readonly inputs?: readonly KTensor[];
}

function snapshot(ts: readonly KTensor[] | undefined): DataArray[] {
  return (ts ?? []).map((t) => t.data.slice() as DataArray);
}

/**
 * Runs the case on the reference, then (for a native kernel) on the native backend at each of THREAD_COUNTS,
 * twice each, and compares. Returns the reference outputs.
 */
export function checkKernel(c: KernelCase): Outputs {
  const ref = c.run(referenceBackend);
  const tolOf = (name: string): Tol => (typeof c.tol === 'string' || typeof c.tol === 'function' ? c.tol : c.tol[name] ?? 'exact');
  const compareAll = (got: Outputs, label: string): void => {
    for (const name of Object.keys(ref)) {
      if (!got[name]) throw new Error(`${c.kernel} ${c.what}${label}: output '${name}' missing`);
      compareTensors(got[name], ref[name], tolOf(name), `${c.kernel} ${c.what}${label} output '${name}'`);
    }
  };
  if (!isNative(c.kernel)) {
    compareAll(c.run(nativeBackend), ' (reference fallback)');
    return ref;
  }
  const before = snapshot(c.inputs);
  const saved = getNumThreads();
  try {
    // The CUDA kernels do not use the CPU pool: one pass.
    for (const t of cuda ? [undefined] : THREAD_COUNTS) {
      if (t !== undefined) setNumThreads(t);
      const label = t === undefined ? ` on ${nativeBackend.name}` : ` threads=${t}`;
      const got = c.run(nativeBackend);
      const again = c.run(nativeBackend);
      for (const name of Object.keys(got)) {
        const d = bitEqual(got[name].data, again[name]?.data ?? new Float32Array(0));
        if (d >= 0) {
          throw new Error(
            `${c.kernel} ${c.what}${label} output '${name}': not deterministic, two runs on the same inputs differ at flat ${d} ` +
              `(${got[name].data[d]} then ${again[name]?.data[d]})`,
          );
        }
      }
      compareAll(got, label);
    }
  } finally {
    setNumThreads(saved);
  }
  (c.inputs ?? []).forEach((t, k) => {
    const d = bitEqual(t.data, before[k]);
    if (d >= 0) throw new Error(`${c.kernel} ${c.what}: input ${k} ${shapeStr(t.shape)} was written at flat ${d}`);
  });
  return ref;
}

/**
 * The Promise form of a kernel (native backend's `async[k]`), when it has one: its result must be bit-identical
 * to the synchronous native kernel at the same thread count ("same arguments and results"), and inputs
 * unchanged. Returns false when there is no Promise form (nothing checked).
 */
export async function checkAsyncKernel(
  kernel: keyof AsyncKernels,
  what: string,
  runAsync: (a: Required<AsyncKernels>) => Promise<KTensor>,
  runSync: (b: Backend) => KTensor,
  inputs: readonly KTensor[],
): Promise<boolean> {
  const forms = nativeBackend.async;
  if (!forms || typeof forms[kernel] !== 'function') return false;
  const before = snapshot(inputs);
  const want = runSync(nativeBackend);
  const got = await runAsync(forms as Required<AsyncKernels>);
  compareTensors(got, want, 'exact', `async ${kernel} ${what} vs its synchronous form`);
  inputs.forEach((t, k) => {
    const d = bitEqual(t.data, before[k]);
    if (d >= 0) throw new Error(`async ${kernel} ${what}: input ${k} ${shapeStr(t.shape)} was written at flat ${d}`);
  });
  return true;
}

/**
 * numRuns for a property of `kernels`: `base` times NODEGRAD_PROPS_RUNS (a multiplier, default 1, for long
 * runs). When none of the kernels is native the property only compares the reference with itself, so it runs
 * a fifth as often (at least 3 cases: the arbitraries and the tolerance code still run).
 */
export function runs(base: number, kernels: readonly KernelName[] = []): number {
  const scale = Number(process.env.NODEGRAD_PROPS_RUNS ?? '1');
  const n = base * (Number.isFinite(scale) && scale > 0 ? scale : 1);
  const anyNative = kernels.length === 0 || kernels.some(isNative);
  return Math.max(anyNative ? 1 : 3, Math.round(anyNative ? n : n / 5));
}

/** fast-check parameters: numRuns from runs(), and NODEGRAD_PROPS_SEED (with fast-check's printed path) to replay a failure. */
export function fcParams(base: number, ...kernels: KernelName[]): { numRuns: number; seed?: number } {
  const seed = process.env.NODEGRAD_PROPS_SEED;
  const numRuns = runs(base, kernels);
  return seed !== undefined ? { numRuns, seed: Number(seed) } : { numRuns };
}

// ---------------------------------------------------------------------------------------------
// The CUDA backend through host tensors (NODEGRAD_PROPS_BACKEND)

/** Per kernel: calls the GPU ran, and calls the CUDA backend sent to the CPU backend (by op and dtype). */
const cudaCalls = new Map<KernelName, { gpu: number; cpu: Map<string, number> }>();

const isKTensor = (v: unknown): v is KTensor =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as KTensor).shape) && 'data' in v;

/** Every new buffer filled with NaN (int32: -0x7fffffff), as NODEGRAD_POISON_OUTPUTS does on the CPU: an unwritten output fails. */
function poisoning(addon: CudaAddon): CudaAddon {
  const p = Object.create(addon) as CudaAddon;
  p.alloc = (length, dtype) => {
    const b = addon.alloc(length, dtype);
    if (length > 0 && dtype === addon.dtypeCodes.int32) addon.upload(b, new Int32Array(length).fill(-0x7fffffff));
    else if (length > 0) addon.fill(b, NaN);
    return b;
  };
  return p;
}

/**
 * The Backend of the header's NODEGRAD_PROPS_BACKEND: cudaTensorBackend() on uploaded copies of the arguments, with
 * every result downloaded and every device buffer freed before it returns.
 */
function cudaThroughHost(kind: 'cuda' | 'fake-cuda'): { backend: Backend; device: string } {
  const fake = kind === 'fake-cuda' ? createFakeCuda() : undefined;
  const found = fake ?? loadCuda().addon;
  if (!found) throw new Error(`NODEGRAD_PROPS_BACKEND=cuda: the CUDA backend is not available (${loadCuda().reason})`);
  setCudaAddonForTesting(!fake && process.env.NODEGRAD_POISON_OUTPUTS === '1' ? poisoning(found) : found);
  const { addon, device, reason } = loadCuda();
  if (!addon) throw new Error(`NODEGRAD_PROPS_BACKEND=${kind}: ${reason}`);
  const gpu = cudaTensorBackend() as unknown as Record<KernelName, (...a: unknown[]) => unknown>;
  // The CPU backend as the CUDA backend's fallback finds it (getBackend() inside withBackend), counting its calls.
  const cpu = load.backend ?? referenceBackend;
  let cpuCalls = 0;
  const spy = Object.fromEntries(Object.entries(cpu).map(([k, f]) =>
    [k, typeof f === 'function' ? (...a: unknown[]) => (cpuCalls++, f.apply(cpu, a)) : f])) as unknown as Backend;
  const b: Record<string, unknown> = { name: kind, async: {} };
  for (const k of KERNEL_NAMES) {
    b[k] = (...args: unknown[]): unknown => {
      const live = fake?.liveBuffers();
      const inputs: [KTensor, DeviceKTensor][] = [];
      const upload = (v: unknown): unknown => {
        if (Array.isArray(v) && v.some(isKTensor)) return v.map(upload);
        if (!isKTensor(v)) return v;
        if (!(v.data instanceof Float32Array || v.data instanceof Int32Array)) {
          throw new Error(`${k}: a ${v.data.constructor.name} argument; CUDA tensors are float32 or int32`);
        }
        const d = new DeviceKTensor(DeviceStorage.fromHost(addon, v.data), v.shape);
        inputs.push([v, d]);
        return d;
      };
      let r: unknown;
      let out: unknown;
      try {
        const onDevice = args.map(upload);
        const before = cpuCalls;
        r = withBackend(spy, () => gpu[k](...onDevice));
        noteCudaCall(k, args, cpuCalls > before);
        const host = (t: unknown): KTensor => ({ data: (t as DeviceKTensor).storage.download(), shape: (t as DeviceKTensor).shape });
        out = r instanceof DeviceKTensor ? host(r) : Object.fromEntries(Object.entries(r as object).map(([n, t]) => [n, host(t)]));
        inputs.forEach(([h, d], i) => {
          const at = bitEqual(d.storage.download(), h.data);
          if (at >= 0) throw new Error(`${k}: input ${i} ${shapeStr(h.shape)} was written on the device at flat ${at}`);
        });
      } finally {
        for (const t of r instanceof DeviceKTensor ? [r] : Object.values(r ?? {})) (t as DeviceKTensor).dispose();
        for (const [, d] of inputs) d.dispose();
      }
      if (fake && fake.liveBuffers() !== live) throw new Error(`${k}: ${fake.liveBuffers() - live!} device buffer(s) left allocated`);
      return out;
    };
  }
  const cc = device?.computeCapability.join('.');
  return { backend: b as unknown as Backend, device: `${device?.name ?? '?'}${cc ? ` (sm ${cc})` : ''}` };
}

function noteCudaCall(k: KernelName, args: readonly unknown[], onCpu: boolean): void {
  let e = cudaCalls.get(k);
  if (!e) cudaCalls.set(k, (e = { gpu: 0, cpu: new Map() }));
  if (!onCpu) {
    e.gpu++;
    return;
  }
  const int = args.find(isKTensor)?.data instanceof Int32Array;
  const what = [typeof args[0] === 'string' ? args[0] : '', int ? 'int32' : ''].filter(Boolean).join(' ');
  e.cpu.set(what, (e.cpu.get(what) ?? 0) + 1);
}

/** The calls of `kernels` so far: which the GPU ran and which the CUDA backend handed to the CPU backend. */
function cudaSplitLine(kernels: readonly KernelName[]): string {
  const gpu: string[] = [];
  const cpu: string[] = [];
  for (const k of kernels) {
    const e = cudaCalls.get(k);
    if (e?.gpu) gpu.push(`${k} ${e.gpu}`);
    for (const [what, n] of e?.cpu ?? []) cpu.push(`${k}${what ? ` ${what}` : ''} ${n}`);
  }
  return `calls the CUDA kernels ran: ${gpu.join(', ') || '(none)'}; ` +
    `calls run by the CPU backend instead (gpuGap fallback, NOT CUDA coverage): ${cpu.join(', ') || '(none)'}`;
}
