/**
 * downloadFile (src/data/download.ts) against a local HTTP server on 127.0.0.1: success with SHA-256 and with
 * the content SHA-256 of a recompressed copy, a checksum mismatch, 404, a truncated transfer, redirects (and a
 * redirect loop), mirror fallback, the progress lines; never a partial or unverified file under the final name.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { downloadFile, sha256File } from '../../src/data/download.js';
import { DownloadError } from '../../src/data/errors.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 8)) % 256));
const content = Buffer.from('the same content, compressed twice '.repeat(400));
const gzA = gzipSync(content, { level: 1 });
const gzB = gzipSync(content, { level: 9 });

let server: Server;
let base = '';
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    if (url === '/file.bin') {
      res.writeHead(200, { 'content-length': payload.length });
      // In pieces, so progress and streaming are exercised.
      let off = 0;
      const step = () => {
        if (off >= payload.length) return void res.end();
        res.write(payload.subarray(off, off + 50_000));
        off += 50_000;
        setImmediate(step);
      };
      step();
    } else if (url === '/recompressed.gz') {
      res.writeHead(200, { 'content-length': gzB.length });
      res.end(gzB);
    } else if (url === '/truncated.bin') {
      res.writeHead(200, { 'content-length': payload.length });
      res.write(payload.subarray(0, 1000), () => res.socket?.destroy());
    } else if (url === '/redirect') {
      res.writeHead(302, { location: '/file.bin' });
      res.end();
    } else if (url === '/redirect-abs') {
      res.writeHead(301, { location: `${base}/redirect` });
      res.end();
    } else if (url === '/loop') {
      res.writeHead(307, { location: '/loop' });
      res.end();
    } else if (url === '/chunked.bin') {
      res.writeHead(200); // no content-length
      res.end(payload);
    } else {
      res.writeHead(404, 'Not Found');
      res.end('nope');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const dir = mkdtempSync(join(tmpdir(), 'nodegrad-dl-'));
const leftovers = (d: string) => readdirSync(d).filter((f) => f.includes('.tmp-'));

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('downloadFile', () => {
  it('downloads, verifies the SHA-256 and renames into place; progress lines on a non-TTY stream', async () => {
    const dest = join(dir, 'sub', 'ok.bin');
    const progress = new Collect();
    const got = await downloadFile(`${base}/file.bin`, dest, { sha256: sha(payload), size: payload.length, progress });
    expect(got).toBe(dest);
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(await sha256File(dest)).toBe(sha(payload));
    expect(leftovers(join(dir, 'sub'))).toEqual([]);
    expect(progress.text).toContain('Downloading ok.bin (195.3 KiB)');
    expect(progress.text).toMatch(/ok\.bin: done, 195\.3 KiB in/);
  });

  it('accepts a recompressed copy by the SHA-256 of its gunzipped content', async () => {
    const dest = join(dir, 're.gz');
    await downloadFile(`${base}/recompressed.gz`, dest, { sha256: sha(gzA), contentSha256: sha(content), progress: false });
    expect(readFileSync(dest).equals(gzB)).toBe(true);
  });

  it('a checksum mismatch discards the file', async () => {
    const dest = join(dir, 'bad.bin');
    const p = downloadFile(`${base}/file.bin`, dest, { sha256: '0'.repeat(64), progress: false });
    await expect(p).rejects.toThrow(DownloadError);
    await expect(downloadFile(`${base}/file.bin`, dest, { sha256: '0'.repeat(64), progress: false })).rejects.toThrow(
      `${base}/file.bin: checksum mismatch: SHA-256 ${sha(payload)}, expected ${'0'.repeat(64)}; the file was discarded`,
    );
    await expect(downloadFile(`${base}/recompressed.gz`, dest, { contentSha256: '1'.repeat(64), progress: false })).rejects.toThrow(
      `content SHA-256 ${sha(content)} (expected ${'1'.repeat(64)})`,
    );
    expect(existsSync(dest)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('404, a truncated transfer and a wrong size are errors naming the URL; nothing is left behind', async () => {
    const dest = join(dir, 'fail.bin');
    await expect(downloadFile(`${base}/missing.bin`, dest, { progress: false })).rejects.toThrow(
      `downloadFile: could not download fail.bin to ${dest}:\n  ${base}/missing.bin: HTTP 404 Not Found`,
    );
    await expect(downloadFile(`${base}/truncated.bin`, dest, { progress: false })).rejects.toThrow(
      `${base}/truncated.bin: the connection closed after 1000 of ${payload.length} bytes (truncated transfer)`,
    );
    await expect(downloadFile(`${base}/chunked.bin`, dest, { size: 5, progress: false })).rejects.toThrow(`received ${payload.length} bytes, expected 5`);
    expect(existsSync(dest)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    await expect(downloadFile('ftp://example.invalid/x', dest, { progress: false })).rejects.toThrow('unsupported protocol ftp:');
  });

  it('follows redirects (relative and absolute), refuses a loop', async () => {
    const dest = join(dir, 'redir.bin');
    await downloadFile(`${base}/redirect-abs`, dest, { sha256: sha(payload), progress: false });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    await expect(downloadFile(`${base}/loop`, join(dir, 'loop.bin'), { progress: false, maxRedirects: 3 })).rejects.toThrow('too many redirects (last to /loop)');
  });

  it('tries the mirrors in order and reports every failure', async () => {
    const dest = join(dir, 'mirror.bin');
    hits.length = 0;
    await downloadFile([`${base}/gone/file.bin`, `${base}/truncated.bin`, `${base}/file.bin`], dest, { sha256: sha(payload), progress: false });
    expect(hits).toEqual(['/gone/file.bin', '/truncated.bin', '/file.bin']);
    expect(readFileSync(dest).equals(payload)).toBe(true);
    const err = await downloadFile([`${base}/a`, `${base}/b`], join(dir, 'none.bin'), { progress: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as Error).message.split('\n')).toEqual([`downloadFile: could not download none.bin to ${join(dir, 'none.bin')}:`, `  ${base}/a: HTTP 404 Not Found`, `  ${base}/b: HTTP 404 Not Found`]);
  });

  it('concurrent downloads of one file each write their own temp file; the result is whole', async () => {
    const dest = join(dir, 'race.bin');
    await Promise.all([1, 2, 3].map(() => downloadFile(`${base}/file.bin`, dest, { sha256: sha(payload), progress: false })));
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(leftovers(dir)).toEqual([]);
  });
});
