/**
 * Variable: a named, mutable weight of a layer or model (Keras' tf.Variable / PyTorch's Parameter).
 *
 * `value` is a leaf tensor that requires grad when the variable is trainable; ops on it record for autograd
 * and backward() leaves the gradient in `value.grad`. Optimizers and loading change the values in place
 * (`assign`, `assignSub`, or writing `value.data` in an update kernel), so the tensor object, and every
 * reference a layer holds to it, stays the same across training.
 */
import { DTypeError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Device } from '../backends/cuda/device-storage.js';

export class Variable {
  /** Unique within a model, "layerName/weightName" (e.g. "conv2d_1/kernel"); the key in saved files. */
  name: string;
  /** The current value: a float32 leaf, never disposed by scopes. */
  readonly value: Tensor;
  #trainable: boolean;

  constructor(name: string, initial: Tensor, trainable = true) {
    if (initial.dtype !== 'float32') throw new DTypeError(`Variable '${name}': initial value must be float32, got ${initial.dtype}`);
    this.name = name;
    // An own copy, so the caller's tensor and this variable never alias.
    this.value = keep(new Tensor(Float32Array.from(initial.data as Float32Array), initial.shape));  // on the CPU; model.to() moves it
    this.#trainable = trainable;
    this.value.requiresGrad = trainable;
  }

  get shape(): readonly number[] {
    return this.value.shape;
  }
  get size(): number {
    return this.value.size;
  }
  /** Whether optimizers update it and backward computes its gradient. */
  get trainable(): boolean {
    return this.#trainable;
  }
  set trainable(flag: boolean) {
    this.#trainable = flag;
    this.value.requiresGrad = flag;
    if (!flag) this.zeroGrad();
  }
  /** The gradient left by the last backward pass(es), or null. */
  get grad(): Tensor | null {
    return this.value.grad;
  }
  zeroGrad(): void {
    this.value.grad?.dispose();
    this.value.grad = null;
  }

  /** Where the value lives ('cpu' | 'cuda'). */
  get device(): Device {
    return this.value.device;
  }

  /** Moves the value to `device` in place (the same tensor object; its gradient is dropped). */
  to(device: Device): void {
    this.value.relocate(device);
  }

  /** Copies `v` into the value in place, across devices if need be; shapes must match. */
  assign(v: Tensor | Float32Array): void {
    if (v instanceof Tensor && !shapesEqual(v.shape, this.shape)) {
      throw new ShapeError(`Variable '${this.name}': cannot assign a value of shape ${fmtShape(v.shape)} to shape ${fmtShape(this.shape)}`);
    }
    const dst = this.value.device === 'cuda' ? this.value.deviceStorage : null;
    if (dst !== null && v instanceof Tensor && v.device === 'cuda') {
      if (v.dtype !== 'float32') throw new DTypeError(`Variable '${this.name}': cannot assign a ${v.dtype} value`);
      dst.addon.copy(dst.buffer, v.deviceStorage!.buffer);  // device to device, nothing read back
      return;
    }
    const data = v instanceof Tensor ? v.data : v;
    if (data.length !== this.size) throw new ShapeError(`Variable '${this.name}': cannot assign ${data.length} values to shape ${fmtShape(this.shape)}`);
    if (dst !== null) dst.upload(data instanceof Float32Array ? data : Float32Array.from(data));
    else (this.value.data as Float32Array).set(data);
  }

  /** A copy of the current value, detached (for checkpoints and restoreBestWeights). */
  read(): Tensor {
    return new Tensor(Float32Array.from(this.value.data as Float32Array), this.shape);
  }
}
