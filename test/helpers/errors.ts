/** Bad-input assertions: the error class, and a message that names the op, the argument and the shapes. */
import { expect } from 'vitest';

/** Runs fn, expecting an error of `Kind` whose message contains every fragment. */
export function expectError(fn: () => unknown, Kind: new (...a: never[]) => Error, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${Kind.name}`).toBeInstanceOf(Kind);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}
