/**
 * Independent float64 oracles for the layers' forward passes: plain loops over NHWC data written from the
 * definitions (TensorFlow 'same' padding, HWIO kernels), sharing no code with src/. Each returns the output and,
 * per element, sum |term| of the products it added, from which the comparison derives its tolerance.
 */
import { expect } from 'vitest';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface Out {
  data: Float64Array;
  /** Sum of |terms| per output element (the scale of its rounding error). */
  abs: Float64Array;
  shape: number[];
}

export const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** TensorFlow 'same': [before, after] pads of one axis. */
export function samePads(n: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export interface ConvAttrs {
  strides: [number, number];
  dilation: [number, number];
  /** [top, bottom, left, right]. */
  pads: [number, number, number, number];
  groups: number;
}

export function padsFor(padding: 'valid' | 'same', hw: [number, number], k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [t, b] = samePads(hw[0], k[0], s[0], d[0]);
  const [l, r] = samePads(hw[1], k[1], s[1], d[1]);
  return [t, b, l, r];
}

/** Grouped, dilated, strided, padded cross-correlation: x [N,H,W,C], w [KH,KW,C/g,F], bias [F]. */
export function conv2d(x: ArrayLike<number>, xs: readonly number[], w: ArrayLike<number>, ws: readonly number[], a: ConvAttrs, bias?: ArrayLike<number>): Out {
  const [n, h, wd, c] = xs;
  const [kh, kw, cg, f] = ws;
  const oh = Math.floor((h + a.pads[0] + a.pads[1] - ((kh - 1) * a.dilation[0] + 1)) / a.strides[0]) + 1;
  const ow = Math.floor((wd + a.pads[2] + a.pads[3] - ((kw - 1) * a.dilation[1] + 1)) / a.strides[1]) + 1;
  const fg = f / a.groups;
  const shape = [n, oh, ow, f];
  const data = new Float64Array(size(shape));
  const abs = new Float64Array(size(shape));
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let o = 0; o < f; o++) {
    const g = Math.floor(o / fg);
    let s = bias ? bias[o] : 0;
    let sa = bias ? Math.abs(bias[o]) : 0;
    for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
      const y = i * a.strides[0] - a.pads[0] + p * a.dilation[0];
      const z = j * a.strides[1] - a.pads[2] + q * a.dilation[1];
      if (y < 0 || y >= h || z < 0 || z >= wd) continue;
      for (let ci = 0; ci < cg; ci++) {
        const t = x[((b * h + y) * wd + z) * c + g * cg + ci] * w[((p * kw + q) * cg + ci) * f + o];
        s += t;
        sa += Math.abs(t);
      }
    }
    const at = ((b * oh + i) * ow + j) * f + o;
    data[at] = s;
    abs[at] = sa;
  }
  return { data, abs, shape };
}

/** Transposed convolution by scattering each input pixel through w [KH,KW,F,C] into [N,OH,OW,F]. */
export function conv2dTranspose(
  x: ArrayLike<number>, xs: readonly number[], w: ArrayLike<number>, ws: readonly number[],
  out: [number, number], s: [number, number], d: [number, number], padTopLeft: [number, number], bias?: ArrayLike<number>,
): Out {
  const [n, h, wd, c] = xs;
  const [kh, kw, f] = ws;
  const shape = [n, out[0], out[1], f];
  const data = new Float64Array(size(shape));
  const abs = new Float64Array(size(shape));
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < wd; j++) for (let ci = 0; ci < c; ci++) {
    const v = x[((b * h + i) * wd + j) * c + ci];
    for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) {
      const y = i * s[0] - padTopLeft[0] + p * d[0];
      const z = j * s[1] - padTopLeft[1] + q * d[1];
      if (y < 0 || y >= out[0] || z < 0 || z >= out[1]) continue;
      for (let o = 0; o < f; o++) {
        const t = v * w[((p * kw + q) * f + o) * c + ci];
        const at = ((b * out[0] + y) * out[1] + z) * f + o;
        data[at] += t;
        abs[at] += Math.abs(t);
      }
    }
  }
  if (bias) for (let i = 0; i < data.length; i++) {
    data[i] += bias[i % f];
    abs[i] += Math.abs(bias[i % f]);
  }
  return { data, abs, shape };
}

/** Max or average pooling; average divides by the in-bounds count. */
export function pool(x: ArrayLike<number>, xs: readonly number[], k: [number, number], s: [number, number], pads: [number, number, number, number], mode: 'max' | 'avg'): Out {
  const [n, h, wd, c] = xs;
  const oh = Math.floor((h + pads[0] + pads[1] - k[0]) / s[0]) + 1;
  const ow = Math.floor((wd + pads[2] + pads[3] - k[1]) / s[1]) + 1;
  const shape = [n, oh, ow, c];
  const data = new Float64Array(size(shape));
  const abs = new Float64Array(size(shape));
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let ch = 0; ch < c; ch++) {
    let m = -Infinity;
    let sum = 0;
    let sa = 0;
    let cnt = 0;
    for (let p = 0; p < k[0]; p++) for (let q = 0; q < k[1]; q++) {
      const y = i * s[0] - pads[0] + p;
      const z = j * s[1] - pads[2] + q;
      if (y < 0 || y >= h || z < 0 || z >= wd) continue;
      const v = x[((b * h + y) * wd + z) * c + ch];
      m = Math.max(m, v);
      sum += v;
      sa += Math.abs(v);
      cnt++;
    }
    const at = ((b * oh + i) * ow + j) * c + ch;
    data[at] = mode === 'max' ? m : sum / cnt;
    abs[at] = mode === 'max' ? Math.abs(m) : sa / cnt;
  }
  return { data, abs, shape };
}

/** Matmul x [M,K] @ w [K,N] + bias. */
export function dense(x: ArrayLike<number>, m: number, k: number, w: ArrayLike<number>, nOut: number, bias?: ArrayLike<number>): Out {
  const data = new Float64Array(m * nOut);
  const abs = new Float64Array(m * nOut);
  for (let i = 0; i < m; i++) for (let j = 0; j < nOut; j++) {
    let s = bias ? bias[j] : 0;
    let sa = bias ? Math.abs(bias[j]) : 0;
    for (let t = 0; t < k; t++) {
      const v = x[i * k + t] * w[t * nOut + j];
      s += v;
      sa += Math.abs(v);
    }
    data[i * nOut + j] = s;
    abs[i * nOut + j] = sa;
  }
  return { data, abs, shape: [m, nOut] };
}

/**
 * Compares a float32 result with a float64 oracle: |got - ref| <= (n + 2) * 2^-24 * abs + 2^-126, where n terms
 * were summed (Higham's bound for a float32 sum in any order, plus the rounding of the inputs' products and of
 * the result). `abs` per element, or one scale for all.
 */
export function expectClose(got: Tensor, ref: { data: ArrayLike<number>; shape: readonly number[]; abs?: ArrayLike<number> }, n: number, what: string, scale?: number): void {
  expect(got.shape, `${what}: shape`).toEqual([...ref.shape]);
  const u = 2 ** -24;
  for (let i = 0; i < got.size; i++) {
    const r = ref.data[i];
    const s = scale ?? (ref.abs ? ref.abs[i] : Math.abs(r));
    const tol = (n + 2) * u * Math.max(s, Math.abs(r)) + 2 ** -126;
    const err = Math.abs(got.data[i] - r);
    if (!(err <= tol)) {
      expect.fail(`${what}: element ${i}: got ${got.data[i]}, expected ${r} (|error| ${err} > ${tol})`);
    }
  }
}
