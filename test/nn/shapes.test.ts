/**
 * Shape inference and parameter counts: the course's hand counts (an MLP on a 224x224x3 image, a dense layer on
 * MNIST pixels, the MNIST convnet, AlexNet), summary() text, and each layer's output shape and weights. The big
 * models are only built (zeros initializers keep that fast): no forward pass.
 */
import { describe, expect, it } from 'vitest';

import { clearSession, input, layers, model, sequential, type Model } from '../../src/nn/index.js';

const Z = { kernelInitializer: 'zeros' } as const;

/** Each layer's output shape in the model, as summary() computes it. */
function outputShapes(m: Model): (number | null)[][] {
  const g = m.layers.filter((l) => l.className !== 'InputLayer');
  return g.map((l) => m.outputs.length && l.inboundNodes.length ? [...l.inboundNodes[l.inboundNodes.length - 1].outputs[0].shape] : []);
}

describe("the course's hand counts", () => {
  it('MLP on a flattened 224x224x3 image, dense 512, 128, 1: 77,136,641 parameters', () => {
    const m = sequential([layers.flatten(), layers.dense({ units: 512, activation: 'relu', ...Z }), layers.dense({ units: 128, activation: 'relu', ...Z }), layers.dense({ units: 1, activation: 'sigmoid', ...Z })], { inputShape: [224, 224, 3] });
    expect(m.countParams()).toBe(77_136_641);
    expect(m.layers.map((l) => l.countParams())).toEqual([0, 150_528 * 512 + 512, 512 * 128 + 128, 129]);
  });

  it('dense 128 on 784 inputs: 100,352 weights plus 128 biases', () => {
    const d = layers.dense({ units: 128 });
    sequential([d], { inputShape: [784] });
    expect(d.kernel!.size).toBe(100_352);
    expect(d.bias!.size).toBe(128);
    expect(d.countParams()).toBe(100_480);
  });

  it('MNIST convnet: 26x26x32, 13x13x32, 11x11x64, 5x5x64, 3x3x128, 1152, 10 and 104,202 parameters; summary() text', () => {
    clearSession();
    const m = sequential([
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }),
      layers.flatten(),
      layers.dense({ units: 10, activation: 'softmax' }),
    ], { inputShape: [28, 28, 1] });
    expect(outputShapes(m)).toEqual([
      [null, 26, 26, 32], [null, 13, 13, 32], [null, 11, 11, 64], [null, 5, 5, 64], [null, 3, 3, 128], [null, 1152], [null, 10],
    ]);
    expect(m.countParams()).toBe(104_202);
    const lines: string[] = [];
    const text = m.summary({ printFn: (l) => lines.push(l) });
    expect(lines.join('\n')).toBe(text);
    expect(text).toBe([
      'Model: "sequential"',
      '_______________________________________________________________',
      ' Layer (type)                     Output Shape         Param #',
      '===============================================================',
      ' conv2d (Conv2D)                  (None, 26, 26, 32)       320',
      ' max_pooling2d (MaxPooling2D)     (None, 13, 13, 32)         0',
      ' conv2d_1 (Conv2D)                (None, 11, 11, 64)    18,496',
      ' max_pooling2d_1 (MaxPooling2D)   (None, 5, 5, 64)           0',
      ' conv2d_2 (Conv2D)                (None, 3, 3, 128)     73,856',
      ' flatten (Flatten)                (None, 1152)               0',
      ' dense (Dense)                    (None, 10)            11,530',
      '===============================================================',
      'Total params: 104,202 (407.04 KB)',
      'Trainable params: 104,202 (407.04 KB)',
      'Non-trainable params: 0 (0.00 B)',
      '_______________________________________________________________',
    ].join('\n'));
  });

  it('AlexNet: 54x54x96, 26x26x96, 26x26x256, 12x12x256, 12x12x384 (x2), 12x12x256, 5x5x256, 6400 and 50,844,008 parameters', () => {
    const m = sequential([
      layers.conv2d({ filters: 96, kernelSize: 11, strides: 4, padding: 'valid', activation: 'relu', ...Z }),
      layers.maxPooling2d({ poolSize: 3, strides: 2 }),
      layers.conv2d({ filters: 256, kernelSize: 5, padding: 'same', activation: 'relu', ...Z }),
      layers.maxPooling2d({ poolSize: 3, strides: 2 }),
      layers.conv2d({ filters: 384, kernelSize: 3, padding: 'same', activation: 'relu', ...Z }),
      layers.conv2d({ filters: 384, kernelSize: 3, padding: 'same', activation: 'relu', ...Z }),
      layers.conv2d({ filters: 256, kernelSize: 3, padding: 'same', activation: 'relu', ...Z }),
      layers.maxPooling2d({ poolSize: 3, strides: 2 }),
      layers.flatten(),
      layers.dense({ units: 4096, activation: 'relu', ...Z }),
      layers.dense({ units: 4096, activation: 'relu', ...Z }),
      layers.dense({ units: 1000, activation: 'softmax', ...Z }),
    ], { inputShape: [224, 224, 3] });
    expect(outputShapes(m).slice(0, 9)).toEqual([
      [null, 54, 54, 96], [null, 26, 26, 96], [null, 26, 26, 256], [null, 12, 12, 256], [null, 12, 12, 384], [null, 12, 12, 384],
      [null, 12, 12, 256], [null, 5, 5, 256], [null, 6400],
    ]);
    expect(m.countParams()).toBe(50_844_008);
  });
});

describe('each layer: output shape and weights', () => {
  const x = input({ shape: [9, 8, 6] });
  const shapeOf = (l: { apply: (t: typeof x) => typeof x }) => [...l.apply(x).shape];

  it('conv layers: kernels, biases, strides, dilation, groups, padding', () => {
    const c = layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', groups: 2 });
    expect(shapeOf(c)).toEqual([null, 5, 4, 4]);
    expect(c.weights.map((w) => [w.name.split('/')[1], [...w.shape]])).toEqual([['kernel', [3, 2, 3, 4]], ['bias', [4]]]);
    expect(shapeOf(layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2 }))).toEqual([null, 5, 4, 2]);
    const t = layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' });
    expect(shapeOf(t)).toEqual([null, 18, 16, 3]);
    expect([...t.kernel!.shape]).toEqual([3, 3, 3, 6]);
    expect(shapeOf(layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2 }))).toEqual([null, 19, 17, 1]);
    const d = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 });
    expect(shapeOf(d)).toEqual([null, 7, 6, 12]);
    expect(d.countParams()).toBe(3 * 3 * 6 * 2 + 12);
    const s = layers.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same' });
    expect(shapeOf(s)).toEqual([null, 9, 8, 5]);
    expect(s.countParams()).toBe(3 * 3 * 6 + 6 * 5 + 5);
    const seq = input({ shape: [10, 3] });
    const c1 = layers.conv1d({ filters: 4, kernelSize: 3, padding: 'causal', dilationRate: 2 });
    expect([...c1.apply(seq).shape]).toEqual([null, 10, 4]);
    expect([...c1.kernel!.shape]).toEqual([3, 3, 4]);
    expect([...layers.conv1d({ filters: 2, kernelSize: 4, strides: 2 }).apply(seq).shape]).toEqual([null, 4, 2]);
  });

  it('pooling, normalisation, reshaping and merging', () => {
    expect(shapeOf(layers.maxPooling2d())).toEqual([null, 4, 4, 6]);
    expect(shapeOf(layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }))).toEqual([null, 5, 4, 6]);
    expect(shapeOf(layers.globalAveragePooling2d())).toEqual([null, 6]);
    expect(shapeOf(layers.globalMaxPooling2d({ keepDims: true }))).toEqual([null, 1, 1, 6]);
    const bn = layers.batchNormalization();
    expect(shapeOf(bn)).toEqual([null, 9, 8, 6]);
    expect(bn.weights.map((w) => w.name.split('/')[1])).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect([bn.trainableWeights.length, bn.nonTrainableWeights.length, bn.countParams()]).toEqual([2, 2, 24]);
    expect(shapeOf(layers.flatten())).toEqual([null, 432]);
    expect(shapeOf(layers.reshape({ targetShape: [-1, 6] }))).toEqual([null, 72, 6]);
    expect(shapeOf(layers.zeroPadding2d({ padding: 2 }))).toEqual([null, 13, 12, 6]);
    expect(shapeOf(layers.maxout({ numUnits: 3 }))).toEqual([null, 9, 8, 3]);
    expect(shapeOf(layers.dropout({ rate: 0.5 }))).toEqual([null, 9, 8, 6]);
    expect(shapeOf(layers.dense({ units: 7 }))).toEqual([null, 9, 8, 7]);
    const y = layers.conv2d({ filters: 2, kernelSize: 1 }).apply(x);
    expect([...layers.concatenate().apply([x, y]).shape]).toEqual([null, 9, 8, 8]);
    expect([...layers.add().apply([y, layers.conv2d({ filters: 2, kernelSize: 1 }).apply(x)]).shape]).toEqual([null, 9, 8, 2]);
  });

  it('unknown spatial sizes (null) flow through: a fully convolutional model', () => {
    const img = input({ shape: [null, null, 3] });
    let h = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }).apply(img);
    h = layers.maxPooling2d().apply(h);
    h = layers.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2 }).apply(h);
    const out = layers.globalAveragePooling2d().apply(h);
    expect([...h.shape]).toEqual([null, null, null, 4]);
    expect([...out.shape]).toEqual([null, 4]);
    const m = model({ inputs: img, outputs: out });
    expect(m.countParams()).toBe(3 * 3 * 3 * 8 + 8 + 2 * 2 * 4 * 8 + 4);
    expect(m.computeOutputShape([null, 32, 20, 3])).toEqual([null, 4]);
  });

  it('a fixed batch size stays in the shapes', () => {
    const b = input({ shape: [4], batchSize: 16 });
    expect([...layers.dense({ units: 2 }).apply(b).shape]).toEqual([16, 2]);
  });
});
