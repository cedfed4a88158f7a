/**
 * Properties: the native strided-copy and selection kernels (transpose, slice, pad, concat, gather, oneHot,
 * compare, where, clip, cast) against the reference where movement.props.test.ts and elementwise.props.test.ts do
 * not reach: tensors of 40k-200k elements, so the work is split over the pool (tasks of 32k words, rows cut
 * across tasks, transposing tiles at a task's edge), ranks 7-9 (past the addon's 8: the reference runs them),
 * and clip bounds the ops layer never passes but the kernel contract allows (crossed, NaN, +-0, beyond float32,
 * fractional on int32). Every comparison is exact (NaN payloads aside).
 */
import { describe, it } from 'vitest';

import type { CompareOp, KTensor, PadMode } from '../../src/backends/backend.js';
import { checkKernel, fcParams, reportCoverage } from '../helpers/backends.js';
import { f32data, fc, fmt, i32data, seedArb, sizeOf, tf, ti } from './arb.js';

reportCoverage('copy-select', ['transpose', 'slice', 'pad', 'concat', 'gather', 'oneHot', 'compare', 'where', 'clip', 'cast']);

function data(shape: readonly number[], seed: number, isInt: boolean): KTensor {
  return isInt ? ti(i32data(sizeOf(shape), seed, -2147483648, 2147483647), shape)
    : tf(f32data(sizeOf(shape), seed, { specialRate: 0.05 }), shape);
}

/** Rank 1-5 with 40k-200k elements: small trailing axes, one long axis placed anywhere. */
const bigShapeArb = fc.record({
  rest: fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(16, 17, 33, 64, 65)), { maxLength: 4 }),
  target: fc.integer({ min: 40_000, max: 200_000 }),
  at: fc.nat({ max: 4 }),
}).map(({ rest, target, at }) => {
  const shape = [...rest];
  shape.splice(at % (rest.length + 1), 0, Math.max(1, Math.round(target / sizeOf(rest))));
  return shape;
});

/** Rank 7-9 (2 or 3 elements per axis at most). */
const deepShapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 7, maxLength: 9 });

const permOf = (shape: readonly number[]) =>
  fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length });

describe('props: native copies and selections past the thread split and rank 8 (exact)', () => {
  it('transpose: large tensors (transposing tiles split across tasks), rank 7-9', () => {
    const arb = fc.oneof(bigShapeArb, deepShapeArb).chain((shape) => fc.record({ shape: fc.constant(shape), perm: permOf(shape) }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, perm }, isInt, seed) => {
        const x = data(shape, seed, isInt);
        checkKernel({ kernel: 'transpose', what: `x ${fmt(shape)} perm ${fmt(perm)}`, run: (b) => ({ y: b.transpose(x, perm) }), tol: 'exact', inputs: [x] });
      }),
      fcParams(20, 'transpose'),
    );
  });

  it('slice and pad: large tensors, every pad mode at its widest, rank 7-9', () => {
    const arb = fc.oneof(bigShapeArb, deepShapeArb).chain((shape) => fc.record({
      shape: fc.constant(shape),
      mode: fc.constantFrom<PadMode>('constant', 'reflect', 'symmetric'),
      axes: fc.tuple(...shape.map((d) => fc.record({
        begin: fc.nat({ max: d - 1 }), step: fc.integer({ min: 1, max: 3 }), frac: fc.double({ min: 0, max: 1, noNaN: true }),
        before: fc.nat({ max: d }), after: fc.nat({ max: d }),
      }))),
    }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, mode, axes }, isInt, seed) => {
        const x = data(shape, seed, isInt);
        const begin = axes.map((a) => a.begin);
        const steps = axes.map((a) => a.step);
        const size = axes.map((a, i) => Math.floor(a.frac * Math.ceil((shape[i] - a.begin) / a.step)));
        checkKernel({
          kernel: 'slice', what: `x ${fmt(shape)} begin ${fmt(begin)} size ${fmt(size)} steps ${fmt(steps)}`,
          run: (b) => ({ y: b.slice(x, begin, size, steps) }), tol: 'exact', inputs: [x],
        });
        // reflect: before, after < dim; symmetric: <= dim (backend.ts).
        const cap = (p: number, d: number) => (mode === 'reflect' ? Math.min(p, d - 1) : p);
        const paddings = axes.map((a, i): [number, number] => [cap(a.before, shape[i]), cap(a.after, shape[i])]);
        checkKernel({
          kernel: 'pad', what: `${mode} x ${fmt(shape)} paddings ${JSON.stringify(paddings)}`,
          run: (b) => ({ y: b.pad(x, paddings, mode, isInt ? -7 : -0) }), tol: 'exact', inputs: [x],
        });
      }),
      fcParams(20, 'slice', 'pad'),
    );
  });

  it('concat: 1-9 pieces of a large tensor along any axis, some empty', () => {
    const arb = bigShapeArb.chain((shape) => fc.record({
      shape: fc.constant(shape), axis: fc.nat({ max: shape.length - 1 }),
      lens: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 9 }),
    }));
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ shape, axis, lens }, isInt, seed) => {
        // Each piece keeps the large axis unless it is the concat axis (then the pieces are short along it).
        const xs = lens.map((l, k) => data(shape.map((d, i) => (i === axis ? l : d)), seed + k, isInt));
        checkKernel({
          kernel: 'concat', what: `${xs.map((x) => fmt(x.shape)).join(' ++ ')} axis ${axis}`,
          run: (b) => ({ y: b.concat(xs, axis) }), tol: 'exact', inputs: xs,
        });
      }),
      fcParams(20, 'concat'),
    );
  });

  it('gather and oneHot: large outputs', () => {
    const arb = bigShapeArb.chain((shape) => fc.record({ shape: fc.constant(shape), axis: fc.nat({ max: shape.length - 1 }), nidx: fc.integer({ min: 0, max: 40 }) }));
    fc.assert(
      fc.property(arb, fc.boolean(), fc.integer({ min: 1, max: 12 }), seedArb, ({ shape, axis, nidx }, isInt, depth, seed) => {
        const x = data(shape, seed, isInt);
        const idx = ti(i32data(nidx, seed + 1, 0, shape[axis] - 1), [nidx]);
        checkKernel({
          kernel: 'gather', what: `x ${fmt(shape)} indices [${nidx}] axis ${axis}`,
          run: (b) => ({ y: b.gather(x, idx, axis) }), tol: 'exact', inputs: [x, idx],
        });
        const labels = ti(i32data(sizeOf(shape), seed + 2, -1, depth), [sizeOf(shape)]);
        checkKernel({
          kernel: 'oneHot', what: `indices [${sizeOf(shape)}] depth ${depth}`,
          run: (b) => ({ y: b.oneHot(labels, depth, 0.7, -0) }), tol: 'exact', inputs: [labels],
        });
      }),
      fcParams(15, 'gather', 'oneHot'),
    );
  });

  it('compare and where: large outputs, operands full, scalar, row or squeezed', () => {
    const OPS: CompareOp[] = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr'];
    // An operand of `out`: itself, a scalar, its trailing axes, or with axes in `bits` set to 1.
    const operand = (out: number[], form: number, bits: number): number[] =>
      form === 0 ? [...out] : form === 1 ? [] : form === 2 ? out.slice(1) : out.map((d, i) => ((bits >> i) & 1 ? 1 : d));
    const arb = fc.record({
      out: fc.oneof(bigShapeArb, deepShapeArb), op: fc.constantFrom(...OPS),
      forms: fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })),
      bits: fc.tuple(fc.nat({ max: 511 }), fc.nat({ max: 511 }), fc.nat({ max: 511 })),
    });
    fc.assert(
      fc.property(arb, fc.boolean(), seedArb, ({ out, op, forms, bits }, isInt, seed) => {
        const [cs, as, bs] = forms.map((f, k) => operand(out, f, bits[k]));
        const mk = (shape: number[], s: number): KTensor => isInt ? ti(i32data(sizeOf(shape), s, -2, 2), shape)
          : tf(f32data(sizeOf(shape), s, { lo: -2, hi: 2, quantum: 1, specialRate: 0.15, specials: [NaN, -0, 0, Infinity] }), shape);
        const a = mk(as, seed);
        const b = mk(bs, seed + 1);
        checkKernel({
          kernel: 'compare', what: `${op} ${isInt ? 'int32' : 'float32'} a ${fmt(as)} b ${fmt(bs)} -> ${fmt(out)}`,
          run: (be) => ({ y: be.compare(op, a, b, out) }), tol: 'exact', inputs: [a, b],
        });
        const cond = ti(i32data(sizeOf(cs), seed + 2, -1, 1), cs);
        checkKernel({
          kernel: 'where', what: `cond ${fmt(cs)} a ${fmt(as)} b ${fmt(bs)} -> ${fmt(out)}`,
          run: (be) => ({ y: be.where(cond, a, b, out) }), tol: 'exact', inputs: [cond, a, b],
        });
      }),
      fcParams(20, 'compare', 'where'),
    );
  });

  it('clip: any bounds (crossed, NaN, +-0, beyond float32, fractional on int32); cast of large arrays', () => {
    const BOUNDS = [NaN, -Infinity, -1e39, -3.4028235e38, -2147483648.5, -1, -0.7, -0, 0, 1e-46, 0.1, 0.5, 1, 1.0000001, 6, 1e10, 1e39, Infinity];
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 40_000, max: 120_000 })), fc.constantFrom(...BOUNDS),
        fc.constantFrom(...BOUNDS), fc.boolean(), seedArb, (n, lo, hi, isInt, seed) => {
          const x: KTensor = isInt ? ti(i32data(n, seed, -3, 3), [n])
            : tf(f32data(n, seed, { lo: -2, hi: 2, specialRate: 0.1, specials: [NaN, -0, 0, 1, -1, 6, Infinity, -Infinity, 1.0000001, 3.4028235e38] }), [n]);
          checkKernel({ kernel: 'clip', what: `${isInt ? 'int32' : 'float32'} [${n}] to [${lo}, ${hi}]`, run: (b) => ({ y: b.clip(x, lo, hi) }), tol: 'exact', inputs: [x] });
          checkKernel({ kernel: 'cast', what: `${isInt ? 'int32' : 'float32'} [${n}] -> ${isInt ? 'float32' : 'int32'}`,
            run: (b) => ({ y: b.cast(x, isInt ? 'float32' : 'int32') }), tol: 'exact', inputs: [x] });
        }),
      fcParams(60, 'clip', 'cast'),
    );
  });
});
