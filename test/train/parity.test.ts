/**
 * The W1 parity run (bench/parity/w1.js, README there): the anchors' MNIST convnet trained 50 Adam steps in nodegrad
 * (this source tree) and in PyTorch from the same initial weights on the same batches. Asserts the tolerances of
 * bench/parity/README.md ("Tolerance"): teacher-forced loss and gradients at float32 rounding level every step,
 * free-running losses within 2e-2, and model.fit ending bit-identical to the hand-written step loop.
 * Skips (saying why) when /usr/bin/python3 has no torch. About 15-20 s on a 2-core machine.
 */
import { describe, expect, it } from 'vitest';

import * as ng from '../../src/index.js';
import { TOLERANCE, formatReport, runParity, torchMissing } from '../../bench/parity/w1.js';

const missing = torchMissing();
if (missing) console.warn(`parity.test: PyTorch side skipped: ${missing}`);

describe('W1 parity with PyTorch', () => {
  it.skipIf(missing !== null)('trains like PyTorch from the same weights on the same batches', async () => {
    const r = await runParity(ng);
    console.log(formatReport(r));
    expect(r.skipped).toBeUndefined();
    expect(r.fitBitIdentical).toBe(true);
    const v = r.verdict!;
    expect(v.teacherLoss.value).toBeLessThanOrEqual(TOLERANCE.teacherLoss);
    expect(v.teacherGradMedian.value).toBeLessThanOrEqual(TOLERANCE.teacherGradMedian);
    expect(v.teacherGradMax.value).toBeLessThanOrEqual(TOLERANCE.teacherGradMax);
    expect(v.freeLoss.value).toBeLessThanOrEqual(TOLERANCE.freeLoss);
    expect(r.ok).toBe(true);
  }, 300_000);

  it('model.fit matches the step loop bit for bit (no PyTorch needed)', async () => {
    if (!missing) return; // covered by the full run above
    const r = await runParity(ng, { steps: 10 });
    expect(r.skipped).toMatch(/PyTorch not available/);
    expect(r.fitBitIdentical).toBe(true);
  }, 120_000);
});
