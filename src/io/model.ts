/**
 * Saving and loading models: a checkpoint directory (architecture, weights, optimizer state; see atomic.ts
 * for why a crash mid-save leaves the previous checkpoint or the new one, complete), and bare weights files.
 *
 *   dir/checkpoint.json                     the commit point: generation, file sizes and sha256s
 *   dir/ckpt-000001/model.json              {format, formatVersion, generatedBy, modelConfig, trainingConfig,
 *                                            weights: [{name, shape, trainable}], optimizerState}
 *   dir/ckpt-000001/weights.safetensors     every variable (trainable or not: batch norm's moving statistics
 *                                            too), keyed by its name ("conv2d/kernel"), float32, bit-exact
 *   dir/ckpt-000001/optimizer.safetensors   the optimizer's getState(): 'iterations' (I32) and its slots
 *                                            ("conv2d/kernel/m"), present when the model is compiled
 *
 * model.json follows Keras' and TF.js' split: `modelConfig` is model.getConfig() (the architecture, layer
 * names included, so variable names come back the same), `trainingConfig` is the compile() settings with the
 * optimizer as its getConfig(). loadModel rebuilds the model from its config, loads every weight (all checked
 * before any is written), compiles it with a rebuilt optimizer and restores the optimizer's state, so fit()
 * continues exactly where the saved run stopped.
 *
 * trainingConfig.loss and .metrics keep compile()'s shape (one identifier, a list per output, a record by output
 * name): names stay strings, as given, and Loss / Metric objects are written as their config, the JSON object
 * `{ className, ...options }` of serializeLoss / serializeMetric, which loadModel rebuilds with lossFromConfig /
 * metricFromConfig. Reading, an object with a string 'className' is such a config and any other object a
 * record by output name. Functions (and FunctionLoss / FunctionMetric, unregistered custom classes) cannot be
 * saved: they are listed in 'unsaved'. Files holding names only are what earlier versions wrote, and read the same.
 *
 * Weights files (saveWeights/loadWeights) are single safetensors files keyed by variable name, written
 * atomically, with the sha256 of their data in the metadata (in a checkpoint, the manifest covers each file).
 * Loading reports every missing, unexpected and mis-shaped tensor at once, and writes no variable unless all
 * fit.
 */
import { createRequire } from 'node:module';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ValueError } from '../errors.js';
import { shapesEqual } from '../tensor/shape.js';
import type { Variable } from '../nn/variable.js';
import type { Optimizer, OptimizerConfig, OptimizerStateEntry } from '../optim/optimizer.js';
import type { CompileConfig, LossIdentifier, MetricIdentifier } from '../train/compile.js';
import { Loss, lossFromConfig, serializeLoss, type LossConfig } from '../train/losses.js';
import { Metric, metricFromConfig, serializeMetric, type MetricConfig } from '../train/metrics.js';
import { type Model, modelFromConfig } from '../nn/model.js';
import type { LayerConfig } from '../nn/layer.js';
import { optimizerFromConfig } from '../optim/registry.js';
import { FileFormatError, WeightsMismatchError, type ShapeMismatch } from './errors.js';
import { parseSafetensors, serializeSafetensors, readSafetensors, type SafetensorsFile, type SafetensorsDType } from './safetensors.js';
import { MANIFEST_NAME, readCheckpoint, writeCheckpoint, writeFileAtomic, type CheckpointManifest, type CheckpointWriteOptions } from './atomic.js';

/** The version of this package, as written into saved files. */
export const NODEGRAD_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const MODEL_FORMAT = 'nodegrad-model';
const MODEL_FORMAT_VERSION = 1;

/** A JSON object (what getConfig returns). */
export type JsonObject = { [key: string]: unknown };

/** What compile() leaves on a model (nn's Model.compiled): the resolved optimizer and the config it was given. */
export interface CompiledLike {
  readonly optimizer: Optimizer;
  readonly config: CompileConfig;
}

/** What saving needs of a model (nn's Model provides it). */
export interface SaveableModel {
  /** Every weight, trainable or not, with unique names. */
  readonly variables: readonly Variable[];
  /** The architecture as JSON (layer names included). */
  getConfig(): JsonObject;
  /** Set by compile(); null/undefined when the model is not compiled. */
  readonly compiled?: CompiledLike | null;
}

/** What loading needs of the model fromConfig rebuilds. */
export interface LoadableModel extends SaveableModel {
  compile?(config: CompileConfig): void;
}

export interface SaveModelOptions extends CheckpointWriteOptions {
  /** Save the optimizer's state (iterations, slots) for resuming training. Default true. */
  includeOptimizer?: boolean;
}

export interface LoadModelOptions<M extends LoadableModel = Model> {
  /** Rebuilds the model from its saved config (default: nn's modelFromConfig). */
  fromConfig?: (config: JsonObject) => M;
  /**
   * Compile the loaded model as it was saved, and restore the optimizer state (default true); false leaves it
   * uncompiled; an object compiles it with these settings over the saved ones (e.g. `{ loss: myLossFn }` for
   * a model compiled with a custom function, which cannot be saved). The optimizer always comes from the
   * checkpoint, so that its saved state applies.
   */
  compile?: boolean | Partial<Omit<CompileConfig, 'optimizer'>>;
}

/** The compile settings as saved: the optimizer's config, and the loss/metrics by name or config. */
export interface TrainingConfig {
  optimizer: OptimizerConfig;
  /**
   * The loss identifier(s) as given to compile(), Loss objects as their config (`{ className, ...options }`);
   * null when one was a function (or another loss without a config).
   */
  loss: JsonValue | null;
  /** As compile()'s metrics, Metric objects as their config; absent when not given or when one cannot be saved. */
  metrics?: JsonValue;
  lossWeights?: JsonValue;
  /** What could not be saved ('loss', 'metrics'): functions are not JSON. */
  unsaved?: string[];
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The parsed model.json. */
export interface ModelFile {
  readonly format: typeof MODEL_FORMAT;
  readonly formatVersion: number;
  readonly generatedBy: string;
  readonly modelConfig: JsonObject;
  readonly trainingConfig: TrainingConfig | null;
  readonly weights: readonly { name: string; shape: number[]; trainable: boolean }[];
  readonly optimizerState: boolean;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkUniqueNames(op: string, variables: readonly Variable[]): void {
  const seen = new Set<string>();
  for (const v of variables) {
    if (seen.has(v.name)) throw new ValueError(`${op}: two variables are named '${v.name}'; names must be unique to save weights by name`);
    seen.add(v.name);
  }
}

function checkModel(op: string, model: unknown): asserts model is SaveableModel {
  const m = model as SaveableModel | null;
  if (typeof m !== 'object' || m === null || !Array.isArray(m.variables)) {
    throw new ValueError(`${op}: expected a model (an object with 'variables'), got ${Object.prototype.toString.call(model)}`);
  }
}

function weightsMetadata(kind: string): Record<string, string> {
  return { format: 'nodegrad', kind, nodegradVersion: NODEGRAD_VERSION };
}

/**
 * The serialized weights of `variables`, keyed by name. A bare weights file records the sha256 of its data
 * (`checksum`); in a checkpoint the manifest's sha256 of each whole file does that job, so it is not hashed twice.
 */
function weightsBytes(op: string, variables: readonly Variable[], checksum: boolean): Uint8Array {
  checkUniqueNames(op, variables);
  return serializeSafetensors(variables.map((v) => [v.name, v.value] as const), weightsMetadata('weights'), { checksum });
}

// --------------------------------------------------------------------------------------------------------------
// Weights files

/** Writes every variable of `model` to a safetensors file (atomically), keyed by variable name. */
export async function saveWeights(model: SaveableModel, file: string): Promise<void> {
  checkModel('saveWeights', model);
  await writeFileAtomic(file, weightsBytes('saveWeights', model.variables, true));
}

export interface LoadWeightsOptions {
  /**
   * true (default): the file must hold exactly the model's variables. false: load the tensors whose names match
   * and report the rest (PyTorch's strict=False); shapes must still match.
   */
  strict?: boolean;
}

/** What loadWeights did: the variables it loaded, and with strict: false what it skipped. */
export interface LoadWeightsResult {
  readonly loaded: readonly string[];
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
}

const FLOAT_FILE_DTYPES = new Set<SafetensorsDType>(['F32', 'F64', 'F16', 'BF16']);

/**
 * Loads the tensors of a parsed weights file into `variables` by name: checks everything first (names,
 * shapes, dtypes, the data checksum when recorded), converts everything, then writes every variable.
 */
export function applyWeights(variables: readonly Variable[], file: SafetensorsFile, opts: LoadWeightsOptions = {}): LoadWeightsResult {
  const strict = opts.strict ?? true;
  checkUniqueNames('loadWeights', variables);
  file.verifyChecksum();
  const byName = new Map(variables.map((v) => [v.name, v]));
  const missing = variables.filter((v) => !file.has(v.name)).map((v) => v.name);
  const unexpected = file.names().filter((n) => !byName.has(n));
  const mismatched: ShapeMismatch[] = [];
  const badDtype: { name: string; dtype: string }[] = [];
  const todo: [Variable, string][] = [];
  for (const v of variables) {
    if (!file.has(v.name)) continue;
    const info = file.info(v.name);
    if (!shapesEqual(info.shape, v.shape)) mismatched.push({ name: v.name, expected: [...v.shape], got: [...info.shape] });
    else if (!FLOAT_FILE_DTYPES.has(info.dtype)) badDtype.push({ name: v.name, dtype: info.dtype });
    else todo.push([v, v.name]);
  }
  if (mismatched.length || badDtype.length || (strict && (missing.length || unexpected.length))) {
    throw new WeightsMismatchError(file.source, { missing: strict ? missing : [], unexpected: strict ? unexpected : [], mismatched, badDtype });
  }
  const values = todo.map(([v, name]) => [v, file.getFloat32(name)] as const);
  for (const [v, data] of values) v.assign(data);
  return { loaded: todo.map(([, n]) => n), missing, unexpected };
}

/**
 * Loads a weights file (nodegrad's, or any safetensors file keyed by the model's variable names; F64, F16 and
 * BF16 tensors are converted to float32) into `model`. A file that does not fit throws WeightsMismatchError
 * naming every missing, unexpected and mis-shaped tensor; a corrupt or truncated file throws FileFormatError.
 * Either way no variable is changed.
 */
export async function loadWeights(model: SaveableModel, file: string, opts: LoadWeightsOptions = {}): Promise<LoadWeightsResult> {
  checkModel('loadWeights', model);
  return applyWeights(model.variables, await readSafetensors(file), opts);
}

// --------------------------------------------------------------------------------------------------------------
// Checkpoint directories

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/**
 * compile()'s loss as JSON: names as given, Loss objects as their config, in compile's shape (one, a list, a
 * record by output name); undefined when one cannot be saved. A record with an output named 'className' whose
 * loss is a name would read back as a config, so it is not saved either.
 */
function lossToJson(v: unknown, top = true): JsonValue | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Loss) return (serializeLoss(v) as JsonValue | null) ?? undefined;
  if (!top) return undefined;
  if (Array.isArray(v)) return allDefined(v.map((x) => lossToJson(x, false)));
  if (isPlainObject(v)) {
    if (typeof v.className === 'string') return undefined;
    return recordOf(v, (x) => lossToJson(x, false));
  }
  return undefined;
}

/** compile()'s metrics as JSON: a list (or lists per output, or a record of lists) of names and configs. */
function metricsToJson(v: unknown): JsonValue | undefined {
  const one = (m: unknown): JsonValue | undefined => {
    if (typeof m === 'string') return m;
    if (m instanceof Metric) return (serializeMetric(m) as JsonValue | null) ?? undefined;
    return undefined;
  };
  const list = (l: unknown): JsonValue | undefined => (Array.isArray(l) ? allDefined(l.map(one)) : undefined);
  if (Array.isArray(v)) return allDefined(v.map((x) => (Array.isArray(x) ? list(x) : one(x))));
  if (isPlainObject(v)) return recordOf(v, list);
  return undefined;
}

function allDefined(a: (JsonValue | undefined)[]): JsonValue[] | undefined {
  return a.every((x) => x !== undefined) ? (a as JsonValue[]) : undefined;
}

function recordOf(v: Record<string, unknown>, f: (x: unknown) => JsonValue | undefined): JsonValue | undefined {
  const out: { [key: string]: JsonValue } = {};
  for (const [k, x] of Object.entries(v)) {
    const j = f(x);
    if (j === undefined) return undefined;
    out[k] = j;
  }
  return out;
}

/** Loss weights as JSON: numbers, a list or a record of them. */
function weightsToJson(v: unknown): JsonValue | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return allDefined(v.map((x) => (typeof x === 'number' ? x : undefined)));
  if (isPlainObject(v)) return recordOf(v, (x) => (typeof x === 'number' ? x : undefined));
  return undefined;
}

/** The saved loss back as compile() identifiers: configs rebuilt with lossFromConfig. Throws for what does not rebuild. */
function lossFromJson(v: unknown, top = true): LossIdentifier | LossIdentifier[] | Record<string, LossIdentifier> {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.className === 'string') return lossFromConfig(v as LossConfig);
  if (top && Array.isArray(v)) return v.map((x) => lossFromJson(x, false) as LossIdentifier);
  if (top && isObject(v)) {
    const out: Record<string, LossIdentifier> = {};
    for (const [k, x] of Object.entries(v)) out[k] = lossFromJson(x, false) as LossIdentifier;
    return out;
  }
  throw new ValueError(`expected a loss name or config, got ${JSON.stringify(v)}`);
}

/** The saved metrics back as compile() identifiers: configs rebuilt with metricFromConfig (fresh state). */
function metricsFromJson(v: unknown): NonNullable<CompileConfig['metrics']> {
  const one = (m: unknown): MetricIdentifier => {
    if (typeof m === 'string') return m;
    if (isObject(m) && typeof m.className === 'string') return metricFromConfig(m as MetricConfig);
    throw new ValueError(`expected a metric name or config, got ${JSON.stringify(m)}`);
  };
  const list = (l: unknown): MetricIdentifier[] => {
    if (!Array.isArray(l)) throw new ValueError(`expected a list of metrics, got ${JSON.stringify(l)}`);
    return l.map(one);
  };
  if (Array.isArray(v)) return v.some((x) => Array.isArray(x)) ? v.map(list) : v.map(one);
  if (isObject(v)) {
    const out: Record<string, MetricIdentifier[]> = {};
    for (const [k, l] of Object.entries(v)) out[k] = list(l);
    return out;
  }
  throw new ValueError(`expected a list of metrics, got ${JSON.stringify(v)}`);
}

/** The training config to save: compile()'s settings with the optimizer's config, or null when not compiled. */
function trainingConfigOf(model: SaveableModel): TrainingConfig | null {
  const c = model.compiled ?? null;
  if (c === null) return null;
  const out: TrainingConfig = { optimizer: c.optimizer.getConfig(), loss: lossToJson(c.config.loss) ?? null };
  const unsaved: string[] = [];
  if (out.loss === null) unsaved.push('loss');
  if (c.config.metrics !== undefined) {
    const m = metricsToJson(c.config.metrics);
    if (m === undefined) unsaved.push('metrics');
    else out.metrics = m;
  }
  if (c.config.lossWeights !== undefined) out.lossWeights = weightsToJson(c.config.lossWeights) ?? null;
  if (unsaved.length) out.unsaved = unsaved;
  return out;
}

/**
 * Saves `model` to checkpoint directory `dir`: its architecture (model.json), every weight
 * (weights.safetensors) and, when compiled and includeOptimizer (default), the optimizer's state
 * (optimizer.safetensors). Atomic as a whole: see atomic.ts. Returns the committed manifest.
 */
export async function saveModel(model: SaveableModel, dir: string, opts: SaveModelOptions = {}): Promise<CheckpointManifest> {
  checkModel('saveModel', model);
  if (typeof model.getConfig !== 'function') throw new ValueError(`saveModel: the model has no getConfig() (use saveWeights to save only its weights)`);
  const includeOptimizer = opts.includeOptimizer ?? true;
  const variables = model.variables;
  const weights = weightsBytes('saveModel', variables, false);
  const trainingConfig = trainingConfigOf(model);
  const files: Record<string, Uint8Array | string> = {};
  let optimizerState = false;
  if (includeOptimizer && model.compiled) {
    const state: OptimizerStateEntry[] = model.compiled.optimizer.getState();
    files[OPTIMIZER_FILE] = serializeSafetensors(state.map((e) => [e.name, e.value] as const), weightsMetadata('optimizer'));
    optimizerState = true;
  }
  const modelFile: ModelFile = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    generatedBy: `nodegrad ${NODEGRAD_VERSION}`,
    modelConfig: model.getConfig(),
    trainingConfig,
    weights: variables.map((v) => ({ name: v.name, shape: [...v.shape], trainable: v.trainable })),
    optimizerState,
  };
  files[MODEL_FILE] = `${JSON.stringify(modelFile, null, 2)}\n`;
  files[WEIGHTS_FILE] = weights;
  return writeCheckpoint(dir, files, opts);
}

/** Parses and checks model.json. */
export function parseModelFile(text: string, source: string): ModelFile {
  const bad = (msg: string): never => {
    throw new FileFormatError(source, `not a valid nodegrad model file: ${msg}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return bad(`malformed JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) return bad('expected a JSON object');
  if (v.format !== MODEL_FORMAT) bad(`'format' is ${JSON.stringify(v.format)}, expected "${MODEL_FORMAT}"`);
  if (typeof v.formatVersion !== 'number' || v.formatVersion > MODEL_FORMAT_VERSION) {
    bad(`'formatVersion' ${JSON.stringify(v.formatVersion)} is newer than this nodegrad reads (${MODEL_FORMAT_VERSION}); it was written by ${String(v.generatedBy)}`);
  }
  if (!isObject(v.modelConfig)) bad(`'modelConfig' must be an object`);
  if (v.trainingConfig != null && !(isObject(v.trainingConfig) && isObject(v.trainingConfig.optimizer))) bad(`'trainingConfig' must be null or an object with an 'optimizer' config`);
  if (!Array.isArray(v.weights)) bad(`'weights' must be an array`);
  return {
    format: MODEL_FORMAT,
    formatVersion: v.formatVersion as number,
    generatedBy: String(v.generatedBy ?? ''),
    modelConfig: v.modelConfig as JsonObject,
    trainingConfig: (v.trainingConfig ?? null) as ModelFile['trainingConfig'],
    weights: v.weights as ModelFile['weights'],
    optimizerState: v.optimizerState === true,
  };
}

/** The files of a checkpoint: verified against checkpoint.json, or (a folder with no manifest) read as they are. */
async function readModelFiles(dir: string): Promise<{ files: Map<string, Buffer>; folder: string }> {
  const root = resolve(dir);
  try {
    await stat(join(root, MANIFEST_NAME));
  } catch {
    // No manifest: a folder holding model.json directly (a generation folder copied elsewhere, or hand-made).
    let model: Buffer;
    try {
      model = await readFile(join(root, MODEL_FILE));
    } catch {
      throw new FileFormatError(root, `holds neither ${MANIFEST_NAME} nor ${MODEL_FILE}: not a saved nodegrad model`);
    }
    const files = new Map<string, Buffer>([[MODEL_FILE, model]]);
    for (const name of [WEIGHTS_FILE, OPTIMIZER_FILE]) {
      try {
        files.set(name, await readFile(join(root, name)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return { files, folder: root };
  }
  const ck = await readCheckpoint(root);
  return { files: new Map(ck.files), folder: ck.directory };
}

/** The optimizer state entries of a parsed optimizer file, checked against the model's variables by name. */
function optimizerStateFrom(file: SafetensorsFile, variables: readonly Variable[]): OptimizerStateEntry[] {
  file.verifyChecksum();
  const byName = new Map(variables.map((v) => [v.name, v]));
  const problems: string[] = [];
  const entries: OptimizerStateEntry[] = [];
  for (const info of file.tensors) {
    if (info.name !== 'iterations') {
      const cut = info.name.lastIndexOf('/');
      const v = cut > 0 ? byName.get(info.name.slice(0, cut)) : undefined;
      if (!v) problems.push(`slot '${info.name}' belongs to no variable of the model`);
      else if (!shapesEqual(v.shape, info.shape)) problems.push(`slot '${info.name}' has shape [${info.shape.join(',')}] but variable '${v.name}' has [${v.shape.join(',')}]`);
      else if (info.dtype !== 'F32') problems.push(`slot '${info.name}' has dtype ${info.dtype}, expected F32`);
    } else if (info.dtype !== 'I32' && info.dtype !== 'I64') {
      problems.push(`'iterations' has dtype ${info.dtype}, expected I32`);
    }
  }
  if (!file.has('iterations')) problems.push(`no 'iterations' entry`);
  if (problems.length) throw new FileFormatError(file.source, `the optimizer state does not fit the model (nothing was loaded): ${problems.join('; ')}`);
  for (const info of file.tensors) entries.push({ name: info.name, value: file.getTensor(info.name) });
  return entries;
}

/**
 * Loads a model saved by saveModel: rebuilds it from its config, loads its weights bit-exactly, and (unless
 * `compile: false`) compiles it with the saved optimizer, loss and metrics and restores the optimizer's state,
 * so that fit() resumes exactly. Throws FileFormatError for a missing, truncated or corrupt file and
 * WeightsMismatchError when the weights do not fit the rebuilt model; nothing is written either way.
 *
 * Built-in Loss and Metric objects (and classes registered with registerLoss / registerMetric) come back as
 * equal objects, with fresh metric state. A model compiled with a custom loss (a function, a FunctionLoss, an
 * unregistered class) is saved without it: it loads uncompiled with a warning, unless `compile: { loss }`
 * supplies it; so does one whose saved loss does not rebuild here (say, a class registered when it was saved
 * but not now). Custom metrics are left out with a warning the same way.
 */
export async function loadModel(dir: string, opts?: LoadModelOptions<Model>): Promise<Model>;
export async function loadModel<M extends LoadableModel>(dir: string, opts: LoadModelOptions<M> & { fromConfig: (config: JsonObject) => M }): Promise<M>;
export async function loadModel(dir: string, opts: LoadModelOptions<LoadableModel> = {}): Promise<LoadableModel> {
  const fromConfig = opts.fromConfig ?? ((c: JsonObject) => modelFromConfig(c as LayerConfig));
  const { files, folder } = await readModelFiles(dir);
  const modelPath = join(folder, MODEL_FILE);
  const modelJson = files.get(MODEL_FILE);
  if (!modelJson) throw new FileFormatError(modelPath, `is missing from the checkpoint`);
  const spec = parseModelFile(modelJson.toString('utf8'), modelPath);
  const weightsRaw = files.get(WEIGHTS_FILE);
  if (!weightsRaw) throw new FileFormatError(join(folder, WEIGHTS_FILE), `is missing from the checkpoint`);
  const weights = parseSafetensors(weightsRaw, join(folder, WEIGHTS_FILE));
  const optimizerRaw = files.get(OPTIMIZER_FILE);
  const optimizerFile = optimizerRaw ? parseSafetensors(optimizerRaw, join(folder, OPTIMIZER_FILE)) : null;
  if (spec.optimizerState && !optimizerFile) throw new FileFormatError(join(folder, OPTIMIZER_FILE), `is missing, but ${MODEL_FILE} says the optimizer state was saved`);

  let model: LoadableModel;
  try {
    model = fromConfig(spec.modelConfig);
  } catch (e) {
    const err = new FileFormatError(modelPath, `the model config does not rebuild a model: ${(e as Error).message}`);
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
  applyWeights(model.variables, weights);
  const tc = spec.trainingConfig;
  const compileOpt = opts.compile ?? true;
  if (compileOpt === false || !tc) return model;
  const overrides = typeof compileOpt === 'object' ? compileOpt : {};
  const config: Partial<CompileConfig> = {};
  const uncompiled = (why: string): LoadableModel => {
    process.emitWarning(
      `loadModel: ${dir} ${why}; the model is returned uncompiled. ` +
        'Pass loadModel(dir, { compile: { loss } }) to compile it with its saved optimizer and optimizer state.',
      'NodegradWarning',
    );
    return model;
  };
  const unsaved = new Set(tc.unsaved ?? []);
  if (!('loss' in overrides) && tc.loss != null && !unsaved.has('loss')) {
    try {
      config.loss = lossFromJson(tc.loss);
    } catch (e) {
      return uncompiled(`was compiled with a loss that does not rebuild here (${(e as Error).message})`);
    }
  }
  let metricsProblem: string | null = null;
  if (!('metrics' in overrides) && tc.metrics != null) {
    try {
      config.metrics = metricsFromJson(tc.metrics);
    } catch (e) {
      metricsProblem = (e as Error).message;
    }
  }
  if (tc.lossWeights != null) config.lossWeights = tc.lossWeights as CompileConfig['lossWeights'];
  Object.assign(config, overrides);
  const missing = [...unsaved].filter((k) => !(k in overrides));
  if (config.loss === undefined || missing.includes('loss')) return uncompiled('was compiled with a custom loss, which cannot be saved');
  if (missing.length) {
    process.emitWarning(`loadModel: ${dir} was compiled with custom ${missing.join(' and ')}, which cannot be saved; compiled without them (pass them in compile: {...})`, 'NodegradWarning');
  }
  if (metricsProblem !== null) {
    process.emitWarning(`loadModel: ${dir} was compiled with metrics that do not rebuild here (${metricsProblem}); compiled without them (pass them in compile: { metrics })`, 'NodegradWarning');
  }
  const optimizer = optimizerFromConfig(tc.optimizer);
  if (optimizerFile) optimizer.setState(optimizerStateFrom(optimizerFile, model.variables));
  if (typeof model.compile !== 'function') throw new ValueError(`loadModel: the saved model was compiled but the rebuilt model has no compile() (pass compile: false to load the weights only)`);
  model.compile({ ...config, optimizer } as CompileConfig);
  return model;
}
