/** Autograd: the tape (record, grad mode) and the engine (backward, gradients, valueAndGrad). */
export { noGrad, enableGrad, isGradEnabled, record } from './tape.js';
export type { BackwardFn, GradNode } from './tape.js';
export { backward, gradients, valueAndGrad, zeroGrad } from './engine.js';
export type { BackwardOptions } from './engine.js';
