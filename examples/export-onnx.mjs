// Train the course's MNIST convnet on Fashion-MNIST, export it to ONNX, and serve the export with onnxruntime.
//
//   node examples/export-onnx.mjs            the embedded 3,500/1,000-image subset, 3 epochs (~5 s on 2 cores)
//   options: --epochs N, --out FILE (default: <tmpdir>/nodegrad-example-export-onnx/fashion-mnist.onnx),
//            --smoke (512 images, 1 epoch: what the tests run)
//
// The ONNX file (opset 17) takes raw 0..255 pixels [N, 28, 28, 1] (NHWC, as nodegrad) under the input name
// 'pixels' and returns the class probabilities [N, 10] as 'probabilities'. It runs wherever ONNX does:
// onnxruntime in Node, Python, C#, the browser (onnxruntime-web), or a model server. Here it runs in
// onnxruntime-node when that package is installed (`npm install onnxruntime-node`); otherwise the script says so.
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { datasets, exportOnnx, input, layers, manualSeed, model, models, optimizers } from 'nodegrad';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const epochs = Number(opt('--epochs', smoke ? 1 : 3));
const out = opt('--out', join(tmpdir(), 'nodegrad-example-export-onnx', 'fashion-mnist.onnx'));

const data = await datasets.fashionMnist({ subset: 'embedded' });
let { train, test } = data;
if (smoke) {
  train = { x: train.x.slice([0, 0, 0, 0], [512, 28, 28, 1]), y: train.y.slice([0], [512]) };
  test = { x: test.x.slice([0, 0, 0, 0], [256, 28, 28, 1]), y: test.y.slice([0], [256]) };
}
console.log(`Fashion-MNIST (embedded): ${train.x.shape[0]} training and ${test.x.shape[0]} test images`);

// Raw pixels in, probabilities out: the rescaling sits inside the exported graph, and the convnet of
// models.mnistConvnet() is nested as one layer (the export inlines it).
manualSeed(42);
const pixels = input({ shape: [28, 28, 1], name: 'pixels' });
const scaled = layers.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(pixels);
const convnet = models.mnistConvnet({ classifierActivation: 'linear' });
const logits = convnet.apply(scaled);
const probabilities = layers.softmax({ name: 'probabilities' }).apply(logits);
const net = model({ inputs: pixels, outputs: probabilities, name: 'fashion_mnist' });
net.compile({ optimizer: new optimizers.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
await net.fit(train.x, train.y, { epochs, batchSize: 64, verbose: 0 });
const { accuracy } = await net.evaluate(test.x, test.y, { batchSize: 256 });
console.log(`nodegrad: ${epochs} epoch(s), test accuracy ${(100 * accuracy).toFixed(2)}%`);

// Export: one call; the file is written atomically (a reader never sees half a model).
mkdirSync(dirname(out), { recursive: true });
const bytes = exportOnnx(net, out);
console.log(`exported ${out} (${bytes.length.toLocaleString('en-US')} bytes, ONNX opset 17): input 'pixels' [N,28,28,1], output 'probabilities' [N,10]`);

// Serve it: onnxruntime-node if installed (it is an optional peer, not a dependency of nodegrad).
let ort = null;
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  const why = e?.code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `could not be loaded (${e?.message ?? e})`;
  console.log(`onnxruntime-node ${why}: skipped running the export (npm install onnxruntime-node to run it)`);
}
if (ort) {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const feeds = { pixels: new ort.Tensor('float32', test.x.data, test.x.shape) };
  const onnxProbs = (await session.run(feeds)).probabilities;
  const ours = await net.predict(test.x, { batchSize: 256 });

  // The largest difference between the two runtimes' probabilities, and whether they pick the same classes.
  let maxDiff = 0, agree = 0, correct = 0;
  const [n, classes] = onnxProbs.dims;
  const labels = test.y.data;
  for (let i = 0; i < n; i++) {
    let a = 0, b = 0;
    for (let k = 0; k < classes; k++) {
      const j = i * classes + k;
      maxDiff = Math.max(maxDiff, Math.abs(onnxProbs.data[j] - ours.data[j]));
      if (onnxProbs.data[j] > onnxProbs.data[i * classes + a]) a = k;
      if (ours.data[j] > ours.data[i * classes + b]) b = k;
    }
    if (a === b) agree++;
    if (a === labels[i]) correct++;
  }
  console.log(`onnxruntime-node ${ort.env.versions.node}: ${n} test images, max |probability difference| vs nodegrad ${maxDiff.toExponential(2)}`);
  console.log(`onnxruntime test accuracy ${(100 * correct / n).toFixed(2)}%; the same class as nodegrad for ${agree}/${n} images`);
  await session.release();
}
