/**
 * BatchNormalization (Keras): normalises the last (channel) axis.
 * - training (and the layer trainable): batch mean and biased variance; the moving statistics are updated in
 *   place, outside the tape, as moving = moving * momentum + batch * (1 - momentum).
 * - inference, or a frozen layer (trainable false, as Keras 2.1+ for fine-tuning): the moving statistics, and
 *   nothing is updated.
 * Weights: gamma (scale), beta (center), moving_mean, moving_variance (never trainable).
 */
import { ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/tape.js';
import { batchNorm } from '../ops/batchnorm.js';
import type { Initializer, InitializerIdentifier } from './initializers.js';
import { type CallOptions, type LayerArgs, type LayerConfig, Layer, readWeight, registerLayer } from './layer.js';
import { boolOption, initOption, regOption } from './options.js';
import type { Regularizer, RegularizerIdentifier } from './regularizers.js';
import { type Shape, fmtShape } from './shapes.js';
import type { Variable } from './variable.js';

export interface BatchNormalizationArgs extends LayerArgs {
  /** The normalised axis: only -1 (channels last); default -1. */
  axis?: number;
  /** Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  epsilon?: number;
  /** Learn beta (default true). */
  center?: boolean;
  /** Learn gamma (default true). */
  scale?: boolean;
  betaInitializer?: InitializerIdentifier;
  gammaInitializer?: InitializerIdentifier;
  movingMeanInitializer?: InitializerIdentifier;
  movingVarianceInitializer?: InitializerIdentifier;
  betaRegularizer?: RegularizerIdentifier | null;
  gammaRegularizer?: RegularizerIdentifier | null;
}

const KEYS = [
  'axis', 'momentum', 'epsilon', 'center', 'scale', 'betaInitializer', 'gammaInitializer', 'movingMeanInitializer',
  'movingVarianceInitializer', 'betaRegularizer', 'gammaRegularizer',
];

export class BatchNormalization extends Layer {
  static override readonly className: string = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: Initializer;
  readonly gammaInitializer: Initializer;
  readonly movingMeanInitializer: Initializer;
  readonly movingVarianceInitializer: Initializer;
  readonly betaRegularizer: Regularizer | null;
  readonly gammaRegularizer: Regularizer | null;
  gamma: Variable | null = null;
  beta: Variable | null = null;
  movingMean: Variable | null = null;
  movingVariance: Variable | null = null;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args);
    this.checkArgs(args, KEYS);
    this.axis = args.axis ?? -1;
    if (this.axis !== -1) {
      throw new ValueError(`${this.who}: option 'axis' must be -1 (the channel axis of channels-last data), got ${JSON.stringify(args.axis)}`);
    }
    this.momentum = args.momentum ?? 0.99;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ValueError(`${this.who}: option 'momentum' must be in [0, 1], got ${JSON.stringify(args.momentum)}`);
    }
    this.epsilon = args.epsilon ?? 1e-3;
    if (typeof this.epsilon !== 'number' || !(this.epsilon > 0) || !Number.isFinite(this.epsilon)) {
      throw new ValueError(`${this.who}: option 'epsilon' must be a finite number > 0, got ${JSON.stringify(args.epsilon)}`);
    }
    this.center = boolOption(this.who, 'center', args.center, true);
    this.scale = boolOption(this.who, 'scale', args.scale, true);
    this.betaInitializer = initOption(this.who, 'betaInitializer', args.betaInitializer, 'zeros');
    this.gammaInitializer = initOption(this.who, 'gammaInitializer', args.gammaInitializer, 'ones');
    this.movingMeanInitializer = initOption(this.who, 'movingMeanInitializer', args.movingMeanInitializer, 'zeros');
    this.movingVarianceInitializer = initOption(this.who, 'movingVarianceInitializer', args.movingVarianceInitializer, 'ones');
    this.betaRegularizer = regOption(this.who, 'betaRegularizer', args.betaRegularizer);
    this.gammaRegularizer = regOption(this.who, 'gammaRegularizer', args.gammaRegularizer);
    this.inputSpec = { minNdim: 2, layout: '[N, ..., C]' };
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = this.shapeOf(inputShape);
    const c = s[s.length - 1];
    if (c === null) throw new ShapeError(`${this.who}: the channel axis of the input ${fmtShape(s)} must be known to build`);
    if (this.scale) this.gamma = this.addWeight('gamma', [c], this.gammaInitializer, { regularizer: this.gammaRegularizer });
    if (this.center) this.beta = this.addWeight('beta', [c], this.betaInitializer, { regularizer: this.betaRegularizer });
    this.movingMean = this.addWeight('moving_mean', [c], this.movingMeanInitializer, { trainable: false });
    this.movingVariance = this.addWeight('moving_variance', [c], this.movingVarianceInitializer, { trainable: false });
    this.inputSpec = { minNdim: 2, axes: { [-1]: c }, layout: '[N, ..., C]' };
    super.build(inputShape);
  }

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor {
    const x = this.single(inputs);
    // A frozen layer normalises with its moving statistics even while the model trains (Keras fine-tuning).
    const training = (opts.training ?? false) && this.trainable;
    const movingMean = readWeight(this.movingMean!);
    const movingVar = readWeight(this.movingVariance!);
    const r = batchNorm(x, {
      ...(this.gamma ? { gamma: readWeight(this.gamma) } : {}),
      ...(this.beta ? { beta: readWeight(this.beta) } : {}),
      movingMean, movingVar, epsilon: this.epsilon, momentum: this.momentum, training,
    });
    if (training && r.movingMean && r.movingVar) {
      const [m, v] = [r.movingMean, r.movingVar];
      noGrad(() => {
        this.movingMean!.assign(m);
        this.movingVariance!.assign(v);
      });
      m.dispose();
      v.dispose();
    }
    return r.y;
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer.serialize(),
      gammaInitializer: this.gammaInitializer.serialize(),
      movingMeanInitializer: this.movingMeanInitializer.serialize(),
      movingVarianceInitializer: this.movingVarianceInitializer.serialize(),
      betaRegularizer: this.betaRegularizer?.serialize() ?? null,
      gammaRegularizer: this.gammaRegularizer?.serialize() ?? null,
    };
  }
}
registerLayer(BatchNormalization);
