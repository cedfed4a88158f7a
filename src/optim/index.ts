/**
 * Optimizers (Keras 3 formulas and names), learning-rate schedules, gradient clipping and decoupled weight decay.
 * See optimizer.ts for what every update does, and each optimizer's file for its formula and how PyTorch differs.
 */
export { Optimizer, NonFiniteGradientError } from './optimizer.js';
export type { OptimizerOptions, OptimizerConfig, OptimizerStateEntry, GradientPair } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export { RMSprop, RMSprop as RMSProp } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { Adagrad, Adagrad as AdaGrad } from './adagrad.js';
export type { AdagradOptions } from './adagrad.js';
export { Adadelta, Adadelta as AdaDelta } from './adadelta.js';
export type { AdadeltaOptions } from './adadelta.js';
export { getOptimizer, optimizerFromConfig, registerOptimizer } from './registry.js';
export {
  LearningRateSchedule,
  ExponentialDecay,
  PiecewiseConstantDecay,
  CosineDecay,
  exponentialDecay,
  piecewiseConstantDecay,
  stepDecay,
  cosineDecay,
  scheduleFromConfig,
  registerSchedule,
} from './schedules.js';
export type {
  ScheduleConfig,
  ConfigValue,
  ExponentialDecayOptions,
  PiecewiseConstantDecayOptions,
  CosineDecayOptions,
} from './schedules.js';
