/**
 * The "small Xception" of the Keras example "Image classification from scratch" (keras.io, Cats vs Dogs) that
 * the course uses for its depthwise separable convolutions: 180x180x3 -> Rescaling 1/255 -> conv 128 3x3/2 + BN +
 * ReLU -> three blocks (256, 512, 728) of [ReLU, separable conv 3x3, BN, ReLU, separable conv 3x3, BN, max pool
 * 3/2 'same'] added to a 1x1/2 conv of the block's input -> separable conv 1024 + BN + ReLU -> global average pool
 * -> dropout 0.25 -> dense. As in the example, two classes give one output unit, and the head gives logits
 * (classifierActivation defaults to null here; pass 'sigmoid' or 'softmax' for probabilities).
 * 2,731,065 parameters for two classes (2,722,777 trainable, 8,288 BN moving statistics; 2,740,290 for 10), the
 * same with 180x180 or any other input size.
 */
import * as layers from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, basePooling, modelInput, resolveOptions } from './common.js';

export function smallXception(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('smallXception', { classifierActivation: null, ...options }, { inputShape: [180, 180, 3], classes: 2, name: 'small_xception', minSize: 8 });
  const inp = modelInput(r);
  let x = layers.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(inp);
  x = layers.conv2d({ filters: 128, kernelSize: 3, strides: 2, padding: 'same', name: 'conv2d', ...r.kinit }).apply(x);
  x = layers.batchNormalization({ name: 'batch_normalization' }).apply(x);
  x = layers.activation({ activation: 'relu', name: 'activation' }).apply(x);
  let previous = x;
  for (const size of [256, 512, 728]) {
    const p = `block_${size}`;
    x = layers.activation({ activation: 'relu', name: `${p}_relu1` }).apply(x);
    x = layers.separableConv2d({ filters: size, kernelSize: 3, padding: 'same', name: `${p}_sepconv1`, ...r.sinit }).apply(x);
    x = layers.batchNormalization({ name: `${p}_bn1` }).apply(x);
    x = layers.activation({ activation: 'relu', name: `${p}_relu2` }).apply(x);
    x = layers.separableConv2d({ filters: size, kernelSize: 3, padding: 'same', name: `${p}_sepconv2`, ...r.sinit }).apply(x);
    x = layers.batchNormalization({ name: `${p}_bn2` }).apply(x);
    x = layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `${p}_pool` }).apply(x);
    const residual = layers.conv2d({ filters: size, kernelSize: 1, strides: 2, padding: 'same', name: `${p}_residual`, ...r.kinit }).apply(previous);
    x = layers.add({ name: `${p}_add` }).apply([x, residual]);
    previous = x;
  }
  x = layers.separableConv2d({ filters: 1024, kernelSize: 3, padding: 'same', name: 'sepconv_1024', ...r.sinit }).apply(x);
  x = layers.batchNormalization({ name: 'bn_1024' }).apply(x);
  x = layers.activation({ activation: 'relu', name: 'relu_1024' }).apply(x);
  if (r.includeTop) {
    x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
    x = layers.dropout({ rate: 0.25, name: 'dropout' }).apply(x);
    x = layers.dense({ units: r.classes === 2 ? 1 : r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
