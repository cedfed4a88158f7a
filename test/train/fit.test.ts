/**
 * The training loop (src/train/fit.ts, compile.ts) on hand-made TrainableModels (test/train/models.ts):
 * training reduces the loss; the training flag each pass gets; a NaN loss stops with the epoch and batch and
 * leaves the last good weights; same seed => bit-identical weights; validationSplit takes the last samples;
 * DataSources (async and sync, finite and infinite); the event loop keeps running during fit; evaluate and
 * predict against direct computation; class weights, regularisation, multi-output, and bad input.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { sqrt } from '../../src/tensor/elementwise.js';
import { SGD } from '../../src/optim/sgd.js';
import { NonFiniteGradientError } from '../../src/optim/optimizer.js';
import { NodegradError, ShapeError, ValueError } from '../../src/errors.js';
import {
  Callback, LambdaCallback, NonFiniteLossError, compile, evaluate, fit, predict, predictOutputs, sparseCategoricalCrossentropy,
  meanSquaredError, BinaryCrossentropy, AUC, type TrainableModel, type TrainingParams, type ApplyOptions,
} from '../../src/train/index.js';
import { DenseModel, blobs, linearData, MemoryStream } from './models.js';
import { Variable } from '../../src/nn/variable.js';

const quiet = { verbose: 0 as const };
const sgd = (learningRate: number) => new SGD({ learningRate });
const allFinite = (m: DenseModel) => m.weights().every((w) => w.every(Number.isFinite));

/** Records the params fit hands its callbacks. */
class ParamsSpy extends Callback {
  seen: TrainingParams | null = null;
  override onTrainBegin(): void {
    this.seen = { ...this.params! };
  }
}

describe('training', () => {
  it('reduces the loss: softmax classifier with sparse cross-entropy and accuracy', async () => {
    const { x, labels } = blobs(128);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 8, batchSize: 16, seed: 1 });
    expect(h.epoch).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const loss = h.history.loss;
    expect(loss).toHaveLength(8);
    for (let i = 1; i < loss.length; i++) expect(loss[i]).toBeLessThan(loss[i - 1]);
    expect(loss[7]).toBeLessThan(loss[0] / 2);
    expect(h.history.accuracy[7]).toBeGreaterThan(0.9);
  });

  it('reduces the loss: logistic regression from logits (binary cross-entropy) and linear regression (mse)', async () => {
    const { x, y: t } = linearData(96, 4);
    const y = new Tensor(Float32Array.from(t.data, (v) => (v > 0.5 ? 1 : 0)), [96, 1]); // linearly separable
    const logit = new DenseModel({ inputs: 3, units: 1, seed: 2 });
    const c = compile(logit, { optimizer: sgd(1), loss: new BinaryCrossentropy({ fromLogits: true }), metrics: ['accuracy', new AUC({ fromLogits: true })] });
    const h = await fit(logit, c, x, y, { ...quiet, epochs: 10, batchSize: 32, seed: 2 });
    expect(h.history.loss[9]).toBeLessThan(h.history.loss[0] / 2);
    expect(h.history.accuracy[9]).toBeGreaterThan(0.9); // threshold 0 on logits, from the loss
    expect(h.history.auc[9]).toBeGreaterThan(0.95);

    const lin = linearData(64);
    const reg = new DenseModel({ inputs: 3, units: 1, seed: 3 });
    const c2 = compile(reg, { optimizer: sgd(0.1), loss: 'mse', metrics: ['mae'] });
    const h2 = await fit(reg, c2, lin.x, lin.y, { ...quiet, epochs: 30, batchSize: 8, seed: 3 });
    expect(h2.history.loss[29]).toBeLessThan(1e-3 * h2.history.loss[0]);
    expect(Object.keys(h2.history)).toEqual(['loss', 'mae']);
  });

  it('passes training: true to the model in fit, false in evaluate and predict', async () => {
    const flags: Array<boolean | undefined> = [];
    const { x, labels } = blobs(8);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax', onApply: (o) => flags.push(o?.training) });
    const c = compile(model, { optimizer: sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
    await fit(model, c, x, labels, { ...quiet, batchSize: 4 });
    // one probe (inference) before training, then two training batches
    expect(flags).toEqual([false, true, true]);
    flags.length = 0;
    await evaluate(model, c, x, labels, { batchSize: 8 });
    await predict(model, x, { batchSize: 8 });
    expect(flags).toEqual([false, false, false]); // probe + one evaluate batch, one predict batch
  });

  it('includes the regularisation loss in the logged loss, weights samples by class weight', async () => {
    const { x, labels } = blobs(12);
    const mk = (l2 = 0) => new DenseModel({ inputs: 4, units: 3, activation: 'softmax', l2 });
    // Learning rate 0 and one batch: the logged loss is the loss at the initial weights.
    const run = async (m: DenseModel, opts: Record<string, unknown> = {}) => {
      const c = compile(m, { optimizer: sgd(0), loss: 'sparseCategoricalCrossentropy' });
      return (await fit(m, c, x, labels, { ...quiet, batchSize: 12, shuffle: false, ...opts })).history.loss[0];
    };
    const base = await run(mk());
    const m2 = mk(0.01);
    const w = m2.kernel.value.data as Float32Array;
    const penalty = 0.01 * w.reduce((s, v) => s + v * v, 0);
    expect(await run(m2)).toBeCloseTo(base + penalty, 5);

    const m3 = mk();
    const per = sparseCategoricalCrossentropy(labels, m3.apply(x), { reduction: 'none' }).data;
    const cw = [1, 3, 0.5];
    const weighted = Array.from(per).reduce((s, v, i) => s + v * cw[labels.data[i]], 0) / 12;
    expect(await run(m3, { classWeight: cw })).toBeCloseTo(weighted, 5);
    expect(await run(mk(), { classWeight: { 0: 1, 1: 1, 2: 1 } })).toBe(base);
  });

  it('runs from initialEpoch to epochs, and stops early when a callback sets stopTraining', async () => {
    const { x, labels } = blobs(16);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.1), loss: 'sparseCategoricalCrossentropy' });
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 4, initialEpoch: 2, batchSize: 4 });
    expect(h.epoch).toEqual([2, 3]);
    let batches = 0;
    const stopper = new LambdaCallback({
      onBatchEnd: (b) => {
        batches++;
        if (b === 1) model.stopTraining = true;
      },
    });
    const h2 = await fit(model, c, x, labels, { ...quiet, epochs: 5, batchSize: 4, callbacks: [stopper] });
    expect(batches).toBe(2);
    expect(h2.epoch).toEqual([0]);
    expect(model.stopTraining).toBe(true);
    // a new fit clears the flag
    await fit(model, c, x, labels, { ...quiet, epochs: 1, batchSize: 16 });
    expect(model.stopTraining).toBe(false);
  });
});

describe('NaN and infinite losses', () => {
  it('stops with the epoch and batch in the message and keeps the weights of the last good step', async () => {
    const { x, labels } = blobs(16);
    const xd = Float32Array.from(x.data as Float32Array);
    xd[2 * 4 * 4 + 1] = NaN; // sample 8: batch 3 (1-based) of epoch 2 without shuffling, batch size 4
    const bad = new Tensor(xd, [16, 4]);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    // Epoch 1 trains on clean data (a callback swaps in the bad rows afterwards) so History has an epoch.
    let data = x;
    const snapshots: Float32Array[][] = [];
    const cb = new LambdaCallback({
      onBatchEnd: () => void snapshots.push(model.weights()),
      onEpochEnd: () => void (data = bad),
    });
    const source = { *[Symbol.iterator]() { for (let b = 0; b < 4; b++) yield [data.slice([4 * b, 0], [4, 4]), labels.slice([4 * b], [4])] as const; } };
    let err: unknown;
    try {
      await fit(model, c, source, undefined, { ...quiet, epochs: 3, callbacks: [cb] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    const e = err as NonFiniteLossError;
    expect(e.message).toContain('the loss is NaN at epoch 2/3, batch 3/4');
    expect(e.message).toContain('the weights are those before this batch');
    expect([e.epoch, e.batch]).toEqual([1, 2]);
    expect(e.history?.history.loss).toHaveLength(1);
    expect(allFinite(model)).toBe(true);
    expect(model.weights()).toEqual(snapshots[snapshots.length - 1]); // after batch 2 of epoch 2
    expect(model.kernel.grad).toBeNull();
  });

  it('a diverging run (huge learning rate) stops on an infinite loss with finite weights', async () => {
    const { x, y } = linearData(32);
    const model = new DenseModel({ inputs: 3, units: 1 });
    const c = compile(model, { optimizer: sgd(50), loss: 'mse' });
    const out = new MemoryStream(true);
    await expect(fit(model, c, x, y, { epochs: 50, batchSize: 8, progressStream: out, shuffle: false })).rejects.toThrow(
      /fit: the loss is (Infinity|NaN) at epoch \d+\/50, batch \d\/4/,
    );
    expect(allFinite(model)).toBe(true);
    expect(out.text.endsWith('\n')).toBe(true); // the half-drawn bar line was ended
  });

  it('a finite loss with a non-finite gradient is refused by the optimizer, located by fit, weights untouched', async () => {
    const { x, labels } = blobs(8);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const before = model.weights();
    // d sqrt(0) = infinity, times the 0 of p * 0: NaN gradients under a loss of exactly 0.
    const c = compile(model, { optimizer: sgd(0.1), loss: (_y: Tensor, p: Tensor) => sqrt(p.mul(0)).sum() });
    let err: unknown;
    try {
      await fit(model, c, x, labels, { ...quiet, batchSize: 4 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteGradientError);
    expect((err as Error).message).toMatch(/^fit: epoch 1\/1, batch 1\/2: SGD\.step: the gradient of variable 'dense\/kernel' \[4,3\] is not finite/);
    expect(model.weights()).toEqual(before);
  });
});

describe('reproducibility', () => {
  const train = async (seed: number | undefined) => {
    const { x, labels } = blobs(64);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax', seed: 9 });
    const c = compile(model, { optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
    await fit(model, c, x, labels, { ...quiet, epochs: 3, batchSize: 10, seed });
    return model.weights();
  };
  it('the same seed gives bit-identical weights; another seed gives others', async () => {
    const a = await train(123);
    const b = await train(123);
    expect(b).toEqual(a);
    const d = await train(124);
    expect(d).not.toEqual(a);
  });
  it('manualSeed seeds the default generator fit shuffles with', async () => {
    manualSeed(42);
    const a = await train(undefined);
    manualSeed(42);
    const b = await train(undefined);
    expect(b).toEqual(a);
  });
});

describe('validation', () => {
  it('validationSplit holds out the last samples (before shuffling) and logs val_ keys', async () => {
    const { x, labels } = blobs(40);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const spy = new ParamsSpy();
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 2, batchSize: 8, validationSplit: 0.25, callbacks: [spy] });
    expect(spy.seen!.samples).toBe(30);
    expect(spy.seen!.steps).toBe(4);
    expect(spy.seen!.metrics).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    expect(Object.keys(h.history)).toEqual(['loss', 'accuracy', 'val_loss', 'val_accuracy']);
    // The last epoch's validation equals evaluating the last 10 samples with the final weights.
    const last = await evaluate(model, c, x.slice([30, 0]), labels.slice([30]), { batchSize: 8 });
    expect(h.history.val_loss[1]).toBe(last.loss);
    expect(h.history.val_accuracy[1]).toBe(last.accuracy);
  });

  it('validationData as [x, y] or a DataSource; validationFreq', async () => {
    const { x, labels } = blobs(24);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.3), loss: 'sparseCategoricalCrossentropy' });
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 3, batchSize: 8, validationData: [x, labels], validationFreq: 2 });
    expect(h.history.val_loss).toHaveLength(1); // after epoch 2 only (Keras: (epoch + 1) % validationFreq == 0)
    const batches = [{ x: x.slice([0, 0], [12, 4]), y: labels.slice([0], [12]) }, { x: x.slice([12, 0]), y: labels.slice([12]) }];
    const h2 = await fit(model, c, x, labels, { ...quiet, epochs: 1, batchSize: 8, validationData: batches });
    const direct = await evaluate(model, c, x, labels, { batchSize: 12 });
    expect(h2.history.val_loss[0]).toBeCloseTo(direct.loss, 6);
  });
});

describe('DataSources', () => {
  const { x, labels } = blobs(64);
  const batch = (b: number, size = 16) => ({ x: x.slice([b * size, 0], [size, 4]), y: labels.slice([b * size], [size]) });

  it('an async generator with stepsPerEpoch: one iterator across epochs (an infinite stream works)', async () => {
    let made = 0;
    async function* stream() {
      for (let i = 0; ; i++) {
        made++;
        await new Promise((r) => setTimeout(r, 0));
        yield batch(i % 4);
      }
    }
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const h = await fit(model, c, stream(), undefined, { ...quiet, epochs: 6, stepsPerEpoch: 4 });
    expect(made).toBe(24);
    expect(h.history.loss[5]).toBeLessThan(h.history.loss[0]);
  });

  it("takes Keras' fit(dataset, options) and evaluate(dataset, options) forms", async () => {
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy' });
    const src = [0, 1, 2, 3].map((b) => batch(b));
    const h = await fit(model, c, src, { ...quiet, epochs: 2 });
    expect(h.history.loss).toHaveLength(2);
    const r = await evaluate(model, c, src, { verbose: 0 });
    expect(Number.isFinite(r.loss)).toBe(true);
    // A tensor in y's place is still y, and y with a DataSource is still refused.
    await expect(fit(model, c, src, labels, { ...quiet, epochs: 1 })).rejects.toThrow(/DataSource/);
  });

  it('a re-iterable source (an array of batches, tuples) is iterated afresh each epoch', async () => {
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy' });
    const spy = new ParamsSpy();
    const steps: Array<number | null> = [];
    const watch = new LambdaCallback({ onEpochEnd: () => void steps.push(spy.params!.steps) });
    const src = [0, 1, 2, 3].map((b) => [batch(b).x, batch(b).y] as const);
    const h = await fit(model, c, src, undefined, { ...quiet, epochs: 3, callbacks: [spy, watch] });
    expect(h.history.loss).toHaveLength(3);
    expect(spy.seen!.steps).toBeNull(); // unknown until the first epoch ends
    expect(steps).toEqual([4, 4, 4]);
  });

  it('a one-shot generator without stepsPerEpoch: a clear error in epoch 2; running out with stepsPerEpoch stops with a warning', async () => {
    function* once() {
      for (let b = 0; b < 4; b++) yield batch(b);
    }
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy' });
    await expect(fit(model, c, once(), undefined, { ...quiet, epochs: 2 })).rejects.toThrow(
      'fit: the data source yielded no batches in epoch 2 (a one-shot iterator such as a generator is used up after one epoch',
    );
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (m: string) => void warnings.push(m);
    try {
      const h = await fit(model, c, once(), undefined, { ...quiet, epochs: 5, stepsPerEpoch: 3 });
      expect(h.epoch).toEqual([0, 1]); // 3 + 1 batches
    } finally {
      console.warn = warn;
    }
    expect(warnings[0]).toContain('the data source ran out after 1 batch(es) of epoch 2');
  });

  it('errors inside a batch name the epoch and batch', async () => {
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.5), loss: 'sparseCategoricalCrossentropy' });
    const src = [batch(0), { x: batch(1).x, y: tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 7], undefined, 'int32') }];
    await expect(fit(model, c, src, undefined, quiet)).rejects.toThrow(
      'fit: epoch 1/1, batch 2: sparse_categorical_crossentropy: label 7 at index 15 is out of range [0, 3)',
    );
    await expect(fit(model, c, [{ x: batch(0).x }], undefined, quiet)).rejects.toThrow('fit: epoch 1/1, batch 1: a batch of the data source has no targets (y)');
    await expect(fit(model, c, [42] as never, undefined, quiet)).rejects.toThrow('fit: epoch 1/1, batch 1: a batch of the data source must be { x, y } or [x, y], got number 42');
  });
});

describe('the event loop stays free', () => {
  it('timers and immediates keep running while fit trains', async () => {
    const { x, labels } = blobs(256);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    let intervalTicks = 0;
    const timer = setInterval(() => intervalTicks++, 1);
    let immediates = 0;
    let running = true;
    const spin = () => {
      immediates++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    let batches = 0;
    try {
      await fit(model, c, x, labels, { ...quiet, epochs: 4, batchSize: 4, callbacks: [new LambdaCallback({ onBatchEnd: () => void batches++ })] });
    } finally {
      running = false;
      clearInterval(timer);
    }
    expect(batches).toBe(256);
    // fit yields one event-loop turn after every batch, and a self-rescheduling immediate runs once per turn.
    expect(immediates).toBeGreaterThanOrEqual(batches - 1);
    expect(intervalTicks).toBeGreaterThan(0);
  });
});

describe('evaluate and predict', () => {
  const { x, labels } = blobs(20);
  it('evaluate: batch-size-weighted means equal the loss over the whole set', async () => {
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax', seed: 4 });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy', 'sparseTopKCategoricalAccuracy'] });
    const r = await evaluate(model, c, x, labels, { batchSize: 7 });
    const p = model.apply(x);
    const whole = sparseCategoricalCrossentropy(labels, p).data[0];
    // 3 batch means (7, 7, 6 samples) recombined in float64: float32 rounding of each mean only.
    expect(Math.abs(r.loss - whole)).toBeLessThan(1e-6 * Math.max(1, whole));
    let right = 0;
    for (let i = 0; i < 20; i++) {
      const row = Array.from(p.data.slice(i * 3, i * 3 + 3));
      if (row.indexOf(Math.max(...row)) === labels.data[i]) right++;
    }
    expect(r.accuracy).toBeCloseTo(right / 20, 15);
    expect(r.sparse_top_k_categorical_accuracy).toBe(1); // k = 5 > 3 classes
  });

  it('predict: batched output equals one forward pass; DataSources of bare x; multi-output', async () => {
    const model = new DenseModel({ inputs: 4, units: 3, seed: 6 });
    const whole = model.apply(x);
    const p = await predict(model, x, { batchSize: 6 });
    expect(p.shape).toEqual([20, 3]);
    Array.from(p.data).forEach((v, i) => expect(Math.abs(v - whole.data[i])).toBeLessThan(1e-6));
    const parts = function* () {
      yield x.slice([0, 0], [5, 4]); // bare x batches
      yield [x.slice([5, 0])] as const; // a tuple without y
    };
    const q = await predict(model, parts());
    expect(Array.from(q.data)).toEqual(Array.from(p.data).map((_, i) => q.data[i]));
    expect(q.shape).toEqual([20, 3]);
    const two = new TwoHead();
    const outs = await predictOutputs(two, x, { batchSize: 8 });
    expect(outs.map((o) => o.shape)).toEqual([[20, 3], [20, 1]]);
    await expect(predict(two, x)).rejects.toThrow('the model has 2 outputs; use predictOutputs');
  });
});

/** Two outputs from one input: a 3-class softmax head and a 1-unit regression head. */
class TwoHead implements TrainableModel {
  readonly name = 'two_head';
  stopTraining = false;
  readonly outputNames = ['cls', 'reg'];
  readonly a = new DenseModel({ inputs: 4, units: 3, activation: 'softmax', seed: 7 });
  readonly b = new DenseModel({ inputs: 4, units: 1, seed: 8 });
  apply(x: Tensor | Tensor[], o?: ApplyOptions): Tensor[] {
    return [this.a.apply(x, o), this.b.apply(x, o)];
  }
  get variables(): Variable[] {
    return [...this.a.variables, ...this.b.variables];
  }
  get trainableVariables(): Variable[] {
    return this.variables;
  }
  regularizationLoss(): null {
    return null;
  }
}

describe('multi-output models', () => {
  it('per-output losses, weights and metrics, logged under <output>_', async () => {
    const { x, labels } = blobs(32);
    const target = new Tensor(Float32Array.from(labels.data, (k) => k * 0.5), [32, 1]);
    const model = new TwoHead();
    const c = compile(model, {
      optimizer: sgd(0.2),
      loss: { cls: 'sparseCategoricalCrossentropy', reg: 'mse' },
      lossWeights: [1, 0.5],
      metrics: { cls: ['accuracy'], reg: ['mae'] },
    });
    const h = await fit(model, c, x, [labels, target], { ...quiet, epochs: 3, batchSize: 32 });
    expect(Object.keys(h.history)).toEqual(['loss', 'cls_loss', 'reg_loss', 'cls_accuracy', 'reg_mae']);
    // one batch per epoch: the total is the weighted sum of the outputs' losses
    h.history.loss.forEach((l, i) => expect(l).toBeCloseTo(h.history.cls_loss[i] + 0.5 * h.history.reg_loss[i], 5));
    expect(h.history.loss[2]).toBeLessThan(h.history.loss[0]);
    await expect(fit(model, c, x, labels, quiet)).rejects.toThrow('the model has 2 output(s) ([1,3], [1,1]) but 1 target tensor(s) were given');
  });
});

describe('bad input is refused before training starts', () => {
  const { x, labels } = blobs(10);
  const fresh = () => {
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    return { model, before: model.weights(), c: compile(model, { optimizer: sgd(0.1), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] }) };
  };
  const refused = async (args: [Tensor | Tensor[], Tensor | undefined, Record<string, unknown>?], Kind: new (...a: never[]) => Error, ...fragments: string[]) => {
    const { model, before, c } = fresh();
    let err: unknown;
    try {
      await fit(model, c, args[0], args[1], { ...quiet, ...(args[2] ?? {}) });
    } catch (e) {
      err = e;
    }
    expect(err, `expected ${Kind.name}`).toBeInstanceOf(Kind);
    for (const f of fragments) expect((err as Error).message).toContain(f);
    expect(model.weights()).toEqual(before);
    expect(model.calls).toBeLessThanOrEqual(2); // at most the probes of the training and validation targets
  };

  it('mismatched x / y lengths', () =>
    refused([x, labels.slice([0], [9])], ShapeError, 'fit: y [9] has 9 samples but x [10,4] has 10 (the first axis of every input and target must match)'));
  it('labels out of range for a sparse loss (anywhere in y, not only the first batch)', () => {
    const bad = Int32Array.from(labels.data);
    bad[9] = 3;
    return refused([x, new Tensor(bad, [10])], ValueError, 'fit: targets: sparse_categorical_crossentropy: label 3 at index 9 is out of range [0, 3)');
  });
  it('one-hot labels for a sparse loss', () =>
    refused([x, tensor(Array.from({ length: 10 }, () => [1, 0, 0]))], ShapeError, "must be class indices of shape [10]", "use 'categoricalCrossentropy'"));
  it('missing y, sample weights of the wrong length, bad options', async () => {
    await refused([x, undefined], ValueError, 'fit: y is required with tensor x');
    await refused([x, labels, { sampleWeight: tensor([1, 2]) }], ShapeError, 'sampleWeight [2] has 2 samples');
    await refused([x, labels, { epochs: 1.5 }], ValueError, "option 'epochs' must be an integer >= 0, got 1.5");
    await refused([x, labels, { batch_size: 4 }], ValueError, "unknown option 'batch_size'");
    await refused([x, labels, { validationSplit: 1 }], ValueError, 'validationSplit must be in (0, 1), got 1');
    await refused([x, labels, { validationSplit: 0.95 }], ValueError, 'validationSplit 0.95 of 10 samples leaves no training samples');
    await refused([x, labels, { stepsPerEpoch: 3 }], ValueError, 'stepsPerEpoch applies to a DataSource');
    await refused([x, labels, { callbacks: [() => 0] }], ValueError, 'callbacks must be an array of Callback objects');
    await refused([x, labels, { classWeight: { 0: 1, 1: 1 } }], ValueError, 'classWeight has no finite weight for class 2');
  });
  it('bad validation targets are found before training too', async () => {
    const bad = Int32Array.from(labels.data);
    bad[0] = -1;
    await refused([x, labels, { validationData: [x, new Tensor(bad, [10])] }], ValueError, 'fit: validation targets: sparse_categorical_crossentropy: label -1 at index 0');
  });
  it('compile rejects unknown names and options', () => {
    const { model } = fresh();
    expect(() => compile(model, { optimizer: 'adamm', loss: 'mse' })).toThrow("unknown optimizer 'adamm'");
    expect(() => compile(model, { optimizer: 'adam', loss: 'msee' })).toThrow("unknown loss 'msee'");
    expect(() => compile(model, { optimizer: 'adam', loss: 'mse', metric: ['acc'] } as never)).toThrow("compile: unknown option 'metric'");
  });
  it('a model whose loss reaches no trainable variable', async () => {
    const { model, c } = fresh();
    model.kernel.trainable = true;
    const frozen: TrainableModel = { ...model, name: 'm', apply: (t, o) => model.apply(t, o).detach(), variables: model.variables, trainableVariables: model.trainableVariables, regularizationLoss: () => null, stopTraining: false };
    await expect(fit(frozen, c, x, labels, quiet)).rejects.toThrow(NodegradError);
    await expect(fit(frozen, c, x, labels, quiet)).rejects.toThrow('the loss does not depend on any trainable variable');
  });
  it('the caller\'s tensors are left usable after fit', async () => {
    const { model, c } = fresh();
    const copy = Float32Array.from(x.data as Float32Array);
    await fit(model, c, x, labels, { ...quiet, epochs: 2, batchSize: 3 });
    expect(Float32Array.from(x.data as Float32Array)).toEqual(copy);
    expect(x.isDisposed).toBe(false);
    expect(meanSquaredError(x, x).data[0]).toBe(0);
  });
});
