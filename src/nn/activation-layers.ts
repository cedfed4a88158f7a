/**
 * Activation layers (Keras): Activation (any named activation), ReLU (maxValue, negativeSlope), LeakyReLU
 * (alpha, Keras default 0.3), ELU (alpha 1), Softmax (axis), and Maxout (Goodfellow et al.; TF Addons' layer:
 * the axis of C features is split into numUnits contiguous groups of C / numUnits and each keeps its maximum).
 * The sigmoid and tanh factories in `layers` make Activation layers.
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ActivationName, activationFn, activationName } from './activations.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, registerLayer } from './layer.js';
import { type Shape, fmtShape, positiveInt } from './shapes.js';

function finite(who: string, arg: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new ValueError(`${who}: option '${arg}' must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** An integer axis, normalised against a rank (negative counts from the end); the batch axis is refused. */
function layerAxis(who: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 1 || a >= rank) {
    throw new ShapeError(`${who}: option 'axis' = ${axis} is not a non-batch axis of an input of rank ${rank}`);
  }
  return a;
}

export interface ActivationArgs extends LayerArgs {
  activation: string;
}

export class Activation extends Layer {
  static override readonly className: string = 'Activation';
  readonly activation: ActivationName;
  constructor(args: ActivationArgs) {
    super(args);
    this.checkArgs(args, ['activation']);
    this.activation = activationName(args.activation, this.who);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return activationFn(this.activation)(this.single(inputs));
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), activation: this.activation };
  }
}

export interface ReLUArgs extends LayerArgs {
  /** Upper bound of the output (e.g. 6 for ReLU6); default none. */
  maxValue?: number | null;
  /** Slope below 0; default 0. */
  negativeSlope?: number;
}

export class ReLU extends Layer {
  static override readonly className: string = 'ReLU';
  readonly maxValue: number | null;
  readonly negativeSlope: number;
  constructor(args: ReLUArgs = {}) {
    super(args);
    this.checkArgs(args, ['maxValue', 'negativeSlope']);
    this.maxValue = args.maxValue === undefined || args.maxValue === null ? null : finite(this.who, 'maxValue', args.maxValue, 0);
    this.negativeSlope = finite(this.who, 'negativeSlope', args.negativeSlope ?? 0, 0);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const y = this.negativeSlope === 0 ? x.relu() : x.leakyRelu(this.negativeSlope);
    return this.maxValue === null ? y : y.minimum(this.maxValue);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), maxValue: this.maxValue, negativeSlope: this.negativeSlope };
  }
}

export interface LeakyReLUArgs extends LayerArgs {
  /** Slope below 0; default 0.3 (Keras' layer default). */
  alpha?: number;
}

export class LeakyReLU extends Layer {
  static override readonly className: string = 'LeakyReLU';
  readonly alpha: number;
  constructor(args: LeakyReLUArgs = {}) {
    super(args);
    this.checkArgs(args, ['alpha']);
    this.alpha = finite(this.who, 'alpha', args.alpha ?? 0.3, 0);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return this.single(inputs).leakyRelu(this.alpha);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

export interface ELUArgs extends LayerArgs {
  /** Default 1. */
  alpha?: number;
}

export class ELU extends Layer {
  static override readonly className: string = 'ELU';
  readonly alpha: number;
  constructor(args: ELUArgs = {}) {
    super(args);
    this.checkArgs(args, ['alpha']);
    this.alpha = finite(this.who, 'alpha', args.alpha ?? 1);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return this.single(inputs).elu(this.alpha);
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

export interface SoftmaxArgs extends LayerArgs {
  /** Default -1. */
  axis?: number;
}

export class Softmax extends Layer {
  static override readonly className: string = 'Softmax';
  readonly axis: number;
  constructor(args: SoftmaxArgs = {}) {
    super(args);
    this.checkArgs(args, ['axis']);
    this.axis = args.axis ?? -1;
    if (!Number.isInteger(this.axis)) throw new ValueError(`${this.who}: option 'axis' must be an integer, got ${JSON.stringify(args.axis)}`);
    this.inputSpec = { minNdim: 2, layout: '[N, ...]' };
  }
  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    layerAxis(this.who, this.axis, s.length);
    return s;
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    return x.softmax(layerAxis(this.who, this.axis, x.rank));
  }
  override getConfig(): LayerConfig {
    return { ...super.getConfig(), axis: this.axis };
  }
}

export interface MaxoutArgs extends LayerArgs {
  /** Features kept along `axis`; must divide its length. */
  numUnits: number;
  /** Default -1. */
  axis?: number;
}

export class Maxout extends Layer {
  static override readonly className: string = 'Maxout';
  readonly numUnits: number;
  readonly axis: number;
  constructor(args: MaxoutArgs) {
    super(args);
    this.checkArgs(args, ['numUnits', 'axis']);
    this.numUnits = positiveInt(this.who, 'numUnits', args.numUnits);
    this.axis = args.axis ?? -1;
    if (!Number.isInteger(this.axis)) throw new ValueError(`${this.who}: option 'axis' must be an integer, got ${JSON.stringify(args.axis)}`);
    this.inputSpec = { minNdim: 2, layout: '[N, ..., C]' };
  }

  /** The normalised axis and the group size, checking that numUnits divides the axis. */
  private split(s: Shape): { a: number; k: number | null } {
    const a = layerAxis(this.who, this.axis, s.length);
    const c = s[a];
    if (c === null) return { a, k: null };
    if (c % this.numUnits !== 0) {
      throw new ShapeError(`${this.who}: 'numUnits' = ${this.numUnits} must divide the ${c} features on axis ${this.axis} of shape ${fmtShape(s)}`);
    }
    return { a, k: c / this.numUnits };
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const { a } = this.split(s);
    return s.map((d, i) => (i === a ? this.numUnits : d));
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    const { a, k } = this.split(x.shape);
    // [..., C, ...] -> [..., units, k, ...], max over the k competitors of each unit.
    const grouped = [...x.shape.slice(0, a), this.numUnits, k!, ...x.shape.slice(a + 1)];
    return x.reshape(grouped).max(a + 1);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), numUnits: this.numUnits, axis: this.axis };
  }
}

registerLayer(Activation);
registerLayer(ReLU);
registerLayer(LeakyReLU);
registerLayer(ELU);
registerLayer(Softmax);
registerLayer(Maxout);
