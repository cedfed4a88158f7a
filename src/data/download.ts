/**
 * Downloads for the standard datasets: once, verified, atomic.
 *
 * `downloadFile(urls, dest, { sha256, contentSha256, size })` fetches the first URL that works (mirrors are
 * tried in order; HTTP and HTTPS, redirects followed), streaming into a temp file beside `dest` while hashing,
 * and checks, before the file gets its name: the transfer is complete (Content-Length, and `size` when given),
 * and the SHA-256 of the bytes equals `sha256`, or the SHA-256 of the gunzipped bytes equals `contentSha256`
 * (which accepts a mirror that recompressed the same data). Then fsync, rename over `dest`, fsync of the
 * directory: a reader sees no file or the whole verified file, never a partial one, and two processes
 * downloading at once each write their own temp file. A progress bar goes to stderr (a redrawn line on a
 * terminal, a line per 25% otherwise).
 *
 * Errors: a DownloadError listing each URL tried and why it failed (HTTP status, network error, truncated
 * transfer, checksum mismatch); the temp file is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, dirname } from 'node:path';
import { gunzip as gunzipCb } from 'node:zlib';
import { promisify } from 'node:util';
import { fsyncDir } from '../io/atomic.js';
import { DownloadError } from './errors.js';

const gunzipAsync = promisify(gunzipCb);

export interface DownloadOptions {
  /** SHA-256 (hex) of the file as transferred. */
  sha256?: string;
  /** SHA-256 (hex) of the file's gunzipped content: accepted in place of `sha256` (a recompressed mirror). */
  contentSha256?: string;
  /** The expected size in bytes, when known. */
  size?: number;
  /**
   * Where the progress bar goes: a stream, false for none. Default process.stderr (a redrawn bar on a TTY, a
   * line per quarter otherwise).
   */
  progress?: false | NodeJS.WritableStream;
  /** The name shown in the progress bar (default: the file name). */
  label?: string;
  /** Give up on a connection silent for this long (default 30 s). */
  timeoutMs?: number;
  /** Redirects followed per URL (default 5). */
  maxRedirects?: number;
}

/** Lower-case hex SHA-256 of a file's bytes. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

interface Progress {
  update(received: number): void;
  done(received: number): void;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function progressBar(stream: NodeJS.WritableStream | false, label: string, total: number | null): Progress {
  if (!stream) return { update() {}, done() {} };
  const tty = (stream as { isTTY?: boolean }).isTTY === true;
  const start = Date.now();
  let lastDraw = 0;
  let quarter = 0;
  const line = (received: number) => {
    const secs = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = `${fmtBytes(received / secs)}/s`;
    if (!total) return `Downloading ${label}: ${fmtBytes(received)} ${rate}`;
    const frac = Math.min(1, received / total);
    const width = 30;
    const filled = Math.round(frac * width);
    return `Downloading ${label} [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmtBytes(received)}/${fmtBytes(total)} ${rate}`;
  };
  if (!tty) stream.write(`Downloading ${label}${total ? ` (${fmtBytes(total)})` : ''}\n`);
  return {
    update(received) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        stream.write(`\r${line(received)}`);
      } else if (total) {
        const q = Math.floor((4 * received) / total);
        if (q > quarter && q < 4) {
          quarter = q;
          stream.write(`  ${label}: ${q * 25}%\n`);
        }
      }
    },
    done(received) {
      stream.write(tty ? `\r${line(received)}\n` : `  ${label}: done, ${fmtBytes(received)} in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    },
  };
}

/** GET with redirects; resolves with the response of the final URL (status 2xx), or rejects with a reason. */
function request(url: string, timeoutMs: number, redirectsLeft: number): Promise<{ res: IncomingMessage; url: string }> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`not a valid URL`));
      return;
    }
    const get = u.protocol === 'https:' ? httpsGet : u.protocol === 'http:' ? httpGet : null;
    if (!get) {
      reject(new Error(`unsupported protocol ${u.protocol}`));
      return;
    }
    const req = get(u, { headers: { 'user-agent': 'nodegrad', 'accept-encoding': 'identity' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new Error(`too many redirects (last to ${res.headers.location})`));
          return;
        }
        const next = new URL(res.headers.location, u).toString();
        request(next, timeoutMs, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new Error(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`));
        return;
      }
      resolve({ res, url });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response for ${timeoutMs / 1000} s`)));
    req.on('error', (e) => reject(e));
  });
}

/** Streams one URL into `tmp`, hashing; resolves with the byte count and digest, or rejects with a reason. */
async function fetchInto(url: string, tmp: string, options: DownloadOptions, label: string): Promise<{ bytes: number; sha256: string }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const { res } = await request(url, timeoutMs, options.maxRedirects ?? 5);
  const header = res.headers['content-length'];
  const announced = header !== undefined && /^\d+$/.test(header) ? Number(header) : null;
  const total = announced ?? options.size ?? null;
  const bar = progressBar(options.progress === undefined ? process.stderr : options.progress, label, total);
  const hash = createHash('sha256');
  let received = 0;
  const out = createWriteStream(tmp, { flags: 'wx' });
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        res.destroy();
        reject(e);
      };
      res.setTimeout(timeoutMs, () => fail(new Error(`the connection stalled for ${timeoutMs / 1000} s after ${received} bytes`)));
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        hash.update(chunk);
        bar.update(received);
        if (!out.write(chunk)) {
          res.pause();
          out.once('drain', () => res.resume());
        }
      });
      res.on('aborted', () => fail(new Error(`the connection closed after ${received}${total ? ` of ${total}` : ''} bytes (truncated transfer)`)));
      res.on('error', (e) => fail(new Error(`the connection failed after ${received} bytes: ${e.message}`)));
      out.on('error', (e) => fail(new Error(`cannot write ${tmp}: ${e.message}`)));
      res.on('end', () => {
        if (failed) return;
        if (!res.complete) {
          fail(new Error(`the connection closed after ${received}${total ? ` of ${total}` : ''} bytes (truncated transfer)`));
          return;
        }
        out.end(() => resolve());
      });
    });
  } finally {
    if (!out.closed) await new Promise<void>((r) => out.close(() => r()));
  }
  if (announced !== null && received !== announced) throw new Error(`received ${received} bytes but the server announced ${announced} (truncated transfer)`);
  if (options.size !== undefined && received !== options.size) throw new Error(`received ${received} bytes, expected ${options.size}`);
  bar.done(received);
  return { bytes: received, sha256: hash.digest('hex') };
}

/** Checks the downloaded file against the checksums; returns a reason, or null when it matches. */
async function checkSums(tmp: string, sha256: string, options: DownloadOptions): Promise<string | null> {
  const want = options.sha256?.toLowerCase();
  const wantContent = options.contentSha256?.toLowerCase();
  if (!want && !wantContent) return null;
  if (want && sha256 === want) return null;
  if (wantContent) {
    const raw = await readFile(tmp);
    let content: Uint8Array | null = null;
    try {
      content = raw[0] === 0x1f && raw[1] === 0x8b ? await gunzipAsync(raw) : raw;
    } catch {
      content = null;
    }
    if (content) {
      const got = createHash('sha256').update(content).digest('hex');
      if (got === wantContent) return null;
      return `checksum mismatch: SHA-256 ${sha256}${want ? ` (expected ${want})` : ''}, content SHA-256 ${got} (expected ${wantContent})`;
    }
    return `checksum mismatch: SHA-256 ${sha256}${want ? ` (expected ${want})` : ''}, and the content does not gunzip`;
  }
  return `checksum mismatch: SHA-256 ${sha256}, expected ${want}`;
}

/**
 * Downloads the first working URL of `urls` to `dest` (created with its directory), verified and atomic; see the
 * module comment. Resolves with `dest`.
 */
export async function downloadFile(urls: string | readonly string[], dest: string, options: DownloadOptions = {}): Promise<string> {
  const list = typeof urls === 'string' ? [urls] : [...urls];
  if (list.length === 0) throw new DownloadError('', `downloadFile: no URL given for ${dest}`);
  await mkdir(dirname(dest), { recursive: true });
  const label = options.label ?? basename(dest);
  const failures: string[] = [];
  for (const url of list) {
    const tmp = `${dest}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const { sha256 } = await fetchInto(url, tmp, options, label);
      const mismatch = await checkSums(tmp, sha256, options);
      if (mismatch) throw new Error(`${mismatch}; the file was discarded`);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, dest);
      await fsyncDir(dirname(dest));
      return dest;
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      failures.push(`${url}: ${(e as Error).message}`);
    }
  }
  throw new DownloadError(
    list[list.length - 1],
    `downloadFile: could not download ${label} to ${dest}:\n  ${failures.join('\n  ')}`,
  );
}
