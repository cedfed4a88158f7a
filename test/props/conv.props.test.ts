/**
 * Properties: native conv2d, conv2dBackwardData and conv2dBackwardFilter against the reference (and their
 * Promise forms against the synchronous ones), over NHWC inputs with batch 0/1/n, 1x1 images, channels 1, 3,
 * 17, 65, kernels larger than the input (with the padding that makes them fit), strides larger than the
 * kernel, dilation > 1, asymmetric pads, groups, and depthwise with a channel multiplier.
 *
 * Tolerance. Every output element of all three kernels is a sum of products (a dot product) of at most T terms:
 *   conv2d:               T = KH*KW*Cin/groups (+1 for the bias)   S = conv2d(|x|, |w|) + |bias|
 *   conv2dBackwardData:   T = KH*KW*Cout/groups                     S = conv2dBackwardData(|dy|, |w|)
 *   conv2dBackwardFilter: T = N*OH*OW                               S = conv2dBackwardFilter(|x|, |dy|)
 * with S, the sum of the absolute products, computed by the float64 reference on absolute values. Summed in
 * float32 in any order, blocking or im2col/GEMM arrangement (with or without FMA), against the reference that
 * sums in double and rounds once:  |got - ref| <= gamma_T S + eps32 |ref| (+ gamma64_T S + T 2^-149)
 * (Higham 3.1), which is sumBound(T, S, ref). Windows partly in the padding have fewer terms; T bounds them all.
 * IEEE specials go into x of the forward only: there every arrangement multiplies the same in-bounds pairs,
 * while padded taps are skipped by the reference and may be multiplied as zeros by an im2col kernel.
 *
 * Fused relu (attrs.activation 'relu'), over the same geometries, so every conv path (im2col, 1x1 direct GEMM,
 * Winograd, depthwise) on every ISA project: relu is 1-Lipschitz, so the linear bound taken at the
 * pre-activation reference holds for relu(native) vs relu(ref); and the fused output must be bit for bit
 * relu(native linear output) with `v < 0 ? 0 : v` (NaN and -0 pass through, as matmul's epilogue).
 */
import { describe, it } from 'vitest';

import { windowOutSize } from '../../src/backends/backend.js';
import type { Conv2DAttrs, KTensor } from '../../src/backends/backend.js';
import {
  checkAsyncKernel, checkKernel, fcParams, nativeAsyncKernels, nativeBackend, referenceBackend, reportCoverage, sumBound,
} from '../helpers/backends.js';
import { abs64, batchArb, channelsArb, f32data, fc, fmt, lazy, seedArb, sizeOf, spatialArb, tf } from './arb.js';

reportCoverage('conv', ['conv2d', 'conv2dBackwardData', 'conv2dBackwardFilter']);

// The float32 emulations (NODEGRAD_PROPS_EMULATE, test/props/emulated.ts) do not model the fused activation, so
// its properties run on the real kernels only.
const EMULATED = process.env.NODEGRAD_PROPS_EMULATE === 'f32' || process.env.NODEGRAD_PROPS_EMULATE === 'mutant';

interface ConvGeom {
  N: number; H: number; W: number; Cin: number; Cout: number; groups: number; Cg: number;
  KH: number; KW: number; attrs: Conv2DAttrs; OH: number; OW: number; mode: string;
  bias: boolean; specials: boolean; seed: number;
}

const smallDil = fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 3 }), weight: 1 });
const stride = fc.oneof({ arbitrary: fc.constant(1), weight: 3 }, { arbitrary: fc.integer({ min: 2, max: 5 }), weight: 2 });

const convGeomArb: fc.Arbitrary<ConvGeom> = fc.record({
  N: batchArb, H: spatialArb, W: spatialArb,
  mode: fc.constantFrom('plain', 'plain', 'grouped', 'depthwise'),
  cin: channelsArb, cout: channelsArb,
  groups: fc.integer({ min: 2, max: 4 }), cg: fc.constantFrom(1, 2, 3, 5), co: fc.integer({ min: 1, max: 4 }),
  KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
  sh: stride, sw: stride, dh: smallDil, dw: smallDil,
  pads: fc.tuple(fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.nat({ max: 4 }), fc.nat({ max: 4 })),
  bias: fc.boolean(),
  specials: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: seedArb,
}).map((r) => {
  let Cin: number, Cout: number, groups: number;
  if (r.mode === 'plain') { Cin = r.cin; Cout = r.cout; groups = 1; }
  else if (r.mode === 'grouped') { groups = r.groups; Cin = groups * r.cg; Cout = groups * r.co; }
  else { groups = r.cin; Cin = r.cin; Cout = r.cin * r.co; } // depthwise, multiplier co
  let { H, W } = r;
  const Cg = Cin / groups;
  // Keep every kernel's reference work near 1.5M multiply-adds: shrink the image first.
  const work = (): number => Math.max(r.N, 1) * H * W * Math.max(Cin, Cout) * r.KH * r.KW * Math.max(Cg, Cout / groups);
  while (work() > 1_500_000 && (H > 1 || W > 1)) { if (H >= W) H = Math.ceil(H / 2); else W = Math.ceil(W / 2); }
  const spanH = (r.KH - 1) * r.dh + 1;
  const spanW = (r.KW - 1) * r.dw + 1;
  const [pt, pb0, pl, pr0] = r.pads;
  // The window must fit in the padded input (the ops layer's rule): pad after as needed (kernel larger than input).
  const pb = Math.max(pb0, spanH - H - pt);
  const pr = Math.max(pr0, spanW - W - pl);
  const attrs: Conv2DAttrs = { strides: [r.sh, r.sw], dilations: [r.dh, r.dw], pads: [pt, pb, pl, pr], groups };
  const OH = windowOutSize(H, r.KH, r.sh, r.dh, pt, pb);
  const OW = windowOutSize(W, r.KW, r.sw, r.dw, pl, pr);
  return { N: r.N, H, W, Cin, Cout, groups, Cg, KH: r.KH, KW: r.KW, attrs, OH, OW, mode: r.mode, bias: r.bias, specials: r.specials, seed: r.seed };
});

function describeGeom(g: ConvGeom): string {
  const a = g.attrs;
  return `${g.mode} x ${fmt([g.N, g.H, g.W, g.Cin])} w ${fmt([g.KH, g.KW, g.Cg, g.Cout])} -> ${fmt([g.N, g.OH, g.OW, g.Cout])} ` +
    `strides ${fmt(a.strides)} dilations ${fmt(a.dilations)} pads [t,b,l,r]=${fmt(a.pads)} groups ${a.groups}`;
}

function tensors(g: ConvGeom) {
  const xShape = [g.N, g.H, g.W, g.Cin];
  const wShape = [g.KH, g.KW, g.Cg, g.Cout];
  const dyShape = [g.N, g.OH, g.OW, g.Cout];
  const x = tf(f32data(sizeOf(xShape), g.seed, { specialRate: g.specials ? 0.01 : 0, specials: [NaN, Infinity, -Infinity, -0] }), xShape);
  const xPlain = tf(f32data(sizeOf(xShape), g.seed), xShape);
  const w = tf(f32data(sizeOf(wShape), g.seed + 1), wShape);
  const dy = tf(f32data(sizeOf(dyShape), g.seed + 2), dyShape);
  const bias = g.bias ? tf(f32data(g.Cout, g.seed + 3), [g.Cout]) : undefined;
  return { xShape, wShape, x, xPlain, w, dy, bias };
}

describe('props: convolution, native vs reference', () => {
  it('conv2d', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const { x, w, bias } = tensors(g);
        const S = lazy(() => referenceBackend.conv2d(abs64(x), abs64(w), g.attrs, bias ? abs64(bias) : undefined).data);
        const T = g.KH * g.KW * g.Cg + (bias ? 1 : 0);
        checkKernel({
          kernel: 'conv2d',
          what: `${describeGeom(g)}${bias ? ' +bias' : ''}${g.specials ? ' +specials in x' : ''}`,
          run: (b) => ({ y: b.conv2d(x, w, g.attrs, bias) }),
          tol: (i, ref) => sumBound(T, S()[i], ref),
          inputs: bias ? [x, w, bias] : [x, w],
        });
      }),
      fcParams(250, 'conv2d'),
    );
  });

  it.skipIf(EMULATED)('conv2d with fused relu', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const { x, w, bias } = tensors(g);
        const attrs: Conv2DAttrs = { ...g.attrs, activation: 'relu' };
        const S = lazy(() => referenceBackend.conv2d(abs64(x), abs64(w), g.attrs, bias ? abs64(bias) : undefined).data);
        const pre = lazy(() => referenceBackend.conv2d(x, w, g.attrs, bias).data);
        const T = g.KH * g.KW * g.Cg + (bias ? 1 : 0);
        const what = `${describeGeom(g)}${bias ? ' +bias' : ''}${g.specials ? ' +specials in x' : ''} relu`;
        checkKernel({
          kernel: 'conv2d',
          what,
          run: (b) => ({ y: b.conv2d(x, w, attrs, bias) }),
          tol: (i) => sumBound(T, S()[i], pre()[i]),
          inputs: bias ? [x, w, bias] : [x, w],
        });
        const lin = nativeBackend.conv2d(x, w, g.attrs, bias).data;
        const fused = nativeBackend.conv2d(x, w, attrs, bias).data;
        for (let i = 0; i < lin.length; i++) {
          const want = lin[i] < 0 ? 0 : lin[i];
          if (!Object.is(fused[i], want)) throw new Error(`${what}: fused relu ${fused[i]} at flat ${i}, relu(linear) is ${want}`);
        }
      }),
      fcParams(150, 'conv2d'),
    );
  });

  it('conv2dBackwardData (also conv2dTranspose forward)', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const { xShape, w, dy } = tensors(g);
        const S = lazy(() => referenceBackend.conv2dBackwardData(abs64(dy), abs64(w), xShape, g.attrs).data);
        const T = g.KH * g.KW * (g.Cout / g.groups);
        checkKernel({
          kernel: 'conv2dBackwardData',
          what: `${describeGeom(g)} dy ${fmt(dy.shape)} xShape ${fmt(xShape)}`,
          run: (b) => ({ dx: b.conv2dBackwardData(dy, w, xShape, g.attrs) }),
          tol: (i, ref) => sumBound(T, S()[i], ref),
          inputs: [dy, w],
        });
      }),
      fcParams(250, 'conv2dBackwardData'),
    );
  });

  it('conv2dBackwardFilter', () => {
    fc.assert(
      fc.property(convGeomArb, (g) => {
        const { xPlain: x, wShape, dy } = tensors(g);
        const S = lazy(() => referenceBackend.conv2dBackwardFilter(abs64(x), abs64(dy), wShape, g.attrs).data);
        const T = g.N * g.OH * g.OW;
        checkKernel({
          kernel: 'conv2dBackwardFilter',
          what: `${describeGeom(g)} dy ${fmt(dy.shape)} wShape ${fmt(wShape)}`,
          run: (b) => ({ dw: b.conv2dBackwardFilter(x, dy, wShape, g.attrs) }),
          tol: (i, ref) => sumBound(T, S()[i], ref),
          inputs: [x, dy],
        });
      }),
      fcParams(250, 'conv2dBackwardFilter'),
    );
  });

  const asyncForms = nativeAsyncKernels().filter((k) => k.startsWith('conv2d'));
  it.skipIf(asyncForms.length === 0)(`Promise forms (${asyncForms.join(', ') || 'none yet'}): bit-identical to the synchronous kernels`, async () => {
    await fc.assert(
      fc.asyncProperty(convGeomArb, async (g) => {
        const { xShape, wShape, x, xPlain, w, dy, bias } = tensors(g);
        const what = describeGeom(g);
        const inputs: KTensor[] = bias ? [x, w, bias] : [x, w];
        await checkAsyncKernel('conv2d', what, (f) => f.conv2d(x, w, g.attrs, bias), (b) => b.conv2d(x, w, g.attrs, bias), inputs);
        const relu: Conv2DAttrs = { ...g.attrs, activation: 'relu' };
        if (!EMULATED) await checkAsyncKernel('conv2d', `${what} relu`, (f) => f.conv2d(x, w, relu, bias), (b) => b.conv2d(x, w, relu, bias), inputs);
        await checkAsyncKernel('conv2dBackwardData', what, (f) => f.conv2dBackwardData(dy, w, xShape, g.attrs),
          (b) => b.conv2dBackwardData(dy, w, xShape, g.attrs), [dy, w]);
        await checkAsyncKernel('conv2dBackwardFilter', what, (f) => f.conv2dBackwardFilter(xPlain, dy, wShape, g.attrs),
          (b) => b.conv2dBackwardFilter(xPlain, dy, wShape, g.attrs), [xPlain, dy]);
      }),
      fcParams(20, 'conv2d', 'conv2dBackwardData', 'conv2dBackwardFilter'),
    );
  });
});
