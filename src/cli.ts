#!/usr/bin/env node
/**
 * The `nodegrad` command. Until the training issues land, `demo` (what `npm start` runs) shows the
 * foundation working end to end: the backend and ISA chosen at load, the course's worked examples through
 * `ops`, and a small convnet forward pass with its loss.
 */
import { createRequire } from 'node:module';
import {
  getBackend, nativeInfo, ops, tensor, randn, manualSeed, withBackend, referenceBackend, Tensor,
} from './index.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

function info(): void {
  const isa = nativeInfo();
  console.log(`nodegrad ${version} on Node ${process.version} (${process.platform}-${process.arch})`);
  console.log(`backend: ${getBackend().name}` + (isa ? ` (ISA ${isa.isa}; this CPU can run: ${isa.available.join(', ')})` : ''));
}

function image(rows: number[][]): Tensor {
  return tensor(rows).reshape([1, rows.length, rows[0].length, 1]);
}
function kernel(rows: number[][]): Tensor {
  return tensor(rows).reshape([rows.length, rows[0].length, 1, 1]);
}
function show(label: string, t: Tensor): void {
  const [, h, w] = t.shape;
  console.log(`${label}\n${t.reshape([h, w]).toString()}\n`);
}

function demo(): void {
  info();
  console.log('\n-- worked examples from the course (cross-correlation, NHWC) --\n');
  const x6 = image([[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3], [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]]);
  const vertical = kernel([[1, 0, -1], [1, 0, -1], [1, 0, -1]]);
  show("6x6 image * vertical-edge kernel, 'valid' -> 4x4", ops.conv2d(x6, vertical, { padding: 'valid' }));
  const pool = image([[29, 15, 28, 184], [0, 100, 70, 38], [12, 12, 7, 2], [12, 12, 45, 6]]);
  show('max pool 2x2 stride 2', ops.maxPool2d(pool, { poolSize: 2, strides: 2 }));

  console.log('-- a small convnet forward pass (batch 8, 28x28x1) --\n');
  manualSeed(42);
  const x = randn([8, 28, 28, 1]);
  const w1 = randn([3, 3, 1, 32], { std: Math.sqrt(2 / 9) });
  const w2 = randn([3, 3, 32, 64], { std: Math.sqrt(2 / 288) });
  const wd = randn([5 * 5 * 64, 10], { std: Math.sqrt(1 / 1600) });
  const labels = tensor([0, 1, 2, 3, 4, 5, 6, 7], undefined, 'int32');
  const forward = (): { logits: Tensor; loss: number } => {
    let h = ops.conv2d(x, w1, { padding: 'valid' }).relu();
    h = ops.maxPool2d(h, { poolSize: 2 });
    h = ops.conv2d(h, w2, { padding: 'valid' }).relu();
    h = ops.maxPool2d(h, { poolSize: 2 });
    const logits = ops.dense(h.reshape([8, -1]), wd);
    return { logits, loss: ops.softmaxCrossEntropy(logits, labels).item() };
  };
  const run = forward();
  console.log(`conv 3x3x32 -> relu -> maxpool -> conv 3x3x64 -> relu -> maxpool -> dense 10`);
  console.log(`logits ${JSON.stringify(run.logits.shape)}, mean cross-entropy of the untrained net ${run.loss.toFixed(4)}`);
  const ref = withBackend(referenceBackend, forward);
  const agree = run.logits.sub(ref.logits).abs().max().item();
  console.log(`'${getBackend().name}' and 'reference' backends agree: max |difference| of logits ${agree.toExponential(2)}`);
}

const cmd = process.argv[2] ?? 'demo';
switch (cmd) {
  case 'demo':
    demo();
    break;
  case 'info':
    info();
    break;
  default:
    console.error(`usage: nodegrad <demo|info>\nunknown command '${cmd}'`);
    process.exitCode = 2;
}
