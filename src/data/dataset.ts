/**
 * Dataset: a re-iterable, lazily evaluated input pipeline with tf.data's names (fromTensorSlices, map, batch,
 * shuffle, prefetch, repeat, take, skip, cache, filter, zip, concatenate, unbatch).
 *
 * A Dataset is an `AsyncIterable`: `fit`, `evaluate` and `predict` take one directly (each element a batch
 * `{ x, y }` or `[x, y]`), and `for await (const el of ds)` walks it. Every iteration starts the pipeline
 * afresh (a one-shot source, such as a generator object given to fromAsyncIterable, is the exception), so
 * the same Dataset serves every epoch.
 *
 * Elements are structures: a Tensor, a number or any other JS value (a leaf), or arrays (tuples) and plain
 * objects of structures. `batch(n)` stacks n elements leaf by leaf: tensors of one shape and dtype become a
 * tensor with a new first axis, numbers a float32 tensor [n], other leaves (strings...) an array of n values.
 *
 * Who disposes tensors (pooled storage, see src/tensor/scope.ts):
 * - A tensor object a Dataset yields is **owned by the consumer**, which may dispose it once done with it
 *   (or let the garbage collector take it), unless the Dataset **keeps** that object: elements of `cache()`
 *   after the pass that filled it, and the objects the user handed in (fromArray, fromTensors, and whatever
 *   fromGenerator / fromAsyncIterable yield). Kept tensors are never disposed by a pipeline.
 * - `ds.release(element)` (also under the well-known symbol `RELEASE_BATCH`, `Symbol.for('nodegrad.releaseBatch')`)
 *   disposes exactly the tensors of an element the consumer owns. fit, evaluate and predict call it after each
 *   batch's step, so pooled batch storage is reused; a custom loop may call it too.
 * - Transformations dispose what they consume and own: batch() the elements it stacked, unbatch() the batch it
 *   split (its rows are views that keep the storage alive), map() the input tensors its result does not
 *   contain, filter()/skip() the elements they drop, shuffle()/prefetch()/map() what they buffered when an
 *   iteration stops early. map's function runs in a `scope`: tensors it creates and does not return are
 *   disposed (return tensors in a tensor, an array, a plain object or a Map).
 *
 * Randomness: shuffle draws from a seeded Generator; the same seed gives the same order, iteration by iteration.
 *
 * Speed: `fromTensorSlices(...)` followed by any of shuffle / take / skip and then `batch` never makes per-row
 * elements: each iteration computes the row order (the very order the element path would give, same seed, same
 * draws) and batch() copies those rows straight into the batch's storage.
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from '../errors.js';
import { Tensor, type TensorData } from '../tensor/tensor.js';
import { allocF32 } from '../backends/storage.js';
import { keep, scope } from '../tensor/scope.js';
import { Generator, getDefaultGenerator, type SeedLike } from '../tensor/random.js';
import { availableParallelism } from 'node:os';

/**
 * The hook a consumer calls with each element once done with it (fit, evaluate, predict do): the source
 * disposes the tensors of the element that it does not keep. A well-known symbol, so src/train needs no import.
 */
export const RELEASE_BATCH: unique symbol = Symbol.for('nodegrad.releaseBatch') as never;

/** `prefetch(AUTOTUNE)`, `map(fn, { parallelism: AUTOTUNE })`: a size picked from the machine. */
export const AUTOTUNE = -1;

// --------------------------------------------------------------------------------------------------
// Structure types

/** What batch() makes of an element type. */
export type Batched<T> = T extends Tensor
  ? Tensor
  : T extends number
    ? Tensor
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Batched<T[K]> }
      : T extends (...args: never[]) => unknown
        ? T[]
        : T extends object
          ? { [K in keyof T]: Batched<T[K]> }
          : T[];

/** What unbatch() makes of an element type (an array of unknown length is a column of values). */
export type Unbatched<T> = T extends Tensor
  ? Tensor
  : T extends readonly unknown[]
    ? number extends T['length']
      ? T[number]
      : { -readonly [K in keyof T]: Unbatched<T[K]> }
    : T extends object
      ? { [K in keyof T]: Unbatched<T[K]> }
      : T;

/**
 * What fromTensorSlices makes of its argument: tensors lose their first axis; an array holding tensors, objects
 * or arrays is a tuple (sliced element-wise), any other array a column of values.
 */
export type Sliced<T> = T extends Tensor
  ? Tensor
  : T extends readonly unknown[]
    ? [Extract<T[number], Tensor | readonly unknown[] | Record<string, unknown>>] extends [never]
      ? T[number]
      : number extends T['length']
        ? Sliced<T[number]>[]
        : { -readonly [K in keyof T]: Sliced<T[K]> }
    : T extends object
      ? { -readonly [K in keyof T]: Sliced<T[K]> }
      : never;

export interface MapOptions {
  /** Calls of fn in flight at once (async fns overlap; results keep their order). Default 1; AUTOTUNE: the core count. */
  parallelism?: number;
}
export interface BatchOptions {
  /** Drop a last batch smaller than n (default false). */
  dropRemainder?: boolean;
}
export interface ShuffleOptions {
  /** A seed for a fresh Generator, or a Generator to draw from (default: the library's default generator). */
  seed?: SeedLike;
  /** Draw a new order for every iteration (default true); false repeats the first order. */
  reshuffleEachIteration?: boolean;
}
export interface SourceOptions {
  /** The number of elements, when known (reported by `size`). */
  size?: number;
}

type Pull<T> = () => AsyncIterator<T>;

// --------------------------------------------------------------------------------------------------
// Ownership and structures

/** Tensor objects a Dataset keeps (cached, or handed in by the user): never disposed by a pipeline. */
const kept = new WeakSet<Tensor>();
/** Arrays batch() made of non-tensor leaves: unbatch() splits them instead of treating them as tuples. */
const columns = new WeakSet<unknown[]>();

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** Calls f on every tensor of a structure (arrays, plain objects, Maps). */
function eachTensor(v: unknown, f: (t: Tensor) => void, seen = new Set<unknown>()): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Tensor) f(v);
  else if (Array.isArray(v)) for (const x of v) eachTensor(x, f, seen);
  else if (v instanceof Map) for (const x of v.values()) eachTensor(x, f, seen);
  else if (isPlainObject(v)) for (const x of Object.values(v)) eachTensor(x, f, seen);
}

function tensorSet(v: unknown): Set<Tensor> {
  const s = new Set<Tensor>();
  eachTensor(v, (t) => s.add(t));
  return s;
}

/** Marks the tensors of an element as kept by a Dataset (and exempt from every scope). */
function markKept<T>(el: T): T {
  eachTensor(el, (t) => {
    kept.add(t);
    keep(t);
  });
  return el;
}

/** Disposes the tensors of an element that a consumer owns (not kept, not in `except`). */
export function releaseElement(el: unknown, except?: ReadonlySet<Tensor>): void {
  eachTensor(el, (t) => {
    if (!kept.has(t) && !except?.has(t)) t.dispose();
  });
}

/** Whether a Dataset keeps this tensor object (a consumer must not dispose it). */
export function isKept(t: Tensor): boolean {
  return kept.has(t);
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return `Tensor ${v.dtype} ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v === null) return 'null';
  if (isPlainObject(v)) return `{ ${Object.keys(v).join(', ')} }`;
  return typeof v;
}

function checkCount(op: string, what: string, n: unknown, min: number, allowInfinity = false): number {
  if (allowInfinity && n === Infinity) return n;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw new ValueError(`${op}: ${what} must be an integer >= ${min}${allowInfinity ? ' (or Infinity)' : ''}, got ${String(n)}`);
  }
  return n;
}

function newArray(like: TensorData, n: number): TensorData {
  if (like instanceof Float32Array) return allocF32(n);
  if (like instanceof Int32Array) return new Int32Array(n);
  return new Float64Array(n);
}

/** Stacks the leaves at one position of n elements (path names the position in messages). */
function stackLeaves(vals: unknown[], path: string): unknown {
  const first = vals[0];
  if (first instanceof Tensor) {
    const shape = first.shape;
    const size = first.size;
    vals.forEach((v, i) => {
      if (!(v instanceof Tensor) || v.dtype !== first.dtype || v.size !== size || !sameShape(v.shape, shape)) {
        throw new ShapeError(
          `Dataset.batch: element ${i} of the batch has ${describe(v)} at ${path} but element 0 has ${describe(first)} ` +
            '(elements of a batch must have one shape and dtype: resize or pad them in a map first)',
        );
      }
    });
    const out = newArray(first.data, vals.length * size);
    (vals as Tensor[]).forEach((t, i) => out.set(t.data, i * size));
    return new Tensor(out, [vals.length, ...shape]);
  }
  if (typeof first === 'number') {
    const out = new Float32Array(vals.length);
    vals.forEach((v, i) => {
      if (typeof v !== 'number') throw new DTypeError(`Dataset.batch: element ${i} of the batch has ${describe(v)} at ${path} but element 0 has a number`);
      out[i] = v;
    });
    return new Tensor(out, [vals.length]);
  }
  if (Array.isArray(first) && !columns.has(first)) {
    return first.map((_, k) => {
      vals.forEach((v, i) => {
        if (!Array.isArray(v) || v.length !== first.length) {
          throw new ShapeError(`Dataset.batch: element ${i} of the batch has ${describe(v)} at ${path} but element 0 has ${describe(first)}`);
        }
      });
      return stackLeaves(vals.map((v) => (v as unknown[])[k]), `${path}[${k}]`);
    });
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const out: Record<string, unknown> = {};
    vals.forEach((v, i) => {
      if (!isPlainObject(v) || Object.keys(v).length !== keys.length || keys.some((k) => !(k in v))) {
        throw new ShapeError(`Dataset.batch: element ${i} of the batch has ${describe(v)} at ${path} but element 0 has ${describe(first)}`);
      }
    });
    for (const k of keys) out[k] = stackLeaves(vals.map((v) => (v as Record<string, unknown>)[k]), path === 'the element' ? k : `${path}.${k}`);
    return out;
  }
  vals.forEach((v, i) => {
    if (v instanceof Tensor || typeof v === 'number' || (Array.isArray(v) && !columns.has(v)) || isPlainObject(v)) {
      throw new DTypeError(`Dataset.batch: element ${i} of the batch has ${describe(v)} at ${path} but element 0 has ${describe(first)}`);
    }
  });
  const col = [...vals];
  columns.add(col);
  return col;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Rows [i, i+1) of t without the first axis: a view of its storage. */
function rowOf(t: Tensor, i: number): Tensor {
  const row = t.shape[0] === 0 ? 0 : t.size / t.shape[0];
  return new Tensor(t.data.subarray(i * row, (i + 1) * row), t.shape.slice(1));
}

/** The number of rows of a batched structure (first axis of its tensors, length of its columns). */
function rowCount(v: unknown, op: string, path = 'the element'): number | null {
  if (v instanceof Tensor) {
    if (v.rank === 0) throw new ShapeError(`${op}: ${path} is a scalar tensor; every tensor needs a first (batch) axis`);
    return v.shape[0];
  }
  let n: number | null = null;
  let where = '';
  const agree = (m: number | null, p: string): void => {
    if (m === null) return;
    if (n === null) {
      n = m;
      where = p;
    } else if (m !== n) {
      throw new ShapeError(`${op}: ${p} has ${m} rows but ${where} has ${n} (the first axis of every tensor and array must agree)`);
    }
  };
  if (Array.isArray(v)) {
    if (columns.has(v)) return v.length;
    v.forEach((x, k) => agree(rowCount(x, op, `${path}[${k}]`), `${path}[${k}]`));
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) agree(rowCount(x, op, path === 'the element' ? k : `${path}.${k}`), path === 'the element' ? k : `${path}.${k}`);
  }
  return n;
}

/** Row i of a batched structure (views for tensors). */
function rowOfStructure(v: unknown, i: number): unknown {
  if (v instanceof Tensor) return rowOf(v, i);
  if (Array.isArray(v)) return columns.has(v) ? v[i] : v.map((x) => rowOfStructure(x, i));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = rowOfStructure(x, i);
    return out;
  }
  return v;
}

/**
 * fromTensorSlices: an array is a tuple when any of its elements is a Tensor, a plain object or a tuple;
 * otherwise it is a column of values, sliced by index.
 */
function isTuple(v: unknown[]): boolean {
  return v.some((x) => x instanceof Tensor || isPlainObject(x) || (Array.isArray(x) && isTuple(x)));
}

function sliceCount(v: unknown, path: string): number {
  if (v instanceof Tensor) {
    if (v.rank === 0) throw new ShapeError(`Dataset.fromTensorSlices: ${path} is a scalar tensor; slicing needs a first axis`);
    return v.shape[0];
  }
  let n = -1;
  let where = '';
  const agree = (m: number, p: string): void => {
    if (n < 0) {
      n = m;
      where = p;
    } else if (m !== n) {
      throw new ShapeError(`Dataset.fromTensorSlices: ${p} has ${m} rows but ${where} has ${n} (the first axis of every tensor must agree)`);
    }
  };
  const sub = (k: string | number) => (path === 'the argument' ? String(k) : typeof k === 'number' ? `${path}[${k}]` : `${path}.${k}`);
  if (Array.isArray(v)) {
    if (!isTuple(v)) return v.length;
    if (v.length === 0) throw new ValueError(`Dataset.fromTensorSlices: ${path} is an empty tuple`);
    v.forEach((x, k) => agree(sliceCount(x, sub(k)), sub(k)));
    return n;
  }
  if (isPlainObject(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) throw new ValueError(`Dataset.fromTensorSlices: ${path} is an empty object`);
    for (const [k, x] of entries) agree(sliceCount(x, sub(k)), sub(k));
    return n;
  }
  throw new DTypeError(`Dataset.fromTensorSlices: ${path} must be a Tensor, an array or a plain object of them, got ${describe(v)}`);
}

function sliceAt(v: unknown, i: number): unknown {
  if (v instanceof Tensor) return rowOf(v, i);
  if (Array.isArray(v)) return isTuple(v) ? v.map((x) => sliceAt(x, i)) : v[i];
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = sliceAt(x, i);
  return out;
}

function prefixError(err: unknown, where: string): unknown {
  if (err instanceof Error && !err.message.startsWith('Dataset.')) err.message = `${where}: ${err.message}`;
  return err;
}

function autotune(): number {
  return Math.max(2, availableParallelism());
}

/**
 * A dataset of rows of a sliced structure (fromTensorSlices, then shuffle / take / skip): the row order of each
 * iteration, so batch() can gather rows straight into the batch instead of stacking one element at a time.
 */
interface RowPlan {
  value: unknown;
  /** Rows per iteration. */
  n: number;
  /** The row order of a new iteration (called once per iteration). */
  order: () => Int32Array;
}

/** The order tf.data's shuffle buffer gives `src` with generator g (the element path draws exactly the same). */
function shuffleOrder(src: Int32Array, bufferSize: number, g: Generator): Int32Array {
  const out = new Int32Array(src.length);
  const fill = Math.min(bufferSize, src.length);
  const buf = Array.from(src.subarray(0, fill));
  let next = fill;
  let k = 0;
  while (buf.length > 0) {
    const j = g.nextBelow(buf.length);
    out[k++] = buf[j];
    if (next < src.length) buf[j] = src[next++];
    else {
      buf[j] = buf[buf.length - 1];
      buf.pop();
    }
  }
  return out;
}

/** Rows `idx` of a sliced structure, batched: tensors gathered into new storage, numbers as float32, columns. */
function gatherRows(v: unknown, idx: Int32Array): unknown {
  if (v instanceof Tensor) {
    const row = v.shape[0] === 0 ? 0 : v.size / v.shape[0];
    const out = newArray(v.data, idx.length * row);
    const src = v.data;
    if (row === 1) for (let i = 0; i < idx.length; i++) out[i] = src[idx[i]];
    else for (let i = 0; i < idx.length; i++) out.set(src.subarray(idx[i] * row, (idx[i] + 1) * row), i * row);
    return new Tensor(out, [idx.length, ...v.shape.slice(1)]);
  }
  if (Array.isArray(v)) {
    if (isTuple(v)) return v.map((x) => gatherRows(x, idx));
    const vals = Array.from(idx, (i) => v[i]);
    return stackLeaves(vals, 'the element');
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = gatherRows(x, idx);
  return out;
}

function identity(n: number): Int32Array {
  const o = new Int32Array(n);
  for (let i = 0; i < n; i++) o[i] = i;
  return o;
}

// --------------------------------------------------------------------------------------------------
// Dataset

export class Dataset<T> implements AsyncIterable<T> {
  /** tf.data's cardinality codes. */
  static readonly INFINITE = -1;
  static readonly UNKNOWN = -2;

  readonly #pull: Pull<T>;
  readonly #size: number | null;
  /** Set on datasets of rows of a sliced structure: batch() gathers rows directly. */
  #plan: RowPlan | null = null;

  /** Wraps an iterator factory (called once per iteration) and the element count (Infinity, or null when unknown). */
  protected constructor(pull: Pull<T>, size: number | null) {
    this.#pull = pull;
    this.#size = size;
  }

  /** A dataset of the rows of a sliced structure in plan.order() (elements are views, as fromTensorSlices). */
  static #rows<T>(plan: RowPlan): Dataset<T> {
    const ds = new Dataset<T>(async function* () {
      const order = plan.order();
      for (let i = 0; i < order.length; i++) yield sliceAt(plan.value, order[i]) as T;
    }, plan.n);
    ds.#plan = plan;
    return ds;
  }

  /** A Dataset from an iterator factory, called afresh for every iteration. For subclasses and adapters. */
  static create<T>(pull: () => AsyncIterator<T> | Iterator<T>, size: number | null = null): Dataset<T> {
    return new Dataset<T>(() => toAsync(pull()), size);
  }

  // --- sources -------------------------------------------------------------------------------

  /** One element: the structure itself (tf.data's from_tensors). Its tensors are the caller's: kept. */
  static fromTensors<T>(value: T): Dataset<T> {
    markKept(value);
    return new Dataset<T>(() => toAsync([value][Symbol.iterator]()), 1);
  }

  /**
   * One element per row of the first axis, e.g. `fromTensorSlices({ x, y })` with x [N,28,28,1] and y [N]
   * gives N elements `{ x: [28,28,1], y: [] }`. Every tensor and column must have the same first axis. Rows are
   * views of the caller's storage (no copy).
   */
  static fromTensorSlices<const T>(value: T): Dataset<Sliced<T>> {
    const n = sliceCount(value, 'the argument');
    return Dataset.#rows<Sliced<T>>({ value, n, order: () => identity(n) });
  }

  /** The items of an array, in order (tf.data.array). The items are the caller's: kept. */
  static fromArray<T>(items: readonly T[]): Dataset<T> {
    if (!Array.isArray(items)) throw new DTypeError(`Dataset.fromArray: argument 'items' must be an array, got ${describe(items)}`);
    const copy = [...items];
    for (const it of copy) markKept(it);
    return new Dataset<T>(() => toAsync(copy[Symbol.iterator]()), copy.length);
  }

  /**
   * The elements a generator function yields: `fn` (sync or async, a generator function or any function
   * returning an iterable or iterator) is called once per iteration. What it yields is its own: kept.
   */
  static fromGenerator<T>(fn: () => Iterable<T> | AsyncIterable<T> | Iterator<T> | AsyncIterator<T>, options: SourceOptions = {}): Dataset<T> {
    if (typeof fn !== 'function') throw new DTypeError(`Dataset.fromGenerator: argument 'fn' must be a function, got ${describe(fn)}`);
    const size = options.size === undefined ? null : checkCount('Dataset.fromGenerator', "option 'size'", options.size, 0, true);
    return new Dataset<T>(() => keptIterator(iteratorOf('Dataset.fromGenerator', fn())), size);
  }

  /**
   * The elements of an async (or sync) iterable, whose iterator is requested afresh on every iteration: an
   * async generator object is one-shot (exhausted after the first pass); use fromGenerator to restart one.
   */
  static fromAsyncIterable<T>(iterable: AsyncIterable<T> | Iterable<T>, options: SourceOptions = {}): Dataset<T> {
    const size = options.size === undefined ? null : checkCount('Dataset.fromAsyncIterable', "option 'size'", options.size, 0, true);
    iteratorOf('Dataset.fromAsyncIterable', iterable, true);
    return new Dataset<T>(() => keptIterator(iteratorOf('Dataset.fromAsyncIterable', iterable)), size);
  }

  /** The numbers start, start+step, ... below stop (tf.data.range). */
  static range(start: number, stop?: number, step = 1): Dataset<number> {
    if (stop === undefined) [start, stop] = [0, start];
    const s = start;
    const e = stop;
    if (![s, e, step].every(Number.isFinite) || step === 0) throw new ValueError(`Dataset.range: start, stop and step must be finite numbers, step non-zero`);
    const n = Math.max(0, Math.ceil((e - s) / step));
    return new Dataset<number>(async function* () {
      for (let i = 0; i < n; i++) yield s + i * step;
    }, n);
  }

  /** Pairs (or records) of elements, one from each dataset, until the shortest ends. */
  static zip<D extends readonly Dataset<unknown>[] | Record<string, Dataset<unknown>>>(datasets: D): Dataset<{ -readonly [K in keyof D]: D[K] extends Dataset<infer U> ? U : never }> {
    type Out = { -readonly [K in keyof D]: D[K] extends Dataset<infer U> ? U : never };
    const isArr = Array.isArray(datasets);
    const entries = isArr ? (datasets as readonly Dataset<unknown>[]).map((d, i) => [i, d] as const) : Object.entries(datasets as Record<string, Dataset<unknown>>);
    if (entries.length === 0) throw new ValueError('Dataset.zip: no datasets given');
    for (const [k, d] of entries) if (!(d instanceof Dataset)) throw new DTypeError(`Dataset.zip: entry ${String(k)} is ${describe(d)}, not a Dataset`);
    const sizes = entries.map(([, d]) => d.size);
    const size = sizes.some((s) => s === null) ? (sizes.some((s) => s === 0) ? 0 : null) : Math.min(...(sizes as number[]));
    return new Dataset<Out>(async function* () {
      const its = entries.map(([, d]) => d[Symbol.asyncIterator]());
      let got: unknown[] = [];
      try {
        for (;;) {
          got = [];
          for (const it of its) {
            const r = await it.next();
            if (r.done) {
              for (const g of got) releaseElement(g);
              got = [];
              return;
            }
            got.push(r.value);
          }
          const el = isArr ? [...got] : Object.fromEntries(entries.map(([k], i) => [k, got[i]]));
          got = [];
          yield el as Out;
        }
      } finally {
        for (const g of got) releaseElement(g);
        await Promise.all(its.map((it) => it.return?.()));
      }
    }, size);
  }

  // --- iteration -----------------------------------------------------------------------------

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#pull();
  }

  /**
   * The number of elements when known: a count, Infinity for an endless dataset, null when unknown
   * (generators without a `size`, filter, unbatch).
   */
  get size(): number | null {
    return this.#size;
  }

  /** tf.data's cardinality(): the count, Dataset.INFINITE (-1) or Dataset.UNKNOWN (-2). */
  cardinality(): number {
    return this.#size === null ? Dataset.UNKNOWN : this.#size === Infinity ? Dataset.INFINITE : this.#size;
  }

  /** Disposes the tensors of an element that the consumer owns (what this Dataset does not keep). */
  release(element: T): void {
    releaseElement(element);
  }

  [RELEASE_BATCH](element: unknown): void {
    releaseElement(element);
  }

  /** Every element, in order (an endless dataset never settles: take() first). */
  async toArray(): Promise<T[]> {
    if (this.#size === Infinity) throw new ValueError('Dataset.toArray: the dataset is endless (repeat without a count); take(n) first');
    const out: T[] = [];
    for await (const el of this) out.push(el);
    return out;
  }

  /** Calls fn on every element, in order, awaiting it. */
  async forEach(fn: (el: T, index: number) => unknown): Promise<void> {
    let i = 0;
    for await (const el of this) await fn(el, i++);
  }

  // --- transformations -----------------------------------------------------------------------

  /**
   * fn applied to every element (sync or async; results keep their order). With `parallelism` p > 1, up to p
   * calls run at once (async work such as decoding overlaps). fn runs in a scope: tensors it creates and does
   * not return are disposed; input tensors the consumer owned and the result does not contain are disposed.
   */
  map<U>(fn: (el: T) => U | Promise<U>, options: MapOptions = {}): Dataset<U> {
    if (typeof fn !== 'function') throw new DTypeError(`Dataset.map: argument 'fn' must be a function, got ${describe(fn)}`);
    const p0 = options.parallelism ?? 1;
    const p = p0 === AUTOTUNE ? autotune() : checkCount('Dataset.map', "option 'parallelism'", p0, 1);
    const up = this;
    const apply = async (el: T, index: number): Promise<U> => {
      let out: U;
      try {
        out = await scope(() => fn(el));
      } catch (e) {
        releaseElement(el);
        throw prefixError(e, `Dataset.map: element ${index}`);
      }
      releaseElement(el, tensorSet(out));
      return out;
    };
    return new Dataset<U>(async function* () {
      const it = up[Symbol.asyncIterator]();
      const window: Promise<U>[] = [];
      let done = false;
      let index = 0;
      try {
        for (;;) {
          while (!done && window.length < p) {
            const r = await it.next();
            if (r.done) {
              done = true;
              break;
            }
            const pr = apply(r.value, index++);
            pr.catch(() => undefined); // rejections surface in order, when the consumer reaches them
            window.push(pr);
          }
          const head = window.shift();
          if (head === undefined) return;
          yield await head;
        }
      } finally {
        for (const pr of window) pr.then((u) => releaseElement(u), () => undefined);
        await it.return?.();
      }
    }, this.#size);
  }

  /** Elements for which pred (sync or async; a boolean or a one-element tensor) is true. */
  filter(pred: (el: T) => boolean | Tensor | Promise<boolean | Tensor>): Dataset<T> {
    if (typeof pred !== 'function') throw new DTypeError(`Dataset.filter: argument 'pred' must be a function, got ${describe(pred)}`);
    const up = this;
    return new Dataset<T>(async function* () {
      let i = 0;
      for await (const el of up) {
        let keepIt: boolean;
        try {
          const v = await scope(() => pred(el));
          keepIt = v instanceof Tensor ? v.item() !== 0 : Boolean(v);
          if (v instanceof Tensor && !tensorSet(el).has(v)) v.dispose();
        } catch (e) {
          releaseElement(el);
          throw prefixError(e, `Dataset.filter: element ${i}`);
        }
        i++;
        if (keepIt) yield el;
        else releaseElement(el);
      }
    }, this.#size === 0 ? 0 : null);
  }

  /**
   * Groups of n consecutive elements stacked leaf by leaf (a new first axis); the last group may be smaller
   * unless dropRemainder. The stacked tensors are new (pooled) storage, owned by the consumer.
   */
  batch(n: number, options: BatchOptions = {}): Dataset<Batched<T>> {
    checkCount('Dataset.batch', "argument 'batchSize'", n, 1);
    const drop = options.dropRemainder ?? false;
    const up = this;
    const s = this.#size;
    const size = s === null || s === Infinity ? s : drop ? Math.floor(s / n) : Math.ceil(s / n);
    const plan = this.#plan;
    if (plan) {
      // Rows of a sliced structure: gather each batch's rows directly (the same batches, without per-row elements).
      return new Dataset<Batched<T>>(async function* () {
        const order = plan.order();
        const end = drop ? order.length - (order.length % n) : order.length;
        for (let b = 0; b < end; b += n) yield gatherRows(plan.value, order.subarray(b, Math.min(b + n, end))) as Batched<T>;
      }, size);
    }
    return new Dataset<Batched<T>>(async function* () {
      let group: T[] = [];
      try {
        for await (const el of up) {
          group.push(el);
          if (group.length === n) {
            const b = stack(group);
            group = [];
            yield b;
          }
        }
        if (group.length > 0 && !drop) {
          const b = stack(group);
          group = [];
          yield b;
        }
      } finally {
        for (const el of group) releaseElement(el);
      }
    }, size);
    function stack(group: T[]): Batched<T> {
      try {
        return stackLeaves(group, 'the element') as Batched<T>;
      } finally {
        for (const el of group) releaseElement(el);
      }
    }
  }

  /** The rows of every batch, one element each (tensors become views of the batch's storage). */
  unbatch(): Dataset<Unbatched<T>> {
    const up = this;
    return new Dataset<Unbatched<T>>(async function* () {
      for await (const b of up) {
        const n = rowCount(b, 'Dataset.unbatch');
        if (n === null) throw new ValueError(`Dataset.unbatch: the element ${describe(b)} has no tensor or column to split`);
        const rows = Array.from({ length: n }, (_, i) => rowOfStructure(b, i));
        releaseElement(b); // the rows are views: the storage stays alive while they do
        let i = 0;
        try {
          for (; i < n; i++) yield rows[i] as Unbatched<T>;
        } finally {
          for (let j = i + 1; j < n; j++) releaseElement(rows[j]);
        }
      }
    }, this.#size === 0 ? 0 : null);
  }

  /**
   * Elements in a random order drawn from a buffer of `bufferSize` (tf.data's algorithm: a buffer at least as
   * large as the dataset gives a uniform permutation). Seeded: the same seed gives the same orders.
   */
  shuffle(bufferSize: number, options: ShuffleOptions = {}): Dataset<T> {
    checkCount('Dataset.shuffle', "argument 'bufferSize'", bufferSize, 1, true);
    const { seed, reshuffleEachIteration = true } = options;
    if (seed !== undefined && !(seed instanceof Generator) && (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)) {
      throw new ValueError(`Dataset.shuffle: option 'seed' must be a non-negative integer or a Generator, got ${String(seed)}`);
    }
    // Each iteration draws from a generator of its own, seeded from `root` (the same sequence of seeds for the same seed).
    const root = seed instanceof Generator ? seed : typeof seed === 'number' ? new Generator(seed) : getDefaultGenerator();
    const fixed = reshuffleEachIteration ? null : root.nextSeed();
    const up = this;
    const plan = this.#plan;
    if (plan) {
      return Dataset.#rows<T>({ value: plan.value, n: plan.n, order: () => shuffleOrder(plan.order(), bufferSize, new Generator(fixed ?? root.nextSeed())) });
    }
    return new Dataset<T>(async function* () {
      const g = new Generator(fixed ?? root.nextSeed());
      const buf: T[] = [];
      const it = up[Symbol.asyncIterator]();
      try {
        let done = false;
        while (!done && buf.length < bufferSize) {
          const r = await it.next();
          if (r.done) done = true;
          else buf.push(r.value);
        }
        while (buf.length > 0) {
          const j = g.nextBelow(buf.length);
          const el = buf[j];
          if (!done) {
            const r = await it.next();
            if (r.done) done = true;
            else {
              buf[j] = r.value;
              yield el;
              continue;
            }
          }
          buf[j] = buf[buf.length - 1];
          buf.pop();
          yield el;
        }
      } finally {
        for (const el of buf) releaseElement(el);
        buf.length = 0;
        await it.return?.();
      }
    }, this.#size);
  }

  /**
   * Runs the pipeline up to n elements ahead of the consumer: while the consumer works on one element (a
   * training step), the producer's pending async work (file reads, decoding, timers) completes and the next
   * elements queue up. AUTOTUNE picks 2.
   */
  prefetch(n: number): Dataset<T> {
    const depth = n === AUTOTUNE ? 2 : checkCount('Dataset.prefetch', "argument 'bufferSize'", n, 1);
    const up = this;
    return new Dataset<T>(() => prefetchIterator(up, depth), this.#size);
  }

  /** The dataset `count` times over (endless without a count). An iteration that yields nothing ends it. */
  repeat(count?: number): Dataset<T> {
    const c = count === undefined || count === -1 ? Infinity : checkCount('Dataset.repeat', "argument 'count'", count, 0, true);
    const s = this.#size;
    const size = c === 0 || s === 0 ? 0 : s === null ? null : s * c;
    const up = this;
    return new Dataset<T>(async function* () {
      for (let k = 0; k < c; k++) {
        let any = false;
        for await (const el of up) {
          any = true;
          yield el;
        }
        if (!any) return;
      }
    }, size);
  }

  /** The first n elements (n = Infinity or -1: all). */
  take(n: number): Dataset<T> {
    const c = n === -1 ? Infinity : checkCount('Dataset.take', "argument 'count'", n, 0, true);
    const s = this.#size;
    const plan = this.#plan;
    if (plan) {
      const m = Math.min(plan.n, c);
      return Dataset.#rows<T>({ value: plan.value, n: m, order: () => plan.order().subarray(0, m) });
    }
    const up = this;
    return new Dataset<T>(async function* () {
      if (c === 0) return;
      let i = 0;
      for await (const el of up) {
        yield el;
        if (++i >= c) return;
      }
    }, s === null ? null : Math.min(s, c));
  }

  /** All but the first n elements (their owned tensors are disposed). */
  skip(n: number): Dataset<T> {
    const c = checkCount('Dataset.skip', "argument 'count'", n, 0, true);
    const s = this.#size;
    const plan = this.#plan;
    if (plan) {
      const m = Math.min(plan.n, c);
      return Dataset.#rows<T>({ value: plan.value, n: plan.n - m, order: () => plan.order().subarray(m) });
    }
    const up = this;
    return new Dataset<T>(async function* () {
      let i = 0;
      for await (const el of up) {
        if (i < c) {
          i++;
          releaseElement(el);
          continue;
        }
        yield el;
      }
    }, s === null ? null : s === Infinity ? (c === Infinity ? 0 : Infinity) : Math.max(0, s - c));
  }

  /** This dataset's elements, then other's. */
  concatenate<U>(other: Dataset<U>): Dataset<T | U> {
    if (!(other instanceof Dataset)) throw new DTypeError(`Dataset.concatenate: argument 'other' must be a Dataset, got ${describe(other)}`);
    const a = this.#size;
    const b = other.size;
    const up = this;
    return new Dataset<T | U>(async function* () {
      yield* up;
      yield* other;
    }, a === null || b === null ? null : a + b);
  }

  /** Pairs of elements of this and other (Dataset.zip([this, other])). */
  zip<U>(other: Dataset<U>): Dataset<[T, U]> {
    return Dataset.zip([this, other] as const) as unknown as Dataset<[T, U]>;
  }

  /**
   * Keeps the elements in memory after the first complete pass, and serves later iterations from there (an
   * interrupted pass is discarded). Cached tensors belong to the cache: consumers must not dispose them
   * (release() and fit leave them alone).
   */
  cache(): Dataset<T> {
    if (this.#size === Infinity) throw new ValueError('Dataset.cache: the dataset is endless; cache before repeat()');
    let stored: T[] | null = null;
    const up = this;
    return new Dataset<T>(async function* () {
      if (stored) {
        yield* stored;
        return;
      }
      const filling: T[] = [];
      for await (const el of up) {
        markKept(el);
        filling.push(el);
        yield el;
      }
      stored ??= filling;
    }, this.#size);
  }
}

// --------------------------------------------------------------------------------------------------
// Iterator helpers

function toAsync<T>(it: Iterator<T> | AsyncIterator<T>): AsyncIterator<T> {
  return {
    next: async () => it.next(),
    return: async (v?: unknown) => (it.return ? it.return(v as T) : { done: true as const, value: v as T }),
  };
}

/** The iterator of an iterable, or the iterator itself; only checks when `probe`. */
function iteratorOf<T>(op: string, v: unknown, probe = false): Iterator<T> | AsyncIterator<T> {
  if (typeof v === 'object' && v !== null) {
    const a = (v as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof a === 'function') return probe ? (undefined as never) : a.call(v);
    const s = (v as Iterable<T>)[Symbol.iterator];
    if (typeof s === 'function') return probe ? (undefined as never) : s.call(v);
    if (typeof (v as Iterator<T>).next === 'function') return v as Iterator<T>;
  }
  throw new DTypeError(`${op}: expected an iterable, an async iterable or an iterator, got ${describe(v)}`);
}

/** Marks what a user's iterator yields as kept. */
function keptIterator<T>(it: Iterator<T> | AsyncIterator<T>): AsyncIterator<T> {
  return {
    next: async () => {
      const r = await it.next();
      if (!r.done) markKept(r.value);
      return r;
    },
    return: async (v?: unknown) => (it.return ? it.return(v as T) : { done: true as const, value: v as T }),
  };
}

/**
 * The prefetch pump: pulls from upstream as long as fewer than `depth` elements wait, independently of the
 * consumer; errors are delivered in order, after the elements produced before them.
 */
function prefetchIterator<T>(up: AsyncIterable<T>, depth: number): AsyncIterator<T> {
  const it = up[Symbol.asyncIterator]();
  const queue: IteratorResult<T>[] = [];
  let error: { e: unknown } | null = null;
  let finished = false; // upstream done or failed
  let stopped = false; // consumer called return()
  let pumping: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const pump = async (): Promise<void> => {
    try {
      while (!stopped && !finished && queue.length < depth) {
        const r = await it.next();
        if (stopped) {
          if (!r.done) releaseElement(r.value);
          break;
        }
        if (r.done) finished = true;
        else queue.push(r);
        notify();
      }
    } catch (e) {
      error = { e };
      finished = true;
      notify();
    } finally {
      pumping = null;
    }
  };
  const kick = () => {
    if (!pumping && !finished && !stopped) pumping = pump();
  };

  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (stopped) return { done: true, value: undefined };
        if (queue.length > 0) {
          const r = queue.shift()!;
          kick();
          return r;
        }
        if (error) {
          const e = error.e;
          error = null;
          stopped = true;
          throw e;
        }
        if (finished) return { done: true, value: undefined };
        kick();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async return(): Promise<IteratorResult<T>> {
      stopped = true;
      notify();
      const p = pumping;
      if (p) await p;
      for (const r of queue) if (!r.done) releaseElement(r.value);
      queue.length = 0;
      await it.return?.();
      return { done: true, value: undefined };
    },
  };
}
