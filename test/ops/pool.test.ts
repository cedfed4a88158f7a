/** Pooling ops and their backward entry points, against plain-loop oracles and the adjoint identity. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { dot, fromFlat, image, random, rows } from './fixtures.js';

beforeAll(() => setBackend('reference'));

describe('maxPool2d / avgPool2d', () => {
  it('explicit padding [[1,1],[1,1]] equals same for a 3x3 stride-1 window', () => {
    const x = random([2, 5, 4, 3], 1);
    for (const f of [ops.maxPool2d, ops.avgPool2d]) {
      const a = f(x, { poolSize: 3, strides: 1, padding: [[1, 1], [1, 1]] });
      const b = f(x, { poolSize: 3, strides: 1, padding: 'same' });
      expect(a.shape).toEqual([2, 5, 4, 3]);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
    }
  });

  it('rectangular windows and strides; padding strings are case-insensitive', () => {
    const x = random([1, 7, 9, 2], 2);
    const y = ops.maxPool2d(x, { poolSize: [2, 3], strides: [1, 3], padding: 'SAME' as 'same' }); // TensorFlow's spelling works at run time
    expect(y.shape).toEqual([1, 7, 3, 2]);
    expect(ops.poolOutputShape([7, 9, 2], [2, 3], { strides: [1, 3], padding: 'same' })).toEqual([7, 3, 2]);
  });

  it('maxPool2dBackward routes dy to the first maximum of each window, summing overlaps', () => {
    const x = image([[1, 5, 2], [5, 0, 3], [4, 4, 9]]);
    const dy = fromFlat([10, 20, 30, 40], [1, 2, 2, 1]);
    const dx = ops.maxPool2dBackward(dy, x, { poolSize: 2, strides: 1 });
    // Windows: {1,5,5,0} -> first 5 at (0,1); {5,2,0,3} -> (0,1); {5,0,4,4} -> (1,0); {0,3,4,9} -> (2,2).
    expect(rows(dx)).toEqual([[0, 30, 0], [30, 0, 0], [0, 0, 40]]);
  });

  it('avgPool2dBackward is the adjoint of avgPool2d (with padding)', () => {
    const x = random([2, 6, 5, 3], 3);
    for (const opts of [{ poolSize: 3, strides: 2, padding: 'same' as const }, { poolSize: 2 }, { poolSize: [3, 2] as [number, number], strides: 1, padding: [[1, 0], [0, 1]] as [[number, number], [number, number]] }]) {
      const y = ops.avgPool2d(x, opts);
      const dy = random(y.shape, 4);
      const dx = ops.avgPool2dBackward(dy, x.shape, opts);
      expect(dx.shape).toEqual(x.shape);
      const l = dot(y.data, dy.data);
      const r = dot(x.data, dx.data);
      // Each side rounds each of its elements once or a few times: a small multiple of eps32 of the scale.
      expect(Math.abs(l.value - r.value), JSON.stringify(opts)).toBeLessThanOrEqual(16 * EPS32 * (l.scale + r.scale));
    }
  });
});

describe('global pooling', () => {
  const x = random([2, 3, 4, 5], 5);
  const [n, h, w, c] = x.shape;
  const at = (b: number, i: number, j: number, k: number): number => x.data[((b * h + i) * w + j) * c + k];

  it('globalAvgPool2d / globalMaxPool2d reduce H and W; keepDims gives [N,1,1,C]', () => {
    const mean = new Float64Array(n * c);
    const max = new Float64Array(n * c).fill(-Infinity);
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let k = 0; k < c; k++) {
            mean[b * c + k] += at(b, i, j, k) / (h * w);
            max[b * c + k] = Math.max(max[b * c + k], at(b, i, j, k));
          }
    const a = ops.globalAvgPool2d(x);
    expect(a.shape).toEqual([2, 5]);
    assertClose(a.data, mean, { atol: 12 * 2 * EPS32, what: 'globalAvgPool2d' });
    expect(ops.globalAvgPool2d(x, { keepDims: true }).shape).toEqual([2, 1, 1, 5]);
    const m = ops.globalMaxPool2d(x);
    expect(Array.from(m.data)).toEqual(Array.from(max));
  });

  it('globalPool2dBackward: avg spreads dy / (H*W); max goes to the maximum; [N,1,1,C] dy accepted', () => {
    const dy = random([2, 5], 6);
    const davg = ops.globalPool2dBackward(dy, x, 'avg');
    expect(davg.shape).toEqual(x.shape);
    for (let i = 0; i < davg.size; i++) expect(davg.data[i]).toBeCloseTo(dy.data[Math.floor(i / (h * w * c)) * c + (i % c)] / 12, 6);
    const dmax = ops.globalPool2dBackward(fromFlat(dy.data, [2, 1, 1, 5]), x, 'max');
    const mx = ops.globalMaxPool2d(x);
    for (let i = 0; i < dmax.size; i++) {
      const col = Math.floor(i / (h * w * c)) * c + (i % c);
      expect(dmax.data[i]).toBe(x.data[i] === mx.data[col] ? dy.data[col] : 0);
    }
  });
});
