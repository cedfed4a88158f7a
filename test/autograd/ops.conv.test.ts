/**
 * Gradients the convolution ops record, checked through the tape by float64 finite differences on the
 * reference backend (test/helpers/tapecheck.ts: L = <dy, y>, central differences, tolerance 1e-6 relative).
 * Every op here is linear in each of its arguments (bilinear in x and w), so the central difference has no
 * truncation error and only float64 rounding (~1e-10 at these sizes) is left: no data needs to avoid kinks.
 * The exception is the fused activation 'relu' (conv2d, conv1d, depthwiseConv2d, separableConv2d): relu has a
 * kink at 0, and a central difference whose two evaluations put one pre-activation on either side of it
 * measures neither derivative. So those cases draw data whose every pre-activation is at least GAP = 1e-3 from 0
 * (reluInputs): one step of h = 1e-5 on one input moves each pre-activation by at most h times a coefficient
 * of magnitude <= 1 (|x|, |w| < 1; the bias enters with 1), a hundred times less than GAP, so every difference
 * stays on one linear piece and is exact again; and both signs occur, so the mask on dy is exercised.
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
import { ShapeError, ValueError } from '../../src/errors.js';
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

/** Every pre-activation of relu cases is at least this far from the kink (see the header). */
const GAP = 1e-3;

/**
 * Float64 inputs of these shapes (drawn from the seed stream, redrawn until it holds) on which every output of
 * `linear` (the op without its activation) is at least GAP away from 0, with both signs present when there are
 * two outputs or more where a draw allows it. Outputs with no terms at all (windows wholly in the padding, no bias: the op on absolute
 * values gives 0) are exactly 0 whatever the inputs, so no step moves them and they are exempt.
 */
function reluInputs(shapes: readonly (readonly number[])[], linear: (...t: Tensor[]) => Tensor): Tensor[] {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const ts = shapes.map(f64);
    const pre = onRef(() => noGrad(() => linear(...ts))).data;
    const absTerms = onRef(() => noGrad(() => linear(...ts.map((t) => new Tensor(Float64Array.from(t.data, Math.abs), t.shape))))).data;
    let near = false, pos = false, neg = false;
    for (let i = 0; i < pre.length; i++) {
      const v = pre[i];
      near ||= Math.abs(v) < GAP && absTerms[i] !== 0;
      pos ||= v > 0;
      neg ||= v < 0;
    }
    // Both signs when the geometry allows it (some, e.g. windows wholly in the padding, give one value per channel).
    if (!near && (pre.length < 2 || (pos && neg) || attempt >= 500)) return ts;
  }
  throw new Error(`reluInputs: no draw kept the pre-activations ${GAP} away from 0 for shapes ${JSON.stringify(shapes)}`);
}

describe('conv2d: x, w, bias (float64 finite differences, reference)', () => {
  const rng = new Rng(4242);
  for (let i = 0; i < 10; i++) {
    const c = draw(rng, conv2dCase, conv2dForward);
    it(describeCase(c), () => onRef(() => {
      const inputs = [f64(c.x), f64(c.w), ...(c.bias ? [f64([c.w[3]])] : [])];
      tapeGradCheck({ what: `conv2d ${describeCase(c)}`, inputs, fn: (x, w, bias) => ops.conv2d(x, w, { ...c.o, bias }) });
    }));
  }

  const reluRng = new Rng(5151);
  for (let i = 0; i < 8; i++) {
    const c = draw(reluRng, conv2dCase, conv2dForward);
    it(`activation relu: ${describeCase(c)}`, () => onRef(() => {
      const shapes = [c.x, c.w, ...(c.bias ? [[c.w[3]]] : [])];
      const inputs = reluInputs(shapes, (x, w, bias) => ops.conv2d(x, w, { ...c.o, bias }));
      const fn = (x: Tensor, w: Tensor, bias?: Tensor): Tensor => ops.conv2d(x, w, { ...c.o, bias, activation: 'relu' });
      // The fused forward is relu of the linear one, exactly (float64 reference).
      const y = noGrad(() => fn(...(inputs as [Tensor, Tensor, Tensor?])));
      const lin = noGrad(() => ops.conv2d(inputs[0], inputs[1], { ...c.o, bias: inputs[2] }));
      expect(Array.from(y.data)).toEqual(Array.from(lin.data, (v) => (v < 0 ? 0 : v)));
      tapeGradCheck({ what: `conv2d relu ${describeCase(c)}`, inputs, fn });
    }));
  }

  it('activation relu: conv2dAsync records the masked gradient conv2d records (bit for bit)', async () => {
    const [x, w, bias] = reluInputs([[2, 5, 4, 3], [3, 2, 3, 2], [2]], (a, b, c) => ops.conv2d(a, b, { strides: 2, padding: 'same', bias: c }));
    for (const t of [x, w, bias]) t.requireGrad();
    const o = { strides: 2, padding: 'same' as const, bias, activation: 'relu' as const };
    const y = await onRef(() => ops.conv2dAsync(x, w, o));
    onRef(() => {
      const dy = f64(y.shape);
      const got = gradients(y, [x, w, bias], { gradient: dy });
      const want = gradients(ops.conv2d(x, w, o), [x, w, bias], { gradient: dy });
      for (let k = 0; k < 3; k++) expect(Array.from(got[k].data)).toEqual(Array.from(want[k].data));
    });
  });

  it('activation other than linear or relu -> ValueError', () => {
    const x = f64([1, 3, 3, 1]);
    const w = f64([2, 2, 1, 1]);
    expect(() => ops.conv2d(x, w, { activation: 'tanh' as never })).toThrow(/argument 'activation' must be 'linear' or 'relu', got "tanh"/);
    expect(() => ops.conv1d(f64([1, 3, 1]), f64([2, 1, 1]), { activation: 'sigmoid' as never })).toThrow(ValueError);
    expect(() => ops.depthwiseConv2d(x, f64([2, 2, 1, 1]), { activation: 'elu' as never })).toThrow(ValueError);
    expect(ops.conv2d(x, w, { activation: 'linear' }).shape).toEqual([1, 2, 2, 1]);
  });

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

describe('conv1d, depthwiseConv2d, separableConv2d with activation relu (float64, data away from the kink)', () => {
  const rng = new Rng(8080);
  for (let i = 0; i < 4; i++) {
    const c = draw(rng, (r) => {
      const [cin, groups] = r.pick(CHANNEL_GROUPS);
      const pads = ['valid', 'same', 'causal'] as const;
      return {
        x: [r.int(1, 2), r.int(2, 8), cin],
        w: [r.int(1, 3), cin / groups, groups * r.int(1, 2)],
        o: { stride: r.int(1, 3), dilation: r.int(1, 2), groups, padding: r.pick(pads) as 'valid' | 'same' | 'causal' },
      };
    }, (c) => ops.conv1d(f64(c.x), f64(c.w), c.o));
    it(`conv1d ${describeCase(c)}`, () => onRef(() => {
      const inputs = reluInputs([c.x, c.w, [c.w[2]]], (x, w, bias) => ops.conv1d(x, w, { ...c.o, bias }));
      tapeGradCheck({ what: `conv1d relu ${describeCase(c)}`, inputs, fn: (x, w, bias) => ops.conv1d(x, w, { ...c.o, bias, activation: 'relu' }) });
    }));
  }

  for (let i = 0; i < 4; i++) {
    const c = draw(rng, (r) => {
      const ch = r.int(1, 3);
      return {
        x: [r.int(1, 2), r.int(1, 5), r.int(1, 5), ch],
        w: [r.int(1, 3), r.int(1, 3), ch, r.int(1, 2)],
        o: { strides: pair(r, 1, 2), dilation: pair(r, 1, 2), padding: padding2d(r) },
      };
    }, (c) => ops.depthwiseConv2d(f64(c.x), f64(c.w), c.o));
    it(`depthwiseConv2d ${describeCase(c)}`, () => onRef(() => {
      const inputs = reluInputs([c.x, c.w, [c.w[2] * c.w[3]]], (x, w, bias) => ops.depthwiseConv2d(x, w, { ...c.o, bias }));
      tapeGradCheck({
        what: `depthwiseConv2d relu ${describeCase(c)}`, inputs,
        fn: (x, w, bias) => ops.depthwiseConv2d(x, w, { ...c.o, bias, activation: 'relu' }),
      });
    }));
  }

  for (let i = 0; i < 2; i++) {
    const c = draw(rng, (r) => {
      const ch = r.int(1, 3);
      const m = r.int(1, 2);
      return {
        x: [r.int(1, 2), r.int(2, 4), r.int(2, 4), ch],
        dw: [r.int(1, 3), r.int(1, 3), ch, m],
        pw: [1, 1, ch * m, r.int(1, 3)],
        o: { strides: pair(r, 1, 2), dilation: pair(r, 1, 2), padding: padding2d(r) },
      };
    }, (c) => ops.separableConv2d(f64(c.x), f64(c.dw), f64(c.pw), c.o));
    it(`separableConv2d ${describeCase(c)}`, () => onRef(() => {
      const inputs = reluInputs([c.x, c.dw, c.pw, [c.pw[3]]], (x, d, p, bias) => ops.separableConv2d(x, d, p, { ...c.o, bias }));
      tapeGradCheck({
        what: `separableConv2d relu ${describeCase(c)}`, inputs,
        fn: (x, d, p, bias) => ops.separableConv2d(x, d, p, { ...c.o, bias, activation: 'relu' }),
      });
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
