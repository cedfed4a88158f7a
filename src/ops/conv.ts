/**
 * Convolutions: conv2d, conv1d, depthwiseConv2d, separableConv2d, conv2dTranspose, and the two gradient entry
 * points conv2dBackpropInput / conv2dBackpropFilter that autograd calls.
 *
 * Layouts (DESIGN.md): x [N, H, W, Cin]; conv weights HWIO [KH, KW, Cin/groups, Cout]; depthwise weights
 * [KH, KW, C, multiplier]; conv-transpose weights [KH, KW, Cout, Cin]. Every shape, dtype and attribute is
 * checked here, once; the kernel then runs on resolved attributes (explicit pads, integer strides/dilations).
 *
 * Choices:
 * - x must have rank 4 (rank 3 for conv1d), as TensorFlow: a single image [H, W, C] is an error that says to
 *   add the batch axis, rather than a silent batch of one whose output rank differs from the input's.
 * - strides > 1 together with dilation > 1 is allowed (Keras layers reject it; tf.nn on CPU too): the result is
 *   well defined, the 'same' formula covers it, and PyTorch and JAX compute it.
 * - Cross-correlation, no kernel flip, as every deep-learning library.
 *
 * Gradients (recorded on the tape when an input requires grad) run the same three kernels in other roles:
 * conv2d y = conv(x, w): dx = conv2dBackwardData(dy, w), dw = conv2dBackwardFilter(x, dy), dbias = sum of dy
 * over all but the last axis. conv1d and depthwise run them on the 4-D views their forward used;
 * conv2dTranspose is conv2dBackwardData, so its dx is conv2d(dy, w) and its dw conv2dBackwardFilter(dy, x).
 * An input that does not require grad costs nothing (the first layer's dx is never computed). The two
 * gradient entry points are linear in each argument and record their own gradients (second order).
 */
import { ShapeError, ValueError, fmtShape, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import type { Conv2DAttrs, FusedActivation } from '../backends/backend.js';
import type { Tensor } from '../tensor/tensor.js';
import { assertRank, checkPositiveInt, checkShape, pair, shapesEqual } from '../tensor/shape.js';
import {
  type AxisPadding, type Padding1D, type Padding2D,
  outputPaddingPair, parsePadding1d, parsePadding2d, resolveTransposeGeometry, windowGeometry,
} from './padding.js';
import { channelVector, checkOptions, f32, floatTensor, fromKernel, sameFloatDType, sumAxes, view } from './validate.js';

export interface Conv2DOptions {
  /** Default 1; a number or [sh, sw]. */
  readonly strides?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2D;
  /** Default 1; a number or [dh, dw]. */
  readonly dilation?: number | readonly [number, number];
  /** Default 1; divides Cin and Cout. */
  readonly groups?: number;
  /** [Cout], added to every output pixel. */
  readonly bias?: Tensor;
  /** Default 'linear'; 'relu' is applied to conv + bias in the kernel's epilogue (no separate pass). */
  readonly activation?: FusedActivation;
}

export interface Conv1DOptions {
  /** Default 1 (`strides` is accepted as the Keras spelling). */
  readonly stride?: number;
  readonly strides?: number;
  /** Default 'valid'. */
  readonly padding?: Padding1D;
  /** Default 1. */
  readonly dilation?: number;
  /** Default 1. */
  readonly groups?: number;
  /** [Cout]. */
  readonly bias?: Tensor;
  /** Default 'linear'; 'relu' is fused into the kernel (as conv2d). */
  readonly activation?: FusedActivation;
}

export interface DepthwiseConv2DOptions {
  readonly strides?: number | readonly [number, number];
  readonly padding?: Padding2D;
  readonly dilation?: number | readonly [number, number];
  /** [C * multiplier]. */
  readonly bias?: Tensor;
  /** Default 'linear'; 'relu' is fused into the kernel (as conv2d; separableConv2d: into the pointwise step). */
  readonly activation?: FusedActivation;
}

/** Strides, padding and dilation apply to the depthwise step; the pointwise step is a 1x1 'valid' conv. */
export type SeparableConv2DOptions = DepthwiseConv2DOptions;

export interface Conv2DTransposeOptions {
  readonly strides?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2D;
  /** Extra rows/columns of output after, each smaller than its stride (Keras `output_padding`). */
  readonly outputPadding?: number | readonly [number, number];
  readonly dilation?: number | readonly [number, number];
  /** [Cout]. */
  readonly bias?: Tensor;
  /** The output's [N, OH, OW, Cout] or [OH, OW], instead of the Keras formula (as tf.nn.conv2d_transpose). */
  readonly outputShape?: readonly number[];
}

/** Attributes of the gradient entry points: those of the forward conv2d, without bias. */
export interface Conv2DGradOptions {
  readonly strides?: number | readonly [number, number];
  readonly padding?: Padding2D;
  readonly dilation?: number | readonly [number, number];
  readonly groups?: number;
}

const CONV2D_KEYS = ['strides', 'padding', 'dilation', 'groups', 'bias', 'activation'] as const;
const CONV1D_KEYS = ['stride', 'strides', 'padding', 'dilation', 'groups', 'bias', 'activation'] as const;
const DEPTHWISE_KEYS = ['strides', 'padding', 'dilation', 'bias', 'activation'] as const;
const TRANSPOSE_KEYS = ['strides', 'padding', 'outputPadding', 'dilation', 'bias', 'outputShape'] as const;
const GRAD_KEYS = ['strides', 'padding', 'dilation', 'groups'] as const;

/** The activation input: a float32 tensor of rank `rank`, with a hint for an unbatched image. */
function activation(op: string, arg: string, v: unknown, rank: number, layout: string): Tensor {
  const t = floatTensor(op, arg, v);
  if (t.shape.length !== rank) {
    const hint = t.shape.length === rank - 1 ? ` (a single example needs a batch axis of 1: ${arg}.expandDims(0))` : '';
    throw opError(ShapeError, op, `argument '${arg}' must have rank ${rank} ${layout}, got shape ${fmtShape(t.shape)}${hint}`);
  }
  return t;
}

/**
 * Checks the input channels cin of x against w's cg (per group) and cout, and groups; returns cout.
 * Shapes are passed for the messages only, so conv1d can show its own 3-D shapes.
 */
function checkConvChannels(
  op: string, xArg: string, xShape: readonly number[], cin: number,
  wArg: string, wShape: readonly number[], cg: number, cout: number, groups: number,
): number {
  if (cin % groups !== 0) {
    throw opError(ValueError, op, `argument 'groups' = ${groups} does not divide the ${cin} input channels of '${xArg}' ${fmtShape(xShape)}`);
  }
  if (cg * groups !== cin) {
    const all = groups > 1 ? ` (${cg * groups} in all)` : '';
    throw opError(
      ShapeError, op,
      `argument '${wArg}' ${fmtShape(wShape)} expects ${cg} input channels per group${all} but '${xArg}' ${fmtShape(xShape)} ` +
        `has ${cin} channels (groups ${groups})`,
    );
  }
  if (cout % groups !== 0) {
    throw opError(ValueError, op, `argument 'groups' = ${groups} does not divide the ${cout} output channels of '${wArg}' ${fmtShape(wShape)}`);
  }
  return cout;
}

/** Kernel sizes and output channels must be at least 1 (an empty filter bank has no output to define). */
function checkKernelDims(op: string, arg: string, shape: readonly number[], axes: readonly number[], layout: string): void {
  for (const a of axes) {
    if (shape[a] < 1) throw opError(ShapeError, op, `argument '${arg}' ${fmtShape(shape)} ${layout} has an empty axis ${a}`);
  }
}

/** The fused activation option: 'linear' (default) or 'relu'. */
function fusedActivation(op: string, v: unknown): FusedActivation {
  if (v === undefined || v === 'linear' || v === 'relu') return v ?? 'linear';
  throw opError(ValueError, op, `argument 'activation' must be 'linear' or 'relu', got ${JSON.stringify(v)}`);
}

/** The forward kernel's attributes: the geometry plus the fused activation (omitted when linear). */
function withActivation(attrs: Conv2DAttrs, act: FusedActivation): Conv2DAttrs {
  return act === 'linear' ? attrs : { ...attrs, activation: act };
}

function optionalBias(op: string, v: unknown, cout: number, of: string): Tensor | undefined {
  if (v === undefined) return undefined;
  return channelVector(op, 'bias', v, cout, `one value per output channel of ${of}`);
}

/** Resolved forward geometry of a conv2d; shared by the op and its gradient entry points. */
function convAttrs(
  op: string, xArg: string, xShape: readonly number[], wArg: string, wShape: readonly number[],
  strides: [number, number], dilations: [number, number], padding: readonly [AxisPadding, AxisPadding], groups: number,
): { attrs: Conv2DAttrs; outShape: number[] } {
  const g = windowGeometry(op, padding, [xShape[1], xShape[2]], [wShape[0], wShape[1]], strides, dilations, {
    input: `'${xArg}' ${fmtShape(xShape)}`, window: `the kernel of '${wArg}' ${fmtShape(wShape)}`,
  });
  return {
    attrs: { strides, dilations, pads: g.pads, groups },
    outShape: [xShape[0], g.outHW[0], g.outHW[1], wShape[3]],
  };
}

// --- the kernels in the roles the gradients use -------------------------------------------------

/** y = conv(x, w) + bias on resolved attributes. */
function convKernel(x: Tensor, w: Tensor, attrs: Conv2DAttrs, bias?: Tensor): Tensor {
  return fromKernel(backendFor(x, w, bias).conv2d(f32(x), f32(w), attrs, bias && f32(bias)));
}

/** d<dy, conv(x, w)>/dx for an x of shape xShape. */
function inputGradKernel(dy: Tensor, w: Tensor, xShape: readonly number[], attrs: Conv2DAttrs): Tensor {
  return fromKernel(backendFor(dy, w).conv2dBackwardData(f32(dy), f32(w), xShape, attrs));
}

/** d<dy, conv(x, w)>/dw for a w of shape wShape. */
function filterGradKernel(x: Tensor, dy: Tensor, wShape: readonly number[], attrs: Conv2DAttrs): Tensor {
  return fromKernel(backendFor(x, dy).conv2dBackwardFilter(f32(x), f32(dy), wShape, attrs));
}

const needs = (t: Tensor | undefined): t is Tensor => t !== undefined && t.requiresGrad;

/** The 4-D shapes the kernel saw, where the user's tensors are views (conv1d, depthwise); omitted: the same. */
interface Views4 {
  readonly x?: readonly number[];
  readonly w?: readonly number[];
  readonly y?: readonly number[];
}

/**
 * Records on y (= act(conv(x, w) + bias), as the kernel computed it on the views `v`, act from
 * fwdAttrs.activation) the gradients of x, w and bias, each in its caller's shape. Views are made in the backward, so none outlives a scope.
 */
function recordConv(op: string, y: Tensor, x: Tensor, w: Tensor, bias: Tensor | undefined, fwdAttrs: Conv2DAttrs, v: Views4 = {}): Tensor {
  const { activation: act, ...attrs } = fwdAttrs;
  return record(op, y, [x, w, bias], (dy) => {
    // relu: y > 0 exactly where conv + bias is (relu keeps neither -0 nor NaN above 0), so y stands in for the
    // pre-activation and relu'(0) = 0; the masked dy then feeds the linear conv's three gradients.
    const g = act === 'relu' ? fromKernel(backendFor(y, dy).unaryGrad('relu', f32(y), f32(y), f32(dy), {}), dy.shape) : dy;
    const g4 = v.y ? view(g, v.y) : g;
    const x4 = v.x ? view(x, v.x) : x;
    const w4 = v.w ? view(w, v.w) : w;
    const dx = needs(x) ? inputGradKernel(g4, w4, x4.shape, attrs) : null;
    const dw = needs(w) ? filterGradKernel(x4, g4, w4.shape, attrs) : null;
    return [
      dx && v.x ? view(dx, x.shape) : dx,
      dw && v.w ? view(dw, w.shape) : dw,
      needs(bias) ? sumAxes(g, g.shape.slice(0, -1).map((_, i) => i)) : null,
    ];
  });
}

/**
 * 2-D convolution (cross-correlation) of x [N, H, W, Cin] with w [KH, KW, Cin/groups, Cout] -> [N, OH, OW, Cout].
 * @example conv2d(x, w, { strides: 2, padding: 'same', bias })
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2DOptions = {}): Tensor {
  const a = conv2dArgs('conv2d', x, w, options);
  return recordConv('conv2d', convKernel(a.x, a.w, a.attrs, a.bias), a.x, a.w, a.bias, a.attrs);
}

/**
 * conv2d off the JS thread where the backend can (native: the libuv pool, so timers and requests keep running),
 * else the synchronous kernel, resolved. Same checks (thrown synchronously), result and recorded gradient as
 * conv2d: the gradient is recorded when the result arrives, under the grad mode of the call (noGrad around the
 * call, or around the await in an async function, covers it). Do not write x, w or bias until it settles.
 * @example const y = await ops.conv2dAsync(x, w, { padding: 'same' });
 */
export function conv2dAsync(x: Tensor, w: Tensor, options: Conv2DOptions = {}): Promise<Tensor> {
  const a = conv2dArgs('conv2dAsync', x, w, options);
  const backend = backendFor(a.x, a.w, a.bias);
  const run = backend.async?.conv2d;
  const done = (y: Tensor): Tensor => recordConv('conv2d', y, a.x, a.w, a.bias, a.attrs);
  // The continuation runs in the grad mode of this call (AsyncLocalStorage follows .then).
  return run
    ? run.call(backend.async, f32(a.x), f32(a.w), a.attrs, a.bias && f32(a.bias)).then((y) => done(fromKernel(y)))
    : Promise.resolve(done(convKernel(a.x, a.w, a.attrs, a.bias)));
}

/** conv2d's validation and attribute resolution, shared by its sync and Promise forms. */
function conv2dArgs(op: string, x: Tensor, w: Tensor, options: Conv2DOptions) {
  const o = checkOptions(op, options, CONV2D_KEYS);
  const xt = activation(op, 'x', x, 4, '[N, H, W, Cin]');
  const wt = floatTensor(op, 'w', w);
  assertRank(op, 'w', wt.shape, 4);
  const strides = pair(op, 'strides', o.strides ?? 1);
  const dilations = pair(op, 'dilation', o.dilation ?? 1);
  const groups = checkPositiveInt(op, 'groups', o.groups ?? 1);
  const padding = parsePadding2d(op, o.padding);
  checkKernelDims(op, 'w', wt.shape, [0, 1, 3], '[KH, KW, Cin/groups, Cout]');
  const cout = checkConvChannels(op, 'x', xt.shape, xt.shape[3], 'w', wt.shape, wt.shape[2], wt.shape[3], groups);
  const bias = optionalBias(op, o.bias, cout, `'w' ${fmtShape(wt.shape)}`);
  const act = fusedActivation(op, o.activation);
  sameFloatDType(op, [['x', xt], ['w', wt], ['bias', bias]]);
  const { attrs } = convAttrs(op, 'x', xt.shape, 'w', wt.shape, strides, dilations, padding, groups);
  return { x: xt, w: wt, attrs: withActivation(attrs, act), bias };
}

/**
 * 1-D convolution of x [N, W, Cin] with w [K, Cin/groups, Cout] -> [N, OW, Cout], computed as conv2d with H = 1.
 * Padding 'causal' pads (K-1)*dilation on the left only, so output t sees inputs up to t (Keras Conv1D).
 */
export function conv1d(x: Tensor, w: Tensor, options: Conv1DOptions = {}): Tensor {
  const op = 'conv1d';
  const o = checkOptions(op, options, CONV1D_KEYS);
  const xt = activation(op, 'x', x, 3, '[N, W, Cin]');
  const wt = floatTensor(op, 'w', w);
  assertRank(op, 'w', wt.shape, 3);
  if (o.stride !== undefined && o.strides !== undefined && o.stride !== o.strides) {
    throw opError(ValueError, op, `options 'stride' (${String(o.stride)}) and 'strides' (${String(o.strides)}) disagree; give one`);
  }
  const stride = checkPositiveInt(op, o.stride !== undefined ? 'stride' : 'strides', o.stride ?? o.strides ?? 1);
  const dilation = checkPositiveInt(op, 'dilation', o.dilation ?? 1);
  const groups = checkPositiveInt(op, 'groups', o.groups ?? 1);
  const [n, width, cin] = xt.shape;
  const [k, cg, cout] = wt.shape;
  const padW = parsePadding1d(op, o.padding, k, dilation);
  // Messages show the 1-D shapes the user passed; the 4-D views below only feed the kernel.
  const x4 = [n, 1, width, cin];
  const w4 = [1, k, cg, cout];
  checkKernelDims(op, 'w', wt.shape, [0, 2], '[K, Cin/groups, Cout]');
  checkConvChannels(op, 'x', xt.shape, cin, 'w', wt.shape, cg, cout, groups);
  const bias = optionalBias(op, o.bias, cout, `'w' ${fmtShape(wt.shape)}`);
  sameFloatDType(op, [['x', xt], ['w', wt], ['bias', bias]]);
  const g = windowGeometry(op, ['valid', padW], [1, width], [1, k], [1, stride], [1, dilation], {
    input: `'x' ${fmtShape(xt.shape)}`, window: `the kernel of 'w' ${fmtShape(wt.shape)}`,
  });
  const attrs = withActivation({ strides: [1, stride], dilations: [1, dilation], pads: g.pads, groups }, fusedActivation(op, o.activation));
  const y = backendFor(xt, wt, bias).conv2d(f32(view(xt, x4)), f32(view(wt, w4)), attrs, bias && f32(bias));
  const y4 = [n, 1, g.outHW[1], cout];
  return recordConv(op, fromKernel(y, [n, g.outHW[1], cout]), xt, wt, bias, attrs, { x: x4, w: w4, y: y4 });
}

/**
 * Depthwise convolution: each of the C input channels is convolved with its own M filters,
 * x [N, H, W, C], w [KH, KW, C, M] -> [N, OH, OW, C*M], output channel c*M + m (TensorFlow's order).
 * Runs as a grouped conv2d with groups = C on w viewed as [KH, KW, 1, C*M] (same memory order).
 */
export function depthwiseConv2d(x: Tensor, w: Tensor, options: DepthwiseConv2DOptions = {}): Tensor {
  const op = 'depthwiseConv2d';
  const o = checkOptions(op, options, DEPTHWISE_KEYS);
  const xt = activation(op, 'x', x, 4, '[N, H, W, C]');
  const wt = floatTensor(op, 'w', w);
  assertRank(op, 'w', wt.shape, 4);
  const strides = pair(op, 'strides', o.strides ?? 1);
  const dilations = pair(op, 'dilation', o.dilation ?? 1);
  const padding = parsePadding2d(op, o.padding);
  return depthwiseCore(op, xt, wt, strides, dilations, padding, o.bias, fusedActivation(op, o.activation));
}

function depthwiseCore(
  op: string, xt: Tensor, wt: Tensor, strides: [number, number], dilations: [number, number],
  padding: readonly [AxisPadding, AxisPadding], biasArg: unknown, act: FusedActivation, wArg = 'w',
): Tensor {
  const c = xt.shape[3];
  const [kh, kw, wc, m] = wt.shape;
  checkKernelDims(op, wArg, wt.shape, [0, 1, 3], '[KH, KW, C, multiplier]');
  if (wc !== c) {
    throw opError(
      ShapeError, op,
      `argument '${wArg}' ${fmtShape(wt.shape)} [KH, KW, C, multiplier] expects ${wc} input channels but 'x' ${fmtShape(xt.shape)} has ${c}`,
    );
  }
  const grouped = [kh, kw, 1, c * m];
  const bias = optionalBias(op, biasArg, c * m, `'${wArg}' ${fmtShape(wt.shape)} (C * multiplier)`);
  sameFloatDType(op, [['x', xt], [wArg, wt], ['bias', bias]]);
  const g = windowGeometry(op, padding, [xt.shape[1], xt.shape[2]], [kh, kw], strides, dilations, {
    input: `'x' ${fmtShape(xt.shape)}`, window: `the kernel of '${wArg}' ${fmtShape(wt.shape)}`,
  });
  const attrs = withActivation({ strides, dilations, pads: g.pads, groups: c }, act);
  const y = convKernel(xt, view(wt, grouped), attrs, bias);
  return recordConv(op, y, xt, wt, bias, attrs, { w: grouped });
}

/**
 * Separable convolution (Keras SeparableConv2D): a depthwise conv with depthwiseW [KH, KW, C, M], then a 1x1
 * conv with pointwiseW [1, 1, C*M, Cout] and the bias [Cout]. x [N, H, W, C] -> [N, OH, OW, Cout].
 */
export function separableConv2d(x: Tensor, depthwiseW: Tensor, pointwiseW: Tensor, options: SeparableConv2DOptions = {}): Tensor {
  const op = 'separableConv2d';
  const o = checkOptions(op, options, DEPTHWISE_KEYS);
  const xt = activation(op, 'x', x, 4, '[N, H, W, C]');
  const dw = floatTensor(op, 'depthwiseW', depthwiseW);
  assertRank(op, 'depthwiseW', dw.shape, 4);
  const pw = floatTensor(op, 'pointwiseW', pointwiseW);
  assertRank(op, 'pointwiseW', pw.shape, 4);
  const strides = pair(op, 'strides', o.strides ?? 1);
  const dilations = pair(op, 'dilation', o.dilation ?? 1);
  const padding = parsePadding2d(op, o.padding);
  const mid = dw.shape[2] * dw.shape[3];
  if (pw.shape[0] !== 1 || pw.shape[1] !== 1 || pw.shape[2] !== mid) {
    throw opError(
      ShapeError, op,
      `argument 'pointwiseW' must have shape [1,1,${mid},Cout] (C * multiplier of 'depthwiseW' ${fmtShape(dw.shape)}), got ${fmtShape(pw.shape)}`,
    );
  }
  const cout = pw.shape[3];
  // Check the bias before running the depthwise step, so a bad call computes nothing.
  const bias = optionalBias(op, o.bias, cout, `'pointwiseW' ${fmtShape(pw.shape)}`);
  sameFloatDType(op, [['x', xt], ['depthwiseW', dw], ['pointwiseW', pw], ['bias', bias]]);
  // Two recorded steps: the depthwise output is an intermediate of the graph like any other.
  const act = fusedActivation(op, o.activation);
  const depth = depthwiseCore(op, xt, dw, strides, dilations, padding, undefined, 'linear', 'depthwiseW');
  const attrs = withActivation({ strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], groups: 1 }, act);
  return recordConv(op, convKernel(depth, pw, attrs, bias), depth, pw, bias, attrs);
}

/**
 * Transposed convolution (Keras Conv2DTranspose): x [N, H, W, Cin], w [KH, KW, Cout, Cin] -> [N, OH, OW, Cout],
 * the gradient of conv2d with respect to its input, where that conv2d maps [N, OH, OW, Cout] to x with the same
 * w (read as HWIO). Output size: Keras `deconv_output_length` (see convTransposeOutputLength in padding.ts)
 * or `outputShape`.
 */
export function conv2dTranspose(x: Tensor, w: Tensor, options: Conv2DTransposeOptions = {}): Tensor {
  const op = 'conv2dTranspose';
  const o = checkOptions(op, options, TRANSPOSE_KEYS);
  const xt = activation(op, 'x', x, 4, '[N, H, W, Cin]');
  const wt = floatTensor(op, 'w', w);
  assertRank(op, 'w', wt.shape, 4);
  const strides = pair(op, 'strides', o.strides ?? 1);
  const dilations = pair(op, 'dilation', o.dilation ?? 1);
  const padding = parsePadding2d(op, o.padding);
  const [n, , , cin] = xt.shape;
  const [kh, kw, cout, wcin] = wt.shape;
  checkKernelDims(op, 'w', wt.shape, [0, 1, 2], '[KH, KW, Cout, Cin]');
  if (wcin !== cin) {
    throw opError(
      ShapeError, op,
      `argument 'w' ${fmtShape(wt.shape)} [KH, KW, Cout, Cin] expects ${wcin} input channels but 'x' ${fmtShape(xt.shape)} has ${cin}`,
    );
  }
  if (o.outputShape !== undefined && o.outputPadding !== undefined) {
    throw opError(ValueError, op, `give 'outputShape' or 'outputPadding', not both (each fixes the output size)`);
  }
  const outputPadding = o.outputPadding === undefined ? undefined : outputPaddingPair(op, o.outputPadding, strides, dilations);
  let outputHW: [number, number] | undefined;
  if (o.outputShape !== undefined) {
    const s = checkShape(op, 'outputShape', o.outputShape);
    if (s.length === 2) outputHW = [s[0], s[1]];
    else if (s.length === 4 && s[0] === n && s[3] === cout) outputHW = [s[1], s[2]];
    else {
      throw opError(
        ShapeError, op,
        `argument 'outputShape' ${fmtShape(s)} must be [OH, OW] or [${n}, OH, OW, ${cout}] for 'x' ${fmtShape(xt.shape)} and 'w' ${fmtShape(wt.shape)}`,
      );
    }
  }
  const bias = optionalBias(op, o.bias, cout, `'w' ${fmtShape(wt.shape)} (its axis 2)`);
  const g = resolveTransposeGeometry(op, padding, [xt.shape[1], xt.shape[2]], [kh, kw], strides, dilations, outputPadding, outputHW, {
    input: `'x' ${fmtShape(xt.shape)}`, window: `the kernel of 'w' ${fmtShape(wt.shape)}`,
  });
  sameFloatDType(op, [['x', xt], ['w', wt], ['bias', bias]]);
  const attrs: Conv2DAttrs = { strides, dilations, pads: g.pads, groups: 1 };
  let y = inputGradKernel(xt, wt, [n, g.outHW[0], g.outHW[1], cout], attrs);
  // The kernel has no bias epilogue for this direction: a broadcasting add over the last axis.
  if (bias) y = fromKernel(backendFor(y, bias).binary('add', f32(y), f32(bias), y.shape));
  // y = A_w^T x, where A_w is the conv2d of an [N, OH, OW, Cout] input with w read as HWIO: so dx = A_w dy,
  // and <dy, A_w^T x> = <A_w dy, x> makes dw the filter gradient of that conv2d with dy as its input and x as its dy.
  return record(op, y, [xt, wt, bias], (dy) => [
    needs(xt) ? convKernel(dy, wt, attrs) : null,
    needs(wt) ? filterGradKernel(dy, xt, wt.shape, attrs) : null,
    needs(bias) ? sumAxes(dy, [0, 1, 2]) : null,
  ]);
}

/** Common part of the gradient entry points: the options and the forward geometry of x and w. */
function gradGeometry(
  op: string, options: Conv2DGradOptions | undefined, xShape: readonly number[], xArg: string, wShape: readonly number[], wArg: string,
): { attrs: Conv2DAttrs; outShape: number[] } {
  const o = checkOptions(op, options, GRAD_KEYS);
  const strides = pair(op, 'strides', o.strides ?? 1);
  const dilations = pair(op, 'dilation', o.dilation ?? 1);
  const groups = checkPositiveInt(op, 'groups', o.groups ?? 1);
  const padding = parsePadding2d(op, o.padding);
  checkKernelDims(op, wArg, wShape, [0, 1, 3], '[KH, KW, Cin/groups, Cout]');
  checkConvChannels(op, xArg, xShape, xShape[3], wArg, wShape, wShape[2], wShape[3], groups);
  return convAttrs(op, xArg, xShape, wArg, wShape, strides, dilations, padding, groups);
}

function checkDy(op: string, dy: Tensor, expected: readonly number[], xArg: string, xShape: readonly number[], wArg: string, wShape: readonly number[]): void {
  if (!shapesEqual(dy.shape, expected)) {
    throw opError(
      ShapeError, op,
      `argument 'dy' ${fmtShape(dy.shape)} must have the conv2d output shape ${fmtShape(expected)} of '${xArg}' ${fmtShape(xShape)} ` +
        `and '${wArg}' ${fmtShape(wShape)}`,
    );
  }
}

/**
 * Gradient of conv2d(x, w, options) with respect to x: dy [N, OH, OW, Cout] -> dx of shape `xShape`
 * [N, H, W, Cin]. xShape is needed because several input sizes give one output size under strides.
 */
export function conv2dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options: Conv2DGradOptions = {}): Tensor {
  const op = 'conv2dBackpropInput';
  const dyt = activation(op, 'dy', dy, 4, '[N, OH, OW, Cout]');
  const wt = floatTensor(op, 'w', w);
  assertRank(op, 'w', wt.shape, 4);
  const xs = checkShape(op, 'xShape', xShape);
  assertRank(op, 'xShape', xs, 4);
  const { attrs, outShape } = gradGeometry(op, options, xs, 'xShape', wt.shape, 'w');
  checkDy(op, dyt, outShape, 'xShape', xs, 'w', wt.shape);
  sameFloatDType(op, [['dy', dyt], ['w', wt]]);
  const dx = inputGradKernel(dyt, wt, xs, attrs);
  // dx = A_w^T dy is linear in dy and in w: <g, A_w^T dy> = <conv(g, w), dy>, the filter gradient of conv(g, w).
  return record(op, dx, [dyt, wt], (g) => [
    needs(dyt) ? convKernel(g, wt, attrs) : null,
    needs(wt) ? filterGradKernel(g, dyt, wt.shape, attrs) : null,
  ]);
}

/**
 * Gradient of conv2d(x, w, options) with respect to w: x [N, H, W, Cin] and dy [N, OH, OW, Cout] -> dw of shape
 * `wShape` [KH, KW, Cin/groups, Cout].
 */
export function conv2dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options: Conv2DGradOptions = {}): Tensor {
  const op = 'conv2dBackpropFilter';
  const xt = activation(op, 'x', x, 4, '[N, H, W, Cin]');
  const dyt = activation(op, 'dy', dy, 4, '[N, OH, OW, Cout]');
  const ws = checkShape(op, 'wShape', wShape);
  assertRank(op, 'wShape', ws, 4);
  const { attrs, outShape } = gradGeometry(op, options, xt.shape, 'x', ws, 'wShape');
  checkDy(op, dyt, outShape, 'x', xt.shape, 'wShape', ws);
  sameFloatDType(op, [['x', xt], ['dy', dyt]]);
  const dw = filterGradKernel(xt, dyt, ws, attrs);
  // <g, dw(x, dy)> = <conv(x, g), dy> = <x, A_g^T dy>: bilinear, each side another of the three kernels.
  return record(op, dw, [xt, dyt], (g) => [
    needs(xt) ? inputGradKernel(dyt, g, xt.shape, attrs) : null,
    needs(dyt) ? convKernel(xt, g, attrs) : null,
  ]);
}
