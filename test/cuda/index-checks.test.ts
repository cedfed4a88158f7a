/**
 * Index checks on the device, and gradients of gather and pad that stay there (issue 7's CUDA backend).
 *
 * Runs without a GPU on test/helpers/fake-cuda.ts, which models the device's index-error record as the CUDA kernels
 * keep it: a kernel that meets a bad index reports it and poisons its outputs instead of throwing, and the next read
 * from the "GPU" throws a ValueError naming the kernel, the argument, the position, the value and the range, and
 * clears the report. The real kernels' record is checked by the harness (native/cuda/test/harness.cu).
 * Gradients are compared with the CPU backend's bit for bit: the fake runs the reference scatter-add, whose order
 * (ascending j, double, one rounding) the CUDA kernel keeps too.
 */
import { describe, expect, it, vi } from 'vitest';

import { cudaFallbacks } from '../../src/backends/cuda/tensor-backend.js';
import { ValueError } from '../../src/errors.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { gather, oneHot, pad } from '../../src/tensor/manipulation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { cpuAddonForFake, type FakeCuda, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/index-checks: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));
const ints = (...v: number[]): Tensor => new Tensor(Int32Array.from(v), [v.length]);
const onDevice = (what: string): string =>
  `${what}; found at the next read from the GPU, so every result computed after that kernel is invalid`;

describe.skipIf(!cpuAddon.addon)('index checks on the device (fake CUDA addon)', () => {
  let fake: FakeCuda;
  useFakeCuda((f) => (fake = f));

  it('a CUDA gather with a bad CUDA index does not throw or read back; the next read throws naming it; a later read works', () => {
    const x = randn([4, 10], { seed: 1 }).to('cuda');
    const idx = ints(1, 9, 0, 12, -3).to('cuda');
    fake.resetStats();
    const y = gather(x, idx, 1);
    const total = y.mul(2).sum();  // later kernels run on, from the poisoned rows
    expect(fake.stats.downloads).toBe(0);
    const message = onDevice("gather (cuda): argument 'indices' holds 12 at flat position 3, out of range [0, 10)");
    expect(() => total.item()).toThrow(new ValueError(message));
    // The report was taken: reads work again, and show what the kernel wrote (NaN rows for the bad indices).
    expect(total.item()).toBeNaN();
    const xs = x.data as Float32Array;
    const ys = y.data as Float32Array;
    for (let r = 0; r < 4; r++) {
      [1, 9, 0].forEach((q, j) => expect(ys[r * 5 + j]).toBe(xs[r * 10 + q]));
      expect(ys[r * 5 + 3]).toBeNaN();
      expect(ys[r * 5 + 4]).toBeNaN();
    }
    // .data throws the same way; the first bad launch is the one reported.
    const again = gather(x, ints(-1, 2).to('cuda'), 1);
    gather(x, ints(0, 55).to('cuda'), 1);
    expect(() => again.data).toThrow(new ValueError(onDevice("gather (cuda): argument 'indices' holds -1 at flat position 0, out of range [0, 10)")));
    expect(Array.from(again.data as Float32Array).filter(Number.isNaN)).toHaveLength(4);
  });

  it('host indices (arrays, CPU tensors) are still checked at the call, with the same messages', () => {
    const x = randn([4, 10], { seed: 2 }).to('cuda');
    const want = "gather: argument 'indices' holds 10 (flat position 1), out of range [0, 10) for axis 1 of x with shape [4,10]";
    expect(() => gather(x, [3, 10], 1)).toThrow(new ValueError(want));
    expect(() => gather(x, ints(3, 10), 1)).toThrow(new ValueError(want));
    expect(fake.takeIndexError()).toBeNull();
  });

  it('softmaxCrossEntropy with a bad CUDA label: the loss read throws naming it, as does the gradient read; later reads work', () => {
    const logits = randn([4, 10], { seed: 3 }).to('cuda').requireGrad();
    const labels = ints(3, 0, 10, -1).to('cuda');
    const loss = softmaxCrossEntropy(logits, labels);
    expect(() => loss.item()).toThrow(new ValueError(onDevice("softmaxCrossEntropy (cuda): argument 'labels' holds 10 at flat position 2, out of range [0, 10)")));
    expect(loss.item()).toBeNaN();
    loss.backward();
    expect(() => logits.grad!.data).toThrow(
      new ValueError(onDevice("softmaxCrossEntropyBackward (cuda): argument 'labels' holds 10 at flat position 2, out of range [0, 10)")));
    const g = logits.grad!.data as Float32Array;
    // The rows of the bad labels (2 and 3) are NaN, the others the usual gradient.
    g.forEach((v, i) => expect(Number.isNaN(v), `dlogits[${i}]`).toBe(i >= 20));
  });

  it('valid CUDA labels and indices report nothing: the loss equals the CPU one', () => {
    const run = (dev: 'cpu' | 'cuda'): Tensor => softmaxCrossEntropy(randn([4, 10], { seed: 4 }).to(dev), ints(3, 0, 9, 5).to(dev));
    expect(bits(run('cuda'))).toEqual(bits(run('cpu')));
    expect(fake.takeIndexError()).toBeNull();
  });

  it('oneHot keeps the CPU semantics on CUDA: an index out of range is a row of offValue, not an error', () => {
    const idx = ints(2, 7, -1, 0);
    expect(bits(oneHot(idx.to('cuda'), 3, { onValue: 5, offValue: -1 }))).toEqual(bits(oneHot(idx, 3, { onValue: 5, offValue: -1 })));
    expect(fake.takeIndexError()).toBeNull();
  });

  it('gather (CUDA indices, repeated) and reflect / symmetric pad backward stay on the device and equal the CPU bit for bit', () => {
    const run = (dev: 'cpu' | 'cuda'): Tensor => {
      const x = randn([3, 7, 5], { seed: 5 }).to(dev).requireGrad();
      const g = gather(x, new Tensor(Int32Array.of(6, 0, 6, 2, 6, 1, 0, 3), [2, 4]).to(dev), 1);
      const r = pad(x, [[0, 0], [2, 3], [1, 1]], { mode: 'reflect' });
      const s = pad(x, [[1, 1], [0, 0], [2, 2]], { mode: 'symmetric' });
      const w = (t: Tensor, seed: number): Tensor => randn(t.shape, { seed }).to(dev);
      g.mul(w(g, 6)).sum().add(r.mul(w(r, 7)).sum()).add(s.mul(w(s, 8)).sum()).backward();
      return x.grad!;
    };
    const want = run('cpu');
    const fellBefore = [...cudaFallbacks()];
    const warn = vi.spyOn(console, 'warn');
    let got: Tensor;
    try {
      fake.resetStats();
      got = run('cuda');
      expect(fake.stats.downloads, 'nothing read back').toBe(0);
      expect(warn.mock.calls.filter((c) => /CUDA|nodegrad/.test(String(c[0])))).toEqual([]);
    } finally {
      warn.mockRestore();
    }
    expect(cudaFallbacks()).toEqual(fellBefore);
    // gather's adjoint once, reflect's and symmetric's once per padded axis
    expect(fake.stats.kernels.get('scatterAddF32')).toBe(5);
    expect(got.device).toBe('cuda');
    expect(bits(got)).toEqual(bits(want));
  });

  it('an embedding-style gather: rows of a CUDA table by CUDA ids, its gradient summing repeated ids, as on the CPU', () => {
    const ids = new Tensor(Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 5 + (i % 3 === 0 ? 30 : 0)), [4, 6]);
    const run = (dev: 'cpu' | 'cuda'): Tensor => {
      const table = randn([40, 8], { seed: 9 }).to(dev).requireGrad();
      const e = gather(table, ids.to(dev), 0);  // [4, 6, 8]
      e.mul(randn(e.shape, { seed: 10 }).to(dev)).sum().backward();
      return table.grad!;
    };
    const want = run('cpu');
    fake.resetStats();
    const got = run('cuda');
    expect(fake.stats.downloads).toBe(0);
    expect(bits(got)).toEqual(bits(want));
    expect(tensor(0).to('cuda').item()).toBe(0);  // nothing was reported
  });
});
