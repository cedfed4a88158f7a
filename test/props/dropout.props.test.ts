/**
 * Properties: native dropout against the reference: the mask is a pure function of (seed, element index) and
 * rate (mask = 1/(1-rate) rounded to float32 where philoxUniform(seed, i) >= rate, else 0) and y = x * mask
 * with that stored mask, so every backend and thread count must agree bit for bit: exact, for rates that are not
 * float32 numbers (0.1, 0.3) and rates next to a draw (1 - 2^-24), over lengths across vector tails and
 * counter blocks, seeds above 2^32 (both key words).
 */
import { describe, it } from 'vitest';

import { checkKernel, fcParams, reportCoverage } from '../helpers/backends.js';
import { f32data, fc, fmt, lengthArb, seedArb, shapeArb, sizeOf, tf } from './arb.js';

reportCoverage('dropout', ['dropout']);

describe('props: dropout, native vs reference (exact)', () => {
  it('dropout: mask and y', () => {
    fc.assert(
      fc.property(
        fc.oneof(lengthArb.map((n) => [n]), shapeArb(1, 4, 4000)),
        fc.oneof(fc.constantFrom(0, 0.1, 0.3, 0.5, 0.9, 1 - 2 ** -24, 0.5 + 2 ** -25), fc.double({ min: 0, max: 0.99, noNaN: true })),
        fc.oneof(seedArb, fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER)),
        seedArb,
        (shape, rate, seed, dataSeed) => {
          const x = tf(f32data(sizeOf(shape), dataSeed, { specialRate: 0.02 }), shape);
          checkKernel({
            kernel: 'dropout', what: `x ${fmt(shape)} rate ${rate} seed ${seed}`,
            run: (b) => { const o = b.dropout(x, rate, seed); return { y: o.y, mask: o.mask }; },
            tol: 'exact', inputs: [x],
          });
        },
      ),
      fcParams(100, 'dropout'),
    );
  });
});
