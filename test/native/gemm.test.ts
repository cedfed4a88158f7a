/**
 * SGEMM (native/runtime/gemm.cc + native/kernels/<isa>/sgemm_*.cc) through the addon's matmulF32 / gemmF32 /
 * matmulF32Async, against float64 oracles:
 * - every ISA path this machine runs (a fresh node process per path, since NODEGRAD_ISA is read at load), over
 *   M, N, K that are not multiples of any tile (1, 2, 7, 13, 31, 33, 65, 100, 257), K = 1, K = 0, K and N large
 *   enough to cross the driver's K slices and column blocks, all four transposes, batch broadcast, bias + relu,
 *   alpha / beta / row strides (gemmF32), beta = 0 over a NaN-filled C; every output lies between guard zones
 *   that must stay untouched, and gemmF32's padding columns must keep their values;
 * - the native backend's matmul and its Promise form in-process (Float64Array falls back to the reference);
 * - skinny shapes (large M with N <= 256, K = 64, huge K with a small output, padded rows): the unpacked-A
 *   (direct) micro-kernels and their packed short last panel, on every path;
 * - 1 and 2 threads give bit-identical results, every case on every path (each output is computed by the same kernel sequence whatever
 *   thread runs it);
 * - every argument check: a TypeError or RangeError naming the function and the argument, nothing written.
 *
 * Tolerance, per output: |got - want| <= c (K + 4) EPS32 S + (K + 4) 2^-149, c = 2, EPS32 = 2^-24 (unit
 * roundoff), S = |alpha| sum_k |a_ik b_kj| + |beta c_ij| + |bias_j|, want in float64. Why: a float32 dot
 * product of K terms, FMA or not, in any order, is within gamma_K sum|a b| of the exact one (Higham, 3.1);
 * the driver adds at most 2 roundings per K slice of >= 128 (alpha * partial, + C) and 3 for alpha, beta C
 * and bias, so n <= K + 2 ceil(K / 128) + 3 <= 2 (K + 4) roundings for every K >= 0: c = 2 covers the worst
 * case with gamma_n ~ n u (n u << 1 here); relu is 1-Lipschitz; the 2^-149 term covers subnormal products.
 * The float64 oracle's own error (~K 2^-53 S) is negligible against it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { KTensor, MatMulAttrs } from '../../src/backends/backend.js';
import type { GemmAddon } from '../../src/backends/native/matmul.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { getNumThreads, loadNativeBackend, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { EPS32 } from '../helpers/close.js';
import { Rng, uniformF32 } from '../helpers/random.js';
import { runEval } from './harness.js';

// The view's own bytes: pooled outputs live inside a larger, aligned ArrayBuffer.
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const addon = loadAddon().addon as GemmAddon;
const native = loadNativeBackend().backend!;
const available = nativeInfo()?.available ?? ['scalar'];
const RELU = 1;
const LINEAR = 0;

// ---------------------------------------------------------------------------------------------------------
// Cases: inputs in one Float32Array (shared with the child processes through a file), expectations in float64.

interface Case {
  readonly kind: 'matmul' | 'gemm';
  readonly what: string;
  readonly m: number; readonly n: number; readonly k: number;
  readonly transA: boolean; readonly transB: boolean; readonly act: number;
  readonly batch: number; readonly batchA: number; readonly batchB: number;
  readonly alpha: number; readonly beta: number; readonly lda: number; readonly ldb: number; readonly ldc: number;
  readonly aOff: number; readonly aLen: number; readonly bOff: number; readonly bLen: number;
  readonly biasOff: number; /** -1: no bias */
  readonly cOff: number; /** gemm: initial C at cOff, outLen floats; matmul: -1 */
  readonly outLen: number;
}

const inputs: number[] = [];
const cases: Case[] = [];
let seed = 1000;

function put(values: ArrayLike<number>): number {
  const off = inputs.length;
  for (let i = 0; i < values.length; i++) inputs.push(values[i]);
  return off;
}

function addMatmul(m: number, n: number, k: number, transA: boolean, transB: boolean, bias: boolean, act: number,
  batch = 1, batchA = batch, batchB = batch): void {
  const aLen = batchA * m * k, bLen = batchB * k * n;
  const aOff = put(uniformF32(aLen, seed++));
  const bOff = put(uniformF32(bLen, seed++));
  const biasOff = bias ? put(uniformF32(n, seed++)) : -1;
  const what = `matmul batch=${batch} (a ${batchA}, b ${batchB}) M=${m} N=${n} K=${k} transA=${transA} transB=${transB}` +
    `${bias ? ' bias' : ''}${act === RELU ? ' relu' : ''}`;
  cases.push({ kind: 'matmul', what, m, n, k, transA, transB, act, batch, batchA, batchB, alpha: 1, beta: 0,
    lda: transA ? m : k, ldb: transB ? k : n, ldc: n, aOff, aLen, bOff, bLen, biasOff, cOff: -1, outLen: batch * m * n });
}

// Stored A is m x k (k x m when transA) with row stride lda; likewise B; C is m rows of ldc.
function addGemm(m: number, n: number, k: number, transA: boolean, transB: boolean, pads: [number, number, number],
  alpha: number, beta: number, bias: boolean, act: number): void {
  const [ra, ca] = transA ? [k, m] : [m, k];
  const [rb, cb] = transB ? [n, k] : [k, n];
  // BLAS: a row stride is at least max(1, row length).
  const lda = Math.max(1, ca) + pads[0], ldb = Math.max(1, cb) + pads[1], ldc = Math.max(1, n) + pads[2];
  const extent = (rows: number, cols: number, ld: number): number => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
  const aLen = extent(ra, ca, lda), bLen = extent(rb, cb, ldb), outLen = extent(m, n, ldc);
  const aOff = put(uniformF32(aLen, seed++));
  const bOff = put(uniformF32(bLen, seed++));
  const biasOff = bias ? put(uniformF32(n, seed++)) : -1;
  // beta = 0 must never read C: fill it with NaN then.
  const c0 = beta === 0 ? new Float32Array(outLen).fill(NaN) : uniformF32(outLen, seed++);
  const cOff = put(c0);
  const what = `gemm M=${m} N=${n} K=${k} transA=${transA} transB=${transB} lda=${lda} ldb=${ldb} ldc=${ldc} ` +
    `alpha=${alpha} beta=${beta}${bias ? ' bias' : ''}${act === RELU ? ' relu' : ''}`;
  cases.push({ kind: 'gemm', what, m, n, k, transA, transB, act, batch: 1, batchA: 1, batchB: 1, alpha, beta,
    lda, ldb, ldc, aOff, aLen, bOff, bLen, biasOff, cOff, outLen });
}

// Tile edges of every path (4x4, 6x16, 14x32, 8x12): a 9 x 9 grid of M x N, K and transposes rotating over it.
const DIMS = [1, 2, 7, 13, 31, 33, 65, 100, 257];
const KS = [1, 7, 33, 100, 257, 13, 2, 65, 31];
for (let i = 0; i < DIMS.length; i++) {
  for (let j = 0; j < DIMS.length; j++) {
    const t = (i + j) % 4;
    addMatmul(DIMS[i], DIMS[j], KS[(i + 2 * j) % KS.length], (t & 1) !== 0, (t & 2) !== 0, (i + j) % 3 === 0, (i * j) % 2 === 1 ? RELU : LINEAR);
  }
}
// K = 1 with every transpose; K = 0 leaves bias (or zeros), through relu.
for (let t = 0; t < 4; t++) addMatmul(31 + t * 70, 65 - t * 13, 1, (t & 1) !== 0, (t & 2) !== 0, t % 2 === 0, t >= 2 ? RELU : LINEAR);
addMatmul(13, 33, 0, false, false, true, RELU);
addMatmul(100, 7, 0, true, true, true, LINEAR);
addMatmul(1, 1, 0, false, true, false, LINEAR);
// Several K slices (KC 256) and column blocks (NC from the L2 size): K 1030, N 1100 / 2100.
addMatmul(40, 1100, 1030, false, true, true, RELU);
addMatmul(300, 70, 600, true, false, true, LINEAR);
addMatmul(15, 2100, 513, false, false, false, LINEAR);
// Batch broadcast: a shared, b shared, neither, both; an empty batch.
addMatmul(13, 33, 65, false, false, true, RELU, 3, 1, 3);
addMatmul(13, 33, 65, true, true, false, LINEAR, 3, 3, 1);
addMatmul(7, 31, 100, false, true, true, LINEAR, 4, 4, 4);
addMatmul(33, 13, 7, true, false, false, RELU, 5, 5, 1);
addMatmul(7, 9, 11, false, false, false, LINEAR, 0, 0, 1);
// Many small items (spread over the pool item by item).
addMatmul(33, 31, 65, false, false, true, RELU, 17, 17, 1);
// alpha, beta and row strides through gemmF32.
{
  const rng = new Rng(77);
  const alphas = [1, 0.5, -2];
  const betas = [0, 1, -0.5];
  for (let c = 0; c < 18; c++) {
    const m = rng.pick(DIMS), n = rng.pick(DIMS), k = rng.pick(KS);
    addGemm(Math.min(m, 100), Math.min(n, 100), k, (c & 1) !== 0, (c & 2) !== 0, [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)],
      alphas[c % 3], betas[Math.floor(c / 3) % 3], c % 4 === 1, c % 5 === 2 ? RELU : LINEAR);
  }
  addGemm(130, 300, 700, true, false, [1, 0, 5], -0.75, 0.5, true, RELU);
  // K = 0: c = act(beta c + bias); alpha does not scale the (exactly zero) product, even when NaN.
  addGemm(13, 33, 0, false, false, [0, 0, 3], NaN, -0.5, true, RELU);
  addGemm(7, 40, 0, true, true, [0, 0, 0], 2, 0, false, LINEAR);
}
// Skinny products (the 1x1-conv shapes): large M with few output columns, read from unpacked A rows by the
// direct micro-kernels (M = 1501 leaves a short last panel on every path, and is split over the threads).
for (const [i, n] of [1, 5, 16, 17, 33, 64, 80].entries()) {
  addMatmul(1501, n, i % 2 === 0 ? 256 : 300, false, i % 3 === 1, i % 2 === 1, i % 3 === 2 ? RELU : LINEAR);
}
// K = 64 (backward data), N up to 256; few rows (one panel, a panel and a bit, less than a panel).
addMatmul(1501, 256, 64, false, false, false, LINEAR);
addMatmul(1501, 200, 64, false, true, true, RELU);
addMatmul(14, 64, 256, false, false, true, LINEAR);
addMatmul(15, 33, 100, false, false, false, RELU);
addMatmul(6, 20, 70, false, false, false, LINEAR);
// Huge K with a small M x N output (backward filter), transposed A and not (many K slices).
addMatmul(40, 24, 25088, true, false, false, LINEAR);
addMatmul(33, 64, 12000, true, false, true, RELU);
addMatmul(30, 17, 12000, false, true, false, LINEAR);
// Strided skinny: padded rows (direct), alpha / beta / bias; lda a multiple of 1024 (kept on the packed path).
addGemm(1501, 64, 256, false, false, [3, 0, 5], 0.5, 1, true, RELU);
addGemm(1000, 40, 300, false, true, [17, 2, 0], -1, 0, false, LINEAR);
addGemm(300, 40, 1000, false, false, [24, 0, 0], 1, -0.5, true, LINEAR);
const DATA = Float32Array.from(inputs);

const slice = (off: number, len: number): Float32Array => DATA.slice(off, off + len);
const f64 = (x: Float32Array): Float64Array => Float64Array.from(x);
const absF64 = (x: Float32Array): Float64Array => Float64Array.from(x, Math.abs);

interface Expectation {
  readonly want: Float64Array;
  readonly bound: Float64Array; // S per output (see the header)
  readonly keep?: Float32Array; // gemm: C before the call; where `pad` is 1 (columns >= n) it must stay
  readonly pad?: Uint8Array;
}

function expectMatmul(c: Case): Expectation {
  const aShape = c.transA ? [c.batchA, c.k, c.m] : [c.batchA, c.m, c.k];
  const bShape = c.transB ? [c.batchB, c.n, c.k] : [c.batchB, c.k, c.n];
  const a = slice(c.aOff, c.aLen), b = slice(c.bOff, c.bLen);
  const bias = c.biasOff >= 0 ? slice(c.biasOff, c.n) : undefined;
  const attrs: MatMulAttrs = { transposeA: c.transA, transposeB: c.transB, activation: c.act === RELU ? 'relu' : 'linear' };
  const want = referenceBackend.matmul({ data: f64(a), shape: aShape }, { data: f64(b), shape: bShape }, attrs,
    bias ? { data: f64(bias), shape: [c.n] } : undefined).data;
  const bound = referenceBackend.matmul({ data: absF64(a), shape: aShape }, { data: absF64(b), shape: bShape },
    { transposeA: c.transA, transposeB: c.transB }, bias ? { data: absF64(bias), shape: [c.n] } : undefined).data;
  return { want, bound };
}

function expectGemm(c: Case): Expectation {
  const a = slice(c.aOff, c.aLen), b = slice(c.bOff, c.bLen), c0 = slice(c.cOff, c.outLen);
  const bias = c.biasOff >= 0 ? slice(c.biasOff, c.n) : undefined;
  const want = new Float64Array(c.outLen).fill(NaN);
  const bound = new Float64Array(c.outLen);
  const keep = Float32Array.from(c0);
  const pad = new Uint8Array(c.outLen).fill(1);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      let s = 0, sa = 0;
      for (let p = 0; p < c.k; p++) {
        const x = c.transA ? a[p * c.lda + i] : a[i * c.lda + p];
        const y = c.transB ? b[j * c.ldb + p] : b[p * c.ldb + j];
        s += x * y;
        sa += Math.abs(x * y);
      }
      const o = i * c.ldc + j;
      const cv = c.beta !== 0 ? c.beta * c0[o] : 0;
      let v = (c.k === 0 ? 0 : c.alpha * s) + cv + (bias ? bias[j] : 0);
      if (c.act === RELU && v < 0) v = 0;
      want[o] = v;
      bound[o] = (c.k === 0 ? 0 : Math.abs(c.alpha) * sa) + Math.abs(cv) + (bias ? Math.abs(bias[j]) : 0);
      pad[o] = 0;
    }
  }
  return { want, bound, keep, pad };
}

const expectations: Expectation[] = cases.map((c) => (c.kind === 'matmul' ? expectMatmul(c) : expectGemm(c)));

/** The first problem with `got` for case `ci`, or null. */
function mismatch(ci: number, got: Float32Array): string | null {
  const c = cases[ci];
  const { want, bound, keep, pad } = expectations[ci];
  if (got.length !== c.outLen) return `${c.what}: output length ${got.length}, expected ${c.outLen}`;
  for (let i = 0; i < got.length; i++) {
    if (keep && pad && pad[i] === 1) {
      if (!Object.is(got[i], keep[i])) return `${c.what}: padding element ${i} changed from ${keep[i]} to ${got[i]}`;
      continue;
    }
    const tol = 2 * (c.k + 4) * EPS32 * bound[i] + (c.k + 4) * 2 ** -149;
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      const row = Math.floor((i % (c.m * c.ldc || 1)) / c.ldc), col = i % c.ldc;
      return `${c.what}: element ${i} (batch ${Math.floor(i / (c.m * c.n || 1))}, row ${row}, col ${col}) = ${got[i]}, ` +
        `expected ${want[i]} within ${tol}`;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Every ISA path, each in a fresh process: the child runs every case through the addon into guarded outputs.

const dir = mkdtempSync(join(tmpdir(), 'nodegrad-gemm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'inputs.bin'), new Uint8Array(DATA.buffer, DATA.byteOffset, DATA.byteLength));
// JSON has no NaN / Infinity: spell them as strings (alpha NaN is a case).
writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));

const GUARD = 16;
const SENTINEL = Math.fround(-12345.678);

// CommonJS for `node -e`: reads the cases, writes every output (guards stripped) to out-<isa>.bin.
const CHILD = `
const fs = require('fs');
const path = require('path');
const dir = ${JSON.stringify(dir)};
const addon = require('node-gyp-build')(process.cwd());
const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'), (k, v) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v));
const raw = fs.readFileSync(path.join(dir, 'inputs.bin'));
const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
const view = (off, len) => data.slice(off, off + len);
const G = ${GUARD}, S = ${SENTINEL};
const outs = [];
const guardHits = [];
const threadDiffs = [];
// Every case at 2 threads (the output checked) and at 1 thread, which must give the same bits.
function runCase(c, threads) {
  addon.setNumThreads(threads);
  const whole = new Float32Array(c.outLen + 2 * G).fill(S);
  const out = whole.subarray(G, G + c.outLen);
  const bias = c.biasOff >= 0 ? view(c.biasOff, c.n) : null;
  if (c.kind === 'matmul') {
    addon.matmulF32(view(c.aOff, c.aLen), view(c.bOff, c.bLen), out, c.batch, c.batchA, c.batchB, c.m, c.n, c.k, c.transA, c.transB, bias, c.act);
  } else {
    out.set(view(c.cOff, c.outLen));
    addon.gemmF32(c.transA, c.transB, c.m, c.n, c.k, c.alpha, view(c.aOff, c.aLen), c.lda, view(c.bOff, c.bLen), c.ldb, c.beta, out, c.ldc, bias, c.act);
  }
  for (let i = 0; i < G; i++) if (whole[i] !== S || whole[G + c.outLen + i] !== S) { guardHits.push(c.what + ' threads=' + threads); break; }
  return out;
}
for (const c of cases) {
  const out = runCase(c, 2);
  const one = runCase(c, 1);
  if (!Buffer.from(one.buffer, one.byteOffset, one.byteLength).equals(Buffer.from(out.buffer, out.byteOffset, out.byteLength))) threadDiffs.push(c.what);
  outs.push(out);
}
const total = outs.reduce((s, o) => s + o.length, 0);
const all = new Float32Array(total);
let at = 0;
for (const o of outs) { all.set(o, at); at += o.length; }
const isa = addon.isaInfo().isa;
fs.writeFileSync(path.join(dir, 'out-' + isa + '.bin'), new Uint8Array(all.buffer));
console.log(JSON.stringify({ isa, kernel: addon.isaInfo().kernels.sgemm, guardHits, threadDiffs }));
`;

function readOutputs(isa: string): Float32Array[] {
  const raw = readFileSync(join(dir, `out-${isa}.bin`));
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const outs: Float32Array[] = [];
  let at = 0;
  for (const c of cases) {
    outs.push(all.subarray(at, at + c.outLen));
    at += c.outLen;
  }
  return outs;
}

describe('SGEMM on every ISA path against float64 (fresh process per path)', () => {
  it('sweeps enough cases', () => {
    expect(cases.length).toBeGreaterThan(110);
  });

  for (const isa of available) {
    it(`NODEGRAD_ISA=${isa}: ${cases.length} cases within the K-derived tolerance, nothing written outside`, () => {
      const report = JSON.parse(runEval(CHILD, undefined, isa).split('\n').pop()!) as { isa: string; kernel: string; guardHits: string[]; threadDiffs: string[] };
      expect(report.isa).toBe(isa);
      expect(report.kernel).toMatch(isa === 'scalar' ? /^ng_sgemm_ukernel_\d+x\d+_ref$/ : new RegExp(`^ng_sgemm_ukernel_\\d+x\\d+_${isa}$`));
      expect(report.guardHits).toEqual([]);
      expect(report.threadDiffs).toEqual([]);
      const outs = readOutputs(isa);
      const problems = outs.map((o, i) => mismatch(i, o)).filter((p): p is string => p !== null);
      expect(problems).toEqual([]);
    }, 120_000);
  }
});

// ---------------------------------------------------------------------------------------------------------
// The backend entries in-process (default path).

const tensor = (c: Case, which: 'a' | 'b'): KTensor<Float32Array> => which === 'a'
  ? { data: slice(c.aOff, c.aLen), shape: c.transA ? [c.batchA, c.k, c.m] : [c.batchA, c.m, c.k] }
  : { data: slice(c.bOff, c.bLen), shape: c.transB ? [c.batchB, c.n, c.k] : [c.batchB, c.k, c.n] };
const attrsOf = (c: Case): MatMulAttrs => ({ transposeA: c.transA, transposeB: c.transB, activation: c.act === RELU ? 'relu' : 'linear' });
const biasOf = (c: Case): KTensor<Float32Array> | undefined => (c.biasOff >= 0 ? { data: slice(c.biasOff, c.n), shape: [c.n] } : undefined);
const matmulCases = cases.map((c, i) => [c, i] as const).filter(([c]) => c.kind === 'matmul');

describe('native backend matmul', () => {
  it('is the addon\'s, and matches float64 over the sweep', () => {
    expect(native.matmul).not.toBe(referenceBackend.matmul);
    for (const [c, i] of matmulCases) {
      const r = native.matmul(tensor(c, 'a'), tensor(c, 'b'), attrsOf(c), biasOf(c));
      expect(r.shape).toEqual([c.batch, c.m, c.n]);
      expect(r.data).toBeInstanceOf(Float32Array);
      expect(mismatch(i, r.data)).toBeNull();
    }
  });

  it('the Promise form gives the same bits as the synchronous one', async () => {
    const matmulAsync = native.async?.matmul;
    expect(matmulAsync).toBeTypeOf('function');
    const picked = matmulCases.filter((_, j) => j % 7 === 0);
    const results = await Promise.all(picked.map(([c]) => matmulAsync!(tensor(c, 'a'), tensor(c, 'b'), attrsOf(c), biasOf(c))));
    picked.forEach(([c], j) => {
      const sync = native.matmul(tensor(c, 'a'), tensor(c, 'b'), attrsOf(c), biasOf(c));
      expect(results[j].shape).toEqual(sync.shape);
      expect(bytes(results[j].data).equals(bytes(sync.data))).toBe(true);
    });
  });

  it('float64 inputs run on the reference (exactly its result)', async () => {
    const c = matmulCases[10][0];
    const a = { data: f64(tensor(c, 'a').data), shape: tensor(c, 'a').shape };
    const b = { data: f64(tensor(c, 'b').data), shape: tensor(c, 'b').shape };
    const want = referenceBackend.matmul(a, b, attrsOf(c));
    expect(native.matmul(a, b, attrsOf(c))).toEqual(want);
    expect(await native.async!.matmul!(a, b, attrsOf(c))).toEqual(want);
  });

  it('propagates NaN and Inf, and relu passes NaN through', () => {
    const a = new Float32Array(3 * 4).fill(1);
    a[4] = NaN; // row 1
    const b = new Float32Array(4 * 2).fill(-1);
    const bias = Float32Array.from([4, 0]);
    const out = new Float32Array(6);
    addon.matmulF32(a, b, out, 1, 1, 1, 3, 2, 4, false, false, bias, RELU);
    expect(Array.from(out)).toEqual([0, 0, NaN, NaN, 0, 0]);
    // Sums start at +0, as the reference's: 0 * -1 + (-0) is +0, and relu of a negative sum is +0.
    const z = new Float32Array(2);
    addon.matmulF32(Float32Array.from([0, 1]), Float32Array.from([-1, -1, 0, -3]), z, 1, 1, 1, 1, 2, 2, false, false, Float32Array.from([-0, -0]), RELU);
    expect(Object.is(z[0], 0) && Object.is(z[1], 0)).toBe(true);
    const inf = new Float32Array(2);
    addon.matmulF32(Float32Array.from([Infinity]), Float32Array.from([1, -1]), inf, 1, 1, 1, 1, 2, 1, false, false, null, LINEAR);
    expect(Array.from(inf)).toEqual([Infinity, -Infinity]);
  });

  it('batch with both operands broadcast repeats the one product', () => {
    const a = uniformF32(13 * 7, 3), b = uniformF32(7 * 33, 4), one = new Float32Array(13 * 33), five = new Float32Array(5 * 13 * 33);
    addon.matmulF32(a, b, one, 1, 1, 1, 13, 33, 7, false, false, null, LINEAR);
    addon.matmulF32(a, b, five, 5, 1, 1, 13, 33, 7, false, false, null, LINEAR);
    for (let t = 0; t < 5; t++) expect(Array.from(five.subarray(t * 13 * 33, (t + 1) * 13 * 33))).toEqual(Array.from(one));
  });

  it('reports its micro-kernel', () => {
    const isa = nativeInfo()!.isa;
    expect(nativeInfo()!.kernels.sgemm).toMatch(isa === 'scalar' ? /_ref$/ : new RegExp(`_${isa}$`));
  });
});

describe('threads', () => {
  const before = getNumThreads();
  afterEach(() => setNumThreads(before));

  // Large enough for the pool: one product split over it (11.6M multiply-adds), and 24 small ones spread item by
  // item (296K each, 7.1M in all).
  const big = { m: 203, n: 190, k: 301 };
  const A = uniformF32(big.m * big.k, 5), B = uniformF32(big.k * big.n, 6), bias = uniformF32(big.n, 7);
  const smallA = uniformF32(24 * 64 * 70, 8), smallB = uniformF32(70 * 66, 9);

  function runAll(): Float32Array[] {
    const o1 = new Float32Array(big.m * big.n);
    addon.matmulF32(A, B, o1, 1, 1, 1, big.m, big.n, big.k, false, false, bias, RELU);
    const o2 = new Float32Array(big.m * big.n);
    addon.matmulF32(A, B, o2, 1, 1, 1, big.m, big.n, big.k, true, true, null, LINEAR);
    const o3 = new Float32Array(24 * 64 * 66);
    addon.matmulF32(smallA, smallB, o3, 24, 24, 1, 64, 66, 70, false, false, null, LINEAR);
    return [o1, o2, o3];
  }

  it('1 and 2 threads give bit-identical results', () => {
    setNumThreads(1);
    const one = runAll();
    setNumThreads(2);
    const two = runAll();
    for (let i = 0; i < one.length; i++) expect(Buffer.from(two[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
    // ...and a repeat at 2 threads as well (dynamic task order must not matter).
    const again = runAll();
    for (let i = 0; i < one.length; i++) expect(Buffer.from(again[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Argument checks.

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

// A valid matmulF32 call (2x3 @ 3x4) whose arguments the tests replace one at a time.
function matmulArgs(): unknown[] {
  return [f32(6), f32(12), f32(8, 7), 1, 1, 1, 2, 4, 3, false, false, null, 0];
}
const MATMUL_NAMES = ['a', 'b', 'out', 'batch', 'batchA', 'batchB', 'm', 'n', 'k', 'transA', 'transB', 'bias', 'activation'];
function gemmArgs(): unknown[] {
  return [false, false, 2, 4, 3, 1, f32(6), 3, f32(12), 4, 0, f32(8, 7), 4, null, 0];
}

type Fn = 'matmulF32' | 'matmulF32Async' | 'gemmF32';
function call(fn: Fn, args: unknown[]): unknown {
  return (addon[fn] as (...a: unknown[]) => unknown)(...args);
}
/** A RegExp matching `text` literally at the end of the message. */
function exact(text: string): RegExp {
  return new RegExp(`${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
function withArg(base: unknown[], index: number, value: unknown): unknown[] {
  const args = [...base];
  args[index] = value;
  return args;
}

// Throws synchronously (also for the Promise form: arguments are checked before anything is queued), with the
// message naming the function and the argument, and leaves the output untouched.
function expectRejected(fn: Fn, args: unknown[], type: typeof TypeError | typeof RangeError, message: RegExp): void {
  const out = args[fn === 'gemmF32' ? 11 : 2];
  // (A detached array has length 0 and cannot be copied.)
  const before = out instanceof Float32Array && out.length > 0 ? Float32Array.from(out) : undefined;
  let thrown: unknown;
  try {
    call(fn, args);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(type);
  expect((thrown as Error).message).toMatch(new RegExp(`^${fn}: `));
  expect((thrown as Error).message).toMatch(message);
  if (before && out instanceof Float32Array && out.length === before.length && !Number.isNaN(before[0])) {
    expect(Array.from(out)).toEqual(Array.from(before));
  }
}

// After every rejected call the addon still works.
afterEach(() => {
  const out = new Float32Array(1);
  addon.matmulF32(Float32Array.from([2]), Float32Array.from([3]), out, 1, 1, 1, 1, 1, 1, false, false, null, 0);
  expect(out[0]).toBe(6);
});

describe.each(['matmulF32', 'matmulF32Async'] as const)('%s argument checks', (fn) => {
  it('argument count', () => {
    for (const n of [0, 12, 14]) {
      expectRejected(fn, [...matmulArgs(), 0].slice(0, n), TypeError, /expected 13 arguments \(a, b, out, batch/);
    }
  });

  it.each([0, 1, 2])('array argument %i: wrong types, SharedArrayBuffer, detached', (index) => {
    const name = MATMUL_NAMES[index];
    for (const bad of [new Float64Array(12), [1, 2, 3], null, undefined, 3, new DataView(new ArrayBuffer(8))]) {
      expectRejected(fn, withArg(matmulArgs(), index, bad), TypeError, new RegExp(`argument '${name}' must be a Float32Array`));
    }
    expectRejected(fn, withArg(matmulArgs(), index, shared(12)), TypeError, new RegExp(`argument '${name}' is backed by a SharedArrayBuffer`));
    expectRejected(fn, withArg(matmulArgs(), index, detached(12)), TypeError, new RegExp(`argument '${name}' is backed by a detached ArrayBuffer`));
  });

  it.each([3, 4, 5, 6, 7, 8])('size argument %i: not a number -> TypeError; negative, fractional, huge -> RangeError', (index) => {
    const name = MATMUL_NAMES[index];
    const expected = `argument '${name}' must be an integer in [0, 9007199254740991], got `;
    for (const [bad, got] of [['2', 'string'], [null, 'null'], [undefined, 'undefined'], [2n, 'bigint'], [{}, 'object'], [true, 'boolean']] as [unknown, string][]) {
      expectRejected(fn, withArg(matmulArgs(), index, bad), TypeError, exact(expected + got));
    }
    for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 1e300]) {
      expectRejected(fn, withArg(matmulArgs(), index, bad), RangeError, exact(expected + String(bad)));
    }
  });

  it('batchA / batchB must be batch or 1', () => {
    const args = matmulArgs();
    args[2] = f32(3 * 8);
    args[3] = 3;
    expectRejected(fn, withArg(withArg(args, 0, f32(12)), 4, 2), RangeError, /argument 'batchA' must equal batch \(3\) or be 1/);
    expectRejected(fn, withArg(withArg(args, 1, f32(24)), 5, 2), RangeError, /argument 'batchB' must equal batch \(3\) or be 1/);
  });

  it('transA / transB must be booleans', () => {
    for (const index of [9, 10]) {
      for (const bad of [0, 1, 'true', null, undefined]) {
        expectRejected(fn, withArg(matmulArgs(), index, bad), TypeError, new RegExp(`argument '${MATMUL_NAMES[index]}' must be a boolean`));
      }
    }
  });

  it('bias: null, undefined or a Float32Array of length n', () => {
    expectRejected(fn, withArg(matmulArgs(), 11, new Float64Array(4)), TypeError, /argument 'bias' must be a Float32Array/);
    expectRejected(fn, withArg(matmulArgs(), 11, shared(4)), TypeError, /argument 'bias' is backed by a SharedArrayBuffer/);
    expectRejected(fn, withArg(matmulArgs(), 11, detached(4)), TypeError, /argument 'bias' is backed by a detached ArrayBuffer/);
    expectRejected(fn, withArg(matmulArgs(), 11, f32(3)), RangeError, /argument 'bias' has length 3 but n is 4/);
    expectRejected(fn, withArg(matmulArgs(), 11, f32(5)), RangeError, /argument 'bias' has length 5 but n is 4/);
  });

  it('activation must be a code', () => {
    const expected = "argument 'activation' must be an integer in [0, 1] (0 linear, 1 relu), got ";
    for (const bad of [-1, 2, 0.5, NaN]) expectRejected(fn, withArg(matmulArgs(), 12, bad), RangeError, exact(expected + String(bad)));
    for (const [bad, got] of [['relu', 'string'], [null, 'null']] as [unknown, string][]) expectRejected(fn, withArg(matmulArgs(), 12, bad), TypeError, exact(expected + got));
  });

  it('lengths must match the dims', () => {
    expectRejected(fn, withArg(matmulArgs(), 0, f32(5)), RangeError, /argument 'a' has length 5 but batchA \* m \* k is 6/);
    expectRejected(fn, withArg(matmulArgs(), 0, f32(7)), RangeError, /argument 'a' has length 7 but batchA \* m \* k is 6/);
    expectRejected(fn, withArg(matmulArgs(), 1, f32(11)), RangeError, /argument 'b' has length 11 but batchB \* k \* n is 12/);
    expectRejected(fn, withArg(matmulArgs(), 2, f32(9)), RangeError, /argument 'out' has length 9 but batch \* m \* n is 8/);
    expectRejected(fn, withArg(matmulArgs(), 2, f32(0)), RangeError, /argument 'out' has length 0 but batch \* m \* n is 8/);
    // Transposes do not change the lengths, dims do: m and k swapped is caught by b.
    expectRejected(fn, withArg(withArg(matmulArgs(), 6, 3), 8, 2), RangeError, /argument 'b' has length 12 but batchB \* k \* n is 8/);
  });

  it('products that overflow are RangeErrors, not wrapped lengths', () => {
    const args = withArg(withArg(withArg(matmulArgs(), 6, 2 ** 40), 8, 2 ** 40), 7, 1);
    expectRejected(fn, args, RangeError, /m \* k overflows/);
    // batch * m * n = 2^52 * 2^11 * 4 overflows 64 bits (checked before any length is compared).
    const big = withArg(withArg(withArg(matmulArgs(), 3, 2 ** 52), 6, 2 ** 11), 7, 4);
    expectRejected(fn, big, RangeError, /batch \* m \* n overflows/);
    // 2^31 * 2^31 wraps to 0 in 64 bits times 4 bytes: still refused.
    const wrap = withArg(withArg(withArg(withArg(matmulArgs(), 6, 2 ** 31), 7, 2 ** 31), 8, 0), 0, f32(0));
    expectRejected(fn, withArg(wrap, 1, f32(0)), RangeError, /m \* n overflows/);
  });

  it('out must not overlap a, b or bias', () => {
    const buf = new Float32Array(64);
    const a = buf.subarray(0, 6);
    expectRejected(fn, withArg(withArg(matmulArgs(), 0, a), 2, buf.subarray(4, 12)), RangeError, /argument 'out' overlaps 'a'/);
    const b = buf.subarray(20, 32);
    expectRejected(fn, withArg(withArg(matmulArgs(), 1, b), 2, buf.subarray(30, 38)), RangeError, /argument 'out' overlaps 'b'/);
    const out = buf.subarray(40, 48);
    expectRejected(fn, withArg(withArg(matmulArgs(), 2, out), 11, buf.subarray(44, 48)), RangeError, /argument 'out' overlaps 'bias'/);
    // a and b may share memory (both are only read).
    const ab = f32(12, 2);
    const o = new Float32Array(8);
    call('matmulF32', [ab.subarray(0, 6), ab, o, 1, 1, 1, 2, 4, 3, false, false, null, 0]);
    expect(Array.from(o)).toEqual(new Array(8).fill(12));
  });
});

describe('gemmF32 argument checks', () => {
  it('argument count', () => {
    expectRejected('gemmF32', gemmArgs().slice(0, 14), TypeError, /expected 15 arguments \(transA, transB, m, n, k, alpha/);
  });

  it('types', () => {
    expectRejected('gemmF32', withArg(gemmArgs(), 0, 1), TypeError, /argument 'transA' must be a boolean/);
    expectRejected('gemmF32', withArg(gemmArgs(), 5, '1'), TypeError, /argument 'alpha' must be a number/);
    expectRejected('gemmF32', withArg(gemmArgs(), 10, null), TypeError, /argument 'beta' must be a number/);
    expectRejected('gemmF32', withArg(gemmArgs(), 6, new Float64Array(6)), TypeError, /argument 'a' must be a Float32Array/);
    expectRejected('gemmF32', withArg(gemmArgs(), 11, shared(8)), TypeError, /argument 'c' is backed by a SharedArrayBuffer/);
    expectRejected('gemmF32', withArg(gemmArgs(), 8, detached(12)), TypeError, /argument 'b' is backed by a detached ArrayBuffer/);
    expectRejected('gemmF32', withArg(gemmArgs(), 7, -3), RangeError, exact("argument 'lda' must be an integer in [0, 9007199254740991], got -3"));
    expectRejected('gemmF32', withArg(gemmArgs(), 14, 7), RangeError, exact("argument 'activation' must be an integer in [0, 1] (0 linear, 1 relu), got 7"));
  });

  it('row strides and extents', () => {
    expectRejected('gemmF32', withArg(gemmArgs(), 7, 2), RangeError, /argument 'lda' is 2 but must be at least 3/);
    expectRejected('gemmF32', withArg(gemmArgs(), 9, 3), RangeError, /argument 'ldb' is 3 but must be at least 4/);
    expectRejected('gemmF32', withArg(gemmArgs(), 12, 0), RangeError, /argument 'ldc' is 0 but must be at least 4/);
    // lda 5 needs (2 - 1) * 5 + 3 = 8 floats of a.
    expectRejected('gemmF32', withArg(gemmArgs(), 7, 5), RangeError, /argument 'a' has length 6 but its 2 x 3 matrix with row stride 5 needs 8/);
    // transA: A is stored k x m = 3 x 2.
    // transA: A is stored k x m = 3 x 2, so lda 3 needs (3 - 1) * 3 + 2 = 8 floats; lda 2 fits the 6 given.
    expectRejected('gemmF32', withArg(gemmArgs(), 0, true), RangeError, /argument 'a' has length 6 but its 3 x 2 matrix with row stride 3 needs 8/);
    const c = f32(8, 7);
    call('gemmF32', withArg(withArg(withArg(gemmArgs(), 0, true), 7, 2), 11, c));
    expect(Array.from(c)).toEqual(new Array(8).fill(3));
    expectRejected('gemmF32', withArg(gemmArgs(), 11, f32(7)), RangeError, /argument 'c' has length 7 but its 2 x 4 matrix with row stride 4 needs 8/);
    expectRejected('gemmF32', withArg(withArg(gemmArgs(), 2, 2 ** 40), 7, 2 ** 40), RangeError, /overflows|argument 'a' has length/);
    expectRejected('gemmF32', withArg(gemmArgs(), 13, f32(3)), RangeError, /argument 'bias' has length 3 but n is 4/);
  });

  it('c must not overlap a, b or bias', () => {
    const buf = new Float32Array(40);
    expectRejected('gemmF32', withArg(withArg(gemmArgs(), 6, buf.subarray(0, 6)), 11, buf.subarray(5, 13)), RangeError, /argument 'c' overlaps 'a'/);
    expectRejected('gemmF32', withArg(withArg(gemmArgs(), 8, buf.subarray(0, 12)), 11, buf.subarray(11, 19)), RangeError, /argument 'c' overlaps 'b'/);
    expectRejected('gemmF32', withArg(withArg(gemmArgs(), 13, buf.subarray(20, 24)), 11, buf.subarray(16, 24)), RangeError, /argument 'c' overlaps 'bias'/);
  });
});

describe('matmulF32Async', () => {
  it('resolves with out, after the kernel has written it', async () => {
    const out = new Float32Array(4);
    const p = addon.matmulF32Async(Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([1, 0, 0, 1, 1, 1]), out,
      1, 1, 1, 2, 2, 3, false, false, Float32Array.from([-10, 1]), RELU);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(out);
    expect(Array.from(out)).toEqual([0, 6, 0, 12]);
  });

  it('many calls in flight at once, their arrays otherwise unreferenced, all settle correctly', async () => {
    const n = 96;
    const want = new Float32Array(n * n).fill(n * 0.5);
    const pending: Promise<Float32Array>[] = [];
    for (let i = 0; i < 12; i++) {
      pending.push(addon.matmulF32Async(f32(n * n, 0.5), f32(n * n, 1), new Float32Array(n * n), 1, 1, 1, n, n, n, false, i % 2 === 1, null, LINEAR));
    }
    (globalThis as { gc?: () => void }).gc?.();
    for (const out of await Promise.all(pending)) expect(Buffer.from(out.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });
});
