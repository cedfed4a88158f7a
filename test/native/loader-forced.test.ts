/**
 * loadNativeBackend() when the addon refuses to load (NODEGRAD_ISA names a path the CPU cannot run): it
 * returns { backend: null, error } with the addon's message instead of throwing, and nativeInfo() is null.
 * vitest's forks pool gives each test file a fresh process, so the addon's load-time dispatch runs here
 * with the variable set; the guard below skips (loudly) if some earlier file already loaded it.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const alreadyLoaded = Object.keys(require.cache).some((k) => k.endsWith('.node'));
// x64 never has neon; arm64 never has avx2.
const impossible = process.arch === 'arm64' ? 'avx2' : 'neon';
if (alreadyLoaded) console.warn('loader-forced.test: the addon was already loaded in this worker; skipping');

describe('loadNativeBackend with an impossible NODEGRAD_ISA', () => {
  it.skipIf(alreadyLoaded)(`NODEGRAD_ISA=${impossible}: backend null, error says why, never throws`, async () => {
    const saved = process.env.NODEGRAD_ISA;
    process.env.NODEGRAD_ISA = impossible;
    try {
      const { loadNativeBackend, nativeInfo } = await import('../../src/backends/native/index.js');
      const r = loadNativeBackend();
      expect(r.backend).toBeNull();
      expect(r.error).toMatch(new RegExp(`^nodegrad: NODEGRAD_ISA=${impossible} asks for a path this CPU or build cannot run`));
      expect(r.addonPath).toMatch(/\.node$/);
      expect(loadNativeBackend()).toBe(r);
      expect(nativeInfo()).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.NODEGRAD_ISA;
      else process.env.NODEGRAD_ISA = saved;
    }
  });
});
