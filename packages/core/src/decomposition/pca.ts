import * as tf from '@tensorflow/tfjs-core';
import { CbirError, DimensionMismatchError, NotFittedError } from '../errors.js';
import type { Matrix } from '../matrix.js';
import { Rng } from '../utils/rng.js';

/** Eigen-decomposition of a small symmetric matrix (cyclic Jacobi). Returns eigenvalues descending, vectors as columns. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = Float64Array.from(order, (i) => m[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src];
  });
  return { values, vectors };
}

/**
 * Fits PCA on `x` (`[n, d]`): the mean and the top `k` principal axes (`[k, d]`, unit rows, sign fixed so that each
 * axis's largest-magnitude coordinate is positive). Randomized subspace iteration on the Gram matrix, then an exact
 * small eigenproblem (Halko, Martinsson & Tropp 2011), so `d` may be far larger than `n` (the notebook's 65,536-d
 * latents).
 *
 * @example
 * ```ts
 * const { mean, components } = await fitPca(features, 64);   // components: [64, dim], row-major
 * ```
 */
export async function fitPca(
  x: Matrix,
  k: number,
  seed = 0,
): Promise<{ mean: Float32Array; components: Float32Array }> {
  const { rows: n, cols: d } = x;
  if (k > Math.min(n, d))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `pca:${k}: at most min(n, d) = ${Math.min(n, d)} components can be fitted from ${n} vectors of dim ${d}.`,
    );
  const kk = Math.min(n, d, k + 10);
  // Values are read back with `await data()` (WebGPU in Node has no synchronous reads), so no tidy spans the reads.
  const read = async (t: tf.Tensor) => {
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  };
  const [mean, Xc, G] = tf.tidy(() => {
    const X = tf.tensor2d(x.data, [n, d]);
    const mean = tf.mean(X, 0);
    const Xc = tf.sub(X, mean) as tf.Tensor2D;
    return [mean, Xc, tf.matMul(Xc, Xc, false, true)]; // G: [n, n]
  });
  const rng = new Rng(seed);
  let Q: tf.Tensor2D = tf.tensor2d(
    Float32Array.from({ length: n * kk }, () => rng.normal()),
    [n, kk],
  );
  /** `Y` (disposed) with orthonormal columns. */
  const orthonormalize = async (Y: tf.Tensor2D): Promise<tf.Tensor2D> => {
    // Cholesky-free: eigen-decompose Y^T Y (kk x kk) and whiten; stable enough after scaling.
    const S = Float64Array.from(await read(tf.matMul(Y, Y, true, false)));
    const { values, vectors } = symmetricEigen(S, kk);
    const w = new Float32Array(kk * kk);
    // Directions with no energy (rank-deficient data) are dropped rather than blown up.
    for (let i = 0; i < kk; i++)
      for (let j = 0; j < kk; j++)
        w[i * kk + j] = values[j] > values[0] * 1e-10 ? vectors[i * kk + j] / Math.sqrt(values[j]) : 0;
    const out: tf.Tensor2D = tf.tidy(() => tf.matMul(Y, tf.tensor2d(w, [kk, kk])));
    Y.dispose();
    return out;
  };
  try {
    Q = await orthonormalize(Q);
    for (let it = 0; it < 6; it++) {
      const GQ: tf.Tensor2D = tf.tidy(() => tf.matMul(G as tf.Tensor2D, Q));
      Q.dispose();
      Q = await orthonormalize(GQ);
    }
    const T = Float64Array.from(await read(tf.tidy(() => tf.matMul(Q, tf.matMul(G, Q), true, false))));
    const { values, vectors } = symmetricEigen(T, kk);
    const U = new Float32Array(kk * k);
    for (let i = 0; i < kk; i++)
      for (let j = 0; j < k; j++) U[i * k + j] = vectors[i * kk + j] / Math.sqrt(Math.max(values[j], 1e-30));
    // [k, d] = (Q U / sqrt(l))^T Xc
    const comps = await read(tf.tidy(() => tf.matMul(tf.matMul(Q, tf.tensor2d(U, [kk, k])), Xc, true, false)));
    for (let j = 0; j < k; j++) {
      const row = comps.subarray(j * d, (j + 1) * d);
      let norm = 0;
      let big = 0;
      for (let i = 0; i < d; i++) {
        norm += row[i] * row[i];
        if (Math.abs(row[i]) > Math.abs(big)) big = row[i];
      }
      const s = (big < 0 ? -1 : 1) / Math.sqrt(norm || 1);
      for (let i = 0; i < d; i++) row[i] *= s;
    }
    return { mean: Float32Array.from(await mean.data()), components: Float32Array.from(comps) };
  } finally {
    tf.dispose([mean, Xc, G, Q]);
  }
}

/** Options of {@link PCA}. */
export interface PCAOptions {
  /** How many principal components to keep. */
  nComponents: number;
  /** Seeds the randomized subspace iteration: the same seed, the same components. @defaultValue 0 */
  randomState?: number;
}

/**
 * Principal component analysis as a fitted transform (scikit-learn's `PCA` with the randomized solver): `fit` learns
 * the mean and the top components (see {@link fitPca}), `transform` projects rows on them, `(x - mean) . components^T`.
 * The autoencoder's `pca:N` reducer and `cbir cluster`'s scatter plots use it.
 *
 * @example
 * ```ts
 * const pca = await new PCA({ nComponents: 2, randomState: 0 }).fit(features);
 * const xy = pca.transform(features);   // Matrix [n, 2]
 * ```
 */
export class PCA {
  readonly nComponents: number;
  readonly randomState: number;
  private fitted?: { mean: Float32Array; components: Float32Array; nFeatures: number };

  constructor(options: PCAOptions) {
    [this.nComponents, this.randomState] = componentOptions('PCA', options);
  }

  /** A PCA from its fitted state (a saved reducer's `mean` and `[nComponents, nFeatures]` `components`). */
  static fromState(mean: Float32Array, components: Float32Array): PCA {
    const k = components.length / (mean.length || 1);
    if (!Number.isInteger(k) || k < 1 || mean.length === 0)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `PCA.fromState: ${components.length} component values do not make whole rows of the mean's ${mean.length}.`,
      );
    const pca = new PCA({ nComponents: k });
    pca.fitted = { mean, components, nFeatures: mean.length };
    return pca;
  }

  /** Learns the mean and the components from `x` (`[n, d]`, `nComponents <= min(n, d)`). Returns this. */
  async fit(x: Matrix): Promise<this> {
    const { mean, components } = await fitPca(x, this.nComponents, this.randomState);
    this.fitted = { mean, components, nFeatures: x.cols };
    return this;
  }

  /** {@link PCA.fit}, then {@link PCA.transform} of the same rows. */
  async fitTransform(x: Matrix): Promise<Matrix> {
    return (await this.fit(x)).transform(x);
  }

  /** The training rows' mean, `nFeatures` long. @throws {@link NotFittedError} before `fit`. */
  get mean(): Float32Array {
    return this.state('mean').mean;
  }

  /** The components, `[nComponents, nFeatures]` row-major, unit length. @throws {@link NotFittedError} before `fit`. */
  get components(): Matrix {
    const f = this.state('components');
    return { data: f.components, rows: this.nComponents, cols: f.nFeatures };
  }

  /**
   * Projects rows on the components (accumulated in float64): `[n, nComponents]`.
   * @throws {@link NotFittedError} before `fit`; {@link DimensionMismatchError} for rows of another width.
   */
  transform(x: Matrix, out = new Float32Array(x.rows * this.nComponents)): Matrix {
    const { mean, components, nFeatures: d } = this.state('transform');
    if (x.cols !== d)
      throw new DimensionMismatchError(`PCA.transform: rows have ${x.cols} values; the PCA was fitted on ${d}.`);
    const k = this.nComponents;
    for (let i = 0; i < x.rows; i++) {
      const row = x.data.subarray(i * d, (i + 1) * d);
      for (let j = 0; j < k; j++) {
        let s = 0;
        const c = j * d;
        for (let t = 0; t < d; t++) s += (row[t] - mean[t]) * components[c + t];
        out[i * k + j] = s;
      }
    }
    return { data: out, rows: x.rows, cols: k };
  }

  private state(what: string) {
    if (!this.fitted) throw new NotFittedError(`PCA.${what}: call fit first.`);
    return this.fitted;
  }
}

/**
 * A transform's `nComponents` (a positive integer) and `randomState` (default 0), checked.
 * @internal
 */
export function componentOptions(where: string, o: { nComponents: number; randomState?: number }): [number, number] {
  if (!Number.isInteger(o.nComponents) || o.nComponents < 1)
    throw new CbirError('INVALID_ARGUMENT', `${where}: nComponents must be a positive integer, got ${o.nComponents}.`);
  return [o.nComponents, o.randomState ?? 0];
}
