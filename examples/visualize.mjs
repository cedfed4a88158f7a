// Looking inside a trained convnet (Deep Learning with Python, ch. 9): the course's MNIST convnet is trained
// briefly on Fashion-MNIST, then three pictures are written as PNG files:
//   activations.png  the 32 channels of the first conv layer's output for one test image (model.intermediate)
//   filters.png      the input patterns that excite the first filters of the second conv layer most (gradient ascent)
//   gradcam.png      Grad-CAM: where the evidence for the predicted class lies, over the image (from the last conv
//                    layer, 3x3, as Grad-CAM prescribes; gradcam-conv2d_1.png from the 11x11 one before it, finer)
// and input.png, the test image itself, enlarged.
//
//   node examples/visualize.mjs               the embedded subset, 5 epochs, 16 filters of 60 steps (~8 s on 2 cores)
//   options: --out DIR (default: nodegrad-example-visualize in the OS temporary folder), --epochs N,
//            --image I (which test image), --smoke (tests: 512 images, 1 epoch, 4 filters of 5 steps)
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasets, manualSeed, models, optimizers, vis } from 'nodegrad';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const smoke = args.includes('--smoke');
const out = option('--out', join(tmpdir(), 'nodegrad-example-visualize'));
const epochs = Number(option('--epochs', smoke ? 1 : 5));
const imageIndex = Number(option('--image', 0));

// Pixels in [0, 1] (the convnet has no rescaling layer), labels int32 class indices.
const data = await datasets.fashionMnist({ subset: 'embedded', normalize: true });
const limit = (t, k) => (smoke ? t.slice(t.shape.map(() => 0), [k, ...t.shape.slice(1)]) : t);
const train = { x: limit(data.train.x, 512), y: limit(data.train.y, 512) };
console.log(`Fashion-MNIST (${data.subset}): training on ${train.x.shape[0]} images for ${epochs} epoch(s)`);

manualSeed(7);
const model = models.mnistConvnet(); // conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, conv2d_2, flatten, dense (softmax)
model.compile({ optimizer: new optimizers.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
await model.fit(train.x, train.y, { epochs, batchSize: 64, verbose: 0 });
const { accuracy } = await model.evaluate(data.test.x, data.test.y, { batchSize: 256, verbose: 0 });
console.log(`test accuracy: ${(100 * accuracy).toFixed(2)}%`);

const image = data.test.x.slice([imageIndex, 0, 0, 0], [1, 28, 28, 1]);
const probs = model.predictOnBatch(image);
const predicted = probs.argmax(-1).data[0];
const truth = data.test.y.data[imageIndex];
console.log(`test image ${imageIndex}: ${data.classNames[truth]}, predicted ${data.classNames[predicted]} (p = ${probs.data[predicted].toFixed(3)})`);

// The image itself, 8x larger (nearest neighbour): grey bytes through the PNG encoder.
const scale = 8;
const pixels = new Uint8Array(28 * scale * 28 * scale);
for (let y = 0; y < 28 * scale; y++) {
  for (let x = 0; x < 28 * scale; x++) pixels[y * 28 * scale + x] = Math.round(255 * image.data[Math.floor(y / scale) * 28 + Math.floor(x / scale)]);
}
const inputPath = join(out, 'input.png');
vis.writePng(inputPath, { width: 28 * scale, height: 28 * scale, channels: 1, data: pixels });

// 1. Activations: a model from the same input to the first conv layer's output, then its 32 channels in a grid.
const activation = model.intermediate('conv2d').predictOnBatch(image); // [1, 26, 26, 32]
const grid = vis.activationGrid(activation, { path: join(out, 'activations.png'), columns: 8, scale: 4, padding: 2, colormap: 'viridis' });

// 2. Filters: gradient ascent in input space from a grey, slightly noisy image (only the layers up to conv2d_1 run).
const filters = await vis.filterGrid(model, 'conv2d_1', {
  count: smoke ? 4 : 16, steps: smoke ? 5 : 60, learningRate: 1, seed: 1, scale: 4, path: join(out, 'filters.png'),
});
const rise = filters.losses.map((l) => l[l.length - 1] - l[0]);
const silent = filters.silent.filter(Boolean).length;
console.log(
  `filter ascent: mean activation raised by ${(rise.reduce((a, b) => a + b, 0) / rise.length).toFixed(3)} on average over ${rise.length} filters` +
    ` (${silent} silent on every start: drawn flat grey)`,
);

// 3. Grad-CAM for the predicted class, from the last conv layer (conv2d_2, 3x3) upsampled to 28x28, over the image.
const heatmap = vis.gradCam(model, image, { classIndex: predicted }); // the score is the pre-softmax logit
const overlay = vis.gradCamOverlay(image, heatmap, { path: join(out, 'gradcam.png'), scale, alpha: 0.45 });
const fine = vis.gradCam(model, image, { classIndex: predicted, layerName: 'conv2d_1' });
const overlayFine = vis.gradCamOverlay(image, fine, { path: join(out, 'gradcam-conv2d_1.png'), scale, alpha: 0.45 });

const written = [['input', { path: inputPath, width: 28 * scale, height: 28 * scale }], ['activations', grid], ['filters', filters], ['gradcam', overlay], ['gradcam-fine', overlayFine]];
for (const [what, img] of written) console.log(`wrote ${what.padEnd(12)} ${img.width}x${img.height} ${img.path}`);
