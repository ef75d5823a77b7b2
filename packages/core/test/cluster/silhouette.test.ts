import * as tf from '@tensorflow/tfjs-core';
import { silhouetteSamples, silhouetteScore } from 'cbir-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/fixtures.js';
import { CLUSTER_MANIFEST, DATASETS, sklearnFixture } from './sklearn-fixtures.js';

describe.each(BACKENDS)('silhouette against scikit-learn 1.2 (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(DATASETS)('%s', (name) => {
    const f = sklearnFixture(name);
    it.each(CLUSTER_MANIFEST.ks)('k = %i: samples and score equal scikit-learn to 1e-6', (k) => {
      const labels = f.get(`km_labels_${k}`).data;
      const samples = silhouetteSamples(f.x, labels);
      expect(maxAbsDiff(samples, f.get(`sil_samples_${k}`).data)).toBeLessThan(1e-6);
      expect(Math.abs(silhouetteScore(f.x, labels) - f.scalar(`sil_score_${k}`))).toBeLessThan(1e-6);
      // Small blocks (the float64 JS path on every backend) agree too.
      expect(maxAbsDiff(silhouetteSamples(f.x, labels, { blockSize: 7 }), f.get(`sil_samples_${k}`).data)).toBeLessThan(
        1e-6,
      );
    });
  });

  it('does not leak tensors', () => {
    const f = sklearnFixture('digits');
    const labels = f.get('km_labels_5').data;
    silhouetteScore(f.x, labels);
    const before = tf.memory().numTensors;
    silhouetteScore(f.x, labels, { sampleSize: 500 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('silhouette by hand', () => {
  // Points 0, 1 on a line in cluster A and 10 in cluster B (and a singleton C at 100).
  const x = { data: Float32Array.from([0, 1, 10, 100]), rows: 4, cols: 1 };
  it('matches the definition on a small case', () => {
    const s = silhouetteSamples(x, [5, 5, 9, 2]);
    // point 0: a = 1, b = min(10, 100) = 10 -> 0.9; point 1: a = 1, b = 9 -> 8/9; singletons -> 0
    expect(Array.from(s)).toEqual([0.9, 8 / 9, 0, 0].map((v) => expect.closeTo(v, 12)));
  });
  it('samples rows for sampleSize, reproducibly', () => {
    const f = sklearnFixture('blobs');
    const labels = f.get('km_labels_5').data;
    const a = silhouetteScore(f.x, labels, { sampleSize: 200, seed: 3 });
    expect(a).toBe(silhouetteScore(f.x, labels, { sampleSize: 200, seed: 3 }));
    expect(Math.abs(a - f.scalar('sil_score_5'))).toBeLessThan(0.05);
  });
  it('rejects labels it cannot score', () => {
    expect(() => silhouetteSamples(x, [1, 1, 1])).toThrow(/3 labels for 4 rows/);
    expect(() => silhouetteSamples(x, [1, 1, 1, 1])).toThrow(/1 clusters; the silhouette needs 2 to n - 1 = 3/);
    expect(() => silhouetteSamples(x, [0, 1, 2, 3])).toThrow(/4 clusters/);
    expect(() => silhouetteSamples(x, [0, 0.5, 1, 1])).toThrow(/must be integers/);
  });
});
