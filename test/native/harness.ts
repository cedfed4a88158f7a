/**
 * Shared by test/native: runs child/binary-exact.mjs in a fresh node (so the addon's load-time dispatch
 * runs again under the given NODEGRAD_ISA), optionally under qemu-x86_64 with an emulated CPU model, and
 * works out from the OS which ISA path this machine should get.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { IsaInfo, IsaName } from '../../src/backends/native/index.js';

export const CHILD = fileURLToPath(new URL('./child/binary-exact.mjs', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildFailure { readonly case: string; readonly op: string; readonly n: number; readonly i: number; readonly got: string; readonly want?: string }
export interface ChildReport {
  readonly info?: IsaInfo;
  readonly checked?: number;
  readonly failures?: readonly ChildFailure[];
  readonly loadError?: string;
}

/** Runs the exactness child; `isa` undefined leaves NODEGRAD_ISA unset; `qemuCpu` runs it under qemu-x86_64. */
export function runChild(isa: string | undefined, qemuCpu?: string, script = CHILD): ChildReport {
  const env = { ...process.env };
  delete env.NODEGRAD_ISA;
  if (isa !== undefined) env.NODEGRAD_ISA = isa;
  const [cmd, args] = qemuCpu
    ? ['qemu-x86_64', ['-cpu', qemuCpu, process.execPath, script]]
    : [process.execPath, [script]];
  // qemu prints "TCG doesn't support requested feature" warnings on stderr; the report is stdout's last line.
  const stdout = execFileSync(cmd, args, { env, cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 110_000 });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ChildReport;
}

/** Runs a one-line CommonJS script (`node -e`) in the package root, natively or under qemu-x86_64; returns stdout. */
export function runEval(code: string, qemuCpu?: string, isa?: string): string {
  const env = { ...process.env };
  delete env.NODEGRAD_ISA;
  if (isa !== undefined) env.NODEGRAD_ISA = isa;
  const [cmd, args] = qemuCpu
    ? ['qemu-x86_64', ['-cpu', qemuCpu, process.execPath, '-e', code]]
    : [process.execPath, ['-e', code]];
  return execFileSync(cmd, args, { env, cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 110_000 }).trim();
}

/** True when `qemu-x86_64 --version` runs. */
export function hasQemuX86(): boolean {
  const r = spawnSync('qemu-x86_64', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * The best ISA path the OS says this machine has, independently of the addon's own cpuid code:
 * /proc/cpuinfo flags on Linux x64 (the kernel drops flags whose register state it does not enable),
 * sysctl on macOS x64, 'neon' on arm64. null where we cannot tell (Windows x64).
 */
export function expectedIsa(): IsaName | null {
  if (process.arch === 'arm64') return 'neon';
  if (process.arch !== 'x64') return 'scalar';
  let has: (flag: string) => boolean;
  if (process.platform === 'linux') {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    if (!line) return null;
    const flags = new Set(line.split(':')[1].trim().split(/\s+/));
    has = (f) => flags.has(f);
  } else if (process.platform === 'darwin') {
    const sysctlName: Record<string, string> = { avx: 'avx1_0', avx2: 'avx2_0' };
    has = (f) => {
      const r = spawnSync('sysctl', ['-n', `hw.optional.${sysctlName[f] ?? f}`], { encoding: 'utf8' });
      return r.status === 0 && r.stdout.trim() === '1';
    };
  } else {
    return null;
  }
  const avx2 = has('avx') && has('avx2') && has('fma');
  if (avx2 && ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every(has)) return 'avx512';
  return avx2 ? 'avx2' : 'scalar';
}

/** The paths a machine whose best path is `best` can run, fastest first. */
export function pathsBelow(best: IsaName): IsaName[] {
  switch (best) {
    case 'avx512': return ['avx512', 'avx2', 'scalar'];
    case 'avx2': return ['avx2', 'scalar'];
    case 'neon': return ['neon', 'scalar'];
    default: return ['scalar'];
  }
}
