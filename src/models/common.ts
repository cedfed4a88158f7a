/**
 * Options and helpers shared by the reference architectures (Keras applications' conventions):
 * `inputShape` without the batch axis (NHWC), `classes`, `includeTop` (the classifier head), `weights` (only
 * null: no pretrained weights ship with nodegrad; import them with the weight loaders instead), `pooling`
 * ('avg' | 'max' | null, applied to the convolutional base when includeTop is false) and
 * `classifierActivation` ('softmax' by default; null or 'linear' for logits).
 */
import { ValueError } from '../errors.js';
import * as layers from '../nn/layers.js';
import { input } from '../nn/input.js';
import type { SymbolicTensor } from '../nn/layer.js';
import type { InitializerIdentifier } from '../nn/initializers.js';

export type Pooling = 'avg' | 'max' | null;

export interface ApplicationOptions {
  /** One example's shape, channels last, e.g. [224, 224, 3]. */
  inputShape?: readonly number[];
  /** Classifier units; used only with includeTop. */
  classes?: number;
  /** Whether to add the classifier head; default true. */
  includeTop?: boolean;
  /** Only null (random initialisation); pretrained weights are loaded with the weight importers. */
  weights?: null;
  /** With includeTop false: global pooling of the last feature map ('avg', 'max'), or null for the 4-D map. */
  pooling?: Pooling;
  /** Activation of the last Dense layer; default 'softmax' (null or 'linear' gives logits). */
  classifierActivation?: string | null;
  /** The model's name. */
  name?: string;
  /**
   * Initializer of every kernel, overriding the architecture's (e.g. 'zeros' to build a large model fast when
   * its weights will be loaded anyway).
   */
  kernelInitializer?: InitializerIdentifier;
}

export const APPLICATION_KEYS = ['inputShape', 'classes', 'includeTop', 'weights', 'pooling', 'classifierActivation', 'name', 'kernelInitializer'] as const;

/** Validated options with the architecture's defaults filled in. */
export interface Resolved {
  inputShape: number[];
  classes: number;
  includeTop: boolean;
  pooling: Pooling;
  classifierActivation: string | null;
  name: string;
  /** Spread into a layer's args: { kernelInitializer } when given, else nothing. */
  kinit: { kernelInitializer?: InitializerIdentifier };
  /** The same for depthwise kernels. */
  dinit: { depthwiseInitializer?: InitializerIdentifier };
  /** The same for separable convolutions (depthwise and pointwise kernels). */
  sinit: { depthwiseInitializer?: InitializerIdentifier; pointwiseInitializer?: InitializerIdentifier };
}

export function resolveOptions(
  fn: string, opts: object, defaults: { inputShape: number[]; classes: number; name: string; minSize?: number },
  extraKeys: readonly string[] = [],
): Resolved {
  if (opts === null || typeof opts !== 'object') throw new ValueError(`${fn}: options must be an object, got ${JSON.stringify(opts)}`);
  const o = opts as ApplicationOptions;
  for (const k of Object.keys(o)) {
    if (!(APPLICATION_KEYS as readonly string[]).includes(k) && !extraKeys.includes(k)) {
      throw new ValueError(`${fn}: unknown option '${k}'; options: ${[...APPLICATION_KEYS, ...extraKeys].join(', ')}`);
    }
  }
  if (o.weights !== undefined && o.weights !== null) {
    throw new ValueError(
      `${fn}: weights must be null (random initialisation), got ${JSON.stringify(o.weights)}; nodegrad ships no pretrained weights: `
      + 'build the model with weights: null and load a file with the weight importers',
    );
  }
  const inputShape = o.inputShape ? [...o.inputShape] : [...defaults.inputShape];
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ValueError(`${fn}: inputShape must be [height, width, channels] of positive integers, got ${JSON.stringify(o.inputShape)}`);
  }
  if (defaults.minSize !== undefined && (inputShape[0] < defaults.minSize || inputShape[1] < defaults.minSize)) {
    throw new ValueError(`${fn}: inputShape ${JSON.stringify(inputShape)} is too small; height and width must be at least ${defaults.minSize}`);
  }
  const classes = o.classes ?? defaults.classes;
  if (!Number.isInteger(classes) || classes < 1) throw new ValueError(`${fn}: classes must be a positive integer, got ${JSON.stringify(o.classes)}`);
  const includeTop = o.includeTop ?? true;
  if (typeof includeTop !== 'boolean') throw new ValueError(`${fn}: includeTop must be a boolean, got ${JSON.stringify(o.includeTop)}`);
  const pooling = o.pooling ?? null;
  if (pooling !== null && pooling !== 'avg' && pooling !== 'max') {
    throw new ValueError(`${fn}: pooling must be 'avg', 'max' or null, got ${JSON.stringify(o.pooling)}`);
  }
  const act = o.classifierActivation === undefined ? 'softmax' : o.classifierActivation;
  const k = o.kernelInitializer;
  return {
    inputShape, classes, includeTop, pooling, classifierActivation: act === null ? 'linear' : act, name: o.name ?? defaults.name,
    kinit: k === undefined ? {} : { kernelInitializer: k },
    dinit: k === undefined ? {} : { depthwiseInitializer: k },
    sinit: k === undefined ? {} : { depthwiseInitializer: k, pointwiseInitializer: k },
  };
}

/** The input tensor of a functional model. */
export function modelInput(r: Resolved): SymbolicTensor {
  return input({ shape: r.inputShape, name: 'input_layer' });
}

/** Global pooling of a base without top (Keras' pooling option); the map itself for null. */
export function basePooling(x: SymbolicTensor, pooling: Pooling): SymbolicTensor {
  if (pooling === 'avg') return layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  if (pooling === 'max') return layers.globalMaxPooling2d({ name: 'max_pool' }).apply(x);
  return x;
}
