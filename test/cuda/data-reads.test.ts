/**
 * `.data` on CUDA tensors (fake CUDA addon): every read is a fresh download, never a stale copy, and the third read
 * of a storage that nothing touched in between warns, once per process, that reading `.data` downloads every time.
 * Writes in place (uploads, Variable.assign's device copy, the optimizers' updates) count as touching it.
 *
 * Its own file: the warning is once per process (module), so the cases that must not warn run before the one that
 * does, in order.
 */
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';

import { Variable } from '../../src/nn/variable.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { cpuAddonForFake, type FakeCuda, useFakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/data-reads: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

const WARNING = "nodegrad: reading .data of a CUDA tensor downloads it every time; read it once, or move it with .to('cpu')";

describe.skipIf(!cpuAddon.addon)('reading .data of CUDA tensors (fake CUDA addon)', () => {
  let fake: FakeCuda;
  useFakeCuda((f) => (fake = f));
  let warn: MockInstance<typeof console.warn>;
  const warnings = (): unknown[] => warn.mock.calls.map((c) => c[0]).filter((m) => m === WARNING);
  beforeAll(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterAll(() => warn.mockRestore());

  it('an optimizer step between reads is a write: fresh values every read, no warning', () => {
    for (const opt of [new SGD({ learningRate: 0.1, momentum: 0.9 }), new Adam({ learningRate: 0.1 })]) {
      const w = new Variable('w', tensor([1, -2, 3]));
      w.to('cuda');
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) {
        seen.push((w.value.data as Float32Array)[0]);
        w.value.grad = tensor([1, 1, 1]).to('cuda');
        opt.step([w]);
      }
      expect(new Set(seen).size, `${opt.constructor.name} moved the weight each step`).toBe(4);
    }
    expect(warnings()).toEqual([]);
  });

  it('Variable.assign between reads (a device copy, an upload) is a write: the new values, no warning', () => {
    const w = new Variable('w', tensor([1, 2]));
    w.to('cuda');
    expect(Array.from(w.value.data)).toEqual([1, 2]);
    w.assign(tensor([3, 4]).to('cuda'));
    expect(Array.from(w.value.data)).toEqual([3, 4]);
    w.assign(tensor([5, 6]));
    expect(Array.from(w.value.data)).toEqual([5, 6]);
    w.assign(tensor([7, 8]).to('cuda'));
    expect(Array.from(w.value.data)).toEqual([7, 8]);
    expect(warnings()).toEqual([]);
  });

  it('two reads of unchanged storage are quiet; the third warns, once per process', () => {
    const t = tensor([1, 2, 3]).to('cuda');
    fake.resetStats();
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
    expect(warnings()).toEqual([]);
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
    expect(warnings()).toEqual([WARNING]);
    expect(fake.stats.downloads).toBe(3);  // each read a fresh copy
    for (let i = 0; i < 5; i++) void tensor([i]).to('cuda').reshape([1, 1]).data;
    for (let i = 0; i < 5; i++) void t.data;
    expect(warnings()).toEqual([WARNING]);
  });
});
