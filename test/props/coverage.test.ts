/**
 * The props suite covers every kernel of the Backend interface, and says which are native on this path.
 * - KERNEL_NAMES (test/helpers/backends.ts) is a Record over keyof Backend, so a kernel added to the interface
 *   fails typecheck until listed there; here it must also equal the reference backend's entries.
 * - Every kernel name appears as `kernel: '<name>'` in some test/props/*.props.test.ts file: a new kernel
 *   needs a property before this passes. New native kernels need nothing: the comparison picks them up.
 * - When NODEGRAD_ISA forces a path (the props-<isa> vitest projects), the addon really runs on it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { nativeInfo } from '../../src/backends/native/index.js';
import { KERNEL_NAMES, coverageLine, nativeAsyncKernels, nativeLoadError, referenceBackend } from '../helpers/backends.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const sources = readdirSync(dir).filter((f) => f.endsWith('.props.test.ts')).map((f) => readFileSync(dir + f, 'utf8'));

console.log(coverageLine('all kernels', KERNEL_NAMES));
console.log(`[props all kernels] Promise forms on the native backend: ${nativeAsyncKernels().join(', ') || '(none)'}`);

describe('props coverage', () => {
  it('KERNEL_NAMES lists exactly the Backend kernels', () => {
    const ref = Object.keys(referenceBackend).filter((k) => k !== 'name' && k !== 'async').sort();
    expect([...KERNEL_NAMES].sort()).toEqual(ref);
  });

  it.each(KERNEL_NAMES)('%s has a property test', (k) => {
    expect(sources.some((s) => s.includes(`kernel: '${k}'`) || new RegExp(`kernel = [^;]*'${k}'`).test(s))).toBe(true);
  });

  const forced = process.env.NODEGRAD_ISA;
  it.skipIf(!forced || forced === 'auto')(`the addon runs the forced path NODEGRAD_ISA=${forced}`, () => {
    expect(nativeLoadError).toBeUndefined();
    expect(nativeInfo()?.isa).toBe(forced);
  });
});
