/**
 * Reference 2-D pooling over NHWC activations and its gradients.
 *
 * Window (oh, ow) covers input rows oh*sh - padTop .. oh*sh - padTop + KH - 1 (columns likewise); only its
 * in-bounds pixels take part: padded positions never win a max, and an average divides by the number of
 * in-bounds pixels (DESIGN.md). Max picks the first maximum in row-major window order; NaN counts as larger
 * than every number, so a NaN in a window propagates (the first NaN wins).
 * A window lying entirely in padding (only possible when a pad >= the pool size, which the ops layer
 * rejects) outputs 0 for both max and avg and passes no gradient: the kernels stay total and finite.
 * Sums accumulate in a JS number (double) and round once on store, for float32 and float64 alike.
 */
import { windowOutSize } from '../backend.js';
import type { FloatArray, GlobalPoolMode, KTensor, Pool2DAttrs } from '../backend.js';
import { allocLike } from './util.js';

/** true when v should replace the current maximum m: larger, or the first NaN. */
function beats(v: number, m: number): boolean {
  return v > m || (v !== v && m === m);
}

interface PoolGeometry {
  N: number; H: number; W: number; C: number;
  KH: number; KW: number; sh: number; sw: number; padTop: number; padLeft: number;
  OH: number; OW: number;
}

function poolGeometry(xShape: readonly number[], attrs: Pool2DAttrs): PoolGeometry {
  const [N, H, W, C] = xShape;
  const [KH, KW] = attrs.poolSize;
  const [sh, sw] = attrs.strides;
  const [padTop, padBottom, padLeft, padRight] = attrs.pads;
  const OH = windowOutSize(H, KH, sh, 1, padTop, padBottom);
  const OW = windowOutSize(W, KW, sw, 1, padLeft, padRight);
  return { N, H, W, C, KH, KW, sh, sw, padTop, padLeft, OH, OW };
}

/** Flat index into x of the first maximum of window (n, oh, ow) in channel c, or -1 if no pixel is in bounds. */
function windowArgMax(xd: FloatArray, g: PoolGeometry, n: number, oh: number, ow: number, c: number): number {
  const ih0 = oh * g.sh - g.padTop;
  const iw0 = ow * g.sw - g.padLeft;
  const ihEnd = Math.min(ih0 + g.KH, g.H);
  const iwEnd = Math.min(iw0 + g.KW, g.W);
  let best = -1;
  for (let ih = Math.max(ih0, 0); ih < ihEnd; ih++) {
    for (let iw = Math.max(iw0, 0); iw < iwEnd; iw++) {
      const i = ((n * g.H + ih) * g.W + iw) * g.C + c;
      if (best < 0 || beats(xd[i], xd[best])) best = i;
    }
  }
  return best;
}

/** x [N, H, W, C] -> [N, OH, OW, C]: the max of each window's in-bounds pixels. */
export function maxPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
  const g = poolGeometry(x.shape, attrs);
  const xd = x.data;
  const y = allocLike(xd, g.N * g.OH * g.OW * g.C);
  let yi = 0;
  for (let n = 0; n < g.N; n++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        for (let c = 0; c < g.C; c++, yi++) {
          const i = windowArgMax(xd, g, n, oh, ow, c);
          y[yi] = i < 0 ? 0 : xd[i];
        }
      }
    }
  }
  return { data: y, shape: [g.N, g.OH, g.OW, g.C] };
}

/** dx [N, H, W, C]: each dy goes to its window's first maximum (recomputed from x); overlapping windows sum. */
export function maxPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
  const g = poolGeometry(x.shape, attrs);
  const xd = x.data;
  const dyd = dy.data;
  const acc = new Float64Array(xd.length); // scatter target: accumulate in double, round once below
  let yi = 0;
  for (let n = 0; n < g.N; n++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        for (let c = 0; c < g.C; c++, yi++) {
          const i = windowArgMax(xd, g, n, oh, ow, c);
          if (i >= 0) acc[i] += dyd[yi];
        }
      }
    }
  }
  const dx = allocLike(xd, xd.length);
  dx.set(acc);
  return { data: dx, shape: [...x.shape] };
}

/** x [N, H, W, C] -> [N, OH, OW, C]: the mean of each window's in-bounds pixels. */
export function avgPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
  const g = poolGeometry(x.shape, attrs);
  const xd = x.data;
  const y = allocLike(xd, g.N * g.OH * g.OW * g.C);
  let yi = 0;
  for (let n = 0; n < g.N; n++) {
    for (let oh = 0; oh < g.OH; oh++) {
      const ih0 = oh * g.sh - g.padTop;
      const ihStart = Math.max(ih0, 0);
      const ihEnd = Math.min(ih0 + g.KH, g.H);
      for (let ow = 0; ow < g.OW; ow++) {
        const iw0 = ow * g.sw - g.padLeft;
        const iwStart = Math.max(iw0, 0);
        const iwEnd = Math.min(iw0 + g.KW, g.W);
        const count = Math.max(ihEnd - ihStart, 0) * Math.max(iwEnd - iwStart, 0);
        for (let c = 0; c < g.C; c++, yi++) {
          let sum = 0;
          for (let ih = ihStart; ih < ihEnd; ih++) {
            for (let iw = iwStart; iw < iwEnd; iw++) sum += xd[((n * g.H + ih) * g.W + iw) * g.C + c];
          }
          y[yi] = count > 0 ? sum / count : 0;
        }
      }
    }
  }
  return { data: y, shape: [g.N, g.OH, g.OW, g.C] };
}

/** Number of in-bounds pixels along one axis of each window: counts[o] for o < outSize. */
function inBoundsCounts(outSize: number, size: number, k: number, stride: number, padBefore: number): Int32Array {
  const counts = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const start = o * stride - padBefore;
    counts[o] = Math.max(Math.min(start + k, size) - Math.max(start, 0), 0);
  }
  return counts;
}

/** dx[n, ih, iw, c] = sum over the windows (oh, ow) that contain (ih, iw) of dy[n, oh, ow, c] / count(oh, ow). */
export function avgPool2dBackward<A extends FloatArray>(dy: KTensor<A>, xShape: readonly number[], attrs: Pool2DAttrs): KTensor<A> {
  const g = poolGeometry(xShape, attrs);
  const dyd = dy.data;
  const rowCount = inBoundsCounts(g.OH, g.H, g.KH, g.sh, g.padTop);
  const colCount = inBoundsCounts(g.OW, g.W, g.KW, g.sw, g.padLeft);
  const dx = allocLike(dyd, g.N * g.H * g.W * g.C);
  let xi = 0;
  for (let n = 0; n < g.N; n++) {
    for (let ih = 0; ih < g.H; ih++) {
      // Windows containing row ih: oh*sh - padTop <= ih <= oh*sh - padTop + KH - 1.
      const ohStart = Math.max(Math.ceil((ih + g.padTop - g.KH + 1) / g.sh), 0);
      const ohEnd = Math.min(Math.floor((ih + g.padTop) / g.sh) + 1, g.OH);
      for (let iw = 0; iw < g.W; iw++) {
        const owStart = Math.max(Math.ceil((iw + g.padLeft - g.KW + 1) / g.sw), 0);
        const owEnd = Math.min(Math.floor((iw + g.padLeft) / g.sw) + 1, g.OW);
        for (let c = 0; c < g.C; c++, xi++) {
          let sum = 0;
          for (let oh = ohStart; oh < ohEnd; oh++) {
            for (let ow = owStart; ow < owEnd; ow++) {
              sum += dyd[((n * g.OH + oh) * g.OW + ow) * g.C + c] / (rowCount[oh] * colCount[ow]);
            }
          }
          dx[xi] = sum;
        }
      }
    }
  }
  return { data: dx, shape: [g.N, g.H, g.W, g.C] };
}

/** x [N, H, W, C] -> [N, C]: mean or (first) max over all H*W pixels. */
export function globalPool2d<A extends FloatArray>(x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
  const [N, H, W, C] = x.shape;
  const HW = H * W;
  const xd = x.data;
  const y = allocLike(xd, N * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      if (mode === 'avg') {
        let sum = 0;
        for (let p = 0; p < HW; p++) sum += xd[(n * HW + p) * C + c];
        y[n * C + c] = sum / HW;
      } else {
        y[n * C + c] = xd[globalArgMax(xd, HW, C, n, c)];
      }
    }
  }
  return { data: y, shape: [N, C] };
}

/** Flat index into x [N, H*W, C] of the first maximum over the pixels of (n, c). */
function globalArgMax(xd: FloatArray, HW: number, C: number, n: number, c: number): number {
  let best = n * HW * C + c;
  for (let p = 1; p < HW; p++) {
    const i = (n * HW + p) * C + c;
    if (beats(xd[i], xd[best])) best = i;
  }
  return best;
}

/** dy [N, C] -> dx [N, H, W, C]: avg spreads dy / (H*W) over every pixel; max routes dy to the first maximum. */
export function globalPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
  const [N, H, W, C] = x.shape;
  const HW = H * W;
  const xd = x.data;
  const dyd = dy.data;
  const dx = allocLike(xd, xd.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const d = dyd[n * C + c];
      if (mode === 'avg') {
        for (let p = 0; p < HW; p++) dx[(n * HW + p) * C + c] = d / HW;
      } else {
        dx[globalArgMax(xd, HW, C, n, c)] = d;
      }
    }
  }
  return { data: dx, shape: [N, H, W, C] };
}
