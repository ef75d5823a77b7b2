import { CbirError } from '../errors.js';
import type { AsyncIndex, Index, SearchResult } from '../indexes/index.js';
import type { Matrix } from '../matrix.js';
import { searchReranked, type Reranker } from '../rerank/rerank.js';

/**
 * Precision at k of one ranked list: the fraction of the first `k` results that are relevant.
 * Padding (`-1`) counts as not relevant.
 *
 * @example
 * ```ts
 * precisionAtK([7, 3, 9, 1], (id) => id < 5, 2);   // 0.5: one of the first two is relevant
 * ```
 */
export function precisionAtK(ranked: ArrayLike<number>, relevant: (id: number) => boolean, k: number): number {
  let hits = 0;
  for (let j = 0; j < k && j < ranked.length; j++) if (ranked[j] >= 0 && relevant(ranked[j])) hits++;
  return hits / k;
}

/**
 * Average precision of one ranked list: the mean over relevant items of the precision at their rank,
 * `(1 / R) * sum_{i relevant} P@i`, where `R` is the number of relevant items in the collection (so relevant items
 * missing from the list count as zero).
 *
 * @example
 * ```ts
 * const ap = averagePrecision([4, 9, 2], (id) => labelOf(id) === 'cat', 2); // 2 relevant items exist in all
 * ```
 */
export function averagePrecision(
  ranked: ArrayLike<number>,
  relevant: (id: number) => boolean,
  totalRelevant: number,
): number {
  if (totalRelevant === 0) return 0;
  let hits = 0;
  let sum = 0;
  for (let j = 0; j < ranked.length; j++) {
    if (ranked[j] >= 0 && relevant(ranked[j])) {
      hits++;
      sum += hits / (j + 1);
    }
  }
  return sum / totalRelevant;
}

/**
 * Recall at k of an approximate search against the exact one: the mean fraction of each exact top-k found.
 *
 * @example
 * ```ts
 * const recall = recallAtK(lsh.search(q, 10), exact.search(q, 10));   // share of the true top 10 found
 * ```
 */
export function recallAtK(approx: SearchResult, exact: SearchResult, k = exact.k): number {
  if (approx.nq !== exact.nq)
    throw new CbirError('INVALID_ARGUMENT', `recallAtK: ${approx.nq} approximate rows but ${exact.nq} exact rows.`);
  let sum = 0;
  for (let q = 0; q < exact.nq; q++) {
    const truth = new Set<number>();
    for (let j = 0; j < k; j++) if (exact.ids[q * exact.k + j] >= 0) truth.add(exact.ids[q * exact.k + j]);
    let found = 0;
    for (let j = 0; j < Math.min(k, approx.k); j++) if (truth.has(approx.ids[q * approx.k + j])) found++;
    sum += truth.size ? found / truth.size : 1;
  }
  return sum / exact.nq;
}

/** Retrieval quality by label. */
export interface RetrievalReport {
  /** Mean P@k over the queries, by k. */
  precisionAtK: Record<number, number>;
  /** Mean average precision over the queries. */
  meanAveragePrecision: number;
  queries: number;
  perClass: Record<string, { queries: number; precisionAtK: Record<number, number>; meanAveragePrecision: number }>;
}

/**
 * Leave-one-out retrieval evaluation, as CBIR papers report it on Wang-1K: every labelled item queries the index;
 * the item itself is excluded from its results; a result is relevant when it has the query's label. Reports P@k for
 * each `k` and mAP (over the full ranking), overall and per class. With `options.reranker` (diffusion, query
 * expansion) each query's ranking is re-ranked first, the query taken as the indexed item it is.
 *
 * @param index - Holds the items of `features` under `ids` (e.g. built by `cbir index`).
 * @param features - The same items' vectors (`[n, dim]`), ids and labels.
 *
 * @example
 * ```ts
 * const report = evaluateRetrieval(index, { matrix, ids: matrix.rows ? ids : [], labels }, [1, 5, 10]);
 * console.log(report.precisionAtK[10], report.meanAveragePrecision, report.perClass);
 * ```
 */
export function evaluateRetrieval(
  index: Index,
  features: { matrix: Matrix; ids: readonly number[]; labels: readonly (string | undefined)[] },
  ks: readonly number[],
  options: { reranker?: Reranker } = {},
): RetrievalReport {
  const { matrix, ids, labels } = features;
  const scorer = leaveOneOutScorer('evaluateRetrieval', features, ks);
  const depth = index.size; // full ranking for mAP
  // Re-ranked, queries go in batches (diffusion solves a batch together), each the indexed item itself (as the item
  // it is in the collection's graph); a batch's full rankings stay within ~64 MB.
  const batch = options.reranker ? Math.max(1, Math.floor(2 ** 26 / (16 * Math.max(1, depth)))) : 1;
  let batchResult: SearchResult | undefined;
  let first = 0;
  for (let i = 0; i < matrix.rows; i++) {
    if (labels[i] === undefined) continue;
    let ranked: ArrayLike<number>;
    if (options.reranker) {
      if (!batchResult || i >= first + batchResult.nq) {
        first = i;
        const rows = Math.min(batch, matrix.rows - i);
        const queries = {
          data: matrix.data.subarray(i * matrix.cols, (i + rows) * matrix.cols),
          rows,
          cols: matrix.cols,
        };
        batchResult = searchReranked(index, options.reranker, queries, depth, ids.slice(i, i + rows));
      }
      ranked = batchResult.ids.subarray((i - first) * depth, (i - first + 1) * depth);
    } else
      ranked = index.search(
        { data: matrix.data.subarray(i * matrix.cols, (i + 1) * matrix.cols), rows: 1, cols: matrix.cols },
        depth,
      ).ids;
    scorer.add(i, ranked);
  }
  return scorer.report();
}

/**
 * {@link evaluateRetrieval} through `await`, for any index: in-memory ones and engines behind the {@link AsyncIndex}
 * contract (LanceDB). Queries go in batches of 64, each ranked in full (`k` = the index's size), so use it on
 * collections whose full rankings are affordable (evaluation sets, not the million-image index).
 *
 * @example
 * ```ts
 * const report = await evaluateRetrievalAsync(await LanceIndex.open('photos.lance'), { matrix, ids, labels }, [10]);
 * ```
 */
export async function evaluateRetrievalAsync(
  index: Index | AsyncIndex,
  features: { matrix: Matrix; ids: readonly number[]; labels: readonly (string | undefined)[] },
  ks: readonly number[],
): Promise<RetrievalReport> {
  return evaluateSearch((queries, k) => index.search(queries, k), features, ks, index.size);
}

/**
 * Leave-one-out P@k and mAP by label through any search: `search(queries, k, self)` ranks `k` items for each query
 * (`self` the queries' own ids, for a search that leaves them out), and `features` are the queries, which are also the
 * whole collection the search ranks (what is relevant to a query: the other items of its label among them). What
 * `cbir eval --where` runs over the items a filter passes, with the retriever's filtered search:
 * {@link evaluateRetrievalAsync} is this over an index's own search.
 *
 * @param depth How many results each query ranks: the collection's size, for mAP over the full ranking.
 * @example
 * ```ts
 * const beach = { matrix, ids, labels };   // the rows a filter passes
 * const report = await evaluateSearch(
 *   (q, k, self) => retriever.search(q, k, { where: "taken >= '2024-01-01'", self }),
 *   beach, [10], beach.ids.length,
 * );
 * ```
 */
export async function evaluateSearch(
  search: (queries: Matrix, k: number, self: number[]) => SearchResult | Promise<SearchResult>,
  features: { matrix: Matrix; ids: readonly number[]; labels: readonly (string | undefined)[] },
  ks: readonly number[],
  depth: number,
): Promise<RetrievalReport> {
  const { matrix, ids, labels } = features;
  const scorer = leaveOneOutScorer('evaluateSearch', features, ks);
  if (!Number.isInteger(depth) || depth < 1)
    throw new CbirError('INVALID_ARGUMENT', `evaluateSearch: depth must be a positive integer, got ${depth}.`);
  const rows = Array.from({ length: matrix.rows }, (_, i) => i).filter((i) => labels[i] !== undefined);
  for (let b = 0; b < rows.length; b += 64) {
    const batch = rows.slice(b, b + 64);
    const data = new Float32Array(batch.length * matrix.cols);
    batch.forEach((r, j) => data.set(matrix.data.subarray(r * matrix.cols, (r + 1) * matrix.cols), j * matrix.cols));
    const res = await search(
      { data, rows: batch.length, cols: matrix.cols },
      depth,
      batch.map((r) => ids[r]),
    );
    batch.forEach((r, j) => scorer.add(r, res.ids.subarray(j * res.k, (j + 1) * res.k)));
  }
  return scorer.report();
}

/** Leave-one-out P@k and AP by label, accumulated one ranking at a time (the query's own id is dropped from it). */
function leaveOneOutScorer(
  where: string,
  features: { matrix: Matrix; ids: readonly number[]; labels: readonly (string | undefined)[] },
  ks: readonly number[],
) {
  const { matrix, ids, labels } = features;
  if (ids.length !== matrix.rows || labels.length !== matrix.rows)
    throw new CbirError('INVALID_ARGUMENT', `${where}: ids, labels and matrix rows must have the same length.`);
  if (ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new CbirError('INVALID_ARGUMENT', `${where}: every k must be a positive integer, got ${ks.join(', ')}.`);
  const labelOf = new Map(ids.map((id, i) => [id, labels[i]]));
  const counts = new Map<string, number>();
  for (const l of labels) if (l !== undefined) counts.set(l, (counts.get(l) ?? 0) + 1);
  const sums = { p: new Map<number, number>(), ap: 0, n: 0 };
  const perClass = new Map<string, { p: Map<number, number>; ap: number; n: number }>();
  const mean = (m: Map<number, number>, n: number) =>
    Object.fromEntries(ks.map((k) => [k, n ? (m.get(k) ?? 0) / n : 0]));
  return {
    add(i: number, rankedIds: ArrayLike<number>): void {
      const label = labels[i]!;
      const ranked = Array.from(rankedIds).filter((id) => id !== ids[i]);
      const relevant = (id: number) => labelOf.get(id) === label;
      const c = perClass.get(label) ?? { p: new Map(), ap: 0, n: 0 };
      perClass.set(label, c);
      for (const k of ks) {
        const p = precisionAtK(ranked, relevant, k);
        sums.p.set(k, (sums.p.get(k) ?? 0) + p);
        c.p.set(k, (c.p.get(k) ?? 0) + p);
      }
      const ap = averagePrecision(ranked, relevant, counts.get(label)! - 1);
      sums.ap += ap;
      c.ap += ap;
      sums.n++;
      c.n++;
    },
    report(): RetrievalReport {
      return {
        precisionAtK: mean(sums.p, sums.n),
        meanAveragePrecision: sums.n ? sums.ap / sums.n : 0,
        queries: sums.n,
        perClass: Object.fromEntries(
          [...perClass]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([l, c]) => [l, { queries: c.n, precisionAtK: mean(c.p, c.n), meanAveragePrecision: c.ap / c.n }]),
        ),
      };
    },
  };
}
