import { CbirError } from '../errors.js';
import { writeFramed } from '../io/framed-file.js';
import type { Matrix } from '../matrix.js';
import { Rng } from '../utils/rng.js';
import { ExactEuclideanIndex } from './exact-euclidean-index.js';
import { StoredIndex } from './flat-store.js';
import { checkK, checkMatrix, emptyResult, resolveIds, type Index, type ItemMetadata, type Metric, type SearchResult } from './index.js';

/** lshashpy3's distance functions, with its names and exact semantics. */
export type LSHDistance = 'hamming' | 'euclidean' | 'true_euclidean' | 'centred_euclidean' | 'cosine' | 'l1norm';

/** Options of {@link LSHIndex}. */
export interface LSHIndexOptions {
  /** Bits per key (lshashpy3's `hash_size`). */
  hashSize: number;
  /** Number of hash tables (lshashpy3's `num_hashtables`). @defaultValue 1 */
  numHashtables?: number;
  /** Vector dimension (lshashpy3's `input_dim`). */
  inputDim: number;
  /** Seed of the Gaussian planes. @defaultValue 0 */
  seed?: number;
  /**
   * How candidates are ranked, as lshashpy3's `distance_func`. `hamming` probes every bucket within Hamming radius 1
   * and ranks by squared Euclidean distance; `euclidean` reports the squared distance, `true_euclidean` the distance.
   * @defaultValue 'euclidean'
   */
  distanceFunc?: LSHDistance;
  /** Hamming radius of the buckets probed in each table. @defaultValue 1 for `hamming`, else 0 (lshashpy3's) */
  probeRadius?: number;
  /** Subtract the mean of the first `add` from every vector before hashing (sign projections of uncentred, all-positive features put everything in few buckets). @defaultValue false */
  centre?: boolean;
  /** When fewer than `k` candidates collide, complete the result from an exact pass. @defaultValue false */
  fillToK?: boolean;
  /** Planes to use instead of seeded ones: one `[hashSize, inputDim]` row-major array per table (e.g. lshashpy3's `.npz`). */
  planes?: Float32Array[];
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Locality-sensitive hashing with sign random projections (Charikar 2002), with lshashpy3's semantics: each table
 * hashes a vector to the bits `planes[j] . x > 0` of `hashSize` seeded Gaussian planes; a query's candidates are the
 * items in its buckets (within Hamming radius 1 for `hamming`), de-duplicated across tables and ranked by
 * `distanceFunc`. Unlike lshashpy3, id 0 is kept (lshashpy3 drops it through a falsy check), the probe radius is
 * configurable, the data can be centred, results can be completed exactly (`fillToK`), and `lastCandidates` says how
 * many candidates each query scanned.
 *
 * @example
 * ```ts
 * const lsh = new LSHIndex({ hashSize: 12, numHashtables: 5, inputDim: 256, distanceFunc: 'hamming' });
 * lsh.add(features);
 * lsh.search(query, 10);
 * ```
 */
export class LSHIndex extends StoredIndex implements Index {
  readonly metric: Metric = 'lsh';
  readonly dim: number;
  readonly hashSize: number;
  readonly numHashtables: number;
  readonly distanceFunc: LSHDistance;
  readonly probeRadius: number;
  readonly fillToK: boolean;
  readonly seed: number;
  /** Candidates scanned by each query of the last `search`. */
  lastCandidates: number[] = [];
  private readonly planes: Float32Array[];
  private centreVector?: Float32Array;
  private readonly wantCentre: boolean;
  /** Per table: key -> ids, in insertion order. */
  private readonly tables: Map<number, number[]>[];
  private readonly keysOf = new Map<number, number[]>();

  constructor(options: LSHIndexOptions) {
    const { hashSize, inputDim, numHashtables = 1, seed = 0, distanceFunc = 'euclidean' } = options;
    if (!Number.isInteger(hashSize) || hashSize < 1 || hashSize > 30) throw new CbirError('INVALID_ARGUMENT', `LSHIndex: hashSize must be an integer in [1, 30], got ${hashSize}.`);
    if (!Number.isInteger(inputDim) || inputDim < 1) throw new CbirError('INVALID_ARGUMENT', `LSHIndex: inputDim must be a positive integer, got ${inputDim}.`);
    if (!Number.isInteger(numHashtables) || numHashtables < 1) throw new CbirError('INVALID_ARGUMENT', `LSHIndex: numHashtables must be a positive integer, got ${numHashtables}.`);
    super(inputDim);
    const valid: LSHDistance[] = ['hamming', 'euclidean', 'true_euclidean', 'centred_euclidean', 'cosine', 'l1norm'];
    if (!valid.includes(distanceFunc)) throw new CbirError('INVALID_ARGUMENT', `LSHIndex: distanceFunc "${distanceFunc}" is not one of ${valid.join(', ')}.`);
    this.dim = inputDim;
    this.hashSize = hashSize;
    this.numHashtables = numHashtables;
    this.distanceFunc = distanceFunc;
    this.probeRadius = options.probeRadius ?? (distanceFunc === 'hamming' ? 1 : 0);
    this.fillToK = options.fillToK ?? false;
    this.wantCentre = options.centre ?? false;
    this.seed = seed;
    if (options.planes) {
      if (options.planes.length !== numHashtables || options.planes.some((p) => p.length !== hashSize * inputDim)) {
        throw new CbirError('INVALID_ARGUMENT', `LSHIndex: planes must be ${numHashtables} arrays of ${hashSize} x ${inputDim} values.`);
      }
      this.planes = options.planes.map((p) => Float32Array.from(p));
    } else {
      const rng = new Rng(seed);
      this.planes = Array.from({ length: numHashtables }, () => Float32Array.from({ length: hashSize * inputDim }, () => rng.normal()));
    }
    this.tables = Array.from({ length: numHashtables }, () => new Map());
  }

  /** The key of `x` (`x[o..o + dim]`) in table `t`: bit `hashSize - 1 - j` is `planes[j] . x > 0` (lshashpy3's string, read as binary). */
  keyOf(t: number, x: Float32Array, o = 0): number {
    const p = this.planes[t];
    const c = this.centreVector;
    let key = 0;
    for (let j = 0; j < this.hashSize; j++) {
      let s = 0;
      const po = j * this.dim;
      for (let i = 0; i < this.dim; i++) s += p[po + i] * (c ? x[o + i] - c[i] : x[o + i]);
      key = key * 2 + (s > 0 ? 1 : 0);
    }
    return key;
  }

  /** Item `id`'s key in each table, as lshashpy3's bit strings. */
  keys(id: number): string[] | undefined {
    return this.keysOf.get(id)?.map((k) => k.toString(2).padStart(this.hashSize, '0'));
  }

  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void {
    checkMatrix('LSHIndex.add', vectors, this.dim, 'vectors');
    const resolved = resolveIds('LSHIndex.add', vectors.rows, ids, (id) => this.store.has(id), this.nextId());
    if (this.wantCentre && !this.centreVector) {
      const c = new Float64Array(this.dim);
      for (let r = 0; r < vectors.rows; r++) for (let i = 0; i < this.dim; i++) c[i] += vectors.data[r * this.dim + i] / vectors.rows;
      this.centreVector = Float32Array.from(c);
    }
    this.store.append(vectors, resolved, metadata);
    resolved.forEach((id, r) => {
      const keys = this.tables.map((table, t) => {
        const key = this.keyOf(t, vectors.data, r * this.dim);
        const bucket = table.get(key);
        if (bucket) bucket.push(id);
        else table.set(key, [id]);
        return key;
      });
      this.keysOf.set(id, keys);
    });
  }

  search(queries: Matrix, k: number): SearchResult {
    checkMatrix('LSHIndex.search', queries, this.dim, 'queries');
    checkK('LSHIndex.search', k);
    const result = emptyResult(queries.rows, k);
    this.lastCandidates = [];
    let exact: ExactEuclideanIndex | undefined; // built once per search, only if some query needs filling
    for (let qi = 0; qi < queries.rows; qi++) {
      const ranked = this.candidates(queries.data, qi * this.dim);
      this.lastCandidates.push(ranked.length);
      if (this.fillToK && ranked.length < Math.min(k, this.size)) {
        if (!exact) {
          exact = new ExactEuclideanIndex(this.dim);
          exact.add({ data: this.store.vectors().slice(), rows: this.size, cols: this.dim }, this.store.ids);
        }
        const have = new Set(ranked.map((r) => r.id));
        const more = exact.search({ data: queries.data.subarray(qi * this.dim, (qi + 1) * this.dim), rows: 1, cols: this.dim }, k);
        for (let j = 0; j < k && ranked.length < k; j++) {
          const id = more.ids[j];
          if (id >= 0 && !have.has(id)) ranked.push({ id, d: this.distanceTo(this.store.row(id)!, queries.data, qi * this.dim) });
        }
      }
      for (let j = 0; j < Math.min(k, ranked.length); j++) {
        result.ids[qi * k + j] = ranked[j].id;
        result.distances[qi * k + j] = ranked[j].d;
      }
    }
    return result;
  }

  /** Every candidate of the query at `q[qo..]`, de-duplicated and ranked by distance, ties by id. */
  candidates(q: Float32Array, qo = 0): { id: number; d: number }[] {
    const seen = new Set<number>();
    this.tables.forEach((table, t) => {
      const key = this.keyOf(t, q, qo);
      if (this.probeRadius === 0) {
        for (const id of table.get(key) ?? []) seen.add(id);
        return;
      }
      for (const [k, bucket] of table) if (popcount(k ^ key) <= this.probeRadius) for (const id of bucket) seen.add(id);
    });
    return [...seen].map((id) => ({ id, d: this.distanceTo(this.store.row(id)!, q, qo) })).sort((a, b) => a.d - b.d || a.id - b.id);
  }

  private distanceTo(r: number, q: Float32Array, qo: number): number {
    const x = this.store.data;
    const o = r * this.dim;
    const n = this.dim;
    switch (this.distanceFunc) {
      case 'hamming':
      case 'euclidean':
      case 'true_euclidean': {
        let s = 0;
        for (let i = 0; i < n; i++) s += (x[o + i] - q[qo + i]) ** 2;
        return this.distanceFunc === 'true_euclidean' ? Math.sqrt(s) : s;
      }
      case 'centred_euclidean': {
        let a = 0;
        let b = 0;
        for (let i = 0; i < n; i++) {
          a += x[o + i];
          b += q[qo + i];
        }
        return (a / n - b / n) ** 2;
      }
      case 'l1norm': {
        let s = 0;
        for (let i = 0; i < n; i++) s += Math.abs(x[o + i] - q[qo + i]);
        return s;
      }
      case 'cosine': {
        let dot = 0;
        let nx = 0;
        let nq = 0;
        for (let i = 0; i < n; i++) {
          dot += x[o + i] * q[qo + i];
          nx += x[o + i] ** 2;
          nq += q[qo + i] ** 2;
        }
        return 1 - dot / (Math.sqrt(nx) * Math.sqrt(nq));
      }
    }
  }

  remove(ids: ArrayLike<number>): number {
    return this.store.remove(ids, undefined, (id) => {
      this.keysOf.get(id)?.forEach((key, t) => {
        const bucket = this.tables[t].get(key)!;
        bucket.splice(bucket.indexOf(id), 1);
        if (bucket.length === 0) this.tables[t].delete(key);
      });
      this.keysOf.delete(id);
    });
  }

  serialize(): Uint8Array {
    const header = {
      kind: 'lsh', metric: this.metric, dim: this.dim, size: this.size, ids: this.store.ids, metadata: this.store.metadataList(),
      hashSize: this.hashSize, numHashtables: this.numHashtables, distanceFunc: this.distanceFunc, probeRadius: this.probeRadius,
      fillToK: this.fillToK, seed: this.seed, centre: this.wantCentre, hasCentre: Boolean(this.centreVector),
    };
    return writeFramed('CBIRINDX', 1, header, [...this.planes, ...(this.centreVector ? [this.centreVector] : []), this.store.vectors()]);
  }

  /** Restores the centre vector (used by `deserializeIndex`). */
  setCentre(c: Float32Array): void {
    this.centreVector = c;
  }
}

/**
 * The planes of an lshashpy3 `.npz` (`matrices_filename`; read it with `readNpz`) in the order lshashpy3 created
 * them (`arr_0`, `arr_1`, ..., `arr_10`, ...), ready for `LSHIndex`'s `planes` option.
 *
 * @remarks lshashpy3 itself reloads the file with the names sorted as strings (`arr_0, arr_1, arr_10, ...`), which
 * permutes the tables when there are more than 10; bucket membership per plane set, and query results (a union over
 * tables), are the same either way.
 *
 * @example
 * ```ts
 * const planes = lshashPlanes(readNpz(await readFile('planes.npz')));   // lshashpy3's saved planes, one Float32Array per table
 * const lsh = new LSHIndex({ hashSize: 12, inputDim: 256, numHashtables: 5, planes });
 * ```
 */
export function lshashPlanes(npz: ReadonlyMap<string, { shape: number[]; data: ArrayLike<number> }>): Float32Array[] {
  const names = [...npz.keys()].filter((k) => /^arr_\d+$/.test(k)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (names.length === 0) throw new CbirError('INVALID_ARGUMENT', 'lshashPlanes: the archive has no arr_N arrays; expected the .npz lshashpy3 writes with matrices_filename.');
  return names.map((k) => Float32Array.from(npz.get(k)!.data));
}
