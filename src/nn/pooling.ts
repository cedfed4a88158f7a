/**
 * Pooling layers over [N, H, W, C] (Keras): MaxPooling2D and AveragePooling2D (poolSize 2, strides = poolSize,
 * padding 'valid' by default; average pooling divides by the in-bounds count), GlobalAveragePooling2D and
 * GlobalMaxPooling2D ([N, C], or [N, 1, 1, C] with keepDims).
 */
import type { Tensor } from '../tensor/tensor.js';
import { avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d } from '../ops/pool.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { boolOption } from './options.js';
import { type Shape, convPadding, intPair, windowLength } from './shapes.js';

export interface Pooling2DArgs extends LayerArgs {
  /** Default 2; a number or [ph, pw]. */
  poolSize?: number | readonly number[];
  /** Default: poolSize. */
  strides?: number | readonly number[] | null;
  /** Default 'valid'. */
  padding?: 'valid' | 'same';
}

export interface GlobalPooling2DArgs extends LayerArgs {
  /** Keep the spatial axes as 1 ([N, 1, 1, C]); default false ([N, C]). */
  keepDims?: boolean;
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';

  constructor(args: Pooling2DArgs) {
    super(args);
    this.checkArgs(args, ['poolSize', 'strides', 'padding']);
    this.poolSize = intPair(this.who, 'poolSize', args.poolSize ?? 2);
    this.strides = args.strides === undefined || args.strides === null ? this.poolSize : intPair(this.who, 'strides', args.strides);
    this.padding = convPadding(this.who, args.padding) as 'valid' | 'same';
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const hw = ['height', 'width'].map((axis, i) =>
      windowLength(this.who, axis, s, s[1 + i], this.poolSize[i], this.strides[i], 1, this.padding, 'pool window'));
    return [s[0], hw[0], hw[1], s[3]];
  }

  protected options() {
    return { poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), poolSize: [...this.poolSize], strides: [...this.strides], padding: this.padding };
  }
}

export class MaxPooling2D extends Pooling2D {
  static override readonly className: string = 'MaxPooling2D';
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return maxPool2d(this.single(inputs), this.options());
  }
}

export class AveragePooling2D extends Pooling2D {
  static override readonly className: string = 'AveragePooling2D';
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return avgPool2d(this.single(inputs), this.options());
  }
}

abstract class GlobalPooling2D extends Layer {
  readonly keepDims: boolean;
  constructor(args: GlobalPooling2DArgs = {}) {
    super(args);
    this.checkArgs(args, ['keepDims']);
    this.keepDims = boolOption(this.who, 'keepDims', args.keepDims, false);
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return this.keepDims ? [s[0], 1, 1, s[3]] : [s[0], s[3]];
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), keepDims: this.keepDims };
  }
}

export class GlobalAveragePooling2D extends GlobalPooling2D {
  static override readonly className: string = 'GlobalAveragePooling2D';
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return globalAvgPool2d(this.single(inputs), { keepDims: this.keepDims });
  }
}

export class GlobalMaxPooling2D extends GlobalPooling2D {
  static override readonly className: string = 'GlobalMaxPooling2D';
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return globalMaxPool2d(this.single(inputs), { keepDims: this.keepDims });
  }
}

registerLayer(MaxPooling2D);
registerLayer(AveragePooling2D);
registerLayer(GlobalAveragePooling2D);
registerLayer(GlobalMaxPooling2D);
