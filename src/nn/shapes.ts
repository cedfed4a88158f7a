/**
 * Symbolic shapes for layers' shape inference: the batch axis (and, for fully convolutional models, spatial
 * axes) may be `null`, unknown until data arrives, as Keras' `None`. Output-length formulas are those of
 * src/ops/padding.ts (TensorFlow 'same'/'valid'), applied to known lengths and propagating null.
 */
import { ShapeError, ValueError } from '../errors.js';

/** A layer's view of a tensor shape: known lengths, or null where unknown (the batch axis at least). */
export type Shape = readonly (number | null)[];

/** `[null,26,26,32]`: how error messages print a symbolic shape. */
export function fmtShape(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(',')}]`;
}

/** `(None, 26, 26, 32)`: how summary() prints a shape, as Keras does. */
export function kerasShape(shape: Shape): string {
  return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;
}

/** True when a is a list of shapes rather than one shape (a shape holds numbers or null, never arrays). */
export function isShapeList(a: Shape | readonly Shape[]): a is readonly Shape[] {
  return a.length > 0 && Array.isArray(a[0]);
}

/** Product of the lengths, or null when one is unknown. */
export function knownSize(dims: Shape): number | null {
  let n = 1;
  for (const d of dims) {
    if (d === null) return null;
    n *= d;
  }
  return n;
}

/** Whether a concrete shape fits a symbolic one (same rank, equal where known). */
export function shapeFits(expected: Shape, actual: readonly number[]): boolean {
  return expected.length === actual.length && expected.every((d, i) => d === null || d === actual[i]);
}

/** A positive integer option, or a ValueError naming the layer and the option. */
export function positiveInt(who: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new ValueError(`${who}: option '${arg}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A non-negative integer option. */
export function nonNegativeInt(who: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ValueError(`${who}: option '${arg}' must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A number or [a, b] of positive integers (kernelSize, strides, dilationRate, poolSize), as a pair. */
export function intPair(who: string, arg: string, v: unknown): [number, number] {
  if (typeof v === 'number') return [positiveInt(who, arg, v), v];
  if (Array.isArray(v) && v.length === 2) return [positiveInt(who, `${arg}[0]`, v[0]), positiveInt(who, `${arg}[1]`, v[1])];
  throw new ValueError(`${who}: option '${arg}' must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
}

/** A number or [n] of positive integers (the 1-D layers accept both, as Keras). */
export function intSingle(who: string, arg: string, v: unknown): number {
  if (Array.isArray(v) && v.length === 1) return positiveInt(who, `${arg}[0]`, v[0]);
  return positiveInt(who, arg, v);
}

export type ConvPadding = 'valid' | 'same';

export function convPadding(who: string, v: unknown, allowed: readonly string[] = ['valid', 'same']): string {
  const p = v ?? 'valid';
  if (typeof p !== 'string' || !allowed.includes(p)) {
    throw new ValueError(`${who}: option 'padding' must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  }
  return p;
}

/**
 * Output length of a window op along one axis ('valid': floor((in - kEff) / s) + 1; 'same' and 'causal':
 * ceil(in / s)), null for an unknown input length. Throws when the window does not fit a 'valid' input.
 */
export function windowLength(
  who: string, axis: string, inShape: Shape, inLen: number | null, k: number, s: number, d: number, padding: string, what = 'kernel',
): number | null {
  if (inLen === null) return null;
  if (padding === 'same' || padding === 'causal') return Math.ceil(inLen / s);
  const kEff = (k - 1) * d + 1;
  if (inLen < kEff) {
    const dil = d > 1 ? ` (dilated to ${kEff})` : '';
    throw new ShapeError(
      `${who}: the ${what} ${k}${dil} is larger than the input ${axis} ${inLen} of shape ${fmtShape(inShape)} with padding 'valid' ` +
        `(use padding 'same', a smaller ${what}, or a larger input)`,
    );
  }
  return Math.floor((inLen - kEff) / s) + 1;
}

/** Output length of a transposed convolution (Keras deconv_output_length), null for an unknown input length. */
export function transposeLength(inLen: number | null, k: number, s: number, d: number, padding: string, outputPadding?: number): number | null {
  if (inLen === null) return null;
  const kEff = (k - 1) * d + 1;
  if (outputPadding === undefined) {
    return padding === 'valid' ? inLen * s + Math.max(kEff - s, 0) : inLen * s;
  }
  return padding === 'valid' ? (inLen - 1) * s + kEff + outputPadding : (inLen - 1) * s + kEff - 2 * Math.floor(kEff / 2) + outputPadding;
}
