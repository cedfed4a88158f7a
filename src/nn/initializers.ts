/**
 * Weight initializers with Keras names and formulas (keras.initializers): glorotUniform (the default for
 * kernels), glorotNormal, heNormal, heUniform, lecunNormal, lecunUniform, zeros (the default for biases), ones,
 * constant, randomNormal, randomUniform, truncatedNormal, and varianceScaling behind the fan-based ones.
 *
 * Randomness comes from the library's Philox generator (src/tensor/random.ts): an initializer with a `seed`
 * owns a Generator seeded with it, so a layer built from the same config draws the same values; without one it
 * draws from the global generator, so `manualSeed(s)` before building a model gives identical weights.
 * Successive calls of one seeded initializer continue its stream (two layers sharing it get different kernels).
 *
 * Fans as Keras `compute_fans`: rank 2 [in, out]; conv kernels [..., in, out] multiply both by the receptive
 * field (the product of the leading axes); rank 1 uses its length for both.
 */
import { ValueError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { Generator, getDefaultGenerator } from '../tensor/random.js';

/** An initializer's serialised form (getConfig), read back by `getInitializer`. */
export type InitializerConfig = {
  className: string;
  config: Record<string, number | string | null>;
};

/** What layer options accept for an initializer: a name ('glorotUniform' or 'glorot_uniform'), an instance, or a config. */
export type InitializerIdentifier = string | Initializer | InitializerConfig;

/** Keras `compute_fans`: [fanIn, fanOut] of a weight shape. */
export function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0], shape[0]];
  if (shape.length === 2) return [shape[0], shape[1]];
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i];
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** The largest float32 below x (rounding min + span * u to float32 could otherwise reach max). */
function float32Below(x: number): number {
  const f = Math.fround(x);
  if (f < x) return f;
  if (f === 0) return -(2 ** -149);
  const buf = new Float32Array([f]);
  new Int32Array(buf.buffer)[0] += f > 0 ? -1 : 1;
  return buf[0];
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export abstract class Initializer {
  /** The Keras class name, the key of the registry. */
  abstract readonly className: string;
  /** Values of the given shape (float32). */
  abstract call(shape: readonly number[]): Tensor;
  /** JSON-able constructor arguments. */
  abstract getConfig(): Record<string, number | string | null>;
  serialize(): InitializerConfig {
    return { className: this.className, config: this.getConfig() };
  }
}

/** Initializers that draw random numbers: a seeded one owns its stream, an unseeded one uses the global one. */
abstract class RandomInitializer extends Initializer {
  readonly seed: number | null;
  #gen: Generator | undefined;
  constructor(seed: number | null | undefined) {
    super();
    if (seed !== undefined && seed !== null && (!Number.isSafeInteger(seed) || seed < 0)) {
      throw new ValueError(`${this.constructor.name}: option 'seed' must be a non-negative integer, got ${JSON.stringify(seed)}`);
    }
    this.seed = seed ?? null;
  }
  protected generator(): Generator {
    if (this.seed === null) return getDefaultGenerator();
    this.#gen ??= new Generator(this.seed);
    return this.#gen;
  }
  /** Uniform in [min, max), one 24-bit word per value (float32 holds no more). */
  protected uniform(shape: readonly number[], min: number, max: number): Tensor {
    const gen = this.generator();
    const data = new Float32Array(size(shape));
    const span = max - min;
    const top = float32Below(max);
    for (let i = 0; i < data.length; i++) data[i] = Math.min(min + span * gen.nextFloat32(), top);
    return new Tensor(data, shape);
  }
  /** Normal(mean, std); truncated: draws beyond 2 std are redrawn (Keras/TF truncated_normal). */
  protected normal(shape: readonly number[], mean: number, std: number, truncated: boolean): Tensor {
    const gen = this.generator();
    const data = new Float32Array(size(shape));
    for (let i = 0; i < data.length; i++) {
      let z = gen.nextNormal();
      while (truncated && Math.abs(z) > 2) z = gen.nextNormal();
      data[i] = mean + std * z;
    }
    return new Tensor(data, shape);
  }
}

export class Zeros extends Initializer {
  readonly className = 'Zeros';
  call(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(size(shape)), shape);
  }
  getConfig() {
    return {};
  }
}

export class Ones extends Initializer {
  readonly className = 'Ones';
  call(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(size(shape)).fill(1), shape);
  }
  getConfig() {
    return {};
  }
}

export class Constant extends Initializer {
  readonly className = 'Constant';
  readonly value: number;
  constructor(args: { value?: number } = {}) {
    super();
    this.value = args.value ?? 0;
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) {
      throw new ValueError(`Constant: option 'value' must be a finite number, got ${JSON.stringify(args.value)}`);
    }
  }
  call(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(size(shape)).fill(this.value), shape);
  }
  getConfig() {
    return { value: this.value };
  }
}

export class RandomNormal extends RandomInitializer {
  readonly className = 'RandomNormal';
  readonly mean: number;
  readonly stddev: number;
  constructor(args: { mean?: number; stddev?: number; seed?: number | null } = {}) {
    super(args.seed);
    this.mean = args.mean ?? 0;
    this.stddev = args.stddev ?? 0.05;
  }
  call(shape: readonly number[]): Tensor {
    return this.normal(shape, this.mean, this.stddev, false);
  }
  getConfig() {
    return { mean: this.mean, stddev: this.stddev, seed: this.seed };
  }
}

export class TruncatedNormal extends RandomInitializer {
  readonly className = 'TruncatedNormal';
  readonly mean: number;
  readonly stddev: number;
  constructor(args: { mean?: number; stddev?: number; seed?: number | null } = {}) {
    super(args.seed);
    this.mean = args.mean ?? 0;
    this.stddev = args.stddev ?? 0.05;
  }
  call(shape: readonly number[]): Tensor {
    return this.normal(shape, this.mean, this.stddev, true);
  }
  getConfig() {
    return { mean: this.mean, stddev: this.stddev, seed: this.seed };
  }
}

export class RandomUniform extends RandomInitializer {
  readonly className = 'RandomUniform';
  readonly minval: number;
  readonly maxval: number;
  constructor(args: { minval?: number; maxval?: number; seed?: number | null } = {}) {
    super(args.seed);
    this.minval = args.minval ?? -0.05;
    this.maxval = args.maxval ?? 0.05;
    if (!(this.minval < this.maxval)) {
      throw new ValueError(`RandomUniform: option 'minval' (${this.minval}) must be less than 'maxval' (${this.maxval})`);
    }
  }
  call(shape: readonly number[]): Tensor {
    return this.uniform(shape, this.minval, this.maxval);
  }
  getConfig() {
    return { minval: this.minval, maxval: this.maxval, seed: this.seed };
  }
}

export type FanMode = 'fanIn' | 'fanOut' | 'fanAvg';
export type Distribution = 'truncatedNormal' | 'untruncatedNormal' | 'uniform';

// std of a standard normal truncated to [-2, 2]: Keras divides by it so the truncated draws have the target std.
const TRUNCATED_STD = 0.87962566103423978;

/**
 * Keras VarianceScaling: n = fanIn, fanOut or their mean; 'uniform' draws from [-sqrt(3 scale / n), +...],
 * the normals have std sqrt(scale / n) (the truncated one corrected so that its actual std is that).
 */
export class VarianceScaling extends RandomInitializer {
  readonly className: string = 'VarianceScaling';
  readonly scale: number;
  readonly mode: FanMode;
  readonly distribution: Distribution;
  constructor(args: { scale?: number; mode?: FanMode; distribution?: Distribution; seed?: number | null } = {}) {
    super(args.seed);
    this.scale = args.scale ?? 1;
    this.mode = args.mode ?? 'fanIn';
    this.distribution = args.distribution ?? 'truncatedNormal';
    if (!(this.scale > 0)) throw new ValueError(`VarianceScaling: option 'scale' must be > 0, got ${JSON.stringify(args.scale)}`);
    if (!['fanIn', 'fanOut', 'fanAvg'].includes(this.mode)) {
      throw new ValueError(`VarianceScaling: option 'mode' must be 'fanIn', 'fanOut' or 'fanAvg', got ${JSON.stringify(args.mode)}`);
    }
    if (!['truncatedNormal', 'untruncatedNormal', 'uniform'].includes(this.distribution)) {
      throw new ValueError(
        `VarianceScaling: option 'distribution' must be 'truncatedNormal', 'untruncatedNormal' or 'uniform', got ${JSON.stringify(args.distribution)}`,
      );
    }
  }
  call(shape: readonly number[]): Tensor {
    const [fanIn, fanOut] = computeFans(shape);
    const n = Math.max(1, this.mode === 'fanIn' ? fanIn : this.mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2);
    const s = this.scale / n;
    if (this.distribution === 'uniform') {
      const limit = Math.sqrt(3 * s);
      return this.uniform(shape, -limit, limit);
    }
    if (this.distribution === 'untruncatedNormal') return this.normal(shape, 0, Math.sqrt(s), false);
    return this.normal(shape, 0, Math.sqrt(s) / TRUNCATED_STD, true);
  }
  getConfig(): Record<string, number | string | null> {
    return { scale: this.scale, mode: this.mode, distribution: this.distribution, seed: this.seed };
  }
}

type SeedArgs = { seed?: number | null };

/** A named VarianceScaling preset: its config is the seed only. */
abstract class Preset extends VarianceScaling {
  override getConfig(): Record<string, number | string | null> {
    return { seed: this.seed };
  }
}

/** Uniform in [-limit, limit], limit = sqrt(6 / (fanIn + fanOut)). The Keras default for kernels. */
export class GlorotUniform extends Preset {
  override readonly className: string = 'GlorotUniform';
  constructor(args: SeedArgs = {}) {
    super({ scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: args.seed });
  }
}
/** Truncated normal with std sqrt(2 / (fanIn + fanOut)). */
export class GlorotNormal extends Preset {
  override readonly className: string = 'GlorotNormal';
  constructor(args: SeedArgs = {}) {
    super({ scale: 1, mode: 'fanAvg', distribution: 'truncatedNormal', seed: args.seed });
  }
}
/** Truncated normal with std sqrt(2 / fanIn) (He et al., for ReLU networks). */
export class HeNormal extends Preset {
  override readonly className: string = 'HeNormal';
  constructor(args: SeedArgs = {}) {
    super({ scale: 2, mode: 'fanIn', distribution: 'truncatedNormal', seed: args.seed });
  }
}
/** Uniform in [-limit, limit], limit = sqrt(6 / fanIn). */
export class HeUniform extends Preset {
  override readonly className: string = 'HeUniform';
  constructor(args: SeedArgs = {}) {
    super({ scale: 2, mode: 'fanIn', distribution: 'uniform', seed: args.seed });
  }
}
/** Truncated normal with std sqrt(1 / fanIn). */
export class LecunNormal extends Preset {
  override readonly className: string = 'LecunNormal';
  constructor(args: SeedArgs = {}) {
    super({ scale: 1, mode: 'fanIn', distribution: 'truncatedNormal', seed: args.seed });
  }
}
/** Uniform in [-limit, limit], limit = sqrt(3 / fanIn). */
export class LecunUniform extends Preset {
  override readonly className: string = 'LecunUniform';
  constructor(args: SeedArgs = {}) {
    super({ scale: 1, mode: 'fanIn', distribution: 'uniform', seed: args.seed });
  }
}



// Factories, Keras/TF.js style: initializers.heNormal({ seed: 1 }).
export const zeros = (): Initializer => new Zeros();
export const ones = (): Initializer => new Ones();
export const constant = (args: { value?: number } = {}): Initializer => new Constant(args);
export const randomNormal = (args: ConstructorParameters<typeof RandomNormal>[0] = {}): Initializer => new RandomNormal(args);
export const randomUniform = (args: ConstructorParameters<typeof RandomUniform>[0] = {}): Initializer => new RandomUniform(args);
export const truncatedNormal = (args: ConstructorParameters<typeof TruncatedNormal>[0] = {}): Initializer => new TruncatedNormal(args);
export const varianceScaling = (args: ConstructorParameters<typeof VarianceScaling>[0] = {}): Initializer => new VarianceScaling(args);
export const glorotUniform = (args: SeedArgs = {}): Initializer => new GlorotUniform(args);
export const glorotNormal = (args: SeedArgs = {}): Initializer => new GlorotNormal(args);
export const heNormal = (args: SeedArgs = {}): Initializer => new HeNormal(args);
export const heUniform = (args: SeedArgs = {}): Initializer => new HeUniform(args);
export const lecunNormal = (args: SeedArgs = {}): Initializer => new LecunNormal(args);
export const lecunUniform = (args: SeedArgs = {}): Initializer => new LecunUniform(args);

const REGISTRY: Record<string, new (args?: any) => Initializer> = {
  Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
  GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform,
};

/** 'glorot_uniform', 'glorotUniform' and 'GlorotUniform' all name GlorotUniform. */
function classNameOf(id: string): string | undefined {
  const key = id.replace(/_/g, '').toLowerCase();
  return Object.keys(REGISTRY).find((k) => k.toLowerCase() === key);
}

/** The Initializer an option names; `who` names the layer and option in the error. */
export function getInitializer(id: InitializerIdentifier, who = 'getInitializer'): Initializer {
  if (id instanceof Initializer) return id;
  if (typeof id === 'string') {
    const cls = classNameOf(id);
    if (!cls) throw new ValueError(`${who}: unknown initializer ${JSON.stringify(id)}; known: ${Object.keys(REGISTRY).join(', ')}`);
    return new REGISTRY[cls]();
  }
  if (id && typeof id === 'object' && typeof id.className === 'string') {
    const cls = classNameOf(id.className);
    if (!cls) throw new ValueError(`${who}: unknown initializer class ${JSON.stringify(id.className)}; known: ${Object.keys(REGISTRY).join(', ')}`);
    return new REGISTRY[cls](id.config ?? {});
  }
  throw new ValueError(`${who}: an initializer must be a name, an Initializer or { className, config }, got ${JSON.stringify(id)}`);
}
