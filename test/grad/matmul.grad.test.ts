/**
 * Finite-difference checks of matmul's gradients, written with the matmul kernel itself:
 * for C = op(A) op(B): d op(A) = dC op(B)^T and d op(B) = op(A)^T dC, re-expressed on the stored operands;
 * a broadcast operand (batch 1 against B) gets the sum of its per-batch gradients; dbias = sum of dC over (batch, M).
 */
import { describe, it } from 'vitest';
import { matmul } from '../../src/backends/reference/matmul.js';
import type { FusedActivation, KTensor, MatMulAttrs } from '../../src/backends/backend.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { Rng, uniformF64 } from '../helpers/random.js';

type F = KTensor<Float64Array>;
const mm = (a: F, b: F, transposeA: boolean, transposeB: boolean): Float64Array =>
  matmul(a, b, { transposeA, transposeB }).data;

/** Sums a [B, ...] gradient over the batch into [1, ...] when the operand was broadcast (its batch was 1). */
function reduceBatch(g: Float64Array, fromB: number, toB: number): Float64Array {
  if (toB === fromB) return g;
  const size = g.length / fromB;
  const out = new Float64Array(size);
  for (let b = 0; b < fromB; b++) for (let i = 0; i < size; i++) out[i] += g[b * size + i];
  return out;
}

interface Case {
  B: number; Ba: number; Bb: number; M: number; K: number; N: number;
  tA: boolean; tB: boolean; bias: boolean; act: FusedActivation;
}

function check(c: Case, seed: number): void {
  const { B, Ba, Bb, M, K, N, tA, tB } = c;
  const aShape = tA ? [Ba, K, M] : [Ba, M, K];
  const bShape = tB ? [Bb, N, K] : [Bb, K, N];
  const attrs: MatMulAttrs = { transposeA: tA, transposeB: tB, activation: c.act };
  const inputs = [uniformF64(Ba * M * K, seed), uniformF64(Bb * K * N, seed + 1)];
  if (c.bias) inputs.push(uniformF64(N, seed + 2));
  const forward = (xs: Float64Array[]): Float64Array =>
    matmul({ data: xs[0], shape: aShape }, { data: xs[1], shape: bShape }, attrs, c.bias ? { data: xs[2], shape: [N] } : undefined).data;

  gradCheck({
    what: `matmul B=${B} Ba=${Ba} Bb=${Bb} M=${M} K=${K} N=${N} tA=${tA} tB=${tB} bias=${c.bias} ${c.act}`,
    inputs,
    forward,
    seed: seed + 3,
    backward: (xs, dy) => {
      // relu: the gradient passes where the output is positive (cases keep pre-activations away from 0).
      const out = forward(xs);
      const g = Float64Array.from(dy, (d, i) => (c.act === 'relu' && !(out[i] > 0) ? 0 : d));
      const dC: F = { data: g, shape: [B, M, N] };
      const a: F = { data: xs[0], shape: aShape };
      const b: F = { data: xs[1], shape: bShape };
      // stored A: [M,K] -> dA = dC B'^T; stored A^T: [K,M] -> dA = (dC op(B)^T)^T = op(B) dC^T.
      let dA: Float64Array;
      if (!tA && !tB) dA = mm(dC, b, false, true); //  dC [M,N] @ B^T [N,K]
      else if (!tA && tB) dA = mm(dC, b, false, false); //  dC [M,N] @ B [N,K]
      else if (tA && !tB) dA = mm(b, dC, false, true); //  B [K,N] @ dC^T [N,M]
      else dA = mm(b, dC, true, true); //  B^T [K,N] @ dC^T [N,M]
      let dB: Float64Array;
      if (!tA && !tB) dB = mm(a, dC, true, false); //  A^T [K,M] @ dC [M,N]
      else if (tA && !tB) dB = mm(a, dC, false, false); //  A [K,M] @ dC [M,N]
      else if (!tA && tB) dB = mm(dC, a, true, false); //  dC^T [N,M] @ A [M,K]
      else dB = mm(dC, a, true, true); //  dC^T [N,M] @ A^T [M,K]
      const grads = [reduceBatch(dA, B, Ba), reduceBatch(dB, B, Bb)];
      if (c.bias) {
        const dbias = new Float64Array(N);
        for (let i = 0; i < g.length; i++) dbias[i % N] += g[i];
        grads.push(dbias);
      }
      return grads;
    },
  });
}

/** Smallest |pre-activation| of a case's data, to keep relu's kink farther than the FD step from every output. */
function reluMargin(c: Case, seed: number): number {
  const a = { data: uniformF64(c.Ba * c.M * c.K, seed), shape: c.tA ? [c.Ba, c.K, c.M] : [c.Ba, c.M, c.K] };
  const b = { data: uniformF64(c.Bb * c.K * c.N, seed + 1), shape: c.tB ? [c.Bb, c.N, c.K] : [c.Bb, c.K, c.N] };
  const bias = c.bias ? { data: uniformF64(c.N, seed + 2), shape: [c.N] } : undefined;
  const pre = matmul(a, b, { transposeA: c.tA, transposeB: c.tB }, bias).data;
  return pre.reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
}

function randomCase(rng: Rng, tA: boolean, tB: boolean, act: FusedActivation): Case {
  const B = rng.int(1, 3);
  const broadcast = rng.int(0, 2); // 0: none, 1: A's batch is 1, 2: B's batch is 1
  return {
    B, Ba: broadcast === 1 ? 1 : B, Bb: broadcast === 2 ? 1 : B,
    M: rng.int(1, 4), K: rng.int(1, 4), N: rng.int(1, 4), tA, tB, bias: rng.int(0, 1) === 1, act,
  };
}

describe('matmul gradients by finite differences (float64)', () => {
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      it(`transposeA=${tA} transposeB=${tB}, with batch broadcast and bias`, () => {
        const rng = new Rng(1000 + (tA ? 2 : 0) + (tB ? 1 : 0));
        for (let k = 0; k < 10; k++) check(randomCase(rng, tA, tB, 'linear'), 50 * k + 1);
      });
    }
  }

  it('explicit broadcast on both sides (Ba = 1 and Bb = 1 against B = 3 in turn)', () => {
    for (const [Ba, Bb] of [[1, 3], [3, 1]]) {
      check({ B: 3, Ba, Bb, M: 2, K: 3, N: 2, tA: false, tB: false, bias: true, act: 'linear' }, 7);
      check({ B: 3, Ba, Bb, M: 2, K: 3, N: 2, tA: true, tB: true, bias: false, act: 'linear' }, 9);
    }
  });

  it('fused relu epilogue (data kept 1e-3 away from the kink)', () => {
    const rng = new Rng(77);
    let done = 0;
    for (let seed = 1; done < 10; seed += 10) {
      const c = randomCase(rng, rng.int(0, 1) === 1, rng.int(0, 1) === 1, 'relu');
      // an FD step of 1e-5 moves a pre-activation by at most K * 1e-5 <= 4e-5; 1e-3 clears that.
      if (reluMargin(c, seed) < 1e-3) continue;
      check(c, seed);
      done++;
    }
  });
});
