/**
 * Option parsing shared by the layers: initializer and regularizer options with their defaults, booleans.
 * Errors name the layer ("dense_1 (Dense)") and the option.
 */
import { ValueError } from '../errors.js';
import { type Initializer, type InitializerIdentifier, getInitializer } from './initializers.js';
import { type Regularizer, type RegularizerIdentifier, getRegularizer } from './regularizers.js';

/** Shared by dense and conv layers: an initializer option with its default, named in errors. */
export function initOption(who: string, arg: string, v: InitializerIdentifier | undefined, fallback: string): Initializer {
  return getInitializer(v ?? fallback, `${who}: option '${arg}'`);
}
/** A regularizer option, or null. */
export function regOption(who: string, arg: string, v: RegularizerIdentifier | null | undefined): Regularizer | null {
  return v === undefined || v === null ? null : getRegularizer(v, `${who}: option '${arg}'`);
}
/** A boolean option with its default. */
export function boolOption(who: string, arg: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ValueError(`${who}: option '${arg}' must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}
