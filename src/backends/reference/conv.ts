/**
 * Reference 2-D convolution (cross-correlation, no kernel flip, as every DL library) and its two gradients.
 *
 * Shapes: x [N, H, W, Cin] (NHWC), w [KH, KW, Cin/groups, Cout] (HWIO), y [N, OH, OW, Cout].
 * Output pixel (oh, ow) reads input pixel (oh*sh - padTop + kh*dh, ow*sw - padLeft + kw*dw); pixels outside
 * the input are zeros. Output channel o belongs to group g = floor(o / (Cout/groups)) and reads input
 * channels [g*Cin/groups, (g+1)*Cin/groups); groups = Cin is depthwise (with multiplier Cout/Cin).
 *
 * All three kernels are written as gathers (one output element = one sum), so each sum accumulates in a JS
 * number: float64 arrays accumulate in float64, float32 arrays accumulate in double and round once on store.
 */
import { windowOutSize } from '../backend.js';
import type { Conv2DAttrs, FloatArray, KTensor } from '../backend.js';
import { allocLike } from './util.js';

/**
 * y[n, oh, ow, o] = act(bias[o] + sum_{kh, kw, ci} x[n, ih, iw, g*Cg + ci] * w[kh, kw, ci, o]), act from
 * attrs.activation: relu is `s < 0 ? 0 : s` (NaN and -0 pass through, as matmul's epilogue).
 */
export function conv2d<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): KTensor<A> {
  const [N, H, W, Cin] = x.shape;
  const [KH, KW, Cg, Cout] = w.shape;
  const [sh, sw] = attrs.strides;
  const [dh, dw] = attrs.dilations;
  const [padTop, padBottom, padLeft, padRight] = attrs.pads;
  const OH = windowOutSize(H, KH, sh, dh, padTop, padBottom);
  const OW = windowOutSize(W, KW, sw, dw, padLeft, padRight);
  const coutPerGroup = Cout / attrs.groups;
  const xd = x.data;
  const wd = w.data;
  const bd = bias?.data;
  const relu = attrs.activation === 'relu';
  const y = allocLike(xd, N * OH * OW * Cout);

  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const yBase = ((n * OH + oh) * OW + ow) * Cout;
        for (let o = 0; o < Cout; o++) {
          const cin0 = Math.floor(o / coutPerGroup) * Cg;
          let acc = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * sh - padTop + kh * dh;
            if (ih < 0 || ih >= H) continue; // zero padding contributes nothing
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * sw - padLeft + kw * dw;
              if (iw < 0 || iw >= W) continue;
              const xBase = ((n * H + ih) * W + iw) * Cin + cin0;
              const wBase = (kh * KW + kw) * Cg * Cout + o;
              for (let ci = 0; ci < Cg; ci++) acc += xd[xBase + ci] * wd[wBase + ci * Cout];
            }
          }
          let s = bd ? acc + bd[o] : acc;
          if (relu && s < 0) s = 0;
          y[yBase + o] = s;
        }
      }
    }
  }
  return { data: y, shape: [N, OH, OW, Cout] };
}

/**
 * dx[n, ih, iw, c] = sum over every (oh, kh) with oh*sh - padTop + kh*dh = ih (same along w) and every output
 * channel o of c's group of dy[n, oh, ow, o] * w[kh, kw, c - g*Cg, o]. OH and OW come from dy, so an xShape
 * that does not tile exactly works: input pixels that no window reads get zero. Also conv2dTranspose's forward.
 */
export function conv2dBackwardData<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
  const [N, H, W, Cin] = xShape;
  const [, OH, OW, Cout] = dy.shape;
  const [KH, KW, Cg] = w.shape;
  const [sh, sw] = attrs.strides;
  const [dh, dw] = attrs.dilations;
  const [padTop, , padLeft] = attrs.pads;
  const coutPerGroup = Cout / attrs.groups;
  const dyd = dy.data;
  const wd = w.data;
  const dx = allocLike(dyd, N * H * W * Cin);

  for (let n = 0; n < N; n++) {
    for (let ih = 0; ih < H; ih++) {
      for (let iw = 0; iw < W; iw++) {
        const dxBase = ((n * H + ih) * W + iw) * Cin;
        for (let c = 0; c < Cin; c++) {
          const g = Math.floor(c / Cg);
          const ci = c - g * Cg;
          const o0 = g * coutPerGroup;
          let acc = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ohStrided = ih + padTop - kh * dh; // = oh * sh for the output row that reads ih through tap kh
            if (ohStrided < 0 || ohStrided % sh !== 0) continue;
            const oh = ohStrided / sh;
            if (oh >= OH) continue;
            for (let kw = 0; kw < KW; kw++) {
              const owStrided = iw + padLeft - kw * dw;
              if (owStrided < 0 || owStrided % sw !== 0) continue;
              const ow = owStrided / sw;
              if (ow >= OW) continue;
              const dyBase = ((n * OH + oh) * OW + ow) * Cout;
              const wBase = ((kh * KW + kw) * Cg + ci) * Cout;
              for (let o = o0; o < o0 + coutPerGroup; o++) acc += dyd[dyBase + o] * wd[wBase + o];
            }
          }
          dx[dxBase + c] = acc;
        }
      }
    }
  }
  return { data: dx, shape: [N, H, W, Cin] };
}

/** dw[kh, kw, ci, o] = sum_{n, oh, ow} x[n, ih, iw, g*Cg + ci] * dy[n, oh, ow, o], with g the group of o. */
export function conv2dBackwardFilter<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
  const [N, H, W, Cin] = x.shape;
  const [, OH, OW, Cout] = dy.shape;
  const [KH, KW, Cg] = wShape;
  const [sh, sw] = attrs.strides;
  const [dh, dw] = attrs.dilations;
  const [padTop, , padLeft] = attrs.pads;
  const coutPerGroup = Cout / attrs.groups;
  const xd = x.data;
  const dyd = dy.data;
  const dwOut = allocLike(xd, KH * KW * Cg * Cout);

  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let ci = 0; ci < Cg; ci++) {
        for (let o = 0; o < Cout; o++) {
          const c = Math.floor(o / coutPerGroup) * Cg + ci;
          let acc = 0;
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * sh - padTop + kh * dh;
              if (ih < 0 || ih >= H) continue;
              for (let ow = 0; ow < OW; ow++) {
                const iw = ow * sw - padLeft + kw * dw;
                if (iw < 0 || iw >= W) continue;
                acc += xd[((n * H + ih) * W + iw) * Cin + c] * dyd[((n * OH + oh) * OW + ow) * Cout + o];
              }
            }
          }
          dwOut[((kh * KW + kw) * Cg + ci) * Cout + o] = acc;
        }
      }
    }
  }
  return { data: dwOut, shape: [KH, KW, Cg, Cout] };
}
