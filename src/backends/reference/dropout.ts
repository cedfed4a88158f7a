/**
 * Reference inverted dropout: mask[i] = 1/(1-rate) if u_i >= rate else 0, y = x * mask, where u_i is element i
 * of the Philox uniform stream of `seed` (src/random/philox.ts). u_i depends only on (seed, i), so any backend,
 * split over any number of threads, draws the same mask. The ops layer guarantees 0 <= rate < 1.
 */
import type { FloatArray, KTensor } from '../backend.js';
import { philoxUniformFill } from '../../random/philox.js';
import { allocLike } from './util.js';

export function dropout<A extends FloatArray>(x: KTensor<A>, rate: number, seed: number): { y: KTensor<A>; mask: KTensor<A> } {
  const xd = x.data;
  const n = xd.length;
  const scale = 1 / (1 - rate);
  const mask = allocLike(xd, n);
  const y = allocLike(xd, n);
  if (rate <= 0) {
    // Every draw is >= 0, so the formula keeps everything with scale 1: no draws needed.
    mask.fill(1);
  } else {
    const u = new Float64Array(n);
    philoxUniformFill(seed, u);
    for (let i = 0; i < n; i++) mask[i] = u[i] >= rate ? scale : 0;
  }
  // Multiply by the stored mask (already rounded to the array type), so y === x * mask holds exactly in float32 too.
  for (let i = 0; i < n; i++) y[i] = xd[i] * mask[i];
  return { y: { data: y, shape: [...x.shape] }, mask: { data: mask, shape: [...x.shape] } };
}
