/**
 * The course's worked examples, end to end through `ops`, exact; and the output-size formulas
 * (by the shape helpers and by running the ops on zero tensors where that is cheap).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { fromFlat, image, kernel, padNHWC, random, rows, zeros } from './fixtures.js';

beforeAll(() => setBackend('reference'));

const VERTICAL_EDGE = [[1, 0, -1], [1, 0, -1], [1, 0, -1]];

describe('course worked examples (exact)', () => {
  const A = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5], [4, 3, 1, 2, 5], [4, 5, 2, 1, 3]];

  it("5x5 with a plus-shaped kernel, 'valid' -> 3x3 with top-left 16", () => {
    const y = ops.conv2d(image(A), kernel([[0, 1, 0], [1, 1, 1], [0, 1, 0]]));
    expect(y.shape).toEqual([1, 3, 3, 1]);
    expect(rows(y)).toEqual([[16, 15, 14], [13, 13, 16], [15, 11, 13]]);
  });

  it('max pool 3x3 stride 1 of the same image', () => {
    const y = ops.maxPool2d(image(A), { poolSize: 3, strides: 1 });
    expect(rows(y)).toEqual([[5, 4, 5], [5, 4, 5], [5, 5, 5]]);
  });

  it('average pool 3x3 stride 1: top-left is float32(24/9)', () => {
    const y = ops.avgPool2d(image(A), { poolSize: 3, strides: 1 });
    expect(y.shape).toEqual([1, 3, 3, 1]);
    expect(y.data[0]).toBe(Math.fround(24 / 9));
    const sums = [24, 27, 30, 26, 24, 26, 25, 23, 26];
    expect(Array.from(y.data)).toEqual(sums.map((s) => Math.fround(s / 9)));
  });

  it('6x6 with the vertical-edge kernel -> 4x4, top-left -5', () => {
    const B = [[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3], [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]];
    const y = ops.conv2d(image(B), kernel(VERTICAL_EDGE));
    expect(rows(y)).toEqual([[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]);
  });

  it('5x5 with the vertical-edge kernel -> 3x3, top-left 6', () => {
    const C = [[7, 2, 3, 3, 8], [4, 5, 3, 8, 4], [3, 3, 2, 8, 4], [2, 8, 7, 2, 7], [5, 4, 4, 5, 4]];
    const y = ops.conv2d(image(C), kernel(VERTICAL_EDGE));
    expect(rows(y)).toEqual([[6, -9, -8], [-3, -2, -3], [-3, 0, -2]]);
  });

  it("sharpen with padding [[1,1],[1,1]] and with 'same' -> 5x5, top-left 114", () => {
    const S = [[60, 113, 56, 139, 85], [73, 121, 54, 84, 128], [131, 99, 70, 129, 127], [80, 57, 115, 69, 134], [104, 126, 123, 95, 130]];
    const k = kernel([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]);
    const expected = [
      [114, 328, -26, 470, 158], [53, 266, -61, -30, 344], [403, 116, -47, 295, 244],
      [108, -135, 256, -128, 344], [314, 346, 279, 153, 421],
    ];
    expect(rows(ops.conv2d(image(S), k, { padding: [[1, 1], [1, 1]] }))).toEqual(expected);
    expect(rows(ops.conv2d(image(S), k, { padding: 'same' }))).toEqual(expected);
  });

  it('5x5 with [[0,1,-4],[0,2,0],[-1,4,3]] -> top-left 5', () => {
    const D = [[0, 2, 1, 0, 1], [0, 1, 2, 1, 0], [1, 0, 2, 0, 0], [1, 0, 0, 1, 1], [0, 1, 1, 2, 2]];
    const y = ops.conv2d(image(D), kernel([[0, 1, -4], [0, 2, 0], [-1, 4, 3]]));
    expect(rows(y)).toEqual([[5, 13, -4], [-8, 5, 8], [-1, 11, 15]]);
  });

  it('3x3 with a 2x2 kernel (d2l cross-correlation) -> [[19,25],[37,43]]', () => {
    const y = ops.conv2d(image([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), kernel([[0, 1], [2, 3]]));
    expect(rows(y)).toEqual([[19, 25], [37, 43]]);
  });

  it('max pool 2x2 stride 2 -> [[100,184],[12,45]]', () => {
    const y = ops.maxPool2d(image([[29, 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]), { poolSize: 2, strides: 2 });
    expect(rows(y)).toEqual([[100, 184], [12, 45]]);
  });

  it('average pool 2x2 stride 2 -> [[36.5,80],[12,15]] (strides default to the pool size)', () => {
    const x = image([[31, 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]);
    expect(rows(ops.avgPool2d(x, { poolSize: 2, strides: 2 }))).toEqual([[36.5, 80], [12, 15]]);
    expect(rows(ops.avgPool2d(x, { poolSize: 2 }))).toEqual([[36.5, 80], [12, 15]]);
    expect(rows(ops.avgPool2d(x))).toEqual([[36.5, 80], [12, 15]]); // Keras default poolSize 2
  });
});

describe('output-size formulas', () => {
  it('7x7 input, 3x3 kernel: stride 1 -> 5, 2 -> 3, 3 -> 2; same stride 1 keeps 7', () => {
    for (const [s, out] of [[1, 5], [2, 3], [3, 2]]) {
      expect(ops.convOutputLength(7, 3, { stride: s })).toBe(out);
      expect(ops.convOutputShape([7, 7, 1], 3, 1, { strides: s })).toEqual([out, out, 1]);
      expect(ops.conv2d(zeros([1, 7, 7, 1]), zeros([3, 3, 1, 1]), { strides: s }).shape).toEqual([1, out, out, 1]);
    }
    expect(ops.convOutputLength(7, 3, { padding: 'same' })).toBe(7);
    expect(ops.conv2d(zeros([1, 7, 7, 1]), zeros([3, 3, 1, 1]), { padding: 'same' }).shape).toEqual([1, 7, 7, 1]);
  });

  it("32x32 through two 5x5 'valid' convs -> 28 then 24", () => {
    const s1 = ops.convOutputShape([null, 32, 32, 3], 5, 6);
    expect(s1).toEqual([null, 28, 28, 6]);
    expect(ops.convOutputShape(s1, 5, 16)).toEqual([null, 24, 24, 16]);
    const y1 = ops.conv2d(zeros([1, 32, 32, 3]), zeros([5, 5, 3, 6]));
    const y2 = ops.conv2d(y1, zeros([5, 5, 6, 16]));
    expect([y1.shape, y2.shape]).toEqual([[1, 28, 28, 6], [1, 24, 24, 16]]);
  });

  it('AlexNet conv1: 224x224x3, 96 11x11 filters stride 4 -> 54x54x96; 3x3 max pool stride 2 -> 26x26x96', () => {
    const c = ops.convOutputShape([224, 224, 3], 11, 96, { strides: 4 });
    expect(c).toEqual([54, 54, 96]);
    expect(ops.poolOutputShape(c, 3, { strides: 2 })).toEqual([26, 26, 96]);
    const y = ops.conv2d(zeros([1, 224, 224, 3]), zeros([11, 11, 3, 96]), { strides: 4 });
    expect(y.shape).toEqual([1, 54, 54, 96]);
    expect(ops.maxPool2d(y, { poolSize: 3, strides: 2 }).shape).toEqual([1, 26, 26, 96]);
  });

  it('a 3x3 kernel with dilation 2 sees a 5x5 window: 7x7 valid -> 3x3, equal to the zero-stuffed 5x5 kernel', () => {
    expect(ops.convOutputLength(7, 3, { dilation: 2 })).toBe(3);
    const x = random([1, 7, 7, 1], 11);
    const k = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
    const y = ops.conv2d(x, kernel(k), { dilation: 2 });
    expect(y.shape).toEqual([1, 3, 3, 1]);
    const stuffed = [[1, 0, 2, 0, 3], [0, 0, 0, 0, 0], [4, 0, 5, 0, 6], [0, 0, 0, 0, 0], [7, 0, 8, 0, 9]];
    expect(Array.from(y.data)).toEqual(Array.from(ops.conv2d(x, kernel(stuffed)).data));
  });

  it("'same' pads as TensorFlow: the odd row/column goes after", () => {
    expect(ops.samePads(6, 3, 2)).toEqual([0, 1]);
    expect(ops.samePads(7, 3, 2)).toEqual([1, 1]);
    expect(ops.samePads(5, 4, 2)).toEqual([1, 2]);
    expect(ops.samePads(6, 4, 2)).toEqual([1, 1]);
    expect(ops.samePads(5, 3, 1, 2)).toEqual([2, 2]);
    expect(ops.samePads(4, 1, 2)).toEqual([0, 0]);
  });

  it("'same' with stride 2 on even and odd sizes equals a hand-padded 'valid' conv", () => {
    // [H, W, k, top, bottom, left, right] from out = ceil(in/s), total = max((out-1)*s + k - in, 0), before = floor(total/2).
    const cases: [number, number, number, number, number, number, number][] = [
      [6, 7, 3, 0, 1, 1, 1],
      [5, 6, 4, 1, 2, 1, 1],
      [4, 4, 2, 0, 0, 0, 0],
      [5, 5, 5, 2, 2, 2, 2],
    ];
    for (const [h, w, k, t, b, l, r] of cases) {
      const x = random([2, h, w, 3], h * 10 + w);
      const wt = random([k, k, 3, 2], k);
      const same = ops.conv2d(x, wt, { strides: 2, padding: 'same' });
      expect(same.shape).toEqual([2, Math.ceil(h / 2), Math.ceil(w / 2), 2]);
      const valid = ops.conv2d(padNHWC(x, t, b, l, r), wt, { strides: 2 });
      expect(Array.from(same.data), `${h}x${w} k${k}`).toEqual(Array.from(valid.data));
      // Max pooling 'same' pads with values that never win: compare with -Infinity padding by hand.
      const mp = ops.maxPool2d(x, { poolSize: k, strides: 2, padding: 'same' });
      const padded = padNHWC(x, t, b, l, r);
      const neg = padded.data.map((v, i) => (isInterior(i, padded.shape, t, b, l, r) ? v : -Infinity));
      const mpValid = ops.maxPool2d(fromFlat(neg, padded.shape), { poolSize: k, strides: 2 });
      expect(Array.from(mp.data)).toEqual(Array.from(mpValid.data));
    }
  });

  it('avg pool with padding divides by the in-bounds count (TensorFlow, not count_include_pad)', () => {
    const x = image([[1, 2], [3, 4]]);
    const y = ops.avgPool2d(x, { poolSize: 2, strides: 1, padding: 'same' });
    // Windows: full, right edge (2,4), bottom edge (3,4), corner (4).
    expect(rows(y)).toEqual([[2.5, 3], [3.5, 4]]);
  });
});

/** Whether flat index i of a padded NHWC shape is an original (not padding) pixel. */
function isInterior(i: number, shape: readonly number[], t: number, b: number, l: number, r: number): boolean {
  const [, H, W, C] = shape;
  const pix = Math.floor(i / C);
  const col = pix % W;
  const row = Math.floor(pix / W) % H;
  return row >= t && row < H - b && col >= l && col < W - r;
}
