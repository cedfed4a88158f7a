/**
 * Importing Keras weights into the matching nodegrad model, through h5wasm (the HDF5 C library compiled to
 * WebAssembly: no native binary; loaded on first use, so `import 'nodegrad'` does not pay for it).
 *
 * Files read (layouts from the Keras sources named):
 *
 *   Keras 3 `.weights.h5` (model.save_weights) and the `model.weights.h5` inside a `.keras` zip (model.save);
 *   keras/src/saving/saving_lib.py (_save_state, _save_container_state, H5IOStore):
 *     layers/<object>/vars/<i>                   the i-th variable of a layer, trainable ones then non-trainable
 *                                                ones, in build order (Conv2D kernel, bias; BatchNormalization
 *                                                gamma, beta, moving_mean, moving_variance, less the ones that
 *                                                scale/center = false leave out)
 *     layers/<model>/layers/<object>/vars/<i>    a nested Sequential or Functional model
 *     vars/, optimizer/vars/<i>, metrics, ...     the model's own variables, optimizer state: ignored
 *   <object> is not the layer's name: it is the snake_case class name made unique by position among the model's
 *   layers (the second Conv2D is conv2d_1 whatever it is called; Functional models list their layers by depth,
 *   keras/src/ops/function.py map_graph). Keras' own load_weights matches by that path, and so does this import,
 *   so a nodegrad model whose layer names differ from the Keras model's still loads.
 *
 *   Keras 2 HDF5 (model.save_weights('x.h5'), model.save('x.h5'); tf.keras 2 and Keras 3's legacy writer);
 *   keras/src/legacy/saving/legacy_h5_format.py (save_weights_to_hdf5_group, load_attributes_from_hdf5_group):
 *     attribute layer_names (or layer_names0, layer_names1, ... when chunked) on the root or on model_weights/
 *     <layer name>/  attribute weight_names ("conv2d/kernel:0"; Keras 3 writes "conv2d/kernel"), one dataset each
 *   by: 'name' (default) matches layer groups to layers by name and weights by their last two path parts
 *   ("conv2d/kernel"); by: 'order' pairs the k-th layer with weights of the file with the k-th of the model (in
 *   Keras' layer order) and their weights in order (trainable then non-trainable), as Keras' load_weights does.
 *   Keras 3 files record no layer order beyond the object path, so `by` does not change how they match.
 *   A nested model's legacy order (all trainable weights, then the rest) changes when it is frozen; by 'order'
 *   therefore pairs a group's weights by name when their names are exactly the layer's, by position otherwise.
 *
 * Keras' layouts are nodegrad's (HWIO conv kernels, [in, out] dense kernels, depthwise [kh, kw, C, multiplier],
 * conv-transpose [kh, kw, out, in]): arrays are copied as they are. float16, bfloat16 and float64 become float32.
 *
 * Every tensor is checked before any is written: a file that does not fit throws WeightsMismatchError listing
 * every missing, unexpected and mis-shaped weight (with both shapes), a file that is not HDF5, truncated or
 * otherwise unreadable throws FileFormatError; either way the model keeps its weights.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { ValueError } from '../../errors.js';
import { shapesEqual } from '../../tensor/shape.js';
import { snakeCase, type Layer, type Node, type SymbolicTensor } from '../../nn/layer.js';
import { Model } from '../../nn/model.js';
import { Sequential } from '../../nn/sequential.js';
import { InputLayer } from '../../nn/input.js';
import type { Variable } from '../../nn/variable.js';
import { FileFormatError, WeightsMismatchError, type ShapeMismatch } from '../errors.js';

export interface ImportKerasOptions {
  /**
   * How Keras 2 (.h5) weights find their variables: 'name' (default) by layer name and weight name, 'order' by
   * position (the k-th layer with weights, its weights in order). Keras 3 files always match by object path.
   */
  by?: 'name' | 'order';
  /**
   * Load what fits and report the rest (missing, unexpected, mis-shaped) in the result instead of throwing, as
   * Keras' skip_mismatch. Default false: anything that does not fit throws and nothing is loaded.
   */
  skipMismatch?: boolean;
}

export interface KerasImportResult {
  /** 'keras3': a .weights.h5 or .keras file; 'keras2': an HDF5 file with layer_names (save_weights / save to .h5). */
  readonly format: 'keras3' | 'keras2';
  /** The variables written, by nodegrad name. */
  readonly loaded: readonly string[];
  /** File tensors that are not weights of layers and were left alone: optimizer state, metrics, seed states. */
  readonly ignored: readonly string[];
  /**
   * With skipMismatch: the variables left as they were because the file lacks them (otherwise empty); for Keras 3
   * files with the path looked at: "dense_1/kernel (file: layers/dense_1/vars/0)".
   */
  readonly missing: readonly string[];
  /** With skipMismatch: file tensors of layers that no variable takes (otherwise empty). */
  readonly unexpected: readonly string[];
  /** With skipMismatch: pairs skipped because the shapes differ (otherwise empty). */
  readonly mismatched: readonly ShapeMismatch[];
  /** With skipMismatch: pairs skipped because the file's tensor is not float (otherwise empty). */
  readonly badDtype: readonly { name: string; dtype: string }[];
}

// --------------------------------------------------------------------------------------------------------------
// h5wasm, loaded once

type H5 = typeof import('h5wasm/node');
let h5Loading: Promise<H5> | null = null;
/** The loaded module, for the helpers below (set before any file is opened). */
let h5lib: H5 | null = null;

function loadH5(): Promise<H5> {
  h5Loading ??= (async () => {
    const h5 = await import('h5wasm/node');
    const module = await h5.ready;
    // HDF5's default handler prints its error stack and returns garbage (a dataset behind a missing filter reads
    // as noise); the throwing one makes every failure an exception. It is global to the shared h5wasm instance.
    module.activate_throwing_error_handler();
    h5lib = h5;
    return h5;
  })();
  return h5Loading;
}

/** The useful end of HDF5's error stack: its innermost "in Function(): reason" lines. */
function hdf5Reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const lines = [...msg.matchAll(/ in (\w+)\(\): ([^\n]+)/g)].map((m) => `${m[1]}: ${m[2].trim()}`);
  return lines.length ? lines.slice(-2).join('; ') : msg.split('\n')[0];
}

// --------------------------------------------------------------------------------------------------------------
// Sniffing the file, and the .keras zip archive

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** 'zip', 'hdf5' (the signature at 0 or at a user-block offset 512, 1024, 2048, ...) or 'other'. */
async function sniff(path: string): Promise<'zip' | 'hdf5' | 'other'> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      const { bytesRead } = await fh.read(head, 0, 8, at);
      if (bytesRead < 8) break;
      if (at === 0 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
      if (head.equals(HDF5_SIGNATURE)) return 'hdf5';
    }
    return 'other';
  } finally {
    await fh.close();
  }
}

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** The central directory of a zip archive (zip64 sizes included). */
function zipEntries(buf: Buffer, label: string): ZipEntry[] {
  const bad = (msg: string): never => {
    throw new FileFormatError(label, `not a valid .keras (zip) archive: ${msg}`);
  };
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535, so searched from the end.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record (the file is truncated or not a zip)');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== 0x07064b50) bad('zip64 end-of-central-directory locator missing');
    const rec = Number(buf.readBigUInt64LE(loc + 8));
    if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== 0x06064b50) bad('zip64 end-of-central-directory record missing');
    count = Number(buf.readBigUInt64LE(rec + 32));
    cdSize = Number(buf.readBigUInt64LE(rec + 40));
    cdOffset = Number(buf.readBigUInt64LE(rec + 48));
  }
  if (cdOffset + cdSize > buf.length) bad(`the central directory [${cdOffset}, ${cdOffset + cdSize}) lies past the end of the file (${buf.length} bytes)`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) bad(`central directory entry ${k} is corrupt`);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const e: ZipEntry = {
      name: buf.toString('utf8', p + 46, p + 46 + nameLen),
      flags: buf.readUInt16LE(p + 8),
      method: buf.readUInt16LE(p + 10),
      crc: buf.readUInt32LE(p + 16),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      localOffset: buf.readUInt32LE(p + 42),
    };
    // zip64 extra field (id 1): the 64-bit values of the fields that hold 0xffffffff, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 1) {
        let q = x + 4;
        const next = (): number => {
          if (q + 8 > x + 4 + len) bad(`zip64 extra field of '${e.name}' is too short`);
          const v = Number(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (e.size === 0xffffffff) e.size = next();
        if (e.compressedSize === 0xffffffff) e.compressedSize = next();
        if (e.localOffset === 0xffffffff) e.localOffset = next();
      }
      x += 4 + len;
    }
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** One entry's bytes, inflated and checked against its CRC-32. */
function zipRead(buf: Buffer, e: ZipEntry, label: string): Buffer {
  const bad = (msg: string): never => {
    throw new FileFormatError(label, `not a valid .keras (zip) archive: '${e.name}': ${msg}`);
  };
  if (e.flags & 1) bad('encrypted entries are not supported');
  const p = e.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50) bad('local header missing');
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const end = start + e.compressedSize;
  if (end > buf.length) bad(`data [${start}, ${end}) lies past the end of the file (${buf.length} bytes): truncated`);
  let data: Buffer = buf.subarray(start, end);
  if (e.method === 8) {
    try {
      data = inflateRawSync(data);
    } catch (err) {
      bad(`deflate data is corrupt (${(err as Error).message})`);
    }
  } else if (e.method !== 0) {
    bad(`compression method ${e.method} is not supported (stored and deflate are)`);
  }
  if (data.length !== e.size) bad(`${data.length} bytes, the directory says ${e.size}`);
  if (crc32(data) !== e.crc) bad('CRC-32 mismatch: the archive is corrupt');
  return data;
}

// --------------------------------------------------------------------------------------------------------------
// Keras' view of a nodegrad model

/**
 * A model's layers in Keras' order: Sequential in order; Functional by depth from the inputs, ties by first visit
 * of a depth-first walk from the outputs (keras/src/ops/function.py map_graph and _build_map_helper).
 */
function kerasLayers(m: Model): Layer[] {
  if (m instanceof Sequential || m.outputs.length === 0) return m.layers;
  const inputs = new Set<SymbolicTensor>(m.inputs);
  const finished = new Set<Node>();
  const order: Node[] = [];
  const firstSeen = new Map<Layer, number>();
  const visit = (t: SymbolicTensor): void => {
    const node = t.node;
    if (finished.has(node)) return;
    const isInput = node.layer instanceof InputLayer;
    if (!isInput && inputs.has(t)) {
      finished.add(node);
      return;
    }
    if (!firstSeen.has(node.layer)) firstSeen.set(node.layer, firstSeen.size);
    if (!isInput) for (const x of node.inputs) visit(x);
    finished.add(node);
    order.push(node);
  };
  for (const t of m.outputs) visit(t);
  const inGraph = new Set(order);
  const nodeDepth = new Map<Node, number>();
  const layerDepth = new Map<Layer, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    // A node's depth is the longest path to an output; a shared layer takes the deepest of its nodes.
    const depth = Math.max(nodeDepth.get(node) ?? 0, layerDepth.get(node.layer) ?? 0);
    layerDepth.set(node.layer, depth);
    nodeDepth.set(node, depth);
    for (const x of node.inputs) {
      if (inGraph.has(x.node)) nodeDepth.set(x.node, Math.max(depth + 1, nodeDepth.get(x.node) ?? 0));
    }
  }
  for (const t of m.inputs) {
    if (!layerDepth.has(t.node.layer)) {
      layerDepth.set(t.node.layer, 0);
      firstSeen.set(t.node.layer, -1);
    }
  }
  return [...layerDepth.keys()].sort((a, b) => layerDepth.get(b)! - layerDepth.get(a)! || firstSeen.get(a)! - firstSeen.get(b)!);
}

/** Every leaf layer of the model under its Keras 3 object path ("layers/conv2d_1", "layers/sequential/layers/dense"). */
function kerasPaths(m: Model, prefix: string, root: string, out: Array<{ path: string; layer: Layer }>, seen: Set<Layer>): void {
  const used = new Map<string, number>();
  for (const layer of kerasLayers(m)) {
    const base = snakeCase(layer.className);
    const n = used.has(base) ? used.get(base)! + 1 : 0;
    used.set(base, n);
    const path = `${prefix}${root}/${n === 0 ? base : `${base}_${n}`}`;
    // Keras saves a shared object once, at its first path.
    if (seen.has(layer)) continue;
    seen.add(layer);
    if (layer instanceof Model) kerasPaths(layer, `${path}/`, 'layers', out, seen);
    else out.push({ path, layer });
  }
}

/** Keras' legacy weight order of a layer or nested model (legacy_h5_format._legacy_weights). */
function legacyWeights(layer: Layer): Variable[] {
  return [...layer.trainableWeights, ...layer.nonTrainableWeights];
}

// --------------------------------------------------------------------------------------------------------------
// Reading datasets

type FloatKind = 'f16' | 'bf16' | 'f32' | 'f64';
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_OPAQUE = 5;
const H5T_NAMES = ['integer', 'float', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enum', 'vlen', 'array'];

/** The float format of a dataset, or a description of what it is instead. */
function floatKind(ds: Dataset): FloatKind | { bad: string } {
  const m = ds.metadata;
  if (m.type === H5T_FLOAT) {
    if (m.size === 2) return 'f16';
    if (m.size === 4) return 'f32';
    if (m.size === 8) return 'f64';
    return { bad: `float${m.size * 8}` };
  }
  // Keras writes bfloat16 as 2-byte opaque data with the attribute dtype="bfloat16" (H5IOStore.__setitem__).
  if (m.type === H5T_OPAQUE && m.size === 2 && Object.keys(ds.attrs).includes('dtype') && ds.get_attribute('dtype', false) === 'bfloat16') return 'bf16';
  if (m.type === H5T_INTEGER) return { bad: `${m.signed ? 'int' : 'uint'}${m.size * 8}` };
  return { bad: H5T_NAMES[m.type] ?? `HDF5 type class ${m.type}` };
}

/** The dataset as stored, byte for byte (h5wasm has no Float16Array to give). */
function rawBytes(h5: H5, ds: Dataset): Uint8Array {
  const m = ds.metadata;
  const n = m.size * m.total_size;
  const ptr = h5.Module._malloc(Math.max(n, 1));
  if (ptr === 0) throw new Error(`cannot allocate ${n} bytes in the WebAssembly heap`);
  try {
    h5.Module.get_dataset_data(ds.file_id, ds.path, null, null, null, BigInt(ptr));
    return h5.Module.HEAPU8.slice(ptr, ptr + n);
  } finally {
    h5.Module._free(ptr);
  }
}

/** IEEE half to float (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function readFloat32(h5: H5, ds: Dataset, kind: FloatKind): Float32Array {
  if (kind === 'f32') return ds.value as Float32Array;
  if (kind === 'f64') return Float32Array.from(ds.value as Float64Array);
  const raw = rawBytes(h5, ds);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(raw.length / 2);
  if (kind === 'f16') {
    const le = ds.metadata.littleEndian;
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, le));
  } else {
    // bfloat16 is the top half of a float32 (opaque data has no byte order; Keras writes it little-endian).
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

// --------------------------------------------------------------------------------------------------------------
// Matching the file to the model

interface Plan {
  todo: Array<{ variable: Variable; dataset: Dataset; kind: FloatKind }>;
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  badDtype: Array<{ name: string; dtype: string }>;
  /** Dataset paths taken by a variable or listed as unexpected: the rest of the file is ignored. */
  claimed: Set<string>;
}

function newPlan(): Plan {
  return { todo: [], missing: [], unexpected: [], mismatched: [], badDtype: [], claimed: new Set() };
}

/** Checks one (variable, dataset) pair: shape, then dtype. `label` names both in messages. */
function pair(plan: Plan, v: Variable, ds: Dataset, label: string): void {
  plan.claimed.add(ds.path);
  const shape = ds.shape ?? [];
  const kind = floatKind(ds);
  if (!shapesEqual(shape, v.shape)) plan.mismatched.push({ name: label, expected: [...v.shape], got: [...shape] });
  else if (typeof kind !== 'string') plan.badDtype.push({ name: label, dtype: kind.bad });
  else plan.todo.push({ variable: v, dataset: ds, kind });
}

/** A child that must be a group or a dataset, or null when absent. */
function child(g: Group, name: string): Group | Dataset | null {
  const c = g.get(name);
  return c instanceof h5lib!.Group || c instanceof h5lib!.Dataset ? c : null;
}

function isGroup(x: Group | Dataset | null): x is Group {
  return x instanceof h5lib!.Group;
}

function isDataset(x: Group | Dataset | null): x is Dataset {
  return x instanceof h5lib!.Dataset;
}

/** Relative dataset paths of the whole file (without the leading '/'). */
function allDatasets(f: H5File): string[] {
  return f.paths().filter((p) => f.get(p) instanceof h5lib!.Dataset);
}

function planKeras3(f: H5File, model: Model): { plan: Plan; ignored: string[] } {
  const plan = newPlan();
  // Keras 2.13's experimental format wrote '_layer_checkpoint_dependencies' where Keras 3 writes 'layers'.
  const root = f.keys().includes('layers') || !f.keys().includes('_layer_checkpoint_dependencies') ? 'layers' : '_layer_checkpoint_dependencies';
  const entries: Array<{ path: string; layer: Layer }> = [];
  kerasPaths(model, '', root, entries, new Set());
  for (const { path, layer } of entries) {
    const weights = layer.weights;
    if (!weights.length) continue;
    const vars = child(f, `${path}/vars`);
    weights.forEach((v, i) => {
      const ds = isGroup(vars) ? child(vars, String(i)) : null;
      if (isDataset(ds)) pair(plan, v, ds, `${v.name} (file: ${path}/vars/${i})`);
      else plan.missing.push(`${v.name} (file: ${path}/vars/${i})`);
    });
  }
  const ignored: string[] = [];
  for (const p of allDatasets(f)) {
    if (plan.claimed.has(`/${p}`)) continue;
    // Weights of layers the model does not have are unexpected; seed-generator states and whatever lies outside
    // the layers (optimizer, metrics, the model's own vars) are not weights.
    if (p.startsWith(`${root}/`) && !/(^|\/)seed_generator(_\d+)?\//.test(p)) plan.unexpected.push(p);
    else ignored.push(p);
  }
  return { plan, ignored };
}

/** A string-list attribute, or its chunks name0, name1, ... (legacy_h5_format.load_attributes_from_hdf5_group). */
function stringListAttr(g: Group, name: string, label: string): string[] | null {
  const names = Object.keys(g.attrs);
  const values: unknown[] = [];
  if (names.includes(name)) values.push(g.get_attribute(name, false));
  else for (let i = 0; names.includes(`${name}${i}`); i++) values.push(g.get_attribute(`${name}${i}`, false));
  if (!values.length) return null;
  const out: string[] = [];
  for (const v of values) {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v) && v.every((s) => typeof s === 'string')) out.push(...(v as string[]));
    else if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 0) continue; // h5py writes [] as an empty float array
    else throw new FileFormatError(label, `attribute '${name}' of '${g.path}' is not a list of strings`);
  }
  return out;
}

/** "conv2d/kernel:0" (or "sequential/conv2d/kernel") -> "conv2d/kernel", nodegrad's variable name. */
function legacyKey(layerName: string, weightName: string): string {
  const parts = weightName.replace(/:\d+$/, '').split('/');
  return parts.length >= 2 ? parts.slice(-2).join('/') : `${layerName}/${parts[0]}`;
}

function planKeras2(f: H5File, g: Group, layerNames: string[], model: Model, by: 'name' | 'order', label: string): { plan: Plan; ignored: string[] } {
  const plan = newPlan();
  const fileLayers = layerNames.map((name) => {
    const lg = child(g, name);
    if (!isGroup(lg)) throw new FileFormatError(label, `layer_names lists '${name}' but '${g.path}' has no group of that name`);
    const weights = (stringListAttr(lg, 'weight_names', label) ?? []).map((wn) => {
      const ds = child(lg, wn);
      if (!isDataset(ds)) throw new FileFormatError(label, `'${lg.path}' lists weight '${wn}' but has no dataset of that name`);
      return { wn, ds, source: ds.path.replace(/^\//, '') };
    });
    return { name, weights };
  });
  const taken = new Set<Variable>();
  const take = (v: Variable, ds: Dataset, source: string): void => {
    taken.add(v);
    pair(plan, v, ds, `${v.name} (file: ${source})`);
  };
  const unexpected = (w: { ds: Dataset; source: string }): void => {
    plan.claimed.add(w.ds.path);
    plan.unexpected.push(w.source);
  };
  if (by === 'name') {
    const byName = new Map(model.layers.map((l) => [l.name, l]));
    for (const fl of fileLayers) {
      const layer = byName.get(fl.name);
      const vars = new Map((layer ? legacyWeights(layer) : []).map((v) => [v.name, v]));
      for (const w of fl.weights) {
        const v = vars.get(legacyKey(fl.name, w.wn));
        if (v && !taken.has(v)) take(v, w.ds, w.source);
        else unexpected(w);
      }
    }
  } else {
    const withWeights = fileLayers.filter((fl) => fl.weights.length);
    const layers = kerasLayers(model).filter((l) => legacyWeights(l).length);
    for (let k = 0; k < withWeights.length; k++) {
      const fl = withWeights[k];
      const layer = k < layers.length ? layers[k] : null;
      const vars = layer ? legacyWeights(layer) : [];
      // The legacy order puts a nested model's trainable weights first, so it changes when the model is frozen;
      // when the file's weight names are exactly the layer's, pair them by name, otherwise by position.
      const byName = new Map(vars.map((v) => [v.name, v]));
      const keys = fl.weights.map((w) => legacyKey(layer?.name ?? fl.name, w.wn));
      const named = keys.length === vars.length && new Set(keys).size === keys.length && keys.every((key) => byName.has(key));
      fl.weights.forEach((w, i) => {
        const v = named ? byName.get(keys[i]) : vars[i];
        if (v) take(v, w.ds, w.source);
        else unexpected(w);
      });
    }
  }
  for (const v of model.variables) if (!taken.has(v)) plan.missing.push(v.name);
  const ignored = allDatasets(f).filter((p) => !plan.claimed.has(`/${p}`));
  return { plan, ignored };
}

/** The legacy weights group: the root or model_weights/, whichever carries layer_names. */
function legacyRoot(f: H5File, label: string): { group: Group; layerNames: string[] } | null {
  const root = stringListAttr(f, 'layer_names', label);
  if (root) return { group: f, layerNames: root };
  const mw = child(f, 'model_weights');
  if (isGroup(mw)) {
    const names = stringListAttr(mw, 'layer_names', label);
    if (names) return { group: mw, layerNames: names };
  }
  return null;
}

// --------------------------------------------------------------------------------------------------------------
// The import

function checkArgs(model: unknown, path: unknown, opts: ImportKerasOptions): void {
  if (!(model instanceof Model)) throw new ValueError(`importKerasWeights: argument 'model' must be a nodegrad Model (sequential() or model()), got ${Object.prototype.toString.call(model)}`);
  if (!model.built) throw new ValueError(`importKerasWeights: ${model.who} is not built, so it has no weights yet: give it an inputShape or call it on data first`);
  if (typeof path !== 'string' || path === '') throw new ValueError(`importKerasWeights: argument 'path' must be a non-empty string, got ${JSON.stringify(path)}`);
  if (typeof opts !== 'object' || opts === null) throw new ValueError(`importKerasWeights: options must be an object, got ${JSON.stringify(opts)}`);
  for (const k of Object.keys(opts)) {
    if (k !== 'by' && k !== 'skipMismatch') throw new ValueError(`importKerasWeights: unknown option '${k}'; options: by, skipMismatch`);
  }
  if (opts.by !== undefined && opts.by !== 'name' && opts.by !== 'order') throw new ValueError(`importKerasWeights: option 'by' must be 'name' or 'order', got ${JSON.stringify(opts.by)}`);
  if (opts.skipMismatch !== undefined && typeof opts.skipMismatch !== 'boolean') throw new ValueError(`importKerasWeights: option 'skipMismatch' must be a boolean, got ${JSON.stringify(opts.skipMismatch)}`);
}

/**
 * Loads Keras weights into `model`, a nodegrad model of the same architecture: a Keras 3 `.weights.h5`, a
 * `.keras` archive, or a Keras 2 `.h5` (save_weights or save). Throws WeightsMismatchError (naming every missing,
 * unexpected and mis-shaped weight) unless everything fits, FileFormatError for a file that is not HDF5 / zip or is
 * damaged; in both cases no variable changes. Returns what was loaded and what in the file was left alone.
 */
export async function importKerasWeights(model: Model, path: string, opts: ImportKerasOptions = {}): Promise<KerasImportResult> {
  checkArgs(model, path, opts);
  const by = opts.by ?? 'name';
  const skip = opts.skipMismatch ?? false;
  const abs = resolve(path);
  const kind = await sniff(abs);
  if (kind === 'other') throw new FileFormatError(path, 'not a Keras weights file: neither HDF5 (no HDF5 signature) nor a .keras (zip) archive');

  let h5Path = abs;
  let tmp: string | null = null;
  if (kind === 'zip') {
    // h5wasm opens files by path, so the archive's weights go to a private temporary file.
    const buf = await readFile(abs);
    const entries = zipEntries(buf, path);
    const entry = entries.find((e) => e.name === 'model.weights.h5');
    if (!entry) {
      const names = entries.map((e) => e.name);
      const why = names.includes('model.weights.npz')
        ? 'its weights are in model.weights.npz (weights_format="npz"), which this import does not read; save with the default h5 format'
        : `it has no model.weights.h5 (entries: ${names.join(', ') || 'none'})`;
      throw new FileFormatError(path, `not a Keras 3 .keras archive of weights: ${why}`);
    }
    const data = zipRead(buf, entry, path);
    tmp = await mkdtemp(join(tmpdir(), 'nodegrad-keras-'));
    h5Path = join(tmp, 'model.weights.h5');
    await writeFile(h5Path, data);
  }

  try {
    const h5 = await loadH5();
    let f: H5File;
    try {
      f = new h5.File(h5Path, 'r');
    } catch (err) {
      throw new FileFormatError(path, `not a readable HDF5 file (${hdf5Reason(err)})`);
    }
    try {
      return applyPlan(h5, f, model, path, by, skip);
    } catch (err) {
      if (err instanceof FileFormatError || err instanceof WeightsMismatchError || err instanceof ValueError) throw err;
      throw new FileFormatError(path, `cannot read the HDF5 file (${hdf5Reason(err)})`);
    } finally {
      try {
        f.close();
      } catch {
        // A file that failed mid-read may not close cleanly; nothing is left to release.
      }
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

function applyPlan(h5: H5, f: H5File, model: Model, label: string, by: 'name' | 'order', skip: boolean): KerasImportResult {
  const legacy = legacyRoot(f, label);
  let format: KerasImportResult['format'];
  let planned: { plan: Plan; ignored: string[] };
  if (legacy) {
    format = 'keras2';
    planned = planKeras2(f, legacy.group, legacy.layerNames, model, by, label);
  } else {
    const keys = f.keys();
    if (!keys.includes('layers') && !keys.includes('_layer_checkpoint_dependencies') && !keys.includes('vars')) {
      throw new FileFormatError(label, `no Keras weights in this HDF5 file: neither a 'layers' group (Keras 3 .weights.h5) nor a 'layer_names' attribute (Keras 2 .h5); top level: ${keys.join(', ') || 'empty'}`);
    }
    format = 'keras3';
    planned = planKeras3(f, model);
  }
  const { plan, ignored } = planned;
  const misfit = plan.missing.length || plan.unexpected.length || plan.mismatched.length || plan.badDtype.length;
  if (misfit && !skip) {
    throw new WeightsMismatchError(label, { missing: plan.missing, unexpected: plan.unexpected, mismatched: plan.mismatched, badDtype: plan.badDtype });
  }
  // Read and convert everything first, so a read failure leaves the model as it was.
  const values = plan.todo.map(({ variable, dataset, kind }) => [variable, readFloat32(h5, dataset, kind)] as const);
  for (const [v, data] of values) v.assign(data);
  return {
    format,
    loaded: values.map(([v]) => v.name),
    ignored,
    missing: plan.missing,
    unexpected: plan.unexpected,
    mismatched: plan.mismatched,
    badDtype: plan.badDtype,
  };
}
