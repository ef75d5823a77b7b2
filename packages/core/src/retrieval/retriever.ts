import { CbirError } from '../errors.js';
import type { EmbeddingPipeline } from '../embedding/pipeline.js';
import { readIndexFile } from '../indexes/deserialize-index.js';
import { ExactEuclideanIndex } from '../indexes/exact-euclidean-index.js';
import {
  checkK,
  emptyResult,
  type AsyncIndex,
  type Index,
  type ItemMetadata,
  type OwnerSections,
  type SearchResult,
} from '../indexes/index.js';
import { addVectors, isInMemory } from '../indexes/index-ops.js';
import type { SavedSpec } from '../io/saved-spec.js';
import type { Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import { restoreReranker, searchReranked, type Reranker } from '../rerank/rerank.js';
import { provenanceSections, readProvenance, type Provenance } from './provenance.js';
import { searchFiltered, widenedSearch } from './filtered-search.js';
import { ITEM_COLUMNS, idsPassing } from '../filter/item-columns.js';
import { whereFilter, whereToSql, type WhereFilter } from '../filter/where.js';

/**
 * Turns new images into vectors of an index's space, exactly as the index's collection was embedded (cbir-node's
 * `openQueryEmbedder` opens one from a {@link Retriever}'s provenance).
 */
export interface QueryEmbedder<I = string | Uint8Array> {
  /** What embeds the queries, for messages and the search service's `/api/info`. */
  readonly description: string;
  /** The vectors' dimension (the index's). */
  readonly dim: number;
  /** The vector of one image. Throws `ImageDecodeError` for what is not an image. */
  embed(image: I): Promise<Float32Array>;
  /**
   * The vectors of several images, each as a lone {@link QueryEmbedder.embed} would give it (to float32 rounding);
   * one image that fails does not fail the others.
   */
  embedMany(images: readonly I[]): Promise<PromiseSettledResult<Float32Array>[]>;
  /** Frees what the embedder holds (a model's tensors). */
  dispose(): void;
}

/** What a {@link Retriever} is made of besides its index. */
export interface RetrieverOptions<I = string | Uint8Array> {
  /** The autoencoder and fitted reducer that made the index's vectors (see {@link Provenance.pipeline}). */
  pipeline?: EmbeddingPipeline;
  /** The feature extractor and its fitted state that made them (see {@link Provenance.extractor}). */
  extractor?: SavedSpec;
  /** A re-ranker built over the index (in-memory indexes only). */
  reranker?: Reranker;
  /** What embeds query images, for {@link Retriever.query}. */
  embedder?: QueryEmbedder<I>;
  /** How messages name the index (its file, say). @defaultValue 'index' */
  source?: string;
}

/** Options of {@link Retriever.search}. */
export interface RetrieverSearchOptions {
  /**
   * For each query that is an indexed item (a search by id, leave-one-out evaluation), its id: left out of that
   * query's results, and given to the re-ranker, which then queries as that item of the collection.
   */
  self?: readonly (number | undefined)[];
  /** Whether the retriever's re-ranker runs. @defaultValue true */
  rerank?: boolean;
  /**
   * Only items passing this filter (`whereFilter`'s SQL subset over {@link ITEM_COLUMNS}: `label IN ('beach',
   * 'food') AND path LIKE '%2024%'`): exact on the exact kinds, searched deeper (or the matching rows scanned) on
   * approximate ones, LanceDB's own filter on a LanceDB table. @defaultValue no filter
   */
  where?: string;
  /** Results farther than this (in the index's metric) are dropped, so a query with no close match gets few. @defaultValue no cut-off */
  maxDistance?: number;
}

/** What {@link Retriever.add} and {@link Retriever.remove} changed besides the rows. */
export interface RetrieverChange {
  /**
   * The kind of the re-ranker that was dropped because its state (diffusion's graph) no longer covers the index.
   * @defaultValue undefined: none was dropped
   */
  droppedReranker?: string;
}

/**
 * An index with what it takes to answer images: what made its vectors (the provenance: the autoencoder's pipeline or
 * the extractor's spec), the re-ranker over it, and what embeds a query image. The {@link Index} knows only vectors,
 * ids and metadata; the retriever saves the provenance in the index's file (or beside a LanceDB table) and reads it
 * back, so a query is embedded exactly as the collection was. `cbir search`, `eval`, `serve`, `add` and `remove`
 * work through one.
 *
 * @example
 * ```ts
 * const retriever = Retriever.deserialize(bytes, 'photos.cbirindex');   // index, provenance, saved re-ranker
 * const hits = await retriever.search(queries, 10);                   // re-ranked as the index was built
 * await retriever.add(newVectors, undefined, newPaths.map((path) => ({ path })));
 * const again = retriever.serialize();                                 // the same file layout
 * ```
 */
export class Retriever<I = string | Uint8Array> {
  /** The vectors, ids and metadata. */
  readonly index: Index | AsyncIndex;
  /** The autoencoder and fitted reducer that made the vectors, when an autoencoder did. */
  readonly pipeline?: EmbeddingPipeline;
  /** The feature extractor that made the vectors, when one did. */
  readonly extractor?: SavedSpec;
  /** How messages name the index. */
  readonly source: string;
  private rr?: Reranker;
  private emb?: QueryEmbedder<I>;
  /** The ids the last few filters passed, while the index is at the version they were computed at. */
  private readonly passed = new Map<string, { version: number; ids: ReadonlySet<number> }>();

  constructor(index: Index | AsyncIndex, options: RetrieverOptions<I> = {}) {
    this.index = index;
    this.source = options.source ?? 'index';
    if (options.pipeline) this.pipeline = options.pipeline;
    if (options.extractor) this.extractor = options.extractor;
    this.reranker = options.reranker;
    this.embedder = options.embedder;
  }

  /**
   * Reads an index file with its provenance and re-ranker (what {@link Retriever.serialize} writes; files written by
   * earlier releases, where the same keys sat on the index, read the same).
   * @throws `IndexFormatError` / `FormatError` naming `source`.
   */
  static deserialize(bytes: Uint8Array, source = 'index'): Retriever {
    const { index, owner } = readIndexFile(bytes, source);
    const p = readProvenance(owner, source);
    return new Retriever(index, {
      pipeline: p.pipeline,
      extractor: p.extractor,
      reranker: p.rerank ? restoreReranker(index, p.rerank, source) : undefined,
      source,
    });
  }

  /**
   * A retriever over an index that lives outside this process (a LanceDB table), with the provenance kept beside it
   * ({@link AsyncIndex.ownerData}).
   */
  static open(index: AsyncIndex, source = 'index'): Retriever {
    let p: Provenance = {};
    if (index.ownerData?.length) p = readProvenance(readIndexFile(index.ownerData, source).owner, source);
    if (p.rerank)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${source} records a ${p.rerank.kind} re-ranker; re-rankers run over in-memory indexes only.`,
      );
    return new Retriever(index, { pipeline: p.pipeline, extractor: p.extractor, source });
  }

  /** The re-ranker {@link Retriever.search} applies (in-memory indexes only); saved with the index. */
  get reranker(): Reranker | undefined {
    return this.rr;
  }
  /** Sets the re-ranker; an index outside memory (a LanceDB table) takes none. */
  set reranker(rr: Reranker | undefined) {
    if (rr && !isInMemory(this.index))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever: a ${rr.kind} re-ranker runs over an in-memory index; ${this.source} is a ${this.index.kind} index.`,
      );
    this.rr = rr;
  }

  /** What embeds query images for {@link Retriever.query}; the retriever disposes it. */
  get embedder(): QueryEmbedder<I> | undefined {
    return this.emb;
  }
  /** Sets the query embedder (of the index's dimension), disposing the one it replaces. */
  set embedder(e: QueryEmbedder<I> | undefined) {
    if (e && e.dim !== this.index.dim)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever: the query embedder makes ${e.dim}-d vectors; ${this.source} holds ${this.index.dim}-d vectors.`,
      );
    if (this.emb && this.emb !== e) this.emb.dispose();
    this.emb = e;
  }

  /** What made the vectors and the re-ranker's saved form: what the index's file keeps besides the index. */
  provenance(): Provenance {
    return {
      ...(this.pipeline ? { pipeline: this.pipeline } : {}),
      ...(this.extractor ? { extractor: this.extractor } : {}),
      ...(this.rr ? { rerank: this.rr.spec() } : {}),
    };
  }

  /**
   * The `k` nearest items to each query vector (`[nq, dim]`), re-ranked by the retriever's re-ranker: `[nq, k]`,
   * padded with id -1 and distance `Infinity`.
   */
  async search(queries: Matrix, k: number, options: RetrieverSearchOptions = {}): Promise<SearchResult> {
    checkK('Retriever.search', k);
    const { self, maxDistance } = options;
    if (maxDistance !== undefined && !(maxDistance >= 0))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever.search: maxDistance must be a number >= 0, got ${maxDistance}.`,
      );
    const index = this.index;
    const withSelf = self?.some((s) => s !== undefined) ?? false;
    const depth = Math.min(index.size, k + (withSelf ? 1 : 0));
    if (depth === 0) return emptyResult(queries.rows, k);
    const reranker = options.rerank === false ? undefined : this.rr;
    const filter = options.where === undefined ? undefined : whereFilter(options.where, ITEM_COLUMNS);
    let res: SearchResult;
    if (filter && isInMemory(index)) {
      const among = this.passing(index, filter);
      res = reranker
        ? widenedSearch((q, d) => searchReranked(index, reranker, q, d, self), index.size, queries, depth, among)
        : searchFiltered(index, queries, depth, among);
    } else if (filter) {
      const store = index as AsyncIndex; // not in memory
      if (!store.searchWhere)
        throw new CbirError('INVALID_ARGUMENT', `Retriever.search: a ${index.kind} index cannot filter its items.`);
      const missing = filter.columns.filter((c) => c !== 'id' && store.metadataColumns?.includes(c) === false);
      if (missing.length)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `Retriever.search: ${this.source} has no ${missing.join(', ')} column (its table was built before cbir kept them; it holds ${store.metadataColumns!.join(', ')}). Rebuild it with cbir index --engine lancedb --overwrite to filter on them.`,
        );
      res = await store.searchWhere(queries, depth, whereToSql(filter.expr, ITEM_COLUMNS));
    } else
      res =
        reranker && isInMemory(index)
          ? searchReranked(index, reranker, queries, depth, self)
          : await index.search(queries, depth);
    if (!withSelf && res.k === k && maxDistance === undefined) return res;
    const out = emptyResult(res.nq, k);
    for (let q = 0; q < res.nq; q++) {
      let j = 0;
      for (let i = q * res.k; i < (q + 1) * res.k && j < k; i++) {
        if (res.ids[i] < 0 || res.ids[i] === self?.[q]) continue;
        if (maxDistance !== undefined && !(res.distances[i] <= maxDistance)) break; // nearest first: the rest are farther
        out.ids[q * k + j] = res.ids[i];
        out.distances[q * k + j++] = res.distances[i];
      }
    }
    return out;
  }

  /**
   * The ids that pass `filter`, remembered for the index's version (the search page re-runs a filter with every
   * query; evaluating it reads every item's metadata): eight filters at most, the oldest forgotten first.
   */
  private passing(index: Index, filter: WhereFilter): ReadonlySet<number> {
    const version = index.version;
    const hit = version === undefined ? undefined : this.passed.get(filter.text);
    if (hit && hit.version === version) return hit.ids;
    const ids = new Set(idsPassing(index, filter));
    if (version !== undefined) {
      this.passed.delete(filter.text);
      this.passed.set(filter.text, { version, ids });
      if (this.passed.size > 8) this.passed.delete(this.passed.keys().next().value!);
    }
    return ids;
  }

  /** The `k` nearest items to each image, embedded by the retriever's {@link Retriever.embedder}. */
  async query(
    images: readonly I[],
    k: number,
    options: Omit<RetrieverSearchOptions, 'self'> = {},
  ): Promise<SearchResult> {
    const embedder = this.emb;
    if (!embedder)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever.query: no query embedder for ${this.source}; set one (cbir-node: openQueryEmbedder(retriever, model)).`,
      );
    const settled = await embedder.embedMany(images);
    const data = new Float32Array(images.length * this.index.dim);
    settled.forEach((r, i) => {
      if (r.status === 'rejected') throw r.reason;
      data.set(r.value, i * this.index.dim);
    });
    return this.search({ data, rows: images.length, cols: this.index.dim }, k, options);
  }

  /**
   * Adds vectors to the index (in chunks with progress where the kind has `addAsync`). A re-ranker whose state covers
   * the items (diffusion's graph) is dropped: build it again over the grown index.
   */
  async add(
    vectors: Matrix,
    ids?: ArrayLike<number>,
    metadata?: readonly (ItemMetadata | undefined)[],
    options: LongRunning = {},
  ): Promise<RetrieverChange> {
    await addVectors(this.index, vectors, ids, metadata, options);
    return vectors.rows > 0 ? this.dropStale() : {};
  }

  /** Removes `ids` from the index; returns how many were present. A re-ranker's stale graph is dropped, as by `add`. */
  async remove(ids: ArrayLike<number>): Promise<{ removed: number } & RetrieverChange> {
    const removed = await this.index.remove(ids);
    return { removed, ...(removed > 0 ? this.dropStale() : {}) };
  }

  private dropStale(): RetrieverChange {
    const rr = this.rr;
    if (!rr || Object.keys(rr.spec().state ?? {}).length === 0) return {};
    this.rr = undefined;
    return { droppedReranker: rr.kind };
  }

  /** The index file: the index, then the provenance (see {@link Retriever.deserialize}). In-memory indexes only. */
  serialize(): Uint8Array {
    return this.inMemory('serialize').serialize(this.ownerSections());
  }

  /** {@link Retriever.serialize}'s bytes as chunks, for writers that stream a large index to disk. */
  serializeParts(): Uint8Array[] {
    const index = this.inMemory('serializeParts');
    const owner = this.ownerSections();
    return index.serializeParts ? index.serializeParts(owner) : [index.serialize(owner)];
  }

  /**
   * Saves the provenance beside an index that persists itself (a LanceDB table: {@link AsyncIndex.saveOwnerData}),
   * committing it as it is.
   */
  async save(): Promise<void> {
    const index = this.index;
    if (isInMemory(index) || !index.saveOwnerData)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever.save: ${this.source} is a ${index.kind} index that keeps nothing beside itself; write serialize()'s bytes to a file (cbir-node: saveRetriever).`,
      );
    await index.saveOwnerData(this.ownerData());
  }

  /** The provenance as {@link AsyncIndex.ownerData}: an index file of no rows carrying it. */
  ownerData(): Uint8Array {
    return Retriever.ownerDataFor(this.index.dim, this.provenance());
  }

  /**
   * {@link Retriever.ownerData} of `provenance` over an index of `dim`, before the index exists: what a LanceDB
   * table is created with, so that its first commit holds its rows and what made them together.
   *
   * @example
   * ```ts
   * const ownerData = Retriever.ownerDataFor(256, { pipeline });
   * const table = await LanceIndex.create(uri, 256, { ownerData });   // cbir-node
   * ```
   */
  static ownerDataFor(dim: number, provenance: Provenance): Uint8Array {
    return new ExactEuclideanIndex(dim).serialize(provenanceSections(provenance));
  }

  /** Frees the query embedder. */
  dispose(): void {
    this.emb?.dispose();
    this.emb = undefined;
  }

  private ownerSections(): OwnerSections {
    return provenanceSections(this.provenance());
  }

  private inMemory(what: string): Index {
    if (!isInMemory(this.index))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Retriever.${what}: ${this.source} is a ${this.index.kind} index that persists itself; use save().`,
      );
    return this.index;
  }
}
