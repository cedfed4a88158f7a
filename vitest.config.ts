import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Projects: 'default' runs every test (test/**) on the ISA path the addon picks by itself (the fastest the
 * machine has: avx512 on an AVX-512 machine, so it is also the props-avx512 run); then one project per slower
 * path this machine can also run ('props-avx2', 'props-scalar', on arm64 'props-scalar' below neon) runs only
 * the property tests (test/props) with NODEGRAD_ISA forcing that path in fresh worker processes. 'conv-gather'
 * reruns the convolution tests with col2im backward data turned off.
 *
 * The paths come from the addon itself, loaded in a child process (`isaInfo().available`), so a machine
 * without AVX-512, or without a built addon, still works: the extra projects are then skipped, with a line
 * saying why. `vitest run --project props-scalar` runs a single path.
 *
 * 'props-cuda' runs the property tests against the CUDA backend (NODEGRAD_PROPS_BACKEND=cuda, see
 * test/helpers/backends.ts) when the CUDA addon loads and sees a GPU, probed the same way (dist/'s loadCuda in a
 * child process: no CUDA context in this one); otherwise a line says why it is skipped. 'props-fake-cuda' runs them
 * through the same wiring on the fake CUDA addon wherever the CPU addon loads.
 */
const root = fileURLToPath(new URL('.', import.meta.url));
const PROPS = ['test/props/**/*.test.ts'];

function availablePaths(): { paths: string[]; why?: string } {
  const env = { ...process.env };
  delete env.NODEGRAD_ISA; // the list of paths the CPU and build can run, whatever the caller forces
  try {
    const out = execFileSync(
      process.execPath,
      ['-e', 'const a = require("node-gyp-build")(process.cwd()); console.log(JSON.stringify(a.isaInfo().available))'],
      { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
    );
    const lines = out.trim().split('\n');
    const paths = JSON.parse(lines[lines.length - 1]) as unknown;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string')) return { paths: [], why: `unexpected isaInfo().available: ${out.trim()}` };
    return { paths };
  } catch (err) {
    return { paths: [], why: childError(err) };
  }
}

/** The CUDA device the props-cuda project would run on, or why there is none. */
function cudaDevice(): { device?: string; why?: string } {
  const probe = 'const { loadCuda } = await import("./dist/backends/cuda/index.js"); const l = loadCuda(); ' +
    'console.log(JSON.stringify(l.addon ? { device: l.device.name } : { why: l.reason }))';
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    const lines = out.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as { device?: string; why?: string };
  } catch (err) {
    return { why: childError(err) };
  }
}

// node prints the throwing source line first; the "Error: ..." line says why.
function childError(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const lines = (e.stderr || e.message || String(err)).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[0] ?? 'unknown error';
}

// vitest evaluates this file more than once per run: probe the addons and print the notes only the first time.
const memo = globalThis as { __nodegradIsaPaths?: { paths: string[]; why?: string }; __nodegradCuda?: { device?: string; why?: string } };
const first = memo.__nodegradIsaPaths === undefined;
const { paths, why } = (memo.__nodegradIsaPaths ??= availablePaths());
const gpu = (memo.__nodegradCuda ??= cudaDevice());
// The default project already runs the props on the fastest path; forcing the others needs their own processes.
const extra = paths.slice(1);
if (first && why) console.warn(`vitest.config: native addon not loadable (${why}); no per-ISA props projects, test/props compares reference to reference`);
else if (first && extra.length === 0) console.warn(`vitest.config: this machine runs only the ${paths[0] ?? '?'} path; no extra per-ISA props projects`);
if (first && !gpu.device) console.warn(`vitest.config: no CUDA device (${gpu.why}); props-cuda skipped`);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Native kernels use their own thread pool; one fork per core keeps 2-core CI from oversubscribing.
    pool: 'forks',
    // Kernel outputs come from the storage pool uninitialised; NaN-filling them makes an unwritten element fail.
    env: { NODEGRAD_POISON_OUTPUTS: '1' },
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      // Backward data picks col2im for thin channels and small maps; this run holds the gather form to the same tests.
      {
        extends: true,
        test: {
          name: 'conv-gather',
          include: ['test/props/conv.props.test.ts', 'test/native/conv.test.ts'],
          env: { NODEGRAD_POISON_OUTPUTS: '1', NODEGRAD_COL2IM: '0' },
        },
      },
      ...extra.map((isa) => ({
        extends: true as const,
        test: { name: `props-${isa}`, include: PROPS, env: { NODEGRAD_POISON_OUTPUTS: '1', NODEGRAD_ISA: isa } },
      })),
      // The CUDA backend's wiring (uploads, dispatch, fallbacks, the kernels' reports) under the props, on the fake
      // addon (test/helpers/fake-cuda.ts: the CPU kernels behind the CUDA entries), so props-cuda has run before a GPU.
      ...(paths.length ? [{
        extends: true as const,
        test: { name: 'props-fake-cuda', include: PROPS, env: { NODEGRAD_POISON_OUTPUTS: '1', NODEGRAD_PROPS_BACKEND: 'fake-cuda' } },
      }] : []),
      // TF32 would leave the float32 bounds of matmul and conv: the props hold the default, off, explicitly.
      ...(gpu.device ? [{
        extends: true as const,
        test: { name: 'props-cuda', include: PROPS, env: { NODEGRAD_POISON_OUTPUTS: '1', NODEGRAD_PROPS_BACKEND: 'cuda', NODEGRAD_CUDA_TF32: '0' } },
      }] : []),
    ],
  },
});
