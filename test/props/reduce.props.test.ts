/**
 * Properties: native reduce and argReduce against the reference, over shapes of rank 0-4 (empty axes, size-1
 * axes, lengths across vector tails) and every subset of axes.
 *
 * Tolerances, for m = the number of elements reduced into one output (the reference sums in double and rounds
 * once):
 * - sum: any order and blocking in float32: |got - ref| <= gamma_m sum|x| + eps32 |ref| (+ the double
 *   reference's gamma64_m sum|x| and m 2^-149 for subnormal rounding): sumBound(m, sum|x|, ref).
 * - mean: the sum, then one division (or a multiplication by a rounded 1/m: one more rounding):
 *   sumBound(m + 1, sum|x| / m, ref).
 * - prod: m - 1 multiplications each within eps32 relative, and the reference's rounding:
 *   gamma_m |prod| + eps32 |ref| + m 2^-149 (values are drawn near +-1 so the product neither overflows nor
 *   underflows).
 *   Where sum|x| exceeds FLT_MAX (specials include +-FLT_MAX) a float32 partial sum may overflow where the
 *   double one does not: an infinite or NaN result is then accepted as well.
 * - max, min: selections, exact (NaN propagates; -0 vs 0 as Math.max/Math.min order them).
 * - int32 sum/prod wrap modulo 2^32 (order-independent) and mean truncates: exact. argMax/argMin: exact
 *   (first index of ties, first NaN wins).
 */
import { describe, it } from 'vitest';

import type { ArgReduceOp, KTensor, ReduceOp } from '../../src/backends/backend.js';
import { EPS32 } from '../helpers/close.js';
import { SUB32, type Tol, checkKernel, fcParams, gamma32, referenceBackend, reportCoverage, sumBound } from '../helpers/backends.js';
import { abs64, f32data, fc, fmt, i32data, lazy, seedArb, shapeArb, sizeOf, tf, ti } from './arb.js';

reportCoverage('reduce', ['reduce', 'argReduce']);

/** Shape and a sorted subset of its axes (possibly empty, possibly all). */
const reduceCaseArb = shapeArb(0, 4, 6000).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axes: fc.subarray(shape.map((_, i) => i)),
    seed: seedArb,
    specials: fc.boolean(),
  }),
);

function reducedCount(shape: readonly number[], axes: readonly number[]): number {
  return axes.reduce((m, a) => m * shape[a], 1);
}

function floatTol(op: ReduceOp, x: KTensor<Float32Array>, axes: readonly number[], m: number): Tol {
  if (op === 'max' || op === 'min') return 'exact';
  const absSum = lazy(() => referenceBackend.reduce('sum', abs64(x), axes).data);
  // Where sum|x| passes FLT_MAX a float32 partial sum may overflow (the double reference's does not): then an
  // infinite or NaN result is accepted too.
  const overflowOk = (i: number, got: number): boolean => absSum()[i] > FLT_MAX && !Number.isFinite(got);
  if (op === 'sum') return (i, ref, got) => (overflowOk(i, got) ? true : sumBound(m, absSum()[i], ref));
  if (op === 'mean') return (i, ref, got) => (overflowOk(i, got) ? true : sumBound(m + 1, absSum()[i] / m, ref));
  // prod
  const absProd = lazy(() => referenceBackend.reduce('prod', abs64(x), axes).data);
  return (i, ref) => gamma32(m) * absProd()[i] + EPS32 * Math.abs(ref) + m * SUB32;
}

const FLT_MAX = 3.4028234663852886e38;
const FLOAT_OPS: ReduceOp[] = ['sum', 'mean', 'max', 'min', 'prod'];

describe('props: reductions, native vs reference', () => {
  it('reduce (float32): sum, mean, max, min, prod over any subset of axes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FLOAT_OPS), reduceCaseArb, (op, { shape, axes, seed, specials }) => {
        const n = sizeOf(shape);
        const data = op === 'prod'
          // +-[0.97, 1.03]: |prod| stays within e^+-64 for up to 2100 factors.
          ? Float32Array.from(f32data(n, seed, { lo: -0.03, hi: 0.03 }), (v, i) => (i % 3 === 0 ? -1 : 1) * (1 + v))
          : f32data(n, seed, { lo: -2, hi: 2, specialRate: specials ? 0.03 : 0, quantum: seed % 4 === 0 ? 2 : undefined });
        const x = tf(data, shape);
        const m = reducedCount(shape, axes);
        checkKernel({
          kernel: 'reduce',
          what: `${op} x ${fmt(shape)} axes ${fmt(axes)} (m=${m})${specials && op !== 'prod' ? ' +specials' : ''}`,
          run: (b) => ({ y: b.reduce(op, x, axes) }),
          tol: floatTol(op, x, axes, m),
          inputs: [x],
        });
      }),
      fcParams(250, 'reduce'),
    );
  });

  it('reduce (int32): wrapping sum and prod, truncating mean, max, min', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FLOAT_OPS), reduceCaseArb, (op, { shape, axes, seed, specials }) => {
        const x = ti(specials ? i32data(sizeOf(shape), seed, -2147483648, 2147483647) : i32data(sizeOf(shape), seed, -9, 9), shape);
        checkKernel({
          kernel: 'reduce',
          what: `${op} int32 x ${fmt(shape)} axes ${fmt(axes)}${specials ? ' full-range' : ''}`,
          run: (b) => ({ y: b.reduce(op, x, axes) }),
          tol: 'exact',
          inputs: [x],
        });
      }),
      fcParams(80, 'reduce'),
    );
  });

  it('argReduce: first index of ties, first NaN wins, float32 and int32', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ArgReduceOp>('argMax', 'argMin'),
        shapeArb(1, 4, 6000).filter((s) => s.every((d) => d > 0)),
        fc.nat(),
        fc.boolean(),
        seedArb,
        (op, shape, axisSeed, isInt, seed) => {
          const axis = axisSeed % shape.length;
          const n = sizeOf(shape);
          // Few distinct values: ties everywhere.
          const x: KTensor = isInt ? ti(i32data(n, seed, -3, 3), shape)
            : tf(f32data(n, seed, { lo: -2, hi: 2, quantum: 2, specialRate: seed % 2 ? 0.02 : 0, specials: [NaN, Infinity, -Infinity, -0] }), shape);
          checkKernel({
            kernel: 'argReduce',
            what: `${op} ${isInt ? 'int32' : 'float32'} x ${fmt(shape)} axis ${axis}`,
            run: (b) => ({ y: b.argReduce(op, x, axis) }),
            tol: 'exact',
            inputs: [x],
          });
        },
      ),
      fcParams(120, 'argReduce'),
    );
  });
});
