/**
 * Float32 storage for kernel outputs: 64-byte aligned and recycled.
 *
 * A fresh multi-megabyte ArrayBuffer costs a page fault per 4 KiB on first write: for memory-bound kernels
 * (pooling, batch norm, depthwise convolution) that costs as much as the kernel itself. Buffers allocated
 * here carry a reference count kept by the tensors that wrap them; when the last one is disposed
 * (`Tensor.dispose`, or a `scope` ending, which the training loop uses) the buffer returns to a pool keyed by
 * exact length, and the next output of that length reuses it. Tensors that are never disposed are simply
 * garbage-collected: nothing here needs a `dispose` for correctness.
 *
 * Storage from the pool is not zero-filled (kernels overwrite their outputs entirely): `allocF32` is for
 * those, `zerosF32` for accumulators. With NODEGRAD_POISON_OUTPUTS=1 (the test suite sets it) every
 * uninitialised output is filled with NaN, so a kernel that leaves an element unwritten fails its tests.
 */

/** Smaller outputs come from `new Float32Array`: V8 allocates them cheaply and they are not worth tracking. */
const POOL_FROM = 1024;
/** Over-allocation that lets a view start on a 64-byte boundary (the backing store is at least 4-aligned). */
const ALIGN_SLACK = 60;

interface Entry {
  /** The view handed out (a tensor may wrap another view of the same buffer, e.g. a bitcast). */
  readonly view: Float32Array;
  /** Tensors currently wrapping the buffer; it may be pooled when this drops back to 0 after a release. */
  refs: number;
  /** Set while the buffer sits in the pool, so a second release cannot pool it twice. */
  pooled: boolean;
}

const owned = new WeakMap<ArrayBuffer, Entry>();
const free = new Map<number, Float32Array[]>();
let pooledBytes = 0;
let limitBytes = defaultLimit();
let hits = 0;
let misses = 0;
const poison = typeof process !== 'undefined' && process.env.NODEGRAD_POISON_OUTPUTS === '1';
let alignmentOffset: ((buffer: ArrayBuffer) => number) | null = null;
let probeInit: (() => void) | null = null;

function defaultLimit(): number {
  const mb = Number(typeof process !== 'undefined' ? process.env.NODEGRAD_POOL_MB : undefined);
  return Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 1024 * 2 ** 20;
}

/** Called once before the first fresh buffer, so the addon (if any) can install its probe first. */
export function setAlignmentProbeInit(init: () => void): void {
  probeInit = init;
}

/** Lets the native backend report backing-store addresses, so pooled views start 64-byte aligned. */
export function setAlignmentProbe(probe: ((buffer: ArrayBuffer) => number) | null): void {
  alignmentOffset = probe;
}

function fresh(n: number): Float32Array {
  if (probeInit) {
    const init = probeInit;
    probeInit = null;
    init();
  }
  // allocUnsafeSlow: a non-pooled ArrayBuffer of its own, not zero-filled (the caller overwrites it).
  const bytes = n * 4 + (alignmentOffset ? ALIGN_SLACK : 0);
  const b = Buffer.allocUnsafeSlow(bytes);
  const off = alignmentOffset ? alignmentOffset(b.buffer) : 0;
  const a = new Float32Array(b.buffer, b.byteOffset + off, n);
  owned.set(b.buffer as ArrayBuffer, { view: a, refs: 0, pooled: false });
  return a;
}

/** An uninitialised Float32Array of n elements for a kernel that writes every element. */
export function allocF32(n: number): Float32Array {
  let a: Float32Array;
  if (n < POOL_FROM) {
    a = new Float32Array(n);
  } else {
    const list = free.get(n);
    const reused = list?.pop();
    if (reused) {
      if (list!.length === 0) free.delete(n);
      pooledBytes -= reused.byteLength;
      owned.get(reused.buffer as ArrayBuffer)!.pooled = false;
      hits++;
      a = reused;
    } else {
      misses++;
      a = fresh(n);
    }
  }
  if (poison) a.fill(NaN);
  return a;
}

/** A zero-filled Float32Array of n elements (accumulators), from the pool when one is free. */
export function zerosF32(n: number): Float32Array {
  return n < POOL_FROM ? new Float32Array(n) : allocF32(n).fill(0);
}

/** The pool's record of the buffer under `a`, if the pool allocated it. */
function entryOf(a: ArrayLike<number> & { buffer?: ArrayBufferLike }): Entry | undefined {
  const buf = a.buffer;
  return buf instanceof ArrayBuffer ? owned.get(buf) : undefined;
}

/** A tensor now wraps `a`, or a view of the same buffer (called by the Tensor constructor). */
export function retainStorage(a: Float32Array | Int32Array): void {
  const e = entryOf(a);
  if (e) e.refs++;
}

/**
 * A tensor wrapping `a` was disposed: when no other tensor wraps it, the buffer goes back to the pool (or to
 * the garbage collector when the pool is at its limit).
 */
export function releaseStorage(a: Float32Array | Int32Array): void {
  const e = entryOf(a);
  if (!e || e.pooled || e.refs <= 0) return;
  if (--e.refs > 0) return;
  const v = e.view;
  if (pooledBytes + v.byteLength > limitBytes) return;
  e.pooled = true;
  pooledBytes += v.byteLength;
  const list = free.get(v.length);
  if (list) list.push(v);
  else free.set(v.length, [v]);
}

export interface PoolStats {
  /** Bytes held by free buffers waiting for reuse. */
  readonly pooledBytes: number;
  /** Cap on pooledBytes (NODEGRAD_POOL_MB, default 1024 MiB; `setPoolLimit`). */
  readonly limitBytes: number;
  /** Allocations served from the pool, and those that needed a fresh buffer. */
  readonly hits: number;
  readonly misses: number;
}

export function poolStats(): PoolStats {
  return { pooledBytes, limitBytes, hits, misses };
}

/** Caps the bytes kept for reuse; 0 disables pooling. Frees what is over the new limit. */
export function setPoolLimit(bytes: number): void {
  if (!(Number.isFinite(bytes) && bytes >= 0)) throw new RangeError(`setPoolLimit: argument 'bytes' must be a finite number >= 0, got ${bytes}`);
  limitBytes = bytes;
  if (pooledBytes > limitBytes) emptyPool();
}

/** Drops every free buffer (the garbage collector reclaims them). */
export function emptyPool(): void {
  for (const list of free.values()) for (const a of list) owned.get(a.buffer as ArrayBuffer)!.pooled = false;
  free.clear();
  pooledBytes = 0;
}
