/**
 * Scalars between the host and CUDA without extra synchronisation (the training step's one read-back):
 * `readScalars` reads several one-element tensors in one download, `deviceScalar` is a CUDA constant uploaded
 * once (a scalar uploaded inside a step, as `x.mul(2)` does, is a pageable cudaMemcpy that waits for the queued
 * kernels). Internal: the optimizers, fit and the device metrics use them.
 */
import type { CudaAddon } from '../backends/cuda/addon.js';
import { concat } from '../tensor/manipulation.js';
import { keep, scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

/** The values of one-element tensors (one device), read back together: one download when they are on CUDA. */
export function readScalars(ts: readonly Tensor[]): number[] {
  if (ts.length === 0) return [];
  return scope(() => Array.from(concat(ts.map((t) => t.withShape([1]))).data));
}

const constants = new WeakMap<CudaAddon, Map<number, Tensor>>();

/** A float32 scalar of `value` on CUDA, beside `like` (a CUDA tensor), uploaded once and kept. */
export function deviceScalar(like: Tensor, value: number): Tensor {
  const addon = like.deviceStorage!.addon;
  let byValue = constants.get(addon);
  if (!byValue) constants.set(addon, (byValue = new Map()));
  let t = byValue.get(value);
  if (!t) byValue.set(value, (t = keep(new Tensor(Float32Array.of(value), []).to('cuda'))));
  return t;
}
