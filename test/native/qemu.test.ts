/**
 * Portability under emulated CPUs (qemu-user, Linux x64 only): the same nodegrad.node picks avx2 on a
 * Haswell (AVX2+FMA, no AVX-512) and scalar on a Nehalem (no AVX), and natively avx512 where the host has
 * it. qemu raises SIGILL for any instruction the emulated model lacks, so the exactness child finishing
 * under each model also proves the chosen path and the baseline addon code stay within that ISA.
 * Skipped, with a printed reason, when qemu-x86_64 is not installed.
 */
import { describe, expect, it } from 'vitest';

import { expectedIsa, hasQemuX86, runChild, runEval } from './harness.js';

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
const qemu = onLinuxX64 && hasQemuX86();
if (!onLinuxX64) console.warn('qemu.test: skipped, qemu-user ISA checks run on Linux x64 only');
else if (!qemu) console.warn('qemu.test: skipped, qemu-x86_64 is not installed (Debian/Ubuntu: apt-get install qemu-user)');

const PRINT_ISA = 'const a = require("node-gyp-build")(process.cwd()); const i = a.isaInfo(); console.log(JSON.stringify({ isa: i.isa, available: i.available }))';
const QEMU_TIMEOUT = 120_000;

describe('ISA choice on emulated CPUs', () => {
  it.skipIf(!qemu)('qemu -cpu Haswell: avx2', () => {
    const out = JSON.parse(runEval(PRINT_ISA, 'Haswell'));
    expect(out).toEqual({ isa: 'avx2', available: ['avx2', 'scalar'] });
  }, QEMU_TIMEOUT);

  it.skipIf(!qemu)('qemu -cpu Nehalem: scalar', () => {
    const out = JSON.parse(runEval(PRINT_ISA, 'Nehalem'));
    expect(out).toEqual({ isa: 'scalar', available: ['scalar'] });
  }, QEMU_TIMEOUT);

  const hostHasAvx512 = onLinuxX64 && expectedIsa() === 'avx512';
  if (onLinuxX64 && !hostHasAvx512) console.warn('qemu.test: the host has no AVX-512; the native avx512 check is skipped');
  it.skipIf(!hostHasAvx512)('natively on this AVX-512 host: avx512', () => {
    const out = JSON.parse(runEval(PRINT_ISA));
    expect(out).toEqual({ isa: 'avx512', available: ['avx512', 'avx2', 'scalar'] });
  });
});

describe('the chosen path runs, exactly, on the emulated CPU', () => {
  it.skipIf(!qemu)('Haswell: avx2 kernels, no AVX-512 instruction anywhere on the path', () => {
    const r = runChild(undefined, 'Haswell');
    expect(r.info?.isa).toBe('avx2');
    expect(r.info?.cpu).toMatchObject({ avx2: true, fma: true, osYmm: true, avx512f: false, osZmm: false });
    expect(r.failures).toEqual([]);
  }, QEMU_TIMEOUT);

  it.skipIf(!qemu)('Nehalem: scalar kernels, no AVX instruction anywhere on the path', () => {
    const r = runChild(undefined, 'Nehalem');
    expect(r.info?.isa).toBe('scalar');
    expect(r.info?.cpu).toMatchObject({ avx: false, avx2: false, osxsave: false, osYmm: false });
    expect(r.failures).toEqual([]);
  }, QEMU_TIMEOUT);

  it.skipIf(!qemu)('Nehalem with NODEGRAD_ISA=avx2: refuses to load instead of faulting', () => {
    const r = runChild('avx2', 'Nehalem');
    expect(r.loadError).toMatch(/NODEGRAD_ISA=avx2 asks for a path this CPU or build cannot run \(this CPU runs: scalar\)/);
  }, QEMU_TIMEOUT);
});
