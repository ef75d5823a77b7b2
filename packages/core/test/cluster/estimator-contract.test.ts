import {
  AbortedError,
  CbirError,
  DimensionMismatchError,
  KMeans,
  MiniBatchKMeans,
  NotFittedError,
  type Matrix,
} from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/utils/rng.js';

// What every estimator promises, scikit-learn's conventions (STYLE.md): `fit` returns the estimator; what it learnt
// is read after `fit` only (NotFittedError before); the same seed gives the same model, bit for bit; `predict` on the
// fitted columns only (DimensionMismatchError); bad input is refused before any work (CbirError INVALID_ARGUMENT);
// a fired signal stops it (AbortedError). Each kind's numbers against scikit-learn are in its own test file.

/** Four blobs in 5-d, seeded. */
function blobs(rows: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * 5);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < 5; c++) data[r * 5 + c] = (c === r % 4 ? 4 : 0) + rng.normal() * 0.5;
  return { data, rows, cols: 5 };
}

interface Estimator {
  fit(x: Matrix, options?: { signal?: AbortSignal }): unknown;
  predict(x: Matrix): Int32Array;
  readonly centroids: Matrix;
  readonly labels: Int32Array;
  readonly inertia: number;
}

const KINDS: Record<string, (seed: number) => Estimator> = {
  KMeans: (seed) => new KMeans({ nClusters: 4, randomState: seed, nInit: 2 }),
  MiniBatchKMeans: (seed) => new MiniBatchKMeans({ nClusters: 4, randomState: seed, batchSize: 32 }),
};

const x = blobs(200, 5);

for (const [name, make] of Object.entries(KINDS))
  describe(`estimator contract: ${name}`, () => {
    it('fit returns the estimator; its results exist only after fit', () => {
      const est = make(0);
      expect(() => est.centroids).toThrow(NotFittedError);
      expect(() => est.labels).toThrow(NotFittedError);
      expect(() => est.predict(x)).toThrow(NotFittedError);
      expect(est.fit(x)).toBe(est);
      expect([est.centroids.rows, est.centroids.cols]).toEqual([4, 5]);
      expect(est.labels).toHaveLength(x.rows);
      expect(Number.isFinite(est.inertia)).toBe(true);
    });

    it('the same seed gives the same model, bit for bit; predict on the training rows gives the labels', () => {
      const a = make(3).fit(x) as Estimator;
      const b = make(3).fit(x) as Estimator;
      expect(Array.from(b.centroids.data)).toEqual(Array.from(a.centroids.data));
      expect(Array.from(b.labels)).toEqual(Array.from(a.labels));
      expect(b.inertia).toBe(a.inertia);
      expect(Array.from(a.predict(x))).toEqual(Array.from(a.labels));
    });

    it('predicts only on the columns it was fitted on; refuses bad input before any work', () => {
      const est = make(0).fit(x) as Estimator;
      expect(() => est.predict({ data: new Float32Array(8), rows: 2, cols: 4 })).toThrow(DimensionMismatchError);
      const nan = { ...x, data: x.data.slice() };
      nan.data[7] = NaN;
      expect(() => make(0).fit(nan)).toThrow(CbirError);
      expect(() => make(0).fit({ data: x.data.subarray(0, 15), rows: 3, cols: 5 })).toThrow(/at least|n_samples|rows/);
    });

    it('stops at a fired signal with AbortedError', () => {
      const controller = new AbortController();
      controller.abort();
      expect(() => make(0).fit(x, { signal: controller.signal })).toThrow(AbortedError);
    });
  });
