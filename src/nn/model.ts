/**
 * Model: a graph of layers, built with the functional API (Keras Model(inputs, outputs)) or by Sequential.
 *
 * `model({ inputs, outputs })` takes symbolic tensors from `input()` and layer.apply(...) and walks back from the
 * outputs to the inputs, ordering the calls (nodes) so that each runs after its inputs: residual (Add) and
 * inception (Concatenate) blocks, shared layers, several inputs and outputs, and models used as layers inside
 * other models all follow from that. A Model is itself a Layer and implements TrainableModel (src/train).
 *
 * Weights are the union of the layers' weights (shared layers counted once); freezing a model freezes every
 * layer in it (Keras). getConfig()/modelFromConfig round-trip the architecture as JSON (Keras' functional config:
 * each layer's config and the nodes feeding it by [layer name, node index, tensor index]).
 */
import { type Device, resolveModelDevice } from '../backends/cuda/device-storage.js';
import { ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/tape.js';
import type { TrainableModel } from '../train/contract.js';
import * as train from '../train/index.js';
import { InputLayer } from './input.js';
import {
  type CallOptions, type JsonValue, type LayerConfig, Layer, Node, SymbolicTensor, layerFromConfig, registerLayer, rethrowAs,
} from './layer.js';
import { type Shape, fmtShape, kerasShape } from './shapes.js';
import { type SummaryRow, formatSummary } from './summary.js';
import type { Variable } from './variable.js';

export interface ModelArgs {
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  outputs: SymbolicTensor | readonly SymbolicTensor[];
  name?: string;
  trainable?: boolean;
}

export interface SummaryOptions {
  /** Where each line goes; default console.log. Pass () => {} to only get the returned string. */
  printFn?: (line: string) => void;
}

/** The ordered calls of a model. */
interface Graph {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Every node from the inputs to the outputs, each after the nodes feeding it; input nodes first. */
  nodes: Node[];
  /** Distinct layers in node order (InputLayers included). */
  layers: Layer[];
  /** Each node's index among its layer's nodes in this graph (the node index of configs and summaries). */
  nodeIndex: Map<Node, number>;
}

type Compiled = ReturnType<typeof train.compile>;

function asList<T>(v: T | readonly T[]): T[] {
  return Array.isArray(v) ? [...(v as readonly T[])] : [v as T];
}

/** Distinct items in first-seen order. */
function unique<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

export class Model extends Layer implements TrainableModel {
  static override readonly className: string = 'Functional';
  /** Set by callbacks (EarlyStopping) to end fit() after the current epoch. */
  stopTraining = false;
  /** What compile() resolved (optimizer, losses, metrics), for fit/evaluate. */
  compiled: Compiled | null = null;
  protected graph: Graph | null = null;

  constructor(args: Partial<ModelArgs> = {}) {
    super({ name: args.name, trainable: args.trainable });
    const extra = Object.keys(args).filter((k) => !['inputs', 'outputs', 'name', 'trainable'].includes(k));
    if (extra.length) throw new ValueError(`${this.who}: unknown option '${extra[0]}'; options: inputs, outputs, name, trainable`);
    if (args.inputs !== undefined || args.outputs !== undefined) {
      if (args.inputs === undefined || args.outputs === undefined) throw new ValueError(`${this.who}: give both 'inputs' and 'outputs'`);
      this.initGraph(asList(args.inputs), asList(args.outputs));
      // A model made frozen freezes its layers, as setting trainable does.
      if (args.trainable === false) this.trainable = false;
    } else if (new.target === Model) {
      throw new ValueError(`${this.who}: 'inputs' and 'outputs' are required (symbolic tensors from input() and layer.apply())`);
    }
  }

  /** Orders the graph from `inputs` to `outputs` and checks it. */
  protected initGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): void {
    const who = this.who;
    for (const [what, list] of [['inputs', inputs], ['outputs', outputs]] as const) {
      if (list.length === 0) throw new ValueError(`${who}: '${what}' must not be empty`);
      list.forEach((t, i) => {
        if (!(t instanceof SymbolicTensor)) {
          throw new ValueError(`${who}: ${what}[${i}] must be a SymbolicTensor (from input() or layer.apply on one), got ${(t as unknown) instanceof Tensor ? 'a Tensor' : String(t)}`);
        }
      });
    }
    inputs.forEach((t, i) => {
      if (!(t.node.layer instanceof InputLayer)) {
        throw new ValueError(`${who}: inputs[${i}] must come from input(), but it is the output of ${t.node.layer.who}`);
      }
      if (inputs.indexOf(t) !== i) throw new ValueError(`${who}: inputs[${i}] ('${t.name}') is given twice`);
    });
    const inputSet = new Set(inputs);
    const nodes: Node[] = inputs.map((t) => t.node);
    const seen = new Set<Node>(nodes);
    // Depth-first from each output; a node is appended once everything feeding it is.
    const visit = (t: SymbolicTensor): void => {
      if (seen.has(t.node)) return;
      seen.add(t.node);
      const stack: Array<[Node, number]> = [[t.node, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [node, i] = top;
        if (i < node.inputs.length) {
          top[1]++;
          const src = node.inputs[i];
          if (!seen.has(src.node)) {
            seen.add(src.node);
            stack.push([src.node, 0]);
          }
        } else {
          stack.pop();
          if (node.layer instanceof InputLayer && !inputSet.has(node.outputs[0])) {
            throw new ValueError(
              `${who}: the graph is disconnected: the outputs depend on '${node.layer.name}' ${fmtShape(node.outputs[0].shape)}, ` +
                `which is not among the inputs (${inputs.map((x) => `'${x.name}'`).join(', ')})`,
            );
          }
          nodes.push(node);
        }
      }
    };
    for (const t of outputs) visit(t);
    const layers = unique(nodes.map((n) => n.layer));
    const names = new Map<string, Layer>();
    for (const l of layers) {
      const other = names.get(l.name);
      if (other) throw new ValueError(`${who}: layer names must be unique, but '${l.name}' names both ${other.who} and ${l.who} (give one a name)`);
      names.set(l.name, l);
      if (l === this) throw new ValueError(`${who}: a model cannot contain itself`);
    }
    const nodeIndex = new Map<Node, number>();
    const perLayer = new Map<Layer, number>();
    for (const n of nodes) {
      const k = perLayer.get(n.layer) ?? 0;
      nodeIndex.set(n, k);
      perLayer.set(n.layer, k + 1);
    }
    this.graph = { inputs, outputs, nodes, layers, nodeIndex };
    const vars = new Map<string, Variable>();
    for (const v of this.weights) {
      const other = vars.get(v.name);
      if (other && other !== v) throw new ValueError(`${who}: two different weights are named '${v.name}' (nested models with same-named layers); rename one layer`);
      vars.set(v.name, v);
    }
    this.buildInputShape = inputs.length === 1 ? inputs[0].shape : inputs.map((t) => t.shape);
    this.built = true;
  }

  /** The graph, or an error saying how to build the model. */
  protected requireGraph(what: string): Graph {
    if (!this.graph) {
      throw new ValueError(`${this.who}: ${what} needs a built model: give it an inputShape (sequential(layers, { inputShape })) or call it on data first`);
    }
    return this.graph;
  }

  /** The model's layers in order (a functional model lists its InputLayers too, as Keras). */
  get layers(): Layer[] {
    return this.graph ? [...this.graph.layers] : [];
  }

  /** The symbolic inputs and outputs (empty before a Sequential is built). */
  get inputs(): SymbolicTensor[] {
    return this.graph ? [...this.graph.inputs] : [];
  }
  get outputs(): SymbolicTensor[] {
    return this.graph ? [...this.graph.outputs] : [];
  }
  /** The output layers' names (Keras output_names): keys of per-output losses and metrics. */
  get outputNames(): string[] {
    return this.outputs.map((t) => t.name);
  }

  /** Every layer inside, nested models expanded (each once). */
  protected leafLayers(): Layer[] {
    const out = new Set<Layer>();
    const walk = (m: Model): void => {
      for (const l of m.layers) {
        if (l instanceof Model) walk(l);
        else out.add(l);
      }
    };
    walk(this);
    return [...out];
  }

  override get weights(): Variable[] {
    return unique(this.layers.flatMap((l) => l.weights));
  }
  override get trainableWeights(): Variable[] {
    return this._trainable ? unique(this.layers.flatMap((l) => l.trainableWeights)) : [];
  }
  /**
   * Moves the model to `device` ('cpu' | 'cuda') in place: every layer's weights (and the optimizer's slots, at
   * their next update); fit() then uploads each batch and reads back only the scalar loss per step. 'cuda' without
   * a usable CUDA device prints the one-line note once and stays on the CPU. Saving and loading go through host
   * copies, so a model trained on one device loads on the other.
   */
  override to(device: Device): this {
    const d = resolveModelDevice(`${this.who}.to`, device);
    for (const l of this.layers) l.to(d);
    super.to(d);
    return this;
  }

  /** TrainableModel: every weight, in layer order. */
  get variables(): Variable[] {
    return this.weights;
  }
  /** TrainableModel: the weights optimizers update. */
  get trainableVariables(): Variable[] {
    return this.trainableWeights;
  }

  /** Freezing or unfreezing a model sets every layer in it (Keras). */
  override get trainable(): boolean {
    return this._trainable;
  }
  override set trainable(flag: boolean) {
    if (typeof flag !== 'boolean') throw new ValueError(`${this.who}: 'trainable' must be a boolean, got ${JSON.stringify(flag)}`);
    this._trainable = flag;
    for (const l of this.layers) l.trainable = flag;
  }

  override regularizationLoss(): Tensor | null {
    const terms = this.leafLayers().map((l) => l.regularizationLoss()).filter((t): t is Tensor => t !== null);
    return terms.length ? terms.reduce((a, b) => a.add(b)) : null;
  }

  override clearActivityLosses(): void {
    for (const l of this.leafLayers()) l.clearActivityLosses();
  }

  /** A layer by name or by index in `layers`. */
  getLayer(nameOrIndex: string | number): Layer {
    const layers = this.layers;
    if (typeof nameOrIndex === 'number') {
      if (!Number.isInteger(nameOrIndex) || nameOrIndex < 0 || nameOrIndex >= layers.length) {
        throw new ValueError(`${this.who}: getLayer index ${nameOrIndex} is out of range; the model has ${layers.length} layers`);
      }
      return layers[nameOrIndex];
    }
    const l = layers.find((x) => x.name === nameOrIndex);
    if (!l) throw new ValueError(`${this.who}: no layer named '${nameOrIndex}'; layers: ${layers.map((x) => x.name).join(', ')}`);
    return l;
  }

  /**
   * A model with the same inputs whose outputs are the outputs of the named layers, in order (Keras
   * `Model(model.inputs, [model.get_layer(n).output for n in names])`): it shares this model's layers and weights
   * and runs only the layers those outputs depend on. Input layers may be named too.
   */
  intermediate(names: string | readonly string[]): Model {
    const g = this.requireGraph('intermediate()');
    const list: unknown[] = typeof names === 'string' ? [names] : Array.isArray(names) ? [...names] : [names];
    if (list.length === 0 || list.some((n) => typeof n !== 'string')) {
      throw new ValueError(`${this.who}: intermediate() takes a layer name or a non-empty list of names, got ${JSON.stringify(names)}`);
    }
    const outputs: SymbolicTensor[] = [];
    for (const name of list as string[]) {
      const nodes = g.nodes.filter((n) => n.layer.name === name);
      if (nodes.length === 0) {
        const valid = g.layers.map((l) => `'${l.name}'`);
        const shown = valid.length > 24 ? `${valid.slice(0, 24).join(', ')}, ... (${valid.length - 24} more)` : valid.join(', ');
        throw new ValueError(`${this.who}: intermediate(): no layer named '${name}'; layers: ${shown}`);
      }
      if (nodes.length > 1) {
        throw new ValueError(`${this.who}: intermediate(): layer '${name}' is called ${nodes.length} times in this model (a shared layer), so its output is ambiguous; build the model you need with the functional API`);
      }
      outputs.push(...nodes[0].outputs);
    }
    return new Model({ inputs: g.inputs, outputs, name: `${this.name}_intermediate` });
  }

  // --- calling -----------------------------------------------------------------------------------

  protected override inputArity(): [number, number] {
    const n = this.graph ? this.graph.inputs.length : 1;
    return [n, n];
  }

  protected override checkInputShapes(shapes: readonly Shape[]): void {
    if (!this.graph) return;
    this.graph.inputs.forEach((t, i) => {
      const s = shapes[i];
      const expected = t.shape;
      const fits = expected.length === s.length && expected.every((d, k) => d === null || s[k] === null || d === s[k]);
      if (!fits) {
        const hint = s.length === expected.length - 1 ? ' (a single example needs a batch axis of 1: x.expandDims(0))' : '';
        throw new ValueError(
          `${this.who}: input ${i} ('${t.node.layer.name}') expects shape ${fmtShape(expected)}, got ${fmtShape(s)}${hint}`,
        );
      }
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const g = this.requireGraph('computeOutputShape');
    const given = g.inputs.length === 1 ? [inputShape as Shape] : (inputShape as Shape[]);
    const shapes = new Map<SymbolicTensor, Shape>();
    g.inputs.forEach((t, i) => shapes.set(t, given[i]));
    for (const node of g.nodes) {
      if (node.layer instanceof InputLayer) continue;
      const ins = node.inputs.map((t) => shapes.get(t)!);
      let out: Shape | Shape[];
      try {
        out = node.layer.computeOutputShape(ins.length === 1 ? ins[0] : ins);
      } catch (err) {
        rethrowAs(node.layer.who, err);
      }
      const outs = node.outputs.length > 1 ? (out as Shape[]) : [out as Shape];
      node.outputs.forEach((t, k) => shapes.set(t, outs[k]));
    }
    const res = g.outputs.map((t) => shapes.get(t)!);
    return res.length === 1 ? res[0] : res;
  }

  override call(inputs: Tensor | Tensor[], opts: CallOptions): Tensor | Tensor[] {
    const out = this.run(Array.isArray(inputs) ? inputs : [inputs], opts);
    return out.length === 1 ? out[0] : out;
  }

  /** Runs the graph on concrete inputs; outputs in order. */
  protected run(inputs: readonly Tensor[], opts: CallOptions): Tensor[] {
    const g = this.requireGraph('calling the model');
    const values = new Map<SymbolicTensor, Tensor>();
    g.inputs.forEach((t, i) => values.set(t, inputs[i]));
    for (const node of g.nodes) {
      if (node.layer instanceof InputLayer) continue;
      const xs = node.inputs.map((t) => values.get(t)!);
      const training = node.training ?? opts.training ?? false;
      const y = node.layer.apply(xs.length === 1 ? xs[0] : xs, { training }) as Tensor | Tensor[];
      const ys = Array.isArray(y) ? y : [y];
      node.outputs.forEach((t, k) => values.set(t, ys[k]));
    }
    return g.outputs.map((t) => values.get(t)!);
  }

  /** The forward pass, always as a list of outputs (apply returns a single Tensor for one output). */
  execute(inputs: Tensor | readonly Tensor[], opts: CallOptions = {}): Tensor[] {
    const y = this.apply(inputs as Tensor | Tensor[], opts) as Tensor | Tensor[];
    return Array.isArray(y) ? y : [y];
  }

  /** Inference on one batch without recording for autograd (Keras predict_on_batch). */
  predictOnBatch(inputs: Tensor | readonly Tensor[]): Tensor | Tensor[] {
    // Inputs go to the model's device (outputs stay there: .to('cpu') or reading .data brings them back).
    const d = this.device;
    const xs = d === 'cpu' ? inputs : Array.isArray(inputs) ? inputs.map((t: Tensor) => t.to(d)) : (inputs as Tensor).to(d);
    return noGrad(() => this.apply(xs as Tensor | Tensor[], { training: false }) as Tensor | Tensor[]);
  }

  // --- training (src/train) ----------------------------------------------------------------------

  /** Keras model.compile: the optimizer, loss(es) and metrics fit() and evaluate() use. */
  compile(config: Parameters<typeof train.compile>[1]): void {
    this.compiled = train.compile(this, config);
  }

  private requireCompiled(what: string): Compiled {
    if (!this.compiled) throw new ValueError(`${this.who}: ${what}() needs compile({ optimizer, loss }) first`);
    return this.compiled;
  }

  /** Keras model.fit (see src/train). */
  fit(x: Parameters<typeof train.fit>[2], y?: Parameters<typeof train.fit>[3], opts?: Parameters<typeof train.fit>[4]): ReturnType<typeof train.fit> {
    return train.fit(this, this.requireCompiled('fit'), x, y, opts);
  }

  /** Keras model.evaluate: loss and metrics over the data. */
  evaluate(
    x: Parameters<typeof train.evaluate>[2], y?: Parameters<typeof train.evaluate>[3], opts?: Parameters<typeof train.evaluate>[4],
  ): ReturnType<typeof train.evaluate> {
    return train.evaluate(this, this.requireCompiled('evaluate'), x, y, opts);
  }

  /** Keras model.predict: batched inference. */
  predict(x: Parameters<typeof train.predict>[1], opts?: Parameters<typeof train.predict>[2]): ReturnType<typeof train.predict> {
    return train.predict(this, x, opts);
  }

  // --- files (src/io, loaded on first use: it sits above nn) --------------------------------------

  /** Writes a crash-safe checkpoint directory: architecture, weights, optimizer state (src/io/model.ts). */
  async save(dir: string, opts?: import('../io/model.js').SaveModelOptions): Promise<void> {
    const io = await import('../io/model.js');
    await io.saveModel(this, dir, opts);
  }

  /** Writes the weights alone, as one safetensors file keyed by variable name. */
  async saveWeights(file: string): Promise<void> {
    const io = await import('../io/model.js');
    await io.saveWeights(this, file);
  }

  /** Reads weights saved by saveWeights (or another tool's safetensors with our names); reports mismatches by name. */
  async loadWeights(file: string, opts?: import('../io/model.js').LoadWeightsOptions): Promise<import('../io/model.js').LoadWeightsResult> {
    const io = await import('../io/model.js');
    return io.loadWeights(this, file, opts);
  }

  // --- inspection and serialisation ----------------------------------------------------------------

  /** Output shape column of a layer's row: its one node's shape(s) here, or 'multiple' for a shared layer. */
  private outputShapeText(g: Graph, l: Layer): string {
    const nodes = g.nodes.filter((n) => n.layer === l);
    if (nodes.length !== 1) return 'multiple';
    const outs = nodes[0].outputs.map((t) => kerasShape(t.shape));
    return outs.length === 1 ? outs[0] : `[${outs.join(', ')}]`;
  }

  /** "conv2d[0][0]" for each input of the layer's nodes in this model. */
  private connections(g: Graph, l: Layer): string[] {
    return g.nodes.filter((n) => n.layer === l).flatMap((n) => n.inputs.map((t) => `${t.node.layer.name}[${g.nodeIndex.get(t.node)}][${t.index}]`));
  }

  /** Whether summary() has a "Connected to" column (functional graphs; a Sequential's chain needs none). */
  protected showsConnections(): boolean {
    return true;
  }

  /** Keras-style summary: prints it (printFn, default console.log) and returns the text. */
  summary(opts: SummaryOptions = {}): string {
    const g = this.requireGraph('summary()');
    const functional = this.showsConnections();
    const layers = this.layers;
    const rows: SummaryRow[] = layers.map((l) => ({
      layer: l.who,
      outputShape: this.outputShapeText(g, l),
      params: l.countParams(),
      ...(functional ? { connectedTo: this.connections(g, l) } : {}),
    }));
    const total = this.weights.reduce((n, w) => n + w.size, 0);
    const trainable = this.trainableWeights.reduce((n, w) => n + w.size, 0);
    const text = formatSummary(this.name, rows, { total, trainable, nonTrainable: total - trainable }, functional);
    const print = opts.printFn ?? ((line: string) => console.log(line));
    for (const line of text.split('\n')) print(line);
    return text;
  }

  override getConfig(): LayerConfig {
    const g = this.requireGraph('getConfig()');
    const ref = (t: SymbolicTensor): JsonValue => [t.node.layer.name, g.nodeIndex.get(t.node)!, t.index];
    const layers = g.layers.map((l) => ({
      config: l.getConfig(),
      inboundNodes: g.nodes
        .filter((n) => n.layer === l && !(l instanceof InputLayer))
        .map((n) => ({ args: n.inputs.map(ref), training: n.training ?? null })),
    }));
    return {
      className: this.className,
      name: this.name,
      trainable: this._trainable,
      layers,
      inputLayers: g.inputs.map(ref),
      outputLayers: g.outputs.map(ref),
    };
  }

  /** Sets the model's own trainable flag without touching its layers (config loading keeps frozen layers frozen). */
  setOwnTrainable(flag: boolean): void {
    this._trainable = flag;
  }

  static fromConfig(config: LayerConfig): Model {
    return functionalFromConfig(config);
  }
}

type TensorRef = [string, number, number];
interface LayerEntry {
  config: LayerConfig;
  inboundNodes: Array<{ args: TensorRef[]; training: boolean | null }>;
}

/** Rebuilds a functional model: creates each layer, then calls them on symbolic tensors as their inputs appear. */
function functionalFromConfig(config: LayerConfig): Model {
  const who = `modelFromConfig('${String(config.name)}')`;
  const entries = config.layers as unknown as LayerEntry[];
  if (!Array.isArray(entries)) throw new ValueError(`${who}: config.layers must be a list`);
  const layers = new Map<string, Layer>();
  const made = new Map<string, SymbolicTensor[][]>();
  for (const e of entries) {
    const l = layerFromConfig(e.config);
    layers.set(l.name, l);
    made.set(l.name, l instanceof InputLayer ? [[l.output]] : []);
  }
  const lookup = ([name, node, index]: TensorRef): SymbolicTensor | undefined => made.get(name)?.[node]?.[index];
  // A node runs once every tensor it reads exists; each layer's nodes keep their order.
  let progress = true;
  while (progress) {
    progress = false;
    for (const e of entries) {
      const l = layers.get(e.config.name)!;
      if (l instanceof InputLayer) continue;
      const done = made.get(l.name)!;
      const next = e.inboundNodes[done.length];
      if (!next) continue;
      const xs = next.args.map(lookup);
      if (xs.some((x) => x === undefined)) continue;
      const y = l.apply(xs as SymbolicTensor[], next.training === null ? {} : { training: next.training }) as SymbolicTensor | SymbolicTensor[];
      done.push(Array.isArray(y) ? y : [y]);
      progress = true;
    }
  }
  for (const e of entries) {
    const pending = e.inboundNodes.length - (layers.get(e.config.name) instanceof InputLayer ? 0 : made.get(e.config.name)!.length);
    if (pending > 0) throw new ValueError(`${who}: the inputs of layer '${e.config.name}' never appear in the config (broken graph)`);
  }
  const resolve = (refs: unknown, what: string): SymbolicTensor[] =>
    (refs as TensorRef[]).map((r) => {
      const t = lookup(r);
      if (!t) throw new ValueError(`${who}: ${what} refers to ${JSON.stringify(r)}, which the config does not make`);
      return t;
    });
  const m = new Model({ inputs: resolve(config.inputLayers, 'inputLayers'), outputs: resolve(config.outputLayers, 'outputLayers'), name: config.name });
  // Only the model's own flag: the layers' flags came from their configs (a frozen layer stays frozen).
  m.setOwnTrainable(config.trainable !== false);
  return m;
}

registerLayer(Model, (c) => functionalFromConfig(c));

/**
 * A functional model from symbolic inputs and outputs (Keras Model(inputs, outputs)).
 * @example const x = input({ shape: [8] }); const m = model({ inputs: x, outputs: layers.dense({ units: 1 }).apply(x) });
 */
export function model(args: ModelArgs): Model {
  return new Model(args);
}

/** A model (Sequential or functional) from its getConfig() output, with fresh weights. */
export function modelFromConfig(config: LayerConfig): Model {
  const m = layerFromConfig(config);
  if (!(m instanceof Model)) throw new ValueError(`modelFromConfig: config of class '${config.className}' is a layer, not a model (use layerFromConfig)`);
  return m;
}
