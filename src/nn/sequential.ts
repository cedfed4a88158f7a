/**
 * Sequential (Keras): a stack of single-input, single-output layers. With an input shape (the `inputShape`
 * option, the first layer's inputShape, or input() as the first item) it builds at once, so shape errors name
 * the offending layer at construction and summary() works before any data; without one it builds on the first
 * call, from the data's shape. Internally it is a functional graph from an InputLayer through each layer.
 */
import { ValueError } from '../errors.js';
import { InputLayer, input } from './input.js';
import { type LayerConfig, Layer, SymbolicTensor, layerFromConfig, registerLayer, rethrowAs } from './layer.js';
import { Model } from './model.js';
import type { Shape } from './shapes.js';

export interface SequentialArgs {
  name?: string;
  trainable?: boolean;
  /** Shape of one example, without the batch axis (Keras input_shape). */
  inputShape?: readonly (number | null)[];
  batchSize?: number;
  /** The full input shape with the batch axis (the config form). */
  batchInputShape?: readonly (number | null)[];
}

export class Sequential extends Model {
  static override readonly className: string = 'Sequential';
  #stack: Layer[] = [];
  #inputShape: Shape | null;
  #input: SymbolicTensor | null = null;

  constructor(layers: ReadonlyArray<Layer | SymbolicTensor> = [], args: SequentialArgs = {}) {
    super({ name: args.name, trainable: args.trainable });
    const extra = Object.keys(args).filter((k) => !['name', 'trainable', 'inputShape', 'batchSize', 'batchInputShape'].includes(k));
    if (extra.length) throw new ValueError(`${this.who}: unknown option '${extra[0]}'; options: inputShape, batchSize, batchInputShape, name, trainable`);
    this.#inputShape = parseShape(this.who, args);
    if (!Array.isArray(layers)) throw new ValueError(`${this.who}: the first argument must be a list of layers, got ${JSON.stringify(layers)}`);
    for (const l of layers) this.add(l);
    if (args.trainable === false) this.trainable = false;
  }

  /** The layers in order (without the InputLayer, as Keras). */
  override get layers(): Layer[] {
    return [...this.#stack];
  }

  /** Appends a layer (or, first, an input() tensor that fixes the input shape); extends a built model at once. */
  add(layer: Layer | SymbolicTensor): void {
    if (layer instanceof SymbolicTensor) {
      if (!(layer.node.layer instanceof InputLayer) || this.#stack.length || this.#input) {
        throw new ValueError(`${this.who}: a SymbolicTensor can only come first, from input() (got '${layer.name}')`);
      }
      this.#input = layer;
      this.#inputShape = layer.shape;
      return;
    }
    if (!(layer instanceof Layer)) throw new ValueError(`${this.who}: add() takes a Layer, got ${JSON.stringify(layer)}`);
    if (layer instanceof InputLayer) throw new ValueError(`${this.who}: pass input() tensors or an inputShape, not an InputLayer`);
    if (this.#stack.includes(layer)) throw new ValueError(`${this.who}: ${layer.who} is already in the model`);
    const clash = this.#stack.find((l) => l.name === layer.name);
    if (clash) throw new ValueError(`${this.who}: layer names must be unique, but '${layer.name}' is already taken by ${clash.who}`);
    this.#stack.push(layer);
    try {
      if (this.graph) this.extend(this.graph.inputs[0], this.graph.outputs[0], [layer]);
      else {
        const first = this.#stack[0];
        const shape = this.#inputShape ?? first.batchInputShape ?? (first instanceof Model && first.inputs.length === 1 ? first.inputs[0].shape : null);
        if (shape) this.buildFrom(shape);
      }
    } catch (err) {
      // A layer that does not fit leaves the model as it was.
      this.#stack.pop();
      throw err;
    }
  }

  /** Removes the last layer (Keras pop). */
  pop(): Layer {
    const last = this.#stack.pop();
    if (!last) throw new ValueError(`${this.who}: pop() on a model with no layers`);
    if (this.graph) {
      const x = this.graph.inputs[0];
      this.graph = null;
      this.built = false;
      if (this.#stack.length) this.extend(x, x, this.#stack);
    }
    return last;
  }

  /** Builds the graph for inputs of this shape (Keras model.build(input_shape)). */
  override build(inputShape: Shape | Shape[]): void {
    if (this.graph) return;
    if (this.#stack.length === 0) throw new ValueError(`${this.who}: the model has no layers to build`);
    this.buildFrom(inputShape as Shape);
  }

  private buildFrom(batchShape: Shape): void {
    const x = this.#input && this.#input.shape === batchShape ? this.#input : input({ batchShape: [...batchShape] });
    this.#input = x;
    this.extend(x, x, this.#stack);
  }

  /** Applies `layers` after `from` and makes the graph input -> result. */
  private extend(inputTensor: SymbolicTensor, from: SymbolicTensor, layers: readonly Layer[]): void {
    let y = from;
    for (const l of layers) {
      let out: SymbolicTensor | SymbolicTensor[];
      try {
        out = l.apply(y) as SymbolicTensor | SymbolicTensor[];
      } catch (err) {
        rethrowAs(this.who, err);
      }
      if (Array.isArray(out)) throw new ValueError(`${this.who}: every layer must have one output, but ${l.who} has ${out.length}`);
      y = out;
    }
    this.initGraph([inputTensor], [y]);
  }

  protected override inputArity(): [number, number] {
    return [1, 1];
  }

  protected override showsConnections(): boolean {
    return false;
  }

  override getConfig(): LayerConfig {
    const c: LayerConfig = {
      className: this.className,
      name: this.name,
      trainable: this._trainable,
      layers: this.#stack.map((l) => l.getConfig()),
    };
    const shape = this.graph ? this.graph.inputs[0].shape : this.#inputShape;
    if (shape) c.batchInputShape = [...shape];
    return c;
  }

  static override fromConfig(config: LayerConfig): Sequential {
    const cfgs = config.layers as unknown as LayerConfig[];
    if (!Array.isArray(cfgs)) throw new ValueError(`modelFromConfig('${String(config.name)}'): config.layers must be a list`);
    const m = new Sequential(cfgs.map((c) => layerFromConfig(c)), {
      name: config.name,
      ...(config.batchInputShape ? { batchInputShape: config.batchInputShape as Shape } : {}),
    });
    m.setOwnTrainable(config.trainable !== false);
    return m;
  }
}

function parseShape(who: string, args: SequentialArgs): Shape | null {
  const check = (v: unknown, what: string): (number | null)[] => {
    if (!Array.isArray(v) || v.some((d) => d !== null && (!Number.isInteger(d) || d < 0))) {
      throw new ValueError(`${who}: option '${what}' must be a list of non-negative integers or null, got ${JSON.stringify(v)}`);
    }
    return [...v];
  };
  if (args.batchInputShape !== undefined) return check(args.batchInputShape, 'batchInputShape');
  if (args.inputShape === undefined) return null;
  const b = args.batchSize ?? null;
  if (b !== null && (!Number.isInteger(b) || b < 1)) throw new ValueError(`${who}: option 'batchSize' must be a positive integer, got ${JSON.stringify(b)}`);
  return [b, ...check(args.inputShape, 'inputShape')];
}

registerLayer(Sequential, (c) => Sequential.fromConfig(c));

/**
 * A Sequential model (Keras keras.Sequential / keras_model_sequential).
 * @example sequential([layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }), layers.flatten()], { inputShape: [28, 28, 1] })
 */
export function sequential(layers: ReadonlyArray<Layer | SymbolicTensor> = [], args: SequentialArgs = {}): Sequential {
  return new Sequential(layers, args);
}
