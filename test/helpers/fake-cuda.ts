/**
 * A test double of nodegrad_cuda.node (src/backends/cuda/addon.ts) on host memory, so that device-resident tensors
 * run in CI without a GPU: a "device buffer" is a host Float32Array / Int32Array behind an opaque handle, and every
 * kernel entry forwards to the CPU addon's entry of the same name (the CUDA addon takes the CPU addon's arguments
 * with buffers in place of typed arrays), so results are the CPU backend's, bit for bit where the TS layers call the
 * kernels alike.
 *
 * It keeps the real addon's buffer rules (uninitialised allocations are NaN-poisoned, free twice is allowed, a freed
 * buffer throws on use, dtype and length must match on upload and download) and counts what tests assert on: live
 * buffers, allocations, frees, transfers and the elements read back.
 *
 * Install it with setCudaAddonForTesting(createFakeCuda()) (src/backends/cuda/index.ts); test-only.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

import type { CudaAddon, CudaBuffer, CudaDeviceInfo, CudaDType, CudaMemoryInfo, CudaProbe } from '../../src/backends/cuda/addon.js';
import { packageRoot } from '../../src/backends/native/addon.js';

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
}

export interface FakeCuda extends CudaAddon {
  readonly stats: FakeCudaStats;
  /** Buffers allocated and not freed. */
  liveBuffers(): number;
  resetStats(): void;
}

// The kernel entries forwarded to the CPU addon (same names, same arguments with arrays for buffers).
const FORWARDED = [
  'binaryF32', 'unaryF32', 'unaryGradF32', 'reduceF32', 'softmaxF32', 'logSoftmaxF32', 'softmaxCrossEntropyF32',
  'softmaxCrossEntropyBackwardF32', 'matmulF32', 'gemmF32', 'conv2dF32', 'conv2dBackwardDataF32', 'conv2dBackwardFilterF32',
  'maxPool2dF32', 'maxPool2dBackwardF32', 'avgPool2dF32', 'avgPool2dBackwardF32', 'globalPool2dF32', 'globalPool2dBackwardF32',
  'batchNormTrainF32', 'batchNormInferF32', 'batchNormBackwardF32', 'adamUpdateF32', 'sgdUpdateF32',
] as const;

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

const DEVICE: CudaDeviceInfo = {
  ordinal: 0, name: 'fake CUDA device (host memory)', computeCapability: [9, 0], smCount: 1, totalMemory: 2 ** 34,
  driverVersion: 12040, runtimeVersion: 12040, memoryPools: false, architectures: '90',
};

export function createFakeCuda(): FakeCuda {
  const { addon: cpu, reason } = cpuAddonForFake();
  if (!cpu) throw new Error(`fake CUDA: ${reason}`);
  const live = new Set<FakeBuffer>();
  const stats: FakeCudaStats = { allocs: 0, frees: 0, uploads: 0, downloads: 0, downloadedElements: 0, kernels: new Map() };
  let tf32 = false;

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
    },
    download<A extends HostArray>(b: CudaBuffer, a: A): A {
      const fb = buf(b, 'download');
      checkArray(fb, a, 'download');
      a.set(fb.data as A);
      stats.downloads++;
      stats.downloadedElements += a.length;
      return a;
    },
    fill(b: CudaBuffer, value: number): void {
      buf(b, 'fill').data!.fill(value);
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
    binaryOpCodes: cpu.binaryOpCodes,
    unaryOpCodes: cpu.unaryOpCodes,
    unaryGradOpCodes: cpu.unaryGradOpCodes,
    reduceOpCodes: cpu.reduceOpCodes,
    matmulActivationCodes: cpu.matmulActivationCodes,
    axpbyF32(alpha: number, x: CudaBuffer, beta: number, y: CudaBuffer): void {
      const xd = buf(x, 'axpbyF32').data!;
      const yd = buf(y, 'axpbyF32').data!;
      for (let i = 0; i < yd.length; i++) yd[i] = alpha * xd[i] + beta * yd[i];
    },
    convAlgorithm: (): string => 'im2col+sgemm',
  };
  for (const name of FORWARDED) {
    const f = cpu[name] as (...args: unknown[]) => unknown;
    fake[name] = (...args: unknown[]): void => {
      stats.kernels.set(name, (stats.kernels.get(name) ?? 0) + 1);
      f.apply(cpu, args.map((a) => arr(a, name)));
    };
  }
  return Object.assign(fake as unknown as CudaAddon, {
    stats,
    liveBuffers: (): number => live.size,
    resetStats: (): void => {
      stats.allocs = stats.frees = stats.uploads = stats.downloads = stats.downloadedElements = 0;
      stats.kernels.clear();
    },
  });
}
