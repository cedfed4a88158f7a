/**
 * The entry of a functional graph: `input({ shape })` makes an InputLayer and returns its symbolic output of
 * shape [batchSize ?? null, ...shape] (Keras Input). Spatial lengths may be null for fully convolutional models.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { type CallOptions, type LayerConfig, Layer, Node, SymbolicTensor, registerLayer } from './layer.js';
import type { Shape } from './shapes.js';

export interface InputArgs {
  /** Shape of one example, without the batch axis. */
  shape?: readonly (number | null)[];
  /** Fixed batch size (default: unknown). */
  batchSize?: number | null;
  /** The full shape with the batch axis, instead of shape and batchSize. */
  batchShape?: readonly (number | null)[];
  name?: string;
  /** Default 'float32'; 'int32' for integer inputs. */
  dtype?: 'float32' | 'int32';
}

function dims(who: string, arg: string, v: unknown): (number | null)[] {
  if (!Array.isArray(v) || v.some((d) => d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 0))) {
    throw new ValueError(`${who}: option '${arg}' must be a list of non-negative integers or null, got ${JSON.stringify(v)}`);
  }
  return [...v];
}

export class InputLayer extends Layer {
  static override readonly className: string = 'InputLayer';
  readonly batchShape: Shape;
  readonly dtype: 'float32' | 'int32';
  /** The symbolic tensor this layer feeds into the graph. */
  readonly output: SymbolicTensor;

  constructor(args: InputArgs) {
    super({ name: args.name });
    const extra = Object.keys(args).filter((k) => !['shape', 'batchSize', 'batchShape', 'name', 'dtype', 'trainable'].includes(k));
    if (extra.length) throw new ValueError(`${this.who}: unknown option '${extra[0]}'; options: shape, batchSize, batchShape, name, dtype`);
    if (args.batchShape !== undefined) {
      if (args.shape !== undefined) throw new ValueError(`${this.who}: give 'shape' or 'batchShape', not both`);
      this.batchShape = dims(this.who, 'batchShape', args.batchShape);
      if (this.batchShape.length === 0) throw new ValueError(`${this.who}: option 'batchShape' needs at least the batch axis`);
    } else {
      if (args.shape === undefined) throw new ValueError(`${this.who}: option 'shape' is required (the shape of one example, without the batch axis)`);
      const b = args.batchSize ?? null;
      if (b !== null && (!Number.isInteger(b) || b < 1)) throw new ValueError(`${this.who}: option 'batchSize' must be a positive integer, got ${JSON.stringify(b)}`);
      this.batchShape = [b, ...dims(this.who, 'shape', args.shape)];
    }
    this.dtype = args.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'int32') throw new ValueError(`${this.who}: option 'dtype' must be 'float32' or 'int32', got ${JSON.stringify(args.dtype)}`);
    const node = new Node(this, [], undefined);
    this.output = new SymbolicTensor(this.batchShape, node, 0, this.dtype);
    node.outputs = [this.output];
    this.inboundNodes.push(node);
    this.buildInputShape = this.batchShape;
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _opts: CallOptions): Tensor {
    return this.single(inputs);
  }

  override getConfig(): LayerConfig {
    return { className: this.className, name: this.name, trainable: this.trainable, batchShape: [...this.batchShape], dtype: this.dtype };
  }
}
registerLayer(InputLayer, (c) => new InputLayer({ name: c.name, batchShape: c.batchShape as Shape, dtype: c.dtype as 'float32' | 'int32' }));

/**
 * A symbolic input of a functional model.
 * @example const x = input({ shape: [28, 28, 1] }); // shape [null, 28, 28, 1]
 */
export function input(args: InputArgs): SymbolicTensor {
  if (!args || typeof args !== 'object') throw new ValueError(`input: argument must be an object such as { shape: [28, 28, 1] }, got ${JSON.stringify(args)}`);
  return new InputLayer(args).output;
}
