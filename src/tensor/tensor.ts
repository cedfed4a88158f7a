/**
 * Tensor: an immutable view of a dense row-major float32 or int32 array with a shape (or float64, for gradient
 * checks and reference computations: see dtype.ts).
 * Storage is an ordinary JS typed array (GC-managed: no dispose, no tidy), or, for a tensor moved with
 * `to('cuda')`, a device buffer (src/backends/cuda/device-storage.ts: freed by dispose() at once, or by a finalizer
 * when the tensor is collected). Ops on CUDA tensors run on the CUDA backend and return CUDA tensors
 * (src/backends/registry.ts backendFor). Reshapes share storage; every other op returns a new tensor. Methods
 * here are thin aliases of the functions in the sibling modules, which own validation and error messages.
 */
import { DTypeError, DeviceError, NodegradError, ShapeError, fmtShape } from '../errors.js';
import type { KTensor } from '../backends/backend.js';
import { type DType, dtypeOf } from './dtype.js';
import { sizeOf } from './shape.js';
import * as ew from './elementwise.js';
import * as red from './reduction.js';
import * as man from './manipulation.js';
import * as lin from './linalg.js';
import * as sm from './softmax.js';
import { formatTensor, toNested, type Nested } from './format.js';
import { releaseStorage, retainStorage } from '../backends/storage.js';
import {
  type Device, DeviceKTensor, DeviceStorage, checkDevice, cudaAddonFor, dropStorage, holdStorage,
} from '../backends/cuda/device-storage.js';
import { track } from './scope.js';
import { record, type GradNode } from '../autograd/tape.js';
import { backward as runBackward, type BackwardOptions } from '../autograd/engine.js';

export type TensorData = Float32Array | Int32Array | Float64Array;
/** A tensor, or a number broadcast as a scalar tensor. */
export type TensorOrScalar = Tensor | number;

export class Tensor implements KTensor<TensorData> {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Where the storage lives: 'cpu' (a typed array) or 'cuda' (device memory); changes only under model.to(). */
  readonly device: Device = 'cpu';
  /** Host storage; null on a CUDA tensor and after dispose(). */
  #data: TensorData | null;
  /** Device storage of a CUDA tensor (null on the CPU and after dispose()). */
  #dev: DeviceStorage | null = null;
  /** Whether autograd tracks ops on this tensor (set on leaves with requireGrad; ops propagate it). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(); null before, or after zeroGrad. */
  grad: Tensor | null = null;
  /** The op that computed this tensor, while its graph is alive (null for leaves). Internal to autograd. */
  gradNode: GradNode | null = null;

  /**
   * Wraps storage without copying; `data.length` must equal the product of `shape`. A DeviceStorage (internal:
   * kernels' outputs and to('cuda')) makes a CUDA tensor.
   */
  constructor(data: TensorData | DeviceStorage, shape: readonly number[]) {
    let dev: DeviceStorage | null = null;
    if (!(data instanceof Float32Array) && !(data instanceof Int32Array) && !(data instanceof Float64Array)) {
      if (!(data instanceof DeviceStorage)) {
        throw new DTypeError(`Tensor: argument 'data' must be a Float32Array, Int32Array or Float64Array, got ${Object.prototype.toString.call(data)}`);
      }
      dev = data;
    }
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new ShapeError(`Tensor: argument 'data' has ${data.length} elements but shape ${fmtShape(shape)} needs ${size}`);
    }
    this.size = size;
    this.shape = Object.freeze([...shape]);
    if (dev === null) {
      this.#data = data as TensorData;
      this.dtype = dtypeOf(data as TensorData);
      if (!(data instanceof Float64Array)) retainStorage(data as Float32Array | Int32Array); // the pool holds only float32/int32 storage
    } else {
      this.#data = null;
      this.#dev = dev;
      this.device = 'cuda';
      this.dtype = dev.dtype;
      holdStorage(this, dev);
    }
    track(this);
  }

  /**
   * The storage, row-major. Treat as read-only: reshaped tensors may share it. On a CUDA tensor every read
   * downloads a fresh host copy (writes to it change nothing): read it once into a variable.
   */
  get data(): TensorData {
    if (this.#data === null) return this.#hostCopy();
    return this.#data;
  }

  #hostCopy(): TensorData {
    if (this.#dev === null) throw new NodegradError(`Tensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    return this.#dev.download();
  }

  /** The device buffer of a CUDA tensor (null on the CPU). Internal to the CUDA backend and the optimizers. */
  get deviceStorage(): DeviceStorage | null {
    if (this.#dev === null && this.#data === null) throw new NodegradError(`Tensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    return this.#dev;
  }

  // --- devices ---------------------------------------------------------------------------------
  /**
   * This tensor on `device`: a new tensor holding a copy (upload or download), without autograd history
   * (PyTorch's .to() is differentiable; here moving is for data and weights, not inside a graph). On its own device
   * it returns itself, as PyTorch's .to() does. to('cuda') throws a DeviceError when CUDA is not available
   * (model.to('cuda') instead warns once and stays on the CPU). float64 tensors cannot move to CUDA.
   */
  to(device: Device): Tensor {
    checkDevice('to', device);
    if (device === this.device) return this;
    if (device === 'cpu') return new Tensor(this.data, this.shape);
    if (this.dtype === 'float64') throw new DTypeError(`to: float64 tensors cannot move to 'cuda' (cast to float32 first), got shape ${fmtShape(this.shape)}`);
    const addon = cudaAddonFor('to');
    return new Tensor(DeviceStorage.fromHost(addon, this.data as Float32Array | Int32Array), this.shape);
  }

  /**
   * Moves this tensor's storage to `device` in place (same object, new storage); the old storage is released
   * and `grad` dropped. Internal: for Variables (model.to), whose tensor objects layers hold on to.
   */
  relocate(device: Device): void {
    checkDevice('relocate', device);
    if (device === this.device) return;
    if (this.gradNode) throw new DeviceError('relocate: only leaf tensors (variables) can move in place');
    const host = this.data;
    const moved = this.to(device);  // validates (float64, CUDA availability) before anything changes
    this.grad?.dispose();
    this.grad = null;
    if (this.#dev !== null) dropStorage(this, this.#dev);
    else if (!(host instanceof Float64Array)) releaseStorage(host as Float32Array | Int32Array);
    if (device === 'cpu') {
      this.#dev = null;
      this.#data = moved.#data;
      retainStorage(this.#data as Float32Array | Int32Array);
    } else {
      this.#data = null;
      this.#dev = moved.#dev;
      holdStorage(this, this.#dev!);
    }
    (this as { device: Device }).device = device;
    moved.dispose();
  }

  /**
   * The same storage seen with another shape of the same size, on either device, with no autograd record (reshape()
   * records). Internal to the ops.
   */
  withShape(shape: readonly number[]): Tensor {
    return this.#data === null && this.#dev !== null ? new Tensor(this.#dev, shape) : new Tensor(this.data, shape);
  }

  // --- autograd ------------------------------------------------------------------------------
  /** Marks this leaf as requiring grad (float tensors only: float32, or float64 for gradient checks); returns this. */
  requireGrad(flag = true): this {
    if (flag && this.dtype === 'int32') {
      throw new DTypeError(`requireGrad: only float32 tensors can require grad (or float64, for gradient checks), got ${this.dtype} of shape ${fmtShape(this.shape)}`);
    }
    if (this.gradNode && !flag) throw new NodegradError('requireGrad: cannot turn off requiresGrad on a tensor computed by an op; use detach()');
    this.requiresGrad = flag;
    return this;
  }
  /** Back-propagates from this tensor into `.grad` of the leaves it depends on (see autograd/engine.ts). */
  backward(gradient?: Tensor, opts: Omit<BackwardOptions, 'gradient'> = {}): void {
    runBackward(this, { ...opts, gradient });
  }
  /** The same values (shared storage) with no autograd history. */
  detach(): Tensor {
    return this.withShape(this.shape);
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.#data === null && this.#dev === null;
  }

  /**
   * Gives the storage back for reuse once no other tensor shares it (views from reshape do). Optional: tensors
   * that are never disposed are garbage-collected. Using the tensor afterwards throws; disposing twice is a
   * no-op. Do not keep `data` arrays of a disposed tensor: their memory may hold another tensor's values.
   */
  dispose(): void {
    if (this.#data === null) {
      if (this.#dev !== null) {  // a CUDA tensor: the buffer is freed now if no other tensor views it
        dropStorage(this, this.#dev);
        this.#dev = null;
      }
      return;
    }
    if (!(this.#data instanceof Float64Array)) releaseStorage(this.#data);
    this.#data = null;
  }

  /** Wraps a kernel's output, keeping its array type (float64 comes only from float64 inputs). */
  static fromKernel(k: KTensor): Tensor {
    if (k instanceof DeviceKTensor) {  // a CUDA kernel's output: wrap the device buffer
      const t = new Tensor(k.storage, k.shape);
      k.adopted();
      return t;
    }
    return new Tensor(k.data, k.shape);
  }


  get rank(): number {
    return this.shape.length;
  }

  // --- reading ---------------------------------------------------------------------------------
  /** Nested JS arrays (a number for a scalar). */
  toArray(): Nested {
    return toNested(this.data, this.shape);
  }
  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: tensor of shape ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return this.data[0];
  }
  /** A copy of the storage (on CUDA: a download). */
  dataSync(): TensorData {
    return this.#data === null ? this.data : this.#data.slice();
  }
  toString(): string {
    return formatTensor(this);
  }
  print(): void {
    console.log(formatTensor(this));
  }
  /** A copy of the storage (differentiable: the gradient passes through). */
  clone(): Tensor {
    const c = this.device === 'cpu' ? new Tensor(this.data.slice(), this.shape) : this.#deviceClone();
    return record('clone', c, [this], (g) => [g]);
  }

  #deviceClone(): Tensor {
    const src = this.deviceStorage!;
    const s = DeviceStorage.alloc(src.addon, src.length, src.dtype);
    src.addon.copy(s.buffer, src.buffer);
    return new Tensor(s, this.shape);
  }

  // --- shape and data movement -----------------------------------------------------------------
  reshape(shape: readonly number[]): Tensor { return man.reshape(this, shape); }
  flatten(): Tensor { return man.reshape(this, [this.size]); }
  expandDims(axis = 0): Tensor { return man.expandDims(this, axis); }
  squeeze(axis?: number | readonly number[]): Tensor { return man.squeeze(this, axis); }
  permute(perm: readonly number[]): Tensor { return man.permute(this, perm); }
  /** Reverses the axes, or applies `perm`. */
  transpose(perm?: readonly number[]): Tensor { return man.transpose(this, perm); }
  slice(begin: readonly number[], size?: readonly number[]): Tensor { return man.slice(this, begin, size); }
  gather(indices: Tensor | readonly number[], axis = 0): Tensor { return man.gather(this, indices, axis); }
  split(sizesOrCount: number | readonly number[], axis = 0): Tensor[] { return man.split(this, sizesOrCount, axis); }
  pad(paddings: readonly (readonly [number, number])[], options?: man.PadOptions): Tensor { return man.pad(this, paddings, options); }
  broadcastTo(shape: readonly number[]): Tensor { return man.broadcastTo(this, shape); }
  tile(reps: readonly number[]): Tensor { return man.tile(this, reps); }
  cast(dtype: DType): Tensor { return man.cast(this, dtype); }

  // --- arithmetic and comparison (broadcasting) --------------------------------------------------
  add(b: TensorOrScalar): Tensor { return ew.add(this, b); }
  sub(b: TensorOrScalar): Tensor { return ew.sub(this, b); }
  mul(b: TensorOrScalar): Tensor { return ew.mul(this, b); }
  div(b: TensorOrScalar): Tensor { return ew.div(this, b); }
  pow(b: TensorOrScalar): Tensor { return ew.pow(this, b); }
  maximum(b: TensorOrScalar): Tensor { return ew.maximum(this, b); }
  minimum(b: TensorOrScalar): Tensor { return ew.minimum(this, b); }
  mod(b: TensorOrScalar): Tensor { return ew.mod(this, b); }
  floorDiv(b: TensorOrScalar): Tensor { return ew.floorDiv(this, b); }
  squaredDifference(b: TensorOrScalar): Tensor { return ew.squaredDifference(this, b); }
  equal(b: TensorOrScalar): Tensor { return ew.equal(this, b); }
  notEqual(b: TensorOrScalar): Tensor { return ew.notEqual(this, b); }
  less(b: TensorOrScalar): Tensor { return ew.less(this, b); }
  lessEqual(b: TensorOrScalar): Tensor { return ew.lessEqual(this, b); }
  greater(b: TensorOrScalar): Tensor { return ew.greater(this, b); }
  greaterEqual(b: TensorOrScalar): Tensor { return ew.greaterEqual(this, b); }
  clip(min: number, max: number): Tensor { return ew.clip(this, min, max); }

  // --- unary maths -------------------------------------------------------------------------------
  neg(): Tensor { return ew.neg(this); }
  abs(): Tensor { return ew.abs(this); }
  sign(): Tensor { return ew.sign(this); }
  square(): Tensor { return ew.square(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  rsqrt(): Tensor { return ew.rsqrt(this); }
  reciprocal(): Tensor { return ew.reciprocal(this); }
  exp(): Tensor { return ew.exp(this); }
  expm1(): Tensor { return ew.expm1(this); }
  log(): Tensor { return ew.log(this); }
  log1p(): Tensor { return ew.log1p(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  floor(): Tensor { return ew.floor(this); }
  ceil(): Tensor { return ew.ceil(this); }
  round(): Tensor { return ew.round(this); }
  erf(): Tensor { return ew.erf(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  relu6(): Tensor { return ew.relu6(this); }
  leakyRelu(alpha?: number): Tensor { return ew.leakyRelu(this, alpha); }
  elu(alpha?: number): Tensor { return ew.elu(this, alpha); }
  selu(): Tensor { return ew.selu(this); }
  softplus(): Tensor { return ew.softplus(this); }
  softsign(): Tensor { return ew.softsign(this); }
  gelu(): Tensor { return ew.gelu(this); }
  silu(): Tensor { return ew.silu(this); }

  // --- reductions ----------------------------------------------------------------------------------
  sum(axis?: number | readonly number[], keepDims = false): Tensor { return red.sum(this, axis, keepDims); }
  mean(axis?: number | readonly number[], keepDims = false): Tensor { return red.mean(this, axis, keepDims); }
  max(axis?: number | readonly number[], keepDims = false): Tensor { return red.max(this, axis, keepDims); }
  min(axis?: number | readonly number[], keepDims = false): Tensor { return red.min(this, axis, keepDims); }
  prod(axis?: number | readonly number[], keepDims = false): Tensor { return red.prod(this, axis, keepDims); }
  argmax(axis = -1): Tensor { return red.argmax(this, axis); }
  argmin(axis = -1): Tensor { return red.argmin(this, axis); }
  variance(axis?: number | readonly number[], keepDims = false): Tensor { return red.variance(this, axis, keepDims); }
  std(axis?: number | readonly number[], keepDims = false): Tensor { return red.std(this, axis, keepDims); }
  norm(ord: red.NormOrd = 'euclidean', axis?: number | readonly number[], keepDims = false): Tensor {
    return red.norm(this, ord, axis, keepDims);
  }
  logSumExp(axis?: number | readonly number[], keepDims = false): Tensor { return red.logSumExp(this, axis, keepDims); }

  // --- linear algebra and softmax ------------------------------------------------------------------
  matmul(b: Tensor, options?: lin.MatMulOptions): Tensor { return lin.matmul(this, b, options); }
  softmax(axis = -1): Tensor { return sm.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return sm.logSoftmax(this, axis); }
}
