/**
 * The `ops` namespace: nodegrad's functional network ops (Keras names, TensorFlow's NHWC layouts). Each op
 * validates its arguments and infers shapes once, then runs one backend kernel; the *Backward / *Backprop*
 * entry points are the gradients autograd calls. The package index does `export * as ops from './ops/index.js'`.
 */
export {
  conv2d, conv2dAsync, conv1d, depthwiseConv2d, separableConv2d, conv2dTranspose, conv2dBackpropInput, conv2dBackpropFilter,
} from './conv.js';
export type {
  Conv2DOptions, Conv1DOptions, DepthwiseConv2DOptions, SeparableConv2DOptions, Conv2DTransposeOptions, Conv2DGradOptions,
} from './conv.js';

export {
  maxPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2dBackward, avgPool2dBackward, globalPool2dBackward,
} from './pool.js';
export type { Pool2DOptions, GlobalPool2DOptions } from './pool.js';

export { batchNorm, batchNormBackward } from './batchnorm.js';
export type { BatchNormOptions, BatchNormResult, BatchNormBackwardOptions, BatchNormGrads } from './batchnorm.js';

export { dense } from './dense.js';
export type { DenseOptions } from './dense.js';

export { softmaxCrossEntropy, softmaxCrossEntropyBackward } from './loss.js';
export type { CrossEntropyOptions, Reduction } from './loss.js';

export { dropout, dropoutWithMask } from './dropout.js';
export type { DropoutOptions, DropoutResult } from './dropout.js';

export {
  convOutputLength, convOutputShape, poolOutputShape, convTransposeOutputLength, convTransposeOutputShape, samePads,
} from './padding.js';
export type { Padding2D, Padding1D, PadPair, ConvShapeOptions, PoolShapeOptions, ConvTransposeShapeOptions } from './padding.js';
