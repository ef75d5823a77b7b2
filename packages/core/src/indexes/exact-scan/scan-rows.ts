import type { Matrix } from '../../matrix.js';
import type { TopK } from '../../compute/top-k.js';
import type { FlatStore } from '../flat-store.js';

/** What a candidate scan reads of an exact index: its rows where they are stored, and their squared norms. */
export interface ScanRows {
  readonly store: FlatStore;
  /** Squared norm of each row, in float64 (`[size]` at least). */
  readonly norms: Float64Array;
  readonly dim: number;
  readonly size: number;
  /**
   * Whether the score ranks by the dot product alone (`-2 q.x`, the cosine index's unit rows) rather than by
   * `|x|^2 - 2 q.x`.
   */
  readonly rankByDot: boolean;
}

/**
 * A first pass of the exact search: offers every row's score `|x|^2 - 2 q.x` (as computed, with rounding) to each
 * query's heap, and returns the factor `f` of its rounding bound: every offered score is within
 * `f |q| max|x| + 2^-48 (|q|^2 + max|x|^2)` of its float64 value (see `ExactEuclideanIndex.search`).
 */
export type CandidateScan = (rows: ScanRows, queries: Matrix, heaps: TopK[]) => number;

/** Unit roundoff of float32, for the error bound of float32 dot products. */
export const U32 = 2 ** -24;
/** Queries per SIMD pass over a block of rows (their 1 KB chunks, 64 KB, stay in L2). */
export const QUERY_TILE = 64;
/** Scores per SIMD block: bounds the block's `[rows, tile]` float64 output (8 MB). */
export const SIMD_OUT = 1 << 20;

/**
 * Rows per call when a long pass over the rows is cut up: V8 runs a wasm call to its end in the code it started in,
 * so only later calls run in the optimised tier.
 */
const PASS_CHUNK = 8192;

/** Calls `fn(c0, c1)` over `[0, n)` in chunks of {@link PASS_CHUNK} rows. */
export function forChunks(n: number, fn: (c0: number, c1: number) => void): void {
  for (let c0 = 0; c0 < n; c0 += PASS_CHUNK) fn(c0, Math.min(n, c0 + PASS_CHUNK));
}

/**
 * The candidates a SIMD kernel selected, per thread's share, in row order: `counts` as `kernels.rows` returns them
 * (the calling thread's share, the last, first), `starts[part]` the share's first row (relative to `b0`); each
 * candidate `(row, query)` slot counts from its share's first row times `t`. Calls `fn(c, row)` for each.
 */
export function eachCandidate(
  counts: number[],
  starts: number[],
  b0: number,
  t: number,
  rowsOfShare: Int32Array,
  fn: (c: number, row: number) => void,
): void {
  const byPart = counts.length === 1 ? counts : [...counts.slice(1), counts[0]];
  byPart.forEach((count, part) => {
    const r0 = b0 + starts[part];
    const from = starts[part] * t;
    for (let c = from; c < from + count; c++) fn(c, r0 + rowsOfShare[c]);
  });
}
