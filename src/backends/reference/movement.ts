/**
 * Reference data-movement kernels: transpose, slice, gather and its adjoint scatterAdd, concat, pad, oneHot.
 * Arguments arrive validated and resolved by src/tensor/manipulation.ts; each kernel is a plain loop over
 * the output that works out where each element comes from. Output array type = input array type.
 */
import type { DataArray, FloatArray, ITensor, KTensor, PadMode } from '../backend.js';
import { ValueError, opError } from '../../errors.js';
import { sizeOf, stridesOf } from '../../tensor/shape.js';
import { allocLike } from './util.js';

/** out.shape[i] = x.shape[perm[i]]; out[c] = x[c read through the permuted input strides]. */
export function transpose<A extends DataArray>(x: KTensor<A>, perm: readonly number[]): KTensor<A> {
  const rank = x.shape.length;
  const inStrides = stridesOf(x.shape);
  const outShape = perm.map((p) => x.shape[p]);
  const strides = perm.map((p) => inStrides[p]); // input stride of each output axis
  const n = sizeOf(outShape);
  const out = allocLike(x.data, n);
  const coord = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = x.data[src];
    // Odometer increment of the output coordinate, moving `src` along with it.
    for (let a = rank - 1; a >= 0; a--) {
      coord[a]++;
      src += strides[a];
      if (coord[a] < outShape[a]) break;
      src -= coord[a] * strides[a];
      coord[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** out[c] = x[begin + c * step] per axis. */
export function slice<A extends DataArray>(
  x: KTensor<A>, begin: readonly number[], size: readonly number[], steps: readonly number[],
): KTensor<A> {
  const rank = x.shape.length;
  const inStrides = stridesOf(x.shape);
  const outShape = [...size];
  const n = sizeOf(outShape);
  const out = allocLike(x.data, n);
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += (begin[a] + coord[a] * steps[a]) * inStrides[a];
    out[i] = x.data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++coord[a] < outShape[a]) break;
      coord[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** Viewing x as [outer, dim, inner], copies row `indices[j]` of the middle axis for each j. */
export function gather<A extends DataArray>(x: KTensor<A>, indices: KTensor<Int32Array>, axis: number): KTensor<A> {
  const outer = sizeOf(x.shape.slice(0, axis));
  const dim = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const idx = indices.data;
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = allocLike(x.data, outer * idx.length * inner);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < idx.length; j++) {
      const src = (o * dim + idx[j]) * inner;
      for (let k = 0; k < inner; k++) out[dst++] = x.data[src + k];
    }
  }
  return { data: out, shape: outShape };
}

/**
 * Gather's adjoint: viewing g as [outer, n, inner] (n = indices.size), out [outer, dim, inner] with out[o, t, k] the
 * sum over j with indices[j] == t of g[o, j, k], accumulated in ascending j in double and rounded once; -1 skipped.
 */
export function scatterAdd<A extends FloatArray>(g: KTensor<A>, indices: ITensor, dim: number, axis: number): KTensor<A> {
  const idx = indices.data;
  const n = idx.length;
  for (let j = 0; j < n; j++) {
    const t = idx[j];
    if (t !== -1 && (t < 0 || t >= dim)) {
      throw opError(ValueError, 'scatterAdd', `argument 'indices' holds ${t} at flat position ${j}, out of range [0, ${dim})`);
    }
  }
  const outer = sizeOf(g.shape.slice(0, axis));
  const inner = sizeOf(g.shape.slice(axis + 1));
  const gd = g.data;
  const acc = new Float64Array(outer * dim * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const t = idx[j];
      if (t < 0) continue;
      const src = (o * n + j) * inner;
      const dst = (o * dim + t) * inner;
      for (let k = 0; k < inner; k++) acc[dst + k] += gd[src + k];
    }
  }
  const shape = g.shape.map((d, a) => (a === axis ? dim : d));
  return { data: (gd instanceof Float64Array ? acc : Float32Array.from(acc)) as A, shape };
}

/** Viewing each input as [outer, dim_i * inner], appends their rows side by side. */
export function concat<A extends DataArray>(xs: readonly KTensor<A>[], axis: number): KTensor<A> {
  const first = xs[0].shape;
  const outer = sizeOf(first.slice(0, axis));
  const inner = sizeOf(first.slice(axis + 1));
  let total = 0;
  for (const x of xs) total += x.shape[axis];
  const outShape = [...first];
  outShape[axis] = total;
  const out = allocLike(xs[0].data, outer * total * inner);
  let dst = 0;
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const chunk = x.shape[axis] * inner;
      const src = o * chunk;
      for (let k = 0; k < chunk; k++) out[dst++] = x.data[src + k];
    }
  }
  return { data: out, shape: outShape };
}

/**
 * Input position read by output position p - before on an axis of length dim, or -1 for the constant.
 * reflect mirrors about the edge element (dcba|abcd -> cb|abcd), symmetric repeats it (ba|abcd).
 */
function padSource(p: number, dim: number, mode: PadMode): number {
  if (p >= 0 && p < dim) return p;
  if (mode === 'constant') return -1;
  if (mode === 'reflect') return p < 0 ? -p : 2 * (dim - 1) - p;
  return p < 0 ? -p - 1 : 2 * dim - 1 - p;
}

/** paddings[a] = [before, after]; reflect needs both < dim, symmetric <= dim (one reflection suffices). */
export function pad<A extends DataArray>(
  x: KTensor<A>, paddings: readonly (readonly [number, number])[], mode: PadMode, value: number,
): KTensor<A> {
  const rank = x.shape.length;
  const inStrides = stridesOf(x.shape);
  const outShape = x.shape.map((d, a) => d + paddings[a][0] + paddings[a][1]);
  const n = sizeOf(outShape);
  const out = allocLike(x.data, n);
  const coord = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < rank; a++) {
      const q = padSource(coord[a] - paddings[a][0], x.shape[a], mode);
      if (q < 0) {
        src = -1;
        break;
      }
      src += q * inStrides[a];
    }
    out[i] = src < 0 ? value : x.data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++coord[a] < outShape[a]) break;
      coord[a] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** [...indices.shape, depth]: onValue at column indices[i] of row i, offValue elsewhere (and on out-of-range rows). */
export function oneHot(indices: KTensor<Int32Array>, depth: number, onValue: number, offValue: number): KTensor<Float32Array> {
  const n = indices.data.length;
  const out = new Float32Array(n * depth).fill(offValue);
  for (let i = 0; i < n; i++) {
    const c = indices.data[i];
    if (c >= 0 && c < depth) out[i * depth + c] = onValue;
  }
  return { data: out, shape: [...indices.shape, depth] };
}
