import { firstNonFiniteJs, type Matrix } from '../../matrix.js';
import { argmin, asFloat64, squaredDistance } from './shared.js';

/**
 * The float64 loops in plain JavaScript: every operation of {@link PointDistances}, exact, where WebAssembly SIMD is
 * unavailable (and for mini-batches of scattered rows when the SIMD kernels do not take them).
 * @internal
 */
export class JsDistances {
  readonly rows: number;
  readonly dim: number;

  constructor(readonly x: Matrix) {
    this.rows = x.rows;
    this.dim = x.cols;
  }

  mean(): Float64Array {
    const { rows, cols, data } = this.x;
    const mean = new Float64Array(cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mean[j] += data[i * cols + j];
    for (let j = 0; j < cols; j++) mean[j] /= rows;
    return mean;
  }

  toPoints(points: ArrayLike<number>, m: number, r0: number, r1: number, out: Float64Array): Float64Array {
    const { dim } = this;
    const data = this.x.data;
    const p = asFloat64(points);
    for (let i = 0; i < r1 - r0; i++)
      for (let c = 0; c < m; c++) out[i * m + c] = squaredDistance(data, (r0 + i) * dim, p, c * dim, dim);
    return out;
  }

  firstNonFinite(): number {
    return firstNonFiniteJs(this.x);
  }

  /** For rows `rows[i]` (or `r0 + i`), the nearest point (lowest index on ties) and its squared distance. */
  nearest(
    rows: Int32Array | undefined,
    points: ArrayLike<number>,
    m: number,
    labels: Int32Array,
    dist2: Float64Array,
    r0: number,
    r1: number,
  ): void {
    const { dim } = this;
    const data = this.x.data;
    const p = asFloat64(points);
    const row = new Float64Array(m);
    for (let i = 0; i < r1 - r0; i++) {
      const o = (rows ? rows[i] : r0 + i) * dim;
      for (let c = 0; c < m; c++) row[c] = squaredDistance(data, o, p, c * dim, dim);
      const best = argmin(row, m);
      labels[i] = best;
      dist2[i] = row[best];
    }
  }

  inertia(centres: ArrayLike<number>, labels: Int32Array): number {
    const p = asFloat64(centres);
    let s = 0;
    for (let i = 0; i < this.rows; i++)
      s += squaredDistance(this.x.data, i * this.dim, p, labels[i] * this.dim, this.dim);
    return s;
  }

  miniBatchUpdate(
    rows: Int32Array | undefined,
    labels: Int32Array,
    k: number,
    centres: Float64Array,
    counts: Float64Array,
  ): void {
    const { dim } = this;
    const n = rows ? rows.length : this.rows;
    const data = this.x.data;
    const hits = new Float64Array(k);
    for (let i = 0; i < n; i++) hits[labels[i]]++;
    for (let c = 0; c < k; c++) if (hits[c] > 0) for (let j = 0; j < dim; j++) centres[c * dim + j] *= counts[c];
    for (let i = 0; i < n; i++) {
      const c = labels[i] * dim;
      const o = (rows ? rows[i] : i) * dim;
      for (let j = 0; j < dim; j++) centres[c + j] += data[o + j];
    }
    for (let c = 0; c < k; c++) {
      if (hits[c] === 0) continue;
      counts[c] += hits[c];
      const alpha = 1 / counts[c];
      for (let j = 0; j < dim; j++) centres[c * dim + j] *= alpha;
    }
  }

  clusterSums(labels: Int32Array, k: number, sums: Float64Array): void {
    const { rows: n, dim } = this;
    const data = this.x.data;
    for (let i = 0; i < n; i++) {
      const o = labels[i] * dim;
      const r = i * dim;
      for (let j = 0; j < dim; j++) sums[o + j] += data[r + j];
    }
  }
}
