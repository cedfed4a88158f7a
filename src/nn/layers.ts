/**
 * Layer factories with Keras/TF.js names: `layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' })`.
 * Each returns a new layer instance; the classes are exported from src/nn/index.ts for instanceof checks and
 * subclassing.
 */
import { Activation, type ActivationArgs, ELU, type ELUArgs, LeakyReLU, type LeakyReLUArgs, Maxout, type MaxoutArgs, ReLU, type ReLUArgs, Softmax, type SoftmaxArgs } from './activation-layers.js';
import {
  Conv1D, type Conv1DArgs, Conv2D, type Conv2DArgs, Conv2DTranspose, type Conv2DTransposeArgs, DepthwiseConv2D, type DepthwiseConv2DArgs,
  SeparableConv2D, type SeparableConv2DArgs,
} from './conv.js';
import { Dense, type DenseArgs } from './dense.js';
import { Cropping1D, type Cropping1DArgs, Cropping2D, type Cropping2DArgs } from './cropping.js';
import { Dropout, type DropoutArgs, SpatialDropout1D, SpatialDropout2D } from './dropout.js';
import { InputLayer, type InputArgs } from './input.js';
import type { LayerArgs } from './layer.js';
import { Add, Average, Concatenate, type ConcatenateArgs, Maximum, Minimum, Multiply, Subtract } from './merge.js';
import { BatchNormalization, type BatchNormalizationArgs } from './normalization.js';
import {
  AveragePooling2D, GlobalAveragePooling2D, type GlobalPooling2DArgs, GlobalMaxPooling2D, MaxPooling2D, type Pooling2DArgs,
} from './pooling.js';
import {
  CenterCrop, type CenterCropArgs, Normalization, type NormalizationArgs, Rescaling, type RescalingArgs, Resizing, type ResizingArgs,
} from './preprocessing.js';
import {
  GaussianNoise, type GaussianNoiseArgs, RandomBrightness, type RandomBrightnessArgs, RandomContrast, type RandomContrastArgs, RandomCrop,
  type RandomCropArgs, RandomFlip, type RandomFlipArgs, RandomRotation, type RandomRotationArgs, RandomShear, type RandomShearArgs,
  RandomTranslation, type RandomTranslationArgs, RandomZoom, type RandomZoomArgs,
} from './augmentation.js';
import { Flatten, Reshape, type ReshapeArgs, ZeroPadding2D, type ZeroPadding2DArgs } from './reshaping.js';
import { UpSampling2D, type UpSampling2DArgs } from './upsampling.js';

export const dense = (args: DenseArgs): Dense => new Dense(args);
export const conv1d = (args: Conv1DArgs): Conv1D => new Conv1D(args);
export const conv2d = (args: Conv2DArgs): Conv2D => new Conv2D(args);
export const conv2dTranspose = (args: Conv2DTransposeArgs): Conv2DTranspose => new Conv2DTranspose(args);
export const depthwiseConv2d = (args: DepthwiseConv2DArgs): DepthwiseConv2D => new DepthwiseConv2D(args);
export const separableConv2d = (args: SeparableConv2DArgs): SeparableConv2D => new SeparableConv2D(args);
export const maxPooling2d = (args: Pooling2DArgs = {}): MaxPooling2D => new MaxPooling2D(args);
export const averagePooling2d = (args: Pooling2DArgs = {}): AveragePooling2D => new AveragePooling2D(args);
export const globalAveragePooling2d = (args: GlobalPooling2DArgs = {}): GlobalAveragePooling2D => new GlobalAveragePooling2D(args);
export const globalMaxPooling2d = (args: GlobalPooling2DArgs = {}): GlobalMaxPooling2D => new GlobalMaxPooling2D(args);
export const batchNormalization = (args: BatchNormalizationArgs = {}): BatchNormalization => new BatchNormalization(args);
export const dropout = (args: DropoutArgs): Dropout => new Dropout(args);
/** Dropout of whole channels of [N, T, C] (noise shape [N, 1, C]). */
export const spatialDropout1d = (args: DropoutArgs): SpatialDropout1D => new SpatialDropout1D(args);
/** Dropout of whole feature maps of [N, H, W, C] (noise shape [N, 1, 1, C]). */
export const spatialDropout2d = (args: DropoutArgs): SpatialDropout2D => new SpatialDropout2D(args);
export const flatten = (args: LayerArgs = {}): Flatten => new Flatten(args);
export const reshape = (args: ReshapeArgs): Reshape => new Reshape(args);
export const zeroPadding2d = (args: ZeroPadding2DArgs = {}): ZeroPadding2D => new ZeroPadding2D(args);
export const cropping1d = (args: Cropping1DArgs = {}): Cropping1D => new Cropping1D(args);
export const cropping2d = (args: Cropping2DArgs = {}): Cropping2D => new Cropping2D(args);
export const upSampling2d = (args: UpSampling2DArgs = {}): UpSampling2D => new UpSampling2D(args);
export const rescaling = (args: RescalingArgs): Rescaling => new Rescaling(args);
export const activation = (args: ActivationArgs): Activation => new Activation(args);
export const relu = (args: ReLUArgs = {}): ReLU => new ReLU(args);
export const leakyRelu = (args: LeakyReLUArgs = {}): LeakyReLU => new LeakyReLU(args);
export const elu = (args: ELUArgs = {}): ELU => new ELU(args);
export const softmax = (args: SoftmaxArgs = {}): Softmax => new Softmax(args);
export const maxout = (args: MaxoutArgs): Maxout => new Maxout(args);
/** An Activation layer running sigmoid. */
export const sigmoid = (args: LayerArgs = {}): Activation => new Activation({ ...args, activation: 'sigmoid' });
/** An Activation layer running tanh. */
export const tanh = (args: LayerArgs = {}): Activation => new Activation({ ...args, activation: 'tanh' });
export const add = (args: LayerArgs = {}): Add => new Add(args);
export const multiply = (args: LayerArgs = {}): Multiply => new Multiply(args);
/** inputs[0] - inputs[1] (exactly two inputs). */
export const subtract = (args: LayerArgs = {}): Subtract => new Subtract(args);
export const average = (args: LayerArgs = {}): Average => new Average(args);
export const maximum = (args: LayerArgs = {}): Maximum => new Maximum(args);
export const minimum = (args: LayerArgs = {}): Minimum => new Minimum(args);
export const concatenate = (args: ConcatenateArgs = {}): Concatenate => new Concatenate(args);
/** The InputLayer itself (most code wants input(), which returns its symbolic tensor). */
export const inputLayer = (args: InputArgs): InputLayer => new InputLayer(args);
export const normalization = (args: NormalizationArgs = {}): Normalization => new Normalization(args);
export const resizing = (args: ResizingArgs): Resizing => new Resizing(args);
export const centerCrop = (args: CenterCropArgs): CenterCrop => new CenterCrop(args);
export const randomFlip = (args: RandomFlipArgs = {}): RandomFlip => new RandomFlip(args);
export const randomRotation = (args: RandomRotationArgs): RandomRotation => new RandomRotation(args);
export const randomZoom = (args: RandomZoomArgs): RandomZoom => new RandomZoom(args);
export const randomTranslation = (args: RandomTranslationArgs): RandomTranslation => new RandomTranslation(args);
export const randomShear = (args: RandomShearArgs = {}): RandomShear => new RandomShear(args);
export const randomCrop = (args: RandomCropArgs): RandomCrop => new RandomCrop(args);
export const randomContrast = (args: RandomContrastArgs): RandomContrast => new RandomContrast(args);
export const randomBrightness = (args: RandomBrightnessArgs): RandomBrightness => new RandomBrightness(args);
export const gaussianNoise = (args: GaussianNoiseArgs): GaussianNoise => new GaussianNoise(args);
