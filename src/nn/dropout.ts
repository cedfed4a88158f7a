/**
 * Dropout (Keras): in training, zeroes each element with probability `rate` and scales the rest by
 * 1 / (1 - rate); in inference it returns its input unchanged. With a `seed`, the layer owns a generator seeded
 * with it, so a rebuilt model replays the same masks; without one, masks come from the global generator
 * (manualSeed makes them reproducible). Each training call draws a fresh mask.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Generator, getDefaultGenerator } from '../tensor/random.js';
import { dropout } from '../ops/dropout.js';
import { ones } from '../tensor/creation.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';

export interface DropoutArgs extends LayerArgs {
  /** Fraction of the inputs to drop, in [0, 1). */
  rate: number;
  /** Seed of the layer's own mask generator; default: the global generator. */
  seed?: number | null;
}

export class Dropout extends Layer {
  static override readonly className: string = 'Dropout';
  readonly rate: number;
  readonly seed: number | null;
  #gen: Generator | undefined;

  constructor(args: DropoutArgs) {
    super(args);
    this.checkArgs(args, ['rate', 'seed']);
    if (typeof args.rate !== 'number' || !(args.rate >= 0 && args.rate < 1)) {
      throw new ValueError(`${this.who}: option 'rate' must be in [0, 1), got ${JSON.stringify(args.rate)}`);
    }
    this.rate = args.rate;
    if (args.seed !== undefined && args.seed !== null && (!Number.isSafeInteger(args.seed) || args.seed < 0)) {
      throw new ValueError(`${this.who}: option 'seed' must be a non-negative integer, got ${JSON.stringify(args.seed)}`);
    }
    this.seed = args.seed ?? null;
  }

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor {
    const x = this.single(inputs);
    if (!opts.training || this.rate === 0) return x;
    const gen = this.seed === null ? getDefaultGenerator() : (this.#gen ??= new Generator(this.seed));
    return dropout(x, { rate: this.rate, seed: gen, training: true });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
registerLayer(Dropout);

/**
 * Spatial dropout (Keras SpatialDropout1D / 2D): drops whole feature maps instead of single elements, since
 * neighbouring activations of a convnet are correlated and element dropout barely regularizes them. The mask is
 * drawn per example and channel (noise shape [N, 1, C] or [N, 1, 1, C]), holds 0 or 1 / (1 - rate), and multiplies
 * the input by broadcasting (dx = dy * mask). Identity in inference.
 */
abstract class SpatialDropout extends Dropout {
  protected abstract readonly rank: number;
  #spatialGen: Generator | undefined;

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor {
    const x = this.single(inputs);
    if (!opts.training || this.rate === 0) return x;
    const gen = this.seed === null ? getDefaultGenerator() : (this.#spatialGen ??= new Generator(this.seed));
    // Element dropout of ones of the noise shape is the mask: 0 or 1 / (1 - rate), one draw per (example, channel).
    const noise = [x.shape[0], ...new Array<number>(this.rank - 2).fill(1), x.shape[x.rank - 1]];
    const mask = dropout(ones(noise).to(x.device), { rate: this.rate, seed: gen, training: true });
    return x.mul(mask); // a float64 x (gradient checks) promotes the float32 mask exactly
  }
}

export class SpatialDropout1D extends SpatialDropout {
  static override readonly className: string = 'SpatialDropout1D';
  protected readonly rank = 3;
  constructor(args: DropoutArgs) {
    super(args);
    this.inputSpec = { ndim: 3, layout: '[N, T, C]' };
  }
}

export class SpatialDropout2D extends SpatialDropout {
  static override readonly className: string = 'SpatialDropout2D';
  protected readonly rank = 4;
  constructor(args: DropoutArgs) {
    super(args);
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }
}

registerLayer(SpatialDropout1D);
registerLayer(SpatialDropout2D);
