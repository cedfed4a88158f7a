/**
 * The course's MNIST convnet (Deep Learning with Python/R, 2nd ed., ch. 8; the anchors' W1 workload):
 * 28x28x1 -> conv 32 3x3 relu -> max pool 2 -> conv 64 3x3 relu -> max pool 2 -> conv 128 3x3 relu -> flatten ->
 * dense 10 softmax. 104,202 parameters (Keras' summary in the book).
 */
import * as layers from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, basePooling, modelInput, resolveOptions } from './common.js';

export function mnistConvnet(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('mnistConvnet', options, { inputShape: [28, 28, 1], classes: 10, name: 'mnist_convnet', minSize: 22 });
  const inp = modelInput(r);
  let x = layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', name: 'conv2d', ...r.kinit }).apply(inp);
  x = layers.maxPooling2d({ poolSize: 2, name: 'max_pooling2d' }).apply(x);
  x = layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', name: 'conv2d_1', ...r.kinit }).apply(x);
  x = layers.maxPooling2d({ poolSize: 2, name: 'max_pooling2d_1' }).apply(x);
  x = layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu', name: 'conv2d_2', ...r.kinit }).apply(x);
  if (r.includeTop) {
    x = layers.flatten({ name: 'flatten' }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'dense', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
