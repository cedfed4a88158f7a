/**
 * Softmax cross-entropy from logits (Keras `CategoricalCrossentropy(from_logits=True)` for float labels,
 * `SparseCategoricalCrossentropy(from_logits=True)` for int32 labels), computed stably by the kernel.
 * logits [N, C]; labels int32 [N] with values in [0, C), or float32 [N, C] (one-hot or soft).
 * reduction: 'mean' (default, over the batch) and 'sum' give a scalar [], 'none' the per-example [N].
 *
 * Gradient (recorded on the tape): to the logits only, by the softmaxCrossEntropyBackward kernel, dloss spread
 * over the batch (1/N for 'mean'); labels get none, also soft ones (they are targets). The backward entry point
 * records its own gradient (second order: Hessian-vector products of the loss).
 */
import { ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import type { FTensor, ITensor, KTensor } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { assertTensor } from '../tensor/convert.js';
import { assertRank, shapesEqual } from '../tensor/shape.js';
import { checkOptions, f32, filledLike, floatTensor, fromKernel, sameFloatDType, sumAxes, view } from './validate.js';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Default 'mean'. */
  readonly reduction?: Reduction;
}

const KEYS = ['reduction'] as const;

function reductionOf(op: string, v: unknown): Reduction {
  const r = v ?? 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw opError(ValueError, op, `argument 'reduction' must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`);
  }
  return r;
}

/** Checks logits [N, C] and labels (int32 [N] in range, or float32 [N, C]); returns the labels as the kernel takes them. */
function checkLogitsLabels(op: string, logits: unknown, labels: unknown): { lt: Tensor; lab: ITensor | FTensor } {
  const lt = floatTensor(op, 'logits', logits);
  assertRank(op, 'logits', lt.shape, 2);
  const [n, c] = lt.shape;
  if (c < 1) throw opError(ShapeError, op, `argument 'logits' ${fmtShape(lt.shape)} has no classes`);
  const lab = assertTensor(op, 'labels', labels);
  if (lab.dtype === 'int32') {
    if (lab.shape.length !== 1 || lab.shape[0] !== n) {
      throw opError(
        ShapeError, op,
        `int32 argument 'labels' must have shape [${n}] (one class index per row of 'logits' ${fmtShape(lt.shape)}), got ${fmtShape(lab.shape)}`,
      );
    }
    // CUDA labels are not read back here (a download per step): the CUDA kernels check them on the device, and a
    // bad one throws at the next read from the GPU (src/backends/cuda/device-storage.ts).
    const d = lab.device === 'cpu' ? lab.data : [];
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= c) {
        throw opError(
          ValueError, op,
          `argument 'labels' has ${d[i]} at index ${i}, outside [0, ${c}) for 'logits' ${fmtShape(lt.shape)} with ${c} classes`,
        );
      }
    }
    return { lt, lab: lab as unknown as ITensor };
  }
  sameFloatDType(op, [['logits', lt], ['labels', lab]]);
  if (!shapesEqual(lab.shape, lt.shape)) {
    throw opError(
      ShapeError, op,
      `float32 argument 'labels' must have the shape of 'logits' ${fmtShape(lt.shape)} (one-hot or soft labels), got ${fmtShape(lab.shape)}` +
        (lab.shape.length === 1 ? ' (class indices must be int32)' : ''),
    );
  }
  return { lt, lab: f32(lab) };
}

/** The per-example gradient [N] of a loss with this reduction whose gradient is dloss ([] or [N]). */
function spread(dloss: Tensor, n: number, reduction: Reduction): KTensor<Float32Array> {
  if (reduction === 'none') return f32(dloss);
  // d(mean)/d(loss_n) = 1/N, d(sum)/d(loss_n) = 1: spread the scalar over the batch.
  const b = backendFor(dloss);
  const scaled = reduction === 'mean' ? b.binary('div', f32(dloss), filledLike(dloss, [], n), []) : f32(dloss);
  return b.binary('mul', filledLike(dloss, [n], 1), scaled, [n]);
}

/** dlogits for validated arguments: the kernel on the per-example gradient. */
function lossGrad(dloss: Tensor, lt: Tensor, lab: ITensor | FTensor, reduction: Reduction): Tensor {
  const perExample = spread(dloss, lt.shape[0], reduction);
  return fromKernel(backendFor(lt, lab as KTensor).softmaxCrossEntropyBackward(perExample, f32(lt), lab as KTensor<Float32Array>));
}

/**
 * @example softmaxCrossEntropy(logits, labels) // mean loss, shape []
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  const o = checkOptions(op, options, KEYS);
  const reduction = reductionOf(op, o.reduction);
  const { lt, lab } = checkLogitsLabels(op, logits, labels);
  const b = backendFor(lt, lab as KTensor);
  const perExample = b.softmaxCrossEntropy(f32(lt), lab as KTensor<Float32Array>);
  const loss = fromKernel(reduction === 'none' ? perExample : b.reduce(reduction, perExample, [0]));
  return record(op, loss, [lt], (dloss) => [lossGrad(dloss, lt, lab, reduction)]);
}

/**
 * Gradient of softmaxCrossEntropy(logits, labels, { reduction }) with respect to logits: dloss is [] for
 * 'mean' / 'sum' and [N] for 'none'; returns dlogits [N, C]. Labels get no gradient.
 */
export function softmaxCrossEntropyBackward(dloss: Tensor, logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropyBackward';
  const o = checkOptions(op, options, KEYS);
  const reduction = reductionOf(op, o.reduction);
  const { lt, lab } = checkLogitsLabels(op, logits, labels);
  const sparse = lab.data instanceof Int32Array;
  const dl = floatTensor(op, 'dloss', dloss);
  const n = lt.shape[0];
  const want = reduction === 'none' ? [n] : [];
  if (!shapesEqual(dl.shape, want)) {
    throw opError(
      ShapeError, op,
      `argument 'dloss' must have shape ${fmtShape(want)} for reduction '${reduction}' and 'logits' ${fmtShape(lt.shape)}, got ${fmtShape(dl.shape)}`,
    );
  }
  sameFloatDType(op, [['dloss', dl], ['logits', lt]]);
  const dlogits = lossGrad(dl, lt, lab, reduction);
  // dlogits = d_n (p s_n - labels), with d_n the per-example dloss, p = softmax(logits) and s_n the row sum of
  // the labels (1 for class indices). For L = <G, dlogits>:
  //   dL/d d_n = sum_c G (p s_n - labels), then reduced back like the loss ('mean' divides by N);
  //   dL/dlogits = d_n s_n p (G - sum_c p G)  (the softmax Jacobian, symmetric, applied to G).
  return record(op, dlogits, [dl, lt], (g) => {
    const b = backendFor(lt, g);
    const c = lt.shape[1];
    const rowSums = (k: KTensor<Float32Array>): Tensor => view(sumAxes(fromKernel(k), [1]), [n, 1]);
    let ddl: Tensor | null = null;
    if (dl.requiresGrad) {
      // p s_n - labels is the kernel's output for a per-example gradient of ones.
      const bracket = b.softmaxCrossEntropyBackward(filledLike(lt, [n], 1), f32(lt), lab as KTensor<Float32Array>);
      const perExample = view(rowSums(b.binary('mul', f32(g), bracket, [n, c])), [n]);
      ddl = reduction === 'none' ? perExample : sumAxes(perExample, [0]);
      if (reduction === 'mean') ddl = fromKernel(b.binary('div', f32(ddl), filledLike(ddl, [], n), []));
    }
    let dlt: Tensor | null = null;
    if (lt.requiresGrad) {
      const p = b.softmax(f32(lt), 1);
      const centred = b.binary('sub', f32(g), f32(rowSums(b.binary('mul', p, f32(g), [n, c]))), [n, c]);
      let scale = f32(view(fromKernel(spread(dl, n, reduction)), [n, 1]));
      if (!sparse) scale = b.binary('mul', scale, f32(rowSums(lab as KTensor<Float32Array>)), [n, 1]);
      dlt = fromKernel(b.binary('mul', b.binary('mul', p, centred, [n, c]), scale, [n, c]));
    }
    return [ddl, dlt];
  });
}
