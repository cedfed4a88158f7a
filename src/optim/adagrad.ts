/**
 * Adagrad (Keras 3 `keras.optimizers.Adagrad`).
 *
 * Update of weight w with gradient g, learning rate lr; slot `accumulator` starting at initialAccumulatorValue:
 *
 *     accumulator = accumulator + g^2
 *     w = w - lr * g / sqrt(accumulator + epsilon)
 *
 * Defaults (Keras): learningRate 0.001, initialAccumulatorValue 0.1, epsilon 1e-7.
 *
 * Where PyTorch differs: `torch.optim.Adagrad` divides by `sqrt(accumulator) + eps` (epsilon outside the root;
 * equal at epsilon 0), starts the accumulator at 0 and defaults to lr 0.01, eps 1e-10, with an extra `lr_decay`.
 */
import { checkKeys, checkNumber, type ConfigValue } from './schedules.js';
import { BASE_OPTION_KEYS, Optimizer, type OptimizerOptions } from './optimizer.js';

export interface AdagradOptions extends OptimizerOptions {
  /** The accumulator's starting value (>= 0). Default 0.1. */
  initialAccumulatorValue?: number;
  /** Added to the accumulator inside the square root (>= 0). Default 1e-7. */
  epsilon?: number;
}

export class Adagrad extends Optimizer {
  readonly className: string = 'Adagrad';
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor(options: AdagradOptions = {}) {
    checkKeys('Adagrad', options, [...BASE_OPTION_KEYS, 'initialAccumulatorValue', 'epsilon']);
    super(options, 'adagrad', 0.001);
    this.initialAccumulatorValue = checkNumber('Adagrad', 'initialAccumulatorValue', options.initialAccumulatorValue ?? 0.1, '>=0');
    this.epsilon = checkNumber('Adagrad', 'epsilon', options.epsilon ?? 1e-7, '>=0');
  }

  protected slotNames(): readonly string[] {
    return ['accumulator'];
  }

  protected override slotInitialValue(): number {
    return this.initialAccumulatorValue;
  }

  protected updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, _t: number, keep: number): void {
    const acc = slots[0];
    const eps = this.epsilon;
    const n = w.length;
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const a = acc[i] + gi * gi;
      acc[i] = a;
      w[i] = w[i] * keep - (lr * gi) / Math.sqrt(a + eps);
    }
  }

  protected ownConfig(): Record<string, ConfigValue> {
    return { initialAccumulatorValue: this.initialAccumulatorValue, epsilon: this.epsilon };
  }
}
