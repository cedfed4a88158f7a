/**
 * Which backend runs the kernels. The default is the native CPU backend when its addon loads, otherwise the
 * reference backend (with a one-line note on stderr). `NODEGRAD_BACKEND=reference|native` or `setBackend`
 * choose explicitly.
 */
import { NodegradError } from '../errors.js';
import type { Backend } from './backend.js';
import { referenceBackend } from './reference/index.js';
import { loadNativeBackend } from './native/index.js';
import { setAlignmentProbeInit } from './storage.js';

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
