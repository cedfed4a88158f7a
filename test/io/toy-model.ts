/**
 * A hand-built model for the io tests: what saveModel/loadModel need of a model (named variables, a JSON
 * config it is rebuilt from, compile() with a real optimizer), and a deterministic "training step" whose
 * gradients depend on the weights, so that a resumed run diverges unless weights and optimizer state both
 * come back exactly.
 */
import { Tensor } from '../../src/tensor/tensor.js';
import { Variable } from '../../src/nn/variable.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { getOptimizer } from '../../src/optim/index.js';
import type { CompileConfig } from '../../src/train/compile.js';
import type { CompiledLike, JsonObject, LoadableModel } from '../../src/io/index.js';
import { uniformF32 } from '../helpers/random.js';

export interface ToyConfig {
  name: string;
  seed: number;
  variables: { name: string; shape: number[]; trainable?: boolean }[];
  /** Free-form: the crash test stamps the generation here. */
  marker?: number;
}

export class ToyModel implements LoadableModel {
  readonly variables: Variable[];
  compiled: CompiledLike | null = null;
  readonly config: ToyConfig;

  constructor(config: ToyConfig) {
    this.config = JSON.parse(JSON.stringify(config)) as ToyConfig;
    this.variables = config.variables.map((v, i) => {
      const n = v.shape.reduce((a, b) => a * b, 1);
      return new Variable(v.name, new Tensor(uniformF32(n, config.seed * 1000 + i), v.shape), v.trainable ?? true);
    });
  }
  static fromConfig(config: JsonObject): ToyModel {
    return new ToyModel(config as unknown as ToyConfig);
  }
  get trainableVariables(): Variable[] {
    return this.variables.filter((v) => v.trainable);
  }
  get optimizer(): Optimizer | null {
    return this.compiled?.optimizer ?? null;
  }
  getConfig(): JsonObject {
    return JSON.parse(JSON.stringify(this.config)) as JsonObject;
  }
  /** As nn's Model: resolves the optimizer and keeps the config. */
  compile(config: CompileConfig): void {
    this.compiled = { optimizer: getOptimizer(config.optimizer), config };
  }

  /** One optimizer step with gradients g = 0.1 * w + sin(step + i) / 8 (depend on the weights). */
  trainStep(): void {
    const opt = this.optimizer;
    if (!opt) throw new Error('ToyModel: not compiled');
    const k = opt.iterations;
    opt.applyGradients(
      this.trainableVariables.map((v) => {
        const w = v.value.data as Float32Array;
        const g = new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) g[i] = 0.1 * w[i] + Math.sin(k + i) / 8;
        return [new Tensor(g, v.shape), v] as const;
      }),
    );
  }

  /** Every variable's bytes, for bit-exact comparisons. */
  snapshot(): Map<string, Uint32Array> {
    return new Map(this.variables.map((v) => [v.name, Uint32Array.from(new Uint32Array((v.value.data as Float32Array).slice().buffer))]));
  }
}

export const SMALL: ToyConfig = {
  name: 'toy',
  seed: 3,
  variables: [
    { name: 'conv2d/kernel', shape: [3, 3, 2, 4] },
    { name: 'conv2d/bias', shape: [4] },
    { name: 'batch_normalization/moving_mean', shape: [4], trainable: false },
    { name: 'dense/kernel', shape: [16, 3] },
    { name: 'dense/bias', shape: [3] },
  ],
};
