/**
 * matmul with NumPy / PyTorch semantics over any rank >= 1, mapped onto the backend's rank-3 batched kernel.
 *
 * - a [..., M, K] @ b [..., K, N] -> [...batch, M, N]; the batch dims (all but the last two) broadcast as NumPy.
 * - transposeA / transposeB swap the last two axes of a / b (tf.matmul's flags) without a copy.
 * - A 1-D a [K] is read as [1, K] and a 1-D b [K] as [K, 1]; the added axis is removed from the result
 *   (vector @ vector is a scalar). The transpose flags are ignored for 1-D operands (a vector has no orientation).
 * - Batches reach the kernel as [B, ., .]; an operand whose whole batch is 1 is passed as [1, ., .] and broadcast
 *   by the kernel; one that broadcasts only partially ([2,1] against [2,5]) is materialised to the full batch.
 * - int32 operands are cast to float32 and the result is float32 (the kernels are float-only; exact while the
 *   products and sums stay below 2^24); a float64 operand makes both float64 (gradient checks).
 * - Gradient, with op(A) and op(B) the operands as multiplied and G the output gradient: d op(A) = G op(B)^T and
 *   d op(B) = op(A)^T G, written as matmuls with transpose flags (no transposed copies), then summed over the
 *   batch dims an operand was broadcast along.
 */
import { DTypeError, ShapeError, fmtShape, opError } from '../errors.js';
import type { KTensor } from '../backends/backend.js';
import { backendFor } from '../backends/registry.js';
import { Tensor } from './tensor.js';
import { assertTensor, describe } from './convert.js';
import { broadcastShapes, shapesEqual, sizeOf } from './shape.js';
import { broadcastTo, cast } from './manipulation.js';
import { sumTo } from './reduction.js';
import { promote } from './dtype.js';
import { noGrad, record } from '../autograd/tape.js';

export interface MatMulOptions {
  /** Use a's last two axes swapped (a is [..., K, M]). */
  transposeA?: boolean;
  /** Use b's last two axes swapped (b is [..., N, K]). */
  transposeB?: boolean;
}

/** The operand in the float dtype both share: int32 becomes float32, float32 beside float64 becomes float64. */
function asFloat(t: Tensor, other: Tensor): Tensor {
  const d = promote(promote(t.dtype, other.dtype), 'float32');
  return t.dtype === d ? t : cast(t, d);
}

function flag(op: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw opError(DTypeError, op, `option '${name}' must be a boolean, got ${describe(v)}`);
  return v;
}

/** Rows-by-columns operand: the batch shape and the [rows, cols] of its last two axes as stored. */
function split(t: Tensor): { batch: number[]; rows: number; cols: number } {
  const r = t.rank;
  return { batch: t.shape.slice(0, r - 2), rows: t.shape[r - 2], cols: t.shape[r - 1] };
}

/** [...batch, rows, cols] (float) as the kernel's [B or 1, rows, cols], materialising a partial batch broadcast. */
function toRank3(t: Tensor, batch: readonly number[], outBatch: readonly number[], rows: number, cols: number): KTensor<Float32Array> {
  const own = sizeOf(batch);
  // Views (not plain { data, shape }): a CUDA tensor's storage stays on the device.
  if (own === 1 && sizeOf(outBatch) !== 1) return t.withShape([1, rows, cols]) as unknown as KTensor<Float32Array>;
  const padded = [...new Array<number>(outBatch.length - batch.length).fill(1), ...batch];
  const full = shapesEqual(padded, outBatch) ? t : noGrad(() => broadcastTo(t.withShape([...padded, rows, cols]), [...outBatch, rows, cols]));
  return full.withShape([sizeOf(outBatch), rows, cols]) as unknown as KTensor<Float32Array>;
}

/** a @ b (see the file header); float32 result. */
export function matmul(a: Tensor, b: Tensor, options: MatMulOptions = {}): Tensor {
  const op = 'matmul';
  assertTensor(op, 'a', a);
  assertTensor(op, 'b', b);
  if (options === null || typeof options !== 'object') throw opError(DTypeError, op, `argument 'options' must be an object, got ${describe(options)}`);
  const transposeA = flag(op, 'transposeA', options.transposeA);
  const transposeB = flag(op, 'transposeB', options.transposeB);
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.rank < 1) throw opError(ShapeError, op, `argument '${name}' must have rank >= 1, got shape ${fmtShape(t.shape)}`);
  }
  const describeArgs = `argument 'a' ${fmtShape(a.shape)} (transposeA=${transposeA}), argument 'b' ${fmtShape(b.shape)} (transposeB=${transposeB})`;

  // Promote vectors: a [K] -> [1, K], b [K] -> [K, 1]; their flags no longer apply.
  const a2 = a.rank === 1 ? a.withShape([1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? b.withShape([b.shape[0], 1]) : b;
  const ta = a.rank === 1 ? false : transposeA;
  const tb = b.rank === 1 ? false : transposeB;

  const sa = split(a2);
  const sb = split(b2);
  const [M, Ka] = ta ? [sa.cols, sa.rows] : [sa.rows, sa.cols];
  const [Kb, N] = tb ? [sb.cols, sb.rows] : [sb.rows, sb.cols];
  if (Ka !== Kb) {
    throw opError(ShapeError, op, `inner dimensions do not match: ${describeArgs} give K = ${Ka} vs ${Kb}`);
  }
  let outBatch: number[];
  try {
    outBatch = broadcastShapes(op, sa.batch, sb.batch);
  } catch {
    throw opError(ShapeError, op, `batch dimensions ${fmtShape(sa.batch)} and ${fmtShape(sb.batch)} do not broadcast: ${describeArgs}`);
  }

  // The promoting casts are recorded, so a float32 operand beside a float64 one gets a float32 gradient.
  const fa = asFloat(a, b);
  const fb = asFloat(b, a);
  const a3 = toRank3(fa, sa.batch, outBatch, sa.rows, sa.cols);
  const b3 = toRank3(fb, sb.batch, outBatch, sb.rows, sb.cols);
  const out = Tensor.fromKernel(backendFor(a3, b3).matmul(a3, b3, { transposeA: ta, transposeB: tb }));

  const shape = [...outBatch];
  if (a.rank > 1) shape.push(M);
  if (b.rank > 1) shape.push(N);
  const y = out.withShape(shape);
  if (!fa.requiresGrad && !fb.requiresGrad) return y;
  // Operands as the 2-D forms multiplied (vectors given their unit axis back), with the output's gradient alike.
  const A = fa.withShape(a2.shape);
  const B = fb.withShape(b2.shape);
  return record(op, y, [fa, fb], (g) => {
    const G = g.withShape([...outBatch, M, N]);
    let dA: Tensor | null = null;
    let dB: Tensor | null = null;
    if (fa.requiresGrad) {
      const d = ta ? matmul(B, G, { transposeA: tb, transposeB: true }) : matmul(G, B, { transposeB: !tb });
      dA = sumTo(d, a2.shape).withShape(a.shape);
    }
    if (fb.requiresGrad) {
      const d = tb ? matmul(G, A, { transposeA: true, transposeB: ta }) : matmul(A, G, { transposeA: !ta });
      dB = sumTo(d, b2.shape).withShape(b.shape);
    }
    return [dA, dB];
  });
}
