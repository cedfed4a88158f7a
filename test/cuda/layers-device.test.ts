/**
 * Every layer type on CUDA tensors: applied to a CUDA input with its weights moved to CUDA, each layer must return
 * CUDA tensors and give CUDA gradients for its input and every trainable weight, with the values the same layer
 * computes on the CPU, bit for bit (the fake CUDA addon runs the CPU kernels, so a difference is a device bug: a
 * constant left on the host, a result built from a host copy, a kernel called with other arguments).
 * One exception, marked 'runs': a sum over several separated axes is one CPU kernel call (rounded once) but one CUDA
 * call per run of adjacent axes (rounded after each), so UpSampling2D's gradient (a broadcast's adjoint, summing
 * axes 2 and 4 of 6) may differ by the two roundings: |cuda - cpu| <= 2u S per element, u = 2^-24, S the same
 * gradient taken of |upstream| (the sum of the absolute terms). Softmax over an inner axis is held to the CPU's
 * last-axis softmax of the transposed input (its own test, below). No kernel falls back to the CPU.
 * The augmentation layers are test/cuda/host-ops.test.ts's.
 */
import { describe, expect, it } from 'vitest';

import { gradients } from '../../src/autograd/engine.js';
import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import type { Layer } from '../../src/nn/layer.js';
import * as layers from '../../src/nn/layers.js';
import { randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { cpuAddonForFake, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/layers-device: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));

// [name, factory, input shapes, training, 'runs' for the rounding exception above]. Each factory is called twice
// (CPU and CUDA twins; weights copied).
const CASES: [string, () => Layer, number[][], boolean, ('runs' | undefined)?][] = [
  ['dense relu', () => layers.dense({ units: 3, activation: 'relu' }), [[4, 5]], true],
  ['conv1d causal', () => layers.conv1d({ filters: 2, kernelSize: 3, padding: 'causal', dilationRate: 2 }), [[2, 6, 2]], true],
  ['conv2d same s2', () => layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), [[2, 5, 4, 2]], true],
  ['conv2d groups', () => layers.conv2d({ filters: 4, kernelSize: [2, 3], groups: 2, activation: 'tanh' }), [[1, 4, 5, 4]], true],
  ['conv2dTranspose', () => layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), [[1, 3, 2, 2]], true],
  ['depthwiseConv2d', () => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), [[1, 4, 3, 2]], true],
  ['separableConv2d', () => layers.separableConv2d({ filters: 3, kernelSize: 2, depthMultiplier: 2, strides: 2 }), [[1, 5, 4, 2]], true],
  ['maxPooling2d', () => layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), [[2, 5, 4, 2]], true],
  ['averagePooling2d', () => layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), [[2, 5, 4, 2]], true],
  ['globalAveragePooling2d', () => layers.globalAveragePooling2d(), [[2, 3, 3, 2]], true],
  ['globalMaxPooling2d', () => layers.globalMaxPooling2d({ keepDims: true }), [[2, 3, 3, 2]], true],
  ['batchNormalization training', () => layers.batchNormalization(), [[3, 2, 2, 3]], true],
  ['batchNormalization inference', () => layers.batchNormalization(), [[3, 2, 2, 3]], false],
  ['dropout', () => layers.dropout({ rate: 0.4, seed: 3 }), [[4, 6]], true],
  ['spatialDropout1d', () => layers.spatialDropout1d({ rate: 0.5, seed: 3 }), [[3, 4, 5]], true],
  ['spatialDropout2d', () => layers.spatialDropout2d({ rate: 0.5, seed: 3 }), [[3, 2, 2, 5]], true],
  ['flatten', () => layers.flatten(), [[2, 2, 3, 1]], true],
  ['reshape', () => layers.reshape({ targetShape: [3, -1] }), [[2, 6]], true],
  ['zeroPadding2d', () => layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }), [[1, 2, 3, 2]], true],
  ['cropping1d', () => layers.cropping1d({ cropping: [1, 2] }), [[2, 6, 3]], true],
  ['cropping2d', () => layers.cropping2d({ cropping: [[1, 0], [0, 2]] }), [[1, 4, 5, 2]], true],
  ['upSampling2d nearest', () => layers.upSampling2d({ size: [2, 3] }), [[1, 2, 3, 2]], true, 'runs'],
  ['upSampling2d bilinear', () => layers.upSampling2d({ size: 2, interpolation: 'bilinear' }), [[1, 3, 2, 2]], true],
  ['rescaling', () => layers.rescaling({ scale: 0.5, offset: -1 }), [[2, 3]], true],
  ['relu maxValue negativeSlope', () => layers.relu({ maxValue: 0.5, negativeSlope: 0.1 }), [[3, 5]], true],
  ['leakyRelu', () => layers.leakyRelu(), [[3, 5]], true],
  ['elu', () => layers.elu({ alpha: 0.7 }), [[3, 5]], true],
  ['sigmoid', () => layers.sigmoid(), [[3, 5]], true],
  ['tanh', () => layers.tanh(), [[3, 5]], true],
  ['softmax', () => layers.softmax(), [[3, 5]], true],
  ['maxout', () => layers.maxout({ numUnits: 2 }), [[3, 6]], true],
  ['activation gelu', () => layers.activation({ activation: 'gelu' }), [[3, 5]], true],
  ['add (broadcast)', () => layers.add(), [[2, 3], [2, 3], [1, 3]], true],
  ['multiply', () => layers.multiply(), [[2, 3], [2, 3]], true],
  ['subtract', () => layers.subtract(), [[2, 3], [2, 3]], true],
  ['average', () => layers.average(), [[2, 3], [2, 3], [2, 3]], true],
  ['maximum', () => layers.maximum(), [[2, 3], [2, 3]], true],
  ['minimum', () => layers.minimum(), [[2, 3], [2, 3]], true],
  ['concatenate', () => layers.concatenate(), [[2, 2, 3], [2, 2, 1]], true],
  ['normalization (adapted)', () => layers.normalization(), [[4, 3]], true],
];

describe.skipIf(!cpuAddon.addon)('every layer on CUDA tensors (fake CUDA addon)', () => {
  useFakeCuda(() => undefined);

  it.each(CASES)('%s: CUDA outputs and gradients, equal to the CPU bit for bit', (name, make, shapes, training, runs) => {
    let seed = 10;
    const xs = shapes.map((s) => randn(s, { seed: seed++ }));
    const cpuLayer = make();
    const gpuLayer = make();
    const one = (ts: Tensor[]): Tensor | Tensor[] => (ts.length === 1 ? ts[0] : ts);
    if (name.startsWith('normalization')) (cpuLayer as ReturnType<typeof layers.normalization>).adapt(randn([8, 3], { seed: 99 }));
    cpuLayer.apply(one(xs.map((x) => x.withShape(x.shape))));  // builds the weights
    if (name.startsWith('normalization')) (gpuLayer as ReturnType<typeof layers.normalization>).adapt(randn([8, 3], { seed: 99 }));
    gpuLayer.apply(one(xs.map((x) => x.withShape(x.shape))));
    gpuLayer.weights.forEach((v, i) => v.assign(cpuLayer.weights[i].read()));
    for (const v of gpuLayer.weights) v.to('cuda');

    const run = (layer: Layer, onCuda: boolean, absUpstream = false): { y: Tensor; grads: Tensor[] } => {
      const ins = xs.map((x) => (onCuda ? x.to('cuda') : x.withShape(x.shape)).requireGrad());
      const y = layer.apply(one(ins), { training }) as Tensor;
      let r = randn(y.shape, { seed: 77 });  // a non-uniform upstream gradient
      if (absUpstream) r = r.abs();
      const loss = y.mul(onCuda ? r.to('cuda') : r).sum();
      const wrt = [...ins, ...layer.trainableWeights.map((v) => v.value)];
      return { y, grads: gradients(loss, wrt) };
    };
    const cpu = run(cpuLayer, false);
    const gpu = run(gpuLayer, true);
    expect(gpu.y.device).toBe('cuda');
    expect(bits(gpu.y)).toEqual(bits(cpu.y));
    const sums = runs ? run(cpuLayer, false, true).grads : [];
    gpu.grads.forEach((g, i) => {
      expect(g.device, `gradient ${i}`).toBe('cuda');
      if (!runs) {
        expect(bits(g), `gradient ${i}`).toEqual(bits(cpu.grads[i]));
        return;
      }
      const got = g.data, want = cpu.grads[i].data, s = sums[i].data;
      for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - want[k]), `gradient ${i}[${k}]`).toBeLessThanOrEqual(2 ** -23 * s[k]);
    });
    for (const v of gpuLayer.weights) expect(v.device).toBe('cuda');
  });

  // Softmax over an inner axis runs on the reference on the CPU (double, one rounding) and with the last-axis
  // kernel's formulas on CUDA (e rounded to float, then e / (float)s), so its oracle is the CPU's last-axis softmax of
  // the transposed input, moved back (the sums of its gradient add the same values in the same order).
  it('softmax axis 1: CUDA output and input gradient equal the CPU last-axis softmax of the transpose, bit for bit', () => {
    const x = randn([2, 3, 4, 2], { seed: 10 });
    const r = randn([2, 3, 4, 2], { seed: 77 });
    const run = (onCuda: boolean): { y: Tensor; dx: Tensor } => {
      const xi = (onCuda ? x.to('cuda') : x.withShape(x.shape)).requireGrad();
      const y = onCuda
        ? layers.softmax({ axis: 1 }).apply(xi) as Tensor
        : (layers.softmax().apply(xi.transpose([0, 2, 3, 1])) as Tensor).transpose([0, 3, 1, 2]);
      const [dx] = gradients(y.mul(onCuda ? r.to('cuda') : r).sum(), [xi]);
      return { y, dx };
    };
    const cpu = run(false);
    const gpu = run(true);
    expect(gpu.y.device).toBe('cuda');
    expect(gpu.dx.device).toBe('cuda');
    expect(bits(gpu.y)).toEqual(bits(cpu.y));
    expect(bits(gpu.dx)).toEqual(bits(cpu.dx));
  });

  it('no layer fell back to the CPU but the host ops of image-sampling.ts (resizing)', () => {
    expect(cudaFallbacks().filter((label) => label !== 'resizeImages')).toEqual([]);
  });
});
