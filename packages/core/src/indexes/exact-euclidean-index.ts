import * as tf from '@tensorflow/tfjs-core';
import { CbirError } from '../errors.js';
import { productEngine } from '../compute/engine.js';
import { withScratch } from '../compute/wasm-simd/simd-kernels.js';
import type { Matrix } from '../matrix.js';
import { TopK } from '../compute/top-k.js';
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

/** Rows of the database scanned per block (a block of 64 x dim floats stays in L2 with the query block). */
const BLOCK = 64;
/**
 * Columns per `matMul` product. Its float32 accumulation error grows with the columns summed, and past this the
 * exactness check (see `search`) sent so many queries to the float64 fallback that a JS scan was faster (measured
 * at d = 65,536 unchunked: 25 s against 14 s for 50 queries over 5,000 rows); wider vectors are scanned by chunks.
 */
const MATMUL_CHUNK = 4096;
/** Database rows per `matMul` block: bounds the `[block, nq]` score matrix. */
const MATMUL_ROWS = 8192;
/** Floats of the database per `matMul` block (64 MB): bounds the block uploaded to the backend. */
const MATMUL_BLOCK = 1 << 24;
/** Unit roundoff of float32, for the error bound of float32 dot products. */
const U32 = 2 ** -24;
/** Columns the SIMD kernel sums in float32 before adding into float64 (`CHUNK` in compute/wasm-simd/kernels.c). */
const SIMD_CHUNK = 256;
/** Queries per SIMD pass over a block of rows (their 1 KB chunks, 64 KB, stay in L2). */
const QUERY_TILE = 64;
/** Scores per SIMD block: bounds the block's `[rows, tile]` float64 output (8 MB). */
const SIMD_OUT = 1 << 20;
/** The int16 first pass (see `scanQuantized`) runs for batches of at least this many queries, or once its copy exists. */
const QUANT_MIN_QUERIES = 16;
/** Rows below which an int16 copy of the collection is not worth building. */
const QUANT_MIN_ROWS = 4096;
/** Candidates one query may hold in the int16 pass; past this (after pruning) it is ranked by a float64 scan. */
const QUANT_CAND_CAP = 1 << 16;

/** The int16 copy of an index's rows (in its kernels' memory, beside the rows) and what bounds its products. */
interface QuantizedRows {
  /** The store's version the copy was made from. */
  version: number;
  /** Columns per int16 row: the dimension rounded up to a multiple of 8. */
  dp: number;
  /** Pointer to the int16 rows `[n, dp]`. */
  rows: number;
  /** Pointer to four float64 per row: scale, scale x `|x~|_1` (widened), base score, rounding slack (`scan_i16`). */
  rowValues: number;
  /** Pointer to the float64 column means the rows were centred on before quantising. */
  mean: number;
}

/**
 * Rows per call when a long pass over the rows is cut up: V8 runs a wasm call to its end in the code it started in,
 * so only later calls run in the optimised tier.
 */
const PASS_CHUNK = 8192;

/** Calls `fn(c0, c1)` over `[0, n)` in chunks of {@link PASS_CHUNK} rows. */
function forChunks(n: number, fn: (c0: number, c1: number) => void): void {
  for (let c0 = 0; c0 < n; c0 += PASS_CHUNK) fn(c0, Math.min(n, c0 + PASS_CHUNK));
}

/** Keeps the entries of a candidate list whose lower bound is not above `worst`. */
function prune(list: { rows: number[]; lo: number[] }, worst: number): void {
  let w = 0;
  for (let i = 0; i < list.rows.length; i++)
    if (list.lo[i] <= worst) {
      list.rows[w] = list.rows[i];
      list.lo[w++] = list.lo[i];
    }
  list.rows.length = w;
  list.lo.length = w;
}

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
  private quant?: QuantizedRows;
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
    const quantized = this.quantizedScan(queries.rows) ? this.scanQuantized(queries, k) : undefined;
    if (quantized) {
      for (let qi = 0; qi < queries.rows; qi++) {
        const rows = quantized[qi] ?? Array.from({ length: n }, (_, r) => r);
        this.rankInto(result, qi, k, rows, q);
      }
      return result;
    }
    const m = Math.min(n, k + 16);
    const heaps = Array.from({ length: queries.rows }, () => new TopK(m));
    // Batches go to the backend's matMul on a GPU/native backend (or on wasm without WebAssembly SIMD).
    const useMatMul = queries.rows >= 4 && productEngine() === 'matMul';
    const boundFactor = useMatMul ? this.scanMatMul(queries, heaps) : this.scanCpu(queries, heaps);
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
      const rows = Array.from(heap.items.subarray(0, heap.n));
      const dists = rows.map((r) => this.distance(r, q, qi * dim));
      const order = rows
        .map((_, t) => t)
        .sort((a, b) => dists[a] - dists[b] || this.store.ids[rows[a]] - this.store.ids[rows[b]]);
      const kth = this.squaredForBound(dists[order[Math.min(k, rows.length) - 1]]);
      // Every row outside the candidates has approx >= heap.worst; safe when that exceeds the k-th exact value.
      const safe = heap.n < m || m >= n || heap.worst - bound > kth - qn + bound;
      this.rankInto(result, qi, k, safe ? rows : Array.from({ length: n }, (_, r) => r), q, safe ? dists : undefined);
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

  /** Whether a search of `nq` queries takes the int16 first pass (SIMD kernels, enough rows, a batch or a built copy). */
  private quantizedScan(nq: number): boolean {
    if (productEngine() !== 'simd' || !this.store.simd || this.size < QUANT_MIN_ROWS) return false;
    return nq >= QUANT_MIN_QUERIES || this.quant?.version === this.store.version;
  }

  /**
   * The int16 copy of the rows, made now if the rows changed since the last one: each row minus the column means,
   * quantised with a scale of its own (`quantize_i16` in kernels.c). Undefined when it does not fit in the kernels'
   * memory.
   */
  private quantizedRows(): QuantizedRows | undefined {
    if (this.quant?.version === this.store.version) return this.quant;
    this.quant = undefined;
    const simd = this.store.simd!;
    const n = this.size;
    const d = this.dim;
    const dp = Math.ceil(d / 8) * 8;
    // Layout in 4-byte words: int16 rows (n dp / 2, a multiple of 4), four float64 per row, the mean's d float64.
    const side = this.store.sidecar((n * dp) / 2 + 8 * n + 2 * d);
    if (!side) return undefined;
    const { kernels, rows } = simd;
    const quant: QuantizedRows = {
      version: this.store.version,
      dp,
      rows: side.ptr,
      rowValues: side.ptr + n * dp * 2,
      mean: side.ptr + n * dp * 2 + 32 * n,
    };
    // The centre: the mean of at most 16,384 rows spread over the collection. Any centre keeps the search exact (the
    // bounds are those of the rows as centred); one near the mean keeps the rows' scales, and so the bounds, small.
    const data = this.store.data;
    const mean = kernels.f64({ ptr: quant.mean, length: d });
    const sample = Math.min(n, 16_384);
    mean.fill(0);
    for (let i = 0; i < sample; i++) {
      const o = Math.floor((i * n) / sample) * d;
      for (let j = 0; j < d; j++) mean[j] += data[o + j];
    }
    for (let j = 0; j < d; j++) mean[j] /= sample;
    // The scale goes to rowValues[4 r] and |x~|_1 to rowValues[4 r + 1] (strided below).
    forChunks(n, (c0, c1) =>
      withScratch(kernels, () => {
        const sc = kernels.alloc(c1 - c0, 8);
        const l1 = kernels.alloc(c1 - c0, 8);
        kernels.rows('quantize_i16', c1 - c0, d, (r0, r1) => [
          rows.ptr + (c0 + r0) * d * 4,
          r1 - r0,
          d,
          quant.mean,
          dp,
          quant.rows + (c0 + r0) * dp * 2,
          sc.ptr + r0 * 8,
          l1.ptr + r0 * 8,
        ]);
        const rv = kernels.f64({ ptr: quant.rowValues + c0 * 32, length: (c1 - c0) * 4 });
        const scale = kernels.f64(sc);
        const norm1 = kernels.f64(l1);
        for (let r = c0; r < c1; r++) {
          const a = scale[r - c0];
          const o = (r - c0) * 4;
          rv[o] = a;
          rv[o + 1] = a * norm1[r - c0] * (1 + 2 ** -20);
          rv[o + 2] = this.rankByDot ? 0 : this.norms[r];
          rv[o + 3] = (d + 16) * this.norms[r] * 2 ** -50;
        }
      }),
    );
    return (this.quant = quant);
  }

  /**
   * The int16 first pass of a batched exact search. Every product `q.x` is computed exactly on integers (the row and
   * the query quantised to 13 bits, `quantize_i16`), so each row's score `|x|^2 - 2 q.x` is known within a bound of
   * its own (`scan_i16`, which selects as it multiplies). A query keeps its `k` smallest upper bounds; its candidates
   * are the rows whose lower bound is not above the k-th of them, so every true neighbour is among them whatever the
   * rounding, and they are ranked by their exact float64 distance. Twice the products per instruction of the float32
   * scan, on half the bytes. Returns each query's candidate rows (undefined: too many candidates, rank every row), or
   * undefined when the copy does not fit.
   */
  private scanQuantized(queries: Matrix, k: number): (number[] | undefined)[] | undefined {
    const quant = this.quantizedRows();
    if (!quant) return undefined;
    const { kernels } = this.store.simd!;
    const { dim, size: n } = this;
    const { dp } = quant;
    const nq = queries.rows;
    return withScratch(kernels, () => {
      const tile = Math.min(nq, QUERY_TILE);
      const maxBlock = Math.max(4, Math.min(n, Math.floor(SIMD_OUT / tile)));
      // One zero query past the end pads an odd count (the kernel takes queries in pairs).
      const qf = kernels.alloc(nq * dim, 4);
      const qb = kernels.alloc(((nq + 1) * dp) / 2, 4);
      const qs = kernels.alloc(nq + 1, 8);
      const ql1 = kernels.alloc(nq + 1, 8);
      const qsl = kernels.alloc(nq + 1, 8);
      const qtl1 = kernels.alloc(nq + 1, 8);
      const thr = kernels.alloc(tile + 1, 8);
      const cr = kernels.alloc(maxBlock * tile, 4);
      const cq = kernels.alloc(maxBlock * tile, 4);
      const clo = kernels.alloc(maxBlock * tile, 8);
      const chi = kernels.alloc(maxBlock * tile, 8);
      const q = queries.data;
      kernels.f32(qf).set(q.subarray(0, nq * dim));
      kernels.i32({ ptr: qb.ptr + nq * dp * 2, length: dp / 2 }).fill(0);
      const zeros = kernels.alloc(dim, 8); // queries are not centred
      kernels.f64(zeros).fill(0);
      kernels.k.quantize_i16(qf.ptr, nq, dim, zeros.ptr, dp, qb.ptr, qs.ptr, qtl1.ptr);
      const l1 = kernels.f64(ql1);
      const sl = kernels.f64(qsl);
      kernels.f64(qs)[nq] = 0;
      for (let qi = 0; qi < nq; qi++) {
        let a = 0;
        let s = 0;
        for (let j = 0; j < dim; j++) {
          const v = q[qi * dim + j];
          a += Math.abs(v);
          s += v * v;
        }
        l1[qi] = a * (1 + 2 ** -20);
        sl[qi] = (dim + 16) * s * 2 ** -50;
      }
      l1[nq] = sl[nq] = 0;
      // Per query: its k smallest upper bounds so far, and the rows whose lower bound was not above the k-th.
      const heaps = Array.from({ length: nq }, () => new TopK(k));
      const lists = Array.from({ length: nq }, () => ({ rows: [] as number[], lo: [] as number[] }));
      const overflow = new Array<boolean>(nq).fill(false);
      const starts: number[] = [];
      // Small first blocks, so that the thresholds are tight before the large ones.
      for (let b0 = 0, block = Math.min(maxBlock, 256); b0 < n; b0 += block, block = Math.min(maxBlock, block * 4)) {
        const b1 = Math.min(n, b0 + block);
        for (let t0 = 0; t0 < nq; t0 += tile) {
          const t = Math.min(tile, nq - t0);
          const th = kernels.f64(thr);
          for (let j = 0; j < t; j++) th[j] = heaps[t0 + j].worst;
          const counts = kernels.rows('scan_i16', b1 - b0, t * dp, (r0, r1, part) => {
            starts[part] = r0;
            return [
              quant.rows + (b0 + r0) * dp * 2,
              r1 - r0,
              qb.ptr + t0 * dp * 2,
              t,
              dp,
              quant.rowValues + (b0 + r0) * 32,
              qs.ptr + t0 * 8,
              ql1.ptr + t0 * 8,
              qsl.ptr + t0 * 8,
              thr.ptr,
              cr.ptr + r0 * t * 4,
              cq.ptr + r0 * t * 4,
              clo.ptr + r0 * t * 8,
              chi.ptr + r0 * t * 8,
            ];
          });
          const candR = kernels.i32(cr);
          const candQ = kernels.i32(cq);
          const lo = kernels.f64(clo);
          const hi = kernels.f64(chi);
          const byPart = counts.length === 1 ? counts : [...counts.slice(1), counts[0]];
          byPart.forEach((count, part) => {
            const r0 = b0 + starts[part];
            const from = starts[part] * t;
            for (let c = from; c < from + count; c++) {
              const qi = t0 + candQ[c];
              const heap = heaps[qi];
              const r = r0 + candR[c];
              if (hi[c] < heap.worst) heap.push(hi[c], r);
              if (!overflow[qi] && lo[c] <= heap.worst) {
                lists[qi].rows.push(r);
                lists[qi].lo.push(lo[c]);
              }
            }
          });
          for (let qi = t0; qi < t0 + t; qi++) {
            const list = lists[qi];
            if (list.rows.length <= QUANT_CAND_CAP) continue;
            prune(list, heaps[qi].worst);
            if (list.rows.length > QUANT_CAND_CAP / 2) {
              overflow[qi] = true;
              list.rows = [];
              list.lo = [];
            }
          }
        }
      }
      return lists.map((list, qi) => {
        if (overflow[qi]) return undefined;
        prune(list, heaps[qi].worst);
        return list.rows;
      });
    });
  }

  /**
   * Candidate scan on the CPU: cbir's SIMD kernel on the rows where they live (float32 products summed in float32
   * over chunks of {@link SIMD_CHUNK} columns, then in float64), or a JS loop over cache-sized blocks without
   * WebAssembly SIMD. Returns the rounding bound factor of the scanned values (see `search`).
   */
  private scanCpu(queries: Matrix, heaps: TopK[]): number {
    const { dim } = this;
    const n = this.size;
    const nq = queries.rows;
    const simd = productEngine() === 'js' ? undefined : this.store.simd;
    if (simd) {
      const { kernels, rows } = simd;
      return withScratch(kernels, () => {
        // Queries by tiles of QUERY_TILE, whose chunks stay in L2 while blocks of rows stream past them.
        const tile = Math.min(nq, QUERY_TILE);
        const block = Math.max(4, Math.min(n, Math.floor(SIMD_OUT / tile)));
        const qb = kernels.alloc(nq * dim, 4);
        const ob = kernels.alloc(block * tile, 8);
        // The block's norms, the tile's thresholds, and the candidates select_below_f64 writes (room for every score).
        const nb = kernels.alloc(block, 8);
        const tb = kernels.alloc(tile, 8);
        const cr = kernels.alloc(block * tile, 4);
        const cq = kernels.alloc(block * tile, 4);
        const cv = kernels.alloc(block * tile, 8);
        kernels.f32(qb).set(queries.data);
        const starts: number[] = [];
        for (let b0 = 0; b0 < n; b0 += block) {
          const b1 = Math.min(n, b0 + block);
          kernels.f64(nb).set(this.norms.subarray(b0, b1));
          for (let t0 = 0; t0 < nq; t0 += tile) {
            const t = Math.min(tile, nq - t0);
            const qp = qb.ptr + t0 * dim * 4;
            kernels.rows('dots_f32', b1 - b0, t * dim, (r0, r1) => [
              rows.ptr + (b0 + r0) * dim * 4,
              r1 - r0,
              qp,
              t,
              dim,
              ob.ptr + r0 * t * 8,
            ]);
            // Only scores below a query's current worst kept one can enter its list: selected in C, by the same threads.
            const thr = kernels.f64(tb);
            for (let j = 0; j < t; j++) thr[j] = heaps[t0 + j].worst;
            const counts = kernels.rows('select_below_f64', b1 - b0, t, (r0, r1, part) => {
              starts[part] = r0;
              return [
                ob.ptr + r0 * t * 8,
                r1 - r0,
                t,
                nb.ptr + r0 * 8,
                tb.ptr,
                cr.ptr + r0 * t * 4,
                cq.ptr + r0 * t * 4,
                cv.ptr + r0 * t * 8,
              ];
            });
            // rows() returns the calling thread's share (the last part) first, then the workers' in order: pushed in
            // row order, as one scan would push them.
            const candR = kernels.i32(cr),
              candQ = kernels.i32(cq),
              candV = kernels.f64(cv);
            const byPart = counts.length === 1 ? counts : [...counts.slice(1), counts[0]];
            byPart.forEach((count, part) => {
              // A share's candidates start at its first row's slot; their rows count from that row.
              const r0 = b0 + starts[part];
              const from = starts[part] * t;
              for (let c = from; c < from + count; c++) {
                const heap = heaps[t0 + candQ[c]];
                const v = candV[c];
                if (v < heap.worst) heap.push(v, r0 + candR[c]);
              }
            });
          }
        }
        // Each SIMD lane sums SIMD_CHUNK / 4 products in float32 (one more rounding each), then float64 takes over.
        return 2 * (Math.min(dim, SIMD_CHUNK) / 4 + 2) * U32;
      });
    }
    const data = this.store.data;
    const q = queries.data;
    for (let b0 = 0; b0 < n; b0 += BLOCK) {
      const b1 = Math.min(n, b0 + BLOCK);
      for (let qi = 0; qi < nq; qi++) {
        const qo = qi * dim;
        const heap = heaps[qi];
        for (let r = b0; r < b1; r++) {
          const o = r * dim;
          let s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0;
          let j = 0;
          for (; j + 3 < dim; j += 4) {
            s0 += data[o + j] * q[qo + j];
            s1 += data[o + j + 1] * q[qo + j + 1];
            s2 += data[o + j + 2] * q[qo + j + 2];
            s3 += data[o + j + 3] * q[qo + j + 3];
          }
          for (; j < dim; j++) s0 += data[o + j] * q[qo + j];
          heap.push(this.norms[r] - 2 * (s0 + s1 + s2 + s3), r);
        }
      }
    }
    // Float64 sums of exact float32 products.
    return 2 * dim * 2 ** -53;
  }

  /**
   * Candidate scan with the active backend's `matMul`: `X Q^T` by blocks of rows, and past {@link MATMUL_CHUNK}
   * columns by chunks of columns whose float32 products are added in float64 (so that the rounding bound, and the
   * exactness check's fallbacks, stay those of a {@link MATMUL_CHUNK}-wide product). Neither operand is transposed
   * inside `matMul`: tfjs's wasm kernel leaves the fast XNNPACK path for transposed operands. Returns the rounding
   * bound factor (see `search`).
   */
  private scanMatMul(queries: Matrix, heaps: TopK[]): number {
    const { dim } = this;
    const n = this.size;
    const nq = queries.rows;
    const chunks: [number, number][] = [];
    for (let c0 = 0; c0 < dim; c0 += MATMUL_CHUNK) chunks.push([c0, Math.min(dim, c0 + MATMUL_CHUNK)]);
    const Qt = tf.tidy(() => {
      const t = tf.transpose(tf.tensor2d(queries.data, [nq, dim]));
      return chunks.length === 1 ? [t] : chunks.map(([c0, c1]) => tf.slice(t, [c0, 0], [c1 - c0, nq]));
    });
    const blockRows = Math.max(1, Math.min(MATMUL_ROWS, Math.floor(MATMUL_BLOCK / dim)));
    const acc = chunks.length > 1 ? new Float64Array(blockRows * nq) : undefined;
    try {
      for (let b0 = 0; b0 < n; b0 += blockRows) {
        const b1 = Math.min(n, b0 + blockRows);
        const rows = b1 - b0;
        let s: ArrayLike<number>; // [rows, nq]
        if (!acc)
          s = this.blockScores(() =>
            tf.matMul(tf.tensor2d(this.store.data.subarray(b0 * dim, b1 * dim), [rows, dim]), Qt[0]),
          );
        else {
          acc.fill(0);
          const X = tf.tensor2d(this.store.data.subarray(b0 * dim, b1 * dim), [rows, dim]);
          try {
            chunks.forEach(([c0, c1], c) => {
              const part = this.blockScores(() => tf.matMul(tf.slice(X, [0, c0], [rows, c1 - c0]), Qt[c]));
              for (let t = 0; t < rows * nq; t++) acc[t] += part[t];
            });
          } finally {
            X.dispose();
          }
          s = acc;
        }
        this.pushScores(s, heaps, b0, b1, 0, nq);
      }
    } finally {
      tf.dispose(Qt);
    }
    return 2 * Math.min(dim, MATMUL_CHUNK) * U32;
  }

  /**
   * Offers rows `[b0, b1)` to the heaps of queries `[t0, t0 + t)`: `dots` holds their products, row-major
   * `[b1 - b0, t]`, and the scanned value is `|x|^2 - 2 q.x`.
   */
  private pushScores(dots: ArrayLike<number>, heaps: TopK[], b0: number, b1: number, t0: number, t: number): void {
    for (let r = b0, o = 0; r < b1; r++) {
      const norm = this.norms[r];
      for (let qi = t0; qi < t0 + t; qi++, o++) {
        const v = norm - 2 * dots[o];
        const heap = heaps[qi];
        if (v < heap.worst) heap.push(v, r);
      }
    }
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

  /** Runs `fn` in a tidy scope and reads its result back. */
  private blockScores(fn: () => tf.Tensor): Float32Array {
    const t = tf.tidy(fn);
    const s = t.dataSync() as Float32Array;
    t.dispose();
    return s;
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
