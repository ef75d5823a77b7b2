import { CbirError, FormatError, throwIfAborted } from '../errors.js';
import type { LongRunning } from '../progress.js';
import { checkK, type Index, type SearchResult } from '../indexes/index.js';
import { TopK } from '../compute/top-k.js';
import type { SavedSpec } from '../io/saved-spec.js';
import type { Matrix } from '../matrix.js';
import { SimdKernels, withScratch, type SimdBuffer } from '../compute/wasm-simd/simd-kernels.js';
import { productEngine } from '../compute/engine.js';

/** A re-ranker's saved form (kind, options, the graph it built); stored with the index as `index.rerank`. */
export type RerankSpec = SavedSpec;

/** One query's ranked list: ids nearest first, with their distances (smaller is closer). */
export interface Ranking {
  ids: Float64Array;
  distances: Float64Array;
}

/**
 * Re-ranks the first-stage results of a search over the collection's structure (query expansion, graph diffusion).
 * Built once over an index; `spec()` saves it with the index.
 *
 * @example
 * ```ts
 * const rr = DiffusionReranker.build(index);
 * const result = searchReranked(index, rr, query, 10);
 * index.rerank = rr.spec();   // saved with the index
 * ```
 */
export interface Reranker {
  readonly kind: string;
  /** How many first-stage neighbours it reads per query. */
  readonly depth: number;
  /**
   * The re-ranked list of one query (at least the `k` first), given its vector and its first-stage results (`depth`
   * or more, nearest first). `self` is the query's id when it is an indexed item (a search by id, leave-one-out
   * evaluation): it then queries as that item of the collection.
   */
  rerank(query: Float32Array, initial: Ranking, k: number, self?: number): Ranking;
  /** Several queries at once (`initial[q]` is query q's first stage), where batching pays; optional. */
  rerankMany?(
    queries: Matrix,
    initial: readonly Ranking[],
    k: number,
    self?: readonly (number | undefined)[],
  ): Ranking[];
  /** Its kind, options and state (diffusion's graph), to save with the index; see {@link restoreReranker}. */
  spec(): RerankSpec;
}

/**
 * A search re-ranked: the first stage from `index` (at least `reranker.depth` deep), then `reranker` on each query's
 * list, keeping `k`. `self[q]` marks a query that is an indexed item (see {@link Reranker.rerank}).
 *
 * @example
 * ```ts
 * const res = searchReranked(index, DiffusionReranker.build(index), queries, 10);
 * ```
 */
export function searchReranked(
  index: Index,
  reranker: Reranker,
  queries: Matrix,
  k: number,
  self?: readonly (number | undefined)[],
): SearchResult {
  checkK('searchReranked', k);
  const depth = Math.min(index.size, Math.max(k, reranker.depth));
  const first = index.search(queries, depth);
  const out: SearchResult = {
    nq: queries.rows,
    k,
    ids: new Float64Array(queries.rows * k).fill(-1),
    distances: new Float64Array(queries.rows * k).fill(Infinity),
  };
  const row = (q: number) => ({
    ids: first.ids.subarray(q * depth, (q + 1) * depth),
    distances: first.distances.subarray(q * depth, (q + 1) * depth),
  });
  const put = (q: number, r: Ranking) => {
    const n = Math.min(k, r.ids.length);
    out.ids.set(r.ids.subarray(0, n), q * k);
    out.distances.set(r.distances.subarray(0, n), q * k);
  };
  // Batches whose seeds and scores stay within ~64 MB (5 float64 values per item and query).
  const batch = reranker.rerankMany
    ? Math.max(1, Math.min(queries.rows, Math.floor(2 ** 26 / (40 * Math.max(1, index.size)))))
    : 1;
  for (let q0 = 0; q0 < queries.rows; q0 += batch) {
    const q1 = Math.min(queries.rows, q0 + batch);
    if (reranker.rerankMany && q1 - q0 > 1) {
      const qs = {
        data: queries.data.subarray(q0 * queries.cols, q1 * queries.cols),
        rows: q1 - q0,
        cols: queries.cols,
      };
      const rs = reranker.rerankMany(
        qs,
        Array.from({ length: q1 - q0 }, (_, i) => row(q0 + i)),
        k,
        self?.slice(q0, q1),
      );
      rs.forEach((r, i) => put(q0 + i, r));
    } else
      for (let q = q0; q < q1; q++)
        put(q, reranker.rerank(queries.data.subarray(q * queries.cols, (q + 1) * queries.cols), row(q), k, self?.[q]));
  }
  return out;
}

/** Options of {@link DiffusionReranker}. */
export interface DiffusionOptions {
  /** Neighbours per item in the k-NN graph (kept when mutual). @defaultValue 20 */
  k?: number;
  /** Diffusion's restart weight (closer to 1 spreads further). @defaultValue 0.9 */
  alpha?: number;
  /** Affinities are `max(similarity, 0) ^ gamma`. @defaultValue 3 */
  gamma?: number;
  /**
   * Conjugate gradient stops when the residual is below `tol` times the seed's norm. At 1e-4 the rankings on
   * wang1k equal those at 1e-6 (P@10 and mAP to four decimals) in two thirds of the iterations. @defaultValue 1e-4
   */
  tol?: number;
  /** Conjugate gradient's iteration cap. @defaultValue 200 */
  maxIterations?: number;
}

const asF32 = (a: Int32Array | Float64Array) => new Float32Array(a.buffer, a.byteOffset, a.byteLength / 4);

/**
 * Diffusion on the collection's k-NN graph (Iscen et al., "Efficient Diffusion on Region Manifolds", CVPR 2017):
 * similarities spread along the collection's manifold, so images linked through chains of close neighbours rank
 * high even when their own features are far apart. The graph keeps mutual k-nearest neighbours with affinities
 * `max(s, 0)^gamma` (s the dot product of the stored vectors: cosine for unit vectors), symmetrically normalised
 * (`D^-1/2 W D^-1/2`). A query's scores `f` solve `(I - alpha W) f = y` by conjugate gradient on the sparse graph
 * (so it scales past a dense inverse): `y` is the item itself for an indexed item, else its affinities to its `k`
 * first-stage neighbours. Results are ranked by `f` (distance `-f`); items the diffusion does not reach follow, in
 * first-stage order with their first-stage distances.
 *
 * @example
 * ```ts
 * const rr = DiffusionReranker.build(index, { k: 20, alpha: 0.9, gamma: 3 });
 * searchReranked(index, rr, query, 10);
 * ```
 */
export class DiffusionReranker implements Reranker {
  readonly kind = 'diffusion';
  readonly depth: number;
  private readonly nodeOf = new Map<number, number>();
  /** The weights in float64, as the solver reads them (float32 reads cost a conversion each in its inner loop). */
  private readonly vals64: Float64Array;

  private constructor(
    private readonly index: Index,
    private readonly options: Required<DiffusionOptions>,
    private readonly ids: Float64Array,
    private readonly rowPtr: Int32Array,
    private readonly cols: Int32Array,
    private readonly vals: Float32Array,
  ) {
    this.depth = options.k;
    ids.forEach((id, i) => this.nodeOf.set(id, i));
    this.vals64 = Float64Array.from(vals);
  }

  /**
   * Builds the graph over every item of `index` (one k-NN search per item, batched). `neighbours`, when given, is
   * that search done already (row i for the i-th item of `index.idList()`, at least `k + 1` deep). Reports
   * `{ stage: 'index', done, total }` between batches and stops there when `signal` aborts (code `ABORTED`).
   * @throws {@link CbirError} for bad options or an index with fewer than 2 items.
   */
  static build(
    index: Index,
    options: DiffusionOptions & LongRunning = {},
    neighbours?: SearchResult,
  ): DiffusionReranker {
    const { onProgress, signal, ...rest } = options;
    const o = resolveDiffusion(rest);
    const ids = Float64Array.from(index.idList());
    const n = ids.length;
    if (n < 2)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `DiffusionReranker.build: the index holds ${n} item(s); the graph needs at least 2.`,
      );
    const nodeOf = new Map<number, number>();
    ids.forEach((id, i) => nodeOf.set(id, i));
    const k = Math.min(o.k, n - 1);
    const dim = index.dim;
    // A cosine index's distances are 1 - s already; other metrics need the vectors' dot products.
    const cosine = index.metric === 'cosine';
    const vectors = neighbours && cosine ? new Float32Array(0) : new Float32Array(n * dim);
    if (vectors.length) ids.forEach((id, i) => vectors.set(index.vector(id)!, i * dim));
    // Each item's k nearest others (the first stage's own ranking), with their affinities.
    const nbr = new Int32Array(n * k).fill(-1);
    const aff = new Float64Array(n * k);
    if (neighbours && (neighbours.nq !== n || neighbours.k < k + 1)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `DiffusionReranker.build: neighbours has ${neighbours.nq} rows of ${neighbours.k}; expected ${n} rows (one per item) of at least ${k + 1}.`,
      );
    }
    const batch = neighbours ? n : 256;
    for (let lo = 0; lo < n; lo += batch) {
      throwIfAborted(signal, 'DiffusionReranker.build');
      if (lo > 0) onProgress?.({ stage: 'index', done: lo, total: n });
      const rows = Math.min(batch, n - lo);
      const res =
        neighbours ?? index.search({ data: vectors.subarray(lo * dim, (lo + rows) * dim), rows, cols: dim }, k + 1);
      const depth = res.k;
      for (let q = 0; q < rows; q++) {
        const i = lo + q;
        let m = 0;
        for (let j = 0; j < depth && m < k; j++) {
          const node = nodeOf.get(res.ids[q * depth + j]);
          if (node === undefined || node === i) continue;
          nbr[i * k + m] = node;
          const sim = cosine ? 1 - res.distances[q * depth + j] : dot(vectors, i, node, dim);
          aff[i * k + m] = Math.max(sim, 0) ** o.gamma;
          m++;
        }
      }
    }
    // Mutual neighbours only: i -- j when each is among the other's k nearest.
    const isNbr = new Set<number>();
    for (let i = 0; i < n; i++) for (let m = 0; m < k; m++) if (nbr[i * k + m] >= 0) isNbr.add(i * n + nbr[i * k + m]);
    const rowPtr = new Int32Array(n + 1);
    const edges: [number, number][][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < n; i++) {
      for (let m = 0; m < k; m++) {
        const j = nbr[i * k + m];
        if (j >= 0 && isNbr.has(j * n + i) && aff[i * k + m] > 0) edges[i].push([j, aff[i * k + m]]);
      }
      edges[i].sort((a, b) => a[0] - b[0]);
      rowPtr[i + 1] = rowPtr[i] + edges[i].length;
    }
    const cols = new Int32Array(rowPtr[n]);
    const vals = new Float32Array(rowPtr[n]);
    const degree = new Float64Array(n);
    for (let i = 0; i < n; i++) for (const [, w] of edges[i]) degree[i] += w;
    for (let i = 0; i < n; i++) {
      edges[i].forEach(([j, w], e) => {
        cols[rowPtr[i] + e] = j;
        vals[rowPtr[i] + e] = w / Math.sqrt((degree[i] || 1) * (degree[j] || 1));
      });
    }
    return new DiffusionReranker(index, o, ids, rowPtr, cols, vals);
  }

  /**
   * Restores a saved graph over the same index.
   * @throws {@link FormatError} when the graph does not match the index's items (rebuild it after adding or removing).
   */
  static restore(index: Index, spec: RerankSpec, source = 'index'): DiffusionReranker {
    const o = resolveDiffusion(spec.options as DiffusionOptions);
    const s = spec.state ?? {};
    const need = ['cols', 'ids', 'rowPtr', 'vals'];
    if (need.some((name) => !(s[name] instanceof Float32Array)))
      throw new FormatError(
        `${source}: the diffusion graph lacks ${need.filter((n) => !s[n]).join(', ')}. Rebuild it with cbir index --rerank diffusion.`,
      );
    const ids = new Float64Array(s.ids.slice().buffer);
    const rowPtr = new Int32Array(s.rowPtr.slice().buffer);
    const cols = new Int32Array(s.cols.slice().buffer);
    const n = ids.length;
    const current = index.idList();
    const sameItems = current.length === n && current.every((id, i) => id === ids[i]);
    if (!sameItems)
      throw new FormatError(
        `${source}: the diffusion graph covers ${n} items, the index ${current.length} (or other ids); rebuild the graph after adding or removing items.`,
      );
    const ok =
      rowPtr.length === n + 1 &&
      rowPtr[0] === 0 &&
      rowPtr[n] === cols.length &&
      cols.length === s.vals.length &&
      rowPtr.every((v, i) => i === 0 || v >= rowPtr[i - 1]) &&
      cols.every((c) => c >= 0 && c < n) &&
      s.vals.every((v) => Number.isFinite(v));
    if (!ok)
      throw new FormatError(
        `${source}: the diffusion graph is inconsistent (row pointers, columns or weights). Rebuild it with cbir index --rerank diffusion.`,
      );
    return new DiffusionReranker(index, o, ids, rowPtr, cols, s.vals);
  }

  /** Number of edges kept (each mutual pair counts twice). */
  get edges(): number {
    return this.cols.length;
  }

  spec(): RerankSpec {
    return {
      kind: 'diffusion',
      options: { ...this.options },
      state: { ids: asF32(this.ids), rowPtr: asF32(this.rowPtr), cols: asF32(this.cols), vals: this.vals },
    };
  }

  /** The diffusion scores of every item for a seed `y` (over the graph's nodes). */
  scores(y: Float64Array): Float64Array {
    return this.scoresMany(y, 1);
  }

  /**
   * The diffusion scores for `m` seeds at once: `ys` and the result are `[n, m]` row-major (column j is seed j). On
   * cbir's WebAssembly kernel where it runs (the sparse-dense product two columns per SIMD lane), else one column
   * at a time in JS.
   */
  scoresMany(ys: Float64Array, m: number): Float64Array {
    const n = this.ids.length;
    if (ys.length !== n * m)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `DiffusionReranker.scoresMany: ${ys.length} seed values for ${n} items x ${m} seeds.`,
      );
    // One seed: JS keeps the product's sums in registers; the kernel pays off from two seeds on (two per SIMD lane).
    const simd = m > 1 ? this.kernels() : undefined;
    if (simd) {
      const { kernels, rowPtr, cols, vals } = simd;
      const { alpha, tol, maxIterations } = this.options;
      return withScratch(kernels, () => {
        const y = kernels.alloc(n * m, 8);
        const f = kernels.alloc(n * m, 8);
        const work = kernels.alloc(3 * n * m + 4 * m, 8);
        const params = kernels.struct('Diffusion', {
          alpha,
          tol,
          row_ptr: rowPtr.ptr,
          cols: cols.ptr,
          vals: vals.ptr,
          y: y.ptr,
          f: f.ptr,
          work: work.ptr,
          n,
          m,
          max_iter: maxIterations,
        });
        kernels.f64(y).set(ys);
        // Columns (seeds) are independent: the threads, where there are, take disjoint sets of them.
        const its = kernels.rows('diffusion_cg', m, 30 * Math.max(this.cols.length, n), (j0, j1) => [
          params.ptr,
          j0,
          j1,
        ]);
        this.iterations = Math.max(...its);
        return kernels.f64(f).slice(0, n * m);
      });
    }
    if (m === 1) return this.solveJs(ys);
    const out = new Float64Array(n * m);
    const col = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < n; i++) col[i] = ys[i * m + j];
      const f = this.solveJs(col);
      for (let i = 0; i < n; i++) out[i * m + j] = f[i];
    }
    return out;
  }

  /** The graph in the SIMD kernels' memory (copied once), or undefined where WebAssembly SIMD is unavailable. */
  private kernels() {
    if (this.simd === undefined) {
      const kernels = productEngine() === 'js' ? undefined : SimdKernels.create();
      if (!kernels) this.simd = null;
      else {
        const rowPtr = kernels.alloc(this.rowPtr.length, 4);
        const cols = kernels.alloc(Math.max(1, this.cols.length), 4);
        const vals = kernels.alloc(Math.max(1, this.vals64.length), 8);
        kernels.i32(rowPtr).set(this.rowPtr);
        kernels.i32(cols).set(this.cols);
        kernels.f64(vals).set(this.vals64);
        kernels.mark();
        this.simd = { kernels, rowPtr, cols, vals };
      }
    }
    return this.simd ?? undefined;
  }

  private simd?: { kernels: SimdKernels; rowPtr: SimdBuffer; cols: SimdBuffer; vals: SimdBuffer } | null;

  /** Conjugate gradient for one seed in JS (where WebAssembly SIMD is unavailable). */
  private solveJs(y: Float64Array): Float64Array {
    const { alpha, tol, maxIterations } = this.options;
    const { rowPtr, cols } = this;
    const vals = this.vals64;
    const n = y.length;
    // Conjugate gradient on A = I - alpha W (symmetric positive definite for alpha < 1), from f = 0.
    const f = new Float64Array(n);
    const r = Float64Array.from(y);
    const p = Float64Array.from(y);
    const ap = new Float64Array(n);
    let rr = 0;
    for (let i = 0; i < n; i++) rr += r[i] * r[i];
    const stop = tol * tol * rr;
    let it = 0;
    for (; it < maxIterations && rr > stop; it++) {
      let pap = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        const end = rowPtr[i + 1];
        for (let e = rowPtr[i]; e < end; e++) s += vals[e] * p[cols[e]];
        const v = p[i] - alpha * s;
        ap[i] = v;
        pap += p[i] * v;
      }
      const a = rr / pap;
      let rr2 = 0;
      for (let i = 0; i < n; i++) {
        f[i] += a * p[i];
        const ri = r[i] - a * ap[i];
        r[i] = ri;
        rr2 += ri * ri;
      }
      const beta = rr2 / rr;
      rr = rr2;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
    this.iterations = it;
    return f;
  }

  /** Conjugate-gradient iterations of the last query (for benchmarks). */
  iterations = 0;

  rerank(query: Float32Array, initial: Ranking, k: number, self?: number): Ranking {
    return this.rerankMany({ data: query, rows: 1, cols: query.length }, [initial], k, [self])[0];
  }

  /** {@link rerank} for several queries, their diffusions solved together (see {@link scoresMany}). */
  rerankMany(
    queries: Matrix,
    initial: readonly Ranking[],
    k: number,
    self?: readonly (number | undefined)[],
  ): Ranking[] {
    const n = this.ids.length;
    const m = queries.rows;
    const ys = new Float64Array(n * m);
    for (let q = 0; q < m; q++) {
      const selfNode = self?.[q] === undefined ? undefined : this.nodeOf.get(self[q]!);
      if (selfNode !== undefined) {
        ys[selfNode * m + q] = 1;
        continue;
      }
      const dim = this.index.dim;
      const query = queries.data.subarray(q * queries.cols, (q + 1) * queries.cols);
      const first = initial[q];
      for (let j = 0, used = 0; j < first.ids.length && used < this.options.k; j++) {
        const node = this.nodeOf.get(first.ids[j]);
        if (node === undefined) continue;
        const v = this.index.vector(first.ids[j])!;
        let s = 0;
        for (let c = 0; c < dim; c++) s += query[c] * v[c];
        ys[node * m + q] = Math.max(s, 0) ** this.options.gamma;
        used++;
      }
    }
    const fs = this.scoresMany(ys, m);
    const f = new Float64Array(n);
    return initial.map((first, q) => {
      for (let i = 0; i < n; i++) f[i] = fs[i * m + q];
      const keep = Math.max(k, Math.min(n, first.ids.length));
      const ids: number[] = [];
      const distances: number[] = [];
      const taken = new Set<number>();
      for (const i of topScores(f, keep)) {
        ids.push(this.ids[i]);
        distances.push(-f[i]);
        taken.add(this.ids[i]);
      }
      for (let j = 0; j < first.ids.length && ids.length < keep; j++) {
        const id = first.ids[j];
        if (id < 0 || taken.has(id)) continue;
        ids.push(id);
        distances.push(first.distances[j]);
      }
      return { ids: Float64Array.from(ids), distances: Float64Array.from(distances) };
    });
  }
}

/** The nodes of the `m` highest positive scores, highest first (ties by node). */
function topScores(f: Float64Array, m: number): number[] {
  const top = new TopK(m);
  for (let i = 0; i < f.length; i++) if (f[i] > 0) top.push(-f[i], i);
  return top.sorted();
}

function dot(v: Float32Array, i: number, j: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) s += v[i * dim + c] * v[j * dim + c];
  return s;
}

function resolveDiffusion(options: DiffusionOptions): Required<DiffusionOptions> {
  const o = { k: 20, alpha: 0.9, gamma: 3, tol: 1e-4, maxIterations: 200, ...options };
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > 1000)
    throw new CbirError('INVALID_ARGUMENT', `diffusion: k must be an integer from 1 to 1000, got ${o.k}.`);
  if (!(o.alpha > 0 && o.alpha < 1))
    throw new CbirError('INVALID_ARGUMENT', `diffusion: alpha must be in (0, 1), got ${o.alpha}.`);
  if (!(o.gamma > 0 && o.gamma <= 16))
    throw new CbirError('INVALID_ARGUMENT', `diffusion: gamma must be in (0, 16], got ${o.gamma}.`);
  if (!(o.tol > 0 && o.tol < 1))
    throw new CbirError('INVALID_ARGUMENT', `diffusion: tol must be in (0, 1), got ${o.tol}.`);
  if (!Number.isInteger(o.maxIterations) || o.maxIterations < 1)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `diffusion: maxIterations must be a positive integer, got ${o.maxIterations}.`,
    );
  return o;
}

/** Options of {@link QueryExpansionReranker}. */
export interface QueryExpansionOptions {
  /** Neighbours averaged into the query. @defaultValue 5 */
  k?: number;
  /** 0 for average query expansion; above 0, alpha-QE weights each neighbour by `max(s, 0)^alpha`. @defaultValue 0 */
  alpha?: number;
}

/**
 * Query expansion (Chum et al. 2007; alpha-QE of Radenovic et al.): the query is replaced by the normalised sum of
 * itself and its `k` first-stage neighbours, and the index is searched again. Needs no state.
 *
 * @example
 * ```ts
 * searchReranked(index, new QueryExpansionReranker(index, { k: 5 }), query, 10);
 * ```
 */
export class QueryExpansionReranker implements Reranker {
  readonly kind = 'qe';
  readonly depth: number;
  private readonly options: Required<QueryExpansionOptions>;

  constructor(
    private readonly index: Index,
    options: QueryExpansionOptions = {},
  ) {
    this.options = { k: 5, alpha: 0, ...options };
    if (!Number.isInteger(this.options.k) || this.options.k < 1)
      throw new CbirError('INVALID_ARGUMENT', `qe: k must be a positive integer, got ${this.options.k}.`);
    if (!(this.options.alpha >= 0))
      throw new CbirError('INVALID_ARGUMENT', `qe: alpha must be >= 0, got ${this.options.alpha}.`);
    this.depth = this.options.k + 1;
  }

  spec(): RerankSpec {
    return { kind: 'qe', options: { ...this.options } };
  }

  rerank(query: Float32Array, initial: Ranking, k: number, self?: number): Ranking {
    const dim = this.index.dim;
    const q = Float64Array.from(query);
    for (let j = 0, m = 0; j < initial.ids.length && m < this.options.k; j++) {
      const id = initial.ids[j];
      if (id < 0 || id === self) continue;
      const v = this.index.vector(id)!;
      let w = 1;
      if (this.options.alpha > 0) {
        let s = 0;
        for (let c = 0; c < dim; c++) s += query[c] * v[c];
        w = Math.max(s, 0) ** this.options.alpha;
      }
      for (let c = 0; c < dim; c++) q[c] += w * v[c];
      m++;
    }
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += q[c] * q[c];
    norm = Math.sqrt(norm) || 1;
    const expanded = Float32Array.from(q, (v) => v / norm);
    const depth = Math.max(k, initial.ids.length);
    const res = this.index.search({ data: expanded, rows: 1, cols: dim }, Math.min(depth, this.index.size));
    return { ids: res.ids, distances: res.distances };
  }
}

/**
 * A re-ranker from its saved spec over `index` (`index.rerank` after loading an index that was saved with one).
 *
 * @example
 * ```ts
 * const rr = index.rerank ? restoreReranker(index, index.rerank) : undefined;
 * ```
 */
export function restoreReranker(index: Index, spec: RerankSpec, source = 'index'): Reranker {
  if (spec.kind === 'diffusion') return DiffusionReranker.restore(index, spec, source);
  if (spec.kind === 'qe') return new QueryExpansionReranker(index, spec.options as QueryExpansionOptions);
  throw new FormatError(
    `${source}: unknown re-ranker kind ${JSON.stringify(spec.kind)}; this cbir knows diffusion and qe.`,
  );
}

/**
 * A re-ranker of a kind over `index`: `'diffusion'` builds its graph, `'qe'` needs nothing.
 *
 * @example
 * ```ts
 * index.rerank = buildReranker(index, 'diffusion').spec();
 * ```
 */
export function buildReranker(
  index: Index,
  kind: 'diffusion' | 'qe',
  options: DiffusionOptions | QueryExpansionOptions = {},
): Reranker {
  if (kind === 'diffusion') return DiffusionReranker.build(index, options as DiffusionOptions);
  if (kind === 'qe') return new QueryExpansionReranker(index, options as QueryExpansionOptions);
  throw new CbirError('INVALID_ARGUMENT', `buildReranker: kind must be diffusion or qe, got ${JSON.stringify(kind)}.`);
}
