import * as tf from '@tensorflow/tfjs-core';
import type { Matrix } from '../matrix.js';
import { hasFastMatMul } from '../utils/active-backend.js';

/**
 * Below this many multiply-adds (`rows * points * dim`) a JS loop beats a round trip through tfjs tensors (measured on
 * wasm: a `matMul` call costs ~0.1 ms before any arithmetic).
 */
const MATMUL_MIN_WORK = 1 << 21;

/**
 * Squared Euclidean distances from the rows of a fixed matrix `x` to sets of points (centres, candidates, blocks of
 * `x` itself): the kernel under KMeans, MiniBatchKMeans, k-means++ and the silhouette.
 *
 * Two paths, chosen per call by the amount of work and the backend:
 * - the active backend's `matMul` (XNNPACK on wasm, the GPU on webgl/webgpu) computing `|x|^2 + |p|^2 - 2 x.p` in
 *   float32 on data centred on its mean (as scikit-learn centres it, which keeps the cancellation error small), with
 *   `x` uploaded once;
 * - a JS loop summing `(x - p)^2` in float64, for small work or when no fast backend is active.
 *
 * Call {@link PointDistances.dispose} when done (it frees the uploaded tensor).
 * @internal
 */
export class PointDistances {
  readonly rows: number;
  readonly dim: number;
  /** The column means of `x` (float64). */
  readonly mean: Float64Array;
  /** Squared norms of the centred rows. */
  private readonly norms: Float64Array;
  /** `x` centred on its mean, float32. */
  private readonly centred: Float32Array;
  private tensor?: tf.Tensor2D;

  constructor(readonly x: Matrix) {
    const { rows, cols, data } = x;
    this.rows = rows;
    this.dim = cols;
    this.mean = new Float64Array(cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) this.mean[j] += data[i * cols + j];
    for (let j = 0; j < cols; j++) this.mean[j] /= rows;
    this.centred = new Float32Array(data.length);
    this.norms = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < cols; j++) {
        const v = (this.centred[i * cols + j] = data[i * cols + j] - this.mean[j]);
        s += v * v;
      }
      this.norms[i] = s;
    }
  }

  /**
   * Squared distances from rows `[r0, r1)` of `x` to `m` points (row-major `[m, dim]`, in the original coordinates), as
   * a row-major `[r1 - r0, m]` float64 array. Never negative.
   */
  toPoints(points: ArrayLike<number>, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const { dim } = this;
    const n = r1 - r0;
    const out = new Float64Array(n * m);
    if (n * m * dim >= MATMUL_MIN_WORK && hasFastMatMul()) {
      this.matMulInto(points, m, r0, r1, out);
      return out;
    }
    const data = this.x.data;
    for (let i = 0; i < n; i++) {
      const o = (r0 + i) * dim;
      for (let c = 0; c < m; c++) {
        const p = c * dim;
        let s0 = 0, s1 = 0;
        let j = 0;
        for (; j + 1 < dim; j += 2) {
          const d0 = data[o + j] - points[p + j];
          const d1 = data[o + j + 1] - points[p + j + 1];
          s0 += d0 * d0;
          s1 += d1 * d1;
        }
        if (j < dim) {
          const d0 = data[o + j] - points[p + j];
          s0 += d0 * d0;
        }
        out[i * m + c] = s0 + s1;
      }
    }
    return out;
  }

  /**
   * For rows `[r0, r1)`, the nearest of `m` points (lowest index on ties) into `labels[i - r0]` and its squared
   * distance into `dist2[i - r0]`.
   */
  nearest(points: ArrayLike<number>, m: number, labels: Int32Array, dist2: Float64Array, r0 = 0, r1 = this.rows): void {
    const d = this.toPoints(points, m, r0, r1);
    for (let i = 0; i < r1 - r0; i++) {
      let best = 0;
      let bestD = d[i * m];
      for (let c = 1; c < m; c++) {
        const v = d[i * m + c];
        if (v < bestD) {
          bestD = v;
          best = c;
        }
      }
      labels[i] = best;
      dist2[i] = bestD;
    }
  }

  /** Frees the tensor uploaded for the `matMul` path. */
  dispose(): void {
    this.tensor?.dispose();
    this.tensor = undefined;
  }

  private matMulInto(points: ArrayLike<number>, m: number, r0: number, r1: number, out: Float64Array): void {
    const { dim, mean } = this;
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
    this.tensor ??= tf.tensor2d(this.centred, [this.rows, dim]);
    const x = this.tensor;
    const dots = tf.tidy(() => {
      const rows = r0 === 0 && r1 === this.rows ? x : tf.slice(x, [r0, 0], [r1 - r0, dim]);
      return tf.matMul(rows, tf.tensor2d(pt, [dim, m]));
    });
    const s = dots.dataSync();
    dots.dispose();
    for (let i = 0; i < r1 - r0; i++) {
      const xn = this.norms[r0 + i];
      for (let c = 0; c < m; c++) {
        const v = xn + pn[c] - 2 * s[i * m + c];
        out[i * m + c] = v > 0 ? v : 0;
      }
    }
  }
}
