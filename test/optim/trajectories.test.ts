/**
 * Each optimizer's trajectory on a fixed gradient sequence (oracle.ts: two variables, 12 steps) against
 * PyTorch 1.13 (fixtures/torch-trajectories.ts, from fixtures/gen_torch_fixtures.py) where PyTorch computes the
 * Keras formula, and against a float64 transcription of Keras 3 (oracle.ts) elsewhere: Keras' epsilon with
 * epsilon > 0 (where PyTorch puts it differently), schedules, weight decay, clipping. Tolerances: see oracle.ts.
 */
import { describe, expect, it } from 'vitest';

import { Adadelta, Adagrad, Adam, AdamW, RMSprop, SGD, cosineDecay, exponentialDecay, piecewiseConstantDecay, type Optimizer } from '../../src/optim/index.js';
import { TORCH, TORCH_STEPS } from './fixtures/torch-trajectories.js';
import { T, assertTrajectory, flat, gradTensors, kerasTrajectory, makeVariables, type OracleSpec } from './oracle.js';

/** Runs `steps` updates with applyGradients and returns the flattened weights after each. */
function run(opt: Optimizer, steps = T, gradScale = 1): number[][] {
  const vars = makeVariables();
  const out: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const g = gradTensors(t, gradScale);
    opt.applyGradients([
      [g[0], vars[0]],
      [g[1], vars[1]],
    ]);
    out.push(flat(vars));
  }
  return out;
}

describe('against PyTorch 1.13 (settings where its update is the Keras formula)', () => {
  const cases: Array<[string, () => Optimizer]> = [
    ['sgd', () => new SGD({ learningRate: 0.1 })],
    ['sgd_momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9 })],
    ['sgd_nesterov', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
    ['adam', () => new Adam({ learningRate: 0.01, epsilon: 0 })],
    ['adam_betas', () => new Adam({ learningRate: 0.02, beta1: 0.5, beta2: 0.9, epsilon: 0 })],
    ['adam_amsgrad', () => new Adam({ learningRate: 0.01, beta2: 0.5, epsilon: 0, amsgrad: true })],
    ['adamw', () => new AdamW({ learningRate: 0.05, epsilon: 0, weightDecay: 0.1 })],
    ['rmsprop', () => new RMSprop({ learningRate: 0.01, rho: 0.9, epsilon: 0 })],
    ['rmsprop_momentum', () => new RMSprop({ learningRate: 0.01, rho: 0.9, epsilon: 0, momentum: 0.9 })],
    ['rmsprop_centered_momentum', () => new RMSprop({ learningRate: 0.01, rho: 0.9, epsilon: 0, momentum: 0.5, centered: true })],
    ['adagrad', () => new Adagrad({ learningRate: 0.1, initialAccumulatorValue: 0.1, epsilon: 0 })],
    ['adadelta', () => new Adadelta({ learningRate: 1, rho: 0.95, epsilon: 1e-7 })],
  ];
  it('has a fixture for every case', () => {
    expect(Object.keys(TORCH).sort()).toEqual(cases.map(([n]) => n).sort());
    expect(TORCH_STEPS).toBe(T);
  });
  for (const [name, make] of cases) {
    it(name, () => {
      assertTrajectory(run(make()), TORCH[name], `torch ${name}`);
    });
  }
  it('AMSGrad changes the trajectory on this problem (so the amsgrad case tests something)', () => {
    const plain = kerasTrajectory({ kind: 'adam', lr: 0.01, beta2: 0.5, epsilon: 0 });
    const diff = TORCH.adam_amsgrad[T - 1].map((x, j) => Math.abs(x - plain[T - 1][j]));
    expect(Math.max(...diff)).toBeGreaterThan(1e-3);
  });
  it('Nesterov changes the trajectory on this problem', () => {
    const diff = TORCH.sgd_nesterov[T - 1].map((x, j) => Math.abs(x - TORCH.sgd_momentum[T - 1][j]));
    expect(Math.max(...diff)).toBeGreaterThan(1e-2);
  });
});

describe('against a float64 transcription of Keras 3', () => {
  const exp = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 3, decayRate: 0.5 });
  const piece = piecewiseConstantDecay({ boundaries: [3, 7], values: [0.1, 0.03, 0.01] });
  const cos = cosineDecay({ initialLearningRate: 0, decaySteps: 8, alpha: 0.1, warmupTarget: 0.05, warmupSteps: 3 });
  const cases: Array<[string, () => Optimizer, OracleSpec]> = [
    // Default epsilons, and large ones where its placement changes the result visibly.
    ['Adam defaults', () => new Adam(), { kind: 'adam', lr: 0.001 }],
    ['Adam epsilon 0.3 (outside the root, not bias-corrected)', () => new Adam({ learningRate: 0.05, epsilon: 0.3 }), { kind: 'adam', lr: 0.05, epsilon: 0.3 }],
    ['Adam amsgrad beta2 0.6 epsilon 0.1', () => new Adam({ learningRate: 0.05, beta2: 0.6, epsilon: 0.1, amsgrad: true }), { kind: 'adam', lr: 0.05, beta2: 0.6, epsilon: 0.1, amsgrad: true }],
    ['AdamW defaults (weightDecay 0.004)', () => new AdamW({ learningRate: 0.05 }), { kind: 'adam', lr: 0.05, weightDecay: 0.004 }],
    ['RMSprop defaults', () => new RMSprop(), { kind: 'rmsprop', lr: 0.001 }],
    ['RMSprop epsilon 0.5 (inside the root)', () => new RMSprop({ learningRate: 0.05, epsilon: 0.5 }), { kind: 'rmsprop', lr: 0.05, epsilon: 0.5 }],
    ['RMSprop centered momentum epsilon 0.2', () => new RMSprop({ learningRate: 0.05, epsilon: 0.2, centered: true, momentum: 0.7 }), { kind: 'rmsprop', lr: 0.05, epsilon: 0.2, centered: true, momentum: 0.7 }],
    ['Adagrad defaults', () => new Adagrad(), { kind: 'adagrad', lr: 0.001 }],
    ['Adagrad epsilon 0.5, accumulator 0', () => new Adagrad({ learningRate: 0.1, epsilon: 0.5, initialAccumulatorValue: 0 }), { kind: 'adagrad', lr: 0.1, epsilon: 0.5, initialAccumulatorValue: 0 }],
    ['Adadelta defaults', () => new Adadelta(), { kind: 'adadelta', lr: 0.001 }],
    ['Adadelta rho 0.5 epsilon 0.01', () => new Adadelta({ learningRate: 1, rho: 0.5, epsilon: 0.01 }), { kind: 'adadelta', lr: 1, rho: 0.5, epsilon: 0.01 }],
    // Schedules (evaluated at iterations, 0 for the first update); with momentum Keras' velocity keeps old rates.
    ['SGD momentum, exponential decay', () => new SGD({ learningRate: exp, momentum: 0.9 }), { kind: 'sgd', lr: (s) => exp.valueAt(s), momentum: 0.9 }],
    ['SGD nesterov, piecewise constant', () => new SGD({ learningRate: piece, momentum: 0.8, nesterov: true }), { kind: 'sgd', lr: (s) => piece.valueAt(s), momentum: 0.8, nesterov: true }],
    ['Adam, cosine decay with warmup', () => new Adam({ learningRate: cos }), { kind: 'adam', lr: (s) => cos.valueAt(s) }],
    // Decoupled weight decay on every optimizer (w -= w * wd * lr before the update, lr from the schedule).
    ['SGD weight decay 0.5', () => new SGD({ learningRate: 0.1, weightDecay: 0.5 }), { kind: 'sgd', lr: 0.1, weightDecay: 0.5 }],
    ['SGD momentum, weight decay with a schedule', () => new SGD({ learningRate: exp, momentum: 0.5, weightDecay: 0.3 }), { kind: 'sgd', lr: (s) => exp.valueAt(s), momentum: 0.5, weightDecay: 0.3 }],
    ['RMSprop weight decay, bias excluded', () => new RMSprop({ learningRate: 0.05, weightDecay: 0.2, excludeFromWeightDecay: ['bias$'] }), { kind: 'rmsprop', lr: 0.05, weightDecay: 0.2, noDecay: [1] }],
    ['Adagrad weight decay', () => new Adagrad({ learningRate: 0.1, weightDecay: 0.1 }), { kind: 'adagrad', lr: 0.1, weightDecay: 0.1 }],
    ['Adadelta weight decay', () => new Adadelta({ learningRate: 1, weightDecay: 0.1 }), { kind: 'adadelta', lr: 1, weightDecay: 0.1 }],
    // Clipping (gradients scaled up so that the clips act on most steps).
    ['Adam clipNorm 1', () => new Adam({ learningRate: 0.05, clipNorm: 1 }), { kind: 'adam', lr: 0.05, clipNorm: 1, gradScale: 3 }],
    ['SGD momentum globalClipNorm 2', () => new SGD({ learningRate: 0.05, momentum: 0.9, globalClipNorm: 2 }), { kind: 'sgd', lr: 0.05, momentum: 0.9, globalClipNorm: 2, gradScale: 3 }],
    ['RMSprop clipValue 0.7', () => new RMSprop({ learningRate: 0.05, clipValue: 0.7 }), { kind: 'rmsprop', lr: 0.05, clipValue: 0.7, gradScale: 3 }],
  ];
  for (const [name, make, spec] of cases) {
    it(name, () => {
      const expected = kerasTrajectory(spec);
      assertTrajectory(run(make(), T, spec.gradScale ?? 1), expected, name);
    });
  }

  it('epsilon placement is visible: Adam with epsilon 0.3 is not PyTorch-style Adam', () => {
    // PyTorch's form: w -= lr/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps); check the oracle differs from it, so that the
    // Keras case above would catch an implementation using PyTorch's placement.
    const keras = kerasTrajectory({ kind: 'adam', lr: 0.05, epsilon: 0.3 });
    const torchStyle = kerasTrajectory({ kind: 'adam', lr: 0.05, epsilon: 0.3 * Math.sqrt(1 - 0.999) });
    expect(Math.abs(keras[0][0] - torchStyle[0][0])).toBeGreaterThan(1e-3);
  });
});
