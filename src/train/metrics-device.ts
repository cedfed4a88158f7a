/**
 * The accuracy metrics on CUDA tensors (metrics.ts calls these when both arguments are on CUDA and no sample weights
 * are given): each batch's count of correct rows is computed with device ops and summed on the device, and read back
 * only when the result is asked for (the epoch end, a progress line that shows it), so a training step reads
 * nothing for its metrics. Counts are integers, which float32 holds exactly up to 2^24: a running sum is split
 * before it could pass that, so the totals equal the host's float64 ones bit for bit.
 *
 * Rows whose predictions hold NaN may count differently: the device argmax lets the first NaN win, the host's
 * skips NaN (such a batch also has a NaN loss, which stops fit).
 *
 * On the host (reading their inputs back each batch): MSE and MAE (float sums: float32 on the device would not
 * equal the host's float64), precision, recall and F1 (they check the labels' range), AUC, function metrics,
 * binary accuracy over rows of several elements or with a threshold float32 cannot hold, sample-weighted updates.
 */
import { deviceScalar, readScalars } from '../optim/device-values.js';
import { add, equal, greater, less, logicalAnd, where } from '../tensor/elementwise.js';
import { cast, oneHot } from '../tensor/manipulation.js';
import { argmax, max, sum } from '../tensor/reduction.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/** The most rows one count may hold: float32 integers are exact up to 2^24. */
export const MAX_DEVICE_ROWS = 2 ** 24;

/** An exact running sum of per-batch counts, on the device until taken. */
export class DeviceCount {
  /** Partial sums (CUDA scalars), each below 2^24. */
  #parts: Tensor[] = [];
  /** How much more the last part can take. */
  #room = 0;

  /** Adds a count of at most `most`. */
  add(count: Tensor, most: number): void {
    const last = this.#parts[this.#parts.length - 1];
    if (last && most <= this.#room) {
      this.#parts[this.#parts.length - 1] = keep(add(last, count));
      last.dispose();
      this.#room -= most;
    } else {
      this.#parts.push(keep(count));
      this.#room = MAX_DEVICE_ROWS - most;
    }
  }

  /** The total so far (one read-back when there is any), which the caller keeps: the device sums start again. */
  take(): number {
    if (this.#parts.length === 0) return 0;
    const total = readScalars(this.#parts).reduce((a, b) => a + b, 0);
    this.reset();
    return total;
  }

  reset(): void {
    for (const p of this.#parts) p.dispose();
    this.#parts = [];
    this.#room = 0;
  }
}

const count = (mask: Tensor): Tensor => sum(cast(mask, 'float32'));

/** `p` [..., C] as [rows, C] (no autograd record). */
function byRow(p: Tensor): { rows: number; c: number; pr: Tensor } {
  const c = p.shape[p.rank - 1];
  const rows = p.size / c;
  return { rows, c, pr: p.withShape([rows, c]) };
}

/** Rows whose argmax is the class index y (int32, or float32 compared as a number). */
export function sparseHits(y: Tensor, p: Tensor): Tensor {
  const { rows, pr } = byRow(p);
  const pred = argmax(pr, -1);
  const t = y.withShape([rows]);
  return count(t.dtype === 'int32' ? equal(t, pred) : equal(t, cast(pred, 'float32')));
}

/** Rows whose argmax is the one-hot target's. */
export function categoricalHits(y: Tensor, p: Tensor): Tensor {
  const { rows, c, pr } = byRow(p);
  return count(equal(argmax(y.withShape([rows, c]), -1), argmax(pr, -1)));
}

/** Elements of one-element rows where y equals (p > threshold); the threshold is a float32 value. */
export function binaryHits(y: Tensor, p: Tensor, threshold: number): Tensor {
  const n = p.size;
  const pos = greater(p.withShape([n]), deviceScalar(p, threshold));
  const t = y.withShape([n]);
  return count(t.dtype === 'int32' ? equal(t, pos) : equal(t, cast(pos, 'float32')));
}

/**
 * Rows whose true class (the index y, or the one-hot target's argmax) has a finite score with fewer than k classes
 * scoring strictly higher; a label that is not a class index in range counts as a miss (the host's rule).
 */
export function topKHits(y: Tensor, p: Tensor, k: number, sparse: boolean): Tensor {
  const { rows, c, pr } = byRow(p);
  let t: Tensor;
  let whole: Tensor | null = null;  // float labels: whether each is a whole number
  if (!sparse) t = argmax(y.withShape([rows, c]), -1);
  else if (y.dtype === 'int32') t = y.withShape([rows]);
  else {
    const yf = y.withShape([rows]);
    t = cast(yf, 'int32');
    whole = equal(cast(t, 'float32'), yf);
  }
  const inf = deviceScalar(p, Infinity);
  const ninf = deviceScalar(p, -Infinity);
  // The true class's score; -inf when the label is out of range (oneHot gives an all-zero row).
  const v = max(where(cast(oneHot(t, c), 'int32'), pr, ninf), -1, true);
  const higher = sum(cast(greater(pr, v), 'float32'), -1);
  const finite = logicalAnd(greater(v, ninf), less(v, inf)).withShape([rows]);
  let hit = logicalAnd(less(higher, deviceScalar(p, k)), finite);
  if (whole) hit = logicalAnd(hit, whole);
  return count(hit);
}
