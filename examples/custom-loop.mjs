// A custom training loop instead of fit(): batches from a Dataset, the loss and its gradients from valueAndGrad,
// the update from an optimizer's applyGradients, a learning rate changed by hand, metrics accumulated by hand.
//
//   node examples/custom-loop.mjs              Fashion-MNIST's embedded subset, 8 epochs (~10 s on 2 cores)
//   node examples/custom-loop.mjs --full       the full 60,000/10,000 images (local copy or download), 5 epochs
//   options: --epochs N, --smoke (tests: 512 images, 1 epoch)
//
// Run `npm run build:ts` first: the examples import the package itself ('nodegrad' resolves to ./dist).
import {
  Dataset, datasets, gradients, layers, losses, manualSeed, metrics, optimizers, scope, sequential, valueAndGrad, withWeights,
} from 'nodegrad';

const args = process.argv.slice(2);
const full = args.includes('--full');
const smoke = args.includes('--smoke');
const epochs = args.includes('--epochs') ? Number(args[args.indexOf('--epochs') + 1]) : smoke ? 1 : 8;

const data = await datasets.fashionMnist({ subset: full ? 'full' : 'embedded', normalize: true }); // pixels in [0, 1]
const limit = (t, k) => (smoke ? t.slice(t.shape.map(() => 0), [k, ...t.shape.slice(1)]) : t);
const train = { x: limit(data.train.x, 512), y: limit(data.train.y, 512) };
const test = { x: limit(data.test.x, 256), y: limit(data.test.y, 256) };
console.log(`Fashion-MNIST (${data.subset}): ${train.x.shape[0]} training, ${test.x.shape[0]} test images`);

manualSeed(3);
const model = sequential([
  layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.flatten(),
  layers.dropout({ rate: 0.25 }),
  layers.dense({ units: 10 }), // logits: the loss applies the softmax (fromLogits)
], { inputShape: [28, 28, 1] });

const optimizer = new optimizers.Adam({ learningRate: 1e-3 });
const lossFn = new losses.SparseCategoricalCrossentropy({ fromLogits: true });
const vars = model.trainableVariables;

// valueAndGrad differentiates a function of tensors with respect to its arguments. Here the arguments are the
// weights: withWeights runs the model with them in place of its variables (a functional call, like
// torch.func.functional_call), so one call gives the batch loss and a gradient per variable.
function lossAndGrads(x, y) {
  let logits;
  const { value, grads } = valueAndGrad((...weights) =>
    withWeights(new Map(vars.map((v, i) => [v, weights[i]])), () => {
      logits = model.apply(x, { training: true });
      return lossFn.call(y, logits);
    }),
  )(...vars.map((v) => v.value));
  return { value, grads, logits };
}

// Batches: shuffled with a seed (a new order every epoch), 64 images each.
const batches = Dataset.fromTensorSlices({ x: train.x, y: train.y }).shuffle(train.x.shape[0], { seed: 1 }).batch(64);

for (let epoch = 0; epoch < epochs; epoch++) {
  if (epoch === Math.round((epochs * 2) / 3)) optimizer.learningRate = 3e-4; // a hand-made step schedule
  const t0 = performance.now();
  const trainAcc = new metrics.SparseCategoricalAccuracy();
  let lossSum = 0;
  let steps = 0;
  for await (const batch of batches) {
    // scope() disposes every tensor the step creates (activations, gradients) once it ends: buffers are reused.
    const loss = scope(() => {
      const { value, grads, logits } = lossAndGrads(batch.x, batch.y);
      optimizer.applyGradients(grads.map((g, i) => [g, vars[i]]));
      trainAcc.update(batch.y, logits); // accuracy of the training forward pass (dropout on), as fit reports it
      return value.item();
    });
    batches.release(batch); // hand the batch's storage back to the pipeline
    lossSum += loss;
    steps++;
  }
  // Evaluation: inference mode (dropout off), no tape.
  const logits = await model.predict(test.x, { batchSize: 256 });
  const testAcc = metrics.sparseCategoricalAccuracy(test.y, logits);
  console.log(
    `epoch ${epoch + 1}/${epochs}: loss ${(lossSum / steps).toFixed(4)}, train accuracy ${trainAcc.result().toFixed(4)}, ` +
      `test accuracy ${testAcc.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)}s, lr ${optimizer.learningRate})`,
  );
}

// The same gradient without valueAndGrad: gradients(loss, tensors) on the model's own variables, which
// require grad; no `.grad` is written.
const x = test.x.slice([0, 0, 0, 0], [8, 28, 28, 1]);
const y = test.y.slice([0], [8]);
const direct = gradients(lossFn.call(y, model.apply(x, { training: false })), vars.map((v) => v.value));
console.log(`gradients(): ${direct.length} tensors, |d loss / d ${vars[0].name}| = ${direct[0].norm().item().toExponential(3)}`);

// And a gradient with respect to the input images (saliency maps, Grad-CAM): the pixels that move the loss most.
const [dx] = valueAndGrad((images) => lossFn.call(y, model.apply(images, { training: false })))(x).grads;
console.log(`input gradient: ${JSON.stringify(dx.shape)}, max |d loss / d pixel| = ${dx.abs().max().item().toExponential(3)}`);
