/** Native batchNorm forward and backward. Entries not returned here run on the reference backend. */
import type { Backend } from '../backend.js';
import type { NativeAddon } from './addon.js';

/** The norm entries of the native backend. */
export function normKernels(_addon: NativeAddon): Partial<Backend> {
  return {};
}
