/**
 * RMSprop (Keras 3 `keras.optimizers.RMSprop`), with optional momentum and the centered variant.
 *
 * Update of weight w with gradient g, learning rate lr; slots `velocity` (always), `momentum` (momentum > 0),
 * `averageGradient` (centered), all starting at 0:
 *
 *     velocity = rho * velocity + (1 - rho) * g^2
 *     averageGradient = rho * averageGradient + (1 - rho) * g           (centered)
 *     denominator = velocity - averageGradient^2 + epsilon              (centered; the difference is clamped at 0)
 *                 = velocity + epsilon                                  (otherwise)
 *     increment = lr * g / sqrt(denominator)
 *     momentum = momentum * momentumSlot + increment; w = w - momentum  (momentum > 0)
 *     w = w - increment                                                 (otherwise)
 *
 * Defaults (Keras): learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false.
 *
 * Epsilon is inside the square root, as Keras (and TensorFlow's ApplyRMSProp). The centered difference can come
 * out slightly negative from float32 rounding when the gradient barely varies; Keras and PyTorch then produce
 * NaN, here it is clamped to 0 (the same value wherever theirs is a number).
 *
 * Where PyTorch differs: `torch.optim.RMSprop` divides by `sqrt(velocity) + eps` (epsilon outside the root; the
 * two agree at epsilon 0), calls rho `alpha` with a default of 0.99, and defaults to lr 0.01 and eps 1e-8. Its
 * momentum buffer holds `g / sqrt(...)` and is multiplied by lr afterwards, the same trajectory as Keras' while
 * the learning rate is constant.
 */
import { checkBoolean, checkKeys, checkNumber, type ConfigValue } from './schedules.js';
import { BASE_OPTION_KEYS, Optimizer, type OptimizerOptions } from './optimizer.js';

export interface RMSpropOptions extends OptimizerOptions {
  /** Decay of the squared-gradient average, in [0, 1). Default 0.9. */
  rho?: number;
  /** Momentum, in [0, 1). Default 0. */
  momentum?: number;
  /** Added to the denominator inside the square root (>= 0). Default 1e-7. */
  epsilon?: number;
  /** Normalise by the estimated variance of the gradient instead of its second moment. Default false. */
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  readonly className: string = 'RMSprop';
  readonly rho: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly centered: boolean;

  constructor(options: RMSpropOptions = {}) {
    checkKeys('RMSprop', options, [...BASE_OPTION_KEYS, 'rho', 'momentum', 'epsilon', 'centered']);
    super(options, 'rmsprop', 0.001);
    this.rho = checkNumber('RMSprop', 'rho', options.rho ?? 0.9, '[0,1)');
    this.momentum = checkNumber('RMSprop', 'momentum', options.momentum ?? 0, '[0,1)');
    this.epsilon = checkNumber('RMSprop', 'epsilon', options.epsilon ?? 1e-7, '>=0');
    this.centered = checkBoolean('RMSprop', 'centered', options.centered ?? false);
  }

  protected slotNames(): readonly string[] {
    const s = ['velocity'];
    if (this.momentum > 0) s.push('momentum');
    if (this.centered) s.push('averageGradient');
    return s;
  }

  protected updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, _t: number, keep: number): void {
    const rho = this.rho;
    const c = 1 - rho;
    const eps = this.epsilon;
    const mu = this.momentum;
    const vel = slots[0];
    const mom = mu > 0 ? slots[1] : null;
    const avg = this.centered ? slots[mu > 0 ? 2 : 1] : null;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const vi = rho * vel[i] + c * (gi * gi);
      vel[i] = vi;
      let den: number;
      if (avg !== null) {
        const ai = rho * avg[i] + c * gi;
        avg[i] = ai;
        const d = vi - ai * ai;
        den = (d > 0 ? d : 0) + eps;
      } else {
        den = vi + eps;
      }
      const inc = (lr * gi) / Math.sqrt(den);
      if (mom !== null) {
        const mi = mu * mom[i] + inc;
        mom[i] = mi;
        w[i] = w[i] * keep - mi;
      } else {
        w[i] = w[i] * keep - inc;
      }
    }
  }

  protected ownConfig(): Record<string, ConfigValue> {
    return { rho: this.rho, momentum: this.momentum, epsilon: this.epsilon, centered: this.centered };
  }
}
