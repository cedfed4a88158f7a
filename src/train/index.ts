/**
 * Training (Keras names): compile / fit / evaluate / predict, losses, metrics, callbacks and progress output.
 * nn's Model methods delegate here; any object implementing TrainableModel (contract.ts) can be trained.
 */
export type { TrainableModel, ApplyOptions } from './contract.js';

export { compile, Compiled } from './compile.js';
export type { CompileConfig, Head, LossIdentifier, MetricIdentifier } from './compile.js';

export { fit, evaluate, predict, predictOutputs, NonFiniteLossError } from './fit.js';
export type { FitOptions, EvaluateOptions, PredictOptions, ValidationData, ClassWeight } from './fit.js';

export type { DataSource, BatchLike, BatchObject, BatchTuple, Inputs } from './data.js';

export {
  Loss, FunctionLoss, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError,
  categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError, meanAbsoluteError,
  sigmoidCrossEntropyWithLogits, getLoss, EPSILON,
} from './losses.js';
export type { LossReduction, LossOptions, CrossEntropyOptions, LossFn } from './losses.js';

export {
  Metric, Mean, MeanMetricWrapper, FunctionMetric, Accuracy, CategoricalAccuracy, SparseCategoricalAccuracy, BinaryAccuracy,
  TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredErrorMetric, MeanAbsoluteErrorMetric,
  Precision, Recall, F1Score, AUC, ConfusionMatrix,
  accuracy, categoricalAccuracy, sparseCategoricalAccuracy, binaryAccuracy, topKCategoricalAccuracy, sparseTopKCategoricalAccuracy,
  precision, recall, f1Score, auc, confusionMatrix, getMetric, inferAccuracyKind,
} from './metrics.js';
export type { MetricFn, AccuracyKind, Average, ClassificationMetricOptions, AUCOptions, ConfusionMatrixOptions } from './metrics.js';

export {
  Callback, CallbackList, History, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger, LambdaCallback,
  getWeights, setWeights, formatFilepath,
} from './callbacks.js';
export type {
  Logs, TrainingParams, MonitorMode, EarlyStoppingOptions, ModelCheckpointOptions, ReduceLROnPlateauOptions, CSVLoggerOptions,
  LambdaCallbackHooks,
} from './callbacks.js';

export { ProgressLogger, formatValue, formatLogs, formatBar, formatEta, formatPerStep } from './progress.js';
export type { ProgressStream, ProgressOptions } from './progress.js';
