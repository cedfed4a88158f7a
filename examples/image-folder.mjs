// Training from a folder of image files, one sub-folder per class, as Keras' image_dataset_from_directory:
//
//   images/
//     Ankle boot/  00003.png  00011.png ...      label 0 (class folders sorted by name)
//     Bag/         ...                           label 1
//     ...
//
// This script first writes such a folder itself: PNG files of Fashion-MNIST images (the embedded subset shipped
// with nodegrad), encoded with @napi-rs/image. imageDatasetFromDirectory then lists the files, splits them into
// training and validation subsets (seeded, bit-identical to Keras' split), and decodes and resizes them in
// worker threads, batches ahead of training.
//
//   node examples/image-folder.mjs                 2,000 PNGs (200 per class), 8 epochs (~10 s on 2 cores)
//   node examples/image-folder.mjs --full          all 3,500 images of the subset, 20 epochs
//   node examples/image-folder.mjs --dir photos --image-size 64 --color-mode rgb
//                                                  your own folder instead (no PNGs written)
//   options: --epochs N, --smoke (tests: 30 images per class, 1 epoch)
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { mkdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transformer } from '@napi-rs/image';
import { datasets, imageDatasetFromDirectory, layers, manualSeed, optimizers, sequential } from 'nodegrad';

const args = process.argv.slice(2);
const has = (f) => args.includes(f);
const opt = (f, d) => (args.indexOf(f) >= 0 ? args[args.indexOf(f) + 1] : d);
const full = has('--full');
const smoke = has('--smoke');
const epochs = Number(opt('--epochs', smoke ? 1 : full ? 20 : 8));
const userDir = opt('--dir', null);
const imageSize = Number(opt('--image-size', 28));
const colorMode = opt('--color-mode', userDir ? 'rgb' : 'grayscale');

/** Writes `perClass` images of each class as <dir>/<class name>/<index>.png (grey, 28x28). */
async function writeFashionFolder(dir, perClass) {
  const { train, classNames } = await datasets.fashionMnist({ subset: 'embedded' });
  rmSync(dir, { recursive: true, force: true });
  for (const name of classNames) mkdirSync(join(dir, name.replace('/', '-')), { recursive: true });
  const pixels = train.x.data; // float32 0..255, [N, 28, 28, 1]
  const labels = train.y.data;
  const written = new Array(classNames.length).fill(0);
  const jobs = [];
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (written[c] >= perClass) continue;
    written[c]++;
    const rgba = new Uint8Array(28 * 28 * 4);
    for (let p = 0; p < 28 * 28; p++) {
      rgba.fill(pixels[i * 784 + p], 4 * p, 4 * p + 3);
      rgba[4 * p + 3] = 255;
    }
    const png = Transformer.fromRgbaPixels(rgba, 28, 28).pngSync();
    jobs.push(writeFile(join(dir, classNames[c].replace('/', '-'), `${String(i).padStart(5, '0')}.png`), png));
  }
  await Promise.all(jobs);
  return written.reduce((a, b) => a + b, 0);
}

let dir = userDir;
if (!dir) {
  dir = join(tmpdir(), 'nodegrad-example-image-folder');
  const count = await writeFashionFolder(dir, smoke ? 30 : full ? 350 : 200);
  console.log(`wrote ${count} PNG files of Fashion-MNIST images into ${dir}/<class>/`);
}

// Training and validation subsets from one call (subset 'both'): 20% of the files held out, the same split every
// run for the same seed. Batches are { x: float32 [B, H, W, C] 0..255, y: int32 [B] }.
const [train, val] = await imageDatasetFromDirectory(dir, {
  validationSplit: 0.2,
  subset: 'both',
  seed: 1337,
  imageSize: [imageSize, imageSize],
  colorMode,
  batchSize: 64,
});
console.log(`classes: ${train.classNames.join(', ')}`);
console.log(`training on ${train.fileCount} files, validating on ${val.fileCount}`);

manualSeed(7);
const channels = { grayscale: 1, rgb: 3, rgba: 4 }[colorMode];
const model = sequential([
  layers.rescaling({ scale: 1 / 255 }),
  layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }),
  layers.flatten(),
  layers.dense({ units: train.classNames.length, activation: 'softmax' }),
], { inputShape: [imageSize, imageSize, channels] });
model.compile({ optimizer: new optimizers.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });

// A Dataset goes straight into fit (its batches carry the labels); each epoch reshuffles the files.
const t0 = performance.now();
await model.fit(train, { epochs, validationData: val });
const seconds = (performance.now() - t0) / 1000;
const { accuracy } = await model.evaluate(val);
console.log(`validation accuracy: ${(100 * accuracy).toFixed(2)}% after ${epochs} epochs (${seconds.toFixed(1)}s, images decoded in worker threads)`);
