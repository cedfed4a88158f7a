// Transfer learning, as the course does it: train a convnet on one task, then reuse its convolutional base on
// another. Fashion-MNIST is split in two: task A is classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat),
// task B classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot).
//
//   1. pretraining: the course's MNIST convnet (models.mnistConvnet) with a 5-class head, trained on task A
//   2. feature extraction: the base frozen (base.trainable = false), a new dense head trained on task B
//   3. fine-tuning: the last conv block (conv2d_2) unfrozen, trained together with the head, Adam 1e-4
//
//   node examples/transfer-learning.mjs           the embedded subset, 10 + 8 + 5 epochs (~10 s on 2 cores)
//   options: --epochs N (each phase), --smoke (tests: 512 images per task, 1 epoch per phase),
//            --torch-weights FILE   start from PyTorch weights instead of pretraining (see the end of this file)
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { Tensor, datasets, gather, importTorchWeights, input, layers, manualSeed, model, models, optimizers } from 'nodegrad';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const epochsArg = opt('--epochs');
const epochs = (n) => (epochsArg ? Number(epochsArg) : smoke ? 1 : n);
const torchWeights = opt('--torch-weights');

const data = await datasets.fashionMnist({ subset: 'embedded', normalize: true }); // pixels in [0, 1]

/** The images of classes lo..lo+4, relabelled 0..4 (at most n of them). */
function task(split, lo, n = Infinity) {
  const y = split.y.data;
  const idx = [];
  const labels = [];
  for (let i = 0; i < y.length && idx.length < n; i++) {
    if (y[i] >= lo && y[i] < lo + 5) {
      idx.push(i);
      labels.push(y[i] - lo);
    }
  }
  return { x: gather(split.x, idx), y: new Tensor(Int32Array.from(labels), [labels.length]) };
}
const [nTrain, nTest] = smoke ? [512, 256] : [Infinity, Infinity];
const A = { train: task(data.train, 0, nTrain), test: task(data.test, 0, nTest) };
const B = { train: task(data.train, 5, nTrain), test: task(data.test, 5, nTest) };
const names = (lo) => data.classNames.slice(lo, lo + 5).join(', ');
console.log(`task A (${names(0)}): ${A.train.x.shape[0]} training, ${A.test.x.shape[0]} test images`);
console.log(`task B (${names(5)}): ${B.train.x.shape[0]} training, ${B.test.x.shape[0]} test images`);

manualSeed(7);
const compileWith = (m, learningRate) =>
  m.compile({ optimizer: new optimizers.Adam({ learningRate }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const accuracy = async (m, split) => `${(100 * (await m.evaluate(split.x, split.y, { batchSize: 256 })).accuracy).toFixed(2)}%`;
const count = (vars) => vars.reduce((n, v) => n + v.size, 0).toLocaleString('en-US');

// The convolutional base: conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, conv2d_2 -> [3, 3, 128] feature maps.
const base = models.mnistConvnet({ includeTop: false });

// 1. Pretraining on task A (or PyTorch's weights for it).
const inA = input({ shape: [28, 28, 1] });
const headA = layers.dense({ units: 5, activation: 'softmax', name: 'head_a' });
const modelA = model({ inputs: inA, outputs: headA.apply(layers.flatten({ name: 'flatten_a' }).apply(base.apply(inA))), name: 'task_a' });
compileWith(modelA, 1e-3);
if (torchWeights) {
  // PyTorch's nn.Sequential names its modules by index; rename maps them to this model's layer names. The
  // Linear after Flatten is reordered from PyTorch's C,H,W to nodegrad's H,W,C (importTorchWeights reads it
  // from the model's graph).
  const byIndex = { 0: 'conv2d', 3: 'conv2d_1', 6: 'conv2d_2', 9: 'head_a' };
  const report = await importTorchWeights(modelA, torchWeights, { rename: (n) => n.replace(/^(\d+)\./, (_, i) => `${byIndex[i] ?? i}.`) });
  console.log(`1. PyTorch weights from ${torchWeights}: ${report.loaded.length} tensors loaded`);
} else {
  await modelA.fit(A.train.x, A.train.y, { epochs: epochs(10), batchSize: 64, verbose: 0 });
  console.log(`1. pretrained on task A: ${count(modelA.trainableWeights)} trainable parameters`);
}
console.log(`   task A test accuracy: ${await accuracy(modelA, A.test)}`);

// 2. Feature extraction: freeze the base, put a new head on it, train on task B. The base is called with
// training: false (Keras' recipe), so that its layers stay in inference mode even once they are unfrozen.
base.trainable = false;
const inB = input({ shape: [28, 28, 1] });
const features = base.apply(inB, { training: false });
const modelB = model({ inputs: inB, outputs: layers.dense({ units: 5, activation: 'softmax', name: 'head_b' }).apply(layers.flatten({ name: 'flatten_b' }).apply(features)), name: 'task_b' });
const snapshot = base.weights.map((v) => Float32Array.from(v.value.data));
compileWith(modelB, 1e-3);
await modelB.fit(B.train.x, B.train.y, { epochs: epochs(8), batchSize: 64, verbose: 0 });
const unchanged = base.weights.every((v, i) => v.value.data.every((x, j) => x === snapshot[i][j]));
console.log(`2. feature extraction on task B: ${count(modelB.trainableWeights)} trainable parameters (the head), base ${unchanged ? 'unchanged' : 'CHANGED'}`);
console.log(`   task B test accuracy: ${await accuracy(modelB, B.test)}`);

// 3. Fine-tuning: unfreeze the last conv block, keep the rest frozen, train again with a low learning rate.
base.trainable = true;
for (const l of base.layers) if (l.name !== 'conv2d_2') l.trainable = false;
compileWith(modelB, 1e-4); // compile again after changing what trains (as Keras requires)
await modelB.fit(B.train.x, B.train.y, { epochs: epochs(5), batchSize: 64, verbose: 0 });
console.log(`3. fine-tuning conv2d_2 + head with Adam 1e-4: ${count(modelB.trainableWeights)} trainable parameters`);
console.log(`   task B test accuracy: ${await accuracy(modelB, B.test)}`);

// --torch-weights: the same network in PyTorch, trained there and saved as safetensors, e.g.
//
//   net = torch.nn.Sequential(
//       torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
//       torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
//       torch.nn.Conv2d(64, 128, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(128 * 3 * 3, 5))
//   ... train on classes 0-4 (inputs [N, 1, 28, 28] in [0, 1]) ...
//   from safetensors.torch import save_file
//   save_file(net.state_dict(), 'fashion-a.safetensors')
