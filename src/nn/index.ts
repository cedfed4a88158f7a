/**
 * nn: Keras-style layers and models. `layers.*` are the layer factories, `sequential` and `model` (with `input`)
 * the two ways to build models, `initializers` and `regularizers` the weight options, and
 * `layerFromConfig` / `modelFromConfig` rebuild architectures from their JSON configs (save/load).
 */
export * as layers from './layers.js';
export * as initializers from './initializers.js';
export * as regularizers from './regularizers.js';
export { Layer, SymbolicTensor, Node, layerFromConfig, registerLayer, clearSession, withWeights } from './layer.js';
export type { CallOptions, LayerArgs, LayerConfig, InputSpec, JsonValue } from './layer.js';
export { Model, model, modelFromConfig } from './model.js';
export type { ModelArgs, SummaryOptions } from './model.js';
export { Sequential, sequential } from './sequential.js';
export type { SequentialArgs } from './sequential.js';
export { input, InputLayer } from './input.js';
export type { InputArgs } from './input.js';
export { Variable } from './variable.js';
export { Dense } from './dense.js';
export type { DenseArgs } from './dense.js';
export { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from './conv.js';
export type { Conv1DArgs, Conv2DArgs, Conv2DTransposeArgs, DepthwiseConv2DArgs, SeparableConv2DArgs } from './conv.js';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D } from './pooling.js';
export type { Pooling2DArgs, GlobalPooling2DArgs } from './pooling.js';
export { BatchNormalization } from './normalization.js';
export type { BatchNormalizationArgs } from './normalization.js';
export { Dropout, SpatialDropout1D, SpatialDropout2D } from './dropout.js';
export type { DropoutArgs } from './dropout.js';
export { Flatten, Reshape, ZeroPadding2D } from './reshaping.js';
export type { ReshapeArgs, ZeroPadding2DArgs } from './reshaping.js';
export { Cropping1D, Cropping2D } from './cropping.js';
export type { Cropping1DArgs, Cropping2DArgs } from './cropping.js';
export { UpSampling2D } from './upsampling.js';
export type { UpSampling2DArgs, UpSamplingInterpolation } from './upsampling.js';
export { Rescaling } from './preprocessing.js';
export type { RescalingArgs } from './preprocessing.js';
export { Activation, ReLU, LeakyReLU, ELU, Softmax, Maxout } from './activation-layers.js';
export type { ActivationArgs, ReLUArgs, LeakyReLUArgs, ELUArgs, SoftmaxArgs, MaxoutArgs } from './activation-layers.js';
export { Add, Multiply, Subtract, Average, Maximum, Minimum, Concatenate } from './merge.js';
export type { ConcatenateArgs } from './merge.js';
export { Initializer } from './initializers.js';
export type { InitializerIdentifier, InitializerConfig } from './initializers.js';
export { Regularizer } from './regularizers.js';
export type { RegularizerIdentifier, RegularizerConfig } from './regularizers.js';
export type { Shape } from './shapes.js';
export { Normalization, Resizing, CenterCrop, ImageLayer } from './preprocessing.js';
export type { NormalizationArgs, ResizingArgs, CenterCropArgs, AdaptData, AdaptElement } from './preprocessing.js';
export {
  RandomImageLayer, RandomAffineLayer, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear, RandomCrop, RandomContrast,
  RandomBrightness, GaussianNoise,
} from './augmentation.js';
export type {
  Factor, FlipMode, RandomLayerArgs, RandomAffineArgs, RandomFlipArgs, RandomRotationArgs, RandomZoomArgs, RandomTranslationArgs,
  RandomShearArgs, RandomCropArgs, RandomContrastArgs, RandomBrightnessArgs, GaussianNoiseArgs,
} from './augmentation.js';
export { affineTransform, resizeImages, flipImages, cropImages } from './image-sampling.js';
export type { FillMode, Interpolation, AffineTransformOptions, ResizeOptions } from './image-sampling.js';
