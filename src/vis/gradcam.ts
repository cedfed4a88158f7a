/**
 * Grad-CAM (Selvaraju et al., 2017; Deep Learning with Python 2nd ed., ch. 9; the Keras example "Grad-CAM class
 * activation visualization"): where in the image the evidence for a class lies.
 *
 * For an image and a class c, with A [h, w, K] the output of a convolutional layer (by default the last layer
 * whose output is 4-D) and y_c the class score:
 *   alpha_k = mean over (i, j) of dy_c / dA[i, j, k]      (channel weights: global average of the gradients)
 *   cam     = relu(sum_k alpha_k A[:, :, k])             (only evidence for the class, not against it)
 * normalised by its maximum to [0, 1] (all zeros when nothing is positive), then bilinearly upsampled to the
 * image size (tf.image.resize's half-pixel convention).
 *
 * The class score: Grad-CAM differentiates the score before the softmax, as the paper does (y_c "before the
 * softmax"): a probability's gradient mixes in every other class (dp_c = p_c (dz_c - sum_j p_j dz_j)) and
 * vanishes when the prediction saturates near 1, which is exactly the confident case one wants to explain. So
 * when the model ends in softmax (or sigmoid) - a Dense layer with that activation, or an Activation/Softmax
 * layer - the score is that layer's pre-activation, the logit: the Dense layer's x @ kernel + bias is
 * recomputed with its own weights, or the Activation layer's input is taken. Otherwise the model's output is
 * the score as it is. The default class is the argmax of the score (the predicted class).
 *
 * For a network conv -> global average pooling -> linear dense, Grad-CAM equals CAM (Zhou et al., 2016):
 * dy_c/dA[i,j,k] = W[k,c] / (h w), so the map is relu(sum_k W[k,c] A_k), normalised (test/vis checks this).
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { enableGrad } from '../autograd/tape.js';
import { gradients } from '../autograd/engine.js';
import { dense } from '../ops/dense.js';
import { Tensor } from '../tensor/tensor.js';
import { Model } from '../nn/model.js';
import { Dense } from '../nn/dense.js';
import { InputLayer } from '../nn/input.js';
import { Activation, Softmax } from '../nn/activation-layers.js';
import { type SymbolicTensor, readWeight } from '../nn/layer.js';
import { resizeImages } from '../nn/image-sampling.js';
import { type ColormapName, colormapTable } from './colormap.js';
import type { RawImage } from './png.js';
import {
  type VisImage, checkKeys, clampByte, describe, featureMapOf, finish, intOption, numberOption, pathOption, rangeOption, upscaleNearest,
} from './raster.js';

export interface GradCamOptions {
  /** The class to explain (default: the predicted class, argmax of the score). */
  classIndex?: number;
  /** The convolutional layer (default: the last layer whose output is 4-D [N, H, W, C]). */
  layerName?: string;
  /** Upsample the map bilinearly to the image size (default true); false returns it at the layer's resolution. */
  upsample?: boolean;
}

/** The layer whose output Grad-CAM weighs by default: the last one (in graph order) with a 4-D output. */
export function lastConvLayerName(model: Model): string | null {
  const layers = model.layers;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l instanceof InputLayer) continue;
    let out: SymbolicTensor[];
    try {
      out = model.intermediate(l.name).outputs;
    } catch {
      continue; // a shared layer: its output is ambiguous
    }
    if (out.length === 1 && out[0].rank === 4) return l.name;
  }
  return null;
}

/** Where the class score comes from: a symbolic tensor of the model, and the head that maps it to the scores. */
interface ScoreSource {
  tensor: SymbolicTensor;
  head: (t: Tensor) => Tensor;
}

function scoreSource(model: Model): ScoreSource {
  const out = model.outputs[0];
  const node = out.node;
  const last = node.layer;
  const squashing = (name: string): boolean => name === 'softmax' || name === 'sigmoid';
  if (last instanceof Dense && squashing(last.activation)) {
    // The logits: the dense layer without its activation, with its own weights.
    return {
      tensor: node.inputs[0],
      head: (h) => dense(h, readWeight(last.kernel!), last.bias ? { bias: readWeight(last.bias) } : {}),
    };
  }
  if (last instanceof Softmax || (last instanceof Activation && squashing(last.activation))) {
    return { tensor: node.inputs[0], head: (t) => t };
  }
  return { tensor: out, head: (t) => t };
}

const KEYS = ['classIndex', 'layerName', 'upsample'];

/**
 * The Grad-CAM heatmap of `image` ([H, W, C] or [1, H, W, C], as the model takes it) for a class: a Tensor
 * [H, W] in [0, 1] (or [h, w] at the layer's resolution with upsample: false).
 */
export function gradCam(model: Model, image: Tensor, options: GradCamOptions = {}): Tensor {
  const op = 'gradCam';
  checkKeys(op, options, KEYS);
  if (!(model instanceof Model)) throw new ValueError(`${op}: argument 'model' must be a Model (sequential() or model()), got ${describe(model)}`);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ValueError(`${op}: needs a built model with one input and one output; ${model.who} has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const outShape = model.outputs[0].shape;
  if (outShape.length !== 2) {
    throw new ShapeError(`${op}: the model's output must be class scores [N, classes], got ${fmtShape(outShape.map((d) => d ?? -1))}`);
  }
  const fm = featureMapOf(op, 'image', image);
  const x = new Tensor(image.dtype === 'float32' ? (image.data as Float32Array) : Float32Array.from(image.data), [1, fm.height, fm.width, fm.channels]);
  const upsample = options.upsample ?? true;
  if (typeof upsample !== 'boolean') throw new ValueError(`${op}: option 'upsample' must be a boolean, got ${JSON.stringify(upsample)}`);

  let layerName = options.layerName;
  if (layerName === undefined) {
    layerName = lastConvLayerName(model) ?? undefined;
    if (layerName === undefined) throw new ShapeError(`${op}: ${model.who} has no layer with a 4-D output [N, H, W, C] to take the activations of`);
  } else if (typeof layerName !== 'string') {
    throw new ValueError(`${op}: option 'layerName' must be a layer name (string), got ${describe(layerName)}`);
  }
  const feats = model.intermediate(layerName).outputs;
  if (feats.length !== 1 || feats[0].rank !== 4) {
    const shapes = feats.map((t) => fmtShape(t.shape.map((d) => d ?? -1))).join(', ');
    throw new ShapeError(`${op}: layer '${layerName}' has output shape ${shapes}; Grad-CAM needs a layer with one 4-D output [N, H, W, C] (a convolution or pooling layer)`);
  }

  const source = scoreSource(model);
  const sub = new Model({ inputs: model.inputs, outputs: [feats[0], source.tensor] });
  // The input requires grad so that the tape records through frozen layers too.
  const leaf = x.detach().requireGrad();
  const { a, scores } = enableGrad(() => {
    const [a, s] = sub.execute(leaf, { training: false });
    return { a, scores: source.head(s) };
  });
  const classes = scores.shape[1];
  let c: number;
  if (options.classIndex === undefined) {
    const row = scores.data;
    c = 0;
    for (let j = 1; j < classes; j++) if (row[j] > row[c]) c = j;
  } else {
    c = options.classIndex;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new ValueError(`${op}: classIndex ${JSON.stringify(options.classIndex)} is out of range; the model has ${classes} classes (0-${classes - 1})`);
    }
  }
  const score = scores.slice([0, c], [1, 1]).sum();
  const [, h, w, k] = a.shape;
  const cam = new Float32Array(h * w);
  if (score.requiresGrad) {
    const [da] = gradients(score, [a]);
    const ad = a.data, gd = da.data;
    const alpha = new Float64Array(k);
    for (let i = 0; i < h * w; i++) for (let q = 0; q < k; q++) alpha[q] += gd[i * k + q];
    for (let q = 0; q < k; q++) alpha[q] /= h * w;
    let max = 0;
    const sums = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += alpha[q] * ad[i * k + q];
      sums[i] = s > 0 ? s : 0;
      if (sums[i] > max) max = sums[i];
    }
    if (max > 0) for (let i = 0; i < h * w; i++) cam[i] = sums[i] / max;
  }
  const map = new Tensor(cam, [h, w]);
  if (!upsample || (h === fm.height && w === fm.width)) return map;
  return resizeImages(map.reshape([1, h, w, 1]), [fm.height, fm.width], { interpolation: 'bilinear' }).reshape([fm.height, fm.width]);
}

export interface GradCamOverlayOptions {
  /** Write the PNG here. */
  path?: string;
  /** Weight of the heatmap's colour in the blend (default 0.4, the Keras example's): (1 - alpha) image + alpha colour. */
  alpha?: number;
  /** Colormap of the heatmap (default 'jet'). */
  colormap?: ColormapName;
  /** Integer upscaling of the image (nearest, so pixels stay visible); the heatmap is resized bilinearly. Default 1. */
  scale?: number;
  /**
   * The image's value range, mapped to 0-255. Default: [0, 1] when every value lies in it, else [0, 255] when every
   * value lies in that, else the image's own min and max.
   */
  valueRange?: readonly [number, number];
}

const OVERLAY_KEYS = ['path', 'alpha', 'colormap', 'scale', 'valueRange'];

/** The image as RGB bytes (grey repeated, alpha dropped). */
function imageBytes(op: string, image: Tensor, valueRange: [number, number] | undefined): RawImage {
  const fm = featureMapOf(op, 'image', image);
  const { height, width, channels, data } = fm;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new ShapeError(`${op}: argument 'image' must have 1, 3 or 4 channels, got ${fmtShape(image.shape)}`);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  const [a, b] = valueRange ?? (lo >= 0 && hi <= 1 ? [0, 1] : lo >= 0 && hi <= 255 ? [0, 255] : hi > lo ? [lo, hi] : [lo, lo + 1]);
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) {
    for (let q = 0; q < 3; q++) {
      const v = data[i * channels + (channels === 1 ? 0 : q)];
      out[i * 3 + q] = clampByte(((v - a) / (b - a)) * 255);
    }
  }
  return { width, height, channels: 3, data: out };
}

/** A heatmap argument as [h, w] values: rank 2, or with axes of length 1 around it. */
function heatmapOf(op: string, heatmap: unknown): Tensor {
  if (!(heatmap instanceof Tensor)) throw new ValueError(`${op}: argument 'heatmap' must be a Tensor [H, W] (from gradCam), got ${describe(heatmap)}`);
  let core = heatmap.shape;
  if (core.length === 4 && core[0] === 1 && core[3] === 1) core = [core[1], core[2]];
  else if (core.length === 3 && core[0] === 1) core = [core[1], core[2]];
  else if (core.length === 3 && core[2] === 1) core = [core[0], core[1]];
  if (core.length !== 2 || heatmap.size === 0) throw new ShapeError(`${op}: argument 'heatmap' must have shape [H, W] (or [1, H, W, 1]), got ${fmtShape(heatmap.shape)}`);
  return heatmap.reshape(core);
}

/**
 * Writes (with `path`) and returns the heatmap, coloured by a colormap, blended over the image: RGB, the image's
 * size times `scale`.
 */
export function gradCamOverlay(image: Tensor, heatmap: Tensor, options: GradCamOverlayOptions = {}): VisImage {
  const op = 'gradCamOverlay';
  checkKeys(op, options, OVERLAY_KEYS);
  const path = pathOption(op, options.path);
  const alpha = numberOption(op, 'alpha', options.alpha, 0.4, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  const table = colormapTable(op, options.colormap ?? 'jet');
  const scale = intOption(op, 'scale', options.scale, 1, 1, 64);
  const base = upscaleNearest(imageBytes(op, image, rangeOption(op, 'valueRange', options.valueRange)), scale);
  let heat = heatmapOf(op, heatmap);
  const [hh, hw] = heat.shape;
  if (hh !== base.height || hw !== base.width) {
    const src = new Tensor(heat.dtype === 'float32' ? (heat.data as Float32Array) : Float32Array.from(heat.data), [1, hh, hw, 1]);
    heat = resizeImages(src, [base.height, base.width], { interpolation: 'bilinear' }).reshape([base.height, base.width]);
  }
  const hd = heat.data;
  const out = new Uint8Array(base.data.length);
  for (let i = 0; i < base.width * base.height; i++) {
    const v = hd[i];
    const level = 3 * clampByte((Number.isNaN(v) ? 0 : v) * 255);
    for (let q = 0; q < 3; q++) out[3 * i + q] = clampByte((1 - alpha) * base.data[3 * i + q] + alpha * table[level + q]);
  }
  return finish({ width: base.width, height: base.height, channels: 3, data: out }, path);
}
