#!/usr/bin/env node
/**
 * Input-pipeline benchmark (issue 5's bar: "with images decoded from a folder of JPEGs, step time stays within
 * 10% of training from in-memory arrays").
 *
 *   node bench/data.js [--n 2000] [--batch 64] [--epochs 3] [--rounds 4] [--components 1|3] [--workers N]
 *                      [--threads T] [--dir PATH] [--json out.json] [--no-build]
 *
 * 1. Writes a folder of n 28x28 grey JPEGs (quality 90; one component, as PIL, OpenCV or cjpeg -grayscale save a
 *    grey picture, with the encoder below; --components 3 writes YCbCr JPEGs with @napi-rs/image instead), one
 *    sub-folder per class, from the first n Fashion-MNIST training images (/usr/share/datasets/fashion-mnist,
 *    Debian's dataset-fashion-mnist) or, without them, from seeded random pictures; reused while its stamp
 *    matches.
 * 2. Decoder throughput alone: one pass over imageDatasetFromDirectory (grayscale, 28x28, batch size), no training.
 * 3. Training: the course's MNIST convnet (rescaling 1/255 in front), Adam 1e-3, sparse categorical
 *    cross-entropy, batch 64, one model per pipeline: (a) fit on in-memory tensors (the same images, decoded
 *    once beforehand; shuffled per epoch) and (b) fit on the folder dataset (decoded every epoch, in worker
 *    threads, shuffled per epoch). After one warm-up epoch each, single epochs alternate in ABBA order,
 *    rounds x (epochs - 1) pairs. A step's time is the wall time between consecutive onBatchEnd calls (the
 *    first batch of an epoch: from onEpochBegin), so it includes any wait for data. Reported: median and p90
 *    step time of each, the ratio folder / in-memory (overall, and the median of the per-pair ratios, which
 *    is what the bar <= 1.10 is checked on: it cancels slow drifts in machine load), epoch time, CPU time per
 *    step (all threads), and the machine (CPU, cores, load average, threads).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FMNIST = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
const FMNIST_LABELS = '/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz';

function parseArgs(argv) {
  const o = { n: 2000, batch: 64, epochs: 3, rounds: 4, components: 1, workers: null, threads: null, dir: null, json: null, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} takes a positive integer`);
      return v;
    };
    switch (a) {
      case '--n': o.n = int(); break;
      case '--batch': o.batch = int(); break;
      case '--epochs': o.epochs = int(); break;
      case '--rounds': o.rounds = int(); break;
      case '--workers': o.workers = int(); break;
      case '--threads': o.threads = int(); break;
      case '--dir': o.dir = val(); break;
      case '--json': o.json = val(); break;
      case '--no-build': o.build = false; break;
      case '--components': o.components = int(); if (o.components !== 1 && o.components !== 3) throw new Error('--components takes 1 or 3'); break;
      case '-h': case '--help':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(2, 8).join('\n'));
        process.exit(0);
        break;
      default: throw new Error(`unknown argument ${a} (see --help)`);
    }
  }
  if (o.epochs < 2) throw new Error('--epochs must be >= 2 (the first epoch of each run is warm-up)');
  return o;
}

/** Newest mtime under a folder. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt(build) {
  const out = path.join(ROOT, 'dist', 'data', 'image-folder.js');
  if (!build && existsSync(out)) return;
  if (existsSync(out) && statSync(out).mtimeMs >= newest(path.join(ROOT, 'src'))) return;
  console.log('building dist/ (tsc -p tsconfig.build.json) ...');
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  } catch {
    if (!existsSync(out)) throw new Error('tsc failed and dist/data/image-folder.js is missing');
    console.log('(tsc reported errors elsewhere; dist/ was still written)');
  }
}

/** Seeded 28x28 pictures (a blob on noise) for machines without Fashion-MNIST. */
function randomImages(n) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const px = new Uint8Array(n * 784);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 10;
    labels[i] = c;
    const cx = 6 + 1.6 * c;
    const cy = 14 + 6 * (rnd() - 0.5);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const d = Math.hypot(x - cx, y - cy);
        px[i * 784 + y * 28 + x] = Math.max(0, Math.min(255, Math.round(230 * Math.exp(-d * d / 30) + 25 * rnd())));
      }
    }
  }
  return { px, labels, source: 'seeded random pictures' };
}

function sourceImages(n) {
  if (existsSync(FMNIST) && existsSync(FMNIST_LABELS)) {
    const img = gunzipSync(readFileSync(FMNIST));
    const lab = gunzipSync(readFileSync(FMNIST_LABELS));
    const count = Math.min(n, img.readUInt32BE(4));
    return { px: img.subarray(16, 16 + count * 784), labels: lab.subarray(8, 8 + count), source: `Fashion-MNIST (${FMNIST})` };
  }
  return randomImages(n);
}

function writeFolder(dir, n, components) {
  const stampFile = path.join(dir, '.stamp');
  const stamp = `v2 n=${n} jpeg q90 28x28 ${components} component(s)`;
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return JSON.parse(readFileSync(path.join(dir, '.source'), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const { Transformer } = createRequire(import.meta.url)('@napi-rs/image');
  const { px, labels, source } = sourceImages(n);
  const count = labels.length;
  const rgba = new Uint8Array(784 * 4);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    let jpg;
    if (components === 1) {
      jpg = encodeGrayJpeg(px.subarray(i * 784, (i + 1) * 784), 28, 28, 90);
    } else {
      for (let p = 0; p < 784; p++) rgba.fill(px[i * 784 + p], 4 * p, 4 * p + 3), (rgba[4 * p + 3] = 255);
      jpg = Transformer.fromRgbaPixels(rgba, 28, 28).jpegSync(90);
    }
    const d = path.join(dir, `class_${labels[i]}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, `img_${String(i).padStart(6, '0')}.jpg`), jpg);
    bytes += jpg.length;
  }
  // Check: the first picture decodes close to its source.
  const back = new Transformer(readFileSync(path.join(dir, `class_${labels[0]}`, 'img_000000.jpg'))).rawPixelsSync();
  const ch = back.length / 784;
  let worst = 0;
  for (let p = 0; p < 784; p++) worst = Math.max(worst, Math.abs(back[p * ch] - px[p]));
  if (worst > 40) throw new Error(`the JPEG writer is broken: a pixel decodes ${worst} levels away from its source`);
  const info = { source, files: count, bytes, components, maxErrorFirstImage: worst };
  writeFileSync(path.join(dir, '.source'), JSON.stringify(info));
  writeFileSync(stampFile, stamp);
  return info;
}

// --------------------------------------------------------------------------------------------------
// A baseline JPEG encoder for grayscale pictures (ITU T.81: one component, IJG quality scaling, the standard
// Huffman tables of Annex K). @napi-rs/image writes every JPEG with three components (YCbCr); a grey picture
// saved by PIL, OpenCV or cjpeg -grayscale has one, and decodes faster.

const ZIGZAG = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35,
  42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63];
const LUMA_Q = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALS = [0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81,
  0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a,
  0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54,
  0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
  0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
  0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
  0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
  0xf8, 0xf9, 0xfa];

/** Canonical Huffman codes: symbol -> [code, length]. */
function huffman(bits, vals) {
  const table = new Map();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) table.set(vals[k++], [code++, len]);
    code <<= 1;
  }
  return table;
}
const DC_CODES = huffman(DC_BITS, DC_VALS);
const AC_CODES = huffman(AC_BITS, AC_VALS);
const COS = Float64Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i % 8) + 1) * Math.floor(i / 8) * Math.PI) / 16)); // [u][x]

/** A grey w x h picture (bytes) as a baseline, single-component JPEG of the given quality (1-100). */
function encodeGrayJpeg(px, w, h, quality) {
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const q = LUMA_Q.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
  const out = [];
  let acc = 0;
  let nacc = 0;
  const put = (code, len) => {
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++nacc === 8) {
        out.push(acc);
        if (acc === 0xff) out.push(0);
        acc = 0;
        nacc = 0;
      }
    }
  };
  const cat = (v) => (v === 0 ? 0 : 32 - Math.clz32(Math.abs(v)));
  const bitsOf = (v, n) => (v < 0 ? v + (1 << n) - 1 : v);
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  let prevDc = 0;
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) block[y * 8 + x] = px[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)] - 128;
      // separable DCT-II: rows then columns
      for (let y = 0; y < 8; y++) {
        for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let x = 0; x < 8; x++) s += block[y * 8 + x] * COS[u * 8 + x];
          tmp[y * 8 + u] = s * (u === 0 ? Math.SQRT1_2 : 1) / 2;
        }
      }
      const coef = new Int32Array(64);
      for (let u = 0; u < 8; u++) {
        for (let v = 0; v < 8; v++) {
          let s = 0;
          for (let y = 0; y < 8; y++) s += tmp[y * 8 + u] * COS[v * 8 + y];
          coef[v * 8 + u] = Math.round((s * (v === 0 ? Math.SQRT1_2 : 1) / 2) / q[v * 8 + u]);
        }
      }
      const dc = coef[0];
      const diff = dc - prevDc;
      prevDc = dc;
      const c0 = cat(diff);
      put(...DC_CODES.get(c0));
      if (c0) put(bitsOf(diff, c0), c0);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const v = coef[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        while (run >= 16) {
          put(...AC_CODES.get(0xf0));
          run -= 16;
        }
        const c = cat(v);
        put(...AC_CODES.get((run << 4) | c));
        put(bitsOf(v, c), c);
        run = 0;
      }
      if (run > 0) put(...AC_CODES.get(0x00));
    }
  }
  if (nacc > 0) put(0x7f, 8 - nacc); // pad with ones
  const seg = (marker, body) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const head = [
    0xff, 0xd8,
    ...seg(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    ...seg(0xdb, [0, ...ZIGZAG.map((z) => q[z])]),
    ...seg(0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0]),
    ...seg(0xc4, [0x00, ...DC_BITS, ...DC_VALS, 0x10, ...AC_BITS, ...AC_VALS]),
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
  ];
  return Uint8Array.from([...head, ...out, 0xff, 0xd9]);
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const quantile = (a, q) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.threads) process.env.NODEGRAD_NUM_THREADS = String(o.threads);
  ensureBuilt(o.build);
  const ng = await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href);
  const { imageDatasetFromDirectory } = await import(pathToFileURL(path.join(ROOT, 'dist', 'data', 'image-folder.js')).href);
  const { imageWorkers, defaultImageWorkers } = await import(pathToFileURL(path.join(ROOT, 'dist', 'data', 'image.js')).href);
  const workers = o.workers ?? defaultImageWorkers();

  const dir = o.dir ?? path.join(os.tmpdir(), `nodegrad-bench-data-${o.n}-c${o.components}`);
  const t0 = performance.now();
  const info = writeFolder(dir, o.n, o.components);
  const writeMs = performance.now() - t0;

  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown', cores: os.availableParallelism(), memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version,
    threads: ng.getNumThreads(), isa: ng.nativeInfo?.()?.isa ?? null, decoderWorkers: workers, loadBefore: os.loadavg().map((v) => +v.toFixed(2)),
  };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, node ${machine.node}; nodegrad threads ${machine.threads}` +
    `${machine.isa ? ` (${machine.isa})` : ''}, decoder threads ${workers}; load average ${machine.loadBefore.join(' ')}`);
  console.log(`data: ${info.files} JPEGs 28x28, ${info.components === 1 ? 'grey (1 component)' : 'YCbCr (3 components)'}, quality 90, ` +
    `${(info.bytes / info.files).toFixed(0)} B each, from ${info.source} in ${dir}` +
    `${writeMs > 50 ? ` (written in ${(writeMs / 1000).toFixed(1)} s)` : ' (reused)'}`);

  const dsOptions = { imageSize: [28, 28], colorMode: 'grayscale', batchSize: o.batch, seed: 1, verbose: false, workers };

  // Decoder throughput alone (and the in-memory copy of the same images, in file order).
  const plain = await imageDatasetFromDirectory(dir, { ...dsOptions, shuffle: false });
  for await (const _ of plain) { /* warm the threads and the page cache */ }
  const c0 = process.cpuUsage();
  const d0 = performance.now();
  const xs = [];
  const ys = [];
  for await (const b of plain) {
    xs.push(b.x);
    ys.push(b.y);
  }
  const decodeMs = performance.now() - d0;
  const cpu = process.cpuUsage(c0);
  const x = ng.keep(ng.concat(xs, 0));
  const y = ng.keep(ng.concat(ys, 0));
  const decode = { imagesPerSec: Math.round(info.files / (decodeMs / 1000)), usPerImageWall: +(decodeMs * 1000 / info.files).toFixed(1),
    usPerImageCpu: +((cpu.user + cpu.system) / info.files).toFixed(1) };
  console.log(`decoding alone: ${decode.imagesPerSec} images/s (${decode.usPerImageWall} us/image wall, ${decode.usPerImageCpu} us/image CPU, all threads)`);

  function buildModel() {
    ng.manualSeed(0);
    const { layers } = ng;
    const model = ng.sequential([
      layers.rescaling({ scale: 1 / 255 }),
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 128, kernelSize: 3, activation: 'relu' }),
      layers.flatten(),
      layers.dense({ units: 10, activation: 'softmax' }),
    ], { inputShape: [28, 28, 1] });
    model.compile({ optimizer: new ng.optimizers.Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    return model;
  }

  // Two models, one per pipeline, each warmed up by one epoch; then single epochs alternate in ABBA order
  // (memory, folder, folder, memory, ...) so that both see the same machine load on average.
  const folderDs = await imageDatasetFromDirectory(dir, dsOptions);
  const pipelines = {
    memory: { model: buildModel(), fit: (m, cb) => m.fit(x, y, { epochs: 1, batchSize: o.batch, shuffle: true, verbose: 0, callbacks: cb }) },
    folder: { model: buildModel(), fit: (m, cb) => m.fit(folderDs, undefined, { epochs: 1, verbose: 0, callbacks: cb }) },
  };

  async function epoch(kind) {
    const { model, fit } = pipelines[kind];
    const steps = [];
    let last = 0;
    const timer = new ng.callbacks.LambdaCallback({
      onEpochBegin: () => { last = performance.now(); },
      onBatchEnd: () => { const t = performance.now(); steps.push(t - last); last = t; },
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fit(model, [timer]);
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { steps, ms, cpuMsPerStep: (c.user + c.system) / 1000 / steps.length };
  }

  await epoch('memory');
  await epoch('folder');
  const results = { memory: { steps: [], epochMs: [], cpu: [] }, folder: { steps: [], epochMs: [], cpu: [] } };
  const pairs = [];
  const total = o.rounds * (o.epochs - 1);
  for (let r = 0; r < total; r++) {
    const row = {};
    for (const kind of r % 2 === 0 ? ['memory', 'folder'] : ['folder', 'memory']) {
      const res = await epoch(kind);
      results[kind].steps.push(...res.steps);
      results[kind].epochMs.push(res.ms);
      results[kind].cpu.push(res.cpuMsPerStep);
      row[kind] = { step: median(res.steps), ms: res.ms };
    }
    pairs.push(row.folder.step / row.memory.step);
    console.log(`pair ${String(r + 1).padStart(2)}: median step in-memory ${row.memory.step.toFixed(2)} ms, folder ${row.folder.step.toFixed(2)} ms ` +
      `(ratio ${(row.folder.step / row.memory.step).toFixed(3)}); epoch ${row.memory.ms.toFixed(0)} / ${row.folder.ms.toFixed(0)} ms; load ${os.loadavg()[0].toFixed(2)}`);
  }
  const summary = {};
  for (const k of ['memory', 'folder']) {
    summary[k] = { medianStepMs: +median(results[k].steps).toFixed(3), p90StepMs: +quantile(results[k].steps, 0.9).toFixed(3),
      medianEpochMs: +median(results[k].epochMs).toFixed(1), cpuMsPerStep: +median(results[k].cpu).toFixed(3), steps: results[k].steps.length };
  }
  const ratio = summary.folder.medianStepMs / summary.memory.medianStepMs;
  const pairRatio = median(pairs);
  const epochRatio = summary.folder.medianEpochMs / summary.memory.medianEpochMs;
  machine.loadAfter = os.loadavg().map((v) => +v.toFixed(2));
  console.log(`\nmedian step over ${summary.memory.steps} + ${summary.folder.steps} steps: in-memory ${summary.memory.medianStepMs.toFixed(2)} ms ` +
    `(p90 ${summary.memory.p90StepMs.toFixed(2)}), folder ${summary.folder.medianStepMs.toFixed(2)} ms (p90 ${summary.folder.p90StepMs.toFixed(2)})`);
  console.log(`ratio folder / in-memory: ${ratio.toFixed(3)} (median of the ${pairs.length} paired epochs: ${pairRatio.toFixed(3)}; epoch time ${epochRatio.toFixed(3)}); ` +
    `bar <= 1.10: ${pairRatio <= 1.1 ? 'MET' : 'NOT MET'}`);
  console.log(`CPU per step, all threads: in-memory ${summary.memory.cpuMsPerStep.toFixed(2)} ms, folder ${summary.folder.cpuMsPerStep.toFixed(2)} ms ` +
    `(+${(summary.folder.cpuMsPerStep - summary.memory.cpuMsPerStep).toFixed(2)} ms; decoding ${o.batch} images alone: ${(decode.usPerImageCpu * o.batch / 1000).toFixed(2)} ms)`);
  console.log(`load average after: ${machine.loadAfter.join(' ')}`);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ machine, data: { ...info, dir, batch: o.batch, epochs: o.epochs, rounds: o.rounds }, decode, summary, ratio, pairRatio, epochRatio, pairs }, null, 2));
  }
  await imageWorkers.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
