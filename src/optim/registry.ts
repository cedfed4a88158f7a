/**
 * Optimizers by name and by config: `getOptimizer('adam')` (what `compile({ optimizer: 'adam' })` takes),
 * `optimizerFromConfig(opt.getConfig())`, and `registerOptimizer` for custom classes.
 */
import { ValueError } from '../errors.js';
import { checkKeys } from './schedules.js';
import { BASE_OPTION_KEYS, Optimizer, type OptimizerConfig } from './optimizer.js';
import { SGD } from './sgd.js';
import { Adam, AdamW } from './adam.js';
import { RMSprop } from './rmsprop.js';
import { Adagrad } from './adagrad.js';
import { Adadelta } from './adadelta.js';

type Maker = (options: Record<string, unknown>) => Optimizer;

/** Keyed by lower-case class name; each entry is the class's constructor taking its options. */
const makers = new Map<string, { className: string; make: Maker; keys: readonly string[] | null }>();

function builtin(className: string, make: Maker): void {
  // The keys a config may hold are those of the default instance's config.
  const keys = Object.keys(make({}).getConfig()).filter((k) => k !== 'className');
  makers.set(className.toLowerCase(), { className, make, keys });
}
builtin('SGD', (o) => new SGD(o));
builtin('Adam', (o) => new Adam(o));
builtin('AdamW', (o) => new AdamW(o));
builtin('RMSprop', (o) => new RMSprop(o));
builtin('Adagrad', (o) => new Adagrad(o));
builtin('Adadelta', (o) => new Adadelta(o));

/**
 * Makes `optimizerFromConfig` and `getOptimizer` know a custom optimizer by its className (case-insensitive):
 * `make` receives the config without className. Custom classes are not checked for unknown keys.
 */
export function registerOptimizer(className: string, make: (options: Record<string, unknown>) => Optimizer): void {
  if (typeof className !== 'string' || className === '') throw new ValueError(`registerOptimizer: 'className' must be a non-empty string`);
  makers.set(className.toLowerCase(), { className, make, keys: null });
}

/** Rebuilds an optimizer (without state: see setState) from `getConfig()` output; unknown options throw. */
export function optimizerFromConfig(config: OptimizerConfig): Optimizer {
  const op = 'optimizerFromConfig';
  if (typeof config !== 'object' || config === null || typeof config.className !== 'string') {
    throw new ValueError(`${op}: expected an object with a string 'className', got ${JSON.stringify(config)}`);
  }
  const entry = makers.get(config.className.toLowerCase());
  if (!entry) throw new ValueError(`${op}: unknown optimizer '${config.className}' (known: ${known()})`);
  const { className: _c, ...options } = config;
  if (entry.keys) checkKeys(`${op} (${entry.className})`, options, [...new Set([...entry.keys, ...BASE_OPTION_KEYS])]);
  // JSON has no undefined: null means "the default" for the options that take null.
  for (const k of Object.keys(options)) if (options[k] === null && !NULLABLE.has(k)) delete options[k];
  return entry.make(options);
}

const NULLABLE = new Set(['clipNorm', 'clipValue', 'globalClipNorm', 'weightDecay']);

function known(): string {
  return [...makers.values()].map((e) => `'${e.className.toLowerCase()}'`).join(', ');
}

/**
 * An optimizer from a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta', case-insensitive, with
 * Keras' defaults), a config (`{ className, ...options }`), or an Optimizer (returned as is).
 */
export function getOptimizer(identifier: string | Optimizer | OptimizerConfig): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string') {
    const entry = makers.get(identifier.toLowerCase());
    if (!entry) throw new ValueError(`getOptimizer: unknown optimizer '${identifier}' (known: ${known()})`);
    return entry.make({});
  }
  if (typeof identifier === 'object' && identifier !== null) return optimizerFromConfig(identifier);
  throw new ValueError(`getOptimizer: expected a name, a config or an Optimizer, got ${String(identifier)}`);
}
