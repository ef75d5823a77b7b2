import * as tf from '@tensorflow/tfjs-core';
import type { Matrix } from '../matrix.js';
import { hasFastMatMul } from '../utils/active-backend.js';

/**
 * Below this many multiply-adds (`rows * points * dim`) the float64 JS loop beats uploading the rows and a `matMul`.
 * Measured on wasm, upload included: 1024 x 4 x 32 (131k) JS 0.135 ms, matMul 0.157 ms; 1024 x 9 x 32 (295k) JS
 * 0.287 ms, matMul 0.221 ms; 1024 x 8 x 256 (2.1M) JS 1.83 ms, matMul 0.80 ms.
 */
const MATMUL_MIN_WORK = 1 << 18;

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
  private meanCache?: Float64Array;
  private uploaded?: { tensor: tf.Tensor2D; norms: Float32Array };
  private onehot?: Float32Array;

  constructor(readonly x: Matrix) {
    this.rows = x.rows;
    this.dim = x.cols;
  }

  /** The column means of `x` (float64), computed on first use. */
  get mean(): Float64Array {
    if (this.meanCache) return this.meanCache;
    const { rows, cols, data } = this.x;
    const mean = new Float64Array(cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j];
    for (let j = 0; j < cols; j++) mean[j] /= rows;
    return (this.meanCache = mean);
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

  /**
   * Squared distances from rows `[r0, r1)` of `x` to `m` points (row-major `[m, dim]`, in the original coordinates), as
   * a row-major `[r1 - r0, m]` float64 array. Never negative.
   */
  toPoints(points: ArrayLike<number>, m: number, r0 = 0, r1 = this.rows): Float64Array {
    const { dim } = this;
    const n = r1 - r0;
    const out = new Float64Array(n * m);
    if (this.useMatMul(n, m)) {
      const { dots, pn, norms } = this.matMulDots(points, m, r0, r1);
      for (let i = 0; i < n; i++) {
        const xn = norms[r0 + i];
        for (let c = 0; c < m; c++) {
          const v = xn + pn[c] - 2 * dots[i * m + c];
          out[i * m + c] = v > 0 ? v : 0;
        }
      }
      return out;
    }
    const data = this.x.data;
    const p = asFloat64(points);
    for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) out[i * m + c] = squaredDistance(data, (r0 + i) * dim, p, c * dim, dim);
    return out;
  }

  /**
   * For rows `[r0, r1)`, the nearest of `m` points (lowest index on ties) into `labels[i - r0]` and its squared
   * distance into `dist2[i - r0]`.
   */
  nearest(points: ArrayLike<number>, m: number, labels: Int32Array, dist2: Float64Array, r0 = 0, r1 = this.rows): void {
    const { dim } = this;
    const n = r1 - r0;
    if (this.useMatMul(n, m)) {
      // argmin over c of |p_c|^2 - 2 x.p_c (|x|^2 is the same for every c).
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
    const data = this.x.data;
    const p = asFloat64(points);
    for (let i = 0; i < n; i++) {
      const o = (r0 + i) * dim;
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

  /**
   * The sum of the rows of each of `k` clusters (`[k, dim]`, float64) and their sizes. For large work on a fast
   * backend, one `matMul` of the one-hot `[k, n]` assignment with the centred rows (then `count x mean` added back).
   */
  clusterSums(labels: Int32Array, k: number): { sums: Float64Array; counts: Float64Array } {
    const { rows: n, dim } = this;
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) counts[labels[i]]++;
    const sums = new Float64Array(k * dim);
    if (this.useMatMul(n, k)) {
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
      for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) sums[c * dim + j] = s[c * dim + j] + counts[c] * mean[j];
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

  /** Frees the tensor uploaded for the `matMul` path. */
  dispose(): void {
    this.uploaded?.tensor.dispose();
    this.uploaded = undefined;
  }

  private useMatMul(n: number, m: number): boolean {
    return n * m * this.dim >= MATMUL_MIN_WORK && hasFastMatMul();
  }

  /** Dot products of the centred rows `[r0, r1)` with the centred points (`[n, m]`, float32), and the squared norms. */
  private matMulDots(points: ArrayLike<number>, m: number, r0: number, r1: number): { dots: Float32Array; pn: Float64Array; norms: Float32Array } {
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
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
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
