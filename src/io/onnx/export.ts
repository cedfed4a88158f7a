/**
 * ONNX export: a built nodegrad Model (Sequential or functional: residual blocks, several inputs and outputs,
 * nested models) to an ONNX ModelProto that onnxruntime and other runtimes serve. Inference only: every layer
 * is exported as model.predict() runs it (dropout, noise and augmentation are the identity; batch norm uses its
 * moving statistics).
 *
 * The format: opset 17 of the default domain (ai.onnx), IR version 8 (what opset 17 pairs with, ONNX 1.12),
 * producer "nodegrad" and its version. The graph's inputs are the model's, by the InputLayers' names, in
 * nodegrad's layout (NHWC images) and dtype, with a symbolic batch dimension 'N' (a fixed batchSize stays
 * fixed); the outputs carry the model's output names (outputNames) and nodegrad's layout.
 *
 * Layout: nodegrad computes NHWC with HWIO kernels; ONNX Conv, pooling and BatchNormalization are NCHW with OIHW
 * kernels. Each tensor of the graph is tracked in the layout it exists in: channels-last (nodegrad's), or
 * channels-first ([N, C, H, W]; [N, C, W] for 1-D). A layer that needs channels-first (convolutions, pooling,
 * batch norm of an image, padding, resizing, upsampling) gets a Transpose of its input the first time that tensor is wanted
 * so, and a layer that needs channels-last (Flatten, Reshape, Dense, Maxout) gets the Transpose back; elementwise
 * layers (activations, the elementwise merges, Rescaling, Normalization) keep whichever layout their input has, and
 * Concatenate, Softmax and the cropping layers map their axes. So a convnet costs one Transpose after the input, runs in NCHW with the kernels
 * transposed once at export, and transposes back to NHWC before Flatten (so Dense kernels need no reordering: the
 * flattened order is nodegrad's) and at any 4-D output.
 *
 * Padding: 'same' becomes explicit pads computed from the static input shape exactly as nodegrad does
 * (TensorFlow's rule: the odd row or column at the end, src/ops/padding.ts samePads); where a spatial length is
 * unknown (null), the same pads when the stride is 1 (they do not depend on the length), else auto_pad SAME_UPPER,
 * the same rule at run time (onnxruntime has no SAME_UPPER with dilation: that case needs known lengths).
 * Average pooling with 'same' excludes
 * the padding from the count (count_include_pad 0), as TensorFlow. Conv2DTranspose gets the pads of the
 * convolution it is the adjoint of and the output_padding that gives nodegrad's output size.
 *
 * A layer without a mapping (or a subclass of a supported layer, which may compute something else) is an
 * OnnxExportError naming the layer and its class.
 */
import { NodegradError, ValueError } from '../../errors.js';
import { samePads } from '../../ops/padding.js';
import { Activation, ELU, LeakyReLU, Maxout, ReLU, Softmax } from '../../nn/activation-layers.js';
import type { ActivationName } from '../../nn/activations.js';
import {
  RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomRotation, RandomShear, RandomTranslation, RandomZoom, GaussianNoise,
} from '../../nn/augmentation.js';
import { Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from '../../nn/conv.js';
import { Dense } from '../../nn/dense.js';
import { Cropping1D, Cropping2D } from '../../nn/cropping.js';
import { Dropout, SpatialDropout1D, SpatialDropout2D } from '../../nn/dropout.js';
import { aspectRatioWindow } from '../../nn/image-sampling.js';
import { InputLayer } from '../../nn/input.js';
import type { Layer, Node, SymbolicTensor } from '../../nn/layer.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from '../../nn/merge.js';
import { Model } from '../../nn/model.js';
import { BatchNormalization } from '../../nn/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from '../../nn/pooling.js';
import { CenterCrop, Normalization, Rescaling, Resizing } from '../../nn/preprocessing.js';
import { Flatten, Reshape, ZeroPadding2D } from '../../nn/reshaping.js';
import { Sequential } from '../../nn/sequential.js';
import { UpSampling2D } from '../../nn/upsampling.js';
import { type Shape, fmtShape } from '../../nn/shapes.js';
import type { Variable } from '../../nn/variable.js';
import { writeFileAtomicSync } from '../atomic.js';
import { NODEGRAD_VERSION } from '../model.js';
import {
  DataType, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo, attr, encodeModel, floatTensor, int64Tensor,
} from './onnx.js';

/** The opset of the default domain the export uses: 17 (ONNX 1.12; onnxruntime >= 1.13 runs it). */
export const ONNX_OPSET_VERSION = 17;
/** The ModelProto IR version that goes with opset 17. */
export const ONNX_IR_VERSION = 8;

/** A model that cannot be expressed in ONNX: `layerName` and `layerClass` name the layer at fault. */
export class OnnxExportError extends NodegradError {
  readonly layerName: string;
  readonly layerClass: string;
  constructor(layer: Layer, message: string) {
    super(`exportOnnx: layer '${layer.name}' (${layer.className}): ${message}`);
    this.layerName = layer.name;
    this.layerClass = layer.className;
  }
}

export interface ExportOnnxOptions {
  /** ModelProto.doc_string; default: a line naming nodegrad and the layouts. */
  docString?: string;
  /** Extra ModelProto.metadata_props (string keys and values). */
  metadata?: Readonly<Record<string, string>>;
}

// --------------------------------------------------------------------------------------------------------------
// Values and layouts

/**
 * One tensor of the nodegrad graph as ONNX values: its name in channels-last layout (nodegrad's), in
 * channels-first layout, or both once a Transpose has made the other. Rank <= 2 tensors have one layout (cl).
 */
interface Val {
  readonly shape: Shape;
  cl?: string;
  cf?: string;
}

/** The channels-first permutation of a rank-r channels-last tensor: [0, r-1, 1, ..., r-2]. */
function toFirst(r: number): number[] {
  return [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
}
/** Its inverse: [0, 2, ..., r-1, 1]. */
function toLast(r: number): number[] {
  return [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
}
/** Where nodegrad's (channels-last) axis `a` of a rank-r tensor sits in the channels-first layout. */
function firstAxis(a: number, r: number): number {
  return a === 0 ? 0 : a === r - 1 ? 1 : a + 1;
}

/** Row-major `data` of `shape` with its axes permuted (out axis i = in axis perm[i]). */
function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const r = shape.length;
  const inStrides = new Array<number>(r);
  for (let i = r - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = perm.map((p) => shape[p]);
  const step = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    // Odometer over the output index, moving the source offset by the permuted strides.
    for (let k = r - 1; k >= 0; k--) {
      idx[k]++;
      src += step[k];
      if (idx[k] < outShape[k]) break;
      src -= step[k] * outShape[k];
      idx[k] = 0;
    }
  }
  return out;
}

// --------------------------------------------------------------------------------------------------------------
// The graph under construction

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly #names = new Set<string>();
  /** Initializers made from a variable, by variable and form ('oihw', 'raw', ...): shared layers reuse them. */
  readonly #weights = new Map<Variable, Map<string, string>>();

  /** A fresh value / initializer name: `base`, else base_1, base_2, ... */
  name(base: string): string {
    let n = base;
    for (let i = 1; this.#names.has(n); i++) n = `${base}_${i}`;
    this.#names.add(n);
    return n;
  }

  reserve(name: string): void {
    this.#names.add(name);
  }

  /** Adds a node; returns its output names (fresh names from `outBase`). */
  op(opType: string, inputs: readonly string[], outBase: string, attributes: OnnxAttribute[] = [], outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.name(outBase));
    this.nodes.push({ opType, inputs: [...inputs], outputs: outs, name: this.name(`${outBase}/${opType}`), attributes });
    return outs;
  }

  /** One-output form of op. */
  op1(opType: string, inputs: readonly string[], outBase: string, attributes: OnnxAttribute[] = []): string {
    return this.op(opType, inputs, outBase, attributes)[0];
  }

  floatConst(base: string, dims: readonly number[], values: ArrayLike<number>): string {
    const name = this.name(base);
    this.initializers.push(floatTensor(name, dims, Float32Array.from(values)));
    return name;
  }

  intConst(base: string, values: readonly number[]): string {
    const name = this.name(base);
    this.initializers.push(int64Tensor(name, [values.length], values));
    return name;
  }

  /** An initializer from a variable's value, made once per variable and form by `make`. */
  weight(v: Variable, form: string, make: (data: Float32Array, shape: readonly number[]) => { dims: readonly number[]; data: Float32Array }): string {
    let forms = this.#weights.get(v);
    if (!forms) this.#weights.set(v, (forms = new Map()));
    const have = forms.get(form);
    if (have) return have;
    const { dims, data } = make(v.value.data as Float32Array, v.shape);
    const name = this.name(v.name);
    this.initializers.push(floatTensor(name, dims, data));
    forms.set(form, name);
    return name;
  }

  /** The value in channels-first layout (a Transpose the first time); rank <= 2 values have only one layout. */
  first(v: Val, base: string): string {
    const r = v.shape.length;
    if (r < 3) return v.cl!;
    v.cf ??= this.op1('Transpose', [v.cl!], `${base}/channels_first`, [attr.ints('perm', toFirst(r))]);
    return v.cf;
  }

  /** The value in channels-last (nodegrad's) layout. */
  last(v: Val, base: string): string {
    const r = v.shape.length;
    if (r < 3) return v.cl ?? v.cf!;
    v.cl ??= this.op1('Transpose', [v.cf!], `${base}/channels_last`, [attr.ints('perm', toLast(r))]);
    return v.cl;
  }

  /** Renames value `from` to `to` in every node. */
  rename(from: string, to: string): void {
    this.nodes.forEach((n, k) => {
      this.nodes[k] = { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)), outputs: n.outputs.map((o) => (o === from ? to : o)) };
    });
  }

  produces(name: string): boolean {
    return this.nodes.some((n) => n.outputs.includes(name));
  }
}

/** A value computed in one layout: the result of an elementwise op on a value of that layout. */
function inLayout(shape: Shape, name: string, cf: boolean): Val {
  return shape.length < 3 || !cf ? { shape, cl: name } : { shape, cf: name };
}

/** The name of a value in the layout it already has (channels-first preferred), and which layout that is. */
function anyLayout(v: Val): { name: string; cf: boolean } {
  return v.cf !== undefined && v.shape.length >= 3 ? { name: v.cf, cf: true } : { name: v.cl!, cf: false };
}

// --------------------------------------------------------------------------------------------------------------
// Activations

/** The activation `act` on a value in either layout; softmax over nodegrad's last axis (channels). */
function activate(b: GraphBuilder, layer: Layer, act: ActivationName, v: Val, base: string): Val {
  if (act === 'linear') return v;
  const { name: x, cf } = anyLayout(v);
  const r = v.shape.length;
  const last = cf ? 1 : r - 1;
  const one = (op: string, attrs: OnnxAttribute[] = []): Val => inLayout(v.shape, b.op1(op, [x], base, attrs), cf);
  switch (act) {
    case 'relu': return one('Relu');
    case 'relu6': return inLayout(v.shape, b.op1('Clip', [x, b.floatConst(`${base}/min`, [], [0]), b.floatConst(`${base}/max`, [], [6])], base), cf);
    case 'sigmoid': return one('Sigmoid');
    case 'tanh': return one('Tanh');
    case 'softmax': return one('Softmax', [attr.int('axis', last)]);
    case 'logSoftmax': return one('LogSoftmax', [attr.int('axis', last)]);
    case 'elu': return one('Elu', [attr.float('alpha', 1)]);
    // ONNX's defaults are Klambauer et al.'s constants rounded to float32, as nodegrad uses them.
    case 'selu': return one('Selu');
    case 'softplus': return one('Softplus');
    case 'softsign': return one('Softsign');
    case 'exponential': return one('Exp');
    case 'leakyRelu': return one('LeakyRelu', [attr.float('alpha', 0.2)]);
    case 'silu':
    case 'swish': {
      // x * sigmoid(x): opset 17 has no Swish.
      const s = b.op1('Sigmoid', [x], `${base}/sigmoid`);
      return inLayout(v.shape, b.op1('Mul', [x, s], base), cf);
    }
    case 'gelu': {
      // Exact gelu, x * (1 + erf(x / sqrt 2)) / 2: opset 17 has Erf but not Gelu (opset 20).
      const scaled = b.op1('Mul', [x, b.floatConst(`${base}/rsqrt2`, [], [Math.SQRT1_2])], `${base}/scaled`);
      const erf = b.op1('Erf', [scaled], `${base}/erf`);
      const onePlus = b.op1('Add', [erf, b.floatConst(`${base}/one`, [], [1])], `${base}/one_plus`);
      const half = b.op1('Mul', [x, b.floatConst(`${base}/half`, [], [0.5])], `${base}/half_x`);
      return inLayout(v.shape, b.op1('Mul', [half, onePlus], base), cf);
    }
    default:
      throw new OnnxExportError(layer, `activation '${act as string}' has no ONNX mapping`);
  }
}

// --------------------------------------------------------------------------------------------------------------
// Window geometry

/**
 * pads [begins..., ends...] for each spatial axis, or null when a 'same' axis of unknown length needs auto_pad.
 * With stride 1, 'same' pads (k-1)*d whatever the length, so they stay explicit; with a larger stride they depend on
 * the length, and auto_pad SAME_UPPER computes them at run time (onnxruntime refuses it with dilation).
 */
function windowPads(
  layer: Layer, padding: string, inSpatial: readonly (number | null)[], k: readonly number[], s: readonly number[], d: readonly number[],
): number[] | null {
  const begin: number[] = [];
  const end: number[] = [];
  let auto = false;
  for (let i = 0; i < k.length; i++) {
    let p: [number, number];
    if (padding === 'valid') p = [0, 0];
    else if (padding === 'causal') p = [(k[i] - 1) * d[i], 0];
    else if (inSpatial[i] !== null) p = samePads(inSpatial[i]!, k[i], s[i], d[i]);
    else if (s[i] === 1) p = samePads(k[i], k[i], 1, d[i]);
    else {
      if (d.some((v) => v > 1)) {
        throw new OnnxExportError(layer, `'same' padding with strides [${s.join(',')}] and dilation [${d.join(',')}] needs known spatial lengths to export; build the model with a full inputShape`);
      }
      auto = true;
      p = [0, 0];
    }
    begin.push(p[0]);
    end.push(p[1]);
  }
  return auto ? null : [...begin, ...end];
}

/** The pads attribute, or auto_pad SAME_UPPER (TensorFlow's rule: the extra pad at the end) when lengths are unknown. */
function padAttrs(pads: number[] | null): OnnxAttribute[] {
  return pads ? [attr.ints('pads', pads)] : [attr.string('auto_pad', 'SAME_UPPER')];
}

// --------------------------------------------------------------------------------------------------------------
// Layers

type Emit = (b: GraphBuilder, layer: Layer, ins: Val[], outShapes: Shape[], base: string) => Val[];

const identity: Emit = (_b, _l, ins) => [ins[0]];

/** Conv1D and Conv2D: Conv on channels-first data with the kernel [K..., Cin/g, Cout] as [Cout, Cin/g, K...]. */
const conv: Emit = (b, layer, ins, out, base) => {
  const l = layer as Conv2D | Conv1D;
  const x = b.first(ins[0], base);
  const r = l.rank;
  const perm = r === 2 ? [3, 2, 0, 1] : [2, 1, 0];
  const w = b.weight(l.kernel!, 'oihw', (data, shape) => ({ dims: perm.map((p) => shape[p]), data: permute(data, shape, perm) }));
  const inputs = [x, w];
  if (l.bias) inputs.push(b.weight(l.bias, 'raw', (data, shape) => ({ dims: shape, data })));
  const pads = windowPads(layer, l.padding, ins[0].shape.slice(1, 1 + r), l.kernelSize, l.strides, l.dilationRate);
  const y = b.op1('Conv', inputs, base, [
    attr.ints('kernel_shape', l.kernelSize), attr.ints('strides', l.strides), attr.ints('dilations', l.dilationRate), attr.int('group', l.groups),
    ...padAttrs(pads),
  ]);
  return [activate(b, layer, l.activation, { shape: out[0], cf: y }, base)];
};

/** The depthwise step: Conv with group = C, the kernel [KH, KW, C, M] as [C*M, 1, KH, KW] (channel c*M + m, as TF). */
function depthwiseStep(b: GraphBuilder, l: DepthwiseConv2D, x: string, inShape: Shape, base: string, withBias: boolean): string {
  const kernel = l.depthwiseKernel!;
  const [kh, kw, c, m] = kernel.shape;
  const w = b.weight(kernel, 'oihw', (data) => ({ dims: [c * m, 1, kh, kw], data: permute(data, [kh, kw, 1, c * m], [3, 2, 0, 1]) }));
  const inputs = [x, w];
  if (withBias && l.bias) inputs.push(b.weight(l.bias, 'raw', (data, shape) => ({ dims: shape, data })));
  const pads = windowPads(l, l.padding, inShape.slice(1, 3), l.kernelSize, l.strides, l.dilationRate);
  return b.op1('Conv', inputs, base, [
    attr.ints('kernel_shape', l.kernelSize), attr.ints('strides', l.strides), attr.ints('dilations', l.dilationRate), attr.int('group', c),
    ...padAttrs(pads),
  ]);
}

const depthwise: Emit = (b, layer, ins, out, base) => {
  const l = layer as DepthwiseConv2D;
  const y = depthwiseStep(b, l, b.first(ins[0], base), ins[0].shape, base, true);
  return [activate(b, layer, l.activation, { shape: out[0], cf: y }, base)];
};

/** SeparableConv2D: the depthwise Conv, then a 1x1 Conv with the pointwise kernel [1, 1, C*M, F] as [F, C*M, 1, 1]. */
const separable: Emit = (b, layer, ins, out, base) => {
  const l = layer as SeparableConv2D;
  const mid = depthwiseStep(b, l, b.first(ins[0], base), ins[0].shape, `${base}/depthwise`, false);
  const pw = b.weight(l.pointwiseKernel!, 'oihw', (data, shape) => ({ dims: [shape[3], shape[2], 1, 1], data: permute(data, shape, [3, 2, 0, 1]) }));
  const inputs = [mid, pw];
  if (l.bias) inputs.push(b.weight(l.bias, 'raw', (data, shape) => ({ dims: shape, data })));
  const y = b.op1('Conv', inputs, base, [attr.ints('kernel_shape', [1, 1]), attr.ints('strides', [1, 1]), attr.ints('pads', [0, 0, 0, 0])]);
  return [activate(b, layer, l.activation, { shape: out[0], cf: y }, base)];
};

/**
 * Conv2DTranspose: ConvTranspose with the kernel [KH, KW, Cout, Cin] as [Cin, Cout, KH, KW]. nodegrad's op is the
 * adjoint of the convolution that maps its output (size O, from nodegrad's shape inference) back to its input with
 * pads P = that convolution's padding resolved on O; ConvTranspose with pads P yields (in-1)*s + kEff - P, and
 * output_padding (in [0, s) by the floor in the forward length) makes up the difference to O.
 */
const convTranspose: Emit = (b, layer, ins, out, base) => {
  const l = layer as Conv2DTranspose;
  const x = b.first(ins[0], base);
  const w = b.weight(l.kernel!, 'iohw', (data, shape) => ({ dims: [shape[3], shape[2], shape[0], shape[1]], data: permute(data, shape, [3, 2, 0, 1]) }));
  const inputs = [x, w];
  if (l.bias) inputs.push(b.weight(l.bias, 'raw', (data, shape) => ({ dims: shape, data })));
  const begin: number[] = [], end: number[] = [], extra: number[] = [];
  for (let i = 0; i < 2; i++) {
    const inLen = ins[0].shape[1 + i], outLen = out[0][1 + i];
    if (inLen === null || outLen === null) {
      throw new OnnxExportError(layer, `the input's height and width must be known to export (got ${fmtShape(ins[0].shape)}); build the model with a full inputShape`);
    }
    const [k, s, d] = [l.kernelSize[i], l.strides[i], l.dilationRate[i]];
    const [pb, pa] = l.padding === 'same' ? samePads(outLen, k, s, d) : [0, 0];
    const op = outLen - ((inLen - 1) * s + (k - 1) * d + 1 - pb - pa);
    if (op < 0 || op >= Math.max(s, d)) throw new OnnxExportError(layer, `no ONNX output_padding gives the output length ${outLen} from ${inLen} (got ${op})`);
    begin.push(pb);
    end.push(pa);
    extra.push(op);
  }
  const y = b.op1('ConvTranspose', inputs, base, [
    attr.ints('kernel_shape', l.kernelSize), attr.ints('strides', l.strides), attr.ints('dilations', l.dilationRate),
    attr.ints('pads', [...begin, ...end]), attr.ints('output_padding', extra),
  ]);
  return [activate(b, layer, l.activation, { shape: out[0], cf: y }, base)];
};

/** Dense: Gemm on [N, in] (the kernel [in, units] as B, no transposition); MatMul + Add on higher ranks. */
const dense: Emit = (b, layer, ins, out, base) => {
  const l = layer as Dense;
  const x = b.last(ins[0], base);
  const w = b.weight(l.kernel!, 'raw', (data, shape) => ({ dims: shape, data }));
  const bias = l.bias ? b.weight(l.bias, 'raw', (data, shape) => ({ dims: shape, data })) : null;
  let y: string;
  if (ins[0].shape.length === 2) y = b.op1('Gemm', bias ? [x, w, bias] : [x, w], base);
  else {
    y = b.op1('MatMul', [x, w], bias ? `${base}/matmul` : base);
    if (bias) y = b.op1('Add', [y, bias], base);
  }
  return [activate(b, layer, l.activation, { shape: out[0], cl: y }, base)];
};

const activationLayer: Emit = (b, layer, ins, _out, base) => [activate(b, layer, (layer as Activation).activation, ins[0], base)];

/** ReLU(maxValue, negativeSlope): Relu or LeakyRelu, then the cap as Clip (Clip(0, max) alone when the slope is 0). */
const reluLayer: Emit = (b, layer, ins, _out, base) => {
  const l = layer as ReLU;
  const { name: x, cf } = anyLayout(ins[0]);
  const shape = ins[0].shape;
  if (l.negativeSlope === 0) {
    if (l.maxValue === null) return [inLayout(shape, b.op1('Relu', [x], base), cf)];
    return [inLayout(shape, b.op1('Clip', [x, b.floatConst(`${base}/min`, [], [0]), b.floatConst(`${base}/max`, [], [l.maxValue])], base), cf)];
  }
  if (l.maxValue === null) return [inLayout(shape, b.op1('LeakyRelu', [x], base, [attr.float('alpha', l.negativeSlope)]), cf)];
  const leaky = b.op1('LeakyRelu', [x], `${base}/leaky`, [attr.float('alpha', l.negativeSlope)]);
  return [inLayout(shape, b.op1('Clip', [leaky, '', b.floatConst(`${base}/max`, [], [l.maxValue])], base), cf)];
};

const leakyReluLayer: Emit = (b, layer, ins, _out, base) => {
  const { name: x, cf } = anyLayout(ins[0]);
  return [inLayout(ins[0].shape, b.op1('LeakyRelu', [x], base, [attr.float('alpha', (layer as LeakyReLU).alpha)]), cf)];
};

const eluLayer: Emit = (b, layer, ins, _out, base) => {
  const { name: x, cf } = anyLayout(ins[0]);
  return [inLayout(ins[0].shape, b.op1('Elu', [x], base, [attr.float('alpha', (layer as ELU).alpha)]), cf)];
};

const softmaxLayer: Emit = (b, layer, ins, _out, base) => {
  const { name: x, cf } = anyLayout(ins[0]);
  const r = ins[0].shape.length;
  const a = (layer as Softmax).axis < 0 ? (layer as Softmax).axis + r : (layer as Softmax).axis;
  return [inLayout(ins[0].shape, b.op1('Softmax', [x], base, [attr.int('axis', cf ? firstAxis(a, r) : a)]), cf)];
};

/** Maxout: [..., C, ...] reshaped to [..., units, C/units, ...], ReduceMax over the competitors (channels-last). */
const maxout: Emit = (b, layer, ins, out, base) => {
  const l = layer as Maxout;
  const s = ins[0].shape;
  const a = l.axis < 0 ? l.axis + s.length : l.axis;
  const c = s[a];
  if (c === null || s.slice(1).some((d) => d === null)) throw new OnnxExportError(layer, `needs a fully known input shape to export, got ${fmtShape(s)}`);
  const grouped = [0, ...s.slice(1, a), l.numUnits, c / l.numUnits, ...s.slice(a + 1)] as number[];
  const r = b.op1('Reshape', [b.last(ins[0], base), b.intConst(`${base}/shape`, grouped)], `${base}/grouped`);
  return [{ shape: out[0], cl: b.op1('ReduceMax', [r], base, [attr.ints('axes', [a + 1]), attr.int('keepdims', 0)]) }];
};

/** Max and average pooling: explicit pads ('same': TF's, excluded from the average's count). */
const pool: Emit = (b, layer, ins, out, base) => {
  const l = layer as MaxPooling2D | AveragePooling2D;
  const x = b.first(ins[0], base);
  const pads = windowPads(layer, l.padding, ins[0].shape.slice(1, 3), l.poolSize, l.strides, [1, 1]);
  const common = [attr.ints('kernel_shape', l.poolSize), attr.ints('strides', l.strides), ...padAttrs(pads)];
  const y = layer instanceof MaxPooling2D
    ? b.op1('MaxPool', [x], base, common)
    : b.op1('AveragePool', [x], base, [...common, attr.int('count_include_pad', 0)]);
  return [{ shape: out[0], cf: y }];
};

/** Global pooling: [N, C, 1, 1] (keepDims: nodegrad's [N, 1, 1, C] in channels-first), else flattened to [N, C]. */
const globalPool: Emit = (b, layer, ins, out, base) => {
  const l = layer as GlobalAveragePooling2D | GlobalMaxPooling2D;
  const op = layer instanceof GlobalAveragePooling2D ? 'GlobalAveragePool' : 'GlobalMaxPool';
  const x = b.first(ins[0], base);
  if (l.keepDims) return [{ shape: out[0], cf: b.op1(op, [x], base) }];
  const y = b.op1(op, [x], `${base}/pooled`);
  return [{ shape: out[0], cl: b.op1('Flatten', [y], base, [attr.int('axis', 1)]) }];
};

/** Batch norm in inference: BatchNormalization with the moving statistics (gamma 1 and beta 0 when absent). */
const batchNorm: Emit = (b, layer, ins, out, base) => {
  const l = layer as BatchNormalization;
  const c = l.movingMean!.size;
  const raw = (v: Variable) => b.weight(v, 'raw', (data, shape) => ({ dims: shape, data }));
  const gamma = l.gamma ? raw(l.gamma) : b.floatConst(`${base}/gamma`, [c], new Float32Array(c).fill(1));
  const beta = l.beta ? raw(l.beta) : b.floatConst(`${base}/beta`, [c], new Float32Array(c));
  const stats = [gamma, beta, raw(l.movingMean!), raw(l.movingVariance!)];
  const x = b.first(ins[0], base);
  return [inLayout(out[0], b.op1('BatchNormalization', [x, ...stats], base, [attr.float('epsilon', l.epsilon)]), ins[0].shape.length >= 3)];
};

const flatten: Emit = (b, _layer, ins, out, base) => {
  return [{ shape: out[0], cl: b.op1('Flatten', [b.last(ins[0], base)], base, [attr.int('axis', 1)]) }];
};

/** Reshape to [batch (0 copies it), ...targetShape with -1 resolved where the input is known]. */
const reshape: Emit = (b, layer, ins, out, base) => {
  const target = out[0].slice(1).map((d, i) => d ?? (layer as Reshape).targetShape[i]);
  if (target.includes(0)) throw new OnnxExportError(layer, `a target length of 0 cannot be exported (ONNX Reshape reads 0 as "copy")`);
  const shape = b.intConst(`${base}/shape`, [0, ...(target as number[])]);
  return [{ shape: out[0], cl: b.op1('Reshape', [b.last(ins[0], base), shape], base) }];
};

const zeroPadding: Emit = (b, layer, ins, out, base) => {
  const [[t, bo], [le, ri]] = (layer as ZeroPadding2D).padding;
  const pads = b.intConst(`${base}/pads`, [0, 0, t, le, 0, 0, bo, ri]);
  return [{ shape: out[0], cf: b.op1('Pad', [b.first(ins[0], base), pads], base) }];
};

/** x * scale + offset, elementwise in either layout (the constant steps that change nothing are left out). */
const rescaling: Emit = (b, layer, ins, _out, base) => {
  const l = layer as Rescaling;
  let { name: x } = anyLayout(ins[0]);
  const { cf } = anyLayout(ins[0]);
  if (l.scale === 1 && l.offset === 0) return [ins[0]];
  if (l.scale !== 1) x = b.op1('Mul', [x, b.floatConst(`${base}/scale`, [], [l.scale])], l.offset === 0 ? base : `${base}/scaled`);
  if (l.offset !== 0) x = b.op1('Add', [x, b.floatConst(`${base}/offset`, [], [l.offset])], base);
  return [inLayout(ins[0].shape, x, cf)];
};

/** (x - mean) / max(sqrt(variance), 1e-7) per channel (or its inverse), the statistics as float32 constants. */
const normalization: Emit = (b, layer, ins, _out, base) => {
  const l = layer as Normalization;
  const f = Math.fround;
  const values = (w: Variable | null, given: number | readonly number[] | null): number[] =>
    w ? [...(w.value.data as Float32Array)] : typeof given === 'number' ? [given] : [...given!];
  const mean = values(l.meanWeight, l.mean).map(f);
  const variance = values(l.varianceWeight, l.variance).map(f);
  // nodegrad's statistics(): sqrt in float32, then the floor of 1e-7 (Keras' epsilon).
  const std = variance.map((v) => Math.max(f(Math.sqrt(v)), f(1e-7)));
  const { name: x, cf } = anyLayout(ins[0]);
  const r = ins[0].shape.length;
  const c = Math.max(mean.length, std.length);
  const expand = (vals: number[]): number[] => (vals.length === c ? vals : new Array<number>(c).fill(vals[0]));
  // A per-channel constant broadcasts over the channel axis of the layout at hand: [C] last, [C, 1, ...] first.
  const dims = l.axis === null || c === 1 ? [] : cf ? [c, ...new Array<number>(r - 2).fill(1)] : [c];
  const m = b.floatConst(`${base}/mean`, dims, dims.length ? expand(mean) : [mean[0]]);
  const s = b.floatConst(`${base}/std`, dims, dims.length ? expand(std) : [std[0]]);
  const y = l.invert
    ? b.op1('Add', [b.op1('Mul', [x, s], `${base}/scaled`), m], base)
    : b.op1('Div', [b.op1('Sub', [x, m], `${base}/centered`), s], base);
  return [inLayout(ins[0].shape, y, cf)];
};

/** Elementwise sum (left to right, as nodegrad), in channels-first when any input already is. */
const addLayer: Emit = (b, _layer, ins, out, base) => {
  const cf = ins[0].shape.length >= 3 && ins.some((v) => v.cf !== undefined);
  const xs = ins.map((v) => (cf ? b.first(v, base) : b.last(v, base)));
  let y = xs[0];
  for (let i = 1; i < xs.length; i++) y = b.op1('Add', [y, xs[i]], i === xs.length - 1 ? base : `${base}/partial`);
  return [inLayout(out[0], y, cf)];
};

/**
 * The other elementwise merges, as addLayer (one layout for all inputs, ONNX broadcasting as nodegrad's): Multiply
 * and Subtract as chains of Mul / Sub (left to right, as nodegrad), Maximum and Minimum as one variadic Max / Min,
 * Average as Sum divided by the number of inputs.
 */
function mergeLayer(kind: 'Mul' | 'Sub' | 'Max' | 'Min' | 'Mean'): Emit {
  return (b, _layer, ins, out, base) => {
    const cf = ins[0].shape.length >= 3 && ins.some((v) => v.cf !== undefined);
    const xs = ins.map((v) => (cf ? b.first(v, base) : b.last(v, base)));
    let y: string;
    if (kind === 'Max' || kind === 'Min') y = b.op1(kind, xs, base);
    else if (kind === 'Mean') y = b.op1('Div', [b.op1('Sum', xs, `${base}/sum`), b.floatConst(`${base}/count`, [], [xs.length])], base);
    else {
      y = xs[0];
      for (let i = 1; i < xs.length; i++) y = b.op1(kind, [y, xs[i]], i === xs.length - 1 ? base : `${base}/partial`);
    }
    return [inLayout(out[0], y, cf)];
  };
}

/**
 * UpSampling2D: Resize by the integer scales [1, 1, rows, cols] (channels-first; scales, not sizes, so unknown
 * lengths export). 'nearest' reads input pixel floor(o / scale) (asymmetric, floor): Keras' repeat exactly.
 * 'bilinear': linear with half_pixel coordinates clamped at the border, as tf.image.resize.
 */
const upSampling: Emit = (b, layer, ins, out, base) => {
  const l = layer as UpSampling2D;
  imageRank(layer, ins[0]);
  if (l.size[0] === 1 && l.size[1] === 1) return [ins[0]];
  const scales = b.floatConst(`${base}/scales`, [4], [1, 1, l.size[0], l.size[1]]);
  const attrs = l.interpolation === 'bilinear'
    ? [attr.string('mode', 'linear'), attr.string('coordinate_transformation_mode', 'half_pixel')]
    : [attr.string('mode', 'nearest'), attr.string('coordinate_transformation_mode', 'asymmetric'), attr.string('nearest_mode', 'floor')];
  return [{ shape: out[0], cf: b.op1('Resize', [b.first(ins[0], base), '', scales], base, attrs) }];
};

/** Ends of a Slice that drops `end` elements at the end: negative (from the end), or past any length for 0. */
const sliceEnd = (end: number): number => (end === 0 ? 2 ** 31 - 1 : -end);

/** Cropping1D and Cropping2D: Slice of the cropped axes in whichever layout the input has. */
const cropping: Emit = (b, layer, ins, out, base) => {
  const { name: x, cf } = anyLayout(ins[0]);
  const crops = layer instanceof Cropping1D ? [(layer as Cropping1D).cropping] : (layer as Cropping2D).cropping;
  if (crops.every(([s, e]) => s === 0 && e === 0)) return [ins[0]];
  const axes = crops.map((_, i) => (cf ? 2 + i : 1 + i));
  const y = b.op1('Slice', [
    x, b.intConst(`${base}/starts`, crops.map(([s]) => s)), b.intConst(`${base}/ends`, crops.map(([, e]) => sliceEnd(e))), b.intConst(`${base}/axes`, axes),
  ], base);
  return [inLayout(out[0], y, cf)];
};

/** Concat along nodegrad's axis, mapped to channels-first when any input already is. */
const concatenate: Emit = (b, layer, ins, out, base) => {
  const r = ins[0].shape.length;
  const a = (layer as Concatenate).axis < 0 ? (layer as Concatenate).axis + r : (layer as Concatenate).axis;
  const cf = r >= 3 && ins.some((v) => v.cf !== undefined);
  const xs = ins.map((v) => (cf ? b.first(v, base) : b.last(v, base)));
  return [inLayout(out[0], b.op1('Concat', xs, base, [attr.int('axis', cf ? firstAxis(a, r) : a)]), cf)];
};

/**
 * tf.image.resize as nodegrad's resizeImages: optionally the centred window of the target aspect ratio (Slice),
 * then Resize to [height, width] -- 'bilinear': linear with half_pixel coordinates (clamped at the border as TF);
 * 'nearest': TF's floor((o + 0.5) * in / out), which is half_pixel's (o + 0.5) * in / out - 0.5 rounded with halves
 * up (round_prefer_ceil; tf_half_pixel_for_nn says the same but is deprecated since opset 13). The sizes input
 * is the batch and channels of the input (Shape) followed by the target size, so the batch stays dynamic.
 */
function resize(
  b: GraphBuilder, layer: Layer, v: Val, outShape: Shape, size: [number, number], interpolation: 'bilinear' | 'nearest', crop: boolean, base: string,
): Val {
  const [h, w] = [v.shape[1], v.shape[2]];
  if (h === null || w === null) throw new OnnxExportError(layer, `the input's height and width must be known to export, got ${fmtShape(v.shape)}`);
  let x = b.first(v, base);
  const [top, left, ch, cw] = crop ? aspectRatioWindow(h, w, size[0], size[1]) : [0, 0, h, w];
  if (ch !== h || cw !== w) {
    x = b.op1('Slice', [x, b.intConst(`${base}/starts`, [top, left]), b.intConst(`${base}/ends`, [top + ch, left + cw]), b.intConst(`${base}/axes`, [2, 3])], `${base}/window`);
  }
  if (ch === size[0] && cw === size[1]) return { shape: outShape, cf: x };
  const shape = b.op1('Shape', [x], `${base}/in_shape`);
  const nc = b.op1('Slice', [shape, b.intConst(`${base}/zero`, [0]), b.intConst(`${base}/two`, [2])], `${base}/batch_channels`);
  const sizes = b.op1('Concat', [nc, b.intConst(`${base}/size`, size)], `${base}/sizes`, [attr.int('axis', 0)]);
  const attrs = interpolation === 'bilinear'
    ? [attr.string('mode', 'linear'), attr.string('coordinate_transformation_mode', 'half_pixel')]
    : [attr.string('mode', 'nearest'), attr.string('coordinate_transformation_mode', 'half_pixel'), attr.string('nearest_mode', 'round_prefer_ceil')];
  return { shape: outShape, cf: b.op1('Resize', [x, '', '', sizes], base, attrs) };
}

function imageRank(layer: Layer, v: Val): void {
  if (v.shape.length !== 4) throw new OnnxExportError(layer, `exports on batches of images [N, H, W, C] only, got ${fmtShape(v.shape)}`);
}

const resizing: Emit = (b, layer, ins, out, base) => {
  const l = layer as Resizing;
  imageRank(layer, ins[0]);
  return [resize(b, layer, ins[0], out[0], [l.height, l.width], l.interpolation, l.cropToAspectRatio, base)];
};

/** CenterCrop (and RandomCrop in inference): the centred window, or a resize of the aspect-ratio window when smaller. */
const centerCrop: Emit = (b, layer, ins, out, base) => {
  const l = layer as CenterCrop;
  imageRank(layer, ins[0]);
  const [h, w] = [ins[0].shape[1], ins[0].shape[2]];
  if (h === null || w === null) throw new OnnxExportError(layer, `the input's height and width must be known to export, got ${fmtShape(ins[0].shape)}`);
  if (h < l.height || w < l.width) return [resize(b, layer, ins[0], out[0], [l.height, l.width], 'bilinear', true, base)];
  if (h === l.height && w === l.width) return [ins[0]];
  const [top, left] = [Math.floor((h - l.height) / 2), Math.floor((w - l.width) / 2)];
  const x = b.first(ins[0], base);
  return [{
    shape: out[0],
    cf: b.op1('Slice', [x, b.intConst(`${base}/starts`, [top, left]), b.intConst(`${base}/ends`, [top + l.height, left + l.width]), b.intConst(`${base}/axes`, [2, 3])], base),
  }];
};

const randomCrop: Emit = (b, layer, ins, out, base) => {
  const l = layer as RandomCrop;
  imageRank(layer, ins[0]);
  return [resize(b, layer, ins[0], out[0], [l.height, l.width], 'bilinear', true, base)];
};

/** The mapping, by exact class: a subclass may compute something else, so it is not assumed to be its parent. */
const EMITTERS = new Map<Function, Emit>([
  [Conv2D, conv],
  [Conv1D, conv],
  [DepthwiseConv2D, depthwise],
  [SeparableConv2D, separable],
  [Conv2DTranspose, convTranspose],
  [Dense, dense],
  [Activation, activationLayer],
  [ReLU, reluLayer],
  [LeakyReLU, leakyReluLayer],
  [ELU, eluLayer],
  [Softmax, softmaxLayer],
  [Maxout, maxout],
  [MaxPooling2D, pool],
  [AveragePooling2D, pool],
  [GlobalAveragePooling2D, globalPool],
  [GlobalMaxPooling2D, globalPool],
  [BatchNormalization, batchNorm],
  [Flatten, flatten],
  [Reshape, reshape],
  [ZeroPadding2D, zeroPadding],
  [Rescaling, rescaling],
  [Normalization, normalization],
  [Add, addLayer],
  [Concatenate, concatenate],
  [Multiply, mergeLayer('Mul')],
  [Subtract, mergeLayer('Sub')],
  [Average, mergeLayer('Mean')],
  [Maximum, mergeLayer('Max')],
  [Minimum, mergeLayer('Min')],
  [UpSampling2D, upSampling],
  [Cropping1D, cropping],
  [Cropping2D, cropping],
  [Resizing, resizing],
  [CenterCrop, centerCrop],
  [RandomCrop, randomCrop],
  // Identity in inference.
  [Dropout, identity],
  [SpatialDropout1D, identity],
  [SpatialDropout2D, identity],
  [GaussianNoise, identity],
  [RandomFlip, identity],
  [RandomRotation, identity],
  [RandomZoom, identity],
  [RandomTranslation, identity],
  [RandomShear, identity],
  [RandomContrast, identity],
  [RandomBrightness, identity],
]);

/** Layers whose output depends on `training`: a node called with training: true cannot be exported as inference. */
const TRAINING_DEPENDENT = new Set<Function>([
  Dropout, SpatialDropout1D, SpatialDropout2D, GaussianNoise, BatchNormalization, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomShear, RandomContrast,
  RandomBrightness, RandomCrop,
]);

/** The class names the export supports, for error messages. */
export function onnxSupportedLayers(): string[] {
  return [...EMITTERS.keys()].map((c) => (c as unknown as { className: string }).className).concat('Functional', 'Sequential', 'InputLayer').sort();
}

// --------------------------------------------------------------------------------------------------------------
// Walking the model

/** The nodes that compute `outputs` of a model, each after the nodes feeding it (InputLayer nodes left out). */
function orderedNodes(m: Model): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  for (const out of m.outputs) {
    if (seen.has(out.node)) continue;
    seen.add(out.node);
    const stack: Array<[Node, number]> = [[out.node, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const src = node.inputs[i].node;
        if (!seen.has(src)) {
          seen.add(src);
          stack.push([src, 0]);
        }
      } else {
        stack.pop();
        if (!(node.layer instanceof InputLayer)) order.push(node);
      }
    }
  }
  return order;
}

function isPlainModel(l: Layer): l is Model {
  return l.constructor === Model || l.constructor === Sequential;
}

/** Emits the nodes of model `m`, whose inputs already have values in `values`; nested models inline. */
function emitModel(b: GraphBuilder, m: Model, values: Map<SymbolicTensor, Val>): void {
  for (const node of orderedNodes(m)) {
    const layer = node.layer;
    const ins = node.inputs.map((t) => values.get(t)!);
    let outs: Val[];
    if (layer instanceof Model) {
      if (!isPlainModel(layer)) {
        throw new OnnxExportError(layer, `a model of a custom class cannot be exported (its call() may differ from its graph); supported: ${onnxSupportedLayers().join(', ')}`);
      }
      layer.inputs.forEach((t, i) => values.set(t, ins[i]));
      emitModel(b, layer, values);
      outs = layer.outputs.map((t) => values.get(t)!);
    } else {
      const emit = EMITTERS.get(layer.constructor);
      if (!emit) throw new OnnxExportError(layer, `no ONNX mapping for layer class '${layer.className}'; supported: ${onnxSupportedLayers().join(', ')}`);
      if (node.training === true && TRAINING_DEPENDENT.has(layer.constructor)) {
        throw new OnnxExportError(layer, `it is called with training: true in the graph, so its output is not the inference one ONNX would compute`);
      }
      try {
        outs = emit(b, layer, ins, node.outputs.map((t) => t.shape), layer.name);
      } catch (err) {
        if (err instanceof NodegradError && !(err instanceof OnnxExportError)) throw new OnnxExportError(layer, err.message);
        throw err;
      }
    }
    node.outputs.forEach((t, k) => values.set(t, outs[k]));
  }
}

/** A symbolic shape as ONNX dims: the batch axis 'N' when unknown, other unknown lengths left unnamed. */
function onnxDims(shape: Shape): (number | string | null)[] {
  return shape.map((d, i) => (d === null ? (i === 0 ? 'N' : null) : d));
}

/** The ONNX model (as plain objects) of a built nodegrad model. */
export function toOnnxModel(model: Model, opts: ExportOnnxOptions = {}): OnnxModel {
  if (!(model instanceof Model)) throw new ValueError(`exportOnnx: argument 'model' must be a nodegrad Model (sequential() or model()), got ${String(model)}`);
  if (!isPlainModel(model)) {
    throw new OnnxExportError(model, `a model of a custom class cannot be exported (its call() may differ from its graph); build it with sequential() or model()`);
  }
  if (model.inputs.length === 0) {
    throw new ValueError(`exportOnnx: ${model.who} is not built: give it an inputShape (sequential(layers, { inputShape })) or call it on data first`);
  }
  const b = new GraphBuilder();
  const values = new Map<SymbolicTensor, Val>();
  const graphInputs: OnnxValueInfo[] = [];
  const inputNames = model.inputs.map((t) => t.node.layer.name);
  const outputNames: string[] = [];
  for (const n of model.outputNames) {
    let name = n;
    for (let i = 1; outputNames.includes(name) || inputNames.includes(name); i++) name = `${n}_${i}`;
    outputNames.push(name);
  }
  for (const n of [...inputNames, ...outputNames]) b.reserve(n);

  model.inputs.forEach((t, i) => {
    const isInt = t.dtype === 'int32';
    graphInputs.push({ name: inputNames[i], elemType: isInt ? DataType.INT32 : DataType.FLOAT, shape: onnxDims(t.shape) });
    // Integer pixels: nodegrad's layers cast them to float32 on entry; the graph does it once.
    const name = isInt ? b.op1('Cast', [inputNames[i]], `${inputNames[i]}/float`, [attr.int('to', DataType.FLOAT)]) : inputNames[i];
    values.set(t, { shape: t.shape, cl: name });
  });
  emitModel(b, model, values);

  // Outputs in nodegrad's layout, under the model's output names: the producing value is renamed, or an Identity
  // copies it (a graph input, or a tensor that is already another output).
  const graphOutputs: OnnxValueInfo[] = [];
  const renamed = new Map<string, string>();
  model.outputs.forEach((t, i) => {
    const name = outputNames[i];
    const v = b.last(values.get(t)!, name);
    const source = renamed.get(v) ?? v;
    if (source === v && b.produces(v)) {
      b.rename(v, name);
      renamed.set(v, name);
    } else {
      b.nodes.push({ opType: 'Identity', inputs: [source], outputs: [name], name: b.name(`${name}/Identity`) });
    }
    graphOutputs.push({ name, elemType: DataType.FLOAT, shape: onnxDims(t.shape) });
  });

  return {
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET_VERSION,
    producerName: 'nodegrad',
    producerVersion: NODEGRAD_VERSION,
    docString: opts.docString ??
      `${model.name}, exported by nodegrad ${NODEGRAD_VERSION} for inference: inputs and outputs in nodegrad's layout (images NHWC), batch axis 'N'`,
    metadata: { 'nodegrad.layout': 'NHWC', ...(opts.metadata ?? {}) },
    graph: { name: model.name, nodes: b.nodes, initializers: b.initializers, inputs: graphInputs, outputs: graphOutputs },
  };
}

/**
 * Exports a built model to ONNX (opset 17) for inference, and writes it to `path` (atomically: a temp file,
 * fsync, rename) when one is given. Returns the model's bytes (a ModelProto).
 * @example const bytes = exportOnnx(model, 'model.onnx'); // then: await ort.InferenceSession.create(bytes)
 */
export function exportOnnx(model: Model, path?: string, opts: ExportOnnxOptions = {}): Uint8Array {
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new ValueError(`exportOnnx: argument 'path' must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  if (opts === null || typeof opts !== 'object') throw new ValueError(`exportOnnx: argument 'opts' must be an object, got ${JSON.stringify(opts)}`);
  for (const k of Object.keys(opts)) {
    if (k !== 'docString' && k !== 'metadata') throw new ValueError(`exportOnnx: unknown option '${k}'; options: docString, metadata`);
  }
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (typeof v !== 'string') throw new ValueError(`exportOnnx: option 'metadata' must map strings to strings, but '${k}' is ${JSON.stringify(v)}`);
  }
  const onnx = toOnnxModel(model, opts);
  // A protobuf message cannot exceed 2 GiB; ONNX's external-data files (for larger models) are not written here.
  const weightBytes = onnx.graph.initializers.reduce((n, t) => n + t.raw.byteLength, 0);
  if (weightBytes > 2 ** 31 - 2 ** 24) {
    throw new ValueError(`exportOnnx: ${model.who} has ${weightBytes.toLocaleString('en-US')} bytes of weights, beyond the 2 GiB a single ONNX protobuf file can hold`);
  }
  const bytes = encodeModel(onnx);
  if (path !== undefined) writeFileAtomicSync(path, bytes);
  return bytes;
}
