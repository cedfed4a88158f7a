/**
 * The Promise forms of the conv kernels (backend.async.conv2d / conv2dBackwardData / conv2dBackwardFilter,
 * native/addon/async.cc): the event loop keeps running while a long convolution computes on the libuv pool,
 * results are bit-identical to the synchronous kernels at the same thread count, inputs are never written,
 * a synchronous conv issued while a Promise is pending still computes the right thing, and Float64Array
 * inputs resolve with the reference's result.
 */
import { describe, expect, it } from 'vitest';

import type { Conv2DAttrs, KTensor } from '../../src/backends/backend.js';
import { windowOutSize } from '../../src/backends/backend.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { compareTensors, nativeBackend, nativeLoadError } from '../helpers/backends.js';
import { uniformF32 } from '../helpers/random.js';

const same: Conv2DAttrs = { strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 1 };

function tensor(shape: number[], seed: number): KTensor<Float32Array> {
  return { data: uniformF32(shape.reduce((a, b) => a * b, 1), seed), shape };
}

const asyncKernels = nativeBackend.async!;

/** The Promise result must equal the synchronous one bit for bit, and no input may change. */
async function expectSameAsSync(what: string, runAsync: () => Promise<KTensor>, runSync: () => KTensor, inputs: readonly KTensor[]): Promise<void> {
  const before = inputs.map((t) => t.data.slice());
  const want = runSync();
  const got = await runAsync();
  compareTensors(got, want, 'exact', `${what}: Promise vs synchronous`);
  inputs.forEach((t, k) => expect(t.data, `${what}: input ${k} was written`).toEqual(before[k]));
}

describe('conv Promise forms', () => {
  it('the native backend offers all three', () => {
    expect(nativeLoadError).toBeUndefined();
    expect(typeof asyncKernels.conv2d).toBe('function');
    expect(typeof asyncKernels.conv2dBackwardData).toBe('function');
    expect(typeof asyncKernels.conv2dBackwardFilter).toBe('function');
  });

  it('a long convolution runs off the JS thread: timers keep firing while it computes, and it equals the sync result', async () => {
    // Size the batch from a timed synchronous call so the Promise takes >= ~150 ms on this machine.
    const w = tensor([3, 3, 64, 64], 2);
    const probe = tensor([1, 56, 56, 64], 1);
    const t0 = performance.now();
    nativeBackend.conv2d(probe, w, same);
    const perImage = Math.max(performance.now() - t0, 0.05);
    const n = Math.min(256, Math.max(2, Math.ceil(150 / perImage)));
    const x = tensor([n, 56, 56, 64], 3);
    const want = nativeBackend.conv2d(x, w, same);

    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const start = performance.now();
    let got: KTensor;
    try {
      got = await asyncKernels.conv2d!(x, w, same);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - start;
    expect(ticks, `only ${ticks} timer ticks in ${elapsed.toFixed(0)} ms (batch ${n})`).toBeGreaterThanOrEqual(3);
    compareTensors(got, want, 'exact', `async conv2d [${n},56,56,64] vs sync`);
  });

  it('a synchronous conv issued while a Promise is pending is correct, and so is the Promise', async () => {
    const x = tensor([8, 28, 28, 32], 5);
    const w = tensor([3, 3, 32, 48], 6);
    const wantAsync = nativeBackend.conv2d(x, w, same);
    const pending = asyncKernels.conv2d!(x, w, same);
    const xs = tensor([2, 9, 7, 5], 7);
    const ws = tensor([3, 3, 5, 4], 8);
    const sync = nativeBackend.conv2dBackwardData(tensor([2, 9, 7, 4], 9), ws, xs.shape, same);
    const ref = referenceBackend.conv2dBackwardData(tensor([2, 9, 7, 4], 9), ws, xs.shape, same);
    // Sums of 36 products of values in [-1, 1]: float32 error far below 1e-4.
    for (let i = 0; i < ref.data.length; i++) expect(Math.abs(sync.data[i] - ref.data[i])).toBeLessThan(1e-4);
    compareTensors(await pending, wantAsync, 'exact', 'async conv2d with a sync conv in between');
  });

  const cases: { name: string; x: number[]; w: number[]; attrs: Conv2DAttrs; bias?: boolean }[] = [
    { name: '3x3 same with bias', x: [2, 9, 8, 17], w: [3, 3, 17, 24], attrs: same, bias: true },
    { name: 'depthwise m2 stride 2', x: [2, 11, 9, 6], w: [3, 3, 1, 12], attrs: { strides: [2, 2], dilations: [1, 1], pads: [1, 1, 1, 1], groups: 6 } },
    { name: 'groups 2, 1x1', x: [3, 5, 5, 8], w: [1, 1, 4, 6], attrs: { strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 2 }, bias: true },
    { name: 'stride 2, dilation 2', x: [2, 12, 11, 5], w: [3, 3, 5, 7], attrs: { strides: [2, 2], dilations: [2, 2], pads: [2, 1, 1, 2], groups: 1 } },
  ];

  for (const c of cases) {
    it(`${c.name}: each Promise form equals its synchronous kernel bit for bit and leaves the inputs alone`, async () => {
      const x = tensor(c.x, 11);
      const w = tensor(c.w, 12);
      const bias = c.bias ? tensor([c.w[3]], 13) : undefined;
      const oh = windowOutSize(c.x[1], c.w[0], c.attrs.strides[0], c.attrs.dilations[0], c.attrs.pads[0], c.attrs.pads[1]);
      const ow = windowOutSize(c.x[2], c.w[1], c.attrs.strides[1], c.attrs.dilations[1], c.attrs.pads[2], c.attrs.pads[3]);
      const dy = tensor([c.x[0], oh, ow, c.w[3]], 14);
      const inputs = [x, w, dy, ...(bias ? [bias] : [])];
      await expectSameAsSync(`conv2d ${c.name}`, () => asyncKernels.conv2d!(x, w, c.attrs, bias), () => nativeBackend.conv2d(x, w, c.attrs, bias), inputs);
      await expectSameAsSync(`conv2dBackwardData ${c.name}`, () => asyncKernels.conv2dBackwardData!(dy, w, c.x, c.attrs),
        () => nativeBackend.conv2dBackwardData(dy, w, c.x, c.attrs), inputs);
      await expectSameAsSync(`conv2dBackwardFilter ${c.name}`, () => asyncKernels.conv2dBackwardFilter!(x, dy, c.w, c.attrs),
        () => nativeBackend.conv2dBackwardFilter(x, dy, c.w, c.attrs), inputs);
    });
  }

  it('Float64Array inputs resolve with the reference result', async () => {
    const x = { data: Float64Array.from(uniformF32(2 * 5 * 5 * 3, 21)), shape: [2, 5, 5, 3] };
    const w = { data: Float64Array.from(uniformF32(3 * 3 * 3 * 4, 22)), shape: [3, 3, 3, 4] };
    const got = await asyncKernels.conv2d!(x, w, same);
    expect(got.data).toBeInstanceOf(Float64Array);
    compareTensors(got, referenceBackend.conv2d(x, w, same), 'exact', 'float64 async conv2d');
  });

  it('several Promises in flight at once all settle with the right results', async () => {
    const w = tensor([3, 3, 16, 16], 31);
    const xs = [0, 1, 2, 3].map((k) => tensor([2, 20, 20, 16], 40 + k));
    const want = xs.map((x) => nativeBackend.conv2d(x, w, same));
    const got = await Promise.all(xs.map((x) => asyncKernels.conv2d!(x, w, same)));
    got.forEach((g, k) => compareTensors(g, want[k], 'exact', `in-flight promise ${k}`));
  });
});
