/**
 * Activation functions by name, for the `activation` option of dense and conv layers and the Activation layer.
 * Names are the camelCase ones of TF.js ('leakyRelu'); Keras' snake_case spellings ('leaky_relu') are accepted
 * and stored in the camelCase form. Each is a tensor function, so autograd records through it.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

const ACTIVATIONS = {
  linear: (x: Tensor) => x,
  relu: (x: Tensor) => x.relu(),
  relu6: (x: Tensor) => x.relu6(),
  elu: (x: Tensor) => x.elu(),
  selu: (x: Tensor) => x.selu(),
  sigmoid: (x: Tensor) => x.sigmoid(),
  tanh: (x: Tensor) => x.tanh(),
  softmax: (x: Tensor) => x.softmax(-1),
  logSoftmax: (x: Tensor) => x.logSoftmax(-1),
  softplus: (x: Tensor) => x.softplus(),
  softsign: (x: Tensor) => x.softsign(),
  gelu: (x: Tensor) => x.gelu(),
  silu: (x: Tensor) => x.silu(),
  swish: (x: Tensor) => x.silu(),
  leakyRelu: (x: Tensor) => x.leakyRelu(0.2),
  exponential: (x: Tensor) => x.exp(),
} as const;

export type ActivationName = keyof typeof ACTIVATIONS;
export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS) as ActivationName[];

/** The canonical name of an activation ('leaky_relu' -> 'leakyRelu'; undefined and null -> 'linear'). */
export function activationName(id: unknown, who: string): ActivationName {
  if (id === undefined || id === null) return 'linear';
  if (typeof id === 'string') {
    const key = id.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (key in ACTIVATIONS) return key as ActivationName;
  }
  throw new ValueError(`${who}: unknown activation ${JSON.stringify(id)}; known: ${ACTIVATION_NAMES.join(', ')}`);
}

/** The function of a canonical name. */
export function activationFn(name: ActivationName): (x: Tensor) => Tensor {
  return ACTIVATIONS[name];
}
