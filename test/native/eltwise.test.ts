/**
 * Native unary ops, unary (activation) gradients, reductions, softmax / logSoftmax and softmax cross-entropy
 * (native/addon/eltwise.cc) against the reference backend, on every ISA path this machine runs (others in a child
 * vitest with NODEGRAD_ISA set) and at 1 and 2 threads; then every boundary check of the seven entries.
 *
 * Tolerances (EPS32 = 2^-24; 1 ulp <= 2 EPS32 relative; the reference computes in double and rounds once):
 * - unaryGrad: relu, relu6, leakyRelu, elu, selu, hardSigmoid, sigmoid, tanh, softsign bit-identical (every path
 *   evaluates the reference's formula in double, in its order, and rounds once). softplus, logSigmoid, silu take
 *   e = exp(-|x|) from the float32 exp (2 ulp; libm on the scalar path), then s = sigmoid(x), t = sigmoid(-x)
 *   as 1/(1+e), e/(1+e) in double. With G = dy g(s): |ds/de| = p^2 (p = 1/(1+e)), so
 *   |got - ref| <= 1.5 ulp(ref) + |dy| |dg/ds| p^2 2 ulp(e) + 16 EPS64 |dy| gabs, where dg/ds is 1 (softplus,
 *   logSigmoid: |d(1-s)/ds|) or 1 + x(1 - 2s) (silu), the last term the double arithmetic of both sides
 *   (gabs = s (1 + |x| t) for silu, else s or t); the first term is the two roundings to float32 (half an ulp
 *   each, one possibly in the binade above). Measured: the double-only terms reach 1 ulp; scalar matches exactly. dy is finite for
 *   these three: with an infinite dy the SIMD paths give NaN (Infinity * 0) where e underflows float32 (|x| > 103)
 *   and the reference gives +-Infinity.
 *   gelu: dy (Phi + x phi) in float32 with Phi from a double series (|x| < sqrt 2) or the Cephes erfc tail and
 *   phi from the float32 exp with x^2 split exactly: |got - ref| <= ulp(ref) + 8 EPS32 |dy| (Phi + |x| phi) +
 *   4 2^-149 |dy| (1 + |x|) (exp 4 EPS32, the tail polynomial and three roundings 4 EPS32; the last term: phi is
 *   rounded once in the subnormal range and taken as 0 beyond x^2/2 = 104, where |x| phi < 3 2^-149. Measured
 *   3.4 and 0.33). dy finite, as for the e = exp(-|x|) three.
 * - unary, in ulps of the float32 result: relu, relu6, sqrt, square, neg, abs, leakyRelu, softsign, hardSigmoid
 *   exact (0 ulp: selections, or double arithmetic rounded once as the reference); exp, log, tanh <= 2 ulp;
 *   sigmoid, elu, selu <= 3 ulp; softplus, logSigmoid, silu <= 4 ulp; gelu <= 5 ulp (the SIMD polynomials;
 *   measured maxima over all float32 inputs sampled every 997th bit pattern: 1, 1, 1, 2, 2; over this file's sweep
 *   and a 10x denser one: selu 2, softplus 3, logSigmoid 3, silu 3, gelu 4). The reference's float32 result is its
 *   float64 value (libm, or its erf/erfc to 1e-14) rounded once, so these are ulps from the float64 value too.
 *   Over a dense sweep plus specials (NaN, +-Inf, +-0, subnormals, huge).
 * - sum / mean: double accumulation, one rounding: 2 EPS32 |s| + 2 len EPS64 sum|x|.  max / min: exact
 *   (Math.max / Math.min: NaN propagates, +0 > -0).
 * - softmax p_i = exp(fl(x_i - m)) / s: exp 4 EPS32, the subtraction EPS32 |x_i - m|, the double sum of the
 *   exponentials 4 EPS32, rounding s and the division 2 EPS32, the reference's rounding EPS32:
 *   (11 + |x_i - m|) EPS32 relative.  logSoftmax y = fl(x - m) - fl(log s): EPS32 (|x - m| + |log s| + 2|y| + 4 +
 *   max|x - m|) absolute.
 * - cross-entropy loss (max - x_k) + log s in double: (5 + max|x - m|) EPS32 sum|w| + 2 EPS32 |loss|.
 *   dlogits g (p_c sum(w) - w_c): |g| (12 + max|x - m|) EPS32 (p_c sum|w| + |w_c|) + 2 EPS32 |dlogits|.
 * Results must also be bit-identical across runs and thread counts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

import type { Backend, ITensor, KTensor, ReduceOp, UnaryGradOp, UnaryOp } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import type { UnaryAddon, UnaryGradAddon } from '../../src/backends/native/elementwise.js';
import { getNumThreads, loadNativeBackend, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import type { ReduceAddon } from '../../src/backends/native/reduce.js';
import type { SoftmaxAddon } from '../../src/backends/native/softmax.js';
import { referenceBackend as ref } from '../../src/backends/reference/index.js';
import { EPS32, EPS64 } from '../helpers/close.js';
import { expectError } from '../helpers/errors.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { intsBelow, uniformF32 } from '../helpers/random.js';
import { gradients } from '../../src/autograd/index.js';
import { getBackend } from '../../src/backends/registry.js';
import { tensor } from '../../src/tensor/creation.js';
import * as ew from '../../src/tensor/elementwise.js';

const load = loadNativeBackend();
const native = load.backend as Backend;
const addon = loadAddon().addon as UnaryAddon & UnaryGradAddon & ReduceAddon & SoftmaxAddon;
const info = nativeInfo();
const CHILD = process.env.NG_TEST_ISA_CHILD === '1';
const THREADS = [1, 2];
const savedThreads = load.backend ? getNumThreads() : 1;
afterAll(() => setNumThreads(savedThreads));

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

function atThreads<T extends { data: ArrayLike<number> }>(f: () => T, what: string): T {
  let first: T | undefined;
  for (const t of THREADS) {
    setNumThreads(t);
    for (let rep = 0; rep < 2; rep++) {
      const r = f();
      if (!first) first = r;
      else if (!sameBits(r.data, first.data)) throw new Error(`${what}: result differs at ${t} thread(s), run ${rep + 1}`);
    }
  }
  return first!;
}

function expectExact(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      const show = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));
      throw new Error(`${what}: index ${i}: got ${show(got[i])}, expected ${show(want[i])}`);
    }
  }
}

function expectWithin(got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if ((Number.isNaN(got[i]) && Number.isNaN(want[i])) || got[i] === want[i]) continue;
    const err = Math.abs(got[i] - want[i]);
    const t = tol(i);
    if (!(err <= t)) throw new Error(`${what}: index ${i}: got ${got[i]}, expected ${want[i]}, |err| ${err} > tolerance ${t}`);
  }
}

// Distance in float32 ulps (the number of floats between a and b); 0 for equal values or two NaNs.
const bits = new DataView(new ArrayBuffer(4));
function ordered(v: number): number {
  bits.setFloat32(0, v);
  const i = bits.getInt32(0);
  return i < 0 ? -2147483648 - i : i;
}
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  return Math.abs(ordered(a) - ordered(b));
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

/** A dense sweep of [lo, hi], log-spaced magnitudes of both signs, and the IEEE specials. */
function unaryInputs(): Float32Array {
  const v: number[] = [];
  for (let i = 0; i <= 40000; i++) v.push(-100 + (200 * i) / 40000);
  for (let i = 0; i <= 20000; i++) v.push(-2 + (4 * i) / 20000);
  for (let e = -45; e <= 38; e += 0.01) v.push(10 ** e, -(10 ** e));
  v.push(NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 88.72, 88.73,
    -87.33, -103.9, -104.1, 0.625, -0.625, 1, -1, 0.5, -0.5);
  return Float32Array.from(v);
}

const UNARY_ULPS: Partial<Record<UnaryOp, number>> = {
  relu: 0, sqrt: 0, square: 0, neg: 0, abs: 0, leakyRelu: 0, exp: 2, log: 2, tanh: 2, sigmoid: 3, elu: 3,
  relu6: 0, softsign: 0, hardSigmoid: 0, selu: 3, softplus: 4, logSigmoid: 4, silu: 4, gelu: 5,
};

/** The gradients with a native kernel (every UnaryGradOp): 'exact', 'exp' (through e = exp(-|x|)) or 'gelu'. */
const GRAD_KIND: Record<UnaryGradOp, 'exact' | 'exp' | 'gelu'> = {
  relu: 'exact', relu6: 'exact', leakyRelu: 'exact', elu: 'exact', selu: 'exact', hardSigmoid: 'exact', sigmoid: 'exact',
  tanh: 'exact', softsign: 'exact', softplus: 'exp', logSigmoid: 'exp', silu: 'exp', gelu: 'gelu',
};
const GRAD_OPS = Object.keys(GRAD_KIND) as UnaryGradOp[];

/** Upstream gradients: uniform in [-3, 3], every 7th a special (infinities left out when `finite`). */
function gradInputs(n: number, finite: boolean): Float32Array {
  const dy = uniformF32(n, 77, -3, 3);
  const sp = [NaN, 0, -0, 1e-45, -1e-40, 3.4028235e38, -3.4028235e38, 1e-30, 1, ...(finite ? [] : [Infinity, -Infinity])];
  for (let i = 3, k = 0; i < n; i += 7, k++) dy[i] = sp[k % sp.length];
  return dy;
}

/** The forward y = op(x) the gradient kernel is given (the reference's, in float32). */
function forwardOf(op: UnaryGradOp, x: KTensor<Float32Array>, alpha: number | undefined): KTensor<Float32Array> {
  return ref.unary(op, x, alpha === undefined ? {} : { alpha }) as KTensor<Float32Array>;
}

const SUB32 = 2 ** -149;
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (!Number.isFinite(a)) return Infinity;
  if (a < 2 ** -126) return SUB32;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return 2 ** (e - 23);
}

/** The bound of the header for softplus, logSigmoid, silu at element i. */
function expGradTol(op: UnaryGradOp, x: number, dy: number, ref: number): number {
  const e = Math.exp(-Math.abs(x));
  const p = 1 / (1 + e);
  const q = e * p;
  const s = x >= 0 ? p : q;
  const t = x >= 0 ? q : p;
  const dgds = op === 'silu' ? Math.abs(1 + x * (1 - 2 * s)) : 1;
  const gabs = op === 'silu' ? s * (1 + Math.abs(x) * t) : op === 'softplus' ? s : t;
  return 1.5 * ulp32(ref) + Math.abs(dy) * (dgds * p * p * 2 * ulp32(e) + 16 * EPS64 * gabs);
}

/** The gelu gradient bound of the header at element i (Phi and phi from the float64 reference's gelu). */
function geluGradTol(x: number, dy: number, ref: number): number {
  const phiCdf = x === 0 || !Number.isFinite(x) ? 0.5 : refF64('gelu', x) / x;
  const gabs = Math.abs(phiCdf) + Math.abs(x) * 0.3989422804014327 * Math.exp(-0.5 * x * x);
  return ulp32(ref) + Math.abs(dy) * (8 * EPS32 * gabs + 4 * SUB32 * (1 + Math.abs(x)));
}

/** op(v) on the reference in float64. */
function refF64(op: UnaryOp, v: number): number {
  return ref.unary(op, { data: Float64Array.of(v), shape: [1] }, {}).data[0];
}

// ---------------------------------------------------------------------------------------------------------
// Native against the reference

describe.skipIf(!load.backend)(`elementwise: native (${info?.isa ?? 'no addon'}) vs reference, threads ${THREADS.join(' and ')}`, () => {
  it('runs the ISA path NODEGRAD_ISA asked for, with native unary, reduce, softmax, logSoftmax and cross-entropy', () => {
    if (CHILD) expect(info?.isa).toBe(process.env.NODEGRAD_ISA);
    for (const k of ['unary', 'unaryGrad', 'reduce', 'softmax', 'logSoftmax', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward'] as const) {
      expect(native[k], k).not.toBe(ref[k]);
    }
    expect(info?.kernels.unaryF32).toMatch(info?.isa === 'scalar' ? /_ref$/ : new RegExp(`_${info?.isa}$`));
    expect(info?.kernels.unaryGradF32).toMatch(info?.isa === 'scalar' ? /^ng_f32_unary_grad_x1_ref$/ : new RegExp(`^ng_f32_unary_grad_x\\d+_${info?.isa}$`));
    expect(Object.keys(addon.unaryOpCodes).sort()).toEqual(Object.keys(UNARY_ULPS).sort());
    expect(Object.keys(addon.unaryGradOpCodes).sort()).toEqual([...GRAD_OPS].sort());
    const spy = vi.spyOn(addon, 'unaryF32');
    native.unary('exp', { data: Float32Array.from([1]), shape: [1] }, {});
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  const xs = unaryInputs();
  for (const [op, bound] of Object.entries(UNARY_ULPS) as [UnaryOp, number][]) {
    for (const alpha of op === 'leakyRelu' || op === 'elu' ? [0.2, 1, 1.6732632423543772] : [undefined]) {
      it(`unary ${op}${alpha === undefined ? '' : ` alpha ${alpha}`}: within ${bound} ulp of the reference`, () => {
        const x = { data: xs, shape: [xs.length] };
        const attrs = alpha === undefined ? {} : { alpha };
        const want = ref.unary(op, x, attrs);
        const got = atThreads(() => native.unary(op, x, attrs), `unary ${op}`);
        let worst = 0;
        let at = 0;
        for (let i = 0; i < xs.length; i++) {
          const u = ulps(got.data[i], want.data[i]);
          if (u > worst) {
            worst = u;
            at = i;
          }
        }
        expect(worst, `${op}: worst ${worst} ulp at x = ${xs[at]} (got ${got.data[at]}, expected ${want.data[at]})`).toBeLessThanOrEqual(bound);
        if (bound === 0) expectExact(got.data, want.data, `unary ${op}`); // signed zeros too
        // In place (y is x) gives the same.
        const inPlace = xs.slice();
        addon.unaryF32(addon.unaryOpCodes[op]!, inPlace, inPlace, alpha ?? 0);
        expect(sameBits(inPlace, got.data)).toBe(true);
      });
    }
  }

  it('unary tails: every length 0..70 matches the long run element for element', () => {
    const x = uniformF32(70, 5, -3, 3);
    for (const op of Object.keys(UNARY_ULPS) as UnaryOp[]) {
      const full = native.unary(op, { data: x, shape: [70] }, { alpha: 0.3 }).data;
      for (let n = 0; n <= 70; n++) {
        const part = native.unary(op, { data: x.subarray(0, n), shape: [n] }, { alpha: 0.3 }).data;
        expect(sameBits(part, full.subarray(0, n)), `${op} n=${n}`).toBe(true);
      }
    }
  });

  for (const op of GRAD_OPS) {
    const kind = GRAD_KIND[op]!;
    for (const alpha of op === 'leakyRelu' || op === 'elu' ? [0.2, 1, 1.6732632423543772] : [undefined]) {
      const how = kind === 'exact' ? 'bit-identical to' : kind === 'exp' ? 'within the e = exp(-|x|) bound of' : 'within the gelu bound of';
      it(`unaryGrad ${op}${alpha === undefined ? '' : ` alpha ${alpha}`}: ${how} the reference`, () => {
        const x = { data: xs, shape: [xs.length] };
        const y = forwardOf(op, x, alpha);
        const dy = { data: gradInputs(xs.length, kind !== 'exact'), shape: [xs.length] };
        const attrs = alpha === undefined ? {} : { alpha };
        const want = ref.unaryGrad(op, x, y, dy, attrs);
        const got = atThreads(() => native.unaryGrad(op, x, y, dy, attrs), `unaryGrad ${op}`);
        expect(got.shape).toEqual([xs.length]);
        if (kind === 'exact') expectExact(got.data, want.data, `unaryGrad ${op}`);
        else if (kind === 'exp') expectWithin(got.data, want.data, (i) => expGradTol(op, xs[i], dy.data[i], want.data[i]), `unaryGrad ${op}`);
        else expectWithin(got.data, want.data, (i) => geluGradTol(xs[i], dy.data[i], want.data[i]), `unaryGrad ${op}`);
        // dx may be any of the inputs itself: the same result.
        for (const which of ['x', 'y', 'dy'] as const) {
          const bufs = { x: xs.slice(), y: y.data.slice(), dy: dy.data.slice() };
          addon.unaryGradF32(addon.unaryGradOpCodes[op]!, bufs.x, bufs.y, bufs.dy, bufs[which], alpha ?? 0);
          expect(sameBits(bufs[which], got.data), `dx is ${which}`).toBe(true);
        }
      });
    }
  }

  it('unaryGrad tails: every length 0..70 matches the long run element for element', () => {
    const x = uniformF32(70, 5, -7, 7);
    x[3] = 0;
    x[9] = 6;
    x[11] = NaN;
    const dy = gradInputs(70, true);
    for (const op of GRAD_OPS) {
      const y = forwardOf(op, { data: x, shape: [70] }, 0.3).data;
      const full = native.unaryGrad(op, { data: x, shape: [70] }, { data: y, shape: [70] }, { data: dy, shape: [70] }, { alpha: 0.3 }).data;
      for (let n = 0; n <= 70; n++) {
        const t = (a: Float32Array) => ({ data: a.subarray(0, n), shape: [n] });
        const part = native.unaryGrad(op, t(x), t(y), t(dy), { alpha: 0.3 }).data;
        expect(sameBits(part, full.subarray(0, n)), `${op} n=${n}`).toBe(true);
      }
    }
  });

  it('unaryGrad conventions at the kinks and for NaN x, as the reference', () => {
    const x = Float32Array.from([-1, -0, 0, 1e-45, 5.999999, 6, 7, -2.5, 2.5, 2.4999998, NaN]);
    const dy = new Float32Array(x.length).fill(2);
    const at = (op: UnaryGradOp) => Array.from(native.unaryGrad(op, { data: x, shape: [x.length] }, forwardOf(op, { data: x, shape: [x.length] }, 0.25),
      { data: dy, shape: [x.length] }, { alpha: 0.25 }).data);
    expect(at('relu')).toEqual([0, 0, 0, 2, 2, 2, 2, 0, 2, 2, 0]);
    expect(at('relu6')).toEqual([0, 0, 0, 2, 2, 0, 0, 0, 2, 2, 0]);
    expect(at('hardSigmoid')).toEqual([0.4, 0.4, 0.4, 0.4, 0, 0, 0, 0, 0, 0.4, 0].map(Math.fround));
    expect(at('leakyRelu')).toEqual([0.5, 0.5, 0.5, 2, 2, 2, 2, 0.5, 2, 2, 0.5]);
    expect(at('elu').slice(1, 3)).toEqual([0.5, 0.5]); // y + alpha at 0
    expect(Number.isNaN(at('elu')[10]) && Number.isNaN(at('sigmoid')[10]) && Number.isNaN(at('silu')[10])).toBe(true);
  });

  it('the tape records activation gradients as one unaryGradF32 call each, equal to the kernel run directly', () => {
    expect(getBackend().name).toBe('native');
    const acts: [UnaryGradOp, (t: ReturnType<typeof tensor>) => ReturnType<typeof tensor>][] = [
      ['relu', ew.relu], ['relu6', ew.relu6], ['leakyRelu', (t) => ew.leakyRelu(t, 0.3)], ['elu', (t) => ew.elu(t, 0.7)],
      ['selu', ew.selu], ['hardSigmoid', ew.hardSigmoid], ['sigmoid', ew.sigmoid], ['tanh', ew.tanh],
      ['softsign', ew.softsign], ['softplus', ew.softplus], ['logSigmoid', ew.logSigmoid], ['silu', ew.silu],
      ['gelu', ew.gelu],
    ];
    const xv = Array.from(uniformF32(40, 8, -7, 7));
    const gv = tensor(Array.from(uniformF32(40, 9, -2, 2)));
    for (const [op, f] of acts) {
      const x = tensor(xv).requireGrad();
      const y = f(x);
      const spy = vi.spyOn(addon, 'unaryGradF32');
      const [dx] = gradients(y, [x], { gradient: gv });
      expect(spy, op).toHaveBeenCalledTimes(1);
      spy.mockRestore();
      const alpha = op === 'leakyRelu' ? 0.3 : op === 'elu' ? 0.7 : undefined;
      const want = native.unaryGrad(op, { data: x.data as Float32Array, shape: [40] }, { data: y.data as Float32Array, shape: [40] },
        { data: gv.data as Float32Array, shape: [40] }, alpha === undefined ? {} : { alpha });
      expectExact(dx.data, want.data, `${op} through the tape`);
    }
  });

  it('unaryGrad on float64 or on shared memory runs on the reference', () => {
    const x = { data: Float32Array.from([-1, 0, 2]), shape: [3] };
    const dy = { data: Float32Array.from([1, 1, 1]), shape: [3] };
    const spy = vi.spyOn(addon, 'unaryGradF32');
    const x64 = { data: Float64Array.from([-1, 0, 2]), shape: [3] };
    const g64 = native.unaryGrad('relu', x64, x64, { data: Float64Array.from([3, 3, 3]), shape: [3] }, {});
    expect(g64.data).toBeInstanceOf(Float64Array);
    expect(Array.from(g64.data)).toEqual([0, 0, 3]);
    const shared = new Float32Array(new SharedArrayBuffer(12));
    shared.set([5, 5, 5]);
    expect(Array.from(native.unaryGrad('relu', x, x, { data: shared as unknown as Float32Array, shape: [3] }, {}).data)).toEqual([0, 0, 5]);
    expect(spy).not.toHaveBeenCalled();
    native.unaryGrad('relu', x, x, dy, {});
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });

  it('int32 unary and ops without a kernel run on the reference', () => {
    const xi = { data: Int32Array.from([-3, 4]), shape: [2] };
    expect(Array.from(native.unary('neg', xi, {}).data)).toEqual([3, -4]);
    const spy = vi.spyOn(addon, 'unaryF32');
    const y = native.unary('erf', { data: Float32Array.from([1]), shape: [1] }, {});
    expect(y.data[0]).toBeCloseTo(0.8427008, 6);
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('activations at the IEEE specials and the branch points, as the reference (signed zeros and NaN included)', () => {
    const x = Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38, 6, -6, 2.5,
      -2.5, Math.SQRT2, -Math.SQRT2, 2 * Math.SQRT2, -2 * Math.SQRT2, 14.4, -14.4, 20, -20, 103, -103, 104.5, -104.5, 108,
      -108, 111, -111, 745, 746, -746, 1e30, -1e30]);
    const t = { data: x, shape: [x.length] };
    for (const op of ['relu6', 'selu', 'softplus', 'softsign', 'gelu', 'silu', 'hardSigmoid', 'logSigmoid'] as const) {
      const got = native.unary(op, t, {}).data;
      const want = ref.unary(op, t, {}).data;
      for (let i = 0; i < x.length; i++) {
        const same = Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
        // Zeros and non-finite values exactly (with their sign); finite nonzero ones within the sweep's bound.
        if (!Number.isFinite(want[i]) || want[i] === 0) expect(same, `${op}(${x[i]}): got ${got[i]}, expected ${want[i]}`).toBe(true);
        else expect(ulps(got[i], want[i]), `${op}(${x[i]})`).toBeLessThanOrEqual(UNARY_ULPS[op]!);
      }
    }
    for (const [op, alpha] of [['elu', 1], ['elu', 0.3], ['leakyRelu', 0.2]] as const) {
      const got = native.unary(op, t, { alpha }).data;
      const want = ref.unary(op, t, { alpha }).data;
      for (let i = 0; i < x.length; i++) {
        const same = Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
        if (!Number.isFinite(want[i]) || want[i] === 0) expect(same, `${op}(${x[i]}): got ${got[i]}, expected ${want[i]}`).toBe(true);
      }
    }
    const dy = { data: new Float32Array(x.length).fill(1.5), shape: [x.length] };
    const y = forwardOf('gelu', t, undefined);
    const g = native.unaryGrad('gelu', t, y, dy, {}).data;
    const gw = ref.unaryGrad('gelu', t, y, dy, {}).data;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(gw[i]) || !Number.isFinite(gw[i])) expect(Object.is(g[i], gw[i]) || (Number.isNaN(g[i]) && Number.isNaN(gw[i])), `gelu' (${x[i]})`).toBe(true);
      else expect(Math.abs(g[i] - gw[i]), `gelu' (${x[i]})`).toBeLessThanOrEqual(geluGradTol(x[i], 1.5, gw[i]));
    }
  });

  it('the native gelu gradient matches finite differences of the float64 gelu (gradCheck)', () => {
    const xs = uniformF32(64, 21, -6, 6);
    gradCheck({
      what: 'native gelu gradient',
      inputs: [Float64Array.from(xs)],
      forward: ([x]) => ref.unary('gelu', { data: x, shape: [x.length] }, {}).data,
      backward: ([x], dy) => {
        const x32 = { data: Float32Array.from(x), shape: [x.length] };
        const g = native.unaryGrad('gelu', x32, forwardOf('gelu', x32, undefined), { data: Float32Array.from(dy), shape: [x.length] }, {});
        return [Float64Array.from(g.data)];
      },
      // The float32 kernel: 8 EPS32 relative plus the rounding of dy to float32, far above the 1e-9 of the check.
      tol: 2e-6,
    });
  });

  // Reductions: [shape, axes]
  const REDUCE_CASES: [number[], number[]][] = [
    [[0], [0]], [[5], [0]], [[1000], [0]], [[70000], [0]], [[150000], [0]],
    [[3, 17], [1]], [[3, 17], [0]], [[3, 17], [0, 1]], [[3, 0], [1]], [[0, 3], [0]],
    [[2, 3, 4, 65], [0, 1, 2]], [[2, 3, 4, 65], [3]], [[2, 3, 4, 65], [1, 2]], [[2, 3, 4, 65], [0, 1, 2, 3]],
    [[2, 3, 4, 65], []], [[600, 5], [0]], [[5, 600], [0]], [[20000, 3], [0]], [[3, 20000, 3], [1]],
    [[8, 7, 7, 64], [1, 2]], [[2, 3, 4], [0, 2]],
  ];
  for (const [shape, axes] of REDUCE_CASES) {
    for (const kind of ['uniform', 'specials'] as const) {
      it(`reduce [${shape}] over [${axes}] (${kind})`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const data = uniformF32(n, n + axes.length, -1, 1);
        if (kind === 'specials') {
          for (let i = 0; i < n; i++) data[i] = Math.round(data[i]) * 0; // +-0 only
          for (let i = 5; i < n; i += 97) data[i] = NaN;
        }
        const x = { data, shape };
        for (const op of ['sum', 'mean', 'max', 'min'] as ReduceOp[]) {
          const what = `reduce ${op} [${shape}] axes [${axes}] ${kind}`;
          const want = ref.reduce(op, x, axes);
          const got = atThreads(() => native.reduce(op, x, axes), what);
          expect(got.shape, what).toEqual(want.shape);
          if (op === 'max' || op === 'min') {
            expectExact(got.data, want.data, what);
            continue;
          }
          const len = axes.reduce((p, a) => p * shape[a], 1);
          const absSum = data.reduce((s, v) => s + (Number.isNaN(v) ? 0 : Math.abs(v)), 0); // bounds every output's sum|x|
          expectWithin(got.data, want.data, (i) => 2 * EPS32 * Math.abs(want.data[i]) + 2 * len * EPS64 * absSum, what);
        }
        // prod has no kernel: the reference answers.
        expectExact(native.reduce('prod', x, axes).data, ref.reduce('prod', x, axes).data, 'prod');
      });
    }
  }

  it('reduce max/min: Math.max semantics for signed zeros', () => {
    const z = (vals: number[]): KTensor<Float32Array> => ({ data: Float32Array.from(vals), shape: [vals.length] });
    expect(Object.is(native.reduce('max', z([-0, 0, -0]), [0]).data[0], 0)).toBe(true);
    expect(Object.is(native.reduce('max', z([-0, -0]), [0]).data[0], -0)).toBe(true);
    expect(Object.is(native.reduce('min', z([0, -0, 0]), [0]).data[0], -0)).toBe(true);
    expect(Number.isNaN(native.reduce('min', z([1, NaN, -5]), [0]).data[0])).toBe(true);
  });

  // Softmax / logSoftmax: [shape, axis, logit scale]
  const SOFTMAX_CASES: [number[], number, number][] = [
    [[3, 10], -1, 3], [[1, 1], -1, 1], [[0, 5], 1, 1], [[7, 1000], 1, 5], [[2, 3, 17], 2, 2], [[4, 5, 1], 1, 2],
    [[3, 4], 0, 1], [[6, 33], -1, 1e4], [[5, 64], 1, 40],
  ];
  for (const [shape, axis, scale] of SOFTMAX_CASES) {
    it(`softmax / logSoftmax [${shape}] axis ${axis}, logits x${scale}`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = uniformF32(n, n + 3, -scale, scale);
      if (n > 20) {
        data[7] = -Infinity;
        data[11] = Math.fround(scale * 3);
      }
      const x = { data, shape };
      const ax = axis < 0 ? axis + shape.length : axis;
      const len = shape[ax];
      const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
      const mOf = (i: number): number => {
        const o = Math.floor(i / (len * inner));
        const r = i % inner;
        let m = -Infinity;
        for (let l = 0; l < len; l++) m = Math.max(m, data[o * len * inner + l * inner + r]);
        return m;
      };
      const maxDev = (i: number): number => {
        const o = Math.floor(i / (len * inner));
        const r = i % inner;
        const m = mOf(i);
        let d = 0;
        for (let l = 0; l < len; l++) {
          const v = data[o * len * inner + l * inner + r];
          if (Number.isFinite(v)) d = Math.max(d, m - v);
        }
        return d;
      };
      const want = ref.softmax(x, axis);
      const got = atThreads(() => native.softmax(x, axis), `softmax [${shape}]`);
      expectWithin(got.data, want.data, (i) => (11 + Math.abs(data[i] - mOf(i))) * EPS32 * Math.abs(want.data[i]) + 1e-45, `softmax [${shape}] axis ${axis}`);
      const wantL = ref.logSoftmax(x, axis);
      const gotL = atThreads(() => native.logSoftmax(x, axis), `logSoftmax [${shape}]`);
      expectWithin(gotL.data, wantL.data, (i) => {
        const m = mOf(i);
        const ls = m - data[i] + wantL.data[i]; // log(sum) of the row
        return EPS32 * (Math.abs(data[i] - m) + Math.abs(ls) + 2 * Math.abs(wantL.data[i]) + 4 + maxDev(i));
      }, `logSoftmax [${shape}] axis ${axis}`);
    });
  }

  it('softmax of a row holding NaN or +Infinity is NaN throughout, as the reference', () => {
    const x = { data: Float32Array.from([1, NaN, 2, 3, Infinity, 0]), shape: [2, 3] };
    expectExact(native.softmax(x, 1).data, ref.softmax(x, 1).data, 'softmax NaN/Inf rows');
    expectExact(native.logSoftmax(x, 1).data, ref.logSoftmax(x, 1).data, 'logSoftmax NaN/Inf rows');
  });

  // Cross-entropy: [N, C, logit scale]
  const CE_CASES: [number, number, number][] = [[0, 3, 1], [1, 1, 1], [5, 3, 2], [7, 10, 5], [4, 17, 1e4], [9, 100, 8], [33, 65, 3]];
  for (const [N, C, scale] of CE_CASES) {
    for (const labelKind of ['int', 'one-hot', 'soft'] as const) {
      it(`softmaxCrossEntropy [${N}, ${C}] logits x${scale}, ${labelKind} labels`, () => {
        const logits = { data: uniformF32(N * C, N * C + 11, -scale, scale), shape: [N, C] };
        if (N * C > 8) logits.data[5] = -Infinity;
        let labels: ITensor | KTensor<Float32Array>;
        const ints = intsBelow(N, C, N + C);
        if (N > 2) {
          ints[1] = -1; // out of range: loss 0, gradient 0
          ints[2] = C;
        }
        if (labelKind === 'int') labels = { data: ints, shape: [N] };
        else {
          const w = new Float32Array(N * C);
          const u = uniformF32(N * C, 3, 0, 1);
          for (let r = 0; r < N; r++) {
            if (labelKind === 'one-hot') {
              if (ints[r] >= 0 && ints[r] < C) w[r * C + ints[r]] = 1;
            } else {
              let s = 0;
              for (let c = 0; c < C; c++) s += u[r * C + c];
              for (let c = 0; c < C; c++) w[r * C + c] = u[r * C + c] / s;
              if (r === 1) w.fill(0, r * C, r * C + C); // an all-zero row
            }
          }
          if (N * C > 8) w[5] = 0; // a -Infinity logit with weight 0 contributes 0
          labels = { data: w, shape: [N, C] };
        }
        const dev = (r: number): number => {
          let m = -Infinity;
          for (let c = 0; c < C; c++) m = Math.max(m, logits.data[r * C + c]);
          let d = 0;
          for (let c = 0; c < C; c++) if (Number.isFinite(logits.data[r * C + c])) d = Math.max(d, m - logits.data[r * C + c]);
          return d;
        };
        const wAt = (r: number, c: number): number =>
          labels.data instanceof Int32Array ? (labels.data[r] === c ? 1 : 0) : labels.data[r * C + c];
        const wSum = (r: number): number => {
          let s = 0;
          for (let c = 0; c < C; c++) s += Math.abs(wAt(r, c));
          return s;
        };
        const want = ref.softmaxCrossEntropy(logits, labels);
        const got = atThreads(() => native.softmaxCrossEntropy(logits, labels), 'softmaxCrossEntropy');
        expect(got.shape).toEqual([N]);
        expectWithin(got.data, want.data, (r) => (5 + dev(r)) * EPS32 * wSum(r) + 2 * EPS32 * Math.abs(want.data[r]), `CE loss [${N},${C}] ${labelKind}`);
        const dloss = { data: uniformF32(N, 9, -2, 2), shape: [N] };
        const wantB = ref.softmaxCrossEntropyBackward(dloss, logits, labels);
        const gotB = atThreads(() => native.softmaxCrossEntropyBackward(dloss, logits, labels), 'softmaxCrossEntropyBackward');
        expect(gotB.shape).toEqual([N, C]);
        const probs = ref.softmax(logits, 1).data;
        expectWithin(gotB.data, wantB.data, (i) => {
          const r = Math.floor(i / C);
          const c = i % C;
          return Math.abs(dloss.data[r]) * (12 + dev(r)) * EPS32 * (probs[i] * wSum(r) + Math.abs(wAt(r, c))) + 2 * EPS32 * Math.abs(wantB.data[i]);
        }, `CE dlogits [${N},${C}] ${labelKind}`);
      });
    }
  }

  it('cross-entropy of logits 1e4 apart stays finite and exact where the reference is', () => {
    const logits = { data: Float32Array.from([1e4, -1e4, 0, 5e3]), shape: [1, 4] };
    const labels = { data: Int32Array.from([1]), shape: [1] };
    expect(native.softmaxCrossEntropy(logits, labels).data[0]).toBe(2e4);
    const g = native.softmaxCrossEntropyBackward({ data: Float32Array.from([1]), shape: [1] }, logits, labels).data;
    expect(Array.from(g)).toEqual([1, -1, 0, 0]);
  });
});

describe.skipIf(CHILD || !load.backend)('elementwise on the other ISA paths (child vitest with NODEGRAD_ISA)', () => {
  const others = (info?.available ?? []).filter((isa) => isa !== info?.isa);
  for (const isa of others) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url)), 'run', fileURLToPath(import.meta.url)], {
        env: { ...process.env, NODEGRAD_ISA: isa, NG_TEST_ISA_CHILD: '1' },
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(r.status, `child vitest under NODEGRAD_ISA=${isa}:\n${(r.stdout + r.stderr).slice(-4000)}`).toBe(0);
      expect(r.stdout).toMatch(/Tests\s+.*\d+ passed/);
    }, 300_000);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Boundary checks

type Args = unknown[];
const call = (fn: string, args: Args): unknown => (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[fn](...args);
const f32 = (n: number, v = 1): Float32Array => new Float32Array(n).fill(v);
function detached(n: number, Kind: typeof Float32Array | typeof Int32Array = Float32Array): Float32Array | Int32Array {
  const buf = new ArrayBuffer(n * 4);
  const view = new Kind(buf);
  structuredClone(buf, { transfer: [buf] });
  return view;
}

interface Entry { fn: string; nArgs: number; make: () => Args; arrays: [number, string][]; ints: [number, string][]; out: number }
const ENTRIES: Entry[] = [
  { fn: 'unaryF32', nArgs: 4, make: () => [0, f32(6), f32(6, 7), 0.2], arrays: [[1, 'x'], [2, 'y']], ints: [], out: 2 },
  { fn: 'unaryGradF32', nArgs: 6, make: () => [0, f32(6), f32(6), f32(6), f32(6, 7), 0.2],
    arrays: [[1, 'x'], [2, 'y'], [3, 'dy'], [4, 'dx']], ints: [], out: 4 },
  { fn: 'reduceF32', nArgs: 6, make: () => [0, f32(24), f32(6, 7), 2, 4, 3], arrays: [[1, 'x'], [2, 'y']],
    ints: [[3, 'outer'], [4, 'len'], [5, 'inner']], out: 2 },
  { fn: 'softmaxF32', nArgs: 4, make: () => [f32(12), f32(12, 7), 3, 4], arrays: [[0, 'x'], [1, 'y']], ints: [[2, 'rows'], [3, 'cols']], out: 1 },
  { fn: 'logSoftmaxF32', nArgs: 4, make: () => [f32(12), f32(12, 7), 3, 4], arrays: [[0, 'x'], [1, 'y']], ints: [[2, 'rows'], [3, 'cols']], out: 1 },
  { fn: 'softmaxCrossEntropyF32', nArgs: 5, make: () => [f32(12), Int32Array.from([0, 1, 2]), f32(3, 7), 3, 4],
    arrays: [[0, 'logits'], [2, 'loss']], ints: [[3, 'n'], [4, 'c']], out: 2 },
  { fn: 'softmaxCrossEntropyBackwardF32', nArgs: 6, make: () => [f32(3), f32(12), f32(12, 0.25), f32(12, 7), 3, 4],
    arrays: [[0, 'dloss'], [1, 'logits'], [3, 'dlogits']], ints: [[4, 'n'], [5, 'c']], out: 3 },
];

describe.skipIf(CHILD || !load.backend)('elementwise entries reject bad arguments', () => {
  afterAll(() => {
    const y = f32(3, 0);
    addon.unaryF32(addon.unaryOpCodes.relu!, Float32Array.from([-1, 2, -0]), y, 0);
    expect(Array.from(y)).toEqual([0, 2, 0]);
  });

  for (const e of ENTRIES) {
    it(`${e.fn}: wrong argument count -> TypeError`, () => {
      for (const k of [0, e.nArgs - 1, e.nArgs + 1]) {
        const args = [...e.make(), 0].slice(0, k);
        expectError(() => call(e.fn, args), TypeError, `${e.fn}: expected ${e.nArgs} arguments`, `got ${k}`);
      }
    });

    for (const [pos, name] of e.arrays) {
      it(`${e.fn}: '${name}' must be a live, unshared Float32Array of the right length`, () => {
        for (const [kind, bad] of [['Float64Array', new Float64Array(12)], ['Array', [1]], ['number', 2], ['null', null]] as [string, unknown][]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be a Float32Array, got ${kind}`);
        }
        const a1 = e.make();
        a1[pos] = new Float32Array(new SharedArrayBuffer((a1[pos] as Float32Array).length * 4));
        expectError(() => call(e.fn, a1), TypeError, `${e.fn}: argument '${name}' is backed by a SharedArrayBuffer`);
        const a2 = e.make();
        a2[pos] = detached(4);
        expectError(() => call(e.fn, a2), TypeError, `${e.fn}: argument '${name}' is backed by a detached ArrayBuffer`);
        const a3 = e.make();
        a3[pos] = f32((a3[pos] as Float32Array).length + 1);
        expectError(() => call(e.fn, a3), RangeError, `${e.fn}: argument '`, 'has length');
        if (pos !== e.out) expect((a3[e.out] as Float32Array).every((v) => v === 7), 'output untouched').toBe(true);
      });
    }

    for (const [pos, name] of e.ints) {
      it(`${e.fn}: '${name}' must be a non-negative safe integer that matches the lengths`, () => {
        for (const [bad, got] of [['3', 'string'], [null, 'null'], [3n, 'bigint']] as [unknown, string][]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), TypeError, `${e.fn}: argument '${name}' must be an integer in [0, 9007199254740991], got ${got}`);
        }
        for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
          const args = e.make();
          args[pos] = bad;
          expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument '${name}' must be an integer in [0, 9007199254740991], got ${bad}`);
        }
        const args = e.make();
        args[pos] = (args[pos] as number) + 1;
        expectError(() => call(e.fn, args), RangeError, 'has length');
        const huge = e.make();
        huge[pos] = 2 ** 53 - 1;
        expectError(() => call(e.fn, huge), RangeError, 'has length');
      });
    }

    it(`${e.fn}: an output partly overlapping an input -> RangeError`, () => {
      const args = e.make();
      const inPos = e.arrays[0][0];
      const n = (args[inPos] as Float32Array).length;
      const m = (args[e.out] as Float32Array).length;
      const buf = f32(n + m);
      args[inPos] = buf.subarray(0, n);
      args[e.out] = buf.subarray(n - 1, n - 1 + m);
      expectError(() => call(e.fn, args), RangeError, `${e.fn}: argument '${e.arrays[e.arrays.length - 1][1]}' overlaps '${e.arrays[0][1]}'`);
    });
  }

  it('unaryF32: opCode and alpha are checked; y may be x itself', () => {
    const UNARY_CODES = '0 relu, 1 sigmoid, 2 tanh, 3 exp, 4 log, 5 sqrt, 6 square, 7 neg, 8 abs, 9 leakyRelu, 10 elu, ' +
      '11 relu6, 12 selu, 13 softplus, 14 softsign, 15 gelu, 16 silu, 17 hardSigmoid, 18 logSigmoid';
    for (const bad of [-1, 19, 0.5, NaN]) {
      expectError(() => addon.unaryF32(bad, f32(2), f32(2), 0), RangeError,
        `unaryF32: argument 'opCode' must be an integer in [0, 18] (${UNARY_CODES}), got ${bad}`);
    }
    expectError(() => call('unaryF32', ['exp', f32(2), f32(2), 0]), TypeError, `unaryF32: argument 'opCode' must be an integer in [0, 18] (${UNARY_CODES}), got string`);
    expectError(() => call('unaryF32', [0, f32(2), f32(2), '0.2']), TypeError, "unaryF32: argument 'alpha' must be a number, got string");
    const x = Float32Array.from([-1, 4]);
    addon.unaryF32(addon.unaryOpCodes.sqrt!, x, x, 0);
    expect(Number.isNaN(x[0]) && x[1] === 2).toBe(true);
  });

  it('unaryGradF32: opCode and alpha are checked; dx may be x, y or dy itself but not straddle any', () => {
    const CODES = '0 relu, 1 relu6, 2 leakyRelu, 3 elu, 4 selu, 5 hardSigmoid, 6 sigmoid, 7 tanh, 8 softsign, 9 softplus, 10 logSigmoid, 11 silu, 12 gelu';
    for (const bad of [-1, 13, 0.5, NaN]) {
      expectError(() => addon.unaryGradF32(bad, f32(2), f32(2), f32(2), f32(2), 0), RangeError,
        `unaryGradF32: argument 'opCode' must be an integer in [0, 12] (${CODES}), got ${bad}`);
    }
    expectError(() => call('unaryGradF32', ['relu', f32(2), f32(2), f32(2), f32(2), 0]), TypeError, `unaryGradF32: argument 'opCode' must be an integer in [0, 12] (${CODES}), got string`);
    expectError(() => call('unaryGradF32', [2, f32(2), f32(2), f32(2), f32(2), null]), TypeError, "unaryGradF32: argument 'alpha' must be a number, got null");
    for (const [pos, name] of [[2, 'y'], [3, 'dy']] as const) {
      const buf = f32(8);
      const args: Args = [0, f32(4), f32(4), f32(4), buf.subarray(4, 8), 0];
      args[pos] = buf.subarray(2, 6);
      expectError(() => call('unaryGradF32', args), RangeError, `unaryGradF32: argument 'dx' overlaps '${name}'; it may be that array itself or a separate one`);
    }
    for (const [pos, name] of [[2, 'y'], [3, 'dy']] as const) {
      const args: Args = [0, f32(4), f32(4), f32(4), f32(4, 7), 0];
      args[pos] = f32(3);
      expectError(() => call('unaryGradF32', args), RangeError, `unaryGradF32: argument '${name}' has length 3 but x's length is 4`);
      expect((args[4] as Float32Array).every((v) => v === 7), 'dx untouched').toBe(true);
    }
    const x = Float32Array.from([-1, 4]);
    const g = Float32Array.from([3, 5]);
    addon.unaryGradF32(addon.unaryGradOpCodes.relu!, x, x, g, g, 0);
    expect(Array.from(g)).toEqual([0, 5]);
  });

  it('reduceF32: opCode is checked; y may not be x', () => {
    for (const bad of [-1, 4, 2.5]) {
      expectError(() => addon.reduceF32(bad, f32(4), f32(1), 1, 4, 1), RangeError, `reduceF32: argument 'opCode' must be an integer in [0, 3] (0 sum, 1 mean, 2 max, 3 min), got ${bad}`);
    }
    const x = f32(4);
    expectError(() => addon.reduceF32(0, x, x.subarray(0, 1), 1, 4, 1), RangeError, "reduceF32: argument 'y' overlaps 'x'; pass a separate output array");
  });

  it('softmaxF32 / logSoftmaxF32: y may be x itself', () => {
    const x = Float32Array.from([0, Math.log(3)]);
    addon.softmaxF32(x, x, 1, 2);
    expect(x[0]).toBeCloseTo(0.25, 6);
    const y = Float32Array.from([0, 0]);
    addon.logSoftmaxF32(y, y, 1, 2);
    expect(y[0]).toBeCloseTo(-Math.LN2, 6);
  });

  for (const fn of ['softmaxCrossEntropyF32', 'softmaxCrossEntropyBackwardF32']) {
    const make = ENTRIES.find((e) => e.fn === fn)!.make;
    const at = fn === 'softmaxCrossEntropyF32' ? 1 : 2;
    const out = fn === 'softmaxCrossEntropyF32' ? 2 : 3;
    it(`${fn}: labels must be a live, unshared Int32Array [n] or Float32Array [n, c]`, () => {
      for (const [kind, bad] of [['Float64Array', new Float64Array(3)], ['Uint8Array', new Uint8Array(3)], ['Array', [0, 1, 2]], ['undefined', undefined]] as [string, unknown][]) {
        const args = make();
        args[at] = bad;
        expectError(() => call(fn, args), TypeError, `${fn}: argument 'labels' must be an Int32Array or a Float32Array, got ${kind}`);
      }
      const a1 = make();
      a1[at] = new Int32Array(new SharedArrayBuffer(12));
      expectError(() => call(fn, a1), TypeError, `${fn}: argument 'labels' is backed by a SharedArrayBuffer`);
      const a2 = make();
      a2[at] = detached(3, Int32Array);
      expectError(() => call(fn, a2), TypeError, `${fn}: argument 'labels' is backed by a detached ArrayBuffer`);
      const a3 = make();
      a3[at] = new Int32Array(4);
      expectError(() => call(fn, a3), RangeError, `${fn}: argument 'labels' has length 4 but n (Int32Array class indices) is 3`);
      const a4 = make();
      a4[at] = f32(11);
      expectError(() => call(fn, a4), RangeError, `${fn}: argument 'labels' has length 11 but n*c (Float32Array weights) is 12`);
      const a5 = make();
      a5[at] = new Float32Array(new SharedArrayBuffer(48));
      expectError(() => call(fn, a5), TypeError, `${fn}: argument 'labels' is backed by a SharedArrayBuffer`);
      // Out-of-range class indices are data, not an error: loss and gradient 0 for that row.
      const a6 = make();
      a6[at] = Int32Array.from([-5, 2 ** 31 - 1, 1]);
      expect(() => call(fn, a6)).not.toThrow();
      // The output may not overlap the labels.
      const a7 = make();
      const buf = new ArrayBuffer(4096);
      a7[at] = new Int32Array(buf, 0, 3);
      a7[out] = new Float32Array(buf, 8, (a7[out] as Float32Array).length);
      expectError(() => call(fn, a7), RangeError, `overlaps 'labels'`);
    });
  }
});
