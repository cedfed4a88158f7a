/**
 * The augmentation and resampling layers compute on host arrays (src/nn/image-sampling.ts recordHostOp): on a CUDA
 * input their output and their input gradient must come back on CUDA, with the CPU's values bit for bit, so a CUDA
 * model with these layers trains (before, the output was a CPU tensor and the next CUDA layer threw a DeviceError).
 * Runs on the fake CUDA addon (test/helpers/fake-cuda.ts); the oracle is the same layer, same seed, on the CPU.
 */
import { describe, expect, it } from 'vitest';

import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import { gradients } from '../../src/autograd/engine.js';
import { input } from '../../src/nn/input.js';
import type { Layer } from '../../src/nn/layer.js';
import * as layers from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/sequential.js';
import { SGD } from '../../src/optim/index.js';
import { randInt, randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { cpuAddonForFake, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/host-ops: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));

// Each entry makes a fresh layer with the same seed, so the CPU and CUDA instances draw the same parameters.
const CASES: [string, string, () => Layer][] = [
  ['randomFlip', 'flipImages', () => layers.randomFlip({ seed: 3 })],
  ['randomRotation', 'affineTransform', () => layers.randomRotation({ factor: 0.2, seed: 3 })],
  ['randomZoom', 'affineTransform', () => layers.randomZoom({ heightFactor: 0.3, seed: 3 })],
  ['randomTranslation', 'affineTransform', () => layers.randomTranslation({ heightFactor: 0.2, widthFactor: 0.2, seed: 3 })],
  ['randomShear', 'affineTransform', () => layers.randomShear({ xFactor: 0.3, seed: 3 })],
  ['randomCrop', 'cropImages', () => layers.randomCrop({ height: 7, width: 6, seed: 3 })],
  ['randomContrast', 'randomContrast', () => layers.randomContrast({ factor: 0.5, valueRange: [-1, 1], seed: 3 })],
  ['randomBrightness', 'randomBrightness', () => layers.randomBrightness({ factor: 0.2, valueRange: [-1, 1], seed: 3 })],
  ['gaussianNoise', 'gaussianNoise', () => layers.gaussianNoise({ stddev: 0.1, seed: 3 })],
  ['resizing', 'resizeImages', () => layers.resizing({ height: 5, width: 11 })],
  ['centerCrop (resizes a smaller input)', 'resizeImages', () => layers.centerCrop({ height: 12, width: 4 })],
];

describe.skipIf(!cpuAddon.addon)('host-computed image ops on CUDA tensors (fake CUDA addon)', () => {
  useFakeCuda(() => undefined);

  it.each(CASES)('%s: output and input gradient on CUDA, equal to the CPU bit for bit', (_name, op, make) => {
    const x = randn([3, 9, 8, 2], { seed: 5 });
    const run = (onCuda: boolean): { y: Tensor; dx: Tensor } => {
      const xi = (onCuda ? x.to('cuda') : new Tensor(Float32Array.from(x.data as Float32Array), x.shape)).requireGrad();
      const y = make().apply(xi, { training: true }) as Tensor;
      // A non-uniform upstream gradient (y * r), so the adjoint's weights all show in dx.
      const r = randn(y.shape, { seed: 7 });
      const loss = y.mul(onCuda ? r.to('cuda') : r).sum();
      const [dx] = gradients(loss, [xi]);
      return { y, dx };
    };
    const cpu = run(false);
    const gpu = run(true);
    expect(gpu.y.device).toBe('cuda');
    expect(gpu.dx.device).toBe('cuda');
    expect(gpu.y.shape).toEqual(cpu.y.shape);
    expect(bits(gpu.y)).toEqual(bits(cpu.y));
    expect(bits(gpu.dx)).toEqual(bits(cpu.dx));
    expect(cudaFallbacks()).toContain(op);
  });

  it('normalization with its mean and variance given as options runs on CUDA (its constants follow the input)', () => {
    const x = randn([2, 3, 3, 2], { seed: 4 });
    const make = () => layers.normalization({ mean: [0.5, -1], variance: [4, 0.25] });
    const cpu = make().apply(x) as Tensor;
    const gpu = make().apply(x.to('cuda')) as Tensor;
    expect(gpu.device).toBe('cuda');
    expect(bits(gpu)).toEqual(bits(cpu));
  });

  it('a CUDA model with augmentation layers trains like the same model on the CPU', async () => {
    const build = () => {
      const m = sequential([
        input({ shape: [10, 10, 1] }),
        layers.randomFlip({ seed: 1 }),
        layers.randomRotation({ factor: 0.1, seed: 2 }),
        layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
        layers.flatten({}),
        layers.dense({ units: 3 }),
      ]);
      m.compile({ optimizer: new SGD({ learningRate: 0.05 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
      return m;
    };
    const x = randn([16, 10, 10, 1], { seed: 8 });
    const y = randInt([16], 0, 3, { seed: 9 });
    const cpu = build();
    const gpu = build();
    gpu.setWeights(Object.values(cpu.getWeights()));
    gpu.to('cuda');
    const hc = await cpu.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const hg = await gpu.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    expect(hg.history.loss).toEqual(hc.history.loss);
    for (const [a, b] of cpu.trainableVariables.map((v, i) => [v, gpu.trainableVariables[i]] as const)) {
      expect(b.device).toBe('cuda');
      expect(bits(b.value)).toEqual(bits(a.value));
    }
  });
});
