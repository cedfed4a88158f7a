/**
 * Scopes: automatic disposal of the tensors a block of code creates, so their storage is reused.
 *
 * `scope(fn)` runs fn (sync or async); every tensor created inside and not reachable from fn's result (nor
 * marked with `keep`) is disposed when fn finishes, and its storage goes back to the pool
 * (src/backends/storage.ts). The training loop runs each step in a scope; users never have to, since
 * undisposed tensors are garbage-collected as usual. Scopes follow async continuations (AsyncLocalStorage),
 * so concurrent async scopes do not see each other's tensors.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a scope needs of a tensor (Tensor implements it; kept structural to avoid an import cycle). */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

interface Frame {
  readonly tracked: Disposable[];
}

const frames = new AsyncLocalStorage<Frame>();
const kept = new WeakSet<Disposable>();

/** Called by the Tensor constructor. */
export function track(t: Disposable): void {
  frames.getStore()?.tracked.push(t);
}

/** Exempts tensors from every enclosing and future scope's disposal; returns its argument. */
export function keep<T>(value: T): T {
  visit(value, (t) => kept.add(t), new Set());
  return value;
}

function isDisposable(v: unknown): v is Disposable {
  return typeof v === 'object' && v !== null && typeof (v as Disposable).dispose === 'function' && 'isDisposed' in v;
}

// Walks arrays, plain objects and Maps (the shapes results take: a tensor, a tuple, a record of tensors).
function visit(v: unknown, f: (t: Disposable) => void, seen: Set<unknown>): void {
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (isDisposable(v)) {
    f(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) visit(x, f, seen);
  else if (v instanceof Map) for (const x of v.values()) visit(x, f, seen);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) visit(x, f, seen);
}

function close<T>(frame: Frame, result: T): T {
  const survivors = new Set<Disposable>();
  visit(result, (t) => survivors.add(t), new Set());
  const parent = frames.getStore();
  for (const t of frame.tracked) {
    if (survivors.has(t)) parent?.tracked.push(t);
    else if (!kept.has(t)) t.dispose();
  }
  return result;
}

/**
 * Runs fn and disposes the tensors it created that its result does not contain. Returns fn's result (a
 * Promise when fn is async: disposal then waits for it). When fn throws, everything it created is disposed.
 */
export function scope<T>(fn: () => T): T {
  const frame: Frame = { tracked: [] };
  let out: T;
  try {
    out = frames.run(frame, fn);
  } catch (err) {
    close(frame, undefined);
    throw err;
  }
  if (out instanceof Promise) {
    return out.then(
      (v) => close(frame, v),
      (err) => {
        close(frame, undefined);
        throw err;
      },
    ) as T;
  }
  return close(frame, out);
}

/**
 * Runs fn in a frame of its own and returns what it created, without disposing anything: the caller disposes
 * what it does not need and hands the rest to `adopt` (autograd's backward pass uses it).
 */
export function collecting<T>(fn: () => T): { result: T; created: Disposable[] } {
  const frame: Frame = { tracked: [] };
  const result = frames.run(frame, fn);
  return { result, created: frame.tracked };
}

/** Hands tensors to the enclosing scope, as if created there. */
export function adopt(ts: readonly Disposable[]): void {
  frames.getStore()?.tracked.push(...ts);
}
