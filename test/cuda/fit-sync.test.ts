/**
 * A CUDA training step synchronises once, at its end (src/train/fit.ts, src/optim/optimizer.ts stepWithLoss,
 * src/train/metrics-device.ts), checked with the fake CUDA addon (test/helpers/fake-cuda.ts), which records every
 * kernel call and transfer in order:
 * - fit on 'cuda' with accuracy, top-k and binary metrics logs what fit on 'cpu' logs and ends with its weights, bit
 *   for bit (the fake runs the CPU kernels; device metrics count integers, exact in float32);
 * - each training step downloads exactly once, after the update kernels were called (Adam, SGD, with and without
 *   clipping), and evaluation reads once per step; the metrics are read once at the end;
 * - a NaN input mid-epoch gives the CPU's NonFiniteLossError and leaves weights, Adam slots and iterations as they
 *   were before that batch; a finite loss with a NaN gradient gives the CPU's NonFiniteGradientError, nothing
 *   changed; an optimizer without a CUDA kernel (RMSprop) keeps these semantics reading before it updates;
 * - the device metrics equal the host ones on awkward inputs (ties, infinities, labels out of range or fractional).
 */
import { describe, expect, it } from 'vitest';

import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import { input } from '../../src/nn/input.js';
import * as layers from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { Adam, RMSprop, SGD } from '../../src/optim/index.js';
import { NonFiniteGradientError, type Optimizer } from '../../src/optim/optimizer.js';
import { randInt, randn } from '../../src/tensor/creation.js';
import { sqrt, square, sub } from '../../src/tensor/elementwise.js';
import { mean } from '../../src/tensor/reduction.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Callback, LambdaCallback, type Logs } from '../../src/train/callbacks.js';
import { NonFiniteLossError } from '../../src/train/fit.js';
import {
  BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
} from '../../src/train/losses.js';
import {
  Accuracy, BinaryAccuracy, CategoricalAccuracy, type Metric, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy,
} from '../../src/train/metrics.js';
import { DeviceCount } from '../../src/train/metrics-device.js';
import { cpuAddonForFake, type FakeCuda, useFakeCuda } from '../helpers/fake-cuda.js';
import { MemoryStream } from '../train/models.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/fit-sync: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));
const weightBits = (m: Model): number[][] => m.variables.map((v) => bits(v.value));
const stateBits = (o: Optimizer): Record<string, number[]> => Object.fromEntries(o.getState().map((e) => [e.name, bits(e.value.cast('float32'))]));

/** A two-layer perceptron on [N, 6]: `units` outputs named 'head'. */
function mlp(units: number): Model {
  const inp = input({ shape: [6] });
  const h = layers.dense({ units: 8, activation: 'relu', name: 'hidden' }).apply(inp);
  return new Model({ inputs: inp, outputs: layers.dense({ units, name: 'head' }).apply(h) });
}

/** A CPU model and a CUDA one with the same weights. */
function twins(make: () => Model): [Model, Model] {
  const a = make();
  const b = make();
  b.setWeights(Object.values(a.getWeights()));
  return [a, b.to('cuda')];
}

/** Marks the fake's call log at each batch end without asking for the logs (as the progress bar). */
class StepMarks extends Callback {
  readonly marks: number[] = [];
  constructor(private readonly fake: FakeCuda) {
    super();
  }
  override onEpochBegin(): void {
    this.marks.push(this.fake.stats.calls.length);
  }
  override onBatchEnd(): void {
    this.marks.push(this.fake.stats.calls.length);
  }
  override keepsBatchLogs(): boolean {
    return false;
  }
  /** The calls of each step of the last epoch. */
  steps(): string[][] {
    const calls = this.fake.stats.calls;
    return this.marks.slice(1).map((end, i) => calls.slice(this.marks[i], end));
  }
}

const count = (calls: readonly string[], name: string): number => calls.filter((c) => c === name).length;

describe.skipIf(!cpuAddon.addon)('a CUDA training step reads back once (fake CUDA addon)', () => {
  let fake: FakeCuda;
  useFakeCuda((f) => void (fake = f));

  const x = randn([40, 6], { seed: 1 });
  const labels = randInt([40], 0, 4, { seed: 2 });
  const oneHotY = new Tensor(Float32Array.from({ length: 160 }, (_, i) => (labels.data[Math.floor(i / 4)] === i % 4 ? 1 : 0)), [40, 4]);
  const binaryY = new Tensor(Float32Array.from(labels.data, (l) => (l >= 2 ? 1 : 0)), [40, 1]);
  const cases = [
    { what: 'sparse labels: accuracy, sparse top-2', units: 4, y: labels, loss: () => new SparseCategoricalCrossentropy({ fromLogits: true }),
      metrics: () => ['accuracy', new SparseTopKCategoricalAccuracy({ k: 2 })] },
    { what: 'one-hot labels: accuracy, top-2', units: 4, y: oneHotY, loss: () => new CategoricalCrossentropy({ fromLogits: true }),
      metrics: () => ['accuracy', new TopKCategoricalAccuracy({ k: 2 })] },
    { what: 'binary labels: accuracy (threshold 0 on logits), binary accuracy at 0.25', units: 1, y: binaryY,
      loss: () => new BinaryCrossentropy({ fromLogits: true }), metrics: () => ['accuracy', new BinaryAccuracy({ threshold: 0.25 })] },
  ];

  it.each(cases)('fit on CUDA logs the CPU metrics and ends with its weights, bit for bit ($what)', async ({ units, y, loss, metrics }) => {
    const [a, b] = twins(() => mlp(units));
    for (const m of [a, b]) m.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: loss(), metrics: metrics() });
    const opts = { epochs: 3, batchSize: 8, shuffle: false, verbose: 0 as const, validationData: [x.slice([0, 0], [16, 6]), y.slice([0], [16])] as const };
    const ha = await a.fit(x, y, opts);
    const hb = await b.fit(x, y, opts);
    expect(Object.keys(hb.history)).toHaveLength(6);  // loss and two metrics, and their val_ twins
    expect(hb.history).toEqual(ha.history);
    expect(weightBits(b)).toEqual(weightBits(a));
    expect(await b.evaluate(x, y, { batchSize: 16 })).toEqual(await a.evaluate(x, y, { batchSize: 16 }));
  });

  it.each([
    { what: 'Adam', opt: () => new Adam({ learningRate: 0.01 }), kernel: 'adamUpdateF32' },
    { what: 'Adam with clipNorm', opt: () => new Adam({ learningRate: 0.01, clipNorm: 0.5 }), kernel: 'adamUpdateF32' },
    { what: 'SGD momentum with globalClipNorm', opt: () => new SGD({ learningRate: 0.1, momentum: 0.9, globalClipNorm: 0.5 }), kernel: 'sgdUpdateF32' },
  ])('each step downloads once, after its update kernels ($what); the metrics are read at the epoch end', async ({ opt, kernel }) => {
    const [, b] = twins(() => mlp(4));
    b.compile({ optimizer: opt(), loss: new SparseCategoricalCrossentropy({ fromLogits: true }), metrics: ['accuracy', new SparseTopKCategoricalAccuracy({ k: 2 })] });
    const marks = new StepMarks(fake);
    const stream = new MemoryStream(false);  // verbose 1 off a TTY: one line per epoch
    await b.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 1, progressStream: stream, callbacks: [marks] });
    const steps = marks.steps();
    expect(steps).toHaveLength(5);
    for (const [i, calls] of steps.entries()) {
      expect(count(calls, 'download'), `step ${i}`).toBe(1);
      expect(count(calls, kernel), `step ${i}`).toBe(b.trainableVariables.length);
      expect(calls.lastIndexOf(kernel), `step ${i}: the read comes after the updates`).toBeLessThan(calls.indexOf('download'));
      expect(calls.indexOf('download'), `step ${i}: nothing runs after the read`).toBe(calls.length - 1);
      // Uploads from pageable memory wait for the queued kernels: only the batch (x, y) goes up, before any kernel;
      // constants (the gradient seed, scalars such as a mean's 1/n) are written by fill kernels.
      expect(count(calls, 'upload'), `step ${i}: uploads`).toBe(2);
      expect(calls.lastIndexOf('upload'), `step ${i}: the uploads come first`).toBe(1);
    }
    // the epoch end: one read per device metric (the progress line and History)
    expect(count(fake.stats.calls.slice(marks.marks.at(-1)), 'download')).toBe(2);
    expect(stream.text).toMatch(/loss: .* - accuracy: .* - sparse_top_k_categorical_accuracy: /);
  });

  it.each([
    { what: 'a softmax head with sparse labels (probabilities)', units: 4, activation: 'softmax', y: () => labels, loss: () => new SparseCategoricalCrossentropy() },
    { what: 'a softmax head with one-hot labels, label smoothing', units: 4, activation: 'softmax', y: () => oneHotY, loss: () => new CategoricalCrossentropy({ labelSmoothing: 0.1 }) },
    { what: 'a sigmoid head (binary, probabilities)', units: 1, activation: 'sigmoid', y: () => binaryY, loss: () => new BinaryCrossentropy() },
  ])('$what: one download and only the batch uploaded per step, no CPU fallback', async ({ units, activation, y, loss }) => {
    const make = (): Model => {
      const inp = input({ shape: [6] });
      const h = layers.dense({ units: 8, activation: 'relu' }).apply(inp);
      return new Model({ inputs: inp, outputs: layers.dense({ units, activation }).apply(h) });
    };
    const [a, b] = twins(make);
    for (const m of [a, b]) m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: loss(), metrics: ['accuracy'] });
    const marks = new StepMarks(fake);
    const fallbacks = cudaFallbacks().length;
    const hb = await b.fit(x, y(), { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, callbacks: [marks] });
    const ha = await a.fit(x, y(), { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    for (const [i, calls] of marks.steps().entries()) {
      expect(count(calls, 'download'), `step ${i}: downloads`).toBe(1);
      expect(count(calls, 'upload'), `step ${i}: uploads`).toBe(2);
    }
    expect(cudaFallbacks().slice(fallbacks)).toEqual([]);
    expect(hb.history).toEqual(ha.history);
    expect(weightBits(b)).toEqual(weightBits(a));
  });

  it('evaluation reads once per step, the metrics once at the end', async () => {
    const [, b] = twins(() => mlp(4));
    b.compile({ optimizer: new Adam(), loss: new SparseCategoricalCrossentropy({ fromLogits: true }), metrics: ['accuracy', new SparseTopKCategoricalAccuracy({ k: 3 })] });
    // A DataSource: evaluate then runs no host-side target check first.
    const batches = [0, 10, 20, 30].map((s) => ({ x: x.slice([s, 0], [10, 6]), y: labels.slice([s], [10]) }));
    fake.resetStats();
    const r = await b.evaluate(batches);
    expect(fake.stats.downloads).toBe(4 + 2);
    expect(Object.keys(r)).toEqual(['loss', 'accuracy', 'sparse_top_k_categorical_accuracy']);
  });

  it('batch logs a callback keeps hold the values of their batch, as on the CPU', async () => {
    const [a, b] = twins(() => mlp(4));
    const kept: Logs[][] = [[], []];
    const runs = [a, b].map(async (m, i) => {
      m.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }), metrics: ['accuracy'] });
      await m.fit(x, labels, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0, callbacks: [new LambdaCallback({ onBatchEnd: (_b, logs) => void kept[i].push(logs) })] });
    });
    await Promise.all(runs);
    expect(kept[1]).toHaveLength(10);
    expect(kept[1]).toEqual(kept[0]);  // read after fit: each still holds its own batch's running values
    expect(new Set(kept[1].map((l) => l.loss)).size).toBe(10);
  });

  it('a NaN input mid-epoch: the CPU NonFiniteLossError; weights, Adam slots and iterations as before that batch', async () => {
    const bad = Float32Array.from(x.data as Float32Array);
    bad[19 * 6 + 2] = NaN;  // sample 19: the third batch of 8
    const xb = new Tensor(bad, [40, 6]);
    const [a, b] = twins(() => mlp(4));
    const errors: NonFiniteLossError[] = [];
    const before: Array<{ w: number[][]; slots: Record<string, number[]>; iterations: number }> = [];
    for (const m of [a, b]) {
      m.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }), metrics: ['accuracy'] });
      await m.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });  // slots exist
      const snap = new LambdaCallback({
        onBatchBegin: (batch) => {
          if (batch === 2) before.push({ w: weightBits(m), slots: stateBits(m.compiled!.optimizer), iterations: m.compiled!.optimizer.iterations });
        },
      });
      const e = await m.fit(xb, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, callbacks: [snap] }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(NonFiniteLossError);
      errors.push(e as NonFiniteLossError);
    }
    expect(errors[1].message).toBe(errors[0].message);
    expect(errors[1].message).toMatch(/^fit: the loss is NaN at epoch 1\/1, batch 3\/5; training stopped/);
    expect([errors[1].epoch, errors[1].batch]).toEqual([0, 2]);
    expect(before[1].iterations).toBe(5 + 2);
    expect(b.compiled!.optimizer.iterations).toBe(before[1].iterations);
    expect(weightBits(b)).toEqual(before[1].w);
    expect(stateBits(b.compiled!.optimizer)).toEqual(before[1].slots);
    expect(weightBits(b)).toEqual(weightBits(a));
    expect(stateBits(b.compiled!.optimizer)).toEqual(stateBits(a.compiled!.optimizer));
  });

  it('a finite loss with a NaN gradient mid-epoch: the CPU NonFiniteGradientError naming the variable, nothing changed', async () => {
    // sqrt(square(r)) is |r| forward, but its gradient at r = 0 is (1 / 0) * 0 = NaN: a zero input row with target 0
    // (batch 2) gives a zero residual through a dense layer without bias.
    const make = (): Model => {
      const inp = input({ shape: [6] });
      return new Model({ inputs: inp, outputs: layers.dense({ units: 1, useBias: false, name: 'linear' }).apply(inp) });
    };
    const xd = Float32Array.from(x.data as Float32Array);
    const yd = Float32Array.from({ length: 40 }, (_, i) => 1 + (i % 3));
    xd.fill(0, 10 * 6, 11 * 6);  // sample 10: the second batch
    yd[10] = 0;
    const xs = new Tensor(xd, [40, 6]);
    const ys = new Tensor(yd, [40, 1]);
    const absLoss = (yt: Tensor, p: Tensor): Tensor => mean(sqrt(square(sub(p, yt))));
    const [a, b] = twins(make);
    const errors: unknown[] = [];
    const before: Array<{ w: number[][]; slots: Record<string, number[]> }> = [];
    for (const m of [a, b]) {
      m.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: absLoss });
      const snap = new LambdaCallback({ onBatchBegin: (batch) => void (batch === 1 && before.push({ w: weightBits(m), slots: stateBits(m.compiled!.optimizer) })) });
      errors.push(await m.fit(xs, ys, { epochs: 1, batchSize: 10, shuffle: false, verbose: 0, callbacks: [snap] }).catch((err: unknown) => err));
      expect(m.compiled!.optimizer.iterations).toBe(1);
    }
    expect(errors[1]).toBeInstanceOf(NonFiniteGradientError);
    expect((errors[1] as NonFiniteGradientError).message).toBe((errors[0] as Error).message);
    expect((errors[1] as NonFiniteGradientError).message).toMatch(/^fit: epoch 1\/1, batch 2\/4: Adam.step: the gradient of variable 'linear\/kernel' \[6,1\] is not finite \(NaN at flat index 0\)/);
    expect((errors[1] as NonFiniteGradientError).variableName).toBe('linear/kernel');
    expect(weightBits(b)).toEqual(before[1].w);
    expect(stateBits(b.compiled!.optimizer)).toEqual(before[1].slots);
    expect(weightBits(b)).toEqual(weightBits(a));
  });

  it('RMSprop (no CUDA kernel: host updates) trains as on the CPU and keeps the NaN semantics, reading before it updates', async () => {
    const [a, b] = twins(() => mlp(4));
    const bad = Float32Array.from(x.data as Float32Array);
    bad[30 * 6] = Infinity;  // the fourth batch
    const xb = new Tensor(bad, [40, 6]);
    const warn = console.warn;
    console.warn = () => undefined;  // the one-time note that RMSprop updates CUDA variables on the host
    try {
      for (const m of [a, b]) {
        m.compile({ optimizer: new RMSprop({ learningRate: 0.01, momentum: 0.5 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }) });
        await m.fit(x, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
        await expect(m.fit(xb, labels, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 })).rejects.toThrow(/the loss is NaN at epoch 1\/1, batch 4\/5/);
        expect(m.compiled!.optimizer.iterations).toBe(5 + 3);
      }
    } finally {
      console.warn = warn;
    }
    expect(weightBits(b)).toEqual(weightBits(a));
    expect(stateBits(b.compiled!.optimizer)).toEqual(stateBits(a.compiled!.optimizer));
  });

  describe('device metrics against the host ones', () => {
    /** Updates a fresh metric per device with each batch; the CUDA one reads nothing until result(), then once. */
    function both(make: () => Metric, batches: Array<[Tensor, Tensor]>): [number, number] {
      const host = make();
      const dev = make();
      fake.resetStats();
      for (const [y, p] of batches) {
        host.update(y, p);
        dev.update(y.to('cuda'), p.to('cuda'));
      }
      const downloads = fake.stats.downloads;
      const r = dev.result();
      expect(fake.stats.downloads - downloads, 'the result reads once').toBe(1);
      expect(downloads, 'no update reads').toBe(0);
      return [host.result(), r];
    }

    const scores = new Tensor(Float32Array.of(
      0.1, 0.5, 0.5, 0.2, // a tie for the top
      -Infinity, 0, 1, 2,
      Infinity, 3, 3, -1,
      0.3, 0.3, 0.3, 0.3, // all tied
      NaN, 1, 2, 3, // NaN at class 0
      4, 3, 2, 1,
    ), [6, 4]);

    it('top-k: ties count in, non-finite true scores miss, labels out of range or fractional miss', () => {
      const sparse = [Int32Array.of(2, 0, 0, 3, 0, 3), Int32Array.of(1, 1, 1, 0, 1, 4), Int32Array.of(-1, 3, 2, 1, 2, 0)];
      for (const k of [1, 2, 3]) {
        for (const l of sparse) {
          const [h, d] = both(() => new SparseTopKCategoricalAccuracy({ k }), [[new Tensor(l, [6]), scores]]);
          expect(d, `k ${k} labels ${l}`).toBe(h);
        }
        const floats = new Tensor(Float32Array.of(2, 0.5, 1, 3, 7, 1e10), [6, 1]);
        const [h, d] = both(() => new SparseTopKCategoricalAccuracy({ k }), [[floats, scores], [new Tensor(sparse[0], [6]), scores]]);
        expect(d, `k ${k} float labels`).toBe(h);
        const oneHot = new Tensor(Float32Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? 1 : 0)), [6, 4]);
        const [hc, dc] = both(() => new TopKCategoricalAccuracy({ k }), [[oneHot, scores]]);
        expect(dc, `k ${k} one-hot`).toBe(hc);
      }
    });

    it('accuracy (sparse, categorical, binary) over several batches, int32 and float labels', () => {
      const p = randn([64, 5], { seed: 7 });
      const l = randInt([64], 0, 5, { seed: 8 });
      const lf = new Tensor(Float32Array.from(l.data, (v, i) => (i % 7 === 0 ? v + 0.5 : v)), [64]);
      const oh = new Tensor(Float32Array.from({ length: 320 }, (_, i) => (l.data[Math.floor(i / 5)] === i % 5 ? 1 : 0)), [64, 5]);
      const halves = (t: Tensor): [Tensor, Tensor] => [t.slice([0], [32]), t.slice([32], [32])];
      const [p1, p2] = halves(p);
      for (const y of [l, lf]) {
        const [y1, y2] = halves(y);
        const [h, d] = both(() => new SparseCategoricalAccuracy(), [[y1, p1], [y2, p2]]);
        expect(d).toBe(h);
        expect(h).toBeGreaterThan(0);
      }
      const [o1, o2] = halves(oh);
      const [h, d] = both(() => new CategoricalAccuracy(), [[o1, p1], [o2, p2]]);
      expect(d).toBe(h);
      const pb = new Tensor(Float32Array.of(0.5, 0.75, -1, 0, 0.25, 0.5000001, NaN, Infinity), [8, 1]);
      for (const yb of [new Tensor(Float32Array.of(0, 1, 0, 1, 0, 1, 0, 1), [8]), new Tensor(Int32Array.of(1, 1, 0, 0, 0, 1, 1, 1), [8, 1])]) {
        for (const threshold of [0.5, 0, 0.25]) {
          const [hb, db] = both(() => new BinaryAccuracy({ threshold }), [[yb, pb]]);
          expect(db, `binary at ${threshold}`).toBe(hb);
        }
        const [ha, da] = both(() => new Accuracy({ kind: 'binary' }), [[yb, pb]]);
        expect(da).toBe(ha);
      }
    });

    it('binary accuracy with a threshold float32 cannot hold, or rows of several elements, reads on the host', () => {
      const pb = new Tensor(Float32Array.of(0.3, Math.fround(0.3), 0.31, 0.2), [2, 2]);
      const yb = new Tensor(Float32Array.of(0, 1, 1, 0), [2, 2]);
      for (const [p, y] of [[pb, yb], [pb.reshape([4]), yb.reshape([4])]]) {
        const host = new BinaryAccuracy({ threshold: 0.3 });
        const dev = new BinaryAccuracy({ threshold: 0.3 });
        host.update(y, p);
        fake.resetStats();
        dev.update(y.to('cuda'), p.to('cuda'));
        expect(fake.stats.downloads).toBe(2);  // its two arguments
        expect(dev.result()).toBe(host.result());
      }
    });

    it('the device sum splits before 2^24, where float32 integers stop being exact', () => {
      const c = new DeviceCount();
      const three = (): Tensor => new Tensor(Float32Array.of(3), []).to('cuda');
      c.add(three(), 2 ** 23);
      c.add(three(), 2 ** 23);  // fits: 2^24 in all
      c.add(three(), 1);  // would pass 2^24: a second partial sum
      fake.resetStats();
      expect(c.take()).toBe(9);
      expect(fake.stats.downloads).toBe(1);
      expect(fake.stats.downloadedElements).toBe(2);
      expect(c.take()).toBe(0);  // taken: nothing left on the device
      expect(fake.stats.downloads).toBe(1);
    });
  });
});
