#!/usr/bin/env node
/**
 * The `nodegrad` command (package.json "bin"):
 *
 *   nodegrad train [options]          train the course's MNIST convnet (Fashion-MNIST by default), report test
 *                                     accuracy, save the model (what `npm start` runs)
 *   nodegrad evaluate <dir> [options] load a saved model, evaluate it on the test set, print a confusion matrix
 *   nodegrad info                     versions, backend, ISA, threads, where the data would come from
 *   nodegrad demo                     the foundation demo: worked examples through `ops`, a forward pass on both
 *                                     backends
 *
 * `train` uses the full dataset when a local copy is found, else (Fashion-MNIST) the embedded 3,500/1,000-image
 * subset, and says which; it saves into ./nodegrad-model (--out), a checkpoint directory as model.save() writes
 * it plus nodegrad-train.json (dataset, settings, test accuracy), which `evaluate` reads to pick the dataset. The
 * model starts with a Rescaling(1/255) layer, so the saved model takes raw 0..255 pixels.
 *
 * Usage errors (unknown command or flag, a flag without its value, a value of the wrong kind) print the message
 * and the command's usage to stderr and exit with code 2; a failure while running (data not found, a corrupt
 * model directory) prints the error and exits with 1.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  getBackend, nativeInfo, ops, tensor, randn, manualSeed, withBackend, referenceBackend, Tensor, getNumThreads, setNumThreads,
  sequential, layers, optimizers, loadModel, datasets, metrics, NodegradError, Model, io, clearSession,
} from './index.js';
import { Rescaling } from './nn/index.js';
import type { LoadedDataset, Split } from './data/index.js';
import { loadNativeBackend } from './backends/native/index.js';
import { cacheDir, dataDirs, embeddedFashionMnistDir } from './data/datasets.js';

const require = createRequire(import.meta.url);
const { version } = require('../package.json') as { version: string };

// --------------------------------------------------------------------------------------------------
// Argument parsing

/** A bad command line: printed with the command's usage, exit code 2. */
class UsageError extends Error {
  constructor(message: string, readonly command: string | null) {
    super(message);
  }
}

type FlagKind = 'int' | 'number' | 'string' | 'bool';
interface FlagSpec {
  kind: FlagKind;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** Smallest allowed value (int / number). */
  min?: number;
  /** Values must be < max (number). */
  maxExclusive?: number;
  /** Not listed in the usage text (test hooks). */
  hidden?: boolean;
  /** "--epochs N" in the usage text. */
  arg?: string;
  help?: string;
}
type Flags = Record<string, string | number | boolean | undefined>;

const DATASETS = ['fashion-mnist', 'mnist', 'cifar10'] as const;
type DatasetName = (typeof DATASETS)[number];
const DATA_MODES = ['auto', 'full', 'embedded'] as const;
type DataMode = (typeof DATA_MODES)[number];

/** Default epochs: the course's 5 on full data; on the 3,500-image embedded subset, test accuracy levels off around 15-25 (84-87%). */
const EPOCHS_FULL = 5;
const EPOCHS_EMBEDDED = 20;
const DEFAULT_OUT = 'nodegrad-model';
const DEFAULT_SEED = 42;
/** Written beside the checkpoint by `train`; `evaluate` reads it for the dataset's name. */
const TRAIN_INFO = 'nodegrad-train.json';

const COMMON: Record<string, FlagSpec> = {
  dataset: { kind: 'string', choices: DATASETS, arg: 'NAME', help: 'fashion-mnist (default), mnist or cifar10' },
  data: {
    kind: 'string', choices: DATA_MODES, arg: 'MODE',
    help: "auto (default): the full dataset when a local copy is found, else Fashion-MNIST's embedded subset; full: local copy or download; embedded: the 3,500/1,000-image Fashion-MNIST subset shipped with nodegrad",
  },
  'batch-size': { kind: 'int', min: 1, arg: 'N', help: 'samples per batch (default 64; evaluate: 256)' },
  threads: { kind: 'int', min: 1, arg: 'N', help: 'threads of the native kernels (default: NODEGRAD_NUM_THREADS, else the core count)' },
  limit: { kind: 'int', min: 1, hidden: true, arg: 'N', help: 'use the first N training and N test images (tests)' },
  help: { kind: 'bool', help: 'this text' },
};

const TRAIN_FLAGS: Record<string, FlagSpec> = {
  epochs: { kind: 'int', min: 1, arg: 'N', help: `epochs (default ${EPOCHS_FULL} on full data, ${EPOCHS_EMBEDDED} on the embedded subset)` },
  'batch-size': COMMON['batch-size'],
  'learning-rate': { kind: 'number', min: Number.MIN_VALUE, arg: 'LR', help: 'Adam learning rate (default 0.001)' },
  dataset: COMMON.dataset,
  data: COMMON.data,
  'validation-split': {
    kind: 'number', min: 0, maxExclusive: 1, arg: 'F',
    help: 'fraction of the training images (a seeded random draw) held out to report val_loss / val_accuracy each epoch (default 0: train on all, as the course)',
  },
  out: { kind: 'string', arg: 'DIR', help: `where the model is saved (default ./${DEFAULT_OUT}, relative to the current directory)` },
  seed: { kind: 'int', min: 0, arg: 'N', help: `seed of the initial weights and the shuffling (default ${DEFAULT_SEED}): the same seed gives the same model` },
  threads: COMMON.threads,
  quiet: { kind: 'bool', help: 'no summary or progress: only the results and where the model went' },
  limit: COMMON.limit,
  help: COMMON.help,
};

const EVALUATE_FLAGS: Record<string, FlagSpec> = {
  dataset: { ...COMMON.dataset, help: 'the dataset to evaluate on (default: the one it was trained on, from its nodegrad-train.json)' },
  data: COMMON.data,
  'batch-size': COMMON['batch-size'],
  threads: COMMON.threads,
  limit: COMMON.limit,
  help: COMMON.help,
};

const NO_FLAGS: Record<string, FlagSpec> = { help: COMMON.help };

interface CommandSpec {
  summary: string;
  synopsis: string;
  flags: Record<string, FlagSpec>;
  /** Positional arguments: exactly this many. */
  positionals: number;
  run: (flags: Flags, positionals: string[]) => Promise<void> | void;
}

const COMMANDS: Record<string, CommandSpec> = {
  train: { summary: "train the course's MNIST convnet (Fashion-MNIST by default) and save it", synopsis: 'train [options]', flags: TRAIN_FLAGS, positionals: 0, run: (f) => train(f) },
  evaluate: { summary: 'evaluate a saved model on the test set (loss, accuracy, confusion matrix)', synopsis: 'evaluate <modelDir> [options]', flags: EVALUATE_FLAGS, positionals: 1, run: (f, p) => evaluateCommand(p[0], f) },
  info: { summary: 'versions, backend, ISA, threads, and where the datasets would be read from', synopsis: 'info', flags: NO_FLAGS, positionals: 0, run: () => info(true) },
  demo: { summary: 'worked examples through ops, and a convnet forward pass on the native and reference backends', synopsis: 'demo', flags: NO_FLAGS, positionals: 0, run: () => demo() },
};

function wrap(text: string, indent: number, width = 100): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function usage(command: string | null): string {
  if (command === null || !COMMANDS[command]) {
    const lines = ['usage: nodegrad <command> [options]', '', 'commands:'];
    for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)}${c.summary}`);
    lines.push('', "'nodegrad <command> --help' lists a command's options; 'nodegrad --version' prints the version.");
    return lines.join('\n');
  }
  const c = COMMANDS[command];
  const lines = [`usage: nodegrad ${c.synopsis}`, '', c.summary];
  const shown = Object.entries(c.flags).filter(([, s]) => !s.hidden);
  if (shown.length > 0) {
    lines.push('', 'options:');
    const col = 24;
    for (const [name, s] of shown) {
      const head = `  --${name}${s.arg ? ` ${s.arg}` : ''}`;
      const body = wrap(s.help ?? '', col);
      lines.push(head.length < col ? head.padEnd(col) + (body[0] ?? '') : head, ...(head.length < col ? body.slice(1) : body).map((l) => ' '.repeat(col) + l));
    }
  }
  return lines.join('\n');
}

/** Edit distance with adjacent transpositions (optimal string alignment): 'trian' is 1 from 'train'. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function suggest(word: string, candidates: readonly string[]): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : '';
}

/** Parses `--name value`, `--name=value` and boolean `--name` flags against spec; `--` ends the flags. */
export function parseFlags(command: string, argv: readonly string[], spec: Record<string, FlagSpec>): { flags: Flags; positionals: string[] } {
  const flags: Flags = {};
  const positionals: string[] = [];
  const visible = Object.keys(spec).filter((k) => !spec[k].hidden);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h') {
      flags.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) throw new UsageError(`unknown option '${a}' (options are spelled --name)`, command);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) {
      const near = suggest(name, visible);
      throw new UsageError(`unknown option '--${name}'${near ? ` (did you mean '--${near}'?)` : ''}`, command);
    }
    if (name in flags) throw new UsageError(`option '--${name}' is given twice`, command);
    if (s.kind === 'bool') {
      if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`, command);
      flags[name] = true;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && argv[i + 1].length > 2)) throw new UsageError(`option '--${name}' needs a value (--${name} ${s.arg ?? 'VALUE'})`, command);
      raw = argv[++i];
    }
    flags[name] = parseValue(command, name, s, raw);
  }
  return { flags, positionals };
}

function parseValue(command: string, name: string, s: FlagSpec, raw: string): string | number {
  const bad = (what: string) => new UsageError(`option '--${name}' must be ${what}, got '${raw}'`, command);
  if (s.kind === 'string') {
    if (raw === '') throw bad('a non-empty string');
    if (s.choices && !s.choices.includes(raw)) {
      const near = suggest(raw, s.choices);
      throw new UsageError(`option '--${name}' must be one of ${s.choices.join(', ')}, got '${raw}'${near ? ` (did you mean '${near}'?)` : ''}`, command);
    }
    return raw;
  }
  const trimmed = raw.trim();
  const v = trimmed === '' ? NaN : Number(trimmed);
  if (s.kind === 'int') {
    if (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(v)) throw bad(`an integer${s.min !== undefined ? ` >= ${s.min}` : ''}`);
    if (s.min !== undefined && v < s.min) throw bad(`an integer >= ${s.min}`);
    return v;
  }
  const range = s.maxExclusive !== undefined ? `a number in [${s.min ?? '-inf'}, ${s.maxExclusive})` : s.min === Number.MIN_VALUE ? 'a number > 0' : `a number >= ${s.min}`;
  if (!Number.isFinite(v)) throw bad(s.min !== undefined ? range : 'a number');
  if (s.min !== undefined && v < s.min) throw bad(range);
  if (s.maxExclusive !== undefined && v >= s.maxExclusive) throw bad(range);
  return v;
}

// --------------------------------------------------------------------------------------------------
// Output helpers

const fmtInt = (n: number): string => n.toLocaleString('en-US');
const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
const secs = (ms: number): string => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m ${((ms % 60_000) / 1000).toFixed(0)}s` : `${(ms / 1000).toFixed(1)}s`);

/** How to run this command again: `nodegrad`, or `node dist/cli.js` when run from a checkout. */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (basename(script) === 'cli.js') {
    const rel = relative(process.cwd(), script);
    return `node ${rel.startsWith('..') ? script : rel}`;
  }
  return 'nodegrad';
}

function quoteArg(s: string): string {
  return /^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

function backendLine(): string {
  const b = getBackend();
  const isa = b.name === 'native' ? nativeInfo() : null;
  return `backend ${b.name}${isa ? ` (ISA ${isa.isa})` : ''}, ${getNumThreads()} thread${getNumThreads() === 1 ? '' : 's'}`;
}

function applyThreads(flags: Flags): void {
  if (flags.threads !== undefined) setNumThreads(flags.threads as number);
}

// --------------------------------------------------------------------------------------------------
// Data

interface LoadedData {
  name: DatasetName;
  title: string;
  data: LoadedDataset;
  /** One line: which data, how many images, from where. */
  describe: string;
}

const TITLES: Record<DatasetName, string> = { 'fashion-mnist': 'Fashion-MNIST', mnist: 'MNIST', cifar10: 'CIFAR-10' };

/** The first n rows of a split (a copy). */
function firstRows(s: Split, n: number): Split {
  if (n >= s.x.shape[0]) return s;
  const per = s.x.size / s.x.shape[0];
  return {
    x: new Tensor((s.x.data as Float32Array).slice(0, n * per), [n, ...s.x.shape.slice(1)]),
    y: new Tensor((s.y.data as Int32Array).slice(0, n), [n]),
  };
}

/** The rows of a split at `idx`, in that order (a copy). */
function takeRows(s: Split, idx: Int32Array): Split {
  const per = s.x.size / s.x.shape[0];
  const xs = s.x.data as Float32Array;
  const ys = s.y.data as Int32Array;
  const x = new Float32Array(idx.length * per);
  const y = new Int32Array(idx.length);
  idx.forEach((r, i) => {
    x.set(xs.subarray(r * per, (r + 1) * per), i * per);
    y[i] = ys[r];
  });
  return { x: new Tensor(x, [idx.length, ...s.x.shape.slice(1)]), y: new Tensor(y, [idx.length]) };
}

/** A seeded split into training and validation rows (a random draw: the files are ordered, e.g. by class). */
function splitValidation(s: Split, fraction: number, seed: number): { train: Split; val: Split } {
  const n = s.x.shape[0];
  const nVal = Math.round(n * fraction);
  // Fisher-Yates with a small seeded generator (mulberry32): independent of the training RNG stream.
  let a = (seed ^ 0x9e3779b9) >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return { train: takeRows(s, perm.subarray(nVal).slice().sort()), val: takeRows(s, perm.subarray(0, nVal).slice().sort()) };
}

function checkDataMode(command: string, name: DatasetName, mode: DataMode): void {
  if (mode === 'embedded' && name !== 'fashion-mnist') {
    throw new UsageError(`--data embedded: only Fashion-MNIST ships an embedded subset; use --data full (or auto) with --dataset ${name}`, command);
  }
}

async function loadData(command: string, name: DatasetName, mode: DataMode, limit: number | undefined): Promise<LoadedData> {
  checkDataMode(command, name, mode);
  let data: LoadedDataset;
  if (name === 'fashion-mnist') data = await datasets.fashionMnist({ subset: mode });
  else if (name === 'mnist') data = await datasets.mnist();
  else data = await datasets.cifar10();
  const title = TITLES[name];
  const nTrain = data.train.x.shape[0];
  const nTest = data.test.x.shape[0];
  let describe =
    data.subset === 'embedded'
      ? `${title}, the embedded subset shipped with nodegrad (${fmtInt(nTrain)} training / ${fmtInt(nTest)} test images) from ${data.source}`
      : `${title}, full (${fmtInt(nTrain)} training / ${fmtInt(nTest)} test images) from ${data.source}${data.downloaded ? ' (downloaded now)' : ''}`;
  if (limit !== undefined) {
    data = { ...data, train: firstRows(data.train, limit), test: firstRows(data.test, limit) };
    describe += `; --limit ${limit}: using the first ${fmtInt(data.train.x.shape[0])} training and ${fmtInt(data.test.x.shape[0])} test images`;
  }
  return { name, title, data, describe };
}

// --------------------------------------------------------------------------------------------------
// train

/** The course's MNIST convnet (104,202 parameters on 28x28x1), after a Rescaling layer so it takes 0..255 pixels. */
function courseConvnet(inputShape: number[], classes: number): Model {
  return sequential([
    layers.rescaling({ scale: 1 / 255 }),
    layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }),
    layers.flatten(),
    layers.dense({ units: classes, activation: 'softmax' }),
  ], { inputShape, name: 'mnist_convnet' });
}

/** Refuses an --out that exists and is not a nodegrad model directory (nothing of the user's is overwritten). */
function checkOutDir(command: string, out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new UsageError(`--out ${out}: exists and is not a directory`, command);
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(io.MANIFEST_NAME)) {
    throw new UsageError(`--out ${out}: the folder exists, is not empty and holds no nodegrad model (no ${io.MANIFEST_NAME}); choose another --out`, command);
  }
}

async function train(flags: Flags): Promise<void> {
  const t0 = performance.now();
  const quiet = flags.quiet === true;
  const say = quiet ? () => undefined : (s = '') => console.log(s);
  const name = (flags.dataset as DatasetName | undefined) ?? 'fashion-mnist';
  const mode = (flags.data as DataMode | undefined) ?? 'auto';
  checkDataMode('train', name, mode);
  const out = resolve((flags.out as string | undefined) ?? DEFAULT_OUT);
  checkOutDir('train', out);
  applyThreads(flags);
  const seed = (flags.seed as number | undefined) ?? DEFAULT_SEED;
  const batchSize = (flags['batch-size'] as number | undefined) ?? 64;
  const learningRate = (flags['learning-rate'] as number | undefined) ?? 1e-3;
  const validationSplit = (flags['validation-split'] as number | undefined) ?? 0;

  say(`nodegrad ${version} - ${backendLine()}`);
  const d = await loadData('train', name, mode, flags.limit as number | undefined);
  const embedded = d.data.subset === 'embedded';
  const epochs = (flags.epochs as number | undefined) ?? (embedded ? EPOCHS_EMBEDDED : EPOCHS_FULL);
  say(`data: ${d.describe}`);
  if (embedded && mode === 'auto') {
    say(`      (no local copy of the full dataset was found in ${dataDirs('fashion-mnist').search.join(', ')}; --data full downloads it)`);
  }

  let trainSplit = d.data.train;
  let val: Split | null = null;
  if (validationSplit > 0) {
    const s = splitValidation(trainSplit, validationSplit, seed);
    if (s.val.x.shape[0] === 0 || s.train.x.shape[0] === 0) throw new UsageError(`--validation-split ${validationSplit} leaves no ${s.val.x.shape[0] === 0 ? 'validation' : 'training'} images`, 'train');
    trainSplit = s.train;
    val = s.val;
  }

  manualSeed(seed);
  clearSession(); // layer names from conv2d, dense...: the same names (and saved files) on every run
  const [, h, w, c] = d.data.train.x.shape;
  const model = courseConvnet([h, w, c], d.data.classNames.length);
  model.compile({ optimizer: new optimizers.Adam({ learningRate }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  if (!quiet) {
    say();
    model.summary();
    say();
  }
  const nTrain = trainSplit.x.shape[0];
  say(
    `training: ${epochs} epoch${epochs === 1 ? '' : 's'} of ${fmtInt(nTrain)} images (${Math.ceil(nTrain / batchSize)} batches of ${batchSize}), ` +
      `Adam lr ${learningRate}, seed ${seed}` + (val ? `; validating on ${fmtInt(val.x.shape[0])} held-out images (${validationSplit})` : ''),
  );
  const tFit = performance.now();
  const history = await model.fit(trainSplit.x, trainSplit.y, {
    epochs, batchSize, seed, verbose: quiet ? 0 : 1, ...(val ? { validationData: [val.x, val.y] as const } : {}),
  });
  const fitMs = performance.now() - tFit;
  const epochsRun = history.history.loss?.length ?? epochs;

  const test = await model.evaluate(d.data.test.x, d.data.test.y, { batchSize: 256 });
  const nTest = d.data.test.x.shape[0];
  console.log(`test accuracy: ${pct(test.accuracy)} (loss ${test.loss.toFixed(4)}) on ${fmtInt(nTest)} ${d.title} test images${embedded ? ' (embedded subset)' : ''}`);

  await model.save(out);
  const trainInfo = {
    dataset: name,
    data: d.data.subset,
    source: d.data.source,
    classNames: d.data.classNames,
    limit: flags.limit ?? null,
    epochs: epochsRun,
    batchSize,
    learningRate,
    validationSplit,
    seed,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    trainSeconds: Math.round(fitMs) / 1000,
    nodegrad: version,
    savedAt: new Date().toISOString(),
  };
  await io.writeFileAtomic(join(out, TRAIN_INFO), `${JSON.stringify(trainInfo, null, 2)}\n`);
  console.log(`saved the model to ${out}`);
  say(`  evaluate it: ${selfCommand()} evaluate ${quoteArg(relative(process.cwd(), out) || '.')}`);
  say(`  load it:     const model = await loadModel(${JSON.stringify(out)});`);
  console.log(`done in ${secs(performance.now() - t0)} (training ${secs(fitMs)}, ${(fitMs / 1000 / epochsRun).toFixed(1)}s per epoch)`);
}

// --------------------------------------------------------------------------------------------------
// evaluate

function readTrainInfo(dir: string): { dataset?: string; classNames?: string[] } | null {
  try {
    return JSON.parse(readFileSync(join(dir, TRAIN_INFO), 'utf8')) as { dataset?: string; classNames?: string[] };
  } catch {
    return null;
  }
}

/** The confusion matrix as text: rows true classes (with names), columns predicted class indices, recall last. */
function formatConfusion(m: number[][], classNames: readonly string[]): string {
  const k = m.length;
  const width = Math.max(4, ...m.flat().map((v) => String(v).length)) + 1;
  const label = (i: number) => `${i} ${classNames[i] ?? ''}`.trimEnd();
  const lw = Math.max(...Array.from({ length: k }, (_, i) => label(i).length), 'true \\ predicted'.length);
  const lines = [`${'true \\ predicted'.padEnd(lw)}${Array.from({ length: k }, (_, j) => String(j).padStart(width)).join('')}   recall`];
  for (let i = 0; i < k; i++) {
    const row = m[i];
    const total = row.reduce((a, b) => a + b, 0);
    lines.push(`${label(i).padEnd(lw)}${row.map((v) => String(v).padStart(width)).join('')}   ${total ? pct(row[i] / total).padStart(7) : '      -'}`);
  }
  return lines.join('\n');
}

async function evaluateCommand(dirArg: string, flags: Flags): Promise<void> {
  const t0 = performance.now();
  const dir = resolve(dirArg);
  if (!existsSync(dir)) throw new NodegradError(`evaluate: ${dir} does not exist (train a model first: ${selfCommand()} train)`);
  applyThreads(flags);
  const model = await loadModel(dir);
  const trainInfo = readTrainInfo(dir);
  const inShape = model.inputs[0]?.shape ?? [];
  const shapeName: DatasetName | undefined = inShape[1] === 32 && inShape[3] === 3 ? 'cifar10' : inShape[1] === 28 && inShape[3] === 1 ? 'fashion-mnist' : undefined;
  const fromInfo = DATASETS.find((n) => n === trainInfo?.dataset);
  const name = (flags.dataset as DatasetName | undefined) ?? fromInfo ?? shapeName;
  if (!name) throw new UsageError(`cannot tell which dataset model input ${JSON.stringify(inShape)} is for: give --dataset`, 'evaluate');
  const mode = (flags.data as DataMode | undefined) ?? 'auto';
  checkDataMode('evaluate', name, mode);
  const params = model.weights.reduce((n, v) => n + v.size, 0);
  console.log(`nodegrad ${version} - ${backendLine()}`);
  console.log(`model: ${dir} (${model.name}, ${fmtInt(params)} parameters, input ${JSON.stringify(inShape.slice(1))})`);

  const d = await loadData('evaluate', name, mode, flags.limit as number | undefined);
  console.log(`data: ${d.describe}`);
  const first = model.layers.find((l) => l.className !== 'InputLayer');
  let x = d.data.test.x;
  if (!(first instanceof Rescaling)) {
    // A model without its own preprocessing most likely expects [0, 1] inputs (Keras' usual `x / 255`).
    x = x.div(255);
    console.log('inputs: the model has no Rescaling layer first, so pixels are divided by 255 (values in [0, 1])');
  }
  const batchSize = (flags['batch-size'] as number | undefined) ?? 256;
  const y = d.data.test.y;
  const probs = (await model.predict(x, { batchSize })) as Tensor;
  if (probs.rank !== 2 || probs.shape[1] !== d.data.classNames.length) {
    throw new NodegradError(`evaluate: the model outputs ${JSON.stringify(probs.shape)}, expected [N, ${d.data.classNames.length}] class scores for ${d.title}`);
  }
  const matrix = metrics.confusionMatrix(y, probs);
  const n = y.shape[0];
  const correct = matrix.reduce((a, row, i) => a + row[i], 0);
  let lossText = '';
  if (model.compiled) {
    const r = await model.evaluate(x, y, { batchSize });
    if (typeof r.loss === 'number') lossText = ` (loss ${r.loss.toFixed(4)})`;
  }
  console.log(`test accuracy: ${pct(correct / n)}${lossText} on ${fmtInt(n)} ${d.title} test images (${fmtInt(correct)} correct)`);
  console.log('');
  console.log('confusion matrix (rows: true class, columns: predicted class):');
  console.log(formatConfusion(matrix, d.data.classNames));
  console.log(`\ndone in ${secs(performance.now() - t0)}`);
}

// --------------------------------------------------------------------------------------------------
// info and demo

function info(full: boolean): void {
  const isa = nativeInfo();
  console.log(`nodegrad ${version} on Node ${process.version} (${process.platform}-${process.arch}, N-API ${process.versions.napi}, V8 ${process.versions.v8})`);
  console.log(`backend: ${getBackend().name}` + (isa ? ` (ISA ${isa.isa}${isa.forced ? ', forced by NODEGRAD_ISA' : ''}; this CPU can run: ${isa.available.join(', ')})` : ''));
  if (!full) return;
  const native = loadNativeBackend();
  console.log(`native addon: ${native.backend ? native.addonPath ?? 'loaded' : `not loaded (${native.error})`}`);
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown';
  console.log(`threads: ${getNumThreads()} (cores: ${availableParallelism()}; NODEGRAD_NUM_THREADS ${process.env.NODEGRAD_NUM_THREADS ?? 'not set'}); CPU: ${cpu}`);
  let codec = 'not loadable';
  try {
    const p = require.resolve('@napi-rs/image/package.json');
    codec = `@napi-rs/image ${(require(p) as { version: string }).version}`;
    require('@napi-rs/image');
  } catch (e) {
    codec += ` (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  console.log(`image decoder: ${codec}`);
  console.log(`data: NODEGRAD_DATA ${process.env.NODEGRAD_DATA ?? 'not set'}; cache ${cacheDir()}`);
  const fmnist = dataDirs('fashion-mnist').search.find((dir) => existsSync(join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(join(dir, 'train-images-idx3-ubyte')));
  console.log(`  Fashion-MNIST: ${fmnist ? `full copy found in ${fmnist}` : `no full copy found; 'auto' uses the embedded subset in ${embeddedFashionMnistDir()}`}`);
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
  info(false);
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
  console.log(`\nnext: ${selfCommand()} train   (trains the course's convnet on Fashion-MNIST; --help lists the options)`);
}

// --------------------------------------------------------------------------------------------------
// Main

export async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] ?? null : null;
    if (topic !== null && !COMMANDS[topic]) {
      console.error(`nodegrad: unknown command '${topic}'\n\n${usage(null)}`);
      return 2;
    }
    console.log(usage(topic));
    return 0;
  }
  if (first === '--version' || first === '-v') {
    console.log(version);
    return 0;
  }
  const spec = COMMANDS[first];
  try {
    if (!spec) {
      const near = suggest(first, Object.keys(COMMANDS));
      throw new UsageError(`unknown command '${first}'${near ? ` (did you mean '${near}'?)` : ''}`, null);
    }
    const { flags, positionals } = parseFlags(first, rest, spec.flags);
    if (flags.help) {
      console.log(usage(first));
      return 0;
    }
    if (positionals.length !== spec.positionals) {
      const what = spec.positionals === 0 ? `takes no arguments, got '${positionals.join(' ')}'` : `needs ${spec.synopsis.match(/<[^>]+>/g)?.join(' ')}`;
      throw new UsageError(`'${first}' ${what}`, first);
    }
    await spec.run(flags, positionals);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`nodegrad${e.command ? ` ${e.command}` : ''}: ${e.message}\n\n${usage(e.command)}`);
      return 2;
    }
    if (e instanceof NodegradError || (e instanceof Error && 'code' in e && typeof (e as { code: unknown }).code === 'string')) {
      console.error(`nodegrad ${first}: ${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`);
      return 1;
    }
    throw e;
  }
}

// Run when executed (node dist/cli.js, the bin link), not when imported.
const invoked = process.argv[1] ? resolve(process.argv[1]) : '';
const self = fileURLToPath(import.meta.url);
let isMain = invoked === self;
if (!isMain && invoked) {
  try {
    isMain = realpathSync(invoked) === realpathSync(self);
  } catch {
    isMain = false;
  }
}
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack ?? e.message : e);
      process.exitCode = 1;
    },
  );
}
