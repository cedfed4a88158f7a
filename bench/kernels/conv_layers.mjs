/**
 * The convolutions of the W1 (MNIST convnet, batch 64) and W2 (ResNet-20, batch 32) training steps, layer by layer:
 * forward, backward data and backward filter through the addon's entry points (outputs preallocated and reused),
 * at the given thread counts, median of repeated calls. It shows which algorithm pays where (Winograd, col2im,
 * im2col), so NODEGRAD_WINOGRAD=0 or NODEGRAD_COL2IM=0 in front compares a path with its alternative.
 *
 *   node bench/kernels/conv_layers.mjs                    # W1 and W2 layers, threads 1 and 2
 *   NODEGRAD_COL2IM=0 node bench/kernels/conv_layers.mjs --only W1 --threads 2 --time 1
 *
 * Each row: ms and GFLOP/s (direct-conv count 2*N*OH*OW*KH*KW*Cin*Cout, also for Winograd) of fwd | dx | dw; the
 * W2 totals weight each shape by how often it occurs in the network. W1's first conv needs no dx.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const addon = createRequire(import.meta.url)('node-gyp-build')(ROOT);

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const THREADS = opt('threads', '1,2').split(',').map(Number);
const ONLY = new RegExp(opt('only', '.'));
const MIN_MS = Number(opt('time', '0.6')) * 1000;

const SAME = [1, 1, 1, 1];
const S2 = [0, 1, 0, 1]; // 'same' at stride 2 on an even size: the extra row and column after (TensorFlow)
const VALID = [0, 0, 0, 0];
// [name, n, h, w, cin, k, cout, stride, pads [top, bottom, left, right], oh, ow, occurrences, needs dx]
const LAYERS = [
  ['W1.conv1', 64, 28, 28, 1, 3, 32, 1, VALID, 26, 26, 1, false],
  ['W1.conv2', 64, 13, 13, 32, 3, 64, 1, VALID, 11, 11, 1, true],
  ['W1.conv3', 64, 5, 5, 64, 3, 128, 1, VALID, 3, 3, 1, true],
  ['W2.stem', 32, 32, 32, 3, 3, 16, 1, SAME, 32, 32, 1, false],
  ['W2.3x3x16', 32, 32, 32, 16, 3, 16, 1, SAME, 32, 32, 6, true],
  ['W2.down32', 32, 32, 32, 16, 3, 32, 2, S2, 16, 16, 1, true],
  ['W2.proj32', 32, 32, 32, 16, 1, 32, 2, VALID, 16, 16, 1, true],
  ['W2.3x3x32', 32, 16, 16, 32, 3, 32, 1, SAME, 16, 16, 5, true],
  ['W2.down64', 32, 16, 16, 32, 3, 64, 2, S2, 8, 8, 1, true],
  ['W2.proj64', 32, 16, 16, 32, 1, 64, 2, VALID, 8, 8, 1, true],
  ['W2.3x3x64', 32, 8, 8, 64, 3, 64, 1, SAME, 8, 8, 5, true],
].filter((l) => ONLY.test(l[0]));

const fill = (n, seed) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37 + seed);
  return a;
};

function median(fn) {
  for (let i = 0; i < 3; i++) fn();
  const t = [];
  const end = performance.now() + MIN_MS;
  while (performance.now() < end || t.length < 10) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

console.log(`# conv layers of W1/W2, ${addon.isaInfo().isa}; ms (GFLOP/s) of fwd | dx | dw; median of >= 10 calls and ${MIN_MS / 1000} s`);
for (const threads of THREADS) {
  addon.setNumThreads(threads);
  const totals = new Map();
  for (const [name, n, h, w, cin, k, cout, stride, pads, oh, ow, count, needsDx] of LAYERS) {
    const geo = [n, h, w, cin, k, k, cout, oh, ow, stride, stride, 1, 1, ...pads, 1];
    const x = fill(n * h * w * cin, 1), wt = fill(k * k * cin * cout, 2), dy = fill(n * oh * ow * cout, 3);
    const y = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(wt.length);
    const flops = 2 * n * oh * ow * k * k * cin * cout;
    const ms = [
      median(() => addon.conv2dF32(x, wt, null, y, ...geo, 0)),
      needsDx ? median(() => addon.conv2dBackwardDataF32(dy, wt, dx, ...geo)) : 0,
      median(() => addon.conv2dBackwardFilterF32(x, dy, dw, ...geo)),
    ];
    const net = name.split('.')[0];
    const sum = totals.get(net) ?? [0, 0, 0];
    ms.forEach((v, i) => (sum[i] += v * count));
    totals.set(net, sum);
    const cells = ms.map((v) => (v ? `${v.toFixed(3)} (${(flops / v / 1e6).toFixed(0)})` : '-'));
    console.log(`thr ${threads}  ${name.padEnd(10)} x${count}  ${cells.join(' | ')}`);
  }
  for (const [net, [f, d, w]] of totals) {
    console.log(`thr ${threads}  ${net} total (x occurrences): fwd ${f.toFixed(2)} ms, dx ${d.toFixed(2)} ms, dw ${w.toFixed(2)} ms`);
  }
}
