import { CbirError } from '../errors.js';
import { productEngine } from '../compute/engine.js';
import { withScratch } from '../compute/wasm-simd/simd-kernels.js';
import type { Matrix } from '../matrix.js';
import { TopK } from '../compute/top-k.js';
import { Int16Scan } from './exact-scan/int16-scan.js';
import { jsScan } from './exact-scan/js-scan.js';
import { matMulScan } from './exact-scan/matmul-scan.js';
import type { CandidateScan, ScanRows } from './exact-scan/scan-rows.js';
import { simdScan } from './exact-scan/simd-scan.js';
import { StoredIndex } from './flat-store.js';
import { widenedSearch } from './widened-search.js';
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

/** Exact float64 distance between row `r` of `data` and query `q`. */
function exactDistance(data: Float32Array, r: number, q: Float32Array, qo: number, dim: number): number {
  let s = 0;
  const o = r * dim;
  for (let j = 0; j < dim; j++) {
    const d = data[o + j] - q[qo + j];
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Exact nearest neighbours by Euclidean distance, ties broken by id.
 *
 * Candidates come from a scan of `|x|^2 - 2 q.x`, and are re-ranked by their exact distance in float64, so results
 * always equal a brute-force float64 oracle's. The scan:
 * - with cbir's SIMD kernels, for a batch of 16 or more queries over 4,096 or more rows: an int16 copy of the rows
 *   (made on the first such search, and again after `add` or `remove`; half the rows' memory) and exact integer
 *   products. Each score is then known within a bound, and every row whose lower bound reaches a query's k-th upper
 *   bound is a candidate. Once the copy exists, single queries use it too.
 * - otherwise, with the SIMD kernels: float32 products; with a GPU or native backend, batches on its `matMul`; without
 *   WebAssembly SIMD, a JS loop. The best `k + 16` are re-ranked, and when float32 rounding could have pushed a true
 *   neighbour out of them (the margin is checked against an error bound), the query falls back to a float64 scan.
 *
 * The scans are strategies (`exact-scan/`: candidate scans and the int16 pass), each tested against a float64
 * oracle; this class chooses one and makes the result exact.
 *
 * @example
 * ```ts
 * const index = new ExactEuclideanIndex(4096);
 * index.add(features.matrix, undefined, features.ids.map((id, i) => ({ path: id, label: features.labels[i] })));
 * const { ids, distances } = index.search(query, 10);
 * ```
 */
export class ExactEuclideanIndex extends StoredIndex implements Index {
  readonly kind: string = 'exact';
  readonly metric: Metric = 'euclidean';
  /** The class's name in messages, literally (a minifier renames `constructor.name`). */
  protected readonly className: string = 'ExactEuclideanIndex';
  private norms = new Float64Array(16);
  private readonly int16 = new Int16Scan();
  /**
   * Whether the scan's score ranks by the dot product alone (`-2 q.x`, the cosine index's unit rows) rather than by
   * `|x|^2 - 2 q.x`.
   */
  protected readonly rankByDot: boolean = false;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new CbirError('INVALID_ARGUMENT', `ExactEuclideanIndex: dim must be a positive integer, got ${dim}.`);
    super(dim);
  }

  add(vectors: Matrix, ids?: ArrayLike<number>, metadata?: readonly (ItemMetadata | undefined)[]): void {
    const where = `${this.className}.add`;
    checkMatrix(where, vectors, this.dim, 'vectors');
    const resolved = resolveIds(where, vectors.rows, ids, (id) => this.store.has(id), this.nextId);
    const first = this.store.append(vectors, resolved, metadata);
    if (this.norms.length < this.size) {
      const grown = new Float64Array(Math.max(this.size, this.norms.length * 2));
      grown.set(this.norms);
      this.norms = grown;
    }
    for (let r = first; r < this.size; r++) this.norms[r] = this.rowNorm2(r);
  }

  /**
   * Adds rows exactly as stored by `serialize` (for `deserializeIndex`): no transformation by subclasses.
   * @internal
   */
  restore(vectors: Matrix, ids: number[], metadata: readonly (ItemMetadata | undefined)[]): void {
    ExactEuclideanIndex.prototype.add.call(this, vectors, ids, metadata);
  }

  search(queries: Matrix, k: number): SearchResult {
    const where = `${this.className}.search`;
    checkMatrix(where, queries, this.dim, 'queries');
    checkK(where, k);
    const result = emptyResult(queries.rows, k);
    const n = this.size;
    if (n === 0) return result;
    const { dim } = this;
    const q = queries.data;
    const engine = productEngine();
    const rows = this.scanRows();
    const quantized = this.int16.applies(rows, queries.rows, engine)
      ? this.int16.candidates(rows, queries, k)
      : undefined;
    if (quantized) {
      for (let qi = 0; qi < queries.rows; qi++)
        this.rankInto(result, qi, k, quantized[qi] ?? Array.from({ length: n }, (_, r) => r), q);
      return result;
    }
    const m = Math.min(n, k + 16);
    const heaps = Array.from({ length: queries.rows }, () => new TopK(m));
    const boundFactor = this.candidateScan(queries.rows, engine)(rows, queries, heaps);
    // The largest squared norm of any row: a row outside the candidates may have any of them.
    let maxNorm = 0;
    for (let r = 0; r < n; r++) if (this.norms[r] > maxNorm) maxNorm = this.norms[r];
    for (let qi = 0; qi < queries.rows; qi++) {
      const heap = heaps[qi];
      let qn = 0;
      for (let j = 0; j < dim; j++) qn += q[qi * dim + j] ** 2;
      // Rounding bound of the scanned |x|^2 - 2 q.x: a dot product summed in float32 over c terms errs by at most
      // c * u * sum |q_j x_j| <= c * u * |q| |x| (boundFactor = 2 c u for the scan's c), plus float64 roundings.
      const bound = boundFactor * Math.sqrt(qn * maxNorm) + 2 ** -48 * (qn + maxNorm);
      const cands = Array.from(heap.items.subarray(0, heap.n));
      const dists = cands.map((r) => this.distance(r, q, qi * dim));
      const order = cands
        .map((_, t) => t)
        .sort((a, b) => dists[a] - dists[b] || this.store.ids[cands[a]] - this.store.ids[cands[b]]);
      const kth = this.squaredForBound(dists[order[Math.min(k, cands.length) - 1]]);
      // Every row outside the candidates has approx >= heap.worst; safe when that exceeds the k-th exact value.
      const safe = heap.n < m || m >= n || heap.worst - bound > kth - qn + bound;
      this.rankInto(result, qi, k, safe ? cands : Array.from({ length: n }, (_, r) => r), q, safe ? dists : undefined);
    }
    return result;
  }

  /**
   * The `k` nearest to each query among the items `among` (ids not in the index are ignored): a filtered search,
   * exact: a filter that keeps few rows has only those scanned (in float64, on cbir's SIMD kernel where it runs); one
   * that keeps more than a quarter has the index's own batched search run deeper until `k` of them are found. Ties by
   * id, as `search`.
   *
   * @example
   * ```ts
   * const beach = index.idList().filter((id) => index.metadata(id)?.label === 'beach');
   * index.searchAmong(queries, 10, beach);
   * ```
   */
  searchAmong(queries: Matrix, k: number, among: ArrayLike<number> | ReadonlySet<number>): SearchResult {
    const where = `${this.className}.searchAmong`;
    checkMatrix(where, queries, this.dim, 'queries');
    checkK(where, k);
    const count = among instanceof Set ? among.size : (among as ArrayLike<number>).length;
    // Past a quarter of the rows, the whole index's batched scan (its int16 pass) searched deeper is faster than a
    // float64 scan of the matching rows one query at a time; both are exact, with ties by id.
    if (count * 4 > this.size) return widenedSearch((q, depth) => this.search(q, depth), this.size, queries, k, among);
    const list = among instanceof Set ? [...among] : (among as ArrayLike<number>);
    // A batch over thousands of matching rows: those rows copied into an index of their own, searched by its batched
    // scan (the int16 pass), which costs a twentieth of the float64 scan per row; the same distances as `search`.
    if (queries.rows >= 16 && count >= 4096) {
      // The same selection again (a retriever passes the set it remembers for a filter): the same gathered rows.
      const last = this.lastGathered;
      const sub = last && last.among === among && last.version === this.store.version ? last.sub : this.gathered(list);
      if (among instanceof Set) this.lastGathered = { among, version: this.store.version, sub };
      return sub.search(queries, k);
    }
    return this.rankAmong(this.queryRows(queries), k, list);
  }

  /** The last selection gathered into an index of its own, while the rows are unchanged (at most a quarter of them). */
  private lastGathered?: { among: ReadonlySet<number>; version: number; sub: ExactEuclideanIndex };

  /** An index of this kind holding only the rows of `ids` (those in the index), under the same ids. */
  private gathered(ids: ArrayLike<number>): ExactEuclideanIndex {
    const { dim } = this;
    const rows: number[] = [];
    const keep: number[] = [];
    const seen = new Set<number>();
    for (let t = 0; t < ids.length; t++) {
      const r = seen.has(ids[t]) ? undefined : this.store.row(ids[t]);
      if (r === undefined) continue;
      seen.add(ids[t]);
      rows.push(r);
      keep.push(ids[t]);
    }
    const sub = new (this.constructor as new (dim: number) => ExactEuclideanIndex)(dim);
    if (rows.length === 0) return sub;
    const data = new Float32Array(rows.length * dim);
    const all = this.store.data;
    rows.forEach((r, i) => data.set(all.subarray(r * dim, (r + 1) * dim), i * dim));
    sub.add({ data, rows: rows.length, cols: dim }, keep);
    return sub;
  }

  /** `queries` as the stored rows are compared with them (unit-normalised by the cosine index). */
  protected queryRows(queries: Matrix): Matrix {
    return queries;
  }

  private rankAmong(queries: Matrix, k: number, among: ArrayLike<number>): SearchResult {
    const result = emptyResult(queries.rows, k);
    const seen = new Set<number>();
    const ids: number[] = [];
    for (let t = 0; t < among.length; t++) {
      const id = among[t];
      if (!seen.has(id) && this.store.row(id) !== undefined) (seen.add(id), ids.push(id));
    }
    if (ids.length === 0) return result;
    const { dim } = this;
    const CHUNK = 8192;
    for (let qi = 0; qi < queries.rows; qi++) {
      const query = { data: queries.data.subarray(qi * dim, (qi + 1) * dim), rows: 1, cols: dim };
      // k + 16 candidates by the kernel's float64 distances, then ranked by the very distances `search` reports.
      const heap = new TopK(Math.min(ids.length, k + 16));
      for (let start = 0; start < ids.length; start += CHUNK) {
        const chunk = ids.slice(start, start + CHUNK);
        const d = this.distancesTo(chunk, [chunk.length], chunk.length, query);
        // Items as positions in `ids` (any id fits), ties broken by the id itself.
        for (let t = 0; t < chunk.length; t++) heap.push(d[t], start + t, chunk[t]);
      }
      const rows = Array.from(heap.items.subarray(0, heap.n), (t) => this.store.row(ids[t])!);
      this.rankInto(result, qi, k, rows, queries.data);
    }
    return result;
  }

  /** Writes query `qi`'s `k` nearest of `rows` (by exact distance, then id) into row `qi` of `result`. */
  private rankInto(
    result: SearchResult,
    qi: number,
    k: number,
    rows: ArrayLike<number>,
    q: Float32Array,
    dists?: number[],
  ): void {
    const ranked = Array.from(rows, (r, t) => ({
      id: this.store.ids[r],
      d: dists?.[t] ?? this.distance(r, q, qi * this.dim),
    }));
    ranked.sort((a, b) => a.d - b.d || a.id - b.id);
    for (let j = 0; j < Math.min(k, ranked.length); j++) {
      result.ids[qi * k + j] = ranked[j].id;
      result.distances[qi * k + j] = ranked[j].d;
    }
  }

  /** What the scans read of this index. */
  private scanRows(): ScanRows {
    return { store: this.store, norms: this.norms, dim: this.dim, size: this.size, rankByDot: this.rankByDot };
  }

  /**
   * The float first pass for `nq` queries: batches on the backend's `matMul` on a GPU or native backend (or on wasm
   * without WebAssembly SIMD), else cbir's SIMD kernels where they run, else a JS loop.
   */
  private candidateScan(nq: number, engine: string): CandidateScan {
    if (nq >= 4 && engine === 'matMul') return matMulScan;
    return engine !== 'js' && this.store.simd ? simdScan : jsScan;
  }

  /**
   * The distances `search` would report between each query of `queries` (`[nq, dim]`, unit-normalised for cosine)
   * and its candidates: row `qi` of `ids` (`[nq, k]`) holds `counts[qi]` ids, the rest ignored. In float64, from the
   * rows where they are stored (NaN for an id not in the index): for indexes that re-rank candidates found elsewhere
   * (HnswIndex). Returns `[nq, k]`.
   * @internal
   */
  distancesTo(ids: ArrayLike<number>, counts: ArrayLike<number>, k: number, queries: Matrix): Float64Array {
    const { dim } = this;
    const nq = queries.rows;
    const q = queries.data;
    const out = new Float64Array(nq * k).fill(NaN);
    const rowsOf = new Int32Array(nq * k).fill(-1);
    for (let qi = 0; qi < nq; qi++)
      for (let j = 0; j < counts[qi]; j++) rowsOf[qi * k + j] = this.store.row(ids[qi * k + j]) ?? -1;
    const simd = productEngine() === 'js' ? undefined : this.store.simd;
    if (!simd) {
      for (let t = 0; t < nq * k; t++)
        if (rowsOf[t] >= 0) out[t] = this.distance(rowsOf[t], q, Math.floor(t / k) * dim);
      return out;
    }
    // Squared distances in float64 on cbir's kernel, rows read where they are stored (a JS loop over a view of the
    // kernels' memory ran at a fifth of the speed), every query's candidates in one call (one call per query cost as
    // much as usearch's whole search at ef 16), then the reported distance from them.
    const { kernels, rows } = simd;
    return withScratch(kernels, () => {
      const pairs: number[] = [];
      for (let t = 0; t < nq * k; t++) if (rowsOf[t] >= 0) pairs.push(t);
      const m = pairs.length;
      const ib = kernels.alloc(m, 4);
      const qib = kernels.alloc(m, 4);
      const qb = kernels.alloc(nq * dim, 8);
      const ob = kernels.alloc(m, 8);
      const idx = kernels.i32(ib);
      const qi = kernels.i32(qib);
      pairs.forEach((t, i) => {
        idx[i] = rowsOf[t];
        qi[i] = Math.floor(t / k);
      });
      kernels.f64(qb).set(q.subarray(0, nq * dim));
      kernels.rows('sqdist_pairs_f64', m, dim * 8, (a, b) => [
        rows.ptr,
        ib.ptr + a * 4,
        b - a,
        qb.ptr,
        qib.ptr + a * 4,
        dim,
        ob.ptr + a * 8,
      ]);
      const sq = kernels.f64(ob);
      const qn = new Float64Array(nq);
      for (let i = 0; i < nq; i++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += q[i * dim + j] * q[i * dim + j];
        qn[i] = s;
      }
      pairs.forEach((t, i) => (out[t] = this.fromSquared(sq[i], rowsOf[t], qn[Math.floor(t / k)])));
      return out;
    });
  }

  /**
   * The reported distance from the float64 squared distance `sq` between row `r` and a query of squared norm `qn`:
   * its square root (cosine overrides: `1 - x.q = 1 - (|x|^2 + |q|^2 - sq) / 2`).
   */
  protected fromSquared(sq: number, _r: number, _qn: number): number {
    return Math.sqrt(sq);
  }

  /** The stored squared norm of row `r`, in float64. */
  protected rowNorm(r: number): number {
    return this.norms[r];
  }

  /** The reported distance between row `r` and the query at `q[qo..]`, in float64. */
  protected distance(r: number, q: Float32Array, qo: number): number {
    return exactDistance(this.store.data, r, q, qo, this.dim);
  }

  /** The reported distance as the squared distance the scan bounds (identity for cosine, which overrides search). */
  protected squaredForBound(d: number): number {
    return d * d;
  }

  private rowNorm2(r: number): number {
    let s = 0;
    const o = r * this.dim;
    for (let j = 0; j < this.dim; j++) s += this.store.data[o + j] ** 2;
    return s;
  }

  remove(ids: ArrayLike<number>): number {
    return this.store.remove(ids, (from, to) => (this.norms[to] = this.norms[from]));
  }

  serialize(owner?: OwnerSections): Uint8Array {
    return this.framed(this.header(), [this.store.vectors()], owner);
  }

  /**
   * The stored rows, in the order of `idList()` (a view: valid until the next `add` or `remove`).
   * @internal
   */
  storedRows(): Float32Array {
    return this.store.vectors();
  }

  /** The JSON header of this index's file. */
  protected header(): Record<string, unknown> {
    return {
      kind: this.kind,
      metric: this.metric,
      dim: this.dim,
      size: this.size,
      ids: this.store.ids,
      metadata: this.store.metadataList(),
    };
  }
}
