/** Native conv2d, conv2dBackwardData, conv2dBackwardFilter. Entries not returned here run on the reference backend. */
import type { Backend } from '../backend.js';
import type { NativeAddon } from './addon.js';

/** The conv entries of the native backend. */
export function convKernels(_addon: NativeAddon): Partial<Backend> {
  return {};
}
