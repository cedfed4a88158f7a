/**
 * The README's tour is run as written (its import rewritten to the sources), so the documented API cannot drift
 * from the real one; the error it shows must be the error the library throws.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it, vi } from 'vitest';

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
  try {
    await import(/* @vite-ignore */ pathToFileURL(file).href);
    expect(log).toHaveBeenCalledWith(shown);
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
