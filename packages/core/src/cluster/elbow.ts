import { CbirError, DimensionMismatchError, throwIfAborted } from '../errors.js';
import { checkFiniteMatrix, type Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import { KMeans, type KMeansOptions } from './kmeans.js';
import { MiniBatchKMeans, type MiniBatchKMeansOptions } from './mini-batch-kmeans.js';
import { forEachSquaredDistanceToCentre } from './centroid-clusterer.js';
import { PointDistances } from '../compute/point-distances/point-distances.js';

/** One point of the elbow curve. */
export interface ElbowPoint {
  k: number;
  /** The notebook's distortion: the mean over rows of the Euclidean distance to the nearest centre. */
  distortion: number;
  /** scikit-learn's inertia: the sum over rows of the squared distance to the nearest centre. */
  inertia: number;
  /** Iterations (KMeans) or passes (MiniBatchKMeans) the fit took. */
  nIter: number;
  /** The fitted model's labels, for silhouette analysis and plots. */
  labels: Int32Array;
  /** The fitted model's centres, `[k, dim]`. */
  centroids: Matrix;
}

/** Options of {@link elbow}: the ks, the estimator, and its settings (applied at every k). */
export interface ElbowOptions extends LongRunning {
  /** The numbers of clusters to try, e.g. `[4, 5, 6, 7, 8, 9]`. */
  ks: readonly number[];
  /** Use {@link MiniBatchKMeans} (for large n) instead of {@link KMeans}. @defaultValue false */
  miniBatch?: boolean;
  /** Settings passed to the estimator at every k (`nClusters` is set from `ks`). */
  estimator?: Omit<KMeansOptions, 'nClusters'> & Omit<MiniBatchKMeansOptions, 'nClusters'>;
}

/**
 * The elbow method as the notebook runs it: fit k-means for each k and record the distortion (mean distance to the
 * nearest centre) and the inertia (sum of squared distances). Plot them with `elbowPlotSpec` and look for the bend.
 *
 * @example
 * ```ts
 * const curve = elbow(features, { ks: [4, 5, 6, 7, 8, 9], estimator: { randomState: 0 } });   // KMeans(n_clusters=k, random_state=0)
 * for (const p of curve) console.log(p.k, p.distortion.toFixed(3), p.inertia.toFixed(1));
 * ```
 */
export function elbow(x: Matrix, options: ElbowOptions): ElbowPoint[] {
  checkFiniteMatrix('elbow', x, 'x');
  const { ks, miniBatch = false, estimator = {}, onProgress, signal } = options;
  if (!ks?.length || ks.some((k) => !Number.isInteger(k) || k < 1 || k > x.rows)) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `elbow: ks must be integers from 1 to the ${x.rows} rows of x, got [${ks?.join(', ')}].`,
    );
  }
  return ks.map((k) => {
    throwIfAborted(signal, 'elbow');
    const model = miniBatch
      ? new MiniBatchKMeans({ ...estimator, nClusters: k })
      : new KMeans({ ...estimator, nClusters: k });
    model.fit(x, { onProgress, signal });
    return {
      k,
      distortion: meanDistanceToCentres(x, model.centroids.data, model.labels),
      inertia: model.inertia,
      nIter: model.nIter,
      labels: model.labels,
      centroids: model.centroids,
    };
  });
}

/**
 * The notebook's distortion: `sum(min(cdist(x, centres, 'euclidean'), axis=1)) / n`, in float64.
 *
 * @example
 * ```ts
 * distortion(x, new KMeans({ nClusters: 6 }).fit(x).centroids);
 * ```
 */
export function distortion(x: Matrix, centroids: Matrix): number {
  checkFiniteMatrix('distortion', x, 'x');
  checkFiniteMatrix('distortion', centroids, 'centroids');
  if (centroids.cols !== x.cols)
    throw new DimensionMismatchError(`distortion: centroids have ${centroids.cols} columns, x has ${x.cols}.`);
  const points = new PointDistances(x);
  try {
    const labels = new Int32Array(x.rows);
    points.nearest(centroids.data, centroids.rows, labels, new Float64Array(x.rows));
    // The winners' distances again, exactly: the scan may have run in float32.
    return meanDistanceToCentres(x, centroids.data, labels);
  } finally {
    points.dispose();
  }
}

/** Mean over rows of the float64 Euclidean distance to the row's own centre (`labels` are the nearest centres). */
function meanDistanceToCentres(x: Matrix, centres: ArrayLike<number>, labels: Int32Array): number {
  let s = 0;
  forEachSquaredDistanceToCentre(x, centres, labels, (d2) => (s += Math.sqrt(d2)));
  return s / x.rows;
}
