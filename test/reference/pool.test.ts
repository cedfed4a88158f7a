/**
 * Reference pooling: the course's worked examples as exact unit tests, the padding rules (padded positions
 * never win, averages divide by the in-bounds count), tie-breaking, an independent padded-buffer oracle over
 * random shapes and attributes, the avg-pool adjoint identity, and float32 in / float32 out.
 */
import { describe, expect, it } from 'vitest';
import {
  avgPool2d, avgPool2dBackward, globalPool2d, globalPool2dBackward, maxPool2d, maxPool2dBackward,
} from '../../src/backends/reference/pool.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { FloatArray, KTensor, Pool2DAttrs } from '../../src/backends/backend.js';
import { assertClose, EPS64 } from '../helpers/close.js';
import { Rng, uniformF64 } from '../helpers/random.js';

/** float64 unit roundoff. */

type F64 = KTensor<Float64Array>;

function poolAttrs(poolSize: [number, number], strides: [number, number], pads: [number, number, number, number] = [0, 0, 0, 0]): Pool2DAttrs {
  return { poolSize, strides, pads };
}

function image(rows: number[][], Ctor: new (xs: number[]) => FloatArray): KTensor<FloatArray> {
  return { data: new Ctor(rows.flat()), shape: [1, rows.length, rows[0].length, 1] };
}

function rowsOf(y: KTensor): number[][] {
  const [, OH, OW] = y.shape;
  return Array.from({ length: OH }, (_, i) => Array.from(y.data.subarray(i * OW, (i + 1) * OW)));
}

const ARRAY_TYPES = [
  ['float64', Float64Array],
  ['float32', Float32Array],
] as const;

const FIVE = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5], [4, 3, 1, 2, 5], [4, 5, 2, 1, 3]];

describe('pooling: worked examples', () => {
  for (const [dtype, Ctor] of ARRAY_TYPES) {
    it(`max pool 3x3 stride 1 of the 5x5 example (${dtype})`, () => {
      const y = maxPool2d(image(FIVE, Ctor), poolAttrs([3, 3], [1, 1]));
      expect(y.data).toBeInstanceOf(Ctor);
      expect(rowsOf(y)).toEqual([[5, 4, 5], [5, 4, 5], [5, 5, 5]]);
    });

    it(`average pool 3x3 stride 1 of the 5x5 example (${dtype})`, () => {
      const y = avgPool2d(image(FIVE, Ctor), poolAttrs([3, 3], [1, 1]));
      expect(y.data).toBeInstanceOf(Ctor);
      // Window sums, hand-checked: top left 1+2+3 + 5+4+3 + 1+2+3 = 24. One rounded division each: exact match.
      const sums = [[24, 27, 30], [26, 24, 26], [25, 23, 26]];
      expect(rowsOf(y)).toEqual(sums.map((r) => Array.from(new Ctor(r.map((s) => s / 9)))));
      expect(y.data[0]).toBe(Ctor === Float64Array ? 24 / 9 : Math.fround(24 / 9));
    });

    it(`max pool 2x2 stride 2 (${dtype})`, () => {
      const x = [[29, 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]];
      expect(rowsOf(maxPool2d(image(x, Ctor), poolAttrs([2, 2], [2, 2])))).toEqual([[100, 184], [12, 45]]);
    });

    it(`average pool 2x2 stride 2 (${dtype})`, () => {
      const x = [[31, 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]];
      expect(rowsOf(avgPool2d(image(x, Ctor), poolAttrs([2, 2], [2, 2])))).toEqual([[36.5, 80], [12, 15]]);
    });
  }
});

describe('pooling: padding, ties and edge behaviour', () => {
  it('padded positions never win a max (all-negative input)', () => {
    const x = image([[-3, -1], [-2, -4]], Float64Array);
    const y = maxPool2d(x, poolAttrs([3, 3], [1, 1], [1, 1, 1, 1]));
    expect(rowsOf(y)).toEqual([[-1, -1], [-1, -1]]);
  });

  it('average pool divides by the in-bounds count (same padding on ones gives ones)', () => {
    const x = image([[1, 1, 1], [1, 1, 1]], Float64Array);
    const y = avgPool2d(x, poolAttrs([3, 3], [1, 1], [1, 1, 1, 1]));
    expect(rowsOf(y)).toEqual([[1, 1, 1], [1, 1, 1]]);
    // Corner window sees 2x2 in-bounds pixels: its gradient 1 is shared by 4, not 9.
    const dy: F64 = { data: new Float64Array([1, 0, 0, 0, 0, 0]), shape: [1, 2, 3, 1] };
    expect(rowsOf(avgPool2dBackward(dy, x.shape, poolAttrs([3, 3], [1, 1], [1, 1, 1, 1])))).toEqual([[0.25, 0.25, 0], [0.25, 0.25, 0]]);
  });

  it('ties: the first maximum in row-major window order takes the gradient', () => {
    const x = image([[7, 7], [7, 7]], Float64Array);
    const dy: F64 = { data: new Float64Array([3]), shape: [1, 1, 1, 1] };
    expect(rowsOf(maxPool2dBackward(dy, x, poolAttrs([2, 2], [2, 2])))).toEqual([[3, 0], [0, 0]]);
    const g = globalPool2dBackward({ data: new Float64Array([3]), shape: [1, 1] }, x, 'max');
    expect(Array.from(g.data)).toEqual([3, 0, 0, 0]);
  });

  it('overlapping windows sum their gradients at a shared maximum', () => {
    const x = image([[0, 1, 0], [0, 9, 0], [0, 0, 0]], Float64Array);
    const dy: F64 = { data: new Float64Array([1, 2, 3, 4]), shape: [1, 2, 2, 1] };
    expect(rowsOf(maxPool2dBackward(dy, x, poolAttrs([2, 2], [1, 1])))).toEqual([[0, 0, 0], [0, 10, 0], [0, 0, 0]]);
  });

  it('NaN propagates through max pooling', () => {
    const x = image([[1, NaN], [5, 2]], Float64Array);
    expect(Number.isNaN(maxPool2d(x, poolAttrs([2, 2], [1, 1])).data[0])).toBe(true);
    expect(Number.isNaN(globalPool2d(x, 'max').data[0])).toBe(true);
  });

  it('a window entirely in padding (pad >= pool size, rejected by the ops layer) gives 0 and no gradient', () => {
    const x = image([[-5, -6], [-7, -8]], Float64Array);
    const a = poolAttrs([1, 1], [1, 1], [1, 0, 0, 0]); // the first output row reads only padding
    expect(rowsOf(maxPool2d(x, a))).toEqual([[0, 0], [-5, -6], [-7, -8]]);
    expect(rowsOf(avgPool2d(x, a))).toEqual([[0, 0], [-5, -6], [-7, -8]]);
    const dy: F64 = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [1, 3, 2, 1] };
    expect(rowsOf(maxPool2dBackward(dy, x, a))).toEqual([[3, 4], [5, 6]]);
    expect(rowsOf(avgPool2dBackward(dy, x.shape, a))).toEqual([[3, 4], [5, 6]]);
  });

  it('avg backward gives zero to pixels no window reads (stride 3 skips a column)', () => {
    const x = image([[1, 2, 3, 4, 5]], Float64Array);
    const a = poolAttrs([1, 2], [1, 3]);
    const dy: F64 = { data: new Float64Array([2, 4]), shape: [1, 1, 2, 1] };
    expect(rowsOf(avgPool2dBackward(dy, x.shape, a))).toEqual([[1, 1, 0, 2, 2]]);
    expect(rowsOf(maxPool2dBackward(dy, x, a))).toEqual([[0, 2, 0, 0, 4]]);
  });
});

// ---------------------------------------------------------------------------------------------
// Independent oracle: copy x into a buffer padded with NaN markers, then scan whole windows. The kernels
// under test clip window ranges instead.

interface PoolCase {
  name: string;
  xShape: number[];
  attrs: Pool2DAttrs;
}

function describeCase(c: PoolCase): string {
  return `${c.name}: x [${c.xShape}] pool [${c.attrs.poolSize}] strides [${c.attrs.strides}] pads [${c.attrs.pads}]`;
}

function outShapeOf(c: PoolCase): number[] {
  const [N, H, W, C] = c.xShape;
  const [pt, pb, pl, pr] = c.attrs.pads;
  return [N, windowOutSize(H, c.attrs.poolSize[0], c.attrs.strides[0], 1, pt, pb), windowOutSize(W, c.attrs.poolSize[1], c.attrs.strides[1], 1, pl, pr), C];
}

/**
 * Visits, for every output element, its window as padded-buffer indices; calls visit(yIndex, pIndex)
 * for in-bounds pixels only (padding holds NaN markers), and returns the padded buffer of x.
 */
function scanWindows(c: PoolCase, x: Float64Array, visit: (yi: number, pi: number, xp: Float64Array) => void): Float64Array {
  const [N, H, W, C] = c.xShape;
  const [pt, pb, pl, pr] = c.attrs.pads;
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const xp = new Float64Array(N * Hp * Wp * C).fill(NaN);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let ch = 0; ch < C; ch++) xp[((n * Hp + i + pt) * Wp + j + pl) * C + ch] = x[((n * H + i) * W + j) * C + ch];
  const [, OH, OW] = outShapeOf(c);
  let yi = 0;
  for (let n = 0; n < N; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let ch = 0; ch < C; ch++, yi++)
          for (let a = 0; a < c.attrs.poolSize[0]; a++)
            for (let b = 0; b < c.attrs.poolSize[1]; b++) {
              const pi = ((n * Hp + oh * c.attrs.strides[0] + a) * Wp + ow * c.attrs.strides[1] + b) * C + ch;
              if (!Number.isNaN(xp[pi])) visit(yi, pi, xp);
            }
  return xp;
}

/** Padded-buffer index -> x index (the inverse of the copy in scanWindows). */
function unpadIndex(c: PoolCase, pi: number): number {
  const [, H, W, C] = c.xShape;
  const [pt, pb, pl, pr] = c.attrs.pads;
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const ch = pi % C;
  const j = Math.floor(pi / C) % Wp;
  const i = Math.floor(pi / (C * Wp)) % Hp;
  const n = Math.floor(pi / (C * Wp * Hp));
  return ((n * H + i - pt) * W + j - pl) * C + ch;
}

function oracle(c: PoolCase, x: Float64Array, dy: Float64Array) {
  const ny = outShapeOf(c).reduce((a, b) => a * b, 1);
  const max = new Float64Array(ny).fill(-Infinity);
  const arg = new Int32Array(ny).fill(-1);
  const sum = new Float64Array(ny);
  const sumAbs = new Float64Array(ny);
  const count = new Int32Array(ny);
  scanWindows(c, x, (yi, pi, xp) => {
    if (xp[pi] > max[yi]) { max[yi] = xp[pi]; arg[yi] = pi; } // strict: the first maximum stays
    sum[yi] += xp[pi];
    sumAbs[yi] += Math.abs(xp[pi]);
    count[yi]++;
  });
  const avg = sum.map((s, i) => s / count[i]);
  const avgAbs = sumAbs.map((s, i) => s / count[i]);
  const dMax = new Float64Array(x.length);
  arg.forEach((pi, yi) => { dMax[unpadIndex(c, pi)] += dy[yi]; });
  const dAvg = new Float64Array(x.length);
  const dAvgAbs = new Float64Array(x.length);
  scanWindows(c, x, (yi, pi) => {
    dAvg[unpadIndex(c, pi)] += dy[yi] / count[yi];
    dAvgAbs[unpadIndex(c, pi)] += Math.abs(dy[yi]) / count[yi];
  });
  return { max, avg, avgAbs, dMax, dAvg, dAvgAbs };
}

const NAMED: PoolCase[] = [
  { name: '1x1 image, 3x3 pool, same padding', xShape: [2, 1, 1, 3], attrs: poolAttrs([3, 3], [1, 1], [1, 1, 1, 1]) },
  { name: 'stride larger than the pool', xShape: [1, 7, 8, 3], attrs: poolAttrs([2, 1], [3, 4]) },
  { name: 'asymmetric padding, overlapping windows', xShape: [2, 5, 4, 5], attrs: poolAttrs([3, 2], [2, 1], [2, 0, 1, 1]) },
  { name: 'pool larger than the input with padding', xShape: [1, 2, 3, 1], attrs: poolAttrs([4, 4], [1, 2], [3, 3, 1, 2]) },
  { name: 'input that does not tile', xShape: [1, 7, 6, 2], attrs: poolAttrs([2, 2], [2, 2]) },
];

function randomCase(rng: Rng, index: number): PoolCase {
  for (;;) {
    const KH = rng.int(1, 4);
    const KW = rng.int(1, 4);
    const c: PoolCase = {
      name: `random #${index}`,
      xShape: [rng.int(1, 2), rng.pick([1, 2, 3, 5, 7]), rng.pick([1, 2, 4, 6]), rng.pick([1, 3, 5])],
      // Pads below the pool size, as the ops layer guarantees.
      attrs: poolAttrs([KH, KW], [rng.int(1, 4), rng.int(1, 4)], [rng.int(0, KH - 1), rng.int(0, KH - 1), rng.int(0, KW - 1), rng.int(0, KW - 1)]),
    };
    const [, OH, OW] = outShapeOf(c);
    if (OH >= 1 && OW >= 1) return c;
  }
}

const rng = new Rng(77);
const CASES: PoolCase[] = [...NAMED, ...Array.from({ length: 40 }, (_, i) => randomCase(rng, i))];

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

describe('pooling: reference vs an independent padded-buffer oracle (float64)', () => {
  CASES.forEach((c, idx) => {
    const what = describeCase(c);
    it(what, () => {
      const yShape = outShapeOf(c);
      const x = uniformF64(c.xShape.reduce((a, b) => a * b, 1), 900 + idx);
      const dy = uniformF64(yShape.reduce((a, b) => a * b, 1), 1000 + idx);
      const X: F64 = { data: x, shape: c.xShape };
      const DY: F64 = { data: dy, shape: yShape };
      const o = oracle(c, x, dy);
      const n = c.attrs.poolSize[0] * c.attrs.poolSize[1];

      const ymax = maxPool2d(X, c.attrs);
      expect(ymax.shape).toEqual(yShape);
      assertClose(ymax.data, o.max, { what: `maxPool2d ${what}` }); // selection: exact
      // Scattered dy values: each dx sums at most n of them in either order (ties are absent in random data).
      assertClose(maxPool2dBackward(DY, X, c.attrs).data, o.dMax, { atol: 2 * n * EPS64 * n, what: `maxPool2dBackward ${what}` });

      const yavg = avgPool2d(X, c.attrs);
      expect(yavg.shape).toEqual(yShape);
      // n-term sums then one division: |error| <= 2 (n + 1) eps64 max(sum|x| / count).
      assertClose(yavg.data, o.avg, { atol: 2 * (n + 1) * EPS64 * maxOf(o.avgAbs), what: `avgPool2d ${what}` });
      assertClose(avgPool2dBackward(DY, c.xShape, c.attrs).data, o.dAvg, {
        atol: 2 * (n + 1) * EPS64 * maxOf(o.dAvgAbs),
        what: `avgPool2dBackward ${what}`,
      });

      // <avgPool(x), dy> = <x, avgPool2dBackward(dy)>: both sum the terms x dy / count through an n-term inner
      // sum and an outer dot, so |difference| <= 2 (n + 1 + nOuter) eps64 <|x|, dAvgAbs>.
      const nOuter = Math.max(x.length, dy.length);
      const S = dot(x.map(Math.abs), o.dAvgAbs);
      expect(
        Math.abs(dot(yavg.data, dy) - dot(x, avgPool2dBackward(DY, c.xShape, c.attrs).data)),
        `avg pool adjoint identity: ${what}`,
      ).toBeLessThanOrEqual(2 * (n + 1 + nOuter) * EPS64 * S);
    });
  });
});

describe('globalPool2d', () => {
  const shapes = [[1, 1, 1, 1], [2, 3, 4, 5], [1, 7, 2, 3], [2, 1, 6, 1]];
  shapes.forEach((xShape, idx) => {
    it(`equals a pool over the whole image, forward and backward: x [${xShape}]`, () => {
      const [N, H, W, C] = xShape;
      const x: F64 = { data: uniformF64(N * H * W * C, 1100 + idx), shape: xShape };
      const dy: F64 = { data: uniformF64(N * C, 1200 + idx), shape: [N, C] };
      const dy4: F64 = { data: dy.data, shape: [N, 1, 1, C] };
      const whole = poolAttrs([H, W], [1, 1]);
      const gmax = globalPool2d(x, 'max');
      expect(gmax.shape).toEqual([N, C]);
      expect(gmax.data).toEqual(maxPool2d(x, whole).data);
      expect(globalPool2dBackward(dy, x, 'max').data).toEqual(maxPool2dBackward(dy4, x, whole).data);
      // H*W-term sums then one division, in possibly different orders: 2 (HW + 1) eps64 max|x|-scale.
      const tolF = 2 * (H * W + 1) * EPS64 * maxOf(x.data.map(Math.abs));
      assertClose(globalPool2d(x, 'avg').data, avgPool2d(x, whole).data, { atol: tolF, what: `globalPool2d avg [${xShape}]` });
      const tolB = 2 * EPS64 * maxOf(dy.data.map(Math.abs)); // one division per element
      assertClose(globalPool2dBackward(dy, x, 'avg').data, avgPool2dBackward(dy4, xShape, whole).data, {
        atol: tolB,
        what: `globalPool2dBackward avg [${xShape}]`,
      });
    });
  });
});

describe('pooling: float32 in gives float32 out, equal to the float64 result rounded once', () => {
  it('every pooling kernel', () => {
    const xShape = [2, 5, 6, 3];
    const a = poolAttrs([3, 2], [2, 1], [1, 1, 0, 1]);
    const x32 = Float32Array.from(uniformF64(2 * 5 * 6 * 3, 1300));
    const x64 = Float64Array.from(x32);
    const X32 = { data: x32, shape: xShape };
    const X64 = { data: x64, shape: xShape };
    const yShape = maxPool2d(X64, a).shape;
    const dy32 = Float32Array.from(uniformF64(yShape.reduce((p, q) => p * q, 1), 1301));
    const DY32 = { data: dy32, shape: yShape };
    const DY64 = { data: Float64Array.from(dy32), shape: yShape };
    const g32 = { data: Float32Array.from(uniformF64(2 * 3, 1302)), shape: [2, 3] };
    const g64 = { data: Float64Array.from(g32.data), shape: [2, 3] };
    // Both dtypes accumulate the same float32-valued terms in double in the same order, then store.
    const pairs: [KTensor, KTensor][] = [
      [maxPool2d(X32, a), maxPool2d(X64, a)],
      [maxPool2dBackward(DY32, X32, a), maxPool2dBackward(DY64, X64, a)],
      [avgPool2d(X32, a), avgPool2d(X64, a)],
      [avgPool2dBackward(DY32, xShape, a), avgPool2dBackward(DY64, xShape, a)],
      [globalPool2d(X32, 'avg'), globalPool2d(X64, 'avg')],
      [globalPool2d(X32, 'max'), globalPool2d(X64, 'max')],
      [globalPool2dBackward(g32, X32, 'avg'), globalPool2dBackward(g64, X64, 'avg')],
      [globalPool2dBackward(g32, X32, 'max'), globalPool2dBackward(g64, X64, 'max')],
    ];
    for (const [r32, r64] of pairs) {
      expect(r32.data).toBeInstanceOf(Float32Array);
      expect(r32.shape).toEqual(r64.shape);
      expect(r32.data).toEqual(Float32Array.from(r64.data));
    }
  });
});
