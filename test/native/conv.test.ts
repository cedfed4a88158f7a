/**
 * Native conv2d / conv2dBackwardData / conv2dBackwardFilter against the reference backend (the oracle) over
 * the awkward cases: batch 1 and 0, 1x1 images, channels 1, 3, 17, 65, kernels larger than the input with
 * padding, strides larger than the kernel, dilations 2-3, asymmetric pads, groups 2/3, depthwise with
 * multiplier 1, 2 and 3, 1x1 stride-1 (one GEMM) and strided 1x1, and inputs the windows do not tile exactly.
 *
 * - In process: the native backend (src/backends/native/conv.ts, so the TS wrapper too) at 1, 2 and 3 threads,
 *   deterministic per thread count and never writing its inputs (checkKernel, test/helpers/backends.ts).
 * - Every ISA path the machine has (avx512, avx2, scalar / neon, scalar): a child process per path with
 *   NODEGRAD_ISA set (the dispatch is chosen at load), at 1 and 2 threads, compared here with the reference.
 *
 * Tolerance, per output element i, from its reduction length L (terms summed: L = KH*KW*Cin/groups products
 * for the forward, plus the bias; L = KH*KW*Cout/groups for backward data; L = N*OH*OW for backward filter):
 *   |native - ref| <= gamma32(L + 1) * S_i + u32 * |ref_i| + gamma64(L + 1) * S_i + (L + 1) * 2^-149
 * with S_i = sum of |terms| (the reference run on |x|, |w|, |dy|, |bias| in float64): Higham's bound for any
 * summation order, plus the reference's own double sum and final rounding (sumBound in test/helpers/backends.ts).
 * 3x3 stride-1 cases may run as Winograd F(2x2, 3x3); they are held to the larger of that bound and Winograd's
 * own (winogradAbsSum below; for backward filter, the weight gradient's winogradFilterAbsSum in
 * test/helpers/winograd.ts), also derived, not fitted.
 *
 * Fused relu (attrs.activation 'relu', every case and path: im2col, 1x1 direct GEMM, Winograd, depthwise, and the
 * K = 0 bias-only tiles): relu is 1-Lipschitz, so |relu(native) - relu(ref)| <= |native - ref| and the linear
 * forward's bound at the pre-activation reference holds. Stronger, and exact: the fused output is bit for bit
 * relu(the linear output) (v < 0 ? 0 : v), because every path applies it to the value it would have stored.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import type { Backend, Conv2DAttrs, KTensor } from '../../src/backends/backend.js';
import { windowOutSize } from '../../src/backends/backend.js';
import type { IsaName } from '../../src/backends/native/index.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { convGeometry, type ConvAddon } from '../../src/backends/native/conv.js';
import { getNumThreads, nativeInfo, setNumThreads } from '../../src/backends/native/index.js';
import { referenceBackend } from '../../src/backends/reference/index.js';
import { checkKernel, compareTensors, isNative, nativeBackend, nativeLoadError, sumBound, type Tol } from '../helpers/backends.js';
import { uniformF32 } from '../helpers/random.js';
import { winogradFilterAbsSum } from '../helpers/winograd.js';
import { ROOT } from './harness.js';

interface ConvCase {
  readonly name: string;
  /** x [N, H, W, Cin] */
  readonly x: readonly [number, number, number, number];
  /** filter [KH, KW, Cin/groups, Cout] */
  readonly w: readonly [number, number, number, number];
  readonly groups?: number;
  readonly strides?: readonly [number, number];
  readonly dil?: readonly [number, number];
  /** [top, bottom, left, right] */
  readonly pads?: readonly [number, number, number, number];
  readonly bias?: boolean;
}

const CASES: readonly ConvCase[] = [
  { name: 'batch 1, 3x3 same, cin 3', x: [1, 5, 6, 3], w: [3, 3, 3, 4], pads: [1, 1, 1, 1], bias: true },
  { name: 'empty batch', x: [0, 4, 4, 3], w: [3, 3, 3, 2], pads: [1, 1, 1, 1], bias: true },
  { name: '1x1 image, 1x1 kernel', x: [2, 1, 1, 5], w: [1, 1, 5, 3], bias: true },
  { name: '1x1 image, 3x3 kernel padded', x: [2, 1, 1, 4], w: [3, 3, 4, 3], pads: [1, 1, 1, 1] },
  { name: 'cin 1 (multiplier path), cout 2', x: [2, 6, 5, 1], w: [3, 3, 1, 2], pads: [1, 1, 1, 1], bias: true },
  { name: 'cin 17 -> cout 65', x: [1, 5, 5, 17], w: [3, 3, 17, 65], pads: [1, 1, 1, 1], bias: true },
  { name: 'cin 65 -> cout 17, asymmetric pads', x: [2, 4, 3, 65], w: [2, 2, 65, 17], pads: [0, 1, 1, 0] },
  { name: 'kernel larger than the input, padded', x: [2, 3, 2, 3], w: [5, 4, 3, 4], pads: [2, 2, 2, 1], bias: true },
  { name: 'stride 3 > kernel 2', x: [2, 9, 10, 3], w: [2, 2, 3, 5], strides: [3, 3] },
  { name: 'dilation 2', x: [1, 9, 8, 4], w: [3, 3, 4, 3], dil: [2, 2], pads: [2, 2, 2, 2] },
  { name: 'dilation 3x2, stride 2, uneven pads', x: [2, 11, 10, 3], w: [3, 3, 3, 4], dil: [3, 2], strides: [2, 2], pads: [3, 2, 1, 3] },
  { name: 'asymmetric pads', x: [2, 6, 7, 5], w: [3, 3, 5, 6], pads: [0, 2, 1, 0], bias: true },
  { name: 'groups 2', x: [2, 5, 6, 6], w: [3, 3, 3, 4], groups: 2, pads: [1, 1, 1, 1], bias: true },
  { name: 'groups 3, stride 2', x: [1, 6, 5, 9], w: [3, 3, 3, 6], groups: 3, strides: [2, 2], pads: [1, 1, 0, 1] },
  { name: 'groups 3, 1x1 stride 1 (direct GEMM per group)', x: [2, 4, 5, 9], w: [1, 1, 3, 6], groups: 3, bias: true },
  { name: 'depthwise c17 m1, 3x3 same', x: [2, 7, 9, 17], w: [3, 3, 1, 17], groups: 17, pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise c5 m2, stride 2', x: [2, 6, 7, 5], w: [3, 3, 1, 10], groups: 5, strides: [2, 2], pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise c33 m1, 5x5 dilation 2', x: [1, 9, 13, 33], w: [5, 5, 1, 33], groups: 33, dil: [2, 2], pads: [4, 3, 4, 5] },
  { name: 'depthwise c32 m1, stride 2, wide rows', x: [1, 10, 23, 32], w: [3, 3, 1, 32], groups: 32, strides: [2, 2], pads: [1, 0, 1, 0], bias: true },
  { name: 'depthwise c3 m3, 4x4 stride 3', x: [2, 8, 9, 3], w: [4, 4, 1, 9], groups: 3, strides: [3, 3], pads: [1, 2, 2, 1] },
  { name: 'depthwise pads beyond the kernel span', x: [1, 3, 4, 8], w: [2, 2, 1, 8], groups: 8, pads: [3, 3, 3, 2], bias: true },
  { name: 'depthwise 1x1 image, 3x3 padded', x: [3, 1, 1, 16], w: [3, 3, 1, 16], groups: 16, pads: [1, 1, 1, 1] },
  { name: 'depthwise dilation 3, stride 1x2', x: [2, 10, 11, 7], w: [3, 3, 1, 7], groups: 7, dil: [3, 3], strides: [1, 2], pads: [3, 3, 3, 3] },
  { name: 'depthwise c40 m1, 3x3 same, long rows (interior tiles)', x: [2, 6, 37, 40], w: [3, 3, 1, 40], groups: 40, pads: [1, 1, 1, 1] },
  { name: 'depthwise c8 m2, 3x3 same, long rows (paired rows, expanded ring)', x: [2, 7, 21, 8], w: [3, 3, 1, 16], groups: 8, pads: [1, 1, 1, 1], bias: true },
  { name: 'depthwise c16 m1, 3x3 stride 1 dilation (1, 2)', x: [1, 8, 19, 16], w: [3, 3, 1, 16], groups: 16, dil: [1, 2], pads: [1, 1, 2, 2] },
  { name: '1x1 stride 1 (one GEMM on x)', x: [2, 5, 7, 17], w: [1, 1, 17, 9], bias: true },
  { name: 'strided 1x1', x: [2, 7, 6, 8], w: [1, 1, 8, 5], strides: [2, 2] },
  { name: '1x1 with padding', x: [1, 3, 4, 3], w: [1, 1, 3, 2], pads: [1, 1, 1, 1] },
  { name: 'x not tiled exactly by the windows', x: [2, 8, 9, 4], w: [3, 3, 4, 3], strides: [2, 2] },
  { name: 'conv1d shape (H = 1), causal pad', x: [2, 1, 17, 3], w: [1, 5, 3, 4], pads: [0, 0, 4, 0], bias: true },
  { name: 'winograd: valid 3x3, odd output', x: [2, 9, 8, 16], w: [3, 3, 16, 20] },
  { name: 'winograd: pads 2 (backward data with pads 0)', x: [1, 6, 7, 24], w: [3, 3, 24, 16], pads: [2, 2, 2, 2], bias: true },
  { name: 'winograd: asymmetric pads, channels 33 -> 17', x: [2, 10, 11, 33], w: [3, 3, 33, 17], pads: [1, 0, 0, 1], bias: true },
  { name: 'winograd shape with pads 3 (backward data falls back to GEMM)', x: [1, 5, 5, 16], w: [3, 3, 16, 16], pads: [3, 3, 3, 3] },
  { name: 'winograd: 2x2 images', x: [3, 2, 2, 16], w: [3, 3, 16, 16], pads: [1, 1, 1, 1] },
  { name: 'many row tiles and threads', x: [2, 24, 24, 64], w: [3, 3, 64, 32], pads: [1, 1, 1, 1], bias: true },
  { name: 'groups 2, stride 2, dilation 2, many tiles', x: [3, 17, 15, 16], w: [3, 3, 8, 12], groups: 2, strides: [2, 2], dil: [2, 2], pads: [2, 1, 2, 2] },
];

function attrsOf(c: ConvCase): Conv2DAttrs {
  return { strides: c.strides ?? [1, 1], dilations: c.dil ?? [1, 1], pads: c.pads ?? [0, 0, 0, 0], groups: c.groups ?? 1 };
}

function outShapeOf(c: ConvCase): [number, number, number, number] {
  const a = attrsOf(c);
  const oh = windowOutSize(c.x[1], c.w[0], a.strides[0], a.dilations[0], a.pads[0], a.pads[1]);
  const ow = windowOutSize(c.x[2], c.w[1], a.strides[1], a.dilations[1], a.pads[2], a.pads[3]);
  return [c.x[0], oh, ow, c.w[3]];
}

const prod = (s: readonly number[]): number => s.reduce((p, v) => p * v, 1);

interface Inputs {
  readonly x: KTensor<Float32Array>;
  readonly w: KTensor<Float32Array>;
  readonly dy: KTensor<Float32Array>;
  readonly bias?: KTensor<Float32Array>;
}

function inputsOf(c: ConvCase, k: number): Inputs {
  const y = outShapeOf(c);
  return {
    x: { data: uniformF32(prod(c.x), 1000 + 4 * k), shape: [...c.x] },
    w: { data: uniformF32(prod(c.w), 1001 + 4 * k), shape: [...c.w] },
    dy: { data: uniformF32(prod(y), 1002 + 4 * k), shape: y },
    bias: c.bias ? { data: uniformF32(c.w[3], 1003 + 4 * k), shape: [c.w[3]] } : undefined,
  };
}

type Pass = 'fwd' | 'fwdRelu' | 'bwdData' | 'bwdFilter';
const PASSES: readonly Pass[] = ['fwd', 'fwdRelu', 'bwdData', 'bwdFilter'];

/** The bytes of a typed array's own elements (kernel outputs may be views into a larger buffer). */
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The fused epilogue's relu, as the kernels apply it: NaN and -0 pass through. */
const relu32 = (a: Float32Array): Float32Array => a.map((v) => (v < 0 ? 0 : v));

function runPass(b: Backend, pass: Pass, c: ConvCase, t: Inputs): KTensor {
  const a = attrsOf(c);
  if (pass === 'fwd') return b.conv2d(t.x, t.w, a, t.bias);
  if (pass === 'fwdRelu') return b.conv2d(t.x, t.w, { ...a, activation: 'relu' }, t.bias);
  if (pass === 'bwdData') return b.conv2dBackwardData(t.dy, t.w, c.x, a);
  return b.conv2dBackwardFilter(t.x, t.dy, c.w, a);
}

/** Terms each output element sums: the pass's reduction length (+1 for the bias). */
function reductionLength(pass: Pass, c: ConvCase): number {
  const g = c.groups ?? 1;
  const [n, oh, ow, cout] = outShapeOf(c);
  if (pass === 'fwd' || pass === 'fwdRelu') return c.w[0] * c.w[1] * c.w[2] + (c.bias ? 1 : 0);
  if (pass === 'bwdData') return c.w[0] * c.w[1] * (cout / g);
  return n * oh * ow;
}

const abs64 = (t: KTensor<Float32Array>): KTensor<Float64Array> => ({ data: Float64Array.from(t.data, Math.abs), shape: t.shape });

/**
 * Winograd F(2x2, 3x3) (native/runtime/conv_wino.cc) computes the same sums through transforms with
 * coefficients 0, +-1, +-1/2; expanding them, its result is a sum of coefficient * d * g terms, so its error is
 * at most gamma(Cin + 13) times that sum over absolute values (Cin products summed in the GEMM, 2 roundings in
 * the input transform, 4 in the filter transform, 4 in the output transform, 1 for the bias):
 *   S[o] = sum_c sum_{i,j} |A^T|[a][i] |A^T|[b][j] (|B^T| |d_c| |B|)[i][j] (|G| |g_c| |G^T|)[i][j].
 * in [n, hIn, wIn, cIn] (float64 absolute values), filt(a, b, ci, co) the 3x3 filter read as a forward one.
 */
function winogradAbsSum(
  inp: Float64Array, [n, hIn, wIn, cIn]: readonly number[], filt: (a: number, b: number, ci: number, co: number) => number,
  cOut: number, padTop: number, padLeft: number, hOut: number, wOut: number, bias?: Float64Array,
): Float64Array {
  const BT = [[1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]]; // |B^T|
  const G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0, 0, 1]]; // |G|
  const AT = [[1, 1, 1, 0], [0, 1, 1, 1]]; // |A^T|
  // U+[ci][co][16]
  const U = new Float64Array(cIn * cOut * 16);
  for (let ci = 0; ci < cIn; ci++) {
    for (let co = 0; co < cOut; co++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let acc = 0;
          for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) acc += G[i][a] * G[j][b] * Math.abs(filt(a, b, ci, co));
          U[(ci * cOut + co) * 16 + i * 4 + j] = acc;
        }
      }
    }
  }
  const out = new Float64Array(n * hOut * wOut * cOut);
  const V = new Float64Array(cIn * 16);
  for (let b0 = 0; b0 < n; b0++) {
    for (let ty = 0; ty < Math.ceil(hOut / 2); ty++) {
      for (let tx = 0; tx < Math.ceil(wOut / 2); tx++) {
        for (let ci = 0; ci < cIn; ci++) {
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) {
              let acc = 0;
              for (let p = 0; p < 4; p++) {
                for (let q = 0; q < 4; q++) {
                  const coef = BT[i][p] * BT[j][q];
                  const iy = 2 * ty - padTop + p, ix = 2 * tx - padLeft + q;
                  if (coef === 0 || iy < 0 || iy >= hIn || ix < 0 || ix >= wIn) continue;
                  acc += coef * inp[((b0 * hIn + iy) * wIn + ix) * cIn + ci];
                }
              }
              V[ci * 16 + i * 4 + j] = acc;
            }
          }
        }
        for (let co = 0; co < cOut; co++) {
          for (let a = 0; a < 2; a++) {
            for (let b = 0; b < 2; b++) {
              const oy = 2 * ty + a, ox = 2 * tx + b;
              if (oy >= hOut || ox >= wOut) continue;
              let acc = bias ? bias[co] : 0;
              for (let ci = 0; ci < cIn; ci++) {
                for (let k = 0; k < 16; k++) acc += AT[a][k >> 2] * AT[b][k & 3] * V[ci * 16 + k] * U[(ci * cOut + co) * 16 + k];
              }
              out[((b0 * hOut + oy) * wOut + ox) * cOut + co] = acc;
            }
          }
        }
      }
    }
  }
  return out;
}

/** Cases the drivers may run with Winograd (conv_wino.cc's rule, minus its size thresholds): 3x3, stride 1, undilated, ungrouped. */
function winogradShaped(c: ConvCase): boolean {
  const a = attrsOf(c);
  return c.w[0] === 3 && c.w[1] === 3 && a.strides[0] === 1 && a.strides[1] === 1 && a.dilations[0] === 1 && a.dilations[1] === 1 && a.groups === 1;
}

/** The tolerance function of one pass: sumBound over the reference run on absolute values (and Winograd's bound where it may run). */
function tolOf(pass: Pass, c: ConvCase, t: Inputs): Tol {
  const absInputs: Inputs = { x: abs64(t.x) as never, w: abs64(t.w) as never, dy: abs64(t.dy) as never, bias: t.bias && (abs64(t.bias) as never) };
  const s = runPass(referenceBackend, pass, c, absInputs).data;
  if (pass === 'fwdRelu') {
    // 1-Lipschitz: the linear forward's bound, taken at the pre-activation reference.
    const pre = runPass(referenceBackend, 'fwd', c, t).data;
    const linear = tolOf('fwd', c, t);
    return typeof linear === 'function' ? (i, _ref, got) => linear(i, pre[i], got) : linear;
  }
  const L = reductionLength(pass, c);
  let sw: Float64Array | undefined;
  const a = attrsOf(c);
  const [cin, cout] = [c.x[3], c.w[3]];
  const [n, oh, ow] = outShapeOf(c);
  const wAbs = absInputs.w.data;
  if (winogradShaped(c) && pass === 'fwd') {
    sw = winogradAbsSum(absInputs.x.data as unknown as Float64Array, c.x, (p, q, ci, co) => wAbs[((p * 3 + q) * cin + ci) * cout + co], cout,
      a.pads[0], a.pads[2], oh, ow, absInputs.bias?.data as Float64Array | undefined);
  } else if (winogradShaped(c) && pass === 'bwdData' && a.pads[0] <= 2 && a.pads[2] <= 2) {
    sw = winogradAbsSum(absInputs.dy.data as unknown as Float64Array, [n, oh, ow, cout], (p, q, co, ci) => wAbs[(((2 - p) * 3 + (2 - q)) * cin + ci) * cout + co], cin,
      2 - a.pads[0], 2 - a.pads[2], c.x[1], c.x[2]);
  }
  if (winogradShaped(c) && pass === 'bwdFilter') {
    // The weight gradient's bound (test/helpers/winograd.ts): gamma(tiles + 8) over its own absolute sum.
    const tiles = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
    const sf = winogradFilterAbsSum(absInputs.x.data as unknown as Float64Array, c.x, absInputs.dy.data as unknown as Float64Array, cout,
      a.pads[0], a.pads[2], oh, ow);
    return (i, ref) => Math.max(sumBound(L + 1, s[i], ref), sumBound(tiles + 8, sf[i], ref));
  }
  const nWino = (pass === 'fwd' ? cin : cout) + 13;
  return sw ? (i, ref) => Math.max(sumBound(L + 1, s[i], ref), sumBound(nWino, sw![i], ref)) : (i, ref) => sumBound(L + 1, s[i], ref);
}

const INPUTS = CASES.map(inputsOf);
const REFS = CASES.map((c, k) => Object.fromEntries(PASSES.map((p) => [p, runPass(referenceBackend, p, c, INPUTS[k])])) as Record<Pass, KTensor>);
const TOLS = CASES.map((c, k) => Object.fromEntries(PASSES.map((p) => [p, tolOf(p, c, INPUTS[k])])) as Record<Pass, Tol>);

describe('native conv vs the reference, in process (1, 2, 3 threads)', () => {
  it('the native backend runs all three conv kernels itself', () => {
    expect(nativeLoadError).toBeUndefined();
    expect(isNative('conv2d') && isNative('conv2dBackwardData') && isNative('conv2dBackwardFilter')).toBe(true);
  });

  CASES.forEach((c, k) => {
    const kernelOf: Record<Pass, 'conv2d' | 'conv2dBackwardData' | 'conv2dBackwardFilter'> = {
      fwd: 'conv2d', fwdRelu: 'conv2d', bwdData: 'conv2dBackwardData', bwdFilter: 'conv2dBackwardFilter',
    };
    for (const pass of PASSES) {
      it(`${pass}: ${c.name} x${JSON.stringify(c.x)} w${JSON.stringify(c.w)}`, () => {
        const t = INPUTS[k];
        checkKernel({
          kernel: kernelOf[pass],
          what: `${c.name} x[${c.x}] w[${c.w}] ${JSON.stringify(attrsOf(c))}`,
          run: (b) => ({ y: runPass(b, pass, c, t) }),
          tol: TOLS[k][pass],
          inputs: [t.x, t.w, t.dy, ...(t.bias ? [t.bias] : [])],
        });
      });
    }
  });

  it('fused relu is bit for bit relu(linear) on every case (1 and 2 threads)', () => {
    const saved = getNumThreads();
    try {
      for (const th of [1, 2]) {
        setNumThreads(th);
        CASES.forEach((c, k) => {
          const lin = runPass(nativeBackend, 'fwd', c, INPUTS[k]).data as Float32Array;
          const fused = runPass(nativeBackend, 'fwdRelu', c, INPUTS[k]).data as Float32Array;
          expect(bytes(fused).equals(bytes(relu32(lin))), `${c.name} threads=${th}`).toBe(true);
        });
      }
    } finally {
      setNumThreads(saved);
    }
  });

  it('Float64Array inputs run on the reference (the float64 checks) and give its exact result', () => {
    const c = CASES[0];
    const t = INPUTS[0];
    const x64 = { data: Float64Array.from(t.x.data), shape: t.x.shape };
    const w64 = { data: Float64Array.from(t.w.data), shape: t.w.shape };
    const got = nativeBackend.conv2d(x64, w64, attrsOf(c));
    expect(got.data).toBeInstanceOf(Float64Array);
    compareTensors(got, referenceBackend.conv2d(x64, w64, attrsOf(c)), 'exact', 'float64 conv2d');
  });
});

// ---------------------------------------------------------------------------------------------
// Every ISA path, in child processes

const CHILD = fileURLToPath(new URL('./child/conv-run.mjs', import.meta.url));
const available = (nativeInfo()?.available ?? []) as IsaName[];
const work = mkdtempSync(join(tmpdir(), 'nodegrad-conv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const inputFile = join(work, 'cases.json');
writeFileSync(inputFile, JSON.stringify({
  threads: [1, 2],
  cases: CASES.map((c, k) => {
    const t = INPUTS[k];
    const y = outShapeOf(c);
    return {
      name: c.name,
      x: Array.from(t.x.data), w: Array.from(t.w.data), dy: Array.from(t.dy.data), bias: t.bias ? Array.from(t.bias.data) : null,
      yLength: prod(y),
      geometry: convGeometry(c.x, c.w, attrsOf(c), y[1], y[2]),
    };
  }),
}));

describe('every ISA path (child process per NODEGRAD_ISA, 1 and 2 threads)', () => {
  for (const isa of available) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const outFile = join(work, `out-${isa}.json`);
      const env = { ...process.env, NODEGRAD_ISA: isa };
      const stdout = execFileSync(process.execPath, [CHILD, inputFile, outFile], { env, cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
      const report = JSON.parse(stdout.trim().split('\n').pop()!) as { info?: { isa: string; kernels: Record<string, string> }; nondeterministic?: string[]; loadError?: string };
      expect(report.loadError).toBeUndefined();
      expect(report.info?.isa).toBe(isa);
      const suffix = isa === 'scalar' ? 'ref' : isa;
      expect(report.info?.kernels.dwconv2dForward).toMatch(new RegExp(`^ng_f32_dwconv2d_fwd_c\\d+x\\d+_${suffix}$`));
      expect(report.nondeterministic).toEqual([]);
      const results = JSON.parse(readFileSync(outFile, 'utf8')) as Record<string, (number | null)[]>[];
      const got = (k: number, key: string): Float32Array => Float32Array.from(results[k][key], (v) => (v === null ? NaN : v));
      CASES.forEach((c, k) => {
        for (const pass of PASSES) {
          for (const th of [1, 2]) {
            const ref = REFS[k][pass];
            compareTensors({ data: got(k, `${pass}@${th}`), shape: ref.shape }, ref, TOLS[k][pass], `${isa} threads=${th} ${pass} ${c.name}`);
          }
        }
        for (const th of [1, 2]) {
          const same = bytes(got(k, `fwdRelu@${th}`)).equals(bytes(relu32(got(k, `fwd@${th}`))));
          expect(same, `${isa} threads=${th} fused relu = relu(linear) bit for bit: ${c.name}`).toBe(true);
        }
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Bad input: every check of native/addon/conv.cc throws a named TypeError/RangeError and writes nothing

const addon = loadAddon().addon as ConvAddon;

type Fn = 'conv2dF32' | 'conv2dBackwardDataF32' | 'conv2dBackwardFilterF32';
const FNS: readonly Fn[] = ['conv2dF32', 'conv2dBackwardDataF32', 'conv2dBackwardFilterF32'];
const GEOMETRY_NAMES = ['n', 'h', 'width', 'cin', 'kh', 'kw', 'cout', 'oh', 'ow', 'strideH', 'strideW', 'dilH', 'dilW', 'padTop', 'padBottom', 'padLeft', 'padRight', 'groups'];
/** Arguments after the geometry: the forward's fused activation (0 linear, 1 relu). */
const TAIL: Record<Fn, readonly unknown[]> = { conv2dF32: [1], conv2dBackwardDataF32: [], conv2dBackwardFilterF32: [] };
const ARRAY_NAMES: Record<Fn, readonly string[]> = {
  conv2dF32: ['x', 'w', 'bias', 'out'],
  conv2dBackwardDataF32: ['dy', 'w', 'dx'],
  conv2dBackwardFilterF32: ['x', 'dy', 'dw'],
};

// A valid call: x [2, 5, 4, 6], w [3, 3, 3, 4] groups 2, stride 2, pads [1, 0, 1, 1] -> y [2, 2, 2, 4].
const GOOD_GEOMETRY = [2, 5, 4, 6, 3, 3, 4, 2, 2, 2, 2, 1, 1, 1, 0, 1, 1, 2];
const LEN = { x: 2 * 5 * 4 * 6, w: 3 * 3 * 3 * 4, y: 2 * 2 * 2 * 4, bias: 4 };

function goodArrays(fn: Fn): Float32Array[] {
  const f = (n: number, seed: number): Float32Array => uniformF32(n, seed);
  if (fn === 'conv2dF32') return [f(LEN.x, 1), f(LEN.w, 2), f(LEN.bias, 3), new Float32Array(LEN.y).fill(7)];
  if (fn === 'conv2dBackwardDataF32') return [f(LEN.y, 4), f(LEN.w, 5), new Float32Array(LEN.x).fill(7)];
  return [f(LEN.x, 6), f(LEN.y, 7), new Float32Array(LEN.w).fill(7)];
}

function call(fn: Fn | `${Fn}Async`, args: unknown[]): unknown {
  return (addon[fn] as (...a: unknown[]) => unknown)(...args);
}

function detached(n: number): Float32Array {
  const buf = new ArrayBuffer(n * 4);
  const view = new Float32Array(buf);
  structuredClone(buf, { transfer: [buf] });
  return view;
}

/** Expects `fn(args)` (and its Async form, synchronously) to throw Kind with the message, and the output untouched. */
function expectRejected(fn: Fn, args: unknown[], Kind: typeof TypeError | typeof RangeError, message: string | RegExp): void {
  for (const name of [fn, `${fn}Async`] as const) {
    const out = args[ARRAY_NAMES[fn].length - 1];
    const before = out instanceof Float32Array && out.length > 0 ? out.slice() : undefined;
    const full = typeof message === 'string' ? message.replace(fn, name) : new RegExp(message.source.replace(fn, name));
    expect(() => call(name, args)).toThrow(Kind);
    expect(() => call(name, args)).toThrow(full);
    if (before && out instanceof Float32Array && out.length === before.length) expect(out).toEqual(before);
  }
}

describe('conv addon entries reject bad input with named errors', () => {
  afterAll(() => {
    // The addon still works afterwards.
    const arrays = goodArrays('conv2dF32');
    call('conv2dF32', [...arrays, ...GOOD_GEOMETRY, 0]);
    expect(arrays[3].some((v) => v !== 7)).toBe(true);
  });

  for (const fn of FNS) {
    const names = ARRAY_NAMES[fn];
    const good = (): unknown[] => [...goodArrays(fn), ...GOOD_GEOMETRY, ...TAIL[fn]];

    it(`${fn}: the valid call works (sync and Promise)`, async () => {
      const args = good();
      expect(call(fn, args)).toBeUndefined();
      const again = good();
      const resolved = await (call(`${fn}Async`, again) as Promise<Float32Array>);
      expect(resolved).toBe(again[names.length - 1]);
      expect(resolved).toEqual(args[names.length - 1]);
    });

    it(`${fn}: wrong argument count -> TypeError`, () => {
      const args = good();
      for (const k of [0, args.length - 1, args.length + 1]) {
        const a = k <= args.length ? args.slice(0, k) : [...args, 0];
        expect(() => call(fn, a)).toThrow(TypeError);
        const tail = fn === 'conv2dF32' ? ', activation' : '';
        expect(() => call(fn, a)).toThrow(`${fn}: expected ${args.length} arguments (${names.join(', ')}, ${GEOMETRY_NAMES.join(', ')}${tail}), got ${k}`);
      }
    });

    names.forEach((name, pos) => {
      const wrong: [string, () => unknown][] = [
        ['Float64Array', () => new Float64Array(8)],
        ['Array', () => [1, 2, 3]],
        ['number', () => 3],
        ['Int32Array', () => new Int32Array(8)],
        ['DataView', () => new DataView(new ArrayBuffer(8))],
      ];
      if (name !== 'bias') wrong.push(['null', () => null], ['undefined', () => undefined]);
      for (const [kind, make] of wrong) {
        it(`${fn}: ${name} = ${kind} -> TypeError`, () => {
          const args = good();
          args[pos] = make();
          const msg = name === 'bias' ? `${fn}: argument 'bias' must be a Float32Array or null, got ${kind}` : `${fn}: argument '${name}' must be a Float32Array, got ${kind}`;
          expectRejected(fn, args, TypeError, msg);
        });
      }
      it(`${fn}: ${name} over a SharedArrayBuffer or detached -> TypeError`, () => {
        const args = good();
        const n = (args[pos] as Float32Array).length;
        args[pos] = new Float32Array(new SharedArrayBuffer(n * 4));
        expectRejected(fn, args, TypeError, `${fn}: argument '${name}' is backed by a SharedArrayBuffer`);
        args[pos] = detached(n);
        expectRejected(fn, args, TypeError, `${fn}: argument '${name}' is backed by a detached ArrayBuffer`);
      });
      it(`${fn}: ${name} one element short or long -> RangeError`, () => {
        for (const delta of [-1, 1]) {
          const args = good();
          const n = (args[pos] as Float32Array).length;
          args[pos] = new Float32Array(n + delta);
          expectRejected(fn, args, RangeError, new RegExp(`^${fn}: argument '${name}' has length ${n + delta} but .* is ${n}$`));
        }
      });
    });

    it(`${fn}: bias null is accepted only by the forward`, () => {
      if (fn !== 'conv2dF32') return;
      const args = good();
      args[2] = null;
      expect(() => call(fn, args)).not.toThrow();
    });

    it(`${fn}: activation other than 0 (linear) or 1 (relu) -> TypeError / RangeError`, () => {
      if (fn !== 'conv2dF32') return;
      const pos = names.length + GEOMETRY_NAMES.length;
      const expected = `${fn}: argument 'activation' must be an integer in [0, 1] (0 linear, 1 relu), got `;
      for (const [v, Kind, got] of [[2, RangeError, '2'], [-1, RangeError, '-1'], [0.5, RangeError, '0.5'], ['relu', TypeError, 'string']] as const) {
        const args = good();
        args[pos] = v;
        expectRejected(fn, args, Kind, expected + got);
      }
    });

    GEOMETRY_NAMES.forEach((name, k) => {
      const pos = names.length + k;
      it(`${fn}: ${name} not a number -> TypeError; negative, fractional, NaN or >= 2^31 -> RangeError`, () => {
        const lo = ['kh', 'kw', 'cout', 'strideH', 'strideW', 'dilH', 'dilW', 'groups'].includes(name) ? 1 : 0;
        const expected = `${fn}: argument '${name}' must be an integer in [${lo}, 2147483647], got `;
        for (const [v, got] of [['2', 'string'], [null, 'null'], [undefined, 'undefined'], [2n, 'bigint'], [{}, 'object']] as [unknown, string][]) {
          const args = good();
          args[pos] = v;
          expectRejected(fn, args, TypeError, expected + got);
        }
        for (const v of [-1, 1.5, NaN, Infinity, 2 ** 31]) {
          const args = good();
          args[pos] = v;
          expectRejected(fn, args, RangeError, expected + String(v));
        }
      });
    });

    it(`${fn}: zero kernel size, stride, dilation, groups or cout -> RangeError`, () => {
      for (const name of ['kh', 'kw', 'cout', 'strideH', 'strideW', 'dilH', 'dilW', 'groups']) {
        const args = good();
        args[names.length + GEOMETRY_NAMES.indexOf(name)] = 0;
        expectRejected(fn, args, RangeError, `${fn}: argument '${name}' must be an integer in [1, 2147483647], got 0`);
      }
    });

    it(`${fn}: groups not dividing cin or cout -> RangeError`, () => {
      const args = good();
      args[names.length + GEOMETRY_NAMES.indexOf('groups')] = 4;  // divides cout 4 but not cin 6
      expectRejected(fn, args, RangeError, `${fn}: argument 'groups' = 4 must divide cin = 6 and cout = 4`);
      args[names.length + GEOMETRY_NAMES.indexOf('groups')] = 3;  // divides cin 6 but not cout 4
      expectRejected(fn, args, RangeError, `${fn}: argument 'groups' = 3 must divide cin = 6 and cout = 4`);
    });

    it(`${fn}: oh/ow inconsistent with the window formula -> RangeError`, () => {
      for (const [name, v] of [['oh', 3], ['ow', 1], ['padBottom', 2], ['strideW', 1]] as const) {
        const args = good();
        args[names.length + GEOMETRY_NAMES.indexOf(name)] = v;
        expectRejected(fn, args, RangeError, new RegExp(`^${fn}: arguments 'oh', 'ow' = \\d+, \\d+ do not match the output size`));
      }
    });

    it(`${fn}: a kernel larger than the padded input -> RangeError`, () => {
      const args = good();
      args[names.length + GEOMETRY_NAMES.indexOf('kh')] = 9;
      expectRejected(fn, args, RangeError, `${fn}: the dilated kernel (9x3, dilation 1x1) is larger than the padded input`);
    });

    it(`${fn}: element counts that overflow -> RangeError, never a wrap-around`, () => {
      const big = 2 ** 31 - 1;
      const g = [big, big, big, big, 1, 1, 1, big, big, 1, 1, 1, 1, 0, 0, 0, 0, 1];
      const args = [...goodArrays(fn), ...g, ...TAIL[fn]];
      expectRejected(fn, args, RangeError, `${fn}: n*h*width*cin is too large`);
    });

    it(`${fn}: the output overlapping an input -> RangeError`, () => {
      const outPos = names.length - 1;
      for (let pos = 0; pos < outPos; pos++) {
        const args = good();
        const outLen = (args[outPos] as Float32Array).length;
        const inLen = (args[pos] as Float32Array).length;
        // The output starts on the input's last element.
        const buf = new Float32Array(outLen + inLen + 8);
        args[pos] = buf.subarray(0, inLen);
        args[outPos] = buf.subarray(inLen - 1, inLen - 1 + outLen);
        expectRejected(fn, args, RangeError, `${fn}: argument '${names[outPos]}' overlaps '${names[pos]}'; pass a separate output array`);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Outputs stay inside their arrays, and typed arrays at any offset from a cache line give the same bits

describe('conv outputs are written in bounds only, and any array alignment gives identical results', () => {
  const picks = CASES.filter((c) => c.x[0] > 0 && ['3x3', 'depthwise', '1x1', 'winograd', 'stride'].some((k) => c.name.includes(k))).slice(0, 12);
  for (const c of picks) {
    it(`${c.name}: guard bands untouched, offsets 0..15 floats bit-identical`, () => {
      const k = CASES.indexOf(c);
      const t = INPUTS[k];
      const y = outShapeOf(c);
      const geo = convGeometry(c.x, c.w, attrsOf(c), y[1], y[2]);
      const runs: [Fn, Float32Array[], number][] = [
        ['conv2dF32', [t.x.data, t.w.data, t.bias?.data ?? (null as never)], prod(y)],
        ['conv2dF32', [t.x.data, t.w.data, t.bias?.data ?? (null as never)], prod(y)],
        ['conv2dBackwardDataF32', [t.dy.data, t.w.data], prod(c.x)],
        ['conv2dBackwardFilterF32', [t.x.data, t.dy.data], prod(c.w)],
      ];
      for (const [r, [fn, ins, len]] of runs.entries()) {
        const tail = fn === 'conv2dF32' ? [r === 0 ? 0 : 1] : [];  // the forward linear, then with fused relu
        let first: Float32Array | undefined;
        for (let off = 0; off < 16; off += 3) {
          // Inputs and output shifted by `off` floats inside larger buffers; 32 sentinels after the output.
          const shifted = ins.map((a) => {
            if (a === null) return null;
            const buf = new Float32Array(a.length + 16);
            buf.set(a, off);
            return buf.subarray(off, off + a.length);
          });
          const guard = new Float32Array(off + len + 32).fill(-12345);
          const out = guard.subarray(off, off + len);
          call(fn, [...shifted, out, ...geo, ...tail]);
          for (let i = 0; i < guard.length; i++) {
            if ((i < off || i >= off + len) && guard[i] !== -12345) throw new Error(`${fn} ${c.name}: wrote outside the output at ${i - off}`);
          }
          if (!first) first = out.slice();
          else expect(Buffer.from(out.slice().buffer).equals(Buffer.from(first.buffer)), `${fn} ${c.name} offset ${off}`).toBe(true);
        }
      }
    });
  }
});

describe('IEEE specials in a Winograd-shaped conv stay where the direct sum puts them', () => {
  // Winograd's transforms would spread an Inf to outputs whose windows never read it (Inf - Inf = NaN); the
  // drivers scan for non-finite values and keep im2col, which multiplies exactly the reference's pairs.
  const c: ConvCase = { name: 'winograd-shaped, specials', x: [2, 6, 7, 16], w: [3, 3, 16, 16], pads: [1, 1, 1, 1] };
  const t = inputsOf(c, 99);
  const withSpecials = (a: Float32Array): Float32Array => {
    const b = a.slice();
    b[5] = Infinity;
    b[300] = -Infinity;
    b[777] = NaN;
    return b;
  };
  const x = { data: withSpecials(t.x.data), shape: t.x.shape };
  const dy = { data: withSpecials(t.dy.data), shape: t.dy.shape };
  for (const pass of ['fwd', 'bwdData'] as const) {
    it(`${pass}: NaN and Inf exactly where the reference has them, finite values within the bound`, () => {
      const inputs: Inputs = { ...t, x: pass === 'fwd' ? x : t.x, dy: pass === 'bwdData' ? dy : t.dy };
      const ref = runPass(referenceBackend, pass, c, inputs);
      const got = runPass(nativeBackend, pass, c, inputs);
      // Finite outputs read no special, so they sum the same terms as with the plain inputs: that bound holds.
      const plain = tolOf(pass, c, t) as (i: number, r: number, g: number) => number;
      let specials = 0;
      for (let i = 0; i < ref.data.length; i++) if (!Number.isFinite(ref.data[i])) specials++;
      expect(specials).toBeGreaterThan(0);
      compareTensors(got, ref, (i, r, g) => (Number.isFinite(r) ? plain(i, r, g) : 0), `${pass} with specials`);
    });
  }
});
