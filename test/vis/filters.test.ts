/**
 * Filter visualisation by gradient ascent.
 *
 * - The gradient the ascent follows is d(mean activation of filter f away from the border)/d(input): checked by
 *   central differences in float64 (the model's weights substituted by float64 copies with withWeights; the
 *   error analysis of test/helpers/tapecheck.ts: h = 1e-5, O(1) values, so 1e-6 relative has two orders of margin).
 *   The model uses tanh, so the loss is smooth.
 * - One step from a grey image moves it by learningRate * g / ||g||, g from those finite differences (float32
 *   arithmetic in the step: 1e-5 absolute is ~100 float32 ulps of the O(1) pixels).
 * - On a ReLU network the activation grows: after 20 steps it is well above the start.
 * - Only the layers up to the target run; the result's pixels are the book's deprocess of the returned input.
 */
import { describe, expect, it } from 'vitest';

import { ShapeError, ValueError } from '../../src/errors.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Layer, layers, sequential, withWeights, type Model, type Variable } from '../../src/nn/index.js';
import { manualSeed } from '../../src/tensor/random.js';
import { filterAscent, filterGrid, filterLoss, filterLossAndGradient, visualizeFilter } from '../../src/vis/filters.js';
import { uniformF64 } from '../helpers/random.js';

class Spy extends Layer {
  static override readonly className = 'Spy';
  calls = 0;
  call(inputs: Tensor | Tensor[]): Tensor {
    this.calls++;
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

function tanhModel(): { m: Model; spy: Spy } {
  manualSeed(11);
  const spy = new Spy({ name: 'spy' });
  const m = sequential([
    layers.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh', name: 'c1' }),
    layers.conv2d({ filters: 2, kernelSize: 3, activation: 'tanh', name: 'c2' }),
    spy,
    layers.flatten({ name: 'flat' }),
    layers.dense({ units: 4, activation: 'tanh', name: 'units' }),
    layers.reshape({ targetShape: [2, 2], name: 'rank3' }),
  ], { inputShape: [10, 10, 1] });
  return { m, spy };
}

/** float64 copies of every weight, for withWeights. */
function f64Weights(m: Model): Map<Variable, Tensor> {
  return new Map(m.weights.map((v) => [v, new Tensor(Float64Array.from(v.value.data), v.shape)]));
}

/** Central differences of the filter loss at x (float64), every element. */
function numericGradient(loss: (x: Tensor) => number, x: Float64Array, shape: number[], h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const lp = loss(new Tensor(x, shape));
    x[i] = saved - h;
    const lm = loss(new Tensor(x, shape));
    x[i] = saved;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

describe('visualizeFilter', () => {
  it('follows the gradient of the mean activation (finite differences in float64): a conv filter and a dense unit', () => {
    const { m } = tanhModel();
    const shape = [1, 10, 10, 1];
    const w64 = f64Weights(m);
    for (const [layer, f] of [['c2', 1], ['c1', 2], ['units', 3]] as const) {
      const a = filterAscent('test', m, layer, undefined, undefined);
      expect(a.border).toBe(layer === 'units' ? 0 : 2); // maps of 6x6 and 8x8: larger than 4x4
      const x = uniformF64(100, 20 + f, 0, 1);
      const { grad } = withWeights(w64, () => filterLossAndGradient(a, new Tensor(Float64Array.from(x), shape), f));
      expect(grad.dtype).toBe('float64');
      const num = numericGradient((t) => withWeights(w64, () => filterLoss(a, t, f).item()), x, shape);
      const scale = Math.max(1, ...Array.from(num, Math.abs));
      for (let i = 0; i < 100; i++) expect(Math.abs(grad.data[i] - num[i]), `${layer} element ${i}`).toBeLessThanOrEqual(1e-6 * scale);
      // The loss ignores the border: pixel (0, 0) reaches only border outputs of c2 (receptive field 5x5).
      if (layer === 'c2') expect(num[0]).toBe(0);
    }
  });

  it('one step from grey moves the image by learningRate * g / ||g||', async () => {
    const { m } = tanhModel();
    const a = filterAscent('test', m, 'c2', undefined, undefined);
    const w64 = f64Weights(m);
    const grey = new Float64Array(100).fill(0.5);
    const g = numericGradient((t) => withWeights(w64, () => filterLoss(a, t, 0).item()), grey, [1, 10, 10, 1]);
    const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
    expect(norm).toBeGreaterThan(1e-3);
    const r = await visualizeFilter(m, 'c2', 0, { steps: 1, start: 'grey', learningRate: 0.5 });
    expect(r.input.shape).toEqual([1, 10, 10, 1]);
    for (let i = 0; i < 100; i++) expect(Math.abs(r.input.data[i] - (0.5 + (0.5 * g[i]) / norm)), `pixel ${i}`).toBeLessThanOrEqual(1e-5);
    expect(r.losses).toHaveLength(2);
    expect(r.losses[1]).toBeGreaterThan(r.losses[0]);
  });

  it('runs only the layers up to the target', async () => {
    const { m, spy } = tanhModel();
    await visualizeFilter(m, 'c2', 0, { steps: 3, seed: 1 });
    expect(spy.calls).toBe(0);
    await visualizeFilter(m, 'units', 0, { steps: 1, seed: 1 });
    expect(spy.calls).toBe(2); // one forward for the step, one for the final loss
  });

  it('raises the activation of a ReLU filter well above its start; the pixels are the deprocessed input, cropped', async () => {
    manualSeed(5);
    const m = sequential([
      layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'c1' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', name: 'c2' }),
    ], { inputShape: [24, 24, 1] });
    let alive = 0;
    for (let f = 0; f < 8; f++) {
      const r = await visualizeFilter(m, 'c2', f, { steps: 20, learningRate: 1, seed: 3 });
      const { losses } = r;
      expect(losses).toHaveLength(21);
      expect(Array.from(r.input.data).every(Number.isFinite)).toBe(true);
      if (r.silent) {
        // Zero on the start and on every wider restart: nothing to show, a flat grey cell.
        expect(r.restarts).toBe(3);
        expect(losses.every((v) => v === 0)).toBe(true);
        expect(r.data.every((v) => v === 128)).toBe(true);
        continue;
      }
      alive++;
      // Along g/||g|| the loss of a piecewise-linear network rises by learningRate ||g|| per step until a kink is
      // crossed; require 5 first steps' worth over 20 steps, and few setbacks.
      const firstRise = losses[1] - losses[0];
      expect(firstRise).toBeGreaterThan(0);
      expect(losses[20] - losses[0]).toBeGreaterThan(5 * firstRise);
      let setbacks = 0;
      for (let i = 1; i <= 20; i++) if (losses[i] < losses[i - 1]) setbacks++;
      expect(setbacks).toBeLessThanOrEqual(3);
      // Deprocess: standardise, * 64 + 128, clip, round; crop floor(24 / 8) = 3 per side.
      const x = Array.from(r.input.data);
      const mean = x.reduce((s, v) => s + v, 0) / x.length;
      const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
      expect([r.width, r.height, r.channels]).toEqual([18, 18, 1]);
      for (let yy = 0; yy < 18; yy++) {
        for (let xx = 0; xx < 18; xx++) {
          const v = x[(yy + 3) * 24 + xx + 3];
          expect(r.data[yy * 18 + xx]).toBe(Math.min(255, Math.max(0, Math.round(((v - mean) / std) * 64 + 128))));
        }
      }
    }
    expect(alive).toBeGreaterThan(0);
  });

  it('a filter silent on the start image starts again from noise over the whole range; one silent everywhere is flat grey', async () => {
    // relu(x + b) on 1x1 kernels: b = -0.65 is zero on the 0.4-0.6 start but not on [0, 1) noise; b = -2 is zero on all.
    const m = sequential([layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu', name: 'c' })], { inputShape: [8, 8, 1] });
    m.getLayer('c').setWeights([new Tensor(Float32Array.from([1, 1]), [1, 1, 1, 2]), new Tensor(Float32Array.from([-0.65, -2]), [2])]);
    const woken = await visualizeFilter(m, 'c', 0, { steps: 5, learningRate: 0.5, seed: 2, crop: 0 });
    expect([woken.silent, woken.restarts]).toEqual([false, 1]);
    expect(woken.losses[0]).toBeGreaterThan(0);
    expect(woken.losses[5]).toBeGreaterThan(woken.losses[0]);
    const silent = await visualizeFilter(m, 'c', 1, { steps: 5, seed: 2 });
    expect([silent.silent, silent.restarts, silent.losses]).toEqual([true, 3, [0, 0, 0, 0, 0, 0]]);
    expect([silent.width, silent.height]).toEqual([6, 6]);
    expect(silent.data.every((v) => v === 128)).toBe(true);
    const grid = await filterGrid(m, 'c', { steps: 2, seed: 2 });
    expect(grid.silent).toEqual([false, true]);
  });

  it('rejects bad arguments', async () => {
    const { m } = tanhModel();
    const rejects = async (p: Promise<unknown>, Kind: new (...a: never[]) => Error, ...parts: string[]) => {
      const e = await p.then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(Kind);
      for (const s of parts) expect((e as Error).message).toContain(s);
    };
    await rejects(visualizeFilter(m, 'nope', 0), ValueError, "no layer named 'nope'", "'c1'");
    await rejects(visualizeFilter(m, 'c2', 2), ValueError, 'filterIndex 2 is out of range', '2 filters');
    await rejects(visualizeFilter(m, 'rank3', 0), ShapeError, "'rank3'", '4-D');
    await rejects(visualizeFilter(m, 'c2', 0, { size: 12 }), ValueError, "'size'", 'does not fit');
    await rejects(visualizeFilter(m, 'c2', 0, { crop: 5 }), ValueError, "'crop'");
    await rejects(visualizeFilter(m, 'c2', 0, { border: 3 }), ValueError, "'border'");
    await rejects(visualizeFilter(m, 'c2', 0, { start: 'white' as 'grey' }), ValueError, "'start'");
    await rejects(visualizeFilter(m, 'c2', 0, { learningRate: 0 }), ValueError, "'learningRate'");
    await rejects(visualizeFilter(m, 'c2', 0, { stpes: 3 } as object), ValueError, "unknown option 'stpes'");
    await rejects(visualizeFilter({} as Model, 'c2', 0), ValueError, "'model'");
    await rejects(filterGrid(m, 'c2', { count: 3 }), ValueError, "'count' = 3", '2 filters');
    await rejects(filterGrid(m, 'c2', { count: 1, filters: [0] }), ValueError, 'not both');
  });
});

describe('filterGrid', () => {
  it('tiles the patterns of the first N filters; each cell is visualizeFilter of that filter', async () => {
    manualSeed(6);
    const m = sequential([layers.conv2d({ filters: 5, kernelSize: 3, activation: 'relu', name: 'c' })], { inputShape: [12, 12, 3] });
    const seen: number[] = [];
    const g = await filterGrid(m, 'c', { count: 3, steps: 4, start: 'grey', learningRate: 2, crop: 1, padding: 2, seed: 10, onProgress: (d) => seen.push(d) });
    expect(seen).toEqual([1, 2, 3]);
    expect(g.filters).toEqual([0, 1, 2]);
    expect([g.width, g.height, g.channels]).toEqual([2 * 10 + 2, 2 * 10 + 2, 3]);
    for (const f of [0, 1, 2]) {
      const one = await visualizeFilter(m, 'c', f, { steps: 4, start: 'grey', learningRate: 2, crop: 1, seed: 10 + f });
      expect(g.silent[f]).toBe(one.silent);
      expect(g.losses[f]).toEqual(one.losses);
      const r = Math.floor(f / 2), q = f % 2;
      for (let y = 0; y < 10; y++) {
        const row = g.data.subarray(((r * 12 + y) * g.width + q * 12) * 3, ((r * 12 + y) * g.width + q * 12 + 10) * 3);
        expect(Buffer.from(row).equals(Buffer.from(one.data.subarray(y * 30, (y + 1) * 30))), `filter ${f} row ${y}`).toBe(true);
      }
    }
    // The unused fourth cell is background (black by default).
    expect(g.data[(12 * g.width + 12) * 3]).toBe(0);
  });
});
