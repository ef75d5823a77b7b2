import { TopK } from '../../compute/top-k.js';
import { withScratch } from '../../compute/wasm-simd/simd-kernels.js';
import type { Matrix } from '../../matrix.js';
import { eachCandidate, forChunks, QUERY_TILE, SIMD_OUT, type ScanRows } from './scan-rows.js';

/** The int16 first pass runs for batches of at least this many queries, or once its copy exists. */
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

/**
 * The int16 first pass of a batched exact search, for one index: it keeps the int16 copy of the index's rows (made on
 * the first search that takes it, and again after the rows change). Every product `q.x` is computed exactly on
 * integers (the row and the query quantised to 13 bits, `quantize_i16`), so each row's score `|x|^2 - 2 q.x` is known
 * within a bound of its own (`scan_i16`, which selects as it multiplies). A query keeps its `k` smallest upper bounds;
 * its candidates are the rows whose lower bound is not above the k-th of them, so every true neighbour is among them
 * whatever the rounding. Twice the products per instruction of the float32 scan, on half the bytes.
 */
export class Int16Scan {
  private quant?: QuantizedRows;

  /** Whether a search of `nq` queries takes this pass (SIMD kernels, enough rows, a batch or a built copy). */
  applies(rows: ScanRows, nq: number, engine: string): boolean {
    if (engine !== 'simd' || !rows.store.simd || rows.size < QUANT_MIN_ROWS) return false;
    return nq >= QUANT_MIN_QUERIES || this.quant?.version === rows.store.version;
  }

  /**
   * The int16 copy of the rows, made now if the rows changed since the last one: each row minus the column means,
   * quantised with a scale of its own (`quantize_i16` in kernels.c). Undefined when it does not fit in the kernels'
   * memory.
   */
  private quantizedRows(index: ScanRows): QuantizedRows | undefined {
    if (this.quant?.version === index.store.version) return this.quant;
    this.quant = undefined;
    const simd = index.store.simd!;
    const n = index.size;
    const d = index.dim;
    const dp = Math.ceil(d / 8) * 8;
    // Layout in 4-byte words: int16 rows (n dp / 2, a multiple of 4), four float64 per row, the mean's d float64.
    const side = index.store.sidecar((n * dp) / 2 + 8 * n + 2 * d);
    if (!side) return undefined;
    const { kernels, rows } = simd;
    const quant: QuantizedRows = {
      version: index.store.version,
      dp,
      rows: side.ptr,
      rowValues: side.ptr + n * dp * 2,
      mean: side.ptr + n * dp * 2 + 32 * n,
    };
    // The centre: the mean of at most 16,384 rows spread over the collection. Any centre keeps the search exact (the
    // bounds are those of the rows as centred); one near the mean keeps the rows' scales, and so the bounds, small.
    const data = index.store.data;
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
          rv[o + 2] = index.rankByDot ? 0 : index.norms[r];
          rv[o + 3] = (d + 16) * index.norms[r] * 2 ** -50;
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
   * rounding. Returns each query's candidate rows (undefined: too many candidates, rank every row), or
   * undefined when the copy does not fit.
   */
  candidates(index: ScanRows, queries: Matrix, k: number): (number[] | undefined)[] | undefined {
    const quant = this.quantizedRows(index);
    if (!quant) return undefined;
    const { kernels } = index.store.simd!;
    const { dim, size: n } = index;
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
          const candQ = kernels.i32(cq);
          const lo = kernels.f64(clo);
          const hi = kernels.f64(chi);
          eachCandidate(counts, starts, b0, t, kernels.i32(cr), (c, r) => {
            const qi = t0 + candQ[c];
            const heap = heaps[qi];
            if (hi[c] < heap.worst) heap.push(hi[c], r);
            if (!overflow[qi] && lo[c] <= heap.worst) {
              lists[qi].rows.push(r);
              lists[qi].lo.push(lo[c]);
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
}
