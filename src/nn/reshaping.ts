/**
 * Reshaping layers (Keras): Flatten ([N, ...] -> [N, product]), Reshape (targetShape without the batch axis, one
 * -1 allowed), ZeroPadding2D (zero rows/columns around [N, H, W, C]). Reshapes are views; padding copies.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { type Shape, fmtShape, knownSize, nonNegativeInt } from './shapes.js';

export class Flatten extends Layer {
  static override readonly className: string = 'Flatten';
  constructor(args: LayerArgs = {}) {
    super(args);
    this.checkArgs(args, []);
    this.inputSpec = { minNdim: 1, layout: '[N, ...]' };
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [s[0], s.length === 1 ? 1 : knownSize(s.slice(1))];
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    return x.reshape([x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)]);
  }
}

export interface ReshapeArgs extends LayerArgs {
  /** The output shape without the batch axis; one entry may be -1 (inferred). */
  targetShape: readonly number[];
}

export class Reshape extends Layer {
  static override readonly className: string = 'Reshape';
  readonly targetShape: number[];
  constructor(args: ReshapeArgs) {
    super(args);
    this.checkArgs(args, ['targetShape']);
    const t = args.targetShape;
    if (!Array.isArray(t) || t.some((d) => !Number.isInteger(d) || d < -1) || t.filter((d) => d === -1).length > 1) {
      throw new ValueError(`${this.who}: option 'targetShape' must be a list of non-negative integers with at most one -1, got ${JSON.stringify(t)}`);
    }
    this.targetShape = [...t];
  }

  /** targetShape with its -1 resolved for `count` elements per example (null when count is unknown). */
  private resolve(count: number | null, inShape: Shape): (number | null)[] {
    const unknown = this.targetShape.indexOf(-1);
    const known = this.targetShape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const fail = (): never => {
      throw new ShapeError(
        `${this.who}: cannot reshape an input of shape ${fmtShape(inShape)} (${count} values per example) into targetShape ${fmtShape(this.targetShape)}`,
      );
    };
    if (count === null) return this.targetShape.map((d) => (d === -1 ? null : d));
    if (unknown < 0) {
      if (known !== count) fail();
      return [...this.targetShape];
    }
    if (known === 0 || count % known !== 0) fail();
    return this.targetShape.map((d) => (d === -1 ? count / known : d));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [s[0], ...this.resolve(knownSize(s.slice(1)), s)];
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const rest = this.resolve(x.shape.slice(1).reduce((a, b) => a * b, 1), x.shape) as number[];
    return x.reshape([x.shape[0], ...rest]);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), targetShape: [...this.targetShape] };
  }
}

export interface ZeroPadding2DArgs extends LayerArgs {
  /** n (all four sides), [rows, cols] (symmetric), or [[top, bottom], [left, right]]; default 1. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
}

export class ZeroPadding2D extends Layer {
  static override readonly className: string = 'ZeroPadding2D';
  /** [[top, bottom], [left, right]]. */
  readonly padding: [[number, number], [number, number]];
  constructor(args: ZeroPadding2DArgs = {}) {
    super(args);
    this.checkArgs(args, ['padding']);
    const p = args.padding ?? 1;
    const n = (v: unknown, what: string) => nonNegativeInt(this.who, what, v);
    if (typeof p === 'number') this.padding = [[n(p, 'padding'), p], [p, p]];
    else if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number') {
      const [r, c] = p as readonly [number, number];
      this.padding = [[n(r, 'padding[0]'), r], [n(c, 'padding[1]'), c]];
    } else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2)) {
      const [[t, b], [l, r]] = p as readonly [readonly [number, number], readonly [number, number]];
      this.padding = [[n(t, 'padding[0][0]'), n(b, 'padding[0][1]')], [n(l, 'padding[1][0]'), n(r, 'padding[1][1]')]];
    } else {
      throw new ValueError(`${this.who}: option 'padding' must be n, [rows, cols] or [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
    }
    this.inputSpec = { ndim: 4, layout: '[N, H, W, C]' };
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const [[t, b], [l, r]] = this.padding;
    return [s[0], s[1] === null ? null : s[1] + t + b, s[2] === null ? null : s[2] + l + r, s[3]];
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return this.single(inputs).pad([[0, 0], this.padding[0], this.padding[1], [0, 0]]);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), padding: this.padding.map((q) => [...q]) };
  }
}

registerLayer(Flatten);
registerLayer(Reshape);
registerLayer(ZeroPadding2D);
