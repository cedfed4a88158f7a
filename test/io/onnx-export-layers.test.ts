/**
 * ONNX export of UpSampling2D (nearest and bilinear), Cropping1D / 2D, Multiply, Subtract, Average, Maximum,
 * Minimum and SpatialDropout1D / 2D: a model using every one of them (in both layouts the exporter tracks:
 * channels-first after a convolution, channels-last straight from the input) is exported, run in onnxruntime-node
 * and compared with model.predictOnBatch. A second model with unknown height and width checks that
 * UpSampling2D and Cropping2D export without static lengths (Resize by scales, Slice with ends from the end).
 *
 * Tolerance. Both runtimes compute the same float32 maths with different summation orders and formula shapes. As in
 * onnx-export.test.ts, a K-term dot product errs by about u sqrt(K) times the size of its terms (u = 2^-24,
 * errors of random sign; Higham & Mary's probabilistic bound), and every other step (a merge's multiply, add,
 * subtract or divide, and a bilinear tap, which is up to 3 lerps whose weights ORT forms as (1 - f) a + f b and
 * nodegrad as a + (b - a) f, ~4 roundings) adds about u times the size of its operands. The values of these models
 * stay O(1), so relative to max |output|:
 *   max |onnx - nodegrad| <= lambda * u * (sum over dot products of sqrt(K) + the count of elementwise roundings on
 *   the longest path), lambda = 4.
 * Nearest upsampling, cropping, maximum, minimum and dropout in inference copy values exactly.
 *
 * onnx.checker (Python, full_check) validates the files and lists their nodes, to confirm each layer became the
 * intended ONNX op (skipped with the reason where /usr/bin/python3 has no onnx).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/random.js';
import { input, layers, model, type Model } from '../../src/nn/index.js';
import { OnnxExportError, exportOnnx } from '../../src/io/onnx/export.js';

const U = 2 ** -24;
const tmp = mkdtempSync(join(tmpdir(), 'nodegrad-onnx-layers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function runOnnx(bytes: Uint8Array, m: Model, x: Tensor): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, intraOpNumThreads: 1 });
  const out = await s.run({ [m.inputs[0].node.layer.name]: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  await s.release();
  return out;
}

/** Exports m, runs both on x and checks every output's shape and values; returns max |diff| / max |output| each. */
async function compare(m: Model, x: Tensor, tolerance: number): Promise<number[]> {
  const bytes = exportOnnx(m, join(tmp, `${m.name}.onnx`));
  const expected = m.predictOnBatch(x);
  const ys = Array.isArray(expected) ? expected : [expected];
  const got = await runOnnx(bytes, m, x);
  expect(Object.keys(got).sort()).toEqual([...m.outputNames].sort());
  const rel = m.outputNames.map((n, i) => {
    const o = got[n];
    expect(o.dims, `output '${n}' shape`).toEqual(ys[i].shape);
    const e = ys[i].data as Float32Array;
    const a = o.data as Float32Array;
    let diff = 0, scale = 0;
    for (let j = 0; j < e.length; j++) {
      diff = Math.max(diff, Math.abs(a[j] - e[j]));
      scale = Math.max(scale, Math.abs(e[j]));
    }
    expect(Number.isFinite(diff), `output '${n}' is finite`).toBe(true);
    // Agreement means something only if the output depends on the input: examples 0 and 1 differ by far more.
    const per = e.length / ys[i].shape[0];
    let spread = 0;
    for (let j = 0; j < per; j++) spread = Math.max(spread, Math.abs(e[j] - e[per + j]));
    expect(spread / scale, `output '${n}' varies with the input`).toBeGreaterThan(Math.max(1e-3, 20 * tolerance));
    return diff / scale;
  });
  rel.forEach((r, i) => expect(r, `output '${m.outputNames[i]}' (tolerance ${tolerance.toExponential(2)})`).toBeLessThanOrEqual(tolerance));
  return rel;
}

/** Every new layer, in channels-first (after convolutions) and channels-last (straight from the input) layouts. */
function newLayersModel(): Model {
  const inp = input({ shape: [7, 6, 3], name: 'image' });
  // Image branch, channels-first in ONNX after the convolution.
  let a = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(inp); // [7,6,4]
  a = layers.spatialDropout2d({ rate: 0.5 }).apply(a);
  const up = layers.upSampling2d({ size: 2 }).apply(a); // [14,12,4]
  let bi = layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }).apply(a); // [14,18,4]
  bi = layers.cropping2d({ cropping: [[0, 0], [2, 4]] }).apply(bi); // [14,12,4]
  const gate = layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' }).apply(up); // [14,12,1]: broadcasts over channels
  const merged = [
    layers.multiply().apply([up, bi, gate]),
    layers.subtract().apply([up, bi]),
    layers.average().apply([up, bi, gate]),
    layers.maximum().apply([up, bi, gate]),
    layers.minimum().apply([bi, up]),
  ];
  let img = layers.concatenate().apply(merged); // [14,12,20]
  img = layers.cropping2d({ cropping: [[1, 2], [0, 3]] }).apply(img); // [11,9,20]
  // Channels-last branch: crops and merges of the raw input.
  const c1 = layers.cropping2d({ cropping: 1 }).apply(inp); // [5,4,3]
  const c2 = layers.cropping2d({ cropping: [[2, 0], [0, 2]] }).apply(inp); // [5,4,3]
  const raw = layers.maximum().apply([layers.subtract().apply([c1, c2]), layers.minimum().apply([c1, c2])]);
  // Sequence branch: Cropping1D and SpatialDropout1D channels-last, then channels-first after a Conv1D.
  let seq = layers.reshape({ targetShape: [42, 3] }).apply(inp);
  seq = layers.cropping1d({ cropping: [2, 3] }).apply(seq); // [37,3]
  seq = layers.spatialDropout1d({ rate: 0.2 }).apply(seq);
  seq = layers.conv1d({ filters: 4, kernelSize: 3 }).apply(seq); // [35,4]
  seq = layers.cropping1d().apply(seq); // [33,4]
  seq = layers.average().apply([seq, layers.multiply().apply([seq, seq])]);
  return model({ inputs: inp, outputs: [img, raw, seq], name: 'new_layers' });
}

describe('exportOnnx: the new layers in onnxruntime-node', () => {
  it('a model with every new layer gives the same outputs', async () => {
    manualSeed(21);
    const m = newLayersModel();
    expect(m.outputs.map((t) => t.shape)).toEqual([[null, 11, 9, 20], [null, 5, 4, 3], [null, 33, 4]]);
    // Dot products: conv 3x3x3 (K = 27), 1x1x4 (K = 4), conv1d 3x3 (K = 9); elementwise roundings on the longest
    // path: tanh, 4 for the bilinear tap, sigmoid, 2 for the three-way product or sum, 1 for the division: ~10.
    const tolerance = 4 * U * (Math.sqrt(27) + Math.sqrt(4) + Math.sqrt(9) + 10);
    const rel = await compare(m, randn([3, 7, 6, 3], { seed: 22 }), tolerance);
    console.log(`new layers: ${rel.map((r) => r.toExponential(2)).join(', ')} (tolerance ${tolerance.toExponential(2)})`);
  });

  it('UpSampling2D and Cropping2D export with unknown height and width', async () => {
    const inp = input({ shape: [null, null, 2], name: 'image' });
    const near = layers.upSampling2d({ size: [3, 2] }).apply(inp);
    const bil = layers.upSampling2d({ size: 2, interpolation: 'bilinear' }).apply(inp);
    const y1 = layers.cropping2d({ cropping: [[1, 2], [0, 1]] }).apply(near);
    const y2 = layers.cropping2d({ cropping: [[0, 1], [2, 0]] }).apply(bil);
    const m = model({ inputs: inp, outputs: [y1, y2], name: 'dynamic' });
    expect(m.outputs.map((t) => t.shape)).toEqual([[null, null, null, 2], [null, null, null, 2]]);
    const x = randn([2, 5, 4, 2], { seed: 23 });
    const rel = await compare(m, x, 4 * U * 4);
    expect(rel[0]).toBe(0); // nearest: exact copies
  });

  it('SpatialDropout called with training: true in the graph is refused', () => {
    const inp = input({ shape: [4, 4, 2] });
    const y = layers.spatialDropout2d({ rate: 0.5 }).apply(inp, { training: true });
    expect(() => exportOnnx(model({ inputs: inp, outputs: y }))).toThrow(OnnxExportError);
    expect(() => exportOnnx(model({ inputs: inp, outputs: y }))).toThrow(/called with training: true/);
  });
});

const PYTHON = '/usr/bin/python3';
function onnxMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import onnx, onnx.checker'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import onnx; install python3-onnx`;
}
const missing = onnxMissing();
if (missing) console.warn(`onnx-export-layers.test: onnx.checker skipped: ${missing}`);

describe('onnx.checker', () => {
  it.skipIf(missing !== null)('accepts the exported models, whose nodes are the intended ops', () => {
    const files = readdirSync(tmp).filter((f) => f.endsWith('.onnx')).sort();
    expect(files).toEqual(['dynamic.onnx', 'new_layers.onnx']);
    const script = [
      'import json, sys, onnx',
      'out = {}',
      'for f in sys.argv[1:]:',
      '    m = onnx.load(f)',
      '    onnx.checker.check_model(m, full_check=True)',
      '    out[f.split("/")[-1]] = [[n.op_type, {a.name: a.s.decode() for a in n.attribute if a.type == onnx.AttributeProto.STRING}] for n in m.graph.node]',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', script, ...files.map((f) => join(tmp, f))], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(r.stderr, 'onnx.checker').toBe('');
    expect(r.status).toBe(0);
    const nodes = JSON.parse(r.stdout) as Record<string, [string, Record<string, string>][]>;
    const count = (f: string, op: string) => nodes[f].filter(([o]) => o === op).length;
    const resizes = (f: string) => nodes[f].filter(([o]) => o === 'Resize').map(([, a]) => a);
    const nearest = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    const linear = { mode: 'linear', coordinate_transformation_mode: 'half_pixel' };
    for (const f of ['new_layers.onnx', 'dynamic.onnx']) expect(resizes(f), f).toEqual([nearest, linear]);
    // 4 Cropping2D + 2 Cropping1D; Multiply (3 inputs: 2 Mul, then 1 for seq); Subtract x2; Average x2 (Sum, Div);
    // Maximum x2 and Minimum x2 (one variadic node each); no node for the dropouts.
    expect(count('new_layers.onnx', 'Slice')).toBe(6);
    expect(count('new_layers.onnx', 'Mul')).toBe(3);
    expect(count('new_layers.onnx', 'Sub')).toBe(2);
    expect([count('new_layers.onnx', 'Sum'), count('new_layers.onnx', 'Div')]).toEqual([2, 2]);
    expect([count('new_layers.onnx', 'Max'), count('new_layers.onnx', 'Min')]).toEqual([2, 2]);
    expect(count('new_layers.onnx', 'Dropout') + count('new_layers.onnx', 'Identity')).toBe(0);
    expect(count('dynamic.onnx', 'Slice')).toBe(2);
  });
});
