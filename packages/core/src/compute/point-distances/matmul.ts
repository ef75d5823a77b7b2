import * as tf from '@tensorflow/tfjs-core';
import type { Matrix } from '../../matrix.js';
import { argmin, distancesFromDots } from './shared.js';

/**
 * The GEMM form on the active tfjs backend's `matMul` (a GPU or native backend): `x` centred on its mean and uploaded
 * once, each call one `matMul` with the centred points, in float32.
 * @internal
 */
export class MatMulDistances {
  readonly rows: number;
  readonly dim: number;
  private uploaded?: { tensor: tf.Tensor2D; norms: Float32Array };
  private onehot?: Float32Array;

  constructor(
    readonly x: Matrix,
    private readonly mean: () => Float64Array,
  ) {
    this.rows = x.rows;
    this.dim = x.cols;
  }

  toPoints(points: ArrayLike<number>, m: number, r0: number, r1: number, out: Float64Array): Float64Array {
    const { dots, pn, norms } = this.dots(points, m, r0, r1);
    return distancesFromDots(dots, norms, r0, pn, 0, r1 - r0, m, out);
  }

  /** For rows `[r0, r1)`, the nearest point (lowest index on ties): argmin over c of `|p_c|^2 - 2 x.p_c`. */
  nearest(points: ArrayLike<number>, m: number, labels: Int32Array, dist2: Float64Array, r0: number, r1: number): void {
    const { dots, pn, norms } = this.dots(points, m, r0, r1);
    const row = new Float64Array(m);
    for (let i = 0; i < r1 - r0; i++) {
      for (let c = 0; c < m; c++) row[c] = pn[c] - 2 * dots[i * m + c];
      const best = argmin(row, m);
      labels[i] = best;
      const d = norms[r0 + i] + row[best];
      dist2[i] = d > 0 ? d : 0;
    }
  }

  /** One `matMul` of the one-hot `[k, n]` assignment with the centred rows, then `count x mean` added back. */
  clusterSums(labels: Int32Array, k: number, counts: Float64Array, sums: Float64Array): void {
    const { rows: n, dim } = this;
    const mean = this.mean();
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
  }

  dispose(): void {
    this.uploaded?.tensor.dispose();
    this.uploaded = undefined;
  }

  /** `x` centred on its mean, uploaded once, with the centred rows' squared norms (centred on the backend, in float32). */
  private centred(): { tensor: tf.Tensor2D; norms: Float32Array } {
    if (this.uploaded) return this.uploaded;
    const mean = Float32Array.from(this.mean());
    const [tensor, norms] = tf.tidy(() => {
      const xc = tf.sub(tf.tensor2d(this.x.data, [this.rows, this.dim]), tf.tensor1d(mean)) as tf.Tensor2D;
      return [xc, tf.sum(tf.square(xc), 1)] as const;
    });
    const n = norms.dataSync() as Float32Array;
    norms.dispose();
    return (this.uploaded = { tensor, norms: n });
  }

  /** Dot products of the centred rows `[r0, r1)` with the centred points (`[n, m]`, float32), and the squared norms. */
  private dots(
    points: ArrayLike<number>,
    m: number,
    r0: number,
    r1: number,
  ): { dots: Float32Array; pn: Float64Array; norms: Float32Array } {
    const { dim } = this;
    const mean = this.mean();
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
