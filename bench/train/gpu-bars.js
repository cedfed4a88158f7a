#!/usr/bin/env node
/**
 * Issue 7's training-step bars, from two `node bench/train.js --json` files taken on one GPU machine:
 *
 *   node bench/train/gpu-bars.js <cuda.json> <cpu.json>
 *
 * For each workload's train row: nodegrad on cuda within 2x of PyTorch's time on the same GPU (the faster of its
 * NCHW and channels_last), and >= 10x faster than nodegrad's CPU backend on the same machine (its fastest thread
 * count). One line per bar, ending MET or NOT MET, or saying which timing is missing.
 */
import { readFileSync } from 'node:fs';

const [cudaFile, cpuFile] = process.argv.slice(2);
if (!cudaFile || !cpuFile) {
  console.error('usage: node bench/train/gpu-bars.js <cuda.json> <cpu.json> (from node bench/train.js --json)');
  process.exit(2);
}
const trainRows = (file) => JSON.parse(readFileSync(file, 'utf8')).table.filter((r) => r.w.endsWith('.train') && r.ours_ms != null);
const ms = (v) => `${v >= 100 ? v.toFixed(1) : v.toFixed(2)} ms`;
const verdict = (ok) => (ok ? 'MET' : 'NOT MET');

const cuda = trainRows(cudaFile);
const cpu = trainRows(cpuFile);
if (!cuda.length) console.log(`no nodegrad cuda train timing in ${cudaFile}`);
for (const g of cuda) {
  const head = `${g.w} batch ${g.batch}`;
  if (g.torch_ms == null) console.log(`${head}: no torch cuda timing (see the log): the 2x bar is not measured`);
  else {
    const r = g.ours_ms / g.torch_ms;
    console.log(`${head}: nodegrad cuda ${ms(g.ours_ms)}, torch cuda ${ms(g.torch_ms)} (${g.torch_variant}): ${r.toFixed(2)}x torch's time (bar: <= 2x) ${verdict(r <= 2)}`);
  }
  const c = cpu.filter((r) => r.w === g.w).sort((a, b) => a.ours_ms - b.ours_ms)[0];
  if (!c) console.log(`${head}: no nodegrad cpu timing (see the log): the 10x bar is not measured`);
  else if (c.batch !== g.batch) console.log(`${head}: the cpu run used batch ${c.batch}: the 10x bar is not measured`);
  else {
    const r = c.ours_ms / g.ours_ms;
    console.log(`${head}: nodegrad cpu (${c.threads} threads) ${ms(c.ours_ms)} / nodegrad cuda ${ms(g.ours_ms)} = ${r.toFixed(1)}x (bar: >= 10x) ${verdict(r >= 10)}`);
  }
}
