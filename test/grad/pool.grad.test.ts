/**
 * Finite-difference checks (float64) of the reference pooling gradients: maxPool2dBackward, avgPool2dBackward
 * and globalPool2dBackward in both modes, over seeded random attributes. Max pooling is checked at inputs that
 * are a random permutation of 0..n-1 times 0.01 (centred), so values differ by >= 0.01 >> h = 1e-5 and no argmax
 * flips inside a difference; there every op is linear in x, so gradCheck's default tolerance 1e-6 applies with
 * only rounding error (~eps64 |L| / h ~ 1e-10) left.
 */
import { describe, it } from 'vitest';
import {
  avgPool2d, avgPool2dBackward, globalPool2d, globalPool2dBackward, maxPool2d, maxPool2dBackward,
} from '../../src/backends/reference/pool.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { GlobalPoolMode, Pool2DAttrs } from '../../src/backends/backend.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { Rng, uniformF64 } from '../helpers/random.js';

/** Distinct values spaced 0.01 apart, in random order, centred on 0 so padding would matter if it could win. */
function spacedPermutation(n: number, rng: Rng): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v.map((k) => (k - n / 2) * 0.01);
}

interface Case {
  xShape: number[];
  attrs: Pool2DAttrs;
}

function randomCase(rng: Rng): Case {
  for (;;) {
    const KH = rng.int(1, 3);
    const KW = rng.int(1, 3);
    const xShape = [rng.int(1, 2), rng.int(1, 6), rng.int(1, 6), rng.pick([1, 2, 3])];
    // Pads below the pool size, as the ops layer guarantees.
    const attrs: Pool2DAttrs = {
      poolSize: [KH, KW],
      strides: [rng.int(1, 3), rng.int(1, 3)],
      pads: [rng.int(0, KH - 1), rng.int(0, KH - 1), rng.int(0, KW - 1), rng.int(0, KW - 1)],
    };
    const OH = windowOutSize(xShape[1], KH, attrs.strides[0], 1, attrs.pads[0], attrs.pads[1]);
    const OW = windowOutSize(xShape[2], KW, attrs.strides[1], 1, attrs.pads[2], attrs.pads[3]);
    if (OH >= 1 && OW >= 1) return { xShape, attrs };
  }
}

const rng = new Rng(4242);
const CASES: Case[] = Array.from({ length: 10 }, () => randomCase(rng));
const size = (s: number[]) => s.reduce((p, q) => p * q, 1);

describe('pool2d gradients by finite differences (float64)', () => {
  CASES.forEach((c, idx) => {
    const a = c.attrs;
    const what = `x [${c.xShape}] pool [${a.poolSize}] strides [${a.strides}] pads [${a.pads}]`;

    it(`maxPool2dBackward: ${what}`, () => {
      gradCheck({
        what: `maxPool2dBackward ${what}`,
        seed: 60 + idx,
        inputs: [spacedPermutation(size(c.xShape), new Rng(70 + idx))],
        forward: ([x]) => maxPool2d({ data: x, shape: c.xShape }, a).data,
        backward: ([x], dy) => {
          const X = { data: x, shape: c.xShape };
          return [maxPool2dBackward({ data: dy, shape: maxPool2d(X, a).shape }, X, a).data];
        },
      });
    });

    it(`avgPool2dBackward: ${what}`, () => {
      gradCheck({
        what: `avgPool2dBackward ${what}`,
        seed: 80 + idx,
        inputs: [uniformF64(size(c.xShape), 90 + idx)],
        forward: ([x]) => avgPool2d({ data: x, shape: c.xShape }, a).data,
        backward: ([x], dy) => {
          const yShape = avgPool2d({ data: x, shape: c.xShape }, a).shape;
          return [avgPool2dBackward({ data: dy, shape: yShape }, c.xShape, a).data];
        },
      });
    });
  });
});

describe('globalPool2d gradients by finite differences (float64)', () => {
  const shapes = [[1, 1, 1, 1], [2, 3, 4, 2], [1, 5, 2, 3], [2, 1, 6, 1], [1, 4, 4, 5]];
  for (const mode of ['avg', 'max'] as GlobalPoolMode[]) {
    shapes.forEach((xShape, idx) => {
      it(`${mode}: x [${xShape}]`, () => {
        const n = size(xShape);
        gradCheck({
          what: `globalPool2dBackward ${mode} x [${xShape}]`,
          seed: 100 + idx,
          inputs: [mode === 'max' ? spacedPermutation(n, new Rng(110 + idx)) : uniformF64(n, 120 + idx)],
          forward: ([x]) => globalPool2d({ data: x, shape: xShape }, mode).data,
          backward: ([x], dy) => [globalPool2dBackward({ data: dy, shape: [xShape[0], xShape[3]] }, { data: x, shape: xShape }, mode).data],
        });
      });
    });
  }
});
