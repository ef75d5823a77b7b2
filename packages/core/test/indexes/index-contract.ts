import { describe, expect, it } from 'vitest';
import {
  CbirError,
  DimensionMismatchError,
  IndexFormatError,
  Rng,
  deserializeIndex,
  indexKind,
  indexKinds,
  type AsyncIndex,
  type Index,
  type Matrix,
} from 'cbir-core';

/** An item with every metadata field. */
export const FULL_METADATA = {
  path: 'photos/a.jpg',
  label: 'x',
  width: 4000,
  height: 3000,
  bytes: 2_512_345,
  mtime: '2024-06-02T08:00:00.125Z',
  hash: 'ab'.repeat(32),
  taken: '2024-06-01T17:45:00.000Z',
  make: 'Canon',
  model: "EOS 5D Mark 'IV'",
  orientation: 6,
  gps: true,
};

export function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

/** Brute-force float64 top-k with ties by id: the oracle. */
export function oracle(
  x: Matrix,
  ids: number[],
  q: Matrix,
  k: number,
  dist: (a: Float32Array, b: Float32Array) => number,
) {
  return Array.from({ length: q.rows }, (_, i) => {
    const qi = q.data.subarray(i * q.cols, (i + 1) * q.cols);
    return ids
      .map((id, r) => ({ id, d: dist(x.data.subarray(r * x.cols, (r + 1) * x.cols), qi) }))
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .slice(0, k);
  });
}

export const euclidean = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));

/** Gaussian clusters (seeded): data with neighbours worth finding, for the recall floor of approximate kinds. */
export function clusteredMatrix(rows: number, cols: number, seed: number, centres = 16, scale = 3): Matrix {
  const rng = new Rng(seed);
  const c = Float32Array.from({ length: centres * cols }, () => rng.normal() * scale);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const k = rng.int(centres);
    for (let j = 0; j < cols; j++) data[i * cols + j] = c[k * cols + j] + rng.normal();
  }
  return { data, rows, cols };
}

/** What a kind promises (its registered capabilities); approximate kinds name the recall@10 they reach at defaults. */
export interface ContractFlags {
  exact: boolean;
  removable: boolean;
  persistent: boolean;
  /** For approximate kinds: the recall@10 against the oracle they must reach at their defaults. */
  recallFloor?: number;
}

/** A sync throw or an async rejection, as one promise. */
const attempt = async (f: () => unknown) => f();

/**
 * The contract every index meets, through `await` so that in-memory ({@link Index}) and engine-backed
 * ({@link AsyncIndex}) kinds run the same tests: search against a float64 brute-force oracle (exact kinds) or a recall
 * floor at defaults (approximate ones), padding, input errors, id round-trips (including 0), remove, reset, and
 * serialize -> deserialize equality, each as the kind's flags say.
 */
export function describeIndexContract(
  name: string,
  make: (dim: number) => Index | AsyncIndex | Promise<Index | AsyncIndex>,
  dist: (a: Float32Array, b: Float32Array) => number,
  flags: ContractFlags = { exact: true, removable: true, persistent: true },
): void {
  describe(`${name} (index contract)`, () => {
    it('names its kind and metric; a registered kind declares these capabilities', async () => {
      const index = await make(4);
      expect(typeof index.kind).toBe('string');
      expect(['euclidean', 'sqeuclidean', 'cosine', 'l1', 'centred_euclidean']).toContain(index.metric);
      expect(index.isTrained).toBe(true);
      if (indexKinds().includes(index.kind)) {
        const { exact, removable, persistent } = indexKind(index.kind).capabilities;
        expect({ exact, removable, persistent }).toEqual({
          exact: flags.exact,
          removable: flags.removable,
          persistent: flags.persistent,
        });
      }
    });

    if (flags.exact) {
      it('searches exactly as a brute-force float64 oracle, ties broken by id', async () => {
        const x = randomMatrix(500, 24, 1);
        const q = randomMatrix(7, 24, 2);
        const index = await make(24);
        await index.add(x);
        expect(index.size).toBe(500);
        const r = await index.search(q, 10);
        const want = oracle(
          x,
          Array.from({ length: 500 }, (_, i) => i),
          q,
          10,
          dist,
        );
        for (let i = 0; i < q.rows; i++) {
          expect(Array.from(r.ids.subarray(i * 10, (i + 1) * 10))).toEqual(want[i].map((w) => w.id));
          want[i].forEach((w, j) => expect(Math.abs(r.distances[i * 10 + j] - w.d)).toBeLessThan(1e-6));
        }
      });
    } else {
      it(`reaches recall@10 >= ${flags.recallFloor} at its defaults on clustered data; its distances are the true ones`, async () => {
        // Queries from the same clusters as the data (rows after the indexed ones).
        const all = clusteredMatrix(4050, 32, 11, 64);
        const x = { data: all.data.subarray(0, 4000 * 32), rows: 4000, cols: 32 };
        const q = { data: all.data.subarray(4000 * 32), rows: 50, cols: 32 };
        const index = await make(32);
        await index.add(x);
        const r = await index.search(q, 10);
        const want = oracle(
          x,
          Array.from({ length: 4000 }, (_, i) => i),
          q,
          10,
          dist,
        );
        let found = 0;
        for (let i = 0; i < q.rows; i++) {
          const truth = new Set(want[i].map((w) => w.id));
          for (let j = 0; j < 10; j++) {
            const id = r.ids[i * 10 + j];
            if (truth.has(id)) found++;
            if (id >= 0)
              expect(
                Math.abs(
                  r.distances[i * 10 + j] -
                    dist(x.data.subarray(id * 32, id * 32 + 32), q.data.subarray(i * 32, i * 32 + 32)),
                ),
              ).toBeLessThan(1e-4);
            if (j > 0) expect(r.distances[i * 10 + j]).toBeGreaterThanOrEqual(r.distances[i * 10 + j - 1]);
          }
        }
        expect(found / (q.rows * 10)).toBeGreaterThanOrEqual(flags.recallFloor ?? 1);
      });
    }

    it('breaks exact ties by id and pads short results with -1 and Infinity', async () => {
      const index = await make(2);
      // Two copies of one vector and an orthogonal one: the same order by Euclidean and cosine distance.
      await index.add({ data: Float32Array.from([1, 0, 1, 0, 0, 1]), rows: 3, cols: 2 }, [7, 3, 0]);
      const r = await index.search({ data: Float32Array.from([1, 0]), rows: 1, cols: 2 }, 5);
      expect(Array.from(r.ids)).toEqual([3, 7, 0, -1, -1]);
      expect(r.distances[3]).toBe(Infinity);
    });

    it('keeps ids (0 and large ones) and metadata' + (flags.removable ? '; removes by id' : ''), async () => {
      const index = await make(3);
      await index.add(
        randomMatrix(3, 3, 5),
        [0, 2 ** 40, 9],
        [FULL_METADATA, undefined, { label: 'y', gps: false, bytes: 0 }],
      );
      expect(await index.metadata(0)).toEqual(FULL_METADATA);
      expect(await index.metadata(9)).toEqual({ label: 'y', gps: false, bytes: 0 });
      expect(await index.metadata(2 ** 40)).toBeUndefined();
      // A field of the wrong type is refused before anything is added.
      await expect(
        attempt(() => index.add(randomMatrix(1, 3, 8), [11], [{ taken: '2024-06-01 10:00' } as never])),
      ).rejects.toThrow(/metadata\[0\]: metadata field "taken" must be a UTC ISO 8601 instant/);
      expect(index.size).toBe(3);
      expect(new Set(await index.idList())).toEqual(new Set([0, 2 ** 40, 9]));
      const row = randomMatrix(3, 3, 5).data.subarray(6, 9);
      const scale = index.metric === 'cosine' ? 1 / Math.hypot(...row) : 1;
      const v = await index.vector(9);
      row.forEach((x, j) => expect(v![j]).toBeCloseTo(x * scale, 6));
      await expect(attempt(() => index.add(randomMatrix(1, 3, 7), [9]))).rejects.toThrow(
        /id 9 is already in the index/,
      );
      if (!flags.removable) return;
      expect(await index.remove([0, 12345])).toBe(1);
      expect(index.size).toBe(2);
      const r = await index.search(randomMatrix(1, 3, 6), 3);
      expect(new Set(Array.from(r.ids))).toEqual(new Set([2 ** 40, 9, -1]));
      expect(await index.metadata(0)).toBeUndefined();
      expect(await index.vector(0)).toBeUndefined();
    });

    it('rejects wrong dims, NaN, empty input, bad k and bad ids with CbirErrors', async () => {
      const index = await make(4);
      await index.add(randomMatrix(5, 4, 1));
      await expect(attempt(() => index.search(randomMatrix(1, 3, 1), 1))).rejects.toThrow(DimensionMismatchError);
      await expect(attempt(() => index.search(randomMatrix(1, 3, 1), 1))).rejects.toThrow(
        /queries have 3 columns but the index has dim 4/,
      );
      await expect(
        attempt(() => index.add({ data: Float32Array.from([1, NaN, 0, 0]), rows: 1, cols: 4 })),
      ).rejects.toThrow(/non-finite/);
      await expect(attempt(() => index.add({ data: new Float32Array(0), rows: 0, cols: 4 }))).rejects.toThrow(/empty/);
      await expect(attempt(() => index.search(randomMatrix(1, 4, 1), 0))).rejects.toThrow(CbirError);
      await expect(attempt(() => index.add(randomMatrix(1, 4, 1), [-1]))).rejects.toThrow(/non-negative integers/);
      expect(index.size).toBe(5);
    });

    it('reset() empties the index and keeps its configuration', async () => {
      const index = await make(8);
      await index.add(randomMatrix(20, 8, 4));
      await index.reset();
      expect(index.size).toBe(0);
      expect(Array.from((await index.search(randomMatrix(1, 8, 5), 2)).ids)).toEqual([-1, -1]);
      await index.add(randomMatrix(3, 8, 6), [4, 5, 6]);
      expect(index.size).toBe(3);
      expect(new Set(Array.from((await index.search(randomMatrix(1, 8, 5), 3)).ids))).toEqual(new Set([4, 5, 6]));
    });

    if (flags.persistent) {
      it('serializes and deserializes to an index that answers identically; rejects damaged bytes', async () => {
        const index = (await make(16)) as Index;
        index.add(
          randomMatrix(100, 16, 3),
          undefined,
          Array.from({ length: 100 }, (_, i) => (i === 7 ? FULL_METADATA : { label: String(i % 4) })),
        );
        const bytes = index.serialize();
        const back = deserializeIndex(bytes, 'x.cbirindex');
        expect(back.size).toBe(100);
        expect(back.kind).toBe(index.kind);
        expect(back.metric).toBe(index.metric);
        const q = randomMatrix(4, 16, 9);
        expect(back.search(q, 8)).toEqual(index.search(q, 8));
        expect(back.metadata(5)).toEqual({ label: '1' });
        expect(back.metadata(7)).toEqual(FULL_METADATA);
        expect(() => deserializeIndex(bytes.subarray(0, bytes.length - 3), 'x.cbirindex')).toThrow(IndexFormatError);
        const bad = bytes.slice();
        bad[bad.length - 50] ^= 1;
        expect(() => deserializeIndex(bad, 'x.cbirindex')).toThrow(/x\.cbirindex fails its checksum/);
      });
    }
  });
}
