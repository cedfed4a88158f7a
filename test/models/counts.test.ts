/**
 * Reference architectures: each builds, and its total / trainable / non-trainable parameter counts equal the
 * reference. Sources: Keras' documentation and model.summary() (VGG16, ResNet50, MobileNetV2, the MNIST
 * convnet); PyTorch (test/models/torch_counts.py, run with /usr/bin/python3: the MNIST convnet, LeNet-5,
 * AlexNet, VGG16, torchvision's resnet18 written out, the anchors' ResNet-20, inception 3a, the small Xception,
 * the U-Net), where the BN running mean/variance buffers are the non-trainable count. Output shapes too.
 * The large models are only built, never run; the largest are built with zeros kernels (random initialisation
 * of VGG16's 138M weights takes seconds, and the counts do not depend on it).
 */
import { describe, expect, it } from 'vitest';

import { ValueError } from '../../src/errors.js';
import type { Model } from '../../src/nn/model.js';
import {
  alexnet, inceptionBlock, lenet5, mnistConvnet, mobilenetV2, resnet18, resnet20, resnet50, smallXception, unet, vgg16,
} from '../../src/models/index.js';

const size = (ws: { size: number }[]): number => ws.reduce((n, w) => n + w.size, 0);
function counts(m: Model): [number, number, number] {
  const total = size(m.weights);
  const trainable = size(m.trainableWeights);
  return [total, trainable, total - trainable];
}
const outShape = (m: Model): readonly (number | null)[] => m.outputs[0].shape;

describe('parameter counts equal the references', () => {
  const cases: [string, () => Model, [number, number, number], (number | null)[]][] = [
    // Keras book / anchors W1: "Total params: 104,202"; torch_counts.py mnistConvnet.
    ['mnistConvnet', () => mnistConvnet(), [104_202, 104_202, 0], [null, 10]],
    // torch_counts.py lenet5 (the classic 61,706).
    ['lenet5 (28x28, same-padded C1)', () => lenet5(), [61_706, 61_706, 0], [null, 10]],
    ['lenet5 (32x32, the paper)', () => lenet5({ inputShape: [32, 32, 1] }), [61_706, 61_706, 0], [null, 10]],
    // The course's AlexNet; torch_counts.py alexnet.
    ['alexnet', () => alexnet({ kernelInitializer: 'zeros' }), [50_844_008, 50_844_008, 0], [null, 1000]],
    // keras.applications.VGG16: 138,357,544 (Keras docs: "138.4M"; summary with top), 14,714,688 without top.
    ['vgg16', () => vgg16({ kernelInitializer: 'zeros' }), [138_357_544, 138_357_544, 0], [null, 1000]],
    ['vgg16 no top', () => vgg16({ includeTop: false, kernelInitializer: 'zeros' }), [14_714_688, 14_714_688, 0], [null, 7, 7, 512]],
    // torchvision resnet18: 11,689,512 parameters; + 9,600 BN running statistics (torch_counts.py).
    ['resnet18', () => resnet18({ kernelInitializer: 'zeros' }), [11_699_112, 11_689_512, 9_600], [null, 1000]],
    // anchors' W2 ResNet-20 (peers_torch.py structure), torch_counts.py resnet20.
    ['resnet20', () => resnet20(), [274_042, 272_474, 1_568], [null, 10]],
    // keras.applications.ResNet50 summary: Total 25,636,712, Trainable 25,583,592, Non-trainable 53,120.
    ['resnet50', () => resnet50({ kernelInitializer: 'zeros' }), [25_636_712, 25_583_592, 53_120], [null, 1000]],
    ['resnet50 no top, avg', () => resnet50({ includeTop: false, pooling: 'avg', kernelInitializer: 'zeros' }), [23_587_712, 23_534_592, 53_120], [null, 2048]],
    // keras.applications.MobileNetV2 (alpha 1.0, 224): Total 3,538,984, Trainable 3,504,872, Non-trainable 34,112;
    // without top 2,257,984 (Trainable 2,223,872).
    ['mobilenetV2', () => mobilenetV2(), [3_538_984, 3_504_872, 34_112], [null, 1000]],
    ['mobilenetV2 no top', () => mobilenetV2({ includeTop: false }), [2_257_984, 2_223_872, 34_112], [null, 7, 7, 1280]],
    // keras.io "Image classification from scratch" make_model(180x180x3, 2 classes -> 1 unit); torch_counts.py.
    ['smallXception', () => smallXception(), [2_731_065, 2_722_777, 8_288], [null, 1]],
    ['smallXception 10 classes', () => smallXception({ classes: 10, inputShape: [32, 32, 3] }), [2_740_290, 2_732_002, 8_288], [null, 10]],
    // GoogLeNet inception (3a), 28x28x192 -> 28x28x256; torch_counts.py inceptionBlock.
    ['inceptionBlock', () => inceptionBlock(), [163_696, 163_696, 0], [null, 28, 28, 256]],
    // torch_counts.py unet (filters 16/32/64, 3 classes).
    ['unet', () => unet(), [482_067, 482_067, 0], [null, 128, 128, 3]],
  ];
  for (const [name, build, want, shape] of cases) {
    it(name, () => {
      const m = build();
      expect(counts(m)).toEqual(want);
      expect(outShape(m)).toEqual(shape);
      // summary() totals agree with the weights.
      const text = m.summary({ printFn: () => {} });
      expect(text).toContain(want[0].toLocaleString('en-US'));
    });
  }
});

describe('structure', () => {
  it('resnet18 follows the torchvision state_dict names and PyTorch padding', () => {
    const m = resnet18({ kernelInitializer: 'zeros', classifierActivation: null });
    const names = m.weights.map((w) => w.name);
    expect(names).toContain('conv1/kernel');
    expect(names).toContain('layer2.0.downsample.0/kernel');
    expect(names).toContain('layer4.1.bn2/moving_variance');
    expect(names).toContain('fc/bias');
    // Bias-free convolutions: every conv kernel has no bias beside it.
    expect(names.filter((n) => /conv\d\/bias|downsample\.0\/bias/.test(n))).toEqual([]);
    const shapes = Object.fromEntries(m.layers.map((l) => [l.name, l.inboundNodes[0].outputs[0].shape]));
    expect(shapes['conv1']).toEqual([null, 112, 112, 64]);
    expect(shapes['maxpool']).toEqual([null, 56, 56, 64]);
    expect(shapes['layer2.0.relu2']).toEqual([null, 28, 28, 128]);
    expect(shapes['layer4.1.relu2']).toEqual([null, 7, 7, 512]);
  });

  it('resnet50 and mobilenetV2 keep Keras layer names', () => {
    const r = resnet50({ includeTop: false, kernelInitializer: 'zeros' });
    expect(r.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['conv1_conv', 'conv2_block1_0_conv', 'conv5_block3_out']));
    const mb = mobilenetV2({ includeTop: false });
    expect(mb.name).toBe('mobilenetv2_1.00_224');
    expect(mb.layers.map((l) => l.name)).toEqual(expect.arrayContaining(['Conv1', 'expanded_conv_depthwise', 'block_16_project_BN', 'out_relu']));
  });

  it('alexnet has the course feature map sizes', () => {
    const m = alexnet({ includeTop: false, kernelInitializer: 'zeros' });
    const shapes = Object.fromEntries(m.layers.map((l) => [l.name, l.inboundNodes[0].outputs[0].shape]));
    expect(shapes['conv1']).toEqual([null, 54, 54, 96]);
    expect(shapes['pool1']).toEqual([null, 26, 26, 96]);
    expect(shapes['pool2']).toEqual([null, 12, 12, 256]);
    expect(shapes['pool5']).toEqual([null, 5, 5, 256]);
  });

  it('includeTop false with pooling', () => {
    expect(outShape(vgg16({ includeTop: false, pooling: 'max', inputShape: [64, 64, 3] }))).toEqual([null, 512]);
    expect(outShape(resnet20({ includeTop: false }))).toEqual([null, 8, 8, 64]);
    expect(outShape(mnistConvnet({ includeTop: false, pooling: 'avg' }))).toEqual([null, 128]);
    expect(outShape(resnet20({ classes: 100 }))).toEqual([null, 100]);
  });

  it('rejects pretrained weights, unknown options and bad shapes', () => {
    expect(() => resnet50({ weights: 'imagenet' as unknown as null })).toThrow(ValueError);
    expect(() => resnet50({ weights: 'imagenet' as unknown as null })).toThrow(/weights must be null/);
    expect(() => vgg16({ include_top: false } as never)).toThrow(/unknown option 'include_top'/);
    expect(() => vgg16({ pooling: 'mean' as never })).toThrow(/pooling/);
    expect(() => mnistConvnet({ inputShape: [28, 28] })).toThrow(/inputShape/);
    expect(() => unet({ inputShape: [100, 100, 3] })).toThrow(/divisible by 8/);
    expect(() => mobilenetV2({ alpha: -1 })).toThrow(/alpha/);
  });
});
