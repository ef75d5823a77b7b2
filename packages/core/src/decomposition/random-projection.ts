import { CbirError, DimensionMismatchError, NotFittedError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { Rng } from '../utils/rng.js';
import { componentOptions } from './pca.js';

/**
 * The Gaussian projection matrix of {@link GaussianRandomProjection} (and of the `rp:N` reducer), `[inDim, dim]`
 * row-major, entries N(0, 1/dim), regenerated from `seed` (never stored).
 *
 * @example
 * ```ts
 * const p = projectionMatrix(65536, 256, 0);   // Float32Array [65536, 256], seeded Gaussian / sqrt(256)
 * ```
 */
export function projectionMatrix(inDim: number, dim: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const m = new Float32Array(inDim * dim);
  const scale = 1 / Math.sqrt(dim);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal() * scale;
  return m;
}

/** Options of {@link GaussianRandomProjection}. */
export interface RandomProjectionOptions {
  /** The output dimension. */
  nComponents: number;
  /** Seeds the matrix: the same seed and input width, the same matrix. @defaultValue 0 */
  randomState?: number;
}

/**
 * A seeded Gaussian random projection as a fitted transform (scikit-learn's `GaussianRandomProjection`, with cbir's
 * own generator): `fit` learns only the input width and draws the matrix; `transform` is `x . matrix`. The
 * autoencoder's `rp:N` reducer.
 *
 * @example
 * ```ts
 * const rp = new GaussianRandomProjection({ nComponents: 256, randomState: 0 }).fit(latents);
 * const features = rp.transform(latents);   // Matrix [n, 256]
 * ```
 */
export class GaussianRandomProjection {
  readonly nComponents: number;
  readonly randomState: number;
  private matrix?: Float32Array;
  private nFeatures = 0;

  constructor(options: RandomProjectionOptions) {
    [this.nComponents, this.randomState] = componentOptions('GaussianRandomProjection', options);
  }

  /** Draws the `[x.cols, nComponents]` matrix for rows as wide as `x`'s. Returns this. */
  fit(x: Pick<Matrix, 'cols'>): this {
    if (!Number.isInteger(x.cols) || x.cols < 1)
      throw new CbirError('INVALID_ARGUMENT', `GaussianRandomProjection.fit: rows must have values, got ${x.cols}.`);
    if (this.matrix && this.nFeatures === x.cols) return this;
    this.nFeatures = x.cols;
    this.matrix = projectionMatrix(x.cols, this.nComponents, this.randomState);
    return this;
  }

  /** The projection matrix, `[nFeatures, nComponents]`. @throws {@link NotFittedError} before `fit`. */
  get components(): Matrix {
    return { data: this.fitted('components'), rows: this.nFeatures, cols: this.nComponents };
  }

  /**
   * `x . matrix`: `[n, nComponents]` (a row's zero entries skipped, as a ReLU latent has many).
   * @throws {@link NotFittedError} before `fit`; {@link DimensionMismatchError} for rows of another width.
   */
  transform(x: Matrix, out = new Float32Array(x.rows * this.nComponents)): Matrix {
    const m = this.fitted('transform');
    const d = this.nFeatures;
    const k = this.nComponents;
    if (x.cols !== d)
      throw new DimensionMismatchError(
        `GaussianRandomProjection.transform: rows have ${x.cols} values; it was fitted on ${d}.`,
      );
    return { data: projectRows(x, m, k, out), rows: x.rows, cols: k };
  }

  private fitted(what: string): Float32Array {
    if (!this.matrix) throw new NotFittedError(`GaussianRandomProjection.${what}: call fit first.`);
    return this.matrix;
  }
}

/**
 * `x . matrix` for a `[x.cols, k]` matrix, into `out` (`[x.rows, k]`); a row's zero entries are skipped.
 * @internal
 */
export function projectRows(x: Matrix, matrix: Float32Array, k: number, out: Float32Array): Float32Array {
  const d = x.cols;
  out.fill(0, 0, x.rows * k);
  for (let r = 0; r < x.rows; r++) {
    const o = out.subarray(r * k, (r + 1) * k);
    for (let i = 0; i < d; i++) {
      const v = x.data[r * d + i];
      if (v === 0) continue;
      const row = i * k;
      for (let j = 0; j < k; j++) o[j] += v * matrix[row + j];
    }
  }
  return out;
}
