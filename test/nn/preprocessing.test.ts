/**
 * Preprocessing layers (src/nn/preprocessing.ts): Resizing against PyTorch (fixtures/resize-torch.json, written by
 * fixtures/make_resize_fixtures.py: interpolate bilinear align_corners=False and nearest-exact, the definitions
 * tf.image.resize uses) and exact cases by hand; CenterCrop by hand; Normalization against float64 statistics;
 * gradients through resizing by the adjoint identity; shapes, configs and bad options.
 *
 * Tolerances: PyTorch and this code both compute the source coordinates and lerps in float32 but in a different
 * order, so outputs may differ by a few float32 ulps of values in [-1, 1]: 2e-6 absolute.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { input, layerFromConfig, layers, model, sequential, type LayerConfig } from '../../src/nn/index.js';
import { resizeImages } from '../../src/nn/image-sampling.js';
import { assertClose } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { uniformF64 } from '../helpers/random.js';

interface ResizeCase {
  name: string;
  shape: number[];
  size: [number, number];
  x: number[];
  bilinear: number[];
  nearest: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/resize-torch.json', import.meta.url), 'utf8')) as { cases: ResizeCase[] };

const img = (values: number[], shape: number[]): Tensor => new Tensor(Float32Array.from(values), shape);
const iota = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(Float32Array.from({ length: n }, (_, i) => i), shape);
};

describe('Resizing', () => {
  for (const c of fixtures.cases) {
    for (const interpolation of ['bilinear', 'nearest'] as const) {
      it(`${c.name}, ${interpolation}: matches PyTorch`, () => {
        const layer = layers.resizing({ height: c.size[0], width: c.size[1], interpolation });
        const y = layer.apply(img(c.x, c.shape));
        expect(y.shape).toEqual([c.shape[0], c.size[0], c.size[1], c.shape[3]]);
        assertClose(y.data, c[interpolation], { atol: 2e-6, what: `${c.name} ${interpolation}` });
      });
    }
  }

  it('2x2 -> 4x4 bilinear by hand: source coordinates (o + 0.5) / 2 - 0.5 clamped to the image', () => {
    // Along each axis the samples sit at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const y = layers.resizing({ height: 4, width: 4 }).apply(img([0, 1, 2, 3], [1, 2, 2, 1]));
    const at = [0, 0.25, 0.75, 1];
    expect(Array.from(y.data)).toEqual(at.flatMap((r) => at.map((c) => 2 * r + c)));
  });

  it('nearest by hand: 3 -> 2 takes pixels floor((o + 0.5) * 1.5) = 0, 2; 2 -> 5 repeats them', () => {
    const y = layers.resizing({ height: 1, width: 2, interpolation: 'nearest' }).apply(img([7, 8, 9], [1, 1, 3, 1]));
    expect(Array.from(y.data)).toEqual([7, 9]);
    const z = layers.resizing({ height: 1, width: 5, interpolation: 'nearest' }).apply(img([1, 2], [1, 1, 2, 1]));
    expect(Array.from(z.data)).toEqual([1, 1, 2, 2, 2]); // floor((o + 0.5) * 0.4): 0, 0, 1, 1, 1
  });

  it('cropToAspectRatio first takes the largest centred window of the target aspect ratio', () => {
    // 4x8 to 2x2: the window is 4x4 at columns 2..5; then 2x downsampling averages 2x2 blocks (samples at 0.5, 2.5).
    const x = iota([1, 4, 8, 1]);
    const y = layers.resizing({ height: 2, width: 2, cropToAspectRatio: true }).apply(x);
    const px = (i: number, j: number): number => i * 8 + j;
    const block = (i: number, j: number): number => (px(i, j) + px(i, j + 1) + px(i + 1, j) + px(i + 1, j + 1)) / 4;
    expect(Array.from(y.data)).toEqual([block(0, 2), block(0, 4), block(2, 2), block(2, 4)]);
    // 6x5 to 4x2: crop height floor(5 * 4 / 2) = 10 -> 6, width floor(6 * 2 / 4) = 3 at column floor((5 - 3) / 2) = 1.
    const x2 = new Tensor(Float32Array.from(uniformF64(2 * 6 * 5 * 3, 5)), [2, 6, 5, 3]);
    const y2 = layers.resizing({ height: 4, width: 2, cropToAspectRatio: true }).apply(x2);
    const window = resizeImages(x2.slice([0, 0, 1, 0], [2, 6, 3, 3]), [4, 2]);
    expect(Array.from(y2.data)).toEqual(Array.from(window.data));
    // A window that already has the target size is just cropped: 4x6 to 4x4 keeps columns 1..4.
    const y3 = layers.resizing({ height: 4, width: 4, cropToAspectRatio: true }).apply(iota([1, 4, 6, 1]));
    expect(Array.from(y3.data)).toEqual([0, 1, 2, 3].flatMap((i) => [1, 2, 3, 4].map((j) => i * 6 + j)));
  });

  it('the same size is the identity (the input tensor itself); int32 becomes float32; one image [H, W, C] works', () => {
    const x = iota([2, 3, 4, 1]);
    expect(layers.resizing({ height: 3, width: 4 }).apply(x)).toBe(x);
    const pixels = new Tensor(Int32Array.from([0, 255, 255, 0]), [2, 2, 1]);
    const y = layers.resizing({ height: 4, width: 4 }).apply(pixels);
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([4, 4, 1]);
    expect(y.data[0]).toBe(0);
    expect(y.data[3]).toBe(255);
  });

  it('infers shapes: sequential, functional, and unknown input sizes', () => {
    const m = sequential([layers.resizing({ height: 14, width: 20 }), layers.flatten()], { inputShape: [28, 28, 3] });
    expect(m.outputs[0].shape).toEqual([null, 14 * 20 * 3]);
    const inp = input({ shape: [null, null, 1] });
    const out = layers.resizing({ height: 8, width: 9 }).apply(inp);
    expect(out.shape).toEqual([null, 8, 9, 1]);
    expect(model({ inputs: inp, outputs: out }).outputs[0].shape).toEqual([null, 8, 9, 1]);
  });

  it('passes gradients: <dy, R x> = <R^T dy, x>, bilinear and nearest, with and without the aspect-ratio crop', () => {
    for (const interpolation of ['bilinear', 'nearest'] as const) {
      for (const [shape, size, crop] of [[[2, 5, 7, 2], [9, 4], false], [[1, 6, 9, 1], [4, 4], true]] as const) {
        const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
        const x = new Tensor(uniformF64(n, 1), shape).requireGrad();
        const layer = layers.resizing({ height: size[0], width: size[1], interpolation, cropToAspectRatio: crop });
        const y = layer.apply(x);
        const dy = new Tensor(uniformF64(y.size, 2), y.shape);
        y.mul(dy).sum().backward();
        const x2 = uniformF64(n, 3);
        const rx2 = layer.apply(new Tensor(x2, shape));
        let lhs = 0, rhs = 0;
        for (let i = 0; i < y.size; i++) lhs += dy.data[i] * rx2.data[i];
        for (let i = 0; i < n; i++) rhs += x.grad!.data[i] * x2[i];
        expect(Math.abs(lhs - rhs), `${interpolation} crop=${crop}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
      }
    }
  });

  it('round-trips its config', () => {
    const a = layers.resizing({ height: 5, width: 6, interpolation: 'nearest', cropToAspectRatio: true, name: 'rs' });
    const b = layerFromConfig(a.getConfig());
    expect(b.getConfig()).toEqual(a.getConfig());
    expect(a.getConfig()).toMatchObject({ className: 'Resizing', height: 5, width: 6, interpolation: 'nearest', cropToAspectRatio: true });
  });

  it('rejects bad options, naming the layer', () => {
    expectError(() => layers.resizing({ height: 0, width: 3 }), ValueError, '(Resizing)', "'height'");
    expectError(() => layers.resizing({ height: 2, width: 2.5 }), ValueError, "'width'", '2.5');
    expectError(() => layers.resizing({ height: 2, width: 2, interpolation: 'bicubic' as 'nearest' }), ValueError, '(Resizing)', 'interpolation', 'bicubic');
    expectError(() => layers.resizing({ height: 2, width: 2, antialias: true } as never), ValueError, "unknown option 'antialias'");
    expectError(() => layers.resizing({ height: 2, width: 2 }).apply(new Tensor(new Float32Array(4), [4])), ShapeError, '(Resizing)', 'rank');
    expectError(() => layers.resizing({ height: 2, width: 2 }).apply(new Tensor(new Float32Array(16), [1, 2, 2, 2, 2])), ShapeError, '(Resizing)', 'rank 4');
  });
});

describe('CenterCrop', () => {
  it('crops the centred window, offsets floored: 5x6 -> 3x3 starts at row 1, column 1', () => {
    const y = layers.centerCrop({ height: 3, width: 3 }).apply(iota([1, 5, 6, 1]));
    expect(Array.from(y.data)).toEqual([1, 2, 3].flatMap((i) => [1, 2, 3].map((j) => i * 6 + j)));
    expect(y.shape).toEqual([1, 3, 3, 1]);
  });

  it('resizes an input smaller than the window on an axis (crop to the aspect ratio, then bilinear), as Keras', () => {
    const x = iota([1, 4, 8, 1]);
    const y = layers.centerCrop({ height: 6, width: 6 }).apply(x);
    const expected = layers.resizing({ height: 6, width: 6, cropToAspectRatio: true }).apply(x);
    expect(Array.from(y.data)).toEqual(Array.from(expected.data));
  });

  it('is the same in training and inference, infers shapes, passes gradients to the window, round-trips its config', () => {
    const layer = layers.centerCrop({ height: 2, width: 3, name: 'cc' });
    const x = iota([2, 4, 5, 3]);
    expect(Array.from(layer.apply(x, { training: true }).data)).toEqual(Array.from(layer.apply(x).data));
    expect(layer.computeOutputShape([null, 4, 5, 3])).toEqual([null, 2, 3, 3]);
    const xg = new Tensor(new Float64Array(2 * 4 * 5 * 3), [2, 4, 5, 3]).requireGrad();
    layer.apply(xg).sum().backward();
    const g = Array.from(xg.grad!.data);
    expect(g.reduce((a, b) => a + b, 0)).toBe(2 * 2 * 3 * 3);
    expect(g[((0 * 4 + 1) * 5 + 1) * 3]).toBe(1); // row 1, column 1 is in the window
    expect(g[0]).toBe(0);
    expect(layerFromConfig(layer.getConfig()).getConfig()).toEqual(layer.getConfig());
    expectError(() => layers.centerCrop({ height: -1, width: 2 }), ValueError, '(CenterCrop)', "'height'");
  });
});

describe('Normalization', () => {
  const shape = [4, 3, 5, 2];
  const n = shape.reduce((a, b) => a * b, 1);
  const x64 = uniformF64(n, 9, -3, 7);
  const x = new Tensor(Float32Array.from(x64), shape);
  /** float64 mean and biased variance per channel of the float32 values. */
  function stats(data: ArrayLike<number>, c: number): { mean: number[]; variance: number[] } {
    const mean = Array<number>(c).fill(0), variance = Array<number>(c).fill(0);
    const m = data.length / c;
    for (let i = 0; i < data.length; i++) mean[i % c] += data[i] / m;
    for (let i = 0; i < data.length; i++) variance[i % c] += (data[i] - mean[i % c]) ** 2 / m;
    return { mean, variance };
  }

  it('with mean and variance given: (x - mean) / sqrt(variance) per channel; invert undoes it', () => {
    const layer = layers.normalization({ mean: [1, -2], variance: [4, 0.25] });
    const y = layer.apply(x);
    const expected = Array.from(x.data, (v, i) => (i % 2 === 0 ? (v - 1) / 2 : (v + 2) / 0.5));
    assertClose(y.data, expected, { rtol: 1e-6, atol: 1e-6, what: 'normalize' });
    expect(layer.weights).toHaveLength(0);
    const back = layers.normalization({ mean: [1, -2], variance: [4, 0.25], invert: true }).apply(y);
    assertClose(back.data, x.data, { rtol: 1e-6, atol: 1e-5, what: 'invert' });
  });

  it("divides by at least Keras' epsilon 1e-7 (a zero variance does not divide by zero); scalars broadcast", () => {
    const y = layers.normalization({ mean: 1, variance: 0 }).apply(img([1, 1.5], [2, 1]));
    expect(Array.from(y.data)).toEqual([0, Math.fround(0.5 / 1e-7)]);
  });

  it('adapt() computes the per-channel mean and biased variance, kept in two non-trainable weights', () => {
    const layer = layers.normalization({ name: 'norm' }).adapt(x);
    const { mean, variance } = stats(x.data, 2);
    expect(layer.weights.map((w) => [w.name, w.trainable])).toEqual([['norm/mean', false], ['norm/variance', false]]);
    assertClose(layer.meanWeight!.value.data, mean, { rtol: 1e-6, what: 'mean' });
    assertClose(layer.varianceWeight!.value.data, variance, { rtol: 1e-6, what: 'variance' });
    const y = layer.apply(x);
    const expected = Array.from(x.data, (v, i) => (v - mean[i % 2]) / Math.sqrt(variance[i % 2]));
    assertClose(y.data, expected, { rtol: 1e-5, atol: 1e-5, what: 'adapted output' });
    expect(layer.trainableWeights).toHaveLength(0);
  });

  it('adapt() over batches ([x, y] pairs, { x } objects, Tensors) equals adapt() over their concatenation', async () => {
    const parts = [x.slice([0, 0, 0, 0], [1, 3, 5, 2]), x.slice([1, 0, 0, 0], [2, 3, 5, 2]), x.slice([3, 0, 0, 0], [1, 3, 5, 2])];
    const whole = layers.normalization().adapt(x);
    const batched = layers.normalization().adapt([[parts[0], null], { x: parts[1] }, parts[2]] as never);
    async function* source(): AsyncGenerator<Tensor> {
      for (const p of parts) yield p;
    }
    const streamed = await layers.normalization().adaptAsync(source());
    for (const other of [batched, streamed]) {
      assertClose(other.meanWeight!.value.data, whole.meanWeight!.value.data, { rtol: 1e-6, atol: 1e-7, what: 'mean' });
      assertClose(other.varianceWeight!.value.data, whole.varianceWeight!.value.data, { rtol: 1e-6, what: 'variance' });
    }
  });

  it('axis null: one mean and variance for all values; int32 input becomes float32', () => {
    const layer = layers.normalization({ axis: null }).adapt(x);
    const { mean, variance } = stats(x.data, 1);
    expect(layer.meanWeight!.shape).toEqual([1]);
    assertClose(layer.meanWeight!.value.data, mean, { rtol: 1e-6, what: 'mean' });
    assertClose(layer.varianceWeight!.value.data, variance, { rtol: 1e-6, what: 'variance' });
    const y = layers.normalization({ mean: 127.5, variance: 127.5 ** 2 }).apply(new Tensor(Int32Array.from([0, 255]), [2, 1]));
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data)).toEqual([-1, 1]);
  });

  it('in a model: predict normalises, the gradient flows to the input, the config round-trips', async () => {
    const norm = layers.normalization({ mean: [0.5, 1.5], variance: [4, 9], name: 'nm' });
    const m = sequential([norm], { inputShape: [3, 5, 2] });
    const p = await m.predict(x, { batchSize: 3 });
    assertClose(p.data, Array.from(x.data, (v, i) => (i % 2 === 0 ? (v - 0.5) / 2 : (v - 1.5) / 3)), { rtol: 1e-6, atol: 1e-6, what: 'predict' });
    const xg = new Tensor(Float64Array.from(x64), shape).requireGrad();
    norm.apply(xg).sum().backward();
    expect(xg.grad!.data[0]).toBeCloseTo(0.5, 12);
    expect(xg.grad!.data[1]).toBeCloseTo(1 / 3, 12);
    const cfg = norm.getConfig() as LayerConfig;
    expect(cfg).toMatchObject({ className: 'Normalization', axis: -1, mean: [0.5, 1.5], variance: [4, 9], invert: false });
    expect(layerFromConfig(cfg).getConfig()).toEqual(cfg);
  });

  it('rejects bad options and data, naming the layer', () => {
    expectError(() => layers.normalization({ mean: 1 }), ValueError, '(Normalization)', "'mean' and 'variance'");
    expectError(() => layers.normalization({ mean: [1], variance: [-1] }), ValueError, "'variance'", '>= 0');
    expectError(() => layers.normalization({ axis: 1 as -1 }), ValueError, "'axis'");
    expectError(() => layers.normalization({ mean: [1, 2, 3], variance: [1, 1, 1] }).apply(x), ShapeError, "'mean' has 3 values", '2 channels');
    expectError(() => layers.normalization({ mean: 0, variance: 1 }).adapt(x), ValueError, 'adapt()', 'given as options');
    expectError(() => layers.normalization().adapt([]), ValueError, 'no data');
    const built = layers.normalization().adapt(x);
    expectError(() => built.adapt(new Tensor(new Float32Array(6), [2, 3])), ShapeError, '3 channels', 'built for 2');
  });
});
