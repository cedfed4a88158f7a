/**
 * Model.intermediate(names): a model from the same inputs to inner layers' outputs. Its outputs must equal the
 * layers applied one by one by hand, it must share the weights (a change to a weight shows in both), run only the
 * layers its outputs depend on, and name unknown layers in a clear error.
 */
import { describe, expect, it } from 'vitest';

import { ValueError } from '../../src/errors.js';
import { randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Layer, input, layers, model, sequential } from '../../src/nn/index.js';
import { expectError } from '../helpers/errors.js';

const close = (a: Tensor, b: Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const d = a.sub(b).abs().max().item();
  expect(d).toBeLessThanOrEqual(1e-6 * Math.max(1, b.abs().max().item()));
};

/** Counts its calls and passes its input through: proves which layers ran. */
class Spy extends Layer {
  static override readonly className = 'Spy';
  calls = 0;
  call(inputs: Tensor | Tensor[]): Tensor {
    this.calls++;
    return Array.isArray(inputs) ? inputs[0] : inputs;
  }
}

describe('Model.intermediate', () => {
  it('a Sequential: outputs of named layers equal the layers applied by hand, in the order asked', () => {
    const c1 = layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' });
    const p1 = layers.maxPooling2d({ poolSize: 2, name: 'p1' });
    const c2 = layers.conv2d({ filters: 3, kernelSize: 3, name: 'c2' });
    const m = sequential([c1, p1, c2, layers.flatten({ name: 'f' }), layers.dense({ units: 2, name: 'd' })], { inputShape: [10, 10, 1] });
    const x = randn([2, 10, 10, 1], { seed: 1 });
    const a1 = c1.apply(x);
    const a2 = c2.apply(p1.apply(a1));
    const one = m.intermediate('c1');
    expect(one.outputs.map((t) => t.shape)).toEqual([[null, 8, 8, 4]]);
    close(one.predictOnBatch(x) as Tensor, a1);
    const two = m.intermediate(['c2', 'c1']).predictOnBatch(x) as Tensor[];
    close(two[0], a2);
    close(two[1], a1);
    // Shared weights: scaling c1's kernel changes the intermediate model's output.
    c1.kernel!.assign(c1.kernel!.value.mul(2));
    close(one.predictOnBatch(x) as Tensor, c1.apply(x));
    expect(one.weights.map((w) => w.name)).toEqual(['c1/kernel', 'c1/bias']);
  });

  it('a functional graph with a branch: only the layers the outputs depend on run', () => {
    const spyAfter = new Spy({ name: 'after' });
    const spySide = new Spy({ name: 'side' });
    const inp = input({ shape: [6, 6, 2], name: 'img' });
    const a = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'a' }).apply(inp);
    const b = layers.conv2d({ filters: 3, kernelSize: 1, name: 'b' }).apply(inp);
    const s = layers.add({ name: 'sum' }).apply([a, spySide.apply(b)]);
    const out = layers.dense({ units: 2, name: 'head' }).apply(layers.flatten().apply(spyAfter.apply(s)));
    const m = model({ inputs: inp, outputs: out });
    const x = randn([1, 6, 6, 2], { seed: 2 });
    const sub = m.intermediate('a');
    sub.predictOnBatch(x);
    expect([spyAfter.calls, spySide.calls]).toEqual([0, 0]);
    expect(sub.layers.map((l) => l.name)).toEqual(['img', 'a']);
    m.intermediate('sum').predictOnBatch(x);
    expect([spyAfter.calls, spySide.calls]).toEqual([0, 1]);
    // The input layer itself can be named: the model returns its input.
    close(m.intermediate('img').predictOnBatch(x) as Tensor, x);
  });

  it('errors: unknown names are listed with the valid ones; a shared layer; bad arguments', () => {
    const m = sequential([layers.dense({ units: 3, name: 'd1' }), layers.dense({ units: 2, name: 'd2' })], { inputShape: [4] });
    expectError(() => m.intermediate('d3'), ValueError, "no layer named 'd3'", "'d1'", "'d2'");
    expectError(() => m.intermediate(['d1', 'nope']), ValueError, "'nope'");
    expectError(() => m.intermediate([]), ValueError, 'non-empty list');
    expectError(() => m.intermediate(3 as unknown as string), ValueError, 'layer name');
    const shared = layers.dense({ units: 3, name: 'shared' });
    const inp = input({ shape: [3] });
    const twice = model({ inputs: inp, outputs: shared.apply(shared.apply(inp)) });
    expectError(() => twice.intermediate('shared'), ValueError, "'shared' is called 2 times");
    expectError(() => sequential([layers.dense({ units: 2 })]).intermediate('dense'), ValueError, 'needs a built model');
    // Many layers: the list is cut, with a count of the rest.
    const big = sequential(Array.from({ length: 30 }, (_, i) => layers.dense({ units: 2, name: `l${i}` })), { inputShape: [2] });
    expectError(() => big.intermediate('x'), ValueError, "'l0'", 'more)');
  });
});
