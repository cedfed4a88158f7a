/**
 * Keras preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop, and the base class of the image layers
 * (the random augmentation layers in augmentation.ts build on it).
 *
 * - Rescaling: y = x * scale + offset, e.g. scale 1/255 to bring pixels into [0, 1] or scale 1/127.5 with offset -1
 *   for [-1, 1]. No weights; the output has the input's shape.
 * - Normalization: y = (x - mean) / max(sqrt(variance), 1e-7) per channel (Keras' epsilon), with mean and variance
 *   given, or computed by `adapt(data)` (then kept in two non-trainable weights, 'mean' and 'variance', so they are
 *   saved with the model). `invert: true` undoes it.
 * - Resizing: to [height, width], 'bilinear' or 'nearest' as tf.image.resize (see image-sampling.ts), optionally
 *   cropping the largest centred window of the target aspect ratio first (cropToAspectRatio).
 * - CenterCrop: the centred height x width window; an input smaller than that on either axis is resized instead
 *   (cropped to the target aspect ratio, then bilinear), as Keras.
 *
 * Image layers take [N, H, W, C] or one image [H, W, C] (channels last), any dtype: int32 pixels become float32;
 * float64 stays float64 (the reference checks). They apply in training and in inference alike (the random layers
 * override that), and the gradient flows through them to their input.
 */
import { DTypeError, ShapeError, ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/tape.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, readWeight, registerLayer } from './layer.js';
import { zeros, ones } from './initializers.js';
import { boolOption } from './options.js';
import { type Interpolation, INTERPOLATIONS, resizeImages } from './image-sampling.js';
import { type Shape, fmtShape } from './shapes.js';
import type { Variable } from './variable.js';

export interface RescalingArgs extends LayerArgs {
  scale: number;
  /** Default 0. */
  offset?: number;
}

export class Rescaling extends Layer {
  static override readonly className: string = 'Rescaling';
  readonly scale: number;
  readonly offset: number;
  constructor(args: RescalingArgs) {
    super(args);
    this.checkArgs(args, ['scale', 'offset']);
    for (const k of ['scale', 'offset'] as const) {
      const v = args[k] ?? (k === 'offset' ? 0 : undefined);
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`${this.who}: option '${k}' must be a finite number, got ${JSON.stringify(args[k])}`);
    }
    this.scale = args.scale;
    this.offset = args.offset ?? 0;
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const input = this.single(inputs);
    // Pixels often arrive as int32: the output is float whatever the scale.
    const x = input.dtype === 'int32' ? input.cast('float32') : input;
    const y = this.scale === 1 ? x : x.mul(this.scale);
    return this.offset === 0 ? y : y.add(this.offset);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}
registerLayer(Rescaling);

// --- option helpers shared with augmentation.ts ---------------------------------------------------

/** A positive integer option (a target height or width). */
export function sizeOption(who: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ValueError(`${who}: option '${name}' must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** A string option that must be one of `allowed`. */
export function choiceOption<T extends string>(who: string, name: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw new ValueError(`${who}: unknown ${name} ${JSON.stringify(v)}; expected one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return v as T;
}

/** A finite number option. */
export function numberOption(who: string, name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`${who}: option '${name}' must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** An optional seed: a non-negative safe integer or null. */
export function seedOption(who: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValueError(`${who}: option 'seed' must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

// --- the base of image layers ------------------------------------------------------------------------

/**
 * A layer on images [N, H, W, C] or [H, W, C]: checks the rank, casts int32 to float32, adds and removes the batch
 * axis of a single image, and leaves the work to `transform` on a float batch [N, H, W, C].
 */
export abstract class ImageLayer extends Layer {
  constructor(args: LayerArgs) {
    super(args);
    this.inputSpec = { minNdim: 3, layout: '[N, H, W, C] or [H, W, C]' };
  }

  /** The output's [height, width] for an input's (null where unknown); the default keeps them. */
  protected outputImageSize(h: number | null, w: number | null): [number | null, number | null] {
    return [h, w];
  }

  protected checkImageRank(shape: readonly (number | null)[]): void {
    if (shape.length !== 3 && shape.length !== 4) {
      throw new ShapeError(`${this.who}: the input must have rank 4 [N, H, W, C] or 3 [H, W, C], got shape ${fmtShape(shape)}`);
    }
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    this.checkImageRank(s);
    const r = s.length;
    const [h, w] = this.outputImageSize(s[r - 3], s[r - 2]);
    return [...s.slice(0, r - 3), h, w, s[r - 1]];
  }

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor {
    const input = this.single(inputs);
    this.checkImageRank(input.shape);
    const x = input.dtype === 'int32' ? input.cast('float32') : input;
    if (x.rank === 4) return this.transform(x, opts.training ?? false);
    const y = this.transform(x.reshape([1, ...x.shape]), opts.training ?? false);
    return y.reshape(y.shape.slice(1));
  }

  /** The layer's work on a float batch [N, H, W, C]. */
  protected abstract transform(x: Tensor, training: boolean): Tensor;
}

// --- Resizing ------------------------------------------------------------------------------------

export interface ResizingArgs extends LayerArgs {
  height: number;
  width: number;
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: Interpolation;
  /** Crop the largest centred window with the target aspect ratio before resizing, so nothing is stretched. Default false. */
  cropToAspectRatio?: boolean;
}

export class Resizing extends ImageLayer {
  static override readonly className: string = 'Resizing';
  readonly height: number;
  readonly width: number;
  readonly interpolation: Interpolation;
  readonly cropToAspectRatio: boolean;

  constructor(args: ResizingArgs) {
    super(args);
    this.checkArgs(args, ['height', 'width', 'interpolation', 'cropToAspectRatio']);
    this.height = sizeOption(this.who, 'height', args.height);
    this.width = sizeOption(this.who, 'width', args.width);
    this.interpolation = choiceOption(this.who, 'interpolation', args.interpolation, INTERPOLATIONS, 'bilinear');
    this.cropToAspectRatio = boolOption(this.who, 'cropToAspectRatio', args.cropToAspectRatio, false);
  }

  protected override outputImageSize(): [number, number] {
    return [this.height, this.width];
  }

  protected override transform(x: Tensor): Tensor {
    return resizeImages(x, [this.height, this.width], { interpolation: this.interpolation, cropToAspectRatio: this.cropToAspectRatio });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), height: this.height, width: this.width, interpolation: this.interpolation, cropToAspectRatio: this.cropToAspectRatio };
  }
}
registerLayer(Resizing);

// --- CenterCrop ----------------------------------------------------------------------------------

export interface CenterCropArgs extends LayerArgs {
  height: number;
  width: number;
}

/**
 * The centred window: rows from floor((H - height) / 2), columns from floor((W - width) / 2). An input smaller than
 * the window on either axis is resized to it instead (largest centred window of the target aspect ratio, bilinear),
 * as Keras' CenterCrop.
 */
export class CenterCrop extends ImageLayer {
  static override readonly className: string = 'CenterCrop';
  readonly height: number;
  readonly width: number;

  constructor(args: CenterCropArgs) {
    super(args);
    this.checkArgs(args, ['height', 'width']);
    this.height = sizeOption(this.who, 'height', args.height);
    this.width = sizeOption(this.who, 'width', args.width);
  }

  protected override outputImageSize(): [number, number] {
    return [this.height, this.width];
  }

  protected override transform(x: Tensor): Tensor {
    return centerCropOrResize(x, this.height, this.width);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}
registerLayer(CenterCrop);

/** CenterCrop's computation, shared with RandomCrop in inference. */
export function centerCropOrResize(x: Tensor, height: number, width: number): Tensor {
  const [n, h, w, c] = x.shape;
  if (h < height || w < width) return resizeImages(x, [height, width], { cropToAspectRatio: true });
  if (h === height && w === width) return x;
  return x.slice([0, Math.floor((h - height) / 2), Math.floor((w - width) / 2), 0], [n, height, width, c]);
}

// --- Normalization -------------------------------------------------------------------------------

export interface NormalizationArgs extends LayerArgs {
  /** -1 (default): one mean and variance per channel (the last axis); null: one for all values. */
  axis?: -1 | null;
  /** The mean (a number, or one per channel); give it with `variance`, or leave both out and call adapt(). */
  mean?: number | readonly number[] | null;
  /** The variance (a number, or one per channel). */
  variance?: number | readonly number[] | null;
  /** Apply the inverse, x * sqrt(variance) + mean (e.g. to map predictions back). Default false. */
  invert?: boolean;
}

/** What adapt() accepts: a Tensor, or batches of one (Tensor, [x, y] or { x }), sync or async. */
export type AdaptElement = Tensor | readonly [Tensor, ...unknown[]] | { readonly x: Tensor };
export type AdaptData = Tensor | Iterable<AdaptElement>;

/** Keras' backend epsilon: the smallest standard deviation Normalization divides by. */
const EPSILON = 1e-7;

/** Running per-channel count, mean and sum of squared deviations (Chan et al.'s parallel combination), in float64. */
class Moments {
  count = 0;
  mean: Float64Array;
  m2: Float64Array;
  constructor(readonly channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }
  /** Adds the values of `data` (channel = index % channels). */
  add(data: ArrayLike<number>): void {
    const c = this.channels;
    const nb = data.length / c;
    if (nb === 0) return;
    const bm = new Float64Array(c), bm2 = new Float64Array(c);
    for (let i = 0; i < data.length; i += c) for (let k = 0; k < c; k++) bm[k] += data[i + k];
    for (let k = 0; k < c; k++) bm[k] /= nb;
    for (let i = 0; i < data.length; i += c) {
      for (let k = 0; k < c; k++) {
        const d = data[i + k] - bm[k];
        bm2[k] += d * d;
      }
    }
    const n = this.count + nb;
    for (let k = 0; k < c; k++) {
      const delta = bm[k] - this.mean[k];
      this.mean[k] += (delta * nb) / n;
      this.m2[k] += bm2[k] + (delta * delta * this.count * nb) / n;
    }
    this.count = n;
  }
}

export class Normalization extends Layer {
  static override readonly className: string = 'Normalization';
  readonly axis: -1 | null;
  readonly invert: boolean;
  /** The constructor's mean and variance (null when adapt() provides them through the weights). */
  readonly mean: number | readonly number[] | null;
  readonly variance: number | readonly number[] | null;
  meanWeight: Variable | null = null;
  varianceWeight: Variable | null = null;

  constructor(args: NormalizationArgs = {}) {
    super(args);
    this.checkArgs(args, ['axis', 'mean', 'variance', 'invert']);
    if (args.axis !== undefined && args.axis !== -1 && args.axis !== null) {
      throw new ValueError(`${this.who}: option 'axis' must be -1 (per channel, channels last) or null (one mean and variance for all), got ${JSON.stringify(args.axis)}`);
    }
    this.axis = args.axis === undefined ? -1 : args.axis;
    this.invert = boolOption(this.who, 'invert', args.invert, false);
    const mean = args.mean ?? null, variance = args.variance ?? null;
    if ((mean === null) !== (variance === null)) {
      throw new ValueError(`${this.who}: options 'mean' and 'variance' go together: give both, or neither and call adapt(data)`);
    }
    for (const [k, v] of [['mean', mean], ['variance', variance]] as const) {
      if (v === null) continue;
      const vals = typeof v === 'number' ? [v] : v;
      if (!Array.isArray(vals) || vals.length === 0 || !vals.every((e) => typeof e === 'number' && Number.isFinite(e))) {
        throw new ValueError(`${this.who}: option '${k}' must be a finite number or a non-empty array of them, got ${JSON.stringify(v)}`);
      }
      if (k === 'variance' && vals.some((e) => e < 0)) throw new ValueError(`${this.who}: option 'variance' must be >= 0, got ${JSON.stringify(v)}`);
      if (this.axis === null && vals.length !== 1) throw new ValueError(`${this.who}: with axis null, option '${k}' must be a single number, got ${JSON.stringify(v)}`);
    }
    if (Array.isArray(mean) && Array.isArray(variance) && mean.length !== variance.length && mean.length !== 1 && variance.length !== 1) {
      throw new ValueError(`${this.who}: options 'mean' (${mean.length} values) and 'variance' (${variance.length} values) must have the same length`);
    }
    this.mean = mean === null ? null : typeof mean === 'number' ? mean : [...mean];
    this.variance = variance === null ? null : typeof variance === 'number' ? variance : [...variance];
    this.inputSpec = { minNdim: 1, layout: '[N, ..., C]' };
  }

  /** Values per mean/variance: the channel count (axis -1) or 1 (axis null). */
  private statLength(shape: readonly (number | null)[]): number {
    if (this.axis === null) return 1;
    const c = shape[shape.length - 1];
    if (c === null || c === undefined) throw new ShapeError(`${this.who}: the last (channel) axis of the input ${fmtShape(shape)} must be known to build`);
    return c;
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    const c = this.statLength(s);
    if (this.mean === null) {
      this.meanWeight = this.addWeight('mean', [c], zeros(), { trainable: false });
      this.varianceWeight = this.addWeight('variance', [c], ones(), { trainable: false });
    } else {
      for (const [k, v] of [['mean', this.mean], ['variance', this.variance!]] as const) {
        const len = typeof v === 'number' ? 1 : v.length;
        if (len !== 1 && len !== c) throw new ShapeError(`${this.who}: option '${k}' has ${len} values but the input ${fmtShape(s)} has ${c} channels`);
      }
    }
    if (this.axis === -1) this.inputSpec = { minNdim: 1, axes: { [-1]: c }, layout: '[N, ..., C]' };
    super.build(inputShape);
  }

  /**
   * Computes the mean and (biased) variance of `data` per channel, or over everything with axis null, and stores them
   * in the layer's weights (Keras adapt). `data`: a Tensor [N, ..., C], or an iterable of batches (Tensors, [x, y]
   * pairs or { x } objects); for an async source (a Dataset) use adaptAsync. Returns the layer.
   */
  adapt(data: AdaptData): this {
    let moments: Moments | null = null;
    const batches = data instanceof Tensor ? [data] : data;
    if (batches === null || typeof batches !== 'object' || typeof (batches as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new DTypeError(`${this.who}: adapt() takes a Tensor or an iterable of batches (use adaptAsync for an async source), got ${data === null ? 'null' : typeof data}`);
    }
    for (const el of batches as Iterable<AdaptElement>) moments = this.addBatch(moments, el);
    return this.finishAdapt(moments);
  }

  /** adapt() for async sources too (a Dataset, an async generator of batches). */
  async adaptAsync(data: AdaptData | AsyncIterable<AdaptElement>): Promise<this> {
    if (data instanceof Tensor || (typeof data === 'object' && data !== null && Symbol.iterator in data)) return this.adapt(data as AdaptData);
    if (data === null || typeof data !== 'object' || !(Symbol.asyncIterator in data)) {
      throw new DTypeError(`${this.who}: adaptAsync() takes a Tensor or a sync or async iterable of batches, got ${data === null ? 'null' : typeof data}`);
    }
    let moments: Moments | null = null;
    for await (const el of data) moments = this.addBatch(moments, el);
    return this.finishAdapt(moments);
  }

  private addBatch(moments: Moments | null, el: AdaptElement): Moments {
    const x = el instanceof Tensor ? el : Array.isArray(el) ? el[0] : (el as { x?: unknown }).x;
    if (!(x instanceof Tensor)) throw new DTypeError(`${this.who}: adapt() batches must be Tensors, [x, y] pairs or { x } objects with a Tensor x`);
    if (this.mean !== null) throw new ValueError(`${this.who}: adapt() cannot change a mean and variance given as options; leave them out to adapt`);
    if (x.rank < 1 || x.size === 0) throw new ShapeError(`${this.who}: adapt() needs non-empty data, got shape ${fmtShape(x.shape)}`);
    const c = this.statLength(x.shape);
    if (moments && moments.channels !== c) throw new ShapeError(`${this.who}: adapt() batches disagree on the channel count (${moments.channels} then ${c}, shape ${fmtShape(x.shape)})`);
    const m = moments ?? new Moments(c);
    m.add(x.data);
    return m;
  }

  private finishAdapt(moments: Moments | null): this {
    if (!moments || moments.count === 0) throw new ValueError(`${this.who}: adapt() got no data`);
    const c = moments.channels;
    if (!this.built) {
      this.build(this.axis === null ? [null] : [null, c]);
      this.built = true;
    } else if (this.meanWeight!.size !== c) {
      throw new ShapeError(`${this.who}: adapt() data has ${c} channels but the layer was built for ${this.meanWeight!.size}`);
    }
    const variance = moments.m2.map((v) => v / moments.count);
    noGrad(() => {
      this.meanWeight!.assign(Float32Array.from(moments.mean));
      this.varianceWeight!.assign(Float32Array.from(variance));
    });
    return this;
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const input = this.single(inputs);
    const x = input.dtype === 'int32' ? input.cast('float32') : input;
    const [mean, std] = this.statistics(x);
    return this.invert ? x.mul(std).add(mean) : x.sub(mean).div(std);
  }

  /** [mean, max(sqrt(variance), epsilon)] as tensors on x's device that broadcast over the channel axis. */
  private statistics(x: Tensor): [Tensor, Tensor] {
    let mean: Tensor, variance: Tensor;
    if (this.meanWeight) {
      mean = readWeight(this.meanWeight);
      variance = readWeight(this.varianceWeight!);
    } else {
      const vec = (v: number | readonly number[]): Tensor =>
        new Tensor(Float32Array.from(typeof v === 'number' ? [v] : v), [typeof v === 'number' ? 1 : v.length]).to(x.device);
      mean = vec(this.mean!);
      variance = vec(this.variance!);
    }
    return [mean, variance.sqrt().maximum(EPSILON)];
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      axis: this.axis,
      mean: this.mean === null ? null : typeof this.mean === 'number' ? this.mean : [...this.mean],
      variance: this.variance === null ? null : typeof this.variance === 'number' ? this.variance : [...this.variance],
      invert: this.invert,
    };
  }
}
registerLayer(Normalization);
