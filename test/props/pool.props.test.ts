/**
 * Properties: native max/avg/global pooling and their gradients against the reference, over NHWC inputs with
 * batch 0/1/n, 1x1 images, channels 1, 3, 17, 65, pool windows larger than the input (with padding), strides
 * larger than the window, asymmetric pads (each smaller than the window, the ops layer's rule), ties (the
 * first maximum wins) and NaN / +-Infinity in x (NaN wins a max).
 *
 * Tolerances (the reference accumulates in double and rounds once):
 * - maxPool2d, globalPool2d 'max', globalPool2dBackward 'max': selections, exact.
 * - maxPool2dBackward: each dx is the sum of the dy of the windows whose first maximum it is, at most
 *   T = ceil(KH/sh)*ceil(KW/sw) of them: sumBound(T, S, ref) with S = the reference on |dy| (same x, so the
 *   same maxima).
 * - avgPool2d: a sum of at most KH*KW in-bounds terms, then a division by the count (or a multiplication by a
 *   rounded reciprocal: two roundings): sumBound(KH*KW + 2, S, ref), S = avgPool2d(|x|).
 * - avgPool2dBackward: dx sums dy/count over at most T windows, each term one or two roundings:
 *   sumBound(T + 2, S, ref), S = avgPool2dBackward(|dy|).
 * - globalPool2d 'avg': sumBound(H*W + 2, mean|x|, ref). globalPool2dBackward 'avg': dy/(H*W), or dy times a
 *   rounded 1/(H*W): 2 eps32 |ref| <= sumBound(2, |ref|, ref).
 */
import { describe, it } from 'vitest';

import { windowOutSize } from '../../src/backends/backend.js';
import type { GlobalPoolMode, Pool2DAttrs } from '../../src/backends/backend.js';
import { checkKernel, fcParams, referenceBackend, reportCoverage, sumBound } from '../helpers/backends.js';
import { abs64, batchArb, channelsArb, f32data, fc, fmt, lazy, seedArb, sizeOf, spatialArb, tf, to64 } from './arb.js';

reportCoverage('pool', ['maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'globalPool2d', 'globalPool2dBackward']);

interface PoolGeom {
  N: number; H: number; W: number; C: number; attrs: Pool2DAttrs; OH: number; OW: number;
  ties: boolean; specials: boolean; seed: number;
}

const winArb = fc.integer({ min: 1, max: 4 });
const strideArb = fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 3 });

const poolGeomArb: fc.Arbitrary<PoolGeom> = fc.record({
  N: batchArb, H: spatialArb, W: spatialArb, C: channelsArb,
  KH: winArb, KW: winArb, sh: strideArb, sw: strideArb,
  pads: fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })),
  ties: fc.boolean(),
  specials: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: seedArb,
}).map((r) => {
  // Stride 0 in the arbitrary means "= the window" (the Keras default).
  const sh = r.sh || r.KH;
  const sw = r.sw || r.KW;
  // Each pad < window (ops layer); then pad after until the window fits the padded input.
  let [pt, pb, pl, pr] = r.pads;
  pt = Math.min(pt, r.KH - 1); pb = Math.min(pb, r.KH - 1);
  pl = Math.min(pl, r.KW - 1); pr = Math.min(pr, r.KW - 1);
  let H = r.H;
  let W = r.W;
  // A window larger than input + pads cannot fit: grow the image just enough.
  if (H + pt + pb < r.KH) H = r.KH - pt - pb;
  if (W + pl + pr < r.KW) W = r.KW - pl - pr;
  const attrs: Pool2DAttrs = { poolSize: [r.KH, r.KW], strides: [sh, sw], pads: [pt, pb, pl, pr] };
  const OH = windowOutSize(H, r.KH, sh, 1, pt, pb);
  const OW = windowOutSize(W, r.KW, sw, 1, pl, pr);
  return { N: r.N, H, W, C: r.C, attrs, OH, OW, ties: r.ties, specials: r.specials, seed: r.seed };
});

function describeGeom(g: PoolGeom): string {
  const a = g.attrs;
  return `x ${fmt([g.N, g.H, g.W, g.C])} -> ${fmt([g.N, g.OH, g.OW, g.C])} poolSize ${fmt(a.poolSize)} strides ${fmt(a.strides)} ` +
    `pads [t,b,l,r]=${fmt(a.pads)}${g.ties ? ' ties' : ''}${g.specials ? ' +specials' : ''}`;
}

function inputX(g: PoolGeom, specials: boolean) {
  const shape = [g.N, g.H, g.W, g.C];
  return tf(f32data(sizeOf(shape), g.seed, {
    lo: -2, hi: 2, quantum: g.ties ? 1 : undefined,
    specialRate: specials && g.specials ? 0.04 : 0, specials: [NaN, Infinity, -Infinity, -0],
  }), shape);
}

/** Most windows that cover one input pixel along both axes. */
function overlap(g: PoolGeom): number {
  return Math.ceil(g.attrs.poolSize[0] / g.attrs.strides[0]) * Math.ceil(g.attrs.poolSize[1] / g.attrs.strides[1]);
}

describe('props: pooling, native vs reference', () => {
  it('maxPool2d: exact, first maximum, NaN wins, padding never wins', () => {
    fc.assert(
      fc.property(poolGeomArb, (g) => {
        const x = inputX(g, true);
        checkKernel({ kernel: 'maxPool2d', what: describeGeom(g), run: (b) => ({ y: b.maxPool2d(x, g.attrs) }), tol: 'exact', inputs: [x] });
      }),
      fcParams(150, 'maxPool2d'),
    );
  });

  it('maxPool2dBackward: routes to the first maximum, overlaps summed', () => {
    fc.assert(
      fc.property(poolGeomArb, (g) => {
        const x = inputX(g, true);
        const dy = tf(f32data(g.N * g.OH * g.OW * g.C, g.seed + 1), [g.N, g.OH, g.OW, g.C]);
        const S = lazy(() => referenceBackend.maxPool2dBackward(abs64(dy), to64(x), g.attrs).data);
        const T = overlap(g);
        checkKernel({
          kernel: 'maxPool2dBackward', what: `${describeGeom(g)} dy ${fmt(dy.shape)}`,
          run: (b) => ({ dx: b.maxPool2dBackward(dy, x, g.attrs) }),
          tol: (i, ref) => sumBound(T, S()[i], ref),
          inputs: [dy, x],
        });
      }),
      fcParams(150, 'maxPool2dBackward'),
    );
  });

  it('avgPool2d: divides by the in-bounds count', () => {
    fc.assert(
      fc.property(poolGeomArb, (g) => {
        const x = inputX(g, false);
        const S = lazy(() => referenceBackend.avgPool2d(abs64(x), g.attrs).data);
        const T = g.attrs.poolSize[0] * g.attrs.poolSize[1] + 2;
        checkKernel({
          kernel: 'avgPool2d', what: describeGeom(g), run: (b) => ({ y: b.avgPool2d(x, g.attrs) }),
          tol: (i, ref) => sumBound(T, S()[i], ref), inputs: [x],
        });
      }),
      fcParams(150, 'avgPool2d'),
    );
  });

  it('avgPool2dBackward', () => {
    fc.assert(
      fc.property(poolGeomArb, (g) => {
        const xShape = [g.N, g.H, g.W, g.C];
        const dy = tf(f32data(g.N * g.OH * g.OW * g.C, g.seed + 1), [g.N, g.OH, g.OW, g.C]);
        const S = lazy(() => referenceBackend.avgPool2dBackward(abs64(dy), xShape, g.attrs).data);
        const T = overlap(g) + 2;
        checkKernel({
          kernel: 'avgPool2dBackward', what: `${describeGeom(g)} dy ${fmt(dy.shape)}`,
          run: (b) => ({ dx: b.avgPool2dBackward(dy, xShape, g.attrs) }),
          tol: (i, ref) => sumBound(T, S()[i], ref), inputs: [dy],
        });
      }),
      fcParams(150, 'avgPool2dBackward'),
    );
  });

  it('globalPool2d and globalPool2dBackward, avg and max', () => {
    fc.assert(
      fc.property(batchArb, fc.oneof(spatialArb, fc.constantFrom(16, 17, 33)), spatialArb, channelsArb,
        fc.constantFrom<GlobalPoolMode>('avg', 'max'), fc.boolean(), fc.boolean(), seedArb,
        (N, H, W, C, mode, backward, ties, seed) => {
          const shape = [N, H, W, C];
          const HW = H * W;
          const x = tf(f32data(sizeOf(shape), seed, {
            lo: -2, hi: 2, quantum: ties ? 1 : undefined,
            specialRate: mode === 'max' && seed % 3 === 0 ? 0.03 : 0, specials: [NaN, Infinity, -Infinity, -0],
          }), shape);
          const what = `${mode} x ${fmt(shape)}${ties ? ' ties' : ''}`;
          if (!backward) {
            const S = lazy(() => referenceBackend.globalPool2d(abs64(x), 'avg').data);
            checkKernel({
              kernel: 'globalPool2d', what, run: (b) => ({ y: b.globalPool2d(x, mode) }),
              tol: mode === 'max' ? 'exact' : (i, ref) => sumBound(HW + 2, S()[i], ref), inputs: [x],
            });
          } else {
            const dy = tf(f32data(N * C, seed + 1), [N, C]);
            checkKernel({
              kernel: 'globalPool2dBackward', what: `${what} dy ${fmt([N, C])}`,
              run: (b) => ({ dx: b.globalPool2dBackward(dy, x, mode) }),
              tol: mode === 'max' ? 'exact' : (_i, ref) => sumBound(2, Math.abs(ref), ref), inputs: [dy, x],
            });
          }
        }),
      fcParams(150, 'globalPool2d', 'globalPool2dBackward'),
    );
  });
});
