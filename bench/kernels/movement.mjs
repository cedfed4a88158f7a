/**
 * Data movement and selection kernels (transpose, slice, pad, concat, gather, oneHot, where, compare, clip, cast)
 * on the native backend against the reference backend in the same run, at 1 and 2 threads, with PyTorch on the same
 * shapes when `/usr/bin/python3 -c "import torch"` works (a contiguous result, as nodegrad's kernels produce).
 *
 *   node bench/kernels/movement.mjs                              # every case, threads 1 and 2, torch if present
 *   node bench/kernels/movement.mjs --only 'pad|concat' --threads 1 --rounds 5 --time 0.5 --no-torch
 *
 * Cases run on x [32, 32, 32, 64] float32 (2M elements, 8 MiB; `--shape 8,56,56,64` for another NHWC shape)
 * through the Backend entries (dist/: run `npm run build:ts` first), outputs returned to the storage pool after
 * each call as a disposed tensor's are. Each round times every case (native at each thread count, the reference,
 * torch in its own process per round): the median of >= 5 calls and >= --time seconds after warm-up; the table
 * shows the median of the round medians. Every native result is checked bit for bit against the reference first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const THREADS = opt('threads', '1,2').split(',').map(Number);
const ONLY = new RegExp(opt('only', '.'));
const ROUNDS = Number(opt('rounds', '3'));
const MIN_TIME = Number(opt('time', '0.5')) * 1000;
const WITH_TORCH = !args.includes('--no-torch');
const SHAPE = opt('shape', '32,32,32,64').split(',').map(Number);

const dist = new URL('../../dist/', import.meta.url);
const { loadNativeBackend, nativeInfo, setNumThreads } = await import(new URL('backends/native/index.js', dist));
const { referenceBackend: ref } = await import(new URL('backends/reference/index.js', dist));
const { releaseStorage, retainStorage } = await import(new URL('backends/storage.js', dist));
const nat = loadNativeBackend().backend;
if (!nat) throw new Error(`the native addon did not load: ${loadNativeBackend().error}`);

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

const size = SHAPE.reduce((a, b) => a * b, 1);
const [N, H, W, C] = SHAPE;
const x = { data: fill(size, 1, -2, 2), shape: SHAPE };
const y = { data: fill(size, 2), shape: SHAPE };
const mask = { data: Int32Array.from(fill(size, 3), (v) => (v > 0 ? 1 : 0)), shape: SHAPE };
const xi = { data: Int32Array.from(x.data, (v) => Math.round(v * 1000)), shape: SHAPE };
const zero = { data: new Float32Array(1), shape: [] };
const idxH = { data: Int32Array.from(fill(H, 4, 0, H), Math.floor), shape: [H] };
const labels = { data: Int32Array.from(fill(N * H * W, 5, 0, 10), Math.floor), shape: [N * H * W] };
const pads = [[0, 0], [1, 1], [1, 1], [0, 0]];

// name, the call on a backend, the torch expression (x, y, mask, xi, idx, labels as tensors in NCHW-free NHWC order).
const CASES = [
  ['concat.axis3', (b) => b.concat([x, y], 3), 'torch.cat([x, y], 3)'],
  ['concat.axis0', (b) => b.concat([x, y], 0), 'torch.cat([x, y], 0)'],
  ['transpose.0312', (b) => b.transpose(x, [0, 3, 1, 2]), 'x.permute(0, 3, 1, 2).contiguous()'],
  ['transpose.0231', (b) => b.transpose(x, [0, 2, 3, 1]), 'x.permute(0, 2, 3, 1).contiguous()'],
  ['slice.crop1', (b) => b.slice(x, [0, 1, 1, 0], [N, H - 2, W - 2, C], [1, 1, 1, 1]), 'x[:, 1:-1, 1:-1, :].contiguous()'],
  ['slice.step2', (b) => b.slice(x, [0, 0, 0, 0], [N, H / 2, W / 2, C], [1, 2, 2, 1]), 'x[:, ::2, ::2, :].contiguous()'],
  ['pad.constant', (b) => b.pad(x, pads, 'constant', 0), "F.pad(x, (0, 0, 1, 1, 1, 1))"],
  ['pad.reflect', (b) => b.pad(x, pads, 'reflect', 0), "F.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 1), mode='reflect').permute(0, 2, 3, 1).contiguous()"],
  ['pad.symmetric', (b) => b.pad(x, pads, 'symmetric', 0), null],
  ['gather.axis1', (b) => b.gather(x, idxH, 1), 'x.index_select(1, idx)'],
  ['oneHot.10', (b) => b.oneHot(labels, 10, 1, 0), 'F.one_hot(labels, 10).float()'],
  ['where', (b) => b.where(mask, x, y, SHAPE), 'torch.where(mask, x, y)'],
  ['where.scalar', (b) => b.where(mask, x, zero, SHAPE), 'torch.where(mask, x, torch.zeros(()))'],
  ['compare.greater0', (b) => b.compare('greater', x, zero, SHAPE), '(x > 0).int()'],
  ['compare.equal', (b) => b.compare('equal', x, y, SHAPE), '(x == y).int()'],
  ['clip', (b) => b.clip(x, -1, 1), 'x.clamp(-1, 1)'],
  ['cast.f32-i32', (b) => b.cast(x, 'int32'), 'x.int()'],
  ['cast.i32-f32', (b) => b.cast(xi, 'float32'), 'xi.float()'],
].filter(([name]) => ONLY.test(name));

function sameBits(a, b) {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

// One call, its output handed back to the pool as a disposed tensor's storage would be.
function once(fn) {
  const out = fn();
  retainStorage(out.data);
  releaseStorage(out.data);
}

function time(fn, minCalls) {
  for (let i = 0; i < 2; i++) once(fn);
  const ts = [];
  const start = performance.now();
  while (ts.length < minCalls || (performance.now() - start < MIN_TIME && ts.length < 200)) {
    const t0 = performance.now();
    once(fn);
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)];
}

const median = (xs) => {
  const s = [...(xs ?? [])].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};

const TORCH_SCRIPT = String.raw`
import json, statistics, sys, time, torch, torch.nn.functional as F
threads, min_time, shape, cases = int(sys.argv[1]), float(sys.argv[2]), [int(s) for s in sys.argv[3].split(',')], json.loads(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(0)
x, y = torch.rand(shape) * 4 - 2, torch.rand(shape) * 2 - 1
mask = torch.rand(shape) > 0.5
xi = (x * 1000).round().int()
idx = torch.randint(0, shape[1], (shape[1],))
labels = torch.randint(0, 10, (shape[0] * shape[1] * shape[2],))
def bench(fn):
    for _ in range(2): fn()
    ts, start = [], time.perf_counter()
    while len(ts) < 5 or (time.perf_counter() - start < min_time and len(ts) < 200):
        t0 = time.perf_counter(); fn(); ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)
for name, expr in cases:
    f = eval('lambda: ' + expr)
    print(json.dumps({'case': name, 'ms': bench(f)}), flush=True)
`;

const torch = WITH_TORCH && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const torchVersion = torch ? execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim() : null;
const torchCases = CASES.filter((c) => c[2]).map(([name, , expr]) => [name, expr]);

function torchRound(threads) {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads) };
  const out = execFileSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, String(threads), String(MIN_TIME / 1000), SHAPE.join(','),
    JSON.stringify(torchCases)], { env, encoding: 'utf8' });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

const info = nativeInfo();
console.log(`# nodegrad movement/selection kernels: x [${SHAPE}] float32; isa ${info.isa}; torch ${torchVersion ?? 'not available'}; ` +
  `node ${process.version}; ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}; load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${ROUNDS} rounds`);

for (const [name, run] of CASES) {
  if (!sameBits(run(nat).data, run(ref).data)) throw new Error(`${name}: the native result differs from the reference`);
}

const samples = {};
const push = (key, v) => (samples[key] ??= []).push(v);
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of CASES) {
    for (const t of THREADS) {
      setNumThreads(t);
      push(`${name}|${t}|native`, time(() => run(nat), 5));
    }
    push(`${name}|ref`, time(() => run(ref), 3));
  }
  if (torch && torchCases.length) for (const t of THREADS) for (const r of torchRound(t)) push(`${r.case}|${t}|torch`, r.ms);
}

const fmt = (v, d = 2) => (v === undefined ? '-' : v.toFixed(d));
const head = THREADS.map((t) => `native ${t}T ms`).join(' | ');
const torchHead = torch ? ` | ${THREADS.map((t) => `torch ${t}T ms`).join(' | ')} | torch/native (${THREADS[0]}T)` : '';
console.log(`| case | reference ms | ${head} | reference / native (${THREADS[0]}T)${torchHead} |`);
console.log(`|---|---|${THREADS.map(() => '---|').join('')}---|${torch ? `${THREADS.map(() => '---|').join('')}---|` : ''}`);
for (const [name] of CASES) {
  const r = median(samples[`${name}|ref`]);
  const n = THREADS.map((t) => median(samples[`${name}|${t}|native`]));
  const tt = THREADS.map((t) => median(samples[`${name}|${t}|torch`]));
  const torchCols = torch ? ` | ${tt.map((v) => fmt(v, 3)).join(' | ')} | ${tt[0] ? fmt(tt[0] / n[0]) : '-'}` : '';
  console.log(`| ${name} | ${fmt(r)} | ${n.map((v) => fmt(v, 3)).join(' | ')} | ${fmt(r / n[0], 0)}${torchCols} |`);
}
