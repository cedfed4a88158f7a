/**
 * conv1d, depthwise, separable, grouped and transposed convolutions and the gradient entry points, each
 * against an independent construction: per-channel / per-group conv2d calls, conv2d with H = 1, the scatter
 * definition of the transposed convolution, and the adjoint identities <conv(x), dy> = <x, dx> = <w, dw>.
 *
 * Data are uniform in [-1, 1). A float32 result of a K-term dot product is within K * eps32 * sum|terms|
 * <= K^2 * eps32 of the exact value (terms are at most 1), so two float32 paths differ by at most 2 K^2 eps32.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { concatLast, dot, fromFlat, padNHWC, random, sliceAxis, tensor } from './fixtures.js';

beforeAll(() => setBackend('reference'));

/** Tolerance for two float32 evaluations of K-term sums of products bounded by 1. */
const tol2 = (k: number): number => 2 * k * k * EPS32;

describe('conv2d', () => {
  it('adds the bias to every output pixel', () => {
    const x = random([2, 5, 5, 3], 1);
    const w = random([3, 3, 3, 4], 2);
    const bias = tensor([0.5, -1, 2, 0]);
    const a = ops.conv2d(x, w, { bias, padding: 'same' });
    const b = ops.conv2d(x, w, { padding: 'same' });
    assertClose(a.data, b.data.map((v, i) => v + bias.data[i % 4]), { atol: tol2(27), what: 'bias' });
  });

  it('groups = 2 equals two conv2d calls on the channel halves', () => {
    const x = random([2, 6, 5, 4], 3);
    const w = random([3, 2, 2, 6], 4); // Cin/groups = 2, Cout = 6 (3 per group)
    const y = ops.conv2d(x, w, { groups: 2, strides: [2, 1], padding: 'same' });
    const parts = [0, 1].map((g) =>
      ops.conv2d(sliceAxis(x, 3, 2 * g, 2), sliceAxis(w, 3, 3 * g, 3), { strides: [2, 1], padding: 'same' }));
    expect(y.shape).toEqual([2, 3, 5, 6]);
    assertClose(y.data, concatLast(parts).data, { atol: tol2(12), what: 'groups 2' });
  });

  it('strides 2 with dilation 2 (allowed, unlike Keras layers) equals strides 2 with the zero-stuffed kernel', () => {
    const x = random([1, 9, 8, 2], 5);
    const w = random([2, 3, 2, 3], 6);
    const stuffed = new Float32Array(3 * 5 * 2 * 3); // [3, 5, 2, 3]: taps at even offsets
    for (let kh = 0; kh < 2; kh++)
      for (let kw = 0; kw < 3; kw++)
        for (let i = 0; i < 6; i++) stuffed[((2 * kh) * 5 + 2 * kw) * 6 + i] = w.data[(kh * 3 + kw) * 6 + i];
    const y = ops.conv2d(x, w, { strides: 2, dilation: 2, padding: 'same' });
    const padded = padNHWC(x, ...samePadsHW(9, 8, 3, 5, 2));
    const ref = ops.conv2d(padded, fromFlat(stuffed, [3, 5, 2, 3]), { strides: 2 });
    expect(y.shape).toEqual([1, 5, 4, 3]);
    assertClose(y.data, ref.data, { atol: tol2(30), what: 'stride 2 dilation 2' });
  });
});

/** TF 'same' pads [top, bottom, left, right] for kernel extents eh, ew and stride s (the test's own formula). */
function samePadsHW(h: number, w: number, eh: number, ew: number, s: number): [number, number, number, number] {
  const one = (n: number, e: number): [number, number] => {
    const total = Math.max((Math.ceil(n / s) - 1) * s + e - n, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [...one(h, eh), ...one(w, ew)];
}

describe('conv1d', () => {
  it('equals conv2d with H = 1 (strides, dilation, same, groups, bias)', () => {
    const x = random([3, 11, 4], 7);
    const w = random([3, 2, 6], 8);
    const bias = random([6], 9);
    // [conv1d options, the stride, dilation and padding of the equivalent conv2d's width axis]
    const cases: [ops.Conv1DOptions, number, number, 'valid' | 'same'][] = [
      [{}, 1, 1, 'valid'],
      [{ stride: 2 }, 2, 1, 'valid'],
      [{ strides: 2, padding: 'same' }, 2, 1, 'same'],
      [{ dilation: 2, padding: 'same' }, 1, 2, 'same'],
    ];
    for (const [opts, s, d, padding] of cases) {
      const y = ops.conv1d(x, w, { ...opts, groups: 2, bias });
      const y2 = ops.conv2d(new Tensor(x.data, [3, 1, 11, 4]), new Tensor(w.data, [1, 3, 2, 6]), {
        strides: [1, s], dilation: [1, d], padding, groups: 2, bias,
      });
      expect(y.shape).toEqual([3, y2.shape[2], 6]);
      assertClose(y.data, y2.data, { atol: tol2(6), what: `conv1d ${JSON.stringify(opts)}` });
    }
  });

  it("'causal' pads (k-1)*d on the left only: output t sees inputs up to t", () => {
    const x = random([2, 7, 3], 10);
    const w = random([3, 3, 2], 11);
    const y = ops.conv1d(x, w, { padding: 'causal', dilation: 2 });
    expect(y.shape).toEqual([2, 7, 2]);
    const left = padNHWC(new Tensor(x.data, [2, 1, 7, 3]), 0, 0, 4, 0);
    const ref = ops.conv1d(new Tensor(left.data, [2, 11, 3]), w, { dilation: 2 });
    assertClose(y.data, ref.data, { atol: tol2(9), what: 'causal' });
    expect(ops.conv1d(x, w, { padding: [4, 0], dilation: 2 }).data).toEqual(y.data);
  });
});

describe('depthwiseConv2d and separableConv2d', () => {
  it('multiplier 2 equals one conv2d per input channel, output channel c*M + m', () => {
    const x = random([2, 7, 6, 3], 12);
    const w = random([3, 3, 3, 2], 13);
    const bias = random([6], 14);
    for (const opts of [{}, { strides: 2, padding: 'same' as const }, { dilation: 2 }]) {
      const y = ops.depthwiseConv2d(x, w, { ...opts, bias });
      const parts = [0, 1, 2].map((c) =>
        ops.conv2d(sliceAxis(x, 3, c, 1), new Tensor(sliceAxis(w, 2, c, 1).data, [3, 3, 1, 2]), { ...opts, bias: sliceAxis(bias, 0, 2 * c, 2) }));
      const ref = concatLast(parts);
      expect(y.shape).toEqual(ref.shape);
      assertClose(y.data, ref.data, { atol: tol2(10), what: `depthwise ${JSON.stringify(opts)}` });
    }
  });

  it('separable = depthwise, then a 1x1 conv with the bias', () => {
    const x = random([1, 6, 6, 2], 15);
    const dw = random([3, 3, 2, 2], 16);
    const pw = random([1, 1, 4, 5], 17);
    const bias = random([5], 18);
    const y = ops.separableConv2d(x, dw, pw, { strides: 2, padding: 'same', bias });
    const ref = ops.conv2d(ops.depthwiseConv2d(x, dw, { strides: 2, padding: 'same' }), pw, { bias });
    expect(y.shape).toEqual([1, 3, 3, 5]);
    assertClose(y.data, ref.data, { atol: tol2(40), what: 'separable' });
  });
});

/**
 * The definition of the transposed convolution: each input pixel (i, j) adds x[n,i,j,ci] * w[kh,kw,co,ci] to
 * output pixel (i*s - padTop + kh*d, j*s - padLeft + kw*d), in float64.
 */
function scatterOracle(
  x: Tensor, w: Tensor, s: [number, number], d: [number, number], padTop: number, padLeft: number, oh: number, ow: number,
): Float64Array {
  const [n, h, wd, cin] = x.shape;
  const [kh, kw, cout] = w.shape;
  const out = new Float64Array(n * oh * ow * cout);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < wd; j++)
        for (let ci = 0; ci < cin; ci++) {
          const v = x.data[((b * h + i) * wd + j) * cin + ci];
          for (let a = 0; a < kh; a++)
            for (let c = 0; c < kw; c++) {
              const r = i * s[0] - padTop + a * d[0];
              const q = j * s[1] - padLeft + c * d[1];
              if (r < 0 || r >= oh || q < 0 || q >= ow) continue;
              for (let co = 0; co < cout; co++) out[((b * oh + r) * ow + q) * cout + co] += v * w.data[((a * kw + c) * cout + co) * cin + ci];
            }
        }
  return out;
}

describe('conv2dTranspose', () => {
  it('ones 2x2 through a ones 3x3 kernel, stride 2 (TensorFlow values)', () => {
    const x = fromFlat([1, 1, 1, 1], [1, 2, 2, 1]);
    const w = fromFlat(new Array(9).fill(1), [3, 3, 1, 1]);
    const valid = ops.conv2dTranspose(x, w, { strides: 2 });
    expect(valid.shape).toEqual([1, 5, 5, 1]);
    expect(Array.from(valid.data)).toEqual([1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 2, 2, 4, 2, 2, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1]);
    const same = ops.conv2dTranspose(x, w, { strides: 2, padding: 'same' });
    expect(same.shape).toEqual([1, 4, 4, 1]);
    expect(Array.from(same.data)).toEqual([1, 1, 2, 1, 1, 1, 2, 1, 2, 2, 4, 2, 1, 1, 2, 1]);
  });

  it("matches the scatter definition for 'valid' and 'same', strides 1-3, kernels 1-4", () => {
    let seed = 100;
    for (const s of [1, 2, 3])
      for (const k of [1, 2, 3, 4])
        for (const [h, wd] of [[1, 1], [3, 2], [4, 5]])
          for (const padding of ['valid', 'same'] as const) {
            const x = random([2, h, wd, 3], seed++);
            const w = random([k, k, 2, 3], seed++);
            const y = ops.conv2dTranspose(x, w, { strides: s, padding });
            // Keras deconv_output_length, then TensorFlow's 'same' pads of the forward conv on that size.
            const o = (n: number): number => (padding === 'valid' ? n * s + Math.max(k - s, 0) : n * s);
            const [oh, ow] = [o(h), o(wd)];
            const [pt, , pl] = padding === 'valid' ? [0, 0, 0, 0] : samePadsHW(oh, ow, k, k, s);
            expect(y.shape, `s${s} k${k} ${h}x${wd} ${padding}`).toEqual([2, oh, ow, 2]);
            const K = 3 * Math.ceil(k / s) ** 2;
            assertClose(y.data, scatterOracle(x, w, [s, s], [1, 1], pt, pl, oh, ow), {
              atol: (K + 1) * K * EPS32, what: `conv2dTranspose s${s} k${k} ${h}x${wd} ${padding}`,
            });
          }
  });

  it('outputPadding, explicit padding, dilation, outputShape and bias', () => {
    const x = random([1, 3, 4, 2], 200);
    const w = random([3, 2, 3, 2], 201);
    const bias = tensor([1, 2, 3]);
    // valid + outputPadding 1: (in-1)*s + k + 1.
    const a = ops.conv2dTranspose(x, w, { strides: 2, outputPadding: 1 });
    expect(a.shape).toEqual([1, 8, 9, 3]);
    assertClose(a.data, scatterOracle(x, w, [2, 2], [1, 1], 0, 0, 8, 9), { atol: 50 * EPS32, what: 'outputPadding' });
    // same + outputPadding 1: (in-1)*s + k - 2*floor(k/2) + 1 = 6 rows (k 3), 7 columns (k 2); TF 'same' pads on that size.
    const b = ops.conv2dTranspose(x, w, { strides: 2, padding: 'same', outputPadding: 1 });
    expect(b.shape).toEqual([1, 6, 7, 3]);
    const [pt, , pl] = samePadsHW(6, 7, 3, 2, 2);
    assertClose(b.data, scatterOracle(x, w, [2, 2], [1, 1], pt, pl, 6, 7), { atol: 50 * EPS32, what: 'same outputPadding' });
    // explicit [[1,0],[0,1]]: (in-1)*s + k - pads.
    const c = ops.conv2dTranspose(x, w, { strides: 2, padding: [[1, 0], [0, 1]], bias });
    expect(c.shape).toEqual([1, 6, 7, 3]);
    const oc = scatterOracle(x, w, [2, 2], [1, 1], 1, 0, 6, 7).map((v, i) => v + bias.data[i % 3]);
    assertClose(c.data, oc, { atol: 50 * EPS32, what: 'explicit + bias' });
    // dilation 2: kernel extent 5 x 3.
    const d = ops.conv2dTranspose(x, w, { dilation: 2 });
    expect(d.shape).toEqual([1, 7, 6, 3]);
    assertClose(d.data, scatterOracle(x, w, [1, 1], [2, 2], 0, 0, 7, 6), { atol: 50 * EPS32, what: 'dilation' });
    // outputShape picks among the sizes that map back: 7 or 8 rows (k 3), 8 or 9 columns (k 2) for stride 2.
    const e = ops.conv2dTranspose(x, w, { strides: 2, outputShape: [1, 8, 8, 3] });
    expect(e.shape).toEqual([1, 8, 8, 3]);
    assertClose(e.data, scatterOracle(x, w, [2, 2], [1, 1], 0, 0, 8, 8), { atol: 50 * EPS32, what: 'outputShape' });
    expect(ops.conv2dTranspose(x, w, { strides: 2, outputShape: [8, 8] }).data).toEqual(e.data);
  });

  it('is the adjoint of conv2d: <conv2d(y, w), x> = <y, conv2dTranspose(x, w)>', () => {
    let seed = 300;
    for (const [s, dil, padding] of [[1, 1, 'valid'], [2, 1, 'same'], [3, 1, 'valid'], [2, 2, 'same'], [1, 2, 'valid']] as const) {
      const yShape = [2, 9, 8, 3];
      const y = random(yShape, seed++);
      const w = random([3, 2, 3, 4], seed++); // conv2d HWIO: 3 -> 4; transposed: 4 -> 3
      const fwd = ops.conv2d(y, w, { strides: s, dilation: dil, padding });
      const x = random(fwd.shape, seed++);
      const back = ops.conv2dTranspose(x, w, { strides: s, dilation: dil, padding, outputShape: yShape });
      const l = dot(fwd.data, x.data);
      const r = dot(y.data, back.data);
      expect(Math.abs(l.value - r.value), `s${s} d${dil} ${padding}`).toBeLessThanOrEqual(40 * EPS32 * (l.scale + r.scale));
    }
  });

  it('ops.convTransposeOutputShape agrees with the op', () => {
    expect(ops.convTransposeOutputShape([4, 4, 8], 3, 16, { strides: 2, padding: 'same' })).toEqual([8, 8, 16]);
    expect(ops.convTransposeOutputShape([null, 4, 4, 8], 3, 16, { strides: 2 })).toEqual([null, 9, 9, 16]);
    expect(ops.convTransposeOutputShape([4, 4, 8], 1, 2, { strides: 3 })).toEqual([12, 12, 2]); // k < s: in*s
    expect(ops.convTransposeOutputLength(4, 3, { stride: 2, padding: 'same', outputPadding: 1 })).toBe(8);
    const y = ops.conv2dTranspose(random([1, 4, 4, 8], 1), random([3, 3, 16, 8], 2), { strides: 2 });
    expect(y.shape).toEqual([1, 9, 9, 16]);
  });
});

describe('conv2dBackpropInput / conv2dBackpropFilter', () => {
  it('satisfy <conv2d(x, w), dy> = <x, dx> = <w, dw> (grouped, strided, dilated, same)', () => {
    let seed = 400;
    const cases = [
      { strides: 1, padding: 'valid' as const },
      { strides: 2, padding: 'same' as const, groups: 2 },
      { strides: [2, 3] as [number, number], dilation: 2, padding: [[1, 2], [0, 1]] as [[number, number], [number, number]] },
    ];
    for (const attrs of cases) {
      const g = attrs.groups ?? 1;
      const x = random([2, 8, 9, 4], seed++);
      const w = random([3, 2, 4 / g, 6], seed++);
      const y = ops.conv2d(x, w, attrs);
      const dy = random(y.shape, seed++);
      const dx = ops.conv2dBackpropInput(dy, w, x.shape, attrs);
      const dw = ops.conv2dBackpropFilter(x, dy, w.shape, attrs);
      expect([dx.shape, dw.shape]).toEqual([x.shape, w.shape]);
      const l = dot(y.data, dy.data);
      for (const [name, r] of [['dx', dot(x.data, dx.data)], ['dw', dot(w.data, dw.data)]] as const) {
        expect(Math.abs(l.value - r.value), `${name} ${JSON.stringify(attrs)}`).toBeLessThanOrEqual(100 * EPS32 * (l.scale + r.scale));
      }
    }
  });

  it('conv2dBackpropInput equals conv2dTranspose with the same geometry', () => {
    const dy = random([1, 3, 3, 4], 500);
    const w = random([3, 3, 2, 4], 501);
    const a = ops.conv2dBackpropInput(dy, w, [1, 6, 6, 2], { strides: 2, padding: 'same' });
    // conv2dTranspose's w is [KH, KW, Cout, Cin]: here Cout = 2 (dx channels), Cin = 4 (dy channels).
    const b = ops.conv2dTranspose(dy, w, { strides: 2, padding: 'same' });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
  });
});
