/**
 * Forward values of every layer against an independent float64 computation (test/nn/naive.ts, plain loops from
 * the definitions): checks the layers' wiring (weight layouts, bias, activation, padding and stride options,
 * the Keras defaults), not kernel accuracy, which test/props covers on every ISA. So the layers run on the
 * reference backend, and tolerances are the float32 summation bound (n + 2) * 2^-24 * sum|terms|.
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { withBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { layers, type Layer } from '../../src/nn/index.js';
import { uniformF32 } from '../helpers/random.js';
import * as naive from './naive.js';

let seed = 100;
function rnd(shape: readonly number[], lo = -1, hi = 1): Tensor {
  return new Tensor(uniformF32(naive.size(shape), seed++, lo, hi), shape);
}
const ref = <T>(fn: () => T): T => withBackend(referenceBackend, fn);

/** Builds the layer on x, gives every weight random values (biases non-zero), and returns the output and weights. */
function run(layer: Layer, x: Tensor, training = false): { y: Tensor; w: Record<string, Float32Array> } {
  return ref(() => {
    layer.apply(x);
    const w: Record<string, Float32Array> = {};
    const values: Record<string, Tensor> = {};
    for (const v of layer.weights) {
      const t = rnd(v.shape);
      values[v.name] = t;
      w[v.name.split('/')[1]] = t.data as Float32Array;
    }
    layer.setWeights(values);
    return { y: layer.apply(x, { training }), w };
  });
}

describe('Dense', () => {
  it('computes x @ kernel + bias, [in, units] layout', () => {
    const x = rnd([3, 5]);
    const { y, w } = run(layers.dense({ units: 4 }), x);
    expectShape(y, [3, 4]);
    naive.expectClose(y, naive.dense(x.data, 3, 5, w.kernel, 4, w.bias), 6, 'dense');
  });

  it('applies the kernel to the last axis of a rank-3 input and then the activation; useBias false has no bias', () => {
    const x = rnd([2, 3, 5]);
    const { y, w } = run(layers.dense({ units: 4, activation: 'relu', useBias: false }), x);
    expectShape(y, [2, 3, 4]);
    expect(Object.keys(w)).toEqual(['kernel']);
    const lin = naive.dense(x.data, 6, 5, w.kernel, 4);
    naive.expectClose(y, { ...lin, data: lin.data.map((v) => Math.max(v, 0)), shape: [2, 3, 4] }, 5, 'dense relu');
  });
});

describe('convolutions', () => {
  const cases: Array<{ what: string; x: number[]; args: Parameters<typeof layers.conv2d>[0] }> = [
    { what: 'valid 3x3', x: [2, 6, 5, 3], args: { filters: 4, kernelSize: 3 } },
    { what: "'same' stride 2 on odd sizes", x: [1, 7, 6, 2], args: { filters: 3, kernelSize: [3, 2], strides: 2, padding: 'same' } },
    { what: 'dilation 2', x: [1, 7, 7, 2], args: { filters: 2, kernelSize: 3, dilationRate: 2 } },
    { what: "groups 2 'same', no bias", x: [2, 5, 5, 4], args: { filters: 6, kernelSize: 3, groups: 2, padding: 'same', useBias: false } },
    { what: '1x1', x: [1, 3, 4, 5], args: { filters: 3, kernelSize: 1 } },
  ];
  for (const c of cases) {
    it(`Conv2D ${c.what} matches a direct convolution`, () => {
      const x = rnd(c.x);
      const l = layers.conv2d(c.args);
      const { y, w } = run(l, x);
      const k = l.kernelSize as [number, number];
      const s = l.strides as [number, number];
      const d = l.dilationRate as [number, number];
      const attrs = { strides: s, dilation: d, pads: naive.padsFor(l.padding as 'valid' | 'same', [c.x[1], c.x[2]], k, s, d), groups: l.groups };
      const want = naive.conv2d(x.data, x.shape, w.kernel, l.kernel!.shape, attrs, w.bias);
      naive.expectClose(y, want, k[0] * k[1] * (c.x[3] / l.groups) + 1, `conv2d ${c.what}`);
    });
  }

  it("Conv2D's activation follows the convolution", () => {
    const x = rnd([1, 4, 4, 2]);
    const l = layers.conv2d({ filters: 2, kernelSize: 2, activation: 'tanh' });
    const { y, w } = run(l, x);
    const lin = naive.conv2d(x.data, x.shape, w.kernel, l.kernel!.shape, { strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 1 }, w.bias);
    // tanh is 1-Lipschitz: the conv's bound carries over, plus the rounding of tanh itself.
    naive.expectClose(y, { ...lin, data: lin.data.map(Math.tanh) }, 2 * 2 * 2 + 4, 'conv2d tanh');
  });

  for (const padding of ['valid', 'same', 'causal'] as const) {
    it(`Conv1D '${padding}' with dilation matches a direct 1-D convolution`, () => {
      const x = rnd([2, 9, 3]);
      const l = layers.conv1d({ filters: 2, kernelSize: 3, dilationRate: 2, padding });
      const { y, w } = run(l, x);
      // As a 2-D convolution with height 1; 'causal' pads (k-1)*d on the left only.
      const eff = (3 - 1) * 2;
      const pads: [number, number, number, number] = padding === 'valid' ? [0, 0, 0, 0]
        : padding === 'causal' ? [0, 0, eff, 0] : [0, 0, ...naive.samePads(9, 3, 1, 2)];
      const want = naive.conv2d(x.data, [2, 1, 9, 3], w.kernel, [1, 3, 3, 2], { strides: [1, 1], dilation: [1, 2], pads, groups: 1 }, w.bias);
      naive.expectClose(y, { ...want, shape: [2, want.shape[2], 2] }, 10, `conv1d ${padding}`);
    });
  }

  for (const [padding, outputPadding] of [['valid', null], ['same', null], ['valid', 1]] as const) {
    it(`Conv2DTranspose '${padding}' stride 2${outputPadding ? ' with outputPadding 1' : ''} scatters through [KH, KW, filters, Cin]`, () => {
      const x = rnd([2, 3, 4, 3]);
      const l = layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding, outputPadding });
      const { y, w } = run(l, x);
      // Keras deconv_output_length; the pads are those of the forward convolution that maps the output back to x.
      const outLen = (n: number) => (outputPadding ? (n - 1) * 2 + 3 + outputPadding : padding === 'same' ? n * 2 : n * 2 + 1);
      const out: [number, number] = [outLen(3), outLen(4)];
      const pad: [number, number] = padding === 'same' ? [naive.samePads(out[0], 3, 2, 1)[0], naive.samePads(out[1], 3, 2, 1)[0]] : [0, 0];
      const want = naive.conv2dTranspose(x.data, x.shape, w.kernel, l.kernel!.shape, out, [2, 2], [1, 1], pad, w.bias);
      expect(l.computeOutputShape([null, 3, 4, 3])).toEqual([null, ...out, 2]);
      naive.expectClose(y, want, 3 * 3 * 3 + 1, `conv2dTranspose ${padding}`);
    });
  }

  it('DepthwiseConv2D: channel c*M + m is channel c convolved with its own filter m', () => {
    const x = rnd([2, 6, 5, 3]);
    const l = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same' });
    const { y, w } = run(l, x);
    expect(l.depthwiseKernel!.shape).toEqual([3, 3, 3, 2]);
    // [KH, KW, C, M] in memory is the grouped kernel [KH, KW, 1, C*M] with groups = C.
    const attrs = { strides: [2, 2] as [number, number], dilation: [1, 1] as [number, number], pads: naive.padsFor('same', [6, 5], [3, 3], [2, 2], [1, 1]), groups: 3 };
    const want = naive.conv2d(x.data, x.shape, w.depthwise_kernel, [3, 3, 1, 6], attrs, w.bias);
    naive.expectClose(y, want, 10, 'depthwiseConv2d');
  });

  it('SeparableConv2D is the depthwise convolution followed by a 1x1 convolution and the bias', () => {
    const x = rnd([1, 5, 5, 2]);
    const l = layers.separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 2 });
    const { y, w } = run(l, x);
    expect(l.weights.map((v) => v.name)).toEqual([`${l.name}/depthwise_kernel`, `${l.name}/pointwise_kernel`, `${l.name}/bias`]);
    const depth = naive.conv2d(x.data, x.shape, w.depthwise_kernel, [3, 3, 1, 4], { strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 2 });
    const want = naive.conv2d(depth.data, depth.shape, w.pointwise_kernel, [1, 1, 4, 3], { strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 1 }, w.bias);
    // The intermediate is rounded to float32 once more; its scale is the depthwise sum of |terms|.
    const absDepth = naive.conv2d(depth.abs, depth.shape, Float64Array.from(w.pointwise_kernel, Math.abs), [1, 1, 4, 3], { strides: [1, 1], dilation: [1, 1], pads: [0, 0, 0, 0], groups: 1 }, Float64Array.from(w.bias, Math.abs));
    naive.expectClose(y, { ...want, abs: absDepth.data }, 9 + 4 + 1, 'separableConv2d');
  });
});

describe('pooling', () => {
  for (const [mode, padding] of [['max', 'valid'], ['max', 'same'], ['avg', 'valid'], ['avg', 'same']] as const) {
    it(`${mode} pooling 3x3 stride 2 '${padding}'${mode === 'avg' ? ' (divides by the in-bounds count)' : ''}`, () => {
      const x = rnd([2, 7, 6, 3]);
      const l = mode === 'max' ? layers.maxPooling2d({ poolSize: 3, strides: 2, padding }) : layers.averagePooling2d({ poolSize: 3, strides: 2, padding });
      const y = ref(() => l.apply(x));
      const want = naive.pool(x.data, x.shape, [3, 3], [2, 2], naive.padsFor(padding, [7, 6], [3, 3], [2, 2], [1, 1]), mode);
      naive.expectClose(y, want, 10, `${mode}Pool ${padding}`);
    });
  }

  it('pools 2x2 with strides = poolSize by default (Keras)', () => {
    const x = rnd([1, 5, 4, 1]);
    const y = ref(() => layers.maxPooling2d().apply(x));
    naive.expectClose(y, naive.pool(x.data, x.shape, [2, 2], [2, 2], [0, 0, 0, 0], 'max'), 0, 'maxPool default');
  });

  it('global average and max pooling give [N, C], or [N, 1, 1, C] with keepDims', () => {
    const x = rnd([2, 3, 4, 5]);
    const avg = ref(() => layers.globalAveragePooling2d().apply(x));
    const max = ref(() => layers.globalMaxPooling2d({ keepDims: true }).apply(x));
    const a = naive.pool(x.data, x.shape, [3, 4], [1, 1], [0, 0, 0, 0], 'avg');
    const m = naive.pool(x.data, x.shape, [3, 4], [1, 1], [0, 0, 0, 0], 'max');
    naive.expectClose(avg, { ...a, shape: [2, 5] }, 12, 'globalAvg');
    naive.expectClose(max, m, 0, 'globalMax');
  });
});

describe('reshaping, rescaling and merging', () => {
  it('Flatten keeps the batch axis; Reshape infers -1; both keep the row-major order', () => {
    const x = rnd([2, 3, 4, 5]);
    const f = ref(() => layers.flatten().apply(x));
    expectShape(f, [2, 60]);
    expect(Array.from(f.data)).toEqual(Array.from(x.data));
    const r = ref(() => layers.reshape({ targetShape: [-1, 10] }).apply(x));
    expectShape(r, [2, 6, 10]);
    expect(Array.from(r.data)).toEqual(Array.from(x.data));
  });

  it('ZeroPadding2D adds zero rows and columns: n, [rows, cols] or [[top, bottom], [left, right]]', () => {
    const x = rnd([1, 2, 3, 2]);
    const y = ref(() => layers.zeroPadding2d({ padding: [[1, 0], [2, 1]] }).apply(x));
    expectShape(y, [1, 3, 6, 2]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 6; j++) for (let c = 0; c < 2; c++) {
      const inside = i >= 1 && j >= 2 && j < 5;
      const want = inside ? x.data[((i - 1) * 3 + (j - 2)) * 2 + c] : 0;
      expect(y.data[(i * 6 + j) * 2 + c]).toBe(want);
    }
    expect(ref(() => layers.zeroPadding2d().apply(x)).shape).toEqual([1, 4, 5, 2]);
    expect(ref(() => layers.zeroPadding2d({ padding: [2, 0] }).apply(x)).shape).toEqual([1, 6, 3, 2]);
  });

  it('Rescaling computes x * scale + offset, and turns int32 pixels into float32', () => {
    const pixels = new Tensor(Int32Array.from([0, 51, 255, 128]), [1, 2, 2, 1]);
    const y = ref(() => layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(pixels));
    expect(y.dtype).toBe('float32');
    Array.from(pixels.data).forEach((p, i) => expect(Math.abs(y.data[i] - (p / 127.5 - 1))).toBeLessThan(2 ** -22));
  });

  it('Add sums its inputs (broadcasting a length-1 axis); Concatenate joins along the channels', () => {
    const a = rnd([2, 3, 4]);
    const b = rnd([2, 3, 4]);
    const c = rnd([2, 1, 4]);
    const s = ref(() => layers.add().apply([a, b, c]));
    for (let i = 0; i < 24; i++) {
      const want = a.data[i] + b.data[i] + c.data[Math.floor(i / 12) * 4 + (i % 4)];
      expect(Math.abs(s.data[i] - want)).toBeLessThanOrEqual(4 * 2 ** -24 * 3);
    }
    const cat = ref(() => layers.concatenate().apply([a, rnd([2, 3, 2])]));
    expectShape(cat, [2, 3, 6]);
    expect(cat.data[6 * 4 + 3]).toBe(a.data[4 * 4 + 3]);
    const cat1 = ref(() => layers.concatenate({ axis: 1 }).apply([a, c]));
    expectShape(cat1, [2, 4, 4]);
  });
});

describe('activation layers', () => {
  const x = rnd([2, 6], -3, 3);
  const xs = Array.from(x.data);
  const check = (l: Layer, f: (v: number, i: number) => number, what: string, relTol = 2 ** -22): void => {
    const y = ref(() => l.apply(x));
    expectShape(y, [2, 6]);
    xs.forEach((v, i) => {
      const want = f(v, i);
      expect(Math.abs(y.data[i] - want), `${what} at ${v}`).toBeLessThanOrEqual(relTol * Math.max(1, Math.abs(want)));
    });
  };
  it('relu, relu with maxValue and negativeSlope, leakyRelu (alpha 0.3 by default), elu', () => {
    check(layers.relu(), (v) => Math.max(v, 0), 'relu');
    check(layers.relu({ maxValue: 1.5, negativeSlope: 0.1 }), (v) => Math.min(v < 0 ? 0.1 * v : v, 1.5), 'relu max');
    check(layers.leakyRelu(), (v) => (v < 0 ? 0.3 * v : v), 'leakyRelu');
    check(layers.elu({ alpha: 0.5 }), (v) => (v < 0 ? 0.5 * Math.expm1(v) : v), 'elu');
  });
  it('sigmoid, tanh and the Activation layer by name (Keras snake_case accepted)', () => {
    check(layers.sigmoid(), (v) => 1 / (1 + Math.exp(-v)), 'sigmoid');
    check(layers.tanh(), Math.tanh, 'tanh');
    check(layers.activation({ activation: 'leaky_relu' }), (v) => (v < 0 ? 0.2 * v : v), 'leaky_relu activation');
  });
  it('Softmax over the last axis by default, or another axis', () => {
    const rows = [xs.slice(0, 6), xs.slice(6)];
    const sm = rows.map((r) => {
      const m = Math.max(...r);
      const e = r.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    }).flat();
    check(layers.softmax(), (_, i) => sm[i], 'softmax');
    const col = ref(() => layers.softmax({ axis: 1 }).apply(x.reshape([2, 2, 3])));
    for (const [a, b] of [[0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8, 11]]) expect(col.data[a] + col.data[b]).toBeCloseTo(1, 6);
    expect(() => layers.softmax({ axis: 0 }).apply(x)).toThrow(/is not a non-batch axis/);
  });
  it('Maxout keeps the maximum of each of numUnits contiguous groups', () => {
    const y = ref(() => layers.maxout({ numUnits: 2 }).apply(x));
    expectShape(y, [2, 2]);
    expect(Array.from(y.data)).toEqual([
      Math.max(...xs.slice(0, 3)), Math.max(...xs.slice(3, 6)), Math.max(...xs.slice(6, 9)), Math.max(...xs.slice(9, 12)),
    ].map(Math.fround));
  });
});

function expectShape(t: Tensor, shape: number[]): void {
  expect(t.shape).toEqual(shape);
}
