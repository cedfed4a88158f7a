/**
 * Atomic file writes and checkpoint directories: a save interrupted at each of its steps leaves the previous
 * checkpoint (before the commit) or the new one (after it), complete; the next save clears the leftovers;
 * readers never see a mix, even while saves run concurrently.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ValueError } from '../../src/errors.js';
import {
  FileFormatError,
  readCheckpoint,
  readCheckpointManifest,
  writeCheckpoint,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../src/io/index.js';
import { sha256Hex } from '../../src/io/atomic.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nodegrad-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The files of generation `g`: contents that say which generation they belong to, of different sizes. */
function generationFiles(g: number): Record<string, Uint8Array | string> {
  return {
    'model.json': JSON.stringify({ generation: g }),
    'weights.safetensors': new Uint8Array(1000 + g).fill(g),
    'optimizer.safetensors': new Uint8Array(3000 - g).fill(255 - g),
  };
}

/** Reads the checkpoint and checks every file belongs to one generation; returns it. */
async function committedGeneration(d: string): Promise<number> {
  const ck = await readCheckpoint(d);
  const g = (JSON.parse(ck.files.get('model.json')!.toString('utf8')) as { generation: number }).generation;
  expect(ck.files.get('weights.safetensors')).toEqual(Buffer.from(generationFiles(g)['weights.safetensors'] as Uint8Array));
  expect(ck.files.get('optimizer.safetensors')).toEqual(Buffer.from(generationFiles(g)['optimizer.safetensors'] as Uint8Array));
  return g;
}

class Interrupted extends Error {}

describe('writeFileAtomic', () => {
  for (const [label, write] of [
    ['async', writeFileAtomic],
    ['sync', async (p: string, d: Uint8Array | string) => writeFileAtomicSync(p, d)],
  ] as const) {
    it(`${label}: replaces the file and leaves no temp file; a failed write leaves the target alone`, async () => {
      const p = join(dir, 'a.bin');
      await write(p, 'first');
      await write(p, new Uint8Array([1, 2, 3]));
      expect(readFileSync(p)).toEqual(Buffer.from([1, 2, 3]));
      expect(readdirSync(dir)).toEqual(['a.bin']);

      // Renaming over a directory fails: the temp file is removed, the directory untouched.
      const target = join(dir, 'isdir');
      mkdirSync(target);
      writeFileSync(join(target, 'keep'), 'x');
      await expect(write(target, 'data')).rejects.toThrow();
      expect(readdirSync(dir).sort()).toEqual(['a.bin', 'isdir']);
      expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
      // A missing parent directory is an error, not a silent mkdir.
      await expect(write(join(dir, 'no', 'such.bin'), 'x')).rejects.toThrow(/ENOENT/);
    });
  }

  it('hashes in slices to the same sha256 as one update', async () => {
    const big = new Uint8Array(40 * 2 ** 20 + 3).map((_, i) => (i * 7) & 255);
    expect(await sha256Hex(big)).toBe(createHash('sha256').update(big).digest('hex'));
  });
});

describe('checkpoint directories', () => {
  it('commits generation after generation; the folder holds the manifest and the current generation only', async () => {
    for (let g = 1; g <= 3; g++) {
      const m = await writeCheckpoint(dir, generationFiles(g));
      expect(m.generation).toBe(g);
      expect(await committedGeneration(dir)).toBe(g);
      expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', `ckpt-00000${g}`]);
    }
    const manifest = (await readCheckpointManifest(dir))!;
    expect(manifest.format).toBe('nodegrad-checkpoint');
    expect(manifest.files['weights.safetensors']).toEqual({ bytes: 1003, sha256: createHash('sha256').update(new Uint8Array(1003).fill(3)).digest('hex') });
    expect(Date.parse(manifest.createdAt)).not.toBeNaN();
  });

  it('creates missing parent directories', async () => {
    const nested = join(dir, 'a', 'b', 'run');
    await writeCheckpoint(nested, generationFiles(1));
    expect(await committedGeneration(nested)).toBe(1);
  });

  const STEPS = ['begin', 'folder', 'file:model.json', 'file:weights.safetensors', 'file:optimizer.safetensors', 'files-synced', 'manifest-temp', 'committed', 'cleaned'];
  for (const stop of STEPS) {
    it(`a save interrupted at '${stop}' leaves generation ${STEPS.indexOf(stop) < STEPS.indexOf('committed') ? 1 : 2}, complete; the next save clears the rest`, async () => {
      await writeCheckpoint(dir, generationFiles(1));
      await expect(
        writeCheckpoint(dir, generationFiles(2), {
          onStep: (s) => {
            if (s === stop) throw new Interrupted(s);
          },
        }),
      ).rejects.toThrow(Interrupted);
      const expected = STEPS.indexOf(stop) < STEPS.indexOf('committed') ? 1 : 2;
      expect(await committedGeneration(dir)).toBe(expected);

      await writeCheckpoint(dir, generationFiles(3));
      expect(await committedGeneration(dir)).toBe(3);
      const left = readdirSync(dir);
      expect(left.length, `left: ${left.join(', ')}`).toBe(2);
      expect(left.filter((n) => n.includes('.tmp-'))).toEqual([]);
    });
  }

  it('an interrupted first save leaves no checkpoint, which is a clear error', async () => {
    await expect(writeCheckpoint(dir, generationFiles(1), { onStep: (s) => { if (s === 'manifest-temp') throw new Interrupted(s); } })).rejects.toThrow(Interrupted);
    await expect(readCheckpoint(dir)).rejects.toThrow(FileFormatError);
    await expect(readCheckpoint(dir)).rejects.toThrow('no checkpoint.json: not a nodegrad checkpoint directory, or no save into it ever completed');
    await writeCheckpoint(dir, generationFiles(2));
    expect(await committedGeneration(dir)).toBe(2);
  });

  it('a corrupt manifest: reading fails clearly; a save commits anyway and deletes no old generation before that', async () => {
    await writeCheckpoint(dir, generationFiles(1));
    writeFileSync(join(dir, 'checkpoint.json'), '{"format": "nodegrad-checkpoint", "vers');
    await expect(readCheckpoint(dir)).rejects.toThrow(/checkpoint\.json: not a valid checkpoint manifest: malformed JSON/);
    await writeCheckpoint(dir, generationFiles(2));
    expect(await committedGeneration(dir)).toBe(2);
    expect(existsSync(join(dir, 'ckpt-000001'))).toBe(true); // kept: the manifest that named it was unreadable
    await writeCheckpoint(dir, generationFiles(3));
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'ckpt-000003']);
  });

  it('rejects manifests that point outside the directory or name odd files', async () => {
    await writeCheckpoint(dir, generationFiles(1));
    const m = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...m, directory: '../elsewhere' }));
    await expect(readCheckpoint(dir)).rejects.toThrow(`'directory' must name a ckpt-NNNNNN folder, got "../elsewhere"`);
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...m, files: { '../x': { bytes: 1, sha256: '0'.repeat(64) } } }));
    await expect(readCheckpoint(dir)).rejects.toThrow('file name "../x" is not a plain file name');
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...m, version: 99 }));
    await expect(readCheckpoint(dir)).rejects.toThrow("'version' 99 is not one this nodegrad reads");
  });

  it('rejects file names that are not plain names', async () => {
    for (const name of ['checkpoint.json', 'a/b', '..', '.hidden', '']) {
      await expect(writeCheckpoint(dir, { [name]: 'x' })).rejects.toThrow(ValueError);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('saves started together into one directory run one after another', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map((g) => writeCheckpoint(dir, generationFiles(g))));
    expect(results.map((m) => m.generation)).toEqual([1, 2, 3, 4, 5]);
    expect(await committedGeneration(dir)).toBe(5);
    expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', 'ckpt-000005']);
    // A failing save does not stop the next one.
    const bad = writeCheckpoint(dir, generationFiles(6), { onStep: (s) => { if (s === 'files-synced') throw new Interrupted(s); } });
    const good = writeCheckpoint(dir, generationFiles(7));
    await expect(bad).rejects.toThrow(Interrupted);
    expect((await good).generation).toBe(7);
    expect(await committedGeneration(dir)).toBe(7);
  });

  it('readers running beside a series of saves always get one complete generation', async () => {
    await writeCheckpoint(dir, generationFiles(1));
    let saving = true;
    // Each reader sees generations in order (a reader whose generation is deleted under it starts again from
    // the newer manifest; this test reaches that path a few times per run).
    const reader = async (): Promise<number[]> => {
      const seen: number[] = [];
      while (saving) seen.push(await committedGeneration(dir));
      return seen;
    };
    const writer = async (): Promise<void> => {
      for (let g = 2; g <= 25; g++) await writeCheckpoint(dir, generationFiles(g));
      saving = false;
    };
    const [, a, b] = await Promise.all([writer(), reader(), reader()]);
    for (const seen of [a, b]) {
      expect(seen.length).toBeGreaterThan(0);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    }
    expect(await committedGeneration(dir)).toBe(25);
  });
});
