/**
 * Every script in examples/ runs, in its --smoke mode (a few hundred images, one epoch: a few seconds each), in a
 * child process. The examples import 'nodegrad' (the package itself, i.e. ./dist); here a module hook maps that
 * to src/index.ts and test/io/child's TypeScript hooks transpile the sources, so the test needs no build and
 * checks the sources checked out. TMPDIR points into a temporary folder, where the examples write their files.
 *
 * NODEGRAD_SLOW_TESTS=1 also runs each example at its default size (what examples/README.md documents, about
 * 1-2 minutes in all on 2 cores) and checks the accuracy it reaches.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const examples = join(root, 'examples');
const slow = process.env.NODEGRAD_SLOW_TESTS === '1';

let tmp: string;
let register: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nodegrad-examples-'));
  const hook = join(tmp, 'nodegrad-to-src.mjs');
  writeFileSync(
    hook,
    [
      `const INDEX = ${JSON.stringify(pathToFileURL(join(root, 'src', 'index.ts')).href)};`,
      'export async function resolve(specifier, context, next) {',
      "  return specifier === 'nodegrad' ? { url: INDEX, shortCircuit: true } : next(specifier, context);",
      '}',
    ].join('\n'),
  );
  register = join(tmp, 'register.mjs');
  writeFileSync(
    register,
    [
      "import { register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(join(root, 'test', 'io', 'child', 'ts-hooks.mjs')).href)});`,
      `register(${JSON.stringify(pathToFileURL(hook).href)});`,
    ].join('\n'),
  );
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function example(name: string, args: string[], timeout = 60_000): string {
  const r = spawnSync(process.execPath, ['--import', register, join(examples, name), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, TMPDIR: tmp, NODE_NO_WARNINGS: '1' },
  });
  if (r.error) throw r.error;
  expect(r.stderr, `${name} stderr`).toBe('');
  expect(r.status, `${name} exit code; stdout:\n${r.stdout}`).toBe(0);
  return r.stdout;
}

const accuracyOf = (out: string, label: string): number => Number(new RegExp(`${label}: ([\\d.]+)%`).exec(out)![1]);

describe('examples (--smoke)', () => {
  it('examples/README.md lists every example with its command', () => {
    const readme = readFileSync(join(examples, 'README.md'), 'utf8');
    const scripts = readdirSync(examples).filter((f) => f.endsWith('.mjs'));
    expect(scripts.sort()).toEqual([
      'cifar-resnet.mjs', 'custom-loop.mjs', 'export-onnx.mjs', 'image-folder.mjs', 'mnist-convnet.mjs', 'transfer-learning.mjs',
      'visualize.mjs',
    ]);
    for (const s of scripts) expect(readme).toContain(`node examples/${s}`);
  });

  it('mnist-convnet: trains, predicts, saves and loads back', () => {
    const out = example('mnist-convnet.mjs', ['--smoke']);
    expect(out).toContain('Fashion-MNIST (embedded, from');
    expect(out).toContain('512 training and 256 test images');
    expect(out).toContain('Total params: 104,202');
    expect(out).toMatch(/^Epoch 1\/1 - 8\/8 /m);
    expect(out).toMatch(/^test accuracy: \d+\.\d\d% \(loss \d\.\d{4}\)$/m);
    expect(out.match(/^ {2}image \d: predicted .+ true .+$/gm)).toHaveLength(8);
    expect(out).toContain('the loaded model gives identical predictions');
    expect(existsSync(join(tmp, 'nodegrad-example-mnist-convnet', 'checkpoint.json'))).toBe(true);
  });

  it('cifar-resnet: writes synthetic CIFAR batches when CIFAR-10 is absent, trains a ResNet with augmentation', () => {
    const out = example('cifar-resnet.mjs', ['--smoke']);
    if (/^CIFAR-10 from /m.test(out)) {
      expect(out).toContain('256 training and 128 test images, [32,32,3]');
    } else {
      expect(out).toContain('CIFAR-10 not found locally');
      expect(out).toMatch(/Using SYNTHETIC CIFAR-format data instead: wrote 256 \+ 128 images/);
      // The files are CIFAR-10 binary batches: 3,073 bytes per image.
      const dir = join(tmp, 'nodegrad-example-cifar-synthetic');
      expect(readFileSync(join(dir, 'data_batch_1.bin')).length).toBe(256 * 3073);
      expect(readFileSync(join(dir, 'test_batch.bin')).length).toBe(128 * 3073);
    }
    expect(out).toMatch(/^ResNet-8: [\d,]+ parameters$/m);
    expect(out).toMatch(/^Epoch 1\/1 - 4\/4 /m);
    expect(out).toMatch(/^test accuracy: \d+\.\d\d% /m);
  });

  it('image-folder: writes PNGs per class, trains from the folder with a validation split', () => {
    const out = example('image-folder.mjs', ['--smoke']);
    expect(out).toMatch(/^wrote 300 PNG files of Fashion-MNIST images into /m);
    expect(out).toContain('Found 300 files belonging to 10 classes.');
    expect(out).toContain('classes: Ankle boot, Bag, Coat, Dress, Pullover, Sandal, Shirt, Sneaker, T-shirt-top, Trouser');
    expect(out).toContain('training on 240 files, validating on 60');
    expect(out).toMatch(/^validation accuracy: \d+\.\d\d% after 1 epochs/m);
    const folder = join(tmp, 'nodegrad-example-image-folder');
    expect(readdirSync(join(folder, 'Bag')).filter((f) => f.endsWith('.png'))).toHaveLength(30);
  });

  it('custom-loop: valueAndGrad + applyGradients, gradients() and input gradients', () => {
    const out = example('custom-loop.mjs', ['--smoke']);
    expect(out).toMatch(/^epoch 1\/1: loss \d\.\d{4}, train accuracy \d\.\d{4}, test accuracy \d\.\d{4} /m);
    expect(out).toMatch(/^gradients\(\): 6 tensors, \|d loss \/ d conv2d\/kernel\| = \d\.\d{3}e[-+]\d+$/m);
    expect(out).toMatch(/^input gradient: \[8,28,28,1\], max \|d loss \/ d pixel\| = /m);
    const loss = Number(/^epoch 1\/1: loss ([\d.]+)/m.exec(out)![1]);
    expect(loss).toBeLessThan(Math.log(10)); // below chance after one epoch of updates
  });

  it('transfer-learning: pretrain on classes 0-4, feature extraction and fine-tuning on 5-9', () => {
    const out = example('transfer-learning.mjs', ['--smoke']);
    expect(out).toContain('task A (T-shirt/top, Trouser, Pullover, Dress, Coat): 512 training, 256 test images');
    expect(out).toMatch(/^1\. pretrained on task A: 98,437 trainable parameters$/m);
    expect(out).toMatch(/^2\. feature extraction on task B: 5,765 trainable parameters \(the head\), base unchanged$/m);
    expect(out).toMatch(/^3\. fine-tuning conv2d_2 \+ head with Adam 1e-4: 79,621 trainable parameters$/m);
    expect(out.match(/^ {3}task [AB] test accuracy: \d+\.\d\d%$/gm)).toHaveLength(3);
  });

  it('visualize: trains briefly, writes the activation grid, filter grid and Grad-CAM PNGs', () => {
    const out = example('visualize.mjs', ['--smoke']);
    expect(out).toContain('training on 512 images for 1 epoch(s)');
    expect(out).toMatch(/^test accuracy: \d+\.\d\d%$/m);
    expect(out).toMatch(/^test image 0: .+, predicted .+ \(p = \d\.\d{3}\)$/m);
    expect(out).toMatch(/^filter ascent: mean activation raised by \d+\.\d{3} on average over 4 filters/m);
    const dir = join(tmp, 'nodegrad-example-visualize');
    for (const f of ['input', 'activations', 'filters', 'gradcam', 'gradcam-conv2d_1']) {
      expect(out).toContain(join(dir, `${f}.png`));
      expect(readFileSync(join(dir, `${f}.png`)).subarray(1, 4).toString('latin1')).toBe('PNG');
    }
  });

  it('export-onnx: trains briefly, exports to ONNX, runs the export in onnxruntime-node', () => {
    const out = example('export-onnx.mjs', ['--smoke']);
    expect(out).toContain('512 training and 256 test images');
    expect(out).toMatch(/^exported .+fashion-mnist\.onnx \([\d,]+ bytes, ONNX opset 17\)/m);
    const m = /max \|probability difference\| vs nodegrad (\S+)$/m.exec(out);
    if (m) {
      expect(Number(m[1])).toBeLessThanOrEqual(1e-5);
      expect(out).toContain('the same class as nodegrad for 256/256 images');
    } else expect(out).toContain('onnxruntime-node is not installed');
    expect(existsSync(join(tmp, 'nodegrad-example-export-onnx', 'fashion-mnist.onnx'))).toBe(true);
  });
});

describe.skipIf(!slow)('examples at their default sizes (NODEGRAD_SLOW_TESTS=1)', () => {
  it('mnist-convnet reaches 82% on the embedded test images', () => {
    expect(accuracyOf(example('mnist-convnet.mjs', [], 300_000), 'test accuracy')).toBeGreaterThan(82);
  }, 300_000);
  it('custom-loop reaches 80%', () => {
    expect(Number(/test accuracy (0\.\d+) \([^)]*\)\ngradients/.exec(example('custom-loop.mjs', [], 300_000))![1])).toBeGreaterThan(0.8);
  }, 300_000);
  it('image-folder reaches 72% on its validation files', () => {
    expect(accuracyOf(example('image-folder.mjs', [], 300_000), 'validation accuracy')).toBeGreaterThan(72);
  }, 300_000);
  it('transfer-learning: feature extraction on classes 5-9 above 85%', () => {
    expect(accuracyOf(example('transfer-learning.mjs', [], 300_000), 'task B test accuracy')).toBeGreaterThan(85);
  }, 300_000);
  it('cifar-resnet learns the synthetic shapes (or CIFAR-10 when present)', () => {
    const out = example('cifar-resnet.mjs', [], 300_000);
    expect(accuracyOf(out, 'test accuracy')).toBeGreaterThan(/^CIFAR-10 from /m.test(out) ? 30 : 60);
  }, 300_000);
});
