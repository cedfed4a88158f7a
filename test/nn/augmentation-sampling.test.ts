/**
 * The image sampler behind the geometric augmentation layers (src/nn/image-sampling.ts's affineTransform), against
 * independent oracles:
 * - exact small cases worked by hand: the fill modes' documented patterns (d c b a | a b c d | ...) on a row of four
 *   pixels, at whole-pixel and half-pixel shifts, for both interpolations; 90-degree rotations with nearest;
 * - bilinear and nearest sampling under random affine and projective transforms against a plain per-pixel
 *   double-precision implementation of the documented formula, whose fill modes are written from the documented
 *   periodic patterns (not from TF's arithmetic), so the two agree only if the kernel implements the definition;
 * - the gradient: <dy, A x> = <A^T dy, x> (the op is linear in x with a zero fill), and autograd delivers A^T dy.
 * Tolerances: the kernel sums at most four float64 products and rounds once to float32, so |error| <= 2^-24 |y|
 * plus a few float64 ulps; 1e-6 absolute on values in [-1, 1] has margin.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { type FillMode, type Interpolation, affineTransform, mapCoordinate } from '../../src/nn/image-sampling.js';
import { assertClose } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { uniformF64 } from '../helpers/random.js';
import { ShapeError, ValueError } from '../../src/errors.js';

const MODES: FillMode[] = ['constant', 'nearest', 'reflect', 'wrap'];

/** A row image [1, 1, W, 1]. */
function row(values: number[]): Tensor {
  return new Tensor(Float32Array.from(values), [1, 1, values.length, 1]);
}
/** x_in = x - dx (moves the content right by dx). */
const shift = (dx: number, dy = 0): number[] => [1, 0, -dx, 0, 1, -dy, 0, 0];
const values = (t: Tensor): number[] => Array.from(t.data);

// --- the oracle ----------------------------------------------------------------------------------

/** Floored modulo: r in [0, m). */
const mod = (a: number, m: number): number => ((a % m) + m) % m;

/**
 * The documented fill modes on a continuous coordinate, written from the patterns rather than TF's code:
 * 'reflect' mirrors about the outer edges of the border pixels (-0.5 and len - 0.5), period 2 len;
 * 'wrap' repeats with period len, and a point in the gap between a copy's last and the next copy's first pixel
 * centre takes the pixel the next copy starts with when it lies right of the image, the one the previous copy ends
 * with when left of it (TF's clamp after the shift); 'nearest' clamps. Then everything is clamped to [0, len-1].
 */
function oracleMap(mode: FillMode, c: number, len: number): number {
  if (mode === 'constant') return c;
  if (len === 1) return 0;
  let r = c;
  if (mode === 'reflect') {
    const p = mod(c + 0.5, 2 * len);
    r = (p > len ? 2 * len - p : p) - 0.5;
  } else if (mode === 'wrap') {
    if (c > len - 1) {
      r = mod(c, len);
      if (r > len - 1) r -= len; // in the gap right of a copy: clamps onto the next copy's first pixel
    } else if (c < 0) {
      r = mod(c, len); // in [0, len): the gap left of a copy clamps onto the previous copy's last pixel
    }
  }
  return Math.min(Math.max(r, 0), len - 1);
}

/** Per output pixel, straight from the definition, in float64. */
function oracleWarp(
  x: Float64Array, [n, h, w, c]: number[], t: number[][], oh: number, ow: number, interp: Interpolation, mode: FillMode, fill: number,
): Float64Array {
  const out = new Float64Array(n * oh * ow * c);
  const px = (b: number, i: number, j: number, k: number): number => x[((b * h + i) * w + j) * c + k];
  for (let b = 0; b < n; b++) {
    const [a0, a1, a2, b0, b1, b2, c0, c1] = t[t.length === 1 ? 0 : b];
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const k = c0 * ox + c1 * oy + 1;
        const xs = oracleMap(mode, (a0 * ox + a1 * oy + a2) / k, w);
        const ys = oracleMap(mode, (b0 * ox + b1 * oy + b2) / k, h);
        for (let ch = 0; ch < c; ch++) {
          const o = ((b * oh + oy) * ow + ox) * c + ch;
          if (!(xs >= 0 && xs <= w - 1 && ys >= 0 && ys <= h - 1)) {
            out[o] = fill;
          } else if (interp === 'nearest') {
            out[o] = px(b, Math.floor(ys + 0.5), Math.floor(xs + 0.5), ch);
          } else {
            const x0 = Math.floor(xs), y0 = Math.floor(ys), fx = xs - x0, fy = ys - y0;
            const at = (i: number, j: number): number => (i < h && j < w ? px(b, i, j, ch) : fill);
            out[o] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
          }
        }
      }
    }
  }
  return out;
}

// --- exact cases by hand -------------------------------------------------------------------------

describe('fill modes on a row [a b c d] = [1 2 3 4]', () => {
  const abcd = row([1, 2, 3, 4]);
  const k = 9;
  const run = (t: number[], mode: FillMode, interp: Interpolation = 'nearest'): number[] =>
    values(affineTransform(abcd, [t], { fillMode: mode, interpolation: interp, fillValue: k }));

  // Expected rows read off the documented patterns: reflect (d c b a | a b c d | d c b a), wrap (a b c d | a b c d),
  // nearest (a a a a | a b c d | d d d d), constant (k k k k | a b c d | k k k k).
  const cases: Array<[string, number, Record<FillMode, number[]>]> = [
    ['right by 2', 2, { reflect: [2, 1, 1, 2], wrap: [3, 4, 1, 2], nearest: [1, 1, 1, 2], constant: [k, k, 1, 2] }],
    ['left by 2', -2, { reflect: [3, 4, 4, 3], wrap: [3, 4, 1, 2], nearest: [3, 4, 4, 4], constant: [3, 4, k, k] }],
    ['right by 5', 5, { reflect: [4, 4, 3, 2], wrap: [4, 1, 2, 3], nearest: [1, 1, 1, 1], constant: [k, k, k, k] }],
    ['left by 7', -7, { reflect: [1, 1, 2, 3], wrap: [4, 1, 2, 3], nearest: [4, 4, 4, 4], constant: [k, k, k, k] }],
    ['right by 11', 11, { reflect: [3, 2, 1, 1], wrap: [2, 3, 4, 1], nearest: [1, 1, 1, 1], constant: [k, k, k, k] }],
  ];
  for (const [what, dx, expected] of cases) {
    it(`whole-pixel shift ${what}, nearest and bilinear alike`, () => {
      for (const mode of MODES) {
        expect(run(shift(dx), mode), `${mode} nearest`).toEqual(expected[mode]);
        expect(run(shift(dx), mode, 'bilinear'), `${mode} bilinear`).toEqual(expected[mode]);
      }
    });
  }

  it('half-pixel shifts, bilinear: the border pixel itself, the fill value, or (wrap) the opposite border pixel', () => {
    // Right by 0.5: samples at -0.5, 0.5, 1.5, 2.5.
    expect(run(shift(0.5), 'constant', 'bilinear')).toEqual([k, 1.5, 2.5, 3.5]); // no blending with k at the edge
    expect(run(shift(0.5), 'nearest', 'bilinear')).toEqual([1, 1.5, 2.5, 3.5]);
    expect(run(shift(0.5), 'reflect', 'bilinear')).toEqual([1, 1.5, 2.5, 3.5]);
    expect(run(shift(0.5), 'wrap', 'bilinear')).toEqual([4, 1.5, 2.5, 3.5]);
    // Left by 0.5: samples at 0.5, 1.5, 2.5, 3.5.
    expect(run(shift(-0.5), 'constant', 'bilinear')).toEqual([1.5, 2.5, 3.5, k]);
    expect(run(shift(-0.5), 'nearest', 'bilinear')).toEqual([1.5, 2.5, 3.5, 4]);
    expect(run(shift(-0.5), 'reflect', 'bilinear')).toEqual([1.5, 2.5, 3.5, 4]);
    expect(run(shift(-0.5), 'wrap', 'bilinear')).toEqual([1.5, 2.5, 3.5, 1]);
    // Right by 1.5 into the mirror: -1.5 reflects to 0.5, -0.5 to the border pixel.
    expect(run(shift(1.5), 'reflect', 'bilinear')).toEqual([1.5, 1, 1.5, 2.5]);
    // Quarter shift: weights 0.25 / 0.75.
    expect(run(shift(0.25), 'nearest', 'bilinear')).toEqual([1, 1.75, 2.75, 3.75]);
  });

  it('nearest interpolation rounds halves up; the points exactly on the border pixel centres are inside', () => {
    expect(run(shift(-0.5), 'constant')).toEqual([2, 3, 4, k]); // 0.5 -> 1, ..., 3.5 is outside [0, 3]
    expect(run(shift(0.5), 'constant')).toEqual([k, 2, 3, 4]); // -0.5 is outside; 0.5 -> 1 (b), 1.5 -> 2 (c)
    expect(run(shift(0), 'constant', 'bilinear')).toEqual([1, 2, 3, 4]);
  });

  it('a column image follows the same rules along the height axis', () => {
    const col = new Tensor(Float32Array.from([1, 2, 3, 4]), [1, 4, 1, 1]);
    const down2 = [shift(0, 2)];
    expect(values(affineTransform(col, down2, { fillMode: 'reflect', interpolation: 'nearest' }))).toEqual([2, 1, 1, 2]);
    expect(values(affineTransform(col, down2, { fillMode: 'wrap', interpolation: 'nearest' }))).toEqual([3, 4, 1, 2]);
    expect(values(affineTransform(col, down2, { fillMode: 'constant', fillValue: -1 }))).toEqual([-1, -1, 1, 2]);
  });

  it('a single-pixel axis: every mode but constant maps any coordinate onto the pixel', () => {
    const one = row([5]);
    for (const mode of ['nearest', 'reflect', 'wrap'] as const) {
      expect(values(affineTransform(one, [shift(3.3)], { fillMode: mode }))).toEqual([5]);
      expect(mapCoordinate(mode, -7.2, 1)).toBe(0);
    }
    expect(values(affineTransform(one, [shift(0.5)], { fillMode: 'constant', fillValue: 2 }))).toEqual([2]);
  });
});

describe('mapCoordinate against the documented patterns', () => {
  it('agrees with the oracle over many periods for every mode and length', () => {
    for (const mode of MODES) {
      for (const len of [1, 2, 3, 4, 7]) {
        for (let c = -5 * len - 0.75; c <= 6 * len; c += 0.125) {
          expect(mapCoordinate(mode, c, len), `${mode} len ${len} at ${c}`).toBeCloseTo(oracleMap(mode, c, len), 12);
        }
      }
    }
  });

  it("matches TF's MapCoordinate within one period of the image, where TF's wrap arithmetic is right", () => {
    // TF: in += len * (trunc(-in / (len - 1)) + 1) for in < 0; in -= len * trunc(in / (len - 1)) for in > len - 1.
    const tfWrap = (c: number, len: number): number => {
      let v = c;
      if (v < 0) v += len * (Math.trunc(-v / (len - 1)) + 1);
      else if (v > len - 1) v -= len * Math.trunc(v / (len - 1));
      return Math.min(Math.max(v, 0), len - 1);
    };
    for (const len of [2, 4, 9]) {
      for (let c = -(len - 1) + 0.01; c < 2 * (len - 1); c += 0.05) expect(mapCoordinate('wrap', c, len)).toBeCloseTo(tfWrap(c, len), 12);
    }
    // Beyond, TF lands on the wrong pixel (7 in a row of 4 is d; TF's arithmetic gives a); here it stays periodic.
    expect(tfWrap(7, 4)).toBe(0);
    expect(mapCoordinate('wrap', 7, 4)).toBe(3);
  });
});

describe('rotations by 90 degrees with nearest interpolation are exact permutations', () => {
  // Keras' rotation about the centre ((W-1)/2, (H-1)/2) by theta: [cos, -sin, x0, sin, cos, y0, 0, 0].
  const rot = (theta: number, h: number, w: number): number[] => {
    const c = Math.cos(theta), s = Math.sin(theta);
    return [c, -s, ((w - 1) - (c * (w - 1) - s * (h - 1))) / 2, s, c, ((h - 1) - (s * (w - 1) + c * (h - 1))) / 2, 0, 0];
  };
  for (const size of [3, 4]) {
    it(`${size}x${size}: +90 degrees moves the top-right corner to the top-left (counter-clockwise), 180 reverses`, () => {
      const n = size * size;
      const img = new Tensor(Float32Array.from({ length: n }, (_, i) => i + 1), [1, size, size, 1]);
      const at = (i: number, j: number): number => i * size + j + 1;
      // cos(pi/2) and sin(pi) are 1e-16, not 0: border pixels land 1e-16 outside the image, where 'constant' would
      // fill (as TF does); 'nearest' clamps them back, so the permutation is exact.
      const o = { interpolation: 'nearest', fillMode: 'nearest' } as const;
      const ccw = values(affineTransform(img, [rot(Math.PI / 2, size, size)], o));
      const half = values(affineTransform(img, [rot(Math.PI, size, size)], o));
      const cw = values(affineTransform(img, [rot(-Math.PI / 2, size, size)], { ...o, interpolation: 'bilinear' }));
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          expect(ccw[i * size + j]).toBe(at(j, size - 1 - i));
          expect(half[i * size + j]).toBe(at(size - 1 - i, size - 1 - j));
          expect(cw[i * size + j]).toBeCloseTo(at(size - 1 - j, i), 5);
        }
      }
    });
  }
});

// --- random transforms against the oracle ------------------------------------------------------------

describe('random transforms against the per-pixel oracle', () => {
  const shape = [3, 7, 9, 3];
  const size = shape.reduce((a, b) => a * b, 1);
  const x64 = uniformF64(size, 11, -1, 1);
  const x32 = Float32Array.from(x64);
  const xs = Float64Array.from(x32); // the float32 values, exactly
  /** A random affine map: rotation, anisotropic zoom, shear and translation, some of it well outside the image. */
  function randomTransforms(seed: number, projective: boolean): number[][] {
    const u = uniformF64(8 * shape[0], seed, -1, 1);
    return Array.from({ length: shape[0] }, (_, b) => {
      const r = u.subarray(8 * b, 8 * b + 8);
      const th = Math.PI * r[0], zx = 1 + 0.6 * r[1], zy = 1 + 0.6 * r[2], sh = 0.4 * r[3];
      const c = Math.cos(th), s = Math.sin(th);
      return [zx * c, zx * (-s + sh), 10 * r[4] + 4, zy * s, zy * c, 8 * r[5] + 3, projective ? 0.03 * r[6] : 0, projective ? 0.03 * r[7] : 0];
    });
  }
  for (const mode of MODES) {
    for (const interp of ['bilinear', 'nearest'] as const) {
      it(`${mode}, ${interp}: affine and projective, output size differing from the input`, () => {
        for (const [seed, projective] of [[21, false], [22, true]] as const) {
          const t = randomTransforms(seed + MODES.indexOf(mode), projective);
          const y = affineTransform(new Tensor(x32, shape), t, { fillMode: mode, interpolation: interp, fillValue: 0.25, outputSize: [6, 11] });
          expect(y.shape).toEqual([3, 6, 11, 3]);
          expect(y.dtype).toBe('float32');
          const ref = oracleWarp(xs, shape, t, 6, 11, interp, mode, 0.25);
          assertClose(y.data, ref, { atol: 1e-6, rtol: 1e-6, what: `${mode} ${interp} projective=${projective}` });
        }
      });
    }
  }

  it('float64 images stay float64 and match the oracle to float64 rounding; one transform row serves every image', () => {
    const t = [[0.8, 0.3, 1.2, -0.25, 1.1, 0.7, 0, 0]];
    const y = affineTransform(new Tensor(Float64Array.from(x64), shape), t, { fillMode: 'reflect' });
    expect(y.dtype).toBe('float64');
    assertClose(y.data, oracleWarp(x64, shape, t, 7, 9, 'bilinear', 'reflect', 0), { atol: 1e-14, what: 'float64' });
  });
});

// --- gradient ------------------------------------------------------------------------------------

describe('gradient: the adjoint of the warp', () => {
  const shape = [2, 5, 6, 2];
  const size = shape.reduce((a, b) => a * b, 1);
  const t = [[0.9, -0.4, 1.5, 0.35, 1.05, -0.8, 0, 0], [1.2, 0.1, -2.2, -0.2, 0.7, 1.9, 0.01, -0.02]];
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  };
  for (const mode of MODES) {
    for (const interp of ['bilinear', 'nearest'] as const) {
      it(`<dy, A x> = <A^T dy, x> (${mode}, ${interp}), through autograd`, () => {
        const x = new Tensor(uniformF64(size, 31, -1, 1), shape).requireGrad();
        const y = affineTransform(x, t, { fillMode: mode, interpolation: interp, outputSize: [4, 7] });
        const dy = new Tensor(uniformF64(y.size, 32, -1, 1), y.shape);
        y.mul(dy).sum().backward();
        const x2 = uniformF64(size, 33, -1, 1);
        const ax2 = affineTransform(new Tensor(x2, shape), t, { fillMode: mode, interpolation: interp, outputSize: [4, 7] });
        const lhs = dot(dy.data, ax2.data), rhs = dot(x.grad!.data, x2);
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
        expect(x.grad!.dtype).toBe('float64');
      });
    }
  }
});

describe('bad arguments', () => {
  const img = new Tensor(new Float32Array(2 * 3 * 3), [2, 3, 3, 1]);
  it('names the op and the argument', () => {
    expectError(() => affineTransform(img, [shift(1)], { fillMode: 'mirror' as FillMode }), ValueError, 'affineTransform', "'fillMode'", 'mirror', "'reflect'");
    expectError(() => affineTransform(img, [shift(1)], { interpolation: 'bicubic' as Interpolation }), ValueError, "'interpolation'", 'bicubic');
    expectError(() => affineTransform(img, [shift(1), shift(2), shift(3)]), ShapeError, "'transforms'", '2 images');
    expectError(() => affineTransform(img, [[1, 0, 0]]), ShapeError, "'transforms'");
    expectError(() => affineTransform(img, [[1, 0, NaN, 0, 1, 0, 0, 0]]), ValueError, 'finite');
    expectError(() => affineTransform(new Tensor(new Float32Array(9), [3, 3, 1]), [shift(1)]), ShapeError, 'rank 4');
    expectError(() => affineTransform(img, [shift(1)], { fillValue: Infinity }), ValueError, "'fillValue'");
  });
});
