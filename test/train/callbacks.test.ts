/**
 * Callbacks (src/train/callbacks.ts): each one driven by hand through its hooks on a fixed sequence of
 * monitored values (so every decision is worked out in a comment), then inside fit on the hand-made model.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SGD } from '../../src/optim/sgd.js';
import { ValueError } from '../../src/errors.js';
import {
  CSVLogger, Callback, CallbackList, EarlyStopping, History, LambdaCallback, ModelCheckpoint, ProgressLogger, ReduceLROnPlateau, compile, fit,
  formatFilepath, getWeights, setWeights, type Logs,
} from '../../src/train/index.js';
import { lazyLogs } from '../../src/train/callbacks.js';
import { DenseModel, blobs } from './models.js';
import { expectError } from '../helpers/errors.js';

const quiet = { verbose: 0 as const };

/** Sets every weight of the model to `v`, so restored weights show which epoch they came from. */
const stamp = (m: DenseModel, v: number) => m.variables.forEach((w) => w.assign(new Float32Array(w.size).fill(v)));
const stampOf = (m: DenseModel) => m.kernel.value.data[0];

/** Runs a callback's epoch hooks over a sequence of logs, stamping the weights with the epoch first. */
async function drive(cb: Callback, model: DenseModel, seq: Logs[]): Promise<number> {
  cb.setModel(model);
  model.stopTraining = false;
  await cb.onTrainBegin({});
  let epochs = 0;
  for (let e = 0; e < seq.length && !model.stopTraining; e++) {
    stamp(model, e);
    await cb.onEpochEnd(e, { ...seq[e] });
    epochs++;
  }
  await cb.onTrainEnd({});
  return epochs;
}

function withWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => void warnings.push(m);
  return fn().then(
    (result) => ((console.warn = warn), { result, warnings }),
    (e) => {
      console.warn = warn;
      throw e;
    },
  );
}

describe('EarlyStopping', () => {
  it('stops once `patience` epochs pass without an improvement of minDelta, restoring the best epoch', async () => {
    const model = new DenseModel({ inputs: 2, units: 1 });
    const es = new EarlyStopping({ patience: 2, minDelta: 0.01, restoreBestWeights: true });
    // val_loss 1.0 (best), 0.8 (improves by > 0.01: best), 0.795 (only 0.005 better: wait 1),
    // 0.81 (wait 2 >= patience: stop after epoch 3), 0.5 never seen.
    const epochs = await drive(es, model, [1.0, 0.8, 0.795, 0.81, 0.5].map((v) => ({ val_loss: v })));
    expect(epochs).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
    expect(es.bestEpoch).toBe(1);
    expect(es.best).toBe(0.8);
    expect(stampOf(model)).toBe(1); // the weights of epoch 1
  });

  it("'auto' maximises accuracy; a baseline must be beaten for the wait to reset", async () => {
    const model = new DenseModel({ inputs: 2, units: 1 });
    const es = new EarlyStopping({ monitor: 'val_accuracy', patience: 2, baseline: 0.5 });
    expect(es.mode).toBe('max');
    // Each of 0.3, 0.4, 0.45 improves on the best but not on the baseline, so the wait keeps growing (1, 2, 3);
    // an improving epoch never stops training (Keras), the first non-improving one (0.44, wait 4) does.
    const epochs = await drive(es, model, [0.3, 0.4, 0.45, 0.44, 0.9].map((v) => ({ val_accuracy: v })));
    expect(epochs).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
  });

  it('never stops on the first epoch, and warns once when the monitored value is missing', async () => {
    const model = new DenseModel({ inputs: 2, units: 1 });
    const es = new EarlyStopping({ monitor: 'loss', patience: 0 });
    expect(await drive(es, model, [{ loss: 1 }])).toBe(1);
    const { result, warnings } = await withWarnings(() => drive(new EarlyStopping(), model, [{ loss: 1 }, { loss: 2 }, { loss: 3 }]));
    expect(result).toBe(3);
    expect(warnings).toEqual(["EarlyStopping: the monitored value 'val_loss' is not in the logs (available: loss); skipping"]);
  });

  it('inside fit: stops, and restoreBestWeights puts back the weights of the best epoch', async () => {
    const { x, labels } = blobs(32);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: new SGD({ learningRate: 0.5 }), loss: 'sparseCategoricalCrossentropy' });
    const afterEpoch: Float32Array[][] = [];
    const snap = new LambdaCallback({ onEpochEnd: () => void afterEpoch.push(model.weights()) });
    // minDelta larger than any change: epoch 0 sets the best, epoch 1 does not improve and patience 0 stops.
    const es = new EarlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 0, restoreBestWeights: true });
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 10, batchSize: 8, callbacks: [snap, es] });
    expect(h.epoch).toEqual([0, 1]);
    expect(afterEpoch[1]).not.toEqual(afterEpoch[0]);
    expect(model.weights()).toEqual(afterEpoch[0]);
  });

  it('checks its options', () => {
    expectError(() => new EarlyStopping({ patience: -1 }), ValueError, "option 'patience' must be an integer >= 0");
    expectError(() => new EarlyStopping({ mode: 'up' as never }), ValueError, "option 'mode' must be 'auto', 'min' or 'max'");
    expectError(() => new EarlyStopping({ restore: true } as never), ValueError, "unknown option 'restore'");
  });
});

describe('ReduceLROnPlateau', () => {
  it('multiplies the rate by factor after patience flat epochs, with cooldown and minLr; logs learning_rate', async () => {
    const model = new DenseModel({ inputs: 2, units: 1 });
    const opt = new SGD({ learningRate: 1 });
    const cb = new ReduceLROnPlateau({ patience: 2, factor: 0.5, minDelta: 0, cooldown: 1, minLr: 0.2 });
    cb.setOptimizer(opt);
    const logged: number[] = [];
    const rec = new LambdaCallback({ onEpochEnd: (_e, l) => void logged.push(l.learning_rate) });
    rec.setModel(model);
    cb.setModel(model);
    await cb.onTrainBegin();
    // val_loss stays 1. e0 best; e1 wait 1; e2 wait 2 -> lr 0.5, cooldown 1; e3 cooldown ends (wait 0), then
    // wait 1; e4 wait 2 -> 0.25, cooldown 1; e5 wait 1; e6 wait 2 -> max(0.125, minLr 0.2) = 0.2; e7 wait 1;
    // e8 wait 2 but the rate is at minLr: unchanged.
    for (let e = 0; e < 9; e++) {
      const logs: Logs = { val_loss: 1 };
      await cb.onEpochEnd(e, logs);
      await rec.onEpochEnd(e, logs);
    }
    expect(logged).toEqual([1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]);
    expect(opt.learningRate).toBe(0.2);
  });

  it('an improvement larger than minDelta resets the wait', async () => {
    const opt = new SGD({ learningRate: 1 });
    const cb = new ReduceLROnPlateau({ patience: 1, minDelta: 0.1 });
    cb.setOptimizer(opt);
    await cb.onTrainBegin();
    // 1 (best), 0.8 (improves by 0.2: best), 0.75 (only 0.05: wait 1 >= 1 -> lr 0.1)
    for (const [e, v] of [1, 0.8, 0.75].entries()) await cb.onEpochEnd(e, { val_loss: v });
    expect(opt.learningRate).toBeCloseTo(0.1, 15);
  });

  it('inside fit: the History records the rate of each epoch', async () => {
    const { x, labels } = blobs(16);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const opt = new SGD({ learningRate: 0.4 });
    const c = compile(model, { optimizer: opt, loss: 'sparseCategoricalCrossentropy' });
    const cb = new ReduceLROnPlateau({ monitor: 'loss', patience: 0, factor: 0.5, minDelta: 1e9 });
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 3, batchSize: 8, callbacks: [cb] });
    // Epoch 0 improves on the initial best (inf - 1e9 is inf); with minDelta 1e9 no later epoch does, so with
    // patience 0 epochs 1 and 2 each halve the rate after logging it.
    expect(h.history.learning_rate).toEqual([0.4, 0.4, 0.2]);
    expect(opt.learningRate).toBe(0.1);
  });

  it('checks factor and needs an optimizer', async () => {
    expectError(() => new ReduceLROnPlateau({ factor: 1 }), ValueError, "option 'factor' must be in (0, 1)");
    expect(() => new ReduceLROnPlateau().onTrainBegin()).toThrow('ReduceLROnPlateau: no optimizer set');
  });
});

describe('ModelCheckpoint', () => {
  it('formats the path from the epoch (1-based) and the logs, Python-style', () => {
    const logs = { loss: 0.123456, val_loss: 0.000123 };
    expect(formatFilepath('ckpt-{epoch:03d}-{loss:.2f}', 6, logs)).toBe('ckpt-007-0.12');
    expect(formatFilepath('{epoch}/{val_loss:.2e}', 0, logs)).toBe('1/1.23e-04');
    expect(formatFilepath('{epoch:4d}|{loss}', 9, logs)).toBe('  10|0.123456');
    expectError(() => formatFilepath('{val_acc}', 0, logs), ValueError, "refers to '{val_acc}' which is not in the logs (available: loss, val_loss, epoch)");
    expectError(() => formatFilepath('{loss:x}', 0, logs), ValueError, "unsupported format spec 'x'");
  });

  it('saves every epoch through the save option, or only improvements with saveBestOnly', async () => {
    const model = new DenseModel({ inputs: 2, units: 1 });
    const saved: Array<[string, number]> = [];
    const save = (p: string, m: unknown) => void saved.push([p, stampOf(m as DenseModel)]);
    await drive(new ModelCheckpoint('w-{epoch:02d}-{loss:.1f}', { save }), model, [{ loss: 3 }, { loss: 2 }]);
    expect(saved).toEqual([['w-01-3.0', 0], ['w-02-2.0', 1]]);
    saved.length = 0;
    const best = new ModelCheckpoint('best-{epoch}', { save, monitor: 'loss', saveBestOnly: true });
    await drive(best, model, [3, 2, 2.5, 1, 1].map((v) => ({ loss: v })));
    expect(saved).toEqual([['best-1', 0], ['best-2', 1], ['best-4', 3]]);
    expect(best.saved).toEqual(['best-1', 'best-2', 'best-4']);
  });

  it("calls the model's save(path) (awaited), or saveWeights(path) with saveWeightsOnly", async () => {
    const { x, labels } = blobs(8);
    const events: string[] = [];
    const model = Object.assign(new DenseModel({ inputs: 4, units: 3, activation: 'softmax' }), {
      save: async (p: string) => {
        await new Promise((r) => setTimeout(r, 2));
        events.push(`save ${p}`);
      },
      saveWeights: (p: string) => void events.push(`weights ${p}`),
    });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const log = new LambdaCallback({ onEpochBegin: (e) => void events.push(`begin ${e}`) });
    await fit(model, c, x, labels, { ...quiet, epochs: 2, callbacks: [log, new ModelCheckpoint('m{epoch}')] });
    expect(events).toEqual(['begin 0', 'save m1', 'begin 1', 'save m2']);
    events.length = 0;
    await fit(model, c, x, labels, { ...quiet, epochs: 1, callbacks: [new ModelCheckpoint('w{epoch}', { saveWeightsOnly: true })] });
    expect(events).toEqual(['weights w1']);
  });

  it('fails before training when there is no way to save', async () => {
    const { x, labels } = blobs(8);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const before = model.weights();
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    await expect(fit(model, c, x, labels, { ...quiet, callbacks: [new ModelCheckpoint('x')] })).rejects.toThrow(
      'ModelCheckpoint: the model has no save(path) method; pass { save: (path, model) => ... }',
    );
    expect(model.weights()).toEqual(before);
  });
});

describe('CSVLogger, LambdaCallback, History', () => {
  it('CSVLogger writes a header of sorted keys and one row per epoch; append adds rows only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-csv-'));
    try {
      const file = join(dir, 'log.csv');
      const { x, labels } = blobs(16);
      const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
      const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      const h = await fit(model, c, x, labels, { ...quiet, epochs: 2, batchSize: 8, validationSplit: 0.5, callbacks: [new CSVLogger(file)] });
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines[0]).toBe('epoch,accuracy,loss,val_accuracy,val_loss');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toBe(['0', h.history.accuracy[0], h.history.loss[0], h.history.val_accuracy[0], h.history.val_loss[0]].join(','));
      await fit(model, c, x, labels, { ...quiet, epochs: 1, batchSize: 8, validationSplit: 0.5, callbacks: [new CSVLogger(file, { append: true, separator: ',' })] });
      const again = readFileSync(file, 'utf8').trim().split('\n');
      expect(again).toHaveLength(4);
      expect(again[3].startsWith('0,')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('LambdaCallback hooks run in order, and fit awaits async hooks before going on', async () => {
    const { x, labels } = blobs(8);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const ev: string[] = [];
    const cb = new LambdaCallback({
      onTrainBegin: () => void ev.push('train'),
      onEpochBegin: (e) => void ev.push(`epoch ${e}`),
      onBatchBegin: (b) => void ev.push(`batch ${b}`),
      onBatchEnd: (b, logs) => void ev.push(`end ${b} ${Object.keys(logs).join('/')}`),
      onEpochEnd: async (e) => {
        await new Promise((r) => setTimeout(r, 3));
        ev.push(`epoch end ${e}`);
      },
      onTrainEnd: () => void ev.push('done'),
    });
    await fit(model, c, x, labels, { ...quiet, epochs: 2, batchSize: 4, callbacks: [cb] });
    expect(ev).toEqual([
      'train',
      'epoch 0', 'batch 0', 'end 0 loss', 'batch 1', 'end 1 loss', 'epoch end 0',
      'epoch 1', 'batch 0', 'end 0 loss', 'batch 1', 'end 1 loss', 'epoch end 1',
      'done',
    ]);
    expectError(() => new LambdaCallback({ onEpochEnd: 3 as never }), ValueError, "'onEpochEnd' must be a function");
  });

  it('batch logs are computed when first read; callbacks that override onBatchEnd get them computed, the progress bar does not', async () => {
    let computed = 0;
    const logs = lazyLogs(['loss', 'accuracy'], () => {
      computed++;
      return { loss: 0.5, accuracy: 0.25 };
    });
    expect(Object.keys(logs)).toEqual(['loss', 'accuracy']);
    expect(computed).toBe(0);
    expect(logs.accuracy).toBe(0.25);
    logs.loss = 2;
    expect({ ...logs }).toEqual({ loss: 2, accuracy: 0.25 });
    expect(computed).toBe(1);

    class Ignores extends Callback {}
    class Keeps extends Callback {
      override onBatchEnd(): void {}
    }
    expect(new Ignores().keepsBatchLogs()).toBe(false);
    expect(new History().keepsBatchLogs()).toBe(false);
    expect(new ProgressLogger().keepsBatchLogs()).toBe(false);
    expect(new LambdaCallback({ onBatchBegin: () => undefined }).keepsBatchLogs()).toBe(false);
    expect(new LambdaCallback({ onBatchEnd: () => undefined }).keepsBatchLogs()).toBe(true);
    expect(new Keeps().keepsBatchLogs()).toBe(true);
    const run = async (cbs: Callback[]): Promise<number> => {
      let n = 0;
      await new CallbackList(cbs).batchEnd(0, lazyLogs(['loss'], () => ({ loss: ++n })));
      return n;
    };
    expect(await run([new Ignores(), new History(), new ProgressLogger({ stream: { write: () => true } })])).toBe(0);
    expect(await run([new History(), new Keeps(), new Keeps()])).toBe(1);
  });

  it('a History passed in callbacks is the one fit returns; getWeights / setWeights round-trip', async () => {
    const { x, labels } = blobs(8);
    const model = new DenseModel({ inputs: 4, units: 3, activation: 'softmax' });
    const c = compile(model, { optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const mine = new History();
    const h = await fit(model, c, x, labels, { ...quiet, epochs: 2, callbacks: [mine] });
    expect(h).toBe(mine);
    expect(mine.epoch).toEqual([0, 1]);
    const w = getWeights(model);
    stamp(model, 5);
    setWeights(model, w);
    expect(model.weights()).toEqual(w);
    expectError(() => setWeights(model, [w[0]]), ValueError, 'the model has 2 variables but 1 arrays were given');
  });
});
