/**
 * Cropping layers (Keras): Cropping1D removes `cropping` = [start, end] steps from the time axis of [N, T, C];
 * Cropping2D removes [[top, bottom], [left, right]] rows and columns from [N, H, W, C]. Each is a slice (its
 * gradient is the zero-padded output gradient). As Keras, a crop must leave at least one step, row and column.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { type Shape, fmtShape, nonNegativeInt } from './shapes.js';

/** Length left after cropping [a, b] from an axis, or a ShapeError when nothing would be left. */
function croppedLength(who: string, axis: string, inShape: Shape, len: number | null, [a, b]: readonly [number, number]): number | null {
  if (len === null) return null;
  if (a + b >= len) {
    throw new ShapeError(`${who}: cropping ${a} + ${b} from the ${axis} leaves nothing of the input ${fmtShape(inShape)} (its ${axis} is ${len})`);
  }
  return len - a - b;
}

export interface Cropping1DArgs extends LayerArgs {
  /** n (both ends) or [start, end] steps to remove from the time axis; default 1. */
  cropping?: number | readonly [number, number];
}

export class Cropping1D extends Layer {
  static override readonly className: string = 'Cropping1D';
  /** [start, end]. */
  readonly cropping: [number, number];

  constructor(args: Cropping1DArgs = {}) {
    super(args);
    this.checkArgs(args, ['cropping']);
    const p = args.cropping ?? 1;
    const n = (v: unknown, what: string) => nonNegativeInt(this.who, what, v);
    if (typeof p === 'number') this.cropping = [n(p, 'cropping'), p];
    else if (Array.isArray(p) && p.length === 2) this.cropping = [n(p[0], 'cropping[0]'), n(p[1], 'cropping[1]')];
    else throw new ValueError(`${this.who}: option 'cropping' must be n or [start, end], got ${JSON.stringify(p)}`);
    this.inputSpec = { ndim: 3, layout: '[N, T, C]' };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [s[0], croppedLength(this.who, 'time axis', s, s[1], this.cropping), s[2]];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const [n, t, c] = x.shape;
    croppedLength(this.who, 'time axis', x.shape, t, this.cropping);
    const [a, b] = this.cropping;
    return a === 0 && b === 0 ? x : x.slice([0, a, 0], [n, t - a - b, c]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), cropping: [...this.cropping] };
  }
}

export interface Cropping2DArgs extends LayerArgs {
  /** n (all four sides), [rows, cols] (symmetric), or [[top, bottom], [left, right]]; default 0. */
  cropping?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
}

export class Cropping2D extends Layer {
  static override readonly className: string = 'Cropping2D';
  /** [[top, bottom], [left, right]]. */
  readonly cropping: [[number, number], [number, number]];

  constructor(args: Cropping2DArgs = {}) {
    super(args);
    this.checkArgs(args, ['cropping']);
    const p = args.cropping ?? 0;
    const n = (v: unknown, what: string) => nonNegativeInt(this.who, what, v);
    if (typeof p === 'number') this.cropping = [[n(p, 'cropping'), p], [p, p]];
    else if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number') {
      const [r, c] = p as readonly [number, number];
      this.cropping = [[n(r, 'cropping[0]'), r], [n(c, 'cropping[1]'), c]];
    } else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2)) {
      const [[t, b], [l, r]] = p as readonly [readonly [number, number], readonly [number, number]];
      this.cropping = [[n(t, 'cropping[0][0]'), n(b, 'cropping[0][1]')], [n(l, 'cropping[1][0]'), n(r, 'cropping[1][1]')]];
    } else {
      throw new ValueError(`${this.who}: option 'cropping' must be n, [rows, cols] or [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
    }
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const [rows, cols] = this.cropping;
    return [s[0], croppedLength(this.who, 'height', s, s[1], rows), croppedLength(this.who, 'width', s, s[2], cols), s[3]];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const [n, h, w, c] = x.shape;
    const [[t, b], [l, r]] = this.cropping;
    const oh = croppedLength(this.who, 'height', x.shape, h, [t, b])!;
    const ow = croppedLength(this.who, 'width', x.shape, w, [l, r])!;
    return oh === h && ow === w ? x : x.slice([0, t, l, 0], [n, oh, ow, c]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), cropping: this.cropping.map((q) => [...q]) };
  }
}

registerLayer(Cropping1D);
registerLayer(Cropping2D);
