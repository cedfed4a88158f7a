/**
 * VGG-16 as keras.applications.VGG16 (Simonyan & Zisserman 2014, configuration D): five blocks of 3x3 'same'
 * relu convolutions (64x2, 128x2, 256x3, 512x3, 512x3), each closed by max pool 2, then flatten -> fc1 4096
 * relu -> fc2 4096 relu -> predictions. Layer names are Keras' (block1_conv1 ... fc1, fc2, predictions).
 * Keras documents 138,357,544 parameters with the top (224x224x3, 1000 classes) and 14,714,688 without.
 */
import * as layers from '../nn/layers.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, basePooling, modelInput, resolveOptions } from './common.js';

export function vgg16(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('vgg16', options, { inputShape: [224, 224, 3], classes: 1000, name: 'vgg16', minSize: 32 });
  const inp = modelInput(r);
  let x = inp;
  const blocks: [number, number][] = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]];
  blocks.forEach(([filters, n], b) => {
    for (let i = 1; i <= n; i++) {
      x = layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${i}`, ...r.kinit }).apply(x);
    }
    x = layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }).apply(x);
  });
  if (r.includeTop) {
    x = layers.flatten({ name: 'flatten' }).apply(x);
    x = layers.dense({ units: 4096, activation: 'relu', name: 'fc1', ...r.kinit }).apply(x);
    x = layers.dense({ units: 4096, activation: 'relu', name: 'fc2', ...r.kinit }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
