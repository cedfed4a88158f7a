/**
 * Creating tensors: from JS values (`tensor`, `scalar`), filled (`zeros`, `ones`, `full`, `eye`), ranges
 * (`arange`, `linspace`) and seeded random draws (`rand`, `uniform`, `randn`, `truncatedNormal`, `randInt`).
 *
 * `tensor()` always copies its input, typed arrays included: tensors are immutable and reshapes share
 * storage, so wrapping a caller's array would let later writes to it change every view.
 * Default dtype is float32 (Keras/TF.js); int32 tensors accept only integers in int32 range
 * (use `cast` to truncate floats).
 * Random ops take `seed`: a number (a fresh generator of that seed: same seed, bit-identical tensor),
 * a `Generator` (drawn from and advanced), or nothing (the global default generator, see random.ts).
 */
import { DTypeError, ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { type DType, allocFor, isDType } from './dtype.js';
import { allocF32 } from '../backends/storage.js';
import { checkFinite, checkNonNegativeInt, checkShape, sizeOf } from './shape.js';
import { describe } from './convert.js';
import { Tensor } from './tensor.js';
import { DeviceStorage, cudaAddonFor } from '../backends/cuda/device-storage.js';
import { type Generator, type SeedLike, resolveGenerator } from './random.js';

/** Nested arrays of numbers as users write them (readonly accepted). */
export type NestedInput = number | readonly NestedInput[];

/** Typed arrays `tensor()` accepts; float ones default to float32, integer ones to int32. */
export type NumericTypedArray =
  | Float32Array | Float64Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array
  | Uint8ClampedArray;

export interface RandomOptions {
  /** A seed (fresh generator) or a Generator to draw from; default: the global generator. */
  seed?: SeedLike;
}
export interface RandOptions extends RandomOptions {
  /** 'float32' (default) or 'float64' (gradient checks); for integers use randInt. */
  dtype?: DType;
}
export interface NormalOptions extends RandomOptions {
  mean?: number;
  std?: number;
  /** 'float32' (default) or 'float64' (gradient checks: the float64 draws are kept unrounded). */
  dtype?: DType;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function checkDType(op: string, arg: string, dtype: unknown): DType {
  if (!isDType(dtype)) throw opError(DTypeError, op, `argument '${arg}' must be 'float32', 'int32' or 'float64', got ${String(dtype)}`);
  return dtype;
}

/** Copies plain numbers into storage of `dtype`, rejecting what int32 cannot hold exactly. */
function fill(op: string, arg: string, values: ArrayLike<number>, dtype: DType, where: (i: number) => string): Float32Array | Int32Array | Float64Array {
  const out = allocFor(dtype, values.length);
  if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
        const at = where(i) === '' ? `argument '${arg}' = ${v}` : `argument '${arg}': ${arg}${where(i)} = ${v}`;
        throw opError(ValueError, op, `${at} is not an int32 integer (use cast() to truncate floats)`);
      }
    }
  }
  out.set(values);
  return out;
}

/** Shape of nested arrays, read along the first elements; `flatten` then checks every branch against it. */
function inferShape(values: NestedInput): number[] {
  const shape: number[] = [];
  let v: NestedInput = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return shape;
}

/** Flattens nested arrays row-major, naming the path (`values[1][0]`) of a ragged branch or a non-number. */
function flatten(op: string, values: NestedInput, shape: readonly number[]): number[] {
  const flat: number[] = [];
  const walk = (v: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof v === 'number') {
        flat.push(v);
        return;
      }
      if (Array.isArray(v)) {
        throw opError(ShapeError, op, `argument 'values' is ragged: ${path} is an array but ${firstPath(depth)} is a number (nesting ${fmtShape(shape)})`);
      }
      throw opError(DTypeError, op, `argument 'values': ${path} is ${describe(v)}, not a number`);
    }
    if (!Array.isArray(v)) {
      if (typeof v === 'number') {
        throw opError(ShapeError, op, `argument 'values' is ragged: ${path} is a number but ${firstPath(depth)} is an array (nesting ${fmtShape(shape)})`);
      }
      throw opError(DTypeError, op, `argument 'values': ${path} is ${describe(v)}, not a number or an array`);
    }
    if (v.length !== shape[depth]) {
      throw opError(ShapeError, op, `argument 'values' is ragged: ${path} has length ${v.length} but ${firstPath(depth)} has length ${shape[depth]}`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
  };
  walk(values, 0, 'values');
  return flat;
}

/** `values[0][0]` to the given depth: the branch the inferred shape came from. */
function firstPath(depth: number): string {
  return `values${'[0]'.repeat(depth)}`;
}

function isNumericTypedArray(v: unknown): v is NumericTypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/**
 * A tensor from a number, nested arrays or a typed array (always copied).
 * `shape` reshapes the values (their count must match); `dtype` defaults to float32 (a Float64Array too: float64
 * is opt-in, for gradient checks), or int32 for integer typed arrays.
 */
export function tensor(values: NestedInput | NumericTypedArray, shape?: readonly number[], dtype?: DType): Tensor {
  const op = 'tensor';
  let flat: ArrayLike<number>;
  let inferred: number[];
  let defaultDType: DType = 'float32';
  let where = (i: number): string => `[${i}]`;
  if (typeof values === 'number') {
    flat = [values];
    inferred = [];
    where = () => '';
  } else if (isNumericTypedArray(values)) {
    flat = values;
    inferred = [values.length];
    if (!(values instanceof Float32Array || values instanceof Float64Array)) defaultDType = 'int32';
  } else if (Array.isArray(values)) {
    inferred = inferShape(values);
    flat = flatten(op, values, inferred);
    const strides = inferred.map((_, a) => sizeOf(inferred.slice(a + 1)));
    where = (i) => strides.map((s, a) => `[${Math.floor(i / s) % inferred[a]}]`).join('');
  } else {
    throw opError(DTypeError, op, `argument 'values' must be a number, an array or a typed array, got ${describe(values)}`);
  }
  const dt = dtype === undefined ? defaultDType : checkDType(op, 'dtype', dtype);
  let outShape = inferred;
  if (shape !== undefined) {
    outShape = checkShape(op, 'shape', shape);
    if (sizeOf(outShape) !== flat.length) {
      throw opError(
        ShapeError,
        op,
        `argument 'shape' ${fmtShape(outShape)} needs ${sizeOf(outShape)} values but argument 'values' ` +
          `${fmtShape(inferred)} has ${flat.length} (use full() to fill a shape with one value)`,
      );
    }
  }
  return new Tensor(fill(op, 'values', flat, dt, where), outShape);
}

/** A rank-0 tensor. */
export function scalar(value: number, dtype: DType = 'float32'): Tensor {
  if (typeof value !== 'number') throw opError(DTypeError, 'scalar', `argument 'value' must be a number, got ${describe(value)}`);
  return new Tensor(fill('scalar', 'value', [value], checkDType('scalar', 'dtype', dtype), () => ''), []);
}

/** `shape` filled with `value` (NaN and infinities allowed for float32). */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  return fullOp('full', shape, value, dtype);
}

function fullOp(op: string, shape: readonly number[], value: number, dtype: DType): Tensor {
  const s = checkShape(op, 'shape', shape);
  const dt = checkDType(op, 'dtype', dtype);
  if (typeof value !== 'number') throw opError(DTypeError, op, `argument 'value' must be a number, got ${describe(value)}`);
  fill(op, 'value', [value], dt, () => '');
  const data = allocFor(dt, sizeOf(s));
  if (value !== 0) data.fill(value);
  return new Tensor(data, s);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return fullOp('zeros', shape, 0, dtype);
}

export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  return fullOp('ones', shape, 1, dtype);
}

/** `y` on the device of `like` (the *Like creators follow their argument's device, as PyTorch's). */
function onDeviceOf(like: Tensor, y: Tensor): Tensor {
  if (like.device === 'cpu') return y;
  const d = y.to(like.device);
  y.dispose();
  return d;
}

function likeOf(op: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw opError(DTypeError, op, `argument 't' must be a Tensor, got ${describe(t)}`);
  return t;
}

/** Same shape as `t`, filled with `value`; dtype defaults to t's. */
/** fullOp on like's device; float32 on CUDA by a fill kernel (the seed of backward, zeros in gradients: no upload mid-step). */
function fullLikeOp(op: string, like: Tensor, value: number, dtype: DType): Tensor {
  if (like.device === 'cpu' || dtype !== 'float32') return onDeviceOf(like, fullOp(op, like.shape, value, dtype));
  if (typeof value !== 'number') throw opError(DTypeError, op, `argument 'value' must be a number, got ${describe(value)}`);
  fill(op, 'value', [value], dtype, () => '');  // the same value checks as on the CPU
  return new Tensor(DeviceStorage.filled(cudaAddonFor(op), sizeOf(like.shape), value), like.shape);
}

export function fullLike(t: Tensor, value: number, dtype?: DType): Tensor {
  const x = likeOf('fullLike', t);
  return fullLikeOp('fullLike', x, value, dtype ?? x.dtype);
}

export function zerosLike(t: Tensor, dtype?: DType): Tensor {
  const x = likeOf('zerosLike', t);
  return fullLikeOp('zerosLike', x, 0, dtype ?? x.dtype);
}

export function onesLike(t: Tensor, dtype?: DType): Tensor {
  const x = likeOf('onesLike', t);
  return fullLikeOp('onesLike', x, 1, dtype ?? x.dtype);
}

/**
 * Evenly spaced values in [start, stop) with NumPy's semantics: `arange(n)` is 0..n-1, the length is
 * ceil((stop - start) / step) (0 if negative), values are start + i * step, and step may be negative.
 */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float32'): Tensor {
  const op = 'arange';
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  checkFinite(op, 'start', start);
  checkFinite(op, 'stop', stop);
  checkFinite(op, 'step', step);
  if (step === 0) throw opError(ValueError, op, `argument 'step' must not be 0`);
  const dt = checkDType(op, 'dtype', dtype);
  if (dt === 'int32') {
    for (const [name, v] of [['start', start], ['stop', stop], ['step', step]] as const) {
      if (!Number.isInteger(v)) throw opError(ValueError, op, `argument '${name}' = ${v} must be an integer for dtype int32`);
    }
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = allocFor(dt, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** `num` evenly spaced float32 values from start to stop, both included (NumPy's linspace). */
export function linspace(start: number, stop: number, num: number): Tensor {
  const op = 'linspace';
  checkFinite(op, 'start', start);
  checkFinite(op, 'stop', stop);
  checkNonNegativeInt(op, 'num', num);
  const data = new Float32Array(num);
  const step = num > 1 ? (stop - start) / (num - 1) : 0;
  for (let i = 0; i < num; i++) data[i] = start + i * step;
  if (num > 1) data[num - 1] = stop; // exact endpoint, as NumPy
  return new Tensor(data, [num]);
}

/** n x m (default n x n) with ones on the main diagonal. */
export function eye(n: number, m?: number, dtype: DType = 'float32'): Tensor {
  const op = 'eye';
  checkNonNegativeInt(op, 'n', n);
  const cols = m === undefined ? n : checkNonNegativeInt(op, 'm', m);
  const data = allocFor(checkDType(op, 'dtype', dtype), n * cols);
  for (let i = 0; i < Math.min(n, cols); i++) data[i * cols + i] = 1;
  return new Tensor(data, [n, cols]);
}

// --- random -------------------------------------------------------------------------------------

/** The largest float32 below x (x a positive-or-negative finite float32 that is not the smallest). */
function float32Below(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Int32Array(f.buffer);
  if (x > 0) bits[0] -= 1;
  else if (x < 0) bits[0] += 1;
  else return -1.401298464324817e-45; // below +-0
  return f[0];
}

function checkOptions(op: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw opError(DTypeError, op, `argument 'options' must be an object, got ${describe(options)}`);
  }
  return options as Record<string, unknown>;
}

function checkStd(op: string, std: unknown): number {
  const s = checkFinite(op, 'std', std);
  if (s < 0) throw opError(ValueError, op, `argument 'std' must be >= 0, got ${s}`);
  return s;
}

/** A float dtype option of the random creators: float32 by default, float64 for gradient checks. */
function floatOption(op: string, dtype: unknown): 'float32' | 'float64' {
  if (dtype === undefined || dtype === 'float32' || dtype === 'float64') return dtype ?? 'float32';
  throw opError(DTypeError, op, `argument 'dtype' must be 'float32' or 'float64', got ${String(dtype)} (use randInt for int32)`);
}

/** Storage for a random creator's values: float64 keeps its draws unrounded. */
function floatStorage(dtype: 'float32' | 'float64', n: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array(n) : allocF32(n);
}

/** Uniform in [0, 1), 24 random bits per value (the same values in float32 and float64; use randInt for integers). */
export function rand(shape: readonly number[], options: RandOptions = {}): Tensor {
  const op = 'rand';
  const s = checkShape(op, 'shape', shape);
  const o = checkOptions(op, options);
  const dtype = floatOption(op, o.dtype);
  const gen = resolveGenerator(op, o.seed as SeedLike | undefined);
  const data = floatStorage(dtype, sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = gen.nextFloat32();
  return new Tensor(data, s);
}

/** Uniform float32 in [min, max); a value that float32 rounding lifts to max is moved just below it. */
export function uniform(shape: readonly number[], min = 0, max = 1, options: RandomOptions = {}): Tensor {
  const op = 'uniform';
  const s = checkShape(op, 'shape', shape);
  checkFinite(op, 'min', min);
  checkFinite(op, 'max', max);
  if (!(Math.fround(min) < Math.fround(max))) {
    throw opError(ValueError, op, `argument 'min' = ${min} must be less than argument 'max' = ${max} (in float32)`);
  }
  const gen = resolveGenerator(op, checkOptions(op, options).seed as SeedLike | undefined);
  const maxF = Math.fround(max);
  const top = float32Below(maxF);
  const data = allocF32(sizeOf(s));
  for (let i = 0; i < data.length; i++) {
    const v = Math.fround(min + (max - min) * gen.nextFloat64());
    data[i] = v >= maxF ? top : v;
  }
  return new Tensor(data, s);
}

function normalArgs(op: string, options: NormalOptions): { mean: number; std: number; gen: Generator; dtype: 'float32' | 'float64' } {
  const o = checkOptions(op, options);
  const mean = o.mean === undefined ? 0 : checkFinite(op, 'mean', o.mean);
  const std = o.std === undefined ? 1 : checkStd(op, o.std);
  const dtype = floatOption(op, o.dtype);
  return { mean, std, gen: resolveGenerator(op, o.seed as SeedLike | undefined), dtype };
}

/** Normal float32 (or float64) with `mean` (0) and `std` (1), by Box–Muller in float64. */
export function randn(shape: readonly number[], options: NormalOptions = {}): Tensor {
  const op = 'randn';
  const s = checkShape(op, 'shape', shape);
  const { mean, std, gen, dtype } = normalArgs(op, options);
  const data = floatStorage(dtype, sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * gen.nextNormal();
  return new Tensor(data, s);
}

/** Normal float32 whose draws beyond 2 std of the mean are re-drawn (TF/Keras truncated_normal). */
export function truncatedNormal(shape: readonly number[], options: NormalOptions = {}): Tensor {
  const op = 'truncatedNormal';
  const s = checkShape(op, 'shape', shape);
  const { mean, std, gen, dtype } = normalArgs(op, options);
  const data = floatStorage(dtype, sizeOf(s));
  for (let i = 0; i < data.length; i++) {
    let z = gen.nextNormal();
    while (Math.abs(z) > 2) z = gen.nextNormal();
    data[i] = mean + std * z;
  }
  return new Tensor(data, s);
}

/** Uniform int32 in [low, high), without modulo bias. */
export function randInt(shape: readonly number[], low: number, high: number, options: RandomOptions = {}): Tensor {
  const op = 'randInt';
  const s = checkShape(op, 'shape', shape);
  for (const [name, v] of [['low', low], ['high', high]] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX + 1) {
      throw opError(ValueError, op, `argument '${name}' must be an integer in int32 range, got ${String(v)}`);
    }
  }
  if (!(low < high)) throw opError(ValueError, op, `argument 'low' = ${low} must be less than argument 'high' = ${high}`);
  const gen = resolveGenerator(op, checkOptions(op, options).seed as SeedLike | undefined);
  const range = high - low; // at most 2^32
  const data = new Int32Array(sizeOf(s));
  for (let i = 0; i < data.length; i++) data[i] = low + gen.nextBelow(range);
  return new Tensor(data, s);
}
