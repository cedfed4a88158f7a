/** Error-bound sums of the Winograd F(2x2, 3x3) paths, shared by the native conv tests. */

/**
 * The Winograd weight gradient's (native/runtime/conv_wino.cc) sum over absolute values, with the forward's 2x2
 * tiling, per dW element [a][b][ci][co]:
 *   W = sum_tiles sum_xi |G^T|[a][xi_r] |G^T|[b][xi_c] (|B^T| |d| |B|)[xi] (|A| |dy_tile| |A^T|)[xi]
 * (d: the tile's 4x4 input patch, dy_tile its 2x2 output gradient); its error is at most gamma(tiles + 8) W.
 * x [n, h, w, cin], dy [n, oh, ow, cout], 3x3 stride 1.
 */
export function winogradFilterAbsSum(
  x: ArrayLike<number>, [n, h, w, cin]: readonly number[], dy: ArrayLike<number>, cout: number, padTop: number, padLeft: number,
  oh: number, ow: number,
): Float64Array {
  const BT = [[1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]]; // |B^T|
  const A = [[1, 0], [1, 1], [1, 1], [0, 1]]; // |A|
  const GT = [[1, 0.5, 0.5, 0], [0, 0.5, 0.5, 0], [0, 0.5, 0.5, 1]]; // |G^T|
  const U = new Float64Array(16 * cin * cout);
  const V = new Float64Array(16 * cin);
  const M = new Float64Array(16 * cout);
  for (let b = 0; b < n; b++) {
    for (let ty = 0; ty < Math.ceil(oh / 2); ty++) {
      for (let tx = 0; tx < Math.ceil(ow / 2); tx++) {
        V.fill(0);
        M.fill(0);
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            for (let p = 0; p < 4; p++) {
              for (let q = 0; q < 4; q++) {
                const iy = 2 * ty - padTop + p, ix = 2 * tx - padLeft + q;
                const coef = BT[i][p] * BT[j][q];
                if (coef === 0 || iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                for (let ci = 0; ci < cin; ci++) V[(i * 4 + j) * cin + ci] += coef * Math.abs(x[((b * h + iy) * w + ix) * cin + ci]);
              }
            }
            for (let p = 0; p < 2; p++) {
              for (let q = 0; q < 2; q++) {
                const oy = 2 * ty + p, ox = 2 * tx + q;
                const coef = A[i][p] * A[j][q];
                if (coef === 0 || oy >= oh || ox >= ow) continue;
                for (let co = 0; co < cout; co++) M[(i * 4 + j) * cout + co] += coef * Math.abs(dy[((b * oh + oy) * ow + ox) * cout + co]);
              }
            }
          }
        }
        for (let xi = 0; xi < 16; xi++) {
          for (let ci = 0; ci < cin; ci++) {
            const v = V[xi * cin + ci];
            if (v === 0) continue;
            const row = (xi * cin + ci) * cout;
            for (let co = 0; co < cout; co++) U[row + co] += v * M[xi * cout + co];
          }
        }
      }
    }
  }
  const out = new Float64Array(9 * cin * cout);
  const plane = cin * cout;
  for (let a = 0; a < 3; a++) {
    for (let q = 0; q < 3; q++) {
      for (let xi = 0; xi < 16; xi++) {
        const coef = GT[a][xi >> 2] * GT[q][xi & 3];
        if (coef === 0) continue;
        for (let e = 0; e < plane; e++) out[(a * 3 + q) * plane + e] += coef * U[xi * plane + e];
      }
    }
  }
  return out;
}
