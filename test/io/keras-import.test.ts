/**
 * importKerasWeights: Keras 3 .weights.h5 / .keras archives and Keras 2 .h5 files load into the matching nodegrad
 * models bit for bit, and the loaded models give PyTorch's float64 forward pass (an independent oracle, weights
 * transposed to OIHW) within float32 rounding. Every file that does not fit is a WeightsMismatchError naming each
 * missing, unexpected and mis-shaped weight, every damaged file a FileFormatError; both leave the weights as they were.
 *
 * The files are written by fixtures-keras/make_keras_files.py with h5py in Keras' exact layouts (its comments cite
 * the Keras source lines followed): no Keras is installed here (Debian 12 has no python3-keras).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ValueError } from '../../src/errors.js';
import { FileFormatError, WeightsMismatchError } from '../../src/io/errors.js';
import { importKerasWeights } from '../../src/io/import/keras.js';
import { mnistConvnet } from '../../src/models/index.js';
import * as layers from '../../src/nn/layers.js';
import { input } from '../../src/nn/input.js';
import { Model } from '../../src/nn/model.js';
import { Sequential, sequential } from '../../src/nn/sequential.js';
import { Tensor } from '../../src/tensor/tensor.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures-keras', 'make_keras_files.py');

function h5pyMissing(): string | null {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const r = spawnSync(PYTHON, ['-c', 'import h5py, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return `${PYTHON} cannot import h5py and numpy (apt-get install -y python3-h5py python3-numpy)`;
  return null;
}
const missing = h5pyMissing();
if (missing) console.warn(`keras-import.test: the Keras file tests are skipped: ${missing}`);

interface Expected {
  torch: boolean;
  arrays: Record<string, { shape: number[]; dtype: 'f4' | 'f8'; offset: number; bytes: number }>;
}
let dir = '';
let expected: Expected;
let blob: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodegrad-keras-'));
  if (missing) return;
  const r = spawnSync(PYTHON, [SCRIPT, dir], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`make_keras_files.py failed:\n${r.stderr}`);
  expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  blob = readFileSync(join(dir, 'expected.bin'));
  if (!expected.torch) console.warn('keras-import.test: the PyTorch forward comparisons are skipped: /usr/bin/python3 cannot import torch');
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => join(dir, name);

/** An expected array (float32, or float64 for PyTorch's outputs). */
function arr(key: string): Float32Array | Float64Array {
  const e = expected.arrays[key];
  if (!e) throw new Error(`expected.json has no '${key}'`);
  const bytes = new Uint8Array(blob.subarray(e.offset, e.offset + e.bytes)).slice();
  return e.dtype === 'f8' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
}
function shapeOf(key: string): number[] {
  return expected.arrays[key].shape;
}

/** The small model of make_keras_files.py (SMALL): BN with and without scale/center, depthwise, separable, transpose. */
function smallModel(): Model {
  const x = input({ shape: [12, 12, 3] });
  let a = layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'conv2d' }).apply(x);
  a = layers.batchNormalization({ name: 'batch_normalization' }).apply(a);
  a = layers.relu({ name: 're_lu' }).apply(a);
  const s = layers.conv2d({ filters: 16, kernelSize: 1, name: 'conv2d_1' }).apply(a);
  let m = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'depthwise_conv2d' }).apply(a);
  m = layers.batchNormalization({ center: false, name: 'batch_normalization_1' }).apply(m);
  m = layers.separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'separable_conv2d' }).apply(m);
  m = layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'conv2d_2' }).apply(m);
  m = layers.batchNormalization({ scale: false, name: 'batch_normalization_2' }).apply(m);
  let y = layers.add({ name: 'add' }).apply([s, m]);
  y = layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, name: 'conv2d_transpose' }).apply(y);
  y = layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(y);
  return new Model({ inputs: x, outputs: layers.dense({ units: 5, name: 'dense' }).apply(y), name: 'small' });
}

/** A pretrained base (a nested Sequential with two batch norms) under a new head: NESTED of make_keras_files.py. */
function nestedModel(classes = 3): { model: Model; base: Sequential } {
  const base = sequential([
    layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2d' }), layers.batchNormalization({ name: 'batch_normalization' }),
    layers.conv2d({ filters: 4, kernelSize: 3, name: 'conv2d_1' }), layers.batchNormalization({ name: 'batch_normalization_1' }),
  ], { inputShape: [8, 8, 3], name: 'sequential' });
  const x = input({ shape: [8, 8, 3] });
  let y = base.apply(x, { training: false });
  y = layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(y);
  return { model: new Model({ inputs: x, outputs: layers.dense({ units: classes, name: 'dense' }).apply(y) }), base };
}

const snapshot = (m: Model): Float32Array[] => m.variables.map((v) => Float32Array.from(v.value.data as Float32Array));
/** Bit patterns, so -0 / NaN compare exactly. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Every variable of `m` equals `<prefix>/<variable name>` of the expected arrays, bit for bit. */
function expectWeights(m: Model, prefix: string): void {
  for (const v of m.variables) {
    const want = arr(`${prefix}/${v.name}`) as Float32Array;
    expect([...v.shape], v.name).toEqual(shapeOf(`${prefix}/${v.name}`));
    expect(bits(v.value.data as Float32Array), v.name).toEqual(bits(want));
  }
}

function run(m: Model, x: Float32Array, shape: number[]): Float32Array {
  const y = m.predictOnBatch(new Tensor(x, shape));
  return (Array.isArray(y) ? y[0] : y).data as Float32Array;
}

const U = 2 ** -24; // float32 unit roundoff
/**
 * float32 vs PyTorch's float64 on the same float32 weights and inputs. A float32 sum of K terms errs by at most about
 * K·u times the sum of the terms' magnitudes (Higham's γ_K); with weights scaled by 1/sqrt(fan_in) every activation is
 * O(1), so the output error stays below u·ΣK (the reduction lengths along the path) times the output scale, times a
 * small factor for the elementwise steps (bias, batch norm, ReLU, softmax) between the sums.
 */
function expectClose(got: Float32Array, want: Float64Array, sumK: number, scale: number): void {
  const tol = 4 * U * sumK * Math.max(1, scale);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(got.length).toBe(want.length);
  expect(worst, `max |nodegrad - torch| = ${worst.toExponential(2)}, tolerance ${tol.toExponential(2)}`).toBeLessThanOrEqual(tol);
}
const maxAbs = (a: ArrayLike<number>): number => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
// Reduction lengths: MNIST convs 3·3·1, 3·3·32, 3·3·64 and dense 1152; the small model's longest path: conv 27, depthwise
// 9, separable 9 + 16, conv 144, transpose at most 4 taps · 16 channels, global pooling 25·25, dense 4.
const MNIST_SUM_K = 9 + 288 + 576 + 1152;
const SMALL_SUM_K = 27 + 9 + 9 + 16 + 144 + 64 + 625 + 4;

async function expectRejected<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(cls);
  return err as E;
}

describe.skipIf(missing !== null)('importKerasWeights: Keras 3 files', () => {
  it('loads a .weights.h5 into the MNIST convnet bit for bit, leaves the optimizer state alone, and matches PyTorch', async () => {
    const m = mnistConvnet();
    const t0 = performance.now();
    const r = await importKerasWeights(m, file('mnist.weights.h5'));
    const ms = performance.now() - t0;
    console.log(`keras-import: ${m.countParams().toLocaleString('en')} parameters from mnist.weights.h5 in ${ms.toFixed(1)} ms (first import, h5wasm loading included)`);
    expect(r.format).toBe('keras3');
    expect(r.loaded).toEqual(m.variables.map((v) => v.name));
    // Adam's iterations, learning rate and a momentum + velocity per trainable weight.
    expect(r.ignored.length).toBe(2 + 8);
    expect(r.ignored.every((p) => p.startsWith('optimizer/vars/'))).toBe(true);
    expect([r.missing, r.unexpected, r.mismatched, r.badDtype]).toEqual([[], [], [], []]);
    expectWeights(m, 'mnist');

    const t1 = performance.now();
    await importKerasWeights(mnistConvnet(), file('mnist.weights.h5'));
    console.log(`keras-import: again (h5wasm loaded) in ${(performance.now() - t1).toFixed(1)} ms`);

    // The same weights set directly give the same outputs, exactly.
    const direct = mnistConvnet();
    for (const v of direct.variables) v.assign(arr(`mnist/${v.name}`) as Float32Array);
    const x = arr('mnist/x') as Float32Array;
    const y = run(m, x, shapeOf('mnist/x'));
    expect(bits(y)).toEqual(bits(run(direct, x, shapeOf('mnist/x'))));
    if (expected.torch) expectClose(y, arr('mnist/y_torch') as Float64Array, MNIST_SUM_K, maxAbs(arr('mnist/logits_torch')));
  });

  it('addresses layers by class and position in Keras depth order, not by name (small functional model with BN, depthwise, separable, transpose)', async () => {
    const m = smallModel();
    const r = await importKerasWeights(m, file('small.weights.h5'));
    expect(r.loaded.length).toBe(m.variables.length);
    expect(r.ignored).toEqual([]);
    expectWeights(m, 'small');
    // Keras lists conv2d_2 (deeper) before conv2d_1 (the shortcut, which nodegrad's own walk meets first), so
    // layers/conv2d_1 holds conv2d_2's weights; expectWeights checked each against its Keras name above.
    const names = m.variables.map((v) => v.name);
    expect(names).toContain('batch_normalization_1/gamma');
    expect(names).not.toContain('batch_normalization_1/beta');
    expect(names).not.toContain('batch_normalization_2/gamma');
    if (expected.torch) {
      const y = run(m, arr('small/x') as Float32Array, shapeOf('small/x'));
      const want = arr('small/y_torch') as Float64Array;
      expectClose(y, want, SMALL_SUM_K, maxAbs(want));
    }
  });

  it('reads the weights of .keras archives, stored (as Keras writes them) or deflated', async () => {
    const a = mnistConvnet();
    const ra = await importKerasWeights(a, file('mnist.keras'));
    expect(ra.format).toBe('keras3');
    expectWeights(a, 'mnist');
    const b = smallModel();
    await importKerasWeights(b, file('small.keras'));
    expectWeights(b, 'small');
  });

  it('converts float16, bfloat16 and float64 tensors to float32 exactly, and reads gzip/shuffle/fletcher32 datasets', async () => {
    const f16 = mnistConvnet();
    await importKerasWeights(f16, file('mnist_f16.weights.h5'));
    expectWeights(f16, 'mnist_f16');
    const mixed = mnistConvnet();
    await importKerasWeights(mixed, file('mnist_mixed.weights.h5'));
    expectWeights(mixed, 'mnist_mixed');
    const gz = mnistConvnet();
    await importKerasWeights(gz, file('mnist_gzip.weights.h5'));
    expectWeights(gz, 'mnist');
  });
});

describe.skipIf(missing !== null)('importKerasWeights: Keras 2 HDF5 files', () => {
  it('loads save_weights files by layer name, chunked layer_names included', async () => {
    for (const name of ['mnist_legacy.h5', 'mnist_legacy_chunked.h5']) {
      const m = mnistConvnet();
      const r = await importKerasWeights(m, file(name));
      expect(r.format).toBe('keras2');
      expect(r.ignored).toEqual([]);
      expectWeights(m, 'mnist');
    }
  });

  it('loads model.save files (weights under model_weights/, optimizer state ignored) by name and by order alike', async () => {
    for (const by of ['name', 'order'] as const) {
      const m = smallModel();
      const r = await importKerasWeights(m, file('small_legacy_model.h5'), { by });
      expect([...r.ignored].sort()).toEqual(['optimizer_weights/adam/iteration', 'optimizer_weights/adam/learning_rate']);
      expectWeights(m, 'small');
    }
  });

  it('a file saved under other layer names: by name names every missing and unexpected weight; by order loads it', async () => {
    const m = mnistConvnet();
    const before = snapshot(m);
    const err = await expectRejected(importKerasWeights(m, file('mnist_renamed_legacy.h5')), WeightsMismatchError);
    expect(err.file).toBe(file('mnist_renamed_legacy.h5'));
    expect(err.missing).toEqual(m.variables.map((v) => v.name));
    expect(err.unexpected).toContain('conv2d_3/conv2d_3/kernel:0');
    expect(err.unexpected.length).toBe(8);
    expect(snapshot(m)).toEqual(before);
    await importKerasWeights(m, file('mnist_renamed_legacy.h5'), { by: 'order' });
    expectWeights(m, 'mnist');
  });
});

describe.skipIf(missing !== null)('importKerasWeights: nested models (a pretrained base under a new head)', () => {
  it('Keras 3: the base under layers/sequential/layers/..., frozen or not', async () => {
    for (const frozen of [false, true]) {
      const { model, base } = nestedModel();
      base.trainable = !frozen;
      const r = await importKerasWeights(model, file('nested.weights.h5'));
      expect(r.loaded.length).toBe(model.variables.length);
      expectWeights(model, 'nested');
    }
  });

  it('Keras 2: by name (weight paths "sequential/conv2d/kernel"), and by order with a renamed, frozen base', async () => {
    const a = nestedModel().model;
    await importKerasWeights(a, file('nested_legacy.h5'));
    expectWeights(a, 'nested');
    // The file calls the base 'base': by name it has no layer to go to.
    const { model, base } = nestedModel();
    base.trainable = false; // the legacy order of a frozen base differs from the saved one: matched by inner names
    const err = await expectRejected(importKerasWeights(model, file('nested_legacy_tf2.h5')), WeightsMismatchError);
    expect(err.unexpected).toContain('base/conv2d/kernel:0');
    expect(err.missing).toContain('batch_normalization_1/moving_variance');
    await importKerasWeights(model, file('nested_legacy_tf2.h5'), { by: 'order' });
    expectWeights(model, 'nested');
  });

  it('transfer learning: a head of another size is reported, the base loads (skipMismatch)', async () => {
    const { model, base } = nestedModel(7);
    const head = snapshot(model).slice(-2);
    const r = await importKerasWeights(model, file('nested.weights.h5'), { skipMismatch: true });
    expect(r.loaded).toEqual(base.variables.map((v) => v.name));
    expect(r.mismatched.map((m) => [m.name, m.expected, m.got])).toEqual([
      ['dense/kernel (file: layers/dense/vars/0)', [4, 7], [4, 3]],
      ['dense/bias (file: layers/dense/vars/1)', [7], [3]],
    ]);
    expect(snapshot(model).slice(-2)).toEqual(head);
  });
});

describe.skipIf(missing !== null)('importKerasWeights: files that do not fit', () => {
  it('a head of another size: both shapes of each mis-shaped weight, nothing written', async () => {
    const m = mnistConvnet({ classes: 5 });
    const before = snapshot(m);
    const err = await expectRejected(importKerasWeights(m, file('mnist.weights.h5')), WeightsMismatchError);
    expect(err.mismatched).toEqual([
      { name: 'dense/kernel (file: layers/dense/vars/0)', expected: [1152, 5], got: [1152, 10] },
      { name: 'dense/bias (file: layers/dense/vars/1)', expected: [5], got: [10] },
    ]);
    expect([err.missing, err.unexpected]).toEqual([[], []]);
    expect(err.message).toMatch(/tensor 'dense\/kernel \(file: layers\/dense\/vars\/0\)' has shape \[1152,10\] but the model's variable has shape \[1152,5\]/);
    expect(snapshot(m)).toEqual(before);
  });

  it('skipMismatch loads what fits and reports the rest', async () => {
    const m = mnistConvnet({ classes: 5 });
    const dense = snapshot(m).slice(-2);
    const r = await importKerasWeights(m, file('mnist.weights.h5'), { skipMismatch: true });
    expect(r.loaded).toEqual(['conv2d/kernel', 'conv2d/bias', 'conv2d_1/kernel', 'conv2d_1/bias', 'conv2d_2/kernel', 'conv2d_2/bias']);
    expect(r.mismatched.map((x) => x.name)).toEqual(['dense/kernel (file: layers/dense/vars/0)', 'dense/bias (file: layers/dense/vars/1)']);
    expect(snapshot(m).slice(-2)).toEqual(dense);
    for (const v of m.variables.slice(0, 6)) expect(bits(v.value.data as Float32Array)).toEqual(bits(arr(`mnist/${v.name}`) as Float32Array));
  });

  it('missing and unexpected layers are named with the path they were looked for at', async () => {
    // One more Dense than the file has: its weights are missing.
    const more = sequential([
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }), layers.flatten(),
      layers.dense({ units: 10 }), layers.dense({ units: 10 }),
    ], { inputShape: [28, 28, 1] });
    const err = await expectRejected(importKerasWeights(more, file('mnist.weights.h5')), WeightsMismatchError);
    const last = more.layers[more.layers.length - 1].name;
    expect(err.missing).toEqual([`${last}/kernel (file: layers/dense_1/vars/0)`, `${last}/bias (file: layers/dense_1/vars/1)`]);
    expect([err.unexpected, err.mismatched]).toEqual([[], []]);

    // One conv fewer: the file's third conv is unexpected, and the dense kernel's shape differs.
    const fewer = sequential([
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }), layers.maxPooling2d({ poolSize: 2 }),
      layers.flatten(), layers.dense({ units: 10 }),
    ], { inputShape: [28, 28, 1] });
    const before = snapshot(fewer);
    const e2 = await expectRejected(importKerasWeights(fewer, file('mnist.weights.h5')), WeightsMismatchError);
    expect(e2.unexpected).toEqual(['layers/conv2d_2/vars/0', 'layers/conv2d_2/vars/1']);
    expect(e2.mismatched.map((x) => [x.expected, x.got])).toEqual([[[1600, 10], [1152, 10]]]);
    expect(snapshot(fewer)).toEqual(before);
  });

  it('a weight stored as integers is named with its dtype', async () => {
    const m = mnistConvnet();
    const before = snapshot(m);
    const err = await expectRejected(importKerasWeights(m, file('mnist_int.weights.h5')), WeightsMismatchError);
    expect(err.badDtype).toEqual([{ name: 'dense/bias (file: layers/dense/vars/1)', dtype: 'int32' }]);
    expect(snapshot(m)).toEqual(before);
  });
});

describe.skipIf(missing !== null)('importKerasWeights: damaged files', () => {
  it('a dataset behind a filter h5wasm lacks (lzf) is a FileFormatError, not noise, and nothing is written', async () => {
    const m = mnistConvnet();
    const before = snapshot(m);
    const err = await expectRejected(importKerasWeights(m, file('mnist_lzf.weights.h5')), FileFormatError);
    expect(err.file).toBe(file('mnist_lzf.weights.h5'));
    expect(err.message).toMatch(/lzf/);
    expect(snapshot(m)).toEqual(before);
  });

  it('truncated .weights.h5 and .keras files, an .npz archive and an HDF5 file without Keras weights', async () => {
    const m = mnistConvnet();
    const before = snapshot(m);
    for (const [name, pattern] of [
      ['mnist.weights.h5', /HDF5/],
      ['mnist.keras', /truncated/],
    ] as const) {
      for (const keep of [0.5, 0.05]) {
        const cut = file(`cut-${keep}-${name}`);
        copyFileSync(file(name), cut);
        truncateSync(cut, Math.floor(statSync(cut).size * keep));
        const err = await expectRejected(importKerasWeights(m, cut), FileFormatError);
        expect(err.file).toBe(cut);
        expect(err.message, err.message).toMatch(pattern);
      }
    }
    const npz = await expectRejected(importKerasWeights(m, file('npz.keras')), FileFormatError);
    expect(npz.message).toMatch(/model\.weights\.npz/);
    const other = await expectRejected(importKerasWeights(m, file('not_keras.h5')), FileFormatError);
    expect(other.message).toMatch(/no Keras weights.*top level: data/);
    expect(snapshot(m)).toEqual(before);
  });
});

describe('importKerasWeights: input checks (no Python needed)', () => {
  it('files that are not HDF5 or zip, corrupt zips, missing files', async () => {
    const m = mnistConvnet();
    const text = join(dir, 'notes.weights.h5');
    writeFileSync(text, 'these are not weights\n'.repeat(100));
    const e1 = await expectRejected(importKerasWeights(m, text), FileFormatError);
    expect(e1.file).toBe(text);
    expect(e1.message).toMatch(/notes\.weights\.h5: not a Keras weights file: neither HDF5/);
    const empty = join(dir, 'empty.h5');
    writeFileSync(empty, '');
    await expectRejected(importKerasWeights(m, empty), FileFormatError);
    const zip = join(dir, 'junk.keras');
    writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]));
    const e2 = await expectRejected(importKerasWeights(m, zip), FileFormatError);
    expect(e2.message).toMatch(/end-of-central-directory/);
    const err = await importKerasWeights(m, join(dir, 'nope.weights.h5')).then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err?.code).toBe('ENOENT');
  });

  it('bad arguments are ValueErrors', async () => {
    const m = mnistConvnet();
    const f = join(dir, 'x.h5');
    await expectRejected(importKerasWeights(m, f, { by: 'index' as never }), ValueError);
    await expectRejected(importKerasWeights(m, f, { strict: true } as never), ValueError);
    await expectRejected(importKerasWeights(m, f, { skipMismatch: 'yes' as never }), ValueError);
    await expectRejected(importKerasWeights({} as never, f), ValueError);
    await expectRejected(importKerasWeights(m, '' as never), ValueError);
    const unbuilt = sequential([layers.dense({ units: 2 })]);
    const e = await expectRejected(importKerasWeights(unbuilt, f), ValueError);
    expect(e.message).toMatch(/not built/);
  });
});
