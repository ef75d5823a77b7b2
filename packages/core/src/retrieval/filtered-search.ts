import { CbirError } from '../errors.js';
import type { Index, SearchResult } from '../indexes/index.js';
import type { Matrix } from '../matrix.js';

/**
 * The `k` nearest to each query among the items `among` (a filter's matching ids): through the index's own
 * `searchAmong` where it has one (exact for the exact kinds; HNSW searches deeper, or scans the matching rows exactly
 * when they are few), else by searching deeper until `k` matching items are found or the whole index has been
 * searched, dropping the rest. Rows with fewer than `k` matches are padded with id -1 and distance Infinity.
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for a bad `k`.
 * @example
 * ```ts
 * const filter = whereFilter("label = 'beach'", METADATA_COLUMNS);
 * const among = index.idList().filter((id) => filter.test({ id, ...index.metadata(id) }));
 * const { ids, distances } = searchFiltered(index, queries, 10, among);
 * ```
 */
export function searchFiltered(index: Index, queries: Matrix, k: number, among: ArrayLike<number>): SearchResult {
  if (!(Number.isInteger(k) && k >= 1))
    throw new CbirError('INVALID_ARGUMENT', `searchFiltered: k must be a whole number >= 1, got ${k}.`);
  if (index.searchAmong) return index.searchAmong(queries, k, among);
  return widenedSearch((q, depth) => index.search(q, depth), index.size, queries, k, among);
}

/**
 * A filtered search by searching deeper: `depth` starts at what the filter's selectivity suggests (twice `k` over the
 * matching share, at least `k + 16`) and grows four times until every query has `k` matching results or the whole
 * collection has been searched. `search` is given every query each time. @internal
 */
export function widenedSearch(
  search: (queries: Matrix, depth: number) => SearchResult,
  size: number,
  queries: Matrix,
  k: number,
  among: ArrayLike<number>,
): SearchResult {
  const nq = queries.rows;
  const ids = new Float64Array(nq * k).fill(-1);
  const distances = new Float64Array(nq * k).fill(Infinity);
  const allowed = among instanceof Set ? (among as Set<number>) : new Set<number>(Array.from(among));
  if (allowed.size === 0 || size === 0) return { nq, k, ids, distances };
  let depth = Math.min(size, Math.max(k + 16, Math.ceil((2 * k * size) / allowed.size)));
  for (;;) {
    const res = search(queries, depth);
    let short = false;
    for (let q = 0; q < nq; q++) {
      let j = 0;
      for (let t = 0; t < res.k && j < k; t++) {
        const id = res.ids[q * res.k + t];
        if (id >= 0 && allowed.has(id)) {
          ids[q * k + j] = id;
          distances[q * k + j] = res.distances[q * res.k + t];
          j++;
        }
      }
      if (j < k) short = true;
    }
    if (!short || depth >= size) return { nq, k, ids, distances };
    depth = Math.min(size, depth * 4);
  }
}
