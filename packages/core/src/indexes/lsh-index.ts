import { CbirError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { productEngine } from '../compute/engine.js';
import { Rng } from '../utils/rng.js';
import { TopK } from '../compute/top-k.js';
import { withScratch } from '../compute/wasm-simd/simd-kernels.js';
import { ExactEuclideanIndex } from './exact-euclidean-index.js';
import { StoredIndex } from './flat-store.js';
import {
  checkK,
  checkMatrix,
  emptyResult,
  resolveIds,
  type Index,
  type OwnerSections,
  type ItemMetadata,
  type Metric,
  type SearchResult,
} from './index.js';
import { popcount32 } from '../utils/bits.js';

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

/** Floats of plane-by-vector products per hashing block (8 MB of float64). */
const HASH_SCORES = 1 << 20;

/** Every `bits`-bit number with exactly `weight` bits set. */
function masksOfWeight(bits: number, weight: number): number[] {
  if (weight === 0) return [0];
  const out: number[] = [];
  for (const rest of masksOfWeight(bits, weight - 1)) {
    const top = rest === 0 ? -1 : 31 - Math.clz32(rest);
    for (let b = top + 1; b < bits; b++) out.push(rest | (1 << b));
  }
  return out;
}

/** The distance each `distanceFunc` reports. */
const LSH_METRIC: Record<LSHDistance, Metric> = {
  hamming: 'sqeuclidean',
  euclidean: 'sqeuclidean',
  true_euclidean: 'euclidean',
  centred_euclidean: 'centred_euclidean',
  cosine: 'cosine',
  l1norm: 'l1',
};

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
  readonly kind = 'lsh';
  /** The distance results are ranked and reported by, from `distanceFunc` (`hamming` probes by Hamming radius, then ranks by squared L2). */
  readonly metric: Metric;
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
  /** Every table's planes, one after another (`[numHashtables * hashSize, dim]`), and each plane's norm. */
  private readonly allPlanes: Float32Array;
  private readonly planeNorms: Float64Array;
  private centreVector?: Float32Array;
  private readonly wantCentre: boolean;
  /** Per table: key -> the rows in that bucket, in insertion order. */
  private readonly tables: Map<number, number[]>[];
  /** Per row: its key in each table (`[row * numHashtables + t]`). */
  private rowKeys = new Int32Array(0);
  /** Per row: the query that last saw it (de-duplicates candidates across buckets without a Set). */
  private seenBy = new Uint32Array(0);
  private visit = 0;
  /** Keys within the probe radius are enumerated as `key ^ mask` when that is fewer lookups than the buckets. */
  private readonly masks: number[];

  constructor(options: LSHIndexOptions) {
    const { hashSize, inputDim, numHashtables = 1, seed = 0, distanceFunc = 'euclidean' } = options;
    if (!Number.isInteger(hashSize) || hashSize < 1 || hashSize > 30)
      throw new CbirError('INVALID_ARGUMENT', `LSHIndex: hashSize must be an integer in [1, 30], got ${hashSize}.`);
    if (!Number.isInteger(inputDim) || inputDim < 1)
      throw new CbirError('INVALID_ARGUMENT', `LSHIndex: inputDim must be a positive integer, got ${inputDim}.`);
    if (!Number.isInteger(numHashtables) || numHashtables < 1)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LSHIndex: numHashtables must be a positive integer, got ${numHashtables}.`,
      );
    super(inputDim);
    const valid: LSHDistance[] = ['hamming', 'euclidean', 'true_euclidean', 'centred_euclidean', 'cosine', 'l1norm'];
    if (!valid.includes(distanceFunc))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LSHIndex: distanceFunc "${distanceFunc}" is not one of ${valid.join(', ')}.`,
      );
    this.dim = inputDim;
    this.hashSize = hashSize;
    this.numHashtables = numHashtables;
    this.distanceFunc = distanceFunc;
    this.metric = LSH_METRIC[distanceFunc];
    this.probeRadius = options.probeRadius ?? (distanceFunc === 'hamming' ? 1 : 0);
    if (!Number.isInteger(this.probeRadius) || this.probeRadius < 0)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `LSHIndex: probeRadius must be a non-negative integer, got ${this.probeRadius}.`,
      );
    this.fillToK = options.fillToK ?? false;
    this.wantCentre = options.centre ?? false;
    this.seed = seed;
    if (options.planes) {
      if (options.planes.length !== numHashtables || options.planes.some((p) => p.length !== hashSize * inputDim)) {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `LSHIndex: planes must be ${numHashtables} arrays of ${hashSize} x ${inputDim} values.`,
        );
      }
      this.planes = options.planes.map((p) => Float32Array.from(p));
    } else {
      const rng = new Rng(seed);
      this.planes = Array.from({ length: numHashtables }, () =>
        Float32Array.from({ length: hashSize * inputDim }, () => rng.normal()),
      );
    }
    this.allPlanes = new Float32Array(numHashtables * hashSize * inputDim);
    this.planes.forEach((p, t) => this.allPlanes.set(p, t * hashSize * inputDim));
    this.planeNorms = new Float64Array(numHashtables * hashSize);
    for (let i = 0; i < this.planeNorms.length; i++) {
      let s = 0;
      for (let j = 0; j < inputDim; j++) s += this.allPlanes[i * inputDim + j] ** 2;
      this.planeNorms[i] = Math.sqrt(s);
    }
    this.tables = Array.from({ length: numHashtables }, () => new Map());
    this.masks = [];
    // Every mask within the probe radius, by increasing popcount (radius 0: just 0), when there are few enough.
    for (let r = 0; r <= Math.min(this.probeRadius, hashSize) && this.masks.length <= 1 << 16; r++)
      this.masks.push(...masksOfWeight(hashSize, r));
  }

  /** The key of `x` (`x[o..o + dim]`) in table `t`: bit `hashSize - 1 - j` is `planes[j] . x > 0` (lshashpy3's string, read as binary). */
  keyOf(t: number, x: Float32Array, o = 0): number {
    let key = 0;
    for (let j = 0; j < this.hashSize; j++) key = key * 2 + (this.projection(t * this.hashSize + j, x, o) > 0 ? 1 : 0);
    return key;
  }

  /** `planes[i] . (x - centre)` in float64 (all planes of all tables numbered in one sequence). */
  private projection(i: number, x: Float32Array, o: number): number {
    const p = this.allPlanes;
    const c = this.centreVector;
    const po = i * this.dim;
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += p[po + j] * (c ? x[o + j] - c[j] : x[o + j]);
    return s;
  }

  /**
   * The keys of `n` vectors (`x`, row-major) in every table, `[n * numHashtables]`: on the SIMD kernels, a float32
   * product of the planes with every vector whose sign is trusted only beyond its rounding bound (the float64
   * {@link LSHIndex.projection} decides the rest), so the keys are those of float64 arithmetic, as lshashpy3's.
   */
  private keysOfRows(x: Float32Array, n: number): Int32Array {
    const { dim, hashSize, numHashtables } = this;
    const planes = numHashtables * hashSize;
    const keys = new Int32Array(n * numHashtables);
    const kernels = productEngine() === 'js' ? undefined : this.store.simd?.kernels;
    if (!kernels) {
      for (let r = 0; r < n; r++)
        for (let t = 0; t < numHashtables; t++) keys[r * numHashtables + t] = this.keyOf(t, x, r * dim);
      return keys;
    }
    const c = this.centreVector;
    const block = Math.max(1, Math.min(n, Math.floor(HASH_SCORES / planes)));
    return withScratch(kernels, () => {
      const pb = kernels.alloc(planes * dim, 4);
      const xb = kernels.alloc(block * dim, 4);
      const ob = kernels.alloc(planes * block, 8);
      kernels.f32(pb).set(this.allPlanes);
      // Centring rounds x - c to float32 (one more unit of roundoff), and each SIMD lane sums dim / 4 products per
      // chunk: see dots_f32 in compute/wasm-simd/kernels.c.
      const factor = (Math.min(dim, 256) / 4 + 3) * 2 ** -24;
      for (let b0 = 0; b0 < n; b0 += block) {
        const b = Math.min(block, n - b0);
        const xs = kernels.f32(xb);
        xs.set(x.subarray(b0 * dim, (b0 + b) * dim));
        const xNorm = new Float64Array(b);
        for (let r = 0; r < b; r++) {
          let s = 0;
          for (let j = 0, o = r * dim; j < dim; j++, o++) {
            if (c) xs[o] -= c[j];
            s += xs[o] * xs[o];
          }
          xNorm[r] = Math.sqrt(s);
        }
        kernels.rows('dots_f32', planes, b * dim, (p0, p1) => [
          pb.ptr + p0 * dim * 4,
          p1 - p0,
          xb.ptr,
          b,
          dim,
          ob.ptr + p0 * b * 8,
        ]); // [planes, b]
        const s = kernels.f64(ob);
        for (let r = 0; r < b; r++) {
          for (let t = 0; t < numHashtables; t++) {
            let key = 0;
            for (let j = 0; j < hashSize; j++) {
              const i = t * hashSize + j;
              let v = s[i * b + r];
              if (Math.abs(v) <= factor * this.planeNorms[i] * xNorm[r] * 1.01 + 1e-30)
                v = this.projection(i, x, (b0 + r) * dim);
              key = key * 2 + (v > 0 ? 1 : 0);
            }
            keys[(b0 + r) * numHashtables + t] = key;
          }
        }
      }
      return keys;
    });
  }

  /** Item `id`'s key in each table, as lshashpy3's bit strings. */
  keys(id: number): string[] | undefined {
    const r = this.store.row(id);
    if (r === undefined) return undefined;
    return Array.from(this.rowKeys.subarray(r * this.numHashtables, (r + 1) * this.numHashtables), (k) =>
      k.toString(2).padStart(this.hashSize, '0'),
    );
  }

  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void {
    checkMatrix('LSHIndex.add', vectors, this.dim, 'vectors');
    const resolved = resolveIds('LSHIndex.add', vectors.rows, ids, (id) => this.store.has(id), this.nextId);
    if (this.wantCentre && !this.centreVector) {
      const c = new Float64Array(this.dim);
      for (let r = 0; r < vectors.rows; r++)
        for (let i = 0; i < this.dim; i++) c[i] += vectors.data[r * this.dim + i] / vectors.rows;
      this.centreVector = Float32Array.from(c);
    }
    const first = this.store.append(vectors, resolved, metadata);
    const keys = this.keysOfRows(vectors.data, vectors.rows);
    const T = this.numHashtables;
    if (this.rowKeys.length < this.size * T) {
      const grown = new Int32Array(Math.max(this.size, (this.rowKeys.length / T) * 2) * T);
      grown.set(this.rowKeys);
      this.rowKeys = grown;
      const seen = new Uint32Array(grown.length / T);
      seen.set(this.seenBy);
      this.seenBy = seen;
    }
    this.rowKeys.set(keys, first * T);
    for (let r = 0; r < vectors.rows; r++) {
      for (let t = 0; t < T; t++) {
        const key = keys[r * T + t];
        const bucket = this.tables[t].get(key);
        if (bucket) bucket.push(first + r);
        else this.tables[t].set(key, [first + r]);
      }
    }
  }

  search(queries: Matrix, k: number): SearchResult {
    checkMatrix('LSHIndex.search', queries, this.dim, 'queries');
    checkK('LSHIndex.search', k);
    const result = emptyResult(queries.rows, k);
    this.lastCandidates = [];
    const keys = this.keysOfRows(queries.data, queries.rows);
    let exact: ExactEuclideanIndex | undefined; // built once per search, only if some query needs filling
    for (let qi = 0; qi < queries.rows; qi++) {
      const rows = this.probe(keys.subarray(qi * this.numHashtables, (qi + 1) * this.numHashtables));
      this.lastCandidates.push(rows.length);
      const ranked = this.rank(rows, queries.data, qi * this.dim, k);
      if (this.fillToK && ranked.length < Math.min(k, this.size)) {
        if (!exact) {
          exact = new ExactEuclideanIndex(this.dim);
          exact.add({ data: this.store.vectors().slice(), rows: this.size, cols: this.dim }, this.store.ids);
        }
        const have = new Set(ranked.map((r) => r.id));
        const more = exact.search(
          { data: queries.data.subarray(qi * this.dim, (qi + 1) * this.dim), rows: 1, cols: this.dim },
          k,
        );
        for (let j = 0; j < k && ranked.length < k; j++) {
          const id = more.ids[j];
          if (id >= 0 && !have.has(id))
            ranked.push({ id, d: this.distanceTo(this.store.row(id)!, queries.data, qi * this.dim) });
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
    const keys = Int32Array.from({ length: this.numHashtables }, (_, t) => this.keyOf(t, q, qo));
    const rows = this.probe(keys);
    return this.rank(rows, q, qo, rows.length);
  }

  /** The rows in the buckets within the probe radius of `keys` (one per table), each once. */
  private probe(keys: Int32Array): number[] {
    if (++this.visit === 0xffffffff) {
      this.seenBy.fill(0);
      this.visit = 1;
    }
    const stamp = this.visit;
    const seen = this.seenBy;
    const out: number[] = [];
    for (let t = 0; t < this.tables.length; t++) {
      const table = this.tables[t];
      const key = keys[t];
      const enumerate = this.probeRadius === 0 || (this.probeRadius < this.hashSize && this.masks.length <= table.size);
      const buckets = enumerate
        ? this.masks.map((m) => table.get(key ^ m))
        : [...table].filter(([k]) => popcount32(k ^ key) <= this.probeRadius).map(([, b]) => b);
      for (const bucket of buckets) {
        if (!bucket) continue;
        for (let i = 0; i < bucket.length; i++) {
          const r = bucket[i];
          if (seen[r] !== stamp) {
            seen[r] = stamp;
            out.push(r);
          }
        }
      }
    }
    return out;
  }

  /** The best `k` of `rows` for the query at `q[qo..]` by `distanceFunc`, as ids and distances, ties by id. */
  private rank(rows: number[], q: Float32Array, qo: number, k: number): { id: number; d: number }[] {
    const n = rows.length;
    const ids = this.store.ids;
    let d: Float64Array;
    const simd = productEngine() === 'js' ? undefined : this.store.simd;
    if (
      simd &&
      n > 0 &&
      (this.distanceFunc === 'hamming' || this.distanceFunc === 'euclidean' || this.distanceFunc === 'true_euclidean')
    ) {
      const { kernels, rows: stored } = simd;
      d = withScratch(kernels, () => {
        const ib = kernels.alloc(n, 4);
        const qb = kernels.alloc(this.dim, 8);
        const ob = kernels.alloc(n, 8);
        kernels.i32(ib).set(rows);
        kernels.f64(qb).set(q.subarray(qo, qo + this.dim));
        // Rows scattered over the store: memory-latency bound, so worth a second thread at a few hundred rows.
        kernels.rows('sqdist_rows_f64', n, this.dim * 8, (a, b) => [
          stored.ptr,
          ib.ptr + a * 4,
          b - a,
          qb.ptr,
          this.dim,
          ob.ptr + a * 8,
        ]);
        return Float64Array.from(kernels.f64(ob));
      });
      if (this.distanceFunc === 'true_euclidean') for (let i = 0; i < n; i++) d[i] = Math.sqrt(d[i]);
    } else {
      d = new Float64Array(n);
      for (let i = 0; i < n; i++) d[i] = this.distanceTo(rows[i], q, qo);
    }
    const top = new TopK(Math.min(k, n));
    for (let i = 0; i < n; i++) top.push(d[i], i, ids[rows[i]]); // ties by id
    const order = top.sorted();
    return order.map((i) => ({ id: ids[rows[i]], d: d[i] }));
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
    const T = this.numHashtables;
    return this.store.remove(
      ids,
      (from, to) => {
        // The store moved its last row into the hole: rename it in its buckets and move its keys.
        for (let t = 0; t < T; t++) {
          const bucket = this.tables[t].get(this.rowKeys[from * T + t])!;
          bucket[bucket.indexOf(from)] = to;
          this.rowKeys[to * T + t] = this.rowKeys[from * T + t];
        }
      },
      (_, row) => {
        for (let t = 0; t < T; t++) {
          const key = this.rowKeys[row * T + t];
          const bucket = this.tables[t].get(key)!;
          bucket.splice(bucket.indexOf(row), 1);
          if (bucket.length === 0) this.tables[t].delete(key);
        }
      },
    );
  }

  /** Removes every vector and bucket, keeping the planes (and the centre, once computed). */
  override reset(): void {
    super.reset();
    for (const t of this.tables) t.clear();
  }

  serialize(owner?: OwnerSections): Uint8Array {
    const header = {
      kind: this.kind,
      metric: this.metric,
      dim: this.dim,
      size: this.size,
      ids: this.store.ids,
      metadata: this.store.metadataList(),
      hashSize: this.hashSize,
      numHashtables: this.numHashtables,
      distanceFunc: this.distanceFunc,
      probeRadius: this.probeRadius,
      fillToK: this.fillToK,
      seed: this.seed,
      centre: this.wantCentre,
      hasCentre: Boolean(this.centreVector),
    };
    return this.framed(
      header,
      [...this.planes, ...(this.centreVector ? [this.centreVector] : []), this.store.vectors()],
      owner,
    );
  }

  /**
   * Files item `id` under the given keys (one per table) instead of the keys its vector hashes to: for indexes imported
   * with their buckets (lshashpy3's pickles), whose keys were computed from float64 vectors and planes.
   * @internal
   */
  setKeys(id: number, keys: readonly number[]): void {
    const r = this.store.row(id);
    if (r === undefined) throw new CbirError('INVALID_ARGUMENT', `LSHIndex.setKeys: id ${id} is not in the index.`);
    const T = this.numHashtables;
    keys.forEach((key, t) => {
      const old = this.rowKeys[r * T + t];
      if (old === key) return;
      const bucket = this.tables[t].get(old)!;
      bucket.splice(bucket.indexOf(r), 1);
      if (bucket.length === 0) this.tables[t].delete(old);
      const to = this.tables[t].get(key);
      if (to) to.push(r);
      else this.tables[t].set(key, [r]);
      this.rowKeys[r * T + t] = key;
    });
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
  const names = [...npz.keys()]
    .filter((k) => /^arr_\d+$/.test(k))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (names.length === 0)
    throw new CbirError(
      'INVALID_ARGUMENT',
      'lshashPlanes: the archive has no arr_N arrays; expected the .npz lshashpy3 writes with matrices_filename.',
    );
  return names.map((k) => Float32Array.from(npz.get(k)!.data));
}
