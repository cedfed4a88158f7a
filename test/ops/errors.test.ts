/**
 * Bad inputs: every validation rule of the ops, each checked for its error class and for a message that names
 * the op, the argument and the shapes involved. All checks run before any kernel.
 */
import { beforeAll, describe, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { expectError, int32, zeros } from './fixtures.js';

beforeAll(() => setBackend('reference'));

const x = zeros([1, 5, 5, 3]);
const w = zeros([3, 3, 3, 8]);
const anyOps = ops as unknown as Record<string, (...a: unknown[]) => unknown>;

describe('conv2d', () => {
  it('ranks', () => {
    expectError(() => ops.conv2d(zeros([5, 5, 3]), w), ShapeError, 'conv2d:', "argument 'x'", 'rank 4', '[5,5,3]', 'expandDims(0)');
    expectError(() => ops.conv2d(x, zeros([3, 3, 3])), ShapeError, 'conv2d:', "argument 'w'", 'rank 4', '[3,3,3]');
  });

  it('input channels vs w, groups 1 and groups 2', () => {
    expectError(
      () => ops.conv2d(x, zeros([3, 3, 4, 8])), ShapeError,
      "conv2d: argument 'w' [3,3,4,8] expects 4 input channels per group but 'x' [1,5,5,3] has 3 channels (groups 1)",
    );
    expectError(() => ops.conv2d(zeros([1, 5, 5, 6]), zeros([3, 3, 2, 8]), { groups: 2 }), ShapeError, "'w' [3,3,2,8]", '(4 in all)', '[1,5,5,6]', 'groups 2');
  });

  it('groups that do not divide Cin or Cout', () => {
    expectError(() => ops.conv2d(zeros([1, 5, 5, 6]), zeros([3, 3, 2, 8]), { groups: 4 }), ValueError, 'conv2d:', "'groups' = 4", '6 input channels', '[1,5,5,6]');
    expectError(() => ops.conv2d(zeros([1, 5, 5, 6]), zeros([3, 3, 2, 8]), { groups: 3 }), ValueError, "'groups' = 3", '8 output channels', "'w' [3,3,2,8]");
  });

  it('bias length vs Cout', () => {
    expectError(() => ops.conv2d(x, w, { bias: zeros([4]) }), ShapeError, 'conv2d:', "argument 'bias'", '[8]', 'got [4]', "'w' [3,3,3,8]");
    expectError(() => ops.conv2d(x, w, { bias: zeros([1, 8]) }), ShapeError, "argument 'bias'", 'got [1,8]');
  });

  it('non-positive or non-integer strides, dilations and groups', () => {
    expectError(() => ops.conv2d(x, w, { strides: 0 }), ValueError, 'conv2d:', "argument 'strides'", 'positive integer', 'got 0');
    expectError(() => ops.conv2d(x, w, { strides: [1, 1.5] }), ValueError, "argument 'strides[1]'", '1.5');
    expectError(() => ops.conv2d(x, w, { strides: [1, 2, 3] as unknown as [number, number] }), ValueError, "argument 'strides'", '[1,2,3]');
    expectError(() => ops.conv2d(x, w, { dilation: -1 }), ValueError, "argument 'dilation'", '-1');
    expectError(() => ops.conv2d(x, w, { dilation: NaN }), ValueError, "argument 'dilation'", 'NaN');
    expectError(() => ops.conv2d(x, w, { groups: 0 }), ValueError, "argument 'groups'", 'got 0');
    expectError(() => ops.conv2d(x, w, { groups: 1.5 }), ValueError, "argument 'groups'", '1.5');
  });

  it("kernels that do not fit under 'valid' (also through dilation, and explicit padding)", () => {
    expectError(
      () => ops.conv2d(x, zeros([7, 3, 3, 8])), ShapeError,
      "conv2d: the kernel of 'w' [7,3,3,8] spans 7 rows but 'x' [1,5,5,3] has 5 rows (5 + padding 0+0)", "padding 'valid'",
    );
    expectError(() => ops.conv2d(x, w, { dilation: [1, 3] }), ShapeError, 'spans 7 columns (3 taps, dilation 3)', "'x' [1,5,5,3] has 5 columns");
    expectError(() => ops.conv2d(x, zeros([7, 7, 3, 8]), { padding: [[1, 0], [1, 1]] }), ShapeError, 'has 6 rows (5 + padding 1+0)', 'padding [1,0]');
  });

  it('int32 tensors and non-tensors', () => {
    expectError(() => ops.conv2d(new Tensor(new Int32Array(75), [1, 5, 5, 3]), w), DTypeError, 'conv2d:', "argument 'x'", 'float32', 'int32 [1,5,5,3]');
    expectError(() => ops.conv2d(x, new Tensor(new Int32Array(216), [3, 3, 3, 8])), DTypeError, "argument 'w'", 'int32');
    expectError(() => ops.conv2d([[1]] as unknown as Tensor, w), DTypeError, "argument 'x'", 'must be a Tensor');
  });

  it('unknown padding strings and malformed explicit paddings', () => {
    expectError(() => ops.conv2d(x, w, { padding: 'full' as 'same' }), ValueError, 'conv2d:', "argument 'padding'", "'valid', 'same'", "'full'");
    expectError(() => ops.conv2d(x, w, { padding: [[1, 1]] as unknown as 'same' }), ValueError, "argument 'padding'", '[[1,1]]');
    expectError(() => ops.conv2d(x, w, { padding: [1, 1] as unknown as 'same' }), ValueError, "argument 'padding[0]'", 'pair');
    expectError(() => ops.conv2d(x, w, { padding: [[1, -1], [0, 0]] }), ValueError, "argument 'padding[0][1]'", 'non-negative', '-1');
    expectError(() => ops.conv2d(x, w, { padding: [[1, 0.5], [0, 0]] }), ValueError, "argument 'padding[0][1]'", '0.5');
    expectError(() => ops.conv2d(x, w, { padding: [[1, 1], [1, 1], [0, 0], [0, 0]] as unknown as 'same' }), ValueError, 'batch or channel');
  });

  it('unknown options (a misspelt option must not be ignored) and non-object options', () => {
    expectError(() => ops.conv2d(x, w, { stride: 2 } as never), ValueError, "conv2d: unknown option 'stride' (did you mean 'strides'?)");
    expectError(() => ops.conv2d(x, w, 'same' as never), DTypeError, "argument 'options'", 'object');
  });
});

describe('conv1d, depthwiseConv2d, separableConv2d', () => {
  it('conv1d ranks, channels, causal/padding forms, stride aliases', () => {
    const x1 = zeros([2, 10, 4]);
    expectError(() => ops.conv1d(zeros([10, 4]), zeros([3, 4, 2])), ShapeError, 'conv1d:', "argument 'x'", 'rank 3', '[10,4]');
    expectError(() => ops.conv1d(x1, zeros([3, 3, 2])), ShapeError, "conv1d: argument 'w' [3,3,2] expects 3 input channels per group but 'x' [2,10,4] has 4");
    expectError(() => ops.conv1d(x1, zeros([3, 4, 2]), { padding: 'full' as 'same' }), ValueError, "'causal'", "'full'");
    expectError(() => ops.conv1d(x1, zeros([3, 4, 2]), { padding: [-1, 0] }), ValueError, "argument 'padding[0]'");
    expectError(() => ops.conv1d(x1, zeros([3, 4, 2]), { stride: 2, strides: 3 }), ValueError, "'stride'", "'strides'", 'disagree');
    expectError(() => ops.conv1d(x1, zeros([11, 4, 2])), ShapeError, "the kernel of 'w' [11,4,2] spans 11 columns", "'x' [2,10,4]");
  });

  it('depthwise: w channels vs x, bias C*M', () => {
    expectError(() => ops.depthwiseConv2d(x, zeros([3, 3, 2, 2])), ShapeError, "depthwiseConv2d: argument 'w' [3,3,2,2]", 'expects 2 input channels', "'x' [1,5,5,3] has 3");
    expectError(() => ops.depthwiseConv2d(x, zeros([3, 3, 3, 2]), { bias: zeros([3]) }), ShapeError, "argument 'bias'", '[6]', 'got [3]');
    expectError(() => ops.depthwiseConv2d(x, zeros([3, 3, 3, 2]), { groups: 3 } as never), ValueError, "unknown option 'groups'");
  });

  it('separable: pointwise shape must be [1,1,C*M,Cout]', () => {
    expectError(
      () => ops.separableConv2d(x, zeros([3, 3, 3, 2]), zeros([1, 1, 3, 4])), ShapeError,
      "separableConv2d: argument 'pointwiseW' must have shape [1,1,6,Cout]", "'depthwiseW' [3,3,3,2]", 'got [1,1,3,4]',
    );
    expectError(() => ops.separableConv2d(x, zeros([3, 3, 4, 2]), zeros([1, 1, 8, 4])), ShapeError, "argument 'depthwiseW' [3,3,4,2]", "'x' [1,5,5,3] has 3");
  });
});

describe('conv2dTranspose and the conv gradient entry points', () => {
  it('channels, outputPadding, outputShape', () => {
    const xt = zeros([1, 3, 3, 4]);
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 5])), ShapeError, "conv2dTranspose: argument 'w' [3,3,2,5] [KH, KW, Cout, Cin] expects 5 input channels but 'x' [1,3,3,4] has 4");
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 4]), { strides: 2, outputPadding: 2 }), ValueError, "argument 'outputPadding' [2,2]", 'smaller than the strides [2,2]');
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 4]), { strides: 2, outputShape: [1, 9, 7, 2] }), ShapeError, 'output height of 9 maps back to 4, not the 3', "'x' [1,3,3,4]");
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 4]), { outputShape: [1, 5, 5, 3] }), ShapeError, "'outputShape' [1,5,5,3]", '[1, OH, OW, 2]');
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 4]), { outputShape: [5, 5], outputPadding: 0 }), ValueError, "'outputShape' or 'outputPadding'");
    expectError(() => ops.conv2dTranspose(xt, zeros([4, 4, 2, 4]), { padding: 'same', strides: 2, outputPadding: 0 }), ShapeError, 'maps back to 2, not the 3');
    expectError(() => ops.conv2dTranspose(xt, zeros([3, 3, 2, 4]), { bias: zeros([4]) }), ShapeError, "argument 'bias'", '[2]', 'got [4]');
  });

  it('conv2dBackpropInput / conv2dBackpropFilter check dy against the forward output shape', () => {
    expectError(() => ops.conv2dBackpropInput(zeros([1, 4, 4, 8]), w, [1, 5, 5, 3]), ShapeError, "conv2dBackpropInput: argument 'dy' [1,4,4,8] must have the conv2d output shape [1,3,3,8]", "'xShape' [1,5,5,3]");
    expectError(() => ops.conv2dBackpropInput(zeros([1, 3, 3, 8]), w, [1, 5, 5]), ShapeError, "argument 'xShape'", 'rank 4');
    expectError(() => ops.conv2dBackpropInput(zeros([1, 3, 3, 8]), w, [1, 5, -5, 3]), ValueError, "argument 'xShape'", 'non-negative');
    expectError(() => ops.conv2dBackpropFilter(x, zeros([1, 3, 3, 7]), [3, 3, 3, 8]), ShapeError, "conv2dBackpropFilter: argument 'dy' [1,3,3,7]", '[1,3,3,8]');
    expectError(() => ops.conv2dBackpropFilter(x, zeros([1, 3, 3, 8]), [3, 3, 2, 8]), ShapeError, "'wShape' [3,3,2,8] expects 2 input channels", "'x' [1,5,5,3]");
    expectError(() => ops.conv2dBackpropFilter(x, zeros([1, 3, 3, 8]), [3, 3, 3, 8], { strides: 0 }), ValueError, "argument 'strides'");
  });
});

describe('pooling', () => {
  it('ranks, sizes, strides, padding', () => {
    expectError(() => ops.maxPool2d(zeros([5, 5, 3])), ShapeError, 'maxPool2d:', "argument 'x'", 'rank 4', '[5,5,3]', 'expandDims(0)');
    expectError(() => ops.avgPool2d(x, { poolSize: 0 }), ValueError, 'avgPool2d:', "argument 'poolSize'", 'got 0');
    expectError(() => ops.avgPool2d(x, { poolSize: [2, 2.5] }), ValueError, "argument 'poolSize[1]'", '2.5');
    expectError(() => ops.maxPool2d(x, { poolSize: 2, strides: -2 }), ValueError, "argument 'strides'", '-2');
    expectError(() => ops.maxPool2d(x, { poolSize: 6 }), ShapeError, 'the pool window [6,6] spans 6 rows', "'x' [1,5,5,3] has 5 rows");
    expectError(() => ops.maxPool2d(x, { padding: 'causal' as 'same' }), ValueError, "argument 'padding'", "'causal'");
    expectError(() => ops.maxPool2d(x, { poolSize: 2, padding: [[2, 0], [0, 0]] }), ValueError, "maxPool2d: argument 'padding' [2,0] along height must be smaller than the pool size 2");
    expectError(() => ops.maxPool2d(new Tensor(new Int32Array(75), [1, 5, 5, 3])), DTypeError, "argument 'x'", 'int32');
    expectError(() => ops.maxPool2d(x, { kernelSize: 2 } as never), ValueError, "unknown option 'kernelSize' (did you mean 'poolSize'?)");
  });

  it('global pools and backward entries', () => {
    expectError(() => ops.globalAvgPool2d(zeros([1, 0, 5, 3])), ShapeError, 'globalAvgPool2d:', 'no pixels', '[1,0,5,3]');
    expectError(() => ops.globalMaxPool2d(x, { keepDims: 1 as unknown as boolean }), ValueError, "argument 'keepDims'");
    expectError(() => ops.globalPool2dBackward(zeros([1, 4]), x, 'avg'), ShapeError, "argument 'dy' [1,4] must be [1,3] or [1,1,1,3]", "'x' [1,5,5,3]");
    expectError(() => ops.globalPool2dBackward(zeros([1, 3]), x, 'sum' as 'avg'), ValueError, "argument 'mode'", 'sum');
    expectError(() => ops.maxPool2dBackward(zeros([1, 3, 3, 3]), x, { poolSize: 2 }), ShapeError, "maxPool2dBackward: argument 'dy' [1,3,3,3] must have the pooled shape [1,2,2,3]", "'x' [1,5,5,3]");
    expectError(() => ops.avgPool2dBackward(zeros([1, 2, 2, 3]), [1, 5, 5], { poolSize: 2 }), ShapeError, "avgPool2dBackward: argument 'xShape'", 'rank 4');
  });
});

describe('batchNorm', () => {
  const xb = zeros([4, 3]);
  const three = zeros([3]);
  it('shapes: x rank, gamma/beta/moving lengths vs C', () => {
    expectError(() => ops.batchNorm(zeros([3]), { training: true }), ShapeError, 'batchNorm:', "argument 'x'", 'rank >= 2', '[3]');
    expectError(() => ops.batchNorm(xb, { gamma: zeros([4]), training: true }), ShapeError, "batchNorm: argument 'gamma' must have shape [3]", "'x' [4,3]", 'got [4]');
    expectError(() => ops.batchNorm(xb, { beta: zeros([2]), training: true }), ShapeError, "argument 'beta'", 'got [2]');
    expectError(() => ops.batchNorm(xb, { movingMean: zeros([3, 1]), movingVar: three }), ShapeError, "argument 'movingMean'", 'got [3,1]');
  });

  it('NaN/Infinity/out-of-range epsilon and momentum; training type; missing moving statistics', () => {
    expectError(() => ops.batchNorm(xb, { epsilon: NaN, training: true }), ValueError, "batchNorm: argument 'epsilon' must be a finite number, got NaN");
    expectError(() => ops.batchNorm(xb, { epsilon: 0, training: true }), ValueError, "argument 'epsilon' must be > 0");
    expectError(() => ops.batchNorm(xb, { momentum: Infinity, training: true }), ValueError, "argument 'momentum'", 'Infinity');
    expectError(() => ops.batchNorm(xb, { momentum: 1.5, training: true }), ValueError, "argument 'momentum' must be in [0, 1], got 1.5");
    expectError(() => ops.batchNorm(xb, { training: 'yes' as unknown as boolean }), ValueError, "argument 'training' must be a boolean");
    expectError(() => ops.batchNorm(xb), ValueError, 'batchNorm: inference', "'movingMean' and 'movingVar' [3]", "missing 'movingMean' and 'movingVar'");
    expectError(() => ops.batchNorm(xb, { movingMean: three }), ValueError, "missing 'movingVar'");
    expectError(() => ops.batchNorm(xb, { movingMean: three, training: true }), ValueError, 'both', "only 'movingMean'");
    expectError(() => ops.batchNorm(zeros([0, 3]), { training: true }), ShapeError, "'x' [0,3] is empty");
    expectError(() => ops.batchNorm(new Tensor(new Int32Array(12), [4, 3]), { training: true }), DTypeError, "argument 'x'", 'int32');
  });

  it('batchNormBackward', () => {
    expectError(() => ops.batchNormBackward(zeros([4, 2]), xb, { mean: three, variance: three }), ShapeError, "batchNormBackward: argument 'dy' [4,2] must have the shape of 'x' [4,3]");
    expectError(() => ops.batchNormBackward(xb, xb, { mean: three } as never), ValueError, "'mean' and 'variance'");
    expectError(() => ops.batchNormBackward(xb, xb, { mean: three, variance: zeros([2]) }), ShapeError, "argument 'variance'", 'got [2]');
  });
});

describe('dense, softmaxCrossEntropy, dropout', () => {
  it('dense', () => {
    expectError(() => ops.dense(zeros([2, 5]), zeros([4, 3])), ShapeError, "dense: argument 'w' [4,3] expects 4 input features but 'x' [2,5] has 5");
    expectError(() => ops.dense(zeros([2, 4]), zeros([4, 3, 1])), ShapeError, "argument 'w'", 'rank 2');
    expectError(() => ops.dense(zeros([]), zeros([4, 3])), ShapeError, "argument 'x'", 'rank >= 1');
    expectError(() => ops.dense(zeros([2, 4]), zeros([4, 3]), { bias: zeros([4]) }), ShapeError, "argument 'bias' must have shape [3]", 'got [4]');
    expectError(() => ops.dense(zeros([2, 4]), zeros([4, 3]), { activation: 'tanh' as 'relu' }), ValueError, "argument 'activation'", 'tanh');
  });

  it('softmaxCrossEntropy: label range, label shapes, logits rank, reduction', () => {
    const logits = zeros([4, 3]);
    expectError(
      () => ops.softmaxCrossEntropy(logits, int32([0, 1, 3, 2])), ValueError,
      "softmaxCrossEntropy: argument 'labels' has 3 at index 2, outside [0, 3) for 'logits' [4,3] with 3 classes",
    );
    expectError(() => ops.softmaxCrossEntropy(logits, int32([0, -1, 1, 2])), ValueError, 'has -1 at index 1');
    expectError(() => ops.softmaxCrossEntropy(logits, int32([0, 1, 2])), ShapeError, "int32 argument 'labels' must have shape [4]", 'got [3]');
    expectError(() => ops.softmaxCrossEntropy(logits, zeros([4])), ShapeError, "float32 argument 'labels' must have the shape of 'logits' [4,3]", 'class indices must be int32');
    expectError(() => ops.softmaxCrossEntropy(zeros([4]), int32([0])), ShapeError, "argument 'logits'", 'rank 2');
    expectError(() => ops.softmaxCrossEntropy(logits, int32([0, 1, 2, 0]), { reduction: 'avg' as 'mean' }), ValueError, "argument 'reduction'", 'avg');
    expectError(() => ops.softmaxCrossEntropyBackward(zeros([4]), logits, int32([0, 1, 2, 0])), ShapeError, "argument 'dloss' must have shape [] for reduction 'mean'", 'got [4]');
    expectError(() => ops.softmaxCrossEntropyBackward(zeros([4]), logits, int32([0, 1, 2, 9]), { reduction: 'none' }), ValueError, 'has 9 at index 3');
  });

  it('dropout: rate in [0, 1), finite; seed; training type', () => {
    const xd = zeros([10]);
    expectError(() => ops.dropout(xd, { rate: 1 }), ValueError, "dropout: argument 'rate' must be in [0, 1), got 1");
    expectError(() => ops.dropout(xd, { rate: -0.1 }), ValueError, "argument 'rate'", '-0.1');
    expectError(() => ops.dropout(xd, { rate: NaN }), ValueError, "argument 'rate' must be a finite number, got NaN");
    expectError(() => ops.dropout(xd, {} as never), ValueError, "argument 'rate' is required");
    expectError(() => ops.dropout(xd, { rate: 0.5, seed: -1 }), ValueError, "dropout: argument 'seed'", '-1');
    expectError(() => ops.dropout(xd, { rate: 0.5, seed: 1.5, training: false }), ValueError, "argument 'seed'", '1.5');
    expectError(() => ops.dropoutWithMask(xd, { rate: 0.5, training: 0 as unknown as boolean }), ValueError, "dropoutWithMask: argument 'training'");
    expectError(() => ops.dropout(new Tensor(new Int32Array(10), [10]), { rate: 0.5 }), DTypeError, "argument 'x'", 'int32');
  });
});

describe('shape helpers', () => {
  it('validate like the ops', () => {
    expectError(() => ops.convOutputShape([5, 5], 3, 1), ShapeError, 'convOutputShape:', "'inputShape'", '[H, W, C] or [N, H, W, C]');
    expectError(() => ops.convOutputShape([5, 5, 3], 7, 1), ShapeError, 'convOutputShape: the kernel [7,7] spans 7 rows');
    expectError(() => ops.poolOutputShape([5, 5, 3], 2, { padding: [[2, 0], [0, 0]] }), ValueError, 'poolOutputShape:', 'smaller than the pool size 2');
    expectError(() => ops.convOutputLength(7, 3, { stride: 0 }), ValueError, "convOutputLength: argument 'stride'");
    expectError(() => ops.convTransposeOutputShape([4, 4, 8], 3, 2, { strides: 2, outputPadding: 3 }), ValueError, "'outputPadding'");
    expectError(() => ops.convTransposeOutputLength(4, 3, { stride: 2, outputPadding: 2 }), ValueError, 'convTransposeOutputLength:', "'outputPadding'", 'smaller than the strides');
  });

  it('the ops namespace exports every documented member', () => {
    for (const name of [
      'conv2d', 'conv1d', 'depthwiseConv2d', 'separableConv2d', 'conv2dTranspose', 'conv2dBackpropInput', 'conv2dBackpropFilter',
      'maxPool2d', 'avgPool2d', 'globalAvgPool2d', 'globalMaxPool2d', 'maxPool2dBackward', 'avgPool2dBackward', 'globalPool2dBackward',
      'batchNorm', 'batchNormBackward', 'dense', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'dropout', 'dropoutWithMask',
      'convOutputShape', 'poolOutputShape', 'convTransposeOutputShape', 'convOutputLength', 'convTransposeOutputLength', 'samePads',
    ]) {
      if (typeof anyOps[name] !== 'function') throw new Error(`ops.${name} is missing`);
    }
  });
});
