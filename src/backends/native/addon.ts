/**
 * Loads nodegrad.node (native/addon/) with node-gyp-build from the package root: build/Release when it was
 * compiled here, otherwise prebuilds/<platform>-<arch>/. Loading happens once; a failure is remembered as a
 * message, never thrown, so the caller can fall back to the reference backend.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** ISA paths the addon knows, fastest first. */
export type IsaName = 'avx512' | 'avx2' | 'neon' | 'scalar';

/** The addon's dispatch report (native/addon/addon.cc, isaInfo). */
export interface IsaInfo {
  /** The path every kernel runs on, chosen once at load. */
  readonly isa: IsaName;
  /** Every path this build and CPU can run, fastest first (always ends with 'scalar'). */
  readonly available: readonly IsaName[];
  /** CPU and OS features behind the choice; osYmm/osZmm: the OS saves AVX/AVX-512 state (XCR0). */
  readonly cpu: {
    readonly x86_64: boolean; readonly arm64: boolean;
    readonly sse2: boolean; readonly sse41: boolean; readonly avx: boolean; readonly fma: boolean;
    readonly f16c: boolean; readonly bmi2: boolean; readonly avx2: boolean;
    readonly avx512f: boolean; readonly avx512dq: boolean; readonly avx512bw: boolean; readonly avx512vl: boolean;
    readonly osxsave: boolean; readonly osYmm: boolean; readonly osZmm: boolean;
    readonly neon: boolean;
  };
  /** true when NODEGRAD_ISA picked the path. */
  readonly forced: boolean;
  /** Name of the kernel each slot runs, e.g. binaryF32: 'ng_f32_binary_x64_avx512' (families add slots). */
  readonly kernels: { readonly binaryF32: string } & Readonly<Record<string, string>>;
}

/**
 * The raw addon surface: typed arrays and integers only; it checks lengths and types, never shapes.
 * Op families declare their own entries beside their TS wrapper (e.g. native/conv.ts) and widen this type there.
 */
export interface NativeAddon {
  isaInfo(): IsaInfo;
  /** Size of the native thread pool, the calling thread included. */
  numThreads(): number;
  /** Resizes the thread pool for later kernels; an integer in [1, 1024]. */
  setNumThreads(n: number): void;
  /** out[i] = a[i] op b[i % b.length]; b.length is a.length, 1 or a divisor of it; out.length === a.length. */
  /** Bytes from the start of `buffer` to its first 64-byte-aligned address (native/addon/memory.cc). */
  alignmentOffset(buffer: ArrayBuffer): number;
  binaryF32(opCode: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  readonly binaryOpCodes: Readonly<Record<'add' | 'sub' | 'mul' | 'div', number>>;
  /**
   * One Adam update in place (native/addon/optim.cc; src/optim/adam.ts has the formula): w, m, v (and vHat, or
   * null without amsgrad) updated from g, all of w's length and disjoint; alpha the bias-corrected step size,
   * c1 = 1 - beta1, c2 = 1 - beta2, keep the weight-decay factor. Bit-identical to the JS loop.
   */
  adamUpdateF32(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vHat: Float32Array | null,
    alpha: number, c1: number, c2: number, epsilon: number, keep: number): void;
  /**
   * One SGD update in place (src/optim/sgd.ts has the formula): velocity null for plain SGD, else the momentum
   * slot; all of w's length and disjoint. Bit-identical to the JS loop.
   */
  sgdUpdateF32(w: Float32Array, g: Float32Array, velocity: Float32Array | null, learningRate: number,
    momentum: number, nesterov: boolean, keep: number): void;
}

export interface AddonLoad {
  readonly addon: NativeAddon | null;
  /** Absolute path of the .node file that was (or would have been) loaded. */
  readonly path?: string;
  /** Why it did not load. */
  readonly error?: string;
}

/** This file is three levels below the package root both as src/backends/native/ and dist/backends/native/. */
export const packageRoot: string = fileURLToPath(new URL('../../../', import.meta.url));

let cached: AddonLoad | undefined;

/** The addon, loaded on first call and cached; never throws. */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let path: string | undefined;
  try {
    const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
    path = nodeGypBuild.resolve(packageRoot);
    cached = { addon: require(path) as NativeAddon, path };
  } catch (err) {
    // node-gyp-build's "No native build was found ..." spans several lines; the first one says enough.
    const message = err instanceof Error ? err.message.split('\n')[0].trim() : String(err);
    cached = { addon: null, path, error: message };
  }
  return cached;
}
