/** dense against the tensor core's matmul + add (+ relu), including leading axes flattened and restored. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { setBackend } from '../../src/backends/registry.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { EPS32, assertClose } from '../helpers/close.js';
import { random } from './fixtures.js';

beforeAll(() => setBackend('reference'));

describe('dense', () => {
  it('equals x.matmul(w).add(bias), and .relu() with activation relu', () => {
    const x = random([5, 7], 1);
    const w = random([7, 3], 2);
    const b = random([3], 3);
    const ref = x.matmul(w).add(b);
    const tol = { atol: 2 * 8 * 8 * EPS32 }; // two float32 paths of 7-term sums plus a bias, terms below 1
    assertClose(ops.dense(x, w, { bias: b }).data, ref.data, { ...tol, what: 'linear' });
    assertClose(ops.dense(x, w, { bias: b, activation: 'relu' }).data, ref.relu().data, { ...tol, what: 'relu' });
    assertClose(ops.dense(x, w).data, x.matmul(w).data, { ...tol, what: 'no bias' });
  });

  it('flattens leading axes into M and restores them: [2, 3, 7] -> [2, 3, 4]; rank 1 -> [4]', () => {
    const x = random([2, 3, 7], 4);
    const w = random([7, 4], 5);
    const y = ops.dense(x, w);
    expect(y.shape).toEqual([2, 3, 4]);
    const flat = ops.dense(new Tensor(x.data, [6, 7]), w);
    expect(Array.from(y.data)).toEqual(Array.from(flat.data));
    const v = ops.dense(new Tensor(x.data.slice(0, 7), [7]), w);
    expect(v.shape).toEqual([4]);
    expect(Array.from(v.data)).toEqual(Array.from(flat.data.slice(0, 4)));
  });
});
