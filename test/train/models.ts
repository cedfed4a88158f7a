/**
 * Hand-made TrainableModels for the training-loop tests: a dense layer y = act(x W + b) on two Variables,
 * built from tensor ops only (matmul, add, softmax/sigmoid), so the tests depend on the contract alone and
 * not on nn's layers. Data sets are small and seeded, so every test is deterministic and fast.
 */
import { Tensor } from '../../src/tensor/tensor.js';
import { matmul } from '../../src/tensor/linalg.js';
import { add, mul, sigmoid } from '../../src/tensor/elementwise.js';
import { softmax } from '../../src/tensor/softmax.js';
import { sum } from '../../src/tensor/reduction.js';
import { Variable } from '../../src/nn/variable.js';
import type { ApplyOptions, TrainableModel } from '../../src/train/contract.js';
import { uniformF32, intsBelow } from '../helpers/random.js';

export type Activation = 'linear' | 'softmax' | 'sigmoid';

export interface DenseModelOptions {
  inputs: number;
  units: number;
  activation?: Activation;
  /** Seed of the initial kernel (uniform in [-0.5, 0.5)); the bias starts at 0. */
  seed?: number;
  /** L2 penalty on the kernel (adds l2 * sum(W^2) to regularizationLoss). */
  l2?: number;
  /** Called on every forward pass with the training flag (to check what fit/predict pass). */
  onApply?: (opts: ApplyOptions | undefined) => void;
}

export class DenseModel implements TrainableModel {
  readonly name = 'dense_model';
  stopTraining = false;
  readonly kernel: Variable;
  readonly bias: Variable;
  readonly activation: Activation;
  readonly l2: number;
  private readonly onApply?: (opts: ApplyOptions | undefined) => void;
  /** Forward passes so far. */
  calls = 0;

  constructor(o: DenseModelOptions) {
    this.kernel = new Variable('dense/kernel', new Tensor(uniformF32(o.inputs * o.units, o.seed ?? 1, -0.5, 0.5), [o.inputs, o.units]));
    this.bias = new Variable('dense/bias', new Tensor(new Float32Array(o.units), [o.units]));
    this.activation = o.activation ?? 'linear';
    this.l2 = o.l2 ?? 0;
    this.onApply = o.onApply;
  }

  apply(inputs: Tensor | Tensor[], opts?: ApplyOptions): Tensor {
    this.calls++;
    this.onApply?.(opts);
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const z = add(matmul(x, this.kernel.value), this.bias.value);
    if (this.activation === 'softmax') return softmax(z, -1);
    if (this.activation === 'sigmoid') return sigmoid(z);
    return z;
  }
  get variables(): readonly Variable[] {
    return [this.kernel, this.bias];
  }
  get trainableVariables(): readonly Variable[] {
    return this.variables.filter((v) => v.trainable);
  }
  regularizationLoss(): Tensor | null {
    if (this.l2 === 0) return null;
    const w = this.kernel.value;
    return mul(sum(mul(w, w)), this.l2);
  }
  /** Copies of the weights, for comparisons. */
  weights(): Float32Array[] {
    return this.variables.map((v) => Float32Array.from(v.value.data as Float32Array));
  }
}

/**
 * A linearly separable 3-class problem: x uniform in [-1, 1)^4, class = argmax(x A) for a fixed A, so a dense
 * softmax layer can fit it. Returns int32 labels and one-hot targets.
 */
export function blobs(n: number, seed = 3): { x: Tensor; labels: Tensor; oneHot: Tensor } {
  const d = 4;
  const c = 3;
  const x = uniformF32(n * d, seed, -1, 1);
  const a = [1, -1, 0.5, 0.2, -0.5, 1, 0.3, 0.8, -1, 0.1, 0.9, -0.4];
  const labels = new Int32Array(n);
  const oh = new Float32Array(n * c);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * a[j * c + k];
      if (s > bv) {
        bv = s;
        best = k;
      }
    }
    labels[i] = best;
    oh[i * c + best] = 1;
  }
  return { x: new Tensor(x, [n, d]), labels: new Tensor(labels, [n]), oneHot: new Tensor(oh, [n, c]) };
}

/** Regression data y = x w* + 0.5 with a fixed w*, no noise. */
export function linearData(n: number, seed = 5): { x: Tensor; y: Tensor } {
  const d = 3;
  const w = [0.5, -1, 2];
  const x = uniformF32(n * d, seed, -1, 1);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0.5;
    for (let j = 0; j < d; j++) s += x[i * d + j] * w[j];
    y[i] = s;
  }
  return { x: new Tensor(x, [n, d]), y: new Tensor(y, [n, 1]) };
}

/** Random class indices as an int32 tensor. */
export function randomLabels(n: number, k: number, seed: number): Tensor {
  return new Tensor(intsBelow(n, k, seed), [n]);
}

/** A stream that records what is written, as a TTY or not. */
export class MemoryStream {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}
