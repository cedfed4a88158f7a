/**
 * Importing PyTorch weights: a state_dict saved as safetensors (`safetensors.torch.save_file(model.state_dict(),
 * path)`), or the same tensors in memory, loaded into the nodegrad model of the same architecture.
 *
 * Names. A nodegrad layer named like the PyTorch module's path in the state_dict takes that module's tensors
 * (models.resnet18() names its layers conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc, as torchvision):
 *
 *   nodegrad layer (weight)              PyTorch tensor                 layout, PyTorch -> nodegrad
 *   Conv2D (kernel, bias)                <layer>.weight, .bias          [O, I/g, KH, KW] -> [KH, KW, I/g, O]
 *   Conv1D (kernel, bias)                <layer>.weight, .bias          [O, I/g, K] -> [K, I/g, O]
 *   DepthwiseConv2D (depthwise_kernel)   <layer>.weight, .bias          Conv2d(C, C*M, groups=C): [C*M, 1, KH, KW]
 *                                                                       -> [KH, KW, C, M] (output channel c*M+m)
 *   Conv2DTranspose (kernel, bias)       <layer>.weight, .bias          ConvTranspose2d: [I, O, KH, KW] -> [KH, KW, O, I]
 *                                                                       (no spatial flip: both are the input
 *                                                                       gradient of the same convolution)
 *   SeparableConv2D                      <layer>.depthwise.weight,      as DepthwiseConv2D and a 1x1 Conv2d
 *                                        <layer>.pointwise.weight,      (PyTorch has no single module: rename
 *                                        <layer>.pointwise.bias         your model's two convolutions to these)
 *   Dense (kernel, bias)                 <layer>.weight, .bias          Linear: [out, in] -> [in, out]
 *   BatchNormalization                   <layer>.weight -> gamma, .bias -> beta, .running_mean -> moving_mean,
 *                                        .running_var -> moving_variance; .num_batches_tracked is ignored
 *   any other layer with weights         <layer>.<weight name>          unchanged
 *
 * Flatten. PyTorch flattens a feature map [N, C, H, W] in C, H, W order, nodegrad flattens [N, H, W, C] in H, W,
 * C order (and [N, C, L] / [N, L, C] for Conv1d). A Dense (or a BatchNormalization) whose input comes from a
 * Flatten (or a Reshape to rank 2) of a rank-3 or rank-4 map, possibly through Dropout, activation and batch
 * norm layers, gets its input rows (its vectors) reordered to match. This is read from the model's graph;
 * `flattenReorder: false` turns it off (when the PyTorch model flattened channels-last data).
 *
 * Renaming. `stripPrefix` removes a prefix from every name that has it ('module.' from DataParallel); `rename`
 * then maps each (stripped) PyTorch name to the name it should have here (`<layer>.<param>`), or null to ignore
 * the tensor.
 *
 * The check. Before any weight is written, every tensor is matched: a model weight with no tensor (missing),
 * a tensor no weight takes (unexpected, unless `allowUnused`), a tensor whose shape is not the one the weight
 * needs in PyTorch's layout (mis-shaped) or whose dtype is not a float dtype: any of these throws one
 * WeightsMismatchError naming all of them, in PyTorch's names and layouts, and the model keeps its weights.
 * F16, BF16 and F64 are converted to float32. A malformed file throws FileFormatError (src/io/safetensors.ts).
 *
 * What the names cannot say: hyper-parameters. Build the nodegrad model with PyTorch's settings: batch norm
 * epsilon 1e-5 (PyTorch's default, Keras' is 1e-3), and padding that pads as PyTorch does (symmetric padding p
 * is 'same' only for stride 1 and odd kernels; otherwise put a zeroPadding2d before a 'valid' convolution, as
 * models.resnet18() does). ConvTranspose2d(k, s, padding=p, output_padding=0) is 'valid' when p = 0 and 'same'
 * when k - s is even and p = (k - s) / 2 (k=3 s=1 p=1, k=4 s=2 p=1); PyTorch's k=3 s=2 p=1 output_padding=1 keeps
 * the rows 1..2n of the full output where 'same' keeps 0..2n-1, so it has no nodegrad padding.
 */
import { DTypeError, ValueError } from '../../errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { Layer, type SymbolicTensor } from '../../nn/layer.js';
import { Model } from '../../nn/model.js';
import { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from '../../nn/conv.js';
import { Dense } from '../../nn/dense.js';
import { BatchNormalization } from '../../nn/normalization.js';
import type { Variable } from '../../nn/variable.js';
import { WeightsMismatchError, type ShapeMismatch } from '../errors.js';
import {
  SafetensorsFile, bfloat16ToFloat32, halfToFloat32, parseSafetensors, readSafetensors, readSafetensorsSync,
} from '../safetensors.js';

/** One tensor given in memory: its dtype (safetensors' 'F32' or PyTorch's 'float32' / 'torch.float32'), shape, values. */
export interface TorchTensorEntry {
  dtype: string;
  shape: readonly number[];
  /**
   * Row-major values: a typed array or a number array; F16 and BF16 as their raw 16-bit patterns in a
   * Uint16Array (what `tensor.view(torch.int16)` holds).
   */
  data: ArrayLike<number> | ArrayLike<bigint>;
}

/**
 * Where the weights come from: a path to a .safetensors file, its bytes, a parsed SafetensorsFile, or a map
 * (or plain object) from PyTorch name to a TorchTensorEntry or a float32 nodegrad Tensor.
 */
export type TorchWeightsSource =
  | string
  | Uint8Array
  | SafetensorsFile
  | ReadonlyMap<string, TorchTensorEntry | Tensor>
  | Readonly<Record<string, TorchTensorEntry | Tensor>>;

export interface ImportTorchOptions {
  /** Removed from the start of every name that has it, before `rename` (e.g. 'module.' from nn.DataParallel). */
  stripPrefix?: string | readonly string[];
  /** Maps a (stripped) PyTorch name to the name it has here ('<layer>.<param>'), or null to ignore the tensor. */
  rename?: (torchName: string) => string | null;
  /** Tensors no weight takes are listed in `ignored` instead of failing the import. Default false. */
  allowUnused?: boolean;
  /**
   * Weights no tensor gives keep their values (listed in `missing`) instead of failing the import: a new head
   * on an imported base. Default false.
   */
  allowMissing?: boolean;
  /** Reorder the rows of a Dense after a Flatten of a feature map from PyTorch's C,H,W order. Default true. */
  flattenReorder?: boolean;
}

export interface ImportTorchReport {
  /** The PyTorch names that were loaded, in the model's weight order. */
  loaded: string[];
  /** The PyTorch names not loaded: num_batches_tracked, names `rename` mapped to null, unused with allowUnused. */
  ignored: string[];
  /** With allowMissing: the expected PyTorch names ('<layer>.<param>') of the weights that kept their values. */
  missing: string[];
}

/** A source tensor, decoded lazily (only after every check passed). */
interface SourceTensor {
  /** The name as given (before stripPrefix and rename): how errors and reports name it. */
  name: string;
  dtype: string;
  shape: readonly number[];
  /** Whether the dtype can become float32. */
  float: boolean;
  decode: () => Float32Array;
}

/** How one nodegrad variable is filled: the PyTorch name and shape it expects, and the layout change. */
interface Target {
  variable: Variable;
  key: string;
  /** The shape of the PyTorch tensor this weight needs. */
  torchShape: number[];
  /** PyTorch layout -> nodegrad layout. */
  convert: (src: Float32Array) => Float32Array;
}

const SOURCE = 'importTorchWeights';

/**
 * Loads PyTorch weights into `model` (see the file comment for the naming and layout rules). Returns which
 * PyTorch tensors were loaded and which were ignored; throws WeightsMismatchError (nothing written) when they
 * do not fit.
 */
export async function importTorchWeights(model: Layer, source: TorchWeightsSource, opts: ImportTorchOptions = {}): Promise<ImportTorchReport> {
  checkArgs(model, opts);
  const file = typeof source === 'string' ? await readSafetensors(source) : source;
  return importTorchWeightsSync(model, file, opts);
}

/** importTorchWeights without the asynchronous file read (a path is read synchronously). */
export function importTorchWeightsSync(model: Layer, source: TorchWeightsSource, opts: ImportTorchOptions = {}): ImportTorchReport {
  checkArgs(model, opts);
  const { label, tensors } = readSource(source);
  const targets = targetsOf(model, opts.flattenReorder ?? true);
  if (targets.length === 0) {
    throw new ValueError(`${SOURCE}: ${model.who} has no weights yet; build it first (give it an inputShape or call it on data)`);
  }

  // Source names -> the names they have here.
  const strip = opts.stripPrefix === undefined ? [] : typeof opts.stripPrefix === 'string' ? [opts.stripPrefix] : [...opts.stripPrefix];
  const ignored: string[] = [];
  const byKey = new Map<string, SourceTensor>();
  for (const t of tensors) {
    let key = t.name;
    const p = strip.find((s) => key.startsWith(s));
    if (p !== undefined) key = key.slice(p.length);
    if (opts.rename) {
      const r = opts.rename(key);
      if (r === null) {
        ignored.push(t.name);
        continue;
      }
      if (typeof r !== 'string' || r === '') {
        throw new ValueError(`${SOURCE}: option 'rename' must return a non-empty string or null, got ${describe(r)} for '${t.name}'`);
      }
      key = r;
    }
    if (key === 'num_batches_tracked' || key.endsWith('.num_batches_tracked')) {
      ignored.push(t.name);
      continue;
    }
    const other = byKey.get(key);
    if (other) throw new ValueError(`${SOURCE}: tensors '${other.name}' and '${t.name}' both map to '${key}'`);
    byKey.set(key, t);
  }

  // Match every weight, then fail with everything that does not fit.
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  const badDtype: { name: string; dtype: string }[] = [];
  const used = new Set<string>();
  const todo: [Target, SourceTensor][] = [];
  for (const target of targets) {
    const src = byKey.get(target.key);
    if (!src) {
      missing.push(target.key);
      continue;
    }
    used.add(target.key);
    if (!sameShape(src.shape, target.torchShape)) mismatched.push({ name: src.name, expected: target.torchShape, got: [...src.shape] });
    else if (!src.float) badDtype.push({ name: src.name, dtype: src.dtype });
    else todo.push([target, src]);
  }
  const unused = [...byKey].filter(([k]) => !used.has(k)).map(([, t]) => t.name);
  const unexpected = opts.allowUnused ? [] : unused;
  const fatalMissing = opts.allowMissing ? [] : missing;
  if (fatalMissing.length || unexpected.length || mismatched.length || badDtype.length) {
    throw new WeightsMismatchError(label, { missing: fatalMissing, unexpected, mismatched, badDtype });
  }

  // Decode and convert everything before writing anything.
  const values = todo.map(([target, src]) => [target.variable, target.convert(src.decode())] as const);
  for (const [v, data] of values) v.assign(data);
  return { loaded: todo.map(([, s]) => s.name), ignored: [...ignored, ...(opts.allowUnused ? unused : [])], missing: opts.allowMissing ? missing : [] };
}

// --------------------------------------------------------------------------------------------------------------
// Sources

const DTYPE_ALIASES: Record<string, string> = {
  float32: 'F32', float: 'F32', float64: 'F64', double: 'F64', float16: 'F16', half: 'F16', bfloat16: 'BF16',
  int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16', short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FLOATS = new Set(['F32', 'F64', 'F16', 'BF16']);

function readSource(source: TorchWeightsSource): { label: string; tensors: SourceTensor[] } {
  if (typeof source === 'string') return fromFile(readSafetensorsSync(source));
  if (source instanceof SafetensorsFile) return fromFile(source);
  if (source instanceof Uint8Array) return fromFile(parseSafetensors(source));
  if (source instanceof Map) return fromEntries([...(source as ReadonlyMap<string, unknown>)]);
  if (source !== null && typeof source === 'object' && !Array.isArray(source) && !ArrayBuffer.isView(source)) {
    return fromEntries(Object.entries(source));
  }
  throw new ValueError(
    `${SOURCE}: argument 'source' must be a path to a .safetensors file, its bytes, a SafetensorsFile, or a map from name to ` +
      `{dtype, shape, data}, got ${describe(source)}`,
  );
}

function fromFile(file: SafetensorsFile): { label: string; tensors: SourceTensor[] } {
  file.verifyChecksum();
  return {
    label: file.source,
    tensors: file.tensors.map((t) => ({
      name: t.name, dtype: t.dtype, shape: t.shape, float: FLOATS.has(t.dtype), decode: () => file.getFloat32(t.name),
    })),
  };
}

function fromEntries(entries: [string, unknown][]): { label: string; tensors: SourceTensor[] } {
  const tensors = entries.map(([name, e]): SourceTensor => {
    if (e instanceof Tensor) {
      const float = e.dtype === 'float32';
      return { name, dtype: float ? 'F32' : 'I32', shape: e.shape, float, decode: () => Float32Array.from(e.data as Float32Array) };
    }
    const what = `tensor '${name}'`;
    if (e === null || typeof e !== 'object') throw new ValueError(`${SOURCE}: ${what} must be {dtype, shape, data} or a Tensor, got ${describe(e)}`);
    const { dtype, shape, data } = e as Partial<TorchTensorEntry>;
    if (typeof dtype !== 'string') throw new DTypeError(`${SOURCE}: ${what} needs a string 'dtype' ('F32', 'float16', ...), got ${describe(dtype)}`);
    const d = DTYPE_ALIASES[dtype.replace(/^torch\./, '')] ?? dtype;
    if (!Array.isArray(shape) || !shape.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new ValueError(`${SOURCE}: ${what} needs 'shape', an array of non-negative integers, got ${describe(shape)}`);
    }
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number') {
      throw new ValueError(`${SOURCE}: ${what} needs 'data', a typed array or an array of numbers, got ${describe(data)}`);
    }
    if (data.length !== size) throw new ValueError(`${SOURCE}: ${what} has ${data.length} values for shape [${shape.join(',')}] (${size})`);
    const float = FLOATS.has(d);
    if ((d === 'F16' || d === 'BF16') && !(data instanceof Uint16Array)) {
      throw new DTypeError(`${SOURCE}: ${what} is ${d}: give its raw 16-bit patterns as a Uint16Array (tensor.view(torch.int16)), got ${describe(data)}`);
    }
    const decode = (): Float32Array => {
      if (d === 'F16') return halfToFloat32(data as Uint16Array);
      if (d === 'BF16') return bfloat16ToFloat32(data as Uint16Array);
      if (data instanceof Float32Array) return Float32Array.from(data);
      const out = new Float32Array(size);
      for (let i = 0; i < size; i++) out[i] = Number((data as ArrayLike<number>)[i]);
      return out;
    };
    return { name, dtype: d, shape, float, decode };
  });
  return { label: '<memory>', tensors };
}

// --------------------------------------------------------------------------------------------------------------
// The model's side: which PyTorch tensor each weight wants, and how to lay it out

/** Every layer of the model that holds weights (nested models expanded), each once. */
function leafLayers(root: Layer): Layer[] {
  const out = new Set<Layer>();
  const walk = (l: Layer): void => {
    if (l instanceof Model) for (const c of l.layers) walk(c);
    else out.add(l);
  };
  walk(root);
  return [...out].filter((l) => l.weights.length > 0);
}

const identity = (a: Float32Array): Float32Array => a;

function targetsOf(model: Layer, reorder: boolean): Target[] {
  const targets: Target[] = [];
  const add = (variable: Variable | null, key: string, torchShape: number[], convert: (a: Float32Array) => Float32Array = identity): void => {
    if (variable) targets.push({ variable, key, torchShape, convert });
  };
  for (const l of leafLayers(model)) {
    const n = l.name;
    if (l instanceof SeparableConv2D) {
      depthwise(add, l.depthwiseKernel!, `${n}.depthwise.weight`);
      const [, , cm, f] = l.pointwiseKernel!.shape;
      add(l.pointwiseKernel, `${n}.pointwise.weight`, [f, cm, 1, 1], (a) => permute(a, [f, cm, 1, 1], [2, 3, 1, 0]));
      add(l.bias, `${n}.pointwise.bias`, [...(l.bias?.shape ?? [])]);
    } else if (l instanceof DepthwiseConv2D) {
      depthwise(add, l.depthwiseKernel!, `${n}.weight`);
      add(l.bias, `${n}.bias`, [...(l.bias?.shape ?? [])]);
    } else if (l instanceof Conv2D || l instanceof Conv2DTranspose) {
      // Conv2D [KH,KW,I,O] <- [O,I,KH,KW]; Conv2DTranspose [KH,KW,O,I] <- [I,O,KH,KW]: the same axis permutation.
      const [kh, kw, a, b] = l.kernel!.shape;
      const torchShape = [b, a, kh, kw];
      add(l.kernel, `${n}.weight`, torchShape, (x) => permute(x, torchShape, [2, 3, 1, 0]));
      add(l.bias, `${n}.bias`, [...(l.bias?.shape ?? [])]);
    } else if (l instanceof Conv1D) {
      const [k, i, o] = l.kernel!.shape;
      add(l.kernel, `${n}.weight`, [o, i, k], (x) => permute(x, [o, i, k], [2, 1, 0]));
      add(l.bias, `${n}.bias`, [...(l.bias?.shape ?? [])]);
    } else if (l instanceof Dense) {
      const [inF, out] = l.kernel!.shape;
      const fm = reorder ? flattenedMap(l) : null;
      const convert = fm
        // [out, C*S] viewed [out, C, S] -> [S, C, out]: row s*C + c here is column c*S + s there.
        ? (x: Float32Array) => permute(x, [out, fm.c, fm.s], [2, 1, 0])
        : (x: Float32Array) => permute(x, [out, inF], [1, 0]);
      add(l.kernel, `${n}.weight`, [out, inF], convert);
      add(l.bias, `${n}.bias`, [out]);
    } else if (l instanceof BatchNormalization) {
      const c = l.movingMean!.shape[0];
      const fm = reorder ? flattenedMap(l) : null;
      const convert = fm ? (x: Float32Array) => permute(x, [fm.c, fm.s], [1, 0]) : identity;
      add(l.gamma, `${n}.weight`, [c], convert);
      add(l.beta, `${n}.bias`, [c], convert);
      add(l.movingMean, `${n}.running_mean`, [c], convert);
      add(l.movingVariance, `${n}.running_var`, [c], convert);
    } else {
      // No PyTorch counterpart known: '<layer>.<weight>' as is (rename can supply it; allowMissing skips it).
      for (const v of l.weights) add(v, `${n}.${v.name.slice(v.name.lastIndexOf('/') + 1)}`, [...v.shape]);
    }
  }
  return targets;
}

type AddTarget = (variable: Variable | null, key: string, torchShape: number[], convert?: (a: Float32Array) => Float32Array) => void;

/** Conv2d(C, C*M, groups=C).weight [C*M, 1, KH, KW] viewed [C, M, KH, KW] -> [KH, KW, C, M]. */
function depthwise(add: AddTarget, v: Variable, key: string): void {
  const [kh, kw, c, m] = v.shape;
  add(v, key, [c * m, 1, kh, kw], (x) => permute(x, [c, m, kh, kw], [2, 3, 0, 1]));
}

/** Layers between a Flatten and a Dense that act on each feature alone (so the feature order carries through). */
const PER_FEATURE = new Set(['Dropout', 'Activation', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'GaussianNoise', 'BatchNormalization']);

/**
 * When every use of `layer` reads a flattened map [N, ..., C] of rank 3 or 4 (through per-feature layers), its C and
 * S (the product of the spatial axes); null when none does. Uses that disagree are an error (one weight cannot have two layouts).
 */
function flattenedMap(layer: Layer): { c: number; s: number } | null {
  const found = layer.inboundNodes.map((node) => traceFlatten(node.inputs[0]));
  const first = found[0] ?? null;
  for (const f of found) {
    if ((f === null) !== (first === null) || (f && first && (f.c !== first.c || f.s !== first.s))) {
      throw new ValueError(`${SOURCE}: ${layer.who} is used on inputs of different layouts (flattened feature maps and others), so its PyTorch weight order is ambiguous`);
    }
  }
  return first;
}

function traceFlatten(t: SymbolicTensor | undefined): { c: number; s: number } | null {
  while (t) {
    const l = t.node.layer;
    const src = t.node.inputs[0];
    if (!src) return null;
    if ((l.className === 'Flatten' || l.className === 'Reshape') && src.shape.length >= 3 && t.shape.length === 2) {
      const dims = src.shape.slice(1);
      if (dims.some((d) => d === null)) return null;
      const c = dims[dims.length - 1]!;
      const s = (dims.slice(0, -1) as number[]).reduce((a, b) => a * b, 1);
      return s === 1 || c === 1 ? null : { c, s };
    }
    if (!PER_FEATURE.has(l.className) || t.node.inputs.length !== 1 || src.shape.length !== t.shape.length) return null;
    t = src;
  }
  return null;
}

/** out = x (row-major, `shape`) with its axes permuted: out axis k is x's axis perm[k]. */
export function permute(x: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(x.length);
  if (x.length === 0) return out;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const inStride = perm.map((p) => strides[p]);
  // Walk the output in order; the innermost axis in a tight loop.
  const last = rank - 1;
  const n = outShape[last];
  const step = inStride[last];
  const idx = new Array<number>(rank).fill(0);
  let o = 0;
  for (;;) {
    let base = 0;
    for (let k = 0; k < last; k++) base += idx[k] * inStride[k];
    for (let j = 0; j < n; j++) out[o++] = x[base + j * step];
    let k = last - 1;
    while (k >= 0 && ++idx[k] === outShape[k]) idx[k--] = 0;
    if (k < 0) break;
  }
  return out;
}

// --------------------------------------------------------------------------------------------------------------

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function checkArgs(model: Layer, opts: ImportTorchOptions): void {
  if (!(model instanceof Layer)) throw new ValueError(`${SOURCE}: argument 'model' must be a nodegrad Model or Layer, got ${describe(model)}`);
  if (opts === null || typeof opts !== 'object') throw new ValueError(`${SOURCE}: options must be an object, got ${describe(opts)}`);
  const keys = ['stripPrefix', 'rename', 'allowUnused', 'allowMissing', 'flattenReorder'];
  for (const k of Object.keys(opts)) if (!keys.includes(k)) throw new ValueError(`${SOURCE}: unknown option '${k}'; options: ${keys.join(', ')}`);
  if (opts.rename !== undefined && typeof opts.rename !== 'function') throw new ValueError(`${SOURCE}: option 'rename' must be a function, got ${describe(opts.rename)}`);
  const sp = opts.stripPrefix;
  if (sp !== undefined && typeof sp !== 'string' && !(Array.isArray(sp) && sp.every((s) => typeof s === 'string'))) {
    throw new ValueError(`${SOURCE}: option 'stripPrefix' must be a string or a list of strings, got ${describe(sp)}`);
  }
  for (const k of ['allowUnused', 'allowMissing', 'flattenReorder'] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== 'boolean') throw new ValueError(`${SOURCE}: option '${k}' must be a boolean, got ${describe(opts[k])}`);
  }
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object') return `${typeof v} ${String(v)}`;
  return Object.prototype.toString.call(v);
}

