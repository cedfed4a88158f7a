#!/usr/bin/env node
/**
 * `npm run bench`: nodegrad's CPU kernels over the named shape table of bench/cases.js (SGEMM 256-2048 and the
 * W3 single layers of ../shared/anchors, forward and backward) at 1 and 2 threads, next to PyTorch and
 * onnxruntime-node measured in the same run, with the ratios. See bench/README.md.
 *
 *   npm run bench -- [--only <regex>] [--threads 1,2] [--no-peers] [--quick] [--time-fallback]
 *                    [--json <file>] [--results <file>] [--no-build] [--build-native] [--anchors <dir>]
 *
 * One child process per case and thread count (bench/case.js, better-sqlite3's pattern), with the thread count
 * set through NODEGRAD_NUM_THREADS, so no GC, JIT or thread-pool state leaks between cases. Each child checks
 * the native result against the reference backend before it times anything, and does not time a case whose
 * kernels are the reference backend's ('reference fallback') or whose check fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CASES } from './cases.js';
import { detectPeers, runPeers, GLIBC_DEFAULT } from './peers.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CASE_JS = path.join(ROOT, 'bench', 'case.js');
const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

// ---------------------------------------------------------------------------------------------- arguments

const USAGE = `usage: npm run bench -- [options]
  --only <regex>      cases whose name matches (e.g. 'sgemm', 'conv3x3|maxpool', '\\.fwd$')
  --threads <list>    thread counts, comma-separated (default 1,2)
  --no-peers          skip PyTorch and onnxruntime-node
  --keep-outputs      do not dispose each call's outputs (default: disposed, so the storage pool reuses them)
  --quick             short timing (benchmark.js maxTime 0.5 s, >= 5 samples; torch SGEMM 0.5 s): a smoke run
  --time-fallback     also time cases that run on the reference backend (marked; no ratios)
  --json <file>       write every result (machine, cases, peers) as JSON
  --results <file>    write RESULT lines (anchors format) for ../shared/anchors/report.py
  --no-build          do not recompile dist/ when src/ is newer
  --build-native      run scripts/build-native.sh first (incremental addon build)
  --anchors <dir>     the anchors folder (default ../shared/anchors, or NODEGRAD_ANCHORS_DIR)
  --case-timeout <s>  per case process (default 900)`;

function parseArgs(argv) {
  const o = { only: null, threads: [1, 2], peers: true, quick: false, timeFallback: false, json: null, results: null,
    build: true, buildNative: false, anchors: undefined, caseTimeout: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--only': o.only = new RegExp(val()); break;
      case '--threads':
        o.threads = val().split(',').map((s) => Number(s.trim()));
        if (o.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new Error('--threads takes positive integers, e.g. 1,2');
        break;
      case '--no-peers': o.peers = false; break;
      case '--quick': o.quick = true; break;
      case '--time-fallback': o.timeFallback = true; break;
      case '--keep-outputs': o.keepOutputs = true; break;
      case '--json': o.json = val(); break;
      case '--results': o.results = val(); break;
      case '--no-build': o.build = false; break;
      case '--build-native': o.buildNative = true; break;
      case '--anchors': o.anchors = val(); break;
      case '--case-timeout': o.caseTimeout = Number(val()); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}

const log = (s) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------- build freshness

function walk(dir, pred, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

/** Recompiles dist/ (npm run build:ts) when a src/ file is newer than its output. */
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
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    // tsc still emits on type errors (a colleague's work in progress): say so and go on with what it wrote.
    log(`# warning: tsc reported errors; benchmarking what it emitted:\n${(r.stdout + r.stderr).split('\n').slice(0, 8).join('\n')}`);
  }
}

/** Warns (or rebuilds, --build-native) when native/ is newer than the addon. */
function checkAddon(buildNative, addonPath) {
  if (buildNative) {
    log('# scripts/build-native.sh (incremental addon build)');
    const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-native.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`scripts/build-native.sh failed:\n${r.stdout}${r.stderr}`);
    return;
  }
  if (!addonPath || !existsSync(addonPath)) return;
  const built = statSync(addonPath).mtimeMs;
  const newer = [...walk(path.join(ROOT, 'native'), () => true), path.join(ROOT, 'binding.gyp')]
    .filter((p) => existsSync(p) && statSync(p).mtimeMs > built);
  if (newer.length) {
    log(`# warning: ${path.relative(ROOT, newer[0])}${newer.length > 1 ? ` and ${newer.length - 1} more` : ''} changed since ` +
      `${path.relative(ROOT, addonPath)} was built: run scripts/build-native.sh (or pass --build-native) to benchmark them`);
  }
}

// ---------------------------------------------------------------------------------------------- children

/** Runs bench/case.js in a fresh node; returns its CASE object (or an error object). */
function child(arg, env, timeoutS) {
  const args = [...process.execArgv, '--expose-gc', CASE_JS, arg];
  let stdout = '', stderr = '', failure = null;
  try {
    stdout = execFileSync(process.execPath, args, {
      cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutS * 1000, maxBuffer: 64 << 20,
    });
  } catch (e) {
    stdout = e.stdout ?? ''; stderr = e.stderr ?? '';
    failure = e.signal ? `killed by ${e.signal}${e.signal === 'SIGTERM' ? ` (over --case-timeout ${timeoutS} s)` : ''}` : `exit ${e.status}`;
  }
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('CASE '));
  if (line) return JSON.parse(line.slice(5));
  const last = stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  return { status: 'error', error: `${failure ?? 'no result'}${last ? `: ${last}` : ''}` };
}

// ---------------------------------------------------------------------------------------------- table

const f2 = (v) => (v == null ? '' : v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toFixed(3));
const f1 = (v) => (v == null ? '' : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function statusText(r) {
  switch (r.status) {
    case 'ok': return 'native';
    case 'fallback': {
      const partial = r.fallback && r.fallback.length < (r.kernels ?? r.fallback).length;
      return `reference fallback${partial || r.inside ? `: ${r.fallback.join(', ')}${r.inside ? ' (inside native)' : ''}` : ''}`;
    }
    case 'fallback-timed': return 'reference fallback (timed)';
    case 'check-failed': return 'CHECK FAILED';
    default: return 'error';
  }
}

function checkText(r) {
  if (!r.check) return '';
  if (r.check.skipped) return 'skipped';
  if (!r.check.ok) return 'FAILED';
  return `ok ${r.check.worstRatio < 0.01 ? '<0.01' : r.check.worstRatio.toFixed(2)}`;
}

function peerCell(p, ours) {
  if (!p) return ['', ''];
  if (p.error) return ['failed', ''];
  const layout = p.variant && p.variant !== 'channels_last' && p.variant !== 'torch.matmul' && p.peer === 'torch' ? ` ${p.variant}` : '';
  const ratio = ours?.status === 'ok' ? `${(p.median_ms / ours.median_ms).toFixed(2)}x` : '';
  return [`${f2(p.median_ms)}${layout}`, ratio];
}

function table(rows, peers, withPeers) {
  const head = ['case', 'shape', 'thr', 'status', 'check', 'median ms', 'min ms', 'n', 'GFLOP/s', 'GB/s'];
  if (withPeers) head.push('torch ms', 'vs torch', 'ort ms', 'vs ort');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const timed = r.status === 'ok' || r.status === 'fallback-timed';
    const gflops = timed && r.flops ? r.flops / r.median_ms / 1e6 : null;
    const gbs = timed && r.bytes ? r.bytes / r.median_ms / 1e6 : null;
    const cells = [r.name, r.shape, r.threads, statusText(r), checkText(r),
      timed ? f2(r.median_ms) : '', timed ? f2(r.min_ms) : '', timed ? r.n : '', f1(gflops), f1(gbs)];
    if (withPeers) {
      const find = (peer) => peers.find((p) => p.w === r.name && p.peer === peer && p.threads === r.threads);
      cells.push(...peerCell(find('torch'), r), ...peerCell(find('onnxruntime-node'), r));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------- main

function main() {
  const o = parseArgs(process.argv.slice(2));
  const cases = CASES.filter((c) => !o.only || o.only.test(c.name));
  if (!cases.length) throw new Error(`--only ${o.only} matches no case (${CASES.map((c) => c.name).join(', ')})`);
  if (o.build) ensureDist(true); else ensureDist(false);

  const info = child('--info', { NODEGRAD_NUM_THREADS: String(Math.max(...o.threads)) }, 120);
  if (info.status === 'error') throw new Error(`cannot load nodegrad from dist/: ${info.error}`);
  checkAddon(o.buildNative, info.addonPath);

  const started = new Date();
  const header = [
    `# nodegrad ${PKG.version} bench, ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC${o.quick ? ' (--quick)' : ''}`,
    `machine: ${info.cpu}, ${info.cores} cores, Node ${info.node}, ${info.platform}, load average ${info.loadavg.map((l) => l.toFixed(2)).join(' ')}`,
    info.backend === 'native'
      ? `nodegrad: native backend, ISA ${info.isa}${info.isaForced ? ' (forced by NODEGRAD_ISA)' : ''} (available: ${info.isaAvailable.join(', ')}), addon ${path.relative(ROOT, info.addonPath ?? '')}`
      : `nodegrad: ${info.backend} backend${info.addonError ? ` (native addon not loaded: ${info.addonError})` : ''}`,
    `native kernels: ${Object.entries(info.kernels).map(([k, v]) => `${k}=${v}`).join(', ') || 'none'}`,
    `timing: benchmark.js ${o.quick ? 'maxTime 0.5 s, >= 5 samples' : 'maxTime 5 s, >= 10 samples'}, one process per case, outputs ${o.keepOutputs ? 'kept (fresh allocation per call)' : 'disposed after each call (pooled storage)'}; ` +
      `GLIBC_TUNABLES ${process.env.GLIBC_TUNABLES === undefined ? 'unset' : `'${process.env.GLIBC_TUNABLES}'`} for nodegrad`,
  ];
  if (info.loadavg[0] > 0.5 * info.cores) {
    header.push(`warning: the machine is busy (load average ${info.loadavg[0].toFixed(2)} on ${info.cores} cores): timings are noisy`);
  }
  for (const t of o.threads) {
    if (t > info.cores) header.push(`warning: ${t} threads on ${info.cores} cores: oversubscribed`);
  }

  let found = null;
  if (o.peers) {
    found = detectPeers({ anchorsDir: o.anchors });
    const glibc = process.env.GLIBC_TUNABLES ?? GLIBC_DEFAULT;
    header.push(found.torch.ok || found.torch.sgemmOnly
      ? `peer: torch ${found.torch.version} (Debian python3-torch; W3 channels_last, bn_train NCHW; SGEMM torch.matmul; OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = thr; GLIBC_TUNABLES '${glibc}')${found.torch.sgemmOnly ? `; ${found.torch.why}` : ''}`
      : found.torch.why);
    header.push(found.ort.ok
      ? `peer: onnxruntime-node ${found.ort.version} (${found.paths.peersDir}; NCHW models exported from torch; inference only: conv/dw/maxpool fwd)`
      : found.ort.why);
  } else {
    header.push('peers: skipped (--no-peers)');
  }
  log(`${header[0]}: ${cases.length} case(s) x ${o.threads.length} thread count(s)${found ? '' : ', no peers'}`);

  const rows = [], peerResults = [], notes = [];
  for (const t of o.threads) {
    for (const c of cases) {
      const spec = { name: c.name, threads: t, timeFallback: o.timeFallback, keepOutputs: o.keepOutputs,
        ...(o.quick ? { maxTime: 0.5, minSamples: 5 } : { maxTime: 5, minSamples: 10 }) };
      const r = { name: c.name, shape: c.shape, threads: t, kernels: c.kernels, flops: c.flops ?? null, bytes: c.bytes ?? null,
        ...child(JSON.stringify(spec), { NODEGRAD_NUM_THREADS: String(t) }, o.caseTimeout) };
      r.threads = t;
      rows.push(r);
      const timed = r.status === 'ok' || r.status === 'fallback-timed';
      log(`  ${c.name.padEnd(18)} thr ${t}  ${statusText(r)}${timed ? `  ${f2(r.median_ms)} ms (n ${r.n})` : ''}`);
      if (r.actualThreads != null && r.actualThreads !== t) notes.push(`${c.name} thr ${t}: the process ran ${r.actualThreads} thread(s)`);
      if (r.status === 'check-failed') notes.push(`${c.name} thr ${t}: CHECK FAILED on ${r.check.shape}: ${r.check.message}`);
      if (r.status === 'error') notes.push(`${c.name} thr ${t}: error: ${r.error}`);
    }
    if (found) {
      const p = runPeers({ threads: t, names: cases.map((c) => c.name), found, quick: o.quick, log });
      peerResults.push(...p.results);
      notes.push(...p.notes.map((n) => `thr ${t}: ${n}`));
      for (const e of p.results.filter((x) => x.error)) notes.push(`${e.w} ${e.peer} thr ${t}: ${e.error}`);
    }
  }

  // Rows in table order: by case, then thread count.
  rows.sort((a, b) => CASES.findIndex((c) => c.name === a.name) - CASES.findIndex((c) => c.name === b.name) || a.threads - b.threads);
  const out = [header.join('\n'), '', table(rows, peerResults, !!found), ''];
  out.push(
    'median/min ms: per call, wall clock around the public-API call (validation + output allocation + kernel); n = benchmark.js samples.',
    'GFLOP/s: 2 x multiply-adds / median (conv bwd = dX + dW = 2 x fwd); GB/s (pool, batch norm): compulsory bytes ' +
      '(inputs read once, outputs written once) / median.',
    'check: worst |native - reference| / bound on the check inputs (bound from the reduction length; README.md); a failing case is not timed.',
  );
  if (found) {
    out.push('vs torch, vs ort: nodegrad speed / peer speed = peer median / nodegrad median, same run (> 1: nodegrad faster). ' +
      'torch: channels_last unless marked; ort: NCHW, forward only.');
  }
  if (rows.some((r) => r.status === 'fallback')) {
    out.push("reference fallback: the Backend entry is the reference backend's (no native kernel yet), or the native entry " +
      'handed this shape to it: not timed' +
      (o.timeFallback ? '' : ' (--time-fallback times it anyway)') + '.');
  }
  if (notes.length) out.push('', 'notes:', ...notes.map((n) => `- ${n}`));
  console.log(out.join('\n'));

  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ machine: info, options: { ...o, only: o.only?.source ?? null }, started, cases: rows, peers: peerResults, notes }, null, 2));
    log(`# wrote ${o.json}`);
  }
  if (o.results) {
    const ours = rows.filter((r) => r.status === 'ok').map((r) => ({ w: r.name, peer: 'nodegrad', version: PKG.version, variant: 'NHWC',
      threads: r.threads, median_ms: r.median_ms, min_ms: r.min_ms, max_ms: r.max_ms, iters: r.n }));
    writeFileSync(o.results, [...ours, ...peerResults].map((r) => `RESULT ${JSON.stringify(r)}`).join('\n') + '\n');
    log(`# wrote ${o.results} (python3 ../shared/anchors/report.py ${o.results})`);
  }
  if (rows.some((r) => r.status === 'check-failed' || r.status === 'error')) process.exitCode = 1;
}

try {
  main();
} catch (err) {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
}
