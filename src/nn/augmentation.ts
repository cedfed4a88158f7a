/**
 * Keras random augmentation layers: RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear,
 * RandomCrop, RandomContrast, RandomBrightness, and GaussianNoise.
 *
 * Active only in training (`training: true`, which fit() passes); in inference they return their input (cast to
 * float32 when it is int32), except RandomCrop, whose output always has its target size (see there). Images are
 * [N, H, W, C] or one image [H, W, C], channels last.
 *
 * Randomness: each call draws one set of parameters per image, in batch order, from the layer's generator: with a
 * `seed`, the layer owns a Generator seeded with it (created at the first training call, so a layer rebuilt from its
 * config replays the same augmentations); without one, the global generator (manualSeed makes runs reproducible).
 * Draws per image, in order: RandomFlip one uniform per flipped axis (horizontal first); RandomRotation the angle;
 * RandomZoom the height zoom, then the width zoom when widthFactor is set; RandomTranslation the vertical then the
 * horizontal shift; RandomShear a sign, then the y then the x shear; RandomCrop the top then the left offset;
 * RandomContrast and RandomBrightness one factor. GaussianNoise draws two 24-bit uniforms per pair of elements
 * (Box-Muller).
 *
 * The geometric layers warp through image-sampling.ts's affineTransform (TF's ImageProjectiveTransformV3: pixel
 * centres at integer coordinates, fill modes 'reflect' (the Keras default), 'wrap', 'constant', 'nearest';
 * interpolation 'bilinear' (default) or 'nearest'), with the transforms Keras builds (output pixel -> input point):
 * - rotation by theta about the image centre ((W-1)/2, (H-1)/2): [cos, -sin, x0, sin, cos, y0, 0, 0] with
 *   x0 = ((W-1) - (cos (W-1) - sin (H-1))) / 2, y0 = ((H-1) - (sin (W-1) + cos (H-1))) / 2; theta = 2 pi u for u drawn
 *   in the factor range, positive counter-clockwise on screen;
 * - zoom: [zx, 0, (W-1)/2 (1 - zx), 0, zy, (H-1)/2 (1 - zy), 0, 0], z = 1 + u: positive u zooms out;
 * - translation: [1, 0, -dx, 0, 1, -dy, 0, 0], dx = u W, dy = v H (fractions of the size, not rounded): positive
 *   moves the content right / down;
 * - shear: [1, sx, 0, sy, 1, 0, 0, 0] about the top-left pixel (Keras 3's RandomShear).
 *
 * Gradients: every layer here records one to its input when it acts (the warps, flips and crops are linear in the
 * image; contrast and brightness pass the gradient where the output is not clipped; noise passes it unchanged), and
 * in inference the layer is the identity, so Grad-CAM and filter visualisation see through it.
 *
 * Where this differs from Keras, on purpose: RandomCrop crops each image at its own offset (Keras crops the whole
 * batch at one); a single-number factor must be >= 0 (it means the range [-f, f]; Keras 3 quietly takes |f|); a
 * single-number RandomContrast factor f gives contrast factors in [1 - f, 1 + f] as Keras documents (Keras 3's code
 * draws from [1, 1 + f]).
 */
import { ValueError } from '../errors.js';
import { allocF32 } from '../backends/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator, getDefaultGenerator } from '../tensor/random.js';
import { type CallOptions, type JsonValue, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import {
  FILL_MODES, FLIP_HORIZONTAL, FLIP_VERTICAL, type FillMode, INTERPOLATIONS, type Interpolation, affineTransform, cropImages, flipImages,
  recordHostOp, resizeImages,
} from './image-sampling.js';
import { ImageLayer, choiceOption, numberOption, seedOption, sizeOption } from './preprocessing.js';

/** A factor option: one number f (the range [-f, f]) or a [lower, upper] pair. */
export type Factor = number | readonly [number, number];

/**
 * Parses a factor into [lower, upper]: a number f must be in [0, max] and gives [-f, f]; a pair must be ordered and
 * each value in [min, max].
 */
function factorRange(who: string, name: string, v: unknown, min: number, max: number): [number, number] {
  const range = `[${min}, ${max}]`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) {
      throw new ValueError(`${who}: option '${name}' must be >= 0 when it is one number f (it means the range [-f, f]; pass [lower, upper] for another range), got ${JSON.stringify(v)}`);
    }
    if (v > max) throw new ValueError(`${who}: option '${name}' must be in [0, ${max}], got ${v}`);
    return [-v, v];
  }
  if (Array.isArray(v) && v.length === 2 && v.every((e) => typeof e === 'number' && Number.isFinite(e))) {
    const [lo, hi] = v as [number, number];
    if (lo < min || hi > max) throw new ValueError(`${who}: option '${name}' must have values in ${range}, got ${JSON.stringify(v)}`);
    if (lo > hi) throw new ValueError(`${who}: option '${name}' must be [lower, upper] with lower <= upper, got ${JSON.stringify(v)}`);
    return [lo, hi];
  }
  throw new ValueError(`${who}: option '${name}' must be a number or a [lower, upper] pair, got ${JSON.stringify(v)}`);
}

function factorConfig(f: Factor | null): JsonValue {
  return f === null ? null : typeof f === 'number' ? f : [f[0], f[1]];
}

/** Uniform in [lo, hi). */
function uniform(gen: Generator, lo: number, hi: number): number {
  return lo + (hi - lo) * gen.nextFloat64();
}

// --- the random base ---------------------------------------------------------------------------------

export interface RandomLayerArgs extends LayerArgs {
  /** Seed of the layer's own generator; default: the global generator. */
  seed?: number | null;
}

/** An image layer that acts only in training, drawing its parameters from its generator. */
export abstract class RandomImageLayer extends ImageLayer {
  readonly seed: number | null;
  #gen: Generator | undefined;

  constructor(args: RandomLayerArgs) {
    super(args);
    this.seed = seedOption(this.who, args.seed);
  }

  /** The generator the layer draws from: its own (seeded) or the global one. */
  protected generator(): Generator {
    return this.seed === null ? getDefaultGenerator() : (this.#gen ??= new Generator(this.seed));
  }

  protected override transform(x: Tensor, training: boolean): Tensor {
    return training ? this.augment(x, this.generator()) : this.infer(x);
  }

  /** Inference: the identity (RandomCrop overrides it). */
  protected infer(x: Tensor): Tensor {
    return x;
  }

  /** Training: the augmentation of the float batch x [N, H, W, C]. */
  protected abstract augment(x: Tensor, gen: Generator): Tensor;

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), seed: this.seed };
  }
}

// --- RandomFlip ----------------------------------------------------------------------------------

export type FlipMode = 'horizontal' | 'vertical' | 'horizontal_and_vertical';
const FLIP_MODES: readonly FlipMode[] = ['horizontal', 'vertical', 'horizontal_and_vertical'];

export interface RandomFlipArgs extends RandomLayerArgs {
  /** Which axes may flip, each with probability 1/2 per image: default 'horizontal_and_vertical' (Keras'). */
  mode?: FlipMode;
}

/** Mirrors each image left-right ('horizontal') and/or top-bottom ('vertical'), each with probability 1/2. */
export class RandomFlip extends RandomImageLayer {
  static override readonly className: string = 'RandomFlip';
  readonly mode: FlipMode;

  constructor(args: RandomFlipArgs = {}) {
    super(args);
    this.checkArgs(args, ['mode', 'seed']);
    this.mode = choiceOption(this.who, 'mode', args.mode, FLIP_MODES, 'horizontal_and_vertical');
  }

  protected override augment(x: Tensor, gen: Generator): Tensor {
    const n = x.shape[0];
    const flags = new Uint8Array(n);
    const h = this.mode !== 'vertical', v = this.mode !== 'horizontal';
    for (let b = 0; b < n; b++) {
      if (h && gen.nextFloat64() < 0.5) flags[b] |= FLIP_HORIZONTAL;
      if (v && gen.nextFloat64() < 0.5) flags[b] |= FLIP_VERTICAL;
    }
    return flipImages(x, flags);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), mode: this.mode };
  }
}
registerLayer(RandomFlip);

// --- the warping layers --------------------------------------------------------------------------

export interface RandomAffineArgs extends RandomLayerArgs {
  /** How points outside the input are filled: 'reflect' (default), 'wrap', 'constant' or 'nearest'. */
  fillMode?: FillMode;
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: Interpolation;
  /** The value 'constant' fills with; default 0. */
  fillValue?: number;
}

const AFFINE_KEYS = ['fillMode', 'interpolation', 'fillValue', 'seed'];

/** A layer that warps each image by a random transform (one per image) through affineTransform. */
export abstract class RandomAffineLayer extends RandomImageLayer {
  readonly fillMode: FillMode;
  readonly interpolation: Interpolation;
  readonly fillValue: number;

  constructor(args: RandomAffineArgs) {
    super(args);
    this.fillMode = choiceOption(this.who, 'fillMode', args.fillMode, FILL_MODES, 'reflect');
    this.interpolation = choiceOption(this.who, 'interpolation', args.interpolation, INTERPOLATIONS, 'bilinear');
    this.fillValue = numberOption(this.who, 'fillValue', args.fillValue, 0);
  }

  /** Writes image b's transform (8 numbers, output pixel -> input point) at t[o..o+8). */
  protected abstract drawTransform(gen: Generator, h: number, w: number, t: Float64Array, o: number): void;

  protected override augment(x: Tensor, gen: Generator): Tensor {
    const [n, h, w] = x.shape;
    const t = new Float64Array(8 * n);
    for (let b = 0; b < n; b++) this.drawTransform(gen, h, w, t, 8 * b);
    return affineTransform(x, t, { fillMode: this.fillMode, interpolation: this.interpolation, fillValue: this.fillValue });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), fillMode: this.fillMode, interpolation: this.interpolation, fillValue: this.fillValue };
  }
}

export interface RandomRotationArgs extends RandomAffineArgs {
  /** The angle as a fraction of a full turn: f gives [-f, f] x 2 pi, [lower, upper] that range; values in [-1, 1]. */
  factor: Factor;
}

/** Rotates each image about its centre by an angle drawn from factor x 2 pi (positive: counter-clockwise). */
export class RandomRotation extends RandomAffineLayer {
  static override readonly className: string = 'RandomRotation';
  readonly factor: Factor;
  readonly lower: number;
  readonly upper: number;

  constructor(args: RandomRotationArgs) {
    super(args);
    this.checkArgs(args, ['factor', ...AFFINE_KEYS]);
    [this.lower, this.upper] = factorRange(this.who, 'factor', args.factor, -1, 1);
    this.factor = args.factor;
  }

  protected override drawTransform(gen: Generator, h: number, w: number, t: Float64Array, o: number): void {
    rotationTransform(uniform(gen, this.lower, this.upper) * 2 * Math.PI, h, w, t, o);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), factor: factorConfig(this.factor) };
  }
}
registerLayer(RandomRotation);

/** The rotation by `angle` radians about the centre of an h x w image (Keras' get_rotation_matrix). */
export function rotationTransform(angle: number, h: number, w: number, t: Float64Array, o = 0): void {
  const cos = Math.cos(angle), sin = Math.sin(angle);
  t[o] = cos;
  t[o + 1] = -sin;
  t[o + 2] = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2;
  t[o + 3] = sin;
  t[o + 4] = cos;
  t[o + 5] = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2;
  t[o + 6] = 0;
  t[o + 7] = 0;
}

export interface RandomZoomArgs extends RandomAffineArgs {
  /** Vertical zoom: 1 + u for u drawn from f ([-f, f]) or [lower, upper], values in [-1, 1]; positive zooms out. */
  heightFactor: Factor;
  /** Horizontal zoom, likewise; default null: the same zoom as vertically (the aspect ratio is kept). */
  widthFactor?: Factor | null;
}

/** Zooms each image about its centre: the vertical (and horizontal) zoom 1 + u; positive u zooms out, negative in. */
export class RandomZoom extends RandomAffineLayer {
  static override readonly className: string = 'RandomZoom';
  readonly heightFactor: Factor;
  readonly widthFactor: Factor | null;
  readonly heightRange: [number, number];
  readonly widthRange: [number, number] | null;

  constructor(args: RandomZoomArgs) {
    super(args);
    this.checkArgs(args, ['heightFactor', 'widthFactor', ...AFFINE_KEYS]);
    this.heightRange = factorRange(this.who, 'heightFactor', args.heightFactor, -1, 1);
    this.heightFactor = args.heightFactor;
    this.widthFactor = args.widthFactor ?? null;
    this.widthRange = this.widthFactor === null ? null : factorRange(this.who, 'widthFactor', this.widthFactor, -1, 1);
  }

  protected override drawTransform(gen: Generator, h: number, w: number, t: Float64Array, o: number): void {
    const zy = 1 + uniform(gen, this.heightRange[0], this.heightRange[1]);
    const zx = this.widthRange ? 1 + uniform(gen, this.widthRange[0], this.widthRange[1]) : zy;
    t[o] = zx;
    t[o + 1] = 0;
    t[o + 2] = ((w - 1) / 2) * (1 - zx);
    t[o + 3] = 0;
    t[o + 4] = zy;
    t[o + 5] = ((h - 1) / 2) * (1 - zy);
    t[o + 6] = 0;
    t[o + 7] = 0;
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), heightFactor: factorConfig(this.heightFactor), widthFactor: factorConfig(this.widthFactor) };
  }
}
registerLayer(RandomZoom);

export interface RandomTranslationArgs extends RandomAffineArgs {
  /** Vertical shift as a fraction of the height: f gives [-f, f], or [lower, upper]; values in [-1, 1]; positive: down. */
  heightFactor: Factor;
  /** Horizontal shift as a fraction of the width, likewise; positive: right. */
  widthFactor: Factor;
}

/** Shifts each image by (u W, v H) pixels, u and v drawn from the factors (not rounded: bilinear blends). */
export class RandomTranslation extends RandomAffineLayer {
  static override readonly className: string = 'RandomTranslation';
  readonly heightFactor: Factor;
  readonly widthFactor: Factor;
  readonly heightRange: [number, number];
  readonly widthRange: [number, number];

  constructor(args: RandomTranslationArgs) {
    super(args);
    this.checkArgs(args, ['heightFactor', 'widthFactor', ...AFFINE_KEYS]);
    this.heightRange = factorRange(this.who, 'heightFactor', args.heightFactor, -1, 1);
    this.widthRange = factorRange(this.who, 'widthFactor', args.widthFactor, -1, 1);
    this.heightFactor = args.heightFactor;
    this.widthFactor = args.widthFactor;
  }

  protected override drawTransform(gen: Generator, h: number, w: number, t: Float64Array, o: number): void {
    const dy = uniform(gen, this.heightRange[0], this.heightRange[1]) * h;
    const dx = uniform(gen, this.widthRange[0], this.widthRange[1]) * w;
    t[o] = 1;
    t[o + 1] = 0;
    t[o + 2] = -dx;
    t[o + 3] = 0;
    t[o + 4] = 1;
    t[o + 5] = -dy;
    t[o + 6] = 0;
    t[o + 7] = 0;
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), heightFactor: factorConfig(this.heightFactor), widthFactor: factorConfig(this.widthFactor) };
  }
}
registerLayer(RandomTranslation);

export interface RandomShearArgs extends RandomAffineArgs {
  /** Horizontal shear: f gives [-f, f], [lower, upper] gives that range with a random sign; values in [0, 1]. Default 0. */
  xFactor?: Factor;
  /** Vertical shear, likewise. Default 0. */
  yFactor?: Factor;
}

/**
 * Shears each image (Keras 3's RandomShear): the output pixel (x, y) samples the input at (x + sx y, y + sy x),
 * about the top-left pixel; sx and sy drawn from the factors and both negated with probability 1/2.
 */
export class RandomShear extends RandomAffineLayer {
  static override readonly className: string = 'RandomShear';
  readonly xFactor: Factor;
  readonly yFactor: Factor;
  readonly xRange: [number, number];
  readonly yRange: [number, number];

  constructor(args: RandomShearArgs = {}) {
    super(args);
    this.checkArgs(args, ['xFactor', 'yFactor', ...AFFINE_KEYS]);
    this.xFactor = args.xFactor ?? 0;
    this.yFactor = args.yFactor ?? 0;
    this.xRange = factorRange(this.who, 'xFactor', this.xFactor, 0, 1);
    this.yRange = factorRange(this.who, 'yFactor', this.yFactor, 0, 1);
  }

  protected override drawTransform(gen: Generator, _h: number, _w: number, t: Float64Array, o: number): void {
    const sign = gen.nextFloat64() > 0.5 ? -1 : 1;
    const sy = sign * uniform(gen, this.yRange[0], this.yRange[1]);
    const sx = sign * uniform(gen, this.xRange[0], this.xRange[1]);
    t[o] = 1;
    t[o + 1] = sx;
    t[o + 2] = 0;
    t[o + 3] = sy;
    t[o + 4] = 1;
    t[o + 5] = 0;
    t[o + 6] = 0;
    t[o + 7] = 0;
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), xFactor: factorConfig(this.xFactor), yFactor: factorConfig(this.yFactor) };
  }
}
registerLayer(RandomShear);

// --- RandomCrop ----------------------------------------------------------------------------------

export interface RandomCropArgs extends RandomLayerArgs {
  height: number;
  width: number;
}

/**
 * Training: a height x width window at a random offset of each image (each offset uniform over the valid ones).
 * Inference, or an input smaller than the window: the largest centred window of the target aspect ratio resized to
 * height x width (bilinear), as Keras — so the output is height x width in both modes, and a larger input is
 * resized (not centre-cropped) in inference; put a CenterCrop first if that is wanted.
 */
export class RandomCrop extends RandomImageLayer {
  static override readonly className: string = 'RandomCrop';
  readonly height: number;
  readonly width: number;

  constructor(args: RandomCropArgs) {
    super(args);
    this.checkArgs(args, ['height', 'width', 'seed']);
    this.height = sizeOption(this.who, 'height', args.height);
    this.width = sizeOption(this.who, 'width', args.width);
  }

  protected override outputImageSize(): [number, number] {
    return [this.height, this.width];
  }

  protected override augment(x: Tensor, gen: Generator): Tensor {
    const [n, h, w] = x.shape;
    if (h < this.height || w < this.width) return this.infer(x);
    const offsets = new Int32Array(2 * n);
    for (let b = 0; b < n; b++) {
      offsets[2 * b] = gen.nextBelow(h - this.height + 1);
      offsets[2 * b + 1] = gen.nextBelow(w - this.width + 1);
    }
    return cropImages(x, offsets, this.height, this.width);
  }

  protected override infer(x: Tensor): Tensor {
    // Keras' smart_resize: the largest centred window of the target aspect ratio, resized (bilinear); the identity
    // when the input already has the target size.
    return resizeImages(x, [this.height, this.width], { cropToAspectRatio: true });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}
registerLayer(RandomCrop);

// --- RandomContrast / RandomBrightness --------------------------------------------------------------

/** A [low, high] value range option (low < high). */
function valueRangeOption(who: string, v: unknown): [number, number] {
  if (v === undefined) return [0, 255];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((e) => typeof e === 'number' && Number.isFinite(e)) || !(v[0] < v[1])) {
    throw new ValueError(`${who}: option 'valueRange' must be [low, high] with low < high, e.g. [0, 255] or [0, 1], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

export interface RandomContrastArgs extends RandomLayerArgs {
  /** f: contrast factors in [1 - f, 1 + f]; [lower, upper]: in [1 - lower, 1 + upper]; values in [0, 1]. */
  factor: Factor;
  /** The pixel range the output is clipped to; default [0, 255]. */
  valueRange?: readonly [number, number];
}

/**
 * Per image, a contrast factor a; per channel, with m the channel's mean over the image,
 * y = clip((x - m) a + m, low, high) (tf.image.adjust_contrast, then Keras' clip to valueRange).
 */
export class RandomContrast extends RandomImageLayer {
  static override readonly className: string = 'RandomContrast';
  readonly factor: Factor;
  readonly lower: number;
  readonly upper: number;
  readonly valueRange: [number, number];

  constructor(args: RandomContrastArgs) {
    super(args);
    this.checkArgs(args, ['factor', 'valueRange', 'seed']);
    const f = args.factor;
    if (typeof f === 'number') {
      if (!Number.isFinite(f) || f < 0 || f > 1) throw new ValueError(`${this.who}: option 'factor' must be in [0, 1], got ${JSON.stringify(f)}`);
      this.lower = this.upper = f;
    } else if (Array.isArray(f) && f.length === 2 && f.every((e) => typeof e === 'number' && Number.isFinite(e) && e >= 0 && e <= 1)) {
      [this.lower, this.upper] = f;
    } else {
      throw new ValueError(`${this.who}: option 'factor' must be a number in [0, 1] or a [lower, upper] pair of them (contrast factors in [1 - lower, 1 + upper]), got ${JSON.stringify(f)}`);
    }
    this.factor = f;
    this.valueRange = valueRangeOption(this.who, args.valueRange);
  }

  protected override augment(x: Tensor, gen: Generator): Tensor {
    const [n, h, w, c] = x.shape;
    const factors = new Float64Array(n);
    for (let b = 0; b < n; b++) factors[b] = uniform(gen, 1 - this.lower, 1 + this.upper);
    const [lo, hi] = this.valueRange;
    const src = x.data as Float32Array | Float64Array;
    const out = src instanceof Float64Array ? new Float64Array(src.length) : allocF32(src.length);
    const hw = h * w;
    const means = new Float64Array(n * c);
    for (let b = 0; b < n; b++) {
      const base = b * hw * c, a = factors[b];
      const m = means.subarray(b * c, (b + 1) * c);
      for (let i = 0; i < hw * c; i += c) for (let k = 0; k < c; k++) m[k] += src[base + i + k];
      for (let k = 0; k < c; k++) m[k] /= hw;
      for (let i = 0; i < hw * c; i += c) {
        for (let k = 0; k < c; k++) {
          const v = (src[base + i + k] - m[k]) * a + m[k];
          out[base + i + k] = v < lo ? lo : v > hi ? hi : v;
        }
      }
    }
    // y = a x + (1 - a) m where not clipped: dx = a M dy + (1 - a) / HW * sum over the channel of M dy (M: unclipped).
    return recordHostOp('randomContrast', new Tensor(out, x.shape), x, (g) => {
      const gd = g.data as Float32Array | Float64Array;
      const dx = gd instanceof Float64Array ? new Float64Array(gd.length) : allocF32(gd.length);
      const sums = new Float64Array(c);
      for (let b = 0; b < n; b++) {
        const base = b * hw * c, a = factors[b];
        sums.fill(0);
        for (let i = 0; i < hw * c; i += c) {
          for (let k = 0; k < c; k++) {
            const v = (src[base + i + k] - means[b * c + k]) * a + means[b * c + k];
            const gm = v >= lo && v <= hi ? gd[base + i + k] : 0;
            dx[base + i + k] = a * gm;
            sums[k] += gm;
          }
        }
        for (let k = 0; k < c; k++) sums[k] *= (1 - a) / hw;
        for (let i = 0; i < hw * c; i += c) for (let k = 0; k < c; k++) dx[base + i + k] += sums[k];
      }
      return new Tensor(dx, x.shape);
    });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), factor: factorConfig(this.factor), valueRange: [...this.valueRange] };
  }
}
registerLayer(RandomContrast);

export interface RandomBrightnessArgs extends RandomLayerArgs {
  /** f gives [-f, f], or [lower, upper]; values in [-1, 1], as fractions of the value range: -1 black, 1 white. */
  factor: Factor;
  /** The pixel range: the shift is u (high - low), and the output is clipped to it. Default [0, 255]. */
  valueRange?: readonly [number, number];
}

/** Per image, adds u (high - low) for u drawn from the factor range, then clips to the value range (Keras). */
export class RandomBrightness extends RandomImageLayer {
  static override readonly className: string = 'RandomBrightness';
  readonly factor: Factor;
  readonly lower: number;
  readonly upper: number;
  readonly valueRange: [number, number];

  constructor(args: RandomBrightnessArgs) {
    super(args);
    this.checkArgs(args, ['factor', 'valueRange', 'seed']);
    [this.lower, this.upper] = factorRange(this.who, 'factor', args.factor, -1, 1);
    this.factor = args.factor;
    this.valueRange = valueRangeOption(this.who, args.valueRange);
  }

  protected override augment(x: Tensor, gen: Generator): Tensor {
    const n = x.shape[0];
    const [lo, hi] = this.valueRange;
    const per = x.size / Math.max(n, 1);
    const src = x.data as Float32Array | Float64Array;
    const out = src instanceof Float64Array ? new Float64Array(src.length) : allocF32(src.length);
    const deltas = new Float64Array(n);
    for (let b = 0; b < n; b++) {
      const delta = (deltas[b] = uniform(gen, this.lower, this.upper) * (hi - lo));
      for (let i = b * per, end = (b + 1) * per; i < end; i++) {
        const v = src[i] + delta;
        out[i] = v < lo ? lo : v > hi ? hi : v;
      }
    }
    // Where not clipped the output moves with the input: dx = dy there (clip's gradient: [low, high] inclusive).
    return recordHostOp('randomBrightness', new Tensor(out, x.shape), x, (g) => {
      const gd = g.data as Float32Array | Float64Array;
      const dx = gd instanceof Float64Array ? new Float64Array(gd.length) : allocF32(gd.length);
      for (let b = 0; b < n; b++) {
        const delta = deltas[b];
        for (let i = b * per, end = (b + 1) * per; i < end; i++) {
          const v = src[i] + delta;
          dx[i] = v >= lo && v <= hi ? gd[i] : 0;
        }
      }
      return new Tensor(dx, x.shape);
    });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), factor: factorConfig(this.factor), valueRange: [...this.valueRange] };
  }
}
registerLayer(RandomBrightness);

// --- GaussianNoise -------------------------------------------------------------------------------

export interface GaussianNoiseArgs extends LayerArgs {
  /** Standard deviation of the additive noise, >= 0. */
  stddev: number;
  /** Seed of the layer's own generator; default: the global generator. */
  seed?: number | null;
}

/** Training only: adds zero-mean normal noise of standard deviation `stddev` to every element (any shape). */
export class GaussianNoise extends Layer {
  static override readonly className: string = 'GaussianNoise';
  readonly stddev: number;
  readonly seed: number | null;
  #gen: Generator | undefined;

  constructor(args: GaussianNoiseArgs) {
    super(args);
    this.checkArgs(args, ['stddev', 'seed']);
    if (typeof args.stddev !== 'number' || !Number.isFinite(args.stddev) || args.stddev < 0) {
      throw new ValueError(`${this.who}: option 'stddev' must be a finite number >= 0, got ${JSON.stringify(args.stddev)}`);
    }
    this.stddev = args.stddev;
    this.seed = seedOption(this.who, args.seed);
  }

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor {
    const input = this.single(inputs);
    const x = input.dtype === 'int32' ? input.cast('float32') : input;
    if (!opts.training || this.stddev === 0) return x;
    const gen = this.seed === null ? getDefaultGenerator() : (this.#gen ??= new Generator(this.seed));
    const src = x.data as Float32Array | Float64Array;
    const out = src instanceof Float64Array ? new Float64Array(src.length) : allocF32(src.length);
    const s = this.stddev, len = src.length;
    // Box-Muller on pairs of 24-bit uniforms (one Philox block serves four normals, half what gen.nextNormal uses,
    // which costs most of the time here); |z| stays below sqrt(2 ln 2^24) = 5.8, fine for noise.
    for (let i = 0; i < len; i += 2) {
      const r = s * Math.sqrt(-2 * Math.log(1 - gen.nextFloat32()));
      const th = 2 * Math.PI * gen.nextFloat32();
      out[i] = src[i] + r * Math.cos(th);
      if (i + 1 < len) out[i + 1] = src[i + 1] + r * Math.sin(th);
    }
    // x + noise: the gradient passes unchanged (a view of dy, so the engine may dispose either independently).
    return recordHostOp('gaussianNoise', new Tensor(out, x.shape), x, (g) => g.withShape(g.shape));
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), stddev: this.stddev, seed: this.seed };
  }
}
registerLayer(GaussianNoise);
