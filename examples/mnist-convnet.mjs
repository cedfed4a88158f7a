// The course's MNIST convnet on Fashion-MNIST: load, build, compile, fit, evaluate, predict, save, load again.
//
//   node examples/mnist-convnet.mjs            the embedded 3,500/1,000-image subset, 10 epochs (~10 s on 2 cores)
//   node examples/mnist-convnet.mjs --full     the full 60,000/10,000 images (local copy or download), 5 epochs
//   options: --epochs N, --smoke (a few hundred images, 1 epoch: what the tests run)
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasets, layers, loadModel, manualSeed, optimizers, sequential } from 'nodegrad';

const args = process.argv.slice(2);
const full = args.includes('--full');
const smoke = args.includes('--smoke');
const epochsArg = args.indexOf('--epochs');
const epochs = epochsArg >= 0 ? Number(args[epochsArg + 1]) : smoke ? 1 : full ? 5 : 10;

// Pixels 0..255 (the model rescales them), labels int32 class indices.
const data = await datasets.fashionMnist({ subset: full ? 'full' : 'embedded' });
let { train, test } = data;
if (smoke) {
  train = { x: train.x.slice([0, 0, 0, 0], [512, 28, 28, 1]), y: train.y.slice([0], [512]) };
  test = { x: test.x.slice([0, 0, 0, 0], [256, 28, 28, 1]), y: test.y.slice([0], [256]) };
}
console.log(`Fashion-MNIST (${data.subset}, from ${data.source}): ${train.x.shape[0]} training and ${test.x.shape[0]} test images`);

manualSeed(42); // the same seed gives bit-identical weights, run after run

const model = sequential([
  layers.rescaling({ scale: 1 / 255 }), // 0..255 -> [0, 1], inside the model: the saved model takes raw pixels
  layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }),
  layers.flatten(),
  layers.dense({ units: 10, activation: 'softmax' }),
], { inputShape: [28, 28, 1] });
model.summary();

model.compile({ optimizer: new optimizers.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const history = await model.fit(train.x, train.y, {
  epochs,
  batchSize: 64,
  // A progress bar on a terminal, one line per epoch otherwise. The test images serve as validation data here
  // to show the curve; nothing is tuned on them.
  validationData: [test.x, test.y],
});
const valAcc = history.history.val_accuracy;
console.log(`val_accuracy by epoch: ${valAcc.map((v) => v.toFixed(3)).join(' ')}`);

const { loss, accuracy } = await model.evaluate(test.x, test.y, { batchSize: 256 });
console.log(`test accuracy: ${(100 * accuracy).toFixed(2)}% (loss ${loss.toFixed(4)})`);

// Predictions for the first 8 test images: argmax of the class probabilities.
const probs = await model.predict(test.x.slice([0, 0, 0, 0], [8, 28, 28, 1]));
const predicted = probs.argmax(-1).toArray();
const truth = test.y.slice([0], [8]).toArray();
for (let i = 0; i < 8; i++) {
  console.log(`  image ${i}: predicted ${data.classNames[predicted[i]].padEnd(12)} true ${data.classNames[truth[i]]}`);
}

// Save (architecture + weights + optimizer state, crash-safe) and load it back: the same predictions.
const dir = join(tmpdir(), 'nodegrad-example-mnist-convnet');
await model.save(dir);
const again = await loadModel(dir);
const same = (await again.predict(test.x.slice([0, 0, 0, 0], [8, 28, 28, 1]))).sub(probs).abs().max().item() === 0;
console.log(`saved to ${dir}; the loaded model gives ${same ? 'identical' : 'DIFFERENT'} predictions`);
