import { CbirError, DimensionMismatchError } from '../errors.js';
import { checkFiniteMatrix, type Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import type { ItemMetadata } from './item-metadata.js';

export type { ItemMetadata } from './item-metadata.js';

/**
 * What an index's reported distances are: `euclidean` (L2), `sqeuclidean` (squared L2), `cosine` (`1 - cos`), `l1`,
 * or `centred_euclidean` (lshashpy3's function of that name: the squared difference of the two vectors' means).
 * An LSH index's metric is the distance it ranks its candidates by (its `distanceFunc`), not 'lsh'.
 */
export type Metric = 'euclidean' | 'sqeuclidean' | 'cosine' | 'l1' | 'centred_euclidean';

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
  /** The registered kind (`exact`, `cosine`, `lsh`, `hnsw`, ...): what `createIndex` and the index file name it. */
  readonly kind: string;
  readonly dim: number;
  readonly size: number;
  readonly metric: Metric;
  /**
   * False for kinds that must learn from data before `add` (a coarse quantiser, a codebook) until `train` has run;
   * true for every other kind.
   */
  readonly isTrained: boolean;
  /** Learns what the kind needs from a sample of vectors, for kinds that need training; others need not define it. */
  train?(vectors: Matrix): void;
  /** Removes every vector, keeping the index's configuration (and what training learned). */
  reset(): void;
  /** Adds `vectors` (`[n, dim]`) under `ids` (default: `nextId`, `nextId + 1`, ...). */
  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void;
  /**
   * As `add`, in chunks that report progress and stop at `signal` (taking out again what the call put in), for kinds
   * whose add takes minutes (a graph build). {@link addVectors} uses it where a kind has it.
   * @defaultValue undefined: the kind's `add` is quick enough to run in one call
   */
  addAsync?(
    vectors: Matrix,
    ids?: ArrayLike<number>,
    metadata?: readonly (ItemMetadata | undefined)[],
    options?: LongRunning,
  ): Promise<void>;
  /**
   * One past the largest id this index has ever held, removed ones included: the next automatic id, saved with the
   * index. An id once removed is never given again, so an id kept elsewhere (a result, a log, a clusters file) never
   * comes to name another image.
   * @defaultValue undefined for kinds that do not track it (callers then use the largest id + 1)
   */
  nextId?: number;
  /** The `k` nearest items to each query (`[nq, dim]`). */
  search(queries: Matrix, k: number): SearchResult;
  /**
   * The `k` nearest among the items `among` only (a filtered search; ids not in the index are ignored), where the
   * index can do better than searching deeper and dropping the rest: exact for the exact kinds. Absent on kinds that
   * cannot (`searchFiltered` then searches deeper).
   */
  searchAmong?(queries: Matrix, k: number, among: ArrayLike<number> | ReadonlySet<number>): SearchResult;
  /** Removes `ids`; returns how many were present. */
  remove(ids: ArrayLike<number>): number;
  /** The vector stored for `id` (as the index keeps it: unit-normalised for cosine), or undefined. */
  vector(id: number): Float32Array | undefined;
  /** The ids in the index, in storage order. */
  idList(): number[];
  /** The metadata stored with `id`, if any. */
  metadata(id: number): ItemMetadata | undefined;
  /**
   * A number that changes whenever the items change (add, remove, reset): what a cache of something derived from them
   * (the ids a filter passes) is checked against. @defaultValue absent: nothing derived is cached
   */
  readonly version?: number;
  /**
   * The index as bytes (a framed cbir file), for `deserializeIndex`. `owner` is what the index's owner (a
   * {@link Retriever}: what made the vectors, the re-ranker's graph) keeps in the same file, opaque to the index.
   */
  serialize(owner?: OwnerSections): Uint8Array;
  /**
   * `serialize()`'s bytes as chunks (mostly views of the index's own arrays), for kinds whose files are large: a
   * writer streams them to disk without a second copy of the index in memory (`saveIndex` does).
   */
  serializeParts?(owner?: OwnerSections): Uint8Array[];
}

/**
 * The contract of an index that lives outside this process's memory (LanceDB's, a service's): {@link Index}'s methods
 * returning promises, and `close`. Every {@link Index} is used the same way through `await`, so code written against
 * `Index | AsyncIndex` (the CLI's search, eval, add and remove) works on both; see {@link asAsyncIndex}.
 *
 * @example
 * ```ts
 * async function nearest(index: Index | AsyncIndex, q: Matrix) {
 *   const { ids } = await index.search(q, 10);   // the same for ExactEuclideanIndex and LanceIndex
 *   return Promise.all(Array.from(ids, (id) => index.metadata(id)));
 * }
 * ```
 */
export interface AsyncIndex {
  readonly kind: string;
  readonly dim: number;
  /** The number of vectors, as of the last call that changed it. */
  readonly size: number;
  readonly metric: Metric;
  /**
   * One past the largest id this index has ever held, removed ones included: the next automatic id, saved with the
   * index. An id once removed is never given again, so an id kept elsewhere (a result, a log, a clusters file) never
   * comes to name another image.
   * @defaultValue undefined for kinds that do not track it (callers then use the largest id + 1)
   */
  nextId?: number;
  readonly isTrained: boolean;
  /** As {@link Index.add}. */
  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): Promise<void>;
  /** As {@link Index.search}: the same shape and padding. */
  search(queries: Matrix, k: number): Promise<SearchResult>;
  /**
   * The `k` nearest among the items passing `sql` (a filter as `whereToSql` renders it), filtered by the store
   * itself (LanceDB's own `where`). Absent on kinds that cannot.
   */
  searchWhere?(queries: Matrix, k: number, sql: string): Promise<SearchResult>;
  /**
   * The metadata fields the store can hold and filter on, when it holds fewer than every one (a LanceDB table built
   * before cbir kept more than path and label). @defaultValue every field of ITEM_METADATA_FIELDS
   */
  readonly metadataColumns?: readonly string[];
  /** As {@link Index.remove}. */
  remove(ids: ArrayLike<number>): Promise<number>;
  /** As {@link Index.vector}. */
  vector(id: number): Promise<Float32Array | undefined>;
  /** As {@link Index.idList}. */
  idList(): Promise<number[]>;
  /** As {@link Index.metadata}. */
  metadata(id: number): Promise<ItemMetadata | undefined>;
  /** As {@link Index.reset}. */
  reset(): Promise<void>;
  /**
   * Every row in one scan (ids, vectors as the index keeps them, metadata), for engines where item-by-item reads are
   * slow; {@link readRows} uses it where a kind has it.
   * @defaultValue undefined: {@link readRows} reads item by item
   */
  allRows?(): Promise<IndexRows>;
  /**
   * Every id's metadata in one scan; {@link readMetadata} uses it where a kind has it.
   * @defaultValue undefined: {@link readMetadata} reads item by item
   */
  allMetadata?(): Promise<Map<number, ItemMetadata>>;
  /**
   * What the index's owner (a {@link Retriever}) keeps beside it, as an index file of no rows carrying
   * {@link OwnerSections}, opaque to the index: as it was when the index was opened, or last saved.
   * @defaultValue undefined: the kind keeps nothing for its owner
   */
  readonly ownerData?: Uint8Array;
  /** Saves `bytes` as {@link AsyncIndex.ownerData}, committing the index as it is. */
  saveOwnerData?(bytes: Uint8Array): Promise<void>;
  /** Releases connections and handles; the index is unusable after. */
  close?(): Promise<void>;
}

/**
 * What an index's owner keeps in the index's file, opaque to the index: keys of the file's JSON header (none of the
 * index's own) and arrays written after the index's. A {@link Retriever} keeps its provenance there.
 */
export interface OwnerSections {
  header: Record<string, unknown>;
  arrays: readonly Float32Array[];
}

/** Every row of an index, in its storage order: what {@link readRows} returns. */
export interface IndexRows {
  ids: number[];
  /** `[ids.length, dim]`, as the index keeps them (unit-normalised for cosine). */
  vectors: Matrix;
  metadata: (ItemMetadata | undefined)[];
}

/**
 * An in-memory {@link Index} seen through the {@link AsyncIndex} contract (each call resolves at once).
 *
 * @example
 * ```ts
 * const a = asAsyncIndex(new ExactEuclideanIndex(128));
 * await a.add(features);
 * const res = await a.search(queries, 10);
 * ```
 */
export function asAsyncIndex(index: Index): AsyncIndex {
  return {
    get kind() {
      return index.kind;
    },
    get dim() {
      return index.dim;
    },
    get size() {
      return index.size;
    },
    get metric() {
      return index.metric;
    },
    get isTrained() {
      return index.isTrained;
    },
    add: async (v, ids, meta) => index.add(v, ids, meta),
    search: async (q, k) => index.search(q, k),
    remove: async (ids) => index.remove(ids),
    vector: async (id) => index.vector(id),
    idList: async () => index.idList(),
    metadata: async (id) => index.metadata(id),
    reset: async () => index.reset(),
  };
}

/**
 * Checks a matrix at an index boundary: its dim against the index's, and finite values (for kinds registered outside
 * cbir-core, so that every kind rejects bad input with the same errors).
 *
 * @example
 * ```ts
 * search(queries: Matrix, k: number) {
 *   checkMatrix('MyIndex.search', queries, this.dim, 'queries');
 *   checkK('MyIndex.search', k);
 * }
 * ```
 */
export function checkMatrix(where: string, m: Matrix, dim: number, what: string): void {
  if (m && m.data instanceof Float32Array && m.cols !== dim) {
    throw new DimensionMismatchError(
      `${where}: ${what} have ${m.cols} columns but the index has dim ${dim}. Embed them with the encoder and reducer that built the index.`,
    );
  }
  checkFiniteMatrix(where, m, what);
}

/**
 * Checks `k` of a search: a positive integer.
 *
 * @example
 * ```ts
 * checkK('MyIndex.search', k);   // throws CbirError INVALID_ARGUMENT for 0, -1, 2.5
 * ```
 */
export function checkK(where: string, k: number): void {
  if (!Number.isInteger(k) || k < 1)
    throw new CbirError('INVALID_ARGUMENT', `${where}: k must be a positive integer, got ${k}.`);
}

/**
 * Resolves the ids of an `add`: the given ones, checked (non-negative safe integers, one per vector, none taken or
 * repeated), or the next consecutive ones from `next`.
 *
 * @example
 * ```ts
 * const ids = resolveIds('MyIndex.add', vectors.rows, given, (id) => this.has(id), this.maxId + 1);
 * ```
 */
export function resolveIds(
  where: string,
  n: number,
  given: ArrayLike<number> | undefined,
  taken: (id: number) => boolean,
  next: number,
): number[] {
  const ids = given ? Array.from(given) : Array.from({ length: n }, (_, i) => next + i);
  if (ids.length !== n)
    throw new CbirError('INVALID_ARGUMENT', `${where}: ${ids.length} ids for ${n} vectors; give one id per vector.`);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new CbirError('INVALID_ARGUMENT', `${where}: ids must be non-negative integers, got ${id}.`);
    if (seen.has(id) || taken(id))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: id ${id} is already in the index; remove it first or choose another.`,
      );
    seen.add(id);
  }
  return ids;
}

/**
 * An empty result of `nq` rows of `k`, padded as faiss pads (id -1, distance Infinity): what a search fills in.
 *
 * @example
 * ```ts
 * const result = emptyResult(queries.rows, k);
 * result.ids[q * k + j] = id;
 * ```
 */
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
