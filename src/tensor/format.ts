/**
 * Reading tensors back as JS values and printing them the way PyTorch and NumPy do:
 *
 *   Tensor(shape=[2,3], dtype=float32)
 *   [[ 1.0000, -2.5000,  3.0000],
 *    [ 4.0000,  5.0000,  6.1250]]
 *
 * Floats share one format per tensor (integral values as `1.`, otherwise 4 decimals, scientific when the
 * magnitudes span more than fixed point shows well); int32 prints plain. Past 1000 elements, each axis longer
 * than 6 shows its first and last 3 entries around `...`, and only the shown values set the format.
 */
import type { DType } from './dtype.js';

/** A scalar or nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type Nested = number | Nested[];

/** What `formatTensor` reads: a Tensor or anything shaped like one. */
export interface Formattable {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Elements beyond which printing summarises, and entries kept at each end of a summarised axis (PyTorch's). */
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;
/** Target line length for wrapping long rows. */
const LINE_WIDTH = 80;

/** Row-major data with a shape -> a number for a scalar, nested arrays otherwise. */
export function toNested(data: ArrayLike<number>, shape: readonly number[]): Nested {
  if (shape.length === 0) return data[0];
  const build = (axis: number, offset: number, stride: number): Nested[] => {
    const dim = shape[axis];
    const out: Nested[] = new Array(dim);
    if (axis === shape.length - 1) {
      for (let i = 0; i < dim; i++) out[i] = data[offset + i];
      return out;
    }
    const inner = stride / dim;
    for (let i = 0; i < dim; i++) out[i] = build(axis + 1, offset + i * inner, inner);
    return out;
  };
  let size = 1;
  for (const d of shape) size *= d;
  return build(0, 0, size);
}

/** Indices shown along an axis of length dim: all of them, or the edges with -1 marking the `...`. */
function shownIndices(dim: number, summarise: boolean): number[] {
  if (!summarise || dim <= 2 * EDGE_ITEMS) return Array.from({ length: dim }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => dim - EDGE_ITEMS + i);
  return [...head, -1, ...tail];
}

/** Formats one number given the tensor-wide mode. */
type NumberFormat = (v: number) => string;

/** 4 decimals and a two-digit exponent, as PyTorch and NumPy: 1.2346e+05. */
function scientific(v: number): string {
  return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
}

function nonFinite(v: number): string | undefined {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return undefined;
}

/** Picks one format for all shown values, as PyTorch's _Formatter does. */
function chooseFormat(values: number[], dtype: DType): NumberFormat {
  if (dtype === 'int32') return (v) => String(v);
  let maxAbs = 0;
  let minAbs = Infinity; // smallest non-zero magnitude
  let integral = true;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a > 0 && a < minAbs) minAbs = a;
    if (!Number.isInteger(v)) integral = false;
  }
  if (integral) {
    if (maxAbs >= 1e8) return (v) => nonFinite(v) ?? scientific(v);
    return (v) => nonFinite(v) ?? `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
  }
  if (maxAbs >= 1e8 || minAbs < 1e-4 || maxAbs / minAbs > 1000) return (v) => nonFinite(v) ?? scientific(v);
  return (v) => nonFinite(v) ?? v.toFixed(4);
}

/** `Tensor(shape=[...], dtype=...)` and the values as aligned nested rows. */
export function formatTensor(t: Formattable): string {
  const header = `Tensor(shape=[${t.shape.join(',')}], dtype=${t.dtype})`;
  const { data, shape } = t;
  const rank = shape.length;
  const summarise = data.length > THRESHOLD;
  const strides = new Array<number>(rank);
  for (let a = rank - 1, acc = 1; a >= 0; a--) {
    strides[a] = acc;
    acc *= shape[a];
  }
  const shown = shape.map((d) => shownIndices(d, summarise));

  // Collect the shown values first: they alone decide the format and the column width.
  const values: number[] = [];
  const collect = (axis: number, offset: number): void => {
    if (axis === rank) {
      values.push(data[offset]);
      return;
    }
    for (const i of shown[axis]) if (i >= 0) collect(axis + 1, offset + i * strides[axis]);
  };
  collect(0, 0);
  const fmt = chooseFormat(values, t.dtype);
  const width = values.reduce((w, v) => Math.max(w, fmt(v).length), 0);
  const cell = (v: number): string => fmt(v).padStart(width);

  if (rank === 0) return `${header}\n${fmt(data[0])}`;

  // indent = column where this block's '[' sits; rows wrap to stay within LINE_WIDTH.
  const render = (axis: number, offset: number, indent: number): string => {
    if (axis === rank - 1) {
      const items = shown[axis].map((i) => (i < 0 ? '...'.padStart(width) : cell(data[offset + i])));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent - 1) / (width + 2)));
      const lines: string[] = [];
      for (let k = 0; k < items.length; k += perLine) lines.push(items.slice(k, k + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
    }
    // Blocks of higher axes are separated by one more blank line per remaining axis, as in PyTorch.
    const sep = `,${'\n'.repeat(rank - axis - 1)}${' '.repeat(indent + 1)}`;
    const parts = shown[axis].map((i) => (i < 0 ? '...' : render(axis + 1, offset + i * strides[axis], indent + 1)));
    return `[${parts.join(sep)}]`;
  };
  return `${header}\n${render(0, 0, 0)}`;
}
