/**
 * Exact resume and configs: getState/setState (through a save-like copy to bytes and back) with a config rebuilt
 * from JSON continues bit-identically to an uninterrupted run, for every optimizer with every feature on; the
 * state's names and layout; getConfig/optimizerFromConfig/getOptimizer round trips and Keras' defaults.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import {
  Adadelta,
  Adagrad,
  Adam,
  AdamW,
  Optimizer,
  RMSprop,
  SGD,
  cosineDecay,
  exponentialDecay,
  getOptimizer,
  optimizerFromConfig,
  registerOptimizer,
  type OptimizerConfig,
  type OptimizerStateEntry,
} from '../../src/optim/index.js';
import { flat, gradTensors, makeVariables } from './oracle.js';

const bits = (x: readonly number[]) => Array.from(new Uint32Array(Float32Array.from(x).buffer));

function stepOnce(opt: Optimizer, vars: Variable[], t: number): void {
  const g = gradTensors(t);
  opt.applyGradients([
    [g[0], vars[0]],
    [g[1], vars[1]],
  ]);
}

/** What save + load does: the values to bytes and back (safetensors-like), the config through JSON. */
function saveLoad(opt: Optimizer): { config: OptimizerConfig; state: OptimizerStateEntry[] } {
  const state = opt.getState().map(({ name, value }) => {
    const bytes = Buffer.from(value.data.buffer.slice(value.data.byteOffset, value.data.byteOffset + value.data.byteLength));
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = value.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
    return { name, value: new Tensor(data, value.shape) };
  });
  return { config: JSON.parse(JSON.stringify(opt.getConfig())) as OptimizerConfig, state };
}

const makers: Array<[string, () => Optimizer]> = [
  ['SGD', () => new SGD({ learningRate: 0.05 })],
  ['SGD momentum nesterov, schedule, clipNorm, weight decay', () => new SGD({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 4, decayRate: 0.7 }), momentum: 0.9, nesterov: true, clipNorm: 1.5, weightDecay: 0.01 })],
  ['Adam amsgrad, cosine warmup, globalClipNorm', () => new Adam({ learningRate: cosineDecay({ initialLearningRate: 0, decaySteps: 20, warmupTarget: 0.01, warmupSteps: 4, alpha: 0.1 }), amsgrad: true, beta2: 0.9, globalClipNorm: 2 })],
  ['AdamW, bias excluded', () => new AdamW({ learningRate: 0.01, weightDecay: 0.05, excludeFromWeightDecay: ['bias'] })],
  ['RMSprop centered momentum clipValue', () => new RMSprop({ learningRate: 0.01, centered: true, momentum: 0.5, clipValue: 0.6 })],
  ['Adagrad', () => new Adagrad({ learningRate: 0.1, weightDecay: 0.02 })],
  ['Adadelta', () => new Adadelta({ learningRate: 1, rho: 0.9 })],
];

describe('exact resume (getState / setState)', () => {
  for (const [name, make] of makers) {
    it(`${name}: 5 steps, save, load into a new optimizer and variables, 5 steps = 10 uninterrupted steps, bit for bit`, () => {
      const straight = make();
      const v1 = makeVariables();
      for (let t = 0; t < 10; t++) stepOnce(straight, v1, t);

      const first = make();
      const v2 = makeVariables();
      for (let t = 0; t < 5; t++) stepOnce(first, v2, t);
      const saved = saveLoad(first);
      const weights = v2.map((v) => v.read());

      const resumed = optimizerFromConfig(saved.config);
      expect(resumed.constructor).toBe(first.constructor);
      resumed.setState(saved.state); // no variables met yet: the slots wait for their names
      expect(resumed.iterations).toBe(5);
      const v3 = makeVariables();
      v3.forEach((v, k) => v.assign(weights[k]));
      for (let t = 5; t < 10; t++) stepOnce(resumed, v3, t);

      expect(bits(flat(v3))).toEqual(bits(flat(v1)));
      expect(resumed.iterations).toBe(10);
      const a = straight.getState();
      const b = resumed.getState();
      expect(b.map((e) => e.name)).toEqual(a.map((e) => e.name));
      b.forEach((e, k) => expect(Array.from(e.value.data)).toEqual(Array.from(a[k].value.data)));
    });
  }

  it('setState on an optimizer that already has slots replaces them at once', () => {
    const make = () => new Adam({ learningRate: 0.01 });
    const ref = make();
    const vr = makeVariables();
    for (let t = 0; t < 6; t++) stepOnce(ref, vr, t);

    const src = make();
    const vs = makeVariables();
    for (let t = 0; t < 3; t++) stepOnce(src, vs, t);
    const state = src.getState();

    const other = make();
    const vo = makeVariables();
    for (let t = 0; t < 2; t++) stepOnce(other, vo, t + 7); // different history
    other.setState(state);
    vo.forEach((v, k) => v.assign(vs[k].read()));
    for (let t = 3; t < 6; t++) stepOnce(other, vo, t);
    expect(bits(flat(vo))).toEqual(bits(flat(vr)));
  });

  it('names the entries iterations and <variable>/<slot>, as copies', () => {
    const opt = new Adam();
    const vars = makeVariables();
    stepOnce(opt, vars, 0);
    const state = opt.getState();
    expect(state.map((e) => e.name)).toEqual(['iterations', 'a/kernel/m', 'a/kernel/v', 'b/bias/m', 'b/bias/v']);
    expect(state[0].value.dtype).toBe('int32');
    expect(state[0].value.shape).toEqual([]);
    expect(state[0].value.item()).toBe(1);
    expect(state[1].value.shape).toEqual([2, 3]);
    expect(state[3].value.shape).toEqual([4]);
    (state[1].value.data as Float32Array).fill(123);
    expect(opt.getState()[1].value.data[0]).not.toBe(123);

    expect(new SGD().getState().map((e) => e.name)).toEqual(['iterations']);
    const sgd = new SGD({ momentum: 0.5 });
    stepOnce(sgd, makeVariables(), 0);
    expect(sgd.getState().map((e) => e.name)).toEqual(['iterations', 'a/kernel/momentum', 'b/bias/momentum']);
    const rms = new RMSprop({ momentum: 0.5, centered: true });
    stepOnce(rms, makeVariables(), 0);
    expect(rms.getState().map((e) => e.name).slice(1, 4)).toEqual(['a/kernel/velocity', 'a/kernel/momentum', 'a/kernel/averageGradient']);
    const ada = new Adagrad({ initialAccumulatorValue: 0.25 });
    ada.build(makeVariables());
    expect(Array.from(ada.getState()[1].value.data)).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
  });

  it('keeps loaded slots not yet bound to a variable in getState', () => {
    const src = new RMSprop({ momentum: 0.3 });
    stepOnce(src, makeVariables(), 0);
    const dst = new RMSprop({ momentum: 0.3 });
    dst.setState(src.getState());
    const again = dst.getState();
    expect(again.map((e) => e.name)).toEqual(src.getState().map((e) => e.name));
    again.forEach((e, k) => expect(Array.from(e.value.data)).toEqual(Array.from(src.getState()[k].value.data)));
  });

  it('pendingStateVariables lists loaded slots that no variable has claimed', () => {
    const src = new Adam();
    stepOnce(src, makeVariables(), 0);
    const dst = new Adam();
    dst.setState(src.getState());
    expect(dst.pendingStateVariables()).toEqual(['a/kernel', 'b/bias']);
    dst.build(makeVariables().slice(0, 1));
    expect(dst.pendingStateVariables()).toEqual(['b/bias']);
  });

  it('setState copies its input', () => {
    const src = new Adagrad();
    stepOnce(src, makeVariables(), 0);
    const state = src.getState();
    const dst = new Adagrad();
    dst.setState(state);
    (state[1].value.data as Float32Array).fill(0);
    expect(dst.getState()[1].value.data[0]).not.toBe(0);
  });
});

describe('configs', () => {
  it("default configs carry Keras' defaults", () => {
    const base = { weightDecay: null, clipNorm: null, clipValue: null, globalClipNorm: null, excludeFromWeightDecay: [] };
    expect(new SGD().getConfig()).toEqual({ className: 'SGD', name: 'SGD', learningRate: 0.01, momentum: 0, nesterov: false, ...base });
    expect(new Adam().getConfig()).toEqual({ className: 'Adam', name: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false, ...base });
    expect(new AdamW().getConfig()).toEqual({ className: 'AdamW', name: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false, ...base, weightDecay: 0.004 });
    expect(new RMSprop().getConfig()).toEqual({ className: 'RMSprop', name: 'rmsprop', learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false, ...base });
    expect(new Adagrad().getConfig()).toEqual({ className: 'Adagrad', name: 'adagrad', learningRate: 0.001, initialAccumulatorValue: 0.1, epsilon: 1e-7, ...base });
    expect(new Adadelta().getConfig()).toEqual({ className: 'Adadelta', name: 'adadelta', learningRate: 0.001, rho: 0.95, epsilon: 1e-7, ...base });
  });

  for (const [name, make] of makers) {
    it(`${name}: round-trips through JSON`, () => {
      const opt = make();
      const config = opt.getConfig();
      const back = optimizerFromConfig(JSON.parse(JSON.stringify(config)) as OptimizerConfig);
      expect(back.constructor).toBe(opt.constructor);
      expect(back.getConfig()).toEqual(config);
      expect(getOptimizer(config).getConfig()).toEqual(config);
    });
  }

  it('getOptimizer takes the six names (any case), a config, or an Optimizer', () => {
    const kinds: Array<[string, new () => Optimizer]> = [
      ['sgd', SGD],
      ['adam', Adam],
      ['adamw', AdamW],
      ['rmsprop', RMSprop],
      ['adagrad', Adagrad],
      ['adadelta', Adadelta],
    ];
    for (const [n, C] of kinds) {
      expect(getOptimizer(n).constructor).toBe(C);
      expect(getOptimizer(n.toUpperCase()).constructor).toBe(C);
      expect(getOptimizer(n).getConfig()).toEqual(new C().getConfig());
    }
    expect(getOptimizer('RMSprop')).toBeInstanceOf(RMSprop);
    const opt = new Adam();
    expect(getOptimizer(opt)).toBe(opt);
    expect(getOptimizer({ className: 'SGD', learningRate: 0.5, momentum: 0.9 })).toMatchObject({ momentum: 0.9, learningRate: 0.5 });
  });

  it('registerOptimizer makes a custom class loadable by name and config', () => {
    class Frozen extends SGD {
      override readonly className: string = 'Frozen';
      constructor(options: Record<string, unknown> = {}) {
        super({ ...options, learningRate: 0 });
      }
    }
    registerOptimizer('Frozen', (o) => new Frozen(o));
    expect(getOptimizer('frozen')).toBeInstanceOf(Frozen);
    expect(optimizerFromConfig(new Frozen().getConfig())).toBeInstanceOf(Frozen);
  });
});
