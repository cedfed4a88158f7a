/**
 * Properties: native transpose, slice, gather, scatterAdd, concat, pad and oneHot against the reference. Data
 * movement reproduces values, so every comparison is exact (bit-for-bit, NaN payloads aside), for float32 and int32,
 * over shapes with empty and size-1 axes.
 *
 * scatterAdd, gather's adjoint, also against an independent float64 oracle: per output element, a scan of every j in
 * ascending order summing g[.., j, ..] where indices[j] names it, rounded once. The kernel's contract fixes that
 * order, so the two agree bit for bit (NaN payloads aside) for float32 and float64. And the adjoint identity with the
 * reference gather, <gather(x), g> = <x, scatterAdd(g)>, within the two double sums' rounding.
 */
import { describe, expect, it } from 'vitest';

import type { FTensor, ITensor, KTensor, PadMode } from '../../src/backends/backend.js';
import { ValueError } from '../../src/errors.js';
import { checkKernel, compareTensors, fcParams, gamma64, referenceBackend, reportCoverage } from '../helpers/backends.js';
import { f32data, fc, fmt, i32data, seedArb, shapeArb, sizeOf, tf, ti } from './arb.js';

reportCoverage('movement', ['transpose', 'slice', 'gather', 'scatterAdd', 'concat', 'pad', 'oneHot']);

/** The scatterAdd oracle: output-major, every j scanned in ascending order, summed in double, rounded once. */
function scatterAddOracle(g: FTensor, indices: ITensor, dim: number, axis: number): FTensor {
  const n = indices.data.length;
  const outer = sizeOf(g.shape.slice(0, axis));
  const inner = sizeOf(g.shape.slice(axis + 1));
  const shape = g.shape.map((d, a) => (a === axis ? dim : d));
  const out = g.data instanceof Float64Array ? new Float64Array(sizeOf(shape)) : new Float32Array(sizeOf(shape));
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < dim; t++) {
      for (let k = 0; k < inner; k++) {
        let s = 0;
        for (let j = 0; j < n; j++) if (indices.data[j] === t) s += g.data[(o * n + j) * inner + k];
        out[(o * dim + t) * inner + k] = s;
      }
    }
  }
  return { data: out, shape };
}

/** g with axis `axis` of length n, a target length dim, and n indices in [-1, dim) (-1: skipped) of rank 1 or 2. */
const scatterArb = shapeArb(1, 4, 3000).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.nat({ max: shape.length - 1 }),
    dim: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 6 }), weight: 4 }, { arbitrary: fc.constantFrom(17, 64), weight: 1 }),
    split: fc.boolean(),
    skipRate: fc.constantFrom(0, 0.2),
  }));

function data(shape: readonly number[], seed: number, isInt: boolean): KTensor {
  return isInt ? ti(i32data(sizeOf(shape), seed, -2147483648, 2147483647), shape)
    : tf(f32data(sizeOf(shape), seed, { specialRate: 0.05 }), shape);
}

describe('props: data movement, native vs reference (exact)', () => {
  it('transpose: every permutation of rank 0-6', () => {
    const arb = shapeArb(0, 6, 5000).chain((shape) =>
      fc.record({ shape: fc.constant(shape), perm: fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }) }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, perm }, isInt, seed) => {
        const x = data(shape, seed, isInt);
        checkKernel({ kernel: 'transpose', what: `x ${fmt(shape)} perm ${fmt(perm)}`, run: (b) => ({ y: b.transpose(x, perm) }), tol: 'exact', inputs: [x] });
      }),
      fcParams(100, 'transpose'),
    );
  });

  it('slice: begin, size, step in range', () => {
    const arb = shapeArb(0, 6, 5000).chain((shape) =>
      fc.tuple(...shape.map((d) => fc.record({ begin: fc.nat({ max: Math.max(d, 0) }), step: fc.integer({ min: 1, max: 3 }), frac: fc.double({ min: 0, max: 1, noNaN: true }) })))
        .map((axes) => {
          const begin = axes.map((a, i) => Math.min(a.begin, shape[i]));
          const steps = axes.map((a) => a.step);
          // size <= ceil((dim - begin) / step) keeps begin + (size-1)*step in range.
          const size = axes.map((a, i) => Math.floor(a.frac * Math.ceil((shape[i] - begin[i]) / steps[i])));
          return { shape, begin, size, steps };
        }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, begin, size, steps }, isInt, seed) => {
        const x = data(shape, seed, isInt);
        checkKernel({
          kernel: 'slice', what: `x ${fmt(shape)} begin ${fmt(begin)} size ${fmt(size)} steps ${fmt(steps)}`,
          run: (b) => ({ y: b.slice(x, begin, size, steps) }), tol: 'exact', inputs: [x],
        });
      }),
      fcParams(100, 'slice'),
    );
  });

  it('gather: any axis, index tensors of rank 0-2, repeated and empty', () => {
    const arb = shapeArb(1, 4, 3000).filter((s) => s.length > 0).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.nat({ max: shape.length - 1 }), idxShape: shapeArb(0, 2, 40) }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, axis, idxShape }, isInt, seed) => {
        const dim = shape[axis];
        // No valid index into an empty axis: then the index tensor must be empty too.
        const iShape = dim === 0 ? [0] : idxShape;
        const x = data(shape, seed, isInt);
        const idx = ti(i32data(sizeOf(iShape), seed + 1, 0, Math.max(dim - 1, 0)), iShape);
        checkKernel({
          kernel: 'gather', what: `x ${fmt(shape)} indices ${fmt(iShape)} axis ${axis}`,
          run: (b) => ({ y: b.gather(x, idx, axis) }), tol: 'exact', inputs: [x, idx],
        });
      }),
      fcParams(100, 'gather'),
    );
  });

  it('scatterAdd: any axis, repeated, skipped (-1) and absent targets; against the float64 oracle and as gather\'s adjoint', () => {
    fc.assert(
      fc.property(scatterArb, fc.boolean(), seedArb, ({ shape, axis, dim, split, skipRate }, quantised, seed) => {
        const n = shape[axis];
        const raw = i32data(n, seed + 1, 0, Math.max(dim - 1, 0));
        const skip = f32data(n, seed + 2, { lo: 0, hi: 1 });
        const flat = raw.map((t, j) => (dim === 0 || skip[j] < skipRate ? -1 : t));
        const idx = ti(flat, split && n % 2 === 0 ? [2, n / 2] : [n]);
        const g32 = tf(f32data(sizeOf(shape), seed, { specialRate: 0.05, quantum: quantised ? 8 : 0 }), shape);
        const what = `g ${fmt(shape)} axis ${axis} indices ${fmt(idx.shape)} -> dim ${dim}`;
        checkKernel({ kernel: 'scatterAdd', what, run: (b) => ({ y: b.scatterAdd(g32, idx, dim, axis) }), tol: 'exact', inputs: [g32, idx] });
        const g64: FTensor = { data: Float64Array.from(f32data(sizeOf(shape), seed + 3)), shape };
        for (const g of [g32, g64]) {
          compareTensors(referenceBackend.scatterAdd(g, idx, dim, axis), scatterAddOracle(g, idx, dim, axis), 'exact',
            `scatterAdd ${what} ${g.data.constructor.name} vs oracle`);
        }
        // <gather(x, valid), g'> = <x, scatterAdd(g')>, with g' zero where the index is skipped (gather has no -1).
        const valid = ti(flat.map((t) => Math.max(t, 0)), [n]);
        if (dim === 0 && n > 0) return;
        const xShape = shape.map((d, a) => (a === axis ? dim : d));
        const x: FTensor = { data: Float64Array.from(f32data(sizeOf(xShape), seed + 4)), shape: xShape };
        const inner = sizeOf(shape.slice(axis + 1));
        const gz = Float64Array.from(g64.data, (v, i) => (flat[Math.floor(i / inner) % Math.max(n, 1)] < 0 ? 0 : v));
        const y = referenceBackend.gather(x, valid, axis);
        const z = referenceBackend.scatterAdd({ data: gz, shape }, idx, dim, axis);
        let lhs = 0, rhs = 0, mag = 0;
        for (let i = 0; i < gz.length; i++) { lhs += y.data[i] * gz[i]; mag += Math.abs(y.data[i] * gz[i]); }
        for (let i = 0; i < x.data.length; i++) rhs += x.data[i] * z.data[i];
        // Both sides sum the same outer * n * inner products in double, grouped differently: gamma64 of the count each.
        expect(Math.abs(lhs - rhs), `${what} adjoint`).toBeLessThanOrEqual(2 * gamma64(2 * gz.length + 2) * mag);
      }),
      fcParams(150, 'scatterAdd'),
    );
  });

  it('scatterAdd: an index outside [0, dim) other than -1 is a ValueError naming it', () => {
    const g = tf(Float32Array.of(1, 2, 3), [3]);
    for (const bad of [3, -2]) {
      expect(() => referenceBackend.scatterAdd(g, ti(Int32Array.of(0, bad, -1), [3]), 3, 0))
        .toThrow(new ValueError(`scatterAdd: argument 'indices' holds ${bad} at flat position 1, out of range [0, 3)`));
    }
  });

  it('concat: 1-9 inputs along any axis, some empty along it', () => {
    const arb = shapeArb(1, 6, 2000).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.nat({ max: shape.length - 1 }), lens: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 })), { minLength: 1, maxLength: 9 }) }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, axis, lens }, isInt, seed) => {
        const xs = lens.map((l, k) => data(shape.map((d, i) => (i === axis ? l : d)), seed + k, isInt));
        checkKernel({
          kernel: 'concat', what: `${xs.map((x) => fmt(x.shape)).join(' ++ ')} axis ${axis}`,
          run: (b) => ({ y: b.concat(xs, axis) }), tol: 'exact', inputs: xs,
        });
      }),
      fcParams(100, 'concat'),
    );
  });

  it('pad: constant, reflect, symmetric with the largest legal widths', () => {
    const arb = fc.constantFrom<PadMode>('constant', 'reflect', 'symmetric').chain((mode) =>
      shapeArb(0, 6, 2000).map((s) => (mode === 'constant' ? s : s.map((d) => Math.max(d, 1)))).chain((shape) =>
        fc.record({
          mode: fc.constant(mode),
          shape: fc.constant(shape),
          // reflect: before, after < dim; symmetric: <= dim; constant: anything.
          paddings: fc.tuple(...shape.map((d) => {
            const max = mode === 'reflect' ? d - 1 : mode === 'symmetric' ? d : 3;
            return fc.tuple(fc.nat({ max }), fc.nat({ max }));
          })),
          value: fc.constantFrom(0, -1.5, 7, NaN, -0),
        })));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ mode, shape, paddings, value }, isInt, seed) => {
        const x = data(shape, seed, isInt);
        const v = isInt ? (Number.isNaN(value) ? 0 : Math.trunc(value)) : value;
        checkKernel({
          kernel: 'pad', what: `${mode} x ${fmt(shape)} paddings ${JSON.stringify(paddings)} value ${v}`,
          run: (b) => ({ y: b.pad(x, paddings as [number, number][], mode, v) }), tol: 'exact', inputs: [x],
        });
      }),
      fcParams(100, 'pad'),
    );
  });

  it('oneHot: in-range and out-of-range indices, any on/off values', () => {
    fc.assert(
      fc.property(shapeArb(0, 3, 500), fc.integer({ min: 0, max: 70 }), fc.constantFrom(1, 0.9, -2), fc.constantFrom(0, 0.1 / 9, -0), seedArb,
        (iShape, depth, on, off, seed) => {
          const idx = ti(i32data(sizeOf(iShape), seed, -2, depth + 1), iShape);
          checkKernel({
            kernel: 'oneHot', what: `indices ${fmt(iShape)} depth ${depth} on ${on} off ${off}`,
            run: (b) => ({ y: b.oneHot(idx, depth, on, off) }), tol: 'exact', inputs: [idx],
          });
        }),
      fcParams(80, 'oneHot'),
    );
  });
});
