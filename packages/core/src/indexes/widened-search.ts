import type { Matrix } from '../matrix.js';
import type { SearchResult } from './index.js';

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
  among: ArrayLike<number> | ReadonlySet<number>,
): SearchResult {
  const nq = queries.rows;
  const ids = new Float64Array(nq * k).fill(-1);
  const distances = new Float64Array(nq * k).fill(Infinity);
  const allowed =
    among instanceof Set ? (among as ReadonlySet<number>) : new Set<number>(Array.from(among as ArrayLike<number>));
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
