/**
 * The native CPU backend: the reference backend with the kernels the addon implements swapped in (today:
 * elementwise binary add/sub/mul/div on float32). The addon's ISA path (AVX-512, AVX2, NEON or scalar) is
 * chosen once when it loads; NODEGRAD_ISA=scalar|avx2|avx512|neon forces one the CPU can run, and naming
 * one it cannot run makes the load fail with a message (loadNativeBackend().error).
 */
import type { Backend } from '../backend.js';
import { referenceBackend } from '../reference/index.js';
import { loadAddon, type IsaInfo } from './addon.js';
import { makeBinary } from './elementwise.js';

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
  const backend: Backend = { ...referenceBackend, name: 'native', binary: makeBinary(addon) };
  cached = { backend, addonPath: path };
  return cached;
}

/** The addon's ISA report (which path runs, which could, the CPU features), or null when it did not load. */
export function nativeInfo(): IsaInfo | null {
  const { addon } = loadAddon();
  return addon ? addon.isaInfo() : null;
}
