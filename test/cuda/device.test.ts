/**
 * Device-resident tensors (issue 7): tensor.to('cuda' | 'cpu'), dispatch of ops by device, autograd, model.to(),
 * fit() on a CUDA model, save on one device and load on the other, dispose() and the finalizer.
 *
 * Runs without a GPU: test/helpers/fake-cuda.ts stands in for nodegrad_cuda.node (buffers in host memory, kernel
 * entries forwarded to the CPU addon's entries of the same names, or for the movement / selection / dropout entries
 * to the reference backend's kernels and the CUDA kernels' index arithmetic), installed with setCudaAddonForTesting. So what is
 * tested here is everything above the addon: storage, reference counts, dispatch, mixed-device errors, fallbacks,
 * the optimizer's device path, fit's transfers. The oracle for values is the CPU backend on the same inputs: the
 * fake runs the same CPU kernels with the same arguments, so results must be bit-identical (any difference is a
 * dispatch bug: a kernel called with other shapes or attributes, a fallback computing differently, a lost update).
 * The real kernels' accuracy against the CPU is test/cuda/cuda.test.ts's and the harness's job, on a GPU.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it, vi } from 'vitest';

import { loadCuda, setCudaAddonForTesting } from '../../src/backends/cuda/index.js';
import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import { dropout } from '../../src/ops/dropout.js';
import { clip, where } from '../../src/tensor/elementwise.js';
import { argmax, argmin } from '../../src/tensor/reduction.js';
import { cast, concat, gather, oneHot, pad } from '../../src/tensor/manipulation.js';
import { DeviceError } from '../../src/errors.js';
import { loadModel } from '../../src/io/model.js';
import { input } from '../../src/nn/input.js';
import * as layers from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { sequential } from '../../src/nn/sequential.js';
import { resnet20 } from '../../src/models/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { batchNorm } from '../../src/ops/batchnorm.js';
import { conv2d } from '../../src/ops/conv.js';
import { dense } from '../../src/ops/dense.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';
import { maxPool2d } from '../../src/ops/pool.js';
import { randInt, randn, tensor } from '../../src/tensor/creation.js';
import { scope } from '../../src/tensor/scope.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import { SparseCategoricalCrossentropy } from '../../src/train/losses.js';
import { type CpuMatchRun, awkward, matchesCpuOn, words } from '../helpers/cuda-match.js';
import { cpuAddonForFake, type FakeCuda, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/device: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));

/** Runs the garbage collector until `done()` or gives up (FinalizationRegistry callbacks run after a collection). */
async function collectUntil(done: () => boolean): Promise<boolean> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 50 && !done(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  return done();
}

/** A W1-like convnet (the anchors' MNIST convnet, narrower, with batch norm): logits out. */
function convnet(): Model {
  const inp = input({ shape: [28, 28, 1] });
  let x = layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }).apply(inp);
  x = layers.batchNormalization({}).apply(x);
  x = layers.maxPooling2d({ poolSize: 2 }).apply(x);
  x = layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }).apply(x);
  x = layers.maxPooling2d({ poolSize: 2 }).apply(x);
  x = layers.flatten({}).apply(x);
  x = layers.dense({ units: 10 }).apply(x);
  return new Model({ inputs: inp, outputs: x });
}

function twin(a: Model): Model {
  const b = convnet();
  b.setWeights(Object.values(a.getWeights()));
  return b;
}

describe.skipIf(!cpuAddon.addon)('device-resident tensors (fake CUDA addon)', () => {
  let fake: FakeCuda;
  useFakeCuda((f) => (fake = f));

  describe('tensor.to and data access', () => {
    it('uploads and downloads float32 and int32, same device returns itself', () => {
      const x = tensor([[1, -2.5], [3, 4]]);
      const d = x.to('cuda');
      expect(d.device).toBe('cuda');
      expect(x.device).toBe('cpu');
      expect(d.shape).toEqual([2, 2]);
      expect(d.dtype).toBe('float32');
      expect(d.to('cuda')).toBe(d);
      expect(x.to('cpu')).toBe(x);
      expect(Array.from(d.dataSync())).toEqual([1, -2.5, 3, 4]);
      expect(d.toArray()).toEqual([[1, -2.5], [3, 4]]);
      const back = d.to('cpu');
      expect(back.device).toBe('cpu');
      expect(Array.from(back.data)).toEqual([1, -2.5, 3, 4]);
      const i = new Tensor(Int32Array.of(7, -1, 3), [3]).to('cuda');
      expect(i.dtype).toBe('int32');
      expect(Array.from(i.data)).toEqual([7, -1, 3]);
      expect(tensor([5]).to('cuda').item()).toBe(5);
    });

    it('constant float data goes up by a fill kernel with the same bits; other data, NaN included, by an upload', () => {
      const f32bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      const nan = new Float32Array(new Uint32Array([0x7fc00123, 0x7fc00123]).buffer);  // a NaN payload a fill would lose
      for (const host of [new Float32Array(5).fill(-0), new Float32Array(3).fill(-Infinity), Float32Array.of(0.1), Float32Array.of(1, 1, 2), nan]) {
        const constant = host[0] === host[0] && f32bits(host).every((b) => b === f32bits(host)[0]);
        const [uploads, fills] = [fake.stats.uploads, fake.stats.kernels.get('fill') ?? 0];
        const d = new Tensor(host, [host.length]).to('cuda');
        expect(fake.stats.uploads - uploads, `uploads for ${host}`).toBe(constant ? 0 : 1);
        expect((fake.stats.kernels.get('fill') ?? 0) - fills, `fills for ${host}`).toBe(constant ? 1 : 0);
        expect(f32bits(d.data as Float32Array)).toEqual(f32bits(host));
      }
    });

    it('rejects float64 and unknown devices with clear errors', () => {
      expect(() => new Tensor(Float64Array.of(1), [1]).to('cuda')).toThrow(/float64 tensors cannot move to 'cuda'/);
      expect(() => tensor([1]).to('gpu' as never)).toThrow(DeviceError);
      expect(() => tensor([1]).to('gpu' as never)).toThrow(/'cpu' or 'cuda', got "gpu"/);
    });

    it('reshapes share the device buffer; clone copies it', () => {
      const d = tensor([1, 2, 3, 4, 5, 6]).to('cuda');
      const live = fake.liveBuffers();
      const r = d.reshape([2, 3]);
      expect(r.device).toBe('cuda');
      expect(fake.liveBuffers()).toBe(live);  // a view, no new buffer
      const c = d.clone();
      expect(c.device).toBe('cuda');
      expect(fake.liveBuffers()).toBe(live + 1);
      expect(r.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(Array.from(c.data)).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  describe('memory accounting', () => {
    it('dispose() frees the buffer at once, after the last view goes', () => {
      const base = fake.liveBuffers();
      const d = tensor([1, 2, 3, 4]).to('cuda');
      expect(fake.liveBuffers()).toBe(base + 1);
      const v = d.reshape([2, 2]);
      d.dispose();
      expect(fake.liveBuffers()).toBe(base + 1);  // the view still holds it
      expect(Array.from(v.data)).toEqual([1, 2, 3, 4]);
      v.dispose();
      expect(fake.liveBuffers()).toBe(base);
      v.dispose();  // twice: a no-op
      expect(fake.liveBuffers()).toBe(base);
      expect(() => v.data).toThrow(/used after dispose/);
      expect(v.isDisposed).toBe(true);
    });

    it('a scope frees the outputs and intermediates of ops on CUDA tensors', () => {
      const x = randn([4, 8, 8, 3], { seed: 1 }).to('cuda');
      const w = randn([3, 3, 3, 5], { seed: 2 }).to('cuda');
      const base = fake.liveBuffers();
      const s = scope(() => {
        const y = conv2d(x, w, { padding: 'same', activation: 'relu' });
        const p = maxPool2d(y, { poolSize: 2 });
        return p.sum().item();
      });
      expect(Number.isFinite(s)).toBe(true);
      expect(fake.liveBuffers()).toBe(base);
    });

    it('the finalizer frees the buffers of collected tensors', async () => {
      // Settle first: earlier tests left unreachable CUDA tensors that a collection frees too.
      let prev = -1;
      await collectUntil(() => {
        const now = fake.liveBuffers();
        const stable = now === prev;
        prev = now;
        return stable;
      });
      const base = fake.liveBuffers();
      (() => {
        for (let i = 0; i < 5; i++) tensor([i, i + 1]).to('cuda').add(1);
      })();
      expect(fake.liveBuffers()).toBeGreaterThan(base);
      expect(await collectUntil(() => fake.liveBuffers() === base)).toBe(true);
    });
  });

  describe('dispatch', () => {
    it('elementwise, matmul, dense, conv, pooling, batch norm and the loss run on CUDA and match the CPU bit for bit', () => {
      const x = randn([2, 6, 6, 3], { seed: 3 });
      const w = randn([3, 3, 3, 4], { seed: 4 });
      const b = randn([4], { seed: 5 });
      const gamma = randn([4], { seed: 6 }).abs();
      const beta = randn([4], { seed: 7 });
      const wd = randn([36, 5], { seed: 8 });
      const labels = new Tensor(Int32Array.of(1, 4), [2]);
      const run = (t: (u: Tensor) => Tensor): Tensor => {
        const y = conv2d(t(x), t(w), { bias: t(b), padding: 'same', activation: 'relu' });
        const n = batchNorm(y, { gamma: t(gamma), beta: t(beta), training: true }).y;
        const p = maxPool2d(n, { poolSize: 2 }).reshape([2, 36]);
        const logits = dense(p.mul(0.5).sub(0.25), t(wd)).tanh().matmul(t(randn([5, 5], { seed: 9 })));
        return softmaxCrossEntropy(logits.softmax().log().add(logits), t(labels));
      };
      fake.resetStats();
      const cpu = run((u) => u);
      const gpu = run((u) => u.to('cuda'));
      expect(gpu.device).toBe('cuda');
      expect(bits(gpu)).toEqual(bits(cpu));
      for (const k of ['conv2dF32', 'batchNormTrainF32', 'maxPool2dF32', 'matmulF32', 'binaryF32', 'unaryF32', 'softmaxF32', 'softmaxCrossEntropyF32']) {
        expect(fake.stats.kernels.get(k), k).toBeGreaterThan(0);
      }
    });

    it('autograd on CUDA tensors: gradients live on CUDA and equal the CPU ones', () => {
      const grads = (dev: 'cpu' | 'cuda'): Tensor[] => {
        const x = randn([2, 6, 6, 2], { seed: 11 }).to(dev);
        const w = randn([3, 3, 2, 3], { seed: 12 }).to(dev).requireGrad();
        const gamma = randn([3], { seed: 13 }).to(dev).requireGrad();
        const wd = randn([12, 4], { seed: 14 }).to(dev).requireGrad();
        const y = conv2d(x, w, { activation: 'relu' });
        const n = batchNorm(y, { gamma, training: true }).y;
        const p = maxPool2d(n, { poolSize: 2 }).reshape([2, 12]);
        const loss = softmaxCrossEntropy(dense(p, wd), new Tensor(Int32Array.of(0, 3), [2]).to(dev));
        loss.backward();
        return [w.grad!, gamma.grad!, wd.grad!];
      };
      const c = grads('cpu');
      const g = grads('cuda');
      for (let i = 0; i < 3; i++) {
        expect(g[i].device).toBe('cuda');
        expect(bits(g[i])).toEqual(bits(c[i]));
      }
    });

    it('mixed devices: a clear DeviceError naming the kernel and both devices; rank-0 CPU scalars are allowed', () => {
      const a = tensor([[1, 2], [3, 4]]).to('cuda');
      const b = tensor([[1, 0], [0, 1]]);
      expect(() => a.matmul(b)).toThrow(DeviceError);
      expect(() => a.matmul(b)).toThrow(/matmul: expected all tensors on one device, got cuda \[.*\] and cpu \[.*\]/);
      expect(() => b.add(a)).toThrow(/add \(binary\): expected all tensors on one device, got cuda \[2,2\] and cpu \[2,2\]/);
      expect(() => conv2d(randn([1, 4, 4, 1]), randn([2, 2, 1, 1]).to('cuda'))).toThrow(/conv2d: .*cuda .* and cpu \[1,4,4,1\]|conv2d: .*cpu/);
      expect(Array.from(a.add(tensor(1)).data)).toEqual([2, 3, 4, 5]);
      expect(Array.from(a.mul(2).data)).toEqual([2, 4, 6, 8]);
      // a scalar first: add and mul swap their operands for the kernel (no fallback)
      const calls = fake.stats.kernels.get('binaryF32') ?? 0;
      expect(Array.from(tensor(3).add(a).data)).toEqual([4, 5, 6, 7]);
      expect(Array.from(tensor([10, 100]).to('cuda').mul(a).data)).toEqual([10, 200, 30, 400]);
      expect(fake.stats.kernels.get('binaryF32')).toBe(calls + 2);
    });

    it('a kernel the CUDA backend lacks runs on the CPU (download, kernel, upload) with one warning per distinct call', () => {
      const spy = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const x = tensor([[1, 2, 3], [4, 5, 6]]).cast('int32').to('cuda');
        const t1 = x.pow(x);  // int32 arithmetic has no CUDA kernel (the elementwise kernels are float32)
        const t2 = x.pow(x);
        const t3 = x.maximum(x.neg());
        expect(t1.device).toBe('cuda');
        expect(t1.dtype).toBe('int32');
        expect(t1.toArray()).toEqual([[1, 4, 27], [256, 3125, 46656]]);
        expect(t2.toArray()).toEqual(t1.toArray());
        expect(t3.toArray()).toEqual(x.toArray());
        const texts = spy.mock.calls.map((c) => String(c[0])).filter((t) => t.includes('CUDA backend has no kernel'));
        // one warning each for 'pow (binary)', 'neg (unary)' and 'maximum (binary)', none for the second pow
        expect(texts).toHaveLength(3);
        expect(texts[0]).toMatch(/CUDA backend has no kernel for 'pow \(binary\)' \(int32 operands: .*\).*running it on the CPU/);
        expect(texts[2]).toMatch(/'maximum \(binary\)'/);
        expect(cudaFallbacks()).toEqual(expect.arrayContaining(['pow (binary)', 'neg (unary)', 'maximum (binary)']));
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('models', () => {
    const data = (): { x: Tensor; y: Tensor } => ({
      x: randn([48, 28, 28, 1], { seed: 21 }),
      y: randInt([48], 0, 10, { seed: 22 }),
    });
    const compile = (m: Model): void => m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }) });

    it('model.to moves every variable in place; layers report their device', () => {
      const m = convnet();
      const vars = m.variables;
      const values = vars.map((v) => v.value);
      const before = vars.map((v) => bits(v.value));
      expect(m.device).toBe('cpu');
      expect(m.to('cuda')).toBe(m);
      expect(m.device).toBe('cuda');
      for (const l of m.layers) expect(l.device).toBe('cuda');
      vars.forEach((v, i) => {
        expect(v.value).toBe(values[i]);  // the same tensor objects: layers' references stay valid
        expect(v.device).toBe('cuda');
        expect(bits(v.value)).toEqual(before[i]);
      });
      const out = m.predictOnBatch(randn([2, 28, 28, 1], { seed: 1 })) as Tensor;
      expect(out.device).toBe('cuda');
      m.to('cpu');
      vars.forEach((v, i) => {
        expect(v.device).toBe('cpu');
        expect(bits(v.value)).toEqual(before[i]);
      });
    });

    it('fit on CUDA gives the weights fit on the CPU gives, bit for bit, reading back once per step', async () => {
      const { x, y } = data();
      const a = convnet();
      const b = twin(a).to('cuda');
      compile(a);
      compile(b);
      const ha = await a.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
      fake.resetStats();
      const live = fake.liveBuffers();
      const warn = vi.spyOn(console, 'warn');
      const hb = await b.fit(x, y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
      // Every step's tensors were freed by its scope: what remains is Adam's two slots per trainable variable.
      expect(fake.liveBuffers()).toBe(live + 2 * b.trainableVariables.length);
      // Every kernel of the step ran on the device: no fallback warned.
      expect(warn.mock.calls.filter((c) => /CUDA/.test(String(c[0])))).toEqual([]);
      warn.mockRestore();
      // Per step one read-back of the finite check, the loss and the output's loss; nothing else comes back.
      const steps = 3;
      expect(fake.stats.downloads).toBe(steps);
      expect(fake.stats.downloadedElements).toBe(3 * steps);
      const hb2 = await b.fit(x, y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
      expect([...hb.history.loss, ...hb2.history.loss]).toEqual(ha.history.loss);
      expect(b.variables.every((v) => v.device === 'cuda')).toBe(true);
      a.variables.forEach((v, i) => expect(bits(b.variables[i].value), v.name).toEqual(bits(v.value)));
      // evaluate and predict upload their batches too; predict returns host tensors
      expect(await b.evaluate(x, y, { batchSize: 16, verbose: 0 })).toEqual(await a.evaluate(x, y, { batchSize: 16, verbose: 0 }));
      const pb = await b.predict(x, { batchSize: 16, verbose: 0 });
      expect(pb.device).toBe('cpu');
      expect(bits(pb)).toEqual(bits(await a.predict(x, { batchSize: 16, verbose: 0 })));
    });

    it('resnet20 (W2) with SGD momentum trains on CUDA to the CPU weights bit for bit, with no fallback', async () => {
      const a = resnet20({ classifierActivation: 'linear' });
      const b = resnet20({ classifierActivation: 'linear' });
      b.setWeights(Object.values(a.getWeights()));
      b.to('cuda');
      for (const m of [a, b]) {
        m.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }) });
      }
      const x = randn([8, 32, 32, 3], { seed: 31 });
      const y = randInt([8], 0, 10, { seed: 32 });
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        await a.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
        const [uploads, downloads] = [fake.stats.uploads, fake.stats.downloads];
        await b.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
        // Per step: the batch (x, y) up, one read back; the momentum slots start as fills. Before training, fit's
        // probe of the targets runs the model on one sample (one more upload).
        expect(fake.stats.uploads - uploads).toBe(2 * 2 + 1);
        expect(fake.stats.downloads - downloads).toBe(2);
        // The option-A shortcut (strided slice, channel zero-padding) runs on the movement kernels too.
        const fell = warn.mock.calls.map((c) => /no kernel for '(\w+)'/.exec(String(c[0]))?.[1]).filter((k) => k !== undefined);
        expect(fell).toEqual([]);
      } finally {
        warn.mockRestore();
      }
      a.variables.forEach((v, i) => expect(bits(b.variables[i].value), v.name).toEqual(bits(v.value)));
    });

    it('optimizer slots follow the variables between devices (train on CPU, continue on CUDA, finish on CPU)', async () => {
      const { x, y } = data();
      const a = convnet();
      const b = twin(a);
      compile(a);
      compile(b);
      await a.fit(x, y, { epochs: 3, batchSize: 24, shuffle: false, verbose: 0 });
      await b.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
      b.to('cuda');
      await b.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
      b.to('cpu');
      await b.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
      a.variables.forEach((v, i) => expect(bits(b.variables[i].value), v.name).toEqual(bits(v.value)));
    });

    it('SGD with momentum updates CUDA variables with its kernel, as on the CPU', () => {
      const run = (dev: 'cpu' | 'cuda'): Tensor => {
        const m = tensor([[0.5, -1], [2, 0.25]]);
        const w = new Variable('w', m);
        w.to(dev);
        const opt = new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true });
        for (let i = 0; i < 3; i++) {
          w.value.grad = tensor([[1, 2], [-3, 0.5]]).mul(i + 1).to(dev);
          opt.step([w]);
          w.zeroGrad();
        }
        return w.value;
      };
      fake.resetStats();
      const g = run('cuda');
      expect(fake.stats.kernels.get('sgdUpdateF32')).toBe(3);
      expect(bits(g)).toEqual(bits(run('cpu')));
    });

    it('clipping on CUDA (clipNorm, clipValue, globalClipNorm) matches the CPU within its float32 rounding', () => {
      // The CPU scales in double and rounds once; the device squares and scales in float32 (norms summed in
      // double): the clipped gradient differs by at most ~(n + 4) u relatively (n = 6 squares, u = 2^-24), so
      // w - lr g differs by lr |g| (n + 4) u plus half an ulp of w from each side's final rounding.
      const u = 2 ** -24;
      for (const opts of [{ clipNorm: 1 }, { clipValue: 0.5 }, { globalClipNorm: 2 }]) {
        const run = (dev: 'cpu' | 'cuda'): { w: Float32Array; g: Float32Array } => {
          const w = new Variable('w', tensor([0.5, -1, 2, 0.25, 3, -4]));
          w.to(dev);
          const g = tensor([1.5, 2, -3, 0.5, 7, -0.1]);
          w.value.grad = g.to(dev);
          new SGD({ learningRate: 0.1, ...opts }).step([w]);
          return { w: Float32Array.from(w.value.data as Float32Array), g: g.data as Float32Array };
        };
        const c = run('cpu');
        const d = run('cuda');
        c.w.forEach((wc, i) => {
          const tol = 0.1 * Math.abs(c.g[i]) * 10 * u + Math.abs(wc) * u * 2;
          expect(Math.abs(d.w[i] - wc), `${JSON.stringify(opts)} [${i}]`).toBeLessThanOrEqual(tol);
        });
      }
    });

    it('a non-finite gradient on CUDA throws NonFiniteGradientError naming the variable and index', () => {
      const w = new Variable('layer/kernel', tensor([1, 2, 3]));
      w.to('cuda');
      w.value.grad = tensor([0, NaN, 1]).to('cuda');
      expect(() => new Adam().step([w])).toThrow(/layer\/kernel.*1/);
    });

    it('a layer built after model.to("cuda") creates its weights on CUDA; a CPU input to apply() is a DeviceError', () => {
      const m = sequential([layers.dense({ units: 3, activation: 'relu' }), layers.dense({ units: 2 })]).to('cuda');
      const x = randn([4, 5], { seed: 3 });
      const y = m.predictOnBatch(x) as Tensor;  // builds the layers; predictOnBatch uploads its input
      expect(y.device).toBe('cuda');
      expect(m.variables.length).toBe(4);
      expect(m.variables.every((v) => v.device === 'cuda')).toBe(true);
      expect(() => m.apply(x)).toThrow(DeviceError);
      expect(() => m.apply(x)).toThrow(/matmul: expected all tensors on one device/);
    });

    it('without a CUDA device: model.to("cuda") prints the one-line note once and stays on the CPU; tensor.to("cuda") throws', () => {
      setCudaAddonForTesting(null);
      const prev = process.env.NODEGRAD_CUDA;
      process.env.NODEGRAD_CUDA = '0';
      loadCuda({ reload: true });
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const m = convnet();
        expect(m.to('cuda').device).toBe('cpu');
        expect(m.variables.every((v) => v.device === 'cpu')).toBe(true);
        m.to('cuda');
        const notes = warn.mock.calls.filter((c) => /CUDA backend not available \(disabled by NODEGRAD_CUDA=0\); using the CPU backend/.test(String(c[0])));
        expect(notes).toHaveLength(1);
        expect(() => tensor([1]).to('cuda')).toThrow(DeviceError);
        expect(() => tensor([1]).to('cuda')).toThrow(/to: CUDA is not available \(disabled by NODEGRAD_CUDA=0\)/);
      } finally {
        warn.mockRestore();
        if (prev === undefined) delete process.env.NODEGRAD_CUDA;
        else process.env.NODEGRAD_CUDA = prev;
        loadCuda({ reload: true });
        setCudaAddonForTesting(fake);
      }
    });

    it('a model trained on CUDA saves and loads on the CPU, and back', async () => {
      const { x, y } = data();
      const m = convnet().to('cuda');
      compile(m);
      await m.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
      const dir = mkdtempSync(join(tmpdir(), 'nodegrad-device-'));
      try {
        await m.save(join(dir, 'ckpt'));
        const back = await loadModel(join(dir, 'ckpt'));
        expect(back.device).toBe('cpu');
        m.variables.forEach((v, i) => expect(bits(back.variables[i].value), v.name).toEqual(bits(v.value)));
        const probe = randn([3, 28, 28, 1], { seed: 5 });
        expect(bits(back.predictOnBatch(probe) as Tensor)).toEqual(bits(m.predictOnBatch(probe) as Tensor));
        // and back onto CUDA: loading into a CUDA model writes the device buffers
        await back.saveWeights(join(dir, 'w.safetensors'));
        const onCuda = (await loadModel(join(dir, 'ckpt'))).to('cuda');
        for (const v of onCuda.variables) v.assign(new Float32Array(v.size));  // uploads zeros
        expect(onCuda.variables.every((v) => (v.value.data as Float32Array).every((e) => e === 0))).toBe(true);
        await onCuda.loadWeights(join(dir, 'w.safetensors'));
        expect(onCuda.device).toBe('cuda');
        m.variables.forEach((v, i) => expect(bits(onCuda.variables[i].value), v.name).toEqual(bits(v.value)));
        // training resumes identically on either device from the saved optimizer state
        const c = await loadModel(join(dir, 'ckpt'));
        const d = (await loadModel(join(dir, 'ckpt'))).to('cuda');
        await c.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
        await d.fit(x, y, { epochs: 1, batchSize: 24, shuffle: false, verbose: 0 });
        c.variables.forEach((v, i) => expect(bits(d.variables[i].value), v.name).toEqual(bits(v.value)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('data movement, comparisons, conversions and dropout on CUDA kernels (no fallback)', () => {
    const ints = (n: number, seed: number, lo = -3, hi = 3): Int32Array => {
      let s = seed;
      return Int32Array.from({ length: n }, () => lo + ((s = (s * 1103515245 + 12345) % 2147483648) % (hi - lo + 1)));
    };
    const matchesCpu = (entry: string, run: CpuMatchRun): void => matchesCpuOn(fake, entry, run);

    const f = (n: number[], seed: number): Tensor => new Tensor(awkward(n.reduce((a, b) => a * b, 1), seed), n);
    const i = (n: number[], seed: number, lo?: number, hi?: number): Tensor => new Tensor(ints(n.reduce((a, b) => a * b, 1), seed, lo, hi), n);

    it('transpose, slice (with steps), pad (constant, reflect, symmetric), concat and gather, float32 and int32', () => {
      for (const x of [f([2, 3, 4, 5], 1), i([2, 3, 4, 5], 2)]) {
        matchesCpu('stridedCopy', (b, on) => b.transpose(on(x), [3, 1, 0, 2]));
        matchesCpu('stridedCopy', (b, on) => b.slice(on(x), [1, 0, 2, 1], [1, 2, 2, 2], [1, 2, 1, 3]));
        matchesCpu('stridedCopy', (b, on) => b.pad(on(x), [[1, 2], [0, 3], [2, 0], [0, 1]], 'constant', 2.7));
        matchesCpu('stridedCopy', (b, on) => b.pad(on(x), [[1, 1], [2, 0], [3, 3], [0, 4]], 'reflect', 0));
        matchesCpu('stridedCopy', (b, on) => b.pad(on(x), [[2, 2], [3, 1], [0, 4], [5, 5]], 'symmetric', 0));
        matchesCpu('concatCopy', (b, on) => b.concat([on(x), on(x.slice([0, 0, 0, 0], [2, 1, 4, 5])), on(x)], 1));
        matchesCpu('concatCopy', (b, on) => b.concat([on(x), on(x)], 3));
        matchesCpu('gather', (b, on) => b.gather(on(x), on(new Tensor(Int32Array.of(3, 0, 3, 3, 1, 2), [2, 3])), 2));
      }
      // the ResNet option-A shortcut: a stride-2 subsample and zero channels either side
      const s = randn([2, 8, 8, 4], { seed: 40 });
      matchesCpu('stridedCopy', (b, on) => b.slice(on(s), [0, 0, 0, 0], [2, 4, 4, 4], [1, 2, 2, 1]));
      matchesCpu('stridedCopy', (b, on) => b.pad(on(s), [[0, 0], [0, 0], [0, 0], [2, 2]], 'constant', 0));
      // empty and rank-0 edges
      matchesCpu('concatCopy', (b, on) => b.concat([on(f([2, 0, 3], 3)), on(f([2, 2, 3], 4))], 1));
      matchesCpu('stridedCopy', (b, on) => b.transpose(on(new Tensor(Float32Array.of(-0), [])), []));
    });

    it('compare (every op, broadcasting, NaN and -0), where, clip, cast and argmax / argmin', () => {
      const ops = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'] as const;
      for (const op of ops) {
        matchesCpu('compare', (b, on) => b.compare(op, on(f([3, 1, 5], 5)), on(f([1, 4, 5], 6)), [3, 4, 5]));
        matchesCpu('compare', (b, on) => b.compare(op, on(i([4, 5], 7)), on(i([5], 8)), [4, 5]));
      }
      matchesCpu('where', (b, on) => b.where(on(i([3, 1, 1], 9, 0, 2)), on(f([1, 4, 5], 10)), on(f([3, 4, 1], 11)), [3, 4, 5]));
      matchesCpu('where', (b, on) => b.where(on(i([4, 5], 12, -1, 1)), on(i([4, 5], 13)), on(i([1], 14)), [4, 5]));
      for (const [lo, hi] of [[-1.5, 2.25], [0.1, 0.7], [0, 0], [-0, 6]]) {
        matchesCpu('clip', (b, on) => b.clip(on(f([7, 9], 15)), lo, hi));
        matchesCpu('clip', (b, on) => b.clip(on(i([7, 9], 16, -9, 9)), lo, hi));
      }
      matchesCpu('cast', (b, on) => b.cast(on(f([50], 17)), 'int32'));
      matchesCpu('cast', (b, on) => b.cast(on(new Tensor(Int32Array.of(16777217, -16777219, 2147483647, -5, 0), [5])), 'float32'));
      for (const op of ['argMax', 'argMin'] as const) {
        for (const axis of [0, 1, 2]) {
          matchesCpu('argReduce', (b, on) => b.argReduce(op, on(f([5, 7, 3], 18 + axis)), axis));
          matchesCpu('argReduce', (b, on) => b.argReduce(op, on(i([5, 7, 3], 21 + axis)), axis));
        }
      }
    });

    it('oneHot and dropout (the CPU Philox stream: the same mask bits)', () => {
      matchesCpu('oneHotF32', (b, on) => b.oneHot(on(new Tensor(Int32Array.of(-1, 0, 3, 9, 2, 3), [2, 3])), 4, 5.5, -0));
      for (const [rate, seed] of [[0.3, 42], [0.5, 2 ** 40 + 5], [0.999, 1], [0, 7]]) {
        matchesCpu('dropoutF32', (b, on) => b.dropout(on(randn([3, 333], { seed: 41 })), rate, seed));
      }
    });

    it('the tensor ops on CUDA tensors use these kernels, forward and backward, with no fallback', () => {
      const run = (dev: 'cpu' | 'cuda'): Tensor[] => {
        const x = randn([2, 6, 6, 3], { seed: 50 }).to(dev).requireGrad();
        const pr = pad(x, [[0, 0], [1, 1], [1, 1], [2, 2]], { mode: 'symmetric' });
        const p = pad(x, [[0, 0], [1, 1], [1, 1], [2, 2]], { value: 0.5 });
        const s = p.slice([0, 1, 0, 0], [2, 4, 8, 7]).transpose([0, 3, 1, 2]);
        const c = concat([s, s.mul(2)], 1);
        const g = gather(c, tensor([3, 0, 1, 3]).cast('int32').to(dev), 1);
        const m = where(c.greater(0.1), clip(c, -0.5, 0.5), c.mul(0.25));
        const d = dropout(m, { rate: 0.25, seed: 9 });
        const loss = d.square().sum().add(g.mul(0.5).sum()).add(pr.square().sum());
        loss.backward();
        const am = argmax(d.reshape([2, -1]), 1);
        const an = argmin(d.reshape([2, -1]), 1);
        const oh = oneHot(cast(cast(am, 'float32'), 'int32'), 5);
        return [loss, x.grad!, am, an, oh, g, pr];
      };
      const want = run('cpu');
      const fellBefore = [...cudaFallbacks()];
      fake.resetStats();
      const got = run('cuda');
      // No kernel falls back. (The ops layer itself still reads some arguments on the host: where's mask and oneHot's
      // indices, which it passes as host arrays; the kernels above get them uploaded again.)
      expect(cudaFallbacks()).toEqual(fellBefore);
      for (const k of ['stridedCopy', 'concatCopy', 'gather', 'scatterAddF32', 'compare', 'where', 'clip', 'dropoutF32', 'argReduce', 'cast', 'oneHotF32']) {
        expect(fake.stats.kernels.get(k), k).toBeGreaterThan(0);
      }
      got.forEach((t, j) => {
        expect(t.device, `result ${j}`).toBe('cuda');
        expect(t.dtype).toBe(want[j].dtype);
        expect(words(t.data as Float32Array), `result ${j}`).toEqual(words(want[j].data as Float32Array));
      });
    });

    it('a resnet20 training step on CUDA runs every kernel on the device (no fallback) and equals the CPU step bit for bit', async () => {
      const a = resnet20({ classifierActivation: 'linear' });
      const b = resnet20({ classifierActivation: 'linear' });
      b.setWeights(Object.values(a.getWeights()));
      b.to('cuda');
      for (const m of [a, b]) {
        m.compile({ optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), loss: new SparseCategoricalCrossentropy({ fromLogits: true }) });
      }
      const x = randn([4, 32, 32, 3], { seed: 33 });
      const y = randInt([4], 0, 10, { seed: 34 });
      await a.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
      const fellBefore = [...cudaFallbacks()];
      const warn = vi.spyOn(console, 'warn');
      try {
        fake.resetStats();
        await b.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
        expect(warn.mock.calls.filter((c) => /CUDA/.test(String(c[0])))).toEqual([]);
      } finally {
        warn.mockRestore();
      }
      expect(cudaFallbacks()).toEqual(fellBefore);
      // one step: one read-back of the finite check, the loss and the output's loss; nothing else
      expect(fake.stats.downloads).toBe(1);
      expect(fake.stats.downloadedElements).toBe(3);
      // the option-A shortcuts: strided slice and channel padding forward, their gradients backward
      expect(fake.stats.kernels.get('stridedCopy')).toBeGreaterThan(0);
      a.variables.forEach((v, j) => expect(bits(b.variables[j].value), v.name).toEqual(bits(v.value)));
    });
  });
});
