/**
 * Finite-difference checks of batchNormBackward in float64. In training the forward recomputes the batch
 * statistics at every perturbed point, so the check covers the gradient through the mean and variance;
 * in inference the statistics are fixed inputs and only x, gamma, beta are checked.
 */
import { describe, it } from 'vitest';
import { batchNorm, batchNormBackward } from '../../src/backends/reference/batchnorm.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { Rng, uniformF64 } from '../helpers/random.js';

const EPSILON = 1e-3; // DESIGN.md's default

function checkCase(shape: number[], training: boolean, seed: number): void {
  const C = shape[shape.length - 1];
  const n = shape.reduce((p, d) => p * d, 1);
  const attrs = { epsilon: EPSILON, training };
  const t = (data: Float64Array, s: number[]) => ({ data, shape: s });
  // Moving statistics for inference: any mean, a positive variance.
  const movingMean = t(uniformF64(C, seed + 3), [C]);
  const movingVar = t(uniformF64(C, seed + 4, 0.2, 2), [C]);
  const run = (xs: Float64Array[]) =>
    batchNorm(t(xs[0], shape), t(xs[1], [C]), t(xs[2], [C]), training ? undefined : movingMean, training ? undefined : movingVar, attrs);
  gradCheck({
    what: `batchNorm ${training ? 'training' : 'inference'} shape [${shape}]`,
    inputs: [uniformF64(n, seed, -2, 2), uniformF64(C, seed + 1, 0.5, 1.5), uniformF64(C, seed + 2)],
    forward: (xs) => run(xs).y.data,
    backward: (xs, dy) => {
      // The statistics the forward used at this point: the batch ones (training) or the moving ones.
      const { mean, variance } = run(xs);
      const g = batchNormBackward(t(dy, shape), t(xs[0], shape), t(xs[1], [C]), mean, variance, attrs);
      return [g.dx.data, g.dgamma.data, g.dbeta.data];
    },
    seed: seed + 5,
  });
}

describe('batchNormBackward by finite differences (float64)', () => {
  for (const training of [true, false]) {
    const mode = training ? 'training' : 'inference';
    it(`${mode}, [N, C], 10 cases`, () => {
      const rng = new Rng(training ? 31 : 32);
      for (let k = 0; k < 10; k++) checkCase([rng.int(2, 6), rng.int(1, 4)], training, 100 * k + 1);
    });
    it(`${mode}, [N, H, W, C], 10 cases`, () => {
      const rng = new Rng(training ? 33 : 34);
      for (let k = 0; k < 10; k++) {
        checkCase([rng.int(1, 2), rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)], training, 100 * k + 7);
      }
    });
  }
});
