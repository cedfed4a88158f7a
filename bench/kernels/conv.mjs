/**
 * Convolution kernels on the W3 workloads of ../shared/anchors, addon entry points called directly (outputs
 * preallocated and reused, so this is the kernel's time, not the allocation's), at 1 and 2 threads, with
 * PyTorch channels_last timed on the same shapes in the same run when `/usr/bin/python3 -c "import torch"` works.
 *
 *   node bench/kernels/conv.mjs                       # all workloads, threads 1 and 2, torch if present
 *   node bench/kernels/conv.mjs --only dw3x3 --threads 2 --time 1 --no-torch
 *   node bench/kernels/conv.mjs --only conv1x1 --aligned  # inputs 64-byte aligned, as pooled activations are
 *
 * Workloads (NHWC, HWIO, no bias, as the anchors' torch layers):
 *   W3.conv3x3  x [8, 56, 56, 64]   w [3, 3, 64, 64]  pad 1
 *   W3.conv1x1  x [8, 56, 56, 256]  w [1, 1, 256, 64]
 *   W3.dw3x3    x [8, 112, 112, 32] w [3, 3, 1, 32]   groups 32, pad 1
 * fwd = conv2dF32; bwd = conv2dBackwardDataF32 + conv2dBackwardFilterF32 (dX + dW, as torch's backward), also
 * timed apart as the rows dx and dw (no torch figure: torch's backward is timed as one). Inputs are plain
 * Float32Arrays (16-byte aligned by V8) unless --aligned puts them on 64-byte boundaries, as the storage pool
 * does for kernel outputs (the 1x1 backward filter reads x in place: ~10% faster aligned, measured).
 * FLOPs: fwd = 2*N*OH*OW*KH*KW*(Cin/groups)*Cout (direct-conv count, also for Winograd); bwd = 2 x fwd; dx and
 * dw = fwd each. Each pass is checked first (sampled output elements against float64 sums in JS, bound
 * 2(L+2)u sum|terms| from the reduction length L; the worst ratios are printed as the accuracy lines), then
 * timed: median of >= 10 calls and >= --time seconds, after 3 warm-up calls. Ratio = torch ms / nodegrad ms
 * (> 1: nodegrad is faster).
 * NODEGRAD_WINOGRAD=0 times the im2col path for conv3x3 instead of Winograd F(2x2, 3x3).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const addon = require('node-gyp-build')(ROOT);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const THREADS = opt('threads', '1,2').split(',').map(Number);
const ONLY = new RegExp(opt('only', '.'));
const MIN_TIME = Number(opt('time', '2')) * 1000;
const WITH_TORCH = !args.includes('--no-torch');
const ALIGNED = args.includes('--aligned');

const WORKLOADS = [
  { name: 'W3.conv3x3', x: [8, 56, 56, 64], w: [3, 3, 64, 64], pad: 1, groups: 1 },
  { name: 'W3.conv1x1', x: [8, 56, 56, 256], w: [1, 1, 256, 64], pad: 0, groups: 1 },
  { name: 'W3.dw3x3', x: [8, 112, 112, 32], w: [3, 3, 1, 32], pad: 1, groups: 32 },
].filter((w) => ONLY.test(w.name));

const prod = (s) => s.reduce((a, b) => a * b, 1);

// n floats, on a 64-byte boundary with --aligned (the addon reports where that is in a buffer).
function floats(n) {
  if (!ALIGNED || typeof addon.alignmentOffset !== 'function') return new Float32Array(n);
  const buf = new ArrayBuffer(n * 4 + 64);
  return new Float32Array(buf, addon.alignmentOffset(buf), n);
}

// mulberry32: seeded inputs in [-1, 1).
function fill(n, seed) {
  let s = seed >>> 0;
  const a = floats(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

function setup(wl) {
  const [n, h, width, cin] = wl.x;
  const [kh, kw, cg, cout] = wl.w;
  const oh = h + 2 * wl.pad - kh + 1;
  const ow = width + 2 * wl.pad - kw + 1;
  const geo = [n, h, width, cin, kh, kw, cout, oh, ow, 1, 1, 1, 1, wl.pad, wl.pad, wl.pad, wl.pad, wl.groups];
  return {
    geo, n, h, width, cin, kh, kw, cg, cout, oh, ow,
    x: fill(prod(wl.x), 1), w: fill(prod(wl.w), 2), dy: fill(n * oh * ow * cout, 3),
    y: floats(n * oh * ow * cout), dx: floats(prod(wl.x)), dw: floats(prod(wl.w)),
    flops: 2 * n * oh * ow * kh * kw * cg * cout,
  };
}

// Sampled check: |got - sum| <= 2 (L + 2) u32 sum|terms| per element (Higham's gamma_L, both sides).
function check(s, pass) {
  const { n, h, width, cin, kh, kw, cg, cout, oh, ow, x, w, dy } = s;
  const gOf = (o) => Math.floor(o / (cout / (cin / cg)));
  const coPerG = cout / (cin / cg);
  const xAt = (b, i, j, c) => (i < 0 || i >= h || j < 0 || j >= width ? 0 : x[((b * h + i) * width + j) * cin + c]);
  const pad = (s.geo[13]);
  let worst = 0, worstRel = 0;
  for (let t = 0; t < 64; t++) {
    let got, sum = 0, abs = 0, L;
    if (pass === 'fwd') {
      const idx = Math.floor(((t * 2654435761) % 2 ** 32) / 2 ** 32 * s.y.length);
      const o = idx % cout, p = Math.floor(idx / cout), b = Math.floor(p / (oh * ow)), i = Math.floor(p / ow) % oh, j = p % ow;
      for (let a = 0; a < kh; a++) for (let c = 0; c < kw; c++) for (let ci = 0; ci < cg; ci++) {
        const v = xAt(b, i - pad + a, j - pad + c, gOf(o) * cg + ci) * w[((a * kw + c) * cg + ci) * cout + o];
        sum += v; abs += Math.abs(v);
      }
      got = s.y[idx]; L = kh * kw * cg;
    } else if (pass === 'dx') {
      const idx = Math.floor(((t * 2654435761) % 2 ** 32) / 2 ** 32 * s.dx.length);
      const c = idx % cin, p = Math.floor(idx / cin), b = Math.floor(p / (h * width)), i = Math.floor(p / width) % h, j = p % width;
      const g = Math.floor(c / cg);
      for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) {
        const yi = i + pad - a, yj = j + pad - e;
        if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
        for (let o = g * coPerG; o < (g + 1) * coPerG; o++) {
          const v = dy[((b * oh + yi) * ow + yj) * cout + o] * w[((a * kw + e) * cg + (c - g * cg)) * cout + o];
          sum += v; abs += Math.abs(v);
        }
      }
      got = s.dx[idx]; L = kh * kw * coPerG;
    } else {
      const idx = Math.floor(((t * 2654435761) % 2 ** 32) / 2 ** 32 * s.dw.length);
      const o = idx % cout, ci = Math.floor(idx / cout) % cg, e = Math.floor(idx / (cout * cg)) % kw, a = Math.floor(idx / (cout * cg * kw));
      for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
        const v = xAt(b, i - pad + a, j - pad + e, gOf(o) * cg + ci) * dy[((b * oh + i) * ow + j) * cout + o];
        sum += v; abs += Math.abs(v);
      }
      got = s.dw[idx]; L = n * oh * ow;
    }
    const bound = 2 * (L + 2) * 2 ** -24 * abs + 1e-30;
    const ratio = Math.abs(got - sum) / bound;
    // Winograd (conv3x3 fwd, dX) is held to 4x the direct bound here; the tests hold it to its own derived bound.
    if (!(ratio <= 4)) throw new Error(`${pass} check failed at ${t}: got ${got}, float64 sum ${sum}, bound ${bound}`);
    worst = Math.max(worst, ratio);
    worstRel = Math.max(worstRel, Math.abs(got - sum) / (abs || 1));
  }
  return { worst, worstRel };
}

function time(fn) {
  for (let i = 0; i < 3; i++) fn();
  const ts = [];
  const start = performance.now();
  while (ts.length < 10 || (performance.now() - start < MIN_TIME && ts.length < 200)) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)], min: ts[0], n: ts.length };
}

// PyTorch channels_last, same shapes, one process per thread count (as ../shared/anchors/peers_torch.py).
const TORCH_SCRIPT = String.raw`
import json, statistics, sys, time, torch, torch.nn as nn
threads, min_time, names = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3].split(',')
torch.set_num_threads(threads)
L = {'W3.conv3x3': (lambda: nn.Conv2d(64, 64, 3, 1, 1, bias=False), (8, 64, 56, 56)),
     'W3.conv1x1': (lambda: nn.Conv2d(256, 64, 1, bias=False), (8, 256, 56, 56)),
     'W3.dw3x3': (lambda: nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), (8, 32, 112, 112))}
def bench(fn, setup=None):
    for _ in range(3):
        if setup: setup()
        fn()
    ts, start = [], time.perf_counter()
    while len(ts) < 10 or (time.perf_counter() - start < min_time and len(ts) < 200):
        if setup: setup()
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)
for name in names:
    torch.manual_seed(0)
    m = L[name][0]().to(memory_format=torch.channels_last)
    x = torch.randn(L[name][1]).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        dy = torch.randn(m(x).shape).contiguous(memory_format=torch.channels_last)
    def fwd():
        with torch.no_grad(): return m(x)
    xg = x.clone().requires_grad_(True); st = {}
    def setup():
        xg.grad = None
        for p in m.parameters(): p.grad = None
        st['y'] = m(xg)
    def bwd(): st['y'].backward(dy)
    print(json.dumps({'w': name, 'fwd': bench(fwd), 'bwd': bench(bwd, setup)}), flush=True)
`;

function hasTorch() {
  if (!WITH_TORCH) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function torchTimes(threads, names) {
  const env = {
    ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads),
    // As ../shared/anchors/run_all.sh: keep freed blocks in the heap so torch does not re-fault pages every call.
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295',
  };
  const out = execFileSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, String(threads), String(MIN_TIME / 1000), names.join(',')], { env, encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.w, r]));
}

const torch = hasTorch();
const torchVersion = torch ? execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim() : null;
const info = addon.isaInfo();
console.log(`# nodegrad conv kernels: isa ${info.isa}, dwconv ${info.kernels.dwconv2dForward}, sgemm ${info.kernels.sgemm ?? '?'}; ` +
  `torch ${torchVersion ?? 'not available'}; node ${process.version}; load ${(await import('node:os')).loadavg()[0].toFixed(2)}; ` +
  `inputs ${ALIGNED ? '64-byte aligned' : 'plain Float32Arrays'}`);
console.log('| workload | pass | threads | nodegrad ms | GFLOP/s | torch CL ms | GFLOP/s | torch/nodegrad |');
console.log('|---|---|---|---|---|---|---|---|');

const fmt = (v, d = 2) => (v === undefined ? '-' : v.toFixed(d));
const results = [];
const accuracy = [];
for (const threads of THREADS) {
  addon.setNumThreads(threads);
  const peer = torch ? torchTimes(threads, WORKLOADS.map((w) => w.name)) : {};
  for (const wl of WORKLOADS) {
    const s = setup(wl);
    const fwd = () => addon.conv2dF32(s.x, s.w, null, s.y, ...s.geo, 0);  // activation 0: linear
    const dx = () => addon.conv2dBackwardDataF32(s.dy, s.w, s.dx, ...s.geo);
    const dw = () => addon.conv2dBackwardFilterF32(s.x, s.dy, s.dw, ...s.geo);
    const bwd = () => {
      dx();
      dw();
    };
    fwd();
    bwd();
    const acc = ['fwd', 'dx', 'dw'].map((p) => [p, check(s, p)]);
    if (threads === THREADS[0]) {
      accuracy.push(`# accuracy ${wl.name} (64 sampled outputs per pass vs float64 sums): ` +
        acc.map(([p, a]) => `${p} worst |err|/(2(L+2)u sum|terms|) ${a.worst.toFixed(3)}, |err|/sum|terms| ${a.worstRel.toExponential(2)}`).join('; '));
    }
    for (const [pass, fn, flops] of [['fwd', fwd, s.flops], ['bwd', bwd, 2 * s.flops], ['dx', dx, s.flops], ['dw', dw, s.flops]]) {
      const t = time(fn);
      const tm = peer[wl.name]?.[pass];
      const r = { workload: wl.name, pass, threads, ms: t.median, gflops: flops / t.median / 1e6, torchMs: tm, torchGflops: tm && flops / tm / 1e6 };
      results.push(r);
      console.log(`| ${wl.name} | ${pass} | ${threads} | ${fmt(r.ms)} | ${fmt(r.gflops, 1)} | ${fmt(tm)} | ${fmt(r.torchGflops, 1)} | ${tm ? fmt(tm / t.median) : '-'} |`);
    }
  }
}
for (const line of accuracy) console.log(line);
if (args.includes('--json')) console.log(JSON.stringify(results));
