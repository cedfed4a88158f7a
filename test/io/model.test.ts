/**
 * saveModel / loadModel (checkpoint directories) and saveWeights / loadWeights (safetensors files):
 * bit-identical weights, exact resumption of training, and every bad file a clear error that changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Tensor } from '../../src/tensor/tensor.js';
import { ValueError } from '../../src/errors.js';
import { Adam, SGD, ExponentialDecay } from '../../src/optim/index.js';
import {
  DATA_SHA256_KEY,
  FileFormatError,
  NODEGRAD_VERSION,
  WeightsMismatchError,
  loadModel,
  loadWeights,
  readSafetensorsSync,
  saveModel,
  saveWeights,
  serializeSafetensors,
} from '../../src/io/index.js';
import { BinaryCrossentropy, FunctionLoss, Loss, MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy } from '../../src/train/losses.js';
import { AUC, Accuracy, BinaryAccuracy, F1Score, FunctionMetric, Metric, Recall, TopKCategoricalAccuracy } from '../../src/train/metrics.js';
import { SMALL, ToyModel, type ToyConfig } from './toy-model.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodegrad-model-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const load = (d: string, compile = true): Promise<ToyModel> => loadModel(d, { fromConfig: ToyModel.fromConfig, compile });

function compiled(config: ToyConfig = SMALL): ToyModel {
  const m = new ToyModel(config);
  m.compile({
    optimizer: new Adam({ learningRate: new ExponentialDecay({ initialLearningRate: 0.05, decaySteps: 2, decayRate: 0.9 }), weightDecay: 0.01 }),
    loss: 'meanSquaredError',
    metrics: ['mae'],
  });
  return m;
}

/** The warnings `fn` emits (process 'warning' events are delivered on a later tick). */
async function warningsOf<T>(fn: () => Promise<T>): Promise<[T, string[]]> {
  const seen: string[] = [];
  const on = (w: Error): void => void seen.push(w.message);
  process.on('warning', on);
  try {
    const out = await fn();
    await new Promise((r) => setImmediate(r));
    return [out, seen];
  } finally {
    process.off('warning', on);
  }
}

/** Loss and Metric objects as their class and config, anything else as is, through lists and records. */
function described(v: unknown): unknown {
  if (v instanceof Loss || v instanceof Metric) return { class: v.constructor, config: v.getConfig() };
  if (Array.isArray(v)) return v.map(described);
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, described(x)]));
  }
  return v;
}

const modelJson = (d: string, gen = 1): { trainingConfig: Record<string, unknown> } & Record<string, unknown> =>
  JSON.parse(readFileSync(join(d, `ckpt-${String(gen).padStart(6, '0')}`, 'model.json'), 'utf8'));

/** Every file under `root` with its bytes: what "nothing was written" compares. */
function tree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(p.slice(root.length), readFileSync(p).toString('base64'));
    }
  };
  walk(root);
  return out;
}

describe('saveModel / loadModel', () => {
  it('restores the architecture, every weight bit-exactly, the compile config and the optimizer', async () => {
    const m = compiled();
    m.trainStep();
    m.trainStep();
    const manifest = await saveModel(m, dir);
    expect(manifest.generation).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'ckpt-000001']);
    expect(readdirSync(join(dir, 'ckpt-000001')).sort()).toEqual(['model.json', 'optimizer.safetensors', 'weights.safetensors']);

    const spec = JSON.parse(readFileSync(join(dir, 'ckpt-000001', 'model.json'), 'utf8'));
    expect(spec.format).toBe('nodegrad-model');
    expect(spec.formatVersion).toBe(1);
    expect(spec.generatedBy).toBe(`nodegrad ${NODEGRAD_VERSION}`);
    expect(spec.modelConfig).toEqual(m.getConfig());
    expect(spec.trainingConfig.loss).toBe('meanSquaredError');
    expect(spec.trainingConfig.optimizer.className).toBe('Adam');
    expect(spec.weights.map((w: { name: string }) => w.name)).toEqual(m.variables.map((v) => v.name));
    const wf = readSafetensorsSync(join(dir, 'ckpt-000001', 'weights.safetensors'));
    expect(wf.metadata).toEqual({ format: 'nodegrad', kind: 'weights', nodegradVersion: NODEGRAD_VERSION });

    const back = await load(dir);
    expect(back).toBeInstanceOf(ToyModel);
    expect(back.getConfig()).toEqual(m.getConfig());
    expect(back.snapshot()).toEqual(m.snapshot());
    expect(back.variables.map((v) => v.trainable)).toEqual(m.variables.map((v) => v.trainable));
    expect(back.compiled!.config).toEqual({ loss: 'meanSquaredError', metrics: ['mae'], optimizer: back.optimizer });
    expect(back.optimizer!.getConfig()).toEqual(m.optimizer!.getConfig());
    expect(back.optimizer!.iterations).toBe(2);
    const a = m.optimizer!.getState();
    const b = back.optimizer!.getState();
    expect(b.map((e) => e.name).sort()).toEqual(a.map((e) => e.name).sort());
    for (const e of a) expect(Array.from(b.find((x) => x.name === e.name)!.value.data), e.name).toEqual(Array.from(e.value.data));
  });

  for (const [label, make] of [
    ['Adam with a schedule and weight decay', () => compiled()],
    ['SGD with Nesterov momentum', () => {
      const m = new ToyModel(SMALL);
      m.compile({ optimizer: new SGD({ learningRate: 0.03, momentum: 0.9, nesterov: true }), loss: 'mse' });
      return m;
    }],
  ] as const) {
    it(`resumes training bit-identically: ${label}`, async () => {
      const straight = make();
      for (let k = 0; k < 3; k++) straight.trainStep();
      await saveModel(straight, dir);
      for (let k = 0; k < 4; k++) straight.trainStep();

      const resumed = await load(dir);
      for (let k = 0; k < 4; k++) resumed.trainStep();
      expect(resumed.optimizer!.iterations).toBe(7);
      expect(resumed.snapshot()).toEqual(straight.snapshot());
    });
  }

  it('(control) resuming without the optimizer state does not reproduce the run', async () => {
    const straight = compiled();
    for (let k = 0; k < 3; k++) straight.trainStep();
    await saveModel(straight, dir, { includeOptimizer: false });
    for (let k = 0; k < 4; k++) straight.trainStep();
    const resumed = await load(dir);
    for (let k = 0; k < 4; k++) resumed.trainStep();
    expect(resumed.snapshot()).not.toEqual(straight.snapshot());
  });

  it('includeOptimizer: false saves no optimizer state; the loaded model compiles with a fresh optimizer', async () => {
    const m = compiled();
    m.trainStep();
    await saveModel(m, dir, { includeOptimizer: false });
    expect(readdirSync(join(dir, 'ckpt-000001')).sort()).toEqual(['model.json', 'weights.safetensors']);
    const back = await load(dir);
    expect(back.optimizer!.iterations).toBe(0);
    expect(back.optimizer!.getConfig()).toEqual(m.optimizer!.getConfig());
    expect(back.snapshot()).toEqual(m.snapshot());
  });

  it('an uncompiled model loads uncompiled; compile: false skips compiling', async () => {
    await saveModel(new ToyModel(SMALL), dir);
    expect(JSON.parse(readFileSync(join(dir, 'ckpt-000001', 'model.json'), 'utf8')).trainingConfig).toBeNull();
    expect((await load(dir)).optimizer).toBeNull();
    const d2 = join(dir, 'second');
    await saveModel(compiled(), d2);
    expect((await load(d2, false)).optimizer).toBeNull();
  });

  it('a new save replaces the checkpoint as a unit and deletes the previous generation', async () => {
    const m = compiled();
    await saveModel(m, dir);
    m.trainStep();
    const manifest = await saveModel(m, dir);
    expect(manifest.generation).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'ckpt-000002']);
    expect((await load(dir)).snapshot()).toEqual(m.snapshot());
  });

  it('loads a generation folder copied out on its own (no checkpoint.json)', async () => {
    const m = compiled();
    m.trainStep();
    await saveModel(m, dir);
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    for (const f of readdirSync(join(dir, 'ckpt-000001'))) copyFileSync(join(dir, 'ckpt-000001', f), join(copy, f));
    const back = await load(copy);
    expect(back.snapshot()).toEqual(m.snapshot());
    expect(back.optimizer!.iterations).toBe(1);
  });

  it('a folder with no checkpoint is a clear error', async () => {
    await expect(load(dir)).rejects.toThrow(FileFormatError);
    await expect(load(dir)).rejects.toThrow('holds neither checkpoint.json nor model.json');
  });

  describe('corrupt or truncated files: a clear error naming the file, nothing written', () => {
    const cases: [string, (ck: string) => void, string[]][] = [
      ['a byte of weights.safetensors flipped', (ck) => {
        const p = join(ck, 'weights.safetensors');
        const b = readFileSync(p);
        b[b.length - 5] ^= 0x40;
        writeFileSync(p, b);
      }, ['weights.safetensors', 'does not match the sha256', 'corrupt']],
      ['weights.safetensors truncated', (ck) => truncateSync(join(ck, 'weights.safetensors'), 100), ['weights.safetensors', 'truncated']],
      ['weights.safetensors deleted', (ck) => rmSync(join(ck, 'weights.safetensors')), ['weights.safetensors', 'is missing', 'incomplete']],
      ['optimizer.safetensors emptied', (ck) => writeFileSync(join(ck, 'optimizer.safetensors'), ''), ['optimizer.safetensors', 'truncated']],
      ['model.json rewritten', (ck) => writeFileSync(join(ck, 'model.json'), '{}'), ['model.json', 'truncated']],
      ['checkpoint.json cut short', (ck) => truncateSync(join(ck, '..', 'checkpoint.json'), 40), ['checkpoint.json', 'malformed JSON']],
      ['checkpoint.json naming another format', (ck) => writeFileSync(join(ck, '..', 'checkpoint.json'), '{"format":"x"}'), ['checkpoint.json', "'format'"]],
    ];
    for (const [label, damage, fragments] of cases) {
      it(label, async () => {
        const m = compiled();
        m.trainStep();
        await saveModel(m, dir);
        damage(join(dir, 'ckpt-000001'));
        const before = tree(dir);
        let caught: unknown;
        try {
          await load(dir);
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(FileFormatError);
        for (const f of fragments) expect((caught as Error).message).toContain(f);
        expect(tree(dir)).toEqual(before);
        // A later save still works and gives a sound checkpoint.
        await saveModel(m, dir);
        expect((await load(dir)).snapshot()).toEqual(m.snapshot());
      });
    }
  });

  it('an optimizer state that does not fit the model: FileFormatError naming the slot', async () => {
    const m = compiled();
    m.trainStep();
    await saveModel(m, dir);
    const plain = join(dir, 'ckpt-000001');
    const state = m.optimizer!.getState();
    writeFileSync(join(plain, 'optimizer.safetensors'), serializeSafetensors([...state.map((e) => [e.name, e.value] as const), ['ghost/kernel/m', new Tensor(new Float32Array(2), [2])] as const]));
    await expect(load(plain)).rejects.toThrow("optimizer.safetensors: the optimizer state does not fit the model (nothing was loaded): slot 'ghost/kernel/m' belongs to no variable of the model");
    writeFileSync(join(plain, 'optimizer.safetensors'), serializeSafetensors(state.filter((e) => e.name !== 'iterations').map((e) => [e.name, e.value] as const)));
    await expect(load(plain)).rejects.toThrow("no 'iterations' entry");
  });

  it('a model config that does not rebuild: FileFormatError naming model.json', async () => {
    await saveModel(compiled(), dir);
    await expect(loadModel(dir, { fromConfig: () => { throw new ValueError('unknown layer class Foo'); } })).rejects.toThrow(
      /ckpt-000001\/model\.json: the model config does not rebuild a model: unknown layer class Foo/,
    );
  });

  it('weights that do not fit the rebuilt model: WeightsMismatchError', async () => {
    await saveModel(compiled(), dir);
    const other: ToyConfig = { ...SMALL, variables: [{ name: 'conv2d/kernel', shape: [3, 3, 2, 8] }, { name: 'extra/bias', shape: [2] }] };
    await expect(loadModel(dir, { fromConfig: () => new ToyModel(other) })).rejects.toThrow(WeightsMismatchError);
  });
});

describe('saveModel / loadModel: Loss and Metric objects', () => {
  it('built-in objects are saved as their configs and come back equal (new instances, fresh state), the optimizer state restored', async () => {
    const m = new ToyModel(SMALL);
    const loss = new SparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.05 });
    const metrics = [new TopKCategoricalAccuracy({ k: 3 }), 'accuracy', new Recall({ average: 'weighted', name: 'rec' }), new AUC({ numThresholds: 50 })];
    m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss, metrics });
    m.trainStep();
    m.trainStep();
    await saveModel(m, dir);
    const tc = modelJson(dir).trainingConfig;
    expect(tc).toEqual({
      optimizer: m.optimizer!.getConfig(),
      loss: { className: 'SparseCategoricalCrossentropy', reduction: 'mean', fromLogits: true, labelSmoothing: 0.05 },
      metrics: [
        { className: 'TopKCategoricalAccuracy', k: 3, name: 'top_k_categorical_accuracy' },
        'accuracy',
        { className: 'Recall', threshold: null, average: 'weighted', classId: null, name: 'rec' },
        { className: 'AUC', numThresholds: 50, exact: false, fromLogits: false, name: 'auc' },
      ],
    });

    const back = await load(dir);
    const c = back.compiled!.config;
    expect(Object.keys(c).sort()).toEqual(['loss', 'metrics', 'optimizer']);
    expect(c.loss).toBeInstanceOf(SparseCategoricalCrossentropy);
    expect(c.loss).not.toBe(loss);
    expect(described(c.loss)).toEqual(described(loss));
    expect(described(c.metrics)).toEqual(described(metrics));
    expect((c.metrics as Metric[])[0]).not.toBe(metrics[0]);
    expect(back.optimizer!.iterations).toBe(2);
    const a = m.optimizer!.getState();
    const b = back.optimizer!.getState();
    for (const e of a) expect(Array.from(b.find((x) => x.name === e.name)!.value.data), e.name).toEqual(Array.from(e.value.data));

    // Saving the loaded model writes the same training config again.
    const d2 = join(dir, 'again');
    await saveModel(back, d2);
    expect(modelJson(d2).trainingConfig).toEqual(tc);
  });

  it('per output: records and lists of objects and names, with loss weights', async () => {
    for (const [label, config] of [
      ['records', {
        loss: { a: new BinaryCrossentropy({ fromLogits: true }), b: 'mae', c: new MeanSquaredError({ reduction: 'sum' }) },
        metrics: { a: [new BinaryAccuracy({ threshold: 0 }), 'auc'], b: [], c: [new Accuracy({ kind: 'binary' })] },
        lossWeights: { a: 1, b: 0.5, c: 2 },
      }],
      ['lists', {
        loss: [new MeanAbsoluteError(), 'binaryCrossentropy'],
        metrics: [['mse'], [new F1Score({ threshold: 0.4, name: 'f1' })]],
        lossWeights: [0.25, 1],
      }],
    ] as const) {
      const m = new ToyModel(SMALL);
      m.compile({ optimizer: 'sgd', ...config });
      const d = join(dir, label);
      await saveModel(m, d);
      expect(modelJson(d).trainingConfig.unsaved, label).toBeUndefined();
      const back = await load(d);
      const { optimizer: _o, ...rest } = back.compiled!.config;
      expect(described(rest), label).toEqual(described(config));
    }
  });

  it('functions and FunctionLoss / FunctionMetric keep the warning: loss -> uncompiled, metrics -> compiled without them', async () => {
    const m = new ToyModel(SMALL);
    m.compile({ optimizer: 'adam', loss: new FunctionLoss((t, p) => p.sub(t).abs().mean()), metrics: [new TopKCategoricalAccuracy()] });
    await saveModel(m, dir);
    expect(modelJson(dir).trainingConfig).toMatchObject({ loss: null, unsaved: ['loss'], metrics: [{ className: 'TopKCategoricalAccuracy', k: 5 }] });
    const [plain, w1] = await warningsOf(() => load(dir));
    expect(plain.compiled).toBeNull();
    expect(w1.join('\n')).toContain('was compiled with a custom loss, which cannot be saved; the model is returned uncompiled');
    const [withLoss, w2] = await warningsOf(() => loadModel(dir, { fromConfig: ToyModel.fromConfig, compile: { loss: 'mae' } }));
    expect(w2).toEqual([]);
    expect(withLoss.compiled!.config.loss).toBe('mae');
    expect(described(withLoss.compiled!.config.metrics)).toEqual(described([new TopKCategoricalAccuracy()]));

    const d2 = join(dir, 'metric');
    const m2 = new ToyModel(SMALL);
    m2.compile({ optimizer: 'adam', loss: new MeanSquaredError(), metrics: [new AUC(), new FunctionMetric('ones', () => 1), (_t: Tensor, _p: Tensor) => 0] });
    await saveModel(m2, d2);
    expect(modelJson(d2).trainingConfig).toMatchObject({ loss: { className: 'MeanSquaredError' }, unsaved: ['metrics'] });
    expect(modelJson(d2).trainingConfig.metrics).toBeUndefined();
    const [back, w3] = await warningsOf(() => load(d2));
    expect(back.compiled!.config.loss).toBeInstanceOf(MeanSquaredError);
    expect(back.compiled!.config.metrics).toBeUndefined();
    expect(w3.join('\n')).toContain('was compiled with custom metrics, which cannot be saved; compiled without them');
  });

  it('a custom Loss subclass is not saved as its parent', async () => {
    class Doubled extends MeanSquaredError {
      override call(yTrue: Tensor, yPred: Tensor): Tensor {
        return super.call(yTrue, yPred).mul(2);
      }
    }
    const m = new ToyModel(SMALL);
    m.compile({ optimizer: 'adam', loss: new Doubled() });
    await saveModel(m, dir);
    expect(modelJson(dir).trainingConfig).toMatchObject({ loss: null, unsaved: ['loss'] });
  });

  it("a record with an output named 'className' whose loss is a name is not saved (it would read as a config)", async () => {
    const m = new ToyModel(SMALL);
    m.compile({ optimizer: 'adam', loss: { className: 'MeanSquaredError', other: 'mae' } });
    await saveModel(m, dir);
    expect(modelJson(dir).trainingConfig).toMatchObject({ loss: null, unsaved: ['loss'] });
    const d2 = join(dir, 'obj');
    m.compile({ optimizer: 'adam', loss: { className: new MeanSquaredError(), other: 'mae' } });
    await saveModel(m, d2);
    const back = await load(d2);
    expect(described(back.compiled!.config.loss)).toEqual(described({ className: new MeanSquaredError(), other: 'mae' }));
  });

  it('a saved config that does not rebuild here: warned, uncompiled (loss) or compiled without it (metrics)', async () => {
    const m = new ToyModel(SMALL);
    m.compile({ optimizer: 'adam', loss: 'mse', metrics: ['mae'] });
    await saveModel(m, dir);
    const ck = join(dir, 'ckpt-000001');
    const spec = modelJson(dir);
    writeFileSync(join(ck, 'model.json'), JSON.stringify({ ...spec, trainingConfig: { ...spec.trainingConfig, loss: { className: 'HuberFromElsewhere', delta: 1 } } }));
    const [a, w1] = await warningsOf(() => load(ck));
    expect(a.compiled).toBeNull();
    expect(w1.join('\n')).toContain("was compiled with a loss that does not rebuild here (lossFromConfig: unknown loss class 'HuberFromElsewhere'");
    expect(a.snapshot()).toEqual(m.snapshot());
    const withLoss = await loadModel(ck, { fromConfig: ToyModel.fromConfig, compile: { loss: 'mse' } });
    expect(withLoss.optimizer!.getConfig()).toEqual(m.optimizer!.getConfig());

    writeFileSync(join(ck, 'model.json'), JSON.stringify({ ...spec, trainingConfig: { ...spec.trainingConfig, metrics: ['mae', { className: 'AUC', numThresholds: 1 }] } }));
    const [b, w2] = await warningsOf(() => load(ck));
    expect(b.compiled!.config).toEqual({ loss: 'mse', optimizer: b.optimizer });
    expect(w2.join('\n')).toContain("was compiled with metrics that do not rebuild here (AUC: option 'numThresholds' must be an integer > 1");
  });

  it('reads a checkpoint as this version wrote it before configs (names only), unchanged', async () => {
    // A generation folder by hand, as saveModel wrote it: per-output names, lists of metric names, loss weights.
    const m = new ToyModel(SMALL);
    await saveWeights(m, join(dir, 'weights.safetensors'));
    const trainingConfig = {
      optimizer: { className: 'SGD', learningRate: 0.1, momentum: 0.5 },
      loss: { out_a: 'meanSquaredError', out_b: 'binary_crossentropy' },
      metrics: [['mae'], ['accuracy', 'auc']],
      lossWeights: [1, 2],
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify({
      format: 'nodegrad-model', formatVersion: 1, generatedBy: 'nodegrad 0.1.0', modelConfig: m.getConfig(), trainingConfig,
      weights: m.variables.map((v) => ({ name: v.name, shape: [...v.shape], trainable: v.trainable })), optimizerState: false,
    }));
    const back = await load(dir);
    expect(back.snapshot()).toEqual(m.snapshot());
    const { optimizer, ...rest } = back.compiled!.config;
    expect(rest).toEqual({ loss: trainingConfig.loss, metrics: trainingConfig.metrics, lossWeights: trainingConfig.lossWeights });
    expect((optimizer as SGD).getConfig()).toMatchObject(trainingConfig.optimizer);

    // And a string-only compile config is still written exactly so.
    const d2 = join(dir, 'new');
    back.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.5 }), loss: trainingConfig.loss, metrics: trainingConfig.metrics, lossWeights: trainingConfig.lossWeights });
    await saveModel(back, d2);
    const { optimizer: _o, ...saved } = modelJson(d2).trainingConfig;
    expect(saved).toEqual({ loss: trainingConfig.loss, metrics: trainingConfig.metrics, lossWeights: trainingConfig.lossWeights });
  });
});

describe('saveWeights / loadWeights', () => {
  it('round-trips bit-exactly into another model of the same architecture', async () => {
    const a = new ToyModel(SMALL);
    const b = new ToyModel({ ...SMALL, seed: 99 });
    expect(b.snapshot()).not.toEqual(a.snapshot());
    const file = join(dir, 'w.safetensors');
    await saveWeights(a, file);
    expect(readSafetensorsSync(file).metadata[DATA_SHA256_KEY]).toMatch(/^[0-9a-f]{64}$/);
    const r = await loadWeights(b, file);
    expect(r.loaded).toEqual(a.variables.map((v) => v.name));
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
  });

  it('reports every missing, unexpected and mis-shaped tensor by name, and loads nothing', async () => {
    const file = join(dir, 'w.safetensors');
    const src: ToyConfig = {
      name: 'src', seed: 1,
      variables: [
        { name: 'conv2d/kernel', shape: [3, 3, 2, 4] },
        { name: 'conv2d/bias', shape: [5] },
        { name: 'dense_7/kernel', shape: [2] },
      ],
    };
    await saveWeights(new ToyModel(src), file);
    const target = new ToyModel(SMALL);
    const before = target.snapshot();
    let caught: unknown;
    try {
      await loadWeights(target, file);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WeightsMismatchError);
    const e = caught as WeightsMismatchError;
    expect(e.missing).toEqual(['batch_normalization/moving_mean', 'dense/kernel', 'dense/bias']);
    expect(e.unexpected).toEqual(['dense_7/kernel']);
    expect(e.mismatched).toEqual([{ name: 'conv2d/bias', expected: [4], got: [5] }]);
    expect(e.message).toContain(file);
    expect(e.message).toContain("'dense/kernel'");
    expect(e.message).toContain("'dense_7/kernel'");
    expect(e.message).toContain("tensor 'conv2d/bias' has shape [5] but the model's variable has shape [4]");
    expect(e.message).toContain('nothing was loaded');
    expect(target.snapshot()).toEqual(before); // conv2d/kernel fits, but was not written either
  });

  it('strict: false loads the tensors that match and returns the rest; shapes must still match', async () => {
    const file = join(dir, 'w.safetensors');
    const partial: ToyConfig = { name: 'p', seed: 8, variables: [{ name: 'conv2d/kernel', shape: [3, 3, 2, 4] }, { name: 'head/w', shape: [1] }] };
    const p = new ToyModel(partial);
    await saveWeights(p, file);
    const target = new ToyModel(SMALL);
    const r = await loadWeights(target, file, { strict: false });
    expect(r).toEqual({ loaded: ['conv2d/kernel'], missing: ['conv2d/bias', 'batch_normalization/moving_mean', 'dense/kernel', 'dense/bias'], unexpected: ['head/w'] });
    expect(target.snapshot().get('conv2d/kernel')).toEqual(p.snapshot().get('conv2d/kernel'));

    await saveWeights(new ToyModel({ ...partial, variables: [{ name: 'conv2d/kernel', shape: [9] }] }), file);
    await expect(loadWeights(target, file, { strict: false })).rejects.toThrow("tensor 'conv2d/kernel' has shape [9]");
  });

  it('reads float weights of other dtypes (F64 rounded to float32) and rejects integer ones by name', async () => {
    const file = join(dir, 'w.safetensors');
    const target = new ToyModel({ name: 't', seed: 1, variables: [{ name: 'a', shape: [2] }, { name: 'b', shape: [2] }] });
    writeFileSync(file, serializeSafetensors({ a: { shape: [2], data: Float64Array.from([1 / 3, 2]) }, b: new Tensor(Float32Array.from([5, 6]), [2]) }));
    await loadWeights(target, file);
    expect(Array.from(target.variables[0].value.data)).toEqual([Math.fround(1 / 3), 2]);
    writeFileSync(file, serializeSafetensors({ a: new Tensor(Int32Array.from([1, 2]), [2]), b: new Tensor(Float32Array.from([5, 6]), [2]) }));
    await expect(loadWeights(target, file)).rejects.toThrow("tensor 'a' has dtype I32, which is not a float dtype");
  });

  it('a corrupt or truncated weights file: FileFormatError, the model and the file unchanged', async () => {
    const file = join(dir, 'w.safetensors');
    await saveWeights(new ToyModel({ ...SMALL, seed: 5 }), file);
    const good = readFileSync(file);
    const target = new ToyModel(SMALL);
    const before = target.snapshot();

    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    writeFileSync(file, flipped);
    await expect(loadWeights(target, file)).rejects.toThrow(`${file}: the data does not match the sha256 recorded in its metadata`);
    expect(readFileSync(file)).toEqual(flipped);

    for (const len of [0, 7, 8, 100, good.length - 1]) {
      writeFileSync(file, good.subarray(0, len));
      await expect(loadWeights(target, file), `truncated to ${len}`).rejects.toThrow(FileFormatError);
      expect(statSync(file).size).toBe(len);
    }
    expect(target.snapshot()).toEqual(before);
  });

  it('rejects models whose variable names repeat', async () => {
    const m = new ToyModel({ name: 'dup', seed: 1, variables: [{ name: 'a', shape: [1] }, { name: 'a', shape: [1] }] });
    await expect(saveWeights(m, join(dir, 'w.safetensors'))).rejects.toThrow(ValueError);
    await expect(saveModel(m, dir)).rejects.toThrow("two variables are named 'a'");
    expect(existsSync(join(dir, 'w.safetensors'))).toBe(false);
  });
});
