/**
 * LeNet-5 (LeCun et al. 1998), as Keras tutorials write it: conv 6 5x5 tanh -> average pool 2 -> conv 16 5x5 tanh
 * -> average pool 2 -> flatten -> dense 120 tanh -> dense 84 tanh -> dense classes softmax. 61,706 parameters
 * for 10 classes on the paper's 32x32x1 input; on MNIST's 28x28x1 (the default) the first convolution pads
 * 'same', which gives the same 5x5x16 map and the same 61,706 parameters.
 */
import * as layers from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, basePooling, modelInput, resolveOptions } from './common.js';

export function lenet5(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('lenet5', options, { inputShape: [28, 28, 1], classes: 10, name: 'lenet5', minSize: 28 });
  const inp = modelInput(r);
  // 28x28 pads the first convolution to reach the paper's 28x28x6 map; 32x32 (and larger) is the paper's valid conv.
  const pad = r.inputShape[0] < 32 || r.inputShape[1] < 32 ? 'same' : 'valid';
  let x = layers.conv2d({ filters: 6, kernelSize: 5, padding: pad, activation: 'tanh', name: 'c1', ...r.kinit }).apply(inp);
  x = layers.averagePooling2d({ poolSize: 2, name: 's2' }).apply(x);
  x = layers.conv2d({ filters: 16, kernelSize: 5, activation: 'tanh', name: 'c3', ...r.kinit }).apply(x);
  x = layers.averagePooling2d({ poolSize: 2, name: 's4' }).apply(x);
  if (r.includeTop) {
    x = layers.flatten({ name: 'flatten' }).apply(x);
    x = layers.dense({ units: 120, activation: 'tanh', name: 'c5', ...r.kinit }).apply(x);
    x = layers.dense({ units: 84, activation: 'tanh', name: 'f6', ...r.kinit }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
