/**
 * One benchmark case in its own process (started by bench/run.js, one process per case and thread count, so
 * GC, JIT and thread-pool state never leak from one case into the next):
 *
 *   node --expose-gc bench/case.js '{"name":"W3.conv3x3.fwd","threads":1,"maxTime":5,"minSamples":10}'
 *   node bench/case.js --info            # machine / addon report only
 *
 * The thread count comes from NODEGRAD_NUM_THREADS, which the parent sets. Steps:
 *  1. fallback: every Backend entry the case runs must be the native one (`getBackend()[k] !== referenceBackend[k]`),
 *     and one probe call on the full shape must not reach `referenceBackend[k]` from inside the native entry;
 *     otherwise the case reports `reference fallback` and is not timed.
 *  2. check: native against the reference backend on the case's check inputs, per element within the bound
 *     the case derives from its reduction length; a failing kernel is reported and not timed.
 *  3. time: benchmark.js on the full-size inputs (sync call; warm-up first); median, min, n from its samples.
 * Prints one line `CASE {json}` on stdout (and nothing else there).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const require = createRequire(import.meta.url);

function emit(obj) {
  process.stdout.write(`CASE ${JSON.stringify(obj)}\n`);
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch { /* not Linux */ }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

async function loadNodegrad() {
  return import(pathToFileURL(`${ROOT}dist/index.js`).href);
}

/** Machine and addon report (the parent prints it above the table). */
async function info() {
  const ng = await loadNodegrad();
  const be = ng.getBackend();
  const ni = ng.nativeInfo();
  let load;
  try {
    const { loadNativeBackend } = await import(pathToFileURL(`${ROOT}dist/backends/native/index.js`).href);
    load = loadNativeBackend();
  } catch { /* layout changed: the backend name says enough */ }
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: be.name,
    addonError: load?.error ?? null,
    addonPath: load?.addonPath ?? null,
    isa: ni?.isa ?? null,
    isaForced: ni?.forced ?? false,
    isaAvailable: ni?.available ?? [],
    kernels: ni?.kernels ?? {},
    threads: ng.getNumThreads(),
    loadavg: os.loadavg(),
  };
}

/** Worst |a - r| / tol over the outputs; the first failing element named. */
function compare(name, nat, ref, bounds) {
  let worstRatio = 0;
  for (let o = 0; o < ref.length; o++) {
    const a = nat[o].data, r = ref[o].data, t = bounds[o];
    if (a.length !== r.length) return { ok: false, message: `output ${o}: length ${a.length}, reference ${r.length}` };
    for (let i = 0; i < r.length; i++) {
      const err = Math.abs(a[i] - r[i]);
      const ok = a[i] === r[i] || err <= t[i] || (Number.isNaN(a[i]) && Number.isNaN(r[i]));
      if (!ok) {
        return {
          ok: false,
          message: `output ${o} [${nat[o].shape}] element ${i}: native ${a[i]}, reference ${r[i]}, |error| ${err.toExponential(2)} > bound ${t[i].toExponential(2)}`,
        };
      }
      if (t[i] > 0 && err / t[i] > worstRatio) worstRatio = err / t[i];
    }
  }
  return { ok: true, worstRatio };
}

function shapesOf(outs) {
  return outs.map((t) => t.shape);
}

async function runCase(spec) {
  const { findCase } = await import('./cases.js');
  const c = findCase(spec.name);
  const ng = await loadNodegrad();
  const be = ng.getBackend();
  const result = {
    name: c.name, shape: c.shape, threads: spec.threads, actualThreads: ng.getNumThreads(), backend: be.name,
    flops: c.flops ?? null, bytes: c.bytes ?? null,
  };
  const gc = globalThis.gc ?? (() => {});

  // 1. fallback: by identity first, then by a probe call on the full shape.
  const fellBack = c.kernels.filter((k) => be[k] === ng.referenceBackend[k]);
  if (be.name !== 'native' || fellBack.length) {
    result.fallback = be.name !== 'native' ? c.kernels : fellBack;
    result.backendNotNative = be.name !== 'native';
    // --time-fallback: time it anyway (the table marks the row); otherwise stop here.
    if (!spec.timeFallback) return { ...result, status: 'fallback' };
  }
  const full = c.inputs(ng, 'full');
  const reached = new Set();
  const saved = {};
  for (const k of c.kernels) {
    saved[k] = ng.referenceBackend[k];
    ng.referenceBackend[k] = function probe(...args) { reached.add(k); return saved[k].apply(this, args); };
  }
  const tp = performance.now();
  try {
    c.run(ng, full);
  } finally {
    Object.assign(ng.referenceBackend, saved);
  }
  const probeMs = performance.now() - tp;
  if (reached.size) {
    result.fallback = [...new Set([...(result.fallback ?? []), ...reached])];
    result.inside = true;
    if (!spec.timeFallback) return { ...result, status: 'fallback' };
  }

  // 2. check against the reference backend.
  if (!spec.noCheck) {
    const small = c.inputs(ng, 'check');
    const t0 = performance.now();
    const nat = c.run(ng, small);
    const ref = ng.withBackend(ng.referenceBackend, () => c.run(ng, small));
    const bounds = c.bounds(ng, small, ref);
    const cmp = compare(c.name, nat, ref, bounds);
    result.check = { shape: c.checkShape ?? 'same shape', outputs: shapesOf(ref), ms: Math.round(performance.now() - t0), ...cmp };
    if (!cmp.ok) return { ...result, status: 'check-failed' };
  } else {
    result.check = { skipped: true };
  }
  gc();

  // 3. time with benchmark.js.
  const Benchmark = require('benchmark');
  // 3 warm-up calls (the probe call above was a first one); 1 when a call takes over a second.
  const warm = probeMs > 1000 ? 1 : (spec.warmup ?? 3);
  const tw = performance.now();
  // By default each call's outputs are disposed, as fit() does with a step's tensors, so the storage pool
  // recycles them; --keep-outputs leaves them to the garbage collector (a fresh allocation per call).
  const call = spec.keepOutputs ? () => c.run(ng, full) : () => { for (const t of c.run(ng, full)) t.dispose(); };
  for (let i = 0; i < warm; i++) call();
  const warmMs = (performance.now() - tw) / warm;
  gc();
  const bench = new Benchmark(c.name, call, {
    maxTime: spec.maxTime ?? 5,
    minSamples: spec.minSamples ?? 10,
    initCount: 1,
    delay: 0,
  });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  const samples = bench.stats.sample.map((s) => s * 1e3).sort((a, b) => a - b);
  const n = samples.length;
  const median = n % 2 ? samples[(n - 1) / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  return {
    ...result,
    status: result.fallback ? 'fallback-timed' : 'ok',
    median_ms: median,
    min_ms: samples[0],
    max_ms: samples[n - 1],
    n,
    callsPerSample: bench.count,
    rme: bench.stats.rme,
    warmup_ms: warmMs,
  };
}

const arg = process.argv[2];
try {
  if (arg === '--info') {
    emit(await info());
  } else {
    const spec = JSON.parse(arg);
    emit(await runCase(spec));
  }
} catch (err) {
  const message = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
  emit({ status: 'error', error: message, stack: err instanceof Error ? err.stack : undefined });
  process.exitCode = 1;
}
