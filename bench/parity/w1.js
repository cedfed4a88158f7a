#!/usr/bin/env node
/**
 * W1 parity run: the anchors' MNIST convnet trained in nodegrad and in PyTorch from the same initial weights on the
 * same batches in the same order; per-step losses and final weights compared. See bench/parity/README.md.
 *
 *   node bench/parity/w1.js [--steps 50] [--batch 64] [--lr 1e-3] [--seed 0] [--json out.json] [--keep]
 *
 * 1. nodegrad (dist/): manualSeed(seed), the W1 model (bench/train/models.js, Keras default initialisers), a
 *    synthetic, learnable data set of steps x batch samples (10 random 28x28 prototypes + uniform noise, labels
 *    seeded; no MNIST files on this machine), written with nodegrad's own writers: saveWeights -> init.safetensors,
 *    io.writeSafetensorsSync -> data.safetensors.
 * 2. nodegrad trains `steps` Adam steps (lr 1e-3, Keras epsilon 1e-7), batch s = samples [s*batch, (s+1)*batch),
 *    each step exactly as fit()'s trainStep, recording every loss; as a cross-check model.fit(shuffle: false) from
 *    the same initial weights must end with bit-identical weights.
 * 3. bench/parity/w1_torch.py trains the same in PyTorch (variants: nodegrad's Adam formula in float32 and float64,
 *    torch.optim.Adam eps 1e-7 and default) and writes its final weights back in nodegrad's layout.
 * 4. Prints per-step loss differences, final weight differences, and the verdict against the tolerance (derived in
 *    the README: nodegrad must stay as close to the float64 trajectory as PyTorch's own float32 run does, times a
 *    factor, plus an absolute floor).
 * Exit status: 0 agreement (or torch missing: skipped, with the reason), 1 disagreement, 2 setup error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mnistConvnet } from '../train/models.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
/** Debian's interpreter (python3-torch); NODEGRAD_PARITY_PYTHON overrides it (e.g. to test the skip path). */
export const PYTHON = process.env.NODEGRAD_PARITY_PYTHON ?? '/usr/bin/python3';

/** The tolerance (bench/parity/README.md, "Tolerance"). */
export const TOLERANCE = {
  /** Teacher-forced loss, every step: |L_nodegrad - L_torch64(w_s)| / L (float32 forward rounding only). */
  teacherLoss: 1e-5,
  /** Teacher-forced gradients: the median over steps of max over variables of max|dg| / max|g|. */
  teacherGradMedian: 1e-5,
  /** ... and the worst step (a ReLU whose pre-activation is within rounding of 0 flips: a discrete ~1e-2 jump). */
  teacherGradMax: 0.1,
  /** A step whose gradient error exceeds this counts as a jump (reported, for nodegrad and torch float32). */
  gradJump: 1e-4,
  /** Free-running, every step: |L_nodegrad - L_torch64| / L (training curves track; see the README). */
  freeLoss: 2e-2,
};

/** PyTorch float32 runs of nodegrad's exact update (README "Tolerance"): their spread around float64 is the yardstick. */
export const F32_RUNS = ['keras_f32', 'keras_f32_ulp1', 'keras_f32_ulp2'];

/** Whether /usr/bin/python3 has torch (null) or why not (a string). */
export function torchMissing() {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return `${PYTHON} cannot import torch and numpy (apt-get install -y python3-torch python3-numpy)`;
  return null;
}

/** The synthetic data set: 10 seeded prototypes, x = 0.5 prototype[y] + 0.5 uniform noise, NHWC [n,28,28,1]. */
function syntheticData(ng, n, seed) {
  const protos = ng.rand([10, 784], { seed: seed + 100 }).data;
  const y = ng.randInt([n], 0, 10, { seed: seed + 101 });
  const noise = ng.rand([n, 784], { seed: seed + 102 }).data;
  const x = new Float32Array(n * 784);
  const yd = y.data;
  for (let i = 0; i < n; i++) {
    const p = yd[i] * 784;
    for (let j = 0; j < 784; j++) x[i * 784 + j] = 0.5 * protos[p + j] + 0.5 * noise[i * 784 + j];
  }
  return { x: new ng.Tensor(x, [n, 28, 28, 1]), y };
}

/** Trains; with `traj` (a Map) also records the weights before each step and the step's gradients (untimed). */
function trainNodegrad(ng, model, x, y, { steps, batch, lr }, traj = null) {
  const optimizer = new ng.optimizers.Adam({ learningRate: lr });
  const loss = new ng.losses.SparseCategoricalCrossentropy({ fromLogits: true });
  const vars = model.trainableVariables;
  const copy = (t) => new ng.Tensor(Float32Array.from(t.data), t.shape);
  const losses = [];
  let recMs = 0;
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const xb = x.slice([s * batch, 0, 0, 0], [batch, 28, 28, 1]);
    const yb = y.slice([s * batch], [batch]);
    // fit()'s trainStep (src/train/fit.ts): forward, loss, zero grads, backward, step, zero grads; in a scope.
    losses.push(ng.scope(() => ng.enableGrad(() => {
      const l = loss.call(yb, model.apply(xb, { training: true }));
      const value = l.data[0];
      for (const v of vars) v.zeroGrad();
      l.backward();
      if (traj) {
        const tr = performance.now();
        for (const v of vars) {
          traj.set(`w${s}/${v.name}`, ng.keep(copy(v.value)));
          traj.set(`g${s}/${v.name}`, ng.keep(copy(v.grad)));
        }
        recMs += performance.now() - tr;
      }
      optimizer.step(vars);
      optimizer.zeroGrad(vars);
      return value;
    })));
    xb.dispose();
    yb.dispose();
  }
  return { losses, ms: performance.now() - t0 - recMs };
}

const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** max |a-b| / max |b| and ||a-b|| / ||b|| per variable, and their maximum. */
function weightDiff(names, get, a, b) {
  const per = {};
  let worst = 0, worstNorm = 0;
  for (const n of names) {
    const x = get(a, n), r = get(b, n);
    let d = 0, dn = 0, rn = 0;
    for (let i = 0; i < r.length; i++) {
      const e = Math.abs(x[i] - r[i]);
      if (e > d) d = e;
      dn += e * e;
      rn += r[i] * r[i];
    }
    const rel = d / (maxAbs(r) || 1);
    const relNorm = Math.sqrt(dn) / (Math.sqrt(rn) || 1);
    per[n] = { maxAbs: d, rel, relNorm };
    worst = Math.max(worst, rel);
    worstNorm = Math.max(worstNorm, relNorm);
  }
  return { worst, worstNorm, per };
}

function lossDiff(a, b) {
  const rel = a.map((v, i) => Math.abs(v - b[i]) / Math.abs(b[i]));
  let at = 0;
  rel.forEach((v, i) => { if (v > rel[at]) at = i; });
  return { max: rel[at], at, step0: rel[0], last: rel[rel.length - 1], rel };
}

/**
 * The whole run with the nodegrad module `ng` (dist/ from the CLI, src/ from the test). Returns the report object;
 * `report.skipped` says why when torch is missing.
 */
export async function runParity(ng, opts = {}) {
  const o = { steps: 50, batch: 64, lr: 1e-3, seed: 0, keep: false, ...opts };
  const missing = torchMissing();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nodegrad-parity-w1-'));
  try {
    ng.manualSeed(o.seed);
    const model = mnistConvnet(ng);
    const names = model.variables.map((v) => v.name);
    const { x, y } = syntheticData(ng, o.steps * o.batch, o.seed);
    await ng.saveWeights(model, path.join(dir, 'init.safetensors'));
    ng.io.writeSafetensorsSync(path.join(dir, 'data.safetensors'), { x, y });
    writeFileSync(path.join(dir, 'names.json'), JSON.stringify(names));

    const traj = missing ? null : new Map();
    const ours = trainNodegrad(ng, model, x, y, o, traj);
    if (traj) ng.io.writeSafetensorsSync(path.join(dir, 'traj.safetensors'), traj);

    // fit() cross-check: same initial weights, same batches (shuffle off), one epoch.
    // (Layer names are unique per session, so the twin's differ: its variables are filled by position.)
    const twin = mnistConvnet(ng);
    const init = ng.io.readSafetensorsSync(path.join(dir, 'init.safetensors'));
    twin.variables.forEach((v, i) => v.assign(init.getFloat32(names[i])));
    twin.compile({ optimizer: new ng.optimizers.Adam({ learningRate: o.lr }), loss: new ng.losses.SparseCategoricalCrossentropy({ fromLogits: true }) });
    await twin.fit(x, y, { batchSize: o.batch, epochs: 1, shuffle: false, verbose: 0 });
    let fitMismatch = 0;
    for (let i = 0; i < names.length; i++) {
      const a = model.variables[i].value.data, b = twin.variables[i].value.data;
      for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) fitMismatch++;
    }

    const report = {
      steps: o.steps, batch: o.batch, lr: o.lr, seed: o.seed, threads: ng.getNumThreads(), backend: ng.getBackend().name,
      nodegrad: { losses: ours.losses, ms: ours.ms }, fitBitIdentical: fitMismatch === 0, fitMismatchedElements: fitMismatch,
      tolerance: TOLERANCE,
    };
    if (missing) return { ...report, skipped: `PyTorch not available: ${missing}` };

    const t0 = performance.now();
    const r = spawnSync(PYTHON, [path.join(HERE, 'w1_torch.py'), '--dir', dir, '--steps', String(o.steps), '--batch', String(o.batch), '--lr', String(o.lr)], {
      encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000,
      env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    if (r.status !== 0) throw new Error(`w1_torch.py failed (exit ${r.status ?? r.error?.message}):\n${r.stderr}`);
    const py = JSON.parse(r.stdout.trim().split('\n').pop());
    report.torch = { version: py.torch, ms: performance.now() - t0, variants: py.variants };
    const out = ng.io.readSafetensorsSync(path.join(dir, 'out.safetensors'));
    const get = (src, n) => (src === 'nodegrad' ? model.variables[names.indexOf(n)].value.data : out.getArray(`${src}/${n}`));

    const L = (v) => (v === 'nodegrad' ? ours.losses : py.variants[v].losses);
    const pairs = [
      ['nodegrad', 'keras_f32'], ['nodegrad', 'keras_f64'],
      ...F32_RUNS.map((v) => [v, 'keras_f64']),
      ['nodegrad', 'torch_eps1e-7'], ['keras_f32', 'torch_eps1e-7'], ['nodegrad', 'torch_default'], ['keras_f32', 'torch_default'],
    ];
    report.compare = pairs.map(([a, b]) => ({ a, b, loss: lossDiff(L(a), L(b)), weights: weightDiff(names, get, a, b) }));

    // Verdict (bench/parity/README.md, "Tolerance").
    const find = (a, b) => report.compare.find((c) => c.a === a && c.b === b);
    const free = find('nodegrad', 'keras_f64');
    // The float32 envelope: how far PyTorch's own float32 runs (keras_f32, and from 1-ulp-perturbed weights) end
    // up from the float64 trajectory: context for the free-running numbers, not a bound.
    const env = F32_RUNS.map((v) => find(v, 'keras_f64'));
    report.envelope = { loss: Math.max(...env.map((c) => c.loss.max)), weights: Math.max(...env.map((c) => c.weights.worst)), runs: F32_RUNS };
    const epsConv = find('keras_f32', 'torch_eps1e-7');
    report.epsilonConvention = { loss: epsConv.loss.max, weights: epsConv.weights.worst };
    // Teacher forcing: one step at a time along nodegrad's trajectory.
    const tf = py.teacher;
    const tfLoss = ours.losses.map((l, s) => Math.abs(l - tf.loss64[s]) / tf.loss64[s]);
    const tfLoss32 = tf.loss32.map((l, s) => Math.abs(l - tf.loss64[s]) / tf.loss64[s]);
    const worstPerStep = (rows) => rows.map((r) => Math.max(...r));
    const gNg = worstPerStep(tf.gerr_nodegrad), g32 = worstPerStep(tf.gerr_torch32);
    const med = (a) => { const q = [...a].sort((u, v) => u - v); const n = q.length; return n % 2 ? q[(n - 1) / 2] : (q[n / 2 - 1] + q[n / 2]) / 2; };
    const jumps = (a) => a.filter((v) => v > TOLERANCE.gradJump).length;
    report.teacher = {
      lossMax: Math.max(...tfLoss), lossMaxTorch32: Math.max(...tfLoss32), lossRel: tfLoss,
      gradMedian: med(gNg), gradMedianTorch32: med(g32), gradMax: Math.max(...gNg), gradMaxTorch32: Math.max(...g32),
      gradJumpSteps: jumps(gNg), gradJumpStepsTorch32: jumps(g32), gradWorstPerStep: gNg, gradWorstPerStepTorch32: g32,
    };
    const T = report.teacher;
    report.verdict = {
      teacherLoss: { value: T.lossMax, bound: TOLERANCE.teacherLoss, ok: T.lossMax <= TOLERANCE.teacherLoss },
      teacherGradMedian: { value: T.gradMedian, bound: TOLERANCE.teacherGradMedian, ok: T.gradMedian <= TOLERANCE.teacherGradMedian },
      teacherGradMax: { value: T.gradMax, bound: TOLERANCE.teacherGradMax, ok: T.gradMax <= TOLERANCE.teacherGradMax },
      freeLoss: { value: free.loss.max, bound: TOLERANCE.freeLoss, ok: free.loss.max <= TOLERANCE.freeLoss },
      fit: { ok: report.fitBitIdentical },
    };
    report.ok = Object.values(report.verdict).every((v) => v.ok);
    return report;
  } finally {
    if (o.keep) process.stderr.write(`# kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const e = (v) => (v === 0 ? '0' : v.toExponential(2));

export function formatReport(r) {
  const lines = [];
  lines.push(`# W1 parity: nodegrad vs PyTorch, ${r.steps} Adam steps (lr ${r.lr}), batch ${r.batch}, seed ${r.seed}; nodegrad ${r.backend} backend, ${r.threads} thread(s)`);
  lines.push(`nodegrad: ${r.steps} steps in ${r.nodegrad.ms.toFixed(0)} ms; model.fit(shuffle: false) from the same weights: ` +
    (r.fitBitIdentical ? 'bit-identical final weights' : `${r.fitMismatchedElements} weight elements differ`));
  if (r.skipped) {
    lines.push(`skipped the PyTorch side: ${r.skipped}`);
    return lines.join('\n');
  }
  lines.push(`torch ${r.torch.version}: ${Object.keys(r.torch.variants).length} variants in ${(r.torch.ms / 1e3).toFixed(1)} s (1 thread)`, '');
  const L = (v) => (v === 'nodegrad' ? r.nodegrad.losses : r.torch.variants[v].losses);
  const show = [0, 1, 2, 5, 10, 20, 30, 40, r.steps - 1].filter((s, i, a) => s < r.steps && a.indexOf(s) === i);
  const cols = ['nodegrad', 'keras_f32', 'keras_f64', 'keras_f32_ulp1', 'torch_eps1e-7', 'torch_default'];
  lines.push(`| step | ${cols.join(' | ')} | nodegrad vs keras_f64 (rel) | float32 envelope (rel) |`, `|${'---|'.repeat(cols.length + 3)}`);
  for (const s of show) {
    const f64 = L('keras_f64')[s];
    const envS = Math.max(...F32_RUNS.map((v) => Math.abs(L(v)[s] - f64) / f64));
    lines.push(`| ${s} | ${cols.map((c) => L(c)[s].toFixed(7)).join(' | ')} | ${e(Math.abs(L('nodegrad')[s] - f64) / f64)} | ${e(envS)} |`);
  }
  lines.push('', '| a | b | loss: max rel diff (step) | step 0 | last step | weights: max |dw|/max|w| (worst variable) | weights: ||dw||/||w|| (worst) |', '|---|---|---|---|---|---|---|');
  for (const c of r.compare) {
    const worstVar = Object.entries(c.weights.per).sort((p, q) => q[1].rel - p[1].rel)[0][0];
    lines.push(`| ${c.a} | ${c.b} | ${e(c.loss.max)} (${c.loss.at}) | ${e(c.loss.step0)} | ${e(c.loss.last)} | ${e(c.weights.worst)} (${worstVar}) | ${e(c.weights.worstNorm)} |`);
  }
  const T = r.teacher;
  lines.push('', `Teacher forcing (one step at a time along nodegrad's trajectory: torch computes step s from nodegrad's weights w_s, batch s):`, '',
    '| | nodegrad vs torch float64 | torch float32 vs torch float64 (yardstick) |', '|---|---|---|',
    `| loss, max rel diff over ${r.steps} steps | ${e(T.lossMax)} | ${e(T.lossMaxTorch32)} |`,
    `| gradients, median over steps of max over variables of max|dg|/max|g| | ${e(T.gradMedian)} | ${e(T.gradMedianTorch32)} |`,
    `| gradients, worst step | ${e(T.gradMax)} | ${e(T.gradMaxTorch32)} |`,
    `| steps with a gradient jump (> ${e(TOLERANCE.gradJump)}: a ReLU pre-activation within rounding of 0 flips) | ${T.gradJumpSteps} | ${T.gradJumpStepsTorch32} |`);
  const v = r.verdict;
  const ok = (x) => (x.ok ? 'ok' : 'FAIL');
  lines.push('',
    'keras_*: nodegrad\'s Adam (formula and arithmetic) written out in torch: float32, float64, and float32 from initial weights moved by ' +
      '+-1 ulp (ulp1, ulp2); torch_eps1e-7, torch_default: torch.optim.Adam (epsilon outside the bias correction).',
    `float32 envelope (keras_f32, _ulp1, _ulp2 vs keras_f64): loss ${e(r.envelope.loss)}, weights ${e(r.envelope.weights)}; ` +
      `Adam epsilon convention (keras_f32 vs torch_eps1e-7): loss ${e(r.epsilonConvention.loss)}, weights ${e(r.epsilonConvention.weights)}.`,
    `verdict: teacher-forced loss ${e(v.teacherLoss.value)} <= ${e(v.teacherLoss.bound)}: ${ok(v.teacherLoss)}; ` +
      `teacher-forced gradients median ${e(v.teacherGradMedian.value)} <= ${e(v.teacherGradMedian.bound)}: ${ok(v.teacherGradMedian)}, ` +
      `worst ${e(v.teacherGradMax.value)} <= ${e(v.teacherGradMax.bound)}: ${ok(v.teacherGradMax)}; ` +
      `free-running loss ${e(v.freeLoss.value)} <= ${e(v.freeLoss.bound)}: ${ok(v.freeLoss)}; fit bit-identical: ${ok(v.fit)}`,
    r.ok ? 'AGREE' : 'DISAGREE');
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const o = {};
  let json = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = () => Number(args[++i]);
    if (a === '--steps') o.steps = num();
    else if (a === '--batch') o.batch = num();
    else if (a === '--lr') o.lr = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--keep') o.keep = true;
    else if (a === '--json') json = args[++i];
    else throw new Error(`unknown option ${a} (--steps N --batch N --lr X --seed N --json FILE --keep)`);
  }
  const ng = await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href);
  const r = await runParity(ng, o);
  console.log(formatReport(r));
  if (json) writeFileSync(json, JSON.stringify(r, null, 2));
  if (!r.skipped && !r.ok) process.exitCode = 1;
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main().catch((err) => {
    process.stderr.write(`parity: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  });
}
