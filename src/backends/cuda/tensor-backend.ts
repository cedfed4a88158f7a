/**
 * The Backend interface on CUDA tensors: what ops call (through registry.backendFor) when an argument is a CUDA
 * tensor. Arguments are Tensors whose storage is on the device (or kernel results not yet wrapped); results are
 * DeviceKTensors that Tensor.fromKernel wraps as CUDA tensors, so nothing is copied to the host.
 *
 * - Mixed devices: a CPU tensor beside a CUDA one is a DeviceError naming the kernel and both arguments, except
 *   rank-0 CPU tensors (scalars, e.g. `x.mul(2)`), which are uploaded for the call, as PyTorch allows.
 * - Kernels the GPU does not have (the Backend entries or cases below that cudaDeviceKernels lacks) run on the CPU
 *   backend: download, CPU kernel, upload, with a console warning naming the call (e.g. "mul (binary)") once per
 *   distinct call.
 */
import { DeviceError, fmtShape } from '../../errors.js';
import type { Backend, KTensor, UnaryOp } from '../backend.js';
import { getBackend } from '../registry.js';
import type { CudaAddon } from './addon.js';
import { DeviceKTensor, DeviceStorage, cudaAddonFor } from './device-storage.js';
import { type CudaDeviceKernels, type DeviceTensor, MAX_COPY_RANK, binaryRowOrder, cudaDeviceKernels, release } from './kernels.js';

interface Arg {
  readonly shape: readonly number[];
  readonly data: unknown;
  readonly device?: string;
  readonly deviceStorage?: DeviceStorage | null;
}

const isArg = (v: unknown): v is Arg =>
  typeof v === 'object' && v !== null && Array.isArray((v as Arg).shape) && !Array.isArray(v) && 'data' in (v as object);

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const describeArg = (v: Arg): string => `${v.device ?? 'cpu'} ${fmtShape(v.shape)}`;

const warned = new Set<string>();

/** The calls that fell back to the CPU in this process, each warned once: "maximum (binary)", "resizeImages". */
export function cudaFallbacks(): readonly string[] {
  return [...warned];
}

/** Warns once per label (a kernel call's, e.g. "mul (binary)", or a host op's name) that it runs on the CPU. */
export function warnFallback(label: string, why: string): void {
  if (warned.has(label)) return;
  warned.add(label);
  console.warn(`nodegrad: the CUDA backend has no kernel for '${label}' (${why}); running it on the CPU (download, CPU kernel, upload)`);
}

/** One call's arguments on the device, with the temporary uploads to free afterwards. */
class Call {
  readonly temps: DeviceTensor[] = [];
  #first: Arg | undefined;
  constructor(readonly addon: CudaAddon, readonly kernel: string) {}

  /** The device form of a kernel argument; throws on a CPU tensor beside CUDA ones. */
  dev(v: Arg): DeviceTensor {
    const s = v instanceof DeviceKTensor ? v.storage : v.deviceStorage;
    if (s) {
      this.#first ??= v;
      return s.asDevice(v.shape);
    }
    if (v.device === 'cpu' && v.shape.length > 0) this.#mixed(v);
    // A rank-0 CPU tensor or an internal host constant (plain KTensor): uploaded for this call.
    let data = v.data as Float32Array | Int32Array | Float64Array;
    if (data instanceof Float64Array) data = Float32Array.from(data);
    const st = DeviceStorage.fromHost(this.addon, data);  // constants (x.mul(2), a mean's 1/n) by a fill kernel
    const d = st.asDevice(v.shape);
    this.temps.push(d);
    return d;
  }

  /** Every tensor argument (first pass): the mixed-device check before anything runs. */
  check(args: readonly unknown[]): void {
    for (const a of args) {
      if (isArg(a)) this.#note(a);
      else if (Array.isArray(a)) for (const x of a) if (isArg(x)) this.#note(x);
    }
  }

  #note(v: Arg): void {
    if (v instanceof DeviceKTensor || v.device === 'cuda') this.#first ??= v;
  }

  #mixed(v: Arg): never {
    const other = this.#first;
    throw new DeviceError(
      `${this.kernel}: expected all tensors on one device, got ${other ? describeArg(other) : 'cuda'} and ${describeArg(v)} ` +
        `(move them with .to('cuda') or .to('cpu'); only rank-0 CPU tensors may join CUDA ones)`,
    );
  }

  /** A host copy of an argument for the CPU fallback, with the same device checks. */
  host(v: Arg): KTensor {
    const s = v instanceof DeviceKTensor ? v.storage : v.deviceStorage;
    if (s) return { data: s.download(false), shape: v.shape };
    if (v.device === 'cpu' && v.shape.length > 0) this.#mixed(v);
    return v as KTensor;
  }

  done(): void {
    release(this.addon, ...this.temps);
  }
}

const out = (addon: CudaAddon, d: DeviceTensor): DeviceKTensor =>
  new DeviceKTensor(new DeviceStorage(addon, d.buffer, sizeOf(d.shape), d.dtype), d.shape);

const upload = (addon: CudaAddon, k: KTensor): DeviceKTensor => {
  const data = k.data instanceof Float64Array ? Float32Array.from(k.data) : k.data;
  return new DeviceKTensor(DeviceStorage.fromHost(addon, data), k.shape);
};

/** Uploads every KTensor in a kernel's result (a KTensor or an object of them). */
function uploadResult(addon: CudaAddon, r: unknown): unknown {
  if (r === undefined) return r;
  if (isArg(r)) return upload(addon, r as KTensor);
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r as object)) o[k] = isArg(v) ? upload(addon, v as KTensor) : v;
  return o;
}

const ALL_KERNELS = [
  'unary', 'unaryGrad', 'binary', 'compare', 'where', 'clip', 'cast', 'reduce', 'argReduce', 'transpose', 'slice', 'gather',
  'scatterAdd', 'concat', 'pad', 'oneHot', 'matmul', 'softmax', 'logSoftmax', 'softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'conv2d',
  'conv2dBackwardData', 'conv2dBackwardFilter', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'globalPool2d',
  'globalPool2dBackward', 'batchNorm', 'batchNormBackward', 'dropout',
] as const;

type KernelName = (typeof ALL_KERNELS)[number];

/**
 * Per kernel: why the GPU cannot run these arguments (undefined: it can). Float32 is a given (CUDA tensors are
 * float32 or int32; int32 data goes to the CPU kernels).
 */
function gpuGap(addon: CudaAddon, name: KernelName, args: readonly any[]): string | undefined {
  const f32 = (...ts: any[]): boolean => ts.every((t) => t === undefined || t === null || (t.dtype ?? (t.data instanceof Int32Array ? 'int32' : 'float32')) === 'float32');
  switch (name) {
    case 'matmul': case 'conv2d': case 'conv2dBackwardData': case 'conv2dBackwardFilter':
      return f32(args[0], args[1], args[3]) ? undefined : 'int32 data';
    case 'maxPool2d': case 'avgPool2d': case 'globalPool2d':
      return args[0].shape.length === 4 ? undefined : 'not 4-D';
    case 'maxPool2dBackward': case 'globalPool2dBackward':
      return args[1].shape.length === 4 ? undefined : 'not 4-D';
    case 'avgPool2dBackward':
      return args[1].length === 4 ? undefined : 'not 4-D';
    case 'batchNorm':
      return args[0].shape.length > 0 && (args[5].training || (args[3] && args[4])) ? undefined : 'no statistics';
    case 'batchNormBackward':
      return args[1].shape.length > 0 ? undefined : 'a scalar';
    case 'unary':
      if (!f32(args[1])) return 'int32 data: the elementwise kernels are float32';
      return addon.unaryOpCodes[args[0] as UnaryOp] !== undefined ? undefined : `op '${args[0]}'`;
    case 'unaryGrad':
      return addon.unaryGradOpCodes[args[0]] !== undefined ? undefined : `op '${args[0]}'`;
    case 'binary': {
      const [op, a, b, outShape] = args;
      if (!f32(a, b)) return 'int32 operands: the elementwise kernels are float32';
      const strided = outShape.length <= MAX_COPY_RANK;  // the row form has no rank limit
      return strided || binaryRowOrder(op, a.shape, b.shape, outShape) !== 0 ? undefined : `rank ${outShape.length} > ${MAX_COPY_RANK}`;
    }
    case 'reduce':
      return f32(args[1]) ? undefined : 'int32 data: the reductions are float32';
    case 'softmax': case 'logSoftmax':
      return undefined;
    case 'softmaxCrossEntropy': case 'softmaxCrossEntropyBackward': {
      const logits = name === 'softmaxCrossEntropy' ? args[0] : args[1];
      return logits.shape.length === 2 ? undefined : 'logits not 2-D';
    }
    case 'transpose': case 'slice': case 'pad':
      return args[0].shape.length <= MAX_COPY_RANK ? undefined : `rank ${args[0].shape.length} > ${MAX_COPY_RANK}`;
    case 'compare': case 'where':
      return args[3].length <= MAX_COPY_RANK ? undefined : `rank ${args[3].length} > ${MAX_COPY_RANK}`;
    case 'concat': case 'gather': case 'oneHot': case 'clip': case 'cast': case 'argReduce':
      return undefined;
    case 'scatterAdd':  // dim + 1 is the kernel's sort key
      return args[2] < 2 ** 31 - 1 ? undefined : `dim ${args[2]} >= 2^31 - 1`;
    case 'dropout':  // a bad seed gets the CPU's error
      return f32(args[0]) && Number.isSafeInteger(args[2]) && args[2] >= 0 ? undefined : 'this seed or dtype';
    default:
      return 'not implemented on the GPU';
  }
}

function runOnGpu(k: CudaDeviceKernels, addon: CudaAddon, name: KernelName, c: Call, args: readonly any[]): unknown {
  const d = (v: any): DeviceTensor => c.dev(v);
  const opt = (v: any): DeviceTensor | undefined => (v === undefined || v === null ? undefined : c.dev(v));
  const o = (t: DeviceTensor): DeviceKTensor => out(addon, t);
  switch (name) {
    case 'matmul': return o(k.matmul(d(args[0]), d(args[1]), args[2], opt(args[3])));
    case 'conv2d': return o(k.conv2d(d(args[0]), d(args[1]), args[2], opt(args[3])));
    case 'conv2dBackwardData': return o(k.conv2dBackwardData(d(args[0]), d(args[1]), args[2], args[3]));
    case 'conv2dBackwardFilter': return o(k.conv2dBackwardFilter(d(args[0]), d(args[1]), args[2], args[3]));
    case 'maxPool2d': return o(k.maxPool2d(d(args[0]), args[1]));
    case 'maxPool2dBackward': return o(k.maxPool2dBackward(d(args[0]), d(args[1]), args[2]));
    case 'avgPool2d': return o(k.avgPool2d(d(args[0]), args[1]));
    case 'avgPool2dBackward': return o(k.avgPool2dBackward(d(args[0]), args[1], args[2]));
    case 'globalPool2d': return o(k.globalPool2d(d(args[0]), args[1]));
    case 'globalPool2dBackward': return o(k.globalPool2dBackward(d(args[0]), d(args[1]), args[2]));
    case 'batchNorm': {
      const r = k.batchNorm(d(args[0]), d(args[1]), d(args[2]), opt(args[3]), opt(args[4]), args[5]);
      return { y: o(r.y), mean: o(r.mean), variance: o(r.variance) };
    }
    case 'batchNormBackward': {
      const r = k.batchNormBackward(d(args[0]), d(args[1]), d(args[2]), d(args[3]), d(args[4]), args[5]);
      return { dx: o(r.dx), dgamma: o(r.dgamma), dbeta: o(r.dbeta) };
    }
    case 'unary': return o(k.unary(args[0], d(args[1]), args[2]));
    case 'unaryGrad': return o(k.unaryGrad(args[0], d(args[1]), d(args[2]), d(args[3]), args[4]));
    case 'binary': return o(k.binary(args[0], d(args[1]), d(args[2]), args[3]));
    case 'reduce': return o(k.reduce(args[0], d(args[1]), args[2]));
    case 'softmax': return o(k.softmax(d(args[0]), args[1]));
    case 'logSoftmax': return o(k.logSoftmax(d(args[0]), args[1]));
    case 'softmaxCrossEntropy': return o(k.softmaxCrossEntropy(d(args[0]), d(args[1])));
    case 'softmaxCrossEntropyBackward': return o(k.softmaxCrossEntropyBackward(d(args[0]), d(args[1]), d(args[2])));
    case 'transpose': return o(k.transpose(d(args[0]), args[1]));
    case 'slice': return o(k.slice(d(args[0]), args[1], args[2], args[3]));
    case 'pad': return o(k.pad(d(args[0]), args[1], args[2], args[3]));
    case 'concat': return o(k.concat((args[0] as any[]).map(d), args[1]));
    case 'gather': return o(k.gather(d(args[0]), d(args[1]), args[2]));
    case 'scatterAdd': return o(k.scatterAdd(d(args[0]), d(args[1]), args[2], args[3]));
    case 'oneHot': return o(k.oneHot(d(args[0]), args[1], args[2], args[3]));
    case 'compare': return o(k.compare(args[0], d(args[1]), d(args[2]), args[3]));
    case 'where': return o(k.where(d(args[0]), d(args[1]), d(args[2]), args[3]));
    case 'clip': return o(k.clip(d(args[0]), args[1], args[2]));
    case 'cast': return o(k.cast(d(args[0]), args[1]));
    case 'argReduce': return o(k.argReduce(args[0], d(args[1]), args[2]));
    case 'dropout': {
      const r = k.dropout(d(args[0]), args[1], args[2]);
      return { y: o(r.y), mask: o(r.mask) };
    }
    default: throw new Error(`unreachable: ${name}`);
  }
}

function runOnCpu(addon: CudaAddon, name: KernelName, c: Call, args: readonly any[]): unknown {
  const host = args.map((a) => (isArg(a) ? c.host(a) : Array.isArray(a) && a.some(isArg) ? a.map((x) => c.host(x)) : a));
  const cpu = getBackend() as any;
  return uploadResult(addon, cpu[name](...host));
}

let cached: { addon: CudaAddon; backend: Backend } | undefined;

/** The Backend on CUDA tensors for the loaded (or test) CUDA addon. */
export function cudaTensorBackend(): Backend {
  const addon = cudaAddonFor('cuda backend');
  if (cached?.addon === addon) return cached.backend;
  const k = cudaDeviceKernels(addon);
  const b: Record<string, unknown> = { name: 'cuda' };
  for (const name of ALL_KERNELS) {
    b[name] = (...args: any[]): unknown => {
      const c = new Call(addon, typeof args[0] === 'string' ? `${args[0]} (${name})` : name);  // e.g. "add (binary)"
      c.check(args);
      try {
        const gap = gpuGap(addon, name, args);
        if (gap === undefined) return runOnGpu(k, addon, name, c, args);
        warnFallback(c.kernel, gap);
        return runOnCpu(addon, name, c, args);
      } finally {
        c.done();
      }
    };
  }
  cached = { addon, backend: b as unknown as Backend };
  return cached.backend;
}
