/**
 * The recording half of autograd: ops call `record` after computing their output, handing it a closure that
 * maps the output's gradient to their inputs' gradients. This file holds no formulas (each op's gradient sits
 * beside the op) and imports only types, so the tensor layer below can record without a cycle.
 *
 * Grad mode follows async continuations (AsyncLocalStorage): `noGrad(async () => ...)` covers its awaits and
 * does not leak into concurrent code.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tensor } from '../tensor/tensor.js';

/** Maps the output's gradient to one gradient per input (null where an input gets none). */
export type BackwardFn = (grad: Tensor) => ReadonlyArray<Tensor | null | undefined>;

/** A recorded op: its inputs and how to push a gradient back to them. */
export interface GradNode {
  /** The op's name, for error messages ("conv2d", "add", ...). */
  readonly op: string;
  readonly inputs: ReadonlyArray<Tensor | null | undefined>;
  readonly backward: BackwardFn;
}

const mode = new AsyncLocalStorage<boolean>();

/** Whether ops record for autograd here (true unless inside noGrad). */
export function isGradEnabled(): boolean {
  return mode.getStore() ?? true;
}

/** Runs fn without recording: no output of it requires grad (inference, optimizer updates, metrics). */
export function noGrad<T>(fn: () => T): T {
  return mode.run(false, fn);
}

/** Runs fn with recording on, also inside noGrad (filter visualisation computes input gradients there). */
export function enableGrad<T>(fn: () => T): T {
  return mode.run(true, fn);
}

/**
 * Marks `out` as computed from `inputs` by `op`: when grad mode is on and any input requires grad, `out`
 * requires grad and remembers how to send its gradient back. Returns `out`.
 */
export function record<T extends Tensor>(op: string, out: T, inputs: ReadonlyArray<Tensor | null | undefined>, backward: BackwardFn): T {
  if (!isGradEnabled()) return out;
  let any = false;
  for (const t of inputs) if (t && t.requiresGrad) any = true;
  if (!any) return out;
  out.requiresGrad = true;
  out.gradNode = { op, inputs, backward };
  return out;
}
