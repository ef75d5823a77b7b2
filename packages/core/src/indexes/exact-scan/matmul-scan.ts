import * as tf from '@tensorflow/tfjs-core';
import type { TopK } from '../../compute/top-k.js';
import { U32, type CandidateScan } from './scan-rows.js';

/**
 * Columns per `matMul` product. Its float32 accumulation error grows with the columns summed, and past this the
 * exactness check (see `ExactEuclideanIndex.search`) sent so many queries to the float64 fallback that a JS scan was
 * faster (measured at d = 65,536 unchunked: 25 s against 14 s for 50 queries over 5,000 rows); wider vectors are
 * scanned by chunks.
 */
const MATMUL_CHUNK = 4096;
/** Database rows per `matMul` block: bounds the `[block, nq]` score matrix. */
const MATMUL_ROWS = 8192;
/** Floats of the database per `matMul` block (64 MB): bounds the block uploaded to the backend. */
const MATMUL_BLOCK = 1 << 24;

/**
 * The first pass on the active tfjs backend's `matMul` (a GPU or native backend): `X Q^T` by blocks of rows, and past
 * {@link MATMUL_CHUNK} columns by chunks of columns whose float32 products are added in float64 (so that the rounding
 * bound, and the exactness check's fallbacks, stay those of a {@link MATMUL_CHUNK}-wide product). Neither operand is
 * transposed inside `matMul`: tfjs's wasm kernel leaves the fast XNNPACK path for transposed operands.
 */
export const matMulScan: CandidateScan = (rows, queries, heaps) => {
  const { dim, size: n, store } = rows;
  const nq = queries.rows;
  const chunks: [number, number][] = [];
  for (let c0 = 0; c0 < dim; c0 += MATMUL_CHUNK) chunks.push([c0, Math.min(dim, c0 + MATMUL_CHUNK)]);
  const Qt = tf.tidy(() => {
    const t = tf.transpose(tf.tensor2d(queries.data.subarray(0, nq * dim), [nq, dim]));
    return chunks.length === 1 ? [t] : chunks.map(([c0, c1]) => tf.slice(t, [c0, 0], [c1 - c0, nq]));
  });
  const blockRows = Math.max(1, Math.min(MATMUL_ROWS, Math.floor(MATMUL_BLOCK / dim)));
  const acc = chunks.length > 1 ? new Float64Array(blockRows * nq) : undefined;
  try {
    for (let b0 = 0; b0 < n; b0 += blockRows) {
      const b1 = Math.min(n, b0 + blockRows);
      const m = b1 - b0;
      let s: ArrayLike<number>; // [m, nq]
      if (!acc) s = blockScores(() => tf.matMul(tf.tensor2d(store.data.subarray(b0 * dim, b1 * dim), [m, dim]), Qt[0]));
      else {
        acc.fill(0);
        const X = tf.tensor2d(store.data.subarray(b0 * dim, b1 * dim), [m, dim]);
        try {
          chunks.forEach(([c0, c1], c) => {
            const part = blockScores(() => tf.matMul(tf.slice(X, [0, c0], [m, c1 - c0]), Qt[c]));
            for (let t = 0; t < m * nq; t++) acc[t] += part[t];
          });
        } finally {
          X.dispose();
        }
        s = acc;
      }
      pushScores(rows.norms, s, heaps, b0, b1, nq);
    }
  } finally {
    tf.dispose(Qt);
  }
  return 2 * Math.min(dim, MATMUL_CHUNK) * U32;
};

/** Offers rows `[b0, b1)` to the heaps: `dots` holds their products, row-major `[b1 - b0, nq]`. */
function pushScores(norms: Float64Array, dots: ArrayLike<number>, heaps: TopK[], b0: number, b1: number, nq: number) {
  for (let r = b0, o = 0; r < b1; r++) {
    const norm = norms[r];
    for (let qi = 0; qi < nq; qi++, o++) {
      const v = norm - 2 * dots[o];
      const heap = heaps[qi];
      if (v < heap.worst) heap.push(v, r);
    }
  }
}

/** Runs `fn` in a tidy scope and reads its result back. */
function blockScores(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const s = t.dataSync() as Float32Array;
  t.dispose();
  return s;
}
