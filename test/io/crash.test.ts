/**
 * A process killed mid-save leaves the previous checkpoint or the new one, complete: a child process saves
 * checkpoints of ~6 MB of an nn model in a loop (child/saver.ts) and is killed with SIGKILL at a random
 * moment, several times; after each kill loadModel must succeed (every file checked against the manifest) and
 * give one generation throughout (every weight element, the optimizer's step count and its learning rate in
 * model.json), the last one the child reported or the one it was committing.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel, readCheckpointManifest, saveModel } from '../../src/io/index.js';
import { crashModel, stamp } from './child/saver.js';
import { Rng } from '../helpers/random.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = 8;

interface KillReport {
  /** The last generation the child said it saved, or `start` when none. */
  reported: number;
  lines: string[];
}

/**
 * Runs the saver from generation start + 1 and SIGKILLs it `delayMs` after it is ready, or, with `aim`,
 * `delayMs` after it starts writing the files of its third generation (so the kill lands among file writes).
 */
function saveUntilKilled(dir: string, start: number, delayMs: number, aim: boolean): Promise<KillReport> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', './test/io/child/register.mjs', 'test/io/child/saver.ts', dir, String(start)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let buffered = '';
    let reported = start;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (aim ? line === `writing ${start + 3}` : line === 'ready') setTimeout(() => child.kill('SIGKILL'), delayMs);
        const m = /^saved (\d+)/.exec(line);
        if (m) reported = Number(m[1]);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`saver exited with code ${code} before it was killed:\n${stderr}`));
      else resolvePromise({ reported, lines });
    });
  });
}

/** Loads the checkpoint and checks that it is generation g throughout (weights, optimizer, model.json); returns g. */
async function loadAndCheck(dir: string): Promise<number> {
  const m = await loadModel(dir);
  const opt = m.compiled!.optimizer;
  const g = opt.iterations;
  expect(opt.learningRate, 'learning rate (model.json)').toBe(g / 1000);
  for (const v of m.variables) {
    const w = v.value.data as Float32Array;
    for (let i = 0; i < w.length; i++) {
      if (w[i] !== stamp(g, i)) expect(w[i], `${v.name}[${i}] of generation ${g}`).toBe(stamp(g, i));
    }
  }
  return g;
}

describe('a process killed with SIGKILL mid-save', () => {
  it(`leaves the previous checkpoint or the new one, complete (${ROUNDS} kills)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodegrad-crash-'));
    try {
      // Generation 0, saved here by the same code the child runs.
      await saveModel(crashModel(0), dir);

      const rng = new Rng(2024);
      let generation = 0;
      let killedMidSave = 0;
      const log: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Even rounds: a random moment of the save loop. Odd rounds: a random moment among the file writes.
        const aim = round % 2 === 1;
        const delay = aim ? rng.int(0, 12) : rng.int(0, 400);
        const { reported, lines } = await saveUntilKilled(dir, generation, delay, aim);
        const committed = (await readCheckpointManifest(dir))!.directory;
        const debris = readdirSync(dir).filter((n) => n !== 'checkpoint.json' && n !== committed);
        if (debris.length) killedMidSave++;
        const g = await loadAndCheck(dir);
        expect([reported, reported + 1], `round ${round}: child reported ${reported}, checkpoint holds ${g}`).toContain(g);
        const saves = lines.filter((l) => l.startsWith('saved')).length;
        log.push(`kill ${delay} ms after ${aim ? `'writing ${generation + 3}'` : "'ready'"}: ${saves} saves reported, loaded generation ${g}${g > reported ? ' (committed, not yet reported)' : ''}, debris ${JSON.stringify(debris)}`);
        generation = g;
      }
      console.log(`crash test:\n  ${log.join('\n  ')}`);
      // The kills landed inside saves (leftover temp files or generation folders), not only between them: the
      // aimed ones nearly always do.
      expect(killedMidSave).toBeGreaterThan(0);
      expect(generation).toBeGreaterThan(0);

      // The next save clears what the kills left behind.
      await saveModel(await loadModel(dir), dir);
      expect(readdirSync(dir).sort()).toEqual(['checkpoint.json', (await readCheckpointManifest(dir))!.directory]);
      expect(await loadAndCheck(dir)).toBe(generation);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
