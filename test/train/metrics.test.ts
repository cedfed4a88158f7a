/**
 * Metrics (src/train/metrics.ts) on hand-made cases: every expected value is worked out in the comment
 * beside it (Keras' documented examples where Keras has one), plus running state across batches,
 * 'accuracy' resolution, the approximate AUC against the exact one, and bad input.
 */
import { describe, expect, it } from 'vitest';

import { tensor } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  AUC, Accuracy, BinaryAccuracy, CategoricalAccuracy, ConfusionMatrix, F1Score, FunctionMetric, Mean, MeanAbsoluteErrorMetric,
  MeanMetricWrapper, MeanSquaredErrorMetric, Metric, Precision, Recall, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
  TopKCategoricalAccuracy, accuracy, auc, binaryAccuracy, categoricalAccuracy, confusionMatrix, f1Score, getMetric, inferAccuracyKind,
  metricFromConfig, precision, recall, registerMetric, serializeMetric, sparseCategoricalAccuracy, sparseTopKCategoricalAccuracy,
  topKCategoricalAccuracy, type MetricConfig,
} from '../../src/train/metrics.js';
import { BinaryCrossentropy, SparseCategoricalCrossentropy } from '../../src/train/losses.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import { expectError } from '../helpers/errors.js';
import { uniformF32 } from '../helpers/random.js';

const int = (v: number[]) => tensor(v, undefined, 'int32');

describe('accuracy', () => {
  const y = tensor([[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0]]);
  const p = tensor([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4], [0, 1, 0]]);
  // argmax p = 2, 0, 2, 1 against 2, 1, 0, 1: rows 0 and 3 right.
  it('categorical and sparse categorical: 2 of 4', () => {
    expect(categoricalAccuracy(y, p)).toBe(0.5);
    expect(sparseCategoricalAccuracy(int([2, 1, 0, 1]), p)).toBe(0.5);
    expect(sparseCategoricalAccuracy(tensor([[2], [1], [0], [1]]), p)).toBe(0.5); // [N, 1] float targets
  });
  it('ties go to the first maximum (argmax)', () => {
    expect(sparseCategoricalAccuracy(int([0]), tensor([[0.5, 0.5, 0]]))).toBe(1);
    expect(sparseCategoricalAccuracy(int([1]), tensor([[0.5, 0.5, 0]]))).toBe(0);
  });
  it('binary: prediction > threshold against 0/1 targets', () => {
    const yb = tensor([1, 0, 1, 0]);
    const pb = tensor([0.9, 0.6, 0.4, 0.1]);
    expect(binaryAccuracy(yb, pb)).toBe(0.5); // [1, 1, 0, 0] vs [1, 0, 1, 0]
    expect(binaryAccuracy(yb, pb, 0.35)).toBe(0.75); // [1, 1, 1, 0]
    expect(binaryAccuracy(tensor([0]), tensor([0.5]))).toBe(1); // 0.5 is not > 0.5
    // multi-label [N, 2]: Keras averages over the last axis per sample, then over samples
    expect(binaryAccuracy(tensor([[1, 0], [1, 1]]), tensor([[0.8, 0.7], [0.9, 0.9]]))).toBe(0.75);
  });
  it("'accuracy' picks the variant from the shapes (Keras 3's rule) or the loss", () => {
    expect(inferAccuracyKind([4, 3], [4, 3])).toBe('categorical');
    expect(inferAccuracyKind([4], [4, 3])).toBe('sparse');
    expect(inferAccuracyKind([4, 1], [4, 3])).toBe('sparse');
    expect(inferAccuracyKind([4, 1], [4, 1])).toBe('binary');
    expect(inferAccuracyKind([4], [4])).toBe('binary');
    expect(accuracy(y, p)).toBe(0.5);
    expect(accuracy(int([2, 1, 0, 1]), p)).toBe(0.5);
    const a = getMetric('accuracy', new SparseCategoricalCrossentropy()) as Accuracy;
    expect(a.kind).toBe('sparse');
    const b = getMetric('acc', new BinaryCrossentropy({ fromLogits: true })) as Accuracy;
    expect(b.kind).toBe('binary');
    expect(b.name).toBe('acc');
    b.update(tensor([1, 0]), tensor([0.2, -0.3])); // logits: threshold 0
    expect(b.result()).toBe(1);
  });
  it('accumulates across batches and resets', () => {
    const m = new SparseCategoricalAccuracy();
    m.update(int([0, 1]), tensor([[1, 0], [1, 0]])); // 1 of 2
    m.update(int([1, 1, 0, 0]), tensor([[0, 1], [0, 1], [1, 0], [1, 0]])); // 4 of 4
    expect(m.result()).toBeCloseTo(5 / 6, 15);
    m.reset();
    expect(m.result()).toBe(0);
    m.update(int([1]), tensor([[0, 1]]), tensor([3])); // sample weights
    m.update(int([1]), tensor([[1, 0]]), tensor([1]));
    expect(m.result()).toBe(0.75);
  });
  it('top-k: Keras examples, and ties count in (tf.math.in_top_k)', () => {
    const pk = tensor([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]);
    expect(topKCategoricalAccuracy(tensor([[0, 0, 1], [0, 1, 0]]), pk, 1)).toBe(0.5);
    expect(sparseTopKCategoricalAccuracy(int([2, 1]), pk, 1)).toBe(0.5);
    expect(sparseTopKCategoricalAccuracy(int([2, 1]), pk, 2)).toBe(1);
    expect(sparseTopKCategoricalAccuracy(int([2]), tensor([[0.5, 0.5, 0.5]]), 1)).toBe(1);
    expect(sparseTopKCategoricalAccuracy(int([0]), tensor([[NaN, 0.5, 0.5]]), 3)).toBe(0);
  });
});

describe('precision, recall, F1', () => {
  it('binary: Keras examples (2/3; with sample weights 1)', () => {
    const y = tensor([0, 1, 1, 1]);
    const p = tensor([1, 0, 1, 1]);
    expect(precision(y, p)).toBeCloseTo(2 / 3, 15);
    expect(recall(y, p)).toBeCloseTo(2 / 3, 15);
    expect(f1Score(y, p)).toBeCloseTo(2 / 3, 15);
    const m = new Precision();
    m.update(y, p, tensor([0, 0, 1, 0]));
    expect(m.result()).toBe(1);
    const r = new Recall({ threshold: 0.5 });
    r.update(tensor([[1], [1], [0]]), tensor([[0.7], [0.2], [0.9]])); // tp 1, fn 1
    expect(r.result()).toBe(0.5);
  });

  // y = 0 0 1 1 2 2, argmax predictions = 0 1 1 1 2 0
  // class 0: tp 1, fp 1 (sample 5), fn 1 (sample 1) -> P 1/2, R 1/2, F1 1/2
  // class 1: tp 2, fp 1 (sample 1), fn 0           -> P 2/3, R 1,   F1 4/5
  // class 2: tp 1, fp 0, fn 1 (sample 5)           -> P 1,   R 1/2, F1 2/3
  const y = int([0, 0, 1, 1, 2, 2]);
  const eye = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const p = tensor([0, 1, 1, 1, 2, 0].map((k) => eye[k].map((v) => 0.1 + 0.7 * v)));
  it('multi-class single-label: macro (default), micro, weighted, classId, perClass', () => {
    expect(precision(y, p)).toBeCloseTo((1 / 2 + 2 / 3 + 1) / 3, 15);
    expect(recall(y, p)).toBeCloseTo((1 / 2 + 1 + 1 / 2) / 3, 15);
    expect(f1Score(y, p)).toBeCloseTo((1 / 2 + 4 / 5 + 2 / 3) / 3, 15);
    expect(precision(y, p, { average: 'micro' })).toBeCloseTo(4 / 6, 15);
    expect(recall(y, p, { average: 'weighted' })).toBeCloseTo((1 / 2 + 1 + 1 / 2) / 3, 15); // equal supports
    expect(precision(y, p, { classId: 1 })).toBeCloseTo(2 / 3, 15);
    const f = new F1Score();
    f.update(y, p);
    expect(f.perClass().map((v) => +v.toFixed(6))).toEqual([0.5, 0.8, 0.666667]);
    // one-hot targets give the same
    expect(precision(tensor([0, 0, 1, 1, 2, 2].map((k) => eye[k])), p)).toBeCloseTo((1 / 2 + 2 / 3 + 1) / 3, 15);
  });
  it('weighted average uses the support', () => {
    // y = 0 0 0 1, predictions 0 0 1 1: class 0 R 2/3 (support 3), class 1 R 1 (support 1)
    const r = recall(int([0, 0, 0, 1]), tensor([[1, 0], [1, 0], [0, 1], [0, 1]]), { average: 'weighted' });
    expect(r).toBeCloseTo((3 * (2 / 3) + 1) / 4, 15);
  });
  it('multi-label with an explicit threshold', () => {
    // (1,.9) tp, (0,.2) tn, (0,.6) fp, (1,.7) tp, (1,.4) fn, (1,.8) tp: pooled P = 3/4, R = 3/4
    const yl = tensor([[1, 0], [0, 1], [1, 1]]);
    const pl = tensor([[0.9, 0.2], [0.6, 0.7], [0.4, 0.8]]);
    expect(precision(yl, pl, { threshold: 0.5, average: 'micro' })).toBe(0.75);
    expect(recall(yl, pl, { threshold: 0.5, average: 'micro' })).toBe(0.75);
    // per class: class 0 P 1/2 R 1/2, class 1 P 1 R 1
    expect(precision(yl, pl, { threshold: 0.5 })).toBe(0.75);
  });
  it('a class never predicted counts 0, not NaN', () => {
    expect(precision(int([0, 1]), tensor([[1, 0], [1, 0]]), { classId: 1 })).toBe(0);
  });
});

describe('AUC', () => {
  it("Keras' example: 3 thresholds give 0.75, as does the exact area", () => {
    const y = tensor([0, 0, 1, 1]);
    const p = tensor([0, 0.5, 0.3, 0.9]);
    // thresholds [-1e-7, 0.5, 1 + 1e-7]: tpr [1, 0.5, 0], fpr [1, 0, 0] -> (1 - 0)(1 + 0.5)/2 = 0.75
    expect(auc(y, p, { numThresholds: 3 })).toBe(0.75);
    // pairs (pos, neg): 0.3 > 0, 0.3 < 0.5, 0.9 > 0, 0.9 > 0.5 -> 3/4
    expect(auc(y, p, { exact: true })).toBe(0.75);
  });
  it('exact: tied scores count one half (Mann-Whitney)', () => {
    // pos 0.5, 0.8; neg 0.5, 0.2: 0.5 vs 0.5 tie (1/2), the other three pairs ordered -> 3.5 / 4
    expect(auc(tensor([1, 0, 1, 0]), tensor([0.5, 0.5, 0.8, 0.2]), { exact: true })).toBe(0.875);
  });
  it('the 200-threshold approximation is within the threshold spacing of the exact area', () => {
    const n = 400;
    const s = uniformF32(n, 31, 0, 1);
    const noise = uniformF32(n, 32, 0, 1);
    const yv = new Float32Array(n).map((_, i) => (s[i] + 0.6 * noise[i] > 0.8 ? 1 : 0));
    const y = new Tensor(yv, [n]);
    const p = new Tensor(s, [n]);
    const exact = auc(y, p, { exact: true });
    const approx = auc(y, p);
    expect(exact).toBeGreaterThan(0.7);
    // Each trapezoid covers scores within one bucket of width 1/199; misordering inside a bucket changes the
    // area by at most the mass of pairs sharing a bucket: a few percent of 1/199 of pairs at most here.
    expect(Math.abs(approx - exact)).toBeLessThan(0.01);
  });
  it('accumulates across batches, takes logits with fromLogits, flattens multi-class inputs against one-hot', () => {
    const m = new AUC({ exact: true });
    m.update(tensor([0, 1]), tensor([0.1, 0.9]));
    m.update(tensor([1, 0]), tensor([0.2, 0.3]));
    // pos 0.9, 0.2; neg 0.1, 0.3 -> 0.9 beats both, 0.2 beats 0.1 only -> 3/4
    expect(m.result()).toBe(0.75);
    expect(auc(tensor([0, 1]), tensor([-2, 3]), { fromLogits: true })).toBe(1);
    // sparse labels [1, 0] on 2-class scores -> one-hot [[0,1],[1,0]] against [[0.3,0.7],[0.6,0.4]]: pos 0.7, 0.6; neg 0.3, 0.4 -> 1
    expect(auc(int([1, 0]), tensor([[0.3, 0.7], [0.6, 0.4]]), { exact: true })).toBe(1);
  });
  it('no positives: 0 for the approximation (div_no_nan), NaN for exact; predictions outside [0, 1] are refused', () => {
    expect(auc(tensor([0, 0]), tensor([0.1, 0.9]))).toBe(0);
    expect(auc(tensor([0, 0]), tensor([0.1, 0.9]), { exact: true })).toBeNaN();
    expectError(() => auc(tensor([0, 1]), tensor([0.5, 1.5])), ValueError, 'predictions must be probabilities in [0, 1], got 1.5', 'fromLogits');
  });
});

describe('confusion matrix', () => {
  it('rows are true classes, columns predictions', () => {
    // y 0 1 2 2 1, argmax 0 2 2 2 1
    const p = tensor([[0.9, 0, 0.1], [0, 0.2, 0.8], [0, 0.1, 0.9], [0.3, 0.3, 0.4], [0, 1, 0]]);
    expect(confusionMatrix(int([0, 1, 2, 2, 1]), p)).toEqual([[1, 0, 0], [0, 1, 1], [0, 0, 2]]);
    expect(confusionMatrix(int([0, 1, 2, 2, 1]), int([0, 2, 2, 2, 1]), { numClasses: 4 })).toEqual([
      [1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0], [0, 0, 0, 0],
    ]);
  });
  it('binary scores threshold at 0.5; batches accumulate; one-hot targets work', () => {
    const m = new ConfusionMatrix();
    m.update(tensor([1, 0, 1, 0]), tensor([0.9, 0.6, 0.4, 0.1]));
    expect(m.result()).toEqual([[1, 1], [1, 1]]);
    m.update(tensor([[0, 1]]), tensor([[0.2, 0.8]]));
    expect(m.result()).toEqual([[1, 1], [1, 2]]);
  });
  it('class-index predictions need numClasses; labels out of range fail', () => {
    expectError(() => confusionMatrix(int([0]), int([1])), ValueError, "option 'numClasses' is required");
    expectError(() => confusionMatrix(int([3]), tensor([[0.5, 0.5]])), ValueError, 'label 3 at index 0 is out of range [0, 2)');
  });
});

describe('resolution and bad input', () => {
  it('names: snake_case keys, accuracy spelled as given', () => {
    expect(getMetric('categoricalAccuracy').name).toBe('categorical_accuracy');
    expect(getMetric('sparse_categorical_accuracy')).toBeInstanceOf(SparseCategoricalAccuracy);
    expect(getMetric('binaryAccuracy')).toBeInstanceOf(BinaryAccuracy);
    expect(getMetric('precision')).toBeInstanceOf(Precision);
    expect(getMetric('auc')).toBeInstanceOf(AUC);
    expect(getMetric('f1').name).toBe('f1');
    expect(getMetric('topKCategoricalAccuracy').name).toBe('top_k_categorical_accuracy');
    function myMetric() {
      return 1;
    }
    expect(getMetric(myMetric).name).toBe('my_metric');
    const c = new CategoricalAccuracy('acc_top1');
    expect(getMetric(c)).toBe(c);
  });
  it('unknown names, ConfusionMatrix in compile, and shape mismatches are clear errors', () => {
    expectError(() => getMetric('acuracy'), ValueError, "unknown metric 'acuracy'");
    expectError(() => getMetric(new ConfusionMatrix() as never), ValueError, 'ConfusionMatrix is not a compile metric');
    expectError(() => categoricalAccuracy(int([0, 1]), tensor([[1, 0], [0, 1]])), ShapeError, "class indices: use 'sparse_categorical_accuracy'");
    expectError(() => sparseCategoricalAccuracy(int([0, 1, 1]), tensor([[1, 0], [0, 1]])), ShapeError, 'must be class indices of shape [2]');
    const m = new Precision();
    m.update(tensor([1]), tensor([0.7]));
    expectError(() => m.update(int([1]), tensor([[0.3, 0.7]])), ShapeError, 'do not match the earlier batches');
  });
  it('Mean weighs values (the loss tracker weighs by batch size)', () => {
    const m = new Mean();
    m.update(1, 2);
    m.update(4, 1);
    expect(m.result()).toBe(2);
  });
});

describe('getConfig / metricFromConfig / serializeMetric', () => {
  const oneHot = tensor([[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 1, 0]]);
  const sparse = int([2, 1, 0, 1]);
  const probs = tensor([[0.1, 0.2, 0.7], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4], [0, 1, 0]]);
  const bin = tensor([[1], [0], [1], [1]]);
  const binP = tensor([[0.8], [0.3], [0.45], [0.9]]);
  const cases: [Metric, MetricConfig, Tensor, Tensor][] = [
    [new Accuracy(), { className: 'Accuracy', kind: null, threshold: 0.5, name: 'accuracy' }, sparse, probs],
    [new Accuracy({ kind: 'binary', threshold: 0.4, name: 'acc' }), { className: 'Accuracy', kind: 'binary', threshold: 0.4, name: 'acc' }, bin, binP],
    [new CategoricalAccuracy('top1'), { className: 'CategoricalAccuracy', name: 'top1' }, oneHot, probs],
    [new SparseCategoricalAccuracy(), { className: 'SparseCategoricalAccuracy', name: 'sparse_categorical_accuracy' }, sparse, probs],
    [new BinaryAccuracy({ threshold: 0.4 }), { className: 'BinaryAccuracy', threshold: 0.4, name: 'binary_accuracy' }, bin, binP],
    [new TopKCategoricalAccuracy({ k: 2 }), { className: 'TopKCategoricalAccuracy', k: 2, name: 'top_k_categorical_accuracy' }, oneHot, probs],
    [new SparseTopKCategoricalAccuracy({ k: 1, name: 'top1' }), { className: 'SparseTopKCategoricalAccuracy', k: 1, name: 'top1' }, sparse, probs],
    [new MeanSquaredErrorMetric(), { className: 'MeanSquaredErrorMetric', name: 'mean_squared_error' }, oneHot, probs],
    [new MeanAbsoluteErrorMetric('mae'), { className: 'MeanAbsoluteErrorMetric', name: 'mae' }, oneHot, probs],
    [new Precision({ average: 'micro' }), { className: 'Precision', threshold: null, average: 'micro', classId: null, name: 'precision' }, sparse, probs],
    [new Recall({ classId: 1, name: 'recall_1' }), { className: 'Recall', threshold: null, average: 'macro', classId: 1, name: 'recall_1' }, sparse, probs],
    [new F1Score({ threshold: 0.3, average: 'weighted' }), { className: 'F1Score', threshold: 0.3, average: 'weighted', classId: null, name: 'f1_score' }, oneHot, probs],
    [new AUC({ numThresholds: 3 }), { className: 'AUC', numThresholds: 3, exact: false, fromLogits: false, name: 'auc' }, bin, binP],
    [new AUC({ exact: true, fromLogits: true, name: 'roc' }), { className: 'AUC', numThresholds: 200, exact: true, fromLogits: true, name: 'roc' }, bin, binP],
  ];
  for (const [m, config, y, p] of cases) {
    it(`${config.className} ${JSON.stringify(config)}: rebuilt equal, fresh, computing the same`, () => {
      m.update(y, p); // state is not part of the config
      expect(m.getConfig()).toEqual(config);
      expect(serializeMetric(m)).toEqual(config);
      const back = metricFromConfig(JSON.parse(JSON.stringify(m.getConfig())) as MetricConfig);
      expect(back.constructor).toBe(m.constructor);
      expect(back.name).toBe(m.name);
      expect(back.getConfig()).toEqual(config);
      const fresh = back.result();
      back.update(y, p);
      expect(back.result()).toBe(m.result());
      m.reset();
      expect(m.result()).toBe(fresh); // 0, or NaN for the exact AUC of nothing
    });
  }

  it("the metrics compile makes from names have configs (the 'accuracy' kind from the loss)", () => {
    expect(serializeMetric(getMetric('topKCategoricalAccuracy'))).toEqual({ className: 'TopKCategoricalAccuracy', k: 5, name: 'top_k_categorical_accuracy' });
    expect(serializeMetric(getMetric('mae'))).toEqual({ className: 'MeanAbsoluteErrorMetric', name: 'mae' });
    expect(serializeMetric(getMetric('acc', new BinaryCrossentropy({ fromLogits: true })))).toEqual({ className: 'Accuracy', kind: 'binary', threshold: 0, name: 'acc' });
  });

  it('functions have no config: FunctionMetric, a bare MeanMetricWrapper, an unregistered subclass', () => {
    expect(serializeMetric(new FunctionMetric('m', () => 1))).toBeNull();
    expect(serializeMetric(getMetric(function myMetric() {
      return 1;
    }))).toBeNull();
    expect(new MeanMetricWrapper('w', () => new Float64Array(0)).getConfig()).toBeNull();
    class Strict extends BinaryAccuracy {}
    expect(serializeMetric(new Strict())).toBeNull(); // its inherited config would rebuild a BinaryAccuracy
  });

  it('a registered custom class round-trips', () => {
    class Count extends Metric {
      n = 0;
      constructor(readonly name = 'count') {
        super();
      }
      update(_y: Tensor, p: Tensor): void {
        this.n += p.shape[0];
      }
      result(): number {
        return this.n;
      }
      reset(): void {
        this.n = 0;
      }
      override getConfig(): MetricConfig {
        return { className: 'TestCount', name: this.name };
      }
    }
    expect(serializeMetric(new Count('c'))).toBeNull();
    registerMetric('TestCount', (o) => new Count(o.name as string));
    expect(serializeMetric(new Count('c'))).toEqual({ className: 'TestCount', name: 'c' });
    expect(metricFromConfig({ className: 'TestCount', name: 'c' })).toBeInstanceOf(Count);
    expectError(() => registerMetric('AUC', () => new AUC()), ValueError, "'AUC' is a built-in metric class");
  });

  it('bad configs are clear errors', () => {
    expectError(() => metricFromConfig({ className: 'MeanIoU' }), ValueError, "unknown metric class 'MeanIoU'", 'TopKCategoricalAccuracy', 'registerMetric');
    expectError(() => metricFromConfig({ name: 'x' } as never), ValueError, "expected an object with a string 'className'");
    expectError(() => metricFromConfig({ className: 'TopKCategoricalAccuracy', k: 0 }), ValueError, "option 'k' must be a positive integer");
    expectError(() => metricFromConfig({ className: 'CategoricalAccuracy', k: 3 }), ValueError, "CategoricalAccuracy: unknown option 'k'");
    expectError(() => metricFromConfig({ className: 'Precision', average: 'samples' }), ValueError, "option 'average' must be");
    expectError(() => metricFromConfig({ className: 'Accuracy', kind: 'fuzzy' }), ValueError, "option 'kind' must be");
    expectError(() => metricFromConfig({ className: 'AUC', exact: 1 }), DTypeError, "option 'exact' must be a boolean");
    expectError(() => metricFromConfig({ className: 'BinaryAccuracy', name: 3 }), DTypeError, "option 'name' must be a non-empty string");
  });
});
