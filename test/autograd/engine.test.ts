/**
 * The autograd engine (src/autograd/engine.ts, tape.ts) on ops whose gradients are exact in float32 for
 * small-integer data (add, sub, mul, sum, mean over power-of-two counts), so every expected value is exact:
 * accumulation, broadcasting, diamonds in the graph, gradients with respect to chosen tensors, valueAndGrad,
 * grad mode (also across await), released graphs, and the errors for misuse.
 */
import { describe, expect, it } from 'vitest';

import { Tensor, add, mean, mul, sub, sum, tensor, scope } from '../../src/index.js';
import { gradients, noGrad, valueAndGrad, zeroGrad, enableGrad, isGradEnabled } from '../../src/autograd/index.js';
import { expectError } from '../helpers/errors.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

describe('backward', () => {
  it('differentiates a broadcast product with a diamond: y = sum((a + b) * a)', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]).requireGrad();
    const b = tensor([1, -1, 2]).requireGrad();
    const y = sum(mul(add(a, b), a));
    expect(y.requiresGrad).toBe(true);
    y.backward();
    // dy/da = 2a + b; dy/db = sum over rows of a.
    expect(vals(a.grad)).toEqual([3, 3, 8, 9, 9, 14]);
    expect(a.grad!.shape).toEqual([2, 3]);
    expect(vals(b.grad)).toEqual([5, 7, 9]);
    expect(b.grad!.shape).toEqual([3]);
  });

  it('accumulates over calls until zeroGrad', () => {
    const w = tensor([1, 2, 3, 4]).requireGrad();
    sum(mul(w, 3)).backward();
    sum(mul(w, w)).backward();
    expect(vals(w.grad)).toEqual([5, 7, 9, 11]);
    zeroGrad([w]);
    expect(w.grad).toBeNull();
    mean(sub(w, 1)).backward();
    expect(vals(w.grad)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('gives each leaf its own gradient tensor when one gradient reaches two leaves', () => {
    const a = tensor([1, 2]).requireGrad();
    const b = tensor([3, 4]).requireGrad();
    sum(add(a, b)).backward();
    expect(a.grad).not.toBe(b.grad);
    zeroGrad([a]);
    expect(vals(b.grad)).toEqual([1, 1]);
  });

  it('takes an explicit gradient for a non-scalar output and checks its shape', () => {
    const x = tensor([1, 2, 3]).requireGrad();
    const y = mul(x, x);
    expectError(() => y.backward(), Error, "'gradient' is required for a non-scalar output (shape [3])");
    expectError(() => y.backward(tensor([1, 1])), Error, "'gradient' has shape [2] but the output has shape [3]");
    y.backward(tensor([1, 0, -1]));
    expect(vals(x.grad)).toEqual([2, 0, -6]);
  });

  it('refuses a tensor that does not require grad, and a released graph', () => {
    expectError(() => sum(tensor([1, 2])).backward(), Error, 'does not require grad');
    const x = tensor([1, 2]).requireGrad();
    const y = sum(mul(x, 2));
    y.backward();
    expectError(() => y.backward(), Error, 'already used by a backward pass and released');
    const z = sum(mul(x, 2));
    z.backward(undefined, { retainGraph: true });
    z.backward();
    expect(vals(x.grad)).toEqual([6, 6]);
  });

  it('records nothing under noGrad, also across await, and enableGrad turns it back on', async () => {
    const x = tensor([1, 2]).requireGrad();
    expect(noGrad(() => mul(x, 2)).requiresGrad).toBe(false);
    expect(noGrad(() => enableGrad(() => mul(x, 2))).requiresGrad).toBe(true);
    const inside = noGrad(async () => {
      await new Promise((r) => setTimeout(r, 5));
      return [isGradEnabled(), mul(x, 2).requiresGrad];
    });
    expect(isGradEnabled()).toBe(true); // the async noGrad does not leak out
    expect(await inside).toEqual([false, false]);
  });

  it('detach cuts the history and shares storage', () => {
    const x = tensor([1, 2]).requireGrad();
    const d = mul(x, 3).detach();
    expect(d.requiresGrad).toBe(false);
    expect(vals(d)).toEqual([3, 6]);
    expectError(() => tensor([1], undefined, 'int32').requireGrad(), Error, 'only float32 tensors can require grad');
  });

  it('works inside a scope: intermediates disposed, leaf gradients kept', () => {
    const w = tensor(Array.from({ length: 2048 }, (_, i) => i % 7)).requireGrad();
    const loss = scope(() => {
      const l = sum(mul(mul(w, w), 0.5));
      l.backward();
      return l.item();
    });
    expect(loss).toBe(0.5 * Array.from({ length: 2048 }, (_, i) => (i % 7) ** 2).reduce((p, q) => p + q, 0));
    expect(w.grad!.isDisposed).toBe(false);
    expect(vals(w.grad).slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 0]);
  });
});

describe('gradients and valueAndGrad', () => {
  it('gradients() returns d(root)/d(wrt), also for an intermediate, and writes no .grad', () => {
    const x = tensor([1, 2, 3]).requireGrad();
    const h = mul(x, x);
    const y = sum(mul(h, 2));
    const [gx, gh] = gradients(y, [x, h]);
    expect(vals(gh)).toEqual([2, 2, 2]);
    // h is a wrt tensor, so the pass stops there: x gets nothing through h.
    expect(vals(gx)).toEqual([0, 0, 0]);
    expect(x.grad).toBeNull();
    const [gx2] = gradients(sum(mul(mul(x, x), 2)), [x]);
    expect(vals(gx2)).toEqual([4, 8, 12]);
  });

  it('valueAndGrad differentiates with respect to each argument, leaving the arguments alone', () => {
    const f = valueAndGrad((a: Tensor, b: Tensor) => sum(mul(sub(a, b), a)));
    const a = tensor([1, 2]);
    const b = tensor([3, 5]);
    const { value, grads } = f(a, b);
    expect(value.item()).toBe(1 * -2 + 2 * -3);
    expect(value.requiresGrad).toBe(false);
    expect(vals(grads[0])).toEqual([2 * 1 - 3, 2 * 2 - 5]);
    expect(vals(grads[1])).toEqual([-1, -2]);
    expect(a.requiresGrad || b.requiresGrad).toBe(false);
  });
});
