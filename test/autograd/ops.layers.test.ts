/**
 * Gradients the pooling, batch norm, dense, loss and dropout ops record, checked through the tape by float64
 * finite differences on the reference backend (test/helpers/tapecheck.ts: L = <dy, y>, central differences
 * with h = 1e-5, tolerance 1e-6 relative), over seeded random shapes and attributes.
 *
 * Kinks: max pooling and global max pooling are checked on distinct values at least 0.05 apart
 * (distinctF64), so no perturbation of h changes which element wins a window; dense with relu is checked on
 * points whose pre-activations are at least 0.05 away from 0 (a step of h moves a pre-activation by at most
 * h * sum|x| or h * sum|w|, far below that). Every other op here is smooth.
 */
import { describe, expect, it } from 'vitest';

import * as ops from '../../src/ops/index.js';
import type { Padding2D, Reduction } from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { noGrad } from '../../src/autograd/index.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { distinctF64, randF64, tapeGradCheck } from '../helpers/tapecheck.js';
import { Rng, intsBelow } from '../helpers/random.js';

const onRef = <T>(fn: () => T): T => withBackend(referenceBackend, fn);
const seeds = { n: 500 };
const f64 = (shape: readonly number[], lo = -1, hi = 1): Tensor => randF64(shape, seeds.n++, lo, hi);
const describeCase = (c: object): string => JSON.stringify(c).replace(/"/g, '');

type Pair = [number, number];

interface PoolCase {
  x: number[];
  o: { poolSize: Pair; strides: Pair; padding: Padding2D };
}

function poolCase(rng: Rng): PoolCase {
  const poolSize: Pair = [rng.int(1, 3), rng.int(1, 3)];
  const k = rng.int(0, 2);
  // Explicit pads must be smaller than the pool (a window of padding only has no value).
  const padding: Padding2D = k === 0 ? 'same' : k === 1 ? 'valid'
    : [[rng.int(0, poolSize[0] - 1), rng.int(0, poolSize[0] - 1)], [rng.int(0, poolSize[1] - 1), rng.int(0, poolSize[1] - 1)]];
  return { x: [rng.int(1, 2), rng.int(1, 6), rng.int(1, 6), rng.int(1, 3)], o: { poolSize, strides: [rng.int(1, 3), rng.int(1, 3)], padding } };
}

function drawPool(rng: Rng): PoolCase {
  for (;;) {
    const c = poolCase(rng);
    try {
      onRef(() => noGrad(() => ops.avgPool2d(f64(c.x), c.o)));
      return c;
    } catch (e) {
      if (!(e instanceof ShapeError) && !(e instanceof ValueError)) throw e;
    }
  }
}

describe('pooling (float64 finite differences, reference)', () => {
  const rng = new Rng(5150);
  for (let i = 0; i < 8; i++) {
    const c = drawPool(rng);
    it(`max and avg ${describeCase(c)}`, () => onRef(() => {
      // Distinct values 0.05 apart: every window's maximum is decided by far more than h.
      tapeGradCheck({ what: `maxPool2d ${describeCase(c)}`, inputs: [distinctF64(c.x, seeds.n++, 0.1)], fn: (x) => ops.maxPool2d(x, c.o) });
      tapeGradCheck({ what: `avgPool2d ${describeCase(c)}`, inputs: [f64(c.x)], fn: (x) => ops.avgPool2d(x, c.o) });
    }));
  }

  for (const keepDims of [false, true]) {
    it(`globalAvgPool2d and globalMaxPool2d, keepDims ${keepDims}`, () => onRef(() => {
      const shape = [2, 3, 4, 3];
      tapeGradCheck({ what: 'globalAvgPool2d', inputs: [f64(shape)], fn: (x) => ops.globalAvgPool2d(x, { keepDims }) });
      tapeGradCheck({ what: 'globalMaxPool2d', inputs: [distinctF64(shape, seeds.n++, 0.1)], fn: (x) => ops.globalMaxPool2d(x, { keepDims }) });
    }));
  }

  it('avgPool2dBackward and globalPool2dBackward as ops (second order, linear in dy)', () => onRef(() => {
    for (let i = 0; i < 3; i++) {
      const c = drawPool(rng);
      const yShape = noGrad(() => ops.avgPool2d(f64(c.x), c.o)).shape;
      tapeGradCheck({ what: `avgPool2dBackward ${describeCase(c)}`, inputs: [f64(yShape)], fn: (dy) => ops.avgPool2dBackward(dy, c.x, c.o) });
    }
    const x = distinctF64([2, 3, 2, 4], seeds.n++, 0.1);
    for (const mode of ['avg', 'max'] as const) {
      for (const dyShape of [[2, 4], [2, 1, 1, 4]]) {
        // x is a constant here: the output is piecewise constant in it (zero gradient), and linear in dy.
        tapeGradCheck({ what: `globalPool2dBackward ${mode} dy [${dyShape}]`, inputs: [f64(dyShape), x], wrt: [0], fn: (dy, xx) => ops.globalPool2dBackward(dy, xx, mode) });
      }
    }
  }));
});

describe('batchNorm (float64 finite differences, reference)', () => {
  const shapes = [[6, 3], [2, 3, 2, 4], [1, 2, 3, 2], [3, 1, 1, 2]];
  shapes.forEach((shape, i) => {
    const c = shape[shape.length - 1];
    it(`training, x [${shape}]: through the batch statistics, to x, gamma and beta`, () => onRef(() => {
      const epsilon = i % 2 ? 1e-3 : 0.01;
      tapeGradCheck({
        what: `batchNorm training [${shape}]`, inputs: [f64(shape), f64([c], 0.5, 1.5), f64([c])],
        fn: (x, gamma, beta) => ops.batchNorm(x, { gamma, beta, epsilon, training: true }).y,
      });
      // Defaults for gamma and beta, and the moving statistics given (their update is not on the tape).
      const movingMean = f64([c]);
      const movingVar = f64([c], 0.5, 2);
      tapeGradCheck({
        what: `batchNorm training, default gamma/beta [${shape}]`, inputs: [f64(shape)],
        fn: (x) => ops.batchNorm(x, { movingMean, movingVar, training: true }).y,
      });
    }));

    it(`inference, x [${shape}]: the moving statistics are constants`, () => onRef(() => {
      const movingMean = f64([c]);
      const movingVar = f64([c], 0.5, 2);
      tapeGradCheck({
        what: `batchNorm inference [${shape}]`, inputs: [f64(shape), f64([c], 0.5, 1.5), f64([c])],
        fn: (x, gamma, beta) => ops.batchNorm(x, { gamma, beta, movingMean, movingVar }).y,
      });
    }));
  });

  it('training: the returned batch mean and variance are differentiable', () => onRef(() => {
    for (const shape of [[5, 3], [2, 2, 3, 2]]) {
      tapeGradCheck({ what: `batch mean [${shape}]`, inputs: [f64(shape)], fn: (x) => ops.batchNorm(x, { training: true }).mean });
      tapeGradCheck({ what: `batch variance [${shape}]`, inputs: [f64(shape)], fn: (x) => ops.batchNorm(x, { training: true }).variance });
    }
  }));

  it('the moving statistics updated in training are not on the tape', () => onRef(() => {
    const x = f64([4, 2]).requireGrad();
    const r = ops.batchNorm(x, { movingMean: f64([2]), movingVar: f64([2], 0.5, 1), training: true });
    expect(r.y.requiresGrad && r.mean.requiresGrad && r.variance.requiresGrad).toBe(true);
    expect(r.movingMean!.requiresGrad || r.movingVar!.requiresGrad).toBe(false);
    expect(r.y.dtype).toBe('float64');
  }));
});

describe('dense (float64 finite differences, reference)', () => {
  const rng = new Rng(8080);
  for (let i = 0; i < 6; i++) {
    const activation = i % 2 ? 'relu' as const : 'linear' as const;
    const lead = rng.pick([[3], [2, 3], [1], [2, 1, 2]]);
    const k = rng.int(1, 4);
    const n = rng.int(1, 4);
    const withBias = rng.int(0, 2) > 0;
    it(`${activation} x [${lead},${k}] w [${k},${n}] bias ${withBias}`, () => onRef(() => {
      // relu: redraw until every pre-activation is at least 0.05 from the kink at 0.
      let inputs: Tensor[];
      for (;;) {
        inputs = [f64([...lead, k]), f64([k, n]), ...(withBias ? [f64([n])] : [])];
        const [x, w, b] = inputs;
        const z = noGrad(() => ops.dense(x, w, { bias: b }));
        if (activation === 'linear' || Array.from(z.data).every((v) => Math.abs(v) >= 0.05)) break;
      }
      tapeGradCheck({ what: `dense ${activation} ${i}`, inputs, fn: (x, w, bias) => ops.dense(x, w, { bias, activation }) });
    }));
  }
});

describe('softmaxCrossEntropy (float64 finite differences, reference)', () => {
  const n = 4;
  const c = 3;
  const sparse = new Tensor(intsBelow(n, c, 11), [n]);
  const oneHot = new Tensor(Float64Array.from({ length: n * c }, (_, i) => (i % c === sparse.data[Math.floor(i / c)] ? 1 : 0)), [n, c]);
  // Soft labels: rows of positive weights summing to 1; and rows that do not (the kernel's exact gradient).
  const raw = randF64([n, c], 12, 0.1, 1).data;
  const soft = new Tensor(Float64Array.from(raw, (v, i) => v / [0, 1, 2].reduce((s, j) => s + raw[Math.floor(i / c) * c + j], 0)), [n, c]);
  const unnormalised = randF64([n, c], 13, 0, 1);
  const labelSets = { sparse, oneHot, soft, unnormalised };

  for (const [name, labels] of Object.entries(labelSets)) {
    for (const reduction of ['mean', 'sum', 'none'] as Reduction[]) {
      it(`${name} labels, reduction ${reduction}: logits; labels get none`, () => onRef(() => {
        tapeGradCheck({
          what: `softmaxCrossEntropy ${name} ${reduction}`, inputs: [f64([n, c], -3, 3)],
          fn: (logits) => ops.softmaxCrossEntropy(logits, labels, { reduction }),
        });
        // Second order: the backward op's own gradient, to dloss and to the logits.
        const dlShape = reduction === 'none' ? [n] : [];
        tapeGradCheck({
          what: `softmaxCrossEntropyBackward ${name} ${reduction}`, inputs: [f64(dlShape), f64([n, c], -3, 3)],
          fn: (dl, logits) => ops.softmaxCrossEntropyBackward(dl, logits, labels, { reduction }),
        });
      }));
    }
  }
});

describe('dropout (float64 finite differences, reference)', () => {
  for (const rate of [0, 0.25, 0.6]) {
    it(`rate ${rate}: through the mask the seeded forward drew`, () => onRef(() => {
      // A numeric seed gives the same mask on every call, so the finite differences see one linear map.
      tapeGradCheck({ what: `dropout ${rate}`, inputs: [f64([3, 7])], fn: (x) => ops.dropout(x, { rate, seed: 21 }) });
      tapeGradCheck({ what: `dropoutWithMask ${rate}`, inputs: [f64([2, 3, 5])], fn: (x) => ops.dropoutWithMask(x, { rate, seed: 5 }).y });
      tapeGradCheck({ what: `dropout ${rate} not training`, inputs: [f64([4])], fn: (x) => ops.dropout(x, { rate, seed: 1, training: false }) });
    }));
  }
});
