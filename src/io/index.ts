/**
 * Files: safetensors, crash-safe writes and checkpoint directories, saving and loading models and weights.
 */
export { FileFormatError, WeightsMismatchError } from './errors.js';
export type { ShapeMismatch } from './errors.js';
export {
  SAFETENSORS_DTYPES,
  MAX_HEADER_BYTES,
  DATA_SHA256_KEY,
  SafetensorsFile,
  parseSafetensors,
  readSafetensors,
  readSafetensorsSync,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsSync,
  isSafetensorsDType,
  dtypeBytes,
} from './safetensors.js';
export type { SerializeOptions, SafetensorsDType, SafetensorsArray, RawTensor, TensorEntry, TensorMap, TensorInfo } from './safetensors.js';
export {
  MANIFEST_NAME,
  writeFileAtomic,
  writeFileAtomicSync,
  writeCheckpoint,
  readCheckpoint,
  readCheckpointManifest,
} from './atomic.js';
export type { CheckpointManifest, ManifestEntry, CheckpointWriteOptions, LoadedCheckpoint } from './atomic.js';
export {
  NODEGRAD_VERSION,
  MODEL_FILE,
  WEIGHTS_FILE,
  OPTIMIZER_FILE,
  saveModel,
  loadModel,
  saveWeights,
  loadWeights,
  applyWeights,
  parseModelFile,
} from './model.js';
export type {
  CompiledLike,
  TrainingConfig,
  SaveableModel,
  LoadableModel,
  SaveModelOptions,
  LoadModelOptions,
  LoadWeightsOptions,
  LoadWeightsResult,
  ModelFile,
  JsonObject,
} from './model.js';
export { importTorchWeights, importTorchWeightsSync } from './import/torch.js';
export type { ImportTorchOptions, ImportTorchReport, TorchTensorEntry, TorchWeightsSource } from './import/torch.js';
export * from './onnx/index.js';
export { importKerasWeights } from './import/keras.js';
export type { ImportKerasOptions, KerasImportResult } from './import/keras.js';
