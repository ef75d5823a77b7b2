import * as tf from '@tensorflow/tfjs-core';
import { CbirError, KMeans, NotFittedError, Rng } from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { setProductEngine } from '../helpers/internal.js';
import { maxAbsDiff } from '../helpers/fixtures.js';
import { CLUSTER_MANIFEST, DATASETS, sklearnFixture } from './sklearn-fixtures.js';

describe.each(BACKENDS)('KMeans against scikit-learn 1.2 (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(DATASETS)('%s', (name) => {
    const f = sklearnFixture(name);
    it.each(CLUSTER_MANIFEST.ks)(
      'k = %i: from the same initial centres, the same centres, labels, inertia and iterations',
      (k) => {
        const km = new KMeans({ nClusters: k, init: f.matrix(`init_${k}`), tol: 1e-4 }).fit(f.x);
        const ref = f.matrix(`km_centres_${k}`);
        const scale = Math.max(...ref.data.map(Math.abs));
        expect(maxAbsDiff(km.centroids.data, ref.data) / scale).toBeLessThan(1e-4);
        expect(Array.from(km.labels)).toEqual(Array.from(f.get(`km_labels_${k}`).data));
        // scikit-learn sums float32 data's inertia in float32; ours is float64, so they agree to float32 precision.
        expect(Math.abs(km.inertia / f.scalar(`km_inertia_${k}`) - 1)).toBeLessThan(1e-5);
        expect(km.nIter).toBe(f.scalar(`km_niter_${k}`));
      },
    );

    it.each(CLUSTER_MANIFEST.ks)(
      'k = %i: from its own k-means++ starts (nInit 10), inertia within 1%% of scikit-learn best',
      (k) => {
        const km = new KMeans({ nClusters: k, nInit: 10, seed: 0 }).fit(f.x);
        expect(km.inertia / f.scalar(`best_inertia_${k}`)).toBeLessThan(1.01);
      },
    );
  });

  it('does not leak tensors', () => {
    const { x } = sklearnFixture('digits');
    new KMeans({ nClusters: 5, nInit: 1 }).fit(x);
    const before = tf.memory().numTensors;
    new KMeans({ nClusters: 5, nInit: 2 }).fit(x).predict(x);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('KMeans: the GEMM-form kernels (SIMD, or matMul on wasm; large work) agree with the float64 JS loops', () => {
  afterAll(() => setProductEngine(undefined));
  it.each(['simd', 'matMul'] as const)(
    '%s: same labels and centres from the same start on 4,096 x 64 (above the GEMM threshold)',
    async (engine) => {
      const rng = new Rng(11);
      const centres = Array.from({ length: 8 * 64 }, () => rng.normal() * 4);
      const data = new Float32Array(4096 * 64);
      for (let i = 0; i < 4096; i++)
        for (let j = 0; j < 64; j++) data[i * 64 + j] = centres[(i % 8) * 64 + j] + rng.normal() + 100;
      const x = { data, rows: 4096, cols: 64 };
      const init = { data: data.slice(0, 8 * 64), rows: 8, cols: 64 };
      await useBackend('cpu');
      setProductEngine('js');
      const js = new KMeans({ nClusters: 8, init }).fit(x);
      await useBackend('wasm');
      setProductEngine(engine);
      const mm = new KMeans({ nClusters: 8, init }).fit(x);
      expect(Array.from(mm.labels)).toEqual(Array.from(js.labels));
      expect(maxAbsDiff(mm.centroids.data, js.centroids.data)).toBeLessThan(1e-4 * 100);
      expect(Math.abs(mm.inertia / js.inertia - 1)).toBeLessThan(1e-9);
      expect(mm.nIter).toBe(js.nIter);
    },
  );
});

describe('KMeans behaviour', () => {
  const x = { data: Float32Array.from([0, 0, 0, 1, 10, 10, 10, 11, 20, 0, 20, 1]), rows: 6, cols: 2 };

  it('finds well separated clusters, and predict agrees with labels', () => {
    const km = new KMeans({ nClusters: 3, seed: 1 }).fit(x);
    const l = km.labels;
    expect(l[0]).toBe(l[1]);
    expect(l[2]).toBe(l[3]);
    expect(l[4]).toBe(l[5]);
    expect(new Set(l).size).toBe(3);
    expect(km.inertia).toBeCloseTo(1.5, 10);
    expect(Array.from(km.predict(x))).toEqual(Array.from(l));
  });

  it('is deterministic for a seed', () => {
    const a = new KMeans({ nClusters: 3, init: 'random', seed: 7 }).fit(x);
    const b = new KMeans({ nClusters: 3, init: 'random', seed: 7 }).fit(x);
    expect(Array.from(a.centroids.data)).toEqual(Array.from(b.centroids.data));
  });

  it('relocates an empty cluster to the farthest point, as scikit-learn does', () => {
    // Two given centres far from every point: the second gets no point in the first iteration.
    const init = { data: Float32Array.from([0, 0.5, 1000, 1000]), rows: 2, cols: 2 };
    const km = new KMeans({ nClusters: 2, init }).fit(x);
    expect(new Set(km.labels).size).toBe(2);
    expect(Number.isFinite(km.inertia)).toBe(true);
  });

  it('rejects bad input with clear errors', () => {
    expect(() => new KMeans({ nClusters: 0 })).toThrow(/nClusters must be a positive integer/);
    expect(() => new KMeans({ nClusters: 7 }).fit(x)).toThrow(/nClusters = 7 is more than the 6 rows/);
    expect(() => new KMeans({ nClusters: 2 }).fit({ data: Float32Array.from([0, NaN]), rows: 2, cols: 1 })).toThrow(
      /non-finite/,
    );
    expect(() => new KMeans({ nClusters: 2 }).fit({ data: new Float32Array(0), rows: 0, cols: 2 })).toThrow(CbirError);
    expect(() => new KMeans({ nClusters: 2, init: { data: new Float32Array(3), rows: 1, cols: 3 } }).fit(x)).toThrow(
      /expected \[2, 2\]/,
    );
    expect(() => new KMeans().labels).toThrow(NotFittedError);
    expect(() => new KMeans({ nClusters: 2 }).fit(x).predict({ data: new Float32Array(3), rows: 1, cols: 3 })).toThrow(
      /3 columns/,
    );
  });

  it('reports progress and stops on abort', () => {
    const events: number[] = [];
    new KMeans({ nClusters: 2, seed: 0 }).fit(x, {
      onProgress: (e) => e.stage === 'kmeans' && events.push(e.iteration),
    });
    expect(events[0]).toBe(1);
    const controller = new AbortController();
    controller.abort();
    expect(() => new KMeans({ nClusters: 2 }).fit(x, { signal: controller.signal })).toThrow(
      expect.objectContaining({ code: 'ABORTED' }),
    );
  });
});
