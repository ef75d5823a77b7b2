import { describe, expect, it } from 'vitest';
import { CbirError, DimensionMismatchError, IndexFormatError, Rng, deserializeIndex, type Index, type Matrix } from 'cbir-core';

export function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

/** Brute-force float64 top-k with ties by id: the oracle. */
export function oracle(x: Matrix, ids: number[], q: Matrix, k: number, dist: (a: Float32Array, b: Float32Array) => number) {
  return Array.from({ length: q.rows }, (_, i) => {
    const qi = q.data.subarray(i * q.cols, (i + 1) * q.cols);
    return ids
      .map((id, r) => ({ id, d: dist(x.data.subarray(r * x.cols, (r + 1) * x.cols), qi) }))
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .slice(0, k);
  });
}

export const euclidean = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));

/**
 * The contract every index meets: add, search against a float64 brute-force oracle, padding, input errors,
 * id round-trips (including 0), remove, and serialize -> deserialize equality.
 */
export function describeIndexContract(name: string, make: (dim: number) => Index, dist: (a: Float32Array, b: Float32Array) => number): void {
  describe(`${name} (index contract)`, () => {
    it('searches exactly as a brute-force float64 oracle, ties broken by id', () => {
      const x = randomMatrix(500, 24, 1);
      const q = randomMatrix(7, 24, 2);
      const index = make(24);
      index.add(x);
      expect(index.size).toBe(500);
      const r = index.search(q, 10);
      const want = oracle(x, Array.from({ length: 500 }, (_, i) => i), q, 10, dist);
      for (let i = 0; i < q.rows; i++) {
        expect(Array.from(r.ids.subarray(i * 10, (i + 1) * 10))).toEqual(want[i].map((w) => w.id));
        want[i].forEach((w, j) => expect(Math.abs(r.distances[i * 10 + j] - w.d)).toBeLessThan(1e-6));
      }
    });

    it('breaks exact ties by id and pads short results with -1 and Infinity', () => {
      const index = make(2);
      // Two copies of one vector and an orthogonal one: the same order by Euclidean and cosine distance.
      index.add({ data: Float32Array.from([1, 0, 1, 0, 0, 1]), rows: 3, cols: 2 }, [7, 3, 0]);
      const r = index.search({ data: Float32Array.from([1, 0]), rows: 1, cols: 2 }, 5);
      expect(Array.from(r.ids)).toEqual([3, 7, 0, -1, -1]);
      expect(r.distances[3]).toBe(Infinity);
    });

    it('keeps ids (0 and large ones) and metadata; removes by id', () => {
      const index = make(3);
      index.add(randomMatrix(3, 3, 5), [0, 2 ** 40, 9], [{ path: 'a.jpg', label: 'x' }, undefined, { label: 'y' }]);
      expect(index.metadata(0)).toEqual({ path: 'a.jpg', label: 'x' });
      expect(index.remove([0, 12345])).toBe(1);
      expect(index.size).toBe(2);
      const r = index.search(randomMatrix(1, 3, 6), 3);
      expect(new Set(Array.from(r.ids))).toEqual(new Set([2 ** 40, 9, -1]));
      expect(index.metadata(0)).toBeUndefined();
      expect(() => index.add(randomMatrix(1, 3, 7), [9])).toThrow(/id 9 is already in the index/);
    });

    it('rejects wrong dims, NaN, empty input, bad k and bad ids with CbirErrors', () => {
      const index = make(4);
      index.add(randomMatrix(5, 4, 1));
      expect(() => index.search(randomMatrix(1, 3, 1), 1)).toThrow(DimensionMismatchError);
      expect(() => index.search(randomMatrix(1, 3, 1), 1)).toThrow(/queries have 3 columns but the index has dim 4/);
      expect(() => index.add({ data: Float32Array.from([1, NaN, 0, 0]), rows: 1, cols: 4 })).toThrow(/non-finite/);
      expect(() => index.add({ data: new Float32Array(0), rows: 0, cols: 4 })).toThrow(/empty/);
      expect(() => index.search(randomMatrix(1, 4, 1), 0)).toThrow(CbirError);
      expect(() => index.add(randomMatrix(1, 4, 1), [-1])).toThrow(/non-negative integers/);
    });

    it('serializes and deserializes to an index that answers identically; rejects damaged bytes', () => {
      const index = make(16);
      index.add(randomMatrix(100, 16, 3), undefined, Array.from({ length: 100 }, (_, i) => ({ label: String(i % 4) })));
      const bytes = index.serialize();
      const back = deserializeIndex(bytes, 'x.cbirindex');
      expect(back.size).toBe(100);
      expect(back.metric).toBe(index.metric);
      const q = randomMatrix(4, 16, 9);
      expect(back.search(q, 8)).toEqual(index.search(q, 8));
      expect(back.metadata(5)).toEqual({ label: '1' });
      expect(() => deserializeIndex(bytes.subarray(0, bytes.length - 3), 'x.cbirindex')).toThrow(IndexFormatError);
      const bad = bytes.slice();
      bad[bad.length - 50] ^= 1;
      expect(() => deserializeIndex(bad, 'x.cbirindex')).toThrow(/x\.cbirindex fails its checksum/);
    });
  });
}
