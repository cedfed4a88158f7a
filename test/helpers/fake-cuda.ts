/**
 * A test double of nodegrad_cuda.node (src/backends/cuda/addon.ts) on host memory, so that device-resident tensors
 * run in CI without a GPU: a "device buffer" is a host Float32Array / Int32Array behind an opaque handle, and every
 * kernel entry forwards to the CPU addon's entry of the same name (the CUDA addon takes the CPU addon's arguments
 * with buffers in place of typed arrays), so results are the CPU backend's, bit for bit where the TS layers call the
 * kernels alike.
 *
 * It keeps the real addon's buffer rules (uninitialised allocations are NaN-poisoned, free twice is allowed, a freed
 * buffer throws on use, dtype and length must match on upload and download) and counts what tests assert on: live
 * buffers, allocations, frees, transfers and the elements read back, and the order of kernel calls and transfers.
 * The optimizer entries honour their probe as the CUDA kernels do (NaN or infinite: nothing written).
 *
 * The data-movement, comparison, conversion and dropout entries, which the CPU addon has no kernel for, run the
 * reference backend's function on the host arrays (cast, argReduce, gather, scatterAddF32, oneHot, dropout)
 * or, where the entry takes strides rather than the Backend's arguments (stridedCopy, concatCopy, compare, where,
 * binaryBroadcastF32), the CUDA kernel's index arithmetic transcribed, so the strides and offsets
 * src/backends/cuda/kernels.ts computes are checked against the CPU backend's results by the tests. So do the op
 * codes only the GPU has (binary pow ... squaredDifference, unary sign ... erf, reduce prod: the reference's
 * double formulas, as the CUDA kernels compute them) and softmax along an inner axis (the CPU addon's rows of the
 * transposed [outer, inner, len], the CUDA kernel's formulas).
 *
 * Index checks behave as on the device: gather, scatterAddF32 and the cross-entropy entries with int32 labels never
 * throw for a bad index; they report the first one (the first reporting call wins, at its smallest position) and
 * poison the outputs it affects as the CUDA kernels do, and takeIndexError() hands the report over once.
 *
 * Install it with setCudaAddonForTesting(createFakeCuda()) (src/backends/cuda/index.ts); test-only.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

import { afterAll, beforeAll } from 'vitest';

import type { BinaryOp, ReduceOp, UnaryOp } from '../../src/backends/backend.js';
import type {
  CudaAddon, CudaBuffer, CudaDeviceInfo, CudaDType, CudaIndexError, CudaMemoryInfo, CudaProbe,
} from '../../src/backends/cuda/addon.js';
import { setCudaAddonForTesting } from '../../src/backends/cuda/index.js';
import { packageRoot } from '../../src/backends/native/addon.js';
import { referenceBackend as ref } from '../../src/backends/reference/index.js';
import { type BackendName, getBackend, setBackend } from '../../src/backends/registry.js';

type HostArray = Float32Array | Int32Array;

class FakeBuffer {
  constructor(public data: HostArray | null, readonly length: number, readonly dtype: CudaDType) {}
}

export interface FakeCudaStats {
  allocs: number;
  frees: number;
  uploads: number;
  downloads: number;
  /** Elements copied back to the host by download(). */
  downloadedElements: number;
  /** Calls per kernel entry. */
  readonly kernels: Map<string, number>;
  /** Every kernel entry, 'upload' and 'download' in the order called. */
  readonly calls: string[];
}

export interface FakeCuda extends CudaAddon {
  readonly stats: FakeCudaStats;
  /** Buffers allocated and not freed. */
  liveBuffers(): number;
  resetStats(): void;
}

// The kernel entries forwarded to the CPU addon (same names, same arguments with arrays for buffers).
const FORWARDED = [
  'unaryGradF32', 'matmulF32', 'gemmF32', 'conv2dF32', 'conv2dBackwardDataF32', 'conv2dBackwardFilterF32',
  'maxPool2dF32', 'maxPool2dBackwardF32', 'avgPool2dF32', 'avgPool2dBackwardF32', 'globalPool2dF32', 'globalPool2dBackwardF32',
  'batchNormTrainF32', 'batchNormInferF32', 'batchNormBackwardF32',
] as const;

// The optimizer entries, forwarded without their last argument, the probe that guards them (optim.cu).
const GUARDED = { adamUpdateF32: 10, sgdUpdateF32: 7 } as const;

/** The CPU addon (build/Release/nodegrad.node), or null with the reason. */
export function cpuAddonForFake(): { addon: Record<string, unknown> | null; reason?: string } {
  const path = join(packageRoot, 'build', 'Release', 'nodegrad.node');
  if (!existsSync(path)) return { addon: null, reason: `the CPU addon is not built (${path}; bash scripts/build-native.sh)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as Record<string, unknown> };
  } catch (err) {
    return { addon: null, reason: `the CPU addon did not load: ${(err as Error).message.split('\n')[0]}` };
  }
}

// The op codes the CUDA addon adds after the CPU addon's, in its order (native/cuda/addon/eltwise.cc).
const GPU_ONLY_CODES = {
  binaryOpCodes: ['pow', 'maximum', 'minimum', 'mod', 'floorDiv', 'atan2', 'squaredDifference'],
  unaryOpCodes: ['sign', 'rsqrt', 'reciprocal', 'expm1', 'log1p', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh',
    'floor', 'ceil', 'round', 'erf'],
  reduceOpCodes: ['prod'],
} as const;

const DEVICE: CudaDeviceInfo = {
  ordinal: 0, name: 'fake CUDA device (host memory)', computeCapability: [9, 0], smCount: 1, totalMemory: 2 ** 34,
  driverVersion: 12040, runtimeVersion: 12040, memoryPools: false, architectures: '90',
};

export function createFakeCuda(): FakeCuda {
  const { addon: cpu, reason } = cpuAddonForFake();
  if (!cpu) throw new Error(`fake CUDA: ${reason}`);
  const live = new Set<FakeBuffer>();
  const stats: FakeCudaStats = { allocs: 0, frees: 0, uploads: 0, downloads: 0, downloadedElements: 0, kernels: new Map(), calls: [] };
  let tf32 = false;
  let indexError: CudaIndexError | null = null;
  // The first report stands until takeIndexError (the device's first reporting launch; callers pass its smallest position).
  const report = (op: string, argument: string, position: number, value: number, bound: number): void => {
    indexError ??= { op, argument, position, value, bound };
  };

  const buf = (b: CudaBuffer, entry: string): FakeBuffer => {
    if (!(b instanceof FakeBuffer)) throw new TypeError(`${entry}: expected a CUDA buffer`);
    if (b.data === null) throw new Error(`${entry}: the buffer was freed`);
    return b;
  };
  const arr = (b: unknown, entry: string): unknown => (b instanceof FakeBuffer ? buf(b as unknown as CudaBuffer, entry).data : b);
  const checkArray = (b: FakeBuffer, a: HostArray, entry: string): void => {
    const dtype: CudaDType = a instanceof Int32Array ? 'int32' : 'float32';
    if (dtype !== b.dtype || a.length !== b.length) {
      throw new RangeError(`${entry}: the array (${dtype} x ${a.length}) does not match the buffer (${b.dtype} x ${b.length})`);
    }
  };

  const count = (entry: string): void => {
    stats.kernels.set(entry, (stats.kernels.get(entry) ?? 0) + 1);
    stats.calls.push(entry);
  };
  const host = (b: CudaBuffer, entry: string): HostArray => buf(b, entry).data!;
  // The buffer's 32-bit words (float32 and int32 alike), for the copies.
  const words = (b: CudaBuffer, entry: string): Uint32Array => {
    const d = host(b, entry);
    return new Uint32Array(d.buffer, d.byteOffset, d.length);
  };
  const sameDType = (entry: string, p: CudaBuffer, q: CudaBuffer): void => {
    if ((p as unknown as FakeBuffer).dtype !== (q as unknown as FakeBuffer).dtype) throw new TypeError(`${entry}: buffers differ in dtype`);
  };
  // A kernel's result into an output buffer of the same dtype and length.
  const put = (out: CudaBuffer, data: ArrayLike<number>, entry: string): void => {
    const fb = buf(out, entry);
    const want = data instanceof Int32Array ? 'int32' : 'float32';
    if (fb.dtype !== want || fb.length !== data.length) throw new RangeError(`${entry}: the result (${want} x ${data.length}) does not match out`);
    fb.data!.set(data);
    count(entry);
  };
  // Flat offsets of output element i into each input (select.cu BroadcastOffsets), reads checked.
  const broadcastOffsets = (shape: number[], strides: number[][], lengths: number[], n: number, visit: (i: number, off: number[]) => void): void => {
    if (n !== shape.reduce((p, d) => p * d, 1)) throw new RangeError('broadcast: out does not match outShape');
    const off = strides.map(() => 0);
    for (let i = 0; i < n; i++) {
      let rem = i;
      off.fill(0);
      for (let a = shape.length - 1; a >= 0; a--) {
        const c = rem % shape[a];
        rem = Math.floor(rem / shape[a]);
        for (let k = 0; k < strides.length; k++) off[k] += c * strides[k][a];
      }
      for (let k = 0; k < strides.length; k++) if (off[k] >= lengths[k]) throw new RangeError('broadcast: read past the end of an input');
      visit(i, off);
    }
  };

  // The CPU addon's entry of the same name on the buffers' arrays.
  const forward = (name: string, args: unknown[]): void => {
    count(name);
    (cpu[name] as (...a: unknown[]) => unknown).apply(cpu, args.map((a) => arr(a, name)));
  };
  const checkLabels = (op: string, labels: CudaBuffer, out: CudaBuffer, c: number, width: number): void => {
    const lab = host(labels, op);
    if (!(lab instanceof Int32Array)) return;
    const od = host(out, op);
    let first = -1;
    lab.forEach((l, r) => {
      if (l >= 0 && l < c) return;
      if (first < 0) first = r;
      od.fill(NaN, r * width, (r + 1) * width);
    });
    if (first >= 0) report(op, 'labels', first, lab[first], c);
  };
  // The CPU addon's codes, extended by the GPU's; the number of each the CPU addon has.
  const cpuCount = Object.fromEntries(Object.keys(GPU_ONLY_CODES).map((k) => [k, Object.keys(cpu[k] as object).length])) as
    Record<keyof typeof GPU_ONLY_CODES, number>;
  const codes = Object.fromEntries(Object.entries(GPU_ONLY_CODES).map(([k, more]) => [k, Object.freeze({
    ...(cpu[k] as Record<string, number>), ...Object.fromEntries(more.map((name, i) => [name, cpuCount[k as keyof typeof GPU_ONLY_CODES] + i])),
  })])) as Record<keyof typeof GPU_ONLY_CODES, Readonly<Record<string, number>>>;
  const nameOf = (kind: keyof typeof GPU_ONLY_CODES, op: number): string => {
    const name = Object.keys(codes[kind]).find((k) => codes[kind][k] === op);
    if (name === undefined) throw new RangeError(`${kind}: unknown op code ${op}`);
    return name;
  };
  // out[i] = a op b for the pairs visit(i, a, b) is called with: the reference's binary arithmetic on them.
  const binaryGathered = (entry: string, op: number, out: CudaBuffer, n: number,
    pairs: (visit: (i: number, a: number, b: number) => void) => void): void => {
    const ag = new Float32Array(n), bg = new Float32Array(n);
    pairs((i, a, b) => {
      ag[i] = a;
      bg[i] = b;
    });
    put(out, ref.binary(nameOf('binaryOpCodes', op) as BinaryOp, { data: ag, shape: [n] }, { data: bg, shape: [n] }, [n]).data, entry);
  };
  // native/cuda/kernels/softmax.cu along the middle axis of x [outer, len, inner]: the CPU addon's rows of the
  // transpose [outer, inner, len] (the same formulas), moved back.
  const softmaxAlong = (entry: 'softmaxF32' | 'logSoftmaxF32') =>
    (x: CudaBuffer, y: CudaBuffer, outer: number, len: number, inner: number): void => {
      const xd = host(x, entry), yd = host(y, entry);
      if (xd.length !== outer * len * inner || yd.length !== xd.length) throw new RangeError(`${entry}: x and y must hold outer*len*inner elements`);
      const rows = new Float32Array(xd.length), out = new Float32Array(xd.length);
      const each = (f: (at: number, row: number) => void): void => {
        for (let o = 0; o < outer; o++) {
          for (let l = 0; l < len; l++) for (let k = 0; k < inner; k++) f((o * len + l) * inner + k, (o * inner + k) * len + l);
        }
      };
      each((at, row) => { rows[row] = xd[at]; });
      (cpu[entry] as (...a: unknown[]) => void)(rows, out, outer * inner, len);
      each((at, row) => { yd[at] = out[row]; });
      count(entry);
    };

  const fake: Record<string, unknown> = {
    probe: (): CudaProbe => ({ ok: true, device: DEVICE }),
    deviceInfo: (): CudaDeviceInfo => DEVICE,
    synchronize: (): void => undefined,
    memoryInfo: (): CudaMemoryInfo => {
      let bytes = 0;
      for (const b of live) bytes += b.length * 4;
      return { bufferBytes: bytes, scratchBytes: 0, freeBytes: DEVICE.totalMemory - bytes, totalBytes: DEVICE.totalMemory };
    },
    setTf32: (on: boolean): void => {
      tf32 = on;
    },
    tf32: (): boolean => tf32,
    releaseScratch: (): void => undefined,
    dtypeCodes: { float32: 0, int32: 1 },
    alloc(length: number, dtype: number): CudaBuffer {
      if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc: length must be an integer >= 0, got ${length}`);
      if (dtype !== 0 && dtype !== 1) throw new RangeError(`alloc: unknown dtype code ${dtype}`);
      const data = dtype === 1 ? new Int32Array(length).fill(-0x7fffffff) : new Float32Array(length).fill(NaN);
      const b = new FakeBuffer(data, length, dtype === 1 ? 'int32' : 'float32');
      live.add(b);
      stats.allocs++;
      return b as unknown as CudaBuffer;
    },
    free(b: CudaBuffer): void {
      if (!(b instanceof FakeBuffer)) throw new TypeError('free: expected a CUDA buffer');
      if (b.data === null) return;
      b.data = null;
      live.delete(b);
      stats.frees++;
    },
    upload(b: CudaBuffer, a: HostArray): void {
      const fb = buf(b, 'upload');
      checkArray(fb, a, 'upload');
      fb.data!.set(a);
      stats.uploads++;
      stats.calls.push('upload');
    },
    download<A extends HostArray>(b: CudaBuffer, a: A): A {
      const fb = buf(b, 'download');
      checkArray(fb, a, 'download');
      a.set(fb.data as A);
      stats.downloads++;
      stats.downloadedElements += a.length;
      stats.calls.push('download');
      return a;
    },
    fill(b: CudaBuffer, value: number): void {
      const fb = buf(b, 'fill');
      if (fb.dtype !== 'float32') throw new TypeError(`fill: argument 'buffer' must be a float32 device buffer, got ${fb.dtype}`);
      count('fill');
      fb.data!.fill(value);
    },
    copy(dst: CudaBuffer, src: CudaBuffer): void {
      const d = buf(dst, 'copy');
      const s = buf(src, 'copy');
      if (d.dtype !== s.dtype || d.length !== s.length) throw new RangeError('copy: buffers differ in dtype or length');
      d.data!.set(s.data!);
    },
    bufferInfo(b: CudaBuffer) {
      if (!(b instanceof FakeBuffer)) throw new TypeError('bufferInfo: expected a CUDA buffer');
      return { length: b.length, dtype: b.dtype, bytes: b.length * 4, freed: b.data === null };
    },
    binaryOpCodes: codes.binaryOpCodes,
    unaryOpCodes: codes.unaryOpCodes,
    unaryGradOpCodes: cpu.unaryGradOpCodes,
    reduceOpCodes: codes.reduceOpCodes,
    // native/cuda/kernels/eltwise.cu BinaryKernel: out[i] = a[i] op b[i % b.length].
    binaryF32(op: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer): void {
      if (op < cpuCount.binaryOpCodes) return forward('binaryF32', [op, a, b, out]);
      const ad = host(a, 'binaryF32'), bd = host(b, 'binaryF32');
      if (!(bd.length === ad.length || (bd.length >= 1 && ad.length % bd.length === 0))) throw new RangeError('binaryF32: b must divide a');
      binaryGathered('binaryF32', op, out, ad.length, (visit) => {
        for (let i = 0; i < ad.length; i++) visit(i, ad[i], bd[i % bd.length]);
      });
    },
    // native/cuda/kernels/eltwise.cu BinaryBroadcastKernel: the broadcast offsets transcribed.
    binaryBroadcastF32(op: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: number[], aStrides: number[],
      bStrides: number[]): void {
      if (out === a || out === b) throw new RangeError('binaryBroadcastF32: out must not be a or b');
      const ad = host(a, 'binaryBroadcastF32'), bd = host(b, 'binaryBroadcastF32'), n = buf(out, 'binaryBroadcastF32').length;
      binaryGathered('binaryBroadcastF32', op, out, n, (visit) => {
        broadcastOffsets(outShape, [aStrides, bStrides], [ad.length, bd.length], n, (i, off) => visit(i, ad[off[0]], bd[off[1]]));
      });
    },
    unaryF32(op: number, x: CudaBuffer, y: CudaBuffer, alpha: number): void {
      if (op < cpuCount.unaryOpCodes) return forward('unaryF32', [op, x, y, alpha]);
      const xd = host(x, 'unaryF32');
      put(y, ref.unary(nameOf('unaryOpCodes', op) as UnaryOp, { data: xd, shape: [xd.length] }, { alpha }).data, 'unaryF32');
    },
    reduceF32(op: number, x: CudaBuffer, y: CudaBuffer, outer: number, len: number, inner: number): void {
      if (op < cpuCount.reduceOpCodes) return forward('reduceF32', [op, x, y, outer, len, inner]);
      const xd = host(x, 'reduceF32');
      if (xd.length !== outer * len * inner) throw new RangeError('reduceF32: x must hold outer*len*inner elements');
      put(y, ref.reduce(nameOf('reduceOpCodes', op) as ReduceOp, { data: xd, shape: [outer, len, inner] }, [1]).data, 'reduceF32');
    },
    softmaxF32: softmaxAlong('softmaxF32'),
    logSoftmaxF32: softmaxAlong('logSoftmaxF32'),
    matmulActivationCodes: cpu.matmulActivationCodes,
    axpbyF32(alpha: number, x: CudaBuffer, beta: number, y: CudaBuffer): void {
      const xd = buf(x, 'axpbyF32').data!;
      const yd = buf(y, 'axpbyF32').data!;
      for (let i = 0; i < yd.length; i++) yd[i] = alpha * xd[i] + beta * yd[i];
    },
    convAlgorithm: (): string => 'im2col+sgemm',
    copyModeCodes: Object.freeze({ inRange: 0, constant: 1, reflect: 2, symmetric: 3 }),
    compareOpCodes: Object.freeze({ equal: 0, notEqual: 1, less: 2, lessEqual: 3, greater: 4, greaterEqual: 5, logicalAnd: 6, logicalOr: 7 }),
    argReduceOpCodes: Object.freeze({ argMax: 0, argMin: 1 }),
    // native/cuda/kernels/movement.cu StridedCopyKernel, on the words.
    stridedCopy(x: CudaBuffer, out: CudaBuffer, outShape: number[], inDims: number[], inStrides: number[], offsets: number[],
      steps: number[], mode: number, fill: number): void {
      const xs = words(x, 'stridedCopy'), os = words(out, 'stridedCopy');
      sameDType('stridedCopy', x, out);
      if (os.length !== outShape.reduce((p, d) => p * d, 1)) throw new RangeError('stridedCopy: out does not match outShape');
      for (let i = 0; i < os.length; i++) {
        let rem = i, src = 0, inside = true;
        for (let a = outShape.length - 1; a >= 0; a--) {
          const c = rem % outShape[a];
          rem = Math.floor(rem / outShape[a]);
          let p = offsets[a] + c * steps[a];
          const dim = inDims[a];
          if (p < 0 || p >= dim) {
            if (mode === 2) p = p < 0 ? -p : 2 * (dim - 1) - p;
            else if (mode === 3) p = p < 0 ? -p - 1 : 2 * dim - 1 - p;
            else if (mode === 0) throw new RangeError(`stridedCopy: axis ${a} reads position ${p} of ${dim}`);
            else p = -1;
          }
          if (p < 0) inside = false;
          else src += p * inStrides[a];
        }
        if (inside && src >= xs.length) throw new RangeError('stridedCopy: read past the end of x');
        os[i] = inside ? xs[src] : fill;
      }
      count('stridedCopy');
    },
    concatCopy(x: CudaBuffer, out: CudaBuffer, outer: number, chunk: number, outRow: number, offset: number): void {
      const xs = words(x, 'concatCopy'), os = words(out, 'concatCopy');
      sameDType('concatCopy', x, out);
      if (xs.length !== outer * chunk || os.length !== outer * outRow || offset + chunk > outRow) throw new RangeError('concatCopy: bad geometry');
      for (let o = 0; o < outer; o++) os.set(xs.subarray(o * chunk, (o + 1) * chunk), o * outRow + offset);
      count('concatCopy');
    },
    // A bad index: its rows hold the movement.cc poison (a quiet NaN, INT32_MIN for int32), and it is reported.
    gather(x: CudaBuffer, indices: CudaBuffer, out: CudaBuffer, outer: number, dim: number, inner: number): void {
      const idx = host(indices, 'gather') as Int32Array;
      const bad = idx.findIndex((q) => q < 0 || q >= dim);
      if (bad < 0) {
        const r = ref.gather({ data: host(x, 'gather'), shape: [outer, dim, inner] }, { data: idx, shape: [idx.length] }, 1);
        put(out, r.data, 'gather');
        return;
      }
      report('gather', 'indices', bad, idx[bad], dim);
      sameDType('gather', x, out);
      const xs = words(x, 'gather'), os = words(out, 'gather');
      if (xs.length !== outer * dim * inner || os.length !== outer * idx.length * inner) throw new RangeError('gather: bad geometry');
      const poison = (x as unknown as FakeBuffer).dtype === 'int32' ? 0x80000000 : 0x7fc00000;
      for (let o = 0; o < outer; o++) {
        idx.forEach((q, j) => {
          for (let k = 0; k < inner; k++) os[(o * idx.length + j) * inner + k] = q >= 0 && q < dim ? xs[(o * dim + q) * inner + k] : poison;
        });
      }
      count('gather');
    },
    // A bad index (not -1): the whole output NaN, reported.
    scatterAddF32(g: CudaBuffer, indices: CudaBuffer, out: CudaBuffer, outer: number, dim: number, inner: number): void {
      const idx = host(indices, 'scatterAddF32') as Int32Array;
      const gd = host(g, 'scatterAddF32') as Float32Array;
      if (gd.length !== outer * idx.length * inner) throw new RangeError('scatterAddF32: g does not match outer * indices.length * inner');
      const bad = idx.findIndex((q) => q !== -1 && (q < 0 || q >= dim));
      if (bad >= 0) {
        report('scatterAdd', 'indices', bad, idx[bad], dim);
        put(out, new Float32Array(outer * dim * inner).fill(NaN), 'scatterAddF32');
        return;
      }
      put(out, ref.scatterAdd({ data: gd, shape: [outer, idx.length, inner] }, { data: idx, shape: [idx.length] }, dim, 1).data, 'scatterAddF32');
    },
    // The CPU kernels, then the CUDA kernels' check of int labels: a label outside [0, c) gives a NaN row, reported.
    softmaxCrossEntropyF32(logits: CudaBuffer, labels: CudaBuffer, loss: CudaBuffer, n: number, c: number): void {
      forward('softmaxCrossEntropyF32', [logits, labels, loss, n, c]);
      checkLabels('softmaxCrossEntropy', labels, loss, c, 1);
    },
    softmaxCrossEntropyBackwardF32(dloss: CudaBuffer, logits: CudaBuffer, labels: CudaBuffer, dlogits: CudaBuffer, n: number, c: number): void {
      forward('softmaxCrossEntropyBackwardF32', [dloss, logits, labels, dlogits, n, c]);
      checkLabels('softmaxCrossEntropyBackward', labels, dlogits, c, c);
    },
    takeIndexError(): CudaIndexError | null {
      const e = indexError;
      indexError = null;
      return e;
    },
    oneHotF32(indices: CudaBuffer, out: CudaBuffer, depth: number, onValue: number, offValue: number): void {
      const idx = host(indices, 'oneHotF32') as Int32Array;
      put(out, ref.oneHot({ data: idx, shape: [idx.length] }, depth, onValue, offValue).data, 'oneHotF32');
    },
    // native/cuda/kernels/select.cu: the broadcast offsets transcribed, the comparison of the reference.
    compare(op: number, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: number[], aStrides: number[], bStrides: number[]): void {
      sameDType('compare', a, b);
      const names = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'] as const;
      const ad = host(a, 'compare'), bd = host(b, 'compare'), od = host(out, 'compare') as Int32Array;
      broadcastOffsets(outShape, [aStrides, bStrides], [ad.length, bd.length], od.length, (i, off) => {
        od[i] = ref.compare(names[op], { data: ad.subarray(off[0], off[0] + 1), shape: [] }, { data: bd.subarray(off[1], off[1] + 1), shape: [] }, []).data[0];
      });
      count('compare');
    },
    where(cond: CudaBuffer, a: CudaBuffer, b: CudaBuffer, out: CudaBuffer, outShape: number[], cStrides: number[], aStrides: number[],
      bStrides: number[]): void {
      sameDType('where', a, b);
      sameDType('where', a, out);
      const cd = host(cond, 'where') as Int32Array, ad = words(a, 'where'), bd = words(b, 'where'), od = words(out, 'where');
      broadcastOffsets(outShape, [cStrides, aStrides, bStrides], [cd.length, ad.length, bd.length], od.length, (i, off) => {
        od[i] = cd[off[0]] !== 0 ? ad[off[1]] : bd[off[2]];
      });
      count('where');
    },
    clip(x: CudaBuffer, out: CudaBuffer, lo: number, hi: number): void {
      // The CPU addon's entry: a NaN passes with its bits, as in the CUDA kernel (the JS reference's Math.max makes
      // V8's default NaN, sign bit set).
      sameDType('clip', x, out);
      forward('clip', [x, out, lo, hi]);
    },
    cast(x: CudaBuffer, out: CudaBuffer): void {
      const xd = host(x, 'cast');
      put(out, ref.cast({ data: xd, shape: [xd.length] }, (out as unknown as FakeBuffer).dtype).data, 'cast');
    },
    argReduce(op: number, x: CudaBuffer, out: CudaBuffer, outer: number, len: number, inner: number): void {
      const r = ref.argReduce(op === 1 ? 'argMin' : 'argMax', { data: host(x, 'argReduce'), shape: [outer, len, inner] }, 1);
      put(out, r.data, 'argReduce');
    },
    dropoutF32(x: CudaBuffer, y: CudaBuffer, mask: CudaBuffer, rate: number, seed: number): void {
      const xd = host(x, 'dropoutF32') as Float32Array;
      const r = ref.dropout({ data: xd, shape: [xd.length] }, rate, seed);
      put(y, r.y.data, 'dropoutF32');
      put(mask, r.mask.data, 'dropoutF32');
    },
  };
  for (const name of FORWARDED) fake[name] = (...args: unknown[]): void => forward(name, args);
  for (const [name, at] of Object.entries(GUARDED)) {
    fake[name] = (...args: unknown[]): void => {
      if (args.length !== at + 1) throw new TypeError(`${name}: expected ${at + 1} arguments, got ${args.length}`);
      if (args[at] !== null) {
        const p = buf(args[at] as CudaBuffer, name);
        if (p.dtype !== 'float32' || p.length !== 1) throw new RangeError(`${name}: argument 'probe' must be one float32, got ${p.dtype} x ${p.length}`);
        if (!Number.isFinite(p.data![0])) {  // the guard: nothing is written
          count(name);
          return;
        }
      }
      forward(name, args.slice(0, at));
    };
  }
  return Object.assign(fake as unknown as CudaAddon, {
    stats,
    liveBuffers: (): number => live.size,
    resetStats: (): void => {
      stats.allocs = stats.frees = stats.uploads = stats.downloads = stats.downloadedElements = 0;
      stats.kernels.clear();
      stats.calls.length = 0;
    },
  });
}

/**
 * For a describe block: a fresh fake installed before its tests (setCudaAddonForTesting), handed to `onInstall`, with
 * the native backend on the CPU side of every comparison (the kernels the fake forwards to, whatever
 * NODEGRAD_BACKEND says); both undone after the block.
 */
export function useFakeCuda(onInstall: (fake: FakeCuda) => void): void {
  let prevBackend: BackendName;
  beforeAll(() => {
    const fake = createFakeCuda();
    setCudaAddonForTesting(fake);
    prevBackend = getBackend().name as BackendName;
    setBackend('native');
    onInstall(fake);
  });
  afterAll(() => {
    setCudaAddonForTesting(null);
    setBackend(prevBackend);
  });
}
