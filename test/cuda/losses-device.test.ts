/**
 * Every compiled loss on CUDA tensors: targets, predictions and sample weights on CUDA give a CUDA loss and a CUDA
 * gradient for the predictions, equal to the CPU's bit for bit (the fake CUDA addon runs the CPU kernels, so a
 * difference is a device bug: a constant or a prepared target left on the host, a kernel called differently), with
 * no kernel falling back to the CPU.
 */
import { describe, expect, it } from 'vitest';

import { gradients } from '../../src/autograd/engine.js';
import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import { rand, randInt, randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  BinaryCrossentropy, CategoricalCrossentropy, type Loss, MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
} from '../../src/train/losses.js';
import { cpuAddonForFake, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/losses-device: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));

const N = 6, C = 4;
const probs = (): Tensor => randn([N, C], { seed: 3 }).softmax();
const oneHotTargets = (): Tensor => {
  const d = new Float32Array(N * C);
  const labels = randInt([N], 0, C, { seed: 4 }).data;
  for (let i = 0; i < N; i++) d[i * C + labels[i]] = 1;
  return new Tensor(d, [N, C]);
};

// [name, loss, targets, predictions]
const CASES: [string, () => Loss, () => Tensor, () => Tensor][] = [
  ['categorical, logits', () => new CategoricalCrossentropy({ fromLogits: true }), oneHotTargets, () => randn([N, C], { seed: 3 })],
  ['categorical, probabilities, smoothing', () => new CategoricalCrossentropy({ labelSmoothing: 0.1 }), oneHotTargets, probs],
  ['sparse, logits', () => new SparseCategoricalCrossentropy({ fromLogits: true }), () => randInt([N], 0, C, { seed: 4 }), () => randn([N, C], { seed: 3 })],
  ['sparse, probabilities, [N, 1] labels', () => new SparseCategoricalCrossentropy(), () => randInt([N, 1], 0, C, { seed: 4 }), probs],
  ['binary, logits, smoothing', () => new BinaryCrossentropy({ fromLogits: true, labelSmoothing: 0.2 }), () => randInt([N, 1], 0, 2, { seed: 5 }).cast('float32'), () => randn([N, 1], { seed: 3 })],
  ['binary, probabilities', () => new BinaryCrossentropy(), () => randInt([N, 3], 0, 2, { seed: 5 }).cast('float32'), () => rand([N, 3], { seed: 3 })],
  ['mean squared error, sum', () => new MeanSquaredError({ reduction: 'sum' }), () => randn([N, C], { seed: 5 }), () => randn([N, C], { seed: 3 })],
  ['mean absolute error', () => new MeanAbsoluteError(), () => randn([N, C], { seed: 5 }), () => randn([N, C], { seed: 3 })],
];

describe.skipIf(!cpuAddon.addon)('every loss on CUDA tensors (fake CUDA addon)', () => {
  useFakeCuda(() => undefined);

  for (const weighted of [false, true]) {
    it.each(CASES)(`%s${weighted ? ', sample weights' : ''}: CUDA loss and gradient equal the CPU's`, (_name, make, targets, predictions) => {
      const y = targets();
      const p = predictions();
      const w = rand([N], { seed: 9 });
      const run = (dev: 'cpu' | 'cuda'): { l: Tensor; g: Tensor } => {
        const pi = p.to(dev).withShape(p.shape).requireGrad();
        const l = make().call(y.to(dev), pi, weighted ? w.to(dev) : null);
        return { l, g: gradients(l, [pi])[0] };
      };
      const cpu = run('cpu');
      const gpu = run('cuda');
      expect(gpu.l.device).toBe('cuda');
      expect(gpu.g.device).toBe('cuda');
      expect(bits(gpu.l)).toEqual(bits(cpu.l));
      expect(bits(gpu.g)).toEqual(bits(cpu.g));
    });
  }

  it('no loss fell back to the CPU: every kernel above ran on the (fake) device', () => {
    expect(cudaFallbacks()).toEqual([]);
  });
});
