/**
 * The optional CUDA backend (native/cuda, src/backends/cuda).
 *
 * Always: the loader never throws and says why CUDA is unavailable (not built, no driver or device, disabled),
 * once. When nodegrad_cuda.node is built (build-cuda/, `npm run build:cuda`), even without a GPU: the addon
 * loads, probe() reports the missing device, and every entry rejects bad arguments with a TypeError / RangeError
 * naming the entry and the argument before anything reaches the driver.
 *
 * With a GPU: buffers (round trips, free, use after free, dtype and length checks, memory accounting) and
 * property tests of every kernel against the reference backend, through cudaHostKernels (upload, run, download),
 * with tolerances derived from how each CUDA kernel computes (native/cuda/include/ngcuda/*.h), u = 2^-24:
 * - matmul, conv2d and its gradients: float32 dot products of T terms in any order, fused or not:
 *   sumBound(T, S, ref) with S the same kernel on |inputs| in float64 (Higham 3.1), as test/props.
 * - maxPool2d, globalPool2d max and both global backward passes, binary: exact (the same float operations or
 *   selections as the reference, which rounds a double result of one operation: the correctly rounded float);
 *   binary pow and atan2 (a double libm call rounded once on either side, both within 3 double ulps of the truth):
 *   at most 1 ulp apart.
 * - avgPool2d: a float sum of at most KH*KW terms and a division: sumBound(KH*KW + 1, mean|x|, ref); its gradient
 *   and maxPool2dBackward: float sums of at most W = ceil(KH/SH) ceil(KW/SW) terms (products for avg):
 *   sumBound(2W + 1, S, ref), S the reference on |dy|.
 * - unary and unaryGrad: both sides evaluate the reference's formula in double and round once: at most 2 ulps
 *   apart (1 from each side's double libm reaching past a rounding midpoint).
 * - reduce sum/mean: a double sum rounded to float per run of contiguous axes: sumBound(runs + 1, sum|x|, ref);
 *   max/min: exact; prod: a double product rounded to float per run, below.
 * - softmax family, batch norm: the bounds are derived where they are used, below.
 * - adamUpdate / sgdUpdate: the JS loops' double formulas, bit for bit; under a NaN or infinite probe nothing changes.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import type { Backend, BatchNormAttrs, BinaryOp, Conv2DAttrs, KTensor, MatMulAttrs, Pool2DAttrs, UnaryGradOp, UnaryOp } from '../../src/backends/backend.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { CudaAddon } from '../../src/backends/cuda/index.js';
import { cudaAddonCandidates, cudaAvailable, cudaUnavailableMessage, loadCuda, warnCudaUnavailable } from '../../src/backends/cuda/index.js';
import { cudaDeviceKernels, cudaHostKernels, download, release, upload } from '../../src/backends/cuda/kernels.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { compareTensors, sumBound, ulpDistance32 } from '../helpers/backends.js';
import { cpuAddonForFake, createFakeCuda } from '../helpers/fake-cuda.js';
import type { Tol } from '../helpers/backends.js';
import {
  abs64, batchArb, channelsArb, f32data, fc, fmt, i32data, kDimArb, lazy, lengthArb, seedArb, shapeArb, sizeOf, spatialArb, tf, ti,
  tileDimArb,
} from '../props/arb.js';

const u = 2 ** -24;
const SUB = 2 ** -149;
const load = loadCuda();
const builtPath = cudaAddonCandidates().find((p) => existsSync(p));
const gpu = load.addon !== null;
if (!gpu) console.log(`test/cuda: GPU property tests skipped: ${load.reason}`);
if (!builtPath) console.log('test/cuda: addon argument checks skipped: nodegrad_cuda.node is not built (npm run build:cuda)');

afterAll(() => {
  loadCuda({ reload: true }); // leave the cache as the environment says, whatever a test changed
});

describe('CUDA loader', () => {
  it('never throws, and gives the addon with its device or null with a reason', () => {
    const l = loadCuda();
    expect(cudaAvailable()).toBe(l.addon !== null);
    if (l.addon) {
      expect(l.device?.name).toBeTypeOf('string');
      expect(cudaUnavailableMessage()).toBeUndefined();
    } else {
      expect(l.reason).toMatch(/\S/);
      expect(cudaUnavailableMessage()).toBe(`nodegrad: CUDA backend not available (${l.reason}); using the CPU backend`);
    }
  });

  it('says it once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const first = warnCudaUnavailable();
      const second = warnCudaUnavailable();
      expect(first).toBe(gpu);
      expect(second).toBe(gpu);
      expect(warn.mock.calls.length).toBe(gpu ? 0 : 1);
      if (!gpu) expect(String(warn.mock.calls[0][0])).toMatch(/^nodegrad: CUDA backend not available \(.+\); using the CPU backend$/);
    } finally {
      warn.mockRestore();
    }
  });

  it('NODEGRAD_CUDA=0 turns it off; a missing or broken NODEGRAD_CUDA_ADDON is a reason, not a crash', () => {
    const saved = { cuda: process.env.NODEGRAD_CUDA, addon: process.env.NODEGRAD_CUDA_ADDON };
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-cuda-'));
    try {
      process.env.NODEGRAD_CUDA = '0';
      expect(loadCuda({ reload: true })).toEqual({ addon: null, reason: 'disabled by NODEGRAD_CUDA=0' });
      delete process.env.NODEGRAD_CUDA;
      process.env.NODEGRAD_CUDA_ADDON = join(dir, 'missing.node');
      const missing = loadCuda({ reload: true });
      expect(missing.addon).toBeNull();
      expect(missing.reason).toContain('does not exist');
      const broken = join(dir, 'broken.node');
      writeFileSync(broken, 'not a shared object');
      process.env.NODEGRAD_CUDA_ADDON = broken;
      const bad = loadCuda({ reload: true });
      expect(bad.addon).toBeNull();
      expect(bad.reason).toContain('did not load');
    } finally {
      if (saved.cuda === undefined) delete process.env.NODEGRAD_CUDA; else process.env.NODEGRAD_CUDA = saved.cuda;
      if (saved.addon === undefined) delete process.env.NODEGRAD_CUDA_ADDON; else process.env.NODEGRAD_CUDA_ADDON = saved.addon;
      loadCuda({ reload: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The N-API boundary, with or without a device.

describe.skipIf(!builtPath)('CUDA addon: argument checks (no GPU needed)', () => {
  const raw = builtPath ? (createRequire(import.meta.url)(builtPath) as CudaAddon) : undefined;
  const a = raw as CudaAddon;
  const any = a as unknown as Record<string, (...args: unknown[]) => unknown>;

  it('loads, and probe() reports the device or why there is none, without throwing', () => {
    const p = a.probe();
    if (p.ok) expect(p.device.architectures).toMatch(/\d/);
    else expect(p.reason).toMatch(/nodegrad CUDA init: /);
    expect(a.tf32()).toBe(process.env.NODEGRAD_CUDA_TF32 === '1');
  });

  it('without a device, the first call that needs one throws an Error naming the entry, code ERR_NODEGRAD_CUDA', () => {
    if (a.probe().ok) return;
    let err: unknown;
    try {
      a.alloc(4, 0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/^alloc: nodegrad CUDA init: /);
    expect((err as { code?: string }).code).toBe('ERR_NODEGRAD_CUDA');
    expect(() => a.synchronize()).toThrow(/^synchronize: nodegrad CUDA init: /);
  });

  it('rejects bad arguments before touching the device', () => {
    expect(() => any.alloc(4)).toThrow(new TypeError('alloc: expected 2 arguments (length, dtype), got 1'));
    expect(() => a.alloc(-1, 0)).toThrow(RangeError);
    expect(() => a.alloc(-1, 0)).toThrow(/alloc: argument 'length' must be an integer in \[0, \d+\], got -1/);
    expect(() => a.alloc(1.5, 0)).toThrow(RangeError);
    expect(() => any.alloc('4', 0)).toThrow(TypeError);
    expect(() => a.alloc(4, 2)).toThrow(/alloc: argument 'dtype' must be an integer in \[0, 1\] \(0 float32, 1 int32\), got 2/);
    expect(() => any.free({})).toThrow(new TypeError("free: argument 'buffer' must be a CUDA buffer (from alloc), got object"));
    expect(() => any.bufferInfo(1)).toThrow(/bufferInfo: argument 'buffer' must be a CUDA buffer \(from alloc\), got number/);
    expect(() => any.upload(new Float32Array(1), new Float32Array(1))).toThrow(
      new TypeError("upload: argument 'buffer' must be a CUDA buffer (from alloc), got Float32Array"));
    const f = new Float32Array(4);
    expect(() => any.matmulF32(f, f, f, 1, 1, 1, 2, 2, 1, false, false, null, 0)).toThrow(
      new TypeError("matmulF32: argument 'a' must be a CUDA buffer (from alloc), got Float32Array"));
    expect(() => any.matmulF32()).toThrow(/^matmulF32: expected 13 arguments \(a, b, out, batch, batchA, batchB, m, n, k, transA, transB, bias, activation\), got 0$/);
    expect(() => any.conv2dF32(f)).toThrow(/^conv2dF32: expected 23 arguments \(x, w, bias, out, n, h, width, cin, kh, kw, cout, oh, ow, strideH, strideW, dilH, dilW, padTop, padBottom, padLeft, padRight, groups, activation\), got 1$/);
    expect(() => any.batchNormTrainF32(null, null, null, 1e-3, null, null, null)).toThrow(/batchNormTrainF32: argument 'x' must be a CUDA buffer/);
    expect(() => any.adamUpdateF32(1, 2, 3, 4, null, 0, 0, 0, 0, 1, null)).toThrow(/adamUpdateF32: argument 'w' must be a CUDA buffer \(from alloc\), got number/);
    expect(() => any.adamUpdateF32(1, 2, 3, 4, null, 0, 0, 0, 0, 1)).toThrow(/^adamUpdateF32: expected 11 arguments \(w, g, m, v, vHat, alpha, c1, c2, epsilon, keep, probe\), got 10$/);
    expect(() => any.sgdUpdateF32(1, 2, null, 0, 0, false, 1)).toThrow(/^sgdUpdateF32: expected 8 arguments \(w, g, velocity, learningRate, momentum, nesterov, keep, probe\), got 7$/);
    expect(() => any.setTf32('yes')).toThrow(new TypeError("setTf32: argument 'on' must be a boolean, got string"));
    // Only Externals this addon made (type-tagged) are buffers; anything else is refused by type.
    expect(() => any.free(() => 0)).toThrow(/got function/);
    expect(a.dtypeCodes).toEqual({ float32: 0, int32: 1 });
    expect(a.unaryOpCodes.relu).toBe(0);
    expect(a.reduceOpCodes).toEqual({ sum: 0, mean: 1, max: 2, min: 3, prod: 4 });
    expect(() => any.binaryBroadcastF32(0, f, f, f, [4], [1], [1])).toThrow(/^binaryBroadcastF32: argument 'a' must be a CUDA buffer/);
    expect(() => any.binaryBroadcastF32(11, f, f, f, [4], [1], [1])).toThrow(
      /^binaryBroadcastF32: argument 'opCode' must be an integer in \[0, 10\] \(0 add, .*10 squaredDifference\), got 11$/);
    expect(() => any.softmaxF32(f, f, 1, 4)).toThrow(new TypeError('softmaxF32: expected 5 arguments (x, y, outer, len, inner), got 4'));
    // The fake addon of test/cuda/*-device.test.ts has the same op codes (where the CPU addon it runs on is built).
    if (cpuAddonForFake().addon) {
      const fake = createFakeCuda();
      for (const k of ['binaryOpCodes', 'unaryOpCodes', 'unaryGradOpCodes', 'reduceOpCodes'] as const) expect(fake[k], k).toEqual(a[k]);
    }
  });

  it('the movement, selection and dropout entries check their argument counts and buffers first', () => {
    const f = new Float32Array(4);
    expect(() => any.stridedCopy()).toThrow(
      new TypeError('stridedCopy: expected 9 arguments (x, out, outShape, inDims, inStrides, offsets, steps, mode, fill), got 0'));
    expect(() => any.stridedCopy(f, f, [4], [4], [1], [0], [1], 0, 0)).toThrow(
      new TypeError("stridedCopy: argument 'x' must be a CUDA buffer (from alloc), got Float32Array"));
    expect(() => any.concatCopy(1, 2, 1, 1, 1, 0)).toThrow(/^concatCopy: argument 'x' must be a CUDA buffer \(from alloc\), got number$/);
    expect(() => any.gather(null, null, null, 1, 1, 1)).toThrow(/^gather: argument 'x' must be a CUDA buffer/);
    expect(() => any.oneHotF32(f)).toThrow(/^oneHotF32: expected 5 arguments \(indices, out, depth, onValue, offValue\), got 1$/);
    expect(() => any.scatterAddF32(f)).toThrow(/^scatterAddF32: expected 6 arguments \(g, indices, out, outer, dim, inner\), got 1$/);
    expect(() => any.scatterAddF32(null, null, null, 1, 1, 1)).toThrow(/^scatterAddF32: argument 'g' must be a CUDA buffer/);
    // No checking kernel ran: nothing to take, and the device is not touched (none may be there).
    expect(a.takeIndexError()).toBeNull();
    expect(() => any.compare(0, f, f, f, [4], [1], [1])).toThrow(/^compare: argument 'a' must be a CUDA buffer/);
    expect(() => any.compare(8, f, f, f, [4], [1], [1])).toThrow(/^compare: argument 'opCode' must be an integer in \[0, 7\] \(0 equal, .*7 logicalOr\), got 8$/);
    expect(() => any.where(f, f, f, f, [4], [1], [1], [1])).toThrow(/^where: argument 'cond' must be a CUDA buffer/);
    expect(() => any.clip(f, f, 0, 1)).toThrow(/^clip: argument 'x' must be a CUDA buffer/);
    expect(() => any.cast(f)).toThrow(new TypeError('cast: expected 2 arguments (x, out), got 1'));
    expect(() => any.argReduce(2, f, f, 1, 1, 1)).toThrow(/^argReduce: argument 'opCode' must be an integer in \[0, 1\] \(0 argMax, 1 argMin\), got 2$/);
    expect(() => any.dropoutF32(f, f, f, 0.5, 1)).toThrow(/^dropoutF32: argument 'x' must be a CUDA buffer/);
    expect(a.copyModeCodes).toEqual({ inRange: 0, constant: 1, reflect: 2, symmetric: 3 });
    expect(a.compareOpCodes).toEqual({ equal: 0, notEqual: 1, less: 2, lessEqual: 3, greater: 4, greaterEqual: 5, logicalAnd: 6, logicalOr: 7 });
    expect(a.argReduceOpCodes).toEqual({ argMax: 0, argMin: 1 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// On a GPU.

const addon = load.addon as CudaAddon;
const cuda: Backend = gpu ? ({ ...referenceBackend, ...cudaHostKernels(addon), name: 'cuda' } as Backend) : referenceBackend;
const ref = referenceBackend;
const runs = (n: number): { numRuns: number; seed?: number } => {
  const seed = process.env.NODEGRAD_PROPS_SEED;
  return seed ? { numRuns: n, seed: Number(seed) } : { numRuns: n };
};

// Checks cuda against the reference under `tol` for every named output, and that the inputs are unchanged.
function check(what: string, run: (b: Backend) => Record<string, KTensor>, tol: Tol | Record<string, Tol>, inputs: KTensor[] = []): void {
  const before = inputs.map((t) => t.data.slice());
  const got = run(cuda);
  const want = run(ref);
  for (const name of Object.keys(want)) {
    const t = typeof tol === 'object' ? (tol as Record<string, Tol>)[name] : tol;
    compareTensors(got[name], want[name], t, `${what} (${name})`);
  }
  inputs.forEach((t, i) => {
    for (let j = 0; j < t.data.length; j++) {
      if (!Object.is(t.data[j], before[i][j]) && !(Number.isNaN(t.data[j]) && Number.isNaN(before[i][j]))) {
        throw new Error(`${what}: input ${i} changed at ${j}`);
      }
    }
  });
}

describe.skipIf(!gpu)('CUDA buffers (GPU)', () => {
  it('round trips, fill, copy, dtype and length checks, free, use after free, memory accounting', () => {
    const info = addon.deviceInfo();
    expect(info.computeCapability[0]).toBeGreaterThanOrEqual(5);
    const before = addon.memoryInfo().bufferBytes;
    const x = f32data(1001, 1);
    const b = addon.alloc(1001, addon.dtypeCodes.float32);
    expect(addon.memoryInfo().bufferBytes - before).toBe(4004);
    expect(addon.bufferInfo(b)).toEqual({ length: 1001, dtype: 'float32', bytes: 4004, freed: false });
    addon.upload(b, x);
    expect(addon.download(b, new Float32Array(1001))).toEqual(x);
    const c = addon.alloc(1001, 0);
    addon.copy(c, b);
    expect(addon.download(c, new Float32Array(1001))).toEqual(x);
    addon.fill(c, -2.5);
    expect(addon.download(c, new Float32Array(1001)).every((v) => v === -2.5)).toBe(true);
    const i = addon.alloc(3, addon.dtypeCodes.int32);
    addon.upload(i, Int32Array.of(-7, 0, 2 ** 31 - 1));
    expect(Array.from(addon.download(i, new Int32Array(3)))).toEqual([-7, 0, 2 ** 31 - 1]);
    expect(() => addon.upload(b, new Float32Array(1000))).toThrow(new RangeError("upload: argument 'array' has length 1000 but the buffer's length is 1001"));
    expect(() => addon.upload(i, new Float32Array(3))).toThrow(TypeError);
    expect(() => addon.fill(i, 1)).toThrow(new TypeError("fill: argument 'buffer' must be a float32 buffer, got an int32 buffer"));
    expect(() => addon.copy(c, i)).toThrow(TypeError);
    addon.free(b);
    addon.free(b); // twice: nothing
    expect(addon.bufferInfo(b).freed).toBe(true);
    expect(() => addon.download(b, new Float32Array(1001))).toThrow(new Error("download: argument 'buffer' is a CUDA buffer that was already freed"));
    addon.free(c);
    addon.free(i);
    expect(addon.memoryInfo().bufferBytes).toBe(before);
    // In-place rules: an output may not be an input where the kernel reads while it writes.
    const m = addon.alloc(4, 0);
    expect(() => addon.matmulF32(m, m, m, 1, 1, 1, 2, 2, 1, false, false, null, 0)).toThrow(
      new RangeError("matmulF32: argument 'out' is the same buffer as 'a'; pass a separate output buffer"));
    addon.free(m);
    expect(() => addon.synchronize()).not.toThrow();
  });
});

describe.skipIf(!gpu)('CUDA kernels vs the reference backend (GPU)', () => {
  it('matmul: batch broadcast, transposes, bias, relu', () => {
    const sizes = fc.oneof(
      { arbitrary: fc.record({ B: batchArb, M: tileDimArb, N: tileDimArb, K: kDimArb }), weight: 6 },
      { arbitrary: fc.record({ B: fc.constant(1), M: fc.integer({ min: 120, max: 300 }), N: fc.integer({ min: 120, max: 300 }), K: fc.integer({ min: 500, max: 1200 }) }), weight: 1 },
    );
    fc.assert(fc.property(sizes, fc.boolean(), fc.boolean(), fc.constantFrom('both', 'a', 'b'), fc.boolean(), fc.boolean(), seedArb,
      ({ B, M, N, K }, ta, tb, bc, withBias, relu, seed) => {
        const Ba = bc === 'b' ? 1 : B, Bb = bc === 'a' ? 1 : B;
        const a = tf(f32data(Ba * M * K, seed), ta ? [Ba, K, M] : [Ba, M, K]);
        const b = tf(f32data(Bb * K * N, seed + 1), tb ? [Bb, N, K] : [Bb, K, N]);
        const bias = withBias ? tf(f32data(N, seed + 2), [N]) : undefined;
        const attrs: MatMulAttrs = { transposeA: ta, transposeB: tb, activation: relu ? 'relu' : 'linear' };
        const lin: MatMulAttrs = { ...attrs, activation: 'linear' };
        const S = lazy(() => ref.matmul(abs64(a), abs64(b), lin, bias ? abs64(bias) : undefined).data);
        check(`matmul a ${fmt(a.shape)} b ${fmt(b.shape)} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}${bias ? ' +bias' : ''}${relu ? ' relu' : ''}`,
          (be) => ({ y: be.matmul(a, b, attrs, bias) }), (i, r) => sumBound(K + 1, S()[i], r), bias ? [a, b, bias] : [a, b]);
      }), runs(60));
  });

  const stride = fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 4 }), weight: 2 });
  const dil = fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.constant(2), weight: 1 });
  const convArb = fc.record({
    N: batchArb, H: spatialArb, W: spatialArb, mode: fc.constantFrom('plain', 'plain', 'pointwise', 'grouped', 'depthwise'),
    cin: channelsArb, cout: channelsArb, groups: fc.integer({ min: 2, max: 3 }), cg: fc.constantFrom(1, 2, 3), co: fc.integer({ min: 1, max: 3 }),
    KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }), sh: stride, sw: stride, dh: dil, dw: dil,
    pads: fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })), bias: fc.boolean(), relu: fc.boolean(), seed: seedArb,
  }).map((r) => {
    let Cin = r.cin, Cout = r.cout, groups = 1, KH = r.KH, KW = r.KW;
    let { sh, sw, pads } = r;
    if (r.mode === 'grouped') { groups = r.groups; Cin = groups * r.cg; Cout = groups * r.co; }
    if (r.mode === 'depthwise') { groups = r.cin; Cout = r.cin * r.co; }
    if (r.mode === 'pointwise') { KH = 1; KW = 1; sh = 1; sw = 1; pads = [0, 0, 0, 0]; } // the in-place SGEMM path
    let { H, W } = r;
    while (Math.max(r.N, 1) * H * W * Math.max(Cin, Cout) * KH * KW * Math.max(Cin / groups, Cout / groups) > 400_000 && (H > 1 || W > 1)) {
      if (H >= W) H = Math.ceil(H / 2); else W = Math.ceil(W / 2);
    }
    const pb = Math.max(pads[1], (KH - 1) * r.dh + 1 - H - pads[0]);
    const pr = Math.max(pads[3], (KW - 1) * r.dw + 1 - W - pads[2]);
    const attrs: Conv2DAttrs = { strides: [sh, sw], dilations: [r.dh, r.dw], pads: [pads[0], pb, pads[2], pr], groups, activation: r.relu ? 'relu' : 'linear' };
    const OH = windowOutSize(H, KH, sh, r.dh, pads[0], pb), OW = windowOutSize(W, KW, sw, r.dw, pads[2], pr);
    return { ...r, H, W, Cin, Cout, groups, KH, KW, attrs, OH, OW };
  });

  it('conv2d, conv2dBackwardData (conv2dTranspose), conv2dBackwardFilter: im2col, 1x1, grouped, depthwise', () => {
    fc.assert(fc.property(convArb, (g) => {
      const Cg = g.Cin / g.groups;
      const x = tf(f32data(g.N * g.H * g.W * g.Cin, g.seed), [g.N, g.H, g.W, g.Cin]);
      const w = tf(f32data(g.KH * g.KW * Cg * g.Cout, g.seed + 1), [g.KH, g.KW, Cg, g.Cout]);
      const dy = tf(f32data(g.N * g.OH * g.OW * g.Cout, g.seed + 2), [g.N, g.OH, g.OW, g.Cout]);
      const bias = g.bias ? tf(f32data(g.Cout, g.seed + 3), [g.Cout]) : undefined;
      const lin: Conv2DAttrs = { ...g.attrs, activation: 'linear' };
      const what = `${g.mode} x ${fmt(x.shape)} w ${fmt(w.shape)} strides ${fmt(g.attrs.strides)} dilations ${fmt(g.attrs.dilations)} pads ${fmt(g.attrs.pads)} groups ${g.groups}`;
      const Sy = lazy(() => ref.conv2d(abs64(x), abs64(w), lin, bias ? abs64(bias) : undefined).data);
      check(`conv2d ${what}${bias ? ' +bias' : ''} ${g.attrs.activation}`, (b) => ({ y: b.conv2d(x, w, g.attrs, bias) }),
        (i, r) => sumBound(g.KH * g.KW * Cg + 1, Sy()[i], r), bias ? [x, w, bias] : [x, w]);
      const Sdx = lazy(() => ref.conv2dBackwardData(abs64(dy), abs64(w), x.shape, lin).data);
      check(`conv2dBackwardData ${what}`, (b) => ({ dx: b.conv2dBackwardData(dy, w, x.shape, lin) }),
        (i, r) => sumBound(g.KH * g.KW * (g.Cout / g.groups), Sdx()[i], r), [dy, w]);
      const Sdw = lazy(() => ref.conv2dBackwardFilter(abs64(x), abs64(dy), w.shape, lin).data);
      check(`conv2dBackwardFilter ${what}`, (b) => ({ dw: b.conv2dBackwardFilter(x, dy, w.shape, lin) }),
        (i, r) => sumBound(g.N * g.OH * g.OW, Sdw()[i], r), [x, dy]);
    }), runs(80));
  });

  it('max, average and global pooling, forward and backward', () => {
    const poolArb = fc.record({
      N: batchArb, H: spatialArb, W: spatialArb, C: channelsArb, kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
      sh: fc.integer({ min: 1, max: 4 }), sw: fc.integer({ min: 1, max: 4 }), pads: fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 }), fc.nat({ max: 2 }), fc.nat({ max: 2 })),
      specials: fc.boolean(), seed: seedArb,
    });
    fc.assert(fc.property(poolArb, (r) => {
      // The window must fit the padded input (the ops layer's rule).
      const pb = Math.max(r.pads[1], r.kh - r.H - r.pads[0]), pr = Math.max(r.pads[3], r.kw - r.W - r.pads[2]);
      const attrs: Pool2DAttrs = { poolSize: [r.kh, r.kw], strides: [r.sh, r.sw], pads: [r.pads[0], pb, r.pads[2], pr] };
      const OH = windowOutSize(r.H, r.kh, r.sh, 1, r.pads[0], pb), OW = windowOutSize(r.W, r.kw, r.sw, 1, r.pads[2], pr);
      // Quantised values: ties, so "first maximum" matters; specials: NaN and infinities in x.
      const x = tf(f32data(r.N * r.H * r.W * r.C, r.seed, { quantum: 4, specialRate: r.specials ? 0.05 : 0, specials: [NaN, Infinity, -Infinity, -0] }), [r.N, r.H, r.W, r.C]);
      const xPlain = tf(f32data(x.data.length, r.seed + 5, { quantum: 4 }), x.shape);
      const dy = tf(f32data(r.N * OH * OW * r.C, r.seed + 1), [r.N, OH, OW, r.C]);
      const what = `x ${fmt(x.shape)} pool ${fmt(attrs.poolSize)} strides ${fmt(attrs.strides)} pads ${fmt(attrs.pads)}`;
      const W = Math.ceil(r.kh / r.sh) * Math.ceil(r.kw / r.sw);
      check(`maxPool2d ${what}`, (b) => ({ y: b.maxPool2d(x, attrs) }), 'exact', [x]);
      const Smax = lazy(() => ref.maxPool2dBackward(abs64(dy), { data: Float64Array.from(x.data), shape: x.shape }, attrs).data);
      check(`maxPool2dBackward ${what}`, (b) => ({ dx: b.maxPool2dBackward(dy, x, attrs) }), (i, v) => sumBound(2 * W + 1, Smax()[i], v), [dy, x]);
      const Savg = lazy(() => ref.avgPool2d(abs64(xPlain), attrs).data);
      check(`avgPool2d ${what}`, (b) => ({ y: b.avgPool2d(xPlain, attrs) }), (i, v) => sumBound(r.kh * r.kw + 1, Savg()[i], v), [xPlain]);
      const Savgb = lazy(() => ref.avgPool2dBackward(abs64(dy), x.shape, attrs).data);
      check(`avgPool2dBackward ${what}`, (b) => ({ dx: b.avgPool2dBackward(dy, x.shape, attrs) }), (i, v) => sumBound(2 * W + 1, Savgb()[i], v), [dy]);
      const gdy = tf(f32data(r.N * r.C, r.seed + 2), [r.N, r.C]);
      check(`globalPool2d max ${what}`, (b) => ({ y: b.globalPool2d(x, 'max'), dx: b.globalPool2dBackward(gdy, x, 'max') }), 'exact', [x, gdy]);
      const Sg = lazy(() => ref.globalPool2d(abs64(xPlain), 'avg').data);
      check(`globalPool2d avg ${what}`, (b) => ({ y: b.globalPool2d(xPlain, 'avg') }), (i, v) => sumBound(2, Sg()[i], v), [xPlain]);
      check(`globalPool2dBackward avg ${what}`, (b) => ({ dx: b.globalPool2dBackward(gdy, xPlain, 'avg') }), 'exact', [gdy]);
    }), runs(80));
  });

  /*
   * Batch norm, per channel over R rows, with the exact (double) mean m and variance v, A = mean|x - x0|
   * (x0 the channel's first value, the shift of the sums), scale = |gamma| / sqrt(v + epsilon):
   * - mean and variance: double sums of R terms (relative error R 2^-53 of the sum of |terms|) rounded to float,
   *   against the reference's rounding: 2u|ref| + R 2^-52 A (variance: R 2^-52 (v + A^2) twice, for the square
   *   of the mean's error).
   * - y = ((x - m_hi) - m_lo) scale_f + beta in float: three roundings of magnitudes |x - m|, |x - m| and
   *   |(x - m) scale|, scale_f within u (+ the variance's error / 2), one rounding of y and the reference's:
   *   (3u + u + dv/(2(v + eps))) |x - m| scale + dm scale + 2u |ref| + u |beta|.
   * - backward, with the given float mean and variance: dbeta = double sum rounded: 2u|ref| + R 2^-52 sum|dy|;
   *   dgamma = sum(fl(dy fl(x - m))) istd: each product 2u relative: 2u istd sum|dy (x - m)| + 2u|ref|;
   *   dx = a dy - (b (x - m) + k) in float with a, b, k rounded (b, k from those sums):
   *   5u (|a dy| + |b| |x - m| + |k|) + 2u |ref|, |b| <= |a| istd^2 sum|dy (x - m)| / R, |k| <= |a| sum|dy| / R.
   */
  it('batchNorm (training and inference) and batchNormBackward', () => {
    const bnArb = fc.record({
      N: batchArb, layout: fc.constantFrom('NC', 'NHWC'), H: spatialArb, W: spatialArb, C: channelsArb, training: fc.boolean(),
      epsilon: fc.constantFrom(1e-3, 1e-5), offset: fc.constantFrom(0, 0, 1, -3, 20), spread: fc.constantFrom(1, 0.1, 3), seed: seedArb,
    });
    fc.assert(fc.property(bnArb, (r) => {
      const shape = r.layout === 'NC' ? [r.N, r.C] : [r.N, r.H, r.W, r.C];
      const n = sizeOf(shape), C = r.C, R = n / C;
      const x = tf(f32data(n, r.seed, { lo: r.offset - r.spread, hi: r.offset + r.spread }), shape);
      const gamma = tf(f32data(C, r.seed + 1, { lo: 0.5, hi: 1.5 }), [C]);
      const beta = tf(f32data(C, r.seed + 2), [C]);
      const mm = tf(f32data(C, r.seed + 3, { lo: r.offset - 1, hi: r.offset + 1 }), [C]);
      const mv = tf(f32data(C, r.seed + 4, { lo: 0.05, hi: 2 }), [C]);
      const attrs: BatchNormAttrs = { epsilon: r.epsilon, training: r.training };
      const what = `${r.training ? 'training' : 'inference'} x ${fmt(shape)} data ${r.offset}+-${r.spread}`;
      const st = lazy(() => {
        const m = new Float64Array(C), v = new Float64Array(C), A = new Float64Array(C);
        for (let i = 0; i < n; i++) { m[i % C] += x.data[i] / R; A[i % C] += Math.abs(x.data[i] - x.data[i % C]) / R; }
        for (let i = 0; i < n; i++) { const d = x.data[i] - m[i % C]; v[i % C] += (d * d) / R; }
        return { m, v, A };
      });
      check(`batchNorm ${what}`, (b) => {
        const o = b.batchNorm(x, gamma, beta, r.training ? undefined : mm, r.training ? undefined : mv, attrs);
        return { y: o.y, mean: o.mean, variance: o.variance };
      }, {
        y: (i, v) => {
          const { m, v: vv, A } = st();
          const c = i % C;
          const mc = r.training ? m[c] : mm.data[c], vc = r.training ? vv[c] : mv.data[c];
          const dm = r.training ? R * 2 ** -52 * A[c] + 2 ** -46 * Math.abs(mc) : 0;
          const dv = r.training ? 2 * R * 2 ** -52 * (vc + A[c] * A[c]) + 2 * u * vc : 0;
          const scale = Math.abs(gamma.data[c]) / Math.sqrt(vc + r.epsilon);
          return (4 * u + dv / (2 * (vc + r.epsilon))) * Math.abs(x.data[i] - mc) * scale + dm * scale + 2 * u * Math.abs(v) + u * Math.abs(beta.data[c]) + SUB;
        },
        mean: r.training ? (c, v) => 2 * u * Math.abs(v) + R * 2 ** -52 * st().A[c] + SUB : 'exact',
        variance: r.training ? (c, v) => 2 * u * Math.abs(v) + 2 * R * 2 ** -52 * (st().v[c] + st().A[c] ** 2) + SUB : 'exact',
      }, [x, gamma, beta, mm, mv]);

      const mean = r.training && n > 0 ? tf(Float32Array.from(st().m), [C]) : mm;
      const variance = r.training && n > 0 ? tf(Float32Array.from(st().v), [C]) : mv;
      const dy = tf(f32data(n, r.seed + 9), shape);
      const sums = lazy(() => {
        const sdy = new Float64Array(C), sdyx = new Float64Array(C);
        for (let i = 0; i < n; i++) { sdy[i % C] += Math.abs(dy.data[i]); sdyx[i % C] += Math.abs(dy.data[i] * (x.data[i] - mean.data[i % C])); }
        return { sdy, sdyx };
      });
      const istd = (c: number): number => 1 / Math.sqrt(variance.data[c] + r.epsilon);
      check(`batchNormBackward ${what}`, (b) => {
        const o = b.batchNormBackward(dy, x, gamma, mean, variance, attrs);
        return { dx: o.dx, dgamma: o.dgamma, dbeta: o.dbeta };
      }, {
        dbeta: (c, v) => 2 * u * Math.abs(v) + R * 2 ** -52 * sums().sdy[c] + SUB,
        dgamma: (c, v) => 2 * u * Math.abs(v) + (2 * u + R * 2 ** -52) * istd(c) * sums().sdyx[c] + SUB,
        dx: (i, v) => {
          const c = i % C;
          const a = Math.abs(gamma.data[c]) * istd(c);
          if (!r.training) return 3 * u * Math.abs(a * dy.data[i]) + 2 * u * Math.abs(v) + SUB;
          const bAbs = (a * istd(c) ** 2 * sums().sdyx[c]) / R, kAbs = (a * sums().sdy[c]) / R;
          return 5 * u * (Math.abs(a * dy.data[i]) + bAbs * Math.abs(x.data[i] - mean.data[c]) + kAbs) + 2 * u * Math.abs(v) + SUB;
        },
      }, [dy, x, gamma, mean, variance]);
    }), runs(80));
  });

  /*
   * Softmax rows of length L, max m, z = x - m, s = sum e^z (double), ls = log s:
   * - softmax: fl(e^z) (u), fl(s) (u), the division (u), the reference's rounding (u): 4u|ref| + 2^-148.
   * - logSoftmax: fl(x - m) (u|z|), fl(ls) (u ls), the subtraction and the reference's rounding: u(|z| + ls) + 2u|ref|;
   *   plus the reference's own double error, which is absolute in |m| (it forms lse = m + ls, then x - lse):
   *   2^-52 (|m| + ls).
   * - softmaxCrossEntropy, int label: (m - x_k) + ls in double rounded: 2u|ref| + L 2^-52 (s's error in ls)
   *   + 2^-52 (|m| + ls) (the reference's lse - x_k); float labels w: the same terms weighted and summed in double in
   *   another order: 2u|ref| + (L+2) 2^-52 sum|w|(|x| + |m| + ls).
   * - backward: g (p fl-rounded three times) or g(e scale - w) in double with e rounded: 4u|ref| + 2u|g| p sum|w| + 2^-148.
   */
  it('softmax, logSoftmax (last and inner axis), softmaxCrossEntropy and its backward', () => {
    // The max m and ls = log(sum e^(x - m)) of every line of t [outer, len, inner] along its middle axis, in double.
    const lines = (t: KTensor, outer: number, len: number, inner: number): { m: Float64Array; ls: Float64Array } => {
      const m = new Float64Array(outer * inner), ls = new Float64Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < inner; k++) {
          const at = (j: number): number => t.data[(o * len + j) * inner + k];
          let mx = -Infinity;
          for (let j = 0; j < len; j++) mx = Math.max(mx, at(j));
          let s = 0;
          for (let j = 0; j < len; j++) s += Math.exp(at(j) - mx);
          m[o * inner + k] = mx;
          ls[o * inner + k] = Math.log(s);
        }
      }
      return { m, ls };
    };
    fc.assert(fc.property(batchArb, lengthArb, fc.constantFrom(1, 30, 1000), fc.boolean(), seedArb, (N, L, spread, soft, seed) => {
      const rows = Math.max(N, 1) * 3;
      const x = tf(f32data(rows * L, seed, { lo: -spread, hi: spread }), [rows, L]);
      const what = `x ${fmt(x.shape)} spread ${spread}`;
      const row = lazy(() => lines(x, rows, L, 1));
      // x3 [2, L, 3] along axis 1: the same kernel formulas (the column kernel), so the same bounds per line.
      const x3 = tf(f32data(2 * L * 3, seed + 3, { lo: -spread, hi: spread }), [2, L, 3]);
      const col = lazy(() => lines(x3, 2, L, 3));
      for (const [t, axis, line, at] of [[x, 1, row, (i: number) => Math.floor(i / L)], [x3, 1, col, (i: number) => Math.floor(i / (3 * L)) * 3 + (i % 3)]] as const) {
        const w = `${fmt(t.shape)} axis ${axis} spread ${spread}`;
        check(`softmax ${w}`, (b) => ({ y: b.softmax(t, axis) }), (_i, v) => 4 * u * Math.abs(v) + 2 ** -148, [t]);
        check(`logSoftmax ${w}`, (b) => ({ y: b.logSoftmax(t, axis) }), (i, v) => {
          const r = at(i);
          const { m, ls } = line();
          return u * (Math.abs(t.data[i] - m[r]) + ls[r]) + 2 * u * Math.abs(v) + 2 ** -52 * (Math.abs(m[r]) + ls[r]) + SUB;
        }, [t]);
      }
      if (L === 0) return;
      const labels: KTensor = soft
        ? tf(f32data(rows * L, seed + 1, { lo: 0, hi: 1 }), [rows, L])
        : ti(i32data(rows, seed + 1, 0, L - 1), [rows]); // out of range: reported instead (the index-check test below)
      const dloss = tf(f32data(rows, seed + 2), [rows]);
      const wsum = (r: number): number => { let s = 0; if (soft) for (let j = 0; j < L; j++) s += Math.abs(labels.data[r * L + j]); return soft ? s : 1; };
      check(`softmaxCrossEntropy ${what} ${soft ? 'float' : 'int'} labels`, (b) => ({ loss: b.softmaxCrossEntropy(x, labels as KTensor<Float32Array>) }), (r, v) => {
        const { m, ls } = row();
        let mag = L * 2 ** -52 + 2 ** -52 * (Math.abs(m[r]) + ls[r]);
        if (soft) {
          mag = 0;
          for (let j = 0; j < L; j++) mag += Math.abs(labels.data[r * L + j]) * (Math.abs(x.data[r * L + j]) + Math.abs(m[r]) + ls[r]);
          mag *= (L + 2) * 2 ** -52;
        }
        return 2 * u * Math.abs(v) + mag + SUB;
      }, [x, labels]);
      check(`softmaxCrossEntropyBackward ${what} ${soft ? 'float' : 'int'} labels`,
        (b) => ({ dlogits: b.softmaxCrossEntropyBackward(dloss, x, labels as KTensor<Float32Array>) }), (i, v) => {
          const r = Math.floor(i / L);
          const p = Math.exp(x.data[i] - row().m[r] - row().ls[r]);
          return 4 * u * Math.abs(v) + 2 * u * Math.abs(dloss.data[r]) * p * wsum(r) + 2 ** -148;
        }, [dloss, x, labels]);
    }), runs(80));
  });

  it('unary ops and unary gradients: within 2 ulps of the reference; binary ops: exact (pow, atan2: 1 ulp)', () => {
    // Every op the addon has a code for (the CUDA kernels follow nodegrad/eltwise.h's list).
    const unaryOps = Object.keys(addon.unaryOpCodes) as UnaryOp[];
    const gradOps = Object.keys(addon.unaryGradOpCodes) as UnaryGradOp[];
    const within2 = (_i: number, r: number, g: number): boolean => (Number.isNaN(r) ? Number.isNaN(g) : ulpDistance32(r, g) <= 2);
    fc.assert(fc.property(shapeArb(1, 4, 3000), fc.constantFrom(...unaryOps), fc.constantFrom(...gradOps), fc.boolean(), seedArb, (shape, op, gop, specials, seed) => {
      const n = sizeOf(shape);
      const x = tf(f32data(n, seed, { lo: -12, hi: 12, specialRate: specials ? 0.05 : 0 }), shape);
      const attrs = { alpha: 0.2 };
      check(`unary ${op} x ${fmt(shape)}`, (b) => ({ y: b.unary(op, x, attrs) }), within2, [x]);
      const y = tf(f32data(n, seed + 1, { lo: -1, hi: 1 }), shape);
      const dy = tf(f32data(n, seed + 2), shape);
      check(`unaryGrad ${gop} x ${fmt(shape)}`, (b) => ({ dx: b.unaryGrad(gop, x, y, dy, attrs) }), within2, [x, y, dy]);
      // binary: a fills the output, b the same shape, a scalar, or a trailing row (the row kernel); then both
      // broadcast along some axes (the strided kernel).
      const cut = seed % (shape.length + 1);
      const bShape = cut === shape.length ? [] : shape.slice(cut);
      const bt = tf(f32data(sizeOf(bShape), seed + 3, { specialRate: specials ? 0.05 : 0 }), bShape);
      const aOnes = shape.map((d, i) => ((seed >> i) & 1 ? 1 : d)), bOnes = shape.map((d, i) => ((seed >> (i + 4)) & 1 ? 1 : d));
      const ab = tf(f32data(sizeOf(aOnes), seed + 4, { lo: -4, hi: 4, specialRate: specials ? 0.05 : 0 }), aOnes);
      const bb = tf(f32data(sizeOf(bOnes), seed + 5, { lo: -4, hi: 4, specialRate: specials ? 0.05 : 0 }), bOnes);
      const outShape = shape.map((_, i) => Math.max(aOnes[i], bOnes[i]));
      for (const bop of Object.keys(addon.binaryOpCodes) as BinaryOp[]) {
        const tol: Tol = bop === 'pow' || bop === 'atan2' ? (_i, r, g) => (Number.isNaN(r) ? Number.isNaN(g) : ulpDistance32(r, g) <= 1) : 'exact';
        check(`binary ${bop} ${fmt(shape)} with ${fmt(bShape)}`, (b) => ({ y: b.binary(bop, x, bt, shape) }), tol, [x, bt]);
        check(`binary ${bop} ${fmt(aOnes)} with ${fmt(bOnes)}`, (b) => ({ y: b.binary(bop, ab, bb, outShape) }), tol, [ab, bb]);
      }
    }), runs(120));
  });

  /*
   * prod: each run of adjacent axes is a double product (relative error at most len 2^-53) rounded to float (u).
   * A run of length L multiplies L results of the run before, so the relative bound grows as E' = L E + u from
   * E = 0, plus the reference's own rounding u and the double products' (sum of the run lengths) 2^-52.
   */
  it('reduce: sum and mean (double sums), max and min (exact), prod (double products), over any subset of axes', () => {
    fc.assert(fc.property(shapeArb(1, 4, 20000), fc.constantFrom('sum', 'mean', 'max', 'min', 'prod'), fc.nat(), fc.boolean(), seedArb, (shape, op, pick, specials, seed) => {
      const axes = shape.map((_, i) => i).filter((i) => (pick >> i) & 1);
      const exact = op === 'max' || op === 'min';
      // prod: factors near +-1, so that long products neither overflow nor underflow and every rounding shows
      const data = op === 'prod' ? f32data(sizeOf(shape), seed, { lo: 0.97, hi: 1.03 }).map((v, i) => (i % 5 ? v : -v))
        : f32data(sizeOf(shape), seed, { specialRate: specials && exact ? 0.05 : 0, quantum: exact ? 8 : undefined });
      const x = tf(data, shape);
      const runLengths: number[] = [];  // the kernel's order: last run first
      axes.forEach((a, i) => {
        if (i === 0 || axes[i - 1] !== a - 1) runLengths.unshift(1);
        runLengths[0] *= shape[a];
      });
      const S = lazy(() => ref.reduce(op === 'mean' ? 'mean' : 'sum', abs64(x), axes).data);
      const prodRel = runLengths.reduce((e, len) => len * e + u, 0) + u + runLengths.reduce((t, l) => t + l, 0) * 2 ** -52;
      check(`reduce ${op} x ${fmt(shape)} axes ${fmt(axes)}`, (b) => ({ y: b.reduce(op, x, axes) }),
        exact ? 'exact' : op === 'prod' ? (_i, v) => prodRel * Math.abs(v) + SUB : (i, v) => sumBound(runLengths.length + 1, S()[i], v), [x]);
    }), runs(120));
  });

  it('transpose, slice, pad, concat, gather, oneHot, compare, where, clip, cast, argReduce, dropout: exact (copies, selections, the CPU Philox)', () => {
    const modes = ['constant', 'reflect', 'symmetric'] as const;
    const cmps = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'] as const;
    fc.assert(fc.property(shapeArb(1, 4, 3000), fc.boolean(), fc.nat(), seedArb, (shape, int, pick, seed) => {
      const n = sizeOf(shape);
      const r = shape.length;
      const x: KTensor = int ? ti(i32data(n, seed, -3, 3), shape) : tf(f32data(n, seed, { specialRate: 0.05, quantum: 4 }), shape);
      const perm = shape.map((_, i) => i).sort((p, q) => ((p * 7 + seed) % 5) - ((q * 7 + seed) % 5));
      check(`transpose ${fmt(shape)} ${fmt(perm)}`, (b) => ({ y: b.transpose(x, perm) }), 'exact', [x]);
      const steps = shape.map((_, i) => 1 + ((seed >> i) & 1));
      const begin = shape.map((d, i) => (d > 1 ? (pick >> i) % d : 0));
      const size = shape.map((d, i) => Math.ceil((d - begin[i]) / steps[i]));
      check(`slice ${fmt(shape)}`, (b) => ({ y: b.slice(x, begin, size, steps) }), 'exact', [x]);
      const mode = modes[pick % 3];
      const pads = shape.map((d, i): [number, number] => {
        const lim = Math.max(0, mode === 'reflect' ? d - 1 : mode === 'symmetric' ? d : 3);
        return [Math.min(lim, (seed >> i) % 3), Math.min(lim, (pick >> i) % 3)];
      });
      check(`pad ${mode} ${fmt(shape)} ${JSON.stringify(pads)}`, (b) => ({ y: b.pad(x, pads, mode, int ? -2 : 1.3) }), 'exact', [x]);
      const axis = pick % r;
      check(`concat ${fmt(shape)} axis ${axis}`, (b) => ({ y: b.concat([x, x, x], axis) }), 'exact', [x]);
      if (!int) {  // gather's adjoint: -1 skipped, repeated targets summed in ascending j in double, as the reference
        const idx = ti(i32data(shape[axis], seed + 5, -1, 3), [shape[axis]]);
        check(`scatterAdd ${fmt(shape)} axis ${axis}`, (b) => ({ y: b.scatterAdd(x as KTensor<Float32Array>, idx, 4, axis) }), 'exact', [x, idx]);
      }
      if (shape[axis] > 0) {
        const idx = ti(i32data(5, seed + 1, 0, shape[axis] - 1), [5]);
        check(`gather ${fmt(shape)} axis ${axis}`, (b) => ({ y: b.gather(x, idx, axis) }), 'exact', [x]);
        for (const op of ['argMax', 'argMin'] as const) check(`${op} ${fmt(shape)} axis ${axis}`, (b) => ({ y: b.argReduce(op, x, axis) }), 'exact', [x]);
      }
      const bShape = shape.map((d, i) => ((pick >> i) & 1 ? 1 : d));
      const y: KTensor = int ? ti(i32data(sizeOf(bShape), seed + 2, -3, 3), bShape) : tf(f32data(sizeOf(bShape), seed + 2, { specialRate: 0.05, quantum: 4 }), bShape);
      check(`compare ${fmt(shape)} vs ${fmt(bShape)}`, (b) => Object.fromEntries(cmps.map((op) => [op, b.compare(op, x, y, shape)])), 'exact', [x, y]);
      const cond = ti(i32data(sizeOf(bShape), seed + 3, -1, 1), bShape);
      check(`where ${fmt(shape)}`, (b) => ({ y: b.where(cond, x, y, shape) }), 'exact', [cond, x, y]);
      check(`clip ${fmt(shape)}`, (b) => ({ y: b.clip(x, -1.25, 0.3) }), 'exact', [x]);
      check(`cast ${fmt(shape)}`, (b) => ({ y: b.cast(x, int ? 'float32' : 'int32') }), 'exact', [x]);
      check(`oneHot ${fmt(shape)}`, (b) => ({ y: b.oneHot(ti(i32data(n, seed + 4, -1, 4), shape), 4, 0.9, -0.1) }), 'exact');
      if (!int) {
        const rate = [0, 0.1, 0.5, 0.9][pick % 4];
        check(`dropout ${fmt(shape)} rate ${rate}`, (b) => b.dropout(x as KTensor<Float32Array>, rate, seed * 4099 + pick), 'exact', [x]);
      }
    }), runs(120));
  });

  it('Adam and SGD updates: bit-identical to the double formulas of src/optim, and cancelled by a non-finite probe', () => {
    const k = cudaDeviceKernels(addon);
    const probeArb = fc.constantFrom(null, 0.5, NaN, Infinity, -Infinity);  // no guard, a finite one, non-finite ones
    fc.assert(fc.property(lengthArb, fc.boolean(), fc.constantFrom('plain', 'momentum', 'nesterov'), seedArb, probeArb, (n, ams, mode, seed, probeValue) => {
      const probe = probeValue === null ? null : upload(addon, tf(Float32Array.of(probeValue), [1]));
      const cancelled = probeValue !== null && !Number.isFinite(probeValue);
      const w0 = f32data(n, seed), g = f32data(n, seed + 1), m0 = f32data(n, seed + 2, { lo: -0.1, hi: 0.1 });
      const v0 = f32data(n, seed + 3, { lo: 0, hi: 0.01 }), h0 = f32data(n, seed + 4, { lo: 0, hi: 0.01 });
      const alpha = 1e-3 * 0.3, c1 = 0.1, c2 = 0.001, eps = 1e-7, keep = 0.99999;
      // Adam: src/optim/adam.ts, element by element in double.
      const w = Float32Array.from(w0), m = Float32Array.from(m0), v = Float32Array.from(v0), h = Float32Array.from(h0);
      for (let i = 0; i < n && !cancelled; i++) {
        const mi = m[i] + (g[i] - m[i]) * c1, vi = v[i] + (g[i] * g[i] - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        let vv = vi;
        if (ams) { h[i] = h[i] > v[i] ? h[i] : v[i]; vv = h[i]; }
        w[i] = w[i] * keep - (alpha * mi) / (Math.sqrt(vv) + eps);
      }
      const d = [w0, g, m0, v0, h0].map((a) => upload(addon, tf(a, [n])));
      try {
        k.adamUpdate(d[0], d[1], d[2], d[3], ams ? d[4] : null, alpha, c1, c2, eps, keep, probe);
        const what = `adam n ${n}${ams ? ' amsgrad' : ''} probe ${probeValue}`;
        compareTensors(download(addon, d[0]), tf(w, [n]), 'exact', `${what} w`);
        compareTensors(download(addon, d[2]), tf(m, [n]), 'exact', `${what} m`);
        compareTensors(download(addon, d[3]), tf(v, [n]), 'exact', `${what} v`);
        if (ams) compareTensors(download(addon, d[4]), tf(h, [n]), 'exact', `${what} vHat`);
      } finally {
        release(addon, ...d);
      }
      // SGD: src/optim/sgd.ts.
      const lr = 0.01, mu = 0.9;
      const ws = Float32Array.from(w0), vel = Float32Array.from(m0);
      for (let i = 0; i < n && !cancelled; i++) {
        if (mode === 'plain') { ws[i] = ws[i] * keep - lr * g[i]; continue; }
        const gi = lr * g[i];
        const mi = mu * vel[i] - gi;
        vel[i] = mi;
        ws[i] = mode === 'nesterov' ? ws[i] * keep + (mu * mi - gi) : ws[i] * keep + mi;
      }
      const e = [w0, g, m0].map((a) => upload(addon, tf(a, [n])));
      try {
        k.sgdUpdate(e[0], e[1], mode === 'plain' ? null : e[2], lr, mu, mode === 'nesterov', keep, probe);
        compareTensors(download(addon, e[0]), tf(ws, [n]), 'exact', `sgd ${mode} n ${n} probe ${probeValue} w`);
        if (mode !== 'plain') compareTensors(download(addon, e[2]), tf(vel, [n]), 'exact', `sgd ${mode} n ${n} probe ${probeValue} velocity`);
      } finally {
        release(addon, ...e, probe ?? undefined);
      }
    }), runs(60));
  });

  it('scatterAdd at embedding scale (10k ids into 50k rows, hot rows repeated): exact and the same run to run', () => {
    const n = 10000, dim = 50000, inner = 16;
    const ids = Int32Array.from(i32data(n, 7, 0, dim - 1), (v, j) => (j % 5 === 0 ? 123 : v));
    const g = tf(f32data(n * inner, 8, { lo: -1e3, hi: 1e3 }), [n, inner]);
    const idx = ti(ids, [n]);
    const got = cuda.scatterAdd(g, idx, dim, 0);
    compareTensors(got, ref.scatterAdd(g, idx, dim, 0), 'exact', 'scatterAdd embedding');
    compareTensors(cuda.scatterAdd(g, idx, dim, 0), got, 'exact', 'scatterAdd embedding, run to run');
  });

  it('index checks on the device: bad indices and labels are reported, their outputs NaN, the next download throws once', () => {
    const k = cudaDeviceKernels(addon);
    const x = upload(addon, tf(f32data(4 * 10, 1), [4, 10]));
    const bad = upload(addon, ti(Int32Array.of(1, 9, 0, 12, -3), [5]));
    const y = k.gather(x, bad, 1);
    const msg = (what: string): string => `${what}; found at the next read from the GPU, so every result computed after that kernel is invalid`;
    expect(() => download(addon, y)).toThrow(msg("gather (cuda): argument 'indices' holds 12 at flat position 3, out of range [0, 10)"));
    const yd = download(addon, y).data;  // the report was taken: this read works
    for (let r = 0; r < 4; r++) for (const j of [3, 4]) expect(yd[r * 5 + j]).toBeNaN();
    // the first reporting launch wins over later ones
    const g = upload(addon, tf(f32data(4 * 5, 2), [4, 5]));
    const s1 = k.scatterAdd(g, bad, 10, 1);
    const bad2 = upload(addon, ti(Int32Array.of(-7), [1]));
    const s2 = k.gather(x, bad2, 1);
    expect(() => download(addon, s2)).toThrow(msg("scatterAdd (cuda): argument 'indices' holds 12 at flat position 3, out of range [0, 10)"));
    expect(Array.from(download(addon, s1).data).every(Number.isNaN)).toBe(true);
    const logits = upload(addon, tf(f32data(4 * 10, 3), [4, 10]));
    const labels = upload(addon, ti(Int32Array.of(3, 0, 10, 7), [4]));
    const loss = k.softmaxCrossEntropy(logits, labels);
    expect(() => download(addon, loss)).toThrow(msg("softmaxCrossEntropy (cuda): argument 'labels' holds 10 at flat position 2, out of range [0, 10)"));
    expect(Array.from(download(addon, loss).data, Number.isNaN)).toEqual([false, false, true, false]);
    expect(addon.takeIndexError()).toBeNull();
    release(addon, x, bad, y, g, s1, bad2, s2, logits, labels, loss);
  });

  it('device kernels chain without host copies: conv+relu -> maxPool -> dense -> loss and its gradient', () => {
    // Each stage reads the previous stage's device output in place; every stage is checked against the reference
    // run on a host copy of that same input, under that stage's own bound.
    const k = cudaDeviceKernels(addon);
    const host = (t: ReturnType<typeof upload>): KTensor<Float32Array> => download(addon, t) as KTensor<Float32Array>;
    const x = upload(addon, tf(f32data(8 * 12 * 12 * 3, 1), [8, 12, 12, 3]));
    const w = upload(addon, tf(f32data(3 * 3 * 3 * 16, 2, { lo: -0.3, hi: 0.3 }), [3, 3, 3, 16]));
    const conv: Conv2DAttrs = { strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1, activation: 'relu' };
    const pool: Pool2DAttrs = { poolSize: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] };
    const y = k.conv2d(x, w, conv);
    const Sy = ref.conv2d(abs64(host(x)), abs64(host(w)), { ...conv, activation: 'linear' }).data;
    compareTensors(host(y), ref.conv2d(host(x), host(w), conv), (i, v) => sumBound(28, Sy[i], v), 'chain: conv2d + relu');
    const p = k.maxPool2d(y, pool);
    compareTensors(host(p), ref.maxPool2d(host(y), pool), 'exact', 'chain: maxPool2d');
    const flat = { ...p, shape: [1, 8, 6 * 6 * 16] }; // a reshape is only a new shape on the same buffer
    const wd = upload(addon, tf(f32data(576 * 10, 3, { lo: -0.1, hi: 0.1 }), [1, 576, 10]));
    const lin: MatMulAttrs = { transposeA: false, transposeB: false };
    const logits = k.matmul(flat, wd, lin);
    const Sl = ref.matmul(abs64(host(flat)), abs64(host(wd)), lin).data;
    compareTensors(host(logits), ref.matmul(host(flat), host(wd), lin), (i, v) => sumBound(577, Sl[i], v), 'chain: dense');
    const l2 = { ...logits, shape: [8, 10] };
    const lab = ti(Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7), [8]);
    const labels = upload(addon, lab);
    const loss = k.softmaxCrossEntropy(l2, labels);
    // The loss is one double expression rounded (see the softmax bounds above).
    compareTensors(host(loss), ref.softmaxCrossEntropy(host(l2), lab), (_i, v) => 2 * u * Math.abs(v) + 10 * 2 ** -52 + SUB, 'chain: loss');
    const dl = upload(addon, tf(new Float32Array(8).fill(1 / 8), [8]));
    const dlogits = k.softmaxCrossEntropyBackward(dl, l2, labels);
    compareTensors(host(dlogits), ref.softmaxCrossEntropyBackward(host(dl), host(l2), lab), (_i, v) => 4 * u * Math.abs(v) + 2 * u / 8 + 2 ** -148,
      'chain: loss gradient');
    const dp = k.matmul({ ...dlogits, shape: [1, 8, 10] }, wd, { transposeA: false, transposeB: true }); // dflat, in place
    expect(dp.shape).toEqual([1, 8, 576]);
    release(addon, x, w, y, p, wd, logits, labels, loss, dl, dlogits, dp);
  });
});
