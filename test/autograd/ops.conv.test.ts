/**
 * Gradients the convolution ops record, checked through the tape by float64 finite differences on the
 * reference backend (test/helpers/tapecheck.ts: L = <dy, y>, central differences, tolerance 1e-6 relative).
 * Every op here is linear in each of its arguments (bilinear in x and w), so the central difference has no
 * truncation error and only float64 rounding (~1e-10 at these sizes) is left: no data needs to avoid kinks.
 *
 * Shapes and attributes are drawn from a seeded stream: strides larger than the kernel, dilation, groups
 * (depthwise included), 'same' / 'valid' / explicit padding, kernels wider than the input under padding,
 * channel multipliers, output padding; the two gradient entry points are checked as ops themselves (second
 * order: they record their own gradients).
 */
import { describe, expect, it } from 'vitest';

import * as ops from '../../src/ops/index.js';
import type { Padding2D } from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { gradients, noGrad } from '../../src/autograd/index.js';
import { ShapeError } from '../../src/errors.js';
import { randF64, tapeGradCheck } from '../helpers/tapecheck.js';
import { Rng } from '../helpers/random.js';

const onRef = <T>(fn: () => T): T => withBackend(referenceBackend, fn);

type Pair = [number, number];

function padding2d(rng: Rng): Padding2D {
  const k = rng.int(0, 2);
  if (k === 0) return 'same';
  if (k === 1) return 'valid';
  return [[rng.int(0, 2), rng.int(0, 2)], [rng.int(0, 2), rng.int(0, 2)]];
}

const pair = (rng: Rng, lo: number, hi: number): Pair => [rng.int(lo, hi), rng.int(lo, hi)];

/** Draws until `make` gives a case whose forward accepts the geometry (the kernel fits the padded input). */
function draw<T>(rng: Rng, make: (rng: Rng) => T, forward: (c: T) => unknown): T {
  for (;;) {
    const c = make(rng);
    try {
      onRef(() => noGrad(() => forward(c)));
      return c;
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
    }
  }
}

const seeds = { n: 100 };
const f64 = (shape: readonly number[]): Tensor => randF64(shape, seeds.n++);

/** [Cin, groups]: plain, grouped and depthwise-like. */
const CHANNEL_GROUPS: readonly Pair[] = [[1, 1], [3, 1], [2, 2], [4, 2], [3, 3]];

interface Conv2DCase {
  x: number[];
  w: number[];
  o: { strides: Pair; dilation: Pair; padding: Padding2D; groups: number };
  bias: boolean;
}

const conv2dCase = (rng: Rng): Conv2DCase => {
  const [cin, groups] = rng.pick(CHANNEL_GROUPS);
  const cout = groups * rng.int(1, 2);
  return {
    x: [rng.int(1, 2), rng.int(1, 6), rng.int(1, 6), cin],
    w: [rng.int(1, 3), rng.int(1, 3), cin / groups, cout],
    o: { strides: pair(rng, 1, 3), dilation: pair(rng, 1, 2), padding: padding2d(rng), groups },
    bias: rng.int(0, 1) === 1,
  };
};
const conv2dForward = (c: Conv2DCase) => ops.conv2d(f64(c.x), f64(c.w), c.o);

const describeCase = (c: object): string => JSON.stringify(c).replace(/"/g, '');

describe('conv2d: x, w, bias (float64 finite differences, reference)', () => {
  const rng = new Rng(4242);
  for (let i = 0; i < 10; i++) {
    const c = draw(rng, conv2dCase, conv2dForward);
    it(describeCase(c), () => onRef(() => {
      const inputs = [f64(c.x), f64(c.w), ...(c.bias ? [f64([c.w[3]])] : [])];
      tapeGradCheck({ what: `conv2d ${describeCase(c)}`, inputs, fn: (x, w, bias) => ops.conv2d(x, w, { ...c.o, bias }) });
    }));
  }

  it('conv2dAsync records the gradient conv2d records (float64: the same reference kernels, bit for bit)', async () => {
    const x = f64([2, 5, 4, 3]).requireGrad();
    const w = f64([3, 2, 3, 2]).requireGrad();
    const o = { strides: 2, padding: 'same' as const };
    const y = await onRef(() => ops.conv2dAsync(x, w, o));
    onRef(() => {
      const dy = f64(y.shape);
      const got = gradients(y, [x, w], { gradient: dy });
      const want = gradients(ops.conv2d(x, w, o), [x, w], { gradient: dy });
      for (let k = 0; k < 2; k++) expect(Array.from(got[k].data)).toEqual(Array.from(want[k].data));
      expect(got[0].dtype).toBe('float64');
    });
  });
});

describe('conv1d, depthwiseConv2d, separableConv2d (float64 finite differences, reference)', () => {
  const rng = new Rng(777);
  for (let i = 0; i < 5; i++) {
    const c = draw(rng, (r) => {
      const [cin, groups] = r.pick(CHANNEL_GROUPS);
      const pads = ['valid', 'same', 'causal', [r.int(0, 2), r.int(0, 2)]] as const;
      return {
        x: [r.int(1, 2), r.int(2, 8), cin],
        w: [r.int(1, 3), cin / groups, groups * r.int(1, 2)],
        o: { stride: r.int(1, 3), dilation: r.int(1, 2), groups, padding: r.pick(pads) as 'valid' | 'same' | 'causal' | [number, number] },
      };
    }, (c) => ops.conv1d(f64(c.x), f64(c.w), c.o));
    it(`conv1d ${describeCase(c)}`, () => onRef(() => {
      tapeGradCheck({ what: `conv1d ${describeCase(c)}`, inputs: [f64(c.x), f64(c.w), f64([c.w[2]])], fn: (x, w, bias) => ops.conv1d(x, w, { ...c.o, bias }) });
    }));
  }

  for (let i = 0; i < 5; i++) {
    const c = draw(rng, (r) => {
      const ch = r.int(1, 3);
      return {
        x: [r.int(1, 2), r.int(1, 6), r.int(1, 6), ch],
        w: [r.int(1, 3), r.int(1, 3), ch, r.int(1, 3)],
        o: { strides: pair(r, 1, 3), dilation: pair(r, 1, 2), padding: padding2d(r) },
      };
    }, (c) => ops.depthwiseConv2d(f64(c.x), f64(c.w), c.o));
    it(`depthwiseConv2d ${describeCase(c)}`, () => onRef(() => {
      const inputs = [f64(c.x), f64(c.w), f64([c.w[2] * c.w[3]])];
      tapeGradCheck({ what: `depthwiseConv2d ${describeCase(c)}`, inputs, fn: (x, w, bias) => ops.depthwiseConv2d(x, w, { ...c.o, bias }) });
    }));
  }

  for (let i = 0; i < 3; i++) {
    const c = draw(rng, (r) => {
      const ch = r.int(1, 3);
      const m = r.int(1, 2);
      return {
        x: [r.int(1, 2), r.int(2, 5), r.int(2, 5), ch],
        dw: [r.int(1, 3), r.int(1, 3), ch, m],
        pw: [1, 1, ch * m, r.int(1, 3)],
        o: { strides: pair(r, 1, 2), dilation: pair(r, 1, 2), padding: padding2d(r) },
      };
    }, (c) => ops.separableConv2d(f64(c.x), f64(c.dw), f64(c.pw), c.o));
    it(`separableConv2d ${describeCase(c)}`, () => onRef(() => {
      const inputs = [f64(c.x), f64(c.dw), f64(c.pw), f64([c.pw[3]])];
      tapeGradCheck({ what: `separableConv2d ${describeCase(c)}`, inputs, fn: (x, d, p, bias) => ops.separableConv2d(x, d, p, { ...c.o, bias }) });
    }));
  }
});

describe('conv2dTranspose: x, w, bias (float64 finite differences, reference)', () => {
  const rng = new Rng(99);
  for (let i = 0; i < 6; i++) {
    const c = draw(rng, (r) => {
      const strides = pair(r, 1, 3);
      const dilation = pair(r, 1, 2);
      const padding = padding2d(r);
      // outputPadding below the stride (or the dilation), as Keras requires; sometimes absent.
      const outputPadding: Pair | undefined = r.int(0, 1)
        ? [r.int(0, Math.max(strides[0], dilation[0]) - 1), r.int(0, Math.max(strides[1], dilation[1]) - 1)]
        : undefined;
      return {
        x: [r.int(1, 2), r.int(1, 4), r.int(1, 4), r.int(1, 3)],
        w: [r.int(1, 3), r.int(1, 3), r.int(1, 3), 0],
        o: { strides, dilation, padding, ...(outputPadding ? { outputPadding } : {}) },
      };
    }, (c) => ops.conv2dTranspose(f64(c.x), f64([...c.w.slice(0, 3), c.x[3]]), c.o));
    const w = [...c.w.slice(0, 3), c.x[3]];
    it(`x [${c.x}] w [${w}] ${describeCase(c.o)}`, () => onRef(() => {
      tapeGradCheck({
        what: `conv2dTranspose ${describeCase(c)}`, inputs: [f64(c.x), f64(w), f64([w[2]])],
        fn: (x, k, bias) => ops.conv2dTranspose(x, k, { ...c.o, bias }),
      });
    }));
  }
});

describe('conv2dBackpropInput / conv2dBackpropFilter as ops (second order; float64 finite differences)', () => {
  const rng = new Rng(2024);
  for (let i = 0; i < 4; i++) {
    const c = draw(rng, conv2dCase, conv2dForward);
    const yShape = onRef(() => noGrad(() => conv2dForward(c)).shape);
    it(describeCase(c), () => onRef(() => {
      tapeGradCheck({
        what: `conv2dBackpropInput ${describeCase(c)}`, inputs: [f64(yShape), f64(c.w)],
        fn: (dy, w) => ops.conv2dBackpropInput(dy, w, c.x, c.o),
      });
      tapeGradCheck({
        what: `conv2dBackpropFilter ${describeCase(c)}`, inputs: [f64(c.x), f64(yShape)],
        fn: (x, dy) => ops.conv2dBackpropFilter(x, dy, c.w, c.o),
      });
    }));
  }
});
