/**
 * nodegrad's data pipelines: the Dataset (tf.data's names), readers for IDX (MNIST-format) files and CIFAR binary
 * batches, the standard datasets (`datasets.fashionMnist()`, `mnist()`, `cifar10()`) and verified downloads.
 */
export { Dataset, AUTOTUNE, RELEASE_BATCH, releaseElement, isKept } from './dataset.js';
export type { Batched, Unbatched, Sliced, MapOptions, BatchOptions, ShuffleOptions, SourceOptions } from './dataset.js';
export { readIdx, parseIdx, parseIdxHeader, encodeIdx, loadIdxDataset, readMaybeGzip, isGzip } from './idx.js';
export type { IdxType, IdxOptions, IdxHeader, IdxDatasetOptions } from './idx.js';
export { readCifar10Batch, readCifar100Batch, parseCifar10Batch, encodeCifarBatch } from './cifar.js';
export type { CifarOptions, Cifar100Options, CifarBatch, Cifar100Batch } from './cifar.js';
export { downloadFile, sha256File } from './download.js';
export type { DownloadOptions } from './download.js';
export { DataFormatError, DownloadError } from './errors.js';
export * as datasets from './datasets.js';
export type { LoadedDataset, LoadOptions, FashionMnistOptions, Split } from './datasets.js';
export { imageDatasetFromDirectory, ImageFolderDataset } from './image-folder.js';
export type { ImageDatasetOptions, LabeledImageBatch, LabelMode } from './image-folder.js';
export { loadImage, ImageDecodeError } from './image.js';
export type { ColorMode, Interpolation } from './image.js';
