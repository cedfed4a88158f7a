/**
 * Semantic segmentation: a small U-Net (Ronneberger et al. 2015) and the mean IoU metric.
 *
 * `unet()`: an encoder of [conv 3x3 + ReLU] x2 blocks, each followed by max pool 2; a bottleneck block; a decoder
 * that upsamples with Conv2DTranspose (2x2, stride 2), concatenates the encoder block of the same size (the skip
 * connection) and runs another [conv 3x3 + ReLU] x2 block; a 1x1 conv to one channel per class. Every conv pads
 * 'same', so the mask comes out at the input's height and width: images [N, H, W, C] in, per-pixel class
 * probabilities [N, H, W, classes] out (H and W divisible by 2^depth). Defaults: 128x128x3, filters [16, 32, 64]
 * (three poolings, 128 in the bottleneck), 3 classes -- 482,067 parameters.
 *
 * Training on masks: give integer masks [N, H, W] (or [N, H, W, 1]) with class ids as targets and the per-pixel
 * loss 'sparseCategoricalCrossentropy' -- the losses take any rank and average over every pixel:
 *
 *   const m = unet({ inputShape: [128, 128, 3], classes: 3 });
 *   m.compile({ optimizer: 'rmsprop', loss: 'sparseCategoricalCrossentropy', metrics: [new MeanIoU({ numClasses: 3 })] });
 *   await m.fit(images, masks, { epochs: 10, batchSize: 16 });
 *   const probs = await m.predict(images);      // [N, H, W, 3]; probs.argmax(-1) is the predicted mask [N, H, W]
 *
 * For a binary mask, `classes: 1` with `classifierActivation: 'sigmoid'` and 'binaryCrossentropy' on float
 * masks [N, H, W, 1] works the same way.
 */
import { ShapeError, ValueError } from '../errors.js';
import * as layers from '../nn/layers.js';
import type { SymbolicTensor } from '../nn/layer.js';
import { Model } from '../nn/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { Metric } from '../train/metrics.js';
import { type ApplicationOptions, modelInput, resolveOptions } from './common.js';

export interface UNetOptions extends Omit<ApplicationOptions, 'includeTop' | 'pooling'> {
  /** Filters of the encoder blocks, shallowest first; the bottleneck has twice the last. Default [16, 32, 64]. */
  filters?: readonly number[];
}

export function unet(options: UNetOptions = {}): Model {
  const r = resolveOptions('unet', options, { inputShape: [128, 128, 3], classes: 3, name: 'unet' }, ['filters']);
  for (const k of ['includeTop', 'pooling']) if (k in options) throw new ValueError(`unet: option '${k}' does not apply to a segmentation model`);
  const filters = [...(options.filters ?? [16, 32, 64])];
  if (filters.length < 1 || !filters.every((f) => Number.isInteger(f) && f > 0)) {
    throw new ValueError(`unet: filters must be a non-empty list of positive integers, got ${JSON.stringify(options.filters)}`);
  }
  const step = 2 ** filters.length;
  if (r.inputShape[0] % step !== 0 || r.inputShape[1] % step !== 0) {
    throw new ValueError(`unet: height and width must be divisible by ${step} (2^${filters.length} poolings), got ${JSON.stringify(r.inputShape)}`);
  }
  const block = (x: SymbolicTensor, f: number, name: string): SymbolicTensor => {
    x = layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', name: `${name}_conv1`, ...r.kinit }).apply(x);
    return layers.conv2d({ filters: f, kernelSize: 3, padding: 'same', activation: 'relu', name: `${name}_conv2`, ...r.kinit }).apply(x);
  };
  const inp = modelInput(r);
  let x = inp;
  const skips: SymbolicTensor[] = [];
  filters.forEach((f, i) => {
    x = block(x, f, `enc${i + 1}`);
    skips.push(x);
    x = layers.maxPooling2d({ poolSize: 2, name: `enc${i + 1}_pool` }).apply(x);
  });
  x = block(x, 2 * filters[filters.length - 1], 'bottleneck');
  for (let i = filters.length - 1; i >= 0; i--) {
    x = layers.conv2dTranspose({ filters: filters[i], kernelSize: 2, strides: 2, padding: 'same', name: `dec${i + 1}_up`, ...r.kinit }).apply(x);
    x = layers.concatenate({ name: `dec${i + 1}_concat` }).apply([x, skips[i]]);
    x = block(x, filters[i], `dec${i + 1}`);
  }
  const out = layers.conv2d({ filters: r.classes, kernelSize: 1, activation: r.classifierActivation, name: 'mask', ...r.kinit }).apply(x);
  return new Model({ inputs: inp, outputs: out, name: r.name });
}

// --------------------------------------------------------------------------------------------------
// Mean IoU

/** Class ids per pixel from yTrue: [N, H, W] or [N, H, W, 1] (any rank with a trailing 1 squeezed). */
function labelsOf(yTrue: Tensor): { ids: ArrayLike<number>; shape: readonly number[] } {
  const shape = yTrue.rank > 1 && yTrue.shape[yTrue.rank - 1] === 1 ? yTrue.shape.slice(0, -1) : yTrue.shape;
  return { ids: yTrue.data, shape };
}

/**
 * Predicted class ids per pixel: argmax over the last axis when yPred has one more axis (or a trailing axis of
 * numClasses where yTrue has a trailing 1), a 0.5 threshold for one sigmoid channel, or yPred itself when it
 * already holds class ids of yTrue's shape.
 */
function predictedIds(op: string, yPred: Tensor, want: readonly number[], numClasses: number): ArrayLike<number> {
  const p = yPred.shape;
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  const data = yPred.data;
  if (p.length === want.length + 1 && same(p.slice(0, -1), want)) {
    const c = p[p.length - 1];
    const n = data.length / c;
    const out = new Int32Array(n);
    if (c === 1) {
      for (let i = 0; i < n; i++) out[i] = data[i] > 0.5 ? 1 : 0;
      return out;
    }
    if (c !== numClasses) throw new ShapeError(`${op}: yPred has ${c} channels but numClasses is ${numClasses}`);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bv = data[i * c];
      for (let j = 1; j < c; j++) if (data[i * c + j] > bv) { bv = data[i * c + j]; best = j; }
      out[i] = best;
    }
    return out;
  }
  if (same(p, want)) return data;
  throw new ShapeError(`${op}: yPred of shape [${p.join(', ')}] does not match masks of shape [${want.join(', ')}] (give class probabilities [..., numClasses] or class ids)`);
}

/** Adds one batch to a numClasses x numClasses confusion matrix (rows: true, columns: predicted). */
function accumulate(op: string, cm: Float64Array, numClasses: number, yTrue: Tensor, yPred: Tensor): void {
  const { ids, shape } = labelsOf(yTrue);
  const pred = predictedIds(op, yPred, shape, numClasses);
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i];
    const q = pred[i];
    if (!Number.isInteger(t) || t < 0 || t >= numClasses) throw new ValueError(`${op}: mask value ${t} is not a class id in [0, ${numClasses})`);
    if (!Number.isInteger(q) || q < 0 || q >= numClasses) throw new ValueError(`${op}: predicted value ${q} is not a class id in [0, ${numClasses})`);
    cm[t * numClasses + q] += 1;
  }
}

/** Keras' MeanIoU: IoU = TP / (TP + FP + FN) per class, averaged over the classes present in truth or prediction. */
function meanFromConfusion(cm: Float64Array, numClasses: number): number {
  let sum = 0;
  let count = 0;
  for (let c = 0; c < numClasses; c++) {
    let row = 0;
    let col = 0;
    for (let j = 0; j < numClasses; j++) {
      row += cm[c * numClasses + j];
      col += cm[j * numClasses + c];
    }
    const tp = cm[c * numClasses + c];
    const denom = row + col - tp;
    if (denom > 0) {
      sum += tp / denom;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

function checkClasses(op: string, numClasses: unknown): number {
  if (!Number.isInteger(numClasses) || (numClasses as number) < 2) throw new ValueError(`${op}: numClasses must be an integer >= 2, got ${JSON.stringify(numClasses)}`);
  return numClasses as number;
}

/**
 * Mean intersection over union of one batch of masks: yTrue class ids [N, H, W] (or [N, H, W, 1]), yPred class
 * probabilities [N, H, W, numClasses] (argmax taken), one sigmoid channel [N, H, W, 1] (0.5 threshold), or class
 * ids of yTrue's shape. Classes absent from both are left out of the mean (Keras).
 */
export function meanIoU(yTrue: Tensor, yPred: Tensor, numClasses: number): number {
  const n = checkClasses('meanIoU', numClasses);
  const cm = new Float64Array(n * n);
  accumulate('meanIoU', cm, n, yTrue, yPred);
  return meanFromConfusion(cm, n);
}

/** The running mean IoU over every batch since the last reset (a confusion matrix is accumulated), for compile(). */
export class MeanIoU extends Metric {
  readonly name: string;
  readonly numClasses: number;
  private cm: Float64Array;
  constructor(options: { numClasses: number; name?: string }) {
    super();
    this.numClasses = checkClasses('MeanIoU', options?.numClasses);
    this.name = options.name ?? 'mean_io_u';
    this.cm = new Float64Array(this.numClasses * this.numClasses);
  }
  update(yTrue: Tensor, yPred: Tensor, sampleWeight?: Tensor | null): void {
    if (sampleWeight) throw new ValueError(`${this.name}: sample weights are not supported`);
    accumulate(this.name, this.cm, this.numClasses, yTrue, yPred);
  }
  result(): number {
    return meanFromConfusion(this.cm, this.numClasses);
  }
  reset(): void {
    this.cm.fill(0);
  }
  /** The confusion matrix so far (rows: true class, columns: predicted). */
  confusionMatrix(): number[][] {
    return Array.from({ length: this.numClasses }, (_, i) => Array.from(this.cm.subarray(i * this.numClasses, (i + 1) * this.numClasses)));
  }
}
