/**
 * Rescaling (Keras preprocessing): y = x * scale + offset, e.g. scale 1/255 to bring pixels into [0, 1] or
 * scale 1/127.5 with offset -1 for [-1, 1]. No weights; the output has the input's shape.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';

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
