/**
 * What fit / evaluate / predict accept as data, and how it becomes batches.
 *
 * - Tensors: x a Tensor (or a Tensor[] for a multi-input model), y likewise; the first axis is the sample
 *   axis and must agree. Batches in order are views of the caller's storage (no copy); shuffled batches copy
 *   their rows (into pooled storage that the step's scope gives back).
 * - A DataSource: any sync or async iterable of batches, each `{ x, y, sampleWeight? }` or `[x, y, sampleWeight?]`
 *   (x / y a Tensor or Tensor[]); predict also takes bare x batches. An array of such batches works, and so
 *   does any Dataset that is iterable. Batches a source yields belong to it; a source that wants them back (a
 *   Dataset, which disposes the batch tensors it does not keep) has a method under RELEASE_BATCH, which fit,
 *   evaluate and predict call with each batch once its step is done. Other sources' batches are never disposed.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { allocF32 } from '../backends/storage.js';
import type { Generator } from '../tensor/random.js';
import { describeValue } from './losses.js';

export type Inputs = Tensor | Tensor[];

export interface BatchObject {
  x: Inputs;
  y?: Inputs;
  sampleWeight?: Tensor | null;
}
export type BatchTuple = readonly [Inputs, Inputs?, (Tensor | null)?];
export type BatchLike = BatchObject | BatchTuple;

/**
 * The method a DataSource may have to take each batch back after its step (a well-known symbol, so sources need
 * not import this module; src/data's Dataset implements it).
 */
export const RELEASE_BATCH: unique symbol = Symbol.for('nodegrad.releaseBatch') as never;

/** Hands a used batch back to its source, if the source asks for them (see RELEASE_BATCH). */
export function releaseBatch(source: unknown, item: unknown): void {
  const f = (source as { [RELEASE_BATCH]?: unknown } | null)?.[RELEASE_BATCH];
  if (typeof f === 'function') f.call(source, item);
}

/** The number of batches a source announces (a Dataset's finite `size`), or null. */
export function sourceSize(source: unknown): number | null {
  const n = (source as { size?: unknown } | null)?.size;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
}

/** A sync or async iterable of batches (issue 5's Dataset is one). */
export type DataSource<B = BatchLike> = Iterable<B> | AsyncIterable<B>;

/** A batch with everything as lists. */
export interface Batch {
  xs: Tensor[];
  ys: Tensor[] | null;
  sampleWeight: Tensor | null;
  /** Number of samples (first axis of the first input). */
  size: number;
}

export function isTensorList(v: unknown): v is Tensor[] {
  return Array.isArray(v) && v.length > 0 && v.every((t) => t instanceof Tensor);
}

export function isDataSource(v: unknown): v is DataSource<unknown> {
  if (v instanceof Tensor || isTensorList(v) || typeof v !== 'object' || v === null) return false;
  return typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** A Tensor or a non-empty Tensor[] as a list, or a clear error naming `what`. */
export function toList(op: string, what: string, v: unknown): Tensor[] {
  if (v instanceof Tensor) return [v];
  if (isTensorList(v)) return v;
  if (Array.isArray(v) && v.length === 0) throw new ValueError(`${op}: ${what} is an empty array`);
  throw new DTypeError(`${op}: ${what} must be a Tensor or an array of Tensors, got ${describeValue(v)}`);
}

/** Samples along the first axis of every tensor, which must agree. */
export function sampleCount(op: string, groups: ReadonlyArray<readonly [string, readonly Tensor[]]>): number {
  let n = -1;
  let first = '';
  for (const [name, ts] of groups) {
    ts.forEach((t, i) => {
      if (t.rank === 0) throw new ShapeError(`${op}: ${name}${ts.length > 1 ? `[${i}]` : ''} is a scalar; the first axis must be the samples`);
      const label = `${name}${ts.length > 1 ? `[${i}]` : ''} ${fmtShape(t.shape)}`;
      if (n < 0) {
        n = t.shape[0];
        first = label;
      } else if (t.shape[0] !== n) {
        throw new ShapeError(`${op}: ${label} has ${t.shape[0]} samples but ${first} has ${n} (the first axis of every input and target must match)`);
      }
    });
  }
  return Math.max(n, 0);
}

/**
 * One batch item from a source as lists, checked: a Tensor is x alone; an array is the tuple [x, y?,
 * sampleWeight?] (so a multi-input x alone is [[x1, x2]] or { x: [x1, x2] }); an object has x, y, sampleWeight.
 * Messages leave the op and batch number to the caller (fit prefixes the epoch and batch).
 */
export function normalizeBatch(op: string, item: unknown, needY: boolean): Batch {
  let x: unknown;
  let y: unknown;
  let sw: unknown;
  if (item instanceof Tensor) {
    x = item;
  } else if (Array.isArray(item)) {
    [x, y, sw] = item;
  } else if (typeof item === 'object' && item !== null && 'x' in item) {
    ({ x, y, sampleWeight: sw } = item as BatchObject);
  } else {
    throw new DTypeError(`${op}: a batch of the data source must be { x, y } or [x, y], got ${describeValue(item)}`);
  }
  const xs = toList(op, 'the batch x', x);
  let ys: Tensor[] | null = null;
  if (y !== undefined && y !== null) ys = toList(op, 'the batch y', y);
  else if (needY) throw new ValueError(`${op}: a batch of the data source has no targets (y)`);
  if (sw !== undefined && sw !== null && !(sw instanceof Tensor)) throw new DTypeError(`${op}: the batch sampleWeight must be a Tensor, got ${describeValue(sw)}`);
  const groups: Array<[string, Tensor[]]> = [['the batch x', xs]];
  if (ys) groups.push(['the batch y', ys]);
  if (sw) groups.push(['the batch sampleWeight', [sw as Tensor]]);
  const size = sampleCount(op, groups);
  if (size === 0) throw new ValueError(`${op}: a batch of the data source is empty`);
  return { xs, ys, sampleWeight: (sw as Tensor | undefined) ?? null, size };
}

/** Reads a source batch by batch (sync or async iterator alike). */
export class SourceReader {
  private readonly it: Iterator<unknown> | AsyncIterator<unknown>;
  constructor(source: DataSource<unknown>) {
    const a = (source as AsyncIterable<unknown>)[Symbol.asyncIterator];
    this.it = typeof a === 'function' ? a.call(source) : (source as Iterable<unknown>)[Symbol.iterator]();
  }
  /** The next item, or `done` when the source is exhausted. */
  async next(): Promise<{ done: true } | { done: false; value: unknown }> {
    const r = await this.it.next();
    return r.done ? { done: true } : { done: false, value: r.value };
  }
  /** Lets a generator run its finally blocks when iteration stops early. */
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

// --------------------------------------------------------------------------------------------------
// Tensor batches

/** Rows [start, end) of t: a view of its storage, no copy. */
export function rowsView(t: Tensor, start: number, end: number): Tensor {
  if (start === 0 && end === t.shape[0]) return t.detach();
  const row = t.shape[0] === 0 ? 0 : t.size / t.shape[0];
  return new Tensor(t.data.subarray(start * row, end * row), [end - start, ...t.shape.slice(1)]);
}

/** The rows `idx` of t, copied. */
export function rowsGather(t: Tensor, idx: Int32Array): Tensor {
  const row = t.shape[0] === 0 ? 0 : t.size / t.shape[0];
  const n = idx.length * row;
  const out = t.dtype === 'float32' ? allocF32(n) : new Int32Array(n);
  const src = t.data;
  for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
  return new Tensor(out, [idx.length, ...t.shape.slice(1)]);
}

/** A Fisher-Yates permutation of [0, n) drawn from g. */
export function permutation(n: number, g: Generator): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.nextBelow(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Batch `b` of tensors holding n samples: views in order, or gathered rows of `order`. */
export function tensorBatch(ts: readonly Tensor[], start: number, end: number, order: Int32Array | null): Tensor[] {
  if (!order) return ts.map((t) => rowsView(t, start, end));
  const idx = order.subarray(start, end);
  return ts.map((t) => rowsGather(t, idx));
}
