import type { EmbeddingPipeline } from '../embedding/pipeline.js';
import type { ExtractorSpec } from '../features/extractor.js';
import type { RerankSpec } from '../rerank/rerank.js';
import { CbirError, DimensionMismatchError } from '../errors.js';
import { checkFiniteMatrix, type Matrix } from '../matrix.js';

/** Distance an index ranks by. */
export type Metric = 'euclidean' | 'cosine' | 'lsh';

/** Optional information kept with an id. */
export interface ItemMetadata {
  path?: string;
  label?: string;
}

/**
 * Results of a batched search, row-major `[nq, k]`: `ids[q * k + j]` is the j-th nearest item to query `q`.
 * Rows with fewer than `k` results are padded with id `-1` and distance `Infinity`, as faiss does.
 */
export interface SearchResult {
  nq: number;
  k: number;
  ids: Float64Array;
  distances: Float64Array;
}

/**
 * The contract every index implements (faiss-shaped, always batched).
 *
 * @example
 * ```ts
 * const index = new ExactEuclideanIndex(256);
 * index.add(features);                        // Matrix [n, 256]; ids 0..n-1
 * const { ids, distances } = index.search(queries, 10);
 * ```
 */
export interface Index {
  readonly dim: number;
  readonly size: number;
  readonly metric: Metric;
  /** Adds `vectors` (`[n, dim]`) under `ids` (default: `size`, `size + 1`, ...). */
  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void;
  /** The `k` nearest items to each query (`[nq, dim]`). */
  search(queries: Matrix, k: number): SearchResult;
  /** Removes `ids`; returns how many were present. */
  remove(ids: ArrayLike<number>): number;
  /** The vector stored for `id` (as the index keeps it: unit-normalised for cosine), or undefined. */
  vector(id: number): Float32Array | undefined;
  /** The ids in the index, in storage order. */
  idList(): number[];
  /** The metadata stored with `id`, if any. */
  metadata(id: number): ItemMetadata | undefined;
  /** The index as bytes (a framed cbir file), for `deserializeIndex`. */
  serialize(): Uint8Array;
  /**
   * What made the indexed vectors (model and fitted reducer), when they came from images: saved with the index so
   * queries are embedded the same way and a query through another model is refused.
   */
  pipeline?: EmbeddingPipeline;
  /**
   * The feature extractor and its fitted state, when the vectors came from one (hand-crafted, fused, pretrained):
   * saved with the index so a query image is extracted and normalised exactly as the collection was.
   */
  extractor?: ExtractorSpec;
  /** A re-ranker built over this index (its graph, for diffusion), saved with it; see `restoreReranker`. */
  rerank?: RerankSpec;
}

/** Checks a matrix at an index boundary: shape, dim, finite values. */
export function checkMatrix(where: string, m: Matrix, dim: number, what: string): void {
  if (m && m.data instanceof Float32Array && m.cols !== dim) {
    throw new DimensionMismatchError(`${where}: ${what} have ${m.cols} columns but the index has dim ${dim}. Embed them with the encoder and reducer that built the index.`);
  }
  checkFiniteMatrix(where, m, what);
}

/** Checks `k`. */
export function checkK(where: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new CbirError('INVALID_ARGUMENT', `${where}: k must be a positive integer, got ${k}.`);
}

/** Resolves the ids of an `add`: given ones (checked) or the next consecutive ones. */
export function resolveIds(where: string, n: number, given: ArrayLike<number> | undefined, taken: (id: number) => boolean, next: number): number[] {
  const ids = given ? Array.from(given) : Array.from({ length: n }, (_, i) => next + i);
  if (ids.length !== n) throw new CbirError('INVALID_ARGUMENT', `${where}: ${ids.length} ids for ${n} vectors; give one id per vector.`);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0) throw new CbirError('INVALID_ARGUMENT', `${where}: ids must be non-negative integers, got ${id}.`);
    if (seen.has(id) || taken(id)) throw new CbirError('INVALID_ARGUMENT', `${where}: id ${id} is already in the index; remove it first or choose another.`);
    seen.add(id);
  }
  return ids;
}

/** An empty result of `nq` rows padded as faiss pads. */
export function emptyResult(nq: number, k: number): SearchResult {
  return { nq, k, ids: new Float64Array(nq * k).fill(-1), distances: new Float64Array(nq * k).fill(Infinity) };
}

/** One result of a search with its stored metadata, as {@link searchHits} lists them. */
export interface SearchHit extends ItemMetadata {
  id: number;
  distance: number;
}

/**
 * The results of query `row` of a search as a list, nearest first, with each item's metadata (path, label); the
 * padding (`id` -1) is left out.
 *
 * @example
 * ```ts
 * const hits = searchHits(index, index.search(queries, 10), 0);
 * for (const h of hits) console.log(h.distance.toFixed(3), h.label, h.path);
 * ```
 */
export function searchHits(index: Pick<Index, 'metadata'>, result: SearchResult, row = 0): SearchHit[] {
  const hits: SearchHit[] = [];
  for (let j = 0; j < result.k; j++) {
    const id = result.ids[row * result.k + j];
    if (id >= 0) hits.push({ id, distance: result.distances[row * result.k + j], ...index.metadata(id) });
  }
  return hits;
}
