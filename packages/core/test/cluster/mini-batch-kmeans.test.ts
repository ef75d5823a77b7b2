import * as tf from '@tensorflow/tfjs-core';
import { MiniBatchKMeans, NotFittedError, selectRows } from 'cbir-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/fixtures.js';
import { CLUSTER_MANIFEST, DATASETS, sklearnFixture } from './sklearn-fixtures.js';

describe.each(BACKENDS)('MiniBatchKMeans against scikit-learn 1.2 (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(DATASETS)('%s', (name) => {
    const f = sklearnFixture(name);
    it.each(CLUSTER_MANIFEST.ks)(
      'k = %i: partialFit over the same batches from the same centres gives the same centres and counts',
      (k) => {
        const batches = f.get(`mbk_batches_${k}`);
        const [steps, size] = batches.shape;
        const mbk = new MiniBatchKMeans({
          nClusters: k,
          init: f.matrix(`init_${k}`),
          reassignmentRatio: 0,
          batchSize: size,
        });
        for (let s = 0; s < steps; s++)
          mbk.partialFit(selectRows(f.x, batches.data.subarray(s * size, (s + 1) * size)));
        const ref = f.matrix(`mbk_centres_${k}`);
        expect(maxAbsDiff(mbk.centroids.data, ref.data) / Math.max(...ref.data.map(Math.abs))).toBeLessThan(1e-4);
        expect(Array.from(mbk.counts)).toEqual(Array.from(f.get(`mbk_counts_${k}`).data));
        expect(mbk.nSteps).toBe(steps);
      },
    );

    // Mini-batch runs are stochastic (scikit-learn's own seeds 0-7 at k = 2 on blobs span 70,511 to 102,905), so compare
    // the best of five seeds, each itself the best of nInit = 3, with scikit-learn's run.
    it.each(CLUSTER_MANIFEST.ks)(
      'k = %i: fit from its own k-means++ starts is within 1%% of scikit-learn inertia',
      (k) => {
        const fits = [0, 1, 2, 3, 4].map((seed) =>
          new MiniBatchKMeans({ nClusters: k, nInit: 3, batchSize: 256, seed }).fit(f.x),
        );
        const mbk = fits.reduce((a, b) => (b.inertia < a.inertia ? b : a));
        expect(mbk.inertia / f.scalar(`mbk_best_inertia_${k}`)).toBeLessThan(1.01);
        expect(mbk.labels.length).toBe(f.x.rows);
        expect(Array.from(mbk.predict(f.x))).toEqual(Array.from(mbk.labels));
      },
    );
  });

  it('does not leak tensors', () => {
    const { x } = sklearnFixture('digits');
    new MiniBatchKMeans({ nClusters: 8, batchSize: 512 }).fit(x);
    const before = tf.memory().numTensors;
    new MiniBatchKMeans({ nClusters: 8, batchSize: 512 }).fit(x);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('MiniBatchKMeans behaviour', () => {
  const { x } = sklearnFixture('blobs');
  it('reassigns a centre that no point reaches', () => {
    // One of the given centres is far from everything: reassignment moves it onto the data.
    const init = { data: new Float32Array(5 * 8), rows: 5, cols: 8 };
    init.data.set(x.data.subarray(0, 4 * 8));
    init.data.fill(1e4, 4 * 8);
    const mbk = new MiniBatchKMeans({ nClusters: 5, init, batchSize: 100, seed: 0 }).fit(x);
    expect(new Set(mbk.labels).size).toBe(5);
    expect(Math.max(...mbk.centroids.data)).toBeLessThan(100);
  });
  it('stops early when the smoothed inertia stops improving, and is deterministic for a seed', () => {
    const a = new MiniBatchKMeans({ nClusters: 5, batchSize: 64, maxIter: 100, seed: 4 }).fit(x);
    expect(a.nSteps).toBeLessThan((100 * x.rows) / 64);
    const b = new MiniBatchKMeans({ nClusters: 5, batchSize: 64, maxIter: 100, seed: 4 }).fit(x);
    expect(Array.from(b.centroids.data)).toEqual(Array.from(a.centroids.data));
  });
  it('checks its input', () => {
    expect(() => new MiniBatchKMeans({ batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => new MiniBatchKMeans().counts).toThrow(NotFittedError);
    const m = new MiniBatchKMeans({ nClusters: 2 }).partialFit(selectRows(x, [0, 1, 2]));
    expect(() => m.partialFit({ data: new Float32Array(3), rows: 1, cols: 3 })).toThrow(
      /3 columns; the model was fitted on 8/,
    );
  });
});
