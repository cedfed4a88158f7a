/**
 * Small builders for the ops tests: tensors from nested arrays, single-channel images and kernels in the
 * NHWC / HWIO layouts, and the shared error matcher.
 * Plain loops only, so the oracles in the tests do not lean on the code under test.
 */
import { Tensor } from '../../src/tensor/tensor.js';
import { uniformF32 } from '../helpers/random.js';

type Nested = number | Nested[];

function shapeOf(v: Nested): number[] {
  return Array.isArray(v) ? [v.length, ...shapeOf(v[0])] : [];
}

function flat(v: Nested, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const e of v) flat(e, out);
  else out.push(v);
  return out;
}

/** float32 tensor from nested arrays. */
export function tensor(v: Nested): Tensor {
  return new Tensor(Float32Array.from(flat(v)), shapeOf(v));
}

/** float32 tensor of `shape` from flat values. */
export function fromFlat(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return new Tensor(Float32Array.from(values), shape);
}

export function int32(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return new Tensor(Int32Array.from(values), shape);
}

export function zeros(shape: readonly number[]): Tensor {
  return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}

/** Seeded uniform float32 tensor in [-1, 1). */
export function random(shape: readonly number[], seed: number): Tensor {
  return new Tensor(uniformF32(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** A single-channel image rows -> [1, H, W, 1]. */
export function image(rows: number[][]): Tensor {
  return fromFlat(rows.flat(), [1, rows.length, rows[0].length, 1]);
}

/** A single-filter kernel rows -> [KH, KW, 1, 1]. */
export function kernel(rows: number[][]): Tensor {
  return fromFlat(rows.flat(), [rows.length, rows[0].length, 1, 1]);
}

/** [1, H, W, 1] -> rows. */
export function rows(t: Tensor): number[][] {
  const [, h, w] = t.shape;
  return Array.from({ length: h }, (_, i) => Array.from(t.data.subarray(i * w, (i + 1) * w)));
}

/** Zero-pads x [N, H, W, C] by hand (the oracle for 'same' and explicit paddings). */
export function padNHWC(x: Tensor, top: number, bottom: number, left: number, right: number): Tensor {
  const [n, h, w, c] = x.shape;
  const H = h + top + bottom;
  const W = w + left + right;
  const out = new Float32Array(n * H * W * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let k = 0; k < c; k++) out[((b * H + i + top) * W + j + left) * c + k] = x.data[((b * h + i) * w + j) * c + k];
  return new Tensor(out, [n, H, W, c]);
}

export { expectError } from '../helpers/errors.js';

/** x[..., start:start+size, ...] along `axis`, by plain loops. */
export function sliceAxis(x: Tensor, axis: number, start: number, size: number): Tensor {
  const shape = [...x.shape];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const out = new Float32Array(outer * size * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < size; i++)
      for (let k = 0; k < inner; k++) out[(o * size + i) * inner + k] = x.data[(o * n + start + i) * inner + k];
  shape[axis] = size;
  return new Tensor(out, shape);
}

/** Concatenation along the last axis, by plain loops. */
export function concatLast(xs: readonly Tensor[]): Tensor {
  const lead = xs[0].shape.slice(0, -1);
  const rowsN = lead.reduce((a, b) => a * b, 1);
  const widths = xs.map((t) => t.shape[t.shape.length - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rowsN * total);
  for (let r = 0; r < rowsN; r++) {
    let off = 0;
    xs.forEach((t, j) => {
      out.set(t.data.subarray(r * widths[j], (r + 1) * widths[j]), r * total + off);
      off += widths[j];
    });
  }
  return new Tensor(out, [...lead, total]);
}

/** Sum of a[i]*b[i] in float64, and the sum of |a[i]*b[i]| (the scale of its rounding error). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): { value: number; scale: number } {
  let value = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    value += a[i] * b[i];
    scale += Math.abs(a[i] * b[i]);
  }
  return { value, scale };
}
