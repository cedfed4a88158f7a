/**
 * Finite-difference checks (float64) of the reference conv2d gradients: conv2dBackwardData and
 * conv2dBackwardFilter against central differences of L = <dy, conv2d(x, w)>, over seeded random attributes.
 * L is bilinear in (x, w), so the central difference has no truncation error; only rounding (about
 * eps64 |L| / h ~ 1e-10 here) remains, far below gradCheck's default tolerance of 1e-6.
 */
import { describe, it } from 'vitest';
import { conv2d, conv2dBackwardData, conv2dBackwardFilter } from '../../src/backends/reference/conv.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { Conv2DAttrs } from '../../src/backends/backend.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { Rng, uniformF64 } from '../helpers/random.js';

interface Case {
  xShape: number[];
  wShape: number[];
  attrs: Conv2DAttrs;
}

/** [Cin, groups]: plain, grouped and depthwise. */
const CHANNEL_GROUPS = [[1, 1], [3, 1], [3, 3], [2, 2], [4, 2], [2, 1]] as const;

function randomCase(rng: Rng): Case {
  for (;;) {
    const [Cin, groups] = rng.pick(CHANNEL_GROUPS);
    const Cout = groups * rng.int(1, 2);
    const xShape = [rng.int(1, 2), rng.int(1, 5), rng.int(1, 5), Cin];
    const wShape = [rng.int(1, 3), rng.int(1, 3), Cin / groups, Cout];
    const attrs: Conv2DAttrs = {
      strides: [rng.int(1, 3), rng.int(1, 3)],
      dilations: [rng.int(1, 2), rng.int(1, 2)],
      pads: [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)],
      groups,
    };
    const OH = windowOutSize(xShape[1], wShape[0], attrs.strides[0], attrs.dilations[0], attrs.pads[0], attrs.pads[1]);
    const OW = windowOutSize(xShape[2], wShape[1], attrs.strides[1], attrs.dilations[1], attrs.pads[2], attrs.pads[3]);
    if (OH >= 1 && OW >= 1) return { xShape, wShape, attrs };
  }
}

const rng = new Rng(31337);
const CASES: Case[] = Array.from({ length: 12 }, () => randomCase(rng));

describe('conv2d gradients by finite differences (float64)', () => {
  CASES.forEach((c, idx) => {
    const a = c.attrs;
    const what = `x [${c.xShape}] w [${c.wShape}] strides [${a.strides}] dilations [${a.dilations}] pads [${a.pads}] groups ${a.groups}`;
    it(what, () => {
      const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
      gradCheck({
        what,
        seed: 50 + idx,
        inputs: [uniformF64(size(c.xShape), 10 + idx), uniformF64(size(c.wShape), 30 + idx)],
        forward: ([x, w]) => conv2d({ data: x, shape: c.xShape }, { data: w, shape: c.wShape }, a).data,
        backward: ([x, w], dy) => {
          const yShape = conv2d({ data: x, shape: c.xShape }, { data: w, shape: c.wShape }, a).shape;
          const DY = { data: dy, shape: yShape };
          return [
            conv2dBackwardData(DY, { data: w, shape: c.wShape }, c.xShape, a).data,
            conv2dBackwardFilter({ data: x, shape: c.xShape }, DY, c.wShape, a).data,
          ];
        },
      });
    });
  });
});
