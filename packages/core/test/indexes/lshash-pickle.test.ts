import { deserializeIndex, IndexFormatError, LSHIndex, lshashPlanes, readLshashPickle } from 'cbir-core';
import { readNpz } from 'cbir-core/io';
import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureJson, fixtureNpy } from '../helpers/fixtures.js';

// ../shared/fixtures/lshashpy3, made with lshashpy3 0.0.9: lsh.query(q, num_results=11, distance_func='hamming').
type Answers = Record<
  string,
  { hash_size: number; num_hashtables: number; results: Record<string, [number, number][]> }
>;
const answers = fixtureJson<Answers>('lshashpy3/expected-pickles.json');
const data = fixtureNpy('lshashpy3/data.npy');
const queries = fixtureNpy('lshashpy3/queries.npy');
const [n, dim] = data.shape;

function expectAnswers(index: LSHIndex, want: Record<string, [number, number][]>): void {
  for (const [qi, expected] of Object.entries(want)) {
    const q = Float32Array.from(queries.data.subarray(Number(qi) * dim, (Number(qi) + 1) * dim));
    const res = index.search({ data: q, rows: 1, cols: dim }, 11);
    const got = Array.from(res.ids).filter((id) => id >= 0);
    expect(got, `query ${qi}`).toEqual(expected.map(([id]) => id));
    expected.forEach(([, d], j) => expect(Math.abs(res.distances[j] - d)).toBeLessThanOrEqual(1e-5 * Math.max(1, d)));
  }
}

describe("the notebook's lsh.p: a pickled lshashpy3 LSHash opens as an LSHIndex that answers as it does", () => {
  it.each(['lsh-12x5.p', 'lsh-10x1.p'])(
    "%s: every query gives lshashpy3's 11 results, in order, with its distances",
    (file) => {
      const bytes = fixtureBytes(`lshashpy3/${file}`);
      const index = readLshashPickle(bytes, file);
      const a = answers[file];
      expect(index.hashSize).toBe(a.hash_size);
      expect(index.numHashtables).toBe(a.num_hashtables);
      expect(index.size).toBe(n);
      expect(index.distanceFunc).toBe('hamming');
      // Each item's stored vector is the data row (extra_data i was data[i]).
      for (const id of [0, 1, 150, n - 1])
        expect(Array.from(index.vector(id)!)).toEqual(
          Array.from(Float32Array.from(data.data.subarray(id * dim, (id + 1) * dim))),
        );
      expectAnswers(index, a.results);
      // deserializeIndex (and so `cbir search --index lsh.p`) takes the same file.
      expect(deserializeIndex(bytes, file).search({ data: index.vector(5)!, rows: 1, cols: dim }, 11)).toEqual(
        index.search({ data: index.vector(5)!, rows: 1, cols: dim }, 11),
      );
    },
  );

  it('planes-12x1.npz (one table, np.savez_compressed): read with the zip sizes at their offsets, and answers as lshashpy3', () => {
    const planes = lshashPlanes(readNpz(fixtureBytes('lshashpy3/planes-12x1.npz'), 'planes-12x1.npz'));
    expect(planes).toHaveLength(1);
    const index = new LSHIndex({ hashSize: 12, numHashtables: 1, inputDim: dim, planes, distanceFunc: 'hamming' });
    index.add({ data: Float32Array.from(data.data), rows: n, cols: dim });
    expectAnswers(index, answers['planes-12x1.npz'].results);
  });

  it('refuses what is not an in-memory LSHash, saying what it needs', () => {
    expect(() => readLshashPickle(fixtureBytes('notebook/features-p4.pkl'), 'features.pkl')).toThrow(IndexFormatError);
    expect(() => readLshashPickle(fixtureBytes('notebook/features-p4.pkl'), 'features.pkl')).toThrow(
      /not a pickled lshashpy3 LSHash/,
    );
    const bytes = fixtureBytes('lshashpy3/lsh-10x1.p');
    expect(() => readLshashPickle(bytes.subarray(0, bytes.length >> 1), 'half.p')).toThrow(/truncated/);
    // A class the allow-list does not name (here the storage renamed to Redis's) is refused by name.
    const renamed = new TextDecoder('latin1')
      .decode(bytes)
      .replace('InMemoryStorage', 'RedisStorage\u0000\u0000\u0000');
    expect(() =>
      readLshashPickle(
        Uint8Array.from(renamed, (c) => c.charCodeAt(0)),
        'redis.p',
      ),
    ).toThrow(IndexFormatError);
    expect(() =>
      readLshashPickle(
        Uint8Array.from(renamed, (c) => c.charCodeAt(0)),
        'redis.p',
      ),
    ).toThrow(/refers to lshashpy3\.storage\.RedisStorage/);
  });
});
