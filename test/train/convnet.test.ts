/**
 * End to end through the real layers: a small convnet (conv, max pool, batch norm, dropout, dense) overfits a
 * fixed batch to ~0 loss with Adam, and training twice from the same seed gives bit-identical weights (the
 * DESIGN's reproducibility rule: same seed, same machine and thread count).
 */
import { describe, expect, it } from 'vitest';

import { layers, manualSeed, optimizers, randn, sequential, tensor, losses, type Model } from '../../src/index.js';

function convnet(): Model {
  return sequential([
    layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', padding: 'same' }),
    layers.batchNormalization(),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    layers.flatten(),
    layers.dropout({ rate: 0.1, seed: 5 }),
    layers.dense({ units: 4 }),
  ], { inputShape: [12, 12, 2] });
}

async function train(seed: number, epochs: number) {
  manualSeed(seed);
  const m = convnet();
  const x = randn([16, 12, 12, 2], { seed: 100 });
  const y = tensor(Array.from({ length: 16 }, (_, i) => i % 4), undefined, 'int32');
  m.compile({ optimizer: new optimizers.Adam({ learningRate: 0.01 }), loss: new losses.SparseCategoricalCrossentropy({ fromLogits: true }), metrics: ['accuracy'] });
  const h = await m.fit(x, y, { epochs, batchSize: 8, verbose: 0, seed });
  return { m, h, x, y };
}

describe('a convnet through fit()', () => {
  it('overfits a fixed batch of 16 images to ~0 loss', async () => {
    const { m, h, x, y } = await train(1, 80);
    const first = h.history.loss[0];
    const last = h.history.loss.at(-1)!;
    expect(first).toBeGreaterThan(1); // ~ln 4 at the start
    // Training loss includes dropout noise; the inference loss on the same batch is the overfitting measure.
    const r = await m.evaluate(x, y, { verbose: 0 });
    expect(last).toBeLessThan(0.1);
    expect(r.loss).toBeLessThan(0.02);
    expect(r.accuracy).toBe(1);
  });

  it('gives bit-identical weights when trained twice from the same seed, different ones from another', async () => {
    // Auto layer names differ between the models (conv2d, conv2d_1, ...): compare variables in model order.
    const bytes = (m: Model) => m.variables.map((v) => Buffer.from(Float32Array.from(v.value.data as Float32Array).buffer));
    const a = bytes((await train(7, 3)).m);
    const b = bytes((await train(7, 3)).m);
    const c = bytes((await train(8, 3)).m);
    expect(a.length).toBe(10); // 2 conv (kernel, bias), batch norm (4), dense (2)
    a.forEach((w, i) => expect(w.equals(b[i]), `variable ${i}`).toBe(true));
    expect(a.some((w, i) => !w.equals(c[i]))).toBe(true);
  });
});
