/**
 * Every error nodegrad throws on bad input names the op, the argument and the shapes involved,
 * so a user can find the mistake without a debugger.
 */

/** Base class: catch this to catch anything nodegrad rejects. */
export class NodegradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (ranks, channels, broadcasting, kernel larger than input). */
export class ShapeError extends NodegradError {}

/** A value that is out of its domain (non-positive stride, NaN attribute, label out of range). */
export class ValueError extends NodegradError {}

/** A tensor of the wrong dtype, or an argument of the wrong JS type. */
export class DTypeError extends NodegradError {}

/** `[2,3,4]` — how every message prints a shape. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** `op: message`, the one format of every error. */
export function opError<E extends NodegradError>(
  Kind: new (message: string) => E,
  op: string,
  message: string,
): E {
  return new Kind(`${op}: ${message}`);
}

/** Tensors on different devices met in one op, or a device that is not available (see Tensor.to). */
export class DeviceError extends NodegradError {}
