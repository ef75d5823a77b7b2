import { CbirError } from '../errors.js';
import { checkFiniteMatrix, selectRows, type Matrix } from '../matrix.js';
import { Rng } from '../utils/rng.js';
import { PointDistances } from '../compute/point-distances/point-distances.js';

/** Options of {@link silhouetteSamples}. */
export interface SilhouetteOptions {
  /** Rows whose distances are computed at once: memory is O(n x blockSize). @defaultValue n / 8, and at most ~4M distances per block */
  blockSize?: number;
}

/** Options of {@link silhouetteScore}. */
export interface SilhouetteScoreOptions extends SilhouetteOptions {
  /** Score a random sample of this many rows (without replacement) instead of all of them. @defaultValue all rows */
  sampleSize?: number;
  /** Seed of the sample. @defaultValue 0 */
  seed?: number;
}

/**
 * The silhouette coefficient of each row, as scikit-learn's `silhouette_samples` with the Euclidean metric:
 * `(b - a) / max(a, b)`, where `a` is the mean distance to the other members of the row's cluster and `b` the mean
 * distance to the members of the nearest other cluster; 0 for a row alone in its cluster.
 *
 * Exact, computed in blocks of rows (memory O(n x blockSize), never an n x n matrix), each distance computed once
 * (they are symmetric); distances come from the active backend's `matMul` when that pays, summed in float64.
 *
 * @param x - `[n, dim]` features.
 * @param labels - The cluster of each row: any integers, at least 2 and at most n - 1 distinct values.
 * @throws {@link CbirError} for labels of the wrong length, fewer than 2 or more than n - 1 clusters, or non-finite x.
 *
 * @example
 * ```ts
 * const km = new KMeans({ nClusters: 5 }).fit(x);
 * const s = silhouetteSamples(x, km.labels);   // Float64Array [n], each in [-1, 1]
 * ```
 */
export function silhouetteSamples(x: Matrix, labels: ArrayLike<number>, options: SilhouetteOptions = {}): Float64Array {
  const { codes, sizes } = checkLabels('silhouetteSamples', x, labels);
  const n = x.rows;
  const nc = sizes.length;
  // At least 8 blocks, so that the symmetry saves nearly half the distances; at most ~4M distances per block.
  const block = Math.max(1, Math.min(n, options.blockSize ?? Math.min(Math.ceil(n / 8), Math.ceil((1 << 22) / n))));
  const points = new PointDistances(x);
  // sums[i * nc + c]: the sum of distances from row i to the rows of cluster c. Distances are symmetric, so each
  // block of rows is compared with itself and the rows after it only, and every distance is added to both ends.
  const sums = new Float64Array(n * nc);
  try {
    for (let r0 = 0; r0 < n; r0 += block) {
      const b = Math.min(block, n - r0);
      const d2 = points.toRows(r0, b, r0, n); // [n - r0, b]
      for (let i = r0; i < n; i++) {
        const ci = codes[i];
        const row = (i - r0) * b;
        // Inside the diagonal block only pairs j < i (the diagonal itself is 0 by definition).
        const tEnd = i < r0 + b ? i - r0 : b;
        for (let t = 0; t < tEnd; t++) {
          const d = Math.sqrt(d2[row + t]);
          const j = r0 + t;
          sums[j * nc + ci] += d;
          sums[i * nc + codes[j]] += d;
        }
      }
    }
  } finally {
    points.dispose();
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const own = codes[i];
    if (sizes[own] === 1) continue; // scikit-learn: 0 for singletons
    const a = sums[i * nc + own] / (sizes[own] - 1);
    let bMin = Infinity;
    for (let c = 0; c < nc; c++) if (c !== own) bMin = Math.min(bMin, sums[i * nc + c] / sizes[c]);
    const m = Math.max(a, bMin);
    out[i] = m > 0 ? (bMin - a) / m : 0;
  }
  return out;
}

/**
 * The mean silhouette coefficient over all rows (or a random sample of `sampleSize` rows), as scikit-learn's
 * `silhouette_score`. Between -1 and 1; higher means denser, better separated clusters.
 *
 * @example
 * ```ts
 * for (const k of [3, 4, 5, 6]) console.log(k, silhouetteScore(x, new KMeans({ nClusters: k }).fit(x).labels));
 * ```
 */
export function silhouetteScore(x: Matrix, labels: ArrayLike<number>, options: SilhouetteScoreOptions = {}): number {
  const { sampleSize } = options;
  let xs = x;
  let ls = labels;
  if (sampleSize !== undefined && sampleSize < x.rows) {
    checkLabels('silhouetteScore', x, labels);
    if (!Number.isInteger(sampleSize) || sampleSize < 2)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `silhouetteScore: sampleSize must be an integer >= 2, got ${sampleSize}.`,
      );
    const idx = new Rng(options.seed ?? 0).shuffle(Array.from({ length: x.rows }, (_, i) => i)).slice(0, sampleSize);
    xs = selectRows(x, idx);
    ls = idx.map((r) => labels[r]);
  }
  const s = silhouetteSamples(xs, ls, options);
  return s.reduce((a, b) => a + b, 0) / s.length;
}

/** Validates labels and maps them to codes 0..nc-1 with cluster sizes. */
function checkLabels(where: string, x: Matrix, labels: ArrayLike<number>): { codes: Int32Array; sizes: number[] } {
  checkFiniteMatrix(where, x, 'x');
  if (!labels || labels.length !== x.rows) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: ${labels?.length ?? 'no'} labels for ${x.rows} rows; give one label per row of x.`,
    );
  }
  const codeOf = new Map<number, number>();
  const codes = new Int32Array(x.rows);
  const sizes: number[] = [];
  for (let i = 0; i < x.rows; i++) {
    const l = labels[i];
    if (!Number.isInteger(l))
      throw new CbirError('INVALID_ARGUMENT', `${where}: label ${i} is ${l}; labels must be integers.`);
    let c = codeOf.get(l);
    if (c === undefined) {
      codeOf.set(l, (c = sizes.length));
      sizes.push(0);
    }
    codes[i] = c;
    sizes[c]++;
  }
  if (sizes.length < 2 || sizes.length > x.rows - 1) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: the labels name ${sizes.length} clusters; the silhouette needs 2 to n - 1 = ${x.rows - 1}.`,
    );
  }
  return { codes, sizes };
}
