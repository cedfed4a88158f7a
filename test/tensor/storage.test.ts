/**
 * The storage pool (src/backends/storage.ts) and scopes (src/tensor/scope.ts): pooled buffers are reused only
 * after every tensor wrapping them is disposed, never while a view is alive; user arrays are never pooled;
 * uninitialised outputs are NaN-poisoned under the test suite; views start 64-byte aligned when the addon is
 * loaded; a disposed tensor throws on use; scopes dispose what their result does not hold, also across await
 * and on throw.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { allocF32, emptyPool, poolStats, setPoolLimit, zerosF32 } from '../../src/backends/storage.js';
import { loadNativeBackend } from '../../src/backends/native/index.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { keep, scope } from '../../src/tensor/scope.js';
import { add, relu } from '../../src/index.js';
import { expectError } from '../helpers/errors.js';

const N = 4096; // above the pooling threshold (1024 floats)

function pooled(n = N, shape: number[] = [n]): Tensor {
  return new Tensor(allocF32(n).fill(1), shape);
}

afterEach(() => {
  emptyPool();
  setPoolLimit(1024 * 2 ** 20);
});

describe('storage pool', () => {
  it('fills uninitialised outputs with NaN under the test suite (NODEGRAD_POISON_OUTPUTS=1)', () => {
    expect(process.env.NODEGRAD_POISON_OUTPUTS).toBe('1');
    expect(allocF32(N).every(Number.isNaN)).toBe(true);
    expect(allocF32(7).every(Number.isNaN)).toBe(true);
    expect(zerosF32(N).every((v) => Object.is(v, 0))).toBe(true);
  });

  it('reuses the storage of a disposed tensor for the next output of the same length', () => {
    const t = pooled();
    const data = t.data;
    const before = poolStats();
    t.dispose();
    expect(poolStats().pooledBytes).toBe(before.pooledBytes + N * 4);
    const again = allocF32(N);
    expect(again).toBe(data);
    expect(poolStats().hits).toBe(before.hits + 1);
    expect(poolStats().pooledBytes).toBe(before.pooledBytes);
    expect(allocF32(N)).not.toBe(data); // handed out once only
  });

  it('keeps storage shared by a reshaped view until both are disposed', () => {
    const t = pooled(N, [64, 64]);
    const data = t.data;
    const v = t.reshape([N]);
    expect(v.data).toBe(data);
    t.dispose();
    expect(poolStats().pooledBytes).toBe(0);
    expect(v.data[5]).toBe(1); // still readable and intact
    v.dispose();
    expect(poolStats().pooledBytes).toBe(N * 4);
    expect(allocF32(N)).toBe(data);
  });

  it('never pools arrays it did not allocate, nor small ones', () => {
    const user = new Float32Array(N).fill(3);
    const t = new Tensor(user, [N]);
    t.dispose();
    expect(poolStats().pooledBytes).toBe(0);
    expect(user[0]).toBe(3);
    expect(allocF32(N)).not.toBe(user);
    new Tensor(allocF32(8), [8]).dispose();
    expect(poolStats().pooledBytes).toBe(0);
  });

  it('pools nothing beyond its limit, and nothing with limit 0', () => {
    setPoolLimit(N * 4);
    pooled().dispose();
    pooled().dispose();
    expect(poolStats().pooledBytes).toBe(N * 4);
    setPoolLimit(0);
    expect(poolStats().pooledBytes).toBe(0);
    pooled().dispose();
    expect(poolStats().pooledBytes).toBe(0);
    expect(() => setPoolLimit(-1)).toThrow(RangeError);
    expect(() => setPoolLimit(Number.NaN)).toThrow(RangeError);
  });

  it('starts pooled views on a 64-byte boundary when the addon is loaded', () => {
    loadNativeBackend(); // installs the address probe
    const { addon } = loadAddon();
    if (!addon) return expect(allocF32(N).length).toBe(N); // reference-only install: no address probe
    for (const n of [1024, 1025, 4099, 100_000]) {
      const a = allocF32(n);
      expect(a.length).toBe(n);
      // alignmentOffset(buffer) is (64 - address % 64) % 64: the view's offset must be congruent to it.
      expect((a.byteOffset - addon.alignmentOffset(a.buffer as ArrayBuffer)) % 64).toBe(0);
    }
  });
});

describe('Tensor.dispose', () => {
  it('throws a clear error on use after dispose; disposing twice is a no-op', () => {
    const t = pooled(N, [2, N / 2]);
    t.dispose();
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(t.shape).toEqual([2, N / 2]);
    expectError(() => t.data, Error, 'Tensor of shape [2,2048] was used after dispose()');
    expectError(() => add(t, 1), Error, 'used after dispose');
    expect(poolStats().pooledBytes).toBe(N * 4);
  });
});

describe('scope', () => {
  it('disposes the intermediates and keeps the result, which moves to the enclosing scope', () => {
    const x = pooled();
    let inner: Tensor | undefined;
    let mid: Tensor | undefined;
    const out = scope(() => {
      const r = scope(() => {
        inner = relu(x);
        return add(inner, 1);
      });
      mid = r;
      return { y: add(r, 1) };
    });
    expect(inner!.isDisposed).toBe(true);
    expect(mid!.isDisposed).toBe(true);
    expect(out.y.isDisposed).toBe(false);
    expect(out.y.data[0]).toBe(3);
    expect(x.isDisposed).toBe(false); // created outside
  });

  it('spares tensors marked with keep, and results nested in arrays and Maps', () => {
    let k: Tensor | undefined;
    const [a, m] = scope(() => {
      k = keep(pooled());
      return [[pooled()], new Map([['t', pooled()]])] as const;
    });
    expect(k!.isDisposed).toBe(false);
    expect(a[0].isDisposed).toBe(false);
    expect(m.get('t')!.isDisposed).toBe(false);
  });

  it('disposes everything it created when the function throws', () => {
    let t: Tensor | undefined;
    expect(() => scope(() => { t = pooled(); throw new Error('boom'); })).toThrow('boom');
    expect(t!.isDisposed).toBe(true);
  });

  it('follows async functions across await, and keeps concurrent scopes apart', async () => {
    const seen: Tensor[] = [];
    const run = (v: number) => scope(async () => {
      const a = pooled();
      seen.push(a);
      await new Promise((r) => setTimeout(r, 5));
      const b = add(a, v);
      seen.push(b);
      await new Promise((r) => setTimeout(r, 5));
      return add(b, 0);
    });
    const [r1, r2] = await Promise.all([run(1), run(2)]);
    expect(seen.every((t) => t.isDisposed)).toBe(true);
    expect(r1.data[0]).toBe(2);
    expect(r2.data[0]).toBe(3);
  });

  it('recycles a training-style loop: after the first step every output comes from the pool', () => {
    const x = pooled(N, [N]);
    const step = () => scope(() => add(relu(add(x, 1)), 2).data[0]);
    step();
    const { misses } = poolStats();
    for (let i = 0; i < 5; i++) expect(step()).toBe(4);
    expect(poolStats().misses).toBe(misses);
  });
});
