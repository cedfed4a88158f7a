/**
 * Forward passes of the small reference architectures on a tiny batch (shapes, finite values, softmax rows
 * summing to 1), the inception module's branches, a U-Net training step on masks with the per-pixel loss, and
 * the mean IoU metric against hand-counted confusion matrices (Keras' definition).
 */
import { describe, expect, it } from 'vitest';

import { ShapeError, ValueError } from '../../src/errors.js';
import { randInt, randn, tensor } from '../../src/tensor/creation.js';
import { input } from '../../src/nn/input.js';
import { Model } from '../../src/nn/model.js';
import { SGD } from '../../src/optim/index.js';
import {
  INCEPTION_3A, MeanIoU, inceptionBlock, inceptionModule, lenet5, meanIoU, mnistConvnet, resnet20, smallXception, unet,
} from '../../src/models/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function run(m: Model, x: Tensor): Tensor {
  const y = m.predictOnBatch(x);
  return Array.isArray(y) ? y[0] : y;
}
function expectProbRows(y: Tensor): void {
  const c = y.shape[y.rank - 1];
  const d = y.data;
  expect(Array.from(d).every(Number.isFinite)).toBe(true);
  for (let i = 0; i < d.length / c; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += d[i * c + j];
    expect(s).toBeCloseTo(1, 5);
  }
}

describe('forward on a tiny batch', () => {
  it('lenet5 and the MNIST convnet: [2,28,28,1] -> [2,10] probabilities', () => {
    const x = randn([2, 28, 28, 1], { seed: 1 });
    for (const m of [lenet5(), mnistConvnet()]) {
      const y = run(m, x);
      expect(y.shape).toEqual([2, 10]);
      expectProbRows(y);
    }
  });

  it('resnet20: [2,32,32,3] -> [2,10], and training mode runs with batch statistics', () => {
    const m = resnet20();
    const x = randn([2, 32, 32, 3], { seed: 2 });
    const y = run(m, x);
    expect(y.shape).toEqual([2, 10]);
    expectProbRows(y);
    const t = m.apply(x, { training: true });
    expect(t.shape).toEqual([2, 10]);
  });

  it('smallXception: logits for 2 classes (one unit), probabilities for 10', () => {
    const x = randn([2, 32, 32, 3], { seed: 3 }).mul(255);
    const y = run(smallXception({ inputShape: [32, 32, 3] }), x);
    expect(y.shape).toEqual([2, 1]);
    expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
    const y10 = run(smallXception({ inputShape: [32, 32, 3], classes: 10, classifierActivation: 'softmax' }), x);
    expect(y10.shape).toEqual([2, 10]);
    expectProbRows(y10);
  });

  it('inception block: branches concatenated in order, spatial size kept', () => {
    const spec = { filters1x1: 4, filters3x3Reduce: 3, filters3x3: 5, filters5x5Reduce: 2, filters5x5: 3, poolProj: 2 };
    const m = inceptionBlock({ inputShape: [8, 8, 6], spec });
    const x = randn([2, 8, 8, 6], { seed: 4 });
    const y = run(m, x);
    expect(y.shape).toEqual([2, 8, 8, 14]);
    expect(Array.from(y.data).every((v) => Number.isFinite(v) && v >= 0)).toBe(true); // ReLU branches
    // The first 4 channels are the 1x1 branch run alone.
    const b1 = m.layers.find((l) => l.name === 'inception_3a_1x1')!;
    const alone = b1.apply(x);
    const got: number[] = [];
    const want: number[] = [];
    for (let p = 0; p < 2 * 8 * 8; p++) for (let c = 0; c < 4; c++) { got.push(y.data[p * 14 + c]); want.push(alone.data[p * 4 + c]); }
    expect(got).toEqual(want);
    // Used inside a larger graph.
    const inp = input({ shape: [16, 16, 192] });
    expect(inceptionModule(inp, INCEPTION_3A, 'mixed').shape).toEqual([null, 16, 16, 256]);
    expect(() => inceptionModule(inp, { ...INCEPTION_3A, poolProj: 0 })).toThrow(ValueError);
  });

  it('unet: images in, per-pixel probabilities out; one training step on integer masks lowers nothing to NaN', async () => {
    const m = unet({ inputShape: [16, 16, 3], classes: 3, filters: [4, 8] });
    const x = randn([2, 16, 16, 3], { seed: 5 });
    const masks = randInt([2, 16, 16], 0, 3, { seed: 6 });
    const y = run(m, x);
    expect(y.shape).toEqual([2, 16, 16, 3]);
    expectProbRows(y);
    const iou = new MeanIoU({ numClasses: 3 });
    m.compile({ optimizer: new SGD({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: [iou] });
    const h = await m.fit(x, masks, { epochs: 1, batchSize: 2, verbose: 0 });
    expect(Number.isFinite(h.history.loss[0])).toBe(true);
    expect(h.history.mean_io_u[0]).toBeGreaterThanOrEqual(0);
    expect(h.history.mean_io_u[0]).toBeLessThanOrEqual(1);
  });
});

describe('meanIoU', () => {
  // Truth [0,0,1,1,2,2], prediction [0,1,1,1,2,0]: class 0 TP 1, FP 1, FN 1 -> 1/3; class 1 TP 2, FP 1 -> 2/3;
  // class 2 TP 1, FN 1 -> 1/2; mean 1/2.
  const truth = tensor([[[0, 0, 1], [1, 2, 2]]], [1, 2, 3], 'int32');
  const ids = [0, 1, 1, 1, 2, 0];

  it('from class ids and from probabilities (argmax)', () => {
    expect(meanIoU(truth, tensor([[[0, 1, 1], [1, 2, 0]]], [1, 2, 3], 'int32'), 3)).toBeCloseTo(0.5, 12);
    const probs = new Float32Array(18);
    ids.forEach((c, i) => { probs[i * 3 + c] = 0.8; probs[i * 3 + ((c + 1) % 3)] = 0.2; });
    expect(meanIoU(truth, tensor(probs, [1, 2, 3, 3]), 3)).toBeCloseTo(0.5, 12);
    // Masks with a trailing channel of 1.
    expect(meanIoU(truth.reshape([1, 2, 3, 1]), tensor(probs, [1, 2, 3, 3]), 3)).toBeCloseTo(0.5, 12);
  });

  it('classes absent from truth and prediction are left out; perfect masks give 1', () => {
    expect(meanIoU(truth, truth, 5)).toBe(1);
    // Binary: one sigmoid channel thresholded at 0.5.
    const t = tensor([0, 1, 1, 0], [1, 2, 2], 'int32');
    const p = tensor([0.1, 0.9, 0.4, 0.6], [1, 2, 2, 1]);
    // class 0: TP 1 (pos 0), FP 1 (pos 2 predicted 0, true 1), FN 1 (pos 3) -> 1/3; class 1 the same -> 1/3.
    expect(meanIoU(t, p, 2)).toBeCloseTo(1 / 3, 12);
  });

  it('MeanIoU accumulates a confusion matrix across batches and resets', () => {
    const m = new MeanIoU({ numClasses: 3 });
    m.update(truth, tensor([[[0, 1, 1], [1, 2, 0]]], [1, 2, 3], 'int32'));
    expect(m.result()).toBeCloseTo(0.5, 12);
    m.update(truth, truth);
    // class 0: TP 3, FP 1, FN 1 -> 3/5; class 1: TP 4, FP 1 -> 4/5; class 2: TP 3, FN 1 -> 3/4.
    expect(m.result()).toBeCloseTo((3 / 5 + 4 / 5 + 3 / 4) / 3, 12);
    expect(m.confusionMatrix()).toEqual([[3, 1, 0], [0, 4, 0], [1, 0, 3]]);
    m.reset();
    expect(m.result()).toBe(0);
  });

  it('names bad input', () => {
    expect(() => meanIoU(truth, truth, 1)).toThrow(ValueError);
    expect(() => meanIoU(truth, tensor([0, 5, 1, 1, 2, 0], [1, 2, 3], 'int32'), 3)).toThrow(/predicted value 5/);
    expect(() => meanIoU(truth, randn([1, 2, 3, 4]), 3)).toThrow(ShapeError);
    expect(() => meanIoU(truth, randn([1, 3, 2, 3]), 3)).toThrow(ShapeError);
  });
});
