/**
 * Adam and AdamW (Keras 3 `keras.optimizers.Adam` / `AdamW`), with AMSGrad.
 *
 * Update of weight w with gradient g at step t (1-based), learning rate lr; slots `m`, `v` (and `vHat` with
 * amsgrad), all starting at 0:
 *
 *     alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)        (bias correction folded into the step size)
 *     m = m + (g - m) * (1 - beta1)
 *     v = v + (g^2 - v) * (1 - beta2)
 *     vHat = max(vHat, v), and vHat replaces v below         (amsgrad)
 *     w = w - alpha * m / (sqrt(v) + epsilon)
 *
 * Defaults (Keras): learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, amsgrad false. AdamW is Adam with
 * decoupled weight decay on by default (weightDecay 0.004, applied before the update: w = w - w * wd * lr).
 *
 * Where PyTorch differs: `torch.optim.Adam` divides by `sqrt(v) / sqrt(1 - beta2^t) + eps`, i.e. its epsilon
 * sits outside the bias correction; Keras' epsilon is the paper's "epsilon hat", equal to PyTorch's
 * `eps * sqrt(1 - beta2^t)`, so the two agree exactly only at epsilon 0 (and PyTorch's default eps is 1e-8).
 * PyTorch's AMSGrad takes the same maximum of the raw v. PyTorch's Adam `weight_decay` is an L2 term added to
 * the gradient; its AdamW decays as here (`w *= 1 - lr * wd`) but with a default weight_decay of 0.01.
 */
import { ValueError } from '../errors.js';
import { checkBoolean, checkKeys, checkNumber, type ConfigValue } from './schedules.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CudaBuffer } from '../backends/cuda/addon.js';
import { BASE_OPTION_KEYS, NATIVE_UPDATE_MIN_SIZE, Optimizer, isPlainF32, nativeOptimAddon, type OptimizerOptions } from './optimizer.js';

export interface AdamOptions extends OptimizerOptions {
  /** Decay of the first moment, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the second moment, in [0, 1). Default 0.999. */
  beta2?: number;
  /**
   * Added to sqrt(v) (>= 0; "epsilon hat"). Default 1e-7. With 0, an element whose gradient has been exactly 0
   * on every step so far computes 0 / 0 = NaN (as in Keras and PyTorch).
   */
  epsilon?: number;
  /** Use the running maximum of v (Reddi et al. 2018). Default false. */
  amsgrad?: boolean;
}

export class Adam extends Optimizer {
  readonly className: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly amsgrad: boolean;

  constructor(options: AdamOptions = {}, defaultName = 'adam') {
    checkKeys(new.target.name, options, [...BASE_OPTION_KEYS, 'beta1', 'beta2', 'epsilon', 'amsgrad']);
    super(options, defaultName, 0.001);
    const op = new.target.name;
    this.beta1 = checkNumber(op, 'beta1', options.beta1 ?? 0.9, '[0,1)');
    this.beta2 = checkNumber(op, 'beta2', options.beta2 ?? 0.999, '[0,1)');
    this.epsilon = checkNumber(op, 'epsilon', options.epsilon ?? 1e-7, '>=0');
    this.amsgrad = checkBoolean(op, 'amsgrad', options.amsgrad ?? false);
  }

  protected slotNames(): readonly string[] {
    return this.amsgrad ? ['m', 'v', 'vHat'] : ['m', 'v'];
  }

  protected updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, t: number, keep: number): void {
    const b1 = this.beta1;
    const b2 = this.beta2;
    const alpha = (lr * Math.sqrt(1 - Math.pow(b2, t))) / (1 - Math.pow(b1, t));
    const c1 = 1 - b1;
    const c2 = 1 - b2;
    const eps = this.epsilon;
    const m = slots[0];
    const v = slots[1];
    const n = w.length;
    if (n >= NATIVE_UPDATE_MIN_SIZE) {
      // The same arithmetic in the addon (native/runtime/optim.cc), threaded: bit-identical to the loops below.
      const addon = nativeOptimAddon();
      const vh = this.amsgrad ? slots[2] : null;
      if (addon && isPlainF32(w) && isPlainF32(g) && isPlainF32(m) && isPlainF32(v) && (vh === null || isPlainF32(vh))) {
        addon.adamUpdateF32(w, g, m, v, vh, alpha, c1, c2, eps, keep);
        return;
      }
    }
    if (this.amsgrad) {
      const vh = slots[2];
      for (let i = 0; i < n; i++) {
        const gi = g[i];
        const mi = m[i] + (gi - m[i]) * c1;
        const vi = v[i] + (gi * gi - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        // The maximum of the stored (float32) values, as a float32 slot would hold it.
        const vs = v[i];
        const vhi = vh[i] > vs ? vh[i] : vs;
        vh[i] = vhi;
        w[i] = w[i] * keep - (alpha * mi) / (Math.sqrt(vhi) + eps);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const gi = g[i];
        const mi = m[i] + (gi - m[i]) * c1;
        const vi = v[i] + (gi * gi - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * keep - (alpha * mi) / (Math.sqrt(vi) + eps);
      }
    }
  }

  /**
   * The CUDA kernel (native/cuda/kernels/optim.cu): the same float operations as updateVariable, bit for bit, and
   * nothing written when the probe is not finite.
   */
  protected override updateVariableOnDevice(w: Tensor, g: Tensor, slots: Tensor[], lr: number, t: number, keep: number, probe: Tensor | null): void {
    const alpha = (lr * Math.sqrt(1 - Math.pow(this.beta2, t))) / (1 - Math.pow(this.beta1, t));
    const ws = w.deviceStorage!;
    const buf = (x: Tensor): CudaBuffer => x.deviceStorage!.buffer;
    ws.addon.adamUpdateF32(ws.buffer, buf(g), buf(slots[0]), buf(slots[1]), this.amsgrad ? buf(slots[2]) : null, alpha,
      1 - this.beta1, 1 - this.beta2, this.epsilon, keep, probe && buf(probe));
  }

  protected override get guardsDeviceUpdates(): boolean {
    return true;
  }

  protected ownConfig(): Record<string, ConfigValue> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, amsgrad: this.amsgrad };
  }
}

/** Adam with decoupled weight decay, on by default (Keras 3 AdamW: weightDecay 0.004). */
export class AdamW extends Adam {
  override readonly className: string = 'AdamW';

  constructor(options: AdamOptions = {}) {
    if (options.weightDecay === null) throw new ValueError(`AdamW: 'weightDecay' must be a number >= 0, got null (use Adam for no decay)`);
    super({ ...options, weightDecay: options.weightDecay ?? 0.004 }, 'adamw');
  }
}
