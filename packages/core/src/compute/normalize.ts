/**
 * Scales `v` to unit L2 norm in place, its squared norm summed in float64, and returns that norm (0 for a zero vector,
 * which stays zero). A norm below `floor` is taken as `floor`, so near-zero vectors are not blown up. The one
 * normalisation every feature path and index uses (embeddings, extractors, fusion blocks, cosine rows).
 * @internal
 */
export function scaleToUnit(v: Float32Array | Float64Array, floor = 0): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const norm = Math.sqrt(s);
  if (norm > 0) {
    const k = 1 / Math.max(norm, floor);
    for (let i = 0; i < v.length; i++) v[i] *= k;
  }
  return norm;
}

/**
 * Scales each row of a row-major `[rows, cols]` array to unit L2 norm in place (zero rows stay zero).
 * @internal
 */
export function scaleRowsToUnit(data: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) scaleToUnit(data.subarray(r * cols, (r + 1) * cols));
}
