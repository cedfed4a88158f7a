/**
 * Peers of `npm run bench`, measured in the same run as nodegrad: PyTorch (Debian's python3-torch, channels_last)
 * and onnxruntime-node, through the scripts of ../shared/anchors (README.md there: setup, workloads, protocol).
 *
 * - torch W3:    /usr/bin/python3 <anchors>/peers_torch.py --threads T --only W3 --layouts cl
 *                (its bn_train is NCHW: the script measures batch norm in that layout only)
 * - torch BN CL: /usr/bin/python3 bench/peers/torch_bn_cl.py --threads T: the same bn_train on channels_last,
 *                nodegrad's NHWC layout. Its results come before the anchors' NCHW ones, so the table's torch
 *                column and ratio for the bn rows are channels_last; the NCHW figures stay in the results
 *                (--json, --results) and in a note under the table.
 * - torch SGEMM: /usr/bin/python3 bench/peers/torch_sgemm.py --threads T --sizes ...
 * - onnxruntime: node <anchors>/peers_ort.mjs --threads T --dir <W3 models>; inference only, so the
 *                conv3x3 / conv1x1 / dw3x3 / maxpool forward rows (NCHW, as exported from torch)
 *
 * torch runs with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = T and GLIBC_TUNABLES as anchors/run_all.sh sets it
 * (unset: the anchors' value; set, even empty: kept). Every script prints `RESULT {json}` lines; they come back
 * here as objects keyed by workload (`w`, the same names as bench/cases.js). A missing peer is skipped with a
 * line saying how to install it; nothing here throws for a missing peer.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const PYTHON = '/usr/bin/python3'; // Debian's interpreter: a pyenv python3 earlier on PATH lacks python3-torch
export const GLIBC_DEFAULT = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295';
const ORT_LAYERS = ['conv3x3', 'conv1x1', 'dw3x3', 'maxpool']; // W3 layers with an ONNX model (fwd only)

const INSTALL_TORCH = 'apt-get install -y python3-torch python3-numpy libopenblas-dev (see ../shared/anchors/README.md)';
const INSTALL_ORT = 'mkdir -p $HOME/.cache/nodegrad-peers && cd $HOME/.cache/nodegrad-peers && npm init -y && ' +
  'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';

/** Where the anchors and the peers' npm packages live: --anchors / NODEGRAD_ANCHORS_DIR, PEERS_DIR. */
export function peerPaths(anchorsDir) {
  return {
    anchors: path.resolve(anchorsDir ?? process.env.NODEGRAD_ANCHORS_DIR ?? path.join(ROOT, '..', 'shared', 'anchors')),
    peersDir: path.resolve(process.env.PEERS_DIR ?? path.join(os.homedir(), '.cache', 'nodegrad-peers')),
  };
}

function run(cmd, args, env, timeoutS) {
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20, timeout: timeoutS * 1000, cwd: ROOT,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** The `RESULT {json}` lines of a peer script's stdout. */
export function parseResults(stdout) {
  const out = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('RESULT ')) continue;
    try { out.push(JSON.parse(line.slice(7))); } catch { /* a torn line: ignore */ }
  }
  return out;
}

function lastLine(s) {
  const lines = s.split('\n').map((l) => l.trim()).filter((l) => l && !/warning/i.test(l));
  return lines[lines.length - 1] ?? '';
}

/** Which peers can run here, with versions, or why not (and how to install them). */
export function detectPeers({ anchorsDir } = {}) {
  const p = peerPaths(anchorsDir);
  const found = { paths: p };
  const anchorsOk = existsSync(path.join(p.anchors, 'peers_torch.py'));
  const t = existsSync(PYTHON) ? run(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {}, 120) : null;
  if (!t) found.torch = { ok: false, why: `PyTorch not installed: skipped (no ${PYTHON}); install with ${INSTALL_TORCH}` };
  else if (t.status !== 0) found.torch = { ok: false, why: `PyTorch not installed: skipped; install with ${INSTALL_TORCH}` };
  else found.torch = { ok: true, version: t.stdout.trim() };
  if (found.torch.ok && !anchorsOk) found.torch = { ok: false, why: `PyTorch: ${p.anchors}/peers_torch.py not found: W3 skipped (SGEMM and batch norm channels_last still run)`, sgemmOnly: true, version: found.torch.version };

  const ortPkg = path.join(p.peersDir, 'node_modules', 'onnxruntime-node', 'package.json');
  if (!existsSync(ortPkg)) {
    found.ort = { ok: false, why: `onnxruntime-node not installed in ${p.peersDir}: skipped; install with ${INSTALL_ORT}` };
  } else if (!existsSync(path.join(p.anchors, 'peers_ort.mjs'))) {
    found.ort = { ok: false, why: `onnxruntime-node: ${p.anchors}/peers_ort.mjs not found: skipped` };
  } else {
    const r = run(process.execPath, ['-p', `require(${JSON.stringify(ortPkg)}).version`], {}, 60);
    found.ort = { ok: true, version: r.stdout.trim() };
  }
  return found;
}

/** ONNX models of the W3 layers (exported once by peers_torch.py --export-onnx into $PEERS_DIR/onnx). */
function ensureOnnx(found, layers, log) {
  const dir = path.join(found.paths.peersDir, 'onnx');
  const missing = layers.filter((l) => !existsSync(path.join(dir, `W3.${l}.onnx`)));
  if (missing.length) {
    if (!found.torch.ok || found.torch.sgemmOnly) {
      return { error: `onnxruntime-node: no ONNX models in ${dir} and no PyTorch to export them: skipped` };
    }
    log(`# exporting the ONNX models to ${dir} (peers_torch.py --export-onnx)`);
    const r = run(PYTHON, [path.join(found.paths.anchors, 'peers_torch.py'), '--export-onnx', dir], {}, 600);
    if (r.status !== 0) return { error: `onnxruntime-node: ONNX export failed: ${lastLine(r.stderr)}` };
  }
  // Only the selected W3 models (peers_ort.mjs runs every .onnx in its folder, W1/W2 included).
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'nodegrad-bench-onnx-'));
  for (const l of layers) symlinkSync(path.join(dir, `W3.${l}.onnx`), path.join(tmp, `W3.${l}.onnx`));
  return { dir: tmp };
}

/**
 * Runs the peers at one thread count for the selected case names; returns { results, notes }.
 * results: the peers' RESULT objects (w, peer, version, variant, threads, median_ms, min_ms, max_ms, iters | error).
 */
export function runPeers({ threads, names, found, quick = false, log = () => {} }) {
  const results = [], notes = [];
  const w3 = names.filter((n) => n.startsWith('W3.'));
  const sizes = names.filter((n) => n.startsWith('sgemm.')).map((n) => n.slice(6));
  const torchEnv = {
    OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads),
    GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? GLIBC_DEFAULT,
  };

  if (found.torch.ok || found.torch.sgemmOnly) {
    if (sizes.length) {
      const args = [path.join(ROOT, 'bench', 'peers', 'torch_sgemm.py'), '--threads', String(threads), '--sizes', sizes.join(',')];
      if (quick) args.push('--min-time', '0.5');
      log(`# torch SGEMM, ${threads} thread(s)`);
      const r = run(PYTHON, args, torchEnv, 900);
      results.push(...parseResults(r.stdout));
      if (r.status !== 0) notes.push(`torch SGEMM failed (exit ${r.status ?? r.error?.message}): ${lastLine(r.stderr)}`);
    }
    // Batch norm on channels_last first: run.js shows the first torch result of a row, and this is the layout
    // nodegrad's NHWC kernels compare with. It needs no anchors, so it runs when only SGEMM does too.
    const bn = w3.filter((n) => n.startsWith('W3.bn_train.'));
    if (bn.length) {
      const args = [path.join(ROOT, 'bench', 'peers', 'torch_bn_cl.py'), '--threads', String(threads)];
      if (quick) args.push('--min-time', '0.5');
      log(`# torch batch norm channels_last (bench/peers/torch_bn_cl.py), ${threads} thread(s)`);
      const r = run(PYTHON, args, torchEnv, 600);
      results.push(...parseResults(r.stdout).filter((x) => bn.includes(x.w)));
      if (r.status !== 0) notes.push(`torch batch norm channels_last failed (exit ${r.status ?? r.error?.message}): ${lastLine(r.stderr)}`);
      if (/channels_last=False/.test(r.stdout)) notes.push('torch batch norm channels_last: torch returned NCHW output, so its time is not a channels_last figure');
    }
    if (w3.length && found.torch.ok) {
      log(`# torch W3 (peers_torch.py --only W3 --layouts cl), ${threads} thread(s)`);
      const args = [path.join(found.paths.anchors, 'peers_torch.py'), '--threads', String(threads), '--only', 'W3', '--layouts', 'cl'];
      const r = run(PYTHON, args, torchEnv, 1200);
      const w3Results = parseResults(r.stdout).filter((x) => w3.includes(x.w));
      results.push(...w3Results);
      if (r.status !== 0) notes.push(`torch W3 failed (exit ${r.status ?? r.error?.message}): ${lastLine(r.stderr)}`);
      // The anchors' NCHW batch norm, beside the channels_last figure the table shows.
      const ms = (p) => (p.median_ms >= 10 ? p.median_ms.toFixed(2) : p.median_ms.toFixed(3));
      const pairs = bn.map((w) => [w, results.find((x) => x.w === w && x.variant === 'channels_last' && !x.error),
        w3Results.find((x) => x.w === w && x.variant === 'NCHW' && !x.error)]).filter(([, , n]) => n);
      if (pairs.length) {
        notes.push(`torch batch norm, anchors' NCHW median (the table shows channels_last where it ran): ` +
          pairs.map(([w, c, n]) => `${w} ${ms(n)} ms${c ? ` (channels_last ${ms(c)} ms)` : ' (no channels_last figure: the table shows NCHW)'}`).join(', '));
      }
    }
  }

  const ortLayers = ORT_LAYERS.filter((l) => w3.includes(`W3.${l}.fwd`));
  if (found.ort.ok && ortLayers.length) {
    const m = ensureOnnx(found, ortLayers, log);
    if (m.error) {
      notes.push(m.error);
    } else {
      log(`# onnxruntime-node W3 (${ortLayers.join(', ')}), ${threads} thread(s)`);
      const r = run(process.execPath, [path.join(found.paths.anchors, 'peers_ort.mjs'), '--threads', String(threads), '--dir', m.dir],
        { PEERS_DIR: found.paths.peersDir }, 900);
      results.push(...parseResults(r.stdout));
      if (r.status !== 0) notes.push(`onnxruntime-node failed (exit ${r.status ?? r.error?.message}): ${lastLine(r.stderr)}`);
      rmSync(m.dir, { recursive: true, force: true });
    }
  }
  return { results, notes };
}
