/**
 * The anchors' W1 and W2 models (../shared/anchors/README.md, peers_torch.py) in nodegrad's Keras API, NHWC.
 *
 * W1 mnist-convnet, batch 64, 28x28x1: conv 32 3x3 relu, max pool 2, conv 64 3x3 relu, max pool 2,
 *    conv 128 3x3 relu, flatten, dense 10 (logits: 'valid' padding, 104,202 parameters); Adam(lr 1e-3).
 * W2 resnet20-cifar, batch 32, 32x32x3: conv3x3(16) + BN + relu, 3 stages x 3 basic blocks (16/32/64 channels,
 *    stride 2 at stage entry), projection shortcut (1x1 conv + BN) where the shape changes, global average
 *    pool, dense 10; SGD(lr 0.1, momentum 0.9); convolutions without bias (as torch's bias=False).
 *
 * Both models output logits, as peers_torch.py's: "train" uses softmax cross-entropy from logits (the fused
 * kernel, torch's F.cross_entropy), "infer" adds a softmax (torch's F.softmax(model(x), dim=1)).
 */

export const WORKLOADS = {
  W1: { batch: 64, inputShape: [28, 28, 1], classes: 10, params: 104202 },
  W2: { batch: 32, inputShape: [32, 32, 3], classes: 10, params: null },
};

export function mnistConvnet(ng, opts = {}) {
  const { layers } = ng;
  const ki = opts.kernelInitializer ? { kernelInitializer: opts.kernelInitializer } : {};
  return ng.sequential([
    layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', ...ki }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', ...ki }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu', ...ki }),
    layers.flatten(),
    layers.dense({ units: 10, ...ki }),
  ], { inputShape: [28, 28, 1] });
}

export function resnet20(ng) {
  const { layers } = ng;
  const conv = (filters, kernelSize, strides) => layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false });
  const bn = () => layers.batchNormalization();
  const x0 = ng.input({ shape: [32, 32, 3] });
  let x = layers.relu().apply(bn().apply(conv(16, 3, 1).apply(x0)));
  let cin = 16;
  for (const [cout, stride] of [[16, 1], [32, 2], [64, 2]]) {
    for (let i = 0; i < 3; i++) {
      const s = i === 0 ? stride : 1;
      let y = layers.relu().apply(bn().apply(conv(cout, 3, s).apply(x)));
      y = bn().apply(conv(cout, 3, 1).apply(y));
      const sc = s !== 1 || cin !== cout ? bn().apply(conv(cout, 1, s).apply(x)) : x;
      x = layers.relu().apply(layers.add().apply([y, sc]));
      cin = cout;
    }
  }
  x = layers.globalAveragePooling2d().apply(x);
  const out = layers.dense({ units: 10 }).apply(x);
  return ng.model({ inputs: x0, outputs: out, name: 'resnet20' });
}

/** The model, optimizer and loss of a workload; `batch` overrides the anchors' batch size. */
export function buildWorkload(ng, name, batch) {
  const size = { batch: batch ?? WORKLOADS[name]?.batch };
  if (name === 'W1') {
    return { model: mnistConvnet(ng), optimizer: new ng.optimizers.Adam({ learningRate: 1e-3 }), ...WORKLOADS.W1, ...size };
  }
  if (name === 'W2') {
    return { model: resnet20(ng), optimizer: new ng.optimizers.SGD({ learningRate: 0.1, momentum: 0.9 }), ...WORKLOADS.W2, ...size };
  }
  throw new Error(`unknown workload ${name}`);
}
