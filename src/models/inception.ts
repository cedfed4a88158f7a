/**
 * The Inception v1 module (GoogLeNet, Szegedy et al. 2014) with the functional API: four parallel branches
 * over the same input, concatenated along channels -- 1x1 conv; 1x1 reduce -> 3x3 conv; 1x1 reduce -> 5x5
 * conv; 3x3/1 max pool -> 1x1 projection -- every conv 'same' with ReLU, so height and width are kept.
 *
 * `inceptionModule(x, spec)` adds one to a graph; `inceptionBlock()` is the example model: GoogLeNet's
 * inception (3a) on its 28x28x192 input, giving 28x28x256 (64 + 128 + 32 + 32 channels) with 163,696
 * parameters (the paper's table counts weights only, without biases: 163,328 = "159K").
 */
import { ValueError } from '../errors.js';
import * as layers from '../nn/layers.js';
import { input } from '../nn/input.js';
import type { SymbolicTensor } from '../nn/layer.js';
import { Model } from '../nn/model.js';
import type { InitializerIdentifier } from '../nn/initializers.js';

/** Filters of each branch (the GoogLeNet table's columns). */
export interface InceptionSpec {
  /** The 1x1 branch. */
  filters1x1: number;
  /** The 1x1 reduction before the 3x3 conv, and the 3x3 conv. */
  filters3x3Reduce: number;
  filters3x3: number;
  /** The 1x1 reduction before the 5x5 conv, and the 5x5 conv. */
  filters5x5Reduce: number;
  filters5x5: number;
  /** The 1x1 projection after the max pool. */
  poolProj: number;
}

/** GoogLeNet's inception (3a). */
export const INCEPTION_3A: Readonly<InceptionSpec> = Object.freeze({
  filters1x1: 64, filters3x3Reduce: 96, filters3x3: 128, filters5x5Reduce: 16, filters5x5: 32, poolProj: 32,
});

/** Applies one Inception v1 module to x; layer names start with `name` (default 'inception'). */
export function inceptionModule(
  x: SymbolicTensor, spec: InceptionSpec, name = 'inception', opts: { kernelInitializer?: InitializerIdentifier } = {},
): SymbolicTensor {
  for (const k of Object.keys(INCEPTION_3A) as (keyof InceptionSpec)[]) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new ValueError(`inceptionModule: ${k} must be a positive integer, got ${JSON.stringify(spec[k])}`);
  }
  const conv = (filters: number, k: number, n: string) =>
    layers.conv2d({ filters, kernelSize: k, padding: 'same', activation: 'relu', name: `${name}_${n}`, ...opts });
  const b1 = conv(spec.filters1x1, 1, '1x1').apply(x);
  const b2 = conv(spec.filters3x3, 3, '3x3').apply(conv(spec.filters3x3Reduce, 1, '3x3_reduce').apply(x));
  const b3 = conv(spec.filters5x5, 5, '5x5').apply(conv(spec.filters5x5Reduce, 1, '5x5_reduce').apply(x));
  const pooled = layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: `${name}_pool` }).apply(x);
  const b4 = conv(spec.poolProj, 1, 'pool_proj').apply(pooled);
  return layers.concatenate({ axis: -1, name: `${name}_output` }).apply([b1, b2, b3, b4]);
}

export interface InceptionBlockOptions {
  /** Default [28, 28, 192] (GoogLeNet's input to inception 3a). */
  inputShape?: readonly number[];
  /** Default INCEPTION_3A. */
  spec?: InceptionSpec;
  name?: string;
  kernelInitializer?: InitializerIdentifier;
}

/** A model of one inception module (default GoogLeNet's 3a: 28x28x192 -> 28x28x256, 163,696 parameters). */
export function inceptionBlock(options: InceptionBlockOptions = {}): Model {
  for (const k of Object.keys(options)) {
    if (!['inputShape', 'spec', 'name', 'kernelInitializer'].includes(k)) {
      throw new ValueError(`inceptionBlock: unknown option '${k}'; options: inputShape, spec, name, kernelInitializer`);
    }
  }
  const shape = options.inputShape ?? [28, 28, 192];
  if (shape.length !== 3) throw new ValueError(`inceptionBlock: inputShape must be [height, width, channels], got ${JSON.stringify(shape)}`);
  const inp = input({ shape, name: 'input_layer' });
  const k = options.kernelInitializer;
  const out = inceptionModule(inp, options.spec ?? INCEPTION_3A, 'inception_3a', k === undefined ? {} : { kernelInitializer: k });
  return new Model({ inputs: inp, outputs: out, name: options.name ?? 'inception_block' });
}
