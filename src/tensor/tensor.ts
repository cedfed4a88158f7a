/**
 * Tensor: an immutable view of a dense row-major float32 or int32 array with a shape (or float64, for gradient
 * checks and reference computations: see dtype.ts).
 * Storage is an ordinary JS typed array (GC-managed: no dispose, no tidy). Reshapes share storage;
 * every other op returns a new tensor. Methods here are thin aliases of the functions in the sibling
 * modules, which own validation and error messages.
 */
import { DTypeError, NodegradError, ShapeError, fmtShape } from '../errors.js';
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
  readonly device = 'cpu' as const;
  #data: TensorData | null;
  /** Whether autograd tracks ops on this tensor (set on leaves with requireGrad; ops propagate it). */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(); null before, or after zeroGrad. */
  grad: Tensor | null = null;
  /** The op that computed this tensor, while its graph is alive (null for leaves). Internal to autograd. */
  gradNode: GradNode | null = null;

  /** Wraps storage without copying; `data.length` must equal the product of `shape`. */
  constructor(data: TensorData, shape: readonly number[]) {
    if (!(data instanceof Float32Array) && !(data instanceof Int32Array) && !(data instanceof Float64Array)) {
      throw new DTypeError(`Tensor: argument 'data' must be a Float32Array, Int32Array or Float64Array, got ${Object.prototype.toString.call(data)}`);
    }
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new ShapeError(`Tensor: argument 'data' has ${data.length} elements but shape ${fmtShape(shape)} needs ${size}`);
    }
    this.#data = data;
    this.size = size;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
    if (!(data instanceof Float64Array)) retainStorage(data); // the pool holds only float32/int32 storage
    track(this);
  }

  /** The storage, row-major. Treat as read-only: reshaped tensors may share it. */
  get data(): TensorData {
    if (this.#data === null) throw new NodegradError(`Tensor of shape ${fmtShape(this.shape)} was used after dispose()`);
    return this.#data;
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
    return new Tensor(this.data, this.shape);
  }

  /** Whether dispose() was called. */
  get isDisposed(): boolean {
    return this.#data === null;
  }

  /**
   * Gives the storage back for reuse once no other tensor shares it (views from reshape do). Optional: tensors
   * that are never disposed are garbage-collected. Using the tensor afterwards throws; disposing twice is a
   * no-op. Do not keep `data` arrays of a disposed tensor: their memory may hold another tensor's values.
   */
  dispose(): void {
    if (this.#data === null) return;
    if (!(this.#data instanceof Float64Array)) releaseStorage(this.#data);
    this.#data = null;
  }

  /** Wraps a kernel's output, keeping its array type (float64 comes only from float64 inputs). */
  static fromKernel(k: KTensor): Tensor {
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
  /** A copy of the storage. */
  dataSync(): TensorData {
    return this.data.slice();
  }
  toString(): string {
    return formatTensor(this);
  }
  print(): void {
    console.log(formatTensor(this));
  }
  /** A copy of the storage (differentiable: the gradient passes through). */
  clone(): Tensor {
    return record('clone', new Tensor(this.data.slice(), this.shape), [this], (g) => [g]);
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
