/**
 * A test of the tests: float32 emulations of the kernels, written the way SIMD kernels compute (float32
 * accumulators in 8 lanes, reversed and blocked summation orders, reciprocal multiplies, scale/shift batch
 * norm, Welford variance, im2col with multiplied zero padding, transcendental results off by 2 ulp at
 * arguments off by 2 eps). With NODEGRAD_PROPS_EMULATE=f32 the props suite runs these in place of the native
 * backend: every property must pass, which shows the derived tolerances admit legitimate float32
 * implementations. NODEGRAD_PROPS_EMULATE=mutant adds classic bugs (one-pass float32 variance, a relu that
 * turns NaN into 0, a relu gradient that passes dy at x = 0, exp(x) - 1 for expm1, average pooling that counts padded pixels, softmax without the max
 * shift): the properties they touch must fail. Never part of `npm test`; run by hand after changing a tolerance:
 *   NODEGRAD_PROPS_EMULATE=f32 npx vitest run --project default test/props
 */
import { windowOutSize } from '../../src/backends/backend.js';
import type {
  Backend, BinaryOp, Conv2DAttrs, DataArray, FloatArray, ITensor, KTensor, MatMulAttrs, Pool2DAttrs, UnaryGradOp, UnaryOp,
} from '../../src/backends/backend.js';
import { referenceBackend as R } from '../../src/backends/reference/index.js';
import { forEachBroadcast } from '../../src/backends/reference/elementwise.js';

const f = Math.fround;
const EPS = 2 ** -24;

/** Moves a float32 value k ulps (k may be negative), a deterministic stand-in for a polynomial's error. */
function nudge(v: number, k: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const b = new Float32Array([v]);
  const i = new Int32Array(b.buffer);
  const mag = (i[0] & 0x7fffffff) + k;
  if (mag <= 0) return 0; // do not step across zero into the other sign's bit patterns
  i[0] = (i[0] & 0x80000000) | Math.min(mag, 0x7f800000);
  return b[0];
}

const TRANSCENDENTAL = new Set<UnaryOp>([
  'rsqrt', 'exp', 'expm1', 'log', 'log1p', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'erf',
  'softsign', 'sigmoid', 'softplus', 'gelu', 'silu', 'elu', 'selu', 'logSigmoid',
]);

function f32(n: number): Float32Array {
  return new Float32Array(n);
}

/** Sum of n float32 terms in 8 lanes (each lane in order), then the lanes pairwise: a SIMD reduction. */
function laneSum(n: number, term: (j: number) => number, init = 0): number {
  const lanes = [init, 0, 0, 0, 0, 0, 0, 0];
  for (let j = 0; j < n; j++) lanes[j & 7] = f(lanes[j & 7] + term(j));
  return f(f(f(lanes[0] + lanes[4]) + f(lanes[1] + lanes[5])) + f(f(lanes[2] + lanes[6]) + f(lanes[3] + lanes[7])));
}

export function emulatedKernels(mutant: boolean): Partial<Backend> {
  const unary = <A extends DataArray>(op: UnaryOp, x: KTensor<A>, attrs: { alpha?: number }): KTensor<A> => {
    if (!(x.data instanceof Float32Array)) return R.unary(op, x, attrs);
    const xd = x.data;
    if (op === 'leakyRelu') {
      const a = f(attrs.alpha ?? 0);
      return { data: Float32Array.from(xd, (v) => (v > 0 ? v : f(a * v))) as A, shape: [...x.shape] };
    }
    if (op === 'hardSigmoid') {
      return { data: Float32Array.from(xd, (v) => Math.max(0, Math.min(1, f(f(f(0.2) * v) + 0.5)))) as A, shape: [...x.shape] };
    }
    if (mutant && op === 'expm1') return { data: Float32Array.from(xd, (v) => f(f(Math.exp(v)) - 1)) as A, shape: [...x.shape] };
    if (!TRANSCENDENTAL.has(op)) return R.unary(op, x, attrs);
    // Argument off by +-2 eps, result off by +-2 ulp, alternating.
    const moved = new Float64Array(xd.length);
    for (let i = 0; i < xd.length; i++) moved[i] = xd[i] * (1 + (i % 2 ? 2 : -2) * EPS);
    const y = R.unary(op, { data: moved, shape: [moved.length] }, attrs).data;
    const out = f32(xd.length);
    for (let i = 0; i < xd.length; i++) out[i] = nudge(f(y[i]), i % 3 === 0 ? 2 : -2);
    return { data: out as A, shape: [...x.shape] };
  };

  /** Activation gradients in float32 arithmetic, e = exp(-|x|) off by 3 ulp, silu with the naive 1 - s. */
  const unaryGrad = <A extends FloatArray>(op: UnaryGradOp, x: KTensor<A>, y: KTensor<A>, dy: KTensor<A>, attrs: { alpha?: number }): KTensor<A> => {
    if (!(x.data instanceof Float32Array)) return R.unaryGrad(op, x, y, dy, attrs);
    const a = f(attrs.alpha ?? 0);
    const S = f(1.0507009873554805);
    const SA = f(1.0507009873554805 * 1.6732632423543772);
    const sig = (v: number, i: number): [number, number] => {
      const e = nudge(f(Math.exp(-Math.abs(v))), i % 2 ? 3 : -3);
      const r = f(1 / f(1 + e));
      const q = f(e * r);
      return v >= 0 ? [r, q] : [q, r];
    };
    const g = (i: number, v: number, w: number, d: number): number => {
      switch (op) {
        case 'relu': return (mutant ? v >= 0 : v > 0) ? d : 0;
        case 'leakyRelu': return v > 0 ? d : f(a * d);
        case 'elu': return v > 0 ? d : f(d * f(w + a));
        case 'selu': return v > 0 ? f(d * S) : f(d * f(w + SA));
        case 'hardSigmoid': return v > -2.5 && v < 2.5 ? f(d * f(0.2)) : 0;
        case 'sigmoid': return f(d * f(w * f(1 - w)));
        case 'tanh': return f(d * f(1 - f(w * w)));
        case 'softsign': { const b = f(1 + Math.abs(v)); return f(f(d / b) / b); }
        case 'softplus': return f(d * sig(v, i)[0]);
        case 'logSigmoid': return f(d * sig(v, i)[1]);
        case 'silu': { const s = sig(v, i)[0]; return f(d * f(s * f(1 + f(v * f(1 - s))))); }
        default: return NaN;
      }
    };
    if (op === 'relu6' || op === 'gelu') return R.unaryGrad(op, x, y, dy, attrs);
    const out = f32(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = g(i, x.data[i], y.data[i], dy.data[i]);
    return { data: out as A, shape: [...x.shape] };
  };

  const binary = <A extends DataArray>(op: BinaryOp, a: KTensor<A>, b: KTensor<A>, outShape: readonly number[]): KTensor<A> => {
    if (!(a.data instanceof Float32Array)) return R.binary(op, a, b, outShape);
    const g: Record<string, ((x: number, y: number) => number) | undefined> = {
      floorDiv: (x, y) => Math.floor(f(x / y)),
      squaredDifference: (x, y) => { const d = f(x - y); return f(d * d); },
      pow: (x, y) => nudge(f(Math.pow(x, y * (1 + 2 * EPS))), 3),
      atan2: (x, y) => nudge(f(Math.atan2(x * (1 + 2 * EPS), y)), -3),
    };
    const fn = g[op];
    if (!fn) return R.binary(op, a, b, outShape);
    const out = f32(outShape.reduce((p, q) => p * q, 1));
    const ad = a.data;
    const bd = b.data;
    forEachBroadcast(outShape, [a.shape, b.shape], (o, idx) => {
      const x = ad[idx[0]];
      const y = bd[idx[1]];
      out[o] = op === 'pow' && (x === 1 || Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(y) || !Number.isFinite(x) || x <= 0)
        ? R.binary(op, { data: Float32Array.of(x), shape: [] }, { data: Float32Array.of(y), shape: [] }, []).data[0]
        : fn(x, y);
    });
    return { data: out as A, shape: [...outShape] };
  };

  const reduce: Backend['reduce'] = (op, x, axes) => {
    if (!(x.data instanceof Float32Array) || op === 'max' || op === 'min') return R.reduce(op, x, axes);
    // Gather each output's elements with the reference's own plan: reduce 'sum' on one-hot probes is too slow,
    // so recompute the index sets here.
    const shape = x.shape;
    const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
    const outShape = kept.map((i) => shape[i]);
    const nOut = outShape.reduce((p, q) => p * q, 1);
    const m = axes.reduce((p, a) => p * shape[a], 1);
    const out = f32(nOut);
    const xd = x.data;
    const offs = (dims: number[], n: number): number[] => {
      const res: number[] = [];
      const c = new Array(dims.length).fill(0);
      for (let t = 0; t < n; t++) {
        res.push(dims.reduce((s, d, k) => s + c[k] * strides[d], 0));
        for (let k = dims.length - 1; k >= 0; k--) { if (++c[k] < shape[dims[k]]) break; c[k] = 0; }
      }
      return res;
    };
    const base = offs(kept, nOut);
    const inner = offs([...axes], m);
    for (let o = 0; o < nOut; o++) {
      if (op === 'prod') {
        let p = 1;
        for (let j = m - 1; j >= 0; j--) p = f(p * xd[base[o] + inner[j]]);
        out[o] = p;
      } else {
        const s = laneSum(m, (j) => xd[base[o] + inner[m - 1 - j]]);
        out[o] = op === 'mean' ? (m === 0 ? NaN : f(s * f(1 / m))) : s;
      }
    }
    return { data: out as never, shape: outShape };
  };

  const matmul = <A extends FloatArray>(a: KTensor<A>, b: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): KTensor<A> => {
    const { transposeA, transposeB } = attrs;
    const [Ba, a1, a2] = a.shape;
    const [Bb, b1, b2] = b.shape;
    const M = transposeA ? a2 : a1;
    const K = transposeA ? a1 : a2;
    const N = transposeB ? b1 : b2;
    const B = Ba === 1 ? Bb : Ba;
    const out = f32(B * M * N);
    for (let bi = 0; bi < B; bi++) {
      const aOff = (Ba === 1 ? 0 : bi) * M * K;
      const bOff = (Bb === 1 ? 0 : bi) * K * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          const A_ = (k: number): number => a.data[aOff + (transposeA ? k * M + m : m * K + k)];
          const B_ = (k: number): number => b.data[bOff + (transposeB ? n * K + k : k * N + n)];
          // Blocked over K in chunks of 64, each chunk in 8 lanes, chunks added in order; bias last.
          let s = 0;
          for (let k0 = 0; k0 < K; k0 += 64) s = f(s + laneSum(Math.min(64, K - k0), (j) => f(A_(k0 + j) * B_(k0 + j))));
          if (bias) s = f(s + bias.data[n]);
          if (attrs.activation === 'relu') s = mutant ? (s > 0 ? s : 0) : s < 0 ? 0 : s; // mutant: maxps(s, 0) turns NaN into 0
          out[(bi * M + m) * N + n] = s;
        }
      }
    }
    return { data: out as A, shape: [B, M, N] };
  };

  /** Zero-padded im2col value of x at (n, ih, iw, c): padded taps are multiplied as zeros, as a GEMM conv does. */
  const conv2d = <A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): KTensor<A> => {
    const [N, H, W, Cin] = x.shape;
    const [KH, KW, Cg, Cout] = w.shape;
    const [sh, sw] = attrs.strides;
    const [dh, dw] = attrs.dilations;
    const [pt, pb, pl, pr] = attrs.pads;
    const OH = windowOutSize(H, KH, sh, dh, pt, pb);
    const OW = windowOutSize(W, KW, sw, dw, pl, pr);
    const cpg = Cout / attrs.groups;
    const y = f32(N * OH * OW * Cout);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let o = 0; o < Cout; o++) {
      const c0 = Math.floor(o / cpg) * Cg;
      const T = KH * KW * Cg;
      let s = laneSum(T, (t) => {
        const ci = t % Cg;
        const kw = Math.floor(t / Cg) % KW;
        const kh = Math.floor(t / (Cg * KW));
        const ih = oh * sh - pt + kh * dh;
        const iw = ow * sw - pl + kw * dw;
        const xv = ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x.data[((n * H + ih) * W + iw) * Cin + c0 + ci];
        return f(xv * w.data[((kh * KW + kw) * Cg + ci) * Cout + o]);
      });
      if (bias) s = f(s + bias.data[o]);
      y[((n * OH + oh) * OW + ow) * Cout + o] = s;
    }
    return { data: y as A, shape: [N, OH, OW, Cout] };
  };

  const conv2dBackwardData = <A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> => {
    // Scatter form (col2im): each dy * w product added into dx in float32, in (n, oh, ow, kh, kw, o) order.
    const [N, H, W, Cin] = xShape;
    const [, OH, OW, Cout] = dy.shape;
    const [KH, KW, Cg] = w.shape;
    const [sh, sw] = attrs.strides;
    const [dh, dw] = attrs.dilations;
    const [pt, , pl] = attrs.pads;
    const cpg = Cout / attrs.groups;
    const dx = f32(N * H * W * Cin);
    for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * sh - pt + kh * dh;
      const iw = ow * sw - pl + kw * dw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let o = 0; o < Cout; o++) {
        const c0 = Math.floor(o / cpg) * Cg;
        for (let ci = 0; ci < Cg; ci++) {
          const i = ((n * H + ih) * W + iw) * Cin + c0 + ci;
          dx[i] = f(dx[i] + f(dy.data[((n * OH + oh) * OW + ow) * Cout + o] * w.data[((kh * KW + kw) * Cg + ci) * Cout + o]));
        }
      }
    }
    return { data: dx as A, shape: [N, H, W, Cin] };
  };

  const conv2dBackwardFilter = <A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> => {
    const [N, H, W, Cin] = x.shape;
    const [, OH, OW, Cout] = dy.shape;
    const [KH, KW, Cg] = wShape;
    const [sh, sw] = attrs.strides;
    const [dh, dw] = attrs.dilations;
    const [pt, , pl] = attrs.pads;
    const cpg = Cout / attrs.groups;
    const out = f32(KH * KW * Cg * Cout);
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let ci = 0; ci < Cg; ci++) for (let o = 0; o < Cout; o++) {
      const c = Math.floor(o / cpg) * Cg + ci;
      // Reversed pixel order, zero-padded taps multiplied.
      const P = N * OH * OW;
      out[((kh * KW + kw) * Cg + ci) * Cout + o] = laneSum(P, (t) => {
        const p = P - 1 - t;
        const ow = p % OW;
        const oh = Math.floor(p / OW) % OH;
        const n = Math.floor(p / (OW * OH));
        const ih = oh * sh - pt + kh * dh;
        const iw = ow * sw - pl + kw * dw;
        const xv = ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x.data[((n * H + ih) * W + iw) * Cin + c];
        return f(xv * dy.data[p * Cout + o]);
      });
    }
    return { data: out as A, shape: [KH, KW, Cg, Cout] };
  };

  /** softmax / logSoftmax in float32 with a 2-ulp exp and log. */
  const softmaxImpl = <A extends FloatArray>(x: KTensor<A>, axis: number, log: boolean): KTensor<A> => {
    const shape = x.shape;
    const ax = axis < 0 ? axis + shape.length : axis;
    const outer = shape.slice(0, ax).reduce((p, q) => p * q, 1);
    const L = shape[ax];
    const inner = shape.slice(ax + 1).reduce((p, q) => p * q, 1);
    const out = f32(x.data.length);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      const at = (l: number): number => (o * L + l) * inner + i;
      let m = -Infinity;
      for (let l = 0; l < L; l++) m = Math.max(m, x.data[at(l)]);
      if (mutant) m = 0; // mutant: no max subtraction, exp overflows for large logits
      const e = (l: number): number => nudge(f(Math.exp(f(x.data[at(l)] - m))), 2);
      const S = laneSum(L, e);
      if (log) {
        const lse = f(m + nudge(f(Math.log(S)), -2));
        for (let l = 0; l < L; l++) out[at(l)] = f(x.data[at(l)] - lse);
      } else {
        const r = f(1 / S);
        for (let l = 0; l < L; l++) out[at(l)] = f(e(l) * r);
      }
    }
    return { data: out as A, shape: [...shape] };
  };

  const softmaxCrossEntropy = <A extends FloatArray>(logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> => {
    const [N, C] = logits.shape;
    const ls = softmaxImpl(logits, 1, true).data;
    const out = f32(N);
    for (let n = 0; n < N; n++) {
      if (labels.data instanceof Int32Array) {
        const k = labels.data[n];
        out[n] = k >= 0 && k < C ? f(-ls[n * C + k]) : 0;
      } else {
        // The cancelling arrangement lse * sum(w) - sum(w x).
        let m = -Infinity;
        for (let c = 0; c < C; c++) m = Math.max(m, logits.data[n * C + c]);
        const lse = f(m + f(Math.log(laneSum(C, (c) => f(Math.exp(f(logits.data[n * C + c] - m)))))));
        const lw = labels.data;
        const sw = laneSum(C, (c) => lw[n * C + c]);
        const swx = laneSum(C, (c) => f(lw[n * C + c] * logits.data[n * C + c]));
        out[n] = f(f(lse * sw) - swx);
      }
    }
    return { data: out as A, shape: [N] };
  };

  const softmaxCrossEntropyBackward = <A extends FloatArray>(dloss: KTensor<A>, logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> => {
    const [N, C] = logits.shape;
    const p = softmaxImpl(logits, 1, false).data;
    const out = f32(N * C);
    for (let n = 0; n < N; n++) {
      const lab = (c: number): number => (labels.data instanceof Int32Array ? (labels.data[n] === c ? 1 : 0) : labels.data[n * C + c]);
      const Ls = laneSum(C, lab);
      for (let c = 0; c < C; c++) out[n * C + c] = f(dloss.data[n] * f(f(p[n * C + c] * Ls) - lab(c)));
    }
    return { data: out as A, shape: [N, C] };
  };

  const poolWindows = (xShape: readonly number[], a: Pool2DAttrs) => {
    const [N, H, W, C] = xShape;
    const [KH, KW] = a.poolSize;
    const [sh, sw] = a.strides;
    const [pt, pb, pl, pr] = a.pads;
    return { N, H, W, C, KH, KW, sh, sw, pt, pl, OH: windowOutSize(H, KH, sh, 1, pt, pb), OW: windowOutSize(W, KW, sw, 1, pl, pr) };
  };

  const avgPool2d = <A extends FloatArray>(x: KTensor<A>, a: Pool2DAttrs): KTensor<A> => {
    const g = poolWindows(x.shape, a);
    const y = f32(g.N * g.OH * g.OW * g.C);
    let yi = 0;
    for (let n = 0; n < g.N; n++) for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
      const h0 = Math.max(oh * g.sh - g.pt, 0), h1 = Math.min(oh * g.sh - g.pt + g.KH, g.H);
      const w0 = Math.max(ow * g.sw - g.pl, 0), w1 = Math.min(ow * g.sw - g.pl + g.KW, g.W);
      // mutant: count_include_pad, dividing by the whole window.
      const count = mutant ? g.KH * g.KW : (h1 - h0) * (w1 - w0);
      const r = f(1 / count);
      for (let c = 0; c < g.C; c++, yi++) {
        let s = 0;
        for (let ih = h1 - 1; ih >= h0; ih--) for (let iw = w1 - 1; iw >= w0; iw--) s = f(s + x.data[((n * g.H + ih) * g.W + iw) * g.C + c]);
        y[yi] = f(s * r);
      }
    }
    return { data: y as A, shape: [g.N, g.OH, g.OW, g.C] };
  };

  const avgPool2dBackward = <A extends FloatArray>(dy: KTensor<A>, xShape: readonly number[], a: Pool2DAttrs): KTensor<A> => {
    const g = poolWindows(xShape, a);
    const dx = f32(g.N * g.H * g.W * g.C);
    let yi = 0;
    for (let n = 0; n < g.N; n++) for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
      const h0 = Math.max(oh * g.sh - g.pt, 0), h1 = Math.min(oh * g.sh - g.pt + g.KH, g.H);
      const w0 = Math.max(ow * g.sw - g.pl, 0), w1 = Math.min(ow * g.sw - g.pl + g.KW, g.W);
      const r = f(1 / ((h1 - h0) * (w1 - w0)));
      for (let c = 0; c < g.C; c++, yi++) {
        const d = f(dy.data[yi] * r);
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) {
          const i = ((n * g.H + ih) * g.W + iw) * g.C + c;
          dx[i] = f(dx[i] + d);
        }
      }
    }
    return { data: dx as A, shape: [g.N, g.H, g.W, g.C] };
  };

  const maxPool2dBackward = <A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, a: Pool2DAttrs): KTensor<A> => {
    // The reference's routing, then the float32 scatter-add in reverse window order.
    const g = poolWindows(x.shape, a);
    const dx = f32(x.data.length);
    let yi = 0;
    const order: [number, number][] = [];
    for (let n = 0; n < g.N; n++) for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) for (let c = 0; c < g.C; c++, yi++) {
      let best = -1;
      for (let ih = Math.max(oh * g.sh - g.pt, 0); ih < Math.min(oh * g.sh - g.pt + g.KH, g.H); ih++) {
        for (let iw = Math.max(ow * g.sw - g.pl, 0); iw < Math.min(ow * g.sw - g.pl + g.KW, g.W); iw++) {
          const i = ((n * g.H + ih) * g.W + iw) * g.C + c;
          const v = x.data[i];
          if (best < 0 || v > x.data[best] || (v !== v && x.data[best] === x.data[best])) best = i;
        }
      }
      if (best >= 0) order.push([best, yi]);
    }
    for (let t = order.length - 1; t >= 0; t--) dx[order[t][0]] = f(dx[order[t][0]] + dy.data[order[t][1]]);
    return { data: dx as A, shape: [...x.shape] };
  };

  const globalPool2d = <A extends FloatArray>(x: KTensor<A>, mode: 'avg' | 'max'): KTensor<A> => {
    if (mode === 'max') return R.globalPool2d(x, mode);
    const [N, H, W, C] = x.shape;
    const HW = H * W;
    const y = f32(N * C);
    const r = f(1 / HW);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) y[n * C + c] = f(laneSum(HW, (p) => x.data[(n * HW + p) * C + c]) * r);
    return { data: y as A, shape: [N, C] };
  };

  const globalPool2dBackward = <A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, mode: 'avg' | 'max'): KTensor<A> => {
    if (mode === 'max') return R.globalPool2dBackward(dy, x, mode);
    const [N, H, W, C] = x.shape;
    const HW = H * W;
    const r = f(1 / HW);
    const dx = f32(x.data.length);
    for (let n = 0; n < N; n++) for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) dx[(n * HW + p) * C + c] = f(dy.data[n * C + c] * r);
    return { data: dx as A, shape: [N, H, W, C] };
  };

  const batchNorm: Backend['batchNorm'] = (x, gamma, beta, mean, variance, attrs) => {
    const C = x.shape[x.shape.length - 1];
    const Rn = x.data.length / C;
    const mu = f32(C);
    const v = f32(C);
    for (let c = 0; c < C; c++) {
      if (attrs.training) {
        if (mutant) {
          // One-pass E[x^2] - m^2.
          const s = laneSum(Rn, (r) => x.data[r * C + c]);
          const s2 = laneSum(Rn, (r) => f(x.data[r * C + c] * x.data[r * C + c]));
          mu[c] = f(s / Rn);
          v[c] = f(f(s2 / Rn) - f(mu[c] * mu[c]));
        } else if (c % 2 === 0) {
          // Two-pass.
          mu[c] = f(laneSum(Rn, (r) => x.data[r * C + c]) / Rn);
          v[c] = f(laneSum(Rn, (r) => { const d = f(x.data[r * C + c] - mu[c]); return f(d * d); }) / Rn);
        } else {
          // Welford.
          let m = 0;
          let m2 = 0;
          for (let r = 0; r < Rn; r++) {
            const t = x.data[r * C + c];
            const d = f(t - m);
            m = f(m + f(d / (r + 1)));
            m2 = f(m2 + f(d * f(t - m)));
          }
          mu[c] = Rn === 0 ? NaN : m;
          v[c] = f(m2 / Rn);
        }
      } else {
        mu[c] = mean!.data[c];
        v[c] = variance!.data[c];
      }
    }
    const y = f32(x.data.length);
    for (let c = 0; c < C; c++) {
      const scale = f(gamma.data[c] * f(1 / f(Math.sqrt(f(v[c] + f(attrs.epsilon))))));
      const shift = f(beta.data[c] - f(mu[c] * scale));
      for (let r = 0; r < Rn; r++) y[r * C + c] = f(f(x.data[r * C + c] * scale) + shift);
    }
    const like = x.data.constructor as new (n: number) => typeof x.data;
    const mo = new like(C); mo.set(mu);
    const vo = new like(C); vo.set(v);
    return { y: { data: y as never, shape: [...x.shape] }, mean: { data: mo, shape: [C] }, variance: { data: vo, shape: [C] } };
  };

  const batchNormBackward: Backend['batchNormBackward'] = (dy, x, gamma, mean, variance, attrs) => {
    const C = x.shape[x.shape.length - 1];
    const Rn = x.data.length / C;
    const dx = f32(x.data.length);
    const dg = f32(C);
    const db = f32(C);
    for (let c = 0; c < C; c++) {
      const istd = f(1 / f(Math.sqrt(f(variance.data[c] + f(attrs.epsilon)))));
      const xh = (r: number): number => f(f(x.data[r * C + c] - mean.data[c]) * istd);
      db[c] = laneSum(Rn, (r) => dy.data[r * C + c]);
      dg[c] = laneSum(Rn, (r) => f(dy.data[r * C + c] * xh(r)));
      const scale = f(gamma.data[c] * istd);
      const mdb = f(db[c] / Rn);
      const mdg = f(dg[c] / Rn);
      for (let r = 0; r < Rn; r++) {
        const i = r * C + c;
        dx[i] = attrs.training ? f(scale * f(f(dy.data[i] - mdb) - f(xh(r) * mdg))) : f(dy.data[i] * scale);
      }
    }
    return { dx: { data: dx as never, shape: [...x.shape] }, dgamma: { data: dg as never, shape: [C] }, dbeta: { data: db as never, shape: [C] } };
  };

  return {
    unary, unaryGrad, binary, reduce, matmul,
    softmax: (x, axis) => softmaxImpl(x, axis, false),
    logSoftmax: (x, axis) => softmaxImpl(x, axis, true),
    softmaxCrossEntropy, softmaxCrossEntropyBackward,
    conv2d, conv2dBackwardData, conv2dBackwardFilter,
    avgPool2d, avgPool2dBackward, maxPool2dBackward, globalPool2d, globalPool2dBackward,
    batchNorm, batchNormBackward,
  } as Partial<Backend>;
}
