/**
 * activationGrid: the grid's geometry (columns, padding, scale), every cell's pixels against the Keras book's
 * display formula computed here in float64 (clip((v - mean) / std * 64 + 128) per channel, or with global
 * statistics), channel selection, colormaps, dead channels, the file written (decoded by @napi-rs/image), and
 * bad input. The end-to-end case takes a layer's output from model.intermediate().
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ShapeError, ValueError } from '../../src/errors.js';
import { randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { layers, sequential } from '../../src/nn/index.js';
import { activationGrid } from '../../src/vis/activations.js';
import { colormaps } from '../../src/vis/colormap.js';
import { expectError } from '../helpers/errors.js';

const req = createRequire(import.meta.url);
const codec = req('@napi-rs/image') as { Transformer: new (b: Uint8Array) => { rawPixelsSync(): Uint8Array } };
const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-vis-act-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The book's mapping of one channel, in float64, rounded to the nearest byte. */
function bookBytes(values: number[], mean?: number, std?: number): number[] {
  const m = mean ?? values.reduce((a, b) => a + b, 0) / values.length;
  const s = std ?? Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
  if (s === 0) return values.map(() => 0);
  return values.map((v) => Math.min(255, Math.max(0, Math.round(((v - m) / s) * 64 + 128))));
}

function channel(t: Tensor, k: number): number[] {
  const [h, w, c] = t.shape.slice(-3);
  return Array.from({ length: h * w }, (_, i) => t.data[i * c + k]);
}

/** The cell (row r, column q) of a grey grid: its pixels, row-major. */
function cell(img: { width: number; data: Uint8Array }, r: number, q: number, ch: number, cw: number, pad: number, channels = 1): number[] {
  const out: number[] = [];
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      for (let c = 0; c < channels; c++) out.push(img.data[((r * (ch + pad) + y) * img.width + q * (cw + pad) + x) * channels + c]);
    }
  }
  return out;
}

describe('activationGrid', () => {
  const fm = randn([1, 5, 4, 7], { seed: 3 }).mul(3).add(1);

  it('per-channel (default): ceil(sqrt(7)) = 3 columns, 1-pixel white gaps, each cell the book formula', () => {
    const g = activationGrid(fm);
    expect([g.width, g.height, g.channels, g.path]).toEqual([3 * 4 + 2, 3 * 5 + 2, 1, null]);
    for (let k = 0; k < 7; k++) expect(cell(g, Math.floor(k / 3), k % 3, 5, 4, 1), `channel ${k}`).toEqual(bookBytes(channel(fm, k)));
    // Gaps and the two unused cells of the last row are background.
    expect(g.data[4]).toBe(255); // column 4 of row 0: the gap after the first cell
    expect(cell(g, 2, 1, 5, 4, 1)).toEqual(new Array(20).fill(255));
    expect(Buffer.from(new codec.Transformer(g.png).rawPixelsSync()).equals(Buffer.from(g.data))).toBe(true);
  });

  it('global statistics, chosen channels, columns, padding, scale and background', () => {
    const all: number[] = [2, 5].flatMap((k) => channel(fm, k));
    const m = all.reduce((a, b) => a + b, 0) / all.length;
    const s = Math.sqrt(all.reduce((a, b) => a + (b - m) ** 2, 0) / all.length);
    const g = activationGrid(fm.reshape([5, 4, 7]), { channels: [2, 5], normalize: 'global', columns: 1, padding: 3, background: 7, scale: 2 });
    expect([g.width, g.height]).toEqual([8, 2 * 10 + 3]);
    const up = (bytes: number[]) => {
      // nearest x2 of a 5x4 cell
      const out: number[] = [];
      for (let y = 0; y < 10; y++) for (let x = 0; x < 8; x++) out.push(bytes[Math.floor(y / 2) * 4 + Math.floor(x / 2)]);
      return out;
    };
    expect(cell(g, 0, 0, 10, 8, 3)).toEqual(up(bookBytes(channel(fm, 2), m, s)));
    expect(cell(g, 1, 0, 10, 8, 3)).toEqual(up(bookBytes(channel(fm, 5), m, s)));
    expect(g.data[10 * 8]).toBe(7);
    // channels: N takes the first N.
    expect(activationGrid(fm, { channels: 2, columns: 2 }).width).toBe(9);
  });

  it('a colormap makes an RGB grid through the table; a constant channel is level 0', () => {
    const data = new Float32Array(3 * 3 * 2);
    for (let i = 0; i < 9; i++) data[i * 2] = i; // channel 0: 0..8; channel 1: all 0 (dead)
    const g = activationGrid(new Tensor(data, [3, 3, 2]), { colormap: 'viridis', padding: 0 });
    expect([g.width, g.height, g.channels]).toEqual([6, 3, 3]);
    const levels = bookBytes(Array.from({ length: 9 }, (_, i) => i));
    const v = colormaps.viridis;
    expect(cell(g, 0, 0, 3, 3, 0, 3)).toEqual(levels.flatMap((l) => [v[3 * l], v[3 * l + 1], v[3 * l + 2]]));
    expect(cell(g, 0, 1, 3, 3, 0, 3)).toEqual(new Array(9).fill([v[0], v[1], v[2]]).flat());
  });

  it("writes the PNG at 'path': a conv layer's output from model.intermediate()", () => {
    const m = sequential([layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'conv' }), layers.flatten(), layers.dense({ units: 2 })], { inputShape: [8, 8, 1] });
    const act = m.intermediate('conv').predictOnBatch(randn([1, 8, 8, 1], { seed: 4 })) as Tensor;
    const file = join(tmp, 'sub', 'act.png');
    const g = activationGrid(act, { path: file, scale: 3 });
    expect(g.path).toBe(file);
    expect(readFileSync(file).equals(g.png)).toBe(true);
    expect([g.width, g.height]).toEqual([3 * 18 + 2, 2 * 18 + 1]);
  });

  it('rejects bad input', () => {
    expectError(() => activationGrid(randn([2, 4, 4, 3])), ShapeError, 'activationGrid', 'holds 2 examples');
    expectError(() => activationGrid(randn([4, 4])), ShapeError, '[H, W, C]');
    expectError(() => activationGrid([1, 2] as unknown as Tensor), ValueError, "'featureMap'");
    expectError(() => activationGrid(fm, { channels: [0, 7] }), ValueError, 'channel index 7', '7 channels');
    expectError(() => activationGrid(fm, { channels: 8 }), ValueError, "'channels'");
    expectError(() => activationGrid(fm, { normalize: 'minmax' as 'global' }), ValueError, "'normalize'");
    expectError(() => activationGrid(fm, { colormap: 'hot' as 'jet' }), ValueError, "'colormap'", "'viridis'");
    expectError(() => activationGrid(fm, { scale: 0 }), ValueError, "'scale'");
    expectError(() => activationGrid(fm, { colums: 2 } as object), ValueError, "unknown option 'colums'");
  });
});
