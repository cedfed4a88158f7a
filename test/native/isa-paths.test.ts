/**
 * Every ISA path this machine can run, each chosen the production way (NODEGRAD_ISA read once when a fresh
 * process loads the addon), gives float32 add/sub/mul/div equal to a plain JS loop element for element
 * (Object.is: bit-equal, -0 distinct from 0, any NaN equal to any NaN) over lengths 0..1000 that cross
 * every tile and tail, NaN/Inf/-0/denormal operands, scalar and row broadcasts and in-place outputs.
 * Forcing a path the CPU lacks, or an unknown name, makes the load fail with a message.
 */
import { describe, expect, it } from 'vitest';

import type { IsaName } from '../../src/backends/native/index.js';
import { nativeInfo } from '../../src/backends/native/index.js';
import { runChild } from './harness.js';

const available = (nativeInfo()?.available ?? ['scalar']) as IsaName[];

describe('every available ISA path matches a plain JS loop exactly', () => {
  for (const isa of available) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const r = runChild(isa);
      expect(r.loadError).toBeUndefined();
      expect(r.info?.isa).toBe(isa);
      expect(r.info?.forced).toBe(true);
      expect(r.info?.kernels.binaryF32).toMatch(isa === 'scalar' ? /^ng_f32_binary_x1_ref$/ : new RegExp(`^ng_f32_binary_x\\d+_${isa}$`));
      expect(r.failures).toEqual([]);
      expect(r.checked).toBeGreaterThan(100_000);
    });
  }

  it('NODEGRAD_ISA unset picks the fastest path, unforced', () => {
    const r = runChild(undefined);
    expect(r.info?.isa).toBe(available[0]);
    expect(r.info?.forced).toBe(false);
    expect(r.failures).toEqual([]);
  });

  it('NODEGRAD_ISA=auto is the same as unset', () => {
    const r = runChild('auto');
    expect(r.info?.isa).toBe(available[0]);
    expect(r.info?.forced).toBe(false);
  });
});

describe('forcing a path the CPU cannot run is a load error, never an illegal instruction', () => {
  const missing = (['avx512', 'avx2', 'neon'] as IsaName[]).filter((isa) => !available.includes(isa));

  for (const isa of missing) {
    it(`NODEGRAD_ISA=${isa} refuses to load`, () => {
      const r = runChild(isa);
      expect(r.info).toBeUndefined();
      expect(r.loadError).toMatch(new RegExp(`NODEGRAD_ISA=${isa} asks for a path this CPU or build cannot run \\(this CPU runs: ${available.join(', ')}\\)`));
    });
  }

  it('an unknown NODEGRAD_ISA value refuses to load and lists the valid ones', () => {
    const r = runChild('sse4');
    expect(r.loadError).toMatch(/NODEGRAD_ISA='sse4' is not an ISA path \(use auto, scalar, neon, avx2 or avx512/);
  });
});
