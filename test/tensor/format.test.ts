/** toNested and the printed form of tensors: exact strings for each number format, layout and summarising. */
import { describe, expect, it } from 'vitest';
import { arange, tensor, zeros } from '../../src/tensor/creation.js';
import { formatTensor, toNested } from '../../src/tensor/format.js';

describe('toNested', () => {
  it('gives a number for a scalar and nested arrays otherwise', () => {
    expect(toNested(new Float32Array([4]), [])).toBe(4);
    expect(toNested(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3])).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(toNested(Int32Array.from([1, 2, 3, 4]), [2, 1, 2])).toEqual([[[1, 2]], [[3, 4]]]);
    expect(toNested(new Float32Array(0), [2, 0])).toEqual([[], []]);
    expect(toNested(new Float32Array(0), [0, 3])).toEqual([]);
  });

  it('round-trips through tensor()', () => {
    const nested = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
    expect(tensor(nested).toArray()).toEqual(nested);
  });
});

describe('formatTensor', () => {
  it('prints a header and aligned rows with 4 decimals', () => {
    const t = tensor([[1, -2.5, 3], [4, 5, 6.125]]);
    expect(formatTensor(t)).toBe(
      'Tensor(shape=[2,3], dtype=float32)\n' +
        '[[ 1.0000, -2.5000,  3.0000],\n' +
        ' [ 4.0000,  5.0000,  6.1250]]',
    );
    expect(t.toString()).toBe(formatTensor(t));
  });

  it('prints integral floats as `1.` and int32 plainly, each padded to one width', () => {
    expect(formatTensor(tensor([1, 2, -30]))).toBe('Tensor(shape=[3], dtype=float32)\n[  1.,   2., -30.]');
    expect(formatTensor(tensor([[1, 20], [-300, 4]], undefined, 'int32'))).toBe(
      'Tensor(shape=[2,2], dtype=int32)\n[[   1,   20],\n [-300,    4]]',
    );
  });

  it('switches to scientific notation for wide or tiny magnitudes', () => {
    expect(formatTensor(tensor([1e-5, 1, 1e6]))).toBe(
      'Tensor(shape=[3], dtype=float32)\n[1.0000e-05, 1.0000e+00, 1.0000e+06]',
    );
    expect(formatTensor(tensor([0.5, 2000]))).toBe('Tensor(shape=[2], dtype=float32)\n[5.0000e-01, 2.0000e+03]');
    expect(formatTensor(tensor([0.001, 0.5]))).toBe('Tensor(shape=[2], dtype=float32)\n[0.0010, 0.5000]');
  });

  it('prints nan and inf', () => {
    expect(formatTensor(tensor([NaN, Infinity, -Infinity, -1.5]))).toBe(
      'Tensor(shape=[4], dtype=float32)\n[    nan,     inf,    -inf, -1.5000]',
    );
  });

  it('prints scalars and empty tensors', () => {
    expect(formatTensor(tensor(3.25))).toBe('Tensor(shape=[], dtype=float32)\n3.2500');
    expect(formatTensor(tensor(7, undefined, 'int32'))).toBe('Tensor(shape=[], dtype=int32)\n7');
    expect(formatTensor(zeros([0]))).toBe('Tensor(shape=[0], dtype=float32)\n[]');
    expect(formatTensor(zeros([2, 0]))).toBe('Tensor(shape=[2,0], dtype=float32)\n[[],\n []]');
  });

  it('separates blocks of rank-3 tensors by a blank line', () => {
    expect(formatTensor(arange(12, undefined, 1, 'int32').reshape([2, 2, 3]))).toBe(
      'Tensor(shape=[2,2,3], dtype=int32)\n' +
        '[[[ 0,  1,  2],\n' +
        '  [ 3,  4,  5]],\n' +
        '\n' +
        ' [[ 6,  7,  8],\n' +
        '  [ 9, 10, 11]]]',
    );
  });

  it('wraps long rows within 80 columns', () => {
    const s = formatTensor(arange(30, undefined, 1, 'int32'));
    expect(s).toBe(
      'Tensor(shape=[30], dtype=int32)\n' +
        '[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17, 18,\n' +
        ' 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]',
    );
    for (const line of formatTensor(arange(1000).reshape([10, 100])).split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('summarises past 1000 elements with the first and last 3 of each axis', () => {
    expect(formatTensor(arange(1001, undefined, 1, 'int32'))).toBe(
      'Tensor(shape=[1001], dtype=int32)\n[   0,    1,    2,  ...,  998,  999, 1000]',
    );
    expect(formatTensor(arange(1600, undefined, 1, 'int32').reshape([40, 40]))).toBe(
      'Tensor(shape=[40,40], dtype=int32)\n' +
        '[[   0,    1,    2,  ...,   37,   38,   39],\n' +
        ' [  40,   41,   42,  ...,   77,   78,   79],\n' +
        ' [  80,   81,   82,  ...,  117,  118,  119],\n' +
        ' ...,\n' +
        ' [1480, 1481, 1482,  ..., 1517, 1518, 1519],\n' +
        ' [1520, 1521, 1522,  ..., 1557, 1558, 1559],\n' +
        ' [1560, 1561, 1562,  ..., 1597, 1598, 1599]]',
    );
    // Axes of 6 or fewer are shown whole even when summarising.
    const lines = formatTensor(arange(2 * 600).reshape([2, 600])).split('\n');
    expect(lines.length).toBe(3);
    expect(lines[1]).toBe('[[   0.,    1.,    2.,   ...,  597.,  598.,  599.],');
  });

  it('only the shown values set the format', () => {
    // The hidden middle value 1e9 would force scientific notation.
    const data = Float32Array.from({ length: 1001 }, (_, i) => (i === 500 ? 1e9 : 0.5));
    expect(formatTensor(tensor(data))).toBe(
      'Tensor(shape=[1001], dtype=float32)\n[0.5000, 0.5000, 0.5000,    ..., 0.5000, 0.5000, 0.5000]',
    );
  });
});
