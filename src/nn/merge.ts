/**
 * Merge layers (Keras), called on a list of tensors: the elementwise Add (residual connections), Multiply,
 * Subtract (exactly two inputs), Average, Maximum and Minimum (shapes must match, or broadcast where one has
 * length 1), and Concatenate (along `axis`, default -1, the channels: inception blocks; every other axis must
 * match).
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { concat } from '../tensor/manipulation.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { type Shape, fmtShape } from './shapes.js';

function shapesList(shapes: readonly Shape[]): string {
  return shapes.map(fmtShape).join(', ');
}

abstract class Merge extends Layer {
  protected override inputArity(): [number, number] {
    return [2, Infinity];
  }
  protected list<T>(inputs: T | readonly T[]): readonly T[] {
    return Array.isArray(inputs) ? (inputs as readonly T[]) : [inputs as T];
  }
  protected sameRank(shapes: readonly Shape[]): number {
    const r = shapes[0].length;
    if (shapes.some((s) => s.length !== r)) throw new ShapeError(`${this.who}: inputs must have the same rank, got ${shapesList(shapes)}`);
    return r;
  }
}

/**
 * An elementwise merge: the output shape is the inputs' common shape (each axis equal where known, or 1 to
 * broadcast), and `combine` folds the inputs with broadcasting tensor ops (which record the gradients).
 */
abstract class ElementwiseMerge extends Merge {
  constructor(args: LayerArgs = {}) {
    super(args);
    this.checkArgs(args, []);
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = this.list(inputShape as Shape[]);
    const r = this.sameRank(shapes);
    const out: (number | null)[] = [];
    for (let i = 0; i < r; i++) {
      const dims = shapes.map((s) => s[i]);
      const known = [...new Set(dims.filter((d): d is number => d !== null && d !== 1))];
      if (known.length > 1) {
        throw new ShapeError(`${this.who}: inputs must have matching shapes (or 1 to broadcast) on axis ${i}, got ${shapesList(shapes)}`);
      }
      out.push(known.length ? known[0] : dims.includes(null) ? null : 1);
    }
    return out;
  }
  protected abstract combine(xs: readonly Tensor[]): Tensor;
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const xs = this.list(inputs);
    this.computeOutputShape(xs.map((x) => x.shape));
    return this.combine(xs);
  }
}

/** Elementwise sum, left to right. */
export class Add extends ElementwiseMerge {
  static override readonly className: string = 'Add';
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs.slice(1).reduce((acc, x) => acc.add(x), xs[0]);
  }
}

/** Elementwise product, left to right. */
export class Multiply extends ElementwiseMerge {
  static override readonly className: string = 'Multiply';
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs.slice(1).reduce((acc, x) => acc.mul(x), xs[0]);
  }
}

/** inputs[0] - inputs[1]: exactly two inputs, as Keras. */
export class Subtract extends ElementwiseMerge {
  static override readonly className: string = 'Subtract';
  protected override inputArity(): [number, number] {
    return [2, 2];
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = this.list(inputShape as Shape[]);
    if (shapes.length !== 2) throw new ValueError(`${this.who}: expects exactly 2 inputs, got ${shapes.length}`);
    return super.computeOutputShape(inputShape);
  }
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs[0].sub(xs[1]);
  }
}

/** The elementwise mean: the sum (left to right) divided by the number of inputs, as Keras. */
export class Average extends ElementwiseMerge {
  static override readonly className: string = 'Average';
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs.slice(1).reduce((acc, x) => acc.add(x), xs[0]).div(xs.length);
  }
}

/** Elementwise maximum (ties split the gradient evenly, as the maximum op). */
export class Maximum extends ElementwiseMerge {
  static override readonly className: string = 'Maximum';
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs.slice(1).reduce((acc, x) => acc.maximum(x), xs[0]);
  }
}

/** Elementwise minimum (ties split the gradient evenly, as the minimum op). */
export class Minimum extends ElementwiseMerge {
  static override readonly className: string = 'Minimum';
  protected override combine(xs: readonly Tensor[]): Tensor {
    return xs.slice(1).reduce((acc, x) => acc.minimum(x), xs[0]);
  }
}

export interface ConcatenateArgs extends LayerArgs {
  /** Default -1 (channels). */
  axis?: number;
}

export class Concatenate extends Merge {
  static override readonly className: string = 'Concatenate';
  readonly axis: number;
  constructor(args: ConcatenateArgs = {}) {
    super(args);
    this.checkArgs(args, ['axis']);
    this.axis = args.axis ?? -1;
    if (!Number.isInteger(this.axis)) throw new ValueError(`${this.who}: option 'axis' must be an integer, got ${JSON.stringify(args.axis)}`);
  }
  private resolvedAxis(r: number): number {
    const a = this.axis < 0 ? this.axis + r : this.axis;
    if (a < 1 || a >= r) throw new ShapeError(`${this.who}: option 'axis' = ${this.axis} is not a non-batch axis of inputs of rank ${r}`);
    return a;
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shapes = this.list(inputShape as Shape[]);
    const r = this.sameRank(shapes);
    const a = this.resolvedAxis(r);
    const out: (number | null)[] = [];
    for (let i = 0; i < r; i++) {
      const dims = shapes.map((s) => s[i]);
      if (i === a) {
        out.push(dims.includes(null) ? null : (dims as number[]).reduce((x, y) => x + y, 0));
        continue;
      }
      const known = [...new Set(dims.filter((d): d is number => d !== null))];
      if (known.length > 1) {
        throw new ShapeError(`${this.who}: inputs must match on every axis but the concatenation axis ${this.axis}, got ${shapesList(shapes)}`);
      }
      out.push(known.length ? known[0] : null);
    }
    return out;
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const xs = this.list(inputs);
    this.computeOutputShape(xs.map((x) => x.shape));
    return concat(xs, this.resolvedAxis(xs[0].rank));
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), axis: this.axis };
  }
}

registerLayer(Add);
registerLayer(Multiply);
registerLayer(Subtract);
registerLayer(Average);
registerLayer(Maximum);
registerLayer(Minimum);
registerLayer(Concatenate);
