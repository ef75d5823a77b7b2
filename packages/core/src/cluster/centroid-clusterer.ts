import { CbirError, DimensionMismatchError, NotFittedError } from '../errors.js';
import { checkFiniteMatrix, type Matrix } from '../matrix.js';
import { RandomState } from '../utils/random-state.js';
import { kmeansPlusPlus } from './kmeans-plus-plus.js';
import { PointDistances } from '../compute/point-distances/point-distances.js';

/** How the first centres are chosen: scikit-learn's names, or the centres themselves (`[nClusters, dim]`). */
export type KMeansInit = 'k-means++' | 'random' | Matrix;

/** Settings shared by {@link KMeans} and {@link MiniBatchKMeans}. */
export interface CentroidClustererOptions {
  /** The number of clusters `k`. @defaultValue 8 */
  nClusters?: number;
  /** How the first centroids are chosen: `'k-means++'` (scikit-learn's greedy variant) or `'random'` rows. @defaultValue 'k-means++' */
  init?: KMeansInit;
  /**
   * Number of initialisations; the best is kept. `'auto'` is scikit-learn 1.4's: 1 for k-means++ or given centres,
   * and 10 (KMeans) or 3 (MiniBatchKMeans) for `'random'`. @defaultValue 10 for KMeans and 3 for MiniBatchKMeans
   * (scikit-learn 1.2's, the notebook's)
   */
  nInit?: number | 'auto';
  /**
   * numpy's seed of every random choice, drawn as scikit-learn draws them (numpy's `RandomState`): the same
   * `randomState` gives scikit-learn's starts for its `random_state`. @defaultValue 0
   */
  randomState?: number;
  /** The same as `randomState` (its older name); `randomState` wins when both are given. @defaultValue 0 */
  seed?: number;
}

/**
 * What KMeans and MiniBatchKMeans share: settings, validation, initialisation, the learned attributes and `predict`.
 * @internal
 */
export abstract class CentroidClusterer {
  readonly nClusters: number;
  readonly init: KMeansInit;
  protected fitted?: { centroids: Matrix; labels: Int32Array; inertia: number; nIter: number };

  protected constructor(
    options: CentroidClustererOptions,
    readonly randomNInit: number,
    /** The class's name in messages, literally (a minifier renames `constructor.name`). */
    protected readonly className: 'KMeans' | 'MiniBatchKMeans',
  ) {
    this.nClusters = options.nClusters ?? 8;
    this.init = options.init ?? 'k-means++';
    const where = this.className;
    if (!Number.isInteger(this.nClusters) || this.nClusters < 1) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: nClusters must be a positive integer, got ${options.nClusters}.`,
      );
    }
    const nInit = options.nInit ?? randomNInit;
    if (nInit !== 'auto' && (!Number.isInteger(nInit) || nInit < 1)) {
      throw new CbirError('INVALID_ARGUMENT', `${where}: nInit must be a positive integer or 'auto', got ${nInit}.`);
    }
    if (typeof this.init !== 'string' && !(this.init && this.init.data instanceof Float32Array)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: init must be 'k-means++', 'random' or a Matrix of centres, got ${String(this.init)}.`,
      );
    }
    this.randomState = options.randomState ?? options.seed ?? 0;
    // Checked here, not on the first draw, so that a bad seed fails before any work.
    RandomState.checkSeed(this.randomState);
    this.nInitResolved =
      nInit === 'auto' ? (this.init === 'random' ? randomNInit : 1) : typeof this.init === 'string' ? nInit : 1;
  }

  /** numpy's seed of the random choices (`random_state`). */
  readonly randomState: number;

  /** The same as {@link CentroidClusterer.randomState}. */
  get seed(): number {
    return this.randomState;
  }

  /** The number of initialisations run (`nInit` resolved; always 1 for given centres, as scikit-learn does). */
  readonly nInitResolved: number;

  /** The centres, `[nClusters, dim]`. @throws {@link NotFittedError} before `fit`. */
  get centroids(): Matrix {
    return this.fittedOrThrow().centroids;
  }

  /** The cluster of each row given to `fit`. @throws {@link NotFittedError} before `fit`. */
  get labels(): Int32Array {
    return this.fittedOrThrow().labels;
  }

  /** Sum of squared distances of the rows given to `fit` to their nearest centre. @throws {@link NotFittedError} before `fit`. */
  get inertia(): number {
    return this.fittedOrThrow().inertia;
  }

  /** Iterations (KMeans) or passes over the data (MiniBatchKMeans) the fit took. @throws {@link NotFittedError} before `fit`. */
  get nIter(): number {
    return this.fittedOrThrow().nIter;
  }

  /**
   * The nearest centre of each row of `x` (`[n, dim]`).
   * @throws {@link NotFittedError} before `fit`; {@link DimensionMismatchError} for the wrong number of columns.
   */
  predict(x: Matrix): Int32Array {
    const { centroids } = this.fittedOrThrow();
    this.checkInput(x, 'predict', 1);
    if (x.cols !== centroids.cols) {
      throw new DimensionMismatchError(
        `${this.className}.predict: x has ${x.cols} columns; the model was fitted on ${centroids.cols}.`,
      );
    }
    return assign(x, centroids.data, this.nClusters).labels;
  }

  protected fittedOrThrow(): NonNullable<CentroidClusterer['fitted']> {
    if (!this.fitted) throw new NotFittedError(`${this.className}: call fit(x) before reading results or predicting.`);
    return this.fitted;
  }

  /**
   * Validates a data matrix: finite values, at least `minRows` rows, given centres of the right shape.
   * `firstNonFinite` (called once the shape is known to be right) may find non-finite values faster than JS: a new
   * {@link PointDistances}' SIMD kernels check the copy of `x` they make anyway.
   */
  protected checkInput(x: Matrix, method: string, minRows = this.nClusters, firstNonFinite?: () => number): void {
    const where = `${this.className}.${method}`;
    checkFiniteMatrix(where, x, 'x', firstNonFinite);
    if (x.rows < minRows) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: nClusters = ${this.nClusters} is more than the ${x.rows} rows of x; use at most ${x.rows} clusters.`,
      );
    }
    const init = this.init;
    if (typeof init !== 'string' && (init.rows !== this.nClusters || init.cols !== x.cols)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: init centres are [${init.rows}, ${init.cols}]; expected [${this.nClusters}, ${x.cols}] (nClusters x the columns of x).`,
      );
    }
  }

  /** First centres (`[k, dim]`, float64) for the rows of `points`, by `this.init`. */
  protected initialCentres(points: PointDistances, rng: RandomState): Float64Array {
    const { dim, rows } = points;
    const k = this.nClusters;
    const init = this.init;
    if (typeof init !== 'string') return Float64Array.from(init.data);
    const chosen =
      init === 'random' ? Array.from(rng.permutation(rows).subarray(0, k)) : kmeansPlusPlus(points, k, rng);
    const centres = new Float64Array(k * dim);
    chosen.forEach((r, c) => centres.set(points.x.data.subarray(r * dim, (r + 1) * dim), c * dim));
    return centres;
  }
}

/** Labels of the rows of `x` by the nearest of `k` centres, and the exact float64 inertia. @internal */
export function assign(
  x: Matrix,
  centres: ArrayLike<number>,
  k: number,
  points?: PointDistances,
): { labels: Int32Array; inertia: number } {
  const labels = new Int32Array(x.rows);
  const p = points ?? new PointDistances(x);
  try {
    p.nearest(centres, k, labels, new Float64Array(x.rows));
    return { labels, inertia: p.inertia(centres, labels) };
  } finally {
    if (!points) p.dispose();
  }
}

/** Sum over rows of the squared distance to the row's centre, in float64 from the data (as scikit-learn's `_inertia`). @internal */
export function exactInertia(x: Matrix, centres: ArrayLike<number>, labels: Int32Array): number {
  let s = 0;
  forEachSquaredDistanceToCentre(x, centres, labels, (d2) => (s += d2));
  return s;
}

/** Calls `f` with each row's squared distance to its centre `labels[i]`, computed in float64 from the data. @internal */
export function forEachSquaredDistanceToCentre(
  x: Matrix,
  centres: ArrayLike<number>,
  labels: Int32Array,
  f: (d2: number) => void,
): void {
  const { rows, cols, data } = x;
  for (let i = 0; i < rows; i++) {
    const c = labels[i] * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const d = data[i * cols + j] - centres[c + j];
      s += d * d;
    }
    f(s);
  }
}

/** `[k, dim]` float64 centres as a float32 Matrix. @internal */
export function toMatrix(centres: Float64Array, k: number, dim: number): Matrix {
  return { data: Float32Array.from(centres), rows: k, cols: dim };
}
