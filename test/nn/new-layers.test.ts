/**
 * UpSampling2D, Cropping1D / 2D, the elementwise merges (Multiply, Subtract, Average, Maximum, Minimum) and
 * SpatialDropout1D / 2D: outputs against independent oracles, shape inference and its errors, config round trips
 * and a save / load of a model using all of them, and gradients by float64 finite differences (tapecheck).
 *
 * Oracles. Nearest upsampling, cropping and the merges are index arithmetic, checked against loops written here
 * (exact: the layers move or combine the same float32 values with one rounding, as the loops do in float32 via
 * Math.fround). Bilinear upsampling is checked twice: against a float64 loop of tf.image.resize's half-pixel rule
 * written from TF's compute_interpolation_weights (in = (o + 0.5) / s - 0.5, lower = max(floor(in), 0), upper =
 * min(ceil(in), len - 1), lerp = in - floor(in)), and against PyTorch's nn.Upsample(scale_factor, 'bilinear',
 * align_corners=False) and 'nearest' through /usr/bin/python3 (skipped with the reason when torch is missing),
 * which also confirms that PyTorch's rule equals TF's for integer factors. Bilinear taps are float32 lerps of
 * O(1) values: a few ulps apart between implementations, so 1e-6 absolute (~8 ulp at 1) bounds the difference.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import {
  Average, Cropping1D, Cropping2D, Maximum, Minimum, Multiply, SpatialDropout1D, SpatialDropout2D, Subtract, UpSampling2D,
  input, layerFromConfig, layers, model, withWeights, type Layer,
} from '../../src/nn/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { tapeGradCheck, randF64, distinctF64 } from '../helpers/tapecheck.js';

const PYTHON = '/usr/bin/python3';
function torchMissing(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? null : `${PYTHON} cannot import torch (apt-get install -y python3-torch)`;
}
const missing = torchMissing();
if (missing) console.warn(`new-layers.test: PyTorch oracle skipped: ${missing}`);

const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-new-layers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const f = Math.fround;
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Flat NHWC index. */
function at(shape: readonly number[], ...idx: number[]): number {
  let o = 0;
  for (let i = 0; i < shape.length; i++) o = o * shape[i] + idx[i];
  return o;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

// ---------------------------------------------------------------------------------------------------------------
// Oracles

/** Keras' repeat_elements along rows and columns. */
function nearestOracle(x: Tensor, sh: number, sw: number): Float32Array {
  const [n, h, w, c] = x.shape;
  const out = new Float32Array(n * h * sh * w * sw * c);
  const os = [n, h * sh, w * sw, c];
  for (let b = 0; b < n; b++) for (let i = 0; i < h * sh; i++) for (let j = 0; j < w * sw; j++) for (let k = 0; k < c; k++) {
    out[at(os, b, i, j, k)] = x.data[at(x.shape, b, Math.floor(i / sh), Math.floor(j / sw), k)];
  }
  return out;
}

/** tf.image.resize bilinear (half-pixel) in float64, from TF's compute_interpolation_weights. */
function bilinearOracle(x: Tensor, sh: number, sw: number): Float64Array {
  const [n, h, w, c] = x.shape;
  const taps = (o: number, s: number, len: number): [number, number, number] => {
    const p = (o + 0.5) / s - 0.5;
    const fl = Math.floor(p);
    return [Math.max(fl, 0), Math.min(Math.ceil(p), len - 1), p - fl];
  };
  const os = [n, h * sh, w * sw, c];
  const out = new Float64Array(size(os));
  for (let b = 0; b < n; b++) for (let i = 0; i < h * sh; i++) for (let j = 0; j < w * sw; j++) for (let k = 0; k < c; k++) {
    const [y0, y1, fy] = taps(i, sh, h);
    const [x0, x1, fx] = taps(j, sw, w);
    const v = (r: number, q: number) => x.data[at(x.shape, b, r, q, k)];
    const top = v(y0, x0) + (v(y0, x1) - v(y0, x0)) * fx;
    const bottom = v(y1, x0) + (v(y1, x1) - v(y1, x0)) * fx;
    out[at(os, b, i, j, k)] = top + (bottom - top) * fy;
  }
  return out;
}

/** nn.Upsample in PyTorch on NHWC data (permuted to NCHW and back). */
function torchUpsample(x: Tensor, cases: { size: [number, number]; mode: 'nearest' | 'bilinear' }[]): number[][] {
  const script = `
import json, sys, torch
a = json.load(sys.stdin)
x = torch.tensor(a['x'], dtype=torch.float32).reshape(a['shape']).permute(0, 3, 1, 2)
out = []
for c in a['cases']:
    kw = {'align_corners': False} if c['mode'] == 'bilinear' else {}
    up = torch.nn.Upsample(scale_factor=tuple(float(s) for s in c['size']), mode=c['mode'], **kw)
    out.append(up(x).permute(0, 2, 3, 1).reshape(-1).tolist())
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify({ x: Array.from(x.data), shape: x.shape, cases }), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`torch oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[][];
}

/** NumPy broadcasting of same-rank shapes, then fold (float32 after each step, as the tensor ops round). */
function mergeOracle(xs: Tensor[], fold: (acc: number, v: number) => number, finish = (v: number) => v): Float32Array {
  const shape = xs[0].shape.map((_, i) => Math.max(...xs.map((x) => x.shape[i])));
  const out = new Float32Array(size(shape));
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let r = o;
    for (let i = shape.length - 1; i >= 0; i--) {
      idx[i] = r % shape[i];
      r = Math.floor(r / shape[i]);
    }
    const vals = xs.map((x) => x.data[at(x.shape, ...idx.map((v, i) => (x.shape[i] === 1 ? 0 : v)))]);
    out[o] = f(finish(vals.slice(1).reduce((a, v) => f(fold(a, v)), vals[0])));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------

describe('UpSampling2D', () => {
  const x = randn([2, 3, 4, 2], { seed: 5 });

  it("'nearest' repeats rows and columns (Keras' repeat_elements), exactly", () => {
    for (const s of [2, [3, 2], [1, 3]] as const) {
      const l = layers.upSampling2d({ size: s as number | [number, number] });
      const [sh, sw] = typeof s === 'number' ? [s, s] : s;
      const y = l.apply(x);
      expect(y.shape).toEqual([2, 3 * sh, 4 * sw, 2]);
      expect(Array.from(y.data)).toEqual(Array.from(nearestOracle(x, sh, sw)));
    }
    expect(layers.upSampling2d({ size: 1 }).apply(x)).toBe(x);
  });

  it("'bilinear' is tf.image.resize's half-pixel rule (a float64 loop of TF's formula)", () => {
    for (const [sh, sw] of [[2, 2], [3, 2], [1, 4]]) {
      const y = layers.upSampling2d({ size: [sh, sw], interpolation: 'bilinear' }).apply(x);
      expect(y.shape).toEqual([2, 3 * sh, 4 * sw, 2]);
      expect(maxAbsDiff(y.data, bilinearOracle(x, sh, sw))).toBeLessThan(1e-6);
    }
  });

  it.skipIf(missing !== null)('matches PyTorch nn.Upsample (nearest; bilinear, align_corners=False), which equals TF for integer factors', () => {
    const cases = [
      { size: [2, 2] as [number, number], mode: 'nearest' as const }, { size: [3, 2] as [number, number], mode: 'nearest' as const },
      { size: [2, 2] as [number, number], mode: 'bilinear' as const }, { size: [3, 2] as [number, number], mode: 'bilinear' as const },
    ];
    const t = torchUpsample(x, cases);
    cases.forEach((c, i) => {
      const y = layers.upSampling2d({ size: c.size, interpolation: c.mode }).apply(x);
      const tol = c.mode === 'nearest' ? 0 : 1e-6;
      expect(maxAbsDiff(y.data, t[i]), `${c.mode} ${c.size}`).toBeLessThanOrEqual(tol);
      // The independent TF loop agrees with PyTorch too: the two oracles describe the same resampling.
      if (c.mode === 'bilinear') expect(maxAbsDiff(bilinearOracle(x, ...c.size), t[i])).toBeLessThan(1e-6);
    });
  });

  it('infers shapes (unknown lengths stay unknown) and rejects bad options and inputs', () => {
    const s = layers.upSampling2d({ size: [2, 3] }).apply(input({ shape: [null, 5, 4] }));
    expect(s.shape).toEqual([null, null, 15, 4]);
    expect(() => layers.upSampling2d({ size: 0 })).toThrow(ValueError);
    expect(() => layers.upSampling2d({ size: [2, 1.5] as [number, number] })).toThrow(/option 'size\[1\]' must be a positive integer/);
    expect(() => layers.upSampling2d({ interpolation: 'bicubic' as 'nearest' })).toThrow(/option 'interpolation' must be 'nearest' or 'bilinear', got "bicubic"/);
    expect(() => layers.upSampling2d({ sizes: 2 } as never)).toThrow(/unknown option 'sizes'/);
    expect(() => layers.upSampling2d().apply(randn([2, 3, 4]))).toThrow(ShapeError);
    expect(() => layers.upSampling2d().apply(randn([2, 3, 4]))).toThrow(/must have rank 4 \[N, H, W, C\]/);
  });
});

describe('Cropping1D and Cropping2D', () => {
  it('Cropping2D removes [[top, bottom], [left, right]] (all three option forms), exactly', () => {
    const x = randn([2, 6, 7, 3], { seed: 6 });
    for (const [cropping, [[t, b], [l, r]]] of [
      [1, [[1, 1], [1, 1]]], [[2, 1], [[2, 2], [1, 1]]], [[[0, 3], [2, 0]], [[0, 3], [2, 0]]],
    ] as const) {
      const layer = layers.cropping2d({ cropping: cropping as never });
      expect(layer.cropping).toEqual([[t, b], [l, r]]);
      const y = layer.apply(x);
      const os = [2, 6 - t - b, 7 - l - r, 3];
      expect(y.shape).toEqual(os);
      const want = new Float32Array(size(os));
      for (let n = 0; n < 2; n++) for (let i = 0; i < os[1]; i++) for (let j = 0; j < os[2]; j++) for (let k = 0; k < 3; k++) {
        want[at(os, n, i, j, k)] = x.data[at(x.shape, n, i + t, j + l, k)];
      }
      expect(Array.from(y.data)).toEqual(Array.from(want));
    }
    expect(layers.cropping2d().apply(x)).toBe(x); // Keras' default ((0, 0), (0, 0))
  });

  it('Cropping1D removes [start, end] steps of the time axis (default 1 each), exactly', () => {
    const x = randn([2, 7, 3], { seed: 7 });
    for (const [cropping, [a, b]] of [[undefined, [1, 1]], [2, [2, 2]], [[0, 3], [0, 3]]] as const) {
      const y = layers.cropping1d(cropping === undefined ? {} : { cropping: cropping as never }).apply(x);
      const os = [2, 7 - a - b, 3];
      expect(y.shape).toEqual(os);
      const want = new Float32Array(size(os));
      for (let n = 0; n < 2; n++) for (let i = 0; i < os[1]; i++) for (let k = 0; k < 3; k++) want[at(os, n, i, k)] = x.data[at(x.shape, n, i + a, k)];
      expect(Array.from(y.data)).toEqual(Array.from(want));
    }
  });

  it('shape inference, and clear errors for crops that leave nothing and for bad options', () => {
    expect(layers.cropping2d({ cropping: [[1, 2], [0, 1]] }).apply(input({ shape: [null, 8, 5] })).shape).toEqual([null, null, 7, 5]);
    expect(layers.cropping1d({ cropping: [2, 3] }).apply(input({ shape: [10, 4] })).shape).toEqual([null, 5, 4]);
    expect(() => layers.cropping2d({ cropping: [[2, 2], [0, 0]] }).apply(input({ shape: [4, 5, 1] }))).toThrow(ShapeError);
    expect(() => layers.cropping2d({ cropping: [[2, 2], [0, 0]] }).apply(input({ shape: [4, 5, 1] })))
      .toThrow(/cropping 2 \+ 2 from the height leaves nothing of the input \[null,4,5,1\]/);
    // Unknown at build, too small at run time: caught on the concrete input.
    const lazy = layers.cropping2d({ cropping: [0, 3] });
    lazy.apply(input({ shape: [null, null, 2] }));
    expect(() => lazy.apply(randn([1, 4, 6, 2]))).toThrow(/cropping 3 \+ 3 from the width leaves nothing/);
    expect(() => layers.cropping1d({ cropping: 4 }).apply(randn([1, 8, 2]))).toThrow(/from the time axis leaves nothing/);
    expect(() => layers.cropping2d({ cropping: -1 })).toThrow(/option 'cropping' must be a non-negative integer/);
    expect(() => layers.cropping2d({ cropping: [[1, 2], [3]] as never })).toThrow(/must be n, \[rows, cols\] or \[\[top, bottom\], \[left, right\]\]/);
    expect(() => layers.cropping1d({ cropping: [1, 2, 3] as never })).toThrow(/must be n or \[start, end\]/);
    expect(() => layers.cropping1d().apply(randn([2, 5, 3, 1]))).toThrow(/must have rank 3 \[N, T, C\]/);
  });
});

describe('merges: Multiply, Subtract, Average, Maximum, Minimum', () => {
  const a = randn([2, 3, 4], { seed: 8 });
  const b = randn([2, 3, 4], { seed: 9 });
  const c = randn([1, 3, 1], { seed: 10 }); // broadcasts over the batch and the last axis

  it('compute elementwise with broadcasting, in Keras order', () => {
    const cases: [Layer, Tensor[], (acc: number, v: number) => number, ((v: number) => number)?][] = [
      [layers.multiply(), [a, b, c], (p, v) => p * v],
      [layers.subtract(), [a, c], (p, v) => p - v],
      [layers.average(), [a, b, c], (p, v) => p + v, (v) => v / 3],
      [layers.maximum(), [a, b, c], Math.max],
      [layers.minimum(), [c, a], Math.min],
    ];
    for (const [layer, xs, fold, finish] of cases) {
      const y = layer.apply(xs);
      expect(y.shape, layer.className).toEqual([2, 3, 4]);
      expect(maxAbsDiff(y.data, mergeOracle(xs, fold, finish)), layer.className).toBe(0);
    }
  });

  it('infer shapes and reject wrong counts and mismatched shapes', () => {
    const p = input({ shape: [null, 4] });
    const q = input({ shape: [5, 1] });
    expect(layers.multiply().apply([p, q]).shape).toEqual([null, 5, 4]);
    expect(() => layers.subtract().apply([a, b, c])).toThrow(/expects 2 inputs, got 3/);
    expect(() => layers.maximum().apply(a)).toThrow(/expects at least 2 inputs, got 1 \(pass a list/);
    expect(() => layers.average().apply([a, randn([2, 3, 5])])).toThrow(ShapeError);
    expect(() => layers.minimum().apply([a, randn([2, 3, 5])])).toThrow(/inputs must have matching shapes \(or 1 to broadcast\) on axis 2, got \[2,3,4\], \[2,3,5\]/);
    expect(() => layers.multiply().apply([a, randn([2, 12])])).toThrow(/inputs must have the same rank/);
    expect(() => layers.average({ axis: 1 } as never)).toThrow(/unknown option 'axis'/);
  });
});

describe('SpatialDropout1D and SpatialDropout2D', () => {
  it('drop whole channels per example (noise shape [N, 1, 1, C]), scale the rest by 1 / (1 - rate); identity in inference', () => {
    const rate = 0.3;
    const [n, h, w, c] = [40, 3, 2, 25];
    const x = randn([n, h, w, c], { seed: 11 }).abs().add(0.5); // nonzero everywhere, so a zero means dropped
    const layer = layers.spatialDropout2d({ rate, seed: 4 });
    expect(layer.apply(x)).toBe(x);
    const y = layer.apply(x, { training: true });
    let dropped = 0;
    for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) {
      const kept = y.data[at(y.shape, b, 0, 0, k)] !== 0;
      if (!kept) dropped++;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
        const o = at(y.shape, b, i, j, k);
        expect(y.data[o]).toBe(kept ? f(x.data[o] * f(1 / (1 - rate))) : 0);
      }
    }
    // 1000 Bernoulli(0.3) channel draws: mean 300, sd 14.5; 5 sd either side.
    expect(Math.abs(dropped - rate * n * c)).toBeLessThan(5 * Math.sqrt(n * c * rate * (1 - rate)));
    // The same seed replays the same masks on a rebuilt layer; the next call draws a new one.
    const again = layerFromConfig(layer.getConfig()).apply(x, { training: true });
    expect(Array.from(again.data)).toEqual(Array.from(y.data));
    expect(Array.from(layer.apply(x, { training: true }).data)).not.toEqual(Array.from(y.data));
  });

  it('SpatialDropout1D drops whole channels of [N, T, C]', () => {
    const x = randn([30, 5, 20], { seed: 12 }).abs().add(0.5);
    const y = layers.spatialDropout1d({ rate: 0.5, seed: 1 }).apply(x, { training: true });
    let dropped = 0;
    for (let b = 0; b < 30; b++) for (let k = 0; k < 20; k++) {
      const col = Array.from({ length: 5 }, (_, t) => y.data[at(y.shape, b, t, k)]);
      if (col[0] === 0) dropped++;
      for (let t = 0; t < 5; t++) expect(col[t] === 0).toBe(col[0] === 0);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(600);
  });

  it('reject bad rates, seeds and ranks', () => {
    expect(() => layers.spatialDropout2d({ rate: 1 })).toThrow(/option 'rate' must be in \[0, 1\), got 1/);
    expect(() => layers.spatialDropout1d({ rate: 0.2, seed: -3 })).toThrow(/option 'seed' must be a non-negative integer/);
    expect(() => layers.spatialDropout2d({ rate: 0.2 }).apply(randn([2, 3, 4]), { training: true })).toThrow(/must have rank 4 \[N, H, W, C\]/);
    expect(() => layers.spatialDropout1d({ rate: 0.2 }).apply(randn([2, 3, 4, 1]))).toThrow(/must have rank 3 \[N, T, C\]/);
  });
});

describe('configs and save / load', () => {
  it('getConfig / layerFromConfig round trip every new layer', () => {
    const made: Layer[] = [
      layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }), layers.cropping2d({ cropping: [[1, 0], [2, 3]] }),
      layers.cropping1d({ cropping: [0, 2] }), layers.multiply(), layers.subtract(), layers.average(), layers.maximum(), layers.minimum(),
      layers.spatialDropout1d({ rate: 0.25, seed: 3 }), layers.spatialDropout2d({ rate: 0.5 }),
    ];
    const classes = [UpSampling2D, Cropping2D, Cropping1D, Multiply, Subtract, Average, Maximum, Minimum, SpatialDropout1D, SpatialDropout2D];
    made.forEach((l, i) => {
      const cfg = l.getConfig();
      const back = layerFromConfig(JSON.parse(JSON.stringify(cfg)));
      expect(back).toBeInstanceOf(classes[i]);
      expect(back.constructor).toBe(classes[i]);
      expect(back.getConfig()).toEqual(cfg);
    });
    expect(made[0].getConfig()).toMatchObject({ className: 'UpSampling2D', size: [2, 3], interpolation: 'bilinear' });
    expect(made[1].getConfig()).toMatchObject({ className: 'Cropping2D', cropping: [[1, 0], [2, 3]] });
    expect(made[8].getConfig()).toMatchObject({ className: 'SpatialDropout1D', rate: 0.25, seed: 3 });
  });

  it('a model with every new layer saves and loads with the same config and predictions; summary lists them', async () => {
    const inp = input({ shape: [6, 5, 3], name: 'img' });
    let x = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(inp);
    x = layers.spatialDropout2d({ rate: 0.3, seed: 1 }).apply(x);
    const up = layers.upSampling2d({ size: 2 }).apply(x); // [12,10,4]
    const bi = layers.upSampling2d({ size: 2, interpolation: 'bilinear' }).apply(x);
    const merged = [layers.multiply(), layers.subtract(), layers.average(), layers.maximum(), layers.minimum()].map((l) => l.apply([up, bi]));
    let y = layers.concatenate().apply(merged); // [12,10,20]
    y = layers.cropping2d({ cropping: [[1, 2], [0, 3]] }).apply(y); // [9,7,20]
    y = layers.reshape({ targetShape: [63, 20] }).apply(y);
    y = layers.spatialDropout1d({ rate: 0.2 }).apply(y);
    y = layers.cropping1d({ cropping: [3, 0] }).apply(y); // [60,20]
    const m = model({ inputs: inp, outputs: y, name: 'new_layers' });
    expect(m.outputs[0].shape).toEqual([null, 60, 20]);
    const lines: string[] = [];
    m.summary({ printFn: (s: string) => lines.push(s) });
    const text = lines.join('\n');
    for (const cls of ['UpSampling2D', 'Cropping2D', 'Cropping1D', 'Multiply', 'Subtract', 'Average', 'Maximum', 'Minimum', 'SpatialDropout2D', 'SpatialDropout1D']) {
      expect(text).toContain(cls);
    }

    const xs = randn([2, 6, 5, 3], { seed: 13 });
    const before = m.predictOnBatch(xs) as Tensor;
    await saveModel(m, tmp);
    const back = await loadModel(tmp);
    expect(back.getConfig()).toEqual(m.getConfig());
    expect(Array.from((back.predictOnBatch(xs) as Tensor).data)).toEqual(Array.from(before.data));
  });
});

describe('gradients (float64 finite differences through the tape)', () => {
  let seed = 300;
  function check(what: string, layer: Layer, shapes: number[][], o: { training?: boolean; distinct?: boolean } = {}): void {
    // Distinct values across all the inputs together, so that no two inputs tie anywhere either.
    const all = distinctF64([shapes.reduce((n, s) => n + size(s), 0)], seed++).data;
    let off = 0;
    const xs = shapes.map((s) => {
      if (!o.distinct) return randF64(s, seed++);
      off += size(s);
      return new Tensor(all.slice(off - size(s), off), s);
    });
    tapeGradCheck({
      what,
      inputs: xs,
      maxPerInput: 60,
      fn: (...ins) => withWeights(new Map(), () => layer.apply(ins.length === 1 ? ins[0] : ins, { training: o.training ?? false })),
    });
  }

  it('UpSampling2D (nearest and bilinear), Cropping1D and Cropping2D', () => {
    check('upSampling2d nearest', layers.upSampling2d({ size: [2, 3] }), [[2, 3, 2, 2]]);
    check('upSampling2d bilinear', layers.upSampling2d({ size: [3, 2], interpolation: 'bilinear' }), [[1, 3, 4, 2]]);
    check('cropping2d', layers.cropping2d({ cropping: [[1, 0], [2, 1]] }), [[2, 4, 5, 2]]);
    check('cropping1d', layers.cropping1d({ cropping: [1, 2] }), [[2, 6, 3]]);
  });

  it('merges, with broadcasting (maximum / minimum on well-separated values: no ties within h)', () => {
    check('multiply', layers.multiply(), [[2, 3, 4], [2, 3, 4], [1, 3, 1]]);
    check('subtract', layers.subtract(), [[2, 3, 4], [2, 1, 4]]);
    check('average', layers.average(), [[2, 3, 4], [1, 3, 4], [2, 3, 4]]);
    check('maximum', layers.maximum(), [[2, 3, 4], [2, 3, 4], [2, 3, 4]], { distinct: true });
    check('minimum', layers.minimum(), [[2, 3, 4], [2, 3, 4]], { distinct: true });
  });

  it('SpatialDropout in training: the gradient is the channel mask (a fresh seeded layer per call replays it)', () => {
    const x = randF64([3, 2, 2, 5], seed++);
    tapeGradCheck({ what: 'spatialDropout2d', inputs: [x], fn: (t) => layers.spatialDropout2d({ rate: 0.4, seed: 3 }).apply(t, { training: true }) });
    const x1 = randF64([3, 4, 5], seed++);
    tapeGradCheck({ what: 'spatialDropout1d', inputs: [x1], fn: (t) => layers.spatialDropout1d({ rate: 0.4, seed: 5 }).apply(t, { training: true }) });
  });
});
