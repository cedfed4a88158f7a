/**
 * MobileNetV2 (Sandler et al. 2018) as keras.applications.MobileNetV2, with Keras' layer names (Conv1,
 * bn_Conv1, block_1_expand, block_1_depthwise, ..., Conv_1, predictions): a 3x3/2 stem, 17 inverted residual
 * blocks (1x1 expansion -> ReLU6 -> 3x3 depthwise -> ReLU6 -> linear 1x1 projection, with the input added back
 * where the shape allows), a 1x1 conv to 1280 channels, global average pool, dense. Convolutions carry no bias;
 * BN epsilon 1e-3, momentum 0.999. Keras documents 3,538,984 parameters for alpha 1.0 at 224x224 with 1000
 * classes (3,504,872 trainable, 34,112 non-trainable); without the top, 2,257,984.
 */
import { ValueError } from '../errors.js';
import * as layers from '../nn/layers.js';
import type { SymbolicTensor } from '../nn/layer.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, type Resolved, basePooling, modelInput, resolveOptions } from './common.js';

export interface MobileNetV2Options extends ApplicationOptions {
  /** Width multiplier; default 1.0. */
  alpha?: number;
}

/** Keras' _make_divisible: the nearest multiple of divisor, not below 90% of v. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

const BN = { epsilon: 1e-3, momentum: 0.999 } as const;

function invertedResBlock(x: SymbolicTensor, expansion: number, stride: number, alpha: number, filters: number, blockId: number, r: Resolved): SymbolicTensor {
  const inp = x;
  const cin = x.shape[3] as number;
  const pointwise = makeDivisible(Math.trunc(filters * alpha), 8);
  let prefix = `block_${blockId}_`;
  if (blockId) {
    x = layers.conv2d({ filters: expansion * cin, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand`, ...r.kinit }).apply(x);
    x = layers.batchNormalization({ ...BN, name: `${prefix}expand_BN` }).apply(x);
    x = layers.relu({ maxValue: 6, name: `${prefix}expand_relu` }).apply(x);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) {
    // Keras' correct_pad: one row/column after for an even size (as 'same'), one on each side for an odd one.
    const pad = (d: number | null): [number, number] => (d !== null && d % 2 === 1 ? [1, 1] : [0, 1]);
    x = layers.zeroPadding2d({ padding: [pad(x.shape[1]), pad(x.shape[2])], name: `${prefix}pad` }).apply(x);
  }
  x = layers.depthwiseConv2d({
    kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise`, ...r.dinit,
  }).apply(x);
  x = layers.batchNormalization({ ...BN, name: `${prefix}depthwise_BN` }).apply(x);
  x = layers.relu({ maxValue: 6, name: `${prefix}depthwise_relu` }).apply(x);
  x = layers.conv2d({ filters: pointwise, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project`, ...r.kinit }).apply(x);
  x = layers.batchNormalization({ ...BN, name: `${prefix}project_BN` }).apply(x);
  if (cin === pointwise && stride === 1) return layers.add({ name: `${prefix}add` }).apply([inp, x]);
  return x;
}

/** keras.applications.MobileNetV2 (see the file comment). Default input 224x224x3, 1000 classes, alpha 1. */
export function mobilenetV2(options: MobileNetV2Options = {}): Model {
  const r = resolveOptions('mobilenetV2', options, { inputShape: [224, 224, 3], classes: 1000, name: 'mobilenetv2_1.00_224', minSize: 32 }, ['alpha']);
  const alpha = options.alpha ?? 1.0;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new ValueError(`mobilenetV2: alpha must be a positive number, got ${JSON.stringify(options.alpha)}`);
  if (options.name === undefined) r.name = `mobilenetv2_${alpha.toFixed(2)}_${r.inputShape[0]}`;
  const inp = modelInput(r);
  let x = layers.conv2d({ filters: makeDivisible(32 * alpha, 8), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1', ...r.kinit }).apply(inp);
  x = layers.batchNormalization({ ...BN, name: 'bn_Conv1' }).apply(x);
  x = layers.relu({ maxValue: 6, name: 'Conv1_relu' }).apply(x);
  // [filters, stride, expansion] per block, block ids 0..16.
  const blocks: [number, number, number][] = [
    [16, 1, 1],
    [24, 2, 6], [24, 1, 6],
    [32, 2, 6], [32, 1, 6], [32, 1, 6],
    [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
    [96, 1, 6], [96, 1, 6], [96, 1, 6],
    [160, 2, 6], [160, 1, 6], [160, 1, 6],
    [320, 1, 6],
  ];
  blocks.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(x, expansion, stride, alpha, filters, id, r);
  });
  const last = alpha > 1.0 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = layers.conv2d({ filters: last, kernelSize: 1, useBias: false, name: 'Conv_1', ...r.kinit }).apply(x);
  x = layers.batchNormalization({ ...BN, name: 'Conv_1_bn' }).apply(x);
  x = layers.relu({ maxValue: 6, name: 'out_relu' }).apply(x);
  if (r.includeTop) {
    x = layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
