/**
 * One workload (W1 or W2) at one thread count, in its own process (started by bench/train.js, one process per
 * workload and thread count, as bench/run.js does with bench/case.js):
 *
 *   NODEGRAD_NUM_THREADS=1 node --expose-gc bench/train/step.js '{"workload":"W1","threads":1}'
 *   node --expose-gc bench/train/step.js '{"workload":"W2","threads":16,"device":"cuda","batch":128}'
 *
 * On 'cuda' the model is moved with model.to('cuda') and each step uploads its batch inside the scope, as fit()
 * does; the step ends with a read-back (the smallest weight, written by the optimizer's last kernels), so the
 * time includes the GPU work the step queued. The profile (kernel timing through a wrapper of the CPU backend)
 * is CPU-only.
 *
 * Measures, in this order (each later pass may perturb timing, so the timed passes come first):
 *  1. train: median ms of one training step, exactly as fit()'s trainStep (src/train/fit.ts) runs it inside
 *     `scope()`: forward (training: true), sparse softmax cross-entropy from logits (mean), zero grads,
 *     backward, optimizer.step, optimizer.zeroGrad. The anchors' protocol with our warm-up: `warmup` steps, then
 *     >= minSteps timed steps until minTime seconds have passed (at most maxSteps). Also: storage-pool misses
 *     (fresh output buffers) and V8 GC pauses over the timed steps.
 *  2. infer: forward (training: false) + softmax, under noGrad, in a scope; same protocol.
 *  3. profile (a separate pass): per phase (forward / loss / backward / optimizer / scope disposal) medians, and
 *     every Backend kernel call timed through a wrapper backend (withBackend), with exclusive time per kernel
 *     and the time spent in reference-backend (pure TypeScript) code: kernels whose Backend entry is the
 *     reference one (`getBackend()[k] === referenceBackend[k]`, as bench/case.js), and reference kernels
 *     reached from inside a native entry (referenceBackend[k] wrapped in place while profiling).
 *  4. lag: model.fit() on batch x steps random samples (one epoch, shuffle on, verbose 0) with
 *     perf_hooks.monitorEventLoopDelay running; its p50 / p99 / max next to fit's per-batch time
 *     (onBatchBegin -> onBatchEnd) and an idle baseline of the same histogram.
 * Prints one line `TRAIN {json}` on stdout.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWorkload } from './models.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ng = await import(pathToFileURL(`${ROOT}dist/index.js`).href);

const median = (a) => {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

function setup(name, device, batch) {
  ng.manualSeed(0);
  const w = buildWorkload(ng, name, batch);
  if (device === 'cuda') {
    const cuda = ng.loadCuda();
    if (!cuda.addon) throw new Error(`--device cuda: CUDA is not available (${cuda.reason})`);
    w.model.to('cuda');
  }
  const x = ng.keep(ng.randn([w.batch, ...w.inputShape], { seed: 1 }));
  const y = ng.keep(ng.randInt([w.batch], 0, w.classes, { seed: 2 }));
  const loss = new ng.losses.SparseCategoricalCrossentropy({ fromLogits: true });
  const vars = w.model.trainableVariables;
  const smallest = vars.reduce((a, v) => (v.size < a.size ? v : a));
  return { ...w, device, x, y, loss, vars, smallest };
}

/** A batch tensor on the model's device: uploaded inside the step's scope (freed after it), as fit() does. */
const onDevice = (s, t) => (s.device === 'cuda' ? t.to('cuda') : t);

/** One training step as fit()'s trainStep; `mark(phase)` (optional) is called at each phase boundary. */
function trainStep(s, mark) {
  return ng.scope(() => ng.enableGrad(() => {
    const out = s.model.apply(onDevice(s, s.x), { training: true });
    mark?.('loss');
    const l = s.loss.call(onDevice(s, s.y), out);
    const value = l.data[0];
    mark?.('backward');
    for (const v of s.vars) v.zeroGrad();
    l.backward();
    mark?.('optimizer');
    s.optimizer.step(s.vars);
    s.optimizer.zeroGrad(s.vars);
    if (s.device === 'cuda') void s.smallest.value.data[0];  // waits for the step's kernels
    mark?.('dispose');
    return value;
  }));
}

function inferStep(s) {
  return ng.scope(() => ng.noGrad(() => {
    const p = s.model.apply(onDevice(s, s.x), { training: false }).softmax(-1);
    return p.data[0];
  }));
}

/** The anchors' protocol: warm-up, then >= minSteps calls until minTime s, at most maxSteps. */
function time(fn, spec) {
  for (let i = 0; i < spec.warmup; i++) fn();
  globalThis.gc?.();
  const gcs = [];
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e.duration); });
  obs.observe({ entryTypes: ['gc'] });
  const pool0 = ng.poolStats();
  const ts = [];
  const start = performance.now();
  while (ts.length < spec.minSteps || (performance.now() - start < spec.minTime * 1e3 && ts.length < spec.maxSteps)) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  const pool1 = ng.poolStats();
  obs.disconnect();
  return {
    median_ms: median(ts), min_ms: Math.min(...ts), max_ms: Math.max(...ts), iters: ts.length,
    poolMissesPerStep: (pool1.misses - pool0.misses) / ts.length,
    poolHitsPerStep: (pool1.hits - pool0.hits) / ts.length,
    gc: { count: gcs.length, ms: gcs.reduce((a, b) => a + b, 0) },
  };
}

// ------------------------------------------------------------------------------------------------ profile

function profile(s, spec) {
  const be = ng.getBackend();
  const ref = ng.referenceBackend;
  const keys = Object.keys(be).filter((k) => typeof be[k] === 'function');
  const identity = new Set(keys.filter((k) => be[k] === ref[k]));

  let phase = 'forward';
  const stack = [];
  const stats = new Map(); // `${phase}|${kernel}` -> { calls, ms, refMs, identity }
  const stat = (k) => {
    const key = `${phase}|${k}`;
    let st = stats.get(key);
    if (!st) stats.set(key, (st = { phase, kernel: k, calls: 0, ms: 0, refMs: 0, insideRefMs: 0 }));
    return st;
  };
  const timed = (k, isRef, inside, fn, self, args) => {
    const frame = { child: 0 };
    stack.push(frame);
    const t0 = performance.now();
    try {
      return fn.apply(self, args);
    } finally {
      const total = performance.now() - t0;
      stack.pop();
      const excl = total - frame.child;
      if (stack.length) stack[stack.length - 1].child += total;
      const st = stat(k);
      if (!inside) st.calls++;
      st.ms += excl;
      if (isRef) st.refMs += excl;
      if (inside) st.insideRefMs += excl;
    }
  };
  const wrapped = { ...be };
  for (const k of keys) {
    const f = be[k];
    wrapped[k] = function (...args) { return timed(k, identity.has(k), false, f, be, args); };
  }
  const saved = {};
  for (const k of keys) {
    if (typeof ref[k] !== 'function') continue;
    saved[k] = ref[k];
    const f = ref[k];
    ref[k] = function (...args) { return timed(k, true, stack.length > 0, f, ref, args); };
  }

  const phases = ['forward', 'loss', 'backward', 'optimizer', 'dispose'];
  const perPhase = Object.fromEntries(phases.map((p) => [p, []]));
  const totals = [];
  let kernelStepMs = 0;
  try {
    ng.withBackend(wrapped, () => {
      for (let i = 0; i < spec.profileSteps + 2; i++) {
        if (i === 2) stats.clear(); // 2 warm steps with the wrappers in place
        let t = performance.now();
        const t0 = t;
        phase = 'forward';
        trainStep(s, (next) => {
          const now = performance.now();
          if (i >= 2) perPhase[phase].push(now - t);
          t = now;
          phase = next;
        });
        const end = performance.now();
        if (i >= 2) {
          perPhase.dispose.push(end - t);
          totals.push(end - t0);
        }
      }
    });
  } finally {
    Object.assign(ref, saved);
  }
  const n = spec.profileSteps;
  const kernels = [...stats.values()].map((st) => ({
    phase: st.phase, kernel: st.kernel, callsPerStep: st.calls / n, msPerStep: st.ms / n, refMsPerStep: st.refMs / n,
    fallback: identity.has(st.kernel) ? 'reference entry' : st.insideRefMs > 0 ? 'reference inside native' : null,
  })).sort((a, b) => b.msPerStep - a.msPerStep);
  const sum = (f) => kernels.reduce((a, k) => a + f(k), 0);
  kernelStepMs = sum((k) => k.msPerStep);
  const phaseRows = phases.map((p) => {
    const ks = kernels.filter((k) => k.phase === p);
    return {
      phase: p, median_ms: median(perPhase[p]), mean_ms: perPhase[p].reduce((a, b) => a + b, 0) / n,
      kernelMs: ks.reduce((a, k) => a + k.msPerStep, 0), refMs: ks.reduce((a, k) => a + k.refMsPerStep, 0),
      calls: ks.reduce((a, k) => a + k.callsPerStep, 0),
    };
  });
  return {
    steps: n,
    step_ms_mean: totals.reduce((a, b) => a + b, 0) / n,
    step_ms_median: median(totals),
    kernelMsPerStep: kernelStepMs,
    refMsPerStep: sum((k) => k.refMsPerStep),
    identityFallbacks: [...identity].sort(),
    phases: phaseRows,
    kernels,
  };
}

// ------------------------------------------------------------------------------------------------ fit lag

async function fitLag(s, spec) {
  const { model, batch, optimizer } = s;
  model.compile({ optimizer, loss: new ng.losses.SparseCategoricalCrossentropy({ fromLogits: true }) });
  const make = (steps, seed) => ({
    x: ng.keep(ng.randn([batch * steps, ...s.inputShape], { seed })),
    y: ng.keep(ng.randInt([batch * steps], 0, s.classes, { seed: seed + 1 })),
  });
  const warm = make(3, 11);
  await model.fit(warm.x, warm.y, { epochs: 1, batchSize: batch, verbose: 0 });

  // The histogram's floor: the same monitor with nothing to do.
  const idle = monitorEventLoopDelay({ resolution: spec.lagResolution });
  idle.enable();
  await new Promise((r) => setTimeout(r, spec.idleMs));
  idle.disable();

  const data = make(spec.fitSteps, 21);
  const batchMs = [];
  let tb = 0;
  const cb = new ng.callbacks.LambdaCallback({
    onBatchBegin: () => { tb = performance.now(); },
    onBatchEnd: () => { batchMs.push(performance.now() - tb); },
  });
  // A timer that wants to run every `resolution` ms, as a server's work would: how late does it run?
  const h = monitorEventLoopDelay({ resolution: spec.lagResolution });
  let ticks = 0;
  const iv = setInterval(() => { ticks++; }, 1);
  h.enable();
  const t0 = performance.now();
  await model.fit(data.x, data.y, { epochs: 1, batchSize: batch, verbose: 0, callbacks: [cb] });
  const wall = performance.now() - t0;
  h.disable();
  clearInterval(iv);
  const ms = (ns) => ns / 1e6;
  const pct = (hist) => ({
    p50_ms: ms(hist.percentile(50)), p99_ms: ms(hist.percentile(99)), max_ms: ms(hist.max), mean_ms: ms(hist.mean),
    samples: hist.count ?? null,
  });
  return {
    resolution_ms: spec.lagResolution,
    steps: spec.fitSteps,
    fit_wall_ms: wall,
    fit_ms_per_step: wall / spec.fitSteps,
    batch_median_ms: median(batchMs),
    batch_max_ms: Math.max(...batchMs),
    lag: pct(h),
    idle: pct(idle),
    timer1ms_ticks_per_s: ticks / (wall / 1e3),
  };
}

// ------------------------------------------------------------------------------------------------ main

async function main() {
  const spec = {
    warmup: 5, minSteps: 10, maxSteps: 100, minTime: 2, profileSteps: 20, fitSteps: 40, lagResolution: 1, idleMs: 500,
    lag: true, profile: true, device: 'cpu', ...JSON.parse(process.argv[2] ?? '{}'),
  };
  const cuda = spec.device === 'cuda';
  const out = {
    workload: spec.workload, threads: spec.threads, actualThreads: ng.getNumThreads(), device: spec.device,
    backend: cuda ? 'cuda' : ng.getBackend().name, isa: ng.nativeInfo()?.isa ?? null,
  };
  const s = setup(spec.workload, spec.device, spec.batch);
  if (cuda) out.gpu = ng.loadCuda().device;
  out.batch = s.batch;
  out.params = s.vars.reduce((a, v) => a + v.size, 0);
  out.train = time(() => trainStep(s), spec);
  out.infer = time(() => inferStep(s), spec);
  if (spec.profile && !cuda) out.profile = profile(s, spec);
  if (spec.lag) out.fit = await fitLag(s, spec);
  if (cuda) out.cudaFallbacks = ng.cudaFallbacks();  // kernels the CUDA backend ran on the CPU (each also warned on stderr)
  process.stdout.write(`TRAIN ${JSON.stringify(out)}\n`);
}

try {
  await main();
} catch (err) {
  const message = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
  process.stdout.write(`TRAIN ${JSON.stringify({ status: 'error', error: message, stack: err?.stack })}\n`);
  process.exitCode = 1;
}
