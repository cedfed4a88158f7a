/**
 * Kernel-level checks of the CUDA backend on the fake addon (test/helpers/fake-cuda.ts): a Backend call on device
 * tensors against the CPU backend's, bit for bit, with no fallback. Test-only.
 */
import { expect, vi } from 'vitest';

import type { Backend, KTensor } from '../../src/backends/backend.js';
import { cudaFallbacks, cudaTensorBackend } from '../../src/backends/cuda/tensor-backend.js';
import { getBackend } from '../../src/backends/registry.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { FakeCuda } from './fake-cuda.js';

/** Float32 values that stress the semantics: NaN, +-0, +-Infinity, ties, a fraction; deterministic. */
export const awkward = (n: number, seed: number): Float32Array => {
  const pool = [NaN, -0, 0, Infinity, -Infinity, 1, -1, 2, 2, -3, 0.5, 1.25, -2.75, 3e9, -7];
  let s = seed;
  return Float32Array.from({ length: n }, () => pool[(s = (s * 1103515245 + 12345) % 2147483648) % pool.length]);
};

/** The 32-bit words of a float32 or int32 array. */
export const words = (a: ArrayLike<number>): number[] => {
  const t = a as Float32Array | Int32Array;
  return Array.from(new Uint32Array(t.buffer, t.byteOffset, t.length));
};

const dtypeOf = (k: KTensor): string => ((k as { dtype?: string }).dtype ?? (k.data instanceof Int32Array ? 'int32' : 'float32'));

/** A Backend call; `on` gives a tensor argument as the backend takes it (any: int32 arguments are ITensors). */
export type CpuMatchRun = (b: Backend, on: (t: Tensor) => any) => KTensor | Record<string, KTensor>;

/**
 * Runs `run` on the CPU backend (or `cpuRun`, an oracle computed another way) and on the CUDA one (device tensors
 * in): the CUDA results must come from `entry` (the fake counts its calls), read nothing back while computing (a
 * fallback downloads), warn nothing, and equal the CPU's bit for bit with its dtype and shape.
 */
export function matchesCpuOn(fake: FakeCuda, entry: string, run: CpuMatchRun, cpuRun: CpuMatchRun = run): void {
  const want = cpuRun(getBackend(), (t) => t);
  const fellBefore = [...cudaFallbacks()];
  const ins: Tensor[] = [];
  const warn = vi.spyOn(console, 'warn');
  let got: KTensor | Record<string, KTensor>;
  try {
    const up = (t: Tensor): Tensor => {
      const d = t.to('cuda');
      ins.push(d);
      return d;
    };
    fake.resetStats();
    got = run(cudaTensorBackend(), up);
    expect(fake.stats.downloads, `${entry}: nothing read back`).toBe(0);
    expect(fake.stats.kernels.get(entry), `${entry} ran`).toBeGreaterThan(0);
    expect(warn.mock.calls.filter((c) => /CUDA/.test(String(c[0])))).toEqual([]);
  } finally {
    warn.mockRestore();
  }
  expect(cudaFallbacks()).toEqual(fellBefore);
  const pairs: [string, KTensor, KTensor][] = 'shape' in want
    ? [['out', want as KTensor, got as KTensor]]
    : Object.keys(want).map((k) => [k, (want as Record<string, KTensor>)[k], (got as Record<string, KTensor>)[k]]);
  for (const [k, w, g] of pairs) {
    expect((g as { device?: string }).device, `${entry} ${k}`).toBe('cuda');
    expect(g.shape, `${entry} ${k}`).toEqual(w.shape);
    expect(dtypeOf(g), `${entry} ${k}`).toBe(dtypeOf(w));
    expect(words(g.data), `${entry} ${k}`).toEqual(words(w.data));
    (g as unknown as { dispose(): void }).dispose();
  }
  for (const t of ins) t.dispose();
}
