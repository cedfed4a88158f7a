/**
 * Weight and activity regularizers (keras.regularizers): l1 (rate * sum|w|), l2 (rate * sum w^2, no 1/2 as
 * Keras), l1l2. A layer adds the penalty of each regularised weight to `regularizationLoss()`, which the training
 * loop adds to the loss, so the penalty's gradient reaches the weight through autograd.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

export type RegularizerConfig = {
  className: string;
  config: Record<string, number>;
};

/** A name ('l1', 'l2', 'l1l2' / 'l1_l2', default rates), a Regularizer, or a config. */
export type RegularizerIdentifier = string | Regularizer | RegularizerConfig;

function rate(who: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new ValueError(`${who}: option '${arg}' must be a finite number >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

export class Regularizer {
  readonly className: string;
  readonly l1: number;
  readonly l2: number;
  constructor(className: 'L1' | 'L2' | 'L1L2', l1: number, l2: number) {
    this.className = className;
    this.l1 = rate(className, 'l1', l1);
    this.l2 = rate(className, 'l2', l2);
  }
  /** The penalty of x: a scalar tensor that records for autograd when x requires grad. */
  apply(x: Tensor): Tensor {
    let p: Tensor | null = null;
    if (this.l1 > 0) p = x.abs().sum().mul(this.l1);
    if (this.l2 > 0) {
      const q = x.square().sum().mul(this.l2);
      p = p ? p.add(q) : q;
    }
    return p ?? x.sum().mul(0);
  }
  serialize(): RegularizerConfig {
    if (this.className === 'L1') return { className: 'L1', config: { l1: this.l1 } };
    if (this.className === 'L2') return { className: 'L2', config: { l2: this.l2 } };
    return { className: 'L1L2', config: { l1: this.l1, l2: this.l2 } };
  }
}

/** rate * sum|w| (Keras default rate 0.01). */
export function l1(rateL1 = 0.01): Regularizer {
  return new Regularizer('L1', rateL1, 0);
}
/** rate * sum w^2 (Keras default rate 0.01). */
export function l2(rateL2 = 0.01): Regularizer {
  return new Regularizer('L2', 0, rateL2);
}
/** l1 * sum|w| + l2 * sum w^2 (keras.regularizers.l1_l2 defaults 0.01 each). */
export function l1l2(args: { l1?: number; l2?: number } = {}): Regularizer {
  return new Regularizer('L1L2', args.l1 ?? 0.01, args.l2 ?? 0.01);
}

/** The Regularizer an option names; `who` names the layer and option in the error. */
export function getRegularizer(id: RegularizerIdentifier, who = 'getRegularizer'): Regularizer {
  if (id instanceof Regularizer) return id;
  const key = (typeof id === 'string' ? id : id && typeof id === 'object' ? id.className : '').replace(/_/g, '').toLowerCase();
  const cfg = typeof id === 'object' && id ? id.config ?? {} : {};
  if (key === 'l1') return l1(cfg.l1);
  if (key === 'l2') return l2(cfg.l2);
  if (key === 'l1l2') return typeof id === 'string' ? l1l2() : new Regularizer('L1L2', cfg.l1 ?? 0, cfg.l2 ?? 0);
  throw new ValueError(`${who}: unknown regularizer ${JSON.stringify(id)}; known: 'l1', 'l2', 'l1l2'`);
}
