// Elementwise ops through the public tensor API on x [32,32,32,64] float32: broadcasts other than a repeated row
// ([N,1,1,C], [N,H,W,1]), the non-arithmetic binary ops and the unary maths ops, which the native backend runs with
// its broadcasting kernels (a row-broadcast add on the SIMD path for scale). Medians of 9 calls after 3 warm-ups,
// outputs disposed as fit() does. Build first: npm run build:ts.   node bench/kernels/broadcast.mjs
import * as ng from '../../dist/index.js';

const x = ng.randn([32, 32, 32, 64], { seed: 1 });
const perChannel = ng.randn([32, 1, 1, 64], { seed: 2 });
const perPixel = ng.randn([32, 32, 32, 1], { seed: 3 });
const row = ng.randn([64], { seed: 4 });
const cases = {
  'mul [N,1,1,C]': () => x.mul(perChannel),
  'mul [N,H,W,1]': () => x.mul(perPixel),
  'add row [C] (SIMD path)': () => x.add(row),
  'maximum (same shape)': () => x.maximum(x),
  'sign': () => x.sign(),
  'pow 2 (reference)': () => x.pow(2),
};
console.log(`# isa ${ng.nativeInfo()?.isa ?? 'none (reference backend)'}; node ${process.version}; load ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [name, f] of Object.entries(cases)) {
  for (let i = 0; i < 3; i++) f().dispose();
  const ts = [];
  for (let i = 0; i < 9; i++) {
    const t0 = performance.now();
    const y = f();
    ts.push(performance.now() - t0);
    y.dispose();
  }
  ts.sort((a, b) => a - b);
  console.log(`${name.padEnd(26)} ${ts[4].toFixed(2)} ms`);
}
