/**
 * The optional CUDA backend's loader. nodegrad_cuda.node is built separately (`npm run build:cuda`, needs the CUDA
 * toolkit) and loaded lazily, on the first loadCuda(): from NODEGRAD_CUDA_ADDON when set, else
 * build-cuda/Release/ or prebuilds/<platform>-<arch>/. Loading never throws: without the file, without a driver or
 * without a GPU the result is { addon: null, reason }, and warnCudaUnavailable() says so once:
 *   nodegrad: CUDA backend not available (<reason>); using the CPU backend
 * NODEGRAD_CUDA=0 turns the backend off. Device-resident tensors (`tensor.to('cuda')`, `model.to('cuda')`) build on
 * this: device-storage.ts holds their buffers, tensor-backend.ts runs ops on them (kernels.ts's device kernels).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { packageRoot } from '../native/addon.js';
import type { CudaAddon, CudaDeviceInfo } from './addon.js';
import { trackWrites } from './writes.js';

export type { CudaAddon, CudaBuffer, CudaDeviceInfo, CudaDType, CudaMemoryInfo, CudaProbe } from './addon.js';

export interface CudaLoad {
  /** The addon, with a usable device behind it; null otherwise. */
  readonly addon: CudaAddon | null;
  /** Why addon is null: not built, failed to load, no driver or device, disabled. */
  readonly reason?: string;
  /** The .node file that was (or would have been) loaded. */
  readonly path?: string;
  readonly device?: CudaDeviceInfo;
}

/** Where the addon is looked for, in order. */
export function cudaAddonCandidates(): string[] {
  const fromEnv = process.env.NODEGRAD_CUDA_ADDON;
  if (fromEnv) return [fromEnv];
  return [
    join(packageRoot, 'build-cuda', 'Release', 'nodegrad_cuda.node'),
    join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'nodegrad_cuda.node'),
  ];
}

let cached: CudaLoad | undefined;
let testAddon: CudaLoad | undefined;

/**
 * TEST-ONLY: makes loadCuda() return `addon` (e.g. test/helpers/fake-cuda.ts, which keeps "device" buffers in host
 * memory) so that device-resident tensors can be tested without a GPU; null goes back to the real loader. Never
 * call this in library or user code: it swaps the device under every live CUDA tensor.
 */
export function setCudaAddonForTesting(addon: CudaAddon | null): void {
  if (addon === null) {
    testAddon = undefined;
    return;
  }
  const probe = addon.probe();
  testAddon = probe.ok ? { addon: trackWrites(addon), path: '<test double>', device: probe.device } : { addon: null, reason: probe.reason };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0].trim();
}

function load(): CudaLoad {
  if (process.env.NODEGRAD_CUDA === '0') return { addon: null, reason: 'disabled by NODEGRAD_CUDA=0' };
  const candidates = cudaAddonCandidates();
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    return process.env.NODEGRAD_CUDA_ADDON
      ? { addon: null, reason: `NODEGRAD_CUDA_ADDON=${process.env.NODEGRAD_CUDA_ADDON} does not exist`, path: candidates[0] }
      : { addon: null, reason: 'the CUDA addon is not built (npm run build:cuda, with the CUDA toolkit installed)', path: candidates[0] };
  }
  let addon: CudaAddon;
  try {
    addon = createRequire(import.meta.url)(path) as CudaAddon;
  } catch (err) {
    return { addon: null, reason: `${path} did not load: ${firstLine(err)}`, path };
  }
  let probe: ReturnType<CudaAddon['probe']>;
  try {
    probe = addon.probe();
  } catch (err) {
    return { addon: null, reason: firstLine(err), path };
  }
  if (!probe.ok) return { addon: null, reason: probe.reason, path };
  return { addon: trackWrites(addon), path, device: probe.device };
}

/**
 * The CUDA addon and its device, or null and the reason; loaded on the first call and cached (reload: look again,
 * e.g. after building the addon in this process or changing NODEGRAD_CUDA*). Never throws.
 */
export function loadCuda(options: { readonly reload?: boolean } = {}): CudaLoad {
  if (testAddon) return testAddon;
  if (!cached || options.reload) cached = load();
  return cached;
}

/** True when the CUDA addon loaded and found a device. */
export function cudaAvailable(): boolean {
  return loadCuda().addon !== null;
}

/** The one-line note for a user who asked for CUDA without having it, or undefined when CUDA is available. */
export function cudaUnavailableMessage(): string | undefined {
  const { addon, reason } = loadCuda();
  return addon ? undefined : `nodegrad: CUDA backend not available (${reason ?? 'unknown reason'}); using the CPU backend`;
}

let warned = false;

/** Prints cudaUnavailableMessage() with console.warn, once per process; returns whether CUDA is available. */
export function warnCudaUnavailable(): boolean {
  const message = cudaUnavailableMessage();
  if (message !== undefined && !warned) {
    warned = true;
    console.warn(message);
  }
  return message === undefined;
}
