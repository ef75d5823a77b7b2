import { distortion, elbow, KMeans } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { CLUSTER_MANIFEST, DATASETS, sklearnFixture } from './sklearn-fixtures.js';

describe.each(DATASETS)('elbow on %s', (name) => {
  const f = sklearnFixture(name);
  it.each(CLUSTER_MANIFEST.ks)(
    "k = %i: distortion equals the notebook's cdist formula for scikit-learn's centres",
    (k) => {
      const d = distortion(f.x, f.matrix(`km_centres_${k}`));
      expect(Math.abs(d / f.scalar(`distortion_${k}`) - 1)).toBeLessThan(1e-6);
    },
  );

  it('records distortion and inertia for each k, as a KMeans of the same settings', () => {
    const curve = elbow(f.x, { ks: [2, 4, 6], estimator: { seed: 3, nInit: 2 } });
    expect(curve.map((p) => p.k)).toEqual([2, 4, 6]);
    for (const p of curve) {
      const km = new KMeans({ nClusters: p.k, seed: 3, nInit: 2 }).fit(f.x);
      expect(p.inertia).toBe(km.inertia);
      expect(p.distortion).toBeCloseTo(distortion(f.x, km.centroids), 10);
      expect(p.labels.length).toBe(f.x.rows);
    }
    // More clusters never fit worse here.
    expect(curve[2].inertia).toBeLessThan(curve[0].inertia);
    const mini = elbow(f.x, { ks: [3], miniBatch: true, estimator: { batchSize: 128 } });
    expect(mini[0].inertia).toBeGreaterThan(0);
  });

  it('checks ks', () => {
    expect(() => elbow(f.x, { ks: [] })).toThrow(/ks must be integers/);
    expect(() => elbow(f.x, { ks: [0, 2] })).toThrow(/ks must be integers from 1/);
  });
});
