/**
 * Gradients of the elementwise ops (src/tensor/elementwise.ts) through the tape: finite differences in float64
 * (test/helpers/tapecheck.ts) on small random shapes, with broadcasting, and exact float32 checks of the
 * conventions at kinks and ties, where the expected values are exact.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import * as ew from '../../src/tensor/elementwise.js';
import { tensor } from '../../src/tensor/creation.js';
import { sum } from '../../src/tensor/reduction.js';
import { gradients } from '../../src/autograd/index.js';
import { distinctF64, randAway, randF64, tapeGradCheck } from '../helpers/tapecheck.js';

const vals = (t: Tensor | null): number[] => Array.from(t!.data);

/** d sum(f(x)) / dx at float32 x, through the tape. */
function grad1(f: (x: Tensor) => Tensor, x: number[]): number[] {
  const t = tensor(x).requireGrad();
  return vals(gradients(sum(f(t)), [t])[0]);
}

type Unary = (x: Tensor) => Tensor;
/** [name, op, lo, hi, kinks]: data in [lo, hi) kept 0.05 away from the kinks (the derivative jumps there). */
const UNARY: Array<[string, Unary, number, number, number[]]> = [
  ['neg', ew.neg, -2, 2, []],
  ['abs', ew.abs, -2, 2, [0]],
  ['sign', ew.sign, -2, 2, [0]],
  ['square', ew.square, -2, 2, []],
  ['sqrt', ew.sqrt, 0.3, 3, []], // domain x > 0
  ['rsqrt', ew.rsqrt, 0.3, 3, []],
  ['reciprocal', ew.reciprocal, -2, 2, [0]], // pole at 0
  ['exp', ew.exp, -2, 2, []],
  ['expm1', ew.expm1, -2, 2, []],
  ['log', ew.log, 0.3, 3, []],
  ['log1p', ew.log1p, -0.6, 2, []],
  ['sin', ew.sin, -3, 3, []],
  ['cos', ew.cos, -3, 3, []],
  ['tan', ew.tan, -1.2, 1.2, []], // poles at +-pi/2
  ['asin', ew.asin, -0.8, 0.8, []], // singular at +-1
  ['acos', ew.acos, -0.8, 0.8, []],
  ['atan', ew.atan, -3, 3, []],
  ['sinh', ew.sinh, -2, 2, []],
  ['cosh', ew.cosh, -2, 2, []],
  ['floor', ew.floor, -3, 3, [-3, -2, -1, 0, 1, 2, 3]], // jumps at integers
  ['ceil', ew.ceil, -3, 3, [-3, -2, -1, 0, 1, 2, 3]],
  ['round', ew.round, -3, 3, [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]], // jumps at half-integers
  ['erf', ew.erf, -2.5, 2.5, []],
  ['tanh', ew.tanh, -3, 3, []],
  ['sigmoid', ew.sigmoid, -4, 4, []],
  ['relu', ew.relu, -2, 2, [0]],
  ['relu6', ew.relu6, -2, 8, [0, 6]],
  ['leakyRelu', (x) => ew.leakyRelu(x, 0.3), -2, 2, [0]],
  ['elu', (x) => ew.elu(x, 1.5), -2, 2, [0]],
  ['selu', ew.selu, -2, 2, [0]],
  ['softplus', ew.softplus, -4, 4, []],
  ['softsign', ew.softsign, -3, 3, [0]], // |x| has a kink at 0 (the derivative is smooth, but FD stays clear)
  ['gelu', ew.gelu, -4, 4, []],
  ['silu', ew.silu, -4, 4, []],
  ['hardSigmoid', ew.hardSigmoid, -4, 4, [-2.5, 2.5]],
  ['logSigmoid', ew.logSigmoid, -6, 6, []],
];

describe('unary gradients (float64 finite differences)', () => {
  UNARY.forEach(([name, f, lo, hi, kinks], i) => {
    it(name, () => {
      const x = randAway([3, 4], 100 + i, kinks, 0.05, lo, hi);
      tapeGradCheck({ what: name, inputs: [x], fn: f });
    });
  });

  it('the kinked ops also through a chain: relu(x) * x + abs(x) with broadcasting', () => {
    tapeGradCheck({
      what: 'chain',
      inputs: [randAway([2, 3], 1, [0], 0.05, -2, 2), randAway([3], 2, [0], 0.05, -2, 2)],
      fn: (a, b) => ew.add(ew.mul(ew.relu(ew.add(a, b)), a), ew.abs(b)),
    });
  });
});

type Binary = (a: Tensor, b: Tensor) => Tensor;
/** Binary ops over broadcasting shape pairs; `data` makes inputs safe for each op (domains, no ties). */
const BINARY: Array<[string, Binary, (seed: number, sa: number[], sb: number[]) => [Tensor, Tensor]]> = [
  ['add', ew.add, (s, sa, sb) => [randF64(sa, s), randF64(sb, s + 1)]],
  ['sub', ew.sub, (s, sa, sb) => [randF64(sa, s), randF64(sb, s + 1)]],
  ['mul', ew.mul, (s, sa, sb) => [randF64(sa, s), randF64(sb, s + 1)]],
  ['div', ew.div, (s, sa, sb) => [randF64(sa, s), randAway(sb, s + 1, [0], 0.3, -2, 2)]], // divisor away from 0
  ['pow', ew.pow, (s, sa, sb) => [randF64(sa, s, 0.3, 2), randF64(sb, s + 1, -2, 2)]], // positive base: log(a) exists
  ['squaredDifference', ew.squaredDifference, (s, sa, sb) => [randF64(sa, s), randF64(sb, s + 1)]],
  ['atan2', ew.atan2, (s, sa, sb) => [randAway(sa, s, [0], 0.2), randAway(sb, s + 1, [0], 0.2)]], // away from (0, 0)
  // Distinct values shared out between a and b: no ties, every pair at least 0.05 apart.
  ['maximum', ew.maximum, (s, sa, sb) => disjoint(s, sa, sb)],
  ['minimum', ew.minimum, (s, sa, sb) => disjoint(s, sa, sb)],
  // a / b stays 0.2 away from an integer, so floor(a / b) is constant within the step.
  ['mod', ew.mod, (s, sa, sb) => modData(s, sa, sb)],
  ['floorDiv', ew.floorDiv, (s, sa, sb) => modData(s, sa, sb)],
];

/** a and b from one set of distinct values (neighbours more than 0.05 apart), so a != b wherever they meet. */
function disjoint(seed: number, sa: number[], sb: number[]): [Tensor, Tensor] {
  const na = sa.reduce((p, d) => p * d, 1);
  const nb = sb.reduce((p, d) => p * d, 1);
  const all = distinctF64([na + nb], seed, 0.1).data;
  return [new Tensor(all.slice(0, na), sa), new Tensor(all.slice(na), sb)];
}

/**
 * |b| in [1, 1.1] with either sign and a = 1.05 (k + f), k in -3..2, f in [0.3, 0.7]: every a / b, broadcast
 * or not, lies within (k + 0.16, k + 0.84) up to sign, so floor(a / b) is constant within the step.
 */
function modData(seed: number, sa: number[], sb: number[]): [Tensor, Tensor] {
  const b = randAway(sb, seed + 1, [0], 0.5, -1, 1);
  const bd = b.data;
  for (let i = 0; i < bd.length; i++) bd[i] = Math.sign(bd[i]) * (1 + 0.1 * Math.abs(bd[i]));
  const k = randF64(sa, seed, 0, 1).data;
  const f = randF64(sa, seed + 2, 0.3, 0.7).data;
  const a = new Float64Array(k.length);
  for (let i = 0; i < a.length; i++) a[i] = 1.05 * (Math.floor(k[i] * 6) - 3 + f[i]);
  return [new Tensor(a, sa), b];
}

const PAIRS: Array<[number[], number[]]> = [
  [[2, 3], [2, 3]],
  [[2, 3], [3]],
  [[3], [2, 1, 3]],
  [[2, 1, 3], [4, 1]],
  [[2, 3], []],
];

describe('binary gradients with broadcasting (float64 finite differences)', () => {
  BINARY.forEach(([name, f, data], i) => {
    PAIRS.forEach(([sa, sb], j) => {
      it(`${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, () => {
        const [a, b] = data(1000 + 10 * i + j, sa, sb);
        tapeGradCheck({ what: `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, inputs: [a, b], fn: f });
      });
    });
  });

  it('pow with a negative base and a constant integer exponent', () => {
    tapeGradCheck({ what: 'pow(x, 3)', inputs: [randF64([2, 3], 5, -2, -0.2)], fn: (x) => ew.pow(x, 3) });
    tapeGradCheck({ what: 'pow(2, x)', inputs: [randF64([4], 6)], fn: (x) => ew.pow(2, x) });
  });

  it('numbers as either argument get no gradient, the tensor does', () => {
    tapeGradCheck({ what: 'div(3, x)', inputs: [randAway([5], 7, [0], 0.3)], fn: (x) => ew.div(3, x) });
    tapeGradCheck({ what: 'sub(1, x)', inputs: [randF64([5], 8)], fn: (x) => ew.sub(1, x) });
  });

  it('the same tensor as both arguments adds both gradients', () => {
    tapeGradCheck({ what: 'mul(x, x)', inputs: [randF64([2, 2], 9)], fn: (x) => ew.mul(x, x) });
    tapeGradCheck({ what: 'atan2(x, x + 2)', inputs: [randF64([3], 10, 0.2, 1)], fn: (x) => ew.atan2(x, ew.add(x, 2)) });
  });
});

describe('where and clip', () => {
  it('where: gradient to a where the condition holds, to b elsewhere, broadcasting all three', () => {
    const cond = new Tensor(Int32Array.of(1, 0, 1), [3]);
    tapeGradCheck({ what: 'where int cond', inputs: [randF64([2, 3], 11), randF64([2, 1], 12)], fn: (a, b) => ew.where(cond, a, b) });
    // A float condition (nonzero is true) as an input that gets no gradient; a scalar b.
    tapeGradCheck({
      what: 'where float cond',
      inputs: [randF64([2, 3], 13), randF64([], 14), randF64([2, 1], 15)],
      wrt: [0, 1],
      fn: (a, b, c) => ew.where(ew.greater(c, 0), a, b),
    });
  });

  it('where: exact float32 routing, and the condition is not differentiated', () => {
    const a = tensor([1, 2, 3]).requireGrad();
    const b = tensor(5).requireGrad();
    const y = ew.where(tensor([1, 0, 1], undefined, 'int32'), a, b);
    const [ga, gb] = gradients(sum(ew.mul(y, tensor([1, 2, 4]))), [a, b]);
    expect(vals(ga)).toEqual([1, 0, 4]);
    expect(vals(gb)).toEqual([2]);
    expect(gb.shape).toEqual([]);
  });

  it('clip: finite differences away from the bounds', () => {
    tapeGradCheck({ what: 'clip', inputs: [randAway([3, 4], 16, [-0.5, 0.7], 0.05, -2, 2)], fn: (x) => ew.clip(x, -0.5, 0.7) });
  });

  it('clip: the gradient passes on [min, max] inclusive (exact float32)', () => {
    expect(grad1((x) => ew.clip(x, -1, 1), [-2, -1, 0, 1, 2])).toEqual([0, 1, 1, 1, 0]);
    expect(grad1((x) => ew.clip(x, 0, Infinity), [-1, 0, 5])).toEqual([0, 1, 1]);
  });
});

describe('conventions at kinks and ties (exact float32)', () => {
  it('relu, relu6, hardSigmoid, abs, sign pass 0 at their kinks; leakyRelu and elu use the x <= 0 branch', () => {
    expect(grad1(ew.relu, [-1, 0, 2])).toEqual([0, 0, 1]);
    expect(grad1(ew.relu6, [-1, 0, 3, 6, 7])).toEqual([0, 0, 1, 0, 0]);
    expect(grad1(ew.hardSigmoid, [-3, -2.5, 0, 2.5, 3])).toEqual([0, 0, 0.2, 0, 0].map(Math.fround));
    expect(grad1(ew.abs, [-2, 0, 3])).toEqual([-1, 0, 1]);
    expect(grad1(ew.sign, [-2, 0, 3])).toEqual([0, 0, 0]);
    expect(grad1((x) => ew.leakyRelu(x, 0.25), [-1, 0, 1])).toEqual([0.25, 0.25, 1]);
    expect(grad1((x) => ew.elu(x, 2), [0, 1])).toEqual([2, 1]); // at 0: alpha (y + alpha with y = 0)
  });

  it('floor, ceil and round have zero gradient', () => {
    for (const f of [ew.floor, ew.ceil, ew.round]) expect(grad1(f, [-1.5, 0.25, 2])).toEqual([0, 0, 0]);
  });

  it('maximum and minimum split the gradient evenly between tied arguments', () => {
    const a = tensor([1, 2, 3]).requireGrad();
    const b = tensor([2, 2, 2]).requireGrad();
    const [ga, gb] = gradients(sum(ew.maximum(a, b)), [a, b]);
    expect(vals(ga)).toEqual([0, 0.5, 1]);
    expect(vals(gb)).toEqual([1, 0.5, 0]);
    const [ha, hb] = gradients(sum(ew.minimum(a, b)), [a, b]);
    expect(vals(ha)).toEqual([1, 0.5, 0]);
    expect(vals(hb)).toEqual([0, 0.5, 1]);
  });

  it('pow: base gradient 0 where the exponent is 0, exponent gradient 0 where the base is <= 0', () => {
    const a = tensor([0, 2, -1]).requireGrad();
    const b = tensor([0, 3, 2]).requireGrad();
    const [ga, gb] = gradients(sum(ew.pow(a, b)), [a, b]);
    expect(vals(ga)).toEqual([0, 12, -2]);
    expect(vals(gb)).toEqual([0, 8 * Math.fround(Math.LN2), 0]);
  });

  it('int32 results are never recorded: comparisons, int32 arithmetic, masks', () => {
    const x = tensor([1, 2]).requireGrad();
    expect(ew.greater(x, 1).requiresGrad).toBe(false);
    expect(ew.equal(x, x).requiresGrad).toBe(false);
    expect(ew.logicalAnd(x, x).requiresGrad).toBe(false);
    const i = tensor([1, 2], undefined, 'int32');
    expect(ew.add(i, 1).requiresGrad).toBe(false);
  });
});
