/**
 * The named shape table of `npm run bench`: SGEMM 256/512/1024/2048 and the single-layer workloads W3 of
 * ../shared/anchors (same names, so peer results map one to one), forward and backward.
 *
 * Every case is written with the public API (`matmul`, `ops.conv2d`, `ops.conv2dBackpropInput` +
 * `ops.conv2dBackpropFilter`, `ops.maxPool2d` / `maxPool2dBackward`, `ops.batchNorm` / `batchNormBackward`),
 * so it times what a user's call costs: validation, allocation of the output and the kernel. Layout NHWC.
 *
 * A case is
 *   name      workload id (the anchors' `w`), also the peers' key
 *   shape     one line for the table
 *   kernels   the Backend entries it runs; the case is timed only when all of them are native
 *   flops     counted FLOPs per call (conv/dense: 2 x MACs; bwd = dX + dW = 2 x fwd), or
 *   bytes     compulsory memory traffic per call (each input read once, each output written once), for the
 *             memory-bound ops (pool, batch norm), reported as GB/s
 *   inputs(ng, size)   seeded input tensors; size 'full' (timed) or 'check' (the correctness gate)
 *   run(ng, inp)       the timed call; returns its output tensors
 *   bounds(ng, inp, ref)  per output, the allowed |native - reference| per element (Float64Array), derived from
 *             the reduction length (see README.md, "Check first")
 *
 * 'check' inputs are a smaller version of the shape where the reference backend would be slow (batch 2 for the
 * convs, odd sizes for the two big SGEMMs, which also exercise the remainder tiles), and the same shape for the
 * cheap ops.
 */

/** float32 unit roundoff. */
export const U32 = 2 ** -24;

const prod = (s) => s.reduce((a, b) => a * b, 1);
const fmt = (s) => `[${s.join(',')}]`;

/** Per-element tolerance of a length-K dot-product result: 2 * K * u * sum(|terms|) (Higham's gamma_K, both sides). */
function dotBounds(k, absResult) {
  const s = absResult.data;
  const out = new Float64Array(s.length);
  const g = 2 * (k + 2) * U32;
  for (let i = 0; i < s.length; i++) out[i] = g * s[i] + Number.MIN_VALUE;
  return out;
}

/** The same computation on |inputs| under the reference backend: sum(|terms|) for every output element. */
function absRun(ng, c, inp) {
  return ng.withBackend(ng.referenceBackend, () => {
    const a = {};
    for (const [k, v] of Object.entries(inp)) a[k] = v instanceof ng.Tensor && v.dtype === 'float32' ? ng.abs(v) : v;
    return c.run(ng, a);
  });
}

// ---------------------------------------------------------------------------------------------- SGEMM

/** C[M,N] = A[M,K] @ B[K,N], row-major, no transposes. */
function sgemm(n, checkN = n) {
  const c = {
    name: `sgemm.${n}`,
    family: 'sgemm',
    shape: `M=N=K=${n}`,
    kernels: ['matmul'],
    flops: 2 * n * n * n,
    inputs(ng, size) {
      const m = size === 'full' ? n : checkN;
      return { a: ng.uniform([m, m], -1, 1, { seed: 11 }), b: ng.uniform([m, m], -1, 1, { seed: 12 }), k: m };
    },
    run(ng, { a, b }) {
      return [ng.matmul(a, b)];
    },
    bounds(ng, inp) {
      return [dotBounds(inp.k, absRun(ng, c, inp)[0])];
    },
  };
  if (checkN !== n) c.checkShape = `M=N=K=${checkN}`;
  return c;
}

// ---------------------------------------------------------------------------------------------- convolutions

/**
 * conv2d stride 1, 'same' padding, weights HWIO [k, k, cin/groups, cout]; groups = cin is the depthwise conv
 * (TensorFlow's depthwiseConv2d with multiplier 1 is this grouped conv; its gradients are the grouped entry points).
 */
function conv(name, { n, h, w, cin, cout, k, groups = 1, checkN = n }) {
  const xShape = [n, h, w, cin];
  const wShape = [k, k, cin / groups, cout];
  // depthwiseConv2d takes [KH, KW, C, multiplier]; with multiplier 1 it holds the same memory as HWIO [k,k,1,C].
  const wFwdShape = groups > 1 ? [k, k, cin, cout / cin] : wShape;
  const macs = n * h * w * cout * (cin / groups) * k * k;
  const opts = { padding: 'same', groups };
  const depthwise = groups > 1;
  const desc = depthwise
    ? `x ${fmt(xShape)} dw ${k}x${k}, same`
    : `x ${fmt(xShape)} w ${fmt(wShape)}, same`;
  const shapes = (size) => {
    const nn = size === 'full' ? n : checkN;
    return { x: [nn, h, w, cin], dy: [nn, h, w, cout] };
  };
  const fwd = {
    name: `${name}.fwd`,
    family: 'conv',
    shape: desc,
    kernels: ['conv2d'],
    flops: 2 * macs,
    inputs(ng, size) {
      const s = shapes(size);
      return { x: ng.uniform(s.x, -1, 1, { seed: 21 }), w: ng.uniform(wFwdShape, -1, 1, { seed: 22 }) };
    },
    run(ng, { x, w: wt }) {
      return [depthwise ? ng.ops.depthwiseConv2d(x, wt, { padding: 'same' }) : ng.ops.conv2d(x, wt, { padding: 'same' })];
    },
    bounds(ng, inp) {
      return [dotBounds(k * k * (cin / groups), absRun(ng, fwd, inp)[0])];
    },
  };
  const bwd = {
    name: `${name}.bwd`,
    family: 'conv',
    shape: `${desc}; dX + dW`,
    kernels: ['conv2dBackwardData', 'conv2dBackwardFilter'],
    flops: 4 * macs,
    inputs(ng, size) {
      const s = shapes(size);
      return {
        x: ng.uniform(s.x, -1, 1, { seed: 21 }),
        w: ng.uniform(wShape, -1, 1, { seed: 22 }),
        dy: ng.uniform(s.dy, -1, 1, { seed: 23 }),
      };
    },
    run(ng, { x, w: wt, dy }) {
      const dx = ng.ops.conv2dBackpropInput(dy, wt, x.shape, opts);
      const dw = ng.ops.conv2dBackpropFilter(x, dy, wShape, opts);
      return [dx, dw];
    },
    bounds(ng, inp) {
      const [sdx, sdw] = absRun(ng, bwd, inp);
      const rows = inp.x.shape[0] * h * w; // dW reduces over every output pixel of the batch
      return [dotBounds(k * k * (cout / groups), sdx), dotBounds(rows, sdw)];
    },
  };
  if (checkN !== n) {
    fwd.checkShape = `batch ${checkN}`;
    bwd.checkShape = `batch ${checkN}`;
  }
  return [fwd, bwd];
}

// ---------------------------------------------------------------------------------------------- max pooling

function maxpool(name, { n, h, w, c, p }) {
  const xShape = [n, h, w, c];
  const yShape = [n, h / p, w / p, c];
  const opts = { poolSize: p, strides: p };
  const exact = (outs) => outs.map((o) => new Float64Array(o.data.length)); // max and routing are exact
  return [
    {
      name: `${name}.fwd`,
      family: 'pool',
      shape: `x ${fmt(xShape)} ${p}x${p}/${p}`,
      kernels: ['maxPool2d'],
      bytes: 4 * (prod(xShape) + prod(yShape)),
      inputs: (ng) => ({ x: ng.uniform(xShape, -1, 1, { seed: 31 }) }),
      run: (ng, { x }) => [ng.ops.maxPool2d(x, opts)],
      bounds: (ng, inp, ref) => exact(ref),
    },
    {
      name: `${name}.bwd`,
      family: 'pool',
      shape: `x ${fmt(xShape)} ${p}x${p}/${p}; dX`,
      kernels: ['maxPool2dBackward'],
      bytes: 4 * (2 * prod(xShape) + prod(yShape)),
      inputs: (ng) => ({ x: ng.uniform(xShape, -1, 1, { seed: 31 }), dy: ng.uniform(yShape, -1, 1, { seed: 32 }) }),
      run: (ng, { x, dy }) => [ng.ops.maxPool2dBackward(dy, x, opts)],
      bounds: (ng, inp, ref) => exact(ref),
    },
  ];
}

// ---------------------------------------------------------------------------------------------- batch norm

/** Per-channel statistics of x [..., C] in float64: mean, biased variance, E[x^2], mean |x|. */
function channelStats(x, c) {
  const d = x.data;
  const m = d.length / c;
  const sum = new Float64Array(c), sq = new Float64Array(c), ab = new Float64Array(c);
  for (let i = 0; i < d.length; i++) {
    const ch = i % c, v = d[i];
    sum[ch] += v; sq[ch] += v * v; ab[ch] += Math.abs(v);
  }
  const mean = sum.map((s) => s / m);
  const ex2 = sq.map((s) => s / m);
  return { m, mean, ex2, var: ex2.map((e, i) => e - mean[i] * mean[i]), meanAbs: ab.map((s) => s / m) };
}

/**
 * Batch norm in training mode (batch statistics, biased variance) over x [n, h, w, c]. No moving statistics are
 * passed: the timed call is the kernel (the moving update is two [C]-sized multiply-adds).
 */
function batchnorm(name, { n, h, w, c, epsilon = 1e-3 }) {
  const xShape = [n, h, w, c];
  const size = prod(xShape);
  const common = {
    family: 'bn',
    inputs(ng) {
      const x = ng.uniform(xShape, -1, 2, { seed: 41 });
      const gamma = ng.uniform([c], 0.5, 1.5, { seed: 42 });
      const beta = ng.uniform([c], -0.5, 0.5, { seed: 43 });
      const dy = ng.uniform(xShape, -1, 1, { seed: 44 });
      // The forward statistics the backward is given, from the reference (as autograd would save them).
      const st = ng.withBackend(ng.referenceBackend, () => ng.ops.batchNorm(x, { gamma, beta, epsilon, training: true }));
      return { x, gamma, beta, dy, mean: st.mean, variance: st.variance };
    },
  };
  const fwd = {
    ...common,
    name: `${name}.fwd`,
    shape: `x ${fmt(xShape)}, batch stats`,
    kernels: ['batchNorm'],
    bytes: 4 * 2 * size,
    run(ng, { x, gamma, beta }) {
      const r = ng.ops.batchNorm(x, { gamma, beta, epsilon, training: true });
      return [r.y, r.mean, r.variance];
    },
    /**
     * mean: a length-M sum; variance: two-pass or E[x^2] - mean^2, both within 2(M+4)u (E[x^2] + mean^2);
     * y = gamma (x - mean) invstd + beta inherits both (invstd to first order: half the variance's relative error).
     */
    bounds(ng, { x, gamma, beta }) {
      const s = channelStats(x, c);
      const M = s.m;
      const tm = s.meanAbs.map((a, i) => 2 * (M + 2) * U32 * a + 2 * U32 * Math.abs(s.mean[i]));
      const tv = s.ex2.map((e, i) => 2 * (M + 4) * U32 * (e + s.mean[i] * s.mean[i]));
      const g = gamma.data, b = beta.data, xd = x.data;
      const ty = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const ch = i % c;
        const inv = 1 / Math.sqrt(s.var[ch] + epsilon);
        const dev = Math.abs(xd[i] - s.mean[ch]);
        ty[i] = Math.abs(g[ch]) * inv * (tm[ch] + dev * 0.5 * tv[ch] / (s.var[ch] + epsilon))
          + 8 * U32 * (Math.abs(g[ch]) * dev * inv + Math.abs(b[ch]));
      }
      return [ty, Float64Array.from(tm), Float64Array.from(tv)];
    },
  };
  const bwd = {
    ...common,
    name: `${name}.bwd`,
    shape: `x ${fmt(xShape)}; dX, dgamma, dbeta`,
    kernels: ['batchNormBackward'],
    bytes: 4 * 3 * size,
    run(ng, { x, gamma, dy, mean, variance }) {
      const r = ng.ops.batchNormBackward(dy, x, { gamma, mean, variance, epsilon, training: true });
      return [r.dx, r.dgamma, r.dbeta];
    },
    /** dbeta = sum dy, dgamma = sum dy*xhat (length-M sums); dx = gamma invstd (dy - dbeta/M - xhat dgamma/M). */
    bounds(ng, { x, gamma, dy, mean, variance }) {
      const M = size / c;
      const xd = x.data, dyd = dy.data, g = gamma.data, mu = mean.data, va = variance.data;
      const inv = Float64Array.from(va, (v) => 1 / Math.sqrt(v + epsilon));
      const sAbsDy = new Float64Array(c), sAbsDyXhat = new Float64Array(c), sDy = new Float64Array(c), sDyXhat = new Float64Array(c);
      for (let i = 0; i < size; i++) {
        const ch = i % c;
        const xh = (xd[i] - mu[ch]) * inv[ch];
        sAbsDy[ch] += Math.abs(dyd[i]); sDy[ch] += dyd[i];
        sAbsDyXhat[ch] += Math.abs(dyd[i] * xh); sDyXhat[ch] += dyd[i] * xh;
      }
      const tb = sAbsDy.map((s) => 2 * (M + 2) * U32 * s);
      const tg = sAbsDyXhat.map((s) => 2 * (M + 6) * U32 * s);
      const tx = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const ch = i % c;
        const xh = Math.abs((xd[i] - mu[ch]) * inv[ch]);
        tx[i] = Math.abs(g[ch]) * inv[ch] * (
          tb[ch] / M + xh * tg[ch] / M + 8 * U32 * (Math.abs(dyd[i]) + Math.abs(sDy[ch]) / M + xh * Math.abs(sDyXhat[ch]) / M)
        );
      }
      return [tx, Float64Array.from(tg), Float64Array.from(tb)];
    },
  };
  return [fwd, bwd];
}

// ---------------------------------------------------------------------------------------------- the table

/** Every case, in table order. */
export const CASES = [
  sgemm(256),
  sgemm(512),
  sgemm(1024, 515),
  sgemm(2048, 1027),
  ...conv('W3.conv3x3', { n: 8, h: 56, w: 56, cin: 64, cout: 64, k: 3, checkN: 2 }),
  ...conv('W3.conv1x1', { n: 8, h: 56, w: 56, cin: 256, cout: 64, k: 1, checkN: 2 }),
  ...conv('W3.dw3x3', { n: 8, h: 112, w: 112, cin: 32, cout: 32, k: 3, groups: 32 }),
  ...maxpool('W3.maxpool', { n: 8, h: 112, w: 112, c: 64, p: 2 }),
  ...batchnorm('W3.bn_train', { n: 8, h: 56, w: 56, c: 64 }),
];

export function findCase(name) {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`bench: no case named ${name} (cases: ${CASES.map((x) => x.name).join(', ')})`);
  return c;
}
