/**
 * nodegrad: train and run convolutional networks on the server, from TypeScript.
 *
 * Tensors and their maths are top-level functions (and Tensor methods); the network kernels
 * (convolution, pooling, batch norm, dense, losses, dropout) live in the `ops` namespace.
 */
export { Tensor } from './tensor/tensor.js';
export type { TensorData, TensorOrScalar } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export type { Nested } from './tensor/format.js';
export * from './tensor/creation.js';
export * from './tensor/manipulation.js';
export * from './tensor/elementwise.js';
export * from './tensor/reduction.js';
export * from './tensor/linalg.js';
export * from './tensor/softmax.js';
export { scope, keep } from './tensor/scope.js';
export { poolStats, setPoolLimit, emptyPool } from './backends/storage.js';
export type { PoolStats } from './backends/storage.js';
export { Generator, manualSeed, getDefaultGenerator } from './tensor/random.js';
export type { SeedLike } from './tensor/random.js';

export * as ops from './ops/index.js';

export { noGrad, enableGrad, isGradEnabled, backward, gradients, valueAndGrad, zeroGrad } from './autograd/index.js';
export type { BackwardOptions } from './autograd/index.js';
export * as optimizers from './optim/index.js';

export {
  layers, sequential, input, model, Model, Sequential, Layer, SymbolicTensor, InputLayer, Variable, initializers, regularizers,
  modelFromConfig, layerFromConfig, registerLayer, clearSession, withWeights,
} from './nn/index.js';
export type {
  LayerArgs, LayerConfig, CallOptions, ModelArgs, SequentialArgs, InputArgs, SummaryOptions, InitializerIdentifier, RegularizerIdentifier,
} from './nn/index.js';

export * as losses from './train/losses.js';
export * as metrics from './train/metrics.js';
export * as callbacks from './train/callbacks.js';
export {
  compile, fit, evaluate, predict, predictOutputs, Compiled, NonFiniteLossError, Loss, Metric,
  Callback, History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger, LambdaCallback, ProgressLogger,
} from './train/index.js';
export type { TrainableModel, CompileConfig, FitOptions, EvaluateOptions, PredictOptions, DataSource, Logs } from './train/index.js';

export {
  saveModel, loadModel, saveWeights, loadWeights, FileFormatError, WeightsMismatchError, importTorchWeights, importKerasWeights,
  exportOnnx, OnnxExportError,
} from './io/index.js';
export type { ExportOnnxOptions, ImportKerasOptions, KerasImportResult } from './io/index.js';
export * as io from './io/index.js';

export { getBackend, setBackend, withBackend } from './backends/registry.js';
export type { BackendName } from './backends/registry.js';
export type * from './backends/backend.js';
export { referenceBackend } from './backends/reference/index.js';
export { nativeInfo, getNumThreads, setNumThreads } from './backends/native/index.js';
export { loadCuda, cudaAvailable, cudaUnavailableMessage, warnCudaUnavailable } from './backends/cuda/index.js';
export type { CudaLoad, CudaDeviceInfo } from './backends/cuda/index.js';
export type { Device } from './backends/cuda/device-storage.js';
export { cudaFallbacks } from './backends/cuda/tensor-backend.js';

export { NodegradError, ShapeError, ValueError, DTypeError, DeviceError } from './errors.js';

export {
  Dataset, AUTOTUNE, datasets, readIdx, loadIdxDataset, readCifar10Batch, readCifar100Batch, downloadFile, DataFormatError, DownloadError,
  imageDatasetFromDirectory, ImageFolderDataset, loadImage, ImageDecodeError,
} from './data/index.js';
export * as data from './data/index.js';

export * as models from './models/index.js';
export * as vis from './vis/index.js';
export { MeanIoU, meanIoU } from './models/index.js';
