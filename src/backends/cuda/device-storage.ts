/**
 * Device memory behind CUDA tensors. A DeviceStorage is one device buffer shared by the tensors that view it
 * (reshapes share storage, as on the CPU): each wrapping tensor holds a reference, dispose() drops it, and the
 * buffer is freed the moment the last reference goes. A tensor that is never disposed drops its reference from a
 * FinalizationRegistry when it is collected (the real addon also reports buffer bytes to V8, so unreachable device
 * memory prompts collections).
 *
 * Reads from the GPU (download) are where device-side index checks surface: a kernel that found a bad index (gather,
 * scatterAdd, cross-entropy labels; see kernels.ts checkIndexErrors) makes the next read throw a ValueError naming
 * it, and clears the report, so a later read works. Every read is a fresh copy; the third read of a storage nothing
 * has touched since (writes.ts) warns once per process that `.data` downloads each time.
 */
import { DeviceError } from '../../errors.js';
import { track } from '../../tensor/scope.js';
import type { CudaAddon, CudaBuffer, CudaDType } from './addon.js';
import { type DeviceTensor, checkIndexErrors } from './kernels.js';
import { loadCuda, warnCudaUnavailable } from './index.js';
import { writeGeneration } from './writes.js';

let warnedRereads = false;

/** Where a tensor's storage lives. */
export type Device = 'cpu' | 'cuda';

export class DeviceStorage {
  /** Tensors (and pending kernel results) holding the buffer. */
  #refs = 0;
  #freed = false;
  /** The buffer's write generation at the last download, and the downloads since it last changed. */
  #readAt = -1;
  #reads = 0;
  constructor(readonly addon: CudaAddon, readonly buffer: CudaBuffer, readonly length: number, readonly dtype: CudaDType) {}

  retain(): void {
    this.#refs++;
  }
  release(): void {
    if (this.#refs > 0 && --this.#refs === 0 && !this.#freed) {
      this.#freed = true;
      this.addon.free(this.buffer);
    }
  }
  get freed(): boolean {
    return this.#freed;
  }
  /** A fresh host copy (waits for the kernels writing the buffer; throws for a bad index they found). */
  /** `byUser` false: a read of nodegrad's own (a CPU fallback's), which the repeated-read warning does not count. */
  download(byUser = true): Float32Array | Int32Array {
    const a = this.dtype === 'int32' ? new Int32Array(this.length) : new Float32Array(this.length);
    this.addon.download(this.buffer, a);
    checkIndexErrors(this.addon);
    if (byUser) this.#noteRead();
    return a;
  }

  #noteRead(): void {
    const at = writeGeneration(this.buffer);
    if (at !== this.#readAt) {
      this.#readAt = at;
      this.#reads = 0;
    }
    if (++this.#reads === 3 && !warnedRereads) {
      warnedRereads = true;
      console.warn("nodegrad: reading .data of a CUDA tensor downloads it every time; read it once, or move it with .to('cpu')");
    }
  }
  /** Overwrites the buffer with host values of the same length and dtype (loading, Variable.assign). */
  upload(data: Float32Array | Int32Array): void {
    this.addon.upload(this.buffer, data);
  }
  /** As the kernels see it. */
  asDevice(shape: readonly number[]): DeviceTensor {
    return { buffer: this.buffer, shape, dtype: this.dtype };
  }

  static alloc(addon: CudaAddon, length: number, dtype: CudaDType): DeviceStorage {
    return new DeviceStorage(addon, addon.alloc(length, addon.dtypeCodes[dtype]), length, dtype);
  }
  /**
   * `length` float32 copies of `value`, written by a kernel: unlike an upload (a cudaMemcpy from pageable memory,
   * which waits for every queued kernel), a fill is queued behind them, so constants made mid-step do not stall it.
   */
  static filled(addon: CudaAddon, length: number, value: number): DeviceStorage {
    const s = DeviceStorage.alloc(addon, length, 'float32');
    addon.fill(s.buffer, value);
    return s;
  }
  /** A device copy of `data`; constant float data (zeros, ones, a scalar; not NaN, whose payload a fill would not keep) by a fill kernel. */
  static fromHost(addon: CudaAddon, data: Float32Array | Int32Array): DeviceStorage {
    if (data instanceof Float32Array && isConstant(data)) return DeviceStorage.filled(addon, data.length, data[0]);
    const s = DeviceStorage.alloc(addon, data.length, data instanceof Int32Array ? 'int32' : 'float32');
    addon.upload(s.buffer, data);
    return s;
  }
}

/** Whether every element has the bits of the first, which is not NaN (an empty array is not constant). */
function isConstant(data: Float32Array): boolean {
  if (data.length === 0 || Number.isNaN(data[0])) return false;
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const first = bits[0];
  for (let i = 1; i < bits.length; i++) if (bits[i] !== first) return false;
  return true;
}

// Collected owners drop their reference; dispose() unregisters first, so a reference is never dropped twice.
const finalizer = new FinalizationRegistry<DeviceStorage>((s) => s.release());

/** `owner` (a tensor, or a kernel result not yet wrapped) now holds a reference to `s`. */
export function holdStorage(owner: object, s: DeviceStorage): void {
  s.retain();
  finalizer.register(owner, s, owner);
}

/** `owner` lets go of `s` now (dispose). */
export function dropStorage(owner: object, s: DeviceStorage): void {
  finalizer.unregister(owner);
  s.release();
}

/**
 * A kernel's output on the device, before a Tensor wraps it (Tensor.fromKernel adopts its reference). Reading
 * `data` downloads, so code written for host KTensors still reads the right values.
 */
export class DeviceKTensor {
  #adopted = false;
  constructor(readonly storage: DeviceStorage, readonly shape: readonly number[]) {
    holdStorage(this, storage);
    track(this);  // an intermediate result no tensor wraps is freed when the enclosing scope ends
  }
  get data(): Float32Array | Int32Array {
    return this.storage.download();
  }
  get dtype(): CudaDType {
    return this.storage.dtype;
  }
  get device(): 'cuda' {
    return 'cuda';
  }
  /** The wrapping tensor has taken its own reference (or the scope ended): drop this one. */
  adopted(): void {
    if (this.#adopted) return;
    this.#adopted = true;
    dropStorage(this, this.storage);
  }
  dispose(): void {
    this.adopted();
  }
  get isDisposed(): boolean {
    return this.#adopted;
  }
}

/** The CUDA addon, or a DeviceError saying why there is none. */
export function cudaAddonFor(op: string): CudaAddon {
  const l = loadCuda();
  if (!l.addon) throw new DeviceError(`${op}: CUDA is not available (${l.reason ?? 'unknown reason'})`);
  return l.addon;
}

/**
 * The device a model should move to: 'cuda' when it is available, else 'cpu' with the one-line note (a user
 * without a GPU notices nothing else). Throws for anything but 'cpu' | 'cuda'.
 */
export function resolveModelDevice(op: string, device: unknown): Device {
  checkDevice(op, device);
  if (device === 'cuda' && !loadCuda().addon) {
    warnCudaUnavailable();
    return 'cpu';
  }
  return device;
}

export function checkDevice(op: string, device: unknown): asserts device is Device {
  if (device !== 'cpu' && device !== 'cuda') {
    throw new DeviceError(`${op}: argument 'device' must be 'cpu' or 'cuda', got ${JSON.stringify(device)}`);
  }
}
