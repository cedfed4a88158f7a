/**
 * Shape arithmetic and the argument checks every op shares. Each check throws an error of the form
 * `op: argument 'name' ...` with the shapes involved (see errors.ts); ops call these, once, before any kernel.
 */
import { DTypeError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';

export type Shape = readonly number[];

/** Number of elements; 1 for a scalar shape []. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting of two shapes; names both arguments when they do not broadcast. */
export function broadcastShapes(op: string, a: Shape, b: Shape, names: [string, string] = ['a', 'b']): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw opError(
        ShapeError,
        op,
        `argument '${names[0]}' ${fmtShape(a)} and argument '${names[1]}' ${fmtShape(b)} do not broadcast ` +
          `(axis ${i - rank} has ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(op: string, axis: number, rank: number, arg = 'axis'): number {
  if (!Number.isInteger(axis)) throw opError(ValueError, op, `argument '${arg}' must be an integer, got ${axis}`);
  if (axis < -rank || axis >= rank) {
    throw opError(ValueError, op, `argument '${arg}' = ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Resolves axes (undefined = all), sorted and deduplicated-checked. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(op, a, rank));
  const seen = new Set(out);
  if (seen.size !== out.length) throw opError(ValueError, op, `argument 'axis' repeats an axis: [${list.join(',')}]`);
  return out.sort((x, y) => x - y);
}

export function assertRank(op: string, arg: string, shape: Shape, rank: number | readonly number[]): void {
  const ok = typeof rank === 'number' ? shape.length === rank : rank.includes(shape.length);
  if (!ok) {
    const want = typeof rank === 'number' ? `${rank}` : rank.join(' or ');
    throw opError(ShapeError, op, `argument '${arg}' must have rank ${want}, got shape ${fmtShape(shape)}`);
  }
}

/** A finite number (rejects NaN, Infinity and non-numbers). */
export function checkFinite(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw opError(ValueError, op, `argument '${arg}' must be a finite number, got ${String(v)}`);
  }
  return v;
}

export function checkPositiveInt(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw opError(ValueError, op, `argument '${arg}' must be a positive integer, got ${String(v)}`);
  }
  return v;
}

export function checkNonNegativeInt(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw opError(ValueError, op, `argument '${arg}' must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

/** `n` or `[a, b]` -> `[a, b]` of positive integers (strides, dilations, pool and kernel sizes). */
export function pair(op: string, arg: string, v: unknown): [number, number] {
  if (typeof v === 'number') {
    checkPositiveInt(op, arg, v);
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2) {
    checkPositiveInt(op, `${arg}[0]`, v[0]);
    checkPositiveInt(op, `${arg}[1]`, v[1]);
    return [v[0], v[1]];
  }
  throw opError(ValueError, op, `argument '${arg}' must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
}

/** A shape given by a user: non-negative integers. */
export function checkShape(op: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw opError(DTypeError, op, `argument '${arg}' must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw opError(ValueError, op, `argument '${arg}' must hold non-negative integers, got ${JSON.stringify(shape)}`);
    }
  }
  return [...shape];
}
