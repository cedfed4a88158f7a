/**
 * Learning-rate schedules (src/optim/schedules.ts): values at chosen steps against the Keras 3 formulas worked by
 * hand, the optimizer evaluating its schedule at `iterations`, config round trips and bad arguments.
 */
import { describe, expect, it } from 'vitest';

import { ValueError } from '../../src/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import {
  CosineDecay,
  ExponentialDecay,
  LearningRateSchedule,
  PiecewiseConstantDecay,
  SGD,
  cosineDecay,
  exponentialDecay,
  optimizerFromConfig,
  piecewiseConstantDecay,
  registerSchedule,
  scheduleFromConfig,
  stepDecay,
  type ScheduleConfig,
} from '../../src/optim/index.js';
import { expectError } from '../helpers/errors.js';

/** Schedules compute in float64: the only error is the rounding of a few operations. */
const close = (a: number, e: number) => expect(Math.abs(a - e)).toBeLessThanOrEqual(4 * 2 ** -52 * Math.abs(e));

describe('exponentialDecay', () => {
  it('decays continuously: lr0 * rate^(step / decaySteps)', () => {
    const s = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
    expect(s.valueAt(0)).toBe(0.1);
    close(s.valueAt(5), 0.1 * Math.SQRT1_2);
    close(s.valueAt(10), 0.05);
    close(s.valueAt(25), 0.1 * 0.5 ** 2.5);
  });
  it('with staircase, in whole periods', () => {
    const s = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
    expect([0, 5, 9, 10, 19, 20, 35].map((k) => s.valueAt(k))).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
  });
});

describe('piecewiseConstantDecay / stepDecay', () => {
  it('takes values[i] for boundaries[i-1] < step <= boundaries[i] (Keras)', () => {
    for (const s of [piecewiseConstantDecay({ boundaries: [10, 20], values: [1, 0.5, 0.1] }), stepDecay({ boundaries: [10, 20], values: [1, 0.5, 0.1] })]) {
      expect([0, 10, 10.5, 11, 20, 21, 1000].map((k) => s.valueAt(k))).toEqual([1, 1, 0.5, 0.5, 0.5, 0.1, 0.1]);
      expect(s).toBeInstanceOf(PiecewiseConstantDecay);
    }
  });
  it('with no boundaries is a constant', () => {
    expect(piecewiseConstantDecay({ boundaries: [], values: [0.3] }).valueAt(99)).toBe(0.3);
  });
});

describe('cosineDecay', () => {
  it('goes from lr0 to alpha * lr0 over decaySteps, then stays', () => {
    const s = cosineDecay({ initialLearningRate: 1, decaySteps: 100, alpha: 0.1 });
    expect(s.valueAt(0)).toBe(1);
    close(s.valueAt(25), 0.9 * 0.5 * (1 + Math.SQRT1_2) + 0.1);
    close(s.valueAt(50), 0.55);
    close(s.valueAt(100), 0.1);
    close(s.valueAt(250), 0.1);
  });
  it('with warmup: linear from lr0 to warmupTarget, then the cosine from warmupTarget', () => {
    const s = cosineDecay({ initialLearningRate: 0, decaySteps: 100, warmupTarget: 2, warmupSteps: 10 });
    expect([0, 5, 10].map((k) => s.valueAt(k))).toEqual([0, 1, 2]);
    close(s.valueAt(60), 1);
    expect(Math.abs(s.valueAt(110))).toBeLessThan(1e-15);
    expect(Math.abs(s.valueAt(500))).toBeLessThan(1e-15);
  });
  it('a warmupTarget with 0 warmup steps is the peak (Keras)', () => {
    const s = cosineDecay({ initialLearningRate: 5, decaySteps: 10, warmupTarget: 1 });
    expect(s.valueAt(0)).toBe(1);
  });
});

describe('with an optimizer', () => {
  it('the learning rate is the schedule at iterations (0 for the first update)', () => {
    const s = piecewiseConstantDecay({ boundaries: [1, 2], values: [0.5, 0.25, 0.125] });
    const opt = new SGD({ learningRate: s });
    const v = new Variable('w', new Tensor(Float32Array.of(0), [1]));
    const seen: number[] = [];
    for (let k = 0; k < 4; k++) {
      seen.push(opt.learningRate);
      const before = v.value.data[0];
      opt.applyGradients([[new Tensor(Float32Array.of(1), [1]), v]]);
      expect(before - v.value.data[0]).toBe(seen[k]); // w -= lr * 1, exact for these powers of two
    }
    expect(seen).toEqual([0.5, 0.5, 0.25, 0.125]);
    expect(opt.iterations).toBe(4);
    expect(opt.learningRateSchedule).toBe(s);
  });
  it('setting a number replaces the schedule (as ReduceLROnPlateau does); setting a schedule replaces a number', () => {
    const opt = new SGD({ learningRate: exponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 0.5 }) });
    opt.learningRate = 0.02;
    expect(opt.learningRate).toBe(0.02);
    expect(opt.learningRateSchedule).toBeNull();
    expect(opt.getConfig().learningRate).toBe(0.02);
    const c = cosineDecay({ initialLearningRate: 0.3, decaySteps: 5 });
    opt.learningRate = c;
    expect(opt.learningRate).toBe(0.3);
    expect(optimizerFromConfig(JSON.parse(JSON.stringify(opt.getConfig()))).learningRateSchedule).toBeInstanceOf(CosineDecay);
  });
});

describe('configs', () => {
  const all: LearningRateSchedule[] = [
    exponentialDecay({ initialLearningRate: 0.1, decaySteps: 7, decayRate: 0.9, staircase: true }),
    piecewiseConstantDecay({ boundaries: [3, 8], values: [0.1, 0.01, 0.001] }),
    cosineDecay({ initialLearningRate: 0.01, decaySteps: 50, alpha: 0.05, warmupTarget: 0.1, warmupSteps: 5 }),
    cosineDecay({ initialLearningRate: 0.01, decaySteps: 50 }),
  ];
  for (const s of all) {
    it(`${s.className} round-trips through JSON`, () => {
      const config = JSON.parse(JSON.stringify(s.getConfig())) as ScheduleConfig;
      const back = scheduleFromConfig(config);
      expect(back.constructor).toBe(s.constructor);
      expect(back.getConfig()).toEqual(s.getConfig());
      for (const k of [0, 1, 4, 5, 6, 9, 30, 100]) expect(back.valueAt(k)).toBe(s.valueAt(k));
    });
  }
  it('each class has a static fromConfig', () => {
    expect(ExponentialDecay.fromConfig(all[0].getConfig()).getConfig()).toEqual(all[0].getConfig());
    expect(PiecewiseConstantDecay.fromConfig(all[1].getConfig()).getConfig()).toEqual(all[1].getConfig());
    expect(CosineDecay.fromConfig(all[2].getConfig()).getConfig()).toEqual(all[2].getConfig());
  });
  it('registerSchedule makes a custom schedule loadable', () => {
    class Halving extends LearningRateSchedule {
      readonly className = 'Halving';
      constructor(readonly start: number) {
        super();
      }
      valueAt(step: number): number {
        return this.start / 2 ** step;
      }
      getConfig(): ScheduleConfig {
        return { className: this.className, start: this.start };
      }
    }
    registerSchedule('Halving', (c) => new Halving(c.start as number));
    const opt = optimizerFromConfig(new SGD({ learningRate: new Halving(8) }).getConfig());
    expect(opt.learningRate).toBe(8);
    expect(opt.learningRateSchedule).toBeInstanceOf(Halving);
  });
});

describe('bad arguments', () => {
  it('are ValueErrors naming the schedule and the argument', () => {
    expectError(() => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }), ValueError, 'ExponentialDecay', "'decaySteps'", '> 0', 'got 0');
    expectError(() => exponentialDecay({ initialLearningRate: -1, decaySteps: 1, decayRate: 0.5 }), ValueError, "'initialLearningRate'", 'got -1');
    expectError(() => exponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: NaN }), ValueError, "'decayRate'", 'got NaN');
    expectError(() => piecewiseConstantDecay({ boundaries: [5, 5], values: [1, 2, 3] }), ValueError, 'strictly increasing');
    expectError(() => piecewiseConstantDecay({ boundaries: [5], values: [1] }), ValueError, 'one more element', '1 boundaries, 1 values');
    expectError(() => cosineDecay({ initialLearningRate: 1, decaySteps: 10, alpha: 2 }), ValueError, "'alpha'", '[0, 1]');
    expectError(() => cosineDecay({ initialLearningRate: 1, decaySteps: 10, warmupSteps: 5 }), ValueError, "'warmupTarget' is not set");
    expectError(() => cosineDecay({ initialLearningRate: 1, decaySteps: 10, warmupTarget: 1, warmupSteps: 1.5 }), ValueError, "'warmupSteps'", 'integer');
    expectError(() => new ExponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 0.5, decay_rate: 1 } as never), ValueError, "unknown option 'decay_rate'");
    expectError(() => scheduleFromConfig({ className: 'Nope' }), ValueError, "unknown schedule 'Nope'");
    expectError(() => cosineDecay({ initialLearningRate: 1, decaySteps: 10 }).valueAt(-1), ValueError, "'step'", 'got -1');
  });
});
