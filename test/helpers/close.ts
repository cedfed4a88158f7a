/**
 * Elementwise closeness with tolerances the caller derives: |a - e| <= atol + rtol * |e|.
 * On failure the message names the case, the first bad flat index, both values and the worst error.
 */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /** Names the case in the failure message, e.g. the shape and attributes. */
  what?: string;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 0, atol = 0, what = '' }: CloseOptions = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = 0;
  let firstBad = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const ok = (Number.isNaN(a) && Number.isNaN(e)) || a === e || err <= atol + rtol * Math.abs(e);
    if (!ok) {
      if (firstBad < 0) firstBad = i;
      if (!(err <= worst)) worst = err;
    }
  }
  if (firstBad >= 0) {
    throw new Error(
      `${what}: mismatch at flat index ${firstBad}: got ${actual[firstBad]}, expected ${expected[firstBad]} ` +
        `(worst |error| ${worst}, atol ${atol}, rtol ${rtol}, n ${actual.length})`,
    );
  }
}

/** float32 unit roundoff. */
export const EPS32 = 2 ** -24;

/** float64 unit roundoff. */
export const EPS64 = 2 ** -53;
