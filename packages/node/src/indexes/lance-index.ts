import {
  BackendUnavailableError,
  CbirError,
  ExactEuclideanIndex,
  IndexFormatError,
  ITEM_METADATA_FIELDS,
  checkItemMetadata,
  normalizeRows,
  type AsyncIndex,
  type ItemMetadata,
  type MetadataFieldType,
  type Matrix,
  type SearchResult,
} from 'cbir-core';
import { checkK, checkMatrix, emptyResult, resolveIds } from 'cbir-core/extend';
import type * as Lance from '@lancedb/lancedb';
import type * as Arrow from 'apache-arrow';

/** Options of {@link LanceIndex.create}. */
export interface LanceIndexOptions {
  /** The table's name in the database. @defaultValue 'cbir' */
  table?: string;
  /** `euclidean` (L2, as {@link ExactEuclideanIndex}) or `cosine` (`1 - cos`). @defaultValue 'euclidean' */
  metric?: 'euclidean' | 'cosine';
  /** Replace a table of that name if there is one (else creating over one is an error). @defaultValue false */
  overwrite?: boolean;
  /** Passed to LanceDB's `connect` (object-store credentials and such). */
  storageOptions?: Record<string, string>;
  /**
   * For {@link LanceIndex.create}: what the table's {@link cbir-core!Retriever | Retriever} keeps beside it from the
   * first commit on (`Retriever.ownerDataFor`; see {@link LanceIndex.ownerData}).
   * @defaultValue nothing kept
   */
  ownerData?: Uint8Array;
}

/** An approximate index built inside LanceDB on the vector column (see {@link LanceIndex.buildAnnIndex}). */
export interface LanceAnnOptions {
  /** `ivf_pq` (LanceDB's default: compressed, on disk), `ivf_flat`, or `hnsw_sq` (an HNSW graph over scalar-quantised vectors). @defaultValue 'ivf_pq' */
  type?: 'ivf_pq' | 'ivf_flat' | 'hnsw_sq';
  /** IVF partitions. @defaultValue LanceDB's (about sqrt(rows)) */
  numPartitions?: number;
  /** PQ sub-vectors (`ivf_pq`; must divide the dimension). @defaultValue LanceDB's (dim / 16, or dim / 8) */
  numSubVectors?: number;
}

/** Search-time dials of an ANN-indexed table: probes, refinement (exact re-ranking of refineFactor x k rows), and HNSW's ef. */
export interface LanceSearchOptions {
  /** IVF partitions searched per query. @defaultValue LanceDB's (20) */
  nprobes?: number;
  /** Re-rank `refineFactor * k` candidates by their exact distance (PQ distances are approximate). @defaultValue none (LanceDB's: no refinement) */
  refineFactor?: number;
  /** HNSW candidates considered per query (`hnsw_sq`). @defaultValue LanceDB's (1.5 x k) */
  ef?: number;
}

/** What cbir keeps beside the vectors: a one-row table holding the index's configuration and specs. */
const META_SUFFIX = '__cbir';
/** Ids per `IN (...)` predicate. */
const ID_CHUNK = 2000;
/** Rows per LanceDB `add` call. */
const ADD_SLICE = 50_000;
/** Query vectors per LanceDB multi-vector query. */
const QUERY_BATCH = 64;
/**
 * What a batch of queries over a table without an ANN index may make LanceDB hold at once: its flat scan takes about
 * the table's vectors again per query of the batch (64 queries over 10^5 x 256 held 4 to 8 GB, growing from batch to
 * batch; 8 held 1.4 GB at the same speed), so such batches are cut to fit.
 */
const FLAT_SCAN_BYTES = 2 ** 29;

let modules: Promise<{ lancedb: typeof Lance; arrow: typeof Arrow }> | undefined;

/** LanceDB and Arrow, loaded on first use (optional peers: `npm install @lancedb/lancedb apache-arrow`). */
function load(): Promise<{ lancedb: typeof Lance; arrow: typeof Arrow }> {
  modules ??= Promise.all([import('@lancedb/lancedb'), import('apache-arrow')]).then(
    ([lancedb, arrow]) => ({ lancedb, arrow }),
    (e: Error) => {
      modules = undefined;
      throw new BackendUnavailableError(
        `LanceIndex needs @lancedb/lancedb and apache-arrow (${e.message}). Install them with npm install @lancedb/lancedb@0.31.0 apache-arrow@18.1.0.`,
        { cause: e },
      );
    },
  );
  return modules;
}

interface Config {
  format: 'cbir-lance';
  version: 1;
  metric: 'euclidean' | 'cosine';
  dim: number;
  /** The data table's version that readers see: the last one a whole call committed (absent in older tables: latest). */
  dataVersion?: number;
  /** Rows at `dataVersion`, checked on open. */
  rows?: number;
  /** One past the largest id ever held (see `Index.nextId`). */
  nextId?: number;
}

/**
 * An index whose vectors live in a LanceDB table (`@lancedb/lancedb`): on disk in a directory, or in object storage
 * (`s3://`, `gs://`, `az://`), read by many processes. The table holds `id`, `vector`, `path` and `label`; what its
 * {@link cbir-core!Retriever | Retriever} keeps (the model, reducer or extractor that made the vectors) is kept beside
 * it ({@link LanceIndex.ownerData}), so `cbir search --engine lancedb` embeds queries as `cbir search --index` does. It
 * follows the {@link AsyncIndex} contract.
 *
 * Every call that changes the table (`add`, `remove`, `reset`, `buildAnnIndex`, `saveOwnerData`) ends with one commit
 * that moves readers to the version it wrote; the rows a call writes before that (LanceDB commits each slice) are not
 * seen by anyone else. A process killed mid-call leaves readers on the previous version, and the next writer starts
 * from that version again (LanceDB keeps the versions in between; `restore` makes the committed one the latest).
 * {@link LanceIndex.create} commits nothing: over an existing table (`overwrite`) readers keep the old rows until the
 * first call commits the new ones.
 *
 * Until {@link LanceIndex.buildAnnIndex} runs, searches scan the table exactly (the best `k + 16` by LanceDB's float32
 * distance re-ranked in float64: distances equal {@link ExactEuclideanIndex}'s). After it, LanceDB's IVF-PQ or HNSW
 * index answers, approximately; rows added later are scanned until the index is rebuilt.
 *
 * @example
 * ```ts
 * const index = await LanceIndex.create('./photos.lance', 256, { metric: 'cosine' });
 * await index.add(features, undefined, paths.map((path) => ({ path })));
 * await index.buildAnnIndex({ type: 'ivf_pq' });
 * const { ids, distances } = await index.search(queries, 10);
 * await index.close();
 * ```
 */
export class LanceIndex implements AsyncIndex {
  readonly kind = 'lancedb';
  readonly isTrained = true;
  /** Search dials for an ANN-indexed table; see {@link LanceSearchOptions}. */
  searchOptions: LanceSearchOptions = {};
  private ids: Set<number>;
  private annBuilt = false;
  private next: number;

  private constructor(
    private readonly db: Lance.Connection,
    private table: Lance.Table,
    private readonly meta: Lance.Table,
    readonly uri: string,
    readonly tableName: string,
    private readonly config: Config,
    ids: number[],
    private owner: Uint8Array | undefined,
    /** The data version readers see; undefined until the first commit of a created table. */
    private committed: number | undefined,
    /** The metadata columns the table has (a table built by an earlier release has fewer). */
    private readonly columns: readonly (keyof ItemMetadata)[],
  ) {
    this.ids = new Set(ids);
    this.next = config.nextId ?? 0;
    for (const id of ids) if (id >= this.next) this.next = id + 1;
  }

  /** One past the largest id ever held (see {@link cbir-core!Index.nextId | Index.nextId}); kept beside the table, it only grows. */
  get nextId(): number {
    return this.next;
  }
  set nextId(next: number) {
    if (!Number.isSafeInteger(next) || next < 0)
      throw new CbirError('INVALID_ARGUMENT', `LanceIndex: nextId must be a non-negative integer, got ${next}.`);
    this.next = Math.max(this.next, next);
  }

  /** The data table's version that readers see (the last commit), or undefined before the first. */
  get version(): number | undefined {
    return this.committed;
  }

  /**
   * The metadata columns the table holds: every {@link cbir-core!ITEM_METADATA_FIELDS | ITEM_METADATA_FIELDS} for a
   * table built by this release; `path` and `label` only for one built before cbir kept more (its other fields are
   * dropped on add; rebuild it to keep them).
   */
  get metadataColumns(): readonly string[] {
    return this.columns;
  }

  /** The vectors' dimension. */
  get dim(): number {
    return this.config.dim;
  }

  /** `euclidean` or `cosine`, fixed at creation. */
  get metric(): 'euclidean' | 'cosine' {
    return this.config.metric;
  }

  get size(): number {
    return this.ids.size;
  }

  /**
   * What the index's {@link cbir-core!Retriever | Retriever} keeps beside the table (the pipeline or extractor that
   * made the vectors), as an index file of no rows: opaque here (see {@link cbir-core!AsyncIndex.ownerData}).
   */
  get ownerData(): Uint8Array | undefined {
    return this.owner;
  }

  /**
   * Creates the table `options.table` (default `cbir`) in the database at `uri` (a directory, created if missing, or
   * an object-store URI).
   *
   * @example
   * ```ts
   * const index = await LanceIndex.create('/data/photos.lance', 4096);
   * ```
   */
  static async create(uri: string, dim: number, options: LanceIndexOptions = {}): Promise<LanceIndex> {
    if (!Number.isInteger(dim) || dim < 1)
      throw new CbirError('INVALID_ARGUMENT', `LanceIndex.create: dim must be a positive integer, got ${dim}.`);
    const metric = options.metric ?? 'euclidean';
    if (metric !== 'euclidean' && metric !== 'cosine')
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LanceIndex.create: metric must be euclidean or cosine, got "${String(metric)}".`,
      );
    const name = tableName(options.table);
    const { lancedb, arrow } = await load();
    const db = await lancedb.connect(uri, { storageOptions: options.storageOptions });
    const [existing, existingMeta] = await lanceCall(uri, name, () =>
      Promise.all([openIfThere(db, name), openIfThere(db, name + META_SUFFIX)]),
    );
    existing?.close();
    // A table whose build never committed (a killed `cbir index`) holds nothing anyone reads: it is replaced.
    const committed =
      existing !== undefined &&
      existingMeta !== undefined &&
      (await lanceCall(uri, name, async () => (await existingMeta.query().toArray()).some((r) => r.key === 'config')));
    if (committed && !options.overwrite) {
      existingMeta.close();
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LanceIndex.create: ${uri} already has a table "${name}"; open it with LanceIndex.open, or pass overwrite.`,
      );
    }
    // Overwriting writes a new, empty version of the data table; the meta table (and with it the version readers
    // see) is left as it is until the first commit.
    const { table, meta } = await lanceCall(uri, name, async () => ({
      table: await db.createEmptyTable(name, rowSchema(arrow, dim), {
        mode: existing ? 'overwrite' : 'create',
      }),
      meta: existingMeta ?? (await db.createEmptyTable(name + META_SUFFIX, metaSchema(arrow))),
    }));
    const config: Config = { format: 'cbir-lance', version: 1, metric, dim };
    return new LanceIndex(db, table, meta, uri, name, config, [], options.ownerData, undefined, METADATA_COLUMNS);
  }

  /**
   * Opens a table written by {@link LanceIndex.create}, checking cbir's record beside it.
   *
   * @example
   * ```ts
   * const index = await LanceIndex.open('/data/photos.lance');
   * const hits = await index.search(query, 10);
   * ```
   */
  static async open(
    uri: string,
    options: Pick<LanceIndexOptions, 'table' | 'storageOptions'> = {},
  ): Promise<LanceIndex> {
    const name = tableName(options.table);
    const { lancedb } = await load();
    const db = await lancedb.connect(uri, { storageOptions: options.storageOptions });
    return lanceCall(uri, name, () => LanceIndex.openIn(db, uri, name));
  }

  private static async openIn(db: Lance.Connection, uri: string, name: string): Promise<LanceIndex> {
    const [table, meta] = await Promise.all([openIfThere(db, name), openIfThere(db, name + META_SUFFIX)]);
    if (!table || !meta) {
      table?.close();
      meta?.close();
      const names = await db.tableNames();
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LanceIndex.open: ${uri} has no cbir table "${name}" (tables: ${names.join(', ') || 'none'}). Build one with cbir index --engine lancedb --uri ${uri}.`,
      );
    }
    const rows = await meta.query().toArray();
    const record = rows.find((r) => r.key === 'config');
    if (!record)
      throw new IndexFormatError(
        `LanceIndex.open: ${uri} table "${name}" was never committed: its build was interrupted before its first rows were written. Run cbir index --engine lancedb --uri ${uri} again.`,
      );
    let config: Config;
    try {
      config = JSON.parse(String(record.value)) as Config;
    } catch {
      throw new IndexFormatError(
        `LanceIndex.open: ${uri} table "${name}" has no readable cbir record. Rebuild it with cbir index --engine lancedb.`,
      );
    }
    const whole = (v: unknown, min: number) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= min);
    if (
      config?.format !== 'cbir-lance' ||
      config.version !== 1 ||
      !Number.isSafeInteger(config.dim) ||
      config.dim < 1 ||
      config.dim > 1 << 20 ||
      (config.metric !== 'euclidean' && config.metric !== 'cosine') ||
      !whole(config.dataVersion, 1) ||
      !whole(config.rows, 0) ||
      !whole(config.nextId, 0)
    ) {
      throw new IndexFormatError(
        `LanceIndex.open: ${uri} table "${name}" has cbir record ${JSON.stringify(config).slice(0, 300)}; expected format cbir-lance version 1 with a metric, a dim and whole-number versions and counts. Rebuild it with cbir index --engine lancedb.`,
      );
    }
    const carrier = Buffer.from(String(rows.find((r) => r.key === 'specs')?.value ?? ''), 'base64');
    // Readers see the committed version: rows a killed writer left after it are not served.
    if (config.dataVersion !== undefined) await table.checkout(config.dataVersion);
    const ids = (await table.query().select(['id']).toArray()).map((r) => Number(r.id));
    const schema = await table.schema();
    checkIds(ids, config, `LanceIndex.open: ${uri} table "${name}"`);
    const index = new LanceIndex(
      db,
      table,
      meta,
      uri,
      name,
      config,
      ids,
      carrier.length ? new Uint8Array(carrier) : undefined,
      config.dataVersion ?? (await table.version()),
      METADATA_COLUMNS.filter((c) => schema.fields.some((f) => f.name === c)),
    );
    index.annBuilt = (await table.listIndices()).some((i) => i.columns.includes('vector'));
    return index;
  }

  /**
   * Makes the data table writable at the committed version: a reader's handle is checked out there (read-only), and
   * a writer killed mid-call may have left versions after it, which are set aside (they stay in LanceDB's history).
   */
  private async writable(): Promise<void> {
    if (this.committed === undefined) return; // created here: the handle is the latest version, this writer's own
    await this.table.checkoutLatest();
    if ((await this.table.version()) === this.committed) return;
    await this.table.checkout(this.committed);
    await this.table.restore();
  }

  /** Points readers at the data table's current version, with the configuration and specs, in one commit. */
  private async commit(): Promise<void> {
    const version = await this.table.version();
    const config: Config = { ...this.config, dataVersion: version, rows: this.ids.size, nextId: this.next };
    // What the owner keeps (see ownerData); an empty index file when it keeps nothing, as ever.
    const carrier = this.owner ?? new ExactEuclideanIndex(this.dim).serialize();
    // Plain rows, not Arrow tables: LanceDB converts them with its own copy of Arrow (two copies' classes differ).
    const rows = [
      { key: 'config', value: JSON.stringify(config) },
      { key: 'specs', value: Buffer.from(carrier).toString('base64') },
    ];
    await this.meta.add(rows, { mode: 'overwrite' });
    this.committed = version;
  }

  /** Runs a change of the table from the committed version, then commits it; LanceDB's errors named as the table's. */
  private change<T>(fn: () => Promise<T>): Promise<T> {
    return lanceCall(this.uri, this.tableName, async () => {
      await this.writable();
      const out = await fn();
      await this.commit();
      return out;
    });
  }

  /** Runs a read; LanceDB's errors named as the table's. */
  private read<T>(fn: () => Promise<T>): Promise<T> {
    return lanceCall(this.uri, this.tableName, fn);
  }

  /**
   * Keeps `bytes` as {@link LanceIndex.ownerData} beside the table, with the configuration, and commits the table as
   * it is (see the class notes); `add`, `remove` and the rest commit them too. A {@link cbir-core!Retriever |
   * Retriever}'s `save` calls it.
   */
  async saveOwnerData(bytes: Uint8Array): Promise<void> {
    const before = this.owner;
    this.owner = bytes;
    try {
      await this.change(async () => undefined);
    } catch (e) {
      this.owner = before;
      throw e;
    }
  }

  /** Appends rows (ids checked against the table's; cosine rows stored unit-normalised), in slices. */
  async add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): Promise<void> {
    checkMatrix('LanceIndex.add', vectors, this.dim, 'vectors');
    const resolved = resolveIds('LanceIndex.add', vectors.rows, ids, (id) => this.ids.has(id), this.next);
    const checked = metadata?.map((m, i) => checkItemMetadata(m, `LanceIndex.add: metadata[${i}]`));
    const data =
      this.metric === 'cosine'
        ? normalizeRows('LanceIndex.add', vectors, 'vectors').data
        : vectors.data.subarray(0, vectors.rows * this.dim);
    // In slices, so that a million rows never become a million objects at once; one commit at the end.
    await this.change(async () => {
      for (let i = 0; i < resolved.length; i += ADD_SLICE) {
        await this.table.add(
          rows(
            this.dim,
            data.subarray(i * this.dim),
            resolved.slice(i, i + ADD_SLICE),
            checked?.slice(i, i + ADD_SLICE),
            this.columns,
          ),
        );
      }
      for (const id of resolved) {
        this.ids.add(id);
        if (id >= this.next) this.next = id + 1;
      }
    });
  }

  /** The `k` nearest rows to each query: `[nq, k]`, padded with -1 / Infinity. */
  async search(queries: Matrix, k: number): Promise<SearchResult> {
    return this.searchTable(queries, k);
  }

  /**
   * The `k` nearest among the rows passing `sql` (a filter as cbir-core's `whereToSql` renders it), filtered by
   * LanceDB itself before the vector search (its prefilter), so the answer holds k matching rows whenever k exist.
   *
   * @example
   * ```ts
   * const columns = ITEM_COLUMNS;
   * await index.searchWhere(queries, 10, whereToSql(parseWhere("label = 'beach'", columns), columns));
   * ```
   */
  async searchWhere(queries: Matrix, k: number, sql: string): Promise<SearchResult> {
    return this.searchTable(queries, k, sql);
  }

  private async searchTable(queries: Matrix, k: number, where?: string): Promise<SearchResult> {
    checkMatrix('LanceIndex.search', queries, this.dim, 'queries');
    checkK('LanceIndex.search', k);
    const nq = queries.rows;
    const result = emptyResult(nq, k);
    if (this.ids.size === 0) return result;
    const q = this.metric === 'cosine' ? normalizeRows('LanceIndex.search', queries, 'queries').data : queries.data;
    // Exact scans fetch k + 16 by float32 distance and re-rank them in float64, as ExactEuclideanIndex does.
    const depth = Math.min(this.ids.size, this.annBuilt ? k : k + 16);
    const perBatch = this.annBuilt
      ? QUERY_BATCH
      : Math.max(1, Math.min(QUERY_BATCH, Math.floor(FLAT_SCAN_BYTES / (this.ids.size * this.dim * 4))));
    for (let b = 0; b < nq; b += perBatch) {
      const rows = Math.min(perBatch, nq - b);
      let query = this.table
        .vectorSearch(Array.from(q.subarray(b * this.dim, (b + 1) * this.dim)))
        .distanceType(this.metric === 'cosine' ? 'cosine' : 'l2')
        .limit(depth)
        .select(['id', 'vector', '_distance']); // (_distance named: LanceDB warns on every query otherwise)
      if (where !== undefined) query = query.where(where);
      for (let i = 1; i < rows; i++)
        query = query.addQueryVector(Array.from(q.subarray((b + i) * this.dim, (b + i + 1) * this.dim)));
      const { nprobes, refineFactor, ef } = this.searchOptions;
      if (nprobes) query = query.nprobes(nprobes);
      if (refineFactor) query = query.refineFactor(refineFactor);
      if (ef) query = query.ef(ef);
      const found = await this.read(() => query.toArray());
      const per: { id: number; d: number }[][] = Array.from({ length: rows }, () => []);
      for (const r of found) {
        const qi = rows > 1 ? Number(r.query_index) : 0;
        const d = this.distance(floats(r.vector), q, (b + qi) * this.dim);
        if (!Number.isFinite(d) || !Number.isSafeInteger(Number(r.id)))
          throw new IndexFormatError(
            `LanceIndex.search: ${this.uri} table "${this.tableName}" holds a row with id ${String(r.id)} and a vector that is not finite: its data files are damaged. ${RESTORE_ADVICE}`,
          );
        per[qi].push({ id: Number(r.id), d });
      }
      per.forEach((list, i) => {
        list.sort((x, y) => x.d - y.d || x.id - y.id);
        list.slice(0, k).forEach((c, j) => {
          result.ids[(b + i) * k + j] = c.id;
          result.distances[(b + i) * k + j] = c.d;
        });
      });
    }
    return result;
  }

  /** The distance the exact indexes report, in float64. */
  private distance(x: ArrayLike<number>, q: Float32Array, o: number): number {
    let s = 0;
    if (this.metric === 'cosine') {
      for (let j = 0; j < this.dim; j++) s += x[j] * q[o + j];
      return 1 - s;
    }
    for (let j = 0; j < this.dim; j++) s += (x[j] - q[o + j]) ** 2;
    return Math.sqrt(s);
  }

  /** Deletes `ids` from the table; returns how many were present. */
  async remove(ids: ArrayLike<number>): Promise<number> {
    const present = Array.from(ids).filter((id) => this.ids.has(id));
    if (present.length === 0) return 0;
    await this.change(async () => {
      for (let i = 0; i < present.length; i += ID_CHUNK)
        await this.table.delete(`id IN (${present.slice(i, i + ID_CHUNK).join(',')})`);
      for (const id of present) this.ids.delete(id);
    });
    return present.length;
  }

  /** The stored row of `id` (unit-normalised for cosine), read from the table. */
  async vector(id: number): Promise<Float32Array | undefined> {
    if (!this.ids.has(id)) return undefined;
    const [row] = await this.read(() => this.table.query().where(`id = ${id}`).select(['vector']).limit(1).toArray());
    return row ? Float32Array.from(floats(row.vector)) : undefined;
  }

  /** Every id in the table. */
  async idList(): Promise<number[]> {
    return [...this.ids];
  }

  /** The metadata of `id`, read from the table. */
  async metadata(id: number): Promise<ItemMetadata | undefined> {
    if (!this.ids.has(id)) return undefined;
    const [row] = await this.read(() =>
      this.table
        .query()
        .where(`id = ${id}`)
        .select([...this.columns])
        .limit(1)
        .toArray(),
    );
    return row ? this.rowMetadata(row) : undefined;
  }

  /** Every row's id and metadata, in one scan (for evaluation and migration). */
  async allMetadata(): Promise<Map<number, ItemMetadata>> {
    const rows = await this.read(() =>
      this.table
        .query()
        .select(['id', ...this.columns])
        .toArray(),
    );
    return new Map(rows.map((r) => [Number(r.id), this.rowMetadata(r) ?? {}]));
  }

  /** A table row's metadata columns as cbir's metadata (checked); undefined when it has none. */
  private rowMetadata(r: Record<string, unknown>): ItemMetadata | undefined {
    const m: Record<string, unknown> = {};
    for (const c of this.columns) {
      const v = r[c];
      if (v == null) continue;
      const type = ITEM_METADATA_FIELDS[c];
      m[c] =
        type === 'date'
          ? new Date(Number(v)).toISOString()
          : type === 'number'
            ? Number(v)
            : type === 'boolean'
              ? Boolean(v)
              : String(v);
    }
    try {
      return checkItemMetadata(m, `LanceIndex: ${this.uri} table "${this.tableName}" row ${String(r.id)}`);
    } catch (e) {
      throw new IndexFormatError(`${(e as Error).message} ${RESTORE_ADVICE}`);
    }
  }

  /**
   * Every row, in one scan: ids, vectors (`[rows, dim]`, unit-normalised for cosine) and metadata, in the table's
   * order. What `cbir eval` reads, instead of two queries per item.
   *
   * @example
   * ```ts
   * const { ids, vectors, metadata } = await index.allRows();
   * ```
   */
  async allRows(): Promise<{ ids: number[]; vectors: Matrix; metadata: (ItemMetadata | undefined)[] }> {
    const rows = await this.read(() =>
      this.table
        .query()
        .select(['id', 'vector', ...this.columns])
        .toArray(),
    );
    const data = new Float32Array(rows.length * this.dim);
    rows.forEach((r, i) => data.set(floats(r.vector), i * this.dim));
    for (let i = 0; i < data.length; i++)
      if (!Number.isFinite(data[i]))
        throw new IndexFormatError(
          `LanceIndex.allRows: ${this.uri} table "${this.tableName}" row ${Math.floor(i / this.dim)} holds a value that is not finite: its data files are damaged. ${RESTORE_ADVICE}`,
        );
    return {
      ids: rows.map((r) => Number(r.id)),
      vectors: { data, rows: rows.length, cols: this.dim },
      metadata: rows.map((r) => this.rowMetadata(r)),
    };
  }

  /** Deletes every row, keeping the table, its configuration and specs. */
  async reset(): Promise<void> {
    await this.change(async () => {
      await this.table.delete('true');
      this.ids.clear();
    });
  }

  /**
   * Builds LanceDB's approximate index on the vector column (replacing one there): from then on searches are
   * approximate, tuned by {@link LanceIndex.searchOptions}.
   *
   * @example
   * ```ts
   * await index.buildAnnIndex({ type: 'ivf_pq', numPartitions: 256, numSubVectors: 32 });
   * index.searchOptions = { nprobes: 20, refineFactor: 4 };
   * ```
   */
  async buildAnnIndex(options: LanceAnnOptions = {}): Promise<void> {
    const { lancedb } = await load();
    const distanceType = this.metric === 'cosine' ? 'cosine' : 'l2';
    const type = options.type ?? 'ivf_pq';
    const parts = options.numPartitions ? { numPartitions: options.numPartitions } : {};
    const config =
      type === 'ivf_pq'
        ? lancedb.Index.ivfPq({
            distanceType,
            ...parts,
            ...(options.numSubVectors ? { numSubVectors: options.numSubVectors } : {}),
          })
        : type === 'ivf_flat'
          ? lancedb.Index.ivfFlat({ distanceType, ...parts })
          : type === 'hnsw_sq'
            ? lancedb.Index.hnswSq({ distanceType, ...parts })
            : undefined;
    if (!config)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LanceIndex.buildAnnIndex: type must be ivf_pq, ivf_flat or hnsw_sq, got "${String(type)}".`,
      );
    await this.change(() => this.table.createIndex('vector', { config, replace: true }));
    this.annBuilt = true;
  }

  /** Whether LanceDB's approximate index is built on the vector column. */
  get hasAnnIndex(): boolean {
    return this.annBuilt;
  }

  async close(): Promise<void> {
    this.table.close();
    this.meta.close();
    this.db.close();
  }
}

const RESTORE_ADVICE =
  'LanceDB keeps earlier versions: restore one (table.checkout(N), then table.restore(), in LanceDB) or rebuild the table with cbir index --engine lancedb --overwrite.';

/**
 * Runs a LanceDB call on table `name` at `uri`; what LanceDB throws (a damaged or missing data file, a manifest it
 * cannot parse, a store it cannot reach) becomes an {@link IndexFormatError} that names the table and says what to
 * do, keeping LanceDB's own message, which names the file.
 */
async function lanceCall<T>(uri: string, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof CbirError) throw e;
    const message = String((e as Error)?.message ?? e)
      .split('\n')[0]
      .slice(0, 400);
    throw new IndexFormatError(
      `the LanceDB table "${name}" at ${uri} cannot be read or written: ${message}. If its files were damaged, ${RESTORE_ADVICE}`,
      { cause: e },
    );
  }
}

/** Refuses ids that LanceDB returned but cbir never writes (fractional, negative, repeated) or a count off the record. */
function checkIds(ids: number[], config: Config, where: string): void {
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id < 0 || seen.has(id))
      throw new IndexFormatError(
        `${where} holds id ${id}, ${seen.has(id) ? 'twice' : 'which is not a non-negative integer'}: its data files are damaged. ${RESTORE_ADVICE}`,
      );
    seen.add(id);
  }
  if (config.rows !== undefined && ids.length !== config.rows)
    throw new IndexFormatError(
      `${where} holds ${ids.length} rows at version ${config.dataVersion}; its commit recorded ${config.rows}: its data files are damaged. ${RESTORE_ADVICE}`,
    );
}

/** A vector cell as LanceDB returns it (an Arrow vector, or an array) as numbers. */
function floats(cell: unknown): ArrayLike<number> {
  const v = cell as { toArray?: () => ArrayLike<number> } & ArrayLike<number>;
  return typeof v.toArray === 'function' ? v.toArray() : v;
}

/**
 * The table `name` of `db`, or undefined when it has none. Tables are opened, not looked up in `tableNames()`: on an
 * S3-compatible store whose listing LanceDB does not read (s3rver answers it with nothing), the list comes back empty
 * though the tables are there, and a table built on it could not be opened again.
 */
async function openIfThere(db: Lance.Connection, name: string): Promise<Lance.Table | undefined> {
  try {
    return await db.openTable(name);
  } catch (e) {
    if (/was not found|not found|does not exist/i.test((e as Error).message)) return undefined;
    throw e;
  }
}

function tableName(name = 'cbir'): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new CbirError('INVALID_ARGUMENT', `LanceIndex: table name "${name}" must be letters, digits, _ and -.`);
  return name;
}

function rowSchema(arrow: typeof Arrow, dim: number): Arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('vector', new arrow.FixedSizeList(dim, new arrow.Field('item', new arrow.Float32(), true)), false),
    ...METADATA_COLUMNS.map((c) => new arrow.Field(c, columnType(arrow, ITEM_METADATA_FIELDS[c]), true)),
  ]);
}

/** Every metadata field, each a nullable column of the data table. */
const METADATA_COLUMNS = Object.keys(ITEM_METADATA_FIELDS) as (keyof ItemMetadata)[];

/** A metadata field's Arrow type: dates as millisecond timestamps (UTC instants, no zone), so that filters compare them. */
function columnType(arrow: typeof Arrow, type: MetadataFieldType): Arrow.DataType {
  if (type === 'number') return new arrow.Float64();
  if (type === 'boolean') return new arrow.Bool();
  if (type === 'date') return new arrow.TimestampMillisecond();
  return new arrow.Utf8();
}

function metaSchema(arrow: typeof Arrow): Arrow.Schema {
  return new arrow.Schema([
    new arrow.Field('key', new arrow.Utf8(), false),
    new arrow.Field('value', new arrow.Utf8(), false),
  ]);
}

/** The rows to append, as LanceDB takes them (it converts them to the table's schema). */
function rows(
  dim: number,
  data: Float32Array,
  ids: number[],
  metadata: readonly (ItemMetadata | undefined)[] | undefined,
  columns: readonly (keyof ItemMetadata)[],
): Record<string, unknown>[] {
  // A column with no value in the slice is left out of every row (LanceDB fills it with nulls): apache-arrow writes
  // an all-null Boolean column without its bitmap, which LanceDB then refuses to read.
  const present = columns.filter((c) => metadata?.some((m) => m?.[c] != null));
  return ids.map((id, i) => {
    const row: Record<string, unknown> = { id, vector: Array.from(data.subarray(i * dim, (i + 1) * dim)) };
    const m = metadata?.[i];
    for (const c of present) {
      const v = m?.[c];
      row[c] = v == null ? null : ITEM_METADATA_FIELDS[c] === 'date' ? Date.parse(v as string) : v;
    }
    return row;
  });
}
