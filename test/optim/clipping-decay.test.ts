/**
 * Gradient clipping (clipNorm, globalClipNorm, clipValue) and decoupled weight decay on hand-worked values, with
 * SGD at learning rate 1 from zero weights so that the update is minus the processed gradient. Expected values
 * are the float64 formula rounded once to float32 (the implementation rounds the clipped gradient once and the
 * weight once; both are exact or within one float32 rounding of the float64 value: rtol 2^-23).
 */
import { describe, expect, it } from 'vitest';

import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import { AdamW, SGD, type Optimizer } from '../../src/optim/index.js';
import { assertClose } from '../helpers/close.js';

const f = Math.fround;
const vec = (...x: number[]) => new Tensor(Float32Array.from(x), [x.length]);

function oneStep(opt: Optimizer, ga: number[], gb: number[], w0a = [0, 0], w0b = [0, 0]): { a: number[]; b: number[]; grads: Tensor[] } {
  const a = new Variable('a/kernel', vec(...w0a));
  const b = new Variable('b/bias', vec(...w0b));
  const grads = [vec(...ga), vec(...gb)];
  opt.applyGradients([
    [grads[0], a],
    [grads[1], b],
  ]);
  return { a: Array.from(a.value.data), b: Array.from(b.value.data), grads };
}

const near = (actual: number[], expected: number[], what: string) => assertClose(actual, expected.map(f), { rtol: 2 ** -23, what });

describe('clipNorm: each gradient scaled to L2 norm <= clipNorm', () => {
  it('scales a gradient above the norm and leaves one below untouched', () => {
    const { a, b, grads } = oneStep(new SGD({ learningRate: 1, clipNorm: 1 }), [3, 4], [0.3, 0.4]);
    near(a, [-0.6, -0.8], 'a: [3,4] has norm 5');
    expect(b).toEqual([-f(0.3), -f(0.4)]); // norm 0.5 <= 1: bit-exact
    expect(Array.from(grads[0].data)).toEqual([3, 4]); // the caller's gradient is not modified
  });
  it('passes a zero gradient', () => {
    const { a } = oneStep(new SGD({ learningRate: 1, clipNorm: 1 }), [0, 0], [1, 0]);
    expect(a).toEqual([0, 0]);
  });
});

describe('globalClipNorm: all gradients scaled together', () => {
  it('by globalClipNorm / ||all||', () => {
    const { a, b } = oneStep(new SGD({ learningRate: 1, globalClipNorm: 1 }), [3, 4], [0.3, 0.4]);
    const n = Math.hypot(3, 4, f(0.3), f(0.4));
    near(a, [-3 / n, -4 / n], 'a');
    near(b, [-f(0.3) / n, -f(0.4) / n], 'b');
  });
  it('not at all when the joint norm is below', () => {
    const { a, b } = oneStep(new SGD({ learningRate: 1, globalClipNorm: 10 }), [3, 4], [0.3, 0.4]);
    expect([...a, ...b]).toEqual([-3, -4, -f(0.3), -f(0.4)]);
  });
});

describe('clipValue: each element clamped', () => {
  it('to [-clipValue, clipValue]', () => {
    const { a, b } = oneStep(new SGD({ learningRate: 1, clipValue: 0.5 }), [3, -4], [0.3, -0.4]);
    expect(a).toEqual([-0.5, 0.5]);
    expect(b).toEqual([-f(0.3), f(0.4)]);
  });
});

describe('decoupled weight decay', () => {
  it('w = w - w * weightDecay * lr, before the update and not clipped', () => {
    const { a } = oneStep(new SGD({ learningRate: 0.1, weightDecay: 0.5, clipValue: 0.01 }), [1, -1], [0, 0], [1, -2]);
    near(a, [1 - 1 * 0.05 - 0.1 * 0.01, -2 + 2 * 0.05 + 0.1 * 0.01], 'a');
  });
  it('skips variables excluded by name pattern or by object, and weightDecay 0', () => {
    const opt = new SGD({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: ['bias$'] });
    const { a, b } = oneStep(opt, [0, 0], [0, 0], [1, 1], [1, 1]);
    near(a, [0.95, 0.95], 'a decays');
    expect(b).toEqual([1, 1]);

    const c = new Variable('c/kernel', vec(1, 1));
    const opt2 = new SGD({ learningRate: 0.1, weightDecay: 0.5 });
    opt2.excludeFromWeightDecay({ variables: [c] });
    opt2.applyGradients([[vec(0, 0), c]]);
    expect(Array.from(c.value.data)).toEqual([1, 1]);
    expect(opt2.getConfig().excludeFromWeightDecay).toEqual(['^c/kernel$']);

    opt2.weightDecay = 0;
    const d = new Variable('d', vec(1));
    opt2.applyGradients([[vec(0), d]]);
    expect(Array.from(d.value.data)).toEqual([1]);
  });
  it('AdamW decays by default (0.004, Keras) and Adam-style otherwise', () => {
    const opt = new AdamW({ learningRate: 0.5 });
    expect(opt.weightDecay).toBe(0.004);
    // A zero gradient leaves m = v = 0, so the Adam part adds 0 / (0 + epsilon) = 0: only the decay acts.
    const { a } = oneStep(opt, [0, 0], [0, 0], [1, -3]);
    near(a, [1 - 0.002, -3 + 3 * 0.002], 'a');
  });
});
