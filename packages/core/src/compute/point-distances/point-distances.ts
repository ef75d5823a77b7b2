import type { Matrix } from '../../matrix.js';
import { productEngine } from '../engine.js';
import { JsDistances } from './js.js';
import { MatMulDistances } from './matmul.js';
import { SimdDistances } from './simd.js';

/**
 * Below this many multiply-adds (`rows * points * dim`) the float64 loop is used (it is exact, and there it costs
 * little more). For the JS loop against `matMul`, the crossover was measured on wasm, upload included:
 * 1024 x 4 x 32 (131k) JS 0.135 ms, matMul 0.157 ms; 1024 x 9 x 32 (295k) JS 0.287 ms, matMul 0.221 ms;
 * 1024 x 8 x 256 (2.1M) JS 1.83 ms, matMul 0.80 ms.
 */
const GEMM_MIN_WORK = 1 << 18;

/**
 * Squared Euclidean distances from the rows of a fixed matrix `x` to sets of points (centres, candidates, blocks of
 * `x` itself): the kernel under KMeans, MiniBatchKMeans, k-means++ and the silhouette.
 *
 * A facade over one strategy per engine, chosen per call by the amount of work and {@link productEngine}:
 * - {@link SimdDistances}: cbir's WebAssembly SIMD kernels on `x` copied once into their memory, float64 sums of
 *   `(x - p)^2` for small work and, for large, the GEMM form `|x|^2 + |p|^2 - 2 x.p` in float32 on data centred on its
 *   mean (as scikit-learn centres it, which keeps the cancellation error small);
 * - {@link MatMulDistances}: the GEMM form on the tfjs backend's `matMul` (a GPU or native backend), for large work;
 * - {@link JsDistances}: float64 loops in JS, where WebAssembly SIMD is unavailable.
 *
 * Call {@link PointDistances.dispose} when done (it frees the uploaded tensor and the kernels' memory).
 * @internal
 */
export class PointDistances {
  readonly rows: number;
  readonly dim: number;
  private readonly js: JsDistances;
  private simdEngine?: SimdDistances | null;
  private matMulEngine?: MatMulDistances;
  private meanCache?: Float64Array;

  constructor(readonly x: Matrix) {
    this.rows = x.rows;
    this.dim = x.cols;
    this.js = new JsDistances(x);
  }

  /** The column means of `x` (float64), computed on first use. */
  get mean(): Float64Array {
    return (this.meanCache ??= this.simd()?.columnMean() ?? this.js.mean());
  }

  /**
   * Squared distances from rows `[r0, r1)` of `x` to `m` points (row-major `[m, dim]`, in the original coordinates), as
   * a row-major `[r1 - r0, m]` float64 array. Never negative.
   */
  toPoints(points: ArrayLike<number>, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const n = r1 - r0;
    const out = new Float64Array(n * m);
    const engine = this.engine(n, m);
    if (engine === 'matMul') return this.matMul().toPoints(points, m, r0, r1, out);
    const simd = this.simd();
    if (simd) return simd.toPoints(points, m, r0, r1, out, engine === 'simd-gemm');
    return this.js.toPoints(points, m, r0, r1, out);
  }

  /** The index of the first NaN or infinity in `x.data`, or -1 (on the SIMD copy of `x` when there is one). */
  firstNonFinite(): number {
    return this.simd()?.firstNonFinite() ?? this.js.firstNonFinite();
  }

  /**
   * As {@link PointDistances.toPoints} with the points rows `[p0, p0 + m)` of `x` itself (the silhouette's blocks): on
   * the SIMD GEMM path the centred copy of `x` serves both sides, with nothing recomputed.
   */
  toRows(p0: number, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const n = r1 - r0;
    if (this.engine(n, m) !== 'simd-gemm')
      return this.toPoints(this.x.data.subarray(p0 * this.dim, (p0 + m) * this.dim), m, r0, r1);
    return this.simd()!.toRows(p0, m, r0, r1, new Float64Array(n * m));
  }

  /**
   * For rows `[r0, r1)`, the nearest of `m` points (lowest index on ties) into `labels[i - r0]` and its squared
   * distance into `dist2[i - r0]`.
   */
  nearest(points: ArrayLike<number>, m: number, labels: Int32Array, dist2: Float64Array, r0 = 0, r1 = this.rows): void {
    const engine = this.engine(r1 - r0, m);
    if (engine === 'matMul') return this.matMul().nearest(points, m, labels, dist2, r0, r1);
    const simd = this.simd();
    if (simd) return simd.nearest(points, m, labels, dist2, r0, r1, engine === 'simd-gemm');
    this.js.nearest(undefined, points, m, labels, dist2, r0, r1);
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
    const simd = this.simd();
    const n = rows.length;
    if (simd) return simd.miniBatchStep(rows, centres, k, counts, labels, dist2, this.engine(n, k) === 'simd-gemm');
    this.js.nearest(rows, centres, k, labels, dist2, 0, n);
    this.js.miniBatchUpdate(rows, labels, k, centres, counts);
  }

  /** Sum over rows of the squared distance to centre `labels[i]` (float64, from the data: scikit-learn's inertia). */
  inertia(centres: ArrayLike<number>, labels: Int32Array): number {
    return this.simd()?.inertia(centres, labels) ?? this.js.inertia(centres, labels);
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
    // (Mini-batches drawn from x go through miniBatchStep on the SIMD kernels; rows reach here only without them.)
    const simd = rows ? null : this.simd();
    if (simd) return simd.miniBatchUpdate(labels, k, centres, counts);
    this.js.miniBatchUpdate(rows, labels, k, centres, counts);
  }

  /**
   * The sum of the rows of each of `k` clusters (`[k, dim]`, float64) and their sizes: cbir's SIMD kernel, or for
   * large work on a GPU/native backend one `matMul` of the one-hot `[k, n]` assignment with the centred rows.
   */
  clusterSums(labels: Int32Array, k: number): { sums: Float64Array; counts: Float64Array } {
    const { rows: n, dim } = this;
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    const sums = new Float64Array(k * dim);
    const engine = this.engine(n, k);
    const simd = engine === 'matMul' ? null : this.simd();
    if (simd) simd.clusterSums(labels, k, sums);
    else if (engine === 'matMul') this.matMul().clusterSums(labels, k, counts, sums);
    else this.js.clusterSums(labels, k, sums);
    return { sums, counts };
  }

  /** Frees the tensor uploaded for the `matMul` path and returns the SIMD kernels' memory to the pool. */
  dispose(): void {
    this.matMulEngine?.dispose();
    this.matMulEngine = undefined;
    this.simdEngine?.dispose();
    this.simdEngine = undefined;
  }

  /** Which computation serves `n` rows against `m` points: the GEMM form for large work, float64 sums for small. */
  private engine(n: number, m: number): 'simd-gemm' | 'matMul' | 'float64' {
    if (n * m * this.dim < GEMM_MIN_WORK) return 'float64';
    const engine = productEngine();
    if (engine === 'simd' && this.simd()) return 'simd-gemm';
    return engine === 'matMul' ? 'matMul' : 'float64';
  }

  /** The SIMD strategy (`x` copied on first use), or null where the kernels cannot run or `x` does not fit. */
  private simd(): SimdDistances | null {
    if (this.simdEngine !== undefined) return this.simdEngine;
    if (productEngine() === 'js') return (this.simdEngine = null);
    return (this.simdEngine = SimdDistances.create(this.x, () => this.mean) ?? null);
  }

  private matMul(): MatMulDistances {
    return (this.matMulEngine ??= new MatMulDistances(this.x, () => this.mean));
  }
}
