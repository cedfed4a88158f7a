/**
 * The native CPU backend: the reference backend with the kernels the addon implements swapped in. Each op
 * family's file (elementwise.ts, matmul.ts, conv.ts, pool.ts, norm.ts, movement.ts, select.ts) returns the Backend entries it
 * overrides; a kernel none of them provides runs on the reference backend. The addon's ISA path (AVX-512, AVX2, NEON or scalar) is
 * chosen once when it loads; NODEGRAD_ISA=scalar|avx2|avx512|neon forces one the CPU can run, and naming
 * one it cannot run makes the load fail with a message (loadNativeBackend().error).
 */
import type { Backend } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import { loadAddon, type IsaInfo } from './addon.js';
import { setAlignmentProbe } from '../storage.js';
import { elementwiseKernels } from './elementwise.js';
import { matmulKernels } from './matmul.js';
import { convKernels } from './conv.js';
import { poolKernels } from './pool.js';
import { normKernels } from './norm.js';
import { movementKernels } from './movement.js';
import { selectKernels } from './select.js';

export type { IsaInfo, IsaName, NativeAddon } from './addon.js';
export { rowBroadcastLength } from './elementwise.js';

export interface NativeLoad {
  readonly backend: Backend | null;
  /** Why the addon did not load (missing build, NODEGRAD_ISA the CPU cannot run, ...). */
  readonly error?: string;
  /** The .node file node-gyp-build resolved (build/Release or prebuilds/). */
  readonly addonPath?: string;
}

let cached: NativeLoad | undefined;

/** The native backend, or null and the reason; loaded once and cached, never throws. */
export function loadNativeBackend(): NativeLoad {
  if (cached) return cached;
  const { addon, path, error } = loadAddon();
  if (!addon) {
    cached = { backend: null, error: error ?? 'the native addon did not load', addonPath: path };
    return cached;
  }
  if (typeof addon.alignmentOffset === 'function') setAlignmentProbe((b) => addon.alignmentOffset(b));
  const families = [elementwiseKernels, matmulKernels, convKernels, poolKernels, normKernels, movementKernels, selectKernels]
    .map((f) => f(addon));
  const backend: Backend = {
    ...referenceBackend,
    ...Object.assign({}, ...families),
    name: 'native',
    // Each family's Promise forms, merged rather than overwritten.
    async: Object.assign({}, ...families.map((f) => f.async ?? {})),
  };
  cached = { backend, addonPath: path };
  return cached;
}

/** The addon's ISA report (which path runs, which could, the CPU features), or null when it did not load. */
export function nativeInfo(): IsaInfo | null {
  const { addon } = loadAddon();
  return addon ? addon.isaInfo() : null;
}

/** Threads the native kernels split work over (NODEGRAD_NUM_THREADS, else the core count); 1 without the addon. */
export function getNumThreads(): number {
  const { addon } = loadAddon();
  return addon ? addon.numThreads() : 1;
}

/** Sets the native thread pool's size for later kernels (an integer >= 1). */
export function setNumThreads(n: number): void {
  const { addon } = loadAddon();
  if (addon) addon.setNumThreads(n);
}
