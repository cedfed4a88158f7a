/**
 * SGD with optional momentum and Nesterov momentum (Keras 3 `keras.optimizers.SGD`).
 *
 * Update of weight w with gradient g, learning rate lr (slot `momentum` = velocity, only when momentum > 0):
 *
 *     momentum == 0:  w = w - lr * g
 *     momentum  > 0:  velocity = momentum * velocity - lr * g
 *                     w = w + velocity                              (nesterov false)
 *                     w = w + momentum * velocity - lr * g          (nesterov true)
 *
 * Defaults (Keras): learningRate 0.01, momentum 0, nesterov false.
 *
 * PyTorch's `torch.optim.SGD` keeps `buf = momentum * buf + g` (buf = g on the first step; dampening 0) and
 * does `w -= lr * buf` (Nesterov: `w -= lr * (g + momentum * buf)`). With a constant learning rate the two are
 * the same trajectory (velocity = -lr * buf); when the rate changes they differ, because Keras' velocity carries
 * the rates of earlier steps and PyTorch's buffer does not. PyTorch's `weight_decay` is an L2 term added to the
 * gradient; `weightDecay` here is decoupled (w -= w * weightDecay * lr), as Keras 3.
 */
import { checkBoolean, checkKeys, checkNumber, type ConfigValue } from './schedules.js';
import type { Tensor } from '../tensor/tensor.js';
import type { CudaBuffer } from '../backends/cuda/addon.js';
import { BASE_OPTION_KEYS, NATIVE_UPDATE_MIN_SIZE, Optimizer, isPlainF32, nativeOptimAddon, type OptimizerOptions } from './optimizer.js';

export interface SGDOptions extends OptimizerOptions {
  /** In [0, 1). Default 0 (plain gradient descent, no slot). */
  momentum?: number;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  readonly className: string = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(options: SGDOptions = {}) {
    checkKeys('SGD', options, [...BASE_OPTION_KEYS, 'momentum', 'nesterov']);
    super(options, 'SGD', 0.01);
    this.momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0, '[0,1)');
    this.nesterov = checkBoolean('SGD', 'nesterov', options.nesterov ?? false);
  }

  protected slotNames(): readonly string[] {
    return this.momentum !== 0 ? ['momentum'] : [];
  }

  protected updateVariable(w: Float32Array, g: Float32Array, slots: Float32Array[], lr: number, _t: number, keep: number): void {
    const n = w.length;
    const mu = this.momentum;
    if (n >= NATIVE_UPDATE_MIN_SIZE) {
      // The same arithmetic in the addon (native/runtime/optim.cc), threaded: bit-identical to the loops below.
      const addon = nativeOptimAddon();
      const vel = mu === 0 ? null : slots[0];
      if (addon && isPlainF32(w) && isPlainF32(g) && (vel === null || isPlainF32(vel))) {
        addon.sgdUpdateF32(w, g, vel, lr, mu, this.nesterov, keep);
        return;
      }
    }
    if (mu === 0) {
      for (let i = 0; i < n; i++) w[i] = w[i] * keep - lr * g[i];
      return;
    }
    const vel = slots[0];
    if (this.nesterov) {
      for (let i = 0; i < n; i++) {
        const gi = lr * g[i];
        const m = mu * vel[i] - gi;
        vel[i] = m;
        w[i] = w[i] * keep + (mu * m - gi);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const m = mu * vel[i] - lr * g[i];
        vel[i] = m;
        w[i] = w[i] * keep + m;
      }
    }
  }

  /**
   * The CUDA kernel (native/cuda/kernels/optim.cu): the same float operations as updateVariable, bit for bit, and
   * nothing written when the probe is not finite.
   */
  protected override updateVariableOnDevice(w: Tensor, g: Tensor, slots: Tensor[], lr: number, _t: number, keep: number, probe: Tensor | null): void {
    const ws = w.deviceStorage!;
    const buf = (x: Tensor): CudaBuffer => x.deviceStorage!.buffer;
    ws.addon.sgdUpdateF32(ws.buffer, buf(g), this.momentum === 0 ? null : buf(slots[0]), lr, this.momentum, this.nesterov, keep,
      probe && buf(probe));
  }

  protected override get guardsDeviceUpdates(): boolean {
    return true;
  }

  protected ownConfig(): Record<string, ConfigValue> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }
}
