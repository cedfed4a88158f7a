/**
 * saveModel / loadModel with nn's real models: a compiled Sequential convnet (batch norm statistics
 * included) and a functional residual model with a frozen layer come back with the same config, the same
 * weights bit for bit and the same predictions, and training resumes exactly: one more epoch of fit() on the
 * loaded model gives the weights the uninterrupted run gets, and the same logs. Built-in Loss and Metric objects
 * (with options) are saved as their configs and come back compiled identically.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import { oneHot } from '../../src/tensor/manipulation.js';
import { input, layers, model, sequential, type Model } from '../../src/nn/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { CategoricalCrossentropy, Loss, SparseCategoricalCrossentropy } from '../../src/train/losses.js';
import { AUC, Accuracy, Metric, Precision, SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy } from '../../src/train/metrics.js';
import { intsBelow } from '../helpers/random.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodegrad-nnmodel-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function bits(m: Model): Map<string, number[]> {
  return new Map(m.variables.map((v) => [v.name, Array.from(new Uint32Array(Float32Array.from(v.value.data as Float32Array).buffer))]));
}

const x = randn([16, 8, 8, 1], { seed: 1 });
const y = new Tensor(intsBelow(16, 3, 2), [16]);

/** Fits one epoch, saves, loads; checks the model that comes back; one more epoch on each must agree exactly. */
async function roundTrip(m: Model, labels: Tensor = y): Promise<Model> {
  await m.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
  await saveModel(m, dir);
  const back = await loadModel(dir);
  expect(back.constructor).toBe(m.constructor);
  expect(back.getConfig()).toEqual(m.getConfig());
  expect(bits(back)).toEqual(bits(m));
  expect(back.variables.map((v) => v.trainable)).toEqual(m.variables.map((v) => v.trainable));
  expect(Array.from((back.predictOnBatch(x) as Tensor).data)).toEqual(Array.from((m.predictOnBatch(x) as Tensor).data));
  expect(back.compiled!.optimizer.iterations).toBe(m.compiled!.optimizer.iterations);

  const h = await m.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, validationData: [x, labels] });
  const hb = await back.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, validationData: [x, labels] });
  expect(bits(back)).toEqual(bits(m));
  expect(hb.history).toEqual(h.history);
  return back;
}

/** A loss or metric as its class and config, for comparing compile configs. */
const described = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(described) : v instanceof Loss || v instanceof Metric ? { class: v.constructor, config: v.getConfig() } : v;

describe('nn models', () => {
  it('a compiled Sequential convnet with batch norm', async () => {
    const m = sequential([
      layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      layers.batchNormalization(),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(),
      layers.dense({ units: 3, activation: 'softmax' }),
    ]);
    m.compile({ optimizer: { className: 'Adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await roundTrip(m);
    const spec = JSON.parse(readFileSync(join(dir, 'ckpt-000001', 'model.json'), 'utf8'));
    expect(spec.modelConfig.className).toBe('Sequential');
    expect(spec.trainingConfig).toMatchObject({ loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], optimizer: { className: 'Adam', learningRate: 0.01 } });
    expect(spec.weights.map((w: { name: string }) => w.name)).toEqual(m.variables.map((v) => v.name));
  });

  it('a functional residual model with a frozen layer, compiled with SGD and momentum', async () => {
    const inp = input({ shape: [8, 8, 1] });
    const a = layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(inp);
    const frozen = layers.conv2d({ filters: 2, kernelSize: 1, padding: 'same', trainable: false });
    const b = frozen.apply(a);
    const sum = layers.add().apply([a, b]);
    const out = layers.dense({ units: 3 }).apply(layers.globalAveragePooling2d().apply(sum));
    const m = model({ inputs: inp, outputs: out });
    m.compile({ optimizer: { className: 'SGD', learningRate: 0.05, momentum: 0.9, nesterov: true }, loss: 'sparseCategoricalCrossentropy' });
    await roundTrip(m);
  });

  it('built-in Loss and Metric objects with options: saved as configs, loaded compiled identically', async () => {
    const m = sequential([
      layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
      layers.flatten(),
      layers.dense({ units: 3 }), // logits
    ]);
    const loss = new SparseCategoricalCrossentropy({ fromLogits: true });
    const metrics = [new SparseTopKCategoricalAccuracy({ k: 2 }), 'accuracy', new Precision({ average: 'micro', name: 'p_micro' }), new Accuracy({ name: 'acc' })];
    m.compile({ optimizer: { className: 'Adam', learningRate: 0.02 }, loss, metrics });
    const back = await roundTrip(m);

    const spec = JSON.parse(readFileSync(join(dir, 'ckpt-000001', 'model.json'), 'utf8'));
    expect(spec.formatVersion).toBe(1);
    expect(spec.trainingConfig.unsaved).toBeUndefined();
    expect(spec.trainingConfig.loss).toEqual({ className: 'SparseCategoricalCrossentropy', reduction: 'mean', fromLogits: true, labelSmoothing: 0 });
    expect(spec.trainingConfig.metrics).toEqual([
      { className: 'SparseTopKCategoricalAccuracy', k: 2, name: 'sparse_top_k_categorical_accuracy' },
      'accuracy',
      { className: 'Precision', threshold: null, average: 'micro', classId: null, name: 'p_micro' },
      { className: 'Accuracy', kind: null, threshold: 0.5, name: 'acc' },
    ]);

    const c = back.compiled!.config;
    expect(c.loss).toBeInstanceOf(SparseCategoricalCrossentropy);
    expect(c.loss).not.toBe(loss);
    expect(described(c.loss)).toEqual(described(loss));
    expect(described(c.metrics)).toEqual(described(metrics));
    expect(back.compiled!.optimizer.getConfig()).toEqual(m.compiled!.optimizer.getConfig());
    expect(back.compiled!.logKeys()).toEqual(m.compiled!.logKeys());
    expect(m.compiled!.logKeys()).toEqual(['loss', 'sparse_top_k_categorical_accuracy', 'accuracy', 'p_micro', 'acc']);
  });

  it('one-hot targets: CategoricalCrossentropy with label smoothing and TopKCategoricalAccuracy, AUC', async () => {
    const m = sequential([layers.flatten({ inputShape: [8, 8, 1] }), layers.dense({ units: 3, activation: 'softmax' })]);
    m.compile({
      optimizer: { className: 'SGD', learningRate: 0.1, momentum: 0.9 },
      loss: new CategoricalCrossentropy({ labelSmoothing: 0.1 }),
      metrics: [new TopKCategoricalAccuracy({ k: 2 }), new AUC({ exact: true })],
    });
    const back = await roundTrip(m, oneHot(y, 3));
    expect((back.compiled!.config.loss as CategoricalCrossentropy).labelSmoothing).toBe(0.1);
    expect((back.compiled!.config.metrics as Metric[]).map((e) => e.getConfig())).toEqual([
      { className: 'TopKCategoricalAccuracy', k: 2, name: 'top_k_categorical_accuracy' },
      { className: 'AUC', numThresholds: 200, exact: true, fromLogits: false, name: 'auc' },
    ]);
  });

  it('a custom loss cannot be saved: the model loads uncompiled with a warning, or compiled with compile: { loss }', async () => {
    const m = sequential([layers.flatten({ inputShape: [8, 8, 1] }), layers.dense({ units: 3 })]);
    const myLoss = (t: Tensor, p: Tensor): Tensor => p.sub(t.reshape([-1, 1]).cast('float32')).square().mean();
    m.compile({ optimizer: 'adam', loss: myLoss });
    await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    await saveModel(m, dir);
    const spec = JSON.parse(readFileSync(join(dir, 'ckpt-000001', 'model.json'), 'utf8'));
    expect(spec.trainingConfig).toMatchObject({ loss: null, unsaved: ['loss'] });

    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const plain = await loadModel(dir);
      expect(plain.compiled).toBeNull();
      await new Promise((r) => setImmediate(r));
      expect(warnings.join('\n')).toContain('compiled with a custom loss');
    } finally {
      process.off('warning', onWarning);
    }
    const withLoss = await loadModel(dir, { compile: { loss: myLoss } });
    expect(withLoss.compiled!.optimizer.iterations).toBe(m.compiled!.optimizer.iterations);
    await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    await withLoss.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    expect(bits(withLoss)).toEqual(bits(m));
  });
});
