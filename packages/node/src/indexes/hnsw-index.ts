import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackendUnavailableError,
  CbirError,
  CosineIndex,
  ExactEuclideanIndex,
  normalizeRows,
  throwIfAborted,
  widenedSearch,
  type Index,
  type ItemMetadata,
  type LongRunning,
  type Matrix,
  type Metric,
  type SearchResult,
} from 'cbir-core';
import {
  checkK,
  checkMatrix,
  indexFileParts,
  registerIndexKind,
  writeIndexFile,
  type IndexFileReader,
  type OwnerSections,
} from 'cbir-core/extend';
import type * as Usearch from 'usearch';
import { readWholeFileSync } from '../io/read-file.js';

/** Options of {@link HnswIndex}: usearch's parameters, with its names in camelCase. */
export interface HnswIndexOptions {
  /** `euclidean` (results in L2, as {@link ExactEuclideanIndex}) or `cosine` (`1 - cos`, as {@link CosineIndex}). @defaultValue 'euclidean' */
  metric?: 'euclidean' | 'cosine';
  /** Graph edges per node (usearch's `connectivity`, HNSW's M): more is better recall, more memory. @defaultValue 16 */
  connectivity?: number;
  /** Candidates kept while inserting (`expansion_add`, efConstruction): more is a better graph, slower `add`. @defaultValue 128 */
  expansionAdd?: number;
  /** Candidates kept while searching (`expansion_search`, ef): the recall / speed dial. @defaultValue 64 */
  expansionSearch?: number;
  /**
   * How the graph stores its copy of the vectors: `f16` (half the memory of `f32`; values up to +-65,504), `bf16` (half,
   * float32's range, coarser), or `f32`. With `f16` and `bf16` the graph's candidates are re-ranked by their exact
   * float64 distance from the rows the index keeps; with `f32` distances are usearch's (float32). At 10^6 x 256, `f16`
   * built in 110 s against 182 s, searched faster at the same recall, and kept the process under 3 GB.
   * @defaultValue 'f16'
   */
  quantization?: 'f32' | 'f16' | 'bf16';
  /** usearch's threads for batched `add` and `search`. @defaultValue the machine's cores */
  threads?: number;
}

/** A filtered search over at most this many matching rows scans them exactly. */
const EXACT_AMONG = 20_000;

/** {@link HnswIndexOptions} with every default filled in. */
export type Resolved = Required<HnswIndexOptions>;

const DEFAULTS: Omit<Resolved, 'threads'> = {
  metric: 'euclidean',
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 64,
  quantization: 'f16',
};

/** The largest magnitude a half-precision (`f16`) graph holds. */
const F16_MAX = 65504;

let usearchModule: typeof Usearch | undefined;

/** usearch, loaded on first use (it is an optional peer: `npm install usearch`). */
function usearch(): typeof Usearch {
  if (!usearchModule) {
    try {
      usearchModule = createRequire(import.meta.url)('usearch') as typeof Usearch;
    } catch (e) {
      throw new BackendUnavailableError(
        `HnswIndex needs the usearch package (${(e as Error).message}). Install it with npm install usearch.`,
        { cause: e },
      );
    }
  }
  return usearchModule;
}

function checkOptions(o: Resolved): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new CbirError('INVALID_ARGUMENT', `HnswIndex: ${name} must be an integer >= ${min}, got ${v}.`);
  };
  if (o.metric !== 'euclidean' && o.metric !== 'cosine')
    throw new CbirError(
      'INVALID_ARGUMENT',
      `HnswIndex: metric must be euclidean or cosine, got "${String(o.metric)}".`,
    );
  if (!['f32', 'f16', 'bf16'].includes(o.quantization))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `HnswIndex: quantization must be f32, f16 or bf16, got "${String(o.quantization)}".`,
    );
  int('connectivity', o.connectivity, 2);
  int('expansionAdd', o.expansionAdd, 1);
  int('expansionSearch', o.expansionSearch, 1);
  int('threads', o.threads, 1);
}

/**
 * Approximate nearest neighbours on an HNSW graph (usearch, a maintained native library): cbir's embedded choice for
 * search at 10^5 to 10^7 vectors. The vectors are also kept in a flat store, so `vector`, `metadata`, `remove` and the
 * file behave as the exact indexes'. The graph keeps its own copy in half precision by default (`f16`; see
 * {@link HnswIndexOptions.quantization}) and its candidates are re-ranked by their exact float64 distance, so distances
 * are {@link ExactEuclideanIndex}'s or {@link CosineIndex}'s; an `f32` graph reports usearch's float32 distances
 * instead. Ties are broken by id.
 *
 * The file (`serialize`, {@link saveIndex}) holds the rows and usearch's graph, so loading does not rebuild it.
 *
 * @example
 * ```ts
 * const index = new HnswIndex(256, { connectivity: 16, expansionSearch: 64 });
 * index.add(features);                         // Matrix [n, 256]
 * const { ids, distances } = index.search(queries, 10);
 * await saveIndex(index, 'photos.cbirindex');  // rows + graph; loadIndex reads it back
 * ```
 */
export class HnswIndex implements Index {
  readonly kind = 'hnsw';
  readonly metric: Metric;
  options: Readonly<Resolved>;
  private readonly flat: ExactEuclideanIndex;
  private graph: Usearch.Index;

  constructor(
    readonly dim: number,
    options: HnswIndexOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new CbirError('INVALID_ARGUMENT', `HnswIndex: dim must be a positive integer, got ${dim}.`);
    const o: Resolved = { ...DEFAULTS, threads: availableParallelism(), ...options };
    checkOptions(o);
    this.options = Object.freeze(o);
    this.metric = o.metric;
    this.flat = o.metric === 'cosine' ? new CosineIndex(dim) : new ExactEuclideanIndex(dim);
    this.graph = this.newGraph();
  }

  private newGraph(): Usearch.Index {
    const u = usearch();
    const o = this.options;
    return new u.Index({
      dimensions: this.dim,
      metric: o.metric === 'cosine' ? u.MetricKind.Cos : u.MetricKind.L2sq,
      quantization: o.quantization as Usearch.ScalarKind,
      connectivity: o.connectivity,
      expansion_add: o.expansionAdd,
      expansion_search: o.expansionSearch,
      multi: false,
    });
  }

  /** One past the largest id ever held (see {@link Index.nextId}); it only grows. */
  get nextId(): number {
    return this.flat.nextId;
  }
  set nextId(next: number) {
    this.flat.nextId = next;
  }

  /** The number of vectors in the index. */
  get size(): number {
    return this.flat.size;
  }

  get isTrained(): boolean {
    return true;
  }

  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void {
    this.checkRange('HnswIndex.add', vectors);
    const before = this.flat.size;
    // The flat store checks the input (dims, finite values, ids) before the graph sees it.
    this.flat.add(vectors, ids, metadata);
    const added = this.flat.idList().slice(before);
    this.insert(added, vectors.data.subarray(0, vectors.rows * this.dim));
  }

  /**
   * As {@link HnswIndex.add}, for a large build that reports progress and can be stopped: the graph takes the rows in
   * chunks (usearch's threads work on each), with the event loop free between them, so a signal fired meanwhile (a
   * Ctrl-C handler's, say) is seen. Stopped, it removes what it added, leaving the index as it was, and throws
   * `AbortedError`.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * await hnsw.addAsync(features, undefined, undefined, { signal: controller.signal, onProgress: (e) => console.log(e) });
   * ```
   */
  async addAsync(
    vectors: Matrix,
    ids?: ArrayLike<number>,
    metadata?: readonly (ItemMetadata | undefined)[],
    { signal, onProgress, chunk = 20_000 }: LongRunning & { chunk?: number } = {},
  ): Promise<void> {
    throwIfAborted(signal, 'HnswIndex.addAsync');
    this.checkRange('HnswIndex.addAsync', vectors);
    const before = this.flat.size;
    const nextBefore = this.flat.nextId;
    this.flat.add(vectors, ids, metadata);
    const added = this.flat.idList().slice(before);
    const data = vectors.data.subarray(0, vectors.rows * this.dim);
    let inserted = 0;
    try {
      while (inserted < added.length) {
        const end = Math.min(added.length, inserted + chunk);
        this.insert(added.slice(inserted, end), data.subarray(inserted * this.dim, end * this.dim));
        inserted = end;
        onProgress?.({ stage: 'index', done: inserted, total: added.length });
        if (inserted < added.length) await new Promise((resolve) => setImmediate(resolve));
        throwIfAborted(signal, `HnswIndex.addAsync (${inserted} of ${added.length} rows in, taken out again)`);
      }
    } catch (error) {
      // Whatever stopped it, the index goes back to what it held before this call.
      if (inserted > 0) this.graph.remove(BigUint64Array.from(added.slice(0, inserted), (id) => BigInt(id)));
      this.flat.remove(added);
      this.flat.rewindNextId(nextBefore);
      throw error;
    }
  }

  /** Refuses values an `f16` graph cannot hold (usearch would store them as infinities), before anything is added. */
  private checkRange(where: string, vectors: Matrix): void {
    if (this.options.quantization !== 'f16') return;
    const { data } = vectors;
    const n = Math.min(data.length, vectors.rows * this.dim);
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (v > F16_MAX || v < -F16_MAX)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${where}: row ${Math.floor(i / this.dim)} holds ${v}, beyond the +-${F16_MAX} of the graph's f16 vectors. ` +
            "Create the index with quantization 'bf16' or 'f32', or scale the features.",
        );
    }
  }

  /** Puts rows into the graph under `ids` (BigInt keys), in usearch's threads. */
  private insert(ids: number[], data: Float32Array): void {
    if (ids.length === 0) return;
    const keys = BigUint64Array.from(ids, (id) => BigInt(id));
    this.graph.add(keys, data, this.options.threads);
  }

  /**
   * The `k` nearest among the items `among` (a filtered search): the matching rows scanned exactly when they are few
   * (at most 20,000, or 2% of the index), else the graph searched deeper until `k` of them are found
   * (`widenedSearch`), so recall holds at every selectivity.
   *
   * @example
   * ```ts
   * const beach = index.idList().filter((id) => index.metadata(id)?.label === 'beach');
   * index.searchAmong(queries, 10, beach);
   * ```
   */
  searchAmong(queries: Matrix, k: number, among: ArrayLike<number> | ReadonlySet<number>): SearchResult {
    checkMatrix('HnswIndex.searchAmong', queries, this.dim, 'queries');
    checkK('HnswIndex.searchAmong', k);
    const count = among instanceof Set ? among.size : (among as ArrayLike<number>).length;
    if (count <= Math.max(EXACT_AMONG, this.flat.size * 0.02)) return this.flat.searchAmong(queries, k, among);
    return widenedSearch((q, depth) => this.search(q, depth), this.flat.size, queries, k, among);
  }

  search(queries: Matrix, k: number): SearchResult {
    checkMatrix('HnswIndex.search', queries, this.dim, 'queries');
    checkK('HnswIndex.search', k);
    // A collection this small is scanned exactly: the graph would be no faster.
    if (this.flat.size <= Math.max(64, k)) return this.flat.search(queries, k);
    // A zero query has no cosine distance: the same error as CosineIndex's.
    if (this.metric === 'cosine')
      normalizeRows('HnswIndex.search', { data: queries.data, rows: queries.rows, cols: queries.cols }, 'queries');
    const nq = queries.rows;
    const ids = new Float64Array(nq * k).fill(-1);
    const distances = new Float64Array(nq * k).fill(Infinity);
    const found = this.graph.search(queries.data.subarray(0, nq * this.dim), k, this.options.threads) as
      Usearch.Matches | Usearch.BatchMatches;
    const keys: BigUint64Array = found.keys;
    // One query comes back as usearch's Matches (only the keys found), a batch as BatchMatches (k per row, and counts).
    const counts: ArrayLike<bigint> = found instanceof usearch().BatchMatches ? found.counts : [BigInt(keys.length)];
    const cand = Float64Array.from(keys, Number);
    const n = Array.from(counts, Number);
    let d: Float64Array;
    if (this.options.quantization === 'f32') {
      // usearch's own distances, from the float32 vectors: L2 squared (its root taken here) or 1 - cos, as the exact
      // indexes report them up to float32 rounding. (Re-ranking in float64 cost 20% to 40% of the throughput.)
      const raw = found.distances;
      d = new Float64Array(raw.length);
      for (let t = 0; t < raw.length; t++) d[t] = this.metric === 'cosine' ? raw[t] : Math.sqrt(Math.max(0, raw[t]));
    } else {
      // A quantised graph's distances are f16/bf16 approximations: candidates re-ranked by the flat index's exact
      // float64 distances, read where its rows are stored.
      const q = this.metric === 'cosine' ? normalizeRows('HnswIndex.search', queries, 'queries') : queries;
      d = this.flat.distancesTo(cand, n, k, q);
    }
    // usearch returns each row nearest first: an insertion pass (linear on sorted input) orders it by (distance, id).
    for (let qi = 0; qi < nq; qi++) {
      const o = qi * k;
      for (let j = 0; j < n[qi]; j++) {
        const id = cand[o + j];
        const v = d[o + j];
        let t = o + j;
        while (t > o && (distances[t - 1] > v || (distances[t - 1] === v && ids[t - 1] > id))) {
          distances[t] = distances[t - 1];
          ids[t] = ids[t - 1];
          t--;
        }
        distances[t] = v;
        ids[t] = id;
      }
    }
    return { nq, k, ids, distances };
  }

  /**
   * Sets the candidates kept while searching (`expansionSearch`, ef: the recall / speed dial) on the built graph.
   * usearch fixes it when a graph is made, so the graph is handed to a new one (through a temp file; no rebuild).
   *
   * @example
   * ```ts
   * index.setExpansionSearch(128);   // more recall, fewer queries per second
   * ```
   */
  setExpansionSearch(ef: number): void {
    const options = { ...this.options, expansionSearch: ef };
    checkOptions(options);
    const bytes = this.graphBytes();
    this.options = Object.freeze(options);
    this.graph = this.newGraph();
    this.loadGraph(bytes);
  }

  /** Loads usearch's graph from its bytes (through a private temp folder: usearch reads files only). */
  private loadGraph(bytes: Uint8Array): void {
    const dir = mkdtempSync(join(tmpdir(), 'cbir-hnsw-'));
    try {
      const path = join(dir, 'graph.usearch');
      writeFileSync(path, bytes);
      this.graph.load(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  remove(ids: ArrayLike<number>): number {
    const present = Array.from(ids).filter((id) => this.flat.vector(id) !== undefined);
    if (present.length) this.graph.remove(BigUint64Array.from(present, (id) => BigInt(id)));
    return this.flat.remove(present);
  }

  vector(id: number): Float32Array | undefined {
    return this.flat.vector(id);
  }

  idList(): number[] {
    return this.flat.idList();
  }

  metadata(id: number): ItemMetadata | undefined {
    return this.flat.metadata(id);
  }

  /** Changes with every add, remove and reset (see {@link cbir-core!Index.version | Index.version}). */
  get version(): number {
    return this.flat.version ?? 0;
  }

  reset(): void {
    this.flat.reset();
    this.graph = this.newGraph();
  }

  /** The rows (as the flat index writes them) and usearch's graph, in one framed file. */
  serialize(owner?: OwnerSections): Uint8Array {
    return writeIndexFile(...this.fileArgs(), owner);
  }

  /** `serialize()`'s bytes as chunks: views of the stored rows and of usearch's graph bytes, no copy of the file. */
  serializeParts(owner?: OwnerSections): Uint8Array[] {
    return indexFileParts(...this.fileArgs(), owner);
  }

  private fileArgs(): [Record<string, unknown>, Float32Array[], HnswIndex] {
    const graph = this.graphBytes();
    // The body is float32 arrays: the graph's bytes as one, zero-padded to a multiple of 4 only when they need it.
    const words =
      graph.length % 4 === 0 && graph.byteOffset % 4 === 0
        ? new Float32Array(graph.buffer, graph.byteOffset, graph.length / 4)
        : padded(graph);
    const { dim, size } = this;
    const { threads: _threads, ...options } = this.options;
    const ids = this.flat.idList();
    const header = {
      kind: this.kind,
      metric: this.metric,
      dim,
      size,
      ids,
      metadata: ids.map((id) => this.flat.metadata(id) ?? null),
      options,
      graphBytes: graph.length,
    };
    return [header, [this.flat.storedRows(), words], this];
  }

  /** usearch writes its graph only to a file: through a private temp folder. */
  private graphBytes(): Uint8Array {
    const dir = mkdtempSync(join(tmpdir(), 'cbir-hnsw-'));
    try {
      const file = join(dir, 'graph.usearch');
      this.graph.save(file);
      // Read once into one array, in chunks: readFileSync refuses files over 2 GiB, and copying its Buffer into a
      // Uint8Array held the graph twice while saving (a 7.9 GB peak at 10^5 x 4096).
      return readWholeFileSync(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Reads an `hnsw` file's part (see {@link registerIndexKind}). @internal */
  static restore(file: IndexFileReader): HnswIndex {
    const h = file.header as IndexFileReader['header'] & { options?: HnswIndexOptions; graphBytes?: number };
    const index = new HnswIndex(h.dim, { ...h.options });
    const rows = file.take(h.size * h.dim);
    if (!Number.isSafeInteger(h.graphBytes) || h.graphBytes! < 0)
      file.fail(`has graphBytes ${String(h.graphBytes)}; expected a byte count`);
    const graph = file.take(Math.ceil(h.graphBytes! / 4));
    if (h.size > 0) index.flat.restore({ data: rows, rows: h.size, cols: h.dim }, h.ids, file.metadata);
    index.loadGraph(new Uint8Array(graph.buffer, graph.byteOffset, h.graphBytes!));
    if (index.graph.size() !== h.size) file.fail(`holds a graph of ${index.graph.size()} vectors for ${h.size} rows`);
    return index;
  }
}

function padded(bytes: Uint8Array): Float32Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  out.set(bytes);
  return new Float32Array(out.buffer);
}

let registered = false;

/**
 * Registers cbir-node's index kinds (`hnsw`) with cbir-core's registry, so that `createIndex('hnsw', dim)`,
 * `deserializeIndex` and `loadIndex` know them. Importing cbir-node does this; call it when a bundler dropped the import.
 *
 * @example
 * ```ts
 * registerNodeIndexKinds();
 * const index = createIndex('hnsw', 256, { connectivity: 32 });
 * ```
 */
export function registerNodeIndexKinds(): void {
  if (registered) return;
  registered = true;
  registerIndexKind<HnswIndexOptions>({
    kind: 'hnsw',
    summary: 'approximate search on an HNSW graph (usearch); for 10^5 to 10^7 vectors',
    capabilities: { exact: false, removable: true, persistent: true, needsTraining: false },
    create: (dim, options) => new HnswIndex(dim, options),
    restore: (file) => HnswIndex.restore(file),
  });
}

registerNodeIndexKinds();
