// Child process for test/native: loads nodegrad.node (whatever NODEGRAD_ISA the parent set), runs binaryF32
// over lengths that hit every tile and tail of every ISA path, compares each element with a plain JS loop,
// and prints one JSON line: { info, checked, failures } or { loadError }. Run alone, or under qemu-x86_64.
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

// Every body/tail boundary of the 16-lane x4, 8-lane x4 and 4-lane x4 loops, and a long run.
const LENGTHS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 64 + 7, 127, 128, 129, 1000];
const OPS = [
  ['add', addon.binaryOpCodes.add, (x, y) => Math.fround(x + y)],
  ['sub', addon.binaryOpCodes.sub, (x, y) => Math.fround(x - y)],
  ['mul', addon.binaryOpCodes.mul, (x, y) => Math.fround(x * y)],
  ['div', addon.binaryOpCodes.div, (x, y) => Math.fround(x / y)],
];
// IEEE specials and float32 edge values: NaN, +-Inf and -0 must propagate; denormals must not be flushed.
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-42, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1, -1];

// mulberry32: a tiny seeded stream so every run (and every ISA) sees the same data.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function data(n, seed) {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.12) x[i] = SPECIALS[Math.floor(r() * SPECIALS.length)];
    else x[i] = (r() - 0.5) * 2 * 10 ** Math.floor(r() * 80 - 42);  // magnitudes from denormal to ~1e38
  }
  return x;
}

const failures = [];
let checked = 0;

// Object.is: bit equality except that any NaN equals any NaN (payload bits are not compared) and -0 !== 0.
function check(name, op, fn, a, b, out) {
  const bn = b.length;
  for (let i = 0; i < out.length; i++) {
    const want = fn(a[i], b[i % bn]);
    checked++;
    if (!Object.is(out[i], want) && failures.length < 20) {
      failures.push({ case: name, op, n: out.length, bn, i, a: String(a[i]), b: String(b[i % bn]), got: String(out[i]), want: String(want) });
    }
  }
}

function divisors(n) {
  const ds = [];
  for (let d = 2; d < n; d++) if (n % d === 0) ds.push(d);
  return ds;
}

let seed = 1;
for (const n of LENGTHS) {
  for (const [op, code, fn] of OPS) {
    const a = data(n, seed++);
    const b = data(n, seed++);
    const out = new Float32Array(n).fill(12345);
    addon.binaryF32(code, a, b, out);
    check('same', op, fn, a, b, out);

    // In place: out is a, then out is b (both allowed); compare with copies taken before.
    const a2 = a.slice(), b2 = b.slice();
    addon.binaryF32(code, a2, b, a2);
    check('out=a', op, fn, a, b, a2);
    addon.binaryF32(code, a, b2, b2);
    check('out=b', op, fn, a, b, b2);

    if (n > 0) {
      for (const s of [0, -0, NaN, Infinity, -Infinity, 2.5, -3, 1e-45, 3.4028235e38]) {
        const bs = new Float32Array([s]);
        const o = new Float32Array(n);
        addon.binaryF32(code, a, bs, o);
        check('scalar', op, fn, a, bs, o);
      }
      for (const d of divisors(n).slice(0, 8)) {
        const row = data(d, seed++);
        const o = new Float32Array(n);
        addon.binaryF32(code, a, row, o);
        check(`row${d}`, op, fn, a, row, o);
      }
    }
  }
}

// The output must stay inside its bounds: a view in the middle of a larger buffer keeps its neighbours.
{
  const a = data(1000, 99), b = data(1000, 100);
  const guard = new Float32Array(32 + 1000 + 32);
  for (const [op, code, fn] of OPS) {
    for (const n of [1, 7, 15, 17, 33, 71, 1000]) {
      guard.fill(777);
      const out = guard.subarray(32, 32 + n);
      addon.binaryF32(code, a.subarray(0, n), b.subarray(0, n), out);
      check('guarded', op, fn, a.subarray(0, n), b.subarray(0, n), out);
      const row = b.subarray(0, 1);
      addon.binaryF32(code, a.subarray(0, n), row, out);
      check('guarded-scalar', op, fn, a.subarray(0, n), row, out);
      for (let i = 0; i < guard.length; i++) {
        if ((i < 32 || i >= 32 + n) && guard[i] !== 777) {
          failures.push({ case: 'guard', op, n, i, got: String(guard[i]) });
          break;
        }
      }
    }
  }
}

console.log(JSON.stringify({ info: addon.isaInfo(), checked, failures }));
