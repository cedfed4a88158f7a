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
