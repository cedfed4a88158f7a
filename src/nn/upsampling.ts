/**
 * UpSampling2D (Keras): repeats the rows of [N, H, W, C] `size[0]` times and the columns `size[1]` times
 * ('nearest', Keras' repeat_elements), or resizes to [H * size[0], W * size[1]] as tf.image.resize 'bilinear'
 * (half-pixel centres, borders clamped: what Keras runs for interpolation 'bilinear').
 *
 * 'nearest' is a reshape to [N, H, 1, W, 1, C], a broadcast and a reshape back: plain tensor ops, so autograd
 * (the broadcast's sum) and every backend come for free. 'bilinear' is resizeImages, which records its adjoint.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { resizeImages } from './image-sampling.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { type Shape, intPair } from './shapes.js';

export type UpSamplingInterpolation = 'nearest' | 'bilinear';
const UPSAMPLING_INTERPOLATIONS: readonly UpSamplingInterpolation[] = ['nearest', 'bilinear'];

export interface UpSampling2DArgs extends LayerArgs {
  /** Upsampling factors n (both axes) or [rows, cols], positive integers; default 2. */
  size?: number | readonly [number, number];
  /** 'nearest' (default: repeat each pixel) or 'bilinear' (tf.image.resize, half-pixel centres). */
  interpolation?: UpSamplingInterpolation;
}

export class UpSampling2D extends Layer {
  static override readonly className: string = 'UpSampling2D';
  /** [rows, cols]. */
  readonly size: [number, number];
  readonly interpolation: UpSamplingInterpolation;

  constructor(args: UpSampling2DArgs = {}) {
    super(args);
    this.checkArgs(args, ['size', 'interpolation']);
    this.size = intPair(this.who, 'size', args.size ?? 2);
    const interp = args.interpolation ?? 'nearest';
    if (!UPSAMPLING_INTERPOLATIONS.includes(interp)) {
      throw new ValueError(`${this.who}: option 'interpolation' must be 'nearest' or 'bilinear', got ${JSON.stringify(args.interpolation)}`);
    }
    this.interpolation = interp;
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const [sh, sw] = this.size;
    return [s[0], s[1] === null ? null : s[1] * sh, s[2] === null ? null : s[2] * sw, s[3]];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const [n, h, w, c] = x.shape;
    const [sh, sw] = this.size;
    if (sh === 1 && sw === 1) return x;
    if (this.interpolation === 'bilinear') return resizeImages(x, [h * sh, w * sw], { interpolation: 'bilinear' });
    // Output pixel (i, j) is input pixel (floor(i / sh), floor(j / sw)): axes 2 and 4 of the view are the copies.
    return x.reshape([n, h, 1, w, 1, c]).broadcastTo([n, h, sh, w, sw, c]).reshape([n, h * sh, w * sw, c]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), size: [...this.size], interpolation: this.interpolation };
  }
}

registerLayer(UpSampling2D);
