/**
 * Layer: the base of every Keras-style layer and of models.
 *
 * A layer is configured at construction (Keras option names), creates its weights in `build(inputShape)` the
 * first time it sees an input (weights are Variables named "<layer>/kernel", "<layer>/bias", ...), infers output
 * shapes with `computeOutputShape` (the batch axis is null), and computes with `call(inputs, { training })`
 * using ops and tensor functions, so autograd records through it.
 *
 * `apply` has two modes, as a Keras layer call: on Tensors it runs the layer (building it first); on
 * SymbolicTensors (from `input()`) it only infers shapes and records a Node, the edge of a functional graph.
 * Every error raised inside a layer is re-thrown with the layer's name and class in front:
 * "conv2d_1 (Conv2D): ...".
 *
 * Names are unique like Keras' auto names: the snake_case class name, then _1, _2, ... (clearSession resets).
 */
import { type Device, resolveModelDevice } from '../backends/cuda/device-storage.js';
import { DTypeError, NodegradError, ShapeError, ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Variable } from './variable.js';
import type { Initializer } from './initializers.js';
import { type Regularizer, type RegularizerIdentifier, getRegularizer } from './regularizers.js';
import { type Shape, fmtShape, isShapeList } from './shapes.js';

export interface CallOptions {
  /** Training mode: dropout drops, batch norm uses and updates batch statistics. Default false (inference). */
  training?: boolean;
}

/** What getConfig returns and layerFromConfig reads: JSON values only. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type LayerConfig = {
  className: string;
  name: string;
  trainable: boolean;
  [key: string]: JsonValue;
};

/** Options every layer accepts. */
export interface LayerArgs {
  /** Unique within a model; default: the snake_case class name made unique (dense, dense_1, ...). */
  name?: string;
  /** Default true; false freezes the layer's weights (and runs batch norm in inference mode). */
  trainable?: boolean;
  /** Shape of one example without the batch axis (Keras input_shape): lets sequential() build at once. */
  inputShape?: readonly (number | null)[];
  /** Fixed batch size to go with inputShape (default: unknown, null). */
  batchSize?: number;
  /** Full input shape including the batch axis (Keras batch_input_shape); the config form of inputShape. */
  batchInputShape?: readonly (number | null)[];
  /** Penalty on the layer's output, added to the model's regularizationLoss() after each forward pass. */
  activityRegularizer?: RegularizerIdentifier | null;
}

const BASE_KEYS = ['name', 'trainable', 'inputShape', 'batchSize', 'batchInputShape', 'activityRegularizer'];

/** What a layer requires of each input (Keras InputSpec); checked before build and before every call. */
export interface InputSpec {
  ndim?: number;
  minNdim?: number;
  /** Required lengths of axes (negative: from the end), fixed by build. */
  axes?: Record<number, number>;
  /** Layout shown in rank errors, e.g. "[N, H, W, C]". */
  layout?: string;
}

let nextTensorId = 0;

/** An edge of a functional graph: one call of a layer on symbolic inputs. */
export class Node {
  outputs: SymbolicTensor[] = [];
  constructor(
    readonly layer: Layer,
    readonly inputs: readonly SymbolicTensor[],
    /** The `training` given to this call (Keras `base(x, training=False)`); undefined follows the model's. */
    readonly training: boolean | undefined,
  ) {}
}

/** A placeholder for a tensor in a functional graph: its shape (batch null) and the node that makes it. */
export class SymbolicTensor {
  readonly id = nextTensorId++;
  constructor(
    readonly shape: Shape,
    readonly node: Node,
    /** Which output of the node. */
    readonly index: number,
    readonly dtype: 'float32' | 'int32' = 'float32',
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  /** The producing layer's name (with ":index" for a layer with several outputs). */
  get name(): string {
    return this.node.outputs.length > 1 ? `${this.node.layer.name}:${this.index}` : this.node.layer.name;
  }
  toString(): string {
    return `SymbolicTensor(${this.name}, shape=${fmtShape(this.shape)})`;
  }
}

/** Substitute values for variables during withWeights(); null outside it. */
let substitutes: ReadonlyMap<Variable, Tensor> | null = null;

/**
 * Runs fn (synchronous) with layers reading `values` in place of the given variables' values (a functional call,
 * as torch.func.functional_call): gradient checks pass float64 weights this way; the variables are untouched.
 */
export function withWeights<T>(values: ReadonlyMap<Variable, Tensor>, fn: () => T): T {
  const saved = substitutes;
  substitutes = values;
  try {
    return fn();
  } finally {
    substitutes = saved;
  }
}

/** The tensor a layer computes with for a variable: its value, or the withWeights substitute. */
export function readWeight(v: Variable): Tensor {
  return substitutes?.get(v) ?? v.value;
}

/** Nesting depth of eager layer calls: the outermost call starts a fresh list of activity penalties. */
let callDepth = 0;

const nameCounters = new Map<string, number>();

/** Resets the automatic layer names (dense, dense_1, ...), as keras.backend.clear_session. */
export function clearSession(): void {
  nameCounters.clear();
}

/** Keras' to_snake_case: Conv2DTranspose -> conv2d_transpose, LeakyReLU -> leaky_re_lu. */
export function snakeCase(name: string): string {
  return name.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** base, base_1, base_2, ... */
export function uniqueName(base: string): string {
  const n = nameCounters.get(base) ?? 0;
  nameCounters.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** An explicit name such as 'dense' or 'dense_3' moves its counter past it, so later automatic names differ. */
function noteName(name: string): void {
  const m = /^(.*)_(\d+)$/.exec(name);
  const [base, index] = m ? [m[1], Number(m[2])] : [name, 0];
  nameCounters.set(base, Math.max(nameCounters.get(base) ?? 0, index + 1));
}

type LayerFactory = (config: LayerConfig) => Layer;
const REGISTRY = new Map<string, LayerFactory>();

/**
 * Registers a layer class for layerFromConfig under its static className (custom layers call this too).
 * The default factory passes the config (less className) to the constructor.
 */
export function registerLayer(
  cls: { readonly className: string; fromConfig?: LayerFactory } & (new (args: never) => Layer),
  factory?: LayerFactory,
): void {
  REGISTRY.set(cls.className, factory ?? cls.fromConfig ?? ((config) => {
    const { className: _, ...args } = config;
    return new (cls as unknown as new (a: unknown) => Layer)(args);
  }));
}

/** A layer (or model) from its getConfig() output; weights are fresh (use setWeights to restore values). */
export function layerFromConfig(config: LayerConfig): Layer {
  if (!config || typeof config !== 'object' || typeof config.className !== 'string') {
    throw new ValueError(`layerFromConfig: argument 'config' must be an object with a string 'className', got ${JSON.stringify(config)}`);
  }
  const factory = REGISTRY.get(config.className);
  if (!factory) {
    throw new ValueError(`layerFromConfig: unknown layer class '${config.className}'; known: ${[...REGISTRY.keys()].sort().join(', ')}`);
  }
  return factory(config);
}

const PLAIN_ERRORS: ReadonlySet<unknown> = new Set([NodegradError, ShapeError, ValueError, DTypeError]);

/** Re-throws a library error with `who` in front (once), keeping its class; other errors pass unchanged. */
export function rethrowAs(who: string, err: unknown): never {
  if (err instanceof NodegradError && PLAIN_ERRORS.has(err.constructor) && !err.message.startsWith(who)) {
    const Kind = err.constructor as new (m: string) => NodegradError;
    const wrapped = new Kind(`${who}: ${err.message}`);
    (wrapped as Error & { cause?: unknown }).cause = err;
    throw wrapped;
  }
  throw err;
}

export abstract class Layer {
  /** The Keras class name (Dense, Conv2D, ...): the key of the config registry. Subclasses override it. */
  static readonly className: string = 'Layer';

  readonly name: string;
  /** Set once build() has created the weights. */
  built = false;
  /** What each input must look like; layers set it in the constructor (rank) and in build (channels). */
  inputSpec: InputSpec | null = null;
  /** The full input shape given with inputShape / batchInputShape, for sequential() to start from. */
  readonly batchInputShape: Shape | null;
  readonly activityRegularizer: Regularizer | null;
  /** The calls of this layer on symbolic tensors (one per use in functional graphs). */
  readonly inboundNodes: Node[] = [];
  /** The input shape build() was called with (batch null). */
  buildInputShape: Shape | Shape[] | null = null;

  protected _trainable: boolean;
  #weights: Variable[] = [];
  /** Whether each weight was created trainable (moving statistics are not), to restore after unfreezing. */
  #createdTrainable = new Map<Variable, boolean>();
  #regularized: Array<[Variable, Regularizer]> = [];
  #activityLosses: Tensor[] = [];
  #device: Device = 'cpu';

  constructor(args: LayerArgs = {}) {
    const cls = (this.constructor as typeof Layer).className;
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name === '' || args.name.includes('/'))) {
      throw new ValueError(`${cls}: option 'name' must be a non-empty string without '/', got ${JSON.stringify(args.name)}`);
    }
    if (args.name !== undefined) noteName(args.name);
    this.name = args.name ?? uniqueName(snakeCase(cls));
    if (args.trainable !== undefined && typeof args.trainable !== 'boolean') {
      throw new ValueError(`${this.who}: option 'trainable' must be a boolean, got ${JSON.stringify(args.trainable)}`);
    }
    this._trainable = args.trainable ?? true;
    this.batchInputShape = this.parseInputShape(args);
    this.activityRegularizer = args.activityRegularizer ? getRegularizer(args.activityRegularizer, `${this.who}: option 'activityRegularizer'`) : null;
  }

  /** The Keras class name of this layer. */
  get className(): string {
    return (this.constructor as typeof Layer).className;
  }

  /** "name (ClassName)": how errors and summaries name the layer. */
  get who(): string {
    return `${this.name} (${this.className})`;
  }

  private parseInputShape(args: LayerArgs): Shape | null {
    const dim = (d: unknown, what: string): number | null => {
      if (d === null) return null;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
        throw new ValueError(`${this.who}: option '${what}' must hold non-negative integers or null, got ${JSON.stringify(d)}`);
      }
      return d;
    };
    if (args.batchInputShape !== undefined && args.batchInputShape !== null) {
      if (!Array.isArray(args.batchInputShape)) throw new ValueError(`${this.who}: option 'batchInputShape' must be an array, got ${JSON.stringify(args.batchInputShape)}`);
      return args.batchInputShape.map((d) => dim(d, 'batchInputShape'));
    }
    if (args.inputShape === undefined) return null;
    if (!Array.isArray(args.inputShape)) throw new ValueError(`${this.who}: option 'inputShape' must be an array (without the batch axis), got ${JSON.stringify(args.inputShape)}`);
    const batch = args.batchSize === undefined ? null : dim(args.batchSize, 'batchSize');
    return [batch, ...args.inputShape.map((d) => dim(d, 'inputShape'))];
  }

  /** Rejects option keys the layer does not know (a typo such as kernel_size would otherwise be ignored). */
  protected checkArgs(args: object, keys: readonly string[]): void {
    for (const k of Object.keys(args)) {
      if (!keys.includes(k) && !BASE_KEYS.includes(k)) {
        throw new ValueError(`${this.who}: unknown option '${k}'; options: ${[...keys, ...BASE_KEYS].join(', ')}`);
      }
    }
  }

  // --- weights ---------------------------------------------------------------------------------

  /** Creates a weight "<layer name>/<name>" from the initializer (its temporary tensor is disposed). */
  protected addWeight(
    name: string, shape: readonly number[], initializer: Initializer,
    opts: { trainable?: boolean; regularizer?: Regularizer | null } = {},
  ): Variable {
    const full = `${this.name}/${name}`;
    if (this.#weights.some((w) => w.name === full)) throw new ValueError(`${this.who}: weight '${full}' already exists (was build() called twice?)`);
    const initial = initializer.call(shape);
    const trainable = opts.trainable ?? true;
    const v = new Variable(full, initial, trainable && this._trainable);
    initial.dispose();
    if (this.#device !== 'cpu') v.to(this.#device);  // a layer built after model.to('cuda')
    this.#weights.push(v);
    this.#createdTrainable.set(v, trainable);
    if (opts.regularizer) this.#regularized.push([v, opts.regularizer]);
    return v;
  }

  /** Where the weights live (and weights created later will): 'cpu' or 'cuda'. */
  get device(): Device {
    return this.#device;
  }

  /**
   * Moves every weight to `device` in place (the same Variable and tensor objects, so optimizers and references
   * keep working; gradients are dropped, optimizer slots follow at the next update) and returns this. 'cuda'
   * without a usable CUDA device prints the one-line note once and stays on the CPU.
   */
  to(device: Device): this {
    const d = resolveModelDevice(`${this.who}.to`, device);
    this.#device = d;
    for (const w of this.#weights) w.to(d);
    return this;
  }

  /** Every weight, in creation order (kernel, bias; gamma, beta, moving_mean, moving_variance). */
  get weights(): Variable[] {
    return [...this.#weights];
  }
  /** The weights optimizers update: none when the layer is frozen. */
  get trainableWeights(): Variable[] {
    return this._trainable ? this.#weights.filter((w) => w.trainable) : [];
  }
  get nonTrainableWeights(): Variable[] {
    const t = new Set(this.trainableWeights);
    return this.weights.filter((w) => !t.has(w));
  }

  /** Whether the layer's weights train; false freezes them (batch norm then also uses its moving statistics). */
  get trainable(): boolean {
    return this._trainable;
  }
  set trainable(flag: boolean) {
    if (typeof flag !== 'boolean') throw new ValueError(`${this.who}: 'trainable' must be a boolean, got ${JSON.stringify(flag)}`);
    this._trainable = flag;
    for (const w of this.#weights) w.trainable = flag && this.#createdTrainable.get(w) === true;
  }

  /** Number of scalars in the weights; the layer must be built. */
  countParams(): number {
    if (!this.built) {
      throw new ValueError(`${this.who}: countParams() needs a built layer; call it on an input, give it an inputShape, or call build(inputShape)`);
    }
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  /** Copies of the weights' values by variable name. */
  getWeights(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const w of this.weights) out[w.name] = w.read();
    return out;
  }

  /**
   * Sets the weights' values in place: by variable name (every weight must be given, and no other), or as an
   * array in `weights` order (Keras set_weights).
   */
  setWeights(values: Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor> | readonly Tensor[]): void {
    const weights = this.weights;
    if (!this.built) throw new ValueError(`${this.who}: setWeights() needs a built layer (it has no weights yet)`);
    try {
      if (Array.isArray(values)) {
        if (values.length !== weights.length) {
          throw new ValueError(`setWeights got ${values.length} arrays for ${weights.length} weights (${weights.map((w) => w.name).join(', ')})`);
        }
        weights.forEach((w, i) => w.assign(values[i]));
        return;
      }
      const map = values instanceof Map ? values as ReadonlyMap<string, Tensor> : new Map(Object.entries(values as Record<string, Tensor>));
      const names = new Set(weights.map((w) => w.name));
      const missing = weights.filter((w) => !map.has(w.name)).map((w) => w.name);
      const unknown = [...map.keys()].filter((k) => !names.has(k));
      if (missing.length || unknown.length) {
        throw new ValueError(
          `setWeights: ${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && unknown.length ? '; ' : ''}` +
            `${unknown.length ? `unknown ${unknown.join(', ')}` : ''} (weights: ${[...names].join(', ')})`,
        );
      }
      for (const w of weights) w.assign(map.get(w.name)!);
    } catch (err) {
      rethrowAs(this.who, err);
    }
  }

  /** Sum of the kernel regularizers' penalties on the trainable weights and the last activity penalties, or null. */
  regularizationLoss(): Tensor | null {
    const terms: Tensor[] = [];
    if (this._trainable) for (const [v, r] of this.#regularized) if (v.trainable) terms.push(r.apply(readWeight(v)));
    for (const t of this.#activityLosses) if (!t.isDisposed) terms.push(t);
    return terms.length ? terms.reduce((a, b) => a.add(b)) : null;
  }

  /** Forgets the activity penalties of earlier calls (a model does it at the start of each forward pass). */
  clearActivityLosses(): void {
    this.#activityLosses = [];
  }

  // --- the layer's own behaviour (subclasses override) -------------------------------------------

  /** Creates the weights for inputs of this shape (batch null) and sets inputSpec's axes; ends with super.build. */
  build(inputShape: Shape | Shape[]): void {
    this.buildInputShape = inputShape;
    this.built = true;
  }

  /** Output shape for an input shape (batch null); the default is the identity. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** The forward computation on concrete tensors. */
  abstract call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor | Tensor[];

  /** JSON-able constructor arguments plus className; layerFromConfig(getConfig()) rebuilds the layer. */
  getConfig(): LayerConfig {
    const c: LayerConfig = { className: this.className, name: this.name, trainable: this._trainable };
    if (this.batchInputShape) c.batchInputShape = [...this.batchInputShape];
    if (this.activityRegularizer) c.activityRegularizer = this.activityRegularizer.serialize();
    return c;
  }

  /** How many inputs a call takes: [min, max]; layers taking a list (Add, Concatenate) override it. */
  protected inputArity(): [number, number] {
    return [1, 1];
  }

  /** The one input of a single-input layer (the base passes lists only to multi-input layers). */
  protected single<T>(inputs: T | readonly T[]): T {
    return Array.isArray(inputs) ? (inputs as readonly T[])[0] : (inputs as T);
  }

  /** The shape of a single-input layer's input. */
  protected shapeOf(inputShape: Shape | Shape[]): Shape {
    return isShapeList(inputShape) ? inputShape[0] : inputShape;
  }

  /** Checks concrete or symbolic input shapes against inputSpec; models override it to check their inputs. */
  protected checkInputShapes(shapes: readonly Shape[]): void {
    const spec = this.inputSpec;
    if (!spec) return;
    shapes.forEach((s, i) => {
      const where = shapes.length > 1 ? `input ${i}` : 'the input';
      const layout = spec.layout ? ` ${spec.layout}` : '';
      if (spec.ndim !== undefined && s.length !== spec.ndim) {
        const hint = s.length === spec.ndim - 1 ? ' (a single example needs a batch axis of 1: x.expandDims(0))' : '';
        throw new ShapeError(`${this.who}: ${where} must have rank ${spec.ndim}${layout}, got shape ${fmtShape(s)}${hint}`);
      }
      if (spec.minNdim !== undefined && s.length < spec.minNdim) {
        throw new ShapeError(`${this.who}: ${where} must have rank >= ${spec.minNdim}${layout}, got shape ${fmtShape(s)}`);
      }
      for (const [key, len] of Object.entries(spec.axes ?? {})) {
        const a = Number(key);
        const d = s[a < 0 ? s.length + a : a];
        if (d !== null && d !== undefined && d !== len) {
          const built = this.buildInputShape && !isShapeList(this.buildInputShape) ? ` (it was built for ${fmtShape(this.buildInputShape)})` : '';
          throw new ShapeError(`${this.who}: axis ${a} of ${where} must have length ${len}${built}, got shape ${fmtShape(s)}`);
        }
      }
    });
  }

  // --- calling -----------------------------------------------------------------------------------

  /**
   * Calls the layer. On Tensors: builds it if needed and returns the output. On SymbolicTensors (functional
   * API): infers the output shape and returns symbolic outputs. `training` given here is kept for this use
   * in a graph (Keras `base(x, training=False)` runs a frozen base in inference mode).
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[], opts?: CallOptions): SymbolicTensor;
  apply(inputs: Tensor | readonly Tensor[], opts?: CallOptions): Tensor;
  apply(inputs: Tensor | SymbolicTensor | readonly (Tensor | SymbolicTensor)[], opts: CallOptions = {}): Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[] {
    const list = (Array.isArray(inputs) ? inputs : [inputs]) as readonly (Tensor | SymbolicTensor)[];
    const symbolic = list.length > 0 && list[0] instanceof SymbolicTensor;
    if (list.some((t) => (t instanceof SymbolicTensor) !== symbolic)) {
      throw new ValueError(`${this.who}: inputs must be all Tensors or all SymbolicTensors, not a mix`);
    }
    if (opts.training !== undefined && typeof opts.training !== 'boolean') {
      throw new ValueError(`${this.who}: option 'training' must be a boolean, got ${JSON.stringify(opts.training)}`);
    }
    const [min, max] = this.inputArity();
    if (list.length < min || list.length > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      const hint = max > 1 && !Array.isArray(inputs) ? ' (pass a list: layer.apply([a, b]))' : '';
      throw new ValueError(`${this.who}: expects ${want} input${max === 1 ? '' : 's'}, got ${list.length}${hint}`);
    }
    return symbolic
      ? this.applySymbolic(list as readonly SymbolicTensor[], opts)
      : (this.applyEager(list as readonly Tensor[], opts) as Tensor);
  }

  /** Builds on first use with these input shapes (batch axis replaced by null). */
  protected maybeBuild(shapes: readonly Shape[]): void {
    if (this.built) return;
    const unbatched = shapes.map((s) => (s.length ? [null, ...s.slice(1)] : s));
    this.build(this.packShapes(unbatched));
    this.built = true;
  }

  private packShapes(shapes: readonly Shape[]): Shape | Shape[] {
    return this.inputArity()[1] > 1 ? [...shapes] : shapes[0];
  }

  private applySymbolic(xs: readonly SymbolicTensor[], opts: CallOptions): SymbolicTensor | SymbolicTensor[] {
    const shapes = xs.map((x) => x.shape);
    let out: Shape | Shape[];
    try {
      this.checkInputShapes(shapes);
      this.maybeBuild(shapes);
      this.checkInputShapes(shapes);
      out = this.computeOutputShape(this.packShapes(shapes));
    } catch (err) {
      rethrowAs(this.who, err);
    }
    const many = isShapeList(out);
    const outShapes = many ? (out as Shape[]) : [out as Shape];
    const node = new Node(this, xs, opts.training);
    node.outputs = outShapes.map((s, i) => new SymbolicTensor(s, node, i));
    this.inboundNodes.push(node);
    return many ? node.outputs : node.outputs[0];
  }

  private applyEager(xs: readonly Tensor[], opts: CallOptions): Tensor | Tensor[] {
    let out: Tensor | Tensor[];
    // Penalties of a model's forward pass (a shared layer adds one per call) replace those of the previous pass.
    if (callDepth === 0) this.clearActivityLosses();
    callDepth++;
    try {
      const shapes = xs.map((x) => x.shape);
      this.checkInputShapes(shapes);
      this.maybeBuild(shapes);
      this.checkInputShapes(shapes);
      const args = this.inputArity()[1] > 1 ? [...xs] : xs[0];
      out = this.call(args, { training: opts.training ?? false });
    } catch (err) {
      rethrowAs(this.who, err);
    } finally {
      callDepth--;
    }
    if (this.activityRegularizer) {
      for (const t of Array.isArray(out) ? out : [out]) this.#activityLosses.push(this.activityRegularizer.apply(t));
    }
    return out;
  }
}
