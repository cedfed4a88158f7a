/**
 * The `nodegrad` command. Child processes run src/cli.ts itself (through test/io/child's TypeScript hooks, so no
 * build is needed and the sources under test are the ones checked out): `train` on a slice of the embedded
 * Fashion-MNIST subset (the hidden --limit flag), its output lines, the saved model loading back, `evaluate`
 * on it, and bad command lines exiting with code 2 and the usage text. The many bad-flag cases run in-process
 * through main() (same code, no process start-up).
 *
 * NODEGRAD_SLOW_TESTS=1 adds what `npm start` does on the embedded subset (the default epochs) with an accuracy
 * floor; about 20-40 s on 2 cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { main, parseFlags } from '../src/cli.js';
import { loadModel } from '../src/io/model.js';
import { datasets } from '../src/data/index.js';

const root = resolve(import.meta.dirname, '..');
const CLI = join(root, 'src', 'cli.ts');
const HOOKS = join(root, 'test', 'io', 'child', 'register.mjs');
const slow = process.env.NODEGRAD_SLOW_TESTS === '1';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'nodegrad-cli-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeout = 60_000): Run {
  const r = spawnSync(process.execPath, ['--import', HOOKS, CLI, ...args], {
    cwd: tmp,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** main() in this process, with console output captured. */
async function inProcess(args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('nodegrad train and evaluate (child processes)', () => {
  let model: string;
  let run: Run;

  beforeAll(() => {
    model = join(tmp, 'model');
    run = cli(['train', '--data', 'embedded', '--limit', '256', '--epochs', '1', '--out', model, '--seed', '3']);
  });

  it('trains, reports test accuracy and where the model went', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^nodegrad \d+\.\d+\.\d+ - backend (native|reference)/);
    expect(run.stdout).toMatch(/^data: Fashion-MNIST, the embedded subset shipped with nodegrad \(3,500 training \/ 1,000 test images\) from .*assets[/\\]fashion-mnist-subset/m);
    expect(run.stdout).toContain('--limit 256: using the first 256 training and 256 test images');
    // The course's convnet: its summary, with the hand-counted 104,202 parameters.
    expect(run.stdout).toMatch(/conv2d_2 \(Conv2D\)\s+\(None, 3, 3, 128\)\s+73,856/);
    expect(run.stdout).toContain('Total params: 104,202');
    expect(run.stdout).toContain('training: 1 epoch of 256 images (4 batches of 64), Adam lr 0.001, seed 3');
    // Not a TTY: one line per epoch, no carriage returns.
    expect(run.stdout).toMatch(/^Epoch 1\/1 - 4\/4 - \d+s - \d+m?s\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$/m);
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).toMatch(/^test accuracy: \d+\.\d\d% \(loss \d\.\d{4}\) on 256 Fashion-MNIST test images \(embedded subset\)$/m);
    expect(run.stdout).toContain(`saved the model to ${model}`);
    expect(run.stdout).toMatch(/^done in \d/m);
  });

  it('saves a model that loads, with its training record beside it', async () => {
    expect(readdirSync(model)).toEqual(expect.arrayContaining(['checkpoint.json', 'nodegrad-train.json']));
    const m = await loadModel(model);
    expect(m.weights.reduce((n, v) => n + v.size, 0)).toBe(104_202);
    const info = JSON.parse(readFileSync(join(model, 'nodegrad-train.json'), 'utf8'));
    expect(info).toMatchObject({ dataset: 'fashion-mnist', data: 'embedded', epochs: 1, batchSize: 64, seed: 3, limit: 256 });
    const printed = Number(/test accuracy: ([\d.]+)%/.exec(run.stdout)![1]) / 100;
    expect(info.testAccuracy).toBeCloseTo(printed, 4);
    // The saved model takes raw 0..255 pixels (it starts with a Rescaling layer) and reproduces that accuracy.
    const d = await datasets.fashionMnist({ subset: 'embedded' });
    const x = d.test.x.slice([0, 0, 0, 0], [256, 28, 28, 1]);
    const y = d.test.y.slice([0], [256]);
    const r = await m.evaluate(x, y, { batchSize: 256 });
    expect(r.accuracy).toBeCloseTo(info.testAccuracy, 6);
  });

  it('evaluate prints loss, accuracy and a confusion matrix', () => {
    const r = cli(['evaluate', model, '--data', 'embedded', '--limit', '200']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^model: .*model \(mnist_convnet, 104,202 parameters, input \[28,28,1\]\)$/m);
    const acc = /^test accuracy: (\d+\.\d\d)% \(loss \d\.\d{4}\) on 200 Fashion-MNIST test images \((\d+) correct\)$/m.exec(r.stdout);
    expect(acc).not.toBeNull();
    expect(Number(acc![1])).toBeCloseTo((100 * Number(acc![2])) / 200, 2);
    expect(r.stdout).toContain('confusion matrix (rows: true class, columns: predicted class):');
    const rows = r.stdout.split('\n').filter((l) => /^\d [A-Za-z]/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/)[0])).toEqual(['0 T-shirt/top', '1 Trouser', '2 Pullover', '3 Dress', '4 Coat', '5 Sandal', '6 Shirt', '7 Sneaker', '8 Bag', '9 Ankle boot']);
    // The counts: 10 per row, summing to the 200 images; the diagonal to the correct ones.
    const counts = rows.map((l) => l.replace(/^\d [\w/ -]+?\s{2,}/, '').trim().split(/\s+/).slice(0, 10).map(Number));
    expect(counts.flat().reduce((a, b) => a + b, 0)).toBe(200);
    expect(counts.reduce((a, row, i) => a + row[i], 0)).toBe(Number(acc![2]));
  });

  it('bad flags exit with code 2 and the usage text', () => {
    const r = cli(['train', '--epochs', 'two']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("nodegrad train: option '--epochs' must be an integer >= 1, got 'two'");
    expect(r.stderr).toContain('usage: nodegrad train [options]');
    expect(r.stderr).toContain('--epochs N');
    const u = cli(['train', '--colour', 'red']);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("unknown option '--colour'");
  });

  const hasScript = process.platform === 'linux' && spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('on a terminal, a progress bar redrawn in place (util-linux script gives the child a TTY)', () => {
    const cmd = [process.execPath, '--import', HOOKS, CLI, 'train', '--data', 'embedded', '--limit', '640', '--epochs', '1', '--out', join(tmp, 'tty')]
      .map((a) => `'${a}'`)
      .join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Epoch 1/1\r\n');
    expect(r.stdout).toMatch(/\r {0,2}\d+\/10 \[=*>?\.*\] - ETA: \d+s - loss: /);
    expect(r.stdout).toMatch(/\r10\/10 \[={30}\] - \d+s \d+m?s\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}/);
    expect(r.stdout).toMatch(/test accuracy: \d+\.\d\d%/);
  });

  it('--quiet prints the results only; info and --help work', () => {
    const q = cli(['train', '--data', 'embedded', '--limit', '128', '--epochs', '1', '--out', join(tmp, 'quiet'), '--quiet']);
    expect(q.code).toBe(0);
    const lines = q.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^test accuracy: /);
    expect(lines[1]).toBe(`saved the model to ${join(tmp, 'quiet')}`);
    expect(lines[2]).toMatch(/^done in /);
    const i = cli(['info']);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/^backend: (native|reference)/m);
    expect(i.stdout).toMatch(/^threads: \d+ \(cores: \d+/m);
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^ {2}train {5}/m);
  });
});

describe('nodegrad command line (in-process)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['train', '--epochs', '2.5'], /option '--epochs' must be an integer >= 1, got '2.5'/],
    [['train', '--epochs', '0'], /option '--epochs' must be an integer >= 1, got '0'/],
    [['train', '--epochs'], /option '--epochs' needs a value/],
    [['train', '--epochs', '--quiet'], /option '--epochs' needs a value/],
    [['train', '--epoch', '3'], /unknown option '--epoch' \(did you mean '--epochs'\?\)/],
    [['train', '-e', '3'], /unknown option '-e'/],
    [['train', '--quiet=yes'], /option '--quiet' takes no value/],
    [['train', '--epochs', '2', '--epochs', '3'], /option '--epochs' is given twice/],
    [['train', '--data', 'huge'], /option '--data' must be one of auto, full, embedded, got 'huge'/],
    [['train', '--dataset', 'fashion_mnist'], /must be one of fashion-mnist, mnist, cifar10, got 'fashion_mnist' \(did you mean 'fashion-mnist'\?\)/],
    [['train', '--validation-split', '1'], /option '--validation-split' must be a number in \[0, 1\), got '1'/],
    [['train', '--learning-rate', '0'], /option '--learning-rate' must be a number > 0, got '0'/],
    [['train', '--batch-size', '1e3'], /option '--batch-size' must be an integer >= 1, got '1e3'/],
    [['train', 'extra'], /'train' takes no arguments, got 'extra'/],
    [['train', '--dataset', 'mnist', '--data', 'embedded'], /only Fashion-MNIST ships an embedded subset/],
    [['evaluate'], /'evaluate' needs <modelDir>/],
    [['evaluate', 'a', 'b'], /'evaluate' needs <modelDir>/],
    [['trian'], /unknown command 'trian' \(did you mean 'train'\?\)/],
    [['help', 'nope'], /unknown command 'nope'/],
  ];
  it.each(cases)('%j exits 2: %s', async (args, message) => {
    const r = await inProcess(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: nodegrad /);
  });

  it('parses --name=value, --name value and --', () => {
    const spec = { epochs: { kind: 'int' as const, min: 1 }, out: { kind: 'string' as const }, quiet: { kind: 'bool' as const } };
    expect(parseFlags('t', ['--epochs=3', '--out', 'x', '--quiet', '--', '--not-a-flag'], spec)).toEqual({ flags: { epochs: 3, out: 'x', quiet: true }, positionals: ['--not-a-flag'] });
    expect(parseFlags('t', ['--out', '-'], spec).flags.out).toBe('-');
  });

  it('--help, help <command> and --version exit 0', async () => {
    const h = await inProcess(['train', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^usage: nodegrad train \[options\]/);
    expect(h.stdout).toContain('--validation-split F');
    expect(h.stdout).not.toContain('--limit'); // a test hook, hidden
    expect((await inProcess(['help', 'evaluate'])).stdout).toMatch(/^usage: nodegrad evaluate <modelDir>/);
    expect((await inProcess([])).stdout).toMatch(/^usage: nodegrad <command>/);
    expect((await inProcess(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses an --out folder that holds something else, before training', async () => {
    const dir = join(tmp, 'not-a-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = await inProcess(['train', '--data', 'embedded', '--limit', '64', '--epochs', '1', '--out', dir, '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not empty and holds no nodegrad model/);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('evaluate of a missing folder is an error (exit 1), not a usage error', async () => {
    const r = await inProcess(['evaluate', join(tmp, 'nowhere')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not exist \(train a model first/);
  });

  it('the same seed gives the same model; --validation-split reports validation metrics', async () => {
    const weights = (dir: string): string => JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).files['weights.safetensors'].sha256;
    const args = ['train', '--data', 'embedded', '--limit', '192', '--epochs', '1', '--seed', '11', '--quiet'];
    expect((await inProcess([...args, '--out', join(tmp, 's1')])).code).toBe(0);
    expect((await inProcess([...args, '--out', join(tmp, 's2')])).code).toBe(0);
    expect(weights(join(tmp, 's1'))).toMatch(/^[0-9a-f]{64}$/);
    expect(weights(join(tmp, 's1'))).toBe(weights(join(tmp, 's2')));
    const v = await inProcess([...args, '--out', join(tmp, 's3'), '--validation-split', '0.25']);
    expect(v.code).toBe(0);
    const info = JSON.parse(readFileSync(join(tmp, 's3', 'nodegrad-train.json'), 'utf8'));
    expect(info.validationSplit).toBe(0.25);
  });

  it('package.json points the bin at dist/cli.js, which src/cli.ts builds to (with its shebang)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.bin.nodegrad).toBe('./dist/cli.js');
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe.skipIf(!slow)('npm start on the embedded subset (NODEGRAD_SLOW_TESTS=1)', () => {
  it('trains the default epochs to a meaningful accuracy', () => {
    const out = join(tmp, 'start');
    const r = cli(['train', '--data', 'embedded', '--out', out], 300_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training: 20 epochs of 3,500 images');
    const acc = Number(/^test accuracy: ([\d.]+)%/m.exec(r.stdout)![1]);
    expect(acc).toBeGreaterThan(82);
    expect(existsSync(join(out, 'checkpoint.json'))).toBe(true);
  }, 300_000);
});
