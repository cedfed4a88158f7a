#!/usr/bin/env node
/**
 * Whole-model benchmark: the anchors' W1 (MNIST convnet, batch 64, Adam 1e-3) and W2 (ResNet-20 CIFAR, batch 32,
 * SGD 0.1 momentum 0.9, batch norm) training and inference steps (../shared/anchors/README.md), nodegrad (NHWC)
 * next to PyTorch channels_last measured in the same run, at 1 and 2 threads; plus the event-loop lag during
 * model.fit and a profile of a training step (phases, kernels, reference-backend fallback time).
 *
 *   node bench/train.js [--threads 1,2] [--only W1|W2|W1,W2] [--quick] [--repeat N] [--no-peers]
 *                       [--no-profile] [--no-lag] [--json out.json] [--results out.txt] [--no-build]
 *                       [--device cpu|cuda] [--batch W2=128]
 *
 * For each repeat, thread count and workload: one nodegrad child process (bench/train/step.js, with
 * NODEGRAD_NUM_THREADS), then PyTorch on the same workload and thread count (peers_torch.py --only W --threads T
 * --layouts cl, OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T, GLIBC_TUNABLES as the anchors), so the two timings
 * of a pair are taken minutes apart at most. Medians over repeats; the ratio is torch / nodegrad (> 1: nodegrad
 * faster), the median of the per-repeat ratios.
 *
 * --device cuda: the same steps on the GPU (model.to('cuda'), each batch uploaded per step as fit() does, a
 * read-back ending each step: bench/train/step.js), next to PyTorch on the same GPU (bench/peers/torch_train_gpu.py:
 * TF32 off, cudnn.benchmark, NCHW and channels_last; the table takes the faster). Threads then only size the CPU
 * pool (default: every core), which runs what the CUDA backend falls back on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const STEP_JS = path.join(ROOT, 'bench', 'train', 'step.js');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
// Debian's interpreter first (python3-torch; a pyenv python3 on PATH lacks it), then PATH's (a GPU machine's pip torch).
const PYTHONS = [process.env.NODEGRAD_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
const GPU_PEER = path.join(ROOT, 'bench', 'peers', 'torch_train_gpu.py');
const GLIBC_DEFAULT = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295';

const USAGE = `usage: node bench/train.js [options]
  --threads <list>   thread counts (default 1,2; with --device cuda every core)
  --device <d>       cpu (default) or cuda
  --batch <list>     batch sizes by workload, e.g. W2=128 (default: the anchors', W1 64 and W2 32)
  --only <list>      workloads, comma-separated: W1, W2 (default W1,W2)
  --quick            short timing (>= 10 steps, 0.5 s; fewer fit steps): checks the pipeline
  --repeat <n>       run the timings n times (ours and torch interleaved; profile and lag in the first only); medians (default 1)
  --no-peers         skip PyTorch
  --no-profile       skip the phase / kernel profile
  --no-lag           skip the model.fit event-loop lag measurement
  --json <file>      every result as JSON
  --results <file>   RESULT lines (anchors format) for ../shared/anchors/report.py
  --no-build         do not recompile dist/ when src/ is newer
  --anchors <dir>    the anchors folder (default ../shared/anchors, or NODEGRAD_ANCHORS_DIR)`;

function parseArgs(argv) {
  const o = { threads: null, only: ['W1', 'W2'], quick: false, repeat: 1, peers: true, profile: true, lag: true,
    json: null, results: null, build: true, anchors: null, device: 'cpu', batch: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--threads':
        o.threads = val().split(',').map((s) => Number(s.trim()));
        if (o.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error('--threads takes positive integers, e.g. 1,2');
        break;
      case '--only':
        o.only = val().split(/[,|]/).map((s) => s.trim().toUpperCase()).filter(Boolean);
        if (o.only.some((w) => w !== 'W1' && w !== 'W2')) throw new Error('--only takes W1, W2 or W1,W2');
        break;
      case '--quick': o.quick = true; break;
      case '--repeat': o.repeat = Number(val()); if (!Number.isInteger(o.repeat) || o.repeat < 1) throw new Error('--repeat takes an integer >= 1'); break;
      case '--no-peers': o.peers = false; break;
      case '--no-profile': o.profile = false; break;
      case '--no-lag': o.lag = false; break;
      case '--json': o.json = val(); break;
      case '--results': o.results = val(); break;
      case '--no-build': o.build = false; break;
      case '--anchors': o.anchors = val(); break;
      case '--device':
        o.device = val();
        if (o.device !== 'cpu' && o.device !== 'cuda') throw new Error('--device takes cpu or cuda');
        break;
      case '--batch':
        for (const p of val().split(',')) {
          const [w, n] = p.split('=');
          o.batch[w.trim().toUpperCase()] = Number(n);
          if (!['W1', 'W2'].includes(w.trim().toUpperCase()) || !Number.isInteger(Number(n)) || Number(n) < 1) throw new Error('--batch takes W1=<n>,W2=<n>');
        }
        break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  o.threads ??= o.device === 'cuda' ? [os.cpus().length] : [1, 2];
  return o;
}

const log = (s) => process.stderr.write(`${s}\n`);
const median = (a) => {
  const s = a.filter((v) => v != null && Number.isFinite(v)).sort((x, y) => x - y);
  if (!s.length) return null;
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const f2 = (v) => (v == null ? '' : v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toFixed(3));
const pct = (v) => (v == null ? '' : `${(100 * v).toFixed(1)}%`);

// ---------------------------------------------------------------------------------------------- build

function walk(dir, pred, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

/** Recompiles dist/ (npm run build:ts) when a src/ file is newer than its output (as bench/run.js). */
function ensureDist(build) {
  const src = path.join(ROOT, 'src');
  const stale = walk(src, (p) => p.endsWith('.ts') && !p.endsWith('.d.ts')).filter((p) => {
    const out = path.join(ROOT, 'dist', path.relative(src, p)).replace(/\.ts$/, '.js');
    return !existsSync(out) || statSync(out).mtimeMs < statSync(p).mtimeMs;
  });
  if (!stale.length) return;
  const what = `dist/ is older than src/ (${path.relative(ROOT, stale[0])}${stale.length > 1 ? ` and ${stale.length - 1} more` : ''})`;
  if (!build) { log(`# warning: ${what}; --no-build given, benchmarking the old dist/`); return; }
  log(`# ${what}: compiling (npm run build:ts)`);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) log(`# warning: tsc reported errors; benchmarking what it emitted:\n${(r.stdout + r.stderr).split('\n').slice(0, 8).join('\n')}`);
}

// ---------------------------------------------------------------------------------------------- children

function ours(spec, timeoutS = 900) {
  let stdout = '', stderr = '', failure = null;
  try {
    stdout = execFileSync(process.execPath, [...process.execArgv, '--expose-gc', STEP_JS, JSON.stringify(spec)], {
      cwd: ROOT, env: { ...process.env, NODEGRAD_NUM_THREADS: String(spec.threads) }, encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutS * 1000, maxBuffer: 64 << 20,
    });
  } catch (e) {
    stdout = e.stdout ?? ''; stderr = e.stderr ?? '';
    failure = e.signal ? `killed by ${e.signal}` : `exit ${e.status}`;
  }
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('TRAIN '));
  if (line) return JSON.parse(line.slice(6));
  const last = stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  return { status: 'error', error: `${failure ?? 'no result'}${last ? `: ${last}` : ''}` };
}

/** The first interpreter of PYTHONS with PyTorch (with a usable GPU for 'cuda'). */
function detectTorch(anchors, device) {
  if (!existsSync(path.join(anchors, 'peers_torch.py'))) return { ok: false, why: `PyTorch: ${anchors}/peers_torch.py not found: skipped` };
  const probe = `import torch; print(torch.__version__${device === 'cuda' ? ', torch.cuda.is_available()' : ''})`;
  const seen = [];
  for (const python of PYTHONS) {
    const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) continue;
    const [version, gpu] = r.stdout.trim().split(' ');
    if (device !== 'cuda' || gpu === 'True') return { ok: true, version, python };
    seen.push(`${python}: torch ${version} without a GPU`);
  }
  return { ok: false, why: `PyTorch${device === 'cuda' ? ' with CUDA' : ''} not found in ${PYTHONS.join(', ')}${seen.length ? ` (${seen.join('; ')})` : ''}: ` +
    'skipped (apt-get install -y python3-torch python3-numpy libopenblas-dev, or NODEGRAD_PYTHON)' };
}

function torch(found, anchors, w, threads, device, batch) {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads),
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? GLIBC_DEFAULT };
  const args = device === 'cuda'
    ? [GPU_PEER, '--only', w, '--anchors', anchors, ...(batch ? ['--batch', `${w}=${batch}`] : [])]
    : [path.join(anchors, 'peers_torch.py'), '--only', w, '--threads', String(threads), '--layouts', 'cl'];
  const r = spawnSync(found.python, args, { env, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20, cwd: ROOT });
  const res = [];
  for (const l of (r.stdout ?? '').split('\n')) {
    if (!l.startsWith('RESULT ')) continue;
    try { res.push(JSON.parse(l.slice(7))); } catch { /* torn line */ }
  }
  const err = r.status !== 0 ? `exit ${r.status ?? r.error?.message}: ${(r.stderr ?? '').trim().split('\n').pop()}` : null;
  return { results: res, error: err };
}

/** The peer's fastest result for `${w}.${kind}` in run r (the GPU peer times NCHW and channels_last). */
function peerOf(r, w, kind) {
  return (r.torch ?? []).filter((x) => x.w === `${w}.${kind}`).sort((a, b) => a.median_ms - b.median_ms)[0];
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

// ---------------------------------------------------------------------------------------------- main

function main() {
  const o = parseArgs(process.argv.slice(2));
  ensureDist(o.build);
  const anchors = path.resolve(o.anchors ?? process.env.NODEGRAD_ANCHORS_DIR ?? path.join(ROOT, '..', 'shared', 'anchors'));
  const found = o.peers ? detectTorch(anchors, o.device) : { ok: false, why: 'peers: skipped (--no-peers)' };
  const timing = o.quick ? { minTime: 0.5, minSteps: 10, fitSteps: 15, profileSteps: 10 } : { minTime: 2, minSteps: 10, fitSteps: 40, profileSteps: 20 };
  const load0 = os.loadavg();
  const started = new Date();
  log(`# nodegrad ${PKG.version} train bench on ${o.device}: ${o.only.join(',')} x threads ${o.threads.join(',')} x ${o.repeat} repeat(s)${found.ok ? ' + torch' : ''}`);

  const runs = []; // { repeat, w, threads, ours, torch: [results], torchError }
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const t of o.threads) {
      for (const w of o.only) {
        const first = rep === 0;
        const spec = { workload: w, threads: t, device: o.device, batch: o.batch[w], ...timing, profile: o.profile && first, lag: o.lag && first };
        const r = { repeat: rep, w, threads: t, ours: ours(spec), load: os.loadavg()[0] };
        const tr = r.ours.train;
        log(`  [${rep + 1}/${o.repeat}] ${w} thr ${t}: ${r.ours.status === 'error' ? `error: ${r.ours.error}` : `train ${f2(tr.median_ms)} ms, infer ${f2(r.ours.infer.median_ms)} ms`}  (load ${r.load.toFixed(2)})`);
        if (found.ok) {
          const p = torch(found, anchors, w, t, o.device, o.batch[w]);
          r.torch = p.results;
          r.torchError = p.error;
          log(`  [${rep + 1}/${o.repeat}] ${w} thr ${t}: torch ${p.error ? `error: ${p.error}` : `train ${f2(peerOf(r, w, 'train')?.median_ms)} ms, infer ${f2(peerOf(r, w, 'infer')?.median_ms)} ms`}`);
        }
        runs.push(r);
      }
    }
  }
  const load1 = os.loadavg();
  const first = runs.find((r) => r.ours.status !== 'error')?.ours;

  // ---- the table
  const lines = [];
  lines.push(`# nodegrad ${PKG.version} whole-model bench, ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC${o.quick ? ' (--quick)' : ''}`);
  lines.push(`machine: ${cpuModel()}, ${os.cpus().length} cores, Node ${process.version}; load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ` +
    `${load1.map((l) => l.toFixed(2)).join(' ')} at end`);
  if (first?.gpu) lines.push(`GPU: ${first.gpu.name} (sm ${first.gpu.computeCapability.join('.')}, driver ${first.gpu.driverVersion}, runtime ${first.gpu.runtimeVersion})`);
  if (first) lines.push(`nodegrad: ${first.backend} backend, ISA ${first.isa}; NHWC; batch ${o.only.map((w) => `${w} ${runs.find((r) => r.w === w && r.ours.batch)?.ours.batch ?? '?'}`).join(', ')}; ` +
    `each step inside scope() as fit() runs it${o.device === 'cuda' ? ' (batch uploaded, one read-back per step)' : ''}; warm-up 5 steps, then >= ${timing.minSteps} steps until ${timing.minTime} s (at most 100); median`);
  lines.push(!found.ok ? found.why : o.device === 'cuda'
    ? `torch: ${found.version} (${found.python}), ${path.relative(ROOT, GPU_PEER)}: cuda, TF32 off, cudnn.benchmark, NCHW and channels_last (the faster per row); 10 warm-up, >= 20 steps until 2 s, synchronized; median`
    : `torch: ${found.version}, ${path.join(anchors, 'peers_torch.py')} --layouts cl (channels_last), OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = thr, GLIBC_TUNABLES '${process.env.GLIBC_TUNABLES ?? GLIBC_DEFAULT}'; 3 warm-up, >= 10 steps until 2 s; median`);
  if (load0[0] > 0.5 * os.cpus().length) lines.push(`warning: the machine is busy (load average ${load0[0].toFixed(2)} on ${os.cpus().length} cores): timings are noisy`);
  lines.push('');
  const head = ['workload', 'thr', 'nodegrad ms', 'torch ms', 'torch / nodegrad', 'nodegrad min', 'torch min', 'min / min', o.repeat > 1 ? 'ratio range' : null, 'n'].filter(Boolean);
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const table = [];
  for (const w of o.only) {
    for (const kind of ['train', 'infer']) {
      for (const t of o.threads) {
        const rs = runs.filter((r) => r.w === w && r.threads === t && r.ours.status !== 'error');
        const ourMs = rs.map((r) => r.ours[kind].median_ms);
        const tMs = rs.map((r) => peerOf(r, w, kind)?.median_ms ?? null);
        const ratios = rs.map((r, i) => (tMs[i] != null ? tMs[i] / ourMs[i] : null)).filter((v) => v != null);
        const row = {
          w: `${w}.${kind}`, device: o.device, batch: rs[0]?.ours.batch ?? null, threads: t, ours_ms: median(ourMs), torch_ms: median(tMs), ratio: median(ratios),
          ours_min: Math.min(...rs.map((r) => r.ours[kind].min_ms)),
          ours_max: Math.max(...rs.map((r) => r.ours[kind].max_ms)),
          torch_min: Math.min(...rs.map((r) => peerOf(r, w, kind)?.min_ms ?? Infinity)),
          torch_variant: rs.map((r) => peerOf(r, w, kind)?.variant).find(Boolean) ?? null,
          ratios, n: rs.map((r) => r.ours[kind].iters),
        };
        table.push(row);
        const variant = o.device === 'cuda' && row.torch_variant ? ` (${row.torch_variant === 'channels_last' ? 'cl' : 'NCHW'})` : '';
        const cells = [row.w, t, f2(row.ours_ms), `${f2(row.torch_ms)}${variant}`, row.ratio != null ? `${row.ratio.toFixed(2)}x` : '',
          f2(row.ours_min), Number.isFinite(row.torch_min) ? f2(row.torch_min) : '',
          Number.isFinite(row.torch_min) ? `${(row.torch_min / row.ours_min).toFixed(2)}x` : ''];
        if (o.repeat > 1) cells.push(ratios.length ? `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}` : '');
        cells.push(row.n.join('/'));
        lines.push(`| ${cells.join(' | ')} |`);
      }
    }
  }
  lines.push('', 'train = forward + softmax cross-entropy (from logits, mean) + backward + optimizer step (W1 Adam 1e-3, W2 SGD 0.1 momentum 0.9, batch norm in training mode);',
    'infer = forward (batch norm inference mode) + softmax. torch / nodegrad > 1: nodegrad faster (median of the per-repeat ratios); ' +
      'min / min: the ratio of the fastest steps of all repeats, less sensitive to other load on a shared machine; n: timed steps per repeat.');

  // ---- allocations and GC over the timed steps
  const firsts = runs.filter((r) => r.repeat === 0 && r.ours.status !== 'error');
  lines.push('', '| workload | thr | pool misses / step | pool hits / step | GC pauses (count, ms) over timed steps |', '|---|---|---|---|---|');
  for (const r of firsts) {
    for (const kind of ['train', 'infer']) {
      const s = r.ours[kind];
      lines.push(`| ${r.w}.${kind} | ${r.threads} | ${s.poolMissesPerStep.toFixed(2)} | ${s.poolHitsPerStep.toFixed(0)} | ${s.gc.count}, ${s.gc.ms.toFixed(1)} ms over ${s.iters} steps |`);
    }
  }

  // ---- event-loop lag during fit
  if (o.lag && firsts.some((r) => r.ours.fit)) {
    lines.push('', '## Event-loop lag during model.fit (perf_hooks.monitorEventLoopDelay, resolution 1 ms)', '',
      '| workload | thr | fit ms/batch (median) | step ms (bench) | lag p50 ms | lag p99 ms | lag max ms | idle p99 ms | 1 ms timer runs/s |',
      '|---|---|---|---|---|---|---|---|---|');
    for (const r of firsts.filter((x) => x.ours.fit)) {
      const f = r.ours.fit;
      lines.push(`| ${r.w} | ${r.threads} | ${f2(f.batch_median_ms)} | ${f2(r.ours.train.median_ms)} | ${f2(f.lag.p50_ms)} | ${f2(f.lag.p99_ms)} | ${f2(f.lag.max_ms)} | ${f2(f.idle.p99_ms)} | ${f.timer1ms_ticks_per_s.toFixed(0)} |`);
    }
    lines.push('', `fit: ${timing.fitSteps} batches of random data, one epoch, shuffle on, verbose 0, after a 3-batch warm-up fit. fit yields to the event loop ` +
      '(setImmediate) between batches, but each step runs synchronously: a timer or request waits up to one whole step.');
  }

  // ---- profile
  if (o.profile) {
    for (const r of firsts.filter((x) => x.ours.profile)) {
      const p = r.ours.profile;
      const step = p.step_ms_mean;
      lines.push('', `## Profile: ${r.w}.train, ${r.threads} thread(s) (${p.steps} steps, kernels timed through a wrapper backend; means per step)`, '',
        '| phase | median ms | mean ms | in kernels ms | reference (JS) kernels ms | other JS ms | kernel calls | share of step |', '|---|---|---|---|---|---|---|---|');
      for (const ph of p.phases) {
        lines.push(`| ${ph.phase} | ${f2(ph.median_ms)} | ${f2(ph.mean_ms)} | ${f2(ph.kernelMs)} | ${f2(ph.refMs)} | ${f2(ph.mean_ms - ph.kernelMs)} | ${ph.calls} | ${pct(ph.mean_ms / step)} |`);
      }
      lines.push(`| step | ${f2(p.step_ms_median)} | ${f2(step)} | ${f2(p.kernelMsPerStep)} | ${f2(p.refMsPerStep)} | ${f2(step - p.kernelMsPerStep)} | ` +
        `${p.phases.reduce((a, x) => a + x.calls, 0)} | 100% |`);
      lines.push('', `reference-backend (pure TypeScript) kernel time: ${f2(p.refMsPerStep)} ms per step = ${pct(p.refMsPerStep / step)} of the step` +
        `${p.kernels.some((k) => k.fallback) ? ` (${[...new Set(p.kernels.filter((k) => k.fallback).map((k) => `${k.kernel}: ${k.fallback}`))].join(', ')})` : ' (every kernel the step calls is native)'}; ` +
        `"other JS" = autograd tape, tensor objects, scope, and the optimizer's Float32Array loop (src/optim, pure JS by design).`);
      lines.push('', '| phase | kernel | calls / step | ms / step | share of step | fallback |', '|---|---|---|---|---|---|');
      for (const k of p.kernels.filter((x) => x.msPerStep >= 0.005)) {
        lines.push(`| ${k.phase} | ${k.kernel} | ${k.callsPerStep} | ${f2(k.msPerStep)} | ${pct(k.msPerStep / step)} | ${k.fallback ?? ''} |`);
      }
    }
  }

  // ---- notes
  const notes = [];
  for (const r of runs) {
    if (r.ours.status === 'error') notes.push(`${r.w} thr ${r.threads} (repeat ${r.repeat + 1}): nodegrad error: ${r.ours.error}`);
    else if (r.ours.actualThreads !== r.threads) notes.push(`${r.w} thr ${r.threads}: the process ran ${r.ours.actualThreads} thread(s)`);
    if (r.torchError) notes.push(`${r.w} thr ${r.threads} (repeat ${r.repeat + 1}): torch: ${r.torchError}`);
    if (r.ours.cudaFallbacks?.length) notes.push(`${r.w} (repeat ${r.repeat + 1}): kernels the CUDA backend ran on the CPU: ${r.ours.cudaFallbacks.join(', ')}`);
  }
  if (o.threads.some((t) => t > os.cpus().length)) notes.push(`more threads than the ${os.cpus().length} cores: oversubscribed`);
  if (notes.length) lines.push('', 'notes:', ...notes.map((n) => `- ${n}`));
  console.log(lines.join('\n'));

  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ options: o, started, load: { start: load0, end: load1 }, cpu: cpuModel(), torch: found, table, runs }, null, 2));
    log(`# wrote ${o.json}`);
  }
  if (o.results) {
    const out = [];
    for (const row of table) {
      if (row.ours_ms == null) continue;
      out.push({ w: row.w, peer: 'nodegrad', version: PKG.version, variant: 'NHWC', device: o.device, threads: row.threads, median_ms: row.ours_ms, min_ms: row.ours_min, max_ms: row.ours_max, iters: row.n.reduce((a, b) => a + b, 0) });
    }
    for (const r of runs) for (const x of r.torch ?? []) out.push(x);
    writeFileSync(o.results, out.map((x) => `RESULT ${JSON.stringify(x)}`).join('\n') + '\n');
    log(`# wrote ${o.results} (python3 ${path.join(anchors, 'report.py')} ${o.results})`);
  }
  if (runs.some((r) => r.ours.status === 'error')) process.exitCode = 1;
}

try {
  main();
} catch (err) {
  log(`bench/train: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
