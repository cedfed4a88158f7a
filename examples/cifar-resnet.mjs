// A small ResNet (ResNet-20 style: 6n+2 layers, batch norm, identity and 1x1 projection shortcuts) built with the
// functional API, trained on CIFAR-format data with augmentation layers (random horizontal flips and shifts).
//
//   node examples/cifar-resnet.mjs             ResNet-8 (n = 1), 3 epochs on 5,000 training images (~1-2 min on 2 cores)
//   node examples/cifar-resnet.mjs --full      ResNet-20 (n = 3), 30 epochs on all the training images (hours on a CPU)
//   options: --n N (blocks per stage), --epochs N, --download (fetch CIFAR-10, 170 MB), --smoke (tests: tiny)
//
// Data: CIFAR-10 when a local copy is found ($NODEGRAD_DATA/cifar10, ~/.cache/nodegrad/cifar10; --download fetches
// it). Otherwise this script writes a SYNTHETIC data set in the CIFAR-10 binary format (encodeCifarBatch: 10
// classes of coloured shapes on noisy backgrounds, 32x32x3) and reads it back with readCifar10Batch, so the whole
// path runs offline; its accuracy says nothing about CIFAR-10.
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, data, datasets, input, layers, manualSeed, model, optimizers } from 'nodegrad';

const args = process.argv.slice(2);
const has = (f) => args.includes(f);
const num = (f, d) => (args.indexOf(f) >= 0 ? Number(args[args.indexOf(f) + 1]) : d);
const full = has('--full');
const smoke = has('--smoke');
const n = num('--n', full ? 3 : 1);
const epochs = num('--epochs', smoke ? 1 : full ? 30 : 3);
const trainCount = smoke ? 256 : full ? Infinity : 5000;
const testCount = smoke ? 128 : full ? Infinity : 1000;

// ---------------------------------------------------------------------------------------------------------------
// Data: CIFAR-10, or synthetic CIFAR-format batch files

/** Images of 10 classes: 5 shapes (disc, square, ring, cross, diamond) x 2 colour schemes, at random places and sizes. */
function syntheticImages(count, seed) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float32Array(count * 32 * 32 * 3);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    y[i] = label;
    const shape = label % 5;
    const warm = label < 5;
    const fg = warm ? [200 + 55 * rand(), 60 + 80 * rand(), 40 * rand()] : [40 * rand(), 80 + 80 * rand(), 200 + 55 * rand()];
    const bg = [60 + 80 * rand(), 60 + 80 * rand(), 60 + 80 * rand()];
    const r = 6 + 5 * rand();
    const cx = 10 + 12 * rand();
    const cy = 10 + 12 * rand();
    for (let py = 0; py < 32; py++) {
      for (let px = 0; px < 32; px++) {
        const dx = px - cx;
        const dy = py - cy;
        const d = Math.hypot(dx, dy);
        const inside = [
          d <= r,
          Math.max(Math.abs(dx), Math.abs(dy)) <= r * 0.85,
          d <= r && d >= r * 0.55,
          (Math.abs(dx) <= r * 0.3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r * 0.3 && Math.abs(dx) <= r),
          Math.abs(dx) + Math.abs(dy) <= r * 1.1,
        ][shape];
        const o = ((i * 32 + py) * 32 + px) * 3;
        for (let c = 0; c < 3; c++) {
          const noise = (rand() + rand() + rand() - 1.5) * 40;
          x[o + c] = Math.max(0, Math.min(255, (inside ? fg[c] : bg[c] + 20 * Math.sin((px + py) / 5)) + noise));
        }
      }
    }
  }
  return { x: new Tensor(x, [count, 32, 32, 3]), y: new Tensor(y, [count]) };
}

async function loadData() {
  try {
    const d = await datasets.cifar10({ download: has('--download') ? true : false });
    console.log(`CIFAR-10 from ${d.source}`);
    return { train: d.train, test: d.test, classNames: d.classNames };
  } catch (e) {
    if (has('--download')) throw e;
    console.log(`CIFAR-10 not found locally (${e.message.split(' and download')[0]}).`);
  }
  const dir = join(tmpdir(), 'nodegrad-example-cifar-synthetic');
  mkdirSync(dir, { recursive: true });
  const files = { train: join(dir, 'data_batch_1.bin'), test: join(dir, 'test_batch.bin') };
  const nTrain = Number.isFinite(trainCount) ? trainCount : 10000;
  const nTest = Number.isFinite(testCount) ? testCount : 2000;
  for (const [split, count, seed] of [['train', nTrain, 1], ['test', nTest, 2]]) {
    const { x, y } = syntheticImages(count, seed);
    writeFileSync(files[split], data.encodeCifarBatch(x, y)); // 1 label byte + 3,072 pixel bytes per record
  }
  console.log(`Using SYNTHETIC CIFAR-format data instead: wrote ${nTrain} + ${nTest} images (coloured shapes) to ${dir}`);
  const train = await data.readCifar10Batch(files.train);
  const test = await data.readCifar10Batch(files.test);
  const shapes = ['disc', 'square', 'ring', 'cross', 'diamond'];
  return { train, test, classNames: [...shapes.map((s) => `warm ${s}`), ...shapes.map((s) => `cool ${s}`)] };
}

const firstRows = (t, k) => (k >= t.shape[0] ? t : t.slice(t.shape.map(() => 0), [k, ...t.shape.slice(1)]));
const d = await loadData();
const train = { x: firstRows(d.train.x, trainCount), y: firstRows(d.train.y, trainCount) };
const test = { x: firstRows(d.test.x, testCount), y: firstRows(d.test.y, testCount) };
console.log(`${train.x.shape[0]} training and ${test.x.shape[0]} test images, ${JSON.stringify(train.x.shape.slice(1))}`);

// ---------------------------------------------------------------------------------------------------------------
// The model: ResNet v1 for CIFAR (He et al. 2015, section 4.2), 6n+2 layers

manualSeed(1);

function convBn(x, filters, kernelSize, strides = 1) {
  const y = layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: 'heNormal' }).apply(x);
  return layers.batchNormalization().apply(y);
}

function residualBlock(x, filters, strides) {
  let y = layers.relu().apply(convBn(x, filters, 3, strides));
  y = convBn(y, filters, 3);
  // Identity shortcut, or a 1x1 projection where the shape changes.
  const shortcut = strides === 1 && x.shape[3] === filters ? x : convBn(x, filters, 1, strides);
  return layers.relu().apply(layers.add().apply([shortcut, y]));
}

const inputs = input({ shape: [32, 32, 3] });
let x = layers.rescaling({ scale: 1 / 255 }).apply(inputs);
// Augmentation: active in fit() (training), the identity in evaluate() and predict().
x = layers.randomFlip({ mode: 'horizontal', seed: 1 }).apply(x);
x = layers.randomTranslation({ heightFactor: 0.125, widthFactor: 0.125, fillMode: 'reflect', seed: 2 }).apply(x);
x = layers.relu().apply(convBn(x, 16, 3));
for (const [stage, filters] of [16, 32, 64].entries()) {
  for (let b = 0; b < n; b++) x = residualBlock(x, filters, stage > 0 && b === 0 ? 2 : 1);
}
x = layers.globalAveragePooling2d().apply(x);
const outputs = layers.dense({ units: 10, activation: 'softmax' }).apply(x);
const resnet = model({ inputs, outputs, name: `resnet${6 * n + 2}` });
resnet.summary({ printFn: smoke ? () => undefined : undefined });
console.log(`ResNet-${6 * n + 2}: ${resnet.countParams().toLocaleString('en-US')} parameters`);

const batchSize = 64;
const steps = Math.ceil(train.x.shape[0] / batchSize) * epochs;
resnet.compile({
  optimizer: new optimizers.Adam({ learningRate: new optimizers.CosineDecay({ initialLearningRate: 2e-3, decaySteps: steps, alpha: 0.05 }) }),
  loss: 'sparseCategoricalCrossentropy',
  metrics: ['accuracy'],
});
const t0 = performance.now();
await resnet.fit(train.x, train.y, { epochs, batchSize, validationData: [test.x, test.y] });
const { loss, accuracy } = await resnet.evaluate(test.x, test.y, { batchSize: 256 });
console.log(`test accuracy: ${(100 * accuracy).toFixed(2)}% (loss ${loss.toFixed(4)}) after ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
