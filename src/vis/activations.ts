/**
 * activationGrid: every channel of one example's feature map as a small picture, tiled into a grid (the Keras
 * book's "visualizing intermediate activations", Deep Learning with Python 2nd ed., ch. 9). Get the feature map
 * from `model.intermediate(layerName)` (or a functional model whose outputs are inner layers) and pass it here.
 *
 * Each channel is shown as the book does: standardised, times 64, plus 128, clipped to [0, 255]; 'per-channel'
 * (default) uses each channel's own mean and deviation, so faint channels stay visible; 'global' uses one mean
 * and deviation over the channels shown, so their brightness can be compared. A constant channel (a dead ReLU
 * unit on this input) is black.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ColormapName, applyColormap, colormapTable } from './colormap.js';
import type { RawImage } from './png.js';
import {
  type VisImage, checkKeys, featureMapOf, finish, intOption, meanStd, pathOption, standardizedBytes, tileGrid, upscaleNearest,
} from './raster.js';

export interface ActivationGridOptions {
  /** Write the PNG here (atomically; parent folders are created). Default: only return it. */
  path?: string;
  /** Cells per row; default ceil(sqrt(n)), at most 16 (the book's images_per_row). */
  columns?: number;
  /** Which channels: the first N, or a list of indices. Default all. */
  channels?: number | readonly number[];
  /** 'per-channel' (default) or 'global' statistics for the standardisation. */
  normalize?: 'per-channel' | 'global';
  /** Integer upscaling of each cell (nearest neighbour), default 1. */
  scale?: number;
  /** Pixels between cells (default 1). */
  padding?: number;
  /** Grey level of the gaps between cells, 0-255 (default 255, white). */
  background?: number;
  /** 'gray' (default: a greyscale PNG), 'viridis' or 'jet' (an RGB PNG). */
  colormap?: ColormapName;
}

const KEYS = ['path', 'columns', 'channels', 'normalize', 'scale', 'padding', 'background', 'colormap'];

function channelList(op: string, v: unknown, c: number): number[] {
  if (v === undefined) return Array.from({ length: c }, (_, i) => i);
  if (typeof v === 'number') {
    const n = intOption(op, 'channels', v, c, 1, c);
    return Array.from({ length: n }, (_, i) => i);
  }
  if (!Array.isArray(v) || v.length === 0) throw new ValueError(`${op}: option 'channels' must be a count or a non-empty list of channel indices, got ${JSON.stringify(v)}`);
  for (const k of v) {
    if (!Number.isInteger(k) || k < 0 || k >= c) throw new ValueError(`${op}: channel index ${JSON.stringify(k)} is out of range; the feature map has ${c} channels (0-${c - 1})`);
  }
  return [...v];
}

/** Writes (with `path`) and returns a PNG grid of the channels of a feature map [H, W, C] or [1, H, W, C]. */
export function activationGrid(featureMap: Tensor, options: ActivationGridOptions = {}): VisImage {
  const op = 'activationGrid';
  checkKeys(op, options, KEYS);
  const fm = featureMapOf(op, 'featureMap', featureMap);
  const path = pathOption(op, options.path);
  const chans = channelList(op, options.channels, fm.channels);
  const normalize = options.normalize ?? 'per-channel';
  if (normalize !== 'per-channel' && normalize !== 'global') {
    throw new ValueError(`${op}: option 'normalize' must be 'per-channel' or 'global', got ${JSON.stringify(normalize)}`);
  }
  const columns = intOption(op, 'columns', options.columns, Math.min(16, Math.ceil(Math.sqrt(chans.length))), 1);
  const scale = intOption(op, 'scale', options.scale, 1, 1, 64);
  const padding = intOption(op, 'padding', options.padding, 1, 0, 1024);
  const background = intOption(op, 'background', options.background, 255, 0, 255);
  const colormap = options.colormap ?? 'gray';
  const table = colormapTable(op, colormap);

  const { height, width, channels: c, data } = fm;
  const px = height * width;
  const planes = chans.map((k) => {
    const plane = new Float64Array(px);
    for (let i = 0; i < px; i++) plane[i] = data[i * c + k];
    return plane;
  });
  let global: { mean: number; std: number } | null = null;
  if (normalize === 'global') {
    const all = new Float64Array(px * planes.length);
    planes.forEach((p, i) => all.set(p, i * px));
    global = meanStd(all);
  }
  const cells: RawImage[] = planes.map((plane) => {
    const { mean, std } = global ?? meanStd(plane);
    const levels = standardizedBytes(plane, mean, std);
    const cell: RawImage = colormap === 'gray'
      ? { width, height, channels: 1, data: levels }
      : { width, height, channels: 3, data: applyColormap(levels, table) };
    return upscaleNearest(cell, scale);
  });
  return finish(tileGrid(cells, columns, padding, background), path);
}
