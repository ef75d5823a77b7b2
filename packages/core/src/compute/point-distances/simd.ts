import type { Matrix } from '../../matrix.js';
import { SimdKernels, withScratch, type SimdBuffer } from '../wasm-simd/simd-kernels.js';
import { distancesFromDots } from './shared.js';

/** Wasm memory kept free for per-call buffers when `x` is copied into the SIMD kernels' memory. */
const SCRATCH_BYTES = 256 * 2 ** 20;
/** Scores per block of the SIMD GEMM form's nearest-point search (8 MB of float64). */
const SIMD_SCORES = 1 << 20;

/**
 * cbir's WebAssembly SIMD kernels on `x`, copied once into their memory: float64 sums of `(x - p)^2` for small work,
 * and for large work the GEMM form in float32 on rows centred on the mean (as scikit-learn centres them).
 * @internal
 */
export class SimdDistances {
  readonly rows: number;
  readonly dim: number;
  private centredCopy?: { x: SimdBuffer; norms: Float64Array };
  /** Passes of `nearest` over all of `x` so far. */
  private fullPasses = 0;

  private constructor(
    readonly data: Matrix,
    private readonly kernels: SimdKernels,
    private readonly x: SimdBuffer,
    private readonly mean: () => Float64Array,
  ) {
    this.rows = data.rows;
    this.dim = data.cols;
  }

  /** The kernels with `x` in their memory, or undefined where they cannot run or `x` does not fit. */
  static create(data: Matrix, mean: () => Float64Array): SimdDistances | undefined {
    // Room for `x`, its centred copy and the per-call scratch (tens of MB: the silhouette's blocks are <= 4M distances).
    if (!SimdKernels.fits(data.data.length * 8 + SCRATCH_BYTES)) return undefined;
    const kernels = SimdKernels.acquire();
    if (!kernels) return undefined;
    const x = kernels.alloc(data.data.length, 4);
    kernels.f32(x).set(data.data);
    kernels.mark();
    return new SimdDistances(data, kernels, x, mean);
  }

  columnMean(): Float64Array {
    const { rows, dim, kernels, x } = this;
    const mean = new Float64Array(dim);
    withScratch(kernels, () => {
      const sb = kernels.alloc(dim, 8);
      kernels.f64(sb).fill(0);
      kernels.k.column_sums_f64(x.ptr, rows, dim, sb.ptr);
      mean.set(kernels.f64(sb));
    });
    for (let j = 0; j < dim; j++) mean[j] /= rows;
    return mean;
  }

  /** Squared distances from rows `[r0, r1)` to `m` points into `out`: the GEMM form, or float64 sums. */
  toPoints(
    points: ArrayLike<number>,
    m: number,
    r0: number,
    r1: number,
    out: Float64Array,
    gemm: boolean,
  ): Float64Array {
    const { dim, kernels } = this;
    const n = r1 - r0;
    if (gemm) {
      const centred = this.centred();
      return withScratch(kernels, () => {
        const { pb, pn } = this.centredPoints(points, m);
        const ob = kernels.alloc(n * m, 8);
        kernels.rows('dots_f32', n, m * dim, (a, b) => [
          centred.x.ptr + (r0 + a) * dim * 4,
          b - a,
          pb.ptr,
          m,
          dim,
          ob.ptr + a * m * 8,
        ]);
        return distancesFromDots(kernels.f64(ob), centred.norms, r0, pn, 0, n, m, out);
      });
    }
    return withScratch(kernels, () => {
      const pb = kernels.alloc(m * dim, 8);
      const ob = kernels.alloc(n * m, 8);
      kernels.f64(pb).set(points);
      kernels.rows('sqdist_f64', n, m * dim, (a, b) => [
        this.x.ptr + (r0 + a) * dim * 4,
        b - a,
        pb.ptr,
        m,
        dim,
        ob.ptr + a * m * 8,
      ]);
      out.set(kernels.f64(ob));
      return out;
    });
  }

  /** The GEMM form against rows `[p0, p0 + m)` of `x` itself: the centred copy serves both sides. */
  toRows(p0: number, m: number, r0: number, r1: number, out: Float64Array): Float64Array {
    const { dim, kernels } = this;
    const n = r1 - r0;
    const centred = this.centred();
    return withScratch(kernels, () => {
      const ob = kernels.alloc(n * m, 8);
      const pb = centred.x.ptr + p0 * dim * 4;
      kernels.rows('dots_f32', n, m * dim, (a, b) => [
        centred.x.ptr + (r0 + a) * dim * 4,
        b - a,
        pb,
        m,
        dim,
        ob.ptr + a * m * 8,
      ]);
      return distancesFromDots(kernels.f64(ob), centred.norms, r0, centred.norms, p0, n, m, out);
    });
  }

  firstNonFinite(): number {
    const { cols } = this.data;
    const x = this.x;
    const found = this.kernels.rows('first_nonfinite_f32', this.rows, cols, (a, b) => [
      x.ptr + a * cols * 4,
      (b - a) * cols,
      a * cols,
    ]);
    return found.find((i) => i >= 0) ?? -1;
  }

  /** For rows `[r0, r1)`, the nearest of `m` points (lowest index on ties): the GEMM form, or float64 sums. */
  nearest(
    points: ArrayLike<number>,
    m: number,
    labels: Int32Array,
    dist2: Float64Array,
    r0: number,
    r1: number,
    gemm: boolean,
  ): void {
    const { dim, kernels, x } = this;
    const n = r1 - r0;
    if (gemm) {
      // argmin over c of |p_c|^2 - 2 x.p_c (|x|^2 is the same for every c), by blocks of rows (bounded scratch).
      // Rows come from the centred copy of x, made on the third pass over all of x (until then each block is
      // centred as it is used, which costs a pass of its own).
      const centred = this.centredCopy || ++this.fullPasses > 2 ? this.centred() : undefined;
      withScratch(kernels, () => {
        const { pb, pnb } = this.centredPoints(points, m);
        this.gemmNearest(x.ptr + r0 * dim * 4, n, pb, pnb, m, labels.subarray(0, n), dist2.subarray(0, n), centred, r0);
      });
      return;
    }
    withScratch(kernels, () => {
      const pb = kernels.alloc(m * dim, 8);
      kernels.f64(pb).set(points);
      this.nearestF64(x.ptr + r0 * dim * 4, n, pb.ptr, m, labels, dist2);
    });
  }

  /**
   * `nearest_f64` for `n` rows at `xp` against `m` float64 points at `pp`, the labels and squared distances copied
   * into `labels` and `dist2`. Allocates scratch: call inside `withScratch`.
   */
  private nearestF64(xp: number, n: number, pp: number, m: number, labels: Int32Array, dist2: Float64Array): void {
    const { dim, kernels } = this;
    const lb = kernels.alloc(n, 4);
    const db = kernels.alloc(n, 8);
    kernels.rows('nearest_f64', n, m * dim, (a, b) => [
      xp + a * dim * 4,
      b - a,
      pp,
      m,
      dim,
      lb.ptr + a * 4,
      db.ptr + a * 8,
    ]);
    labels.set(kernels.i32(lb));
    dist2.set(kernels.f64(db));
  }

  /** A mini-batch's nearest centres and scikit-learn's centre update, its rows gathered once for both. */
  miniBatchStep(
    rows: Int32Array,
    centres: Float64Array,
    k: number,
    counts: Float64Array,
    labels: Int32Array,
    dist2: Float64Array,
    gemm: boolean,
  ): void {
    const { dim, kernels, x } = this;
    const n = rows.length;
    withScratch(kernels, () => {
      const { pb, pnb } = gemm ? this.centredPoints(centres, k) : { pb: undefined, pnb: undefined };
      const ib = kernels.alloc(n, 4);
      const gb = kernels.alloc(n * dim, 4);
      const lb = kernels.alloc(n, 4);
      const cb = kernels.alloc(k * dim, 8);
      const nb = kernels.alloc(k, 8);
      const hb = kernels.alloc(k, 8);
      kernels.i32(ib).set(rows);
      // Gathered first: a copy loop overlaps the cache misses of rows scattered over x (2 threads: twice as many).
      kernels.rows('gather_rows_f32', n, dim * 8, (a, c) => [x.ptr, ib.ptr + a * 4, c - a, dim, gb.ptr + a * dim * 4]);
      kernels.f64(cb).set(centres);
      kernels.f64(nb).set(counts);
      if (pb && pnb) this.gemmNearest(gb.ptr, n, pb, pnb, k, labels, dist2);
      else this.nearestF64(gb.ptr, n, cb.ptr, k, labels, dist2);
      kernels.i32(lb).set(labels);
      kernels.k.centre_update_f64(gb.ptr, 0, n, dim, lb.ptr, k, cb.ptr, nb.ptr, hb.ptr);
      centres.set(kernels.f64(cb));
      counts.set(kernels.f64(nb));
    });
  }

  inertia(centres: ArrayLike<number>, labels: Int32Array): number {
    const { dim, kernels, x } = this;
    const k = centres.length / dim;
    return withScratch(kernels, () => {
      const lb = kernels.alloc(this.rows, 4);
      const cb = kernels.alloc(k * dim, 8);
      kernels.i32(lb).set(labels);
      kernels.f64(cb).set(centres);
      return kernels
        .rows('inertia_f64', this.rows, dim, (a, b) => [x.ptr + a * dim * 4, b - a, dim, lb.ptr + a * 4, cb.ptr])
        .reduce((u, v) => u + v, 0);
    });
  }

  /** scikit-learn's centre update over every row of `x` with its label. */
  miniBatchUpdate(labels: Int32Array, k: number, centres: Float64Array, counts: Float64Array): void {
    const { dim, kernels, x } = this;
    const n = this.rows;
    withScratch(kernels, () => {
      const lb = kernels.alloc(n, 4);
      const cb = kernels.alloc(k * dim, 8);
      const nb = kernels.alloc(k, 8);
      const hb = kernels.alloc(k, 8);
      kernels.i32(lb).set(labels.subarray(0, n));
      kernels.f64(cb).set(centres);
      kernels.f64(nb).set(counts);
      kernels.k.centre_update_f64(x.ptr, 0, n, dim, lb.ptr, k, cb.ptr, nb.ptr, hb.ptr);
      centres.set(kernels.f64(cb));
      counts.set(kernels.f64(nb));
    });
  }

  clusterSums(labels: Int32Array, k: number, sums: Float64Array): void {
    const { rows: n, dim, kernels, x } = this;
    withScratch(kernels, () => {
      const lb = kernels.alloc(n, 4);
      const sb = kernels.alloc(k * dim, 8);
      kernels.i32(lb).set(labels);
      kernels.f64(sb).fill(0);
      kernels.k.cluster_sums_f64(x.ptr, n, dim, lb.ptr, sb.ptr);
      sums.set(kernels.f64(sb));
    });
  }

  /** Returns the kernels' memory to the pool. */
  dispose(): void {
    SimdKernels.recycle(this.kernels);
  }

  /**
   * The GEMM-form nearest of `m` centred points (`pb`, norms `pnb`) for `n` contiguous rows of raw (uncentred) data at
   * `src`, centred block by block into scratch (or read from the centred copy). Leaves its scratch to the caller's
   * `withScratch`.
   */
  private gemmNearest(
    src: number,
    n: number,
    pb: SimdBuffer,
    pnb: SimdBuffer,
    m: number,
    labels: Int32Array,
    dist2: Float64Array,
    centred?: { x: SimdBuffer; norms: Float64Array },
    r0 = 0,
  ): void {
    const { dim, kernels } = this;
    // Blocks centred on the fly are 1 MB (a share per thread stays in L2).
    const rowsCap = centred ? Math.floor(SIMD_SCORES / m) : Math.max(64, Math.floor(2 ** 18 / dim));
    const block = Math.max(1, Math.min(n, rowsCap, Math.floor(SIMD_SCORES / m)));
    const xb = centred ? undefined : kernels.alloc(block * dim, 4);
    const mb = kernels.alloc(dim, 4);
    const nb = kernels.alloc(block, 8);
    const ob = kernels.alloc(block * m, 8);
    const lb = kernels.alloc(block, 4);
    const vb = kernels.alloc(block, 8);
    kernels.f32(mb).set(this.mean());
    for (let b0 = 0; b0 < n; b0 += block) {
      const b = Math.min(block, n - b0);
      let xp: number;
      let norms: Float64Array;
      if (centred) {
        xp = centred.x.ptr + (r0 + b0) * dim * 4;
        norms = centred.norms.subarray(r0 + b0, r0 + b0 + b);
      } else {
        const from = src + b0 * dim * 4;
        kernels.rows('centre_f32', b, dim, (a, c) => [
          from + a * dim * 4,
          c - a,
          dim,
          mb.ptr,
          xb!.ptr + a * dim * 4,
          nb.ptr + a * 8,
        ]);
        xp = xb!.ptr;
        norms = kernels.f64(nb);
      }
      kernels.rows('dots_f32', b, m * dim, (a, c) => [xp + a * dim * 4, c - a, pb.ptr, m, dim, ob.ptr + a * m * 8]);
      kernels.k.argmin_dots(ob.ptr, b, m, pnb.ptr, lb.ptr, vb.ptr);
      labels.set(kernels.i32(lb).subarray(0, b), b0);
      const vals = kernels.f64(vb);
      for (let i = 0; i < b; i++) {
        const d = norms[i] + vals[i];
        dist2[b0 + i] = d > 0 ? d : 0;
      }
    }
  }

  /** `x` centred on its mean (float32) and the centred rows' squared norms, made on first use and kept. */
  private centred(): { x: SimdBuffer; norms: Float64Array } {
    if (this.centredCopy) return this.centredCopy;
    const { rows, dim, kernels } = this;
    const mean = this.mean(); // (first: it may use scratch of its own)
    // The centred copy is kept: allocated below a new mark, with the scratch above it.
    kernels.release();
    const xb = kernels.alloc(rows * dim, 4);
    kernels.mark();
    return (this.centredCopy = withScratch(kernels, () => {
      const mb = kernels.alloc(dim, 4);
      const nb = kernels.alloc(rows, 8);
      kernels.f32(mb).set(mean);
      kernels.rows('centre_f32', rows, dim, (a, b) => [
        this.x.ptr + a * dim * 4,
        b - a,
        dim,
        mb.ptr,
        xb.ptr + a * dim * 4,
        nb.ptr + a * 8,
      ]);
      return { x: xb, norms: Float64Array.from(kernels.f64(nb)) };
    }));
  }

  /** `m` points centred on the mean of `x`, as float32 in the kernels' scratch, with their squared norms (float64). */
  private centredPoints(points: ArrayLike<number>, m: number): { pb: SimdBuffer; pnb: SimdBuffer; pn: Float64Array } {
    const { dim, kernels } = this;
    const mean = this.mean();
    const pc = new Float32Array(m * dim);
    const pn = new Float64Array(m);
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const v = Math.fround(points[c * dim + j] - mean[j]);
        pc[c * dim + j] = v;
        s += v * v;
      }
      pn[c] = s;
    }
    const pb = kernels.alloc(m * dim, 4);
    const pnb = kernels.alloc(m, 8);
    kernels.f32(pb).set(pc);
    kernels.f64(pnb).set(pn);
    return { pb, pnb, pn };
  }
}
