/**
 * Which backend runs the kernels. The default is the native CPU backend when its addon loads, otherwise the
 * reference backend (with a one-line note on stderr). `NODEGRAD_BACKEND=reference|native` or `setBackend`
 * choose explicitly.
 */
import { NodegradError } from '../errors.js';
import type { Backend, KTensor } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { loadNativeBackend } from './native/index.js';
import { setAlignmentProbeInit } from './storage.js';
import { cudaTensorBackend } from './cuda/tensor-backend.js';

export type BackendName = 'reference' | 'native';

// Tensors made before any kernel runs (creation ops) are aligned too: loading the addon installs the probe.
setAlignmentProbeInit(() => void loadNativeBackend());

let current: Backend | undefined;

function resolve(name: BackendName): Backend {
  if (name === 'reference') return referenceBackend;
  const native = loadNativeBackend();
  if (!native.backend) {
    throw new NodegradError(`setBackend: the native backend is not available (${native.error})`);
  }
  return native.backend;
}

/** The backend kernels run on now. */
export function getBackend(): Backend {
  if (current) return current;
  const wanted = process.env.NODEGRAD_BACKEND;
  if (wanted === 'reference' || wanted === 'native') {
    current = resolve(wanted);
  } else {
    const native = loadNativeBackend();
    if (native.backend) {
      current = native.backend;
    } else {
      process.emitWarning(`nodegrad: native addon not loaded (${native.error}); using the pure-TypeScript reference backend`);
      current = referenceBackend;
    }
  }
  return current;
}

/** Switches every later op to `name` ('reference' or 'native'). */
export function setBackend(name: BackendName): void {
  if (name !== 'reference' && name !== 'native') {
    throw new NodegradError(`setBackend: argument 'name' must be 'reference' or 'native', got ${String(name)}`);
  }
  current = resolve(name);
}

/** Runs fn with `backend` active, restoring the previous one afterwards (tests compare backends this way). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** What backendFor reads of a kernel argument (Tensor has it; plain KTensors are host arrays). */
interface OnDevice {
  readonly device?: string;
}

/**
 * The backend for a kernel call on these arguments: the current CPU backend when none is a CUDA tensor (a field
 * test per argument, nothing else on the CPU path), the CUDA tensor backend otherwise, which rejects a CPU tensor
 * beside a CUDA one with a DeviceError naming the kernel and both devices.
 */
export function backendFor(a: KTensor, b?: KTensor, c?: KTensor, d?: KTensor): Backend {
  if ((a as OnDevice).device !== 'cuda' && (b === undefined || (b as OnDevice).device !== 'cuda') &&
    (c === undefined || (c as OnDevice).device !== 'cuda') && (d === undefined || (d as OnDevice).device !== 'cuda')) {
    return current ?? getBackend();
  }
  return cudaTensorBackend();
}

/** backendFor over a list (concat). */
export function backendForAll(xs: readonly KTensor[]): Backend {
  for (const x of xs) if ((x as OnDevice).device === 'cuda') return cudaTensorBackend();
  return current ?? getBackend();
}
