import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSHIndex, createIndex, lshashPlanes, type LSHDistance } from 'cbir-core';
import { readNpz } from 'cbir-core/io';
import { fixtureBytes, fixtureJson, fixtureNpy } from '../helpers/fixtures.js';
import { setProductEngine } from '../helpers/internal.js';
import { describeIndexContract, euclidean, randomMatrix } from './index-contract.js';

const sqEuclidean = (a: Float32Array, b: Float32Array) => euclidean(a, b) ** 2;

// With 2 bits and probe radius 2, every bucket is probed: LSHIndex must then meet the exact contract.
describeIndexContract(
  'LSHIndex (all buckets probed)',
  (dim) =>
    new LSHIndex({ hashSize: 2, inputDim: dim, numHashtables: 1, probeRadius: 2, distanceFunc: 'true_euclidean' }),
  euclidean,
  { exact: false, removable: true, persistent: true, recallFloor: 1 },
);
// At the registry's defaults (createIndex('lsh', dim)) LSH is approximate: held to a recall floor.
describeIndexContract('LSHIndex (registry defaults)', (dim) => createIndex('lsh', dim), sqEuclidean, {
  exact: false,
  removable: true,
  persistent: true,
  recallFloor: 0.9,
});

interface Expected {
  configs: {
    hash_size: number;
    num_hashtables: number;
    planes_file: string;
    item_keys: string[][];
    query_keys: string[][];
    results: Record<LSHDistance, { ids: number[]; distances: number[] }[]>;
  }[];
}

// Keys and ranking run on cbir's SIMD kernels by default, in JS without WebAssembly SIMD: both must match lshashpy3.
describe.each(['simd', 'js'] as const)('LSHIndex against lshashpy3 (%s)', (engine) => {
  beforeAll(() => setProductEngine(engine));
  afterAll(() => setProductEngine(undefined));
  const expected = fixtureJson<Expected>('lshashpy3/expected.json');
  const data = fixtureNpy('lshashpy3/data.npy');
  const queries = fixtureNpy('lshashpy3/queries.npy');
  const [n, dim] = data.shape;
  const x = { data: Float32Array.from(data.data), rows: n, cols: dim };

  it.each(expected.configs.map((c) => [`${c.hash_size} bits x ${c.num_hashtables} tables`, c] as const))(
    '%s: same buckets for every item and query, same ranked results for every distance',
    (_, config) => {
      const npz = readNpz(fixtureBytes(`lshashpy3/${config.planes_file}`));
      const planes = lshashPlanes(npz);
      for (const distanceFunc of Object.keys(config.results) as LSHDistance[]) {
        const lsh = new LSHIndex({
          hashSize: config.hash_size,
          numHashtables: config.num_hashtables,
          inputDim: dim,
          planes,
          distanceFunc,
        });
        lsh.add(x);
        for (let i = 0; i < n; i++) expect(lsh.keys(i), `item ${i}`).toEqual(config.item_keys[i]);
        config.results[distanceFunc].forEach((want, qi) => {
          const q = Float32Array.from(queries.data.subarray(qi * dim, (qi + 1) * dim));
          expect(config.query_keys[qi]).toEqual(
            Array.from({ length: config.num_hashtables }, (_, t) =>
              lsh.keyOf(t, q).toString(2).padStart(config.hash_size, '0'),
            ),
          );
          const got = lsh.candidates(q);
          expect(
            got.map((g) => g.id),
            `${distanceFunc} query ${qi}`,
          ).toEqual(want.ids);
          got.forEach((g, j) =>
            expect(Math.abs(g.d - want.distances[j])).toBeLessThanOrEqual(
              1e-5 * Math.max(1, Math.abs(want.distances[j])),
            ),
          );
        });
      }
    },
  );
});

describe('LSHIndex beyond lshashpy3', () => {
  it('keeps id 0, reports candidates scanned, and fillToK completes short results exactly', () => {
    const x = randomMatrix(200, 16, 4);
    const lsh = new LSHIndex({ hashSize: 14, numHashtables: 1, inputDim: 16, seed: 3, fillToK: true });
    lsh.add(x);
    const q = { data: x.data.slice(0, 16), rows: 1, cols: 16 };
    const r = lsh.search(q, 10);
    expect(r.ids[0]).toBe(0);
    expect(r.distances[0]).toBe(0);
    expect(lsh.lastCandidates[0]).toBeLessThan(10); // 14 bits: few collide
    expect(Array.from(r.ids).every((id) => id >= 0)).toBe(true);
  });

  it('is deterministic by seed and validates its options', () => {
    const a = new LSHIndex({ hashSize: 8, inputDim: 4, seed: 1 });
    const b = new LSHIndex({ hashSize: 8, inputDim: 4, seed: 1 });
    const v = Float32Array.from([1, -2, 3, 0.5]);
    expect(a.keyOf(0, v)).toBe(b.keyOf(0, v));
    expect(() => new LSHIndex({ hashSize: 0, inputDim: 4 })).toThrow(/hashSize/);
    expect(() => new LSHIndex({ hashSize: 4, inputDim: 4, distanceFunc: 'manhattan' as never })).toThrow(
      /hamming, euclidean/,
    );
  });
});
