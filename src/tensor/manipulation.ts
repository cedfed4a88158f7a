/**
 * Shape and data movement: reshape, expandDims, squeeze (views sharing storage), permute/transpose, slice,
 * gather, concat/stack/unstack/split, pad, broadcastTo/tile, cast and oneHot (kernel calls).
 * Every argument is validated here, once, with errors naming op, argument and shapes; kernels then run on
 * resolved, in-range attributes (backend.ts's contract).
 *
 * Gradients (recorded beside each op): views and permutations pass the gradient back reshaped or inversely
 * permuted; slice, split, unstack pad it with zeros; concat, stack slice it; broadcastTo and tile sum the copies;
 * gather and reflect/symmetric pad scatter-add it (every copy of an element adds its share); cast converts it
 * back (float to float only: nothing flows through int32). oneHot and int32 results have no gradient.
 */
import { DTypeError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import type { FTensor, ITensor, PadMode } from '../backends/backend.js';
import { backendFor, backendForAll } from '../backends/registry.js';
import { type DType, isDType } from './dtype.js';
import { record } from '../autograd/tape.js';
import { sum, sumTo } from './reduction.js';
import { checkNonNegativeInt, checkPositiveInt, checkShape, normalizeAxes, normalizeAxis, shapesEqual, sizeOf } from './shape.js';
import { assertTensor, describe } from './convert.js';
import { Tensor } from './tensor.js';

export interface PadOptions {
  /** 'constant' (default) fills with `value`; 'reflect' mirrors about the edge (no repeat); 'symmetric' repeats it. */
  mode?: PadMode;
  /** The fill of 'constant' mode (default 0). */
  value?: number;
}

export interface OneHotOptions {
  onValue?: number;
  offValue?: number;
}

/** A list of integers given by a user (perm, begin, reps...). */
function checkIntList(op: string, arg: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw opError(DTypeError, op, `argument '${arg}' must be an array of integers, got ${describe(v)}`);
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isInteger(d)) {
      throw opError(ValueError, op, `argument '${arg}' must hold integers, got ${JSON.stringify(v)}`);
    }
  }
  return [...v];
}

/** Position of a new axis, in [-rank-1, rank] (normalizeAxis's message would quote rank + 1). */
function newAxis(op: string, axis: unknown, shape: readonly number[]): number {
  const r = shape.length;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -r - 1 || axis > r) {
    throw opError(ValueError, op, `argument 'axis' = ${String(axis)} must be an integer in [${-r - 1}, ${r}] for shape ${fmtShape(shape)}`);
  }
  return axis < 0 ? axis + r + 1 : axis;
}

/** Same storage, new shape: reshapes and squeezes are views. */
function view(x: Tensor, shape: readonly number[]): Tensor {
  return x.withShape(shape);
}

/** A view of x recorded as `op`: its gradient is the output gradient seen with x's shape. */
function recordedView(op: string, x: Tensor, shape: readonly number[]): Tensor {
  return record(op, view(x, shape), [x], (g) => [view(g, x.shape)]);
}

/** Kernel slice with resolved begin and size (no validation): slice itself and the gradient of pad. */
function sliceKernel(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  return Tensor.fromKernel(backendFor(x).slice(x, begin, size, size.map(() => 1)));
}

/** Kernel zero padding with resolved pairs (no validation): the gradient side of slice, split and unstack. */
function zeroPad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  return Tensor.fromKernel(backendFor(x).pad(x, pads, 'constant', 0));
}

/** Zero pads of x's rank with [before, after] on `axis` only. */
function padsOnAxis(rank: number, axis: number, before: number, after: number): [number, number][] {
  return Array.from({ length: rank }, (_, k): [number, number] => (k === axis ? [before, after] : [0, 0]));
}

/** The adjoint of gather along `axis` (the scatterAdd kernel): g's axis `axis`, of length index.size, becomes `dim`. */
function scatterAddAxis(g: Tensor, index: ITensor | Tensor, dim: number, axis: number): Tensor {
  return Tensor.fromKernel(backendFor(g, index).scatterAdd(g as FTensor, index as ITensor, dim, axis));
}

/** New shape over the same storage; one entry may be -1 (inferred from the size). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'reshape';
  assertTensor(op, 'x', x);
  const s = checkIntList(op, 'shape', shape);
  const unknown = s.indexOf(-1);
  if (s.some((d) => d < -1) || s.indexOf(-1, unknown + 1) >= 0) {
    throw opError(ValueError, op, `argument 'shape' ${fmtShape(s)} must hold non-negative integers and at most one -1`);
  }
  if (unknown >= 0) {
    const known = sizeOf(s.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw opError(ShapeError, op, `cannot reshape argument 'x' of shape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(s)}`);
    }
    s[unknown] = x.size / known;
  }
  if (sizeOf(s) !== x.size) {
    throw opError(
      ShapeError,
      op,
      `cannot reshape argument 'x' of shape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(s)} (${sizeOf(s)} elements)`,
    );
  }
  return recordedView(op, x, s);
}

/** Inserts an axis of length 1 at `axis` (in [-rank-1, rank]); a view. */
export function expandDims(x: Tensor, axis = 0): Tensor {
  const op = 'expandDims';
  assertTensor(op, 'x', x);
  const a = newAxis(op, axis, x.shape);
  return recordedView(op, x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Drops the given axes (each must have length 1), or every axis of length 1; a view. */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  const op = 'squeeze';
  assertTensor(op, 'x', x);
  if (axis === undefined) return recordedView(op, x, x.shape.filter((d) => d !== 1));
  const axes = normalizeAxes(op, axis, x.rank);
  for (const a of axes) {
    if (x.shape[a] !== 1) {
      throw opError(ShapeError, op, `argument 'axis' ${a}: cannot squeeze an axis of length ${x.shape[a]} (shape ${fmtShape(x.shape)})`);
    }
  }
  return recordedView(op, x, x.shape.filter((_, a) => !axes.includes(a)));
}

/** out.shape[i] = x.shape[perm[i]]; perm must be a permutation of 0..rank-1. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'permute';
  assertTensor(op, 'x', x);
  return transposeChecked(op, x, perm);
}

/** Reverses the axes (a matrix transpose for rank 2), or permutes them by `perm`. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const op = 'transpose';
  assertTensor(op, 'x', x);
  return transposeChecked(op, x, perm ?? x.shape.map((_, i) => x.rank - 1 - i));
}

function transposeChecked(op: string, x: Tensor, perm: readonly number[]): Tensor {
  const p = checkIntList(op, 'perm', perm);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== x.rank || sorted.some((v, i) => v !== i)) {
    throw opError(ValueError, op, `argument 'perm' [${p.join(',')}] is not a permutation of 0..${x.rank - 1} for x of shape ${fmtShape(x.shape)}`);
  }
  if (p.every((v, i) => v === i)) return recordedView(op, x, x.shape); // identity: nothing moves
  // The gradient moves back by the inverse permutation: inv[p[i]] = i.
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return record(op, Tensor.fromKernel(backendFor(x).transpose(x, p)), [x], (g) => [Tensor.fromKernel(backendFor(g).transpose(g, inv))]);
}

/**
 * The block starting at `begin` of `size` per axis. Negative begin counts from the end; size -1 or omitted
 * runs to the end; axes past begin.length are taken whole.
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const op = 'slice';
  assertTensor(op, 'x', x);
  const b = checkIntList(op, 'begin', begin);
  if (b.length > x.rank) {
    throw opError(ShapeError, op, `argument 'begin' [${b.join(',')}] has ${b.length} entries but x has shape ${fmtShape(x.shape)}`);
  }
  const s = size === undefined ? b.map(() => -1) : checkIntList(op, 'size', size);
  if (s.length !== b.length) {
    throw opError(ShapeError, op, `argument 'size' [${s.join(',')}] must have as many entries as argument 'begin' [${b.join(',')}]`);
  }
  const rb: number[] = [];
  const rs: number[] = [];
  for (let a = 0; a < x.rank; a++) {
    const dim = x.shape[a];
    const b0 = a < b.length ? b[a] : 0;
    const s0 = a < s.length ? s[a] : -1;
    const start = b0 < 0 ? b0 + dim : b0;
    if (start < 0 || start > dim) {
      throw opError(ValueError, op, `argument 'begin'[${a}] = ${b0} is out of range for axis ${a} of length ${dim} (x shape ${fmtShape(x.shape)})`);
    }
    const len = s0 === -1 ? dim - start : s0;
    if (len < 0 || start + len > dim) {
      throw opError(
        ValueError,
        op,
        `argument 'size'[${a}] = ${s0} from begin ${start} runs past axis ${a} of length ${dim} (x shape ${fmtShape(x.shape)})`,
      );
    }
    rb.push(start);
    rs.push(len);
  }
  // The gradient is the output gradient put back in place, zeros around it.
  const y = sliceKernel(x, rb, rs);
  return record(op, y, [x], (g) => [zeroPad(g, rb.map((b0, a): [number, number] => [b0, x.shape[a] - b0 - rs[a]]))]);
}

/**
 * Picks entries along `axis` by index: out.shape = x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:].
 * Indices are an int32 tensor or an array of integers, each in [0, x.shape[axis]). Host indices are checked here;
 * CUDA indices stay on the device, where the kernel checks them and a bad one throws at the next read from the GPU.
 */
export function gather(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
  const op = 'gather';
  assertTensor(op, 'x', x);
  const a = normalizeAxis(op, axis, x.rank);
  let idx: ITensor | Tensor;
  if (indices instanceof Tensor) {
    if (indices.dtype !== 'int32') {
      throw opError(DTypeError, op, `argument 'indices' must be int32, got ${indices.dtype} of shape ${fmtShape(indices.shape)}`);
    }
    idx = indices.device === 'cuda' ? indices : { data: indices.data as Int32Array, shape: indices.shape };
  } else {
    const list = checkIntList(op, 'indices', indices);
    idx = { data: Int32Array.from(list), shape: [list.length] };
  }
  const dim = x.shape[a];
  const host = idx instanceof Tensor ? [] : idx.data;
  for (let i = 0; i < host.length; i++) {
    const v = host[i];
    if (v < 0 || v >= dim) {
      throw opError(
        ValueError,
        op,
        `argument 'indices' holds ${v} (flat position ${i}), out of range [0, ${dim}) for axis ${a} of x with shape ${fmtShape(x.shape)}`,
      );
    }
  }
  const y = Tensor.fromKernel(backendFor(x, idx).gather(x, idx as ITensor, a));
  // Each picked row adds its gradient to the row it came from (repeated indices add up); the index axes are one.
  const picked = x.shape.map((d, k) => (k === a ? sizeOf(idx.shape) : d));
  return record(op, y, [x], (g) => [scatterAddAxis(view(g, picked), idx, dim, a)]);
}

/** A non-empty list of tensors of one dtype and rank. */
function checkTensorList(op: string, xs: unknown): Tensor[] {
  if (!Array.isArray(xs) || xs.length === 0) {
    throw opError(ValueError, op, `argument 'tensors' must be a non-empty array of Tensors, got ${Array.isArray(xs) ? '[]' : describe(xs)}`);
  }
  xs.forEach((t, i) => assertTensor(op, `tensors[${i}]`, t));
  const list = xs as Tensor[];
  list.forEach((t, i) => {
    if (t.dtype !== list[0].dtype) {
      throw opError(DTypeError, op, `argument 'tensors[${i}]' is ${t.dtype} but tensors[0] is ${list[0].dtype} (cast first)`);
    }
  });
  return list;
}

/** Joins tensors along an existing axis; they agree on every other axis. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  const xs = checkTensorList(op, tensors);
  const first = xs[0];
  if (first.rank === 0) throw opError(ShapeError, op, `cannot concatenate scalars (argument 'tensors[0]' has shape [])`);
  const a = normalizeAxis(op, axis, first.rank);
  xs.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== a && d !== first.shape[k])) {
      throw opError(
        ShapeError,
        op,
        `argument 'tensors[${i}]' has shape ${fmtShape(t.shape)} but tensors[0] has ${fmtShape(first.shape)}: ` +
          `all axes but axis ${a} must match`,
      );
    }
  });
  const y = Tensor.fromKernel(backendForAll(xs).concat(xs, a));
  // Each input gets its block of the gradient along the axis.
  return record(op, y, xs, (g) => {
    let start = 0;
    return xs.map((t) => {
      const part = t.requiresGrad ? sliceAxis(g, a, start, t.shape[a]) : null;
      start += t.shape[a];
      return part;
    });
  });
}

/** Joins same-shape tensors along a new axis (in [-rank-1, rank]). */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  const op = 'stack';
  const xs = checkTensorList(op, tensors);
  const a = newAxis(op, axis, xs[0].shape);
  xs.forEach((t, i) => {
    if (!shapesEqual(t.shape, xs[0].shape)) {
      throw opError(ShapeError, op, `argument 'tensors[${i}]' has shape ${fmtShape(t.shape)} but tensors[0] has ${fmtShape(xs[0].shape)}`);
    }
  });
  const expanded = xs.map((t) => view(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)]));
  const y = Tensor.fromKernel(backendForAll(expanded).concat(expanded, a));
  // Input i gets slice i of the gradient along the new axis, without that axis.
  return record(op, y, xs, (g) => xs.map((t, i) => (t.requiresGrad ? view(sliceAxis(g, a, i, 1), t.shape) : null)));
}

/** Slices along `axis` at (start, len); the axis is kept. Arguments already validated. */
function sliceAxis(x: Tensor, axis: number, start: number, len: number): Tensor {
  const begin = x.shape.map((_, k) => (k === axis ? start : 0));
  const size = x.shape.map((d, k) => (k === axis ? len : d));
  return Tensor.fromKernel(backendFor(x).slice(x, begin, size, size.map(() => 1)));
}

/** The tensors of rank-1 along `axis` (the inverse of stack). */
export function unstack(x: Tensor, axis = 0): Tensor[] {
  const op = 'unstack';
  assertTensor(op, 'x', x);
  const a = normalizeAxis(op, axis, x.rank);
  const rest = x.shape.filter((_, k) => k !== a);
  const n = x.shape[a];
  // Piece i's gradient goes back to position i of the axis, zeros elsewhere (the pieces' gradients add up).
  return Array.from({ length: n }, (_, i) =>
    record(op, view(sliceAxis(x, a, i, 1), rest), [x], (g) => [zeroPad(view(g, x.shape.map((d, k) => (k === a ? 1 : d))), padsOnAxis(x.rank, a, i, n - 1 - i))]),
  );
}

/**
 * Splits along `axis` into `count` equal parts (count must divide the axis), or into parts of the given
 * sizes (they sum to the axis length; one may be -1, inferred).
 */
export function split(x: Tensor, sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
  const op = 'split';
  assertTensor(op, 'x', x);
  const a = normalizeAxis(op, axis, x.rank);
  const dim = x.shape[a];
  let sizes: number[];
  if (typeof sizesOrCount === 'number') {
    const count = checkPositiveInt(op, 'sizesOrCount', sizesOrCount);
    if (dim % count !== 0) {
      throw opError(ValueError, op, `argument 'sizesOrCount' = ${count} does not divide axis ${a} of length ${dim} (x shape ${fmtShape(x.shape)})`);
    }
    sizes = new Array<number>(count).fill(dim / count);
  } else {
    sizes = checkIntList(op, 'sizesOrCount', sizesOrCount);
    const unknown = sizes.indexOf(-1);
    if (sizes.length === 0 || sizes.some((d) => d < -1) || sizes.indexOf(-1, unknown + 1) >= 0) {
      throw opError(ValueError, op, `argument 'sizesOrCount' [${sizes.join(',')}] must be non-empty, non-negative integers and at most one -1`);
    }
    const known = sizes.reduce((acc, d) => (d === -1 ? acc : acc + d), 0);
    if (unknown >= 0 ? known > dim : known !== dim) {
      throw opError(
        ValueError,
        op,
        `argument 'sizesOrCount' [${sizes.join(',')}] must sum to axis ${a} of length ${dim} (x shape ${fmtShape(x.shape)})`,
      );
    }
    if (unknown >= 0) sizes[unknown] = dim - known;
  }
  let start = 0;
  return sizes.map((len) => {
    const at = start;
    start += len;
    // A part's gradient goes back to its block of the axis, zeros elsewhere.
    return record(op, sliceAxis(x, a, at, len), [x], (g) => [zeroPad(g, padsOnAxis(x.rank, a, at, dim - at - len))]);
  });
}

/**
 * Pads each axis by paddings[axis] = [before, after]. 'reflect' mirrors without repeating the edge
 * (pads < axis length), 'symmetric' repeats it (pads <= axis length), as np.pad.
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], options: PadOptions = {}): Tensor {
  const op = 'pad';
  assertTensor(op, 'x', x);
  const mode = options.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'symmetric') {
    throw opError(ValueError, op, `argument 'mode' must be 'constant', 'reflect' or 'symmetric', got ${String(mode)}`);
  }
  const value = options.value ?? 0;
  if (typeof value !== 'number') throw opError(DTypeError, op, `argument 'value' must be a number, got ${describe(value)}`);
  if (x.dtype === 'int32' && !Number.isInteger(value)) {
    throw opError(ValueError, op, `argument 'value' = ${value} must be an integer to pad an int32 tensor`);
  }
  if (!Array.isArray(paddings) || paddings.length !== x.rank) {
    throw opError(
      ShapeError,
      op,
      `argument 'paddings' must hold one [before, after] pair per axis of x with shape ${fmtShape(x.shape)}, got ${JSON.stringify(paddings)}`,
    );
  }
  const pads = paddings.map((p, a): [number, number] => {
    if (!Array.isArray(p) || p.length !== 2) {
      throw opError(ValueError, op, `argument 'paddings'[${a}] must be a [before, after] pair, got ${JSON.stringify(p)}`);
    }
    const before = checkNonNegativeInt(op, `paddings[${a}][0]`, p[0]);
    const after = checkNonNegativeInt(op, `paddings[${a}][1]`, p[1]);
    const dim = x.shape[a];
    const limit = mode === 'reflect' ? dim - 1 : mode === 'symmetric' ? dim : Infinity;
    if (before > limit || after > limit) {
      throw opError(
        ValueError,
        op,
        `argument 'paddings'[${a}] = [${before},${after}] exceeds ${limit} for ${mode} mode on axis ${a} of length ${dim} (x shape ${fmtShape(x.shape)})`,
      );
    }
    return [before, after];
  });
  const y = Tensor.fromKernel(backendFor(x).pad(x, pads, mode, value));
  return record(op, y, [x], (g) => [padGrad(g, x.shape, pads, mode)]);
}

/** Input position that output position p - before reads on an axis of length dim, or -1 for the constant. */
function padSource(p: number, dim: number, mode: PadMode): number {
  if (p >= 0 && p < dim) return p;
  if (mode === 'constant') return -1;
  if (mode === 'reflect') return p < 0 ? -p : 2 * (dim - 1) - p;
  return p < 0 ? -p - 1 : 2 * dim - 1 - p;
}

/**
 * The adjoint of pad: constant mode slices the interior back out; reflect and symmetric also add each mirrored
 * copy to its source. Padding is separable, so its adjoint is one scatter-add per padded axis.
 */
function padGrad(g: Tensor, xShape: readonly number[], pads: readonly (readonly [number, number])[], mode: PadMode): Tensor {
  if (mode === 'constant') return sliceKernel(g, pads.map((p) => p[0]), xShape);
  let out = g;
  pads.forEach(([before, after], a) => {
    if (before === 0 && after === 0) return;
    const dim = xShape[a];
    const index = Int32Array.from({ length: dim + before + after }, (_, p) => padSource(p - before, dim, mode));
    out = scatterAddAxis(out, { data: index, shape: [index.length] }, dim, a);
  });
  return out;
}

/**
 * Repeats x reps[i] times along axis i (NumPy's tile: a shorter reps is padded with leading 1s, a longer
 * one gives x leading axes of length 1).
 */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  const op = 'tile';
  assertTensor(op, 'x', x);
  const r = checkShape(op, 'reps', reps);
  const rank = Math.max(x.rank, r.length);
  const fullReps = [...new Array<number>(rank - r.length).fill(1), ...r];
  const aligned = [...new Array<number>(rank - x.rank).fill(1), ...x.shape];
  const y = tileChecked(view(x, aligned), fullReps);
  // Output axis a is [reps_a, dim_a] row-major: summing the reps axes adds up every copy of each element.
  const interleaved = aligned.flatMap((d, a) => [fullReps[a], d]);
  const repAxes = aligned.map((_, a) => 2 * a);
  return record(op, y, [x], (g) => [view(sum(view(g, interleaved), repAxes), x.shape)]);
}

/** Tiles by gathering each axis with indices 0..d-1 repeated reps times (one kernel call per tiled axis). */
function tileChecked(x: Tensor, reps: readonly number[]): Tensor {
  let out = x;
  reps.forEach((rep, a) => {
    if (rep === 1) return;
    const d = out.shape[a];
    const idx = Int32Array.from({ length: d * rep }, (_, i) => i % d);
    out = Tensor.fromKernel(backendFor(out).gather(out, { data: idx, shape: [idx.length] }, a));
  });
  return out;
}

/** Broadcasts x to `shape` with NumPy's rules (right-aligned; axes of length 1 stretch). */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'broadcastTo';
  assertTensor(op, 'x', x);
  const s = checkShape(op, 'shape', shape);
  const off = s.length - x.rank;
  const aligned = [...new Array<number>(Math.max(off, 0)).fill(1), ...x.shape];
  if (off < 0 || aligned.some((d, i) => d !== s[i] && d !== 1)) {
    throw opError(ShapeError, op, `argument 'x' of shape ${fmtShape(x.shape)} cannot be broadcast to argument 'shape' ${fmtShape(s)}`);
  }
  // On CUDA a broadcasting x * 1 (the same values, -0 included): tile's host index arrays would be uploads, which
  // wait for the queued kernels.
  const y = x.device === 'cuda' && x.dtype === 'float32'
    ? Tensor.fromKernel(backendFor(x).binary('mul', view(x, aligned), { data: Float32Array.of(1), shape: [] }, s))
    : tileChecked(view(x, aligned), aligned.map((d, i) => (d === s[i] ? 1 : s[i])));
  return record(op, y, [x], (g) => [sumTo(g, x.shape)]);
}

/**
 * Converts to `dtype` (float -> int32 truncates toward zero; float64 is for gradient checks); the same dtype
 * returns x itself. Float-to-float casts pass the gradient back converted to x's dtype; int32 stops it.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  const op = 'cast';
  assertTensor(op, 'x', x);
  if (!isDType(dtype)) throw opError(DTypeError, op, `argument 'dtype' must be 'float32', 'int32' or 'float64', got ${String(dtype)}`);
  if (dtype === x.dtype) return x;
  // The Backend casts only to float32 and int32; widening to float64 is exact, so it is a plain copy here.
  const y = dtype === 'float64' ? new Tensor(Float64Array.from(x.data), x.shape) : Tensor.fromKernel(backendFor(x).cast(x, dtype));
  if (dtype === 'int32' || x.dtype === 'int32') return y;
  return record(op, y, [x], (g) => [cast(g, x.dtype)]);
}

/**
 * float32 [...indices.shape, depth] with onValue at each index and offValue elsewhere; indices must be int32,
 * and an index outside [0, depth) gives a row of offValue (as TensorFlow).
 */
export function oneHot(indices: Tensor, depth: number, options: OneHotOptions = {}): Tensor {
  const op = 'oneHot';
  assertTensor(op, 'indices', indices);
  if (indices.dtype !== 'int32') {
    throw opError(DTypeError, op, `argument 'indices' must be int32, got ${indices.dtype} of shape ${fmtShape(indices.shape)}`);
  }
  checkPositiveInt(op, 'depth', depth);
  const onValue = options.onValue ?? 1;
  const offValue = options.offValue ?? 0;
  if (typeof onValue !== 'number') throw opError(DTypeError, op, `argument 'onValue' must be a number, got ${describe(onValue)}`);
  if (typeof offValue !== 'number') throw opError(DTypeError, op, `argument 'offValue' must be a number, got ${describe(offValue)}`);
  return Tensor.fromKernel(backendFor(indices).oneHot(indices as ITensor, depth, onValue, offValue));
}
