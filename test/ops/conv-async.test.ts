/** ops.conv2dAsync: the same result as ops.conv2d on every backend, and the same synchronous validation. */
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/ops/index.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { loadNativeBackend } from '../../src/backends/native/index.js';
import { ShapeError } from '../../src/errors.js';
import { random, zeros } from './fixtures.js';
import { expectError } from '../helpers/errors.js';

const native = loadNativeBackend().backend;
const backends = [referenceBackend, ...(native ? [native] : [])];

describe.each(backends.map((b) => [b.name, b] as const))('conv2dAsync on %s', (_name, backend) => {
  it('resolves to exactly what conv2d returns', async () => {
    const x = random([2, 9, 7, 5], 1);
    const w = random([3, 3, 5, 4], 2);
    const bias = random([4], 3);
    const opts = { strides: 2, padding: 'same' as const, bias };
    const sync = withBackend(backend, () => ops.conv2d(x, w, opts));
    const pending = withBackend(backend, () => ops.conv2dAsync(x, w, opts));
    const y = await pending;
    expect(y.shape).toEqual(sync.shape);
    expect(Array.from(y.data)).toEqual(Array.from(sync.data));
  });

  it('rejects bad input synchronously, before any work is queued', () => {
    expectError(
      () => withBackend(backend, () => ops.conv2dAsync(zeros([1, 5, 5, 3]), zeros([3, 3, 4, 8]))),
      ShapeError, 'conv2dAsync', "'w' [3,3,4,8]", '[1,5,5,3]',
    );
  });
});
