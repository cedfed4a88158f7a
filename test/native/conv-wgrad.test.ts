/**
 * Native conv2dBackwardFilter on the shapes that take the Winograd weight gradient (native/runtime/conv_wino.cc:
 * 3x3, stride 1, undilated, ungrouped, >= 16 channels each side, 2x2 output tiles mostly used), against a float64
 * reference written here as plain loops: dW[a][b][ci][co] = sum_{n,oy,ox} x[n, oy+a-padTop, ox+b-padLeft, ci] *
 * dy[n, oy, ox, co]. Odd sizes, pads 0/1 and asymmetric, batch 1-3, channels 16-64 (and 20/36, not multiples of
 * the vector width), 1 to 4 blocks of tiles, at 1, 2 and 3 threads.
 *
 * Tolerance, per element i: the larger of
 * - im2col's bound (the path taken when Winograd does not apply): sumBound(L + 1, S_i), L = N*OH*OW products,
 *   S_i = the same sum over |x| |dy|;
 * - Winograd's: sumBound(tiles + 8, W_i), with
 *     W_i = sum_tiles sum_xi |G^T|[a][xi_r] |G^T|[b][xi_c] (|B^T| |d| |B|)[xi] (|A| |dy_tile| |A^T|)[xi]
 *   where d is the tile's 4x4 input patch and dy_tile its 2x2 output gradient: 2 roundings in each data
 *   transform, 1 in the product, tiles - 1 in the sum over tiles (any order: blocks, threads' partials), 4 in
 *   the output transform (its halvings are exact). Derived, not fitted.
 * The Winograd path is shown to run: its bits differ from a NODEGRAD_WINOGRAD=0 child's (im2col) on the same
 * inputs, while a case below 32 tiles and inputs holding Inf/NaN give the child's bits exactly (im2col). Every
 * ISA path the machine has (its own dy transform copy and GEMMs) runs the cases in a child process, 1 and 2 threads.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { Conv2DAttrs, Pads4 } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { convGeometry, type ConvAddon } from '../../src/backends/native/conv.js';
import { getNumThreads, nativeInfo, setNumThreads, type IsaName } from '../../src/backends/native/index.js';
import { compareTensors, nativeLoadError, sumBound, type Tol } from '../helpers/backends.js';
import { uniformF32 } from '../helpers/random.js';
import { winogradFilterAbsSum } from '../helpers/winograd.js';
import { ROOT } from './harness.js';

interface Case {
  readonly name: string;
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly cout: number;
  readonly pads: Pads4; // top, bottom, left, right
}

const CASES: readonly Case[] = [
  { name: 'square, pad 1, 32 tiles (the smallest count it takes)', n: 2, h: 8, w: 8, cin: 16, cout: 16, pads: [1, 1, 1, 1] },
  { name: 'odd 7x9, 16->24', n: 2, h: 7, w: 9, cin: 16, cout: 24, pads: [1, 1, 1, 1] },
  { name: 'pad 0, 32->16', n: 3, h: 9, w: 8, cin: 32, cout: 16, pads: [0, 0, 0, 0] },
  { name: '64 channels, odd 5x6', n: 4, h: 5, w: 6, cin: 64, cout: 64, pads: [1, 1, 1, 1] },
  { name: 'asymmetric pads, 20->36', n: 2, h: 11, w: 13, cin: 20, cout: 36, pads: [0, 1, 1, 0] },
  { name: 'asymmetric pads, odd 9x9 out', n: 3, h: 10, w: 10, cin: 16, cout: 48, pads: [1, 0, 0, 1] },
  { name: '4 blocks of tiles', n: 3, h: 24, w: 24, cin: 16, cout: 16, pads: [1, 1, 1, 1] },
  { name: '64 channels, 2 blocks', n: 2, h: 16, w: 16, cin: 64, cout: 64, pads: [1, 1, 1, 1] },
];

const attrsOf = (c: Case): Conv2DAttrs => ({ strides: [1, 1], dilations: [1, 1], pads: c.pads, groups: 1 });
const outOf = (c: Case): [number, number] => [c.h + c.pads[0] + c.pads[1] - 2, c.w + c.pads[2] + c.pads[3] - 2];

interface Inputs {
  readonly x: Float32Array;
  readonly dy: Float32Array;
}

function inputsOf(c: Case, k: number): Inputs {
  const [oh, ow] = outOf(c);
  return { x: uniformF32(c.n * c.h * c.w * c.cin, 9100 + k), dy: uniformF32(c.n * oh * ow * c.cout, 9200 + k) };
}

/** The direct sum in float64, on the values or on their absolute values. */
function reference(c: Case, x: ArrayLike<number>, dy: ArrayLike<number>, abs: boolean): Float64Array {
  const [oh, ow] = outOf(c);
  const { n, h, w, cin, cout } = c;
  const dw = new Float64Array(9 * cin * cout);
  const f = abs ? Math.abs : (v: number) => v;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const dyo = ((b * oh + oy) * ow + ox) * cout;
        for (let a = 0; a < 3; a++) {
          const iy = oy + a - c.pads[0];
          if (iy < 0 || iy >= h) continue;
          for (let q = 0; q < 3; q++) {
            const ix = ox + q - c.pads[2];
            if (ix < 0 || ix >= w) continue;
            const xo = ((b * h + iy) * w + ix) * cin;
            const wo = (a * 3 + q) * cin * cout;
            for (let ci = 0; ci < cin; ci++) {
              const xv = f(x[xo + ci]);
              const row = wo + ci * cout;
              for (let co = 0; co < cout; co++) dw[row + co] += xv * f(dy[dyo + co]);
            }
          }
        }
      }
    }
  }
  return dw;
}

function tolOf(c: Case, t: Inputs): Tol {
  const [oh, ow] = outOf(c);
  const L = c.n * oh * ow;
  const tiles = c.n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  const S = reference(c, t.x, t.dy, true);
  const W = winogradFilterAbsSum(t.x, [c.n, c.h, c.w, c.cin], t.dy, c.cout, c.pads[0], c.pads[2], oh, ow);
  return (i, ref) => Math.max(sumBound(L + 1, S[i], ref), sumBound(tiles + 8, W[i], ref));
}

const addon = loadAddon().addon as ConvAddon | null;

function run(c: Case, t: Inputs): Float32Array {
  const [oh, ow] = outOf(c);
  const dw = new Float32Array(9 * c.cin * c.cout).fill(NaN);
  addon!.conv2dBackwardFilterF32(t.x, t.dy, dw, ...convGeometry([c.n, c.h, c.w, c.cin], [3, 3, c.cin, c.cout], attrsOf(c), oh, ow));
  return dw;
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const INPUTS = CASES.map(inputsOf);
// The non-finite case: one Inf and one NaN in x, on the first and the last case.
const SPECIAL: { readonly c: Case; readonly t: Inputs }[] = [0, CASES.length - 1].map((k) => {
  const x = INPUTS[k].x.slice();
  x[5 * CASES[k].cin + 3] = Infinity;
  x[x.length - 7] = NaN;
  return { c: CASES[k], t: { x, dy: INPUTS[k].dy } };
});

// Below 32 tiles the driver keeps im2col (9 tiles here): its bits must be im2col's.
const SMALL: Case = { name: 'below 32 tiles', n: 1, h: 6, w: 6, cin: 16, cout: 16, pads: [1, 1, 1, 1] };
const SMALL_INPUTS = inputsOf(SMALL, CASES.length);

// The same calls in a child process (the dispatch and NODEGRAD_WINOGRAD are read once, at load): the outputs
// at each thread count, in call order.
const work = mkdtempSync(join(tmpdir(), 'nodegrad-wgrad-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function childRun(env: Record<string, string>, threads: readonly number[], calls: readonly { readonly c: Case; readonly t: Inputs }[]): Float32Array[][] {
  const inFile = join(work, 'in.json'), outFile = join(work, 'out.json');
  writeFileSync(inFile, JSON.stringify({ threads, calls: calls.map(({ c, t }) => {
    const [oh, ow] = outOf(c);
    return { x: Array.from(t.x, (v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v)), dy: Array.from(t.dy), dw: 9 * c.cin * c.cout,
      geometry: convGeometry([c.n, c.h, c.w, c.cin], [3, 3, c.cin, c.cout], attrsOf(c), oh, ow) };
  }) }));
  const code = `
    const fs = require('fs');
    const a = require('node-gyp-build')(process.cwd());
    const num = (v) => (v === 'NaN' ? NaN : v === 'Inf' ? Infinity : v);
    const { threads, calls } = JSON.parse(fs.readFileSync(${JSON.stringify(inFile)}, 'utf8'));
    const out = threads.map((th) => {
      a.setNumThreads(th);
      return calls.map((k) => {
        const dw = new Float32Array(k.dw);
        a.conv2dBackwardFilterF32(Float32Array.from(k.x, num), Float32Array.from(k.dy), dw, ...k.geometry);
        return Buffer.from(dw.buffer).toString('base64');
      });
    });
    fs.writeFileSync(${JSON.stringify(outFile)}, JSON.stringify(out));`;
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('NODEGRAD_ISA' in env)) delete childEnv.NODEGRAD_ISA;
  execFileSync(process.execPath, ['-e', code], { cwd: ROOT, env: childEnv, timeout: 110_000 });
  return (JSON.parse(readFileSync(outFile, 'utf8')) as string[][]).map((perThread) => perThread.map((s) => {
    const b = Buffer.from(s, 'base64');
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  }));
}

const REFS = CASES.map((c, k) => ({ data: reference(c, INPUTS[k].x, INPUTS[k].dy, false), shape: [3, 3, c.cin, c.cout] }));
const TOLS = CASES.map((c, k) => tolOf(c, INPUTS[k]));

describe('conv2dBackwardFilter, Winograd-shaped 3x3 stride-1 convs, vs a float64 reference (1, 2, 3 threads)', () => {
  it('the addon loads', () => {
    expect(nativeLoadError).toBeUndefined();
    expect(addon).not.toBeNull();
  });

  CASES.forEach((c, k) => {
    it(`${c.name}: x[${c.n},${c.h},${c.w},${c.cin}] -> ${c.cout}, pads ${c.pads.join(',')}`, () => {
      const t = INPUTS[k];
      const ref = REFS[k];
      const tol = TOLS[k];
      const saved = getNumThreads();
      try {
        for (const th of [1, 2, 3]) {
          setNumThreads(th);
          const got = run(c, t);
          compareTensors({ data: Float64Array.from(got), shape: ref.shape }, ref, tol, `${c.name} threads=${th}`);
          expect(bytes(run(c, t)).equals(bytes(got)), `${c.name} threads=${th}: same bits on a second run`).toBe(true);
        }
      } finally {
        setNumThreads(saved);
      }
    });
  });

  it('takes the Winograd path (bits differ from im2col); im2col below 32 tiles and on Inf/NaN inputs', () => {
    const calls = [...CASES.map((c, k) => ({ c, t: INPUTS[k] })), { c: SMALL, t: SMALL_INPUTS }, ...SPECIAL];
    const [im2col] = childRun({ NODEGRAD_WINOGRAD: '0' }, [1], calls);
    const saved = getNumThreads();
    try {
      setNumThreads(1);
      CASES.forEach((c, k) => {
        expect(bytes(run(c, INPUTS[k])).equals(bytes(im2col[k])), `${c.name}: Winograd's bits`).toBe(false);
      });
      expect(bytes(run(SMALL, SMALL_INPUTS)).equals(bytes(im2col[CASES.length])), 'below 32 tiles: im2col').toBe(true);
      SPECIAL.forEach(({ c, t }, s) => {
        const got = run(c, t);
        expect(bytes(got).equals(bytes(im2col[CASES.length + 1 + s])), `${c.name} with Inf/NaN: im2col's bits`).toBe(true);
        // And where the direct sum never reads the Inf/NaN, the result stays finite.
        const ref = reference(c, t.x, t.dy, false);
        const differ = ref.filter((r, i) => Number.isFinite(r) !== Number.isFinite(got[i])).length;
        expect(differ, `${c.name} with Inf/NaN: elements finite where the direct sum is`).toBe(0);
        expect(ref.some((r) => Number.isFinite(r)) && ref.some((r) => !Number.isFinite(r))).toBe(true);
      });
    } finally {
      setNumThreads(saved);
    }
  });
});

// Every ISA path the machine has (the dy transform and the GEMMs differ per path), in a child process each.
describe('every ISA path (child process per NODEGRAD_ISA, 1 and 2 threads)', () => {
  for (const isa of (nativeInfo()?.available ?? []) as IsaName[]) {
    it(`NODEGRAD_ISA=${isa}`, () => {
      const outs = childRun({ NODEGRAD_ISA: isa }, [1, 2], CASES.map((c, k) => ({ c, t: INPUTS[k] })));
      [1, 2].forEach((th, j) => {
        CASES.forEach((c, k) => {
          compareTensors({ data: Float64Array.from(outs[j][k]), shape: REFS[k].shape }, REFS[k], TOLS[k], `${isa} threads=${th} ${c.name}`);
        });
      });
    });
  }
});
