/**
 * Native conv2dBackwardData on shapes that take col2im (native/runtime/conv_gemm.cc, Col2imBackwardDataPays:
 * ungrouped, cin <= 64 or maps of at most 8x8): the values are held to the reference by test/native/conv.test.ts
 * and the conv properties (and the 'conv-gather' project reruns those with col2im off); this file checks what col2im
 * adds: chunks are whole images, so every thread count gives the same bits, and the path really runs (its bits
 * differ from a NODEGRAD_COL2IM=0 child's on the same inputs while agreeing within the reduction's bound).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { Conv2DAttrs } from '../../src/backends/backend.js';
import { loadAddon } from '../../src/backends/native/addon.js';
import { convGeometry, type ConvAddon } from '../../src/backends/native/conv.js';
import { getNumThreads, setNumThreads } from '../../src/backends/native/index.js';
import { nativeLoadError, sumBound } from '../helpers/backends.js';
import { uniformF32 } from '../helpers/random.js';
import { ROOT } from './harness.js';

interface Case {
  readonly name: string;
  readonly x: readonly [number, number, number, number];
  readonly k: number;
  readonly cout: number;
  readonly stride: number;
  readonly pads: readonly [number, number, number, number];
}

const CASES: readonly Case[] = [
  { name: 'W1 conv3: 5x5x64 <- 3x3x128, valid', x: [9, 5, 5, 64], k: 3, cout: 128, stride: 1, pads: [0, 0, 0, 0] },
  { name: '5x5 kernel, 12x12x32 <- 8x8x64', x: [5, 12, 12, 32], k: 5, cout: 64, stride: 1, pads: [0, 0, 0, 0] },
  { name: 'stride 2, same, 16x16x16 <- 8x8x32', x: [7, 16, 16, 16], k: 3, cout: 32, stride: 2, pads: [0, 1, 0, 1] },
  { name: 'thin channels, 9x9x8 <- 9x9x16, pad 1', x: [3, 9, 9, 8], k: 3, cout: 16, stride: 1, pads: [1, 1, 1, 1] },
  { name: 'one image', x: [1, 6, 7, 12], k: 3, cout: 20, stride: 1, pads: [1, 1, 1, 1] },
];

const addon = loadAddon().addon as ConvAddon | null;

function geometry(c: Case) {
  const [, h, w] = c.x;
  const oh = Math.floor((h + c.pads[0] + c.pads[1] - c.k) / c.stride) + 1;
  const ow = Math.floor((w + c.pads[2] + c.pads[3] - c.k) / c.stride) + 1;
  const attrs: Conv2DAttrs = { strides: [c.stride, c.stride], dilations: [1, 1], pads: [...c.pads] as never, groups: 1 };
  return { oh, ow, geo: convGeometry(c.x, [c.k, c.k, c.x[3], c.cout], attrs, oh, ow) };
}

const INPUTS = CASES.map((c, i) => {
  const { oh, ow } = geometry(c);
  return { dy: uniformF32(c.x[0] * oh * ow * c.cout, 100 + i), w: uniformF32(c.k * c.k * c.x[3] * c.cout, 200 + i) };
});

function run(c: Case, k: number): Float32Array {
  const { geo } = geometry(c);
  const dx = new Float32Array(c.x[0] * c.x[1] * c.x[2] * c.x[3]);
  addon!.conv2dBackwardDataF32(INPUTS[k].dy, INPUTS[k].w, dx, ...geo);
  return dx;
}

const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-col2im-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every case's dx from a child process with the given environment (1 thread). */
function childRun(env: Record<string, string>): Float32Array[] {
  const inFile = join(tmp, 'in.json'), outFile = join(tmp, 'out.json');
  writeFileSync(inFile, JSON.stringify(CASES.map((c, k) => ({
    geo: geometry(c).geo, size: c.x[0] * c.x[1] * c.x[2] * c.x[3],
    dy: Buffer.from(INPUTS[k].dy.buffer).toString('base64'), w: Buffer.from(INPUTS[k].w.buffer).toString('base64'),
  }))));
  const code = `const fs = require('fs');
    const a = require('node-gyp-build')(process.cwd());
    a.setNumThreads(1);
    const f32 = (s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
    const out = JSON.parse(fs.readFileSync(${JSON.stringify(inFile)}, 'utf8')).map((c) => {
      const dx = new Float32Array(c.size);
      a.conv2dBackwardDataF32(f32(c.dy), f32(c.w), dx, ...c.geo);
      return Buffer.from(dx.buffer).toString('base64');
    });
    fs.writeFileSync(${JSON.stringify(outFile)}, JSON.stringify(out));`;
  execFileSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 });
  return (JSON.parse(readFileSync(outFile, 'utf8')) as string[]).map((s) => {
    const b = Buffer.from(s, 'base64');
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  });
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe.skipIf(addon === null)('conv2dBackwardData by col2im', () => {
  it('the addon loads', () => expect(nativeLoadError).toBeUndefined());

  CASES.forEach((c, k) => {
    it(`${c.name}: the same bits at 1, 2 and 3 threads`, () => {
      const saved = getNumThreads();
      try {
        setNumThreads(1);
        const one = run(c, k);
        for (const th of [2, 3]) {
          setNumThreads(th);
          expect(sameBits(run(c, k), one), `${th} threads`).toBe(true);
        }
      } finally {
        setNumThreads(saved);
      }
    });
  });

  it('runs (bits differ from the gather form) and agrees with it within the reduction bound', () => {
    const gather = childRun({ NODEGRAD_COL2IM: '0' });
    const mine = childRun({ NODEGRAD_COL2IM: '1' });
    let differing = 0;
    CASES.forEach((c, k) => {
      if (!sameBits(mine[k], gather[k])) differing++;
      // Both sum the same k*k*cout products per element (some taps out of range): |a - b| <= 2 * gamma_L * sum|terms|,
      // and sum|terms| <= L * max|dy| * max|w| with |dy|, |w| < 1 (uniformF32 draws from [-1, 1)).
      const L = c.k * c.k * c.cout;
      const bound = 2 * sumBound(L + 1, L, 0);
      for (let i = 0; i < mine[k].length; i++) expect(Math.abs(mine[k][i] - gather[k][i])).toBeLessThanOrEqual(bound);
    });
    expect(differing).toBeGreaterThan(0);
  });
});
