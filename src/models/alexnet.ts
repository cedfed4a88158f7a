/**
 * AlexNet, the course's single-tower variant (Krizhevsky et al. 2012 without the two-GPU split or local
 * response normalisation): 224x224x3 -> conv 96 11x11 stride 4 valid (54x54) -> max pool 3/2 (26) -> conv 256 5x5
 * same -> max pool 3/2 (12) -> conv 384 3x3 same -> conv 384 3x3 same -> conv 256 3x3 same -> max pool 3/2 (5) ->
 * flatten (6400) -> dense 4096 relu, dropout 0.5 -> dense 4096 relu, dropout 0.5 -> dense 1000 softmax.
 * 50,844,008 parameters (3,747,200 in the convolutional base).
 */
import * as layers from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, basePooling, modelInput, resolveOptions } from './common.js';

export function alexnet(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('alexnet', options, { inputShape: [224, 224, 3], classes: 1000, name: 'alexnet', minSize: 63 });
  const inp = modelInput(r);
  const conv = (filters: number, kernelSize: number, name: string, extra: { strides?: number; padding?: 'same' | 'valid' } = {}) =>
    layers.conv2d({ filters, kernelSize, activation: 'relu', name, ...extra, ...r.kinit });
  let x = conv(96, 11, 'conv1', { strides: 4 }).apply(inp);
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1' }).apply(x);
  x = conv(256, 5, 'conv2', { padding: 'same' }).apply(x);
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool2' }).apply(x);
  x = conv(384, 3, 'conv3', { padding: 'same' }).apply(x);
  x = conv(384, 3, 'conv4', { padding: 'same' }).apply(x);
  x = conv(256, 3, 'conv5', { padding: 'same' }).apply(x);
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool5' }).apply(x);
  if (r.includeTop) {
    x = layers.flatten({ name: 'flatten' }).apply(x);
    x = layers.dense({ units: 4096, activation: 'relu', name: 'fc6', ...r.kinit }).apply(x);
    x = layers.dropout({ rate: 0.5, name: 'drop6' }).apply(x);
    x = layers.dense({ units: 4096, activation: 'relu', name: 'fc7', ...r.kinit }).apply(x);
    x = layers.dropout({ rate: 0.5, name: 'drop7' }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
