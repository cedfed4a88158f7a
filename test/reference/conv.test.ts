/**
 * Reference conv2d and its gradients: the course's worked examples as exact unit tests, an independent
 * im2col oracle over random shapes and attributes, the adjoint identity, bias, and float32 in / float32 out.
 */
import { describe, expect, it } from 'vitest';
import { conv2d, conv2dBackwardData, conv2dBackwardFilter } from '../../src/backends/reference/conv.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { Conv2DAttrs, FloatArray, KTensor } from '../../src/backends/backend.js';
import { assertClose, EPS64 } from '../helpers/close.js';
import { Rng, uniformF64 } from '../helpers/random.js';

/** float64 unit roundoff. */

type F64 = KTensor<Float64Array>;

function attrsOf(a: Partial<Conv2DAttrs> = {}): Conv2DAttrs {
  return { strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1, ...a };
}

/** A single-image, single-channel [1, H, W, 1] tensor from rows. */
function image(rows: number[][], Ctor: new (xs: number[]) => FloatArray): KTensor<FloatArray> {
  return { data: new Ctor(rows.flat()), shape: [1, rows.length, rows[0].length, 1] };
}

/** A single-channel [KH, KW, 1, 1] filter from rows. */
function filter(rows: number[][], Ctor: new (xs: number[]) => FloatArray): KTensor<FloatArray> {
  return { data: new Ctor(rows.flat()), shape: [rows.length, rows[0].length, 1, 1] };
}

/** [1, OH, OW, 1] back to rows, for readable expectations. */
function rowsOf(y: KTensor): number[][] {
  const [, OH, OW] = y.shape;
  return Array.from({ length: OH }, (_, i) => Array.from(y.data.subarray(i * OW, (i + 1) * OW)));
}

const ARRAY_TYPES = [
  ['float64', Float64Array],
  ['float32', Float32Array],
] as const;

// ---------------------------------------------------------------------------------------------
// The course's worked examples (cross-correlation, no kernel flip). Integer data: exact in both dtypes.

const WORKED: { name: string; x: number[][]; k: number[][]; pads?: [number, number, number, number]; expected: number[][] }[] = [
  {
    name: '5x5 valid with the plus kernel',
    x: [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5], [4, 3, 1, 2, 5], [4, 5, 2, 1, 3]],
    k: [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
    // Each entry is the centre pixel plus its four neighbours, e.g. 2 + 5 + 4 + 3 + 2 = 16 at the top left.
    expected: [[16, 15, 14], [13, 13, 16], [15, 11, 13]],
  },
  {
    name: '6x6 with the vertical-edge kernel',
    x: [[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3], [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]],
    k: [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    expected: [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]],
  },
  {
    name: '5x5 with the vertical-edge kernel',
    x: [[7, 2, 3, 3, 8], [4, 5, 3, 8, 4], [3, 3, 2, 8, 4], [2, 8, 7, 2, 7], [5, 4, 4, 5, 4]],
    k: [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
    // Left column minus right column: (7+4+3) - (3+3+2) = 6 at the top left.
    expected: [[6, -9, -8], [-3, -2, -3], [-3, 0, -2]],
  },
  {
    name: '5x5 sharpen with zero padding 1',
    x: [[60, 113, 56, 139, 85], [73, 121, 54, 84, 128], [131, 99, 70, 129, 127], [80, 57, 115, 69, 134], [104, 126, 123, 95, 130]],
    k: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    pads: [1, 1, 1, 1],
    // 5*60 - 113 - 73 = 114 at the top left (its other two neighbours are padding).
    expected: [
      [114, 328, -26, 470, 158],
      [53, 266, -61, -30, 344],
      [403, 116, -47, 295, 244],
      [108, -135, 256, -128, 344],
      [314, 346, 279, 153, 421],
    ],
  },
  {
    name: '5x5 with an asymmetric 3x3 kernel',
    x: [[0, 2, 1, 0, 1], [0, 1, 2, 1, 0], [1, 0, 2, 0, 0], [1, 0, 0, 1, 1], [0, 1, 1, 2, 2]],
    k: [[0, 1, -4], [0, 2, 0], [-1, 4, 3]],
    // 2 - 4 + 2 - 1 + 0 + 6 = 5 at the top left.
    expected: [[5, 13, -4], [-8, 5, 8], [-1, 11, 15]],
  },
  {
    name: '3x3 with a 2x2 kernel',
    x: [[0, 1, 2], [3, 4, 5], [6, 7, 8]],
    k: [[0, 1], [2, 3]],
    expected: [[19, 25], [37, 43]],
  },
];

describe('conv2d: worked examples', () => {
  for (const [dtype, Ctor] of ARRAY_TYPES) {
    for (const ex of WORKED) {
      it(`${ex.name} (${dtype})`, () => {
        const y = conv2d(image(ex.x, Ctor), filter(ex.k, Ctor), attrsOf({ pads: ex.pads ?? [0, 0, 0, 0] }));
        expect(y.data).toBeInstanceOf(Ctor);
        expect(y.shape).toEqual([1, ex.expected.length, ex.expected[0].length, 1]);
        expect(rowsOf(y)).toEqual(ex.expected);
      });
    }
  }

  it('a 3x3 kernel with dilation 2 sees a 5x5 window: 7x7 -> 3x3, equal to the 5x5 kernel with zeros interleaved', () => {
    const x = Array.from({ length: 7 }, (_, i) => Array.from({ length: 7 }, (_, j) => ((i * 7 + j * 3) % 11) - 5));
    const k3 = [[1, -2, 3], [0, 4, -1], [2, 1, -3]];
    const k5 = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (i % 2 || j % 2 ? 0 : k3[i / 2][j / 2])));
    const dilated = conv2d(image(x, Float64Array), filter(k3, Float64Array), attrsOf({ dilations: [2, 2] }));
    const dense = conv2d(image(x, Float64Array), filter(k5, Float64Array), attrsOf());
    expect(dilated.shape).toEqual([1, 3, 3, 1]);
    expect(rowsOf(dilated)).toEqual(rowsOf(dense));
    let topLeft = 0; // taps at rows and columns 0, 2, 4 of the input
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) topLeft += x[2 * i][2 * j] * k3[i][j];
    expect(dilated.data[0]).toBe(topLeft);
  });
});

describe('conv2d: bias, dtype and geometry', () => {
  it('adds the bias per output channel', () => {
    const x: F64 = { data: uniformF64(2 * 4 * 4 * 3, 1), shape: [2, 4, 4, 3] };
    const w: F64 = { data: uniformF64(3 * 3 * 3 * 2, 2), shape: [3, 3, 3, 2] };
    const bias: F64 = { data: new Float64Array([0.5, -2]), shape: [2] };
    const a = attrsOf({ pads: [1, 1, 1, 1] });
    const plain = conv2d(x, w, a).data;
    const biased = conv2d(x, w, a, bias).data;
    // One extra rounded addition per element: |error| <= eps64 * |value|.
    for (let i = 0; i < plain.length; i++) {
      expect(Math.abs(biased[i] - (plain[i] + bias.data[i % 2]))).toBeLessThanOrEqual(EPS64 * (Math.abs(plain[i]) + 2));
    }
  });

  it('float32 in gives float32 out, equal to the float64 result rounded once (sums accumulate in double)', () => {
    const xShape = [2, 5, 6, 4];
    const wShape = [3, 2, 2, 6];
    const a = attrsOf({ strides: [2, 1], dilations: [1, 2], pads: [1, 2, 0, 1], groups: 2 });
    const x32 = Float32Array.from(uniformF64(2 * 5 * 6 * 4, 3));
    const w32 = Float32Array.from(uniformF64(3 * 2 * 2 * 6, 4));
    const b32 = Float32Array.from([0.25, -1, 3, 0.125, -0.5, 2]);
    const x64 = Float64Array.from(x32);
    const w64 = Float64Array.from(w32);
    const b64 = Float64Array.from(b32);
    // Products of float32 values are exact in double and both dtypes sum in the same order: the float32
    // result is exactly the float64 one rounded to float32.
    const y32 = conv2d({ data: x32, shape: xShape }, { data: w32, shape: wShape }, a, { data: b32, shape: [6] });
    const y64 = conv2d({ data: x64, shape: xShape }, { data: w64, shape: wShape }, a, { data: b64, shape: [6] });
    expect(y32.data).toBeInstanceOf(Float32Array);
    expect(y32.data).toEqual(Float32Array.from(y64.data));

    const dy32 = Float32Array.from(uniformF64(y32.data.length, 5));
    const dy64 = Float64Array.from(dy32);
    const dx32 = conv2dBackwardData({ data: dy32, shape: y32.shape }, { data: w32, shape: wShape }, xShape, a);
    const dx64 = conv2dBackwardData({ data: dy64, shape: y64.shape }, { data: w64, shape: wShape }, xShape, a);
    expect(dx32.data).toBeInstanceOf(Float32Array);
    expect(dx32.data).toEqual(Float32Array.from(dx64.data));

    const dw32 = conv2dBackwardFilter({ data: x32, shape: xShape }, { data: dy32, shape: y32.shape }, wShape, a);
    const dw64 = conv2dBackwardFilter({ data: x64, shape: xShape }, { data: dy64, shape: y64.shape }, wShape, a);
    expect(dw32.data).toBeInstanceOf(Float32Array);
    expect(dw32.data).toEqual(Float32Array.from(dw64.data));
  });

  it('backward data gives zero to input rows and columns no window reads (xShape that does not tile)', () => {
    // 6x7 input, 3x3 kernel, stride 2, valid: windows cover rows 0..4 and columns 0..4 only.
    const xShape = [1, 6, 7, 1];
    const a = attrsOf({ strides: [2, 2] });
    const w: F64 = { data: uniformF64(9, 6, 0.5, 1), shape: [3, 3, 1, 1] };
    const dy: F64 = { data: uniformF64(4, 7, 0.5, 1), shape: [1, 2, 2, 1] };
    const dx = conv2dBackwardData(dy, w, xShape, a);
    expect(dx.shape).toEqual(xShape);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 7; j++) {
        const v = dx.data[i * 7 + j];
        if (i === 5 || j >= 5) expect(v).toBe(0);
        else expect(v).toBeGreaterThan(0); // every covered pixel gets a positive contribution
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Independent oracle: realise the zero padding, lower each group to im2col rows, multiply naively.
// The kernels under test gather with bounds checks; the oracle scatters through padded buffers.

interface ConvCase {
  name: string;
  xShape: number[];
  wShape: number[];
  attrs: Conv2DAttrs;
}

function describeCase(xShape: number[], wShape: number[], a: Conv2DAttrs): string {
  return `x [${xShape}] w [${wShape}] strides [${a.strides}] dilations [${a.dilations}] pads [${a.pads}] groups ${a.groups}`;
}

/** Geometry shared by the oracle's three functions. */
function geometry(c: ConvCase) {
  const [N, H, W, Cin] = c.xShape;
  const [KH, KW, Cg, Cout] = c.wShape;
  const [pt, pb, pl, pr] = c.attrs.pads;
  const OH = windowOutSize(H, KH, c.attrs.strides[0], c.attrs.dilations[0], pt, pb);
  const OW = windowOutSize(W, KW, c.attrs.strides[1], c.attrs.dilations[1], pl, pr);
  const [sh, sw] = c.attrs.strides;
  const [dh, dw] = c.attrs.dilations;
  return { N, H, W, Cin, KH, KW, Cg, Cout, pt, pl, sh, sw, dh, dw, Hp: H + pt + pb, Wp: W + pl + pr, OH, OW, G: c.attrs.groups, CoutG: Cout / c.attrs.groups };
}
type Geometry = ReturnType<typeof geometry>;

/** Padded-input index of im2col row r = (n, oh, ow), column q = (kh, kw, ci), in group g. */
function patchIndex(gm: Geometry, r: number, q: number, g: number): number {
  const { Cin, KW, Cg, Hp, Wp, OH, OW, sh, sw, dh, dw } = gm;
  const n = Math.floor(r / (OH * OW));
  const oh = Math.floor(r / OW) % OH;
  const ow = r % OW;
  const ci = q % Cg;
  const kw = Math.floor(q / Cg) % KW;
  const kh = Math.floor(q / (Cg * KW));
  const ih = oh * sh + kh * dh; // padded coordinates: every tap is in range, no bounds checks
  const iw = ow * sw + kw * dw;
  return ((n * Hp + ih) * Wp + iw) * Cin + g * Cg + ci;
}

function padded(c: ConvCase, x: Float64Array): Float64Array {
  const { N, H, W, Cin, pt, pl, Hp, Wp } = geometry(c);
  const xp = new Float64Array(N * Hp * Wp * Cin);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let ch = 0; ch < Cin; ch++) xp[((n * Hp + i + pt) * Wp + j + pl) * Cin + ch] = x[((n * H + i) * W + j) * Cin + ch];
  return xp;
}

/** y = im2col(xp)_g @ w_g per group, written to the group's output channels. */
function oracleConv(c: ConvCase, x: Float64Array, w: Float64Array, bias?: Float64Array): Float64Array {
  const gm = geometry(c);
  const { N, KH, KW, Cg, Cout, OH, OW, G, CoutG } = gm;
  const xp = padded(c, x);
  const rows = N * OH * OW;
  const K = KH * KW * Cg;
  const y = new Float64Array(rows * Cout);
  for (let g = 0; g < G; g++)
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < CoutG; j++) {
        const o = g * CoutG + j;
        let s = bias ? bias[o] : 0;
        for (let q = 0; q < K; q++) s += xp[patchIndex(gm, r, q, g)] * w[q * Cout + o];
        y[r * Cout + o] = s;
      }
  return y;
}

/** dx = col2im(dy_g @ w_g^T): scatter into the padded buffer, then crop the padding away. */
function oracleBackwardData(c: ConvCase, dy: Float64Array, w: Float64Array): Float64Array {
  const gm = geometry(c);
  const { N, H, W, Cin, KH, KW, Cg, Cout, pt, pl, Hp, Wp, OH, OW, G, CoutG } = gm;
  const rows = N * OH * OW;
  const K = KH * KW * Cg;
  const dxp = new Float64Array(N * Hp * Wp * Cin);
  for (let g = 0; g < G; g++)
    for (let r = 0; r < rows; r++)
      for (let q = 0; q < K; q++) {
        let s = 0;
        for (let j = 0; j < CoutG; j++) s += dy[r * Cout + g * CoutG + j] * w[q * Cout + g * CoutG + j];
        dxp[patchIndex(gm, r, q, g)] += s;
      }
  const dx = new Float64Array(N * H * W * Cin);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let ch = 0; ch < Cin; ch++) dx[((n * H + i) * W + j) * Cin + ch] = dxp[((n * Hp + i + pt) * Wp + j + pl) * Cin + ch];
  return dx;
}

/** dw_g = im2col(xp)_g^T @ dy_g. */
function oracleBackwardFilter(c: ConvCase, x: Float64Array, dy: Float64Array): Float64Array {
  const gm = geometry(c);
  const { N, KH, KW, Cg, Cout, OH, OW, G, CoutG } = gm;
  const xp = padded(c, x);
  const rows = N * OH * OW;
  const K = KH * KW * Cg;
  const dw = new Float64Array(K * Cout);
  for (let g = 0; g < G; g++)
    for (let q = 0; q < K; q++)
      for (let j = 0; j < CoutG; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += xp[patchIndex(gm, r, q, g)] * dy[r * Cout + g * CoutG + j];
        dw[q * Cout + g * CoutG + j] = s;
      }
  return dw;
}

// ---------------------------------------------------------------------------------------------
// Cases: named awkward ones, then seeded random ones.

function named(name: string, xShape: number[], wShape: number[], a: Partial<Conv2DAttrs>): ConvCase {
  return { name, xShape, wShape, attrs: attrsOf(a) };
}

const NAMED: ConvCase[] = [
  named('1x1 image, 3x3 kernel, same padding', [1, 1, 1, 3], [3, 3, 3, 2], { pads: [1, 1, 1, 1] }),
  named('kernel larger than the input, asymmetric padding', [2, 2, 3, 1], [4, 5, 1, 3], { pads: [2, 1, 1, 3] }),
  named('stride larger than the kernel', [1, 7, 8, 3], [2, 1, 3, 2], { strides: [4, 3] }),
  named('1x1 kernel, stride 3', [2, 5, 5, 5], [1, 1, 5, 3], { strides: [3, 3] }),
  named('dilation 3 with padding', [1, 9, 8, 2], [3, 2, 2, 2], { dilations: [3, 3], pads: [2, 3, 3, 0] }),
  named('depthwise, multiplier 2', [2, 5, 4, 3], [3, 3, 1, 6], { groups: 3, pads: [1, 1, 1, 1] }),
  named('depthwise, multiplier 1, strided', [1, 6, 6, 5], [3, 3, 1, 5], { groups: 5, strides: [2, 2], pads: [0, 1, 0, 1] }),
  named('grouped, 2 groups', [1, 5, 5, 6], [2, 3, 3, 4], { groups: 2, strides: [1, 2], pads: [0, 1, 1, 1] }),
  named('grouped, 3 groups, dilation 2', [2, 7, 6, 6], [3, 2, 2, 9], { groups: 3, dilations: [2, 2], pads: [1, 0, 2, 1] }),
  named('input that does not tile (stride 2, valid)', [1, 6, 7, 2], [3, 3, 2, 2], { strides: [2, 2] }),
];

/** [Cin, groups] pairs with groups dividing Cin: plain, grouped and depthwise. */
const CHANNEL_GROUPS = [[1, 1], [3, 1], [3, 3], [5, 1], [5, 5], [6, 2], [6, 3]] as const;

function randomCase(rng: Rng, index: number): ConvCase {
  for (;;) {
    const [Cin, groups] = rng.pick(CHANNEL_GROUPS);
    const Cout = groups * rng.pick([1, 2, 3]);
    const xShape = [rng.int(1, 2), rng.pick([1, 2, 3, 5, 7]), rng.pick([1, 2, 4, 6]), Cin];
    const wShape = [rng.int(1, 4), rng.int(1, 4), Cin / groups, Cout];
    const attrs: Conv2DAttrs = {
      strides: [rng.int(1, 4), rng.int(1, 4)],
      dilations: [rng.pick([1, 1, 2, 3]), rng.pick([1, 1, 2, 3])],
      pads: [rng.int(0, 3), rng.int(0, 3), rng.int(0, 3), rng.int(0, 3)],
      groups,
    };
    const OH = windowOutSize(xShape[1], wShape[0], attrs.strides[0], attrs.dilations[0], attrs.pads[0], attrs.pads[1]);
    const OW = windowOutSize(xShape[2], wShape[1], attrs.strides[1], attrs.dilations[1], attrs.pads[2], attrs.pads[3]);
    if (OH >= 1 && OW >= 1) return { name: `random #${index}`, xShape, wShape, attrs };
  }
}

const rng = new Rng(2024);
const CASES: ConvCase[] = [...NAMED, ...Array.from({ length: 40 }, (_, i) => randomCase(rng, i))];

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function maxOf(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, xs[i]);
  return m;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const abs = (a: Float64Array): Float64Array => a.map(Math.abs);

describe('conv2d: reference vs an independent im2col oracle (float64)', () => {
  CASES.forEach((c, idx) => {
    const what = `${c.name}: ${describeCase(c.xShape, c.wShape, c.attrs)}`;
    it(what, () => {
      const { OH, OW, N, Cout, KH, KW, Cg, CoutG } = geometry(c);
      const yShape = [N, OH, OW, Cout];
      const x = uniformF64(sizeOf(c.xShape), 100 + idx);
      const w = uniformF64(sizeOf(c.wShape), 200 + idx);
      const bias = uniformF64(Cout, 300 + idx);
      const dy = uniformF64(sizeOf(yShape), 400 + idx);

      // Each side sums n terms in its own order: |ref - oracle| <= 2 n eps64 sum|terms|, and the oracle run on
      // absolute values gives sum|terms| (bounded here by its maximum over the output).
      const y = conv2d({ data: x, shape: c.xShape }, { data: w, shape: c.wShape }, c.attrs, { data: bias, shape: [Cout] });
      expect(y.shape).toEqual(yShape);
      const nFwd = KH * KW * Cg + 1;
      assertClose(y.data, oracleConv(c, x, w, bias), {
        atol: 2 * nFwd * EPS64 * maxOf(oracleConv(c, abs(x), abs(w), abs(bias))),
        what: `conv2d ${what}`,
      });

      const dx = conv2dBackwardData({ data: dy, shape: yShape }, { data: w, shape: c.wShape }, c.xShape, c.attrs);
      expect(dx.shape).toEqual(c.xShape);
      const nData = KH * KW * CoutG;
      assertClose(dx.data, oracleBackwardData(c, dy, w), {
        atol: 2 * nData * EPS64 * maxOf(oracleBackwardData(c, abs(dy), abs(w))),
        what: `conv2dBackwardData ${what}`,
      });

      const dw = conv2dBackwardFilter({ data: x, shape: c.xShape }, { data: dy, shape: yShape }, c.wShape, c.attrs);
      expect(dw.shape).toEqual(c.wShape);
      const nFilter = N * OH * OW;
      assertClose(dw.data, oracleBackwardFilter(c, x, dy), {
        atol: 2 * nFilter * EPS64 * maxOf(oracleBackwardFilter(c, abs(x), abs(dy))),
        what: `conv2dBackwardFilter ${what}`,
      });
    });
  });
});

describe('conv2d: adjoint identity <conv(x, w), dy> = <x, dData(dy, w)> = <w, dFilter(x, dy)> (float64)', () => {
  CASES.forEach((c, idx) => {
    const what = `${c.name}: ${describeCase(c.xShape, c.wShape, c.attrs)}`;
    it(what, () => {
      const { OH, OW, N, Cout, KH, KW, Cg, CoutG } = geometry(c);
      const yShape = [N, OH, OW, Cout];
      const x = uniformF64(sizeOf(c.xShape), 500 + idx);
      const w = uniformF64(sizeOf(c.wShape), 600 + idx);
      const dy = uniformF64(sizeOf(yShape), 700 + idx);
      const X = { data: x, shape: c.xShape };
      const Wt = { data: w, shape: c.wShape };
      const DY = { data: dy, shape: yShape };
      const viaY = dot(conv2d(X, Wt, c.attrs).data, dy);
      const viaX = dot(x, conv2dBackwardData(DY, Wt, c.xShape, c.attrs).data);
      const viaW = dot(w, conv2dBackwardFilter(X, DY, c.wShape, c.attrs).data);
      // All three sum the same triple products x*w*dy in different orders, each through an inner reduction
      // then an outer dot: |difference| <= 2 (nInner + nOuter) eps64 S, S = sum|x w dy| = <conv(|x|,|w|), |dy|>.
      const S = dot(conv2d({ data: abs(x), shape: c.xShape }, { data: abs(w), shape: c.wShape }, c.attrs).data, abs(dy));
      const nInner = Math.max(KH * KW * Cg, KH * KW * CoutG, N * OH * OW);
      const nOuter = Math.max(sizeOf(yShape), x.length, w.length);
      const tol = 2 * (nInner + nOuter) * EPS64 * S;
      expect(Math.abs(viaY - viaX), `<y,dy> vs <x,dx>: ${what}`).toBeLessThanOrEqual(tol);
      expect(Math.abs(viaY - viaW), `<y,dy> vs <w,dw>: ${what}`).toBeLessThanOrEqual(tol);
    });
  });
});
