/**
 * `step(variables)` after backward(), zeroGrad, what an update must not do (create tensors, record for autograd,
 * touch anything when it throws), and the errors for bad options, bad gradients and bad states.
 */
import { describe, expect, it } from 'vitest';

import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { collecting } from '../../src/tensor/scope.js';
import { Variable } from '../../src/nn/variable.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  AdamW,
  LearningRateSchedule,
  NonFiniteGradientError,
  RMSprop,
  SGD,
  getOptimizer,
  optimizerFromConfig,
  type Optimizer,
  type ScheduleConfig,
} from '../../src/optim/index.js';
import { expectError } from '../helpers/errors.js';
import { flat, gradTensors, makeVariables } from './oracle.js';

const vec = (...x: number[]) => new Tensor(Float32Array.from(x), [x.length]);

describe('step(variables)', () => {
  it('uses the gradients backward() left, skipping variables without one and frozen ones', () => {
    const w = new Variable('w', vec(1, 2, 3));
    const unused = new Variable('unused', vec(5));
    const frozen = new Variable('frozen', vec(7), false);
    w.value.mul(w.value).sum().backward(); // d/dw sum(w^2) = 2w
    frozen.value.grad = vec(1); // even with a gradient, a frozen variable is not updated
    const opt = new SGD({ learningRate: 0.25 });
    opt.step([w, unused, frozen]);
    expect(Array.from(w.value.data)).toEqual([0.5, 1, 1.5]);
    expect(Array.from(unused.value.data)).toEqual([5]);
    expect(Array.from(frozen.value.data)).toEqual([7]);
    expect(opt.iterations).toBe(1);
    expect(opt.getState().map((e) => e.name)).toEqual(['iterations']);

    opt.zeroGrad([w, unused]);
    expect(w.grad).toBeNull();
    expectError(() => opt.step([w, unused]), ValueError, 'SGD.step', 'none of the 2 trainable variables has a gradient', 'backward()');
    opt.step([frozen]); // nothing trainable: nothing to do
    expect(opt.iterations).toBe(1);
  });

  it('creates no tensor, records nothing and keeps the variable tensor (every optimizer, clipping and decay on)', () => {
    const opts: Optimizer[] = [
      new SGD({ momentum: 0.9, nesterov: true, clipNorm: 1, weightDecay: 0.1 }),
      new Adam({ amsgrad: true, globalClipNorm: 1 }),
      new AdamW({ clipValue: 0.1 }),
      new RMSprop({ centered: true, momentum: 0.5 }),
      new Adagrad(),
      new Adadelta(),
    ];
    for (const opt of opts) {
      const vars = makeVariables();
      const values = vars.map((v) => v.value);
      const g = gradTensors(0);
      vars.forEach((v, k) => (v.value.grad = g[k]));
      const { created } = collecting(() => {
        opt.step(vars);
        opt.step(vars);
      });
      expect(created, opt.className).toHaveLength(0);
      vars.forEach((v, k) => {
        expect(v.value).toBe(values[k]);
        expect(v.value.gradNode).toBeNull();
        expect(v.value.requiresGrad).toBe(true);
      });
    }
  });

  it('applyGradients skips null gradients, is a no-op for no pairs, and refuses all-null', () => {
    const [a, b] = makeVariables();
    const opt = new SGD({ learningRate: 1 });
    opt.applyGradients([]);
    expect(opt.iterations).toBe(0);
    opt.applyGradients([
      [null, a],
      [gradTensors(0)[1], b],
    ]);
    expect(opt.iterations).toBe(1);
    expect(Array.from(a.value.data)).toEqual(Array.from(makeVariables()[0].value.data));
    expectError(() => opt.applyGradients([[null, a]]), ValueError, 'no gradient for any of the 1 variables', "'a/kernel'");
  });
});

describe('a bad gradient throws before anything changes', () => {
  function setup() {
    const vars = makeVariables();
    const opt = new Adam({ clipNorm: 1 });
    const g = gradTensors(0);
    opt.applyGradients([
      [g[0], vars[0]],
      [g[1], vars[1]],
    ]);
    const before = { w: flat(vars), state: opt.getState().map((e) => Array.from(e.value.data)) };
    const unchanged = () => {
      expect(flat(vars)).toEqual(before.w);
      expect(opt.getState().map((e) => Array.from(e.value.data))).toEqual(before.state);
      expect(opt.iterations).toBe(1);
    };
    return { vars, opt, g, unchanged };
  }

  it('NaN or infinity: NonFiniteGradientError naming the variable and the index', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const { vars, opt, g, unchanged } = setup();
      const gb = g[1].dataSync() as Float32Array;
      gb[2] = bad;
      let caught: unknown;
      try {
        opt.applyGradients([
          [g[0], vars[0]],
          [new Tensor(gb, [4]), vars[1]],
        ]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(NonFiniteGradientError);
      expect(caught).toBeInstanceOf(ValueError);
      const err = caught as NonFiniteGradientError;
      expect(err.variableName).toBe('b/bias');
      expect(err.index).toBe(2);
      expect(err.message).toContain(`Adam.applyGradients: the gradient of variable 'b/bias' [4] is not finite (${bad} at flat index 2); no variable was updated`);
      unchanged(); // 'a/kernel', checked first and fine, was not updated either
    }
  });

  it('stepWithLoss: a NaN or infinite loss returns its value and changes nothing; a finite one steps as step() does', () => {
    for (const bad of [NaN, Infinity]) {
      const { vars, opt, g, unchanged } = setup();
      vars[0].value.grad = g[0];
      vars[1].value.grad = g[1];
      expect(opt.stepWithLoss(vars, new Tensor(Float32Array.of(bad), []), [vec(0.25)])).toEqual([bad, 0.25]);
      unchanged();
    }
    const { vars, opt, g } = setup();
    const twin = setup();
    vars.forEach((v, i) => (v.value.grad = g[i]));
    twin.vars.forEach((v, i) => (v.value.grad = g[i]));
    expect(opt.stepWithLoss(vars, new Tensor(Float32Array.of(1.5), []))).toEqual([1.5]);
    twin.opt.step(twin.vars);
    expect(flat(vars)).toEqual(flat(twin.vars));
    expect(opt.iterations).toBe(2);
  });

  it('a shape, dtype or duplicate mistake', () => {
    const { vars, opt, g, unchanged } = setup();
    expectError(() => opt.applyGradients([[g[1], vars[0]]]), ShapeError, "the gradient of variable 'a/kernel' has shape [4] but the variable has shape [2,3]");
    expectError(() => opt.applyGradients([[g[0].reshape([6]), vars[0]]]), ShapeError, 'shape [6]', '[2,3]');
    expectError(() => opt.applyGradients([[new Tensor(new Int32Array(4), [4]), vars[1]]]), DTypeError, "'b/bias' must be float32, got int32");
    expectError(() => opt.applyGradients([[[1, 2] as never, vars[1]]]), DTypeError, 'must be a Tensor');
    expectError(() => opt.applyGradients([[g[1], vars[1]], [g[1], vars[1]]]), ValueError, "variable 'b/bias' appears twice");
    expectError(() => opt.applyGradients([g[0] as never]), ValueError, 'pair 0 must be [gradient, variable]');
    unchanged();
  });

  it('a schedule that returns a bad learning rate', () => {
    class Broken extends LearningRateSchedule {
      readonly className = 'Broken';
      valueAt(step: number): number {
        return step < 1 ? 0.1 : NaN;
      }
      getConfig(): ScheduleConfig {
        return { className: this.className };
      }
    }
    const [a] = makeVariables();
    const opt = new SGD({ learningRate: new Broken() });
    opt.applyGradients([[gradTensors(0)[0], a]]);
    const w = Array.from(a.value.data);
    expectError(() => opt.applyGradients([[gradTensors(1)[0], a]]), ValueError, 'SGD.applyGradients: the learning rate at step 1 is NaN');
    expect(Array.from(a.value.data)).toEqual(w);
  });
});

describe('bad options', () => {
  it('are ValueErrors naming the optimizer, the option and the value', () => {
    expectError(() => new SGD({ learningRate: -0.1 }), ValueError, "SGD: 'learningRate' must be a finite number >= 0, got -0.1");
    expectError(() => new Adam({ learningRate: NaN }), ValueError, "Adam: 'learningRate'", 'got NaN');
    expectError(() => new Adam({ learningRate: Infinity }), ValueError, "'learningRate'", 'got Infinity');
    expectError(() => new Adam({ learningRate: '0.1' as never }), ValueError, "'learningRate'", 'got "0.1"');
    expectError(() => new SGD({ momentum: 1 }), ValueError, "SGD: 'momentum' must be a number in [0, 1), got 1");
    expectError(() => new SGD({ momentum: -0.1 }), ValueError, "'momentum'", 'got -0.1');
    expectError(() => new SGD({ momentum: NaN }), ValueError, "'momentum'", 'got NaN');
    expectError(() => new SGD({ nesterov: 'yes' as never }), ValueError, "'nesterov' must be a boolean");
    expectError(() => new RMSprop({ momentum: 1.5 }), ValueError, "RMSprop: 'momentum'");
    expectError(() => new Adam({ beta1: 1 }), ValueError, "Adam: 'beta1' must be a number in [0, 1), got 1");
    expectError(() => new AdamW({ beta2: -0.5 }), ValueError, "AdamW: 'beta2'");
    expectError(() => new Adam({ epsilon: -1e-7 }), ValueError, "'epsilon' must be a finite number >= 0");
    expectError(() => new RMSprop({ rho: 1 }), ValueError, "RMSprop: 'rho'");
    expectError(() => new Adadelta({ rho: 2 }), ValueError, "Adadelta: 'rho'");
    expectError(() => new Adagrad({ initialAccumulatorValue: -1 }), ValueError, "Adagrad: 'initialAccumulatorValue'");
    expectError(() => new SGD({ clipNorm: 0 }), ValueError, "'clipNorm' must be a finite number > 0, got 0");
    expectError(() => new SGD({ clipValue: -1 }), ValueError, "'clipValue'");
    expectError(() => new SGD({ clipNorm: 1, globalClipNorm: 2 }), ValueError, "only one of 'clipNorm', 'clipValue' and 'globalClipNorm'", 'clipNorm=1, globalClipNorm=2');
    expectError(() => new SGD({ weightDecay: -0.01 }), ValueError, "'weightDecay'");
    expectError(() => new AdamW({ weightDecay: null }), ValueError, "AdamW: 'weightDecay' must be a number");
    expectError(() => new SGD({ excludeFromWeightDecay: ['('] }), ValueError, "SGD: '(' is not a valid regular expression");
    expectError(() => new SGD().excludeFromWeightDecay({ names: ['['] }), ValueError, "SGD.excludeFromWeightDecay: '[' is not a valid regular expression");
    expectError(() => new SGD({ lr: 0.1 } as never), ValueError, "SGD: unknown option 'lr'");
    expectError(() => new AdamW({ beta_1: 0.9 } as never), ValueError, "AdamW: unknown option 'beta_1'");
    const opt = new SGD();
    expectError(() => (opt.learningRate = -1), ValueError, "SGD.learningRate: 'learningRate'", 'got -1');
  });

  it('unknown names, classes and config keys', () => {
    expectError(() => getOptimizer('adamax'), ValueError, "unknown optimizer 'adamax'", "'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta'");
    expectError(() => optimizerFromConfig({ className: 'Nadam' }), ValueError, "unknown optimizer 'Nadam'");
    expectError(() => optimizerFromConfig({ className: 'Adam', beta_1: 0.9 }), ValueError, "unknown option 'beta_1'");
    expectError(() => optimizerFromConfig({ className: 'SGD', beta1: 0.9 }), ValueError, "unknown option 'beta1'");
    expectError(() => getOptimizer(42 as never), ValueError, 'expected a name, a config or an Optimizer');
  });
});

describe('bad states', () => {
  const trained = () => {
    const opt = new Adam();
    const vars = makeVariables();
    const g = gradTensors(0);
    opt.applyGradients([
      [g[0], vars[0]],
      [g[1], vars[1]],
    ]);
    return { opt, vars, state: opt.getState() };
  };
  it('are refused before anything is replaced', () => {
    const { state } = trained();
    const fresh = () => new Adam();
    expectError(() => fresh().setState(state.slice(1)), ValueError, "the state has no 'iterations' entry");
    expectError(() => new Adam({ amsgrad: true }).setState(state), ValueError, "lacks slot(s) 'a/kernel/vHat'");
    expectError(() => new SGD({ momentum: 0.9 }).setState(state), ValueError, "unknown state entry 'a/kernel/m'", "'<variable>/momentum'");
    expectError(() => new SGD().setState(state), ValueError, "unknown state entry 'a/kernel/m'", 'has slots none');
    expectError(() => fresh().setState([state[0], state[1], state[1], state[2]]), ValueError, "'a/kernel/m' appears twice");
    expectError(() => fresh().setState([{ name: 'iterations', value: vec(1.5) }]), ValueError, "'iterations' must be one integer >= 0, got 1.5");
    expectError(() => fresh().setState([state[0], { name: 'a/kernel/m', value: vec(1) }, state[2]]), ShapeError, "slots of variable 'a/kernel' have different shapes");
    expectError(() => fresh().setState([state[0], { name: 'x/m', value: new Tensor(new Int32Array(1), [1]) }]), DTypeError, "'x/m' must be float32");
    expectError(() => fresh().setState({} as never), ValueError, 'expected an array');

    // Against variables this optimizer has: at once; against later ones: when met (build or the first update).
    const { opt } = trained();
    const wrong = [state[0], { name: 'a/kernel/m', value: vec(1, 2) }, { name: 'a/kernel/v', value: vec(1, 2) }];
    const before = opt.getState().map((e) => Array.from(e.value.data));
    expectError(() => opt.setState(wrong), ShapeError, "the state of variable 'a/kernel' has shape [2] but the variable has shape [2,3]");
    expect(opt.getState().map((e) => Array.from(e.value.data))).toEqual(before);
    const later = fresh();
    later.setState(wrong);
    expectError(() => later.build(makeVariables()), ShapeError, "Adam.build: the loaded optimizer state of variable 'a/kernel' has shape [2] but the variable has shape [2,3]");
  });

  it('two variables with one name cannot be saved', () => {
    const opt = new SGD({ momentum: 0.5 });
    const a = new Variable('same', vec(1));
    const b = new Variable('same', vec(2));
    opt.applyGradients([
      [vec(1), a],
      [vec(1), b],
    ]);
    expectError(() => opt.getState(), ValueError, "two variables are named 'same'");
  });
});
