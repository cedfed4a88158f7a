/**
 * The elementwise, reduction and softmax kernels on CUDA tensors, on the fake CUDA addon (test/helpers/fake-cuda.ts):
 * every binary op under the broadcasts the row kernel takes and those it does not (the strided kernel), every unary
 * op, reduce 'prod', softmax / logSoftmax along every axis. Each runs on the device (the fake counts the entry),
 * reads nothing back, warns nothing, and equals the CPU backend bit for bit: the fake computes the ops only the GPU
 * has with the reference's double formulas (what the CPU backend runs for them) and transcribes the strided kernel's
 * offsets, so a difference is a dispatch bug (a wrong stride, operand order or op code). The real kernels' accuracy
 * is native/cuda/test/harness.cu's and test/cuda/cuda.test.ts's, on a GPU.
 * - Softmax along an inner axis runs on the reference on the CPU (double, one rounding) but with the last-axis
 *   kernel's formulas on CUDA, so its oracle is the CPU's last-axis softmax of the transposed input, moved back.
 * - reduce over separated axes rounds once per run of adjacent axes on CUDA and once on the CPU: for a product whose
 *   second run has L terms, |cuda - cpu| <= (L + 2) u |cpu| (each of the L first-run results rounded: L u; the two
 *   final roundings: 2 u), u = 2^-24.
 * int32 data still runs on the CPU, warned once per distinct call ("mul (binary)").
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Backend, BinaryOp, KTensor, UnaryOp } from '../../src/backends/backend.js';
import { setCudaAddonForTesting } from '../../src/backends/cuda/index.js';
import { cudaFallbacks, cudaTensorBackend } from '../../src/backends/cuda/tensor-backend.js';
import { type BackendName, getBackend, setBackend } from '../../src/backends/registry.js';
import { broadcastShapes } from '../../src/tensor/shape.js';
import { randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { type CpuMatchRun, awkward, matchesCpuOn, words } from '../helpers/cuda-match.js';
import { createFakeCuda, cpuAddonForFake, type FakeCuda } from '../helpers/fake-cuda.js';

const cpuAddon = cpuAddonForFake();
if (!cpuAddon.addon) console.log(`test/cuda/eltwise-device: skipped: the fake CUDA addon forwards to the CPU addon, and ${cpuAddon.reason}`);

// Every op of backend.ts's unions (a missing or unknown key is a type error).
const BINARY_OPS = Object.keys({
  add: 1, sub: 1, mul: 1, div: 1, pow: 1, maximum: 1, minimum: 1, mod: 1, floorDiv: 1, atan2: 1, squaredDifference: 1,
} satisfies Record<BinaryOp, 1>) as BinaryOp[];
const UNARY_OPS = Object.keys({
  neg: 1, abs: 1, sign: 1, square: 1, sqrt: 1, rsqrt: 1, reciprocal: 1, exp: 1, expm1: 1, log: 1, log1p: 1, sin: 1, cos: 1,
  tan: 1, asin: 1, acos: 1, atan: 1, sinh: 1, cosh: 1, floor: 1, ceil: 1, round: 1, erf: 1, tanh: 1, sigmoid: 1, relu: 1,
  relu6: 1, leakyRelu: 1, elu: 1, selu: 1, softplus: 1, softsign: 1, gelu: 1, silu: 1, hardSigmoid: 1, logSigmoid: 1,
} satisfies Record<UnaryOp, 1>) as UnaryOp[];

// [a, b, the form the kernels take it in]: 'row' a fills the output and b repeats over its trailing axes
// (binaryF32); 'swapped' the other way round (binaryF32 for add and mul, which commute); 'strided' any other
// broadcast (binaryBroadcastF32).
const BINARY_CASES: [number[], number[], 'row' | 'swapped' | 'strided'][] = [
  [[4, 3], [4, 1], 'strided'],  // per-sample weights
  [[2, 3, 3, 4], [2, 1, 1, 4], 'strided'],  // a spatial dropout mask
  [[3, 1, 5], [1, 4, 5], 'strided'],  // both broadcast
  [[1, 5], [3, 1], 'strided'],
  [[2, 0], [2, 1], 'strided'],
  [[2, 1, 2, 1, 2, 1, 2, 3], [1, 2, 1, 2, 1, 2, 1, 3], 'strided'],  // rank 8, the most the strided kernel takes
  [[2, 3], [3], 'row'],
  [[2, 3], [], 'row'],
  [[0, 3], [1, 3], 'row'],
  [[2, 1, 2, 1, 1, 1, 1, 1, 3], [3], 'row'],  // rank 9: the row form has no rank limit
  [[], [2, 2], 'swapped'],
  [[5], [2, 3, 5], 'swapped'],
];

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const u = 2 ** -24;

describe.skipIf(!cpuAddon.addon)('elementwise, reductions and softmax on CUDA kernels (fake CUDA addon)', () => {
  let fake: FakeCuda;
  let prevBackend: BackendName;
  beforeAll(() => {
    fake = createFakeCuda();
    setCudaAddonForTesting(fake);
    prevBackend = getBackend().name as BackendName;
    setBackend('native');
  });
  afterAll(() => {
    setCudaAddonForTesting(null);
    setBackend(prevBackend);
  });
  const matchesCpu = (entry: string, run: CpuMatchRun, cpuRun?: CpuMatchRun): void => matchesCpuOn(fake, entry, run, cpuRun);
  const f = (shape: number[], seed: number): Tensor => new Tensor(awkward(sizeOf(shape), seed), shape);

  it('the addon has a code for every binary, unary and reduce op', () => {
    expect(Object.keys(fake.binaryOpCodes).sort()).toEqual([...BINARY_OPS].sort());
    expect(Object.keys(fake.unaryOpCodes).sort()).toEqual([...UNARY_OPS].sort());
    expect(Object.keys(fake.reduceOpCodes).sort()).toEqual(['max', 'mean', 'min', 'prod', 'sum']);
  });

  it.each(BINARY_OPS)('binary %s: every broadcast, with NaN, +-0, +-Infinity and ties', (op) => {
    let seed = 1;
    for (const [as, bs, form] of BINARY_CASES) {
      const a = f(as, seed++), b = f(bs, seed++);
      const out = broadcastShapes(op, as, bs);
      const entry = form === 'row' || (form === 'swapped' && (op === 'add' || op === 'mul')) ? 'binaryF32' : 'binaryBroadcastF32';
      matchesCpu(entry, (k, on) => k.binary(op, on(a), on(b), out));
    }
    // plain values too (awkward's pool repeats a few)
    matchesCpu('binaryBroadcastF32', (k, on) => k.binary(op, on(randn([3, 1, 4], { seed: 5 })), on(randn([5, 1], { seed: 6 })), [3, 5, 4]));
  });

  it.each(UNARY_OPS)('unary %s: awkward and plain values', (op) => {
    const plain = randn([4, 9], { seed: 3 }).mul(3);
    for (const x of [f([3, 7], 11), plain, new Tensor(Float32Array.of(0.5, -0.5, 1.5, -2.5, 1e-30, -1e30, 1, -1), [8])]) {
      matchesCpu('unaryF32', (k, on) => k.unary(op, on(x), { alpha: 0.2 }));
    }
  });

  it('reduce prod over each run of adjacent axes: the CPU bits; over separated axes within the rounding bound', () => {
    const near1 = (seed: number): Tensor => {  // +-[0.75, 1.25]: no overflow, every factor shows
      const r = randn([3, 4, 5], { seed }).data as Float32Array;
      return new Tensor(Float32Array.from(r, (v, i) => (i % 3 === 0 ? -1 : 1) * (1 + Math.tanh(v) / 4)), [3, 4, 5]);
    };
    for (const x of [near1(21), f([3, 4, 5], 22)]) {
      for (const axes of [[0], [1], [2], [0, 1], [1, 2], [0, 1, 2]]) matchesCpu('reduceF32', (k, on) => k.reduce('prod', on(x), axes));
    }
    const x = near1(23);
    const want = getBackend().reduce('prod', x, [0, 2]).data;
    const got = cudaTensorBackend().reduce('prod', x.to('cuda'), [0, 2]).data;
    expect(cudaFallbacks()).toEqual([]);
    want.forEach((w, i) => expect(Math.abs(got[i] - w), `prod [0, 2] [${i}]`).toBeLessThanOrEqual((3 + 2) * u * Math.abs(w)));
  });

  it('softmax and logSoftmax along every axis: the CPU last-axis kernel of the transpose, bit for bit', () => {
    const x = randn([3, 4, 5], { seed: 31 }).mul(4);
    const xd = x.data as Float32Array;
    xd[7] = -Infinity;  // a zero probability
    for (const axis of [0, 1, 2, -2]) {
      const ax = axis < 0 ? axis + 3 : axis;
      const perm = [0, 1, 2].filter((d) => d !== ax).concat(ax);  // the axis last
      const back = perm.map((_, i) => perm.indexOf(i));
      for (const log of [false, true]) {
        const sm = (k: Backend, t: KTensor<Float32Array>, a: number): KTensor => (log ? k.logSoftmax(t, a) : k.softmax(t, a));
        matchesCpu(log ? 'logSoftmaxF32' : 'softmaxF32', (k, on) => sm(k, on(x), axis),
          (k) => k.transpose(sm(k, k.transpose(x as KTensor<Float32Array>, perm), 2), back));
      }
    }
  });

  it('int32 data and rank > 8 strided broadcasts run on the CPU, warned once per distinct call, with the CPU results', () => {
    const spy = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const xi = new Tensor(Int32Array.of(3, -4, 5, 7), [2, 2]);
      const d = xi.to('cuda');
      expect(words(d.mul(d).data)).toEqual(words(xi.mul(xi).data));
      expect(words(d.mul(d).data)).toEqual(words(xi.mul(xi).data));
      expect(words(d.maximum(d.neg()).data)).toEqual(words(xi.maximum(xi.neg()).data));
      const a = f([2, 1, 2, 1, 1, 1, 1, 1, 3], 41), b = f([1, 2, 1, 1, 1, 1, 1, 1, 1], 42);
      const y = a.to('cuda').sub(b.to('cuda'));
      expect(y.device).toBe('cuda');
      expect(words(y.data)).toEqual(words(a.sub(b).data));
      const texts = spy.mock.calls.map((c) => String(c[0]));
      expect(texts).toEqual([
        expect.stringMatching(/no kernel for 'mul \(binary\)' \(int32 operands/),
        expect.stringMatching(/no kernel for 'neg \(unary\)' \(int32 data/),
        expect.stringMatching(/no kernel for 'maximum \(binary\)' \(int32 operands/),
        expect.stringMatching(/no kernel for 'sub \(binary\)' \(rank 9 > 8\)/),
      ]);
      expect(cudaFallbacks()).toEqual(['mul (binary)', 'neg (unary)', 'maximum (binary)', 'sub (binary)']);
    } finally {
      spy.mockRestore();
    }
  });
});
