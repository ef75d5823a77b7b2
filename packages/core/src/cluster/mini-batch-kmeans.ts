import { CbirError, DimensionMismatchError, throwIfAborted } from '../errors.js';
import { selectRows, type Matrix } from '../matrix.js';
import type { LongRunning } from '../progress.js';
import { RandomState } from '../utils/random-state.js';
import { assign, CentroidClusterer, toMatrix, type CentroidClustererOptions } from './centroid-clusterer.js';
import { meanVariance } from './kmeans.js';
import { PointDistances } from '../compute/point-distances/point-distances.js';

/** Settings of {@link MiniBatchKMeans}: scikit-learn's, in camelCase. */
export interface MiniBatchKMeansOptions extends CentroidClustererOptions {
  /** Rows per mini-batch. @defaultValue 1024 */
  batchSize?: number;
  /** Most passes over the data; `fit` takes at most `maxIter * n / batchSize` steps. @defaultValue 100 */
  maxIter?: number;
  /** Stop after this many steps without improvement of the smoothed batch inertia (`null`: never). @defaultValue 10 */
  maxNoImprovement?: number | null;
  /**
   * A centre whose count falls below this fraction of the largest count is moved to a random point of the batch
   * (checked every `10 * nClusters` rows, and whenever a count is 0). @defaultValue 0.01
   */
  reassignmentRatio?: number;
  /** Stop when the squared shift of the centres in one step is at most `tol` x the mean column variance; 0: off. @defaultValue 0 */
  tol?: number;
  /** Rows sampled for each initialisation and to compare initialisations. @defaultValue 3 * batchSize (at least 3 * nClusters), at most n */
  initSize?: number;
}

interface StreamState {
  centres: Float64Array;
  counts: Float64Array;
  sinceReassign: number;
  ewa?: number;
  ewaMin?: number;
  noImprovement: number;
  steps: number;
  rng: RandomState;
  /** Scratch buffers of the batch's labels and squared distances. */
  labels: Int32Array;
  dist2: Float64Array;
}

/**
 * Mini-batch k-means as scikit-learn's `MiniBatchKMeans`: per-centre counts give each centre a learning rate of
 * 1/count, small clusters are reassigned at random, and `fit` stops early when an exponentially weighted average of
 * the batch inertia stops improving. `partialFit` learns from batches you stream in.
 *
 * @example
 * ```ts
 * const mbk = new MiniBatchKMeans({ nClusters: 100, batchSize: 1024, randomState: 0 }).fit(descriptors);
 * // or streaming:
 * const stream = new MiniBatchKMeans({ nClusters: 100 });
 * for await (const batch of batches) stream.partialFit(batch);
 * stream.predict(x);
 * ```
 */
export class MiniBatchKMeans extends CentroidClusterer {
  readonly batchSize: number;
  readonly maxIter: number;
  readonly maxNoImprovement: number | null;
  readonly reassignmentRatio: number;
  readonly tol: number;
  private readonly initSizeOption?: number;
  private state?: StreamState;

  constructor(options: MiniBatchKMeansOptions = {}) {
    super(options, 3, 'MiniBatchKMeans');
    this.batchSize = options.batchSize ?? 1024;
    this.maxIter = options.maxIter ?? 100;
    this.maxNoImprovement = options.maxNoImprovement === undefined ? 10 : options.maxNoImprovement;
    this.reassignmentRatio = options.reassignmentRatio ?? 0.01;
    this.tol = options.tol ?? 0;
    this.initSizeOption = options.initSize;
    const bad = (what: string, v: unknown) => new CbirError('INVALID_ARGUMENT', `MiniBatchKMeans: ${what}, got ${v}.`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw bad('batchSize must be a positive integer', this.batchSize);
    if (!Number.isInteger(this.maxIter) || this.maxIter < 1)
      throw bad('maxIter must be a positive integer', this.maxIter);
    if (!(this.reassignmentRatio >= 0)) throw bad('reassignmentRatio must be >= 0', this.reassignmentRatio);
    if (!(this.tol >= 0)) throw bad('tol must be >= 0', this.tol);
  }

  /** Per-centre counts (the sum of the weights each centre has absorbed). @throws {@link NotFittedError} before a fit. */
  get counts(): Float64Array {
    this.fittedOrThrow();
    return Float64Array.from(this.state!.counts);
  }

  /** Steps (mini-batches) taken. @throws {@link NotFittedError} before a fit. */
  get nSteps(): number {
    this.fittedOrThrow();
    return this.state!.steps;
  }

  /**
   * Clusters the rows of `x` from scratch by mini-batches.
   *
   * @param options - `onProgress` gets a `kmeans` event every 10 steps (iteration = step, inertia = smoothed batch
   *   inertia x n); `signal` stops between steps.
   */
  fit(x: Matrix, { onProgress, signal }: LongRunning = {}): this {
    let created: PointDistances | undefined;
    try {
      // The shape is checked first; then the values, by the kernels that copy x for the fit.
      this.checkInput(x, 'fit', this.nClusters, () => (created = new PointDistances(x)).firstNonFinite());
      const points = created!;
      const n = x.rows;
      const rng = new RandomState(this.randomState);
      const initSize = this.initSize(n);
      const validation = selectRows(
        x,
        Array.from({ length: initSize }, () => rng.randint(n)),
      );
      let best: Float64Array | undefined;
      let bestInertia = Infinity;
      for (let run = 0; run < this.nInitResolved; run++) {
        const centres = this.initialCentresOnSample(x, points, initSize, rng);
        const { inertia } = assign(validation, centres, this.nClusters);
        if (inertia < bestInertia) {
          bestInertia = inertia;
          best = centres;
        }
      }
      const state = (this.state = this.newState(best!, rng));
      const tolAbs = this.tol > 0 ? this.tol * meanVariance(x, points.mean) : 0;
      const nSteps = Math.floor((this.maxIter * n) / this.batchSize);
      // Mini-batches are rows of x drawn with replacement, used in place (no copy).
      const batch = new Int32Array(this.batchSize);
      for (let i = 0; i < nSteps; i++) {
        throwIfAborted(signal, 'MiniBatchKMeans.fit');
        for (let r = 0; r < this.batchSize; r++) batch[r] = rng.randint(n);
        const before = tolAbs > 0 ? Float64Array.from(state.centres) : undefined;
        const batchInertia = this.step(points, batch, state);
        let shift = 0;
        if (before) for (let j = 0; j < before.length; j++) shift += (state.centres[j] - before[j]) ** 2;
        const stop = this.converged(state, i, n, shift, tolAbs, batchInertia);
        if (onProgress && (i % 10 === 0 || stop))
          onProgress({ stage: 'kmeans', iteration: i + 1, inertia: (state.ewa ?? batchInertia / this.batchSize) * n });
        if (stop) break;
      }
      const { labels, inertia } = assign(x, state.centres, this.nClusters, points);
      this.fitted = {
        centroids: toMatrix(state.centres, this.nClusters, x.cols),
        labels,
        inertia,
        nIter: Math.ceil((state.steps * this.batchSize) / n),
      };
      return this;
    } finally {
      created?.dispose();
    }
  }

  /**
   * Updates the centres with one mini-batch `x` (the first call initialises them on `x`, which then needs at least
   * `nClusters` rows). `labels` and `inertia` afterwards describe `x`.
   */
  partialFit(x: Matrix): this {
    this.checkInput(x, 'partialFit', this.state ? 1 : this.nClusters);
    if (this.state && x.cols !== this.fitted!.centroids.cols) {
      throw new DimensionMismatchError(
        `MiniBatchKMeans.partialFit: x has ${x.cols} columns; the model was fitted on ${this.fitted!.centroids.cols}.`,
      );
    }
    if (!this.state) {
      const rng = new RandomState(this.randomState);
      const points = new PointDistances(x);
      try {
        this.state = this.newState(this.initialCentresOnSample(x, points, this.initSize(x.rows), rng), rng);
      } finally {
        points.dispose();
      }
    }
    const state = this.state;
    const points = new PointDistances(x);
    try {
      this.step(points, undefined, state);
    } finally {
      points.dispose();
    }
    const { labels, inertia } = assign(x, state.centres, this.nClusters);
    this.fitted = {
      centroids: toMatrix(state.centres, this.nClusters, x.cols),
      labels,
      inertia,
      nIter: this.fitted ? this.fitted.nIter : 0,
    };
    return this;
  }

  private initSize(n: number): number {
    let size = this.initSizeOption ?? 3 * this.batchSize;
    if (size < this.nClusters) size = 3 * this.nClusters;
    return Math.min(size, n);
  }

  /** Initial centres computed on a random sample of `initSize` rows (all rows when that is all of them). */
  private initialCentresOnSample(x: Matrix, points: PointDistances, initSize: number, rng: RandomState): Float64Array {
    if (initSize >= x.rows || typeof this.init !== 'string') return this.initialCentres(points, rng);
    const sample = new PointDistances(
      selectRows(
        x,
        Array.from({ length: initSize }, () => rng.randint(x.rows)),
      ),
    );
    try {
      return this.initialCentres(sample, rng);
    } finally {
      sample.dispose();
    }
  }

  private newState(centres: Float64Array, rng: RandomState): StreamState {
    return {
      centres,
      counts: new Float64Array(this.nClusters),
      sinceReassign: 0,
      noImprovement: 0,
      steps: 0,
      rng,
      labels: new Int32Array(0),
      dist2: new Float64Array(0),
    };
  }

  /**
   * scikit-learn's `_mini_batch_step` on the rows `rows` of `points.x` (all of them when undefined); returns the
   * batch's inertia before the update.
   */
  private step(points: PointDistances, rows: Int32Array | undefined, state: StreamState): number {
    const k = this.nClusters;
    const { cols: dim, data } = points.x;
    const b = rows ? rows.length : points.rows;
    const rowAt = rows ? (i: number) => rows[i] * dim : (i: number) => i * dim;
    const { centres, counts } = state;
    // _random_reassign: every 10 k rows, or whenever a centre has never been hit.
    state.sinceReassign += this.batchSize;
    let reassign = false;
    if (counts.some((c) => c === 0) || state.sinceReassign >= 10 * k) {
      state.sinceReassign = 0;
      reassign = true;
    }
    if (state.labels.length < b) {
      state.labels = new Int32Array(b);
      state.dist2 = new Float64Array(b);
    }
    const labels = state.labels.subarray(0, b);
    const dist2 = state.dist2.subarray(0, b);
    // The batch's inertia is taken before the update, as scikit-learn takes it.
    if (rows) points.miniBatchStep(rows, centres, k, counts, labels, dist2);
    else {
      points.nearest(centres, k, labels, dist2);
      points.miniBatchUpdate(undefined, labels, k, centres, counts);
    }
    let inertia = 0;
    for (let i = 0; i < b; i++) inertia += dist2[i];
    if (reassign && this.reassignmentRatio > 0) this.reassignSmall(data, b, rowAt, dim, state);
    state.steps++;
    return inertia;
  }

  /** Moves centres with a count below `reassignmentRatio * max(count)` to random rows of the batch. */
  private reassignSmall(
    data: Float32Array,
    batchRows: number,
    rowAt: (i: number) => number,
    dim: number,
    { centres, counts, rng }: StreamState,
  ): void {
    const k = this.nClusters;
    const max = Math.max(...counts);
    const toReassign = Array.from(counts, (c) => c < this.reassignmentRatio * max);
    // Never more than half the batch: keep the largest counts.
    if (toReassign.filter(Boolean).length > 0.5 * batchRows) {
      const order = Array.from(counts.keys()).sort((a, b) => counts[a] - counts[b] || a - b);
      for (const c of order.slice(Math.floor(0.5 * batchRows))) toReassign[c] = false;
    }
    const moved = toReassign.flatMap((r, c) => (r ? [c] : []));
    if (moved.length === 0) return;
    const picks = rng.shuffle(Array.from({ length: batchRows }, (_, i) => i)).slice(0, moved.length);
    moved.forEach((c, t) => centres.set(data.subarray(rowAt(picks[t]), rowAt(picks[t]) + dim), c * dim));
    let minKept = Infinity;
    for (let c = 0; c < k; c++) if (!toReassign[c]) minKept = Math.min(minKept, counts[c]);
    for (const c of moved) counts[c] = minKept;
  }

  /** scikit-learn's `_mini_batch_convergence`: the centres' shift, then the smoothed inertia's lack of improvement. */
  private converged(
    state: StreamState,
    step: number,
    n: number,
    shift: number,
    tolAbs: number,
    batchInertia: number,
  ): boolean {
    const mean = batchInertia / this.batchSize;
    if (step === 0) return false;
    if (state.ewa === undefined) state.ewa = mean;
    else {
      const alpha = Math.min(1, (this.batchSize * 2) / (n + 1));
      state.ewa = state.ewa * (1 - alpha) + mean * alpha;
    }
    if (tolAbs > 0 && shift <= tolAbs) return true;
    if (state.ewaMin === undefined || state.ewa < state.ewaMin) {
      state.noImprovement = 0;
      state.ewaMin = state.ewa;
    } else state.noImprovement++;
    return this.maxNoImprovement !== null && state.noImprovement >= this.maxNoImprovement;
  }
}
