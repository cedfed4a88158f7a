// Module hooks that let a plain `node` child process import the TypeScript sources (test/io's crash test runs
// src/io in a child it kills). `.js` specifiers resolve to the `.ts` file beside them, as tsc's NodeNext
// resolution does, and `.ts` files are transpiled (types stripped, nothing checked) with the repo's typescript.
// Transpiled files are cached in the OS temp folder by path, size and mtime, so that only the first of a
// series of children pays for loading typescript and transpiling.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = join(tmpdir(), 'nodegrad-ts-hooks-cache');
let ts = null;

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && /^(\.|\/|file:)/.test(specifier) && context.parentURL?.endsWith('.ts')) {
    const tsUrl = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
    if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(tsUrl))) {
      return { url: tsUrl.href, shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  const st = statSync(path);
  const key = createHash('sha256').update(`${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  const cached = join(CACHE, `${key}.mjs`);
  if (existsSync(cached)) return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  ts ??= (await import('typescript')).default;
  const out = ts.transpileModule(readFileSync(path, 'utf8'), {
    fileName: path,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  }).outputText;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, cached);
  return { format: 'module', source: out, shortCircuit: true };
}
