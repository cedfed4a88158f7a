/**
 * Properties: native unary, unaryGrad, binary, compare, where, clip and cast against the reference, over random shapes
 * (lengths across every vector body and tail, broadcast forms), values (IEEE specials, ties, overflow) and
 * attributes.
 *
 * Tolerances. The reference evaluates each op in double and rounds once to float32 (0.5 ulp of the exact
 * result). Then:
 * - add, sub, mul, div, sqrt, reciprocal and every selection or integer op are exact: a correctly rounded
 *   float32 op equals the double op rounded once (double rounding is innocuous for + - * / sqrt since
 *   53 >= 2*24 + 2, Figueroa 1995); mod is an exact fmod plus one correctly rounded add; maximum/minimum,
 *   compare, where, clip, cast, neg, abs, sign, floor, ceil, round, relu, relu6 select or reproduce values;
 *   softsign and hardSigmoid are the reference's double arithmetic, in its order, rounded once.
 *   Every exact comparison is bit-for-bit: -0 differs from 0, and a NaN must stay NaN.
 * - square: x*x of a float32 is exact in double, so it is one rounding either way: exact.
 * - transcendental ops: |got - ref| <= U ulp(ref) + max_{|d| <= C eps32} |f(x(1+d)) - f(x)| + 2^-126, a mixed
 *   forward/backward bound: the result may be off by U ulp of itself (U = 4 for a single function, the SLEEF
 *   "u35" class a float32 SIMD polynomial reaches, plus the reference's 0.5; U = 8 for compositions of up to two
 *   functions and a few rounded ops: sigmoid, elu; U = 5 for selu, softplus, logSigmoid, silu, gelu, whose native
 *   kernels are within 3, 4, 4, 4, 5 ulp over dense sweeps, test/native/eltwise.test.ts) and evaluated at an
 *   argument off by C = 4 eps32 relative (range reduction, x*log2(e) splits, the rounded inner argument -x/sqrt2
 *   or 2x); the second term, sampled on the float64 reference, is C eps32 |x f'(x)| to first order (so cancelling
 *   forms such as exp(x) - 1 for expm1 or 0.5x(1 + erf(x/sqrt2)) for gelu at x << 0 fail). 2^-126: results
 *   in the subnormal range may lose that much absolutely.
 * - leakyRelu (alpha not a float32): fl(fl(alpha) x) vs fl(alpha x): 3 eps32 |alpha x| <= 3 ulp(ref).
 * - floorDiv: floor(a/b) with a/b rounded to float32 or to double: either floor is accepted.
 * - pow: 8 ulp(ref) + 4 eps32 |ref| (|b| + |b ln|a||) (relative condition numbers of a^b in a and in b).
 * - atan2: 4 ulp(ref) + 4 eps32 * 2|ab|/(a^2+b^2) (the summed relative condition number, at most 1).
 * - squaredDifference: (a-b) rounded, then squared and rounded: 3 eps32 |ref| <= 3 ulp(ref).
 * An infinite result counts as +-2^128 (where float32 rounding overflows), so overflow one ulp early is one ulp.
 * The CPU addon evaluates floorDiv, squaredDifference and rsqrt as the reference does (double, one rounding), so
 * there they are exact (CPU_EXACT); the bounds above stay for float32 implementations (CUDA, the emulations).
 *
 * unaryGrad (dx = dy g(x, y)) admits a float32 evaluation of the reference's formula: with gabs the formula on
 * absolute values of its terms and N the relative errors it carries (each float32 rounding and each constant
 * rounded to float32 eps32, e = exp(-|x|) K = 8 eps32, a 4-ulp exp; s = 1/(1+e), t = e/(1+e) then
 * K + 2, as |d log s / d log e| <= 1), forward error analysis gives
 *   |got - ref| <= ulp(ref) + N eps32 |dy| gabs + N 2^-149 (1 + [exp ops] |dy| (1 + |x|))
 * (ulp(ref): the reference's own rounding and the last one; the last term: roundings in the subnormal range,
 * where e's is magnified by |dy| |dg/de| <= |dy| (1 + |x|)). relu and relu6 select dy: exact. Per op, gabs and N:
 *   leakyRelu |alpha| (x <= 0), 2; elu |y| + |alpha|, 3; selu scale or |y| + scale alpha, 3; hardSigmoid 0.2, 2;
 *   sigmoid |y| (1 + |y|), 3; tanh 1 + y^2, 3; softsign 1/(1+|x|)^2, 4; softplus s, K + 3;
 *   logSigmoid t (sigmoid(-x), not 1 - s), K + 3; silu s (1 + |x|), K + 8 (1 - s in float32 is admitted: its
 *   absolute error (K + 3) eps32, times |x|); gelu Phi + |x| phi, K + 8 (the native kernel: 8, from a 4-ulp exp,
 *   the erfc tail polynomial and its roundings).
 * The x > 0 branches that return dy itself make gabs 1 there (error 0 <= the bound). Where dy is infinite the
 * result is the reference's or NaN: a factor that is tiny but nonzero in double may be 0 in float32 (y + alpha
 * at y = -alpha with alpha rounded, an e that underflowed float32 for |x| > 103), and Infinity * 0 is NaN.
 */
import { describe, it } from 'vitest';

import type { BinaryOp, CompareOp, DataArray, KTensor, UnaryGradOp, UnaryOp } from '../../src/backends/backend.js';
import { forEachBroadcast } from '../../src/backends/reference/elementwise.js';
import { EPS32 } from '../helpers/close.js';
import {
  MIN_NORMAL32, SUB32, type Tol, checkKernel, fcParams, referenceBackend, reportCoverage, testsCpuAddon, ulp32,
} from '../helpers/backends.js';
import {
  f32data, fc, fmt, i32data, lazy, lengthArb, seedArb, shapeArb, sizeOf, tf, ti,
} from './arb.js';

reportCoverage('elementwise', ['unary', 'unaryGrad', 'binary', 'compare', 'where', 'clip', 'cast']);

// ------------------------------------------------------------------------------------------------
// unary

interface UnarySpec {
  /** 'exact', or U ulps of the result plus C eps32 |x f'(x)|. */
  readonly tol: 'exact' | { readonly ulps: number; readonly cond: number };
  /** Magnitudes of the inputs drawn (uniform in [-s, s]). */
  readonly scales: readonly number[];
  /** Quantise inputs to multiples of 1/4 (ties for round, integers for floor/ceil). */
  readonly quantum?: number;
}

const T4 = { ulps: 4, cond: 4 } as const;
const T8 = { ulps: 8, cond: 4 } as const;
const T5 = { ulps: 5, cond: 4 } as const;
const WIDE = [1e-3, 1, 10, 100];
const UNARY: Record<UnaryOp, UnarySpec> = {
  neg: { tol: 'exact', scales: WIDE }, abs: { tol: 'exact', scales: WIDE }, sign: { tol: 'exact', scales: WIDE },
  square: { tol: 'exact', scales: [1e-3, 1, 1e10, 1e20] }, sqrt: { tol: 'exact', scales: WIDE },
  reciprocal: { tol: 'exact', scales: [1e-40, 1e-3, 1, 1e30] },
  floor: { tol: 'exact', scales: WIDE, quantum: 4 }, ceil: { tol: 'exact', scales: WIDE, quantum: 4 },
  round: { tol: 'exact', scales: [1, 10, 1e7], quantum: 2 },
  relu: { tol: 'exact', scales: WIDE }, relu6: { tol: 'exact', scales: [1, 10] },
  rsqrt: { tol: T4, scales: [1e-30, 1e-3, 1, 100, 1e30] },
  exp: { tol: T4, scales: WIDE }, expm1: { tol: T4, scales: WIDE }, log: { tol: T4, scales: [1e-30, 1e-3, 2, 100, 1e30] },
  log1p: { tol: T4, scales: [1e-6, 1e-3, 1, 100] }, sin: { tol: T4, scales: WIDE }, cos: { tol: T4, scales: WIDE },
  tan: { tol: T4, scales: [1e-3, 1, 10] }, asin: { tol: T4, scales: [1e-3, 1, 1.5] }, acos: { tol: T4, scales: [1e-3, 1, 1.5] },
  atan: { tol: T4, scales: WIDE }, sinh: { tol: T4, scales: WIDE }, cosh: { tol: T4, scales: WIDE },
  tanh: { tol: T4, scales: WIDE }, erf: { tol: T4, scales: [1e-3, 1, 3, 10] },
  softsign: { tol: 'exact', scales: WIDE },
  sigmoid: { tol: T8, scales: WIDE }, softplus: { tol: T5, scales: WIDE }, gelu: { tol: T5, scales: [1e-3, 1, 5, 20] },
  silu: { tol: T5, scales: WIDE }, elu: { tol: T8, scales: WIDE }, selu: { tol: T5, scales: WIDE },
  logSigmoid: { tol: T5, scales: WIDE },
  leakyRelu: { tol: { ulps: 3, cond: 0 }, scales: WIDE },
  hardSigmoid: { tol: 'exact', scales: [1, 3, 10] },
};
const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
const INT_UNARY: UnaryOp[] = ['neg', 'abs', 'sign', 'square'];
const ALPHAS = [0.2, 0.01, 0.3, 1, 1.6732632423543772];

/**
 * How far f moves when its argument moves by up to `rel` relative: max |f(x(1+s rel)) - f(x)| over
 * s in {-1, -1/2, 1/2, 1}, on the float64 reference (0 where x is not finite, samples outside the domain
 * skipped). For smooth f this is rel |x f'(x)| to first order; where rel |x| spans many periods (sin of 1e38)
 * it is O(1), as it should be: there every value is within the backward error.
 */
function argumentSpread(op: UnaryOp, x: Float32Array, alpha: number, rel: number): Float64Array {
  const at = (scale: number): Float64Array =>
    referenceBackend.unary(op, { data: Float64Array.from(x, (v) => v * scale), shape: [x.length] }, { alpha }).data as Float64Array;
  const f0 = at(1);
  const samples = [-1, -0.5, 0.5, 1].map((s) => at(1 + s * rel));
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) continue;
    let m = 0;
    for (const fs of samples) {
      const d = Math.abs(fs[i] - f0[i]);
      if (Number.isFinite(d)) m = Math.max(m, d);
    }
    out[i] = m;
  }
  return out;
}

const unaryCaseArb = fc.record({
  op: fc.constantFrom(...UNARY_OPS),
  shape: fc.oneof(lengthArb.map((n) => [n]), shapeArb(0, 4, 2048)),
  scaleIdx: fc.nat(),
  alpha: fc.constantFrom(...ALPHAS),
  specials: fc.boolean(),
  seed: seedArb,
});

// ------------------------------------------------------------------------------------------------
// unary gradients

const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = SELU_SCALE * 1.6732632423543772848170429916717;
const K_EXP = 8;
const EXP_GRAD = new Set<UnaryGradOp>(['softplus', 'logSigmoid', 'silu', 'gelu']);
const GRAD_OPS: UnaryGradOp[] = [
  'relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'hardSigmoid', 'sigmoid', 'tanh', 'softsign', 'softplus', 'logSigmoid', 'silu', 'gelu',
];

/** [gabs, N] of the header at one element. */
function gradTerms(op: UnaryGradOp, x: number, y: number, alpha: number): [number, number] {
  const sig = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
  switch (op) {
    case 'leakyRelu': return [x > 0 ? 1 : Math.abs(alpha), 2];
    case 'elu': return [x > 0 ? 1 : Math.abs(y) + Math.abs(alpha), 3];
    case 'selu': return [x > 0 ? SELU_SCALE : Math.abs(y) + SELU_SCALE_ALPHA, 3];
    case 'hardSigmoid': return [0.2, 2];
    case 'sigmoid': return [Math.abs(y) * (1 + Math.abs(y)), 3];
    case 'tanh': return [1 + y * y, 3];
    case 'softsign': return [1 / ((1 + Math.abs(x)) * (1 + Math.abs(x))), 4];
    case 'softplus': return [sig(x), K_EXP + 3];
    case 'logSigmoid': return [sig(-x), K_EXP + 3];
    case 'silu': return [sig(x) * (1 + Math.abs(x)), K_EXP + 8];
    case 'gelu': return [0.5 * erfcAbs(x) + Math.abs(x) * 0.3989422804014327 * Math.exp(-0.5 * x * x), K_EXP + 8];
    default: return [0, 0];
  }
}

/** Phi(x) * 2 = erfc(-x/sqrt 2) from the reference's gelu: gelu(x) / (x / 2) away from 0, 1 at 0. */
function erfcAbs(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x > 0 ? 2 : x < 0 ? 0 : 1;
  const g = referenceBackend.unary('gelu', { data: Float64Array.of(x), shape: [1] }, {}).data[0];
  return g / (0.5 * x);
}

function unaryGradTol(op: UnaryGradOp, x: Float32Array, y: Float32Array, dy: Float32Array, alpha: number): Tol {
  if (op === 'relu' || op === 'relu6') return 'exact';
  return (i, ref, got) => {
    if (dy[i] === Infinity || dy[i] === -Infinity) return Object.is(got, ref) || Number.isNaN(got);
    const [gabs, n] = gradTerms(op, x[i], y[i], alpha);
    const g = Math.abs(dy[i]);
    return ulp32(ref) + n * EPS32 * g * gabs + n * SUB32 * (1 + (EXP_GRAD.has(op) ? g * (1 + Math.abs(x[i])) : 0));
  };
}

const unaryGradCaseArb = fc.record({
  op: fc.constantFrom(...GRAD_OPS),
  shape: fc.oneof(lengthArb.map((n) => [n]), shapeArb(0, 4, 2048)),
  scale: fc.constantFrom(1e-3, 1, 3, 10, 100),
  alpha: fc.constantFrom(...ALPHAS),
  quantised: fc.boolean(),
  specials: fc.boolean(),
  seed: seedArb,
});

// ------------------------------------------------------------------------------------------------
// broadcasting

type Form = 'same' | 'scalarB' | 'scalarA' | 'rowB' | 'rowA' | 'general';

/** An input shape broadcastable to `out`: axes in `ones` (bitmask) set to 1, `drop` leading axes removed. */
function squeezeTo(out: readonly number[], ones: number, drop: number): number[] {
  return out.map((d, i) => ((ones >> i) & 1 ? 1 : d)).slice(Math.min(drop, out.length));
}

function formShapes(out: readonly number[], form: Form, bitsA: number, bitsB: number, dropA: number, dropB: number): [number[], number[]] {
  const r = out.length;
  switch (form) {
    case 'same': return [[...out], [...out]];
    case 'scalarB': return [[...out], dropB % 2 ? [] : new Array(Math.min(r, dropB % 3)).fill(1)];
    case 'scalarA': return [dropA % 2 ? [] : [1], [...out]];
    case 'rowB': return [[...out], [...new Array(dropA % 2).fill(1), ...out.slice(Math.min(dropB, r))]];
    case 'rowA': return [out.slice(Math.min(dropA, r)), [...out]];
    default: return [squeezeTo(out, bitsA, dropA), squeezeTo(out, bitsB, dropB)];
  }
}

// Rank up to 6 with size-0 axes (dimArb); 'general' sets any axes of either operand (or both) to 1.
const broadcastArb = fc.record({
  out: shapeArb(0, 6, 3000),
  form: fc.constantFrom<Form>('same', 'scalarB', 'scalarA', 'rowB', 'rowA', 'general', 'general'),
  bitsA: fc.nat({ max: 63 }), bitsB: fc.nat({ max: 63 }),
  dropA: fc.nat({ max: 6 }), dropB: fc.nat({ max: 6 }),
}).map(({ out, form, bitsA, bitsB, dropA, dropB }) => {
  const [a, b] = formShapes(out, form, bitsA, bitsB, dropA, dropB);
  return { out, a, b, form };
});

/** The operands' values at every output position (for tolerances that depend on a and b). */
function broadcastValues(out: readonly number[], a: KTensor, b: KTensor): [Float64Array, Float64Array] {
  const n = sizeOf(out);
  const av = new Float64Array(n);
  const bv = new Float64Array(n);
  forEachBroadcast(out, [a.shape, b.shape], (o, idx) => {
    av[o] = a.data[idx[0]];
    bv[o] = b.data[idx[1]];
  });
  return [av, bv];
}

const CPU_EXACT = new Set<BinaryOp | UnaryOp>(testsCpuAddon ? ['floorDiv', 'squaredDifference', 'rsqrt'] : []);

const FLOAT_BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'mod', 'floorDiv', 'atan2', 'squaredDifference'];
const EXACT_BINARY = new Set<BinaryOp>(['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'mod']);

function binaryTol(op: BinaryOp, out: readonly number[], a: KTensor<Float32Array>, b: KTensor<Float32Array>): Tol {
  if (EXACT_BINARY.has(op) || CPU_EXACT.has(op)) return 'exact';
  const vals = lazy(() => broadcastValues(out, a, b));
  switch (op) {
    case 'floorDiv': {
      // Either floor(a/b) with the quotient rounded in double (the reference) or rounded to float32.
      const alt = lazy(() => {
        const [av, bv] = vals();
        return Float32Array.from(av, (x, i) => Math.floor(Math.fround(x / bv[i])));
      });
      return (i, ref, got) => Object.is(got, ref) || (Number.isNaN(got) && Number.isNaN(ref)) || Object.is(got, alt()[i]);
    }
    case 'pow':
      return (i, ref) => {
        const [av, bv] = vals();
        const kappa = Math.abs(bv[i]) + Math.abs(bv[i] * Math.log(Math.abs(av[i])));
        return 8 * ulp32(ref) + 4 * EPS32 * Math.abs(ref) * (Number.isFinite(kappa) ? kappa : 0) + MIN_NORMAL32;
      };
    case 'atan2':
      return (i, ref) => {
        const [av, bv] = vals();
        const s = av[i] * av[i] + bv[i] * bv[i];
        const kappa = s > 0 && Number.isFinite(s) ? (2 * Math.abs(av[i] * bv[i])) / s : 1;
        return 4 * ulp32(ref) + 4 * EPS32 * kappa + MIN_NORMAL32;
      };
    case 'squaredDifference':
      return (_i, ref) => 3 * ulp32(ref) + SUB32;
    default:
      throw new Error(`no tolerance for ${op}`);
  }
}

/** Per-op operand values: pow gets positive bases (and integer exponents for negative ones), the rest [-4, 4]. */
function binaryOperands(op: BinaryOp, aShape: number[], bShape: number[], seed: number, specials: boolean): [KTensor<Float32Array>, KTensor<Float32Array>] {
  const rate = specials ? 0.06 : 0;
  if (op === 'pow') {
    const a = f32data(sizeOf(aShape), seed, { lo: -2, hi: 4, specialRate: rate });
    const bInt = seed % 2 === 0;
    const b = f32data(sizeOf(bShape), seed + 1, { lo: -4, hi: 4, specialRate: rate, quantum: bInt ? 1 : undefined });
    if (!bInt) for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]);
    return [tf(a, aShape), tf(b, bShape)];
  }
  return [
    tf(f32data(sizeOf(aShape), seed, { lo: -4, hi: 4, specialRate: rate, quantum: seed % 3 === 0 ? 2 : undefined }), aShape),
    tf(f32data(sizeOf(bShape), seed + 1, { lo: -4, hi: 4, specialRate: rate, quantum: seed % 3 === 0 ? 2 : undefined }), bShape),
  ];
}

const INT_BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'mod', 'floorDiv', 'atan2', 'squaredDifference'];

function intOperands(op: BinaryOp, aShape: number[], bShape: number[], seed: number): [KTensor<Int32Array>, KTensor<Int32Array>] {
  const big = seed % 2 === 0;
  const a = i32data(sizeOf(aShape), seed, big ? -2147483648 : -50, big ? 2147483647 : 50);
  let b: Int32Array;
  if (op === 'pow') b = i32data(sizeOf(bShape), seed + 1, 0, 12);
  else b = i32data(sizeOf(bShape), seed + 1, big ? -2147483648 : -50, big ? 2147483647 : 50);
  // div, mod, floorDiv: the ops layer rejects a zero divisor.
  if (op === 'div' || op === 'mod' || op === 'floorDiv') for (let i = 0; i < b.length; i++) if (b[i] === 0) b[i] = 7;
  return [ti(a, aShape), ti(b, bShape)];
}

// ------------------------------------------------------------------------------------------------

describe('props: elementwise kernels, native vs reference', () => {
  it('unary (float32): every op, lengths across vector tails, specials', () => {
    fc.assert(
      fc.property(unaryCaseArb, ({ op, shape, scaleIdx, alpha, specials, seed }) => {
        const spec = UNARY[op];
        const s = spec.scales[scaleIdx % spec.scales.length];
        const x = tf(f32data(sizeOf(shape), seed, { lo: -s, hi: s, specialRate: specials ? 0.08 : 0, quantum: spec.quantum }), shape);
        let tol: Tol = 'exact';
        if (spec.tol !== 'exact' && !CPU_EXACT.has(op)) {
          const { ulps, cond } = spec.tol;
          const spread = lazy(() => argumentSpread(op, x.data, alpha, cond * EPS32));
          tol = (i, ref) => ulps * ulp32(ref) + spread()[i] + MIN_NORMAL32;
        }
        checkKernel({
          kernel: 'unary',
          what: `${op} x ${fmt(shape)} |x|<=${s}${op === 'leakyRelu' || op === 'elu' ? ` alpha=${alpha}` : ''}${specials ? ' +specials' : ''}`,
          run: (b) => ({ y: b.unary(op, x, { alpha }) }),
          tol,
          inputs: [x],
        });
      }),
      fcParams(300, 'unary'),
    );
  });

  it('unaryGrad (float32): every activation gradient, kinks hit exactly, specials in x and dy', () => {
    fc.assert(
      fc.property(unaryGradCaseArb, ({ op, shape, scale, alpha, quantised, specials, seed }) => {
        const n = sizeOf(shape);
        const rate = specials ? 0.08 : 0;
        // Quantised to quarters: x hits 0, 6 and +-2.5 exactly.
        const x = tf(f32data(n, seed, { lo: -scale, hi: scale, specialRate: rate, quantum: quantised ? 4 : undefined }), shape);
        const y = tf(referenceBackend.unary(op, x, { alpha }).data as Float32Array, shape);
        const dy = tf(f32data(n, seed + 1, { lo: -4, hi: 4, specialRate: rate }), shape);
        checkKernel({
          kernel: 'unaryGrad',
          what: `${op} x ${fmt(shape)} |x|<=${scale}${quantised ? ' quarters' : ''}${op === 'leakyRelu' || op === 'elu' ? ` alpha=${alpha}` : ''}${specials ? ' +specials' : ''}`,
          run: (b) => ({ dx: b.unaryGrad(op, x, y, dy, { alpha }) }),
          tol: unaryGradTol(op, x.data, y.data, dy.data, alpha),
          inputs: [x, y, dy],
        });
      }),
      fcParams(300, 'unaryGrad'),
    );
  });

  it('unaryGrad: relu and relu6 gradients select dy bit for bit (kinks 0 and 6 get 0, NaN x gets 0)', () => {
    fc.assert(
      fc.property(lengthArb, seedArb, (n, seed) => {
        const x = tf(f32data(n, seed, { lo: -8, hi: 8, quantum: 2, specialRate: 0.1, specials: [0, -0, 6, NaN] }), [n]);
        const dy = tf(f32data(n, seed + 1, { specialRate: 0.1 }), [n]);
        for (const op of ['relu', 'relu6'] as const) {
          const out = checkKernel({ kernel: 'unaryGrad', what: `${op} [${n}] kinks`, run: (b) => ({ dx: b.unaryGrad(op, x, x, dy, {}) }), tol: 'exact', inputs: [x, dy] });
          for (let i = 0; i < n; i++) {
            const pass = x.data[i] > 0 && (op === 'relu' || x.data[i] < 6);
            const want = pass ? dy.data[i] : 0;
            if (!Object.is(out.dx.data[i], want) && !(Number.isNaN(want) && Number.isNaN(out.dx.data[i]))) {
              throw new Error(`${op}'(${x.data[i]}) * ${dy.data[i]}: reference gives ${out.dx.data[i]}, expected ${want}`);
            }
          }
        }
      }),
      fcParams(60, 'unaryGrad'),
    );
  });

  it('unary (int32): neg, abs, sign, square wrap like int32', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INT_UNARY), lengthArb, seedArb, (op, n, seed) => {
        const x = ti(i32data(n, seed, -2147483648, 2147483647), [n]);
        if (n > 2) { x.data[0] = -2147483648; x.data[1] = 2147483647; x.data[2] = 0; }
        checkKernel({ kernel: 'unary', what: `${op} int32 x [${n}]`, run: (b) => ({ y: b.unary(op, x, {}) }), tol: 'exact', inputs: [x] });
      }),
      fcParams(40, 'unary'),
    );
  });

  it('binary (float32): every op and broadcast form', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FLOAT_BINARY), broadcastArb, fc.boolean(), seedArb, (op, bc, specials, seed) => {
        const [a, b] = binaryOperands(op, bc.a, bc.b, seed, specials);
        checkKernel({
          kernel: 'binary',
          what: `${op} a ${fmt(bc.a)} b ${fmt(bc.b)} -> ${fmt(bc.out)} (${bc.form})${specials ? ' +specials' : ''}`,
          run: (be) => ({ y: be.binary(op, a, b, bc.out) }),
          tol: binaryTol(op, bc.out, a, b),
          inputs: [a, b],
        });
      }),
      fcParams(300, 'binary'),
    );
  });

  it('binary (int32): every op wraps like int32', () => {
    fc.assert(
      fc.property(fc.constantFrom(...INT_BINARY), broadcastArb, seedArb, (op, bc, seed) => {
        const [a, b] = intOperands(op, bc.a, bc.b, seed);
        checkKernel({
          kernel: 'binary',
          what: `${op} int32 a ${fmt(bc.a)} b ${fmt(bc.b)} -> ${fmt(bc.out)} (${bc.form})`,
          run: (be) => ({ y: be.binary(op, a, b, bc.out) }),
          tol: 'exact',
          inputs: [a, b],
        });
      }),
      fcParams(80, 'binary'),
    );
  });

  it('compare: every op, float32 (NaN, -0) and int32, broadcast', () => {
    const OPS: CompareOp[] = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'];
    fc.assert(
      fc.property(fc.constantFrom(...OPS), broadcastArb, fc.boolean(), seedArb, (op, bc, isInt, seed) => {
        // Few distinct values, so equal pairs are common; 0, -0 and NaN among them.
        const mk = (shape: number[], s: number): KTensor =>
          isInt ? ti(i32data(sizeOf(shape), s, -2, 2), shape)
            : tf(f32data(sizeOf(shape), s, { lo: -2, hi: 2, quantum: 1, specialRate: 0.15, specials: [NaN, -0, 0, Infinity] }), shape);
        const a = mk(bc.a, seed);
        const b = mk(bc.b, seed + 1);
        checkKernel({
          kernel: 'compare',
          what: `${op} ${isInt ? 'int32' : 'float32'} a ${fmt(bc.a)} b ${fmt(bc.b)} -> ${fmt(bc.out)}`,
          run: (be) => ({ y: be.compare(op, a, b, bc.out) }),
          tol: 'exact',
          inputs: [a, b],
        });
      }),
      fcParams(100, 'compare'),
    );
  });

  it('where: three-way broadcast, float32 and int32', () => {
    fc.assert(
      fc.property(broadcastArb, fc.nat({ max: 15 }), fc.nat({ max: 4 }), fc.boolean(), seedArb, (bc, bitsC, dropC, isInt, seed) => {
        const cShape = squeezeTo(bc.out, bitsC, dropC);
        // cond: 0, 1 and other nonzero values (any nonzero is true).
        const cond = ti(i32data(sizeOf(cShape), seed, -2, 2), cShape);
        const mk = (shape: number[], s: number): KTensor<DataArray> =>
          isInt ? ti(i32data(sizeOf(shape), s, -1000, 1000), shape) : tf(f32data(sizeOf(shape), s, { specialRate: 0.05 }), shape);
        const a = mk(bc.a, seed + 1);
        const b = mk(bc.b, seed + 2);
        checkKernel({
          kernel: 'where',
          what: `cond ${fmt(cShape)} a ${fmt(bc.a)} b ${fmt(bc.b)} -> ${fmt(bc.out)} ${isInt ? 'int32' : 'float32'}`,
          run: (be) => ({ y: be.where(cond, a, b, bc.out) }),
          tol: 'exact',
          inputs: [cond, a, b],
        });
      }),
      fcParams(80, 'where'),
    );
  });

  it('clip: float32 (NaN stays NaN, bounds not float32-representable) and int32', () => {
    const BOUNDS = [-Infinity, -1, -0.7, -0.1, 0, 0.1, 0.5, 1, 6, Infinity];
    fc.assert(
      fc.property(lengthArb, fc.constantFrom(...BOUNDS), fc.constantFrom(...BOUNDS), fc.boolean(), seedArb, (n, p, q, isInt, seed) => {
        const lo = Math.min(p, q);
        const hi = Math.max(p, q);
        if (isInt) {
          const x = ti(i32data(n, seed, -10, 10), [n]);
          const [ilo, ihi] = [Number.isFinite(lo) ? Math.floor(lo * 5) : -2147483648, Number.isFinite(hi) ? Math.ceil(hi * 5) : 2147483647];
          checkKernel({ kernel: 'clip', what: `int32 [${n}] to [${ilo}, ${ihi}]`, run: (b) => ({ y: b.clip(x, ilo, ihi) }), tol: 'exact', inputs: [x] });
        } else {
          const x = tf(f32data(n, seed, { lo: -3, hi: 3, specialRate: 0.08 }), [n]);
          checkKernel({ kernel: 'clip', what: `float32 [${n}] to [${lo}, ${hi}]`, run: (b) => ({ y: b.clip(x, lo, hi) }), tol: 'exact', inputs: [x] });
        }
      }),
      fcParams(80, 'clip'),
    );
  });

  it('cast: float32 -> int32 truncates and saturates, int32 -> float32 rounds to nearest', () => {
    fc.assert(
      fc.property(lengthArb, fc.constantFrom<'f2i' | 'i2f' | 'f2f'>('f2i', 'i2f', 'f2f'), seedArb, (n, dir, seed) => {
        if (dir === 'i2f') {
          const x = ti(i32data(n, seed, -2147483648, 2147483647), [n]);
          if (n > 1) { x.data[0] = 16777217; x.data[1] = -2147483648; }
          checkKernel({ kernel: 'cast', what: `int32 [${n}] -> float32`, run: (b) => ({ y: b.cast(x, 'float32') }), tol: 'exact', inputs: [x] });
        } else {
          const x = tf(f32data(n, seed, {
            lo: -5e9, hi: 5e9, specialRate: 0.3,
            specials: [NaN, Infinity, -Infinity, -0, 2.7, -2.7, 0.5, -0.5, 2147483520, 2147483648, -2147483648, -2147483904],
          }), [n]);
          const to = dir === 'f2i' ? 'int32' : 'float32';
          checkKernel({ kernel: 'cast', what: `float32 [${n}] -> ${to}`, run: (b) => ({ y: b.cast(x, to) }), tol: 'exact', inputs: [x] });
        }
      }),
      fcParams(60, 'cast'),
    );
  });
});
