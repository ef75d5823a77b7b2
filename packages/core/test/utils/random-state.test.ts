import {
  CbirError,
  KMeans,
  MiniBatchKMeans,
  RandomState,
  silhouetteScore,
  trainTestSplit,
  type Matrix,
} from 'cbir-core';
import { readNpz } from 'cbir-core/io';
import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureJson, maxAbsDiff } from '../helpers/fixtures.js';

// scripts/fixtures/make_random_stream_fixtures.py: numpy 1.24 and scikit-learn 1.2 with seeds drawn when it ran.
interface Streams {
  random_state: {
    seed: number;
    randint: [number, number][];
    random_sample: number[];
    uniform: number[];
    permutation: [number, number[]][];
  }[];
  splits: { n: number; test_size: number; seed: number; train: number[]; test: number[] }[];
}
const streams = fixtureJson<Streams>('random-streams/streams.json');

describe("RandomState against numpy's legacy RandomState", () => {
  it.each(streams.random_state.map((s) => [s.seed, s] as const))(
    'seed %i: randint, random_sample, uniform and permutation draw for draw',
    (_, s) => {
      // One generator for the whole sequence, drawn in the fixture's order: a slip anywhere shifts everything after it.
      const rs = new RandomState(s.seed);
      for (const [n, want] of s.randint) expect(rs.randint(n), `randint(${n})`).toBe(want);
      for (const want of s.random_sample) expect(rs.randomSample()).toBe(want);
      for (const want of s.uniform) expect(rs.uniform()).toBe(want);
      for (const [n, want] of s.permutation) expect(Array.from(rs.permutation(n)), `permutation(${n})`).toEqual(want);
    },
  );

  it('refuses seeds numpy refuses, with the range in the message', () => {
    for (const bad of [-1, 2 ** 32, 1.5, NaN]) expect(() => new RandomState(bad)).toThrow(/between 0 and 2\*\*32 - 1/);
    expect(() => new RandomState(0).randint(0)).toThrow(CbirError);
  });
});

describe("trainTestSplit against scikit-learn's train_test_split", () => {
  it(`the same rows in the same order for ${streams.splits.length} (n, test_size, seed)`, () => {
    for (const c of streams.splits) {
      const got = trainTestSplit(c.n, c.test_size, c.seed);
      expect(got.test, `n ${c.n}, test_size ${c.test_size}, seed ${c.seed}`).toEqual(c.test);
      expect(got.train).toEqual(c.train);
    }
  });

  it('sizes the test set with ceil, as scikit-learn does (101 x 0.15 -> 16 rows, not 15)', () => {
    expect(trainTestSplit(101, 0.15, 0).test).toHaveLength(16);
    expect(() => trainTestSplit(1, 0.15, 0)).toThrow(/training set would be empty/);
    expect(() => trainTestSplit(10, 1.5, 0)).toThrow(/fraction in \(0, 1\)/);
  });
});

interface KMeansCases {
  cases: { data: string; k: number; seed: number }[];
}

describe('KMeans and MiniBatchKMeans with randomState: scikit-learn 1.2 for the same random_state', () => {
  const arrays = readNpz(fixtureBytes('random-streams/kmeans.npz'), 'random-streams/kmeans.npz');
  const get = (key: string) => {
    const a = arrays.get(key);
    if (!a) throw new Error(`kmeans.npz has no ${key}`);
    return a;
  };
  const matrix = (key: string): Matrix => {
    const a = get(key);
    return { data: Float32Array.from(a.data), rows: a.shape[0], cols: a.shape[1] };
  };
  const { cases } = fixtureJson<KMeansCases>('random-streams/kmeans.json');

  it.each(cases.map((c) => [c.data, c.k, c.seed] as const))(
    '%s, k = %i, random_state %i: KMeans (n_init 10) labels, centres, inertia, silhouette',
    (data, k, seed) => {
      const x = matrix(`x_${data}`);
      const p = `km_${data}_${k}_${seed}`;
      const km = new KMeans({ nClusters: k, randomState: seed }).fit(x);
      expect(km.nInitResolved).toBe(10);
      expect(Array.from(km.labels)).toEqual(Array.from(get(`${p}_labels`).data));
      expect(Math.abs(km.inertia / get(`${p}_inertia`).data[0] - 1)).toBeLessThan(1e-6);
      const centres = get(`${p}_centres`).data;
      expect(maxAbsDiff(km.centroids.data, centres) / Math.max(...Array.from(centres, Math.abs))).toBeLessThan(1e-6);
      expect(km.nIter).toBe(get(`${p}_niter`).data[0]);
      expect(Math.abs(silhouetteScore(x, km.labels) - get(`${p}_sil`).data[0])).toBeLessThan(1e-6);
    },
  );

  it.each(cases.map((c) => [c.data, c.k, c.seed] as const))(
    '%s, k = %i, random_state %i: MiniBatchKMeans (batch 100, n_init 3) labels and inertia',
    (data, k, seed) => {
      const x = matrix(`x_${data}`);
      const p = `mbk_${data}_${k}_${seed}`;
      const mbk = new MiniBatchKMeans({ nClusters: k, randomState: seed, batchSize: 100 }).fit(x);
      expect(Array.from(mbk.labels)).toEqual(Array.from(get(`${p}_labels`).data));
      expect(Math.abs(mbk.inertia / get(`${p}_inertia`).data[0] - 1)).toBeLessThan(1e-6);
    },
  );

  it('seed is randomState under its older name', () => {
    expect(new KMeans({ seed: 5 }).randomState).toBe(5);
    expect(new KMeans({ seed: 5, randomState: 6 }).seed).toBe(6);
  });
});
