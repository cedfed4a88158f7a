// Child process for test/native/conv.test.ts: loads nodegrad.node under whatever NODEGRAD_ISA the parent set,
// runs every case of the input file (argv[2], JSON written by the parent) through conv2dF32 (linear and fused relu),
// conv2dBackwardDataF32 and conv2dBackwardFilterF32 at each thread count, twice (the two runs must be
// bit-identical), and writes the outputs to argv[3] as JSON. Prints one line: { info, nondeterministic } or { loadError }.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);

let addon;
try {
  addon = require('node-gyp-build')(root);
} catch (err) {
  console.log(JSON.stringify({ loadError: String(err && err.message ? err.message : err) }));
  process.exit(0);
}

const { cases, threads } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const f32 = (a) => Float32Array.from(a);
const sameBits = (a, b) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

const results = [];
const nondeterministic = [];
for (const c of cases) {
  const x = f32(c.x), w = f32(c.w), dy = f32(c.dy), bias = c.bias ? f32(c.bias) : null;
  const r = {};
  for (const t of threads) {
    addon.setNumThreads(t);
    const run = (pass) => {
      const out = new Float32Array(pass.startsWith('fwd') ? c.yLength : pass === 'bwdData' ? c.x.length : c.w.length).fill(NaN);
      if (pass === 'fwd') addon.conv2dF32(x, w, bias, out, ...c.geometry, 0);
      else if (pass === 'fwdRelu') addon.conv2dF32(x, w, bias, out, ...c.geometry, 1);
      else if (pass === 'bwdData') addon.conv2dBackwardDataF32(dy, w, out, ...c.geometry);
      else addon.conv2dBackwardFilterF32(x, dy, out, ...c.geometry);
      return out;
    };
    for (const pass of ['fwd', 'fwdRelu', 'bwdData', 'bwdFilter']) {
      const a = run(pass), b = run(pass);
      if (!sameBits(a, b)) nondeterministic.push(`${c.name} ${pass} threads=${t}`);
      r[`${pass}@${t}`] = Array.from(a);
    }
  }
  results.push(r);
}
writeFileSync(process.argv[3], JSON.stringify(results));
console.log(JSON.stringify({ info: addon.isaInfo(), nondeterministic }));
