/**
 * The child process of test/io/crash.test.ts: saves checkpoints of a few MB (an nn Sequential convnet of
 * ~470k parameters compiled with Adam: ~1.9 MB of weights and ~3.8 MB of optimizer slots) into a directory,
 * one generation after another, until it is killed. Generation g is stamped in every file, so a reader can
 * tell a complete checkpoint from a mix: every weight element is g + (i % 1024) / 1024 (weights.safetensors),
 * the optimizer's step count is g (optimizer.safetensors) and its learning rate g / 1000 (model.json).
 * It prints "ready" before the first save, "writing g" when generation g's folder is created (its files are
 * written next) and "saved g" when the save has returned.
 *
 * Usage: node --import ./test/io/child/register.mjs test/io/child/saver.ts <dir> <first generation - 1>
 */
import { Tensor } from '../../../src/tensor/tensor.js';
import { layers, sequential, type Model } from '../../../src/nn/index.js';
import { saveModel } from '../../../src/io/index.js';

/** The value of element i of every weight in generation g (exact in float32 for g < 16384). */
export function stamp(g: number, i: number): number {
  return g + (i % 1024) / 1024;
}

/** The child's model, compiled, stamped as generation g. */
export function crashModel(g: number): Model {
  const m = sequential(
    [
      layers.conv2d({ filters: 128, kernelSize: 3, inputShape: [16, 16, 64], name: 'conv2d' }),
      layers.batchNormalization({ name: 'batch_normalization' }),
      layers.globalAveragePooling2d({ name: 'pool' }),
      layers.dense({ units: 1024, activation: 'relu', name: 'dense' }),
      layers.dense({ units: 256, name: 'head' }),
    ],
    { name: 'crash' },
  );
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  m.compiled!.optimizer.build(m.trainableVariables); // Adam's slots m and v for every trainable weight
  setGeneration(m, g);
  return m;
}

export function setGeneration(m: Model, g: number): void {
  for (const v of m.variables) {
    const w = v.value.data as Float32Array;
    for (let i = 0; i < w.length; i++) w[i] = stamp(g, i);
  }
  const opt = m.compiled!.optimizer;
  opt.setState(opt.getState().map((e) => (e.name === 'iterations' ? { name: e.name, value: new Tensor(Int32Array.of(g), []) } : e)));
  opt.learningRate = g / 1000;
}

async function main(): Promise<void> {
  const [dir, startArg] = process.argv.slice(2);
  let g = Number(startArg);
  const m = crashModel(g);
  process.stdout.write('ready\n');
  for (;;) {
    g++;
    setGeneration(m, g);
    await saveModel(m, dir, { onStep: (step) => step === 'folder' && process.stdout.write(`writing ${g}\n`) });
    process.stdout.write(`saved ${g}\n`);
  }
}

if (process.argv[1]?.endsWith('saver.ts')) void main();
