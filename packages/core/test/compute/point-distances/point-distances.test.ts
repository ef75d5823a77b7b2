import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { Matrix } from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PointDistances } from '../../../src/compute/point-distances/point-distances.js';
import { Rng } from '../../../src/utils/rng.js';
import { setProductEngine, type ProductEngine } from '../../helpers/internal.js';

// PointDistances, the facade under KMeans, MiniBatchKMeans, k-means++ and the silhouette, against a float64 oracle
// for each strategy it picks: the float64 loops (small work, any engine), cbir's SIMD GEMM form on centred data,
// tfjs's matMul, and plain JS. Sizes straddle the switch to the GEMM form (rows * points * dim = 2^18).

/** Rows of blobs far from the origin (offset 50), so the GEMM form's cancellation is exercised. */
function data(rows: number, dim: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < dim; c++) out[r * dim + c] = 50 + (c === r % 5 ? 3 : 0) + rng.normal();
  return { data: out, rows, cols: dim };
}

/** Squared distances in float64, summed in index order: the oracle. */
function oracle(x: Matrix, points: ArrayLike<number>, m: number, r0 = 0, r1 = x.rows): Float64Array {
  const out = new Float64Array((r1 - r0) * m);
  for (let i = r0; i < r1; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < x.cols; c++) s += (x.data[i * x.cols + c] - points[j * x.cols + c]) ** 2;
      out[(i - r0) * m + j] = s;
    }
  return out;
}

/** max |a - b| / max |b|: the GEMM form's error is relative to the distances' scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

const CASES = [
  { name: 'small work (float64 loops)', rows: 60, m: 7, dim: 12, tol: 1e-12 },
  { name: 'large work (the GEMM form)', rows: 700, m: 24, dim: 32, tol: 2e-5 },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => setProductEngine());

for (const engine of ['simd', 'matMul', 'js'] as ProductEngine[])
  describe(`PointDistances on the ${engine} engine`, () => {
    beforeAll(() => setProductEngine(engine));

    for (const c of CASES) {
      const x = data(c.rows, c.dim, c.rows);
      const points = Float64Array.from(data(c.m, c.dim, 7).data);
      const want = oracle(x, points, c.m);
      // The float64 loops are exact up to summation order; the GEMM form within float32's rounding at this scale.
      const tol = engine === 'js' || c.tol < 1e-6 ? 1e-12 : c.tol;

      it(`${c.name}: toPoints equals the oracle, never negative; a row range is its slice`, () => {
        const pd = new PointDistances(x);
        const got = pd.toPoints(points, c.m);
        expect(relErr(got, want)).toBeLessThanOrEqual(tol);
        expect(got.every((v) => v >= 0)).toBe(true);
        const part = pd.toPoints(points, c.m, 5, 17);
        expect(relErr(part, want.subarray(5 * c.m, 17 * c.m))).toBeLessThanOrEqual(tol);
        pd.dispose();
      });

      it(`${c.name}: nearest gives the oracle's argmin (lowest index on ties) and its distance`, () => {
        const pd = new PointDistances(x);
        const labels = new Int32Array(c.rows);
        const dist2 = new Float64Array(c.rows);
        pd.nearest(points, c.m, labels, dist2);
        for (let i = 0; i < c.rows; i++) {
          const row = want.subarray(i * c.m, (i + 1) * c.m);
          const best = Math.min(...row);
          // A different label only where the oracle's gap is within the strategy's rounding.
          expect(row[labels[i]] - best).toBeLessThanOrEqual(tol * Math.max(...want));
          expect(Math.abs(dist2[i] - row[labels[i]])).toBeLessThanOrEqual(tol * Math.max(...want) + 1e-9);
        }
        pd.dispose();
      });

      it(`${c.name}: toRows (blocks of x itself) equals toPoints of those rows`, () => {
        const pd = new PointDistances(x);
        const block = pd.toRows(3, c.m);
        const self = oracle(x, Float64Array.from(x.data.subarray(3 * c.dim, (3 + c.m) * c.dim)), c.m);
        expect(relErr(block, self)).toBeLessThanOrEqual(tol);
        pd.dispose();
      });

      it(`${c.name}: clusterSums, inertia and the column mean against float64 sums`, () => {
        const pd = new PointDistances(x);
        const k = 5;
        const labels = Int32Array.from({ length: c.rows }, (_, i) => (i * 7) % k);
        const { sums, counts } = pd.clusterSums(labels, k);
        const wantSums = new Float64Array(k * c.dim);
        const wantCounts = new Float64Array(k);
        for (let i = 0; i < c.rows; i++) {
          wantCounts[labels[i]]++;
          for (let d = 0; d < c.dim; d++) wantSums[labels[i] * c.dim + d] += x.data[i * c.dim + d];
        }
        expect(Array.from(counts)).toEqual(Array.from(wantCounts));
        expect(relErr(sums, wantSums)).toBeLessThanOrEqual(1e-6);
        const centres = wantSums.map((s, j) => s / wantCounts[Math.floor(j / c.dim)]);
        let inertia = 0;
        for (let i = 0; i < c.rows; i++)
          for (let d = 0; d < c.dim; d++) inertia += (x.data[i * c.dim + d] - centres[labels[i] * c.dim + d]) ** 2;
        expect(Math.abs(pd.inertia(centres, labels) - inertia) / inertia).toBeLessThanOrEqual(1e-9);
        const mean = Array.from({ length: c.dim }, (_, d) => {
          let s = 0;
          for (let i = 0; i < c.rows; i++) s += x.data[i * c.dim + d];
          return s / c.rows;
        });
        Array.from(pd.mean).forEach((v, d) => expect(v).toBeCloseTo(mean[d], 9));
        pd.dispose();
      });
    }

    it('finds the first non-finite value, or -1', () => {
      const clean = new PointDistances(data(40, 6, 1));
      expect(clean.firstNonFinite()).toBe(-1);
      const bad = { ...clean.x, data: clean.x.data.slice() };
      bad.data[77] = Infinity;
      bad.data[130] = NaN;
      const damaged = new PointDistances(bad);
      expect(damaged.firstNonFinite()).toBe(77);
      clean.dispose();
      damaged.dispose();
    });
  });
