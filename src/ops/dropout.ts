/**
 * Inverted dropout (Keras Dropout): in training, each element is zeroed with probability `rate` and the
 * survivors are scaled by 1/(1-rate), so the expected value is unchanged; outside training it is the identity.
 *
 * `seed`: a number is the Philox key of the mask itself (same seed, same mask, on every backend and thread
 * count); a Generator, or no seed (the default generator), supplies a fresh key per call, so successive calls
 * differ but a seeded generator replays the same sequence.
 *
 * Gradient (recorded on the tape): dx = dy * mask, the mask the forward drew (kept by the recorded node, not
 * drawn again). Outside training, or at rate 0, the op returns x itself, so the gradient passes untouched.
 */
import { ValueError, opError } from '../errors.js';
import { backendFor } from '../backends/registry.js';
import { record } from '../autograd/tape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkFinite } from '../tensor/shape.js';
import { type SeedLike, resolveGenerator } from '../tensor/random.js';
import { checkOptions, f32, filledLike, floatTensor, fromKernel } from './validate.js';

export interface DropoutOptions {
  /** Fraction dropped, in [0, 1). */
  readonly rate: number;
  /** A number (the mask's own seed), a Generator to draw one from, or nothing (the default generator). */
  readonly seed?: SeedLike;
  /** Default true: the functional op is called when dropping is wanted; false is the identity. */
  readonly training?: boolean;
}

export interface DropoutResult {
  readonly y: Tensor;
  /** y = x * mask: 0 or 1/(1-rate) per element (all ones when nothing was dropped); autograd's dx = dy * mask. */
  readonly mask: Tensor;
}

const KEYS = ['rate', 'seed', 'training'] as const;

function parse(op: string, x: unknown, options: DropoutOptions | undefined): { xt: Tensor; rate: number; training: boolean; seed: SeedLike | undefined } {
  const o = checkOptions(op, options, KEYS);
  const xt = floatTensor(op, 'x', x);
  if (o.rate === undefined) throw opError(ValueError, op, `argument 'rate' is required (the fraction to drop, in [0, 1))`);
  const rate = checkFinite(op, 'rate', o.rate);
  if (rate < 0 || rate >= 1) {
    throw opError(ValueError, op, `argument 'rate' must be in [0, 1), got ${rate}${rate === 1 ? ' (dropping everything leaves no signal to rescale)' : ''}`);
  }
  const training = o.training ?? true;
  if (typeof training !== 'boolean') throw opError(ValueError, op, `argument 'training' must be a boolean, got ${String(training)}`);
  return { xt, rate, training, seed: o.seed };
}

/** The mask's Philox key: a number as is (validated), else a fresh one from the generator. */
function keyOf(op: string, seed: SeedLike | undefined): number {
  if (typeof seed === 'number') return resolveGenerator(op, seed).seed;
  return resolveGenerator(op, seed).nextSeed();
}

/** Dropout returning both the output and the mask it applied. */
export function dropoutWithMask(x: Tensor, options: DropoutOptions): DropoutResult {
  const op = 'dropoutWithMask';
  const { xt, rate, training, seed } = parse(op, x, options);
  if (!training || rate === 0) {
    // Validate the seed anyway (no draw is made), so a bad one fails in evaluation too and not only in training.
    if (seed !== undefined) resolveGenerator(op, seed);
    return { y: xt, mask: fromKernel(filledLike(xt, xt.shape, 1)) };
  }
  const r = backendFor(xt).dropout(f32(xt), rate, keyOf(op, seed));
  const mask = fromKernel(r.mask);
  return { y: recordMask(op, fromKernel(r.y), xt, mask), mask };
}

/** y = x * mask: dx = dy * mask. */
function recordMask(op: string, y: Tensor, x: Tensor, mask: Tensor): Tensor {
  return record(op, y, [x], (dy) => [fromKernel(backendFor(dy, mask).binary('mul', f32(dy), f32(mask), dy.shape))]);
}

/**
 * @example dropout(x, { rate: 0.5, seed: 42 })
 */
export function dropout(x: Tensor, options: DropoutOptions): Tensor {
  const op = 'dropout';
  const { xt, rate, training, seed } = parse(op, x, options);
  if (!training || rate === 0) {
    if (seed !== undefined) resolveGenerator(op, seed);
    return xt;
  }
  const r = backendFor(xt).dropout(f32(xt), rate, keyOf(op, seed));
  return recordMask(op, fromKernel(r.y), xt, fromKernel(r.mask));
}
