/**
 * Losses (src/train/losses.ts): Keras' documented examples and hand-computed values; a plain float64
 * implementation over random cases (probabilities and logits, label smoothing, reductions, sample weights,
 * rank-3 predictions); gradients through the tape by finite differences in float64; bad targets.
 *
 * Tolerance against the float64 reference: the library computes in float32, each element through a handful
 * of roundings (normalise, clip, log, multiply) and each loss sums C terms per row and N rows, so the error is
 * at most gamma32(C + N + 8) relative to the sum of the terms' magnitudes (Higham), plus the float32 rounding
 * of the inputs themselves, which the reference shares (it reads the same float32 values).
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { tensor } from '../../src/tensor/creation.js';
import {
  BinaryCrossentropy, CategoricalCrossentropy, FunctionLoss, Loss, MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
  binaryCrossentropy, categoricalCrossentropy, getLoss, lossFromConfig, meanAbsoluteError, meanSquaredError, registerLoss,
  serializeLoss, sparseCategoricalCrossentropy, sigmoidCrossEntropyWithLogits, type LossConfig,
} from '../../src/train/losses.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import { EPS32 } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { uniformF32, intsBelow } from '../helpers/random.js';
import { randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const gamma32 = (n: number) => (n * EPS32) / (1 - n * EPS32);
const val = (t: Tensor) => {
  expect(t.shape).toEqual([]);
  return t.data[0];
};

describe('Keras examples and hand-computed values', () => {
  // The values Keras' documentation prints for these inputs, and the same computed by hand to 7 digits.
  it('categorical and sparse categorical cross-entropy from probabilities: 1.177', () => {
    const y = tensor([[0, 1, 0], [0, 0, 1]]);
    const p = tensor([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]);
    const expected = (-Math.log(0.95) - Math.log(0.1)) / 2; // 1.1769392
    expect(val(categoricalCrossentropy(y, p))).toBeCloseTo(expected, 6);
    expect(val(sparseCategoricalCrossentropy(tensor([1, 2], undefined, 'int32'), p))).toBeCloseTo(expected, 6);
    expect(val(new CategoricalCrossentropy({ reduction: 'sum' }).call(y, p))).toBeCloseTo(2 * expected, 5);
    expect(Array.from(new CategoricalCrossentropy({ reduction: 'none' }).call(y, p).data)).toEqual([
      expect.closeTo(-Math.log(0.95), 6), expect.closeTo(-Math.log(0.1), 6),
    ]);
  });

  it('clips probabilities to [1e-7, 1 - 1e-7] as Keras: a zero on the true class costs -log(1e-7)', () => {
    const p = tensor([[0, 1, 0]]);
    const l = val(categoricalCrossentropy(tensor([[1, 0, 0]]), p));
    expect(l).toBeCloseTo(-Math.log(1e-7), 4); // 16.1181
    expect(val(binaryCrossentropy(tensor([1]), tensor([0])))).toBeCloseTo(-Math.log(1e-7), 4);
  });

  it('normalises probabilities that do not sum to 1 (Keras: p / sum p)', () => {
    const l = val(categoricalCrossentropy(tensor([[0, 1]]), tensor([[1, 3]])));
    expect(l).toBeCloseTo(-Math.log(0.75), 6);
  });

  it('cross-entropy from logits: -log softmax([1, 2, 3])[2] = 0.4076060', () => {
    const logits = tensor([[1, 2, 3]]);
    const expected = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3;
    expect(val(categoricalCrossentropy(tensor([[0, 0, 1]]), logits, { fromLogits: true }))).toBeCloseTo(expected, 6);
    expect(val(sparseCategoricalCrossentropy(tensor([2], undefined, 'int32'), logits, { fromLogits: true }))).toBeCloseTo(expected, 6);
  });

  it('binary cross-entropy: Keras examples 0.815 (probabilities) and 0.865 (logits)', () => {
    const y = tensor([[0, 1], [0, 0]]);
    const p = tensor([[0.6, 0.4], [0.4, 0.6]]);
    const probs = ((-Math.log(0.4) - Math.log(0.4)) / 2 + (-Math.log(0.6) - Math.log(0.4)) / 2) / 2; // 0.8149245
    expect(val(binaryCrossentropy(y, p))).toBeCloseTo(probs, 6);
    const logits = [-18.6, 0.51, 2.94, -12.8];
    const z = [0, 1, 0, 0];
    const ref = logits.reduce((s, x, i) => s + Math.max(x, 0) - x * z[i] + Math.log1p(Math.exp(-Math.abs(x))), 0) / 4;
    const got = val(binaryCrossentropy(tensor(z), tensor(logits), { fromLogits: true }));
    expect(got).toBeCloseTo(ref, 6);
    expect(got).toBeCloseTo(0.865, 3);
  });

  it('mean squared and absolute error: Keras examples 0.5 and 0.5; [N] targets match [N, 1] predictions', () => {
    const y = tensor([[0, 1], [0, 0]]);
    const p = tensor([[1, 1], [1, 0]]);
    expect(val(meanSquaredError(y, p))).toBe(0.5);
    expect(val(meanAbsoluteError(y, p))).toBe(0.5);
    expect(val(meanSquaredError(tensor([1, 2]), tensor([[1.5], [1]])))).toBe(0.625);
    expect(val(meanAbsoluteError(tensor([[1], [2]]), tensor([1.5, 1])))).toBe(0.75);
  });

  it("sample weights scale each sample and 'mean' still divides by the batch size (Keras sum_over_batch_size)", () => {
    const y = tensor([[1], [2], [3]]);
    const p = tensor([[2], [2], [5]]);
    // squared errors 1, 0, 4; weights 2, 7, 0.5 -> (2 + 0 + 2) / 3
    expect(val(new MeanSquaredError().call(y, p, tensor([2, 7, 0.5])))).toBeCloseTo(4 / 3, 6);
    expect(val(new MeanSquaredError({ reduction: 'sum' }).call(y, p, tensor([2, 7, 0.5])))).toBe(4);
  });

  it('label smoothing mixes the targets with the uniform distribution', () => {
    // s = 0.3, C = 2: targets [0, 1] -> [0.15, 0.85]
    const p = tensor([[0.2, 0.8]]);
    const expected = -(0.15 * Math.log(0.2) + 0.85 * Math.log(0.8));
    expect(val(categoricalCrossentropy(tensor([[0, 1]]), p, { labelSmoothing: 0.3 }))).toBeCloseTo(expected, 6);
    expect(val(sparseCategoricalCrossentropy(tensor([1], undefined, 'int32'), p, { labelSmoothing: 0.3 }))).toBeCloseTo(expected, 6);
    // binary: z -> z (1 - s) + s / 2
    const b = -(0.85 * Math.log(0.8) + 0.15 * Math.log(0.2));
    expect(val(binaryCrossentropy(tensor([1]), tensor([0.8]), { labelSmoothing: 0.3 }))).toBeCloseTo(b, 6);
  });

  it('a custom loss function: scalar results pass through, per-sample results are averaged', () => {
    const sq = new FunctionLoss((y, p) => p.sub(y).mul(p.sub(y)).sum(1));
    expect(val(sq.call(tensor([[0, 0], [1, 1]]), tensor([[1, 1], [1, 2]])))).toBe(1.5);
    expect(sq.name).toBe('loss'); // an arrow function has no name
    function myLoss(y: Tensor, p: Tensor) {
      return p.sub(y).abs().mean();
    }
    expect(getLoss(myLoss).name).toBe('my_loss');
  });
});

// -------------------------------------------------------------------------------------------------
// float64 reference

type Row = number[];
const rows = (d: ArrayLike<number>, n: number, c: number): Row[] => Array.from({ length: n }, (_, i) => Array.from(d).slice(i * c, (i + 1) * c));
const EPS = 1e-7;

function refCategorical(y: Row[], p: Row[], fromLogits: boolean, ls = 0): number[] {
  return y.map((yr, i) => {
    const c = yr.length;
    const t = yr.map((v) => v * (1 - ls) + ls / c);
    let logp: number[];
    if (fromLogits) {
      const m = Math.max(...p[i]);
      const lse = m + Math.log(p[i].reduce((s, v) => s + Math.exp(v - m), 0));
      logp = p[i].map((v) => v - lse);
    } else {
      const s = p[i].reduce((a, b) => a + b, 0);
      logp = p[i].map((v) => Math.log(Math.min(Math.max(v / s, EPS), 1 - EPS)));
    }
    return -t.reduce((s, v, k) => s + v * logp[k], 0);
  });
}

function refBinary(y: Row[], p: Row[], fromLogits: boolean, ls = 0): number[] {
  return y.map((yr, i) =>
    yr.reduce((s, z0, k) => {
      const z = z0 * (1 - ls) + ls / 2;
      const x = p[i][k];
      if (fromLogits) return s + Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)));
      const q = Math.min(Math.max(x, EPS), 1 - EPS);
      return s - (z * Math.log(q) + (1 - z) * Math.log(1 - q));
    }, 0) / yr.length,
  );
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('against a float64 implementation', () => {
  const n = 6;
  const c = 5;
  const labels = intsBelow(n, c, 11);
  const oneHot = new Float32Array(n * c);
  labels.forEach((k, i) => (oneHot[i * c + k] = 1));
  const soft = uniformF32(n * c, 12, 0, 1);
  const probsRaw = uniformF32(n * c, 13, 0.01, 1);
  const logits = uniformF32(n * c, 14, -4, 4);
  const yT = new Tensor(oneHot, [n, c]);
  const tol = (ref: number[]) => gamma32(c + n + 8) * ref.reduce((s, v) => s + Math.abs(v), 1);

  for (const fromLogits of [false, true]) {
    for (const ls of [0, 0.2]) {
      it(`categorical / sparse categorical, fromLogits ${fromLogits}, labelSmoothing ${ls}`, () => {
        const pd = fromLogits ? logits : probsRaw;
        const p = new Tensor(pd, [n, c]);
        const ref = refCategorical(rows(oneHot, n, c), rows(pd, n, c), fromLogits, ls);
        const opts = { fromLogits, labelSmoothing: ls };
        expect(Math.abs(val(categoricalCrossentropy(yT, p, opts)) - mean(ref))).toBeLessThanOrEqual(tol(ref));
        expect(Math.abs(val(sparseCategoricalCrossentropy(new Tensor(labels, [n]), p, opts)) - mean(ref))).toBeLessThanOrEqual(tol(ref));
        const none = new CategoricalCrossentropy({ ...opts, reduction: 'none' }).call(yT, p);
        expect(none.shape).toEqual([n]);
        none.data.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThanOrEqual(tol([ref[i]])));
        // soft targets
        const softRef = refCategorical(rows(soft, n, c), rows(pd, n, c), fromLogits, ls);
        expect(Math.abs(val(categoricalCrossentropy(new Tensor(soft, [n, c]), p, opts)) - mean(softRef))).toBeLessThanOrEqual(tol(softRef));
      });
    }
  }

  for (const fromLogits of [false, true]) {
    it(`binary, fromLogits ${fromLogits}, with and without smoothing and sample weights`, () => {
      const z = new Float32Array(n * c).map((_, i) => (soft[i] > 0.5 ? 1 : 0));
      const pd = fromLogits ? logits : probsRaw;
      const p = new Tensor(pd, [n, c]);
      for (const ls of [0, 0.1]) {
        const ref = refBinary(rows(z, n, c), rows(pd, n, c), fromLogits, ls);
        const got = val(binaryCrossentropy(new Tensor(z, [n, c]), p, { fromLogits, labelSmoothing: ls }));
        expect(Math.abs(got - mean(ref))).toBeLessThanOrEqual(tol(ref));
      }
      const w = uniformF32(n, 15, 0, 2);
      const ref = refBinary(rows(z, n, c), rows(pd, n, c), fromLogits).map((v, i) => v * w[i]);
      const got = val(new BinaryCrossentropy({ fromLogits }).call(new Tensor(z, [n, c]), p, new Tensor(w, [n])));
      expect(Math.abs(got - ref.reduce((s, v) => s + v, 0) / n)).toBeLessThanOrEqual(tol(ref));
    });
  }

  it('sparse cross-entropy from logits on rank-3 predictions (one class axis, per-position losses)', () => {
    const [b, t] = [2, 3];
    const lab = intsBelow(b * t, c, 16);
    const lg = uniformF32(b * t * c, 17, -3, 3);
    const oh = new Float32Array(b * t * c);
    lab.forEach((k, i) => (oh[i * c + k] = 1));
    const ref = refCategorical(rows(oh, b * t, c), rows(lg, b * t, c), true);
    const none = new SparseCategoricalCrossentropy({ fromLogits: true, reduction: 'none' }).call(new Tensor(lab, [b, t]), new Tensor(lg, [b, t, c]));
    expect(none.shape).toEqual([b, t]);
    none.data.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThanOrEqual(tol([ref[i]])));
    // [b, t, 1] targets are accepted (Keras squeezes the trailing 1)
    const m = val(sparseCategoricalCrossentropy(new Tensor(lab, [b, t, 1]), new Tensor(lg, [b, t, c]), { fromLogits: true }));
    expect(Math.abs(m - mean(ref))).toBeLessThanOrEqual(tol(ref));
  });

  it('mean squared / absolute error over [N, D]', () => {
    const a = uniformF32(n * c, 18, -2, 2);
    const bb = uniformF32(n * c, 19, -2, 2);
    let se = 0;
    let ae = 0;
    for (let i = 0; i < a.length; i++) {
      se += (a[i] - bb[i]) ** 2;
      ae += Math.abs(a[i] - bb[i]);
    }
    const ta = new Tensor(a, [n, c]);
    const tb = new Tensor(bb, [n, c]);
    expect(Math.abs(val(meanSquaredError(ta, tb)) - se / a.length)).toBeLessThanOrEqual(gamma32(c + n + 4) * (se + 1));
    expect(Math.abs(val(meanAbsoluteError(ta, tb)) - ae / a.length)).toBeLessThanOrEqual(gamma32(c + n + 4) * (ae + 1));
  });
});

// -------------------------------------------------------------------------------------------------
// Gradients through the tape (float64, finite differences: test/helpers/tapecheck.ts)

describe('gradients by finite differences', () => {
  const n = 3;
  const c = 4;
  const labels = Int32Array.of(0, 3, 1);
  const oneHot = new Float64Array(n * c);
  labels.forEach((k, i) => (oneHot[i * c + k] = 1));
  const yF = new Tensor(oneHot, [n, c]);
  const yI = new Tensor(labels, [n]);
  // Probabilities in [0.05, 0.95]: clip bounds (1e-7) are far from every point and every perturbation.
  const probs = randF64([n, c], 21, 0.05, 0.95);
  const logits = randF64([n, c], 22, -3, 3);

  const cases: Array<[string, (p: Tensor) => Tensor, Tensor]> = [
    ['categorical, probabilities', (p) => categoricalCrossentropy(yF, p), probs],
    ['categorical, logits', (p) => categoricalCrossentropy(yF, p, { fromLogits: true }), logits],
    ['categorical, logits, smoothing 0.1', (p) => categoricalCrossentropy(yF, p, { fromLogits: true, labelSmoothing: 0.1 }), logits],
    ['sparse, probabilities', (p) => sparseCategoricalCrossentropy(yI, p), probs],
    ['sparse, logits', (p) => sparseCategoricalCrossentropy(yI, p, { fromLogits: true }), logits],
    ['sparse, logits, sample weights', (p) => new SparseCategoricalCrossentropy({ fromLogits: true }).call(yI, p, new Tensor(Float64Array.of(1, 0.5, 2), [n])), logits],
    ['binary, probabilities', (p) => binaryCrossentropy(yF, p), probs],
    ['binary, logits', (p) => binaryCrossentropy(yF, p, { fromLogits: true }), logits],
    ['mean squared error', (p) => meanSquaredError(yF, p), logits],
    // |p - y| >= 0.05 away from its kink: probs never come within 0.05 of 0 or 1.
    ['mean absolute error', (p) => meanAbsoluteError(yF, p), probs],
    ['categorical, probabilities, reduction none', (p) => new CategoricalCrossentropy({ reduction: 'none' }).call(yF, p), probs],
  ];
  for (const [what, fn, at] of cases) {
    it(what, () => tapeGradCheck({ what, inputs: [at], fn }));
  }

  it('binary from logits at x = 0 has gradient sigmoid(0) - z exactly (no subgradient pick)', () => {
    const x = new Tensor(new Float32Array(2), [2]).requireGrad();
    sigmoidCrossEntropyWithLogits(tensor([1, 0]), x).sum().backward();
    expect(Array.from(x.grad!.data)).toEqual([-0.5, 0.5]);
  });
});

// -------------------------------------------------------------------------------------------------

describe('bad targets', () => {
  const p = tensor([[0.2, 0.8], [0.6, 0.4]]);
  it('class indices given to categorical cross-entropy point to the sparse loss', () => {
    expectError(() => categoricalCrossentropy(tensor([1, 0], undefined, 'int32'), p), ShapeError,
      'categorical_crossentropy: targets [2] must have the shape of the predictions [2,2]', "use 'sparseCategoricalCrossentropy'");
  });
  it('one-hot targets given to sparse cross-entropy point to the categorical loss', () => {
    expectError(() => sparseCategoricalCrossentropy(tensor([[0, 1], [1, 0]]), p), ShapeError,
      'must be class indices of shape [2]', "use 'categoricalCrossentropy'");
  });
  it('labels out of range and non-integer labels', () => {
    expectError(() => sparseCategoricalCrossentropy(tensor([1, 2], undefined, 'int32'), p), ValueError,
      'label 2 at index 1 is out of range [0, 2)', '2 classes');
    expectError(() => sparseCategoricalCrossentropy(tensor([-1, 0], undefined, 'int32'), p, { fromLogits: true }), ValueError, 'label -1 at index 0');
    expectError(() => sparseCategoricalCrossentropy(tensor([0.5, 1]), p), ValueError, 'integer class indices, got 0.5');
    expect(val(sparseCategoricalCrossentropy(tensor([1, 0]), p))).toBeCloseTo(-Math.log(0.8 * 0.6) / 2, 6); // float holding integers
  });
  it('binary targets outside [0, 1], shape mismatches, int32 predictions', () => {
    expectError(() => binaryCrossentropy(tensor([0, 2]), tensor([0.5, 0.5])), ValueError, 'targets must be in [0, 1]', 'got 2 at flat index 1');
    expectError(() => meanSquaredError(tensor([1, 2, 3]), tensor([[1], [2]])), ShapeError, 'targets [3] must have the shape of the predictions [2,1]');
    expectError(() => meanSquaredError(tensor([1, 2]), tensor([1, 2], undefined, 'int32')), DTypeError, 'predictions must be float32');
    expectError(() => new MeanSquaredError().call(tensor([1, 2]), tensor([1, 2]), tensor([1, 2, 3])), ShapeError, 'sampleWeight [3]');
  });
  it('options and names are checked', () => {
    expectError(() => new CategoricalCrossentropy({ from_logits: true } as never), ValueError, "unknown option 'from_logits'");
    expectError(() => new BinaryCrossentropy({ labelSmoothing: 2 }), ValueError, "'labelSmoothing' must be a number in [0, 1]");
    expectError(() => new MeanAbsoluteError({ reduction: 'avg' as never }), ValueError, "'reduction' must be 'mean', 'sum' or 'none'");
    expectError(() => getLoss('crossEntropy'), ValueError, "unknown loss 'crossEntropy'");
    expect(getLoss('sparse_categorical_crossentropy')).toBeInstanceOf(SparseCategoricalCrossentropy);
    expect(getLoss('categoricalCrossentropy')).toBeInstanceOf(CategoricalCrossentropy);
    expect(getLoss('mse')).toBeInstanceOf(MeanSquaredError);
    expect(getLoss('mae')).toBeInstanceOf(MeanAbsoluteError);
  });
});

describe('getConfig / lossFromConfig / serializeLoss', () => {
  const y = tensor([[0, 1, 0], [0, 0, 1]]);
  const p = tensor([[0.5, 2, -1], [0.1, 0.3, 1.2]]);
  const cases: [Loss, LossConfig, Tensor, Tensor][] = [
    [new CategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1, reduction: 'sum' }),
      { className: 'CategoricalCrossentropy', reduction: 'sum', fromLogits: true, labelSmoothing: 0.1 }, y, p],
    [new SparseCategoricalCrossentropy({ fromLogits: true }),
      { className: 'SparseCategoricalCrossentropy', reduction: 'mean', fromLogits: true, labelSmoothing: 0 }, tensor([1, 2], undefined, 'int32'), p],
    [new BinaryCrossentropy({ labelSmoothing: 0.2, reduction: 'none' }),
      { className: 'BinaryCrossentropy', reduction: 'none', fromLogits: false, labelSmoothing: 0.2 }, y, tensor([[0.2, 0.7, 0.1], [0.4, 0.4, 0.9]])],
    [new MeanSquaredError({ reduction: 'sum' }), { className: 'MeanSquaredError', reduction: 'sum' }, y, p],
    [new MeanAbsoluteError(), { className: 'MeanAbsoluteError', reduction: 'mean' }, y, p],
  ];
  for (const [loss, config, yt, yp] of cases) {
    it(`${config.className}: every option in the config, rebuilt equal, computing the same`, () => {
      expect(loss.getConfig()).toEqual(config);
      expect(serializeLoss(loss)).toEqual(config);
      const json = JSON.parse(JSON.stringify(loss.getConfig())) as LossConfig;
      const back = lossFromConfig(json);
      expect(back.constructor).toBe(loss.constructor);
      expect(back).not.toBe(loss);
      expect(back.getConfig()).toEqual(config);
      expect(Array.from(back.call(yt, yp).data)).toEqual(Array.from(loss.call(yt, yp).data));
    });
  }

  it('defaults: a config of the className alone (or with null options) is the default loss', () => {
    expect(lossFromConfig({ className: 'SparseCategoricalCrossentropy' }).getConfig()).toEqual(new SparseCategoricalCrossentropy().getConfig());
    expect(lossFromConfig({ className: 'BinaryCrossentropy', fromLogits: null, labelSmoothing: null }).getConfig())
      .toEqual({ className: 'BinaryCrossentropy', reduction: 'mean', fromLogits: false, labelSmoothing: 0 });
    expect(getLoss('mse').getConfig()).toEqual({ className: 'MeanSquaredError', reduction: 'mean' });
  });

  it('functions cannot be serialized: FunctionLoss has no config', () => {
    const f = new FunctionLoss((a, b) => b.sub(a).abs().mean());
    expect(f.getConfig()).toBeNull();
    expect(serializeLoss(f)).toBeNull();
    expect(serializeLoss(getLoss((a: Tensor, b: Tensor) => b.sub(a)))).toBeNull();
  });

  it('a subclass of a built-in is not saved as its parent; a registered class round-trips', () => {
    class Tweaked extends MeanSquaredError {
      override call(yTrue: Tensor, yPred: Tensor): Tensor {
        return super.call(yTrue, yPred).mul(2);
      }
    }
    const t = new Tweaked();
    expect(t.getConfig()!.className).toBe('MeanSquaredError'); // inherited, would rebuild the parent
    expect(serializeLoss(t)).toBeNull();

    class Scaled extends MeanSquaredError {
      constructor(readonly scale = 1) {
        super();
      }
      override call(yTrue: Tensor, yPred: Tensor): Tensor {
        return super.call(yTrue, yPred).mul(this.scale);
      }
      override getConfig(): LossConfig {
        return { className: 'TestScaledMse', scale: this.scale };
      }
    }
    expect(serializeLoss(new Scaled(3))).toBeNull(); // not registered yet
    registerLoss('TestScaledMse', (o) => new Scaled(o.scale as number));
    expect(serializeLoss(new Scaled(3))).toEqual({ className: 'TestScaledMse', scale: 3 });
    const back = lossFromConfig({ className: 'TestScaledMse', scale: 3 });
    expect(back).toBeInstanceOf(Scaled);
    expect((back as Scaled).scale).toBe(3);
    expectError(() => registerLoss('MeanSquaredError', () => new MeanSquaredError()), ValueError, "'MeanSquaredError' is a built-in loss class");
  });

  it('bad configs are clear errors', () => {
    expectError(() => lossFromConfig({ className: 'Huber' }), ValueError, "unknown loss class 'Huber'", 'CategoricalCrossentropy', 'registerLoss');
    expectError(() => lossFromConfig({ className: 'categoricalCrossentropy' }), ValueError, "unknown loss class 'categoricalCrossentropy'");
    expectError(() => lossFromConfig({ fromLogits: true } as never), ValueError, "expected an object with a string 'className'");
    expectError(() => lossFromConfig(null as never), ValueError, "expected an object with a string 'className', got null");
    expectError(() => lossFromConfig({ className: 'MeanSquaredError', fromLogits: true }), ValueError, "MeanSquaredError: unknown option 'fromLogits'");
    expectError(() => lossFromConfig({ className: 'BinaryCrossentropy', fromLogits: 'yes' }), DTypeError, "'fromLogits' must be a boolean");
  });
});
