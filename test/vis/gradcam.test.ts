/**
 * Grad-CAM against an analytic oracle. For conv -> global average pooling -> linear dense, the class score is
 * y_c = sum_k W[k,c] mean_ij A[i,j,k] + b_c, so dy_c/dA[i,j,k] = W[k,c] / (h w): the channel weights are
 * W[k,c] / (h w) and Grad-CAM is CAM (Zhou et al. 2016), relu(sum_k W[k,c] A[:,:,k]) normalised by its maximum.
 * The oracle computes that here in float64 from the dense kernel and the conv output (model.intermediate).
 * Float32 tolerance: each map value is a K-term sum of O(1) products, normalised: 1e-5 is ~100 ulps.
 *
 * Also: the softmax head (same weights) gives the same map, because the score is the logit; the default class
 * is the argmax; the default layer is the last one with a 4-D output; upsampling is tf.image.resize's bilinear
 * (half-pixel centres), computed here independently; the overlay's pixels are the convex blend with the jet table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ShapeError, ValueError } from '../../src/errors.js';
import { randn, uniform } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { input, layers, model, sequential, type Layer, type Model } from '../../src/nn/index.js';
import { colormaps } from '../../src/vis/colormap.js';
import { gradCam, gradCamOverlay, lastConvLayerName } from '../../src/vis/gradcam.js';
import { expectError } from '../helpers/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-vis-cam-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function camModel(head: 'linear' | 'softmax' | 'activation', padding: 'same' | 'valid' = 'same'): Model {
  const ls: Layer[] = [
    layers.conv2d({ filters: 6, kernelSize: 3, padding, activation: 'relu', name: 'conv' }),
    layers.globalAveragePooling2d({ name: 'gap' }),
    layers.dense({ units: 5, activation: head === 'softmax' ? 'softmax' : 'linear', name: 'logits' }),
  ];
  if (head === 'activation') ls.push(layers.activation({ activation: 'softmax', name: 'probs' }));
  return sequential(ls, { inputShape: [8, 8, 3] });
}

/** CAM from the weights: relu(sum_k W[k,c] A[i,j,k]) / max, float64. */
function camOracle(m: Model, img: Tensor, c: number): { map: number[]; h: number; w: number } {
  const a = m.intermediate('conv').predictOnBatch(img) as Tensor;
  const [, h, w, k] = a.shape;
  const W = m.getLayer('logits').weights[0].value; // [K, classes]
  const classes = W.shape[1];
  const raw = Array.from({ length: h * w }, (_, i) => {
    let s = 0;
    for (let q = 0; q < k; q++) s += W.data[q * classes + c] * a.data[i * k + q];
    return Math.max(s, 0);
  });
  const max = Math.max(...raw);
  return { map: raw.map((v) => (max > 0 ? v / max : 0)), h, w };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]), `${what} [${i}]`).toBeLessThanOrEqual(tol);
}

/** tf.image.resize bilinear (half-pixel centres, neighbours clamped) of an h x w map to oh x ow, float64. */
function bilinear(src: number[], h: number, w: number, oh: number, ow: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < oh; i++) {
    const sy = (i + 0.5) * (h / oh) - 0.5;
    const y0 = Math.floor(sy), fy = sy - y0;
    const r0 = Math.max(y0, 0), r1 = Math.min(y0 + 1, h - 1);
    for (let j = 0; j < ow; j++) {
      const sx = (j + 0.5) * (w / ow) - 0.5;
      const x0 = Math.floor(sx), fx = sx - x0;
      const c0 = Math.max(x0, 0), c1 = Math.min(x0 + 1, w - 1);
      const top = src[r0 * w + c0] * (1 - fx) + src[r0 * w + c1] * fx;
      const bottom = src[r1 * w + c0] * (1 - fx) + src[r1 * w + c1] * fx;
      out.push(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

describe('gradCam', () => {
  it('equals CAM for conv -> global average pooling -> linear dense, for every class', () => {
    manualSeed(21);
    const m = camModel('linear');
    const img = uniform([1, 8, 8, 3], 0, 1, { seed: 2 });
    for (let c = 0; c < 5; c++) {
      const heat = gradCam(m, img, { classIndex: c });
      expect(heat.shape).toEqual([8, 8]);
      const { map } = camOracle(m, img, c);
      expectClose(heat.data, map, 1e-5, `class ${c}`);
      expect(Math.max(...heat.data)).toBeCloseTo(Math.max(...map), 6); // 1, unless the class has no positive evidence
    }
  });

  it('a softmax head gives the logit map (Dense softmax, or an Activation layer after it); frozen models work', () => {
    manualSeed(22);
    const lin = camModel('linear');
    const img = uniform([8, 8, 3], 0, 1, { seed: 3 }); // [H, W, C] is accepted too
    for (const head of ['softmax', 'activation'] as const) {
      const m = camModel(head);
      m.setWeights(lin.weights.map((v) => v.value));
      m.trainable = false;
      for (const c of [0, 3]) expectClose(gradCam(m, img, { classIndex: c }).data, gradCam(lin, img, { classIndex: c }).data, 1e-6, `${head} class ${c}`);
    }
  });

  it('the default class is the argmax of the scores; the default layer the last with a 4-D output', () => {
    manualSeed(23);
    const m = camModel('softmax');
    const img = uniform([1, 8, 8, 3], 0, 1, { seed: 4 });
    const probs = m.predictOnBatch(img) as Tensor;
    const top = probs.argmax(-1).data[0];
    expectClose(gradCam(m, img).data, gradCam(m, img, { classIndex: top, layerName: 'conv' }).data, 0, 'default class');
    expect(lastConvLayerName(m)).toBe('conv');
    const deeper = sequential([
      layers.conv2d({ filters: 2, kernelSize: 3, name: 'c1' }), layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      layers.conv2d({ filters: 2, kernelSize: 1, name: 'c2' }), layers.flatten(), layers.dense({ units: 3 }),
    ], { inputShape: [8, 8, 1] });
    expect(lastConvLayerName(deeper)).toBe('c2');
    const inp = input({ shape: [8, 8, 1], name: 'img' });
    expect(lastConvLayerName(model({ inputs: inp, outputs: layers.dense({ units: 2 }).apply(layers.flatten().apply(inp)) }))).toBe(null);
  });

  it('a smaller map is upsampled bilinearly (half-pixel centres) to the image size', () => {
    manualSeed(24);
    const m = camModel('linear', 'valid');
    const img = uniform([1, 8, 8, 3], 0, 1, { seed: 5 });
    const coarse = gradCam(m, img, { classIndex: 1, upsample: false });
    expect(coarse.shape).toEqual([6, 6]);
    const { map } = camOracle(m, img, 1);
    expectClose(coarse.data, map, 1e-5, 'coarse');
    const fine = gradCam(m, img, { classIndex: 1 });
    expect(fine.shape).toEqual([8, 8]);
    expectClose(fine.data, bilinear(Array.from(coarse.data), 6, 6, 8, 8), 1e-6, 'upsampled');
  });

  it('a class with no positive evidence gives zeros, not NaN', () => {
    manualSeed(25);
    const m = camModel('linear');
    // Make class 0's weights all negative: with relu activations A >= 0 the weighted sum is <= 0 everywhere.
    const d = m.getLayer('logits');
    const k = d.weights[0].value;
    const data = Float32Array.from(k.data);
    for (let q = 0; q < 6; q++) data[q * 5] = -Math.abs(data[q * 5]) - 0.1;
    d.weights[0].assign(new Tensor(data, k.shape));
    const heat = gradCam(m, randn([1, 8, 8, 3], { seed: 6 }).abs(), { classIndex: 0 });
    expect(Array.from(heat.data).every((v) => v === 0)).toBe(true);
  });

  it('errors: unknown layer, non-4-D layer, class out of range, batch of 2, non-classifier model, options', () => {
    manualSeed(26);
    const m = camModel('softmax');
    const img = uniform([1, 8, 8, 3], 0, 1, { seed: 7 });
    expectError(() => gradCam(m, img, { layerName: 'conv9' }), ValueError, "no layer named 'conv9'", "'conv'", "'gap'");
    expectError(() => gradCam(m, img, { layerName: 'gap' }), ShapeError, "layer 'gap'", '4-D');
    expectError(() => gradCam(m, img, { classIndex: 5 }), ValueError, 'classIndex 5 is out of range', '5 classes');
    expectError(() => gradCam(m, img, { classIndex: -1 }), ValueError, 'classIndex -1');
    expectError(() => gradCam(m, uniform([2, 8, 8, 3]), {}), ShapeError, 'holds 2 examples');
    expectError(() => gradCam(m, uniform([1, 9, 8, 3]), {}), ValueError, 'expects shape');
    const seg = sequential([layers.conv2d({ filters: 2, kernelSize: 1 })], { inputShape: [4, 4, 1] });
    expectError(() => gradCam(seg, uniform([1, 4, 4, 1])), ShapeError, 'class scores [N, classes]');
    expectError(() => gradCam(m, img, { class: 1 } as object), ValueError, "unknown option 'class'");
    expectError(() => gradCam(m, img, { upsample: 'yes' as unknown as boolean }), ValueError, "'upsample'");
  });
});

describe('gradCamOverlay', () => {
  it('blends (1 - alpha) image + alpha jet(heatmap), grey repeated to RGB, [0, 1] pixels to bytes', () => {
    const img = uniform([1, 4, 4, 1], 0, 1, { seed: 8 });
    const heat = uniform([4, 4], 0, 1, { seed: 9 });
    const file = join(tmp, 'overlay.png');
    const o = gradCamOverlay(img, heat, { path: file, alpha: 0.3 });
    expect([o.width, o.height, o.channels]).toEqual([4, 4, 3]);
    expect(readFileSync(file).equals(o.png)).toBe(true);
    const jet = colormaps.jet;
    for (let i = 0; i < 16; i++) {
      const g = Math.round(img.data[i] * 255);
      const l = Math.round(heat.data[i] * 255);
      for (let q = 0; q < 3; q++) expect(o.data[3 * i + q], `pixel ${i} channel ${q}`).toBe(Math.round(0.7 * g + 0.3 * jet[3 * l + q]));
    }
  });

  it('scale: the image upscaled (nearest), the heatmap resized bilinearly; pixel ranges 0-255 and arbitrary', () => {
    const img = uniform([3, 3, 3], 0, 255, { seed: 10 });
    const heat = uniform([1, 3, 3, 1], 0, 1, { seed: 11 });
    const o = gradCamOverlay(img, heat, { scale: 2, alpha: 0.5, colormap: 'viridis' });
    expect([o.width, o.height]).toEqual([6, 6]);
    const h6 = bilinear(Array.from(heat.data), 3, 3, 6, 6);
    const v = colormaps.viridis;
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const i = y * 6 + x, src = (Math.floor(y / 2) * 3 + Math.floor(x / 2)) * 3;
        const l = Math.round(h6[i] * 255);
        for (let q = 0; q < 3; q++) {
          const want = Math.round(0.5 * Math.round(img.data[src + q]) + 0.5 * v[3 * l + q]);
          expect(Math.abs(o.data[3 * i + q] - want), `(${y},${x}) channel ${q}`).toBeLessThanOrEqual(1); // heat rounding at float32 vs float64
        }
      }
    }
    // Values outside [0, 255]: mapped by their own min and max; alpha 0 leaves the image alone.
    const neg = new Tensor(Float32Array.from([-2, 0, 2, 6]), [2, 2, 1]);
    const plain = gradCamOverlay(neg, uniform([2, 2]), { alpha: 0 });
    expect(Array.from(plain.data.filter((_, i) => i % 3 === 0))).toEqual([0, 64, 128, 255]);
    expect(Array.from(gradCamOverlay(neg, uniform([2, 2]), { alpha: 0, valueRange: [0, 2] }).data.filter((_, i) => i % 3 === 0))).toEqual([0, 0, 255, 255]);
  });

  it('rejects bad input', () => {
    const img = uniform([4, 4, 1]);
    expectError(() => gradCamOverlay(img, uniform([2, 4, 4])), ShapeError, 'gradCamOverlay', "'heatmap'");
    expectError(() => gradCamOverlay(uniform([4, 4, 2]), uniform([4, 4])), ShapeError, '1, 3 or 4 channels');
    expectError(() => gradCamOverlay(img, uniform([4, 4]), { alpha: 2 }), ValueError, "'alpha'");
    expectError(() => gradCamOverlay(img, uniform([4, 4]), { colormap: 'hsv' as 'jet' }), ValueError, "'colormap'");
    expectError(() => gradCamOverlay(img, uniform([4, 4]), { valueRange: [1, 0] }), ValueError, "'valueRange'");
    expectError(() => gradCamOverlay(img, [1] as unknown as Tensor), ValueError, "'heatmap'");
  });
});
