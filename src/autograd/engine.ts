/**
 * Reverse-mode differentiation over the recorded graph: `backward` (the engine behind `tensor.backward()`),
 * `gradients` (gradients with respect to chosen tensors, leaving `.grad` alone) and `valueAndGrad`.
 *
 * Gradients accumulate into leaves' `.grad` (zero them with `zeroGrad` or an optimizer's `zeroGrad`). The
 * graph is released after a backward pass unless `retainGraph` is set. Every tensor the pass creates that is
 * not a result is disposed when the pass ends, so the next step reuses its storage (not yet within the pass:
 * disposing each gradient as soon as it is consumed would lower the peak).
 */
import { NodegradError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { add } from '../tensor/elementwise.js';
import { onesLike, zerosLike } from '../tensor/creation.js';
import { adopt, collecting, keep, type Disposable } from '../tensor/scope.js';
import { shapesEqual } from '../tensor/shape.js';
import { enableGrad, noGrad, type GradNode } from './tape.js';

export interface BackwardOptions {
  /** d(root)/d(root); defaults to ones for a one-element root, required otherwise. */
  gradient?: Tensor;
  /** Keep the graph so that backward can run through it again (default false). */
  retainGraph?: boolean;
}

/** Tensors reachable from root through recorded ops, inputs before the tensors computed from them. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: Array<[Tensor, number]> = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradNode?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const x = inputs[i];
      if (x && x.requiresGrad && !seen.has(x)) {
        seen.add(x);
        stack.push([x, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/** What a computed tensor's node becomes after a pass without retainGraph: going through it again throws. */
function released(op: string): GradNode {
  return {
    op,
    inputs: [],
    backward: () => {
      throw new NodegradError(`backward: the graph through '${op}' was already used by a backward pass and released; pass { retainGraph: true } to the first backward to go through it twice`);
    },
  };
}

function seedGradient(op: string, root: Tensor, gradient: Tensor | undefined): Tensor {
  if (!root.requiresGrad) {
    throw new NodegradError(`${op}: the tensor does not require grad (no input of the ops that made it has requiresGrad, or it was computed under noGrad)`);
  }
  if (gradient === undefined) {
    if (root.size !== 1) throw new ShapeError(`${op}: 'gradient' is required for a non-scalar output (shape ${fmtShape(root.shape)})`);
    return onesLike(root);
  }
  if (!shapesEqual(gradient.shape, root.shape)) {
    throw new ShapeError(`${op}: 'gradient' has shape ${fmtShape(gradient.shape)} but the output has shape ${fmtShape(root.shape)}`);
  }
  return gradient;
}

/**
 * Runs the pass. With `wrt`, returns the gradients of those tensors (null where unreachable) and writes no
 * `.grad`; otherwise accumulates into every leaf that requires grad. Every tensor the pass creates that is
 * not a result or a leaf's new `.grad` is disposed before returning, so its storage serves the next op.
 */
function run(op: string, root: Tensor, opts: BackwardOptions, wrt?: readonly Tensor[]): Array<Tensor | null> {
  const seed = seedGradient(op, root, opts.gradient);
  const { result, created } = collecting(() => noGrad(() => propagate(op, root, seed, opts, wrt)));
  const survivors = new Set<Disposable>();
  for (const t of result.values) if (t) survivors.add(t);
  const kept: Disposable[] = [];
  for (const t of created) {
    if (survivors.has(t)) kept.push(t);
    else t.dispose();
  }
  adopt(kept);
  return result.values;
}

function propagate(op: string, root: Tensor, seed: Tensor, opts: BackwardOptions, wrt?: readonly Tensor[]): { values: Array<Tensor | null> } {
  const order = topoOrder(root);
  const leaves = order.filter((t) => t.gradNode === null);
  const want = wrt ? new Set(wrt) : null;
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    const node = t.gradNode;
    if (!g || !node) continue;
    if (want?.has(t)) continue; // a wrt tensor's gradient is final here, even when an op computed it
    const inGrads = node.backward(g);
    if (inGrads.length !== node.inputs.length) {
      throw new NodegradError(`${op}: the gradient of '${node.op}' returned ${inGrads.length} gradients for ${node.inputs.length} inputs`);
    }
    for (let i = 0; i < node.inputs.length; i++) {
      const x = node.inputs[i];
      const gi = inGrads[i];
      if (!x || !x.requiresGrad || !gi) continue;
      if (!shapesEqual(gi.shape, x.shape)) {
        throw new ShapeError(`${op}: the gradient of '${node.op}' for input ${i} has shape ${fmtShape(gi.shape)}, the input ${fmtShape(x.shape)}`);
      }
      const prev = grads.get(x);
      grads.set(x, prev ? add(prev, gi) : gi);
    }
    if (!opts.retainGraph) t.gradNode = released(node.op);
  }
  if (wrt) return { values: wrt.map((t) => grads.get(t) ?? null) };
  const values: Tensor[] = [];
  const assigned = new Set<Tensor>();
  for (const t of leaves) {
    const g = grads.get(t);
    if (!g) continue;
    // The seed belongs to the caller, and one gradient may reach two leaves (add(a, b)): each .grad is its own.
    const next = t.grad ? add(t.grad, g) : g === seed || assigned.has(g) ? g.clone() : g;
    assigned.add(next);
    t.grad?.dispose();
    t.grad = keep(next);
    values.push(next);
  }
  return { values };
}

/** Accumulates d(root)/d(leaf) into `.grad` of every leaf root depends on that requires grad. */
export function backward(root: Tensor, opts: BackwardOptions = {}): void {
  run('backward', root, opts);
}

/**
 * The gradients of root with respect to `wrt` (leaves or intermediate tensors), as `torch.autograd.grad`:
 * no `.grad` is written. A tensor root does not depend on gets zeros.
 */
export function gradients(root: Tensor, wrt: readonly Tensor[], opts: BackwardOptions = {}): Tensor[] {
  const gs = run('gradients', root, opts, wrt);
  return gs.map((g, i) => g ?? zerosLike(wrt[i]));
}

/**
 * Wraps fn so that it returns its value and the gradients of that value with respect to each tensor argument.
 * The arguments are detached copies (sharing storage) that require grad: the caller's tensors are untouched.
 */
export function valueAndGrad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => { value: Tensor; grads: Tensor[] } {
  return (...args: A) => {
    const leaves = args.map((a) => a.detach().requireGrad()) as A;
    const value = enableGrad(() => fn(...leaves));
    if (!(value instanceof Tensor)) throw new NodegradError(`valueAndGrad: the function must return a Tensor, got ${typeof value}`);
    const grads = gradients(value, leaves);
    return { value: value.detach(), grads };
  };
}

/** Sets `.grad` of each tensor to null, disposing the old gradients. */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) {
    t.grad?.dispose();
    t.grad = null;
  }
}
