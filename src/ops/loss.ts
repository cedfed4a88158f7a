/**
 * Softmax cross-entropy from logits (Keras `CategoricalCrossentropy(from_logits=True)` for float labels,
 * `SparseCategoricalCrossentropy(from_logits=True)` for int32 labels), computed stably by the kernel.
 * logits [N, C]; labels int32 [N] with values in [0, C), or float32 [N, C] (one-hot or soft).
 * reduction: 'mean' (default, over the batch) and 'sum' give a scalar [], 'none' the per-example [N].
 */
import { ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { getBackend } from '../backends/registry.js';
import type { FTensor, ITensor, KTensor } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { assertTensor } from '../tensor/convert.js';
import { assertRank, shapesEqual } from '../tensor/shape.js';
import { checkOptions, f32, floatTensor, fromKernel } from './validate.js';

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
    const d = lab.data;
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
  if (!shapesEqual(lab.shape, lt.shape)) {
    throw opError(
      ShapeError, op,
      `float32 argument 'labels' must have the shape of 'logits' ${fmtShape(lt.shape)} (one-hot or soft labels), got ${fmtShape(lab.shape)}` +
        (lab.shape.length === 1 ? ' (class indices must be int32)' : ''),
    );
  }
  return { lt, lab: f32(lab) };
}

function scalar(v: number): KTensor<Float32Array> {
  return { data: Float32Array.of(v), shape: [] };
}

/**
 * @example softmaxCrossEntropy(logits, labels) // mean loss, shape []
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'softmaxCrossEntropy';
  const o = checkOptions(op, options, KEYS);
  const reduction = reductionOf(op, o.reduction);
  const { lt, lab } = checkLogitsLabels(op, logits, labels);
  const b = getBackend();
  const perExample = b.softmaxCrossEntropy(f32(lt), lab as KTensor<Float32Array>);
  if (reduction === 'none') return fromKernel(perExample);
  return fromKernel(b.reduce(reduction, perExample, [0]));
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
  const dl = floatTensor(op, 'dloss', dloss);
  const n = lt.shape[0];
  const want = reduction === 'none' ? [n] : [];
  if (!shapesEqual(dl.shape, want)) {
    throw opError(
      ShapeError, op,
      `argument 'dloss' must have shape ${fmtShape(want)} for reduction '${reduction}' and 'logits' ${fmtShape(lt.shape)}, got ${fmtShape(dl.shape)}`,
    );
  }
  const b = getBackend();
  let perExample: KTensor<Float32Array> = f32(dl);
  if (reduction !== 'none') {
    // d(mean)/d(loss_n) = 1/N, d(sum)/d(loss_n) = 1: spread the scalar over the batch.
    const scaled = reduction === 'mean' ? b.binary('div', perExample, scalar(n), []) : perExample;
    perExample = b.binary('mul', { data: new Float32Array(n).fill(1), shape: [n] }, scaled, [n]);
  }
  return fromKernel(b.softmaxCrossEntropyBackward(perExample, f32(lt), lab as KTensor<Float32Array>));
}
