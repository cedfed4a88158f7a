/**
 * The random augmentation layers (src/nn/augmentation.ts). The sampler itself is checked against its oracle in
 * augmentation-sampling.test.ts; here each layer's wiring: exact cases by hand (flips, a 90-degree rotation,
 * whole-pixel translations, crops), and otherwise the layer against the documented transform built in the test from
 * parameters drawn as the layer documents (one set per image, in batch order, from Generator(seed)); identity in
 * inference and in model.predict; seeds; configs; shapes; gradients; bad options.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { Generator, manualSeed } from '../../src/tensor/random.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { type Layer, layerFromConfig, layers, sequential } from '../../src/nn/index.js';
import { affineTransform } from '../../src/nn/image-sampling.js';
import { optimizers } from '../../src/index.js';
import { assertClose } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { uniformF64 } from '../helpers/random.js';

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const rnd = (shape: number[], seed: number, lo = 0, hi = 1): Tensor => new Tensor(Float32Array.from(uniformF64(sizeOf(shape), seed, lo, hi)), shape);
const iota = (shape: number[]): Tensor => new Tensor(Float32Array.from({ length: sizeOf(shape) }, (_, i) => i), shape);
const arr = (t: Tensor): number[] => Array.from(t.data);
const u = (g: Generator, lo: number, hi: number): number => lo + (hi - lo) * g.nextFloat64();

/** One of every random layer, seeded, with options that make each act visibly. */
function everyLayer(seed = 5): Layer[] {
  return [
    layers.randomFlip({ seed }),
    layers.randomRotation({ factor: 0.2, seed }),
    layers.randomZoom({ heightFactor: 0.3, widthFactor: [-0.2, 0.1], seed }),
    layers.randomTranslation({ heightFactor: 0.2, widthFactor: [-0.1, 0.3], fillMode: 'constant', fillValue: 0.5, seed }),
    layers.randomShear({ xFactor: 0.3, yFactor: [0.1, 0.2], fillMode: 'wrap', interpolation: 'nearest', seed }),
    layers.randomCrop({ height: 6, width: 7, seed }),
    layers.randomContrast({ factor: 0.5, valueRange: [0, 1], seed }),
    layers.randomBrightness({ factor: [-0.2, 0.3], valueRange: [0, 1], seed }),
    layers.gaussianNoise({ stddev: 0.1, seed }),
  ];
}

/** [a0..c1] of Keras' rotation about the centre. */
function rotation(theta: number, h: number, w: number): number[] {
  const c = Math.cos(theta), s = Math.sin(theta);
  return [c, -s, ((w - 1) - (c * (w - 1) - s * (h - 1))) / 2, s, c, ((h - 1) - (s * (w - 1) + c * (h - 1))) / 2, 0, 0];
}

describe('inference is the identity', () => {
  it('every random layer but RandomCrop returns its float input itself with training false (the default)', () => {
    const x = rnd([3, 8, 9, 2], 1);
    for (const layer of everyLayer()) {
      if (layer.className === 'RandomCrop') continue;
      expect(layer.apply(x), layer.className).toBe(x);
      expect(layer.apply(x, { training: false }), layer.className).toBe(x);
    }
  });

  it('int32 pixels come out as float32 with the same values; one image [H, W, C] keeps its rank', () => {
    const pixels = new Tensor(Int32Array.from({ length: 2 * 3 * 1 }, (_, i) => 40 * i), [2, 3, 1]);
    for (const layer of everyLayer()) {
      if (layer.className === 'RandomCrop') continue;
      const y = layer.apply(pixels);
      expect(y.dtype, layer.className).toBe('float32');
      expect(arr(y)).toEqual(arr(pixels));
      expect(layer.apply(pixels, { training: true }).shape, layer.className).toEqual([2, 3, 1]);
    }
  });

  it('model.predict through all of them returns the input; in training they change it', async () => {
    const x = rnd([10, 6, 7, 3], 2);
    const m = sequential(everyLayer(), { inputShape: [6, 7, 3] });
    const p = await m.predict(x, { batchSize: 4 });
    expect(arr(p)).toEqual(arr(x)); // RandomCrop's target is the input size: the identity too
    const t = m.apply(x, { training: true }) as Tensor;
    expect(t.shape).toEqual(x.shape);
    expect(arr(t)).not.toEqual(arr(x));
  });

  it('fit() runs them in training mode', async () => {
    const flip = layers.randomFlip({ mode: 'horizontal', seed: 3 });
    const m = sequential([flip, layers.randomTranslation({ heightFactor: 0.1, widthFactor: 0.1, seed: 4 }), layers.flatten(), layers.dense({ units: 2 })], { inputShape: [4, 4, 1] });
    m.compile({ optimizer: new optimizers.SGD({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
    const x = rnd([8, 4, 4, 1], 3);
    await m.fit(x, new Tensor(Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), [8]), { epochs: 1, batchSize: 4, verbose: 0 });
    // The seeded flip drew 8 flips during fit: its next call matches a fresh layer's second batch, not its first.
    const fresh = layers.randomFlip({ mode: 'horizontal', seed: 3 });
    const first = fresh.apply(x, { training: true });
    expect(arr(flip.apply(x, { training: true }))).toEqual(arr(fresh.apply(x, { training: true })));
    expect(arr(first)).not.toEqual(arr(fresh.apply(x, { training: true })));
  });
});

describe('seeds', () => {
  it('the same seed gives the same augmentations, call after call; a layer rebuilt from its config replays them', () => {
    const x = rnd([4, 8, 9, 2], 4);
    const a = everyLayer(11), b = everyLayer(11), c = everyLayer(12);
    for (let i = 0; i < a.length; i++) {
      const rebuilt = layerFromConfig(a[i].getConfig());
      const ya = a[i].apply(x, { training: true }), yb = b[i].apply(x, { training: true }), yr = rebuilt.apply(x, { training: true });
      expect(arr(ya), a[i].className).toEqual(arr(yb));
      expect(arr(yr), a[i].className).toEqual(arr(ya));
      expect(arr(a[i].apply(x, { training: true })), `${a[i].className} second call`).not.toEqual(arr(ya));
      expect(arr(c[i].apply(x, { training: true })), `${a[i].className} other seed`).not.toEqual(arr(ya));
    }
  });

  it('without a seed the layers draw from the global generator: manualSeed makes runs reproducible', () => {
    const x = rnd([4, 8, 9, 2], 5);
    const run = (): number[][] => {
      manualSeed(77);
      return [layers.randomRotation({ factor: 0.3 }), layers.gaussianNoise({ stddev: 1 }), layers.randomCrop({ height: 4, width: 4 })].map((l) => arr(l.apply(x, { training: true })));
    };
    expect(run()).toEqual(run());
  });
});

describe('RandomFlip', () => {
  const x = iota([64, 3, 4, 2]);
  const hflip = (img: number[]): number[] => [0, 1, 2].flatMap((i) => [3, 2, 1, 0].flatMap((j) => [img[(i * 4 + j) * 2], img[(i * 4 + j) * 2 + 1]]));
  const vflip = (img: number[]): number[] => [2, 1, 0].flatMap((i) => img.slice(i * 8, i * 8 + 8));
  function outcomes(mode: 'horizontal' | 'vertical' | 'horizontal_and_vertical'): Set<string> {
    const y = arr(layers.randomFlip({ mode, seed: 1 }).apply(x, { training: true }));
    const seen = new Set<string>();
    for (let b = 0; b < 64; b++) {
      const img = arr(x).slice(b * 24, b * 24 + 24), out = y.slice(b * 24, b * 24 + 24);
      const kinds: Record<string, number[]> = { none: img, h: hflip(img), v: vflip(img), hv: vflip(hflip(img)) };
      const kind = Object.keys(kinds).find((k) => kinds[k].every((v, i) => v === out[i]));
      expect(kind, `image ${b}`).toBeDefined();
      seen.add(kind!);
    }
    return seen;
  }
  it("mirrors each image left-right, top-bottom or both, each with probability 1/2 ('horizontal_and_vertical')", () => {
    expect([...outcomes('horizontal_and_vertical')].sort()).toEqual(['h', 'hv', 'none', 'v']);
    expect([...outcomes('horizontal')].sort()).toEqual(['h', 'none']);
    expect([...outcomes('vertical')].sort()).toEqual(['none', 'v']);
  });
  it('follows the documented draws: per image, u < 1/2 flips (horizontal first)', () => {
    const g = new Generator(9);
    const y = arr(layers.randomFlip({ seed: 9 }).apply(x.slice([0, 0, 0, 0], [8, 3, 4, 2]), { training: true }));
    for (let b = 0; b < 8; b++) {
      let img = arr(x).slice(b * 24, b * 24 + 24);
      if (g.nextFloat64() < 0.5) img = hflip(img);
      if (g.nextFloat64() < 0.5) img = vflip(img);
      expect(y.slice(b * 24, b * 24 + 24)).toEqual(img);
    }
  });
});

describe('RandomRotation', () => {
  it('factor [0.25, 0.25] rotates by exactly 90 degrees counter-clockwise (nearest: an exact permutation)', () => {
    const x = iota([2, 4, 4, 1]);
    const y = arr(layers.randomRotation({ factor: [0.25, 0.25], interpolation: 'nearest' }).apply(x, { training: true }));
    for (let b = 0; b < 2; b++) for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(y[b * 16 + i * 4 + j]).toBe(b * 16 + j * 4 + (3 - i));
  });

  it('draws theta = 2 pi u, u uniform in the factor range, per image, and warps as the documented matrix', () => {
    const x = rnd([5, 7, 6, 3], 6);
    for (const [opts, lo, hi] of [[{ factor: 0.1 }, -0.1, 0.1], [{ factor: [-0.5, 0.2] as [number, number], fillMode: 'constant' as const, fillValue: 0.3 }, -0.5, 0.2]] as const) {
      const y = layers.randomRotation({ ...opts, seed: 8 }).apply(x, { training: true });
      const g = new Generator(8);
      const t = Array.from({ length: 5 }, () => rotation(2 * Math.PI * u(g, lo, hi), 7, 6));
      const fill = 'fillMode' in opts ? { fillMode: opts.fillMode, fillValue: opts.fillValue } : { fillMode: 'reflect' as const };
      expect(arr(y)).toEqual(arr(affineTransform(x, t, fill)));
    }
  });
});

describe('RandomZoom', () => {
  it('zoom [-0.5, -0.5] magnifies 2x about the centre pixel; widthFactor null keeps the aspect ratio', () => {
    const x = iota([1, 5, 5, 1]);
    const y = arr(layers.randomZoom({ heightFactor: [-0.5, -0.5], interpolation: 'nearest' }).apply(x, { training: true }));
    // x_in = 0.5 x + 1 (rounded half up): columns 1, 2, 2, 3, 3 (and the same rows).
    const src = [1, 2, 2, 3, 3];
    expect(y).toEqual(src.flatMap((i) => src.map((j) => i * 5 + j)));
  });

  it('draws the height zoom then the width zoom, 1 + u each, and warps as the documented matrix', () => {
    const x = rnd([4, 6, 8, 2], 7);
    const y = layers.randomZoom({ heightFactor: 0.4, widthFactor: [-0.3, 0.5], fillMode: 'nearest', seed: 2 }).apply(x, { training: true });
    const g = new Generator(2);
    const t = Array.from({ length: 4 }, () => {
      const zy = 1 + u(g, -0.4, 0.4), zx = 1 + u(g, -0.3, 0.5);
      return [zx, 0, (7 / 2) * (1 - zx), 0, zy, (5 / 2) * (1 - zy), 0, 0];
    });
    expect(arr(y)).toEqual(arr(affineTransform(x, t, { fillMode: 'nearest' })));
  });
});

describe('RandomTranslation', () => {
  it('whole-pixel shifts: width factor 0.25 of 4 moves right by 1, height factor -0.5 of 4 moves up by 2', () => {
    const x = iota([1, 4, 4, 1]);
    const right = arr(layers.randomTranslation({ heightFactor: [0, 0], widthFactor: [0.25, 0.25], fillMode: 'constant', fillValue: -1 }).apply(x, { training: true }));
    expect(right).toEqual([0, 1, 2, 3].flatMap((i) => [-1, i * 4, i * 4 + 1, i * 4 + 2]));
    const up = arr(layers.randomTranslation({ heightFactor: [-0.5, -0.5], widthFactor: 0, fillMode: 'wrap', interpolation: 'nearest' }).apply(x, { training: true }));
    expect(up).toEqual([2, 3, 0, 1].flatMap((i) => [0, 1, 2, 3].map((j) => i * 4 + j)));
  });

  it('draws the vertical then the horizontal shift (fractions of H and W, not rounded)', () => {
    const x = rnd([3, 5, 9, 1], 8);
    const y = layers.randomTranslation({ heightFactor: 0.3, widthFactor: [-0.2, 0.6], seed: 4 }).apply(x, { training: true });
    const g = new Generator(4);
    const t = Array.from({ length: 3 }, () => {
      const dy = u(g, -0.3, 0.3) * 5, dx = u(g, -0.2, 0.6) * 9;
      return [1, 0, -dx, 0, 1, -dy, 0, 0];
    });
    expect(arr(y)).toEqual(arr(affineTransform(x, t, { fillMode: 'reflect' })));
  });
});

describe('RandomShear', () => {
  it('draws a sign (u > 1/2 negates), then sy, then sx, and samples (x + sx y, y + sy x)', () => {
    const x = rnd([6, 6, 5, 2], 9);
    const y = layers.randomShear({ xFactor: [0.2, 0.4], yFactor: 0.1, seed: 6 }).apply(x, { training: true });
    const g = new Generator(6);
    const t = Array.from({ length: 6 }, () => {
      const sign = g.nextFloat64() > 0.5 ? -1 : 1;
      const sy = sign * u(g, -0.1, 0.1), sx = sign * u(g, 0.2, 0.4);
      return [1, sx, 0, sy, 1, 0, 0, 0];
    });
    expect(arr(y)).toEqual(arr(affineTransform(x, t, { fillMode: 'reflect' })));
  });

  it('a shear of exactly 1 pixel per row moves row i by i pixels (nearest, constant fill)', () => {
    const x = iota([1, 3, 4, 1]);
    const y = arr(layers.randomShear({ xFactor: [1, 1], fillMode: 'constant', fillValue: -1, interpolation: 'nearest', seed: 0 }).apply(x, { training: true }));
    const sign = new Generator(0).nextFloat64() > 0.5 ? -1 : 1;
    const expected = [0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((j) => {
      const src = j + sign * i;
      return src >= 0 && src < 4 ? i * 4 + src : -1;
    }));
    expect(y).toEqual(expected);
  });
});

describe('RandomCrop', () => {
  it('training: each image is cropped at its own offset, drawn top then left, uniform over the valid ones', () => {
    const x = iota([16, 6, 7, 2]);
    const layer = layers.randomCrop({ height: 3, width: 4, seed: 3 });
    const y = arr(layer.apply(x, { training: true }));
    const g = new Generator(3);
    const offsets = new Set<string>();
    for (let b = 0; b < 16; b++) {
      const top = g.nextBelow(4), left = g.nextBelow(4);
      offsets.add(`${top},${left}`);
      const expected = arr(x.slice([b, top, left, 0], [1, 3, 4, 2]));
      expect(y.slice(b * 24, (b + 1) * 24)).toEqual(expected);
    }
    expect(offsets.size).toBeGreaterThan(4);
    expect(layer.computeOutputShape([null, 6, 7, 2])).toEqual([null, 3, 4, 2]);
  });

  it('inference, or an input smaller than the window: the largest centred window of the aspect ratio, resized', () => {
    const x = rnd([2, 6, 9, 1], 10);
    const layer = layers.randomCrop({ height: 4, width: 4 });
    const resized = layers.resizing({ height: 4, width: 4, cropToAspectRatio: true }).apply(x);
    expect(arr(layer.apply(x))).toEqual(arr(resized));
    const small = rnd([2, 3, 9, 1], 11);
    expect(arr(layer.apply(small, { training: true }))).toEqual(arr(layers.resizing({ height: 4, width: 4, cropToAspectRatio: true }).apply(small)));
    expect(layer.apply(x).shape).toEqual([2, 4, 4, 1]);
  });
});

describe('RandomContrast and RandomBrightness', () => {
  const x = rnd([5, 4, 3, 2], 12, 0, 1);

  it('contrast: per image a factor in [1 - lower, 1 + upper]; y = clip((x - channel mean) a + mean, valueRange)', () => {
    for (const [factor, lo, hi] of [[0.6, 0.6, 0.6], [[0.1, 0.9] as [number, number], 0.1, 0.9]] as const) {
      const y = layers.randomContrast({ factor, valueRange: [0.2, 0.9], seed: 5 }).apply(x, { training: true });
      const g = new Generator(5);
      const expected: number[] = [];
      for (let b = 0; b < 5; b++) {
        const a = u(g, 1 - lo, 1 + hi);
        const img = arr(x).slice(b * 24, b * 24 + 24);
        const mean = [0, 1].map((k) => img.filter((_, i) => i % 2 === k).reduce((s, v) => s + v, 0) / 12);
        for (let i = 0; i < 24; i++) expected.push(Math.min(Math.max((img[i] - mean[i % 2]) * a + mean[i % 2], 0.2), 0.9));
      }
      assertClose(y.data, expected, { atol: 1e-6, what: `contrast ${JSON.stringify(factor)}` });
    }
  });

  it('brightness: per image u (high - low) added, u in the factor range, then clipped to valueRange', () => {
    const y = layers.randomBrightness({ factor: [-0.5, 0.5], valueRange: [0, 1], seed: 6 }).apply(x, { training: true });
    const g = new Generator(6);
    const deltas = Array.from({ length: 5 }, () => u(g, -0.5, 0.5));
    const expected = arr(x).map((v, i) => Math.min(Math.max(v + deltas[Math.floor(i / 24)], 0), 1));
    assertClose(y.data, expected, { atol: 1e-6, what: 'brightness' });
    // The default range is [0, 255]: a factor of 0.1 moves pixels by up to 25.5.
    const pixels = new Tensor(Int32Array.from({ length: 50 }, () => 128), [50, 1, 1, 1]);
    const shifted = arr(layers.randomBrightness({ factor: 0.1, seed: 1 }).apply(pixels, { training: true }));
    expect(Math.max(...shifted.map((v) => Math.abs(v - 128)))).toBeGreaterThan(15);
    expect(shifted.every((v) => Math.abs(v - 128) <= 25.5)).toBe(true);
  });

  it('pass gradients where the output is not clipped (finite differences in float64, away from the clip kinks)', () => {
    const shape = [3, 3, 2, 2];
    const x0 = uniformF64(sizeOf(shape), 13, 0.1, 0.9);
    for (const make of [
      () => layers.randomContrast({ factor: [0.3, 0.8], valueRange: [0.15, 0.85], seed: 2 }),
      () => layers.randomBrightness({ factor: 0.2, valueRange: [0, 1], seed: 2 }),
    ]) {
      const forward = (xs: Float64Array[]): ArrayLike<number> => make().apply(new Tensor(xs[0], shape), { training: true }).data;
      gradCheck({
        what: make().className,
        inputs: [Float64Array.from(x0)],
        forward,
        backward: (xs, dy) => {
          const xt = new Tensor(Float64Array.from(xs[0]), shape).requireGrad();
          make().apply(xt, { training: true }).mul(new Tensor(dy, shape)).sum().backward();
          return [xt.grad!.data];
        },
      });
    }
  });
});

describe('GaussianNoise', () => {
  it('adds N(0, stddev^2) noise in training only, to any shape; the gradient passes unchanged', () => {
    const x = new Tensor(new Float32Array(20000).fill(3), [100, 200]);
    const layer = layers.gaussianNoise({ stddev: 0.5, seed: 1 });
    expect(layer.apply(x)).toBe(x);
    const y = arr(layer.apply(x, { training: true }));
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
    // Standard errors: 0.5 / sqrt(20000) = 0.0035 for the mean, 0.5 / sqrt(40000) = 0.0025 for the sd.
    expect(Math.abs(mean - 3)).toBeLessThan(0.02);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.015);
    const xg = new Tensor(new Float64Array(6), [2, 3]).requireGrad();
    layers.gaussianNoise({ stddev: 1, seed: 2 }).apply(xg, { training: true }).mul(new Tensor(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3])).sum().backward();
    expect(arr(xg.grad!)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('gradients through the geometric layers in training', () => {
  it('<dy, A x> = <A^T dy, x> for flips, warps and crops (A replayed by a layer with the same seed)', () => {
    const shape = [3, 6, 7, 2];
    const make = [
      () => layers.randomFlip({ seed: 1 }),
      () => layers.randomRotation({ factor: 0.3, fillMode: 'constant', seed: 1 }),
      () => layers.randomZoom({ heightFactor: 0.5, fillMode: 'wrap', seed: 1 }),
      () => layers.randomTranslation({ heightFactor: 0.4, widthFactor: 0.4, interpolation: 'nearest', seed: 1 }),
      () => layers.randomShear({ xFactor: 0.5, yFactor: 0.3, fillMode: 'nearest', seed: 1 }),
      () => layers.randomCrop({ height: 4, width: 3, seed: 1 }),
    ];
    for (const m of make) {
      const x = new Tensor(uniformF64(sizeOf(shape), 14), shape).requireGrad();
      const y = m().apply(x, { training: true });
      const dy = new Tensor(uniformF64(y.size, 15), y.shape);
      y.mul(dy).sum().backward();
      const x2 = uniformF64(sizeOf(shape), 16);
      const ax2 = m().apply(new Tensor(x2, shape), { training: true }).data;
      let lhs = 0, rhs = 0;
      for (let i = 0; i < y.size; i++) lhs += dy.data[i] * ax2[i];
      for (let i = 0; i < x2.length; i++) rhs += x.grad!.data[i] * x2[i];
      expect(Math.abs(lhs - rhs), m().className).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
    }
  });
});

describe('configs and shapes', () => {
  it('every layer round-trips through layerFromConfig, with its options', () => {
    for (const layer of everyLayer(21)) {
      const cfg = layer.getConfig();
      const again = layerFromConfig(cfg);
      expect(again.className).toBe(layer.className);
      expect(again.getConfig()).toEqual(cfg);
      expect(cfg.seed).toBe(21);
    }
    expect(layers.randomRotation({ factor: [-0.1, 0.2], fillMode: 'nearest', interpolation: 'nearest', fillValue: 2 }).getConfig())
      .toMatchObject({ className: 'RandomRotation', factor: [-0.1, 0.2], fillMode: 'nearest', interpolation: 'nearest', fillValue: 2, seed: null });
    expect(layers.randomZoom({ heightFactor: 0.2 }).getConfig()).toMatchObject({ heightFactor: 0.2, widthFactor: null, fillMode: 'reflect', interpolation: 'bilinear' });
    expect(layers.randomFlip().getConfig()).toMatchObject({ mode: 'horizontal_and_vertical' });
    expect(layers.randomContrast({ factor: 0.2 }).getConfig()).toMatchObject({ factor: 0.2, valueRange: [0, 255] });
  });

  it('shapes: identity except RandomCrop; rank 3 and 4; Sequential infers them', () => {
    const m = sequential([...everyLayer().filter((l) => l.className !== 'RandomCrop'), layers.randomCrop({ height: 5, width: 3 })], { inputShape: [8, 9, 3] });
    expect(m.outputs[0].shape).toEqual([null, 5, 3, 3]);
    expect(layers.randomRotation({ factor: 0.1 }).computeOutputShape([8, 9, 3])).toEqual([8, 9, 3]);
    expect(layers.randomCrop({ height: 2, width: 2 }).computeOutputShape([8, 9, 3])).toEqual([2, 2, 3]);
  });
});

describe('bad options name the layer and the option', () => {
  it('factors', () => {
    expectError(() => layers.randomRotation({ factor: -0.1 }), ValueError, 'random_rotation', '(RandomRotation)', "'factor'", '>= 0', '-0.1');
    expectError(() => layers.randomRotation({ factor: [0.3, 0.1] }), ValueError, '(RandomRotation)', 'lower <= upper');
    expectError(() => layers.randomRotation({ factor: [0.1] as never }), ValueError, '(RandomRotation)', "'factor'");
    expectError(() => layers.randomZoom({ heightFactor: 1.5 }), ValueError, '(RandomZoom)', "'heightFactor'", '[0, 1]');
    expectError(() => layers.randomZoom({ heightFactor: 0.1, widthFactor: -0.2 }), ValueError, "'widthFactor'", '>= 0');
    expectError(() => layers.randomTranslation({ heightFactor: [-2, 0], widthFactor: 0 }), ValueError, '(RandomTranslation)', "'heightFactor'", '[-1, 1]');
    expectError(() => layers.randomTranslation({ heightFactor: 0.1 } as never), ValueError, "'widthFactor'");
    expectError(() => layers.randomShear({ xFactor: [-0.2, 0.1] }), ValueError, '(RandomShear)', "'xFactor'", '[0, 1]');
    expectError(() => layers.randomContrast({ factor: 1.2 }), ValueError, '(RandomContrast)', "'factor'");
    expectError(() => layers.randomContrast({ factor: -0.2 }), ValueError, '(RandomContrast)', "'factor'");
    expectError(() => layers.randomBrightness({ factor: -0.3 }), ValueError, '(RandomBrightness)', "'factor'", '>= 0');
    expectError(() => layers.randomBrightness({ factor: 0.1, valueRange: [1, 0] }), ValueError, "'valueRange'");
    expectError(() => layers.gaussianNoise({ stddev: -1 }), ValueError, '(GaussianNoise)', "'stddev'");
  });

  it('modes, sizes, seeds and unknown keys', () => {
    expectError(() => layers.randomRotation({ factor: 0.1, fillMode: 'mirror' as never }), ValueError, '(RandomRotation)', 'unknown fillMode "mirror"', "'reflect'", "'wrap'");
    expectError(() => layers.randomZoom({ heightFactor: 0.1, interpolation: 'area' as never }), ValueError, '(RandomZoom)', 'unknown interpolation "area"');
    expectError(() => layers.randomShear({ fillValue: NaN }), ValueError, '(RandomShear)', "'fillValue'");
    expectError(() => layers.randomFlip({ mode: 'both' as never }), ValueError, '(RandomFlip)', 'unknown mode "both"');
    expectError(() => layers.randomCrop({ height: 0, width: 2 }), ValueError, '(RandomCrop)', "'height'");
    expectError(() => layers.randomFlip({ seed: -1 }), ValueError, '(RandomFlip)', "'seed'");
    expectError(() => layers.randomRotation({ factor: 0.1, fill_mode: 'constant' } as never), ValueError, '(RandomRotation)', "unknown option 'fill_mode'");
    expectError(() => layers.randomFlip().apply(new Tensor(new Float32Array(4), [2, 2]), { training: true }), ShapeError, '(RandomFlip)', 'rank');
  });
});
