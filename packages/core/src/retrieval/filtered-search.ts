import { CbirError } from '../errors.js';
import type { Index, SearchResult } from '../indexes/index.js';
import type { Matrix } from '../matrix.js';
import { widenedSearch } from '../indexes/widened-search.js';

export { widenedSearch };

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
export function searchFiltered(
  index: Index,
  queries: Matrix,
  k: number,
  among: ArrayLike<number> | ReadonlySet<number>,
): SearchResult {
  if (!(Number.isInteger(k) && k >= 1))
    throw new CbirError('INVALID_ARGUMENT', `searchFiltered: k must be a whole number >= 1, got ${k}.`);
  if (index.searchAmong) return index.searchAmong(queries, k, among);
  return widenedSearch((q, depth) => index.search(q, depth), index.size, queries, k, among);
}
