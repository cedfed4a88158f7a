/**
 * Filter visualisation by gradient ascent in input space (Deep Learning with Python 2nd ed., ch. 9, "Visualizing
 * convnet filters"; Erhan et al. 2009): starting from a grey or slightly noisy image, repeatedly move the image
 * along the gradient of the mean activation of one filter of one layer, the gradient normalised to unit L2 norm
 * (tf.math.l2_normalize: g / sqrt(max(sum g^2, 1e-12))), so the step length is the learning rate whatever the
 * scale of the activations. The result is the pattern that filter responds to most.
 *
 * As in the book: the loss ignores the activation's 2-pixel border (filters at the edges see zero padding and
 * would draw artefacts there), when the map is larger than 4x4; the final image is deprocessed for display
 * (centred, divided by its standard deviation, times 64 plus 128, clipped to bytes) and its border cropped
 * (an eighth of the side by default: the book's 25 pixels of 200), where the pattern is weakest.
 *
 * A ReLU filter that is zero over the whole start image has a zero gradient: the ascent then starts again from
 * noise over the whole input range (up to 3 times); a filter silent on all of them is reported (`silent`) and
 * drawn as a flat grey cell rather than as the untouched noise.
 *
 * Only the layers up to the target run: the ascent uses `model.intermediate(layerName)`. The layer may also be a
 * dense layer (rank-2 output): then the "filter" is one unit and its activation is maximised.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { enableGrad } from '../autograd/tape.js';
import { gradients } from '../autograd/engine.js';
import { uniform } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Model } from '../nn/model.js';
import type { RawImage } from './png.js';
import {
  type VisImage, checkKeys, describe, finish, intOption, meanStd, numberOption, pathOption, rangeOption, standardizedBytes, tileGrid,
  upscaleNearest,
} from './raster.js';

export interface VisualizeFilterOptions {
  /** Input height and width (one number: square). Default: the model's input size, or 128 when it is not fixed. */
  size?: number | readonly [number, number];
  /** Gradient ascent steps (default 30, the book's). */
  steps?: number;
  /** Step length in input units along the normalised gradient (default 10, the book's). */
  learningRate?: number;
  /** Seed of the noise start (default: the global generator, see manualSeed). */
  seed?: number;
  /** 'noise' (default: uniform in the middle fifth of `range`, the book's 0.4-0.6) or 'grey' (its midpoint). */
  start?: 'grey' | 'noise';
  /** The range of input values the model expects (default [0, 1]); sets the start image. */
  range?: readonly [number, number];
  /** Pixels of the activation's border the loss ignores (default 2 when the map is larger than 4x4, else 0). */
  border?: number;
  /** Pixels cropped from each side of the deprocessed image (default floor(min(H, W) / 8)). */
  crop?: number;
  /** Integer upscaling (nearest) of the written picture (default 1). */
  scale?: number;
  /** Write the PNG here. */
  path?: string;
}

/** The deprocessed pattern, plus the raw optimised input and the loss before each step and after the last. */
export interface FilterVisualization extends VisImage {
  /** The optimised input [1, H, W, C], before deprocessing. */
  input: Tensor;
  /** Mean activation of the filter at the start of each step, then after the last step (steps + 1 values). */
  losses: number[];
  /** The filter stayed zero with a zero gradient on every start tried: the picture is flat grey. */
  silent: boolean;
  /** How many times the ascent started again from wider noise because the filter was silent. */
  restarts: number;
}

const KEYS = ['size', 'steps', 'learningRate', 'seed', 'start', 'range', 'border', 'crop', 'scale', 'path'];

/** What the ascent needs, from filterAscent. */
export interface Ascent {
  extractor: Model;
  /** Output rank of the layer: 4 (a feature map) or 2 (units). */
  rank: number;
  units: number;
  height: number;
  width: number;
  channels: number;
  border: number;
}

/** The extractor model (inputs to the layer's output) and the input geometry, checked. */
export function filterAscent(op: string, model: unknown, layerName: unknown, size: unknown, border: unknown): Ascent {
  if (!(model instanceof Model)) throw new ValueError(`${op}: argument 'model' must be a Model (sequential() or model()), got ${describe(model)}`);
  if (typeof layerName !== 'string') throw new ValueError(`${op}: argument 'layerName' must be a layer name (string), got ${describe(layerName)}`);
  if (model.inputs.length !== 1) {
    throw new ValueError(`${op}: needs a built model with one input; ${model.who} has ${model.inputs.length} (give it an inputShape)`);
  }
  const extractor = model.intermediate(layerName);
  const outs = extractor.outputs;
  if (outs.length !== 1) throw new ValueError(`${op}: layer '${layerName}' has ${outs.length} outputs; pick a layer with one`);
  const outShape = outs[0].shape;
  if (outShape.length !== 4 && outShape.length !== 2) {
    throw new ShapeError(`${op}: layer '${layerName}' has output shape ${fmtShape(outShape.map((d) => d ?? -1))}; filter visualisation needs a 4-D [N, H, W, C] feature map (or [N, units])`);
  }
  const inShape = model.inputs[0].shape;
  if (inShape.length !== 4) throw new ShapeError(`${op}: the model's input must be images [N, H, W, C], got ${fmtShape(inShape.map((d) => d ?? -1))}`);
  const channels = inShape[3];
  if (channels === null) throw new ShapeError(`${op}: the model's input channels must be known`);
  let height = inShape[1] ?? 128;
  let width = inShape[2] ?? 128;
  if (size !== undefined) {
    const hw = typeof size === 'number' ? [size, size] : size;
    if (!Array.isArray(hw) || hw.length !== 2 || !hw.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ValueError(`${op}: option 'size' must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
    }
    if ((inShape[1] !== null && inShape[1] !== hw[0]) || (inShape[2] !== null && inShape[2] !== hw[1])) {
      throw new ValueError(`${op}: option 'size' ${JSON.stringify(size)} does not fit the model's input ${fmtShape(inShape.map((d) => d ?? -1))}`);
    }
    [height, width] = hw as [number, number];
  }
  // The feature map's size for this input size (null batch aside).
  const mapShape = extractor.computeOutputShape([null, height, width, channels]) as (number | null)[];
  const units = mapShape[mapShape.length - 1] ?? 0;
  let b = 0;
  if (outShape.length === 4) {
    const mh = mapShape[1] ?? 0, mw = mapShape[2] ?? 0;
    b = intOption(op, 'border', border, mh > 4 && mw > 4 ? 2 : 0, 0);
    if (2 * b >= mh || 2 * b >= mw) throw new ValueError(`${op}: option 'border' = ${b} leaves nothing of the ${mh}x${mw} feature map of '${layerName}'`);
  } else if (border !== undefined) {
    intOption(op, 'border', border, 0, 0);
  }
  return { extractor, rank: outShape.length, units, height, width, channels, border: b };
}

function checkFilter(op: string, a: Ascent, layerName: string, filterIndex: unknown): number {
  if (!Number.isInteger(filterIndex) || (filterIndex as number) < 0 || (filterIndex as number) >= a.units) {
    throw new ValueError(`${op}: filterIndex ${JSON.stringify(filterIndex)} is out of range; layer '${layerName}' has ${a.units} ${a.rank === 4 ? 'filters' : 'units'} (0-${a.units - 1})`);
  }
  return filterIndex as number;
}

/** The loss: mean activation of filter f away from the border (or unit f), for the one image x [1, H, W, C]. */
export function filterLoss(a: Ascent, x: Tensor, f: number): Tensor {
  const [y] = a.extractor.execute(x, { training: false });
  if (a.rank === 2) return y.slice([0, f], [1, 1]).sum();
  const [, h, w] = y.shape;
  const b = a.border;
  return y.slice([0, b, b, f], [1, h - 2 * b, w - 2 * b, 1]).mean();
}

/** The loss at x and its gradient with respect to x (un-normalised). */
export function filterLossAndGradient(a: Ascent, x: Tensor, f: number): { loss: number; grad: Tensor } {
  const leaf = x.detach().requireGrad();
  const loss = enableGrad(() => filterLoss(a, leaf, f));
  const value = loss.item();
  if (!loss.requiresGrad) return { loss: value, grad: new Tensor(new Float32Array(x.size), x.shape) };
  const [grad] = gradients(loss, [leaf]);
  return { loss: value, grad };
}

interface Resolved {
  steps: number;
  learningRate: number;
  start: 'grey' | 'noise';
  range: [number, number];
  crop: number;
  scale: number;
}

function resolve(op: string, options: VisualizeFilterOptions, a: Ascent): Resolved {
  const start = options.start ?? 'noise';
  if (start !== 'grey' && start !== 'noise') throw new ValueError(`${op}: option 'start' must be 'grey' or 'noise', got ${JSON.stringify(start)}`);
  const crop = intOption(op, 'crop', options.crop, Math.floor(Math.min(a.height, a.width) / 8), 0);
  if (2 * crop >= a.height || 2 * crop >= a.width) throw new ValueError(`${op}: option 'crop' = ${crop} leaves nothing of a ${a.height}x${a.width} image`);
  if (options.seed !== undefined && (!Number.isSafeInteger(options.seed) || options.seed < 0)) {
    throw new ValueError(`${op}: option 'seed' must be a non-negative integer, got ${JSON.stringify(options.seed)}`);
  }
  return {
    steps: intOption(op, 'steps', options.steps, 30, 0),
    learningRate: numberOption(op, 'learningRate', options.learningRate, 10, (v) => v > 0, 'a positive number'),
    start,
    range: rangeOption(op, 'range', options.range) ?? [0, 1],
    crop,
    scale: intOption(op, 'scale', options.scale, 1, 1, 64),
  };
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Further starts tried, from noise over the whole range, when the filter is silent on the start image. */
const RESTARTS = 3;

interface AscentResult {
  cell: RawImage;
  input: Tensor;
  losses: number[];
  silent: boolean;
  restarts: number;
}

/** Runs the ascent for filter f and deprocesses the result. */
async function ascend(a: Ascent, f: number, r: Resolved, gen: Generator | undefined): Promise<AscentResult> {
  const shape = [1, a.height, a.width, a.channels];
  const [lo, hi] = r.range;
  const draw = (from: number, to: number): Tensor => uniform(shape, lo + (hi - lo) * from, lo + (hi - lo) * to, gen ? { seed: gen } : {});
  let x = r.start === 'grey' ? new Tensor(new Float32Array(a.height * a.width * a.channels).fill(lo + (hi - lo) * 0.5), shape) : draw(0.4, 0.6);
  let current = filterLossAndGradient(a, x, f);
  // A ReLU filter that is zero over the whole start image has a zero gradient and would never move (showing the
  // start as its "pattern"): start again from noise over the whole range, a few times.
  let restarts = 0;
  while (sumSquares(current.grad) === 0 && restarts < RESTARTS) {
    restarts++;
    x = draw(0, 1);
    current = filterLossAndGradient(a, x, f);
  }
  if (sumSquares(current.grad) === 0) {
    // Silent: no input direction changes this filter here. Its cell is flat mid-grey (no pattern), not noise.
    const cell = deprocess(x, r.crop);
    cell.data.fill(128);
    return { cell, input: x, losses: new Array(r.steps + 1).fill(current.loss), silent: true, restarts };
  }
  const losses: number[] = [];
  for (let step = 0; step < r.steps; step++) {
    if (step > 0) current = filterLossAndGradient(a, x, f);
    losses.push(current.loss);
    const g = current.grad.data;
    const k = r.learningRate / Math.sqrt(Math.max(sumSquares(current.grad), 1e-12));
    const next = new Float32Array(x.size);
    const xd = x.data;
    for (let i = 0; i < next.length; i++) next[i] = xd[i] + k * g[i];
    current.grad.dispose();
    x = new Tensor(next, shape);
    // Long ascents (a grid of 64 filters) leave the event loop free between steps.
    await yieldToLoop();
  }
  losses.push(r.steps > 0 ? filterLossAndGradient(a, x, f).loss : current.loss);
  return { cell: deprocess(x, r.crop), input: x, losses, silent: false, restarts };
}

function sumSquares(t: Tensor): number {
  const g = t.data;
  let ss = 0;
  for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  return ss;
}

/** The book's deprocess_image: standardise the whole image, * 64 + 128, clip to bytes, crop `crop` pixels per side. */
export function deprocess(x: Tensor, crop: number): RawImage {
  const [, h, w, c] = x.shape;
  const { mean, std } = meanStd(x.data);
  const bytes = standardizedBytes(x.data, mean, std);
  const ch = h - 2 * crop, cw = w - 2 * crop;
  const out = new Uint8Array(ch * cw * c);
  for (let y = 0; y < ch; y++) out.set(bytes.subarray(((y + crop) * w + crop) * c, ((y + crop) * w + crop + cw) * c), y * cw * c);
  // Two channels would read as grey + alpha: show the first as grey.
  if (c === 1 || c === 3 || c === 4) return { width: cw, height: ch, channels: c, data: out };
  const grey = new Uint8Array(ch * cw);
  for (let i = 0; i < grey.length; i++) grey[i] = out[i * c];
  return { width: cw, height: ch, channels: 1, data: grey };
}

/**
 * The input pattern that maximises the mean activation of filter `filterIndex` of layer `layerName`, by gradient
 * ascent from a noisy (or grey) image; deprocessed for display, written to `path` when given.
 */
export async function visualizeFilter(model: Model, layerName: string, filterIndex: number, options: VisualizeFilterOptions = {}): Promise<FilterVisualization> {
  const op = 'visualizeFilter';
  checkKeys(op, options, KEYS);
  const a = filterAscent(op, model, layerName, options.size, options.border);
  const f = checkFilter(op, a, layerName, filterIndex);
  const r = resolve(op, options, a);
  const path = pathOption(op, options.path);
  const { cell, input, losses, silent, restarts } = await ascend(a, f, r, options.seed === undefined ? undefined : new Generator(options.seed));
  return { ...finish(upscaleNearest(cell, r.scale), path), input, losses, silent, restarts };
}

export interface FilterGridOptions extends VisualizeFilterOptions {
  /** How many filters, from the first (default: all, at most 64). */
  count?: number;
  /** Which filters, by index (instead of count). */
  filters?: readonly number[];
  /** Cells per row (default ceil(sqrt(n))). */
  columns?: number;
  /** Pixels between cells (default max(1, round(cell side / 30)); the book's 5 for 150-pixel cells). */
  padding?: number;
  /** Grey level of the gaps (default 0, black, as the book's grid). */
  background?: number;
  /** Called after each filter with (done, total): long grids report progress. */
  onProgress?: (done: number, total: number) => void;
}

/** A grid of the patterns of several filters, plus each filter's losses. */
export interface FilterGrid extends VisImage {
  filters: number[];
  losses: number[][];
  /** Per filter: silent on every start tried (a flat grey cell). */
  silent: boolean[];
}

/**
 * Visualises the first `count` filters (or `filters`) of a layer and tiles them into one PNG (the book's 8x8 grid
 * of block3_sepconv1's first 64 filters). With `seed`, filter f's starts are drawn with seed + f, so
 * visualizeFilter(model, layerName, f, { ...options, seed: seed + f }) reproduces its cell.
 */
export async function filterGrid(model: Model, layerName: string, options: FilterGridOptions = {}): Promise<FilterGrid> {
  const op = 'filterGrid';
  checkKeys(op, options, [...KEYS, 'count', 'filters', 'columns', 'padding', 'background', 'onProgress']);
  const a = filterAscent(op, model, layerName, options.size, options.border);
  const r = resolve(op, options, a);
  const path = pathOption(op, options.path);
  let filters: number[];
  if (options.filters !== undefined) {
    if (options.count !== undefined) throw new ValueError(`${op}: give 'count' or 'filters', not both`);
    if (!Array.isArray(options.filters) || options.filters.length === 0) throw new ValueError(`${op}: option 'filters' must be a non-empty list of filter indices, got ${JSON.stringify(options.filters)}`);
    filters = options.filters.map((f) => checkFilter(op, a, layerName, f));
  } else {
    const n = intOption(op, 'count', options.count, Math.min(a.units, 64), 1);
    if (n > a.units) throw new ValueError(`${op}: option 'count' = ${n} but layer '${layerName}' has ${a.units} ${a.rank === 4 ? 'filters' : 'units'}`);
    filters = Array.from({ length: n }, (_, i) => i);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ValueError(`${op}: option 'onProgress' must be a function`);
  const columns = intOption(op, 'columns', options.columns, Math.ceil(Math.sqrt(filters.length)), 1);
  const cellSide = (Math.min(a.height, a.width) - 2 * r.crop) * r.scale;
  const padding = intOption(op, 'padding', options.padding, Math.max(1, Math.round(cellSide / 30)), 0, 1024);
  const background = intOption(op, 'background', options.background, 0, 0, 255);
  const cells: RawImage[] = [];
  const losses: number[][] = [];
  const silent: boolean[] = [];
  for (const f of filters) {
    const res = await ascend(a, f, r, options.seed === undefined ? undefined : new Generator(options.seed + f));
    cells.push(upscaleNearest(res.cell, r.scale));
    losses.push(res.losses);
    silent.push(res.silent);
    options.onProgress?.(cells.length, filters.length);
  }
  return { ...finish(tileGrid(cells, columns, padding, background), path), filters, losses, silent };
}
