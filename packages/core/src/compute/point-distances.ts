import * as tf from '@tensorflow/tfjs-core';
import { firstNonFiniteJs, type Matrix } from '../matrix.js';
import { SimdKernels, withScratch, type SimdBuffer } from './wasm-simd/simd-kernels.js';
import { productEngine } from './engine.js';

/**
 * Below this many multiply-adds (`rows * points * dim`) the float64 loop is used (it is exact, and there it costs
 * little more). For the JS loop against `matMul`, the crossover was measured on wasm, upload included:
 * Measured on wasm, upload included: 1024 x 4 x 32 (131k) JS 0.135 ms, matMul 0.157 ms; 1024 x 9 x 32 (295k) JS
 * 0.287 ms, matMul 0.221 ms; 1024 x 8 x 256 (2.1M) JS 1.83 ms, matMul 0.80 ms.
 */
const GEMM_MIN_WORK = 1 << 18;
/** Wasm memory kept free for per-call buffers when `x` is copied into the SIMD kernels' memory. */
const SCRATCH_BYTES = 256 * 2 ** 20;
/** Scores per block of the SIMD GEMM form's nearest-point search (8 MB of float64). */
const SIMD_SCORES = 1 << 20;

/**
 * Squared Euclidean distances from the rows of a fixed matrix `x` to sets of points (centres, candidates, blocks of
 * `x` itself): the kernel under KMeans, MiniBatchKMeans, k-means++ and the silhouette.
 *
 * Two forms, chosen per call by the amount of work:
 * - for large work, the GEMM form `|x|^2 + |p|^2 - 2 x.p` in float32 on data centred on its mean (as scikit-learn
 *   centres it, which keeps the cancellation error small), by cbir's SIMD kernel on `x` copied once into its memory,
 *   or by the active backend's `matMul` on a GPU/native backend (see {@link productEngine});
 * - for small work, `(x - p)^2` summed in float64, by cbir's SIMD kernel, or plain JS where WebAssembly SIMD is
 *   unavailable.
 *
 * Call {@link PointDistances.dispose} when done (it frees the uploaded tensor and the kernels' memory).
 * @internal
 */
export class PointDistances {
  readonly rows: number;
  readonly dim: number;
  private meanCache?: Float64Array;
  private uploaded?: { tensor: tf.Tensor2D; norms: Float32Array };
  private onehot?: Float32Array;
  private simd?: { kernels: SimdKernels; x: SimdBuffer; centred?: { x: SimdBuffer; norms: Float64Array } } | null;
  /** Passes of `nearest` over all of `x` so far. */
  private fullPasses = 0;

  constructor(readonly x: Matrix) {
    this.rows = x.rows;
    this.dim = x.cols;
  }

  /** The column means of `x` (float64), computed on first use. */
  get mean(): Float64Array {
    if (this.meanCache) return this.meanCache;
    const { rows, cols, data } = this.x;
    const mean = new Float64Array(cols);
    const simd = this.kernels();
    if (simd) {
      const { kernels, x } = simd;
      withScratch(kernels, () => {
        const sb = kernels.alloc(cols, 8);
        kernels.f64(sb).fill(0);
        kernels.k.column_sums_f64(x.ptr, rows, cols, sb.ptr);
        mean.set(kernels.f64(sb));
      });
    } else for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j];
    for (let j = 0; j < cols; j++) mean[j] /= rows;
    return (this.meanCache = mean);
  }

  /**
   * Squared distances from rows `[r0, r1)` of `x` to `m` points (row-major `[m, dim]`, in the original coordinates), as
   * a row-major `[r1 - r0, m]` float64 array. Never negative.
   */
  toPoints(points: ArrayLike<number>, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const { dim } = this;
    const n = r1 - r0;
    const out = new Float64Array(n * m);
    const engine = this.engine(n, m);
    if (engine === 'simd-gemm') {
      const { kernels, centred } = this.centredSimd();
      return withScratch(kernels, () => {
        const { pb, pn } = this.centredPoints(kernels, points, m);
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
    if (engine === 'matMul') {
      const { dots, pn, norms } = this.matMulDots(points, m, r0, r1);
      return distancesFromDots(dots, norms, r0, pn, 0, n, m, out);
    }
    const simd = this.kernels();
    if (simd) {
      const { kernels, x } = simd;
      return withScratch(kernels, () => {
        const pb = kernels.alloc(m * dim, 8);
        const ob = kernels.alloc(n * m, 8);
        kernels.f64(pb).set(points);
        kernels.rows('sqdist_f64', n, m * dim, (a, b) => [
          x.ptr + (r0 + a) * dim * 4,
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
    const data = this.x.data;
    const p = asFloat64(points);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < m; c++) out[i * m + c] = squaredDistance(data, (r0 + i) * dim, p, c * dim, dim);
    return out;
  }

  /** The index of the first NaN or infinity in `x.data`, or -1 (on the SIMD copy of `x` when there is one). */
  firstNonFinite(): number {
    const simd = this.kernels();
    if (!simd) return firstNonFiniteJs(this.x);
    const { cols } = this.x;
    const found = simd.kernels.rows('first_nonfinite_f32', this.rows, cols, (a, b) => [
      simd.x.ptr + a * cols * 4,
      (b - a) * cols,
      a * cols,
    ]);
    return found.find((i) => i >= 0) ?? -1;
  }

  /**
   * As {@link PointDistances.toPoints} with the points rows `[p0, p0 + m)` of `x` itself (the silhouette's blocks): on
   * the SIMD GEMM path the centred copy of `x` serves both sides, with nothing recomputed.
   */
  toRows(p0: number, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const { dim } = this;
    const n = r1 - r0;
    if (this.engine(n, m) !== 'simd-gemm')
      return this.toPoints(this.x.data.subarray(p0 * dim, (p0 + m) * dim), m, r0, r1);
    const { kernels, centred } = this.centredSimd();
    const out = new Float64Array(n * m);
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

  /**
   * For rows `[r0, r1)`, the nearest of `m` points (lowest index on ties) into `labels[i - r0]` and its squared
   * distance into `dist2[i - r0]`.
   */
  nearest(points: ArrayLike<number>, m: number, labels: Int32Array, dist2: Float64Array, r0 = 0, r1 = this.rows): void {
    this.nearestOf(undefined, points, m, labels, dist2, r0, r1);
  }

  /**
   * One step of mini-batch k-means on the rows `rows[i]` of `x`: each row's nearest centre (`labels`, squared distance
   * in `dist2`), then scikit-learn's centre update (see {@link PointDistances.miniBatchUpdate}) of `centres` and
   * `counts`, in place. On the SIMD kernels the rows are gathered once and used by both halves.
   */
  miniBatchStep(
    rows: Int32Array,
    centres: Float64Array,
    k: number,
    counts: Float64Array,
    labels: Int32Array,
    dist2: Float64Array,
  ): void {
    const simd = this.kernels();
    const n = rows.length;
    if (!simd) {
      this.nearestOf(rows, centres, k, labels, dist2, 0, n);
      this.miniBatchUpdate(rows, labels, k, centres, counts);
      return;
    }
    const { dim } = this;
    const { kernels, x } = simd;
    const gemm = this.engine(n, k) === 'simd-gemm';
    withScratch(kernels, () => {
      const { pb, pnb } = gemm ? this.centredPoints(kernels, centres, k) : { pb: undefined, pnb: undefined };
      const ib = kernels.alloc(n, 4);
      const gb = kernels.alloc(n * dim, 4);
      const lb = kernels.alloc(n, 4);
      const db = kernels.alloc(n, 8);
      const cb = kernels.alloc(k * dim, 8);
      const nb = kernels.alloc(k, 8);
      const hb = kernels.alloc(k, 8);
      kernels.i32(ib).set(rows);
      // Gathered first: a copy loop overlaps the cache misses of rows scattered over x (2 threads: twice as many).
      kernels.rows('gather_rows_f32', n, dim * 8, (a, c) => [x.ptr, ib.ptr + a * 4, c - a, dim, gb.ptr + a * dim * 4]);
      kernels.f64(cb).set(centres);
      kernels.f64(nb).set(counts);
      if (pb && pnb) this.gemmNearest(kernels, gb.ptr, n, pb, pnb, k, labels, dist2);
      else {
        kernels.rows('nearest_f64', n, k * dim, (a, c) => [
          gb.ptr + a * dim * 4,
          c - a,
          cb.ptr,
          k,
          dim,
          lb.ptr + a * 4,
          db.ptr + a * 8,
        ]);
        labels.set(kernels.i32(lb));
        dist2.set(kernels.f64(db));
      }
      kernels.i32(lb).set(labels);
      kernels.k.centre_update_f64(gb.ptr, 0, n, dim, lb.ptr, k, cb.ptr, nb.ptr, hb.ptr);
      centres.set(kernels.f64(cb));
      counts.set(kernels.f64(nb));
    });
  }

  /**
   * The GEMM-form nearest of `m` centred points (`pb`, norms `pnb`) for `n` contiguous rows of raw (uncentred) data at
   * `src`, centred block by block into scratch. Leaves its scratch allocated (the caller releases).
   */
  private gemmNearest(
    kernels: SimdKernels,
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
    const { dim } = this;
    // Blocks centred on the fly are 1 MB (a share per thread stays in L2).
    const rowsCap = centred ? Math.floor(SIMD_SCORES / m) : Math.max(64, Math.floor(2 ** 18 / dim));
    const block = Math.max(1, Math.min(n, rowsCap, Math.floor(SIMD_SCORES / m)));
    const xb = centred ? undefined : kernels.alloc(block * dim, 4);
    const mb = kernels.alloc(dim, 4);
    const nb = kernels.alloc(block, 8);
    const ob = kernels.alloc(block * m, 8);
    const lb = kernels.alloc(block, 4);
    const vb = kernels.alloc(block, 8);
    kernels.f32(mb).set(this.mean);
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

  private nearestOf(
    rows: Int32Array | undefined,
    points: ArrayLike<number>,
    m: number,
    labels: Int32Array,
    dist2: Float64Array,
    r0: number,
    r1: number,
  ): void {
    const { dim } = this;
    const n = r1 - r0;
    const engine = this.engine(n, m);
    if (engine === 'simd-gemm' && !rows) {
      // argmin over c of |p_c|^2 - 2 x.p_c (|x|^2 is the same for every c), by blocks of rows (bounded scratch).
      // Rows come from the centred copy of x, made on the third pass over all of x (until then each block is
      // centred as it is used, which costs a pass of its own).
      const centred = this.simd?.centred || ++this.fullPasses > 2 ? this.centredSimd().centred : undefined;
      const { kernels, x } = this.kernels()!;
      withScratch(kernels, () => {
        const { pb, pnb } = this.centredPoints(kernels, points, m);
        this.gemmNearest(
          kernels,
          x.ptr + r0 * dim * 4,
          n,
          pb,
          pnb,
          m,
          labels.subarray(0, n),
          dist2.subarray(0, n),
          centred,
          r0,
        );
      });
      return;
    }
    if (engine === 'matMul' && !rows) {
      const { dots, pn, norms } = this.matMulDots(points, m, r0, r1);
      for (let i = 0; i < n; i++) {
        let best = 0;
        let bestD = Infinity;
        for (let c = 0; c < m; c++) {
          const v = pn[c] - 2 * dots[i * m + c];
          if (v < bestD) {
            bestD = v;
            best = c;
          }
        }
        labels[i] = best;
        const d = norms[r0 + i] + bestD;
        dist2[i] = d > 0 ? d : 0;
      }
      return;
    }
    const simd = rows ? null : this.kernels(); // (mini-batches on SIMD go through miniBatchStep)
    if (simd) {
      const { kernels, x } = simd;
      withScratch(kernels, () => {
        const pb = kernels.alloc(m * dim, 8);
        const lb = kernels.alloc(n, 4);
        const db = kernels.alloc(n, 8);
        const xp = x.ptr + r0 * dim * 4;
        kernels.f64(pb).set(points);
        kernels.rows('nearest_f64', n, m * dim, (a, b) => [
          xp + a * dim * 4,
          b - a,
          pb.ptr,
          m,
          dim,
          lb.ptr + a * 4,
          db.ptr + a * 8,
        ]);
        labels.set(kernels.i32(lb));
        dist2.set(kernels.f64(db));
      });
      return;
    }
    const data = this.x.data;
    const p = asFloat64(points);
    for (let i = 0; i < n; i++) {
      const o = (rows ? rows[i] : r0 + i) * dim;
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < m; c++) {
        const s = squaredDistance(data, o, p, c * dim, dim);
        if (s < bestD) {
          bestD = s;
          best = c;
        }
      }
      labels[i] = best;
      dist2[i] = bestD;
    }
  }

  /** Sum over rows of the squared distance to centre `labels[i]` (float64, from the data: scikit-learn's inertia). */
  inertia(centres: ArrayLike<number>, labels: Int32Array): number {
    const simd = this.kernels();
    if (!simd) {
      const p = asFloat64(centres);
      let s = 0;
      for (let i = 0; i < this.rows; i++)
        s += squaredDistance(this.x.data, i * this.dim, p, labels[i] * this.dim, this.dim);
      return s;
    }
    const { kernels, x } = simd;
    const k = centres.length / this.dim;
    const dim = this.dim;
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

  /**
   * scikit-learn's mini-batch centre update, in place, for the rows `rows[i]` of `x` (every row when undefined) with
   * their `labels`: each centre hit by the batch becomes `(centre * count + sum of its rows) / (count + hits)`, and
   * `counts` grow by the hits.
   */
  miniBatchUpdate(
    rows: Int32Array | undefined,
    labels: Int32Array,
    k: number,
    centres: Float64Array,
    counts: Float64Array,
  ): void {
    const { dim } = this;
    const n = rows ? rows.length : this.rows;
    // (Mini-batches drawn from x go through miniBatchStep on the SIMD kernels; rows reach here only without them.)
    const simd = rows ? null : this.kernels();
    if (simd) {
      const { kernels, x } = simd;
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
      return;
    }
    const data = this.x.data;
    const hits = new Float64Array(k);
    for (let i = 0; i < n; i++) hits[labels[i]]++;
    for (let c = 0; c < k; c++) if (hits[c] > 0) for (let j = 0; j < dim; j++) centres[c * dim + j] *= counts[c];
    for (let i = 0; i < n; i++) {
      const c = labels[i] * dim;
      const o = (rows ? rows[i] : i) * dim;
      for (let j = 0; j < dim; j++) centres[c + j] += data[o + j];
    }
    for (let c = 0; c < k; c++) {
      if (hits[c] === 0) continue;
      counts[c] += hits[c];
      const alpha = 1 / counts[c];
      for (let j = 0; j < dim; j++) centres[c * dim + j] *= alpha;
    }
  }

  /**
   * The sum of the rows of each of `k` clusters (`[k, dim]`, float64) and their sizes: cbir's SIMD kernel, or for
   * large work on a GPU/native backend one `matMul` of the one-hot `[k, n]` assignment with the centred rows (then
   * `count x mean` added back).
   */
  clusterSums(labels: Int32Array, k: number): { sums: Float64Array; counts: Float64Array } {
    const { rows: n, dim } = this;
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    const sums = new Float64Array(k * dim);
    const simd = this.engine(n, k) === 'matMul' ? null : this.kernels();
    if (simd) {
      const { kernels, x } = simd;
      withScratch(kernels, () => {
        const lb = kernels.alloc(n, 4);
        const sb = kernels.alloc(k * dim, 8);
        kernels.i32(lb).set(labels);
        kernels.f64(sb).fill(0);
        kernels.k.cluster_sums_f64(x.ptr, n, dim, lb.ptr, sb.ptr);
        sums.set(kernels.f64(sb));
      });
      return { sums, counts };
    }
    if (this.engine(n, k) === 'matMul') {
      const { mean } = this;
      const x = this.centred().tensor;
      // The one-hot buffer is reused across calls (a fresh [k, n] array per Lloyd iteration is mostly GC work).
      if (!this.onehot || this.onehot.length !== k * n) this.onehot = new Float32Array(k * n);
      const onehot = this.onehot;
      for (let i = 0; i < n; i++) onehot[labels[i] * n + i] = 1;
      const result = tf.tidy(() => tf.matMul(tf.tensor2d(onehot, [k, n]), x));
      for (let i = 0; i < n; i++) onehot[labels[i] * n + i] = 0;
      const s = result.dataSync();
      result.dispose();
      for (let c = 0; c < k; c++)
        for (let j = 0; j < dim; j++) sums[c * dim + j] = s[c * dim + j] + counts[c] * mean[j];
      return { sums, counts };
    }
    const data = this.x.data;
    for (let i = 0; i < n; i++) {
      const o = labels[i] * dim;
      const r = i * dim;
      for (let j = 0; j < dim; j++) sums[o + j] += data[r + j];
    }
    return { sums, counts };
  }

  /** Frees the tensor uploaded for the `matMul` path and returns the SIMD kernels' memory to the pool. */
  dispose(): void {
    this.uploaded?.tensor.dispose();
    this.uploaded = undefined;
    if (this.simd) SimdKernels.recycle(this.simd.kernels);
    this.simd = undefined;
  }

  /** Which computation serves `n` rows against `m` points: the GEMM form for large work, float64 sums for small. */
  private engine(n: number, m: number): 'simd-gemm' | 'matMul' | 'float64' {
    if (n * m * this.dim < GEMM_MIN_WORK) return 'float64';
    const engine = productEngine();
    if (engine === 'simd' && this.kernels()) return 'simd-gemm';
    return engine === 'matMul' ? 'matMul' : 'float64';
  }

  /** The SIMD kernels with `x` in their memory (copied on first use), or null where they cannot run or `x` does not fit. */
  private kernels(): { kernels: SimdKernels; x: SimdBuffer; centred?: { x: SimdBuffer; norms: Float64Array } } | null {
    if (this.simd !== undefined) return this.simd;
    if (productEngine() === 'js') return (this.simd = null);
    // Room for `x`, its centred copy and the per-call scratch (tens of MB: the silhouette's blocks are <= 4M distances).
    if (!SimdKernels.fits(this.x.data.length * 8 + SCRATCH_BYTES)) return (this.simd = null);
    const kernels = SimdKernels.acquire();
    if (!kernels) return (this.simd = null);
    const x = kernels.alloc(this.x.data.length, 4);
    kernels.f32(x).set(this.x.data);
    kernels.mark();
    return (this.simd = { kernels, x });
  }

  /** The kernels with `x` centred on its mean (float32) and the centred rows' squared norms, made on first use. */
  private centredSimd(): { kernels: SimdKernels; centred: { x: SimdBuffer; norms: Float64Array } } {
    const simd = this.kernels()!;
    if (!simd.centred) {
      const { kernels } = simd;
      const { rows, dim, mean } = this; // (mean first: it uses scratch of its own)
      // The centred copy is kept: allocated below a new mark, with the scratch above it.
      kernels.release();
      const xb = kernels.alloc(rows * dim, 4);
      kernels.mark();
      simd.centred = withScratch(kernels, () => {
        const mb = kernels.alloc(dim, 4);
        const nb = kernels.alloc(rows, 8);
        kernels.f32(mb).set(mean);
        kernels.rows('centre_f32', rows, dim, (a, b) => [
          simd.x.ptr + a * dim * 4,
          b - a,
          dim,
          mb.ptr,
          xb.ptr + a * dim * 4,
          nb.ptr + a * 8,
        ]);
        return { x: xb, norms: Float64Array.from(kernels.f64(nb)) };
      });
    }
    return { kernels: simd.kernels, centred: simd.centred };
  }

  /** `m` points centred on the mean of `x`, as float32 in the kernels' scratch, with their squared norms (float64). */
  private centredPoints(
    kernels: SimdKernels,
    points: ArrayLike<number>,
    m: number,
  ): { pb: SimdBuffer; pnb: SimdBuffer; pn: Float64Array } {
    const { dim, mean } = this;
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

  /** `x` centred on its mean, uploaded once, with the centred rows' squared norms (centred on the backend, in float32). */
  private centred(): { tensor: tf.Tensor2D; norms: Float32Array } {
    if (this.uploaded) return this.uploaded;
    const mean = Float32Array.from(this.mean);
    const [tensor, norms] = tf.tidy(() => {
      const xc = tf.sub(tf.tensor2d(this.x.data, [this.rows, this.dim]), tf.tensor1d(mean)) as tf.Tensor2D;
      return [xc, tf.sum(tf.square(xc), 1)] as const;
    });
    const n = norms.dataSync() as Float32Array;
    norms.dispose();
    return (this.uploaded = { tensor, norms: n });
  }

  /** Dot products of the centred rows `[r0, r1)` with the centred points (`[n, m]`, float32), and the squared norms. */
  private matMulDots(
    points: ArrayLike<number>,
    m: number,
    r0: number,
    r1: number,
  ): { dots: Float32Array; pn: Float64Array; norms: Float32Array } {
    const { dim, mean } = this;
    const { tensor: x, norms } = this.centred();
    // Centred points, transposed to [dim, m] in JS (tfjs's wasm matMul leaves XNNPACK for transposed operands).
    const pt = new Float32Array(dim * m);
    const pn = new Float64Array(m);
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const v = points[c * dim + j] - mean[j];
        pt[j * m + c] = v;
        s += v * v;
      }
      pn[c] = s;
    }
    const result = tf.tidy(() => {
      const rows = r0 === 0 && r1 === this.rows ? x : tf.slice(x, [r0, 0], [r1 - r0, dim]);
      return tf.matMul(rows, tf.tensor2d(pt, [dim, m]));
    });
    const dots = result.dataSync() as Float32Array;
    result.dispose();
    return { dots, pn, norms };
  }
}

function asFloat64(points: ArrayLike<number>): Float64Array {
  return points instanceof Float64Array ? points : Float64Array.from(points);
}

/** `sum_j (a[ao + j] - b[bo + j])^2` in float64, four accumulators. */
function squaredDistance(a: Float32Array, ao: number, b: Float64Array, bo: number, dim: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let j = 0;
  for (; j + 3 < dim; j += 4) {
    const d0 = a[ao + j] - b[bo + j];
    const d1 = a[ao + j + 1] - b[bo + j + 1];
    const d2 = a[ao + j + 2] - b[bo + j + 2];
    const d3 = a[ao + j + 3] - b[bo + j + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; j < dim; j++) {
    const d0 = a[ao + j] - b[bo + j];
    s0 += d0 * d0;
  }
  return s0 + s1 + s2 + s3;
}

/**
 * Squared distances from dot products, `|x_i|^2 + |p_c|^2 - 2 x_i.p_c` clamped at 0, into `out` (`[n, m]`): the GEMM
 * form every engine's distance matrix ends with. Norms are read from `xNorms[x0 + i]` and `pNorms[p0 + c]`.
 */
function distancesFromDots(
  dots: ArrayLike<number>,
  xNorms: ArrayLike<number>,
  x0: number,
  pNorms: ArrayLike<number>,
  p0: number,
  n: number,
  m: number,
  out: Float64Array,
): Float64Array {
  for (let i = 0; i < n; i++) {
    const xn = xNorms[x0 + i];
    for (let c = 0; c < m; c++) {
      const v = xn + pNorms[p0 + c] - 2 * dots[i * m + c];
      out[i * m + c] = v > 0 ? v : 0;
    }
  }
  return out;
}
