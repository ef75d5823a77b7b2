import { withScratch } from '../../compute/wasm-simd/simd-kernels.js';
import { eachCandidate, QUERY_TILE, SIMD_OUT, U32, type CandidateScan } from './scan-rows.js';

/** Columns the SIMD kernel sums in float32 before adding into float64 (`CHUNK` in compute/wasm-simd/kernels/). */
const SIMD_CHUNK = 256;

/**
 * The first pass on cbir's SIMD kernels, on the rows where they live: float32 products summed in float32 over chunks
 * of {@link SIMD_CHUNK} columns, then in float64 (`dots_f32`); only scores below a query's current worst kept one
 * leave the kernels (`select_below_f64`, on the same threads). The store must have its SIMD rows.
 */
export const simdScan: CandidateScan = (rowsOf, queries, heaps) => {
  const { dim, size: n, norms } = rowsOf;
  const nq = queries.rows;
  const { kernels, rows } = rowsOf.store.simd!;
  return withScratch(kernels, () => {
    // Queries by tiles of QUERY_TILE, whose chunks stay in L2 while blocks of rows stream past them.
    const tile = Math.min(nq, QUERY_TILE);
    const block = Math.max(4, Math.min(n, Math.floor(SIMD_OUT / tile)));
    const qb = kernels.alloc(nq * dim, 4);
    const ob = kernels.alloc(block * tile, 8);
    // The block's norms, the tile's thresholds, and the candidates select_below_f64 writes (room for every score).
    const nb = kernels.alloc(block, 8);
    const tb = kernels.alloc(tile, 8);
    const cr = kernels.alloc(block * tile, 4);
    const cq = kernels.alloc(block * tile, 4);
    const cv = kernels.alloc(block * tile, 8);
    kernels.f32(qb).set(queries.data.subarray(0, nq * dim));
    const starts: number[] = [];
    for (let b0 = 0; b0 < n; b0 += block) {
      const b1 = Math.min(n, b0 + block);
      kernels.f64(nb).set(norms.subarray(b0, b1));
      for (let t0 = 0; t0 < nq; t0 += tile) {
        const t = Math.min(tile, nq - t0);
        const qp = qb.ptr + t0 * dim * 4;
        kernels.rows('dots_f32', b1 - b0, t * dim, (r0, r1) => [
          rows.ptr + (b0 + r0) * dim * 4,
          r1 - r0,
          qp,
          t,
          dim,
          ob.ptr + r0 * t * 8,
        ]);
        const thr = kernels.f64(tb);
        for (let j = 0; j < t; j++) thr[j] = heaps[t0 + j].worst;
        const counts = kernels.rows('select_below_f64', b1 - b0, t, (r0, r1, part) => {
          starts[part] = r0;
          return [
            ob.ptr + r0 * t * 8,
            r1 - r0,
            t,
            nb.ptr + r0 * 8,
            tb.ptr,
            cr.ptr + r0 * t * 4,
            cq.ptr + r0 * t * 4,
            cv.ptr + r0 * t * 8,
          ];
        });
        // Pushed in row order, as one scan would push them.
        const candQ = kernels.i32(cq);
        const candV = kernels.f64(cv);
        eachCandidate(counts, starts, b0, t, kernels.i32(cr), (c, r) => {
          const heap = heaps[t0 + candQ[c]];
          if (candV[c] < heap.worst) heap.push(candV[c], r);
        });
      }
    }
    // Each SIMD lane sums SIMD_CHUNK / 4 products in float32 (one more rounding each), then float64 takes over.
    return 2 * (Math.min(dim, SIMD_CHUNK) / 4 + 2) * U32;
  });
};
