/**
 * Convolution layers (Keras names and weight layouts): Conv1D, Conv2D (groups, dilation), Conv2DTranspose,
 * DepthwiseConv2D, SeparableConv2D. Inputs are channels-last; kernels are HWIO [KH, KW, Cin/groups, filters],
 * depthwise [KH, KW, C, depthMultiplier], transpose [KH, KW, filters, Cin], conv1d [K, Cin/groups, filters].
 * Padding is 'valid' (default) or 'same' as TensorFlow ('causal' too for Conv1D). relu is fused into the conv
 * op (its kernel's epilogue, and a masked dy in its gradient); every other activation (and Conv2DTranspose's)
 * is applied after the op as a separate tensor function.
 *
 * strides > 1 together with dilationRate > 1 is allowed (Keras rejects it; the ops compute it as PyTorch does).
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { conv1d, conv2d, conv2dTranspose, depthwiseConv2d, separableConv2d } from '../ops/conv.js';
import { type ActivationName, activationFn, activationName } from './activations.js';
import type { Initializer, InitializerIdentifier } from './initializers.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, readWeight, registerLayer } from './layer.js';
import { boolOption, initOption, regOption } from './options.js';
import type { Regularizer, RegularizerIdentifier } from './regularizers.js';
import {
  type Shape, convPadding, fmtShape, intPair, intSingle, nonNegativeInt, positiveInt, transposeLength, windowLength,
} from './shapes.js';
import type { Variable } from './variable.js';

/** Options every convolution layer shares. */
export interface ConvBaseArgs extends LayerArgs {
  /** A number or [kh, kw] ([k] or k for Conv1D). */
  kernelSize: number | readonly number[];
  /** Default 1. */
  strides?: number | readonly number[];
  /** Default 'valid'. */
  padding?: 'valid' | 'same' | 'causal';
  /** Default 1. */
  dilationRate?: number | readonly number[];
  /** Default 'linear'. */
  activation?: string | null;
  /** Default true. */
  useBias?: boolean;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
  biasRegularizer?: RegularizerIdentifier | null;
}

export interface Conv2DArgs extends ConvBaseArgs {
  /** Output channels. */
  filters: number;
  /** Default 1; divides the input channels and filters (grouped convolution). */
  groups?: number;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier | null;
}
export type Conv1DArgs = Conv2DArgs;

export interface Conv2DTransposeArgs extends Omit<Conv2DArgs, 'groups'> {
  /** Extra rows/columns after the output, each smaller than its stride (Keras output_padding); default none. */
  outputPadding?: number | readonly number[] | null;
}

export interface DepthwiseConv2DArgs extends ConvBaseArgs {
  /** Output channels per input channel; default 1. */
  depthMultiplier?: number;
  /** Default 'glorotUniform'. */
  depthwiseInitializer?: InitializerIdentifier;
  depthwiseRegularizer?: RegularizerIdentifier | null;
}

export interface SeparableConv2DArgs extends DepthwiseConv2DArgs {
  filters: number;
  /** Default 'glorotUniform'. */
  pointwiseInitializer?: InitializerIdentifier;
  pointwiseRegularizer?: RegularizerIdentifier | null;
}

const BASE_KEYS = ['kernelSize', 'strides', 'padding', 'dilationRate', 'activation', 'useBias', 'biasInitializer', 'biasRegularizer'];

/** The parts every convolution shares: window geometry, activation, bias. */
abstract class BaseConv extends Layer {
  readonly rank: 1 | 2;
  readonly kernelSize: number[];
  readonly strides: number[];
  readonly padding: 'valid' | 'same' | 'causal';
  readonly dilationRate: number[];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly biasInitializer: Initializer;
  readonly biasRegularizer: Regularizer | null;
  bias: Variable | null = null;

  constructor(rank: 1 | 2, args: ConvBaseArgs, keys: readonly string[]) {
    super(args);
    this.checkArgs(args, [...BASE_KEYS, ...keys]);
    this.rank = rank;
    const many = (arg: string, v: unknown, fallback: number): number[] =>
      rank === 2 ? intPair(this.who, arg, v ?? fallback) : [intSingle(this.who, arg, v ?? fallback)];
    if (args.kernelSize === undefined) throw new ValueError(`${this.who}: option 'kernelSize' is required`);
    this.kernelSize = many('kernelSize', args.kernelSize, 1);
    this.strides = many('strides', args.strides, 1);
    this.dilationRate = many('dilationRate', args.dilationRate, 1);
    this.padding = convPadding(this.who, args.padding, rank === 1 && this.className === 'Conv1D' ? ['valid', 'same', 'causal'] : ['valid', 'same']) as
      'valid' | 'same' | 'causal';
    this.activation = activationName(args.activation, this.who);
    this.useBias = boolOption(this.who, 'useBias', args.useBias, true);
    this.biasInitializer = initOption(this.who, 'biasInitializer', args.biasInitializer, 'zeros');
    this.biasRegularizer = regOption(this.who, 'biasRegularizer', args.biasRegularizer);
    this.inputSpec = rank === 2 ? { ndim: 4, layout: '[N, H, W, C]' } : { ndim: 3, layout: '[N, W, C]' };
  }

  /** The known channel count of the input, or a ShapeError. */
  protected channels(s: Shape): number {
    const c = s[s.length - 1];
    if (c === null) throw new ShapeError(`${this.who}: the channel axis of the input ${fmtShape(s)} must be known to build the kernel`);
    return c;
  }

  /** Fixes the input channels after build. */
  protected lockChannels(c: number): void {
    this.inputSpec = { ...this.inputSpec, axes: { [-1]: c } };
  }

  /** Spatial output lengths of a forward convolution. */
  protected spatialOut(s: Shape): (number | null)[] {
    const axes = this.rank === 2 ? ['height', 'width'] : ['width'];
    return axes.map((axis, i) =>
      windowLength(this.who, axis, s, s[1 + i], this.kernelSize[i], this.strides[i], this.dilationRate[i], this.padding));
  }

  protected activate(y: Tensor): Tensor {
    return activationFn(this.activation)(y);
  }

  /** The op option that fuses the activation into the conv kernel: relu only (one pass, no separate tensor). */
  protected fusedActivation(): { activation?: 'relu' } {
    return this.activation === 'relu' ? { activation: 'relu' } : {};
  }

  /** The activation the op did not fuse (see fusedActivation), applied as a separate tensor function. */
  protected activateUnfused(y: Tensor): Tensor {
    return this.activation === 'relu' ? y : this.activate(y);
  }

  protected bareWindow(): { strides: [number, number]; dilation: [number, number] } {
    return { strides: [this.strides[0], this.strides[1]], dilation: [this.dilationRate[0], this.dilationRate[1]] };
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      kernelSize: this.rank === 2 ? [...this.kernelSize] : this.kernelSize[0],
      strides: this.rank === 2 ? [...this.strides] : this.strides[0],
      padding: this.padding,
      dilationRate: this.rank === 2 ? [...this.dilationRate] : this.dilationRate[0],
      activation: this.activation,
      useBias: this.useBias,
      biasInitializer: this.biasInitializer.serialize(),
      biasRegularizer: this.biasRegularizer?.serialize() ?? null,
    };
  }
}

/** Conv1D and Conv2D: a kernel of `filters` outputs, optionally grouped. */
abstract class GroupedConv extends BaseConv {
  readonly filters: number;
  readonly groups: number;
  readonly kernelInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  kernel: Variable | null = null;

  constructor(rank: 1 | 2, args: Conv2DArgs) {
    super(rank, args, ['filters', 'groups', 'kernelInitializer', 'kernelRegularizer']);
    this.filters = positiveInt(this.who, 'filters', args.filters);
    this.groups = positiveInt(this.who, 'groups', args.groups ?? 1);
    if (this.filters % this.groups !== 0) {
      throw new ValueError(`${this.who}: option 'groups' = ${this.groups} must divide 'filters' = ${this.filters}`);
    }
    this.kernelInitializer = initOption(this.who, 'kernelInitializer', args.kernelInitializer, 'glorotUniform');
    this.kernelRegularizer = regOption(this.who, 'kernelRegularizer', args.kernelRegularizer);
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    const c = this.channels(s);
    if (c % this.groups !== 0) {
      throw new ShapeError(`${this.who}: option 'groups' = ${this.groups} must divide the ${c} input channels of shape ${fmtShape(s)}`);
    }
    this.kernel = this.addWeight('kernel', [...this.kernelSize, c / this.groups, this.filters], this.kernelInitializer, { regularizer: this.kernelRegularizer });
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer, { regularizer: this.biasRegularizer });
    this.lockChannels(c);
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [s[0], ...this.spatialOut(s), this.filters];
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      filters: this.filters,
      groups: this.groups,
      kernelInitializer: this.kernelInitializer.serialize(),
      kernelRegularizer: this.kernelRegularizer?.serialize() ?? null,
    };
  }
}

/** 2-D convolution: [N, H, W, C] -> [N, OH, OW, filters]. */
export class Conv2D extends GroupedConv {
  static override readonly className: string = 'Conv2D';
  constructor(args: Conv2DArgs) {
    super(2, args);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const y = conv2d(this.single(inputs), readWeight(this.kernel!), {
      ...this.bareWindow(), padding: this.padding as 'valid' | 'same', groups: this.groups, ...(this.bias ? { bias: readWeight(this.bias) } : {}),
      ...this.fusedActivation(),
    });
    return this.activateUnfused(y);
  }
}

/** 1-D convolution over [N, W, C] -> [N, OW, filters]; padding 'causal' looks only backwards in time. */
export class Conv1D extends GroupedConv {
  static override readonly className: string = 'Conv1D';
  constructor(args: Conv1DArgs) {
    super(1, args);
  }
  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const y = conv1d(this.single(inputs), readWeight(this.kernel!), {
      strides: this.strides[0], dilation: this.dilationRate[0], padding: this.padding, groups: this.groups,
      ...(this.bias ? { bias: readWeight(this.bias) } : {}), ...this.fusedActivation(),
    });
    return this.activateUnfused(y);
  }
}

/** Transposed convolution (upsampling): [N, H, W, C] -> [N, OH, OW, filters], kernel [KH, KW, filters, C]. */
export class Conv2DTranspose extends BaseConv {
  static override readonly className: string = 'Conv2DTranspose';
  readonly filters: number;
  readonly outputPadding: [number, number] | null;
  readonly kernelInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  kernel: Variable | null = null;

  constructor(args: Conv2DTransposeArgs) {
    super(2, args, ['filters', 'outputPadding', 'kernelInitializer', 'kernelRegularizer']);
    this.filters = positiveInt(this.who, 'filters', args.filters);
    this.kernelInitializer = initOption(this.who, 'kernelInitializer', args.kernelInitializer, 'glorotUniform');
    this.kernelRegularizer = regOption(this.who, 'kernelRegularizer', args.kernelRegularizer);
    const op = args.outputPadding;
    if (op === undefined || op === null) this.outputPadding = null;
    else {
      const p: [number, number] = typeof op === 'number'
        ? [nonNegativeInt(this.who, 'outputPadding', op), op]
        : Array.isArray(op) && op.length === 2
        ? [nonNegativeInt(this.who, 'outputPadding[0]', op[0]), nonNegativeInt(this.who, 'outputPadding[1]', op[1])]
        : (() => { throw new ValueError(`${this.who}: option 'outputPadding' must be an integer or a pair, got ${JSON.stringify(op)}`); })();
      p.forEach((v, i) => {
        if (v >= this.strides[i]) {
          throw new ValueError(`${this.who}: option 'outputPadding' [${p.join(',')}] must be smaller than the strides [${this.strides.join(',')}]`);
        }
      });
      this.outputPadding = p;
    }
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    const c = this.channels(s);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, this.filters, c], this.kernelInitializer, { regularizer: this.kernelRegularizer });
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer, { regularizer: this.biasRegularizer });
    this.lockChannels(c);
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const out = [0, 1].map((i) =>
      transposeLength(s[1 + i], this.kernelSize[i], this.strides[i], this.dilationRate[i], this.padding, this.outputPadding?.[i]));
    return [s[0], out[0], out[1], this.filters];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const y = conv2dTranspose(this.single(inputs), readWeight(this.kernel!), {
      ...this.bareWindow(), padding: this.padding as 'valid' | 'same',
      ...(this.outputPadding ? { outputPadding: this.outputPadding } : {}),
      ...(this.bias ? { bias: readWeight(this.bias) } : {}),
    });
    return this.activate(y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      filters: this.filters,
      outputPadding: this.outputPadding ? [...this.outputPadding] : null,
      kernelInitializer: this.kernelInitializer.serialize(),
      kernelRegularizer: this.kernelRegularizer?.serialize() ?? null,
    };
  }
}

/** Depthwise convolution: each input channel convolved with its own depthMultiplier filters -> C * M channels. */
export class DepthwiseConv2D extends BaseConv {
  static override readonly className: string = 'DepthwiseConv2D';
  readonly depthMultiplier: number;
  readonly depthwiseInitializer: Initializer;
  readonly depthwiseRegularizer: Regularizer | null;
  depthwiseKernel: Variable | null = null;
  protected inChannels = 0;

  constructor(args: DepthwiseConv2DArgs, extraKeys: readonly string[] = []) {
    super(2, args, ['depthMultiplier', 'depthwiseInitializer', 'depthwiseRegularizer', ...extraKeys]);
    this.depthMultiplier = positiveInt(this.who, 'depthMultiplier', args.depthMultiplier ?? 1);
    this.depthwiseInitializer = initOption(this.who, 'depthwiseInitializer', args.depthwiseInitializer, 'glorotUniform');
    this.depthwiseRegularizer = regOption(this.who, 'depthwiseRegularizer', args.depthwiseRegularizer);
  }

  /** Output channels of the layer (C * M here; filters for the separable subclass). */
  protected outChannels(): number {
    return this.inChannels * this.depthMultiplier;
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    this.inChannels = this.channels(s);
    this.depthwiseKernel = this.addWeight('depthwise_kernel', [...this.kernelSize, this.inChannels, this.depthMultiplier], this.depthwiseInitializer, {
      regularizer: this.depthwiseRegularizer,
    });
    this.buildMore();
    if (this.useBias) this.bias = this.addWeight('bias', [this.outChannels()], this.biasInitializer, { regularizer: this.biasRegularizer });
    this.lockChannels(this.inChannels);
    super.build(inputShape);
  }

  /** Weights between the depthwise kernel and the bias (the pointwise kernel of SeparableConv2D). */
  protected buildMore(): void {}

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    const c = s[3];
    return [s[0], ...this.spatialOut(s), this.built ? this.outChannels() : c === null ? null : c * this.depthMultiplier];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const y = depthwiseConv2d(this.single(inputs), readWeight(this.depthwiseKernel!), {
      ...this.bareWindow(), padding: this.padding as 'valid' | 'same', ...(this.bias ? { bias: readWeight(this.bias) } : {}),
      ...this.fusedActivation(),
    });
    return this.activateUnfused(y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      depthMultiplier: this.depthMultiplier,
      depthwiseInitializer: this.depthwiseInitializer.serialize(),
      depthwiseRegularizer: this.depthwiseRegularizer?.serialize() ?? null,
    };
  }
}

/** Depthwise then pointwise (1x1) convolution: fewer weights than Conv2D for the same receptive field. */
export class SeparableConv2D extends DepthwiseConv2D {
  static override readonly className: string = 'SeparableConv2D';
  readonly filters: number;
  readonly pointwiseInitializer: Initializer;
  readonly pointwiseRegularizer: Regularizer | null;
  pointwiseKernel: Variable | null = null;

  constructor(args: SeparableConv2DArgs) {
    super(args, ['filters', 'pointwiseInitializer', 'pointwiseRegularizer']);
    this.filters = positiveInt(this.who, 'filters', args.filters);
    this.pointwiseInitializer = initOption(this.who, 'pointwiseInitializer', args.pointwiseInitializer, 'glorotUniform');
    this.pointwiseRegularizer = regOption(this.who, 'pointwiseRegularizer', args.pointwiseRegularizer);
  }

  protected override outChannels(): number {
    return this.filters;
  }

  protected override buildMore(): void {
    this.pointwiseKernel = this.addWeight('pointwise_kernel', [1, 1, this.inChannels * this.depthMultiplier, this.filters], this.pointwiseInitializer, {
      regularizer: this.pointwiseRegularizer,
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [s[0], ...this.spatialOut(s), this.filters];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const y = separableConv2d(this.single(inputs), readWeight(this.depthwiseKernel!), readWeight(this.pointwiseKernel!), {
      ...this.bareWindow(), padding: this.padding as 'valid' | 'same', ...(this.bias ? { bias: readWeight(this.bias) } : {}),
      ...this.fusedActivation(),
    });
    return this.activateUnfused(y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      filters: this.filters,
      pointwiseInitializer: this.pointwiseInitializer.serialize(),
      pointwiseRegularizer: this.pointwiseRegularizer?.serialize() ?? null,
    };
  }
}

registerLayer(Conv1D);
registerLayer(Conv2D);
registerLayer(Conv2DTranspose);
registerLayer(DepthwiseConv2D);
registerLayer(SeparableConv2D);
