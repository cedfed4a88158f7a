/**
 * Residual networks (He et al. 2015), v1 ("post-activation": conv -> BN -> ReLU, the sum then ReLU).
 *
 * - `resnet50`: keras.applications.ResNet50, layer for layer and with Keras' names (conv1_pad, conv1_conv,
 *   conv2_block1_0_conv ... avg_pool, predictions): bottleneck blocks [3, 4, 6, 3], convolutions with biases,
 *   BN epsilon 1.001e-5, a 1x1 conv + BN projection at the first block of each stage. Keras documents
 *   25,636,712 parameters (25,583,592 trainable, 53,120 non-trainable: the BN moving statistics).
 * - `resnet18`: torchvision.models.resnet18: basic blocks [2, 2, 2, 2], bias-free convolutions each followed by
 *   BN (epsilon 1e-5, momentum 0.9 = PyTorch's 0.1), 1x1 conv + BN projection ("downsample") where the shape
 *   changes, zero padding written out as PyTorch pads (symmetric 3 before the 7x7/2 stem, 1 before each
 *   stride-2 3x3 and the stem's max pool) so that imported PyTorch weights give PyTorch's outputs. Layer names
 *   follow the state_dict (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc). torchvision counts
 *   11,689,512 parameters; here they are the trainable ones, and the 9,600 BN running means and variances
 *   (PyTorch buffers) are the non-trainable ones.
 * - `resnet20`: the CIFAR ResNet-20 of the anchors' W2 workload (../shared/anchors, peers_torch.py):
 *   32x32x3 -> conv 3x3 16 + BN + ReLU -> 3 stages x 3 basic blocks (16/32/64 channels, stride 2 at the entry of
 *   stages 2 and 3) -> global average pool -> dense 10. Shortcuts are identity, or a 1x1 conv + BN projection
 *   where the shape changes (the paper's CIFAR model pads with zeros, "option A"). 272,474 trainable
 *   parameters (PyTorch's count) + 1,568 BN running statistics (274,042 in all).
 */
import * as layers from '../nn/layers.js';
import type { SymbolicTensor } from '../nn/layer.js';
import { Model } from '../nn/model.js';
import { type ApplicationOptions, type Resolved, basePooling, modelInput, resolveOptions } from './common.js';

/** PyTorch's BatchNorm2d defaults in Keras terms. */
const TORCH_BN = { epsilon: 1e-5, momentum: 0.9 } as const;

/** torchvision's BasicBlock: conv3x3(stride) BN ReLU conv3x3 BN (+ shortcut) ReLU, PyTorch padding. */
function basicBlock(x: SymbolicTensor, filters: number, stride: number, name: string, shortcutName: string, r: Resolved): SymbolicTensor {
  const cin = x.shape[x.shape.length - 1];
  let y = x;
  if (stride === 1) {
    y = layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name: `${name}.conv1`, ...r.kinit }).apply(y);
  } else {
    y = layers.zeroPadding2d({ padding: 1, name: `${name}.pad1` }).apply(y);
    y = layers.conv2d({ filters, kernelSize: 3, strides: stride, useBias: false, name: `${name}.conv1`, ...r.kinit }).apply(y);
  }
  y = layers.batchNormalization({ ...TORCH_BN, name: `${name}.bn1` }).apply(y);
  y = layers.relu({ name: `${name}.relu1` }).apply(y);
  y = layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, name: `${name}.conv2`, ...r.kinit }).apply(y);
  y = layers.batchNormalization({ ...TORCH_BN, name: `${name}.bn2` }).apply(y);
  let shortcut = x;
  if (stride !== 1 || cin !== filters) {
    shortcut = layers.conv2d({ filters, kernelSize: 1, strides: stride, useBias: false, name: `${name}.${shortcutName}.0`, ...r.kinit }).apply(x);
    shortcut = layers.batchNormalization({ ...TORCH_BN, name: `${name}.${shortcutName}.1` }).apply(shortcut);
  }
  y = layers.add({ name: `${name}.add` }).apply([y, shortcut]);
  return layers.relu({ name: `${name}.relu2` }).apply(y);
}

/** Global average pool + dense head, or the base's pooling option. */
function head(x: SymbolicTensor, r: Resolved, denseName: string): SymbolicTensor {
  if (!r.includeTop) return basePooling(x, r.pooling);
  x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  return layers.dense({ units: r.classes, activation: r.classifierActivation, name: denseName, ...r.kinit }).apply(x);
}

/** torchvision's resnet18 (see the file comment). Default input 224x224x3, 1000 classes. */
export function resnet18(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('resnet18', options, { inputShape: [224, 224, 3], classes: 1000, name: 'resnet18', minSize: 32 });
  const inp = modelInput(r);
  let x = layers.zeroPadding2d({ padding: 3, name: 'conv1_pad' }).apply(inp);
  x = layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, useBias: false, name: 'conv1', ...r.kinit }).apply(x);
  x = layers.batchNormalization({ ...TORCH_BN, name: 'bn1' }).apply(x);
  x = layers.relu({ name: 'relu' }).apply(x);
  // Zero padding before the max pool equals PyTorch's -inf padding here: the inputs are ReLU outputs (>= 0).
  x = layers.zeroPadding2d({ padding: 1, name: 'maxpool_pad' }).apply(x);
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'maxpool' }).apply(x);
  [64, 128, 256, 512].forEach((filters, s) => {
    for (let b = 0; b < 2; b++) x = basicBlock(x, filters, s > 0 && b === 0 ? 2 : 1, `layer${s + 1}.${b}`, 'downsample', r);
  });
  return new Model({ inputs: inp, outputs: head(x, r, 'fc'), name: r.name });
}

/** The anchors' CIFAR ResNet-20 with projection shortcuts (see the file comment). Default input 32x32x3, 10 classes. */
export function resnet20(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('resnet20', options, { inputShape: [32, 32, 3], classes: 10, name: 'resnet20', minSize: 4 });
  const inp = modelInput(r);
  let x = layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', useBias: false, name: 'conv1', ...r.kinit }).apply(inp);
  x = layers.batchNormalization({ ...TORCH_BN, name: 'bn1' }).apply(x);
  x = layers.relu({ name: 'relu' }).apply(x);
  [16, 32, 64].forEach((filters, s) => {
    for (let b = 0; b < 3; b++) x = basicBlock(x, filters, s > 0 && b === 0 ? 2 : 1, `layer${s + 1}.${b}`, 'shortcut', r);
  });
  return new Model({ inputs: inp, outputs: head(x, r, 'fc'), name: r.name });
}

const KERAS_BN = { epsilon: 1.001e-5 } as const;

/** Keras' residual_block_v1 (bottleneck: 1x1, 3x3, 1x1 with 4x filters). */
function bottleneck(x: SymbolicTensor, filters: number, stride: number, convShortcut: boolean, name: string, r: Resolved): SymbolicTensor {
  let shortcut = x;
  if (convShortcut) {
    shortcut = layers.conv2d({ filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv`, ...r.kinit }).apply(x);
    shortcut = layers.batchNormalization({ ...KERAS_BN, name: `${name}_0_bn` }).apply(shortcut);
  }
  let y = layers.conv2d({ filters, kernelSize: 1, strides: stride, name: `${name}_1_conv`, ...r.kinit }).apply(x);
  y = layers.batchNormalization({ ...KERAS_BN, name: `${name}_1_bn` }).apply(y);
  y = layers.activation({ activation: 'relu', name: `${name}_1_relu` }).apply(y);
  y = layers.conv2d({ filters, kernelSize: 3, padding: 'same', name: `${name}_2_conv`, ...r.kinit }).apply(y);
  y = layers.batchNormalization({ ...KERAS_BN, name: `${name}_2_bn` }).apply(y);
  y = layers.activation({ activation: 'relu', name: `${name}_2_relu` }).apply(y);
  y = layers.conv2d({ filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv`, ...r.kinit }).apply(y);
  y = layers.batchNormalization({ ...KERAS_BN, name: `${name}_3_bn` }).apply(y);
  y = layers.add({ name: `${name}_add` }).apply([shortcut, y]);
  return layers.activation({ activation: 'relu', name: `${name}_out` }).apply(y);
}

/** keras.applications.ResNet50 (see the file comment). Default input 224x224x3, 1000 classes. */
export function resnet50(options: ApplicationOptions = {}): Model {
  const r = resolveOptions('resnet50', options, { inputShape: [224, 224, 3], classes: 1000, name: 'resnet50', minSize: 32 });
  const inp = modelInput(r);
  let x = layers.zeroPadding2d({ padding: 3, name: 'conv1_pad' }).apply(inp);
  x = layers.conv2d({ filters: 64, kernelSize: 7, strides: 2, name: 'conv1_conv', ...r.kinit }).apply(x);
  x = layers.batchNormalization({ ...KERAS_BN, name: 'conv1_bn' }).apply(x);
  x = layers.activation({ activation: 'relu', name: 'conv1_relu' }).apply(x);
  x = layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }).apply(x);
  x = layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(x);
  const stacks: [number, number, number][] = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
  stacks.forEach(([filters, blocks, stride1], s) => {
    x = bottleneck(x, filters, stride1, true, `conv${s + 2}_block1`, r);
    for (let i = 2; i <= blocks; i++) x = bottleneck(x, filters, 1, false, `conv${s + 2}_block${i}`, r);
  });
  if (r.includeTop) {
    x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
    x = layers.dense({ units: r.classes, activation: r.classifierActivation, name: 'predictions', ...r.kinit }).apply(x);
  } else {
    x = basePooling(x, r.pooling);
  }
  return new Model({ inputs: inp, outputs: x, name: r.name });
}
