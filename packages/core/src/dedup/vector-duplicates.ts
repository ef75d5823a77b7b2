import { CbirError, throwIfAborted } from '../errors.js';
import type { Index } from '../indexes/index.js';
import type { LongRunning } from '../progress.js';

/** Options of {@link vectorDuplicates}. */
export interface VectorDuplicatesOptions extends LongRunning {
  /** Pairs at this distance or less (in the index's metric: `1 - cos` for a cosine index) are duplicates. */
  maxDistance: number;
  /**
   * Neighbours asked for per item at first; an item whose k-th neighbour is still within `maxDistance` is asked again
   * with 4k, so a large group is found whole. @defaultValue 16
   */
  k?: number;
}

/** Two items of an index whose vectors are within the threshold: positions in `index.idList()`, `a < b`. */
export interface VectorDuplicatePair {
  a: number;
  b: number;
  distance: number;
}

/** Items searched per batch. */
const BATCH = 256;

/**
 * Every pair of items of an index whose vectors are at most `maxDistance` apart: each item's own vector searched in
 * the index (batched), its neighbours within the threshold kept, the search widened for an item whose neighbours are
 * all within it. So features of any cbir extractor find duplicates through cbir's own indexes, never by comparing every
 * pair. With an exact index (`ExactEuclideanIndex`, `CosineIndex`) the pairs are exactly those a comparison of every
 * pair finds; with an approximate one (HNSW) they are what its search returns. Sorted by `a`, then distance, then `b`;
 * the distance is the smaller of the two searches' (they agree for exact indexes).
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for a negative or non-finite threshold, or `k` below 1;
 *   `AbortedError` at `signal`.
 * @example
 * ```ts
 * const index = new CosineIndex(features.matrix.cols);
 * index.add(features.matrix);
 * for (const { a, b, distance } of vectorDuplicates(index, { maxDistance: 0.02 }))
 *   console.log(features.ids[a], features.ids[b], distance);
 * ```
 */
export function vectorDuplicates(index: Index, options: VectorDuplicatesOptions): VectorDuplicatePair[] {
  const { maxDistance, signal, onProgress } = options;
  const k0 = options.k ?? 16;
  if (!(Number.isFinite(maxDistance) && maxDistance >= 0))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `vectorDuplicates: maxDistance must be a finite number >= 0, got ${maxDistance}.`,
    );
  if (!(Number.isInteger(k0) && k0 >= 1))
    throw new CbirError('INVALID_ARGUMENT', `vectorDuplicates: k must be a whole number >= 1, got ${k0}.`);
  const ids = index.idList();
  const n = ids.length;
  const position = new Map<number, number>();
  ids.forEach((id, i) => position.set(id, i));
  const dim = index.dim;
  /** Smallest distance seen for each pair, keyed a * n + b. */
  const found = new Map<number, number>();
  let todo = ids.map((_, i) => i);
  let k = Math.min(k0 + 1, n); // +1: an item finds itself
  while (todo.length > 0 && k > 0) {
    const again: number[] = [];
    for (let start = 0; start < todo.length; start += BATCH) {
      throwIfAborted(signal, 'vectorDuplicates');
      const rows = todo.slice(start, start + BATCH);
      const data = new Float32Array(rows.length * dim);
      rows.forEach((p, r) => data.set(index.vector(ids[p])!, r * dim));
      const res = index.search({ data, rows: rows.length, cols: dim }, k);
      rows.forEach((p, r) => {
        let within = 0;
        for (let j = 0; j < res.k; j++) {
          const id = res.ids[r * res.k + j];
          const d = res.distances[r * res.k + j];
          if (id < 0 || !(d <= maxDistance)) continue;
          within++;
          const q = position.get(id)!;
          if (q === p) continue;
          const key = Math.min(p, q) * n + Math.max(p, q);
          const seen = found.get(key);
          if (seen === undefined || d < seen) found.set(key, Math.max(0, d));
        }
        if (within === res.k && k < n) again.push(p);
      });
      onProgress?.({ stage: 'dedup', done: Math.min(start + BATCH, todo.length), total: todo.length });
    }
    todo = again;
    k = Math.min(k * 4, n);
  }
  return [...found]
    .map(([key, distance]) => ({ a: Math.floor(key / n), b: key % n, distance }))
    .sort((x, y) => x.a - y.a || x.distance - y.distance || x.b - y.b);
}
