/**
 * Reference architectures as Keras-application-style factories (`inputShape`, `classes`, `includeTop`,
 * `weights: null`, `pooling`, `classifierActivation`, `name`), each a functional Model with its documented
 * parameter count tested (test/models). No pretrained weights ship: build with weights null and load a file.
 */
export type { ApplicationOptions, Pooling } from './common.js';
export { lenet5 } from './lenet.js';
export { mnistConvnet } from './mnist.js';
export { alexnet } from './alexnet.js';
export { vgg16 } from './vgg.js';
export { resnet18, resnet20, resnet50 } from './resnet.js';
export { mobilenetV2 } from './mobilenet.js';
export type { MobileNetV2Options } from './mobilenet.js';
export { smallXception } from './xception.js';
export { inceptionModule, inceptionBlock, INCEPTION_3A } from './inception.js';
export type { InceptionSpec, InceptionBlockOptions } from './inception.js';
export { unet, meanIoU, MeanIoU } from './segmentation.js';
export type { UNetOptions } from './segmentation.js';
