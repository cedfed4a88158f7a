/**
 * The README's tour is run as written (its import rewritten to the sources), so the documented API cannot drift
 * from the real one; the error it shows must be the error the library throws.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it, vi } from 'vitest';

import { getBackend, setBackend, type BackendName } from '../src/backends/registry.js';

const root = resolve(import.meta.dirname, '..');

it('runs the README tour and prints the documented error', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const tour = /## A short tour\s+```ts\n([\s\S]*?)```/.exec(readme);
  expect(tour, 'README has a "## A short tour" ts block').not.toBeNull();
  const code = tour![1];
  const shown = /\/\/ (ShapeError: .*)/.exec(code)![1];
  const src = pathToFileURL(join(root, 'src', 'index.ts')).href;
  const dir = mkdtempSync(join(tmpdir(), 'nodegrad-tour-'));
  const file = join(dir, 'tour.ts');
  writeFileSync(file, code.replace(/from 'nodegrad'/, `from '${src}'`));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const before = getBackend();
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href);
    expect(log).toHaveBeenCalledWith(shown);
  } finally {
    setBackend(before.name as BackendName); // the tour ends by switching to the reference backend
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('runs the README training example as written', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## Training\s+```ts\n([\s\S]*?)```/.exec(readme);
  expect(block, 'README has a "## Training" ts block').not.toBeNull();
  const src = pathToFileURL(join(root, 'src', 'index.ts')).href;
  const dir = mkdtempSync(join(tmpdir(), 'nodegrad-train-'));
  const file = join(dir, 'train.ts');
  // Results are checked through what the block leaves behind: its saved model, and printed summary.
  const code = block![1].replace(/from 'nodegrad'/, `from '${src}'`) +
    '\nexport { model, again, history, probs, w, x };\n';
  writeFileSync(file, code);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    const m = await import(/* @vite-ignore */ pathToFileURL(file).href);
    expect(log.mock.calls.map((c) => String(c[0])).join('\n')).toContain('Total params: 104,202');
    expect(m.history.history.loss).toHaveLength(2);
    expect(m.probs.shape).toEqual([4, 10]);
    expect(m.w.grad.shape).toEqual([3, 1]);
    const p2 = await m.again.predict(m.x.slice([0, 0, 0, 0], [4, 28, 28, 1]));
    expect(Array.from(p2.data)).toEqual(Array.from(m.probs.data));
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
