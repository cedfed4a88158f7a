/**
 * Elementwise ops (src/tensor/elementwise.ts) on the reference backend, against independent oracles:
 * Math.* per element for the unary ops, explicit index loops for broadcasting, libm (Python math.erf) tables
 * for erf/erfc/gelu, and hand values for the integer and edge-case semantics.
 * Unary tolerance: the kernel computes in float64 and rounds once to float32, so |got - f(x)| <= 2^-24 |f(x)|;
 * we allow 2^-23 |f(x)| plus 1e-30 for results that are (sub)normal-tiny.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import * as ew from '../../src/tensor/elementwise.js';
import { setBackend } from '../../src/backends/registry.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { erf as erf64, erfc as erfc64 } from '../../src/backends/reference/elementwise.js';
import { DTypeError, ShapeError, ValueError } from '../../src/errors.js';
import type { UnaryOp } from '../../src/backends/backend.js';
import { assertClose } from '../helpers/close.js';
import { uniformF32 } from '../helpers/random.js';
import { expectError } from '../helpers/errors.js';

beforeAll(() => setBackend('reference'));

const f32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Float32Array.from(values), shape);
const i32 = (values: number[], shape: number[] = [values.length]) => new Tensor(Int32Array.from(values), shape);
const arr = (t: Tensor) => Array.from(t.data);
const U32 = 2 ** -23;


function sigmoidOracle(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// Oracles written independently of the kernel's formulations (fine where the inputs keep them accurate).
const unaryCases: [UnaryOp, (x: number) => number, [number, number]][] = [
  ['neg', (x) => -x, [-5, 5]],
  ['abs', Math.abs, [-5, 5]],
  ['square', (x) => x * x, [-5, 5]],
  ['sqrt', Math.sqrt, [0, 10]],
  ['rsqrt', (x) => Math.pow(x, -0.5), [0.01, 10]],
  ['reciprocal', (x) => 1 / x, [0.1, 10]],
  ['exp', Math.exp, [-20, 20]],
  ['expm1', Math.expm1, [-2, 2]],
  ['log', Math.log, [0.001, 100]],
  ['log1p', Math.log1p, [-0.9, 10]],
  ['sin', Math.sin, [-6, 6]],
  ['cos', Math.cos, [-6, 6]],
  ['tan', Math.tan, [-1.4, 1.4]],
  ['asin', Math.asin, [-1, 1]],
  ['acos', Math.acos, [-1, 1]],
  ['atan', Math.atan, [-10, 10]],
  ['sinh', Math.sinh, [-5, 5]],
  ['cosh', Math.cosh, [-5, 5]],
  ['floor', Math.floor, [-5, 5]],
  ['ceil', Math.ceil, [-5, 5]],
  ['tanh', Math.tanh, [-5, 5]],
  ['sigmoid', sigmoidOracle, [-20, 20]],
  ['relu', (x) => (x > 0 ? x : 0), [-5, 5]],
  ['relu6', (x) => (x < 0 ? 0 : x > 6 ? 6 : x), [-3, 9]],
  ['selu', (x) => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (Math.exp(x) - 1)), [-5, 5]],
  ['softplus', (x) => Math.log1p(Math.exp(x)), [-20, 20]],
  ['softsign', (x) => x / (1 + Math.abs(x)), [-5, 5]],
  ['silu', (x) => x * sigmoidOracle(x), [-10, 10]],
  ['hardSigmoid', (x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)), [-4, 4]],
  ['logSigmoid', (x) => -Math.log1p(Math.exp(-x)), [-20, 20]],
];

describe('unary ops vs Math.* oracles', () => {
  for (const [op, oracle, [lo, hi]] of unaryCases) {
    test(op, () => {
      const x = f32(Array.from(uniformF32(257, 11, lo, hi)), [257]);
      const got = (ew as unknown as Record<string, (x: Tensor) => Tensor>)[op](x);
      expect(got.dtype).toBe('float32');
      expect(got.shape).toEqual([257]);
      const expected = Array.from(x.data, oracle);
      assertClose(got.data, expected, { rtol: U32, atol: 1e-30, what: op });
      // The Tensor method agrees with the function.
      const method = (x as unknown as Record<string, () => Tensor>)[op];
      if (typeof method === 'function') expect(arr(method.call(x))).toEqual(arr(got));
    });
  }

  test('leakyRelu defaults to alpha 0.2 and takes an alpha', () => {
    const x = f32([-2, -0.5, 0, 3]);
    assertClose(ew.leakyRelu(x).data, [-0.4, -0.1, 0, 3], { rtol: U32, what: 'leakyRelu' });
    assertClose(ew.leakyRelu(x, 0.01).data, [-0.02, -0.005, 0, 3], { rtol: U32, what: 'leakyRelu 0.01' });
    assertClose(x.leakyRelu().data, ew.leakyRelu(x).data, { what: 'method' });
  });

  test('elu defaults to alpha 1 and takes an alpha', () => {
    const x = f32([-2, -0.5, 0, 3]);
    assertClose(ew.elu(x).data, [Math.expm1(-2), Math.expm1(-0.5), 0, 3], { rtol: U32, what: 'elu' });
    assertClose(ew.elu(x, 2).data, [2 * Math.expm1(-2), 2 * Math.expm1(-0.5), 0, 3], { rtol: U32, what: 'elu 2' });
  });

  test('stable sigmoid, softplus and logSigmoid for large |x|', () => {
    const x = f32([-1000, -100, 100, 1000]);
    expect(arr(ew.sigmoid(x))).toEqual([0, Math.fround(Math.exp(-100)), 1, 1]);
    expect(arr(ew.softplus(x))).toEqual([0, Math.fround(Math.exp(-100)), 100, 1000]);
    expect(arr(ew.logSigmoid(x))).toEqual([-1000, -100, -Math.fround(Math.exp(-100)), 0]);
    expect(arr(ew.silu(x))).toEqual([-0, Math.fround(-100 * Math.exp(-100)), 100, 1000]);
  });

  test('round is half to even; sign keeps NaN and zero', () => {
    expect(arr(ew.round(f32([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6])))).toEqual([0, 2, 2, -0, -2, -2, 2, -3]);
    expect(arr(ew.sign(f32([-3, 0, 2, NaN])))).toEqual([-1, 0, 1, NaN]);
  });

  test('hardSigmoid and relu6 break points', () => {
    expect(arr(ew.hardSigmoid(f32([-3, -2.5, 0, 1, 2.5, 3])))).toEqual([0, 0, 0.5, Math.fround(0.7), 1, 1]);
    expect(arr(ew.relu6(f32([-1, 3, 6, 7])))).toEqual([0, 3, 6, 6]);
  });

  test('NaN propagates through the activations', () => {
    for (const op of ['relu', 'relu6', 'sigmoid', 'tanh', 'gelu', 'elu', 'softplus'] as const) {
      expect(Number.isNaN(ew[op](f32([NaN])).data[0]), op).toBe(true);
    }
  });

  test('int32: neg, abs, sign, square stay int32 and wrap; float-only ops compute in float32', () => {
    const x = i32([-2147483648, -3, 0, 5]);
    const n = ew.neg(x);
    expect(n.dtype).toBe('int32');
    expect(arr(n)).toEqual([-2147483648, 3, 0, -5]);
    expect(arr(ew.abs(x))).toEqual([-2147483648, 3, 0, 5]);
    expect(arr(ew.sign(x))).toEqual([-1, -1, 0, 1]);
    const sq = ew.square(i32([65536, -7]));
    expect(sq.dtype).toBe('int32');
    expect(arr(sq)).toEqual([0, 49]); // 2^32 wraps to 0
    const r = ew.sqrt(i32([4, 9]));
    expect(r.dtype).toBe('float32');
    expect(arr(r)).toEqual([2, 3]);
    const relu = ew.relu(i32([-1, 2]));
    expect(relu.dtype).toBe('float32');
    expect(arr(relu)).toEqual([0, 2]);
  });

  test('numbers are accepted as scalars', () => {
    const t = ew.exp(0);
    expect(t.shape).toEqual([]);
    expect(t.dtype).toBe('float32');
    expect(t.item()).toBe(1);
  });
});

describe('erf, erfc and exact gelu vs libm tables', () => {
  // Python 3.11 math.erf / math.erfc (libm), correctly rounded to double or within 1 ulp.
  const erfTable: [number, number][] = [
    [-5, -0.9999999999984626], [-3, -0.9999779095030014], [-2.5, -0.999593047982555], [-2, -0.9953222650189527],
    [-1.5, -0.9661051464753108], [-1, -0.8427007929497149], [-0.5, -0.5204998778130465], [-0.1, -0.1124629160182849],
    [-0.001, -0.0011283787909692365], [0, 0], [0.001, 0.0011283787909692365], [0.1, 0.1124629160182849],
    [0.3, 0.3286267594591274], [0.5, 0.5204998778130465], [0.75, 0.7111556336535151], [1, 0.8427007929497149],
    [1.25, 0.9229001282564582], [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.5, 0.999593047982555],
    [3, 0.9999779095030014], [3.5, 0.9999992569016276], [4, 0.9999999845827421], [5, 0.9999999999984626], [6, 1],
  ];
  const erfcTable: [number, number][] = [
    [1, 0.15729920705028513], [1.5, 0.033894853524689274], [2, 0.004677734981047265], [3, 2.2090496998585438e-5],
    [4, 1.541725790028002e-8], [5, 1.5374597944280351e-12], [6, 2.1519736712498916e-17], [8, 1.1224297172982928e-29],
    [10, 2.088487583762545e-45], [15, 7.212994172451206e-100], [20, 5.3958656116079005e-176], [26, 5.663192408856143e-296],
  ];
  const geluTable: [number, number][] = [
    [-10, -7.619853024160593e-23], [-5, -1.4332578593959731e-6], [-3, -0.004049694094890287], [-1, -0.15865525393145707],
    [-0.5, -0.15426876936299344], [0, 0], [0.5, 0.34573123063700656], [1, 0.8413447460685429], [3, 2.99595030590511],
    [5, 4.99999856674214],
  ];

  test('erf in float64 to 1e-7 relative (in fact 1e-14)', () => {
    const xs = erfTable.map(([x]) => x);
    const want = erfTable.map(([, v]) => v);
    const got = referenceBackend.unary('erf', { data: Float64Array.from(xs), shape: [xs.length] }, {}).data;
    assertClose(got, want, { rtol: 1e-14, atol: 1e-300, what: 'erf float64' });
    assertClose(Array.from(xs, erf64), want, { rtol: 1e-7, what: 'erf 1e-7' });
  });

  test('erfc keeps relative accuracy deep in the tail', () => {
    for (const [x, v] of erfcTable) {
      expect(Math.abs(erfc64(x) - v) / v, `erfc(${x})`).toBeLessThan(1e-13);
      expect(Math.abs(erfc64(-x) - (2 - v)), `erfc(${-x})`).toBeLessThan(1e-15);
    }
    expect(erf64(NaN)).toBeNaN();
    expect(erf64(Infinity)).toBe(1);
    expect(erf64(-Infinity)).toBe(-1);
  });

  test('erf and gelu through the ops layer in float32', () => {
    const xs = erfTable.map(([x]) => x);
    const x32 = f32(xs);
    // Expected: the table value at the float32-rounded input, to first order erf'(x) * (fround(x) - x).
    const want = erfTable.map(([x, v]) => v + (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * (Math.fround(x) - x));
    assertClose(ew.erf(x32).data, want, { rtol: U32, atol: 1e-30, what: 'erf float32' });
    const g = geluTable.map(([x]) => x);
    assertClose(ew.gelu(f32(g)).data, geluTable.map(([, v]) => v), { rtol: U32, atol: 1e-38, what: 'gelu float32' });
    const g64 = referenceBackend.unary('gelu', { data: Float64Array.from(g), shape: [g.length] }, {}).data;
    assertClose(g64, geluTable.map(([, v]) => v), { rtol: 1e-13, what: 'gelu float64' });
  });
});

/** Flat index of `coord` (already in the output's rank) into a broadcast input of `shape`. */
function bIndex(coord: number[], shape: number[]): number {
  const off = coord.length - shape.length;
  let idx = 0;
  for (let i = 0; i < shape.length; i++) idx = idx * shape[i] + (shape[i] === 1 ? 0 : coord[i + off]);
  return idx;
}

/** Expected result of broadcasting f over a [2,1,3] and b [4,1] by an explicit index loop: [2,4,3]. */
function loop213x41(a: ArrayLike<number>, b: ArrayLike<number>, f: (x: number, y: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) {
    out.push(f(a[bIndex([i, j, k], [2, 1, 3])], b[bIndex([i, j, k], [4, 1])]));
  }
  return out;
}

describe('binary ops: broadcasting and semantics', () => {
  const a = f32(Array.from(uniformF32(6, 21, 0.5, 3)), [2, 1, 3]);
  const b = f32(Array.from(uniformF32(4, 22, -2, 2)), [4, 1]);
  const floorMod = (x: number, y: number) => x - Math.floor(x / y) * y;
  const cases: [string, (x: number, y: number) => number, number][] = [
    ['add', (x, y) => x + y, U32],
    ['sub', (x, y) => x - y, U32],
    ['mul', (x, y) => x * y, U32],
    ['div', (x, y) => x / y, U32],
    ['pow', Math.pow, U32],
    ['maximum', Math.max, 0],
    ['minimum', Math.min, 0],
    ['mod', floorMod, 1e-6],
    ['floorDiv', (x, y) => Math.floor(x / y), 0],
    ['squaredDifference', (x, y) => (x - y) ** 2, U32],
    ['atan2', Math.atan2, U32],
  ];
  for (const [op, f, rtol] of cases) {
    test(`${op} [2,1,3] with [4,1] -> [2,4,3] vs an index loop`, () => {
      const got = (ew as unknown as Record<string, (x: Tensor, y: Tensor) => Tensor>)[op](a, b);
      expect(got.shape).toEqual([2, 4, 3]);
      expect(got.dtype).toBe('float32');
      assertClose(got.data, loop213x41(a.data, b.data, f), { rtol, atol: 1e-6 * (op === 'mod' ? 1 : 0), what: op });
    });
  }

  test('Tensor methods broadcast the same way', () => {
    expect(arr(a.add(b))).toEqual(arr(ew.add(a, b)));
    expect(arr(b.sub(a))).toEqual(arr(ew.sub(b, a)));
    expect(b.sub(a).shape).toEqual([2, 4, 3]);
  });

  test('scalars broadcast against any shape, on either side', () => {
    const x = f32([1, 2, 3, 4], [2, 2]);
    expect(arr(ew.sub(10, x))).toEqual([9, 8, 7, 6]);
    expect(arr(x.mul(2))).toEqual([2, 4, 6, 8]);
    expect(ew.add(f32([1], []), x).shape).toEqual([2, 2]);
    expect(ew.add(2, 3).item()).toBe(5);
  });

  test('zero-size broadcast', () => {
    const z = ew.add(f32([], [0, 3]), f32([1, 2, 3]));
    expect(z.shape).toEqual([0, 3]);
    expect(z.size).toBe(0);
  });

  test('mod has the sign of the divisor; floorDiv floors (float and int32)', () => {
    expect(arr(ew.mod(f32([5, -5, 5, -5]), f32([3, 3, -3, -3])))).toEqual([2, 1, -1, -2]);
    expect(arr(ew.mod(i32([5, -5, 5, -5]), i32([3, 3, -3, -3])))).toEqual([2, 1, -1, -2]);
    expect(arr(ew.mod(f32([5.5, -5.5]), -2))).toEqual([-0.5, -1.5]);
    expect(arr(ew.floorDiv(f32([7, -7, 7, -7]), f32([2, 2, -2, -2])))).toEqual([3, -4, -4, 3]);
    expect(arr(ew.floorDiv(i32([7, -7, 7, -7]), i32([2, 2, -2, -2])))).toEqual([3, -4, -4, 3]);
  });

  test('int32 div is floor division; float division by zero gives infinities', () => {
    const q = ew.div(i32([7, -7, 6]), 2);
    expect(q.dtype).toBe('int32');
    expect(arr(q)).toEqual([3, -4, 3]);
    expect(arr(ew.div(f32([1, -1, 0]), 0))).toEqual([Infinity, -Infinity, NaN]);
  });

  test('dtype promotion of tensors and numbers', () => {
    const x = i32([1, 2]);
    expect(ew.add(x, 2).dtype).toBe('int32');
    expect(ew.add(2, x).dtype).toBe('int32');
    const h = ew.add(x, 2.5);
    expect(h.dtype).toBe('float32');
    expect(arr(h)).toEqual([3.5, 4.5]);
    expect(ew.add(x, 2 ** 40).dtype).toBe('float32'); // out of int32 range
    expect(ew.add(x, f32([0.5, 0.5])).dtype).toBe('float32');
    expect(ew.add(f32([1]), 2).dtype).toBe('float32');
    expect(ew.mul(x, f32([0.5])).data).toEqual(Float32Array.of(0.5, 1));
  });

  test('int32 arithmetic wraps modulo 2^32', () => {
    expect(arr(ew.add(i32([2147483647]), 1))).toEqual([-2147483648]);
    expect(arr(ew.sub(i32([-2147483648]), 1))).toEqual([2147483647]);
    expect(arr(ew.mul(i32([65536, 46341]), i32([65536, 46341])))).toEqual([0, -2147479015]);
    expect(arr(ew.pow(i32([3, 2, -2, 5]), i32([4, 31, 3, 0])))).toEqual([81, -2147483648, -8, 1]);
    expect(arr(ew.squaredDifference(i32([5, -3]), i32([2, 4])))).toEqual([9, 49]);
    expect(arr(ew.maximum(i32([1, 5]), 3))).toEqual([3, 5]);
  });

  test('pow follows C at the special points; maximum/minimum propagate NaN', () => {
    expect(arr(ew.pow(f32([1, 1, -1, 2, -8]), f32([NaN, Infinity, Infinity, 0.5, 1 / 3])))).toEqual([
      1, 1, 1, Math.fround(Math.SQRT2), NaN,
    ]);
    expect(arr(ew.maximum(f32([NaN, 1]), f32([1, NaN])))).toEqual([NaN, NaN]);
    expect(arr(ew.minimum(f32([NaN, 1]), 0))).toEqual([NaN, 0]);
  });

  test('int32 atan2 computes in float32', () => {
    const t = ew.atan2(i32([1]), i32([1]));
    expect(t.dtype).toBe('float32');
    expect(t.item()).toBe(Math.fround(Math.PI / 4));
  });
});

describe('comparisons and logic', () => {
  test('every comparison, broadcasting, int32 0/1 result, NaN compares false', () => {
    const a = f32([1, 2, NaN], [3, 1]);
    const b = f32([2, 1]);
    const x = [1, 1, 2, 2, NaN, NaN];
    const y = [2, 1, 2, 1, 2, 1];
    const ops: [string, (p: number, q: number) => boolean][] = [
      ['equal', (p, q) => p === q], ['notEqual', (p, q) => p !== q], ['less', (p, q) => p < q],
      ['lessEqual', (p, q) => p <= q], ['greater', (p, q) => p > q], ['greaterEqual', (p, q) => p >= q],
    ];
    for (const [op, f] of ops) {
      const got = (ew as unknown as Record<string, (p: Tensor, q: Tensor) => Tensor>)[op](a, b);
      expect(got.dtype, op).toBe('int32');
      expect(got.shape, op).toEqual([3, 2]);
      expect(arr(got), op).toEqual(x.map((v, i) => (f(v, y[i]) ? 1 : 0)));
    }
    expect(arr(a.greater(1.5))).toEqual([0, 1, 0]);
  });

  test('int32 with a fractional number compares in float32', () => {
    expect(arr(ew.less(i32([1, 2]), 1.5))).toEqual([1, 0]);
  });

  test('logicalAnd / logicalOr read nonzero (and NaN) as true', () => {
    const p = f32([0, 0, 2, NaN]);
    const q = i32([0, 1, 0, 3]);
    expect(arr(ew.logicalAnd(p, q))).toEqual([0, 0, 0, 1]);
    expect(arr(ew.logicalOr(p, q))).toEqual([0, 1, 1, 1]);
    expect(ew.logicalAnd(p, q).dtype).toBe('int32');
  });
});

describe('where', () => {
  test('broadcasts condition [2,1], a [3], b [2,3]', () => {
    const c = i32([1, 0], [2, 1]);
    const a = f32([1, 2, 3]);
    const b = f32([10, 20, 30, 40, 50, 60], [2, 3]);
    const got = ew.where(c, a, b);
    expect(got.shape).toEqual([2, 3]);
    expect(arr(got)).toEqual([1, 2, 3, 40, 50, 60]);
  });

  test('float condition: any nonzero (0.5, NaN) is true; numbers as branches; promotion', () => {
    const got = ew.where(f32([0.5, 0, NaN, -0]), 1, i32([7, 8, 9, 10]));
    expect(got.dtype).toBe('int32');
    expect(arr(got)).toEqual([1, 8, 1, 10]);
    expect(ew.where(i32([1, 0]), 1.5, i32([3, 4])).dtype).toBe('float32');
  });

  test('bad shapes name the arguments at fault', () => {
    expectError(() => ew.where(i32([1, 0, 1]), f32([1, 2]), 0), ShapeError, 'where:', "argument 'condition' [3]", "argument 'a' [2]");
    expectError(() => ew.where(i32([1]), f32([1, 2]), f32([1, 2, 3])), ShapeError, 'where:', "argument 'a' [2]", "argument 'b' [3]");
    expectError(() => ew.where(i32([1, 0], [2, 1]), f32([1, 2]), f32([1, 2, 3], [3, 1])), ShapeError, "argument 'condition' [2,1]", "argument 'b' [3,1]");
    expectError(() => ew.where('yes' as never, 1, 2), DTypeError, "where: argument 'condition'");
  });
});

describe('clip', () => {
  test('values, NaN elements, infinite bounds', () => {
    expect(arr(ew.clip(f32([-2, 0.5, 3, NaN]), 0, 1))).toEqual([0, 0.5, 1, NaN]);
    expect(arr(ew.clip(f32([-2, 5]), -Infinity, 1))).toEqual([-2, 1]);
    expect(arr(f32([-2, 5]).clip(0, 0))).toEqual([0, 0]);
  });

  test('int32 stays int32 with integer bounds and promotes with fractional ones', () => {
    const c = ew.clip(i32([-5, 0, 5]), -1, 2);
    expect(c.dtype).toBe('int32');
    expect(arr(c)).toEqual([-1, 0, 2]);
    const d = ew.clip(i32([-5, 0, 5]), -0.5, Infinity);
    expect(d.dtype).toBe('float32');
    expect(arr(d)).toEqual([-0.5, 0, 5]);
  });

  test('bad bounds', () => {
    const x = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    expectError(() => ew.clip(x, NaN, 1), ValueError, "clip: argument 'min'", 'NaN', '[2,3]');
    expectError(() => ew.clip(x, 0, NaN), ValueError, "clip: argument 'max'", 'NaN');
    expectError(() => ew.clip(x, 2, 1), ValueError, 'clip:', "'min' = 2", "'max' = 1", '[2,3]');
    expectError(() => ew.clip(x, '0' as never, 1), DTypeError, "clip: argument 'min'");
    expectError(() => ew.clip(null as never, 0, 1), DTypeError, "clip: argument 'x'");
  });
});

describe('bad input', () => {
  const binaries = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'mod', 'floorDiv', 'squaredDifference', 'atan2',
    'equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'];
  for (const op of binaries) {
    test(`${op}: non-broadcastable shapes and wrong types`, () => {
      const fn = (ew as unknown as Record<string, (x: unknown, y: unknown) => Tensor>)[op];
      expectError(() => fn(f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([1, 2, 3, 4], [4])), ShapeError,
        `${op}:`, "argument 'a' [2,3]", "argument 'b' [4]");
      expectError(() => fn('x', f32([1])), DTypeError, `${op}: argument 'a'`, 'string');
      expectError(() => fn(f32([1]), [1, 2]), DTypeError, `${op}: argument 'b'`, 'array');
    });
  }

  const unaries = ['neg', 'abs', 'sign', 'square', 'sqrt', 'rsqrt', 'reciprocal', 'exp', 'expm1', 'log', 'log1p', 'sin',
    'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'floor', 'ceil', 'round', 'erf', 'tanh', 'sigmoid', 'relu',
    'relu6', 'leakyRelu', 'elu', 'selu', 'softplus', 'softsign', 'gelu', 'silu', 'hardSigmoid', 'logSigmoid'];
  test('every unary op rejects a non-tensor, naming op and argument', () => {
    for (const op of unaries) {
      const fn = (ew as unknown as Record<string, (x: unknown) => Tensor>)[op];
      expectError(() => fn({}), DTypeError, `${op}: argument 'x'`, 'Object');
      expectError(() => fn(undefined), DTypeError, `${op}: argument 'x'`);
    }
  });

  test('alpha must be a finite number', () => {
    expectError(() => ew.leakyRelu(f32([1]), NaN), ValueError, "leakyRelu: argument 'alpha'", 'NaN');
    expectError(() => ew.elu(f32([1]), Infinity), ValueError, "elu: argument 'alpha'");
    expectError(() => ew.elu(f32([1]), '1' as never), ValueError, "elu: argument 'alpha'");
  });

  test('int32 division by zero and negative exponents', () => {
    expectError(() => ew.div(i32([1, 2]), i32([1, 0])), ValueError, 'div: integer division by zero', "argument 'b' [2]");
    expectError(() => ew.mod(i32([1, 2]), 0), ValueError, 'mod: integer division by zero');
    expectError(() => ew.floorDiv(i32([1]), i32([0])), ValueError, 'floorDiv: integer division by zero');
    expectError(() => ew.pow(i32([2]), -1), ValueError, "pow: int32 argument 'b'", 'negative exponent');
  });
});

describe('reference kernels directly', () => {
  test('float64 arrays keep full precision and the array type', () => {
    const x = { data: Float64Array.of(0.1, 0.2), shape: [2] };
    const y = referenceBackend.binary('add', x, x, [2]);
    expect(y.data).toBeInstanceOf(Float64Array);
    expect(Array.from(y.data)).toEqual([0.2, 0.4]);
    const s = referenceBackend.unary('sigmoid', x, {});
    expect(s.data).toBeInstanceOf(Float64Array);
    expect(s.data[0]).toBe(1 / (1 + Math.exp(-0.1)));
  });

  test('cast: float -> int32 truncates toward zero, NaN -> 0, saturates out of range', () => {
    const c = referenceBackend.cast({ data: Float32Array.of(1.9, -1.9, NaN, 3e9, -3e9, Infinity, -0.5), shape: [7] }, 'int32');
    expect(c.data).toBeInstanceOf(Int32Array);
    expect(Array.from(c.data)).toEqual([1, -1, 0, 2147483647, -2147483648, 2147483647, 0]);
    const f = referenceBackend.cast({ data: Int32Array.of(16777217, -3), shape: [2] }, 'float32');
    expect(Array.from(f.data)).toEqual([16777216, -3]);
  });

  test('clip and where keep the array type', () => {
    const x = { data: Float64Array.of(-1, 0.25, 2), shape: [3] };
    expect(Array.from(referenceBackend.clip(x, 0, 1).data)).toEqual([0, 0.25, 1]);
    const w = referenceBackend.where({ data: Int32Array.of(1, 0, 1), shape: [3] }, x, { data: Float64Array.of(9), shape: [] }, [3]);
    expect(w.data).toBeInstanceOf(Float64Array);
    expect(Array.from(w.data)).toEqual([-1, 9, 2]);
  });
});
