/** Float64 copies of points given as any array (the float64 loops read them as such). */
export function asFloat64(points: ArrayLike<number>): Float64Array {
  return points instanceof Float64Array ? points : Float64Array.from(points);
}

/** `sum_j (a[ao + j] - b[bo + j])^2` in float64, four accumulators. */
export function squaredDistance(a: Float32Array, ao: number, b: Float64Array, bo: number, dim: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    const d0 = a[ao + j] - b[bo + j];
    const d1 = a[ao + j + 1] - b[bo + j + 1];
    const d2 = a[ao + j + 2] - b[bo + j + 2];
    const d3 = a[ao + j + 3] - b[bo + j + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; j < dim; j++) {
    const d0 = a[ao + j] - b[bo + j];
    s0 += d0 * d0;
  }
  return s0 + s1 + s2 + s3;
}

/**
 * Squared distances from dot products, `|x_i|^2 + |p_c|^2 - 2 x_i.p_c` clamped at 0, into `out` (`[n, m]`): the GEMM
 * form every engine's distance matrix ends with. Norms are read from `xNorms[x0 + i]` and `pNorms[p0 + c]`.
 */
export function distancesFromDots(
  dots: ArrayLike<number>,
  xNorms: ArrayLike<number>,
  x0: number,
  pNorms: ArrayLike<number>,
  p0: number,
  n: number,
  m: number,
  out: Float64Array,
): Float64Array {
  for (let i = 0; i < n; i++) {
    const xn = xNorms[x0 + i];
    for (let c = 0; c < m; c++) {
      const v = xn + pNorms[p0 + c] - 2 * dots[i * m + c];
      out[i * m + c] = v > 0 ? v : 0;
    }
  }
  return out;
}

/** The position of the smallest of `scores[0..m)`, the lowest on ties: every JS nearest-point search ends with it. */
export function argmin(scores: ArrayLike<number>, m: number): number {
  let best = 0;
  for (let c = 1; c < m; c++) if (scores[c] < scores[best]) best = c;
  return best;
}
