/** Native max/avg/global pooling forward and backward. Entries not returned here run on the reference backend. */
import type { Backend } from '../backend.js';
import type { NativeAddon } from './addon.js';

/** The pool entries of the native backend. */
export function poolKernels(_addon: NativeAddon): Partial<Backend> {
  return {};
}
