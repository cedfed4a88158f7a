/**
 * Which device buffers may have changed since a download, for device-storage.ts's warning about repeated reads of
 * unchanged storage. The loaded addon is wrapped once: every entry that is handed a buffer, other than the reads
 * (download, bufferInfo, free), counts as writing each buffer it is handed. Inputs count too, on purpose: a storage
 * is called unchanged only when nothing at all touched its buffer, so in-place writes (the optimizers' updates,
 * Variable.assign's copy, uploads) count wherever they are called from, and the warning is never wrong.
 */
import type { CudaAddon, CudaBuffer } from './addon.js';

const generations = new WeakMap<object, number>();
const READS = new Set(['download', 'bufferInfo', 'free']);

const isBuffer = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

/** `addon` with every entry counting the buffers it is handed (other properties are the addon's own). */
export function trackWrites(addon: CudaAddon): CudaAddon {
  const tracked = Object.create(addon) as Record<string, unknown>;
  for (const [name, entry] of Object.entries(addon)) {
    if (typeof entry !== 'function' || READS.has(name)) continue;
    const f = entry as (...args: unknown[]) => unknown;
    tracked[name] = (...args: unknown[]): unknown => {
      for (const a of args) if (isBuffer(a)) generations.set(a, (generations.get(a) ?? 0) + 1);
      return f.apply(addon, args);
    };
  }
  return tracked as unknown as CudaAddon;
}

/** How many entries have been handed `buffer` (0: none since it was allocated). */
export function writeGeneration(buffer: CudaBuffer): number {
  return generations.get(buffer) ?? 0;
}
