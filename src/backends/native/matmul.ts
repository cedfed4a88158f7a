/** Native matmul (SGEMM with the fused bias/activation epilogue). Entries not returned here run on the reference backend. */
import type { Backend } from '../backend.js';
import type { NativeAddon } from './addon.js';

/** The matmul entries of the native backend. */
export function matmulKernels(_addon: NativeAddon): Partial<Backend> {
  return {};
}
