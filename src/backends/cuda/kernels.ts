/**
 * The CUDA backend's kernels, two ways:
 * - `cudaDeviceKernels(addon)`: on device tensors (a buffer and a shape), outputs allocated on the device, nothing
 *   copied to the host: what device-resident Tensors (`tensor.to('cuda')`) call, through tensor-backend.ts. Shapes
 *   and geometry integers are worked out here, as src/backends/native/ does for the CPU addon (same integers, helpers).
 * - `cudaHostKernels(addon)`: the same behind the Backend interface on host arrays (upload, run, download, free),
 *   for the property tests against the reference backend. Anything the GPU kernels do not cover (float64, int32
 *   arithmetic, rank > 8 broadcasts and copies) runs on the reference backend. The movement, comparison and
 *   conversion kernels take float32 and int32 alike.
 */
import type {
  ArgReduceOp, Backend, BatchNormAttrs, BinaryOp, CompareOp, Conv2DAttrs, DataArray, FloatArray, GlobalPoolMode, ITensor, KTensor,
  MatMulAttrs, PadMode, Pool2DAttrs, ReduceOp, UnaryAttrs, UnaryGradOp, UnaryOp,
} from '../backend.js';
import { windowOutSize } from '../backend.js';
import { convGeometry } from '../native/conv.js';
import { isPlainF32, rowBroadcastLength } from '../native/elementwise.js';
import type { PoolGeometry } from '../native/pool.js';
import { referenceBackend } from '../reference/index.js';
import { broadcastStrides } from '../reference/util.js';
import { ValueError, opError } from '../../errors.js';
import { stridesOf } from '../../tensor/shape.js';
import type { CudaAddon, CudaBuffer, CudaDType } from './addon.js';

/** A dense row-major array on the device. */
export interface DeviceTensor {
  readonly buffer: CudaBuffer;
  readonly shape: readonly number[];
  readonly dtype: CudaDType;
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** An uninitialised device tensor. */
export function deviceEmpty(addon: CudaAddon, shape: readonly number[], dtype: CudaDType = 'float32'): DeviceTensor {
  return { buffer: addon.alloc(sizeOf(shape), addon.dtypeCodes[dtype]), shape: [...shape], dtype };
}

/** A device copy of a Float32Array or Int32Array tensor. */
export function upload(addon: CudaAddon, t: KTensor<Float32Array | Int32Array>): DeviceTensor {
  const dtype: CudaDType = t.data instanceof Int32Array ? 'int32' : 'float32';
  const d = deviceEmpty(addon, t.shape, dtype);
  addon.upload(d.buffer, t.data);
  return d;
}

/**
 * Throws the ValueError for a bad index a kernel reported on the device since the last read, and clears the report:
 * device index checks surface at the next read from the GPU (the kernel ran on, with NaN outputs).
 */
export function checkIndexErrors(addon: CudaAddon): void {
  const e = addon.takeIndexError();
  if (e === null) return;
  throw opError(
    ValueError, `${e.op} (cuda)`,
    `argument '${e.argument}' holds ${e.value} at flat position ${e.position}, out of range [0, ${e.bound}); ` +
      'found at the next read from the GPU, so every result computed after that kernel is invalid',
  );
}

/** A host copy (waits for the kernels that write it; throws for a bad index they found). */
export function download(addon: CudaAddon, d: DeviceTensor): KTensor<Float32Array | Int32Array> {
  const n = sizeOf(d.shape);
  const data = d.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  addon.download(d.buffer, data);
  checkIndexErrors(addon);
  return { data, shape: [...d.shape] };
}

/** Releases the device memory now (the finalizer would, later). */
export function release(addon: CudaAddon, ...ts: (DeviceTensor | undefined)[]): void {
  for (const t of ts) if (t) addon.free(t.buffer);
}

function poolGeometry(xShape: readonly number[], attrs: Pool2DAttrs): PoolGeometry {
  const [n, h, w, c] = xShape;
  return [n, h, w, c, attrs.poolSize[0], attrs.poolSize[1], attrs.strides[0], attrs.strides[1], ...attrs.pads];
}

function poolOutShape(xShape: readonly number[], attrs: Pool2DAttrs): number[] {
  const [n, h, w, c] = xShape;
  const [pt, pb, pl, pr] = attrs.pads;
  return [n, windowOutSize(h, attrs.poolSize[0], attrs.strides[0], 1, pt, pb), windowOutSize(w, attrs.poolSize[1], attrs.strides[1], 1, pl, pr), c];
}

/** Runs of consecutive axes in sorted distinct `axes`: [[2, 3], [0, 0]] last run first. */
function axisRuns(axes: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else runs.push([a, a]);
  }
  return runs.reverse();
}

/** The most axes the strided-copy and broadcasting kernels take (native/cuda/include/ngcuda/movement.h). */
export const MAX_COPY_RANK = 8;

/**
 * How binaryF32's row form takes (a, b): 1 as given (a fills the output, b repeats over its trailing axes), -1 swapped
 * (add and mul only: IEEE addition and multiplication commute), 0 not at all (the strided kernel's case).
 */
export function binaryRowOrder(op: BinaryOp, aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): number {
  const n = sizeOf(outShape);
  if (sizeOf(aShape) === n && rowBroadcastLength(bShape, outShape) >= 0) return 1;
  if ((op === 'add' || op === 'mul') && sizeOf(bShape) === n && rowBroadcastLength(aShape, outShape) >= 0) return -1;
  return 0;
}

/** [outer, len, inner] around `axis` of `shape` (negative axes count from the end). */
function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  const ax = axis < 0 ? axis + shape.length : axis;
  return [sizeOf(shape.slice(0, ax)), shape[ax], sizeOf(shape.slice(ax + 1))];
}

/** The uint32 bits a typed array of `dtype` stores for `value` (Float32Array: rounded; Int32Array: ToInt32). */
function storedBits(value: number, dtype: CudaDType): number {
  const words = new Uint32Array(1);
  if (dtype === 'int32') new Int32Array(words.buffer)[0] = value;
  else new Float32Array(words.buffer)[0] = value;
  return words[0];
}

export interface CudaDeviceKernels {
  matmul(a: DeviceTensor, b: DeviceTensor, attrs: MatMulAttrs, bias?: DeviceTensor): DeviceTensor;
  conv2d(x: DeviceTensor, w: DeviceTensor, attrs: Conv2DAttrs, bias?: DeviceTensor): DeviceTensor;
  conv2dBackwardData(dy: DeviceTensor, w: DeviceTensor, xShape: readonly number[], attrs: Conv2DAttrs): DeviceTensor;
  conv2dBackwardFilter(x: DeviceTensor, dy: DeviceTensor, wShape: readonly number[], attrs: Conv2DAttrs): DeviceTensor;
  maxPool2d(x: DeviceTensor, attrs: Pool2DAttrs): DeviceTensor;
  maxPool2dBackward(dy: DeviceTensor, x: DeviceTensor, attrs: Pool2DAttrs): DeviceTensor;
  avgPool2d(x: DeviceTensor, attrs: Pool2DAttrs): DeviceTensor;
  avgPool2dBackward(dy: DeviceTensor, xShape: readonly number[], attrs: Pool2DAttrs): DeviceTensor;
  globalPool2d(x: DeviceTensor, mode: GlobalPoolMode): DeviceTensor;
  globalPool2dBackward(dy: DeviceTensor, x: DeviceTensor, mode: GlobalPoolMode): DeviceTensor;
  batchNorm(x: DeviceTensor, gamma: DeviceTensor, beta: DeviceTensor, mean: DeviceTensor | undefined,
    variance: DeviceTensor | undefined, attrs: BatchNormAttrs): { y: DeviceTensor; mean: DeviceTensor; variance: DeviceTensor };
  batchNormBackward(dy: DeviceTensor, x: DeviceTensor, gamma: DeviceTensor, mean: DeviceTensor, variance: DeviceTensor,
    attrs: BatchNormAttrs): { dx: DeviceTensor; dgamma: DeviceTensor; dbeta: DeviceTensor };
  /** op in unaryOpCodes. */
  unary(op: UnaryOp, x: DeviceTensor, attrs: UnaryAttrs): DeviceTensor;
  /** op in unaryGradOpCodes. */
  unaryGrad(op: UnaryGradOp, x: DeviceTensor, y: DeviceTensor, dy: DeviceTensor, attrs: UnaryAttrs): DeviceTensor;
  /** float32; output rank <= MAX_COPY_RANK unless binaryRowOrder gives the row form. */
  binary(op: BinaryOp, a: DeviceTensor, b: DeviceTensor, outShape: readonly number[]): DeviceTensor;
  /** Over sorted distinct axes. */
  reduce(op: ReduceOp, x: DeviceTensor, axes: readonly number[]): DeviceTensor;
  /** Along `axis` (negative axes count from the end). */
  softmax(x: DeviceTensor, axis: number): DeviceTensor;
  logSoftmax(x: DeviceTensor, axis: number): DeviceTensor;
  softmaxCrossEntropy(logits: DeviceTensor, labels: DeviceTensor): DeviceTensor;
  softmaxCrossEntropyBackward(dloss: DeviceTensor, logits: DeviceTensor, labels: DeviceTensor): DeviceTensor;
  // Data movement, comparisons, conversions and dropout: any dtype unless noted, the reference's bits exactly.
  /** Rank <= MAX_COPY_RANK. */
  transpose(x: DeviceTensor, perm: readonly number[]): DeviceTensor;
  /** Rank <= MAX_COPY_RANK; begin, size, steps resolved and in range. */
  slice(x: DeviceTensor, begin: readonly number[], size: readonly number[], steps: readonly number[]): DeviceTensor;
  /** Rank <= MAX_COPY_RANK. */
  pad(x: DeviceTensor, paddings: readonly (readonly [number, number])[], mode: PadMode, value: number): DeviceTensor;
  concat(xs: readonly DeviceTensor[], axis: number): DeviceTensor;
  /** Indices are checked on the device (checkIndexErrors). */
  gather(x: DeviceTensor, indices: DeviceTensor, axis: number): DeviceTensor;
  /** float32 g; int32 indices read flat, checked on the device. */
  scatterAdd(g: DeviceTensor, indices: DeviceTensor, dim: number, axis: number): DeviceTensor;
  oneHot(indices: DeviceTensor, depth: number, onValue: number, offValue: number): DeviceTensor;
  /** Output rank <= MAX_COPY_RANK. */
  compare(op: CompareOp, a: DeviceTensor, b: DeviceTensor, outShape: readonly number[]): DeviceTensor;
  /** Output rank <= MAX_COPY_RANK. */
  where(cond: DeviceTensor, a: DeviceTensor, b: DeviceTensor, outShape: readonly number[]): DeviceTensor;
  clip(x: DeviceTensor, lo: number, hi: number): DeviceTensor;
  cast(x: DeviceTensor, dtype: CudaDType): DeviceTensor;
  argReduce(op: ArgReduceOp, x: DeviceTensor, axis: number): DeviceTensor;
  /** float32; seed a safe integer >= 0, 0 <= rate < 1. */
  dropout(x: DeviceTensor, rate: number, seed: number): { y: DeviceTensor; mask: DeviceTensor };
  /** In place on w, m, v (and vHat), src/optim/adam.ts's formula; nothing when `probe` (one float) is not finite. */
  adamUpdate(w: DeviceTensor, g: DeviceTensor, m: DeviceTensor, v: DeviceTensor, vHat: DeviceTensor | null,
    alpha: number, c1: number, c2: number, epsilon: number, keep: number, probe: DeviceTensor | null): void;
  /** In place on w (and velocity), src/optim/sgd.ts's formula; nothing when `probe` is not finite. */
  sgdUpdate(w: DeviceTensor, g: DeviceTensor, velocity: DeviceTensor | null, learningRate: number, momentum: number,
    nesterov: boolean, keep: number, probe: DeviceTensor | null): void;
}

/** The kernels on device tensors (shapes already validated by the ops layer, as for every backend). */
export function cudaDeviceKernels(addon: CudaAddon): CudaDeviceKernels {
  const a = addon;
  const empty = (shape: readonly number[], dtype: CudaDType = 'float32'): DeviceTensor => deviceEmpty(a, shape, dtype);
  const act = (name: string | undefined): number => (name === 'relu' ? a.matmulActivationCodes.relu : a.matmulActivationCodes.linear);
  const bufOrNull = (t: DeviceTensor | undefined | null): CudaBuffer | null => (t ? t.buffer : null);

  function convOut(xShape: readonly number[], wShape: readonly number[], attrs: Conv2DAttrs): [number, number] {
    const [pt, pb, pl, pr] = attrs.pads;
    return [
      windowOutSize(xShape[1], wShape[0], attrs.strides[0], attrs.dilations[0], pt, pb),
      windowOutSize(xShape[2], wShape[1], attrs.strides[1], attrs.dilations[1], pl, pr),
    ];
  }

  return {
    matmul(x, y, attrs, bias) {
      const [ba, r0, c0] = x.shape;
      const [bb, r1, c1] = y.shape;
      const m = attrs.transposeA ? c0 : r0, k = attrs.transposeA ? r0 : c0, n = attrs.transposeB ? r1 : c1;
      const batch = ba === 1 ? bb : ba;  // each operand's batch is the output's or 1 (broadcast); 0 stays 0
      const out = empty([batch, m, n]);
      a.matmulF32(x.buffer, y.buffer, out.buffer, batch, ba, bb, m, n, k, attrs.transposeA, attrs.transposeB, bufOrNull(bias), act(attrs.activation));
      return out;
    },
    conv2d(x, w, attrs, bias) {
      const [oh, ow] = convOut(x.shape, w.shape, attrs);
      const out = empty([x.shape[0], oh, ow, w.shape[3]]);
      a.conv2dF32(x.buffer, w.buffer, bufOrNull(bias), out.buffer, ...convGeometry(x.shape, w.shape, attrs, oh, ow), act(attrs.activation));
      return out;
    },
    conv2dBackwardData(dy, w, xShape, attrs) {
      const dx = empty(xShape);
      a.conv2dBackwardDataF32(dy.buffer, w.buffer, dx.buffer, ...convGeometry(xShape, w.shape, attrs, dy.shape[1], dy.shape[2]));
      return dx;
    },
    conv2dBackwardFilter(x, dy, wShape, attrs) {
      const dw = empty(wShape);
      a.conv2dBackwardFilterF32(x.buffer, dy.buffer, dw.buffer, ...convGeometry(x.shape, wShape, attrs, dy.shape[1], dy.shape[2]));
      return dw;
    },
    maxPool2d(x, attrs) {
      const y = empty(poolOutShape(x.shape, attrs));
      a.maxPool2dF32(x.buffer, y.buffer, ...poolGeometry(x.shape, attrs));
      return y;
    },
    maxPool2dBackward(dy, x, attrs) {
      const dx = empty(x.shape);
      a.maxPool2dBackwardF32(dy.buffer, x.buffer, dx.buffer, ...poolGeometry(x.shape, attrs));
      return dx;
    },
    avgPool2d(x, attrs) {
      const y = empty(poolOutShape(x.shape, attrs));
      a.avgPool2dF32(x.buffer, y.buffer, ...poolGeometry(x.shape, attrs));
      return y;
    },
    avgPool2dBackward(dy, xShape, attrs) {
      const dx = empty(xShape);
      a.avgPool2dBackwardF32(dy.buffer, dx.buffer, ...poolGeometry(xShape, attrs));
      return dx;
    },
    globalPool2d(x, mode) {
      const [n, h, w, c] = x.shape;
      const y = empty([n, c]);
      a.globalPool2dF32(mode === 'max' ? 1 : 0, x.buffer, y.buffer, n, h * w, c);
      return y;
    },
    globalPool2dBackward(dy, x, mode) {
      const [n, h, w, c] = x.shape;
      const dx = empty(x.shape);
      a.globalPool2dBackwardF32(mode === 'max' ? 1 : 0, dy.buffer, x.buffer, dx.buffer, n, h * w, c);
      return dx;
    },
    batchNorm(x, gamma, beta, mean, variance, attrs) {
      const c = gamma.shape[0];
      const y = empty(x.shape);
      const m = empty([c]);
      const v = empty([c]);
      if (attrs.training) {
        a.batchNormTrainF32(x.buffer, gamma.buffer, beta.buffer, attrs.epsilon, y.buffer, m.buffer, v.buffer);
      } else {
        a.copy(m.buffer, mean!.buffer);
        a.copy(v.buffer, variance!.buffer);
        a.batchNormInferF32(x.buffer, gamma.buffer, beta.buffer, m.buffer, v.buffer, attrs.epsilon, y.buffer);
      }
      return { y, mean: m, variance: v };
    },
    batchNormBackward(dy, x, gamma, mean, variance, attrs) {
      const c = gamma.shape[0];
      const dx = empty(x.shape);
      const dgamma = empty([c]);
      const dbeta = empty([c]);
      a.batchNormBackwardF32(attrs.training, dy.buffer, x.buffer, gamma.buffer, mean.buffer, variance.buffer, attrs.epsilon,
        dx.buffer, dgamma.buffer, dbeta.buffer);
      return { dx, dgamma, dbeta };
    },
    unary(op, x, attrs) {
      const y = empty(x.shape);
      a.unaryF32(a.unaryOpCodes[op], x.buffer, y.buffer, attrs.alpha ?? 0);
      return y;
    },
    unaryGrad(op, x, y, dy, attrs) {
      const dx = empty(x.shape);
      a.unaryGradF32(a.unaryGradOpCodes[op], x.buffer, y.buffer, dy.buffer, dx.buffer, attrs.alpha ?? 0);
      return dx;
    },
    binary(op, x, y, outShape) {
      const out = empty(outShape);
      const code = a.binaryOpCodes[op];
      const order = binaryRowOrder(op, x.shape, y.shape, outShape);
      if (order === 1) a.binaryF32(code, x.buffer, y.buffer, out.buffer);
      else if (order === -1) a.binaryF32(code, y.buffer, x.buffer, out.buffer);
      else {
        a.binaryBroadcastF32(code, x.buffer, y.buffer, out.buffer, outShape, broadcastStrides(x.shape, outShape),
          broadcastStrides(y.shape, outShape));
      }
      return out;
    },
    reduce(op, x, axes) {
      const code = a.reduceOpCodes[op];
      let cur = x;
      let shape = [...x.shape];
      for (const [lo, hi] of axisRuns(axes)) {  // last run first: the earlier axes keep their positions
        const outer = sizeOf(shape.slice(0, lo)), len = sizeOf(shape.slice(lo, hi + 1)), inner = sizeOf(shape.slice(hi + 1));
        shape = [...shape.slice(0, lo), ...shape.slice(hi + 1)];
        const next = empty(shape);
        a.reduceF32(code, cur.buffer, next.buffer, outer, len, inner);
        if (cur !== x) release(a, cur);
        cur = next;
      }
      if (cur === x) {  // no axes: a copy
        const out = empty(x.shape);
        a.copy(out.buffer, x.buffer);
        return out;
      }
      return cur;
    },
    softmax(x, axis) {
      const y = empty(x.shape);
      a.softmaxF32(x.buffer, y.buffer, ...aroundAxis(x.shape, axis));
      return y;
    },
    logSoftmax(x, axis) {
      const y = empty(x.shape);
      a.logSoftmaxF32(x.buffer, y.buffer, ...aroundAxis(x.shape, axis));
      return y;
    },
    softmaxCrossEntropy(logits, labels) {
      const [n, c] = logits.shape;
      const loss = empty([n]);
      a.softmaxCrossEntropyF32(logits.buffer, labels.buffer, loss.buffer, n, c);
      return loss;
    },
    softmaxCrossEntropyBackward(dloss, logits, labels) {
      const [n, c] = logits.shape;
      const d = empty(logits.shape);
      a.softmaxCrossEntropyBackwardF32(dloss.buffer, logits.buffer, labels.buffer, d.buffer, n, c);
      return d;
    },
    transpose(x, perm) {
      const st = stridesOf(x.shape);
      const shape = perm.map((p) => x.shape[p]);
      const out = empty(shape, x.dtype);
      a.stridedCopy(x.buffer, out.buffer, shape, shape, perm.map((p) => st[p]), shape.map(() => 0), shape.map(() => 1), a.copyModeCodes.inRange, 0);
      return out;
    },
    slice(x, begin, size, steps) {
      const out = empty(size, x.dtype);
      a.stridedCopy(x.buffer, out.buffer, size, x.shape, stridesOf(x.shape), begin, steps, a.copyModeCodes.inRange, 0);
      return out;
    },
    pad(x, paddings, mode, value) {
      const shape = x.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
      const out = empty(shape, x.dtype);
      a.stridedCopy(x.buffer, out.buffer, shape, x.shape, stridesOf(x.shape), paddings.map((p) => -p[0]), shape.map(() => 1),
        a.copyModeCodes[mode], storedBits(value, x.dtype));
      return out;
    },
    concat(xs, axis) {
      const first = xs[0].shape;
      const outer = sizeOf(first.slice(0, axis)), inner = sizeOf(first.slice(axis + 1));
      const total = xs.reduce((t, x) => t + x.shape[axis], 0);
      const shape = [...first];
      shape[axis] = total;
      const out = empty(shape, xs[0].dtype);
      let offset = 0;
      for (const x of xs) {
        const chunk = x.shape[axis] * inner;
        a.concatCopy(x.buffer, out.buffer, outer, chunk, total * inner, offset);
        offset += chunk;
      }
      return out;
    },
    gather(x, indices, axis) {
      const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
      const out = empty([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
      a.gather(x.buffer, indices.buffer, out.buffer, outer, x.shape[axis], inner);
      return out;
    },
    scatterAdd(g, indices, dim, axis) {
      const outer = sizeOf(g.shape.slice(0, axis)), inner = sizeOf(g.shape.slice(axis + 1));
      const out = empty(g.shape.map((d, i) => (i === axis ? dim : d)));
      a.scatterAddF32(g.buffer, indices.buffer, out.buffer, outer, dim, inner);
      return out;
    },
    oneHot(indices, depth, onValue, offValue) {
      const out = empty([...indices.shape, depth]);
      a.oneHotF32(indices.buffer, out.buffer, depth, onValue, offValue);
      return out;
    },
    compare(op, x, y, outShape) {
      const out = empty(outShape, 'int32');
      a.compare(a.compareOpCodes[op], x.buffer, y.buffer, out.buffer, outShape, broadcastStrides(x.shape, outShape),
        broadcastStrides(y.shape, outShape));
      return out;
    },
    where(cond, x, y, outShape) {
      const out = empty(outShape, x.dtype);
      a.where(cond.buffer, x.buffer, y.buffer, out.buffer, outShape, broadcastStrides(cond.shape, outShape),
        broadcastStrides(x.shape, outShape), broadcastStrides(y.shape, outShape));
      return out;
    },
    clip(x, lo, hi) {
      const out = empty(x.shape, x.dtype);
      a.clip(x.buffer, out.buffer, lo, hi);
      return out;
    },
    cast(x, dtype) {
      const out = empty(x.shape, dtype);
      a.cast(x.buffer, out.buffer);
      return out;
    },
    argReduce(op, x, axis) {
      const outer = sizeOf(x.shape.slice(0, axis)), inner = sizeOf(x.shape.slice(axis + 1));
      const out = empty([...x.shape.slice(0, axis), ...x.shape.slice(axis + 1)], 'int32');
      a.argReduce(a.argReduceOpCodes[op], x.buffer, out.buffer, outer, x.shape[axis], inner);
      return out;
    },
    dropout(x, rate, seed) {
      const y = empty(x.shape);
      const mask = empty(x.shape);
      a.dropoutF32(x.buffer, y.buffer, mask.buffer, rate, seed);
      return { y, mask };
    },
    adamUpdate(w, g, m, v, vHat, alpha, c1, c2, epsilon, keep, probe) {
      a.adamUpdateF32(w.buffer, g.buffer, m.buffer, v.buffer, bufOrNull(vHat), alpha, c1, c2, epsilon, keep, bufOrNull(probe));
    },
    sgdUpdate(w, g, velocity, learningRate, momentum, nesterov, keep, probe) {
      a.sgdUpdateF32(w.buffer, g.buffer, bufOrNull(velocity), learningRate, momentum, nesterov, keep, bufOrNull(probe));
    },
  };
}

/**
 * The kernels behind the Backend interface on host arrays: each call uploads its inputs, runs on the GPU, downloads
 * the outputs and frees every buffer. Slow (two copies per call) but exact to the device kernels: what the property
 * tests compare with the reference backend. Cases the device kernels do not cover run on the reference.
 */
export function cudaHostKernels(addon: CudaAddon): Partial<Backend> {
  const k = cudaDeviceKernels(addon);
  const ref = referenceBackend;
  const f32 = (...ts: (KTensor<DataArray> | undefined)[]): boolean => ts.every((t) => t === undefined || isPlainF32(t.data));

  // Uploads the tensors, runs fn on them, downloads what it returns and frees everything.
  function onDevice<R>(inputs: (KTensor<DataArray> | undefined)[], fn: (d: (DeviceTensor | undefined)[]) => R,
    collect: (r: R) => DeviceTensor[]): { r: R; host: KTensor[] } {
    const d = inputs.map((t) => (t ? upload(addon, t as KTensor<Float32Array | Int32Array>) : undefined));
    let out: DeviceTensor[] = [];
    try {
      const r = fn(d);
      out = collect(r);
      return { r, host: out.map((t) => download(addon, t)) };
    } finally {
      release(addon, ...d, ...out);
    }
  }
  const one = (fn: (d: DeviceTensor[]) => DeviceTensor, ...inputs: (KTensor<DataArray> | undefined)[]): KTensor =>
    onDevice(inputs, (d) => fn(d as DeviceTensor[]), (r) => [r]).host[0];
  // float32 or int32 (the movement and selection kernels take either; float64 runs on the reference)
  const w32 = (...ts: KTensor<DataArray>[]): boolean => ts.every((t) => t.data instanceof Float32Array || t.data instanceof Int32Array);

  return {
    name: 'cuda',
    matmul<A extends FloatArray>(x: KTensor<A>, y: KTensor<A>, attrs: MatMulAttrs, bias?: KTensor<A>): KTensor<A> {
      if (!f32(x, y, bias)) return ref.matmul(x, y, attrs, bias);
      return one((d) => k.matmul(d[0], d[1], attrs, d[2]), x, y, bias) as KTensor<A>;
    },
    conv2d<A extends FloatArray>(x: KTensor<A>, w: KTensor<A>, attrs: Conv2DAttrs, bias?: KTensor<A>): KTensor<A> {
      if (!f32(x, w, bias)) return ref.conv2d(x, w, attrs, bias);
      return one((d) => k.conv2d(d[0], d[1], attrs, d[2]), x, w, bias) as KTensor<A>;
    },
    conv2dBackwardData<A extends FloatArray>(dy: KTensor<A>, w: KTensor<A>, xShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
      if (!f32(dy, w)) return ref.conv2dBackwardData(dy, w, xShape, attrs);
      return one((d) => k.conv2dBackwardData(d[0], d[1], xShape, attrs), dy, w) as KTensor<A>;
    },
    conv2dBackwardFilter<A extends FloatArray>(x: KTensor<A>, dy: KTensor<A>, wShape: readonly number[], attrs: Conv2DAttrs): KTensor<A> {
      if (!f32(x, dy)) return ref.conv2dBackwardFilter(x, dy, wShape, attrs);
      return one((d) => k.conv2dBackwardFilter(d[0], d[1], wShape, attrs), x, dy) as KTensor<A>;
    },
    maxPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
      if (!f32(x) || x.shape.length !== 4) return ref.maxPool2d(x, attrs);
      return one((d) => k.maxPool2d(d[0], attrs), x) as KTensor<A>;
    },
    maxPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
      if (!f32(dy, x) || x.shape.length !== 4) return ref.maxPool2dBackward(dy, x, attrs);
      return one((d) => k.maxPool2dBackward(d[0], d[1], attrs), dy, x) as KTensor<A>;
    },
    avgPool2d<A extends FloatArray>(x: KTensor<A>, attrs: Pool2DAttrs): KTensor<A> {
      if (!f32(x) || x.shape.length !== 4) return ref.avgPool2d(x, attrs);
      return one((d) => k.avgPool2d(d[0], attrs), x) as KTensor<A>;
    },
    avgPool2dBackward<A extends FloatArray>(dy: KTensor<A>, xShape: readonly number[], attrs: Pool2DAttrs): KTensor<A> {
      if (!f32(dy) || xShape.length !== 4) return ref.avgPool2dBackward(dy, xShape, attrs);
      return one((d) => k.avgPool2dBackward(d[0], xShape, attrs), dy) as KTensor<A>;
    },
    globalPool2d<A extends FloatArray>(x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
      if (!f32(x) || x.shape.length !== 4) return ref.globalPool2d(x, mode);
      return one((d) => k.globalPool2d(d[0], mode), x) as KTensor<A>;
    },
    globalPool2dBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, mode: GlobalPoolMode): KTensor<A> {
      if (!f32(dy, x) || x.shape.length !== 4) return ref.globalPool2dBackward(dy, x, mode);
      return one((d) => k.globalPool2dBackward(d[0], d[1], mode), dy, x) as KTensor<A>;
    },
    batchNorm<A extends FloatArray>(x: KTensor<A>, gamma: KTensor<A>, beta: KTensor<A>, mean: KTensor<A> | undefined,
      variance: KTensor<A> | undefined, attrs: BatchNormAttrs): { y: KTensor<A>; mean: KTensor<A>; variance: KTensor<A> } {
      const stats = attrs.training ? [] : [mean, variance];
      if (!f32(x, gamma, beta, ...stats) || x.shape.length === 0 || stats.some((t) => t === undefined)) {
        return ref.batchNorm(x, gamma, beta, mean, variance, attrs);
      }
      const { host } = onDevice([x, gamma, beta, mean, variance],
        (d) => k.batchNorm(d[0]!, d[1]!, d[2]!, d[3], d[4], attrs), (r) => [r.y, r.mean, r.variance]);
      return { y: host[0] as KTensor<A>, mean: host[1] as KTensor<A>, variance: host[2] as KTensor<A> };
    },
    batchNormBackward<A extends FloatArray>(dy: KTensor<A>, x: KTensor<A>, gamma: KTensor<A>, mean: KTensor<A>,
      variance: KTensor<A>, attrs: BatchNormAttrs): { dx: KTensor<A>; dgamma: KTensor<A>; dbeta: KTensor<A> } {
      if (!f32(dy, x, gamma, mean, variance) || x.shape.length === 0) return ref.batchNormBackward(dy, x, gamma, mean, variance, attrs);
      const { host } = onDevice([dy, x, gamma, mean, variance],
        (d) => k.batchNormBackward(d[0]!, d[1]!, d[2]!, d[3]!, d[4]!, attrs), (r) => [r.dx, r.dgamma, r.dbeta]);
      return { dx: host[0] as KTensor<A>, dgamma: host[1] as KTensor<A>, dbeta: host[2] as KTensor<A> };
    },
    unary<A extends DataArray>(op: UnaryOp, x: KTensor<A>, attrs: UnaryAttrs): KTensor<A> {
      if (!f32(x)) return ref.unary(op, x, attrs);
      return one((d) => k.unary(op, d[0], attrs), x) as KTensor<A>;
    },
    unaryGrad<A extends FloatArray>(op: UnaryGradOp, x: KTensor<A>, y: KTensor<A>, dy: KTensor<A>, attrs: UnaryAttrs): KTensor<A> {
      if (!f32(x, y, dy) || addon.unaryGradOpCodes[op] === undefined) return ref.unaryGrad(op, x, y, dy, attrs);
      return one((d) => k.unaryGrad(op, d[0], d[1], d[2], attrs), x, y, dy) as KTensor<A>;
    },
    binary<A extends DataArray>(op: BinaryOp, x: KTensor<A>, y: KTensor<A>, outShape: readonly number[]): KTensor<A> {
      if (!f32(x, y) || (outShape.length > MAX_COPY_RANK && binaryRowOrder(op, x.shape, y.shape, outShape) === 0)) {
        return ref.binary(op, x, y, outShape);
      }
      return one((d) => k.binary(op, d[0], d[1], outShape), x, y) as KTensor<A>;
    },
    reduce<A extends DataArray>(op: ReduceOp, x: KTensor<A>, axes: readonly number[]): KTensor<A> {
      if (!f32(x)) return ref.reduce(op, x, axes);
      return one((d) => k.reduce(op, d[0], axes), x) as KTensor<A>;
    },
    softmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A> {
      if (!f32(x)) return ref.softmax(x, axis);
      return one((d) => k.softmax(d[0], axis), x) as KTensor<A>;
    },
    logSoftmax<A extends FloatArray>(x: KTensor<A>, axis: number): KTensor<A> {
      if (!f32(x)) return ref.logSoftmax(x, axis);
      return one((d) => k.logSoftmax(d[0], axis), x) as KTensor<A>;
    },
    softmaxCrossEntropy<A extends FloatArray>(logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> {
      if (!f32(logits) || logits.shape.length !== 2 || !(labels.data instanceof Int32Array || isPlainF32(labels.data))) {
        return ref.softmaxCrossEntropy(logits, labels);
      }
      return one((d) => k.softmaxCrossEntropy(d[0], d[1]), logits, labels) as KTensor<A>;
    },
    softmaxCrossEntropyBackward<A extends FloatArray>(dloss: KTensor<A>, logits: KTensor<A>, labels: ITensor | KTensor<A>): KTensor<A> {
      if (!f32(dloss, logits) || logits.shape.length !== 2 || !(labels.data instanceof Int32Array || isPlainF32(labels.data))) {
        return ref.softmaxCrossEntropyBackward(dloss, logits, labels);
      }
      return one((d) => k.softmaxCrossEntropyBackward(d[0], d[1], d[2]), dloss, logits, labels) as KTensor<A>;
    },
    transpose<A extends DataArray>(x: KTensor<A>, perm: readonly number[]): KTensor<A> {
      if (!w32(x) || x.shape.length > MAX_COPY_RANK) return ref.transpose(x, perm);
      return one((d) => k.transpose(d[0], perm), x) as KTensor<A>;
    },
    slice<A extends DataArray>(x: KTensor<A>, begin: readonly number[], size: readonly number[], steps: readonly number[]): KTensor<A> {
      if (!w32(x) || x.shape.length > MAX_COPY_RANK) return ref.slice(x, begin, size, steps);
      return one((d) => k.slice(d[0], begin, size, steps), x) as KTensor<A>;
    },
    pad<A extends DataArray>(x: KTensor<A>, paddings: readonly (readonly [number, number])[], mode: PadMode, value: number): KTensor<A> {
      if (!w32(x) || x.shape.length > MAX_COPY_RANK) return ref.pad(x, paddings, mode, value);
      return one((d) => k.pad(d[0], paddings, mode, value), x) as KTensor<A>;
    },
    concat<A extends DataArray>(xs: readonly KTensor<A>[], axis: number): KTensor<A> {
      if (!w32(...xs)) return ref.concat(xs, axis);
      return one((d) => k.concat(d, axis), ...xs) as KTensor<A>;
    },
    gather<A extends DataArray>(x: KTensor<A>, indices: ITensor, axis: number): KTensor<A> {
      if (!w32(x)) return ref.gather(x, indices, axis);
      return one((d) => k.gather(d[0], d[1], axis), x, indices) as KTensor<A>;
    },
    scatterAdd<A extends FloatArray>(g: KTensor<A>, indices: ITensor, dim: number, axis: number): KTensor<A> {
      if (!f32(g)) return ref.scatterAdd(g, indices, dim, axis);
      return one((d) => k.scatterAdd(d[0], d[1], dim, axis), g, indices) as KTensor<A>;
    },
    oneHot(indices: ITensor, depth: number, onValue: number, offValue: number): KTensor<Float32Array> {
      return one((d) => k.oneHot(d[0], depth, onValue, offValue), indices) as KTensor<Float32Array>;
    },
    compare(op: CompareOp, x: KTensor, y: KTensor, outShape: readonly number[]): ITensor {
      if (!w32(x, y) || outShape.length > MAX_COPY_RANK) return ref.compare(op, x, y, outShape);
      return one((d) => k.compare(op, d[0], d[1], outShape), x, y) as ITensor;
    },
    where<A extends DataArray>(cond: ITensor, x: KTensor<A>, y: KTensor<A>, outShape: readonly number[]): KTensor<A> {
      if (!w32(x, y) || outShape.length > MAX_COPY_RANK) return ref.where(cond, x, y, outShape);
      return one((d) => k.where(d[0], d[1], d[2], outShape), cond, x, y) as KTensor<A>;
    },
    clip<A extends DataArray>(x: KTensor<A>, lo: number, hi: number): KTensor<A> {
      if (!w32(x)) return ref.clip(x, lo, hi);
      return one((d) => k.clip(d[0], lo, hi), x) as KTensor<A>;
    },
    cast(x: KTensor, dtype: 'float32' | 'int32'): KTensor<Float32Array | Int32Array> {
      if (!w32(x)) return ref.cast(x, dtype);
      return one((d) => k.cast(d[0], dtype), x) as KTensor<Float32Array | Int32Array>;
    },
    argReduce(op: ArgReduceOp, x: KTensor, axis: number): ITensor {
      if (!w32(x)) return ref.argReduce(op, x, axis);
      return one((d) => k.argReduce(op, d[0], axis), x) as ITensor;
    },
    dropout<A extends FloatArray>(x: KTensor<A>, rate: number, seed: number): { y: KTensor<A>; mask: KTensor<A> } {
      if (!f32(x) || !Number.isSafeInteger(seed) || seed < 0) return ref.dropout(x, rate, seed);
      const { host } = onDevice([x], (d) => k.dropout(d[0]!, rate, seed), (r) => [r.y, r.mask]);
      return { y: host[0] as KTensor<A>, mask: host[1] as KTensor<A> };
    },
  };
}
