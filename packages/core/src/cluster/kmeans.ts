import { CbirError, throwIfAborted } from '../errors.js';
import type { Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import { RandomState } from '../utils/random-state.js';
import { CentroidClusterer, toMatrix, type CentroidClustererOptions } from './centroid-clusterer.js';
import { PointDistances } from '../compute/point-distances/point-distances.js';

/** Settings of {@link KMeans}: scikit-learn's, in camelCase. */
export interface KMeansOptions extends CentroidClustererOptions {
  /** Most Lloyd iterations per initialisation. @defaultValue 300 */
  maxIter?: number;
  /**
   * Convergence tolerance, relative to the data: a run stops when the squared shift of the centres sums to at most
   * `tol` times the mean of the columns' variances (scikit-learn's `_tolerance`). @defaultValue 1e-4
   */
  tol?: number;
}

/**
 * K-means clustering by Lloyd's algorithm, as scikit-learn's `KMeans(algorithm='lloyd')`: k-means++ (greedy, with
 * `2 + ln k` local trials) or random starts, Lloyd iterations until the labels stop changing or the centres move less
 * than `tol`, empty clusters relocated to the points farthest from their centres, the best of `nInit` runs by inertia.
 *
 * Distances use the active backend's `matMul` when the work is large (see the performance guide), else a JS loop.
 *
 * @example
 * ```ts
 * const km = new KMeans({ nClusters: 10, randomState: 0 }).fit(features);   // features: Matrix [n, dim]
 * km.labels;      // Int32Array [n]
 * km.inertia;     // sum of squared distances to the nearest centre
 * km.predict(newFeatures);
 * ```
 */
export class KMeans extends CentroidClusterer {
  readonly maxIter: number;
  readonly tol: number;

  constructor(options: KMeansOptions = {}) {
    super(options, 10, 'KMeans');
    this.maxIter = options.maxIter ?? 300;
    this.tol = options.tol ?? 1e-4;
    if (!Number.isInteger(this.maxIter) || this.maxIter < 1)
      throw new CbirError('INVALID_ARGUMENT', `KMeans: maxIter must be a positive integer, got ${this.maxIter}.`);
    if (!(this.tol >= 0)) throw new CbirError('INVALID_ARGUMENT', `KMeans: tol must be >= 0, got ${this.tol}.`);
  }

  /**
   * Clusters the rows of `x` (`[n, dim]`, n >= nClusters, finite values).
   *
   * @param options - `onProgress` receives a `kmeans` event per iteration; `signal` stops between iterations (the
   *   call then throws a `CbirError` with code `ABORTED`).
   * @returns this, fitted.
   */
  fit(x: Matrix, options: LongRunning = {}): this {
    let created: PointDistances | undefined;
    try {
      // The shape is checked first; then the values, by the kernels that copy x for the fit.
      this.checkInput(x, 'fit', this.nClusters, () => (created = new PointDistances(x)).firstNonFinite());
      const points = created!;
      const rng = new RandomState(this.randomState);
      const tolAbs = this.tol * meanVariance(x, points.mean);
      let best: { centres: Float64Array; labels: Int32Array; inertia: number; nIter: number } | undefined;
      for (let run = 0; run < this.nInitResolved; run++) {
        const result = this.lloyd(points, this.initialCentres(points, rng), tolAbs, options);
        // scikit-learn keeps the first of equal clusterings, so a relabelling of the best never replaces it.
        if (!best || (result.inertia < best.inertia && !sameClustering(result.labels, best.labels, this.nClusters)))
          best = result;
      }
      this.fitted = {
        centroids: toMatrix(best!.centres, this.nClusters, x.cols),
        labels: best!.labels,
        inertia: best!.inertia,
        nIter: best!.nIter,
      };
      return this;
    } finally {
      created?.dispose();
    }
  }

  /** One run of Lloyd's algorithm from `centres` (`_kmeans_single_lloyd`). */
  private lloyd(points: PointDistances, centres: Float64Array, tolAbs: number, { onProgress, signal }: LongRunning) {
    const { rows: n, dim } = points;
    const x = points.x.data;
    const k = this.nClusters;
    const labels = new Int32Array(n);
    const previous = new Int32Array(n).fill(-1);
    const dist2 = new Float64Array(n);
    let strict = false;
    let iter = 0;
    while (iter < this.maxIter) {
      throwIfAborted(signal, 'KMeans.fit');
      points.nearest(centres, k, labels, dist2);
      const { sums: next, counts } = points.clusterSums(labels, k);
      relocateEmptyClusters(x, dim, centres, labels, next, counts);
      let shift = 0;
      for (let c = 0; c < k; c++) {
        for (let j = 0; j < dim; j++) {
          const o = c * dim + j;
          if (counts[c] > 0) next[o] /= counts[c];
          shift += (next[o] - centres[o]) ** 2;
        }
      }
      centres = next;
      iter++;
      if (onProgress) onProgress({ stage: 'kmeans', iteration: iter, inertia: dist2.reduce((a, b) => a + b, 0) });
      if (labels.every((l, i) => l === previous[i])) {
        strict = true;
        break;
      }
      if (shift <= tolAbs) break;
      previous.set(labels);
    }
    // Labels that match the final centres.
    if (!strict) points.nearest(centres, k, labels, dist2);
    return { centres, labels, inertia: points.inertia(centres, labels), nIter: iter };
  }
}

/**
 * scikit-learn's `_relocate_empty_clusters_dense`: each empty cluster takes the point farthest from its centre (the
 * farthest for the first empty cluster, and so on); the point's sum moves from its old cluster to the empty one.
 */
function relocateEmptyClusters(
  x: Float32Array,
  dim: number,
  centres: Float64Array,
  labels: Int32Array,
  sums: Float64Array,
  counts: Float64Array,
): void {
  const empty: number[] = [];
  counts.forEach((c, i) => c === 0 && empty.push(i));
  if (empty.length === 0) return;
  const far = Array.from(labels, (l, i) => {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (x[i * dim + j] - centres[l * dim + j]) ** 2;
    return { i, s };
  })
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, empty.length);
  far.forEach(({ i }, t) => {
    const to = empty[t];
    const from = labels[i];
    for (let j = 0; j < dim; j++) {
      sums[from * dim + j] -= x[i * dim + j];
      sums[to * dim + j] = x[i * dim + j];
    }
    counts[from]--;
    counts[to] = 1;
  });
}

/** Mean over columns of the column variance (numpy's `np.mean(np.var(X, axis=0))`). */
export function meanVariance(x: Matrix, mean: Float64Array): number {
  const { rows, cols, data } = x;
  let s = 0;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) s += (data[i * cols + j] - mean[j]) ** 2;
  return s / rows / cols;
}

/** Whether two labellings are the same partition under a relabelling (scikit-learn's `_is_same_clustering`). */
function sameClustering(a: Int32Array, b: Int32Array, k: number): boolean {
  const map = new Int32Array(k).fill(-1);
  for (let i = 0; i < a.length; i++) {
    if (map[a[i]] === -1) map[a[i]] = b[i];
    else if (map[a[i]] !== b[i]) return false;
  }
  return true;
}
