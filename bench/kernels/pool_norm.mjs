/**
 * Max pooling and batch norm (training) on the W3 workloads of ../shared/anchors, forward and backward, at 1 and 2
 * threads, through the addon's entry points, with PyTorch timed on the same shapes in the same run (channels_last,
 * and NCHW for batch norm as in the anchors) when `/usr/bin/python3 -c "import torch"` works.
 *
 *   node bench/kernels/pool_norm.mjs                          # both workloads, threads 1 and 2, torch if present
 *   node bench/kernels/pool_norm.mjs --only bn --threads 1 --rounds 5 --time 0.5 --no-torch
 *   node bench/kernels/pool_norm.mjs --isa avx2               # another ISA path (re-runs itself with NODEGRAD_ISA)
 *
 * Workloads (NHWC):
 *   W3.maxpool   x [8, 112, 112, 64], 2x2 stride 2    fwd: maxPool2dF32     bwd: maxPool2dBackwardF32 (dx)
 *   W3.bn_train  x [8, 56, 56, 64], epsilon 1e-3      fwd: batchNormTrainF32 (y, batch mean, variance)
 *                                                     bwd: batchNormBackwardF32 training (dx, dgamma, dbeta)
 * Two nodegrad columns: "kernel" reuses preallocated outputs (the kernel's time); "backend" allocates the outputs
 * on every call as the native backend does (src/backends/native: Buffer.allocUnsafeSlow above 64 KiB, since the
 * kernels overwrite every element). torch allocates its outputs on every call too.
 * GB/s counts the bytes the passes move: maxpool fwd x + y, bwd x + dy + dx; bn fwd 2 x (x) + y (statistics pass,
 * then the normalisation), bwd 2 x (x + dy) + dx.
 * Each pass is checked first (sampled against float64 in JS), then timed in interleaved rounds (nodegrad, torch,
 * nodegrad, ...; torch in its own process per round): each round a median of >= 10 calls and >= --time seconds
 * after warm-up, the table the median of the round medians. Ratio = torch ms / nodegrad ms (> 1: nodegrad faster).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

// --isa: NODEGRAD_ISA is read when the addon loads, so run this script again in a child with it set.
const isaArg = opt('isa', undefined);
if (isaArg !== undefined && process.env.NODEGRAD_ISA !== isaArg) {
  const rest = args.filter((_, i) => args[i] !== '--isa' && args[i - 1] !== '--isa');
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...rest], {
    stdio: 'inherit', env: { ...process.env, NODEGRAD_ISA: isaArg },
  });
  process.exit(r.status ?? 1);
}

const addon = require('node-gyp-build')(ROOT);
const THREADS = opt('threads', '1,2').split(',').map(Number);
const ONLY = new RegExp(opt('only', '.'));
const ROUNDS = Number(opt('rounds', '3'));
const MIN_TIME = Number(opt('time', '1')) * 1000;
const WITH_TORCH = !args.includes('--no-torch');

const prod = (s) => s.reduce((a, b) => a * b, 1);

// mulberry32: seeded inputs in [lo, hi).
function fill(n, seed, lo = -1, hi = 1) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo);
  }
  return a;
}

// As src/backends/native/elementwise.ts outputF32: outputs the kernel overwrites skip the zero fill.
function alloc(n) {
  if (n < 16384) return new Float32Array(n);
  const b = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(b.buffer, b.byteOffset, n);
}

const F = 4; // bytes per float

function maxpoolWorkload() {
  const [n, h, w, c] = [8, 112, 112, 64];
  const [oh, ow] = [h / 2, w / 2];
  const geo = [n, h, w, c, 2, 2, 2, 2, 0, 0, 0, 0];
  const x = fill(n * h * w * c, 1);
  const dy = fill(n * oh * ow * c, 2);
  const y = new Float32Array(n * oh * ow * c);
  const dx = new Float32Array(x.length);
  const xAt = (b, i, j, ch) => x[((b * h + i) * w + j) * c + ch];
  return {
    name: 'W3.maxpool',
    passes: {
      fwd: {
        bytes: (x.length + y.length) * F,
        kernel: () => addon.maxPool2dF32(x, y, ...geo),
        backend: () => addon.maxPool2dF32(x, alloc(y.length), ...geo),
        check() {
          for (let t = 0; t < 256; t++) {
            const idx = (t * 2654435761) % y.length;
            const ch = idx % c, p = Math.floor(idx / c), b = Math.floor(p / (oh * ow)), i = Math.floor(p / ow) % oh, j = p % ow;
            const want = Math.max(xAt(b, 2 * i, 2 * j, ch), xAt(b, 2 * i, 2 * j + 1, ch), xAt(b, 2 * i + 1, 2 * j, ch), xAt(b, 2 * i + 1, 2 * j + 1, ch));
            if (y[idx] !== want) throw new Error(`maxpool fwd check: index ${idx} got ${y[idx]} want ${want}`);
          }
        },
      },
      bwd: {
        bytes: (x.length + dy.length + dx.length) * F,
        kernel: () => addon.maxPool2dBackwardF32(dy, x, dx, ...geo),
        backend: () => addon.maxPool2dBackwardF32(dy, x, alloc(dx.length), ...geo),
        check() {
          for (let t = 0; t < 256; t++) {
            const idx = (t * 2654435761) % dy.length;
            const ch = idx % c, p = Math.floor(idx / c), b = Math.floor(p / (oh * ow)), i = Math.floor(p / ow) % oh, j = p % ow;
            let best = -1, bv = -Infinity, sum = 0;
            for (const [di, dj] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
              const k = ((b * h + 2 * i + di) * w + 2 * j + dj) * c + ch;
              if (x[k] > bv) { bv = x[k]; best = k; }
              sum += Math.abs(dx[k]);
            }
            if (dx[best] !== dy[idx] || sum !== Math.abs(dy[idx])) throw new Error(`maxpool bwd check: window ${idx}`);
          }
        },
      },
    },
  };
}

function bnWorkload() {
  const [n, h, w, c] = [8, 56, 56, 64];
  const R = n * h * w;
  const x = fill(R * c, 3, -1, 3);
  const dy = fill(R * c, 4);
  const gamma = fill(c, 5, 0.5, 1.5);
  const beta = fill(c, 6);
  const y = new Float32Array(x.length), mean = new Float32Array(c), variance = new Float32Array(c);
  const dx = new Float32Array(x.length), dgamma = new Float32Array(c), dbeta = new Float32Array(c);
  const eps = 1e-3;
  return {
    name: 'W3.bn_train',
    passes: {
      fwd: {
        bytes: (2 * x.length + y.length) * F,
        kernel: () => addon.batchNormTrainF32(x, gamma, beta, eps, y, mean, variance),
        backend: () => addon.batchNormTrainF32(x, gamma, beta, eps, alloc(y.length), new Float32Array(c), new Float32Array(c)),
        check() {
          for (const ch of [0, 17, 63]) {
            let s = 0, q = 0;
            for (let r = 0; r < R; r++) s += x[r * c + ch];
            const m = s / R;
            for (let r = 0; r < R; r++) q += (x[r * c + ch] - m) ** 2;
            const v = q / R;
            if (Math.abs(mean[ch] - m) > 1e-6 * (1 + Math.abs(m)) || Math.abs(variance[ch] - v) > 1e-6 * v) throw new Error(`bn stats check: channel ${ch}`);
            const r = 12345;
            const want = gamma[ch] * (x[r * c + ch] - m) / Math.sqrt(v + eps) + beta[ch];
            if (Math.abs(y[r * c + ch] - want) > 1e-5 * (1 + Math.abs(want))) throw new Error(`bn y check: channel ${ch}`);
          }
        },
      },
      bwd: {
        bytes: (2 * (x.length + dy.length) + dx.length) * F,
        kernel: () => addon.batchNormBackwardF32(true, dy, x, gamma, mean, variance, eps, dx, dgamma, dbeta),
        backend: () => addon.batchNormBackwardF32(true, dy, x, gamma, mean, variance, eps, alloc(dx.length), new Float32Array(c), new Float32Array(c)),
        check() {
          for (const ch of [0, 17, 63]) {
            let sdy = 0, sdyx = 0;
            const istd = 1 / Math.sqrt(variance[ch] + eps);
            for (let r = 0; r < R; r++) {
              sdy += dy[r * c + ch];
              sdyx += dy[r * c + ch] * (x[r * c + ch] - mean[ch]) * istd;
            }
            if (Math.abs(dbeta[ch] - sdy) > 1e-6 * (1 + Math.abs(sdy)) || Math.abs(dgamma[ch] - sdyx) > 1e-5 * (1 + Math.abs(sdyx))) {
              throw new Error(`bn dgamma/dbeta check: channel ${ch}`);
            }
            const r = 777;
            const xh = (x[r * c + ch] - mean[ch]) * istd;
            const want = (gamma[ch] * istd / R) * (R * dy[r * c + ch] - sdy - xh * sdyx);
            if (Math.abs(dx[r * c + ch] - want) > 1e-4 * (1 + Math.abs(want))) throw new Error(`bn dx check: channel ${ch}`);
          }
        },
      },
    },
  };
}

function time(fn) {
  for (let i = 0; i < 3; i++) fn();
  const ts = [];
  const start = performance.now();
  while (ts.length < 10 || (performance.now() - start < MIN_TIME && ts.length < 500)) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};

// PyTorch, same shapes, one process per (round, thread count), as ../shared/anchors/peers_torch.py.
const TORCH_SCRIPT = String.raw`
import json, statistics, sys, time, torch, torch.nn as nn
threads, min_time, names = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].split(',')
torch.set_num_threads(threads)
L = {'W3.maxpool': (lambda: nn.MaxPool2d(2, 2), (8, 64, 112, 112), (True,)),
     'W3.bn_train': (lambda: nn.BatchNorm2d(64, eps=1e-3), (8, 64, 56, 56), (True, False))}
def bench(fn, setup=None):
    for _ in range(3):
        if setup: setup()
        fn()
    ts, start = [], time.perf_counter()
    while len(ts) < 10 or (time.perf_counter() - start < min_time and len(ts) < 500):
        if setup: setup()
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)
for name in names:
    ctor, shape, layouts = L[name]
    for cl in layouts:
        torch.manual_seed(0)
        m = ctor()
        if cl: m = m.to(memory_format=torch.channels_last)
        m.train()
        x = torch.randn(shape)
        if cl: x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            dy = torch.randn_like(m(x))
        def fwd():
            with torch.no_grad(): return m(x)
        xg = x.clone().requires_grad_(True); st = {}
        def setup():
            xg.grad = None
            for p in m.parameters(): p.grad = None
            st['y'] = m(xg)
        def bwd(): st['y'].backward(dy)
        print(json.dumps({'w': name, 'layout': 'CL' if cl else 'NCHW', 'fwd': bench(fwd), 'bwd': bench(bwd, setup)}), flush=True)
`;

const torch = WITH_TORCH && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const torchVersion = torch ? execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim() : null;

function torchRound(threads, names) {
  const env = {
    ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads),
    // As ../shared/anchors/run_all.sh: keep freed blocks in the heap so torch does not re-fault pages every call.
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295',
  };
  const out = execFileSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, String(threads), String(MIN_TIME / 1000), names.join(',')], { env, encoding: 'utf8' });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

const workloads = [maxpoolWorkload(), bnWorkload()].filter((w) => ONLY.test(w.name));
const info = addon.isaInfo();
console.log(`# nodegrad pool/norm kernels: isa ${info.isa}, ${info.kernels.maxPool2d}, ${info.kernels.batchNorm}; ` +
  `torch ${torchVersion ?? 'not available'}; node ${process.version}; ${os.cpus()[0]?.model ?? '?'}; load ${os.loadavg()[0].toFixed(2)}; ` +
  `${ROUNDS} rounds`);

for (const wl of workloads) {
  for (const [name, p] of Object.entries(wl.passes)) {
    p.kernel();
    p.check();
  }
}

// samples[key] = per-round medians
const samples = {};
const push = (key, v) => (samples[key] ??= []).push(v);
for (let round = 0; round < ROUNDS; round++) {
  for (const threads of THREADS) {
    addon.setNumThreads(threads);
    for (const wl of workloads) {
      for (const [pass, p] of Object.entries(wl.passes)) {
        push(`${wl.name}|${pass}|${threads}|kernel`, time(p.kernel));
        push(`${wl.name}|${pass}|${threads}|backend`, time(p.backend));
      }
    }
    if (torch) {
      for (const r of torchRound(threads, workloads.map((w) => w.name))) {
        push(`${r.w}|fwd|${threads}|torch ${r.layout}`, r.fwd);
        push(`${r.w}|bwd|${threads}|torch ${r.layout}`, r.bwd);
      }
    }
  }
}

const fmt = (v, d = 2) => (v === undefined ? '-' : v.toFixed(d));
console.log('| workload | pass | threads | nodegrad kernel ms | GB/s | nodegrad backend ms | torch CL ms | torch NCHW ms | torch CL / kernel | torch CL / backend |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
const results = [];
for (const wl of workloads) {
  for (const [pass, p] of Object.entries(wl.passes)) {
    for (const threads of THREADS) {
      const k = median(samples[`${wl.name}|${pass}|${threads}|kernel`]);
      const b = median(samples[`${wl.name}|${pass}|${threads}|backend`]);
      const tcl = median(samples[`${wl.name}|${pass}|${threads}|torch CL`] ?? []);
      const tnc = median(samples[`${wl.name}|${pass}|${threads}|torch NCHW`] ?? []);
      const r = { workload: wl.name, pass, threads, kernelMs: k, gbps: p.bytes / k / 1e6, backendMs: b, torchClMs: tcl, torchNchwMs: tnc };
      results.push(r);
      console.log(`| ${wl.name} | ${pass} | ${threads} | ${fmt(k, 3)} | ${fmt(r.gbps, 1)} | ${fmt(b, 3)} | ${fmt(tcl, 3)} | ${fmt(tnc, 3)} | ` +
        `${tcl ? fmt(tcl / k) : '-'} | ${tcl ? fmt(tcl / b) : '-'} |`);
    }
  }
}
if (args.includes('--json')) console.log(JSON.stringify(results));
