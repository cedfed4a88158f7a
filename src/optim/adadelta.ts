/**
 * Adadelta (Keras 3 `keras.optimizers.Adadelta`).
 *
 * Update of weight w with gradient g, learning rate lr; slots `accumulatedGrad` and `accumulatedDeltaVar`
 * starting at 0, rms(x) = sqrt(x + epsilon):
 *
 *     accumulatedGrad = rho * accumulatedGrad + (1 - rho) * g^2
 *     delta = -rms(accumulatedDeltaVar) * g / rms(accumulatedGrad)
 *     accumulatedDeltaVar = rho * accumulatedDeltaVar + (1 - rho) * delta^2
 *     w = w + lr * delta
 *
 * Defaults (Keras): learningRate 0.001, rho 0.95, epsilon 1e-7. (Zeiler's paper has no learning rate, i.e. 1.0.)
 *
 * PyTorch's `torch.optim.Adadelta` is the same formula (epsilon inside both roots) with defaults lr 1.0, rho 0.9,
 * eps 1e-6.
 */
import { checkKeys, checkNumber, type ConfigValue } from './schedules.js';
import { BASE_OPTION_KEYS, Optimizer, type OptimizerOptions } from './optimizer.js';

export interface AdadeltaOptions extends OptimizerOptions {
  /** Decay of both running averages, in [0, 1). Default 0.95. */
  rho?: number;
  /** Added inside both square roots (>= 0). Default 1e-7. */
  epsilon?: number;
}

export class Adadelta extends Optimizer {
  readonly className: string = 'Adadelta';
  readonly rho: number;
  readonly epsilon: number;

  constructor(options: AdadeltaOptions = {}) {
    checkKeys('Adadelta', options, [...BASE_OPTION_KEYS, 'rho', 'epsilon']);
    super(options, 'adadelta', 0.001);
    this.rho = checkNumber('Adadelta', 'rho', options.rho ?? 0.95, '[0,1)');
    this.epsilon = checkNumber('Adadelta', 'epsilon', options.epsilon ?? 1e-7, '>=0');
  }

  protected slotNames(): readonly string[] {
    return ['accumulatedGrad', 'accumulatedDeltaVar'];
  }

  protected updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, _t: number, keep: number): void {
    const rho = this.rho;
    const c = 1 - rho;
    const eps = this.epsilon;
    const ag = slots[0];
    const ad = slots[1];
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const a = rho * ag[i] + c * (gi * gi);
      ag[i] = a;
      const delta = (-Math.sqrt(ad[i] + eps) * gi) / Math.sqrt(a + eps);
      ad[i] = rho * ad[i] + c * (delta * delta);
      w[i] = w[i] * keep + lr * delta;
    }
  }

  protected ownConfig(): Record<string, ConfigValue> {
    return { rho: this.rho, epsilon: this.epsilon };
  }
}
