/**
 * Dense (Keras Dense): y = activation(x @ kernel + bias), kernel [in, units], bias [units]. Inputs of rank > 2
 * ([N, T, in]) apply the kernel to the last axis, as Keras.
 */
import type { Tensor } from '../tensor/tensor.js';
import { dense } from '../ops/dense.js';
import { type ActivationName, activationFn, activationName } from './activations.js';
import type { Initializer, InitializerIdentifier } from './initializers.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, readWeight, registerLayer } from './layer.js';
import { boolOption, initOption, regOption } from './options.js';
import type { Regularizer, RegularizerIdentifier } from './regularizers.js';
import { type Shape, fmtShape, positiveInt } from './shapes.js';
import type { Variable } from './variable.js';
import { ShapeError } from '../errors.js';

export interface DenseArgs extends LayerArgs {
  /** Output features. */
  units: number;
  /** Default 'linear'. */
  activation?: string | null;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
  kernelRegularizer?: RegularizerIdentifier | null;
  biasRegularizer?: RegularizerIdentifier | null;
}

const KEYS = ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'kernelRegularizer', 'biasRegularizer'];

export class Dense extends Layer {
  static override readonly className: string = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  readonly kernelRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  kernel: Variable | null = null;
  bias: Variable | null = null;

  constructor(args: DenseArgs) {
    super(args);
    this.checkArgs(args, KEYS);
    this.units = positiveInt(this.who, 'units', args.units);
    this.activation = activationName(args.activation, this.who);
    this.useBias = boolOption(this.who, 'useBias', args.useBias, true);
    this.kernelInitializer = initOption(this.who, 'kernelInitializer', args.kernelInitializer, 'glorotUniform');
    this.biasInitializer = initOption(this.who, 'biasInitializer', args.biasInitializer, 'zeros');
    this.kernelRegularizer = regOption(this.who, 'kernelRegularizer', args.kernelRegularizer);
    this.biasRegularizer = regOption(this.who, 'biasRegularizer', args.biasRegularizer);
    this.inputSpec = { minNdim: 2, layout: '[N, ..., features]' };
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    const inFeatures = s[s.length - 1];
    if (inFeatures === null) throw new ShapeError(`${this.who}: the last axis of the input ${fmtShape(s)} must be known to build the kernel`);
    this.kernel = this.addWeight('kernel', [inFeatures, this.units], this.kernelInitializer, { regularizer: this.kernelRegularizer });
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer, { regularizer: this.biasRegularizer });
    this.inputSpec = { minNdim: 2, axes: { [-1]: inFeatures }, layout: '[N, ..., features]' };
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = this.shapeOf(inputShape);
    return [...s.slice(0, -1), this.units];
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    const x = this.single(inputs);
    // relu runs in the matmul's epilogue (one pass over the output; the op's gradient masks by y > 0).
    const fused = this.activation === 'relu';
    const y = dense(x, readWeight(this.kernel!), { ...(this.bias ? { bias: readWeight(this.bias) } : {}), ...(fused ? { activation: 'relu' as const } : {}) });
    return fused ? y : activationFn(this.activation)(y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer.serialize(),
      biasInitializer: this.biasInitializer.serialize(),
      kernelRegularizer: this.kernelRegularizer?.serialize() ?? null,
      biasRegularizer: this.biasRegularizer?.serialize() ?? null,
    };
  }
}
registerLayer(Dense);
