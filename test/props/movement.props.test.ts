/**
 * Properties: native transpose, slice, gather, concat, pad and oneHot against the reference. Data movement
 * reproduces values, so every comparison is exact (bit-for-bit, NaN payloads aside), for float32 and int32,
 * over shapes with empty and size-1 axes.
 */
import { describe, it } from 'vitest';

import type { KTensor, PadMode } from '../../src/backends/backend.js';
import { checkKernel, fcParams, reportCoverage } from '../helpers/backends.js';
import { f32data, fc, fmt, i32data, seedArb, shapeArb, sizeOf, tf, ti } from './arb.js';

reportCoverage('movement', ['transpose', 'slice', 'gather', 'concat', 'pad', 'oneHot']);

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
