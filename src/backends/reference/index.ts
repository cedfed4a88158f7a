/**
 * The reference backend: every kernel of the Backend interface in plain TypeScript loops, written to be read.
 * It is the oracle the native and CUDA backends are tested against, and it runs in float64 for the
 * finite-difference gradient checks. One file per op family.
 */
import type { Backend } from '../backend.js';
import { unary, unaryGrad, binary, compare, where, clip, cast } from './elementwise.js';
import { reduce, argReduce } from './reduce.js';
import { transpose, slice, gather, scatterAdd, concat, pad, oneHot } from './movement.js';
import { matmul } from './matmul.js';
import { softmax, logSoftmax, softmaxCrossEntropy, softmaxCrossEntropyBackward } from './softmax.js';
import { conv2d, conv2dBackwardData, conv2dBackwardFilter } from './conv.js';
import {
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, globalPool2d, globalPool2dBackward,
} from './pool.js';
import { batchNorm, batchNormBackward } from './batchnorm.js';
import { dropout } from './dropout.js';

export const referenceBackend: Backend = {
  name: 'reference',
  unary, unaryGrad, binary, compare, where, clip, cast,
  reduce, argReduce,
  transpose, slice, gather, scatterAdd, concat, pad, oneHot,
  matmul,
  softmax, logSoftmax, softmaxCrossEntropy, softmaxCrossEntropyBackward,
  conv2d, conv2dBackwardData, conv2dBackwardFilter,
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, globalPool2d, globalPool2dBackward,
  batchNorm, batchNormBackward,
  dropout,
};
