import type { CandidateScan } from './scan-rows.js';

/** Rows of the database scanned per block (a block of 64 x dim floats stays in L2 with the query block). */
const BLOCK = 64;

/**
 * The first pass in plain JS, for runtimes without WebAssembly SIMD: float64 sums of float32 products (each exact),
 * over cache-sized blocks of rows.
 */
export const jsScan: CandidateScan = (rows, queries, heaps) => {
  const { dim, size: n, norms } = rows;
  const data = rows.store.data;
  const q = queries.data;
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(n, b0 + BLOCK);
    for (let qi = 0; qi < queries.rows; qi++) {
      const qo = qi * dim;
      const heap = heaps[qi];
      for (let r = b0; r < b1; r++) {
        const o = r * dim;
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0;
        let j = 0;
        for (; j + 3 < dim; j += 4) {
          s0 += data[o + j] * q[qo + j];
          s1 += data[o + j + 1] * q[qo + j + 1];
          s2 += data[o + j + 2] * q[qo + j + 2];
          s3 += data[o + j + 3] * q[qo + j + 3];
        }
        for (; j < dim; j++) s0 += data[o + j] * q[qo + j];
        heap.push(norms[r] - 2 * (s0 + s1 + s2 + s3), r);
      }
    }
  }
  // Float64 sums of exact float32 products.
  return 2 * dim * 2 ** -53;
};
