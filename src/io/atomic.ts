/**
 * Crash-safe writes: single files, and checkpoint directories replaced as a unit.
 *
 * A file: write a temp file in the same directory, fsync it, rename it over the target (atomic on POSIX and,
 * via MoveFileEx, on Windows), fsync the directory so the rename itself is durable. A reader, or a process
 * killed at any moment, sees the old file or the new one, never a mix.
 *
 * A checkpoint directory holds several files (model.json, weights.safetensors, optimizer.safetensors) that
 * must change together. Renaming each file atomically is not enough: killed between two renames, the
 * directory would hold new weights beside old optimizer state. Nor can a directory be renamed over a
 * non-empty one (POSIX rename fails with ENOTEMPTY), and a rename-aside/rename-in pair leaves a moment with no
 * directory at all. So the layout is a pointer and generations, the scheme of LevelDB's CURRENT file and
 * TensorFlow's `checkpoint` file:
 *
 *   dir/
 *     checkpoint.json          the manifest: {format, version, generation, directory: "ckpt-000007",
 *                              files: {name: {bytes, sha256}}}; replaced atomically, the single commit point
 *     ckpt-000007/             the current generation, never modified after the commit
 *       model.json  weights.safetensors  optimizer.safetensors
 *
 * A save writes generation G+1 into a fresh folder (each file fsynced, then the folder and dir), then
 * replaces checkpoint.json (temp, fsync, rename, fsync dir), then deletes generation G. Killed at any
 * point before the rename, checkpoint.json still names G, whose files were not touched: the previous
 * checkpoint, complete. Killed after it, checkpoint.json names G+1, whose files were durable before the
 * rename: the new checkpoint, complete. What a kill leaves behind (a half-written ckpt folder, a temp
 * manifest, an old generation not yet deleted) is never named by checkpoint.json, and the next save deletes
 * it. The fsync order makes the same hold across power loss, not only a killed process.
 *
 * Loading reads checkpoint.json, reads every file it lists and checks its size and sha256 before parsing
 * anything: a truncated or corrupt file is a FileFormatError naming it, and nothing is written. If the
 * generation folder vanishes under a reader (a concurrent save committed and deleted it), the reader
 * starts again from the new manifest. Saves into one directory from one process are queued; two processes
 * saving into the same directory at once are not supported (no lock file: a killed writer would leave it).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ValueError } from '../errors.js';
import { FileFormatError } from './errors.js';
import { isJsonObject, parseStrictJson, type JsonValue } from './json.js';

/** The manifest's file name: the commit point of a checkpoint directory. */
export const MANIFEST_NAME = 'checkpoint.json';
const FORMAT = 'nodegrad-checkpoint';
const VERSION = 1;
const GENERATION_RE = /^ckpt-(\d+)$/;
const FILE_NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const TEMP_MARK = '.tmp-';

export interface ManifestEntry {
  readonly bytes: number;
  readonly sha256: string;
}
export interface CheckpointManifest {
  readonly format: typeof FORMAT;
  readonly version: number;
  /** Increases by one per save into the directory. */
  readonly generation: number;
  /** The generation folder, relative to the checkpoint directory ("ckpt-000007"). */
  readonly directory: string;
  /** When the save committed (ISO 8601). */
  readonly createdAt: string;
  readonly files: Readonly<Record<string, ManifestEntry>>;
}

export interface CheckpointWriteOptions {
  /**
   * Called at each step of a save, with the step's name: 'begin', 'folder', `file:<name>` (after each file is
   * written and fsynced), 'files-synced', 'manifest-temp' (just before the commit rename), 'committed',
   * 'cleaned'. For fault-injection tests (a child process kills itself at a chosen step).
   */
  onStep?: (step: string) => void;
}

export interface LoadedCheckpoint {
  readonly manifest: CheckpointManifest;
  /** The absolute path of the generation folder the files came from. */
  readonly directory: string;
  /** Each file's bytes, checked against the manifest's size and sha256. */
  readonly files: ReadonlyMap<string, Buffer>;
}

// --------------------------------------------------------------------------------------------------------------
// Small helpers

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

function tempNameFor(path: string): string {
  return join(dirname(path), `${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`);
}

// fsync of a directory: POSIX makes a rename or a new entry durable this way; Windows cannot open a directory
// for it (and NTFS journals metadata), some filesystems answer EINVAL. Those are skipped, not errors.
const DIR_SYNC_SKIP = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EACCES', 'EBADF']);

/** fsyncs a directory, so entries created or renamed in it survive power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    if (!DIR_SYNC_SKIP.has(errCode(e) ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}
export function fsyncDirSync(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    if (!DIR_SYNC_SKIP.has(errCode(e) ?? '')) throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// Windows refuses a rename while another process (an indexer, an antivirus) has the target open; retry a little.
async function renameRetrying(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (e) {
      if (process.platform !== 'win32' || attempt >= 10 || !['EPERM', 'EACCES', 'EBUSY'].includes(errCode(e) ?? '')) throw e;
      await new Promise((r) => setTimeout(r, 10 * (attempt + 1)));
    }
  }
}

/** Writes `data` to a new file (which must not exist) and fsyncs it. */
async function writeNewFileSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// --------------------------------------------------------------------------------------------------------------
// Single files

/**
 * Replaces `path` with `data` atomically and durably: a temp file beside it, fsync, rename over `path`,
 * fsync of the directory. On failure the temp file is removed and `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempNameFor(path);
  try {
    await writeNewFileSynced(tmp, data);
    await renameRetrying(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** The synchronous form of writeFileAtomic. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempNameFor(path);
  try {
    const fd = openSync(tmp, 'wx');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never created, or is already gone
    }
    throw e;
  }
  fsyncDirSync(dirname(path));
}

/** SHA-256 of `data` in hex, hashed in slices with a yield between them (a large model does not stall the loop). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const h = createHash('sha256');
  const SLICE = 16 * 2 ** 20;
  for (let off = 0; off < data.byteLength; off += SLICE) {
    h.update(data.subarray(off, Math.min(off + SLICE, data.byteLength)));
    if (off + SLICE < data.byteLength) await yieldToLoop();
  }
  return h.digest('hex');
}

// --------------------------------------------------------------------------------------------------------------
// Checkpoint directories

function generationName(g: number): string {
  return `ckpt-${String(g).padStart(6, '0')}`;
}

/** Parses and checks a manifest's text; `file` names it in errors. */
function parseManifest(text: string, file: string): CheckpointManifest {
  const bad = (msg: string): never => {
    throw new FileFormatError(file, `not a valid checkpoint manifest: ${msg}`);
  };
  let v: JsonValue;
  try {
    v = parseStrictJson(text);
  } catch (e) {
    return bad(`malformed JSON (${(e as Error).message}): truncated or corrupt`);
  }
  if (!isJsonObject(v)) return bad('expected a JSON object');
  if (v.format !== FORMAT) bad(`'format' is ${JSON.stringify(v.format)}, expected "${FORMAT}"`);
  if (typeof v.version !== 'number' || v.version > VERSION) bad(`'version' ${JSON.stringify(v.version)} is not one this nodegrad reads (up to ${VERSION}): saved by a newer nodegrad?`);
  if (typeof v.generation !== 'number' || !Number.isSafeInteger(v.generation) || v.generation < 1) bad(`'generation' must be a positive integer`);
  if (typeof v.directory !== 'string' || !GENERATION_RE.test(v.directory)) bad(`'directory' must name a ckpt-NNNNNN folder, got ${JSON.stringify(v.directory)}`);
  if (!isJsonObject(v.files)) return bad(`'files' must be an object`);
  const files: Record<string, ManifestEntry> = {};
  for (const [name, entry] of Object.entries(v.files)) {
    if (!FILE_NAME_RE.test(name)) bad(`file name ${JSON.stringify(name)} is not a plain file name`);
    if (!isJsonObject(entry) || typeof entry.bytes !== 'number' || !Number.isSafeInteger(entry.bytes) || entry.bytes < 0 ||
        typeof entry.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(entry.sha256)) {
      bad(`the entry of '${name}' must be {bytes: integer, sha256: 64 hex digits}`);
    }
    const e = entry as { bytes: number; sha256: string };
    files[name] = { bytes: e.bytes, sha256: e.sha256 };
  }
  return {
    format: FORMAT,
    version: v.version as number,
    generation: v.generation as number,
    directory: v.directory as string,
    createdAt: typeof v.createdAt === 'string' ? v.createdAt : '',
    files,
  };
}

/** The manifest of checkpoint directory `dir`, or null when it has none (no save ever committed there). */
export async function readCheckpointManifest(dir: string): Promise<CheckpointManifest | null> {
  const file = join(dir, MANIFEST_NAME);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
  return parseManifest(text, file);
}

/**
 * Saves `files` (name to contents) as a new generation of checkpoint directory `dir` (created if needed) and
 * commits it by replacing checkpoint.json; then deletes the previous generation and whatever an interrupted
 * save left. Returns the new manifest. See the top of this file for why a crash at any point leaves either
 * the previous checkpoint or this one, complete.
 */
export async function writeCheckpoint(
  dir: string,
  files: Readonly<Record<string, Uint8Array | string>>,
  opts: CheckpointWriteOptions = {},
): Promise<CheckpointManifest> {
  const names = Object.keys(files);
  for (const name of names) {
    if (!FILE_NAME_RE.test(name) || name === MANIFEST_NAME) throw new ValueError(`writeCheckpoint: '${name}' is not a valid checkpoint file name (plain names only, not '${MANIFEST_NAME}')`);
  }
  // Saves into one directory from this process run one after another: a second save's clean-up would
  // otherwise delete the first one's uncommitted folder (and the first could then commit a deleted folder).
  const root = resolve(dir);
  const previous = writing.get(root) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => writeCheckpointNow(root, files, names, opts.onStep ?? (() => undefined)));
  const tail = mine.catch(() => undefined);
  writing.set(root, tail);
  try {
    return await mine;
  } finally {
    if (writing.get(root) === tail) writing.delete(root);
  }
}

/** The saves in flight, by absolute directory: each waits for the one before it. */
const writing = new Map<string, Promise<unknown>>();

async function writeCheckpointNow(
  root: string,
  files: Readonly<Record<string, Uint8Array | string>>,
  names: string[],
  step: (s: string) => void,
): Promise<CheckpointManifest> {
  step('begin');
  const created = await mkdir(root, { recursive: true });
  // Make every directory mkdir created durable: each one's entry lives in its parent.
  if (created !== undefined) {
    for (let d = root; ; d = dirname(d)) {
      await fsyncDir(dirname(d));
      if (d === created || dirname(d) === d) break;
    }
  }

  // The committed generation (kept until the new one commits) and every generation number seen on disk.
  let current: CheckpointManifest | null = null;
  let manifestReadable = true;
  try {
    current = await readCheckpointManifest(root);
  } catch (e) {
    // Corrupted from outside (our writes are atomic): save anyway, but delete no generation folder before the
    // new one commits, in case one of them is what someone wants to recover.
    if (!(e instanceof FileFormatError)) throw e;
    manifestReadable = false;
  }
  const entries = await readdir(root, { withFileTypes: true });
  let newest = current?.generation ?? 0;
  for (const ent of entries) {
    const m = GENERATION_RE.exec(ent.name);
    if (m) newest = Math.max(newest, Number(m[1]));
  }
  // Leftovers of interrupted saves: generation folders the manifest does not name, temp manifests.
  for (const ent of entries) {
    const stale = (manifestReadable && GENERATION_RE.test(ent.name) && ent.name !== current?.directory) || ent.name.startsWith(`${MANIFEST_NAME}${TEMP_MARK}`);
    if (stale) await rm(join(root, ent.name), { recursive: true, force: true });
  }

  const generation = newest + 1;
  const folderName = generationName(generation);
  const folder = join(root, folderName);
  await mkdir(folder);
  step('folder');
  const manifestFiles: Record<string, ManifestEntry> = {};
  for (const name of names) {
    const raw = files[name];
    const data = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    await writeNewFileSynced(join(folder, name), data);
    manifestFiles[name] = { bytes: data.byteLength, sha256: await sha256Hex(data) };
    step(`file:${name}`);
  }
  await fsyncDir(folder);
  await fsyncDir(root);
  step('files-synced');

  const manifest: CheckpointManifest = {
    format: FORMAT,
    version: VERSION,
    generation,
    directory: folderName,
    createdAt: new Date().toISOString(),
    files: manifestFiles,
  };
  const target = join(root, MANIFEST_NAME);
  const tmp = tempNameFor(target);
  await writeNewFileSynced(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  step('manifest-temp');
  await renameRetrying(tmp, target); // the commit
  await fsyncDir(root);
  step('committed');

  if (current && current.directory !== folderName) {
    // Best effort: a reader may hold it open on Windows; the next save deletes it then.
    await rm(join(root, current.directory), { recursive: true, force: true }).catch(() => undefined);
  }
  step('cleaned');
  return manifest;
}

/**
 * Reads the committed checkpoint of `dir`: every file the manifest lists, each checked against its recorded
 * size and sha256. Throws FileFormatError naming the file when one is missing, truncated or corrupt, and when
 * `dir` holds no checkpoint.json.
 */
export async function readCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const root = resolve(dir);
  const manifestPath = join(root, MANIFEST_NAME);
  for (let attempt = 0; ; attempt++) {
    const manifest = await readCheckpointManifest(root);
    if (manifest === null) throw new FileFormatError(manifestPath, `no ${MANIFEST_NAME}: not a nodegrad checkpoint directory, or no save into it ever completed`);
    const folder = join(root, manifest.directory);
    const files = new Map<string, Buffer>();
    let vanished = false;
    for (const [name, entry] of Object.entries(manifest.files)) {
      const path = join(folder, name);
      let data: Buffer;
      try {
        data = await readFile(path);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
        vanished = true;
        break;
      }
      if (data.byteLength !== entry.bytes) {
        throw new FileFormatError(path, `is ${data.byteLength} bytes but ${MANIFEST_NAME} records ${entry.bytes}: the file is ${data.byteLength < entry.bytes ? 'truncated' : 'corrupt (it grew)'}; nothing was loaded`);
      }
      if ((await sha256Hex(data)) !== entry.sha256) {
        throw new FileFormatError(path, `does not match the sha256 recorded in ${MANIFEST_NAME}: the file is corrupt; nothing was loaded`);
      }
      files.set(name, data);
    }
    if (!vanished) return { manifest, directory: folder, files };
    // A file the manifest names is gone: a concurrent save may have committed a newer generation and deleted
    // this one. Start again from the new manifest; if the manifest did not change, the checkpoint is broken.
    const again = await readCheckpointManifest(root);
    if (attempt >= 4 || again === null || again.directory === manifest.directory) {
      const missing = Object.keys(manifest.files).find((n) => !files.has(n))!;
      throw new FileFormatError(join(folder, missing), `is missing, but ${MANIFEST_NAME} lists it: the checkpoint is incomplete; nothing was loaded`);
    }
  }
}
