import { describe, expect, it } from 'vitest';
import { AbortedError, CbirError, CosineIndex, ExactEuclideanIndex, vectorDuplicates } from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

/** Seeded vectors in groups: `groups` random centres, each with 1..`most` members jittered by up to `jitter`. */
function grouped(groups: number, most: number, dim: number, jitter: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const out: Float32Array[] = [];
  for (let g = 0; g < groups; g++) {
    const centre = Float32Array.from({ length: dim }, () => rng.next() * 2 - 1);
    const members = 1 + Math.floor(rng.next() * most);
    for (let m = 0; m < members; m++) out.push(centre.map((v) => v + (rng.next() * 2 - 1) * jitter));
  }
  return out;
}

/** Every pair within `t` by a float64 comparison of every pair, in the index's metric. */
function oracle(rows: Float32Array[], t: number, cosine: boolean) {
  const pairs: { a: number; b: number; distance: number }[] = [];
  for (let a = 0; a < rows.length; a++)
    for (let b = a + 1; b < rows.length; b++) {
      let [dot, na, nb, sq] = [0, 0, 0, 0];
      for (let i = 0; i < rows[a].length; i++) {
        dot += rows[a][i] * rows[b][i];
        na += rows[a][i] ** 2;
        nb += rows[b][i] ** 2;
        sq += (rows[a][i] - rows[b][i]) ** 2;
      }
      const d = cosine ? 1 - dot / Math.sqrt(na * nb) : Math.sqrt(sq);
      if (d <= t) pairs.push({ a, b, distance: d });
    }
  return pairs;
}

const matrix = (rows: Float32Array[]) => {
  const cols = rows[0].length;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { data, rows: rows.length, cols };
};

describe('vectorDuplicates', () => {
  // Groups of up to 40 members: larger than k = 16, so the widening search is exercised. Thresholds away from any
  // pair's distance by more than float32 rounding, so that the oracle and the index agree on every pair.
  const rows = grouped(60, 40, 24, 0.05, 34);
  for (const [name, make, cosine] of [
    ['CosineIndex', () => new CosineIndex(24), true],
    ['ExactEuclideanIndex', () => new ExactEuclideanIndex(24), false],
  ] as const)
    it(`with ${name}: exactly the pairs a comparison of every pair finds, distances to 1e-5`, () => {
      const index = make();
      index.add(matrix(rows));
      for (const t of cosine ? [0.001, 0.004, 0.2] : [0.2, 0.3, 3]) {
        const want = oracle(rows, t, cosine);
        const near = want.some((p) => Math.abs(p.distance - t) < 1e-5);
        if (near) continue;
        const got = vectorDuplicates(index, { maxDistance: t });
        expect(got.map(({ a, b }) => [a, b])).toEqual(
          [...want].sort((x, y) => x.a - y.a || x.distance - y.distance || x.b - y.b).map(({ a, b }) => [a, b]),
        );
        got.forEach((p) => expect(p.distance).toBeCloseTo(want.find((w) => w.a === p.a && w.b === p.b)!.distance, 5));
        expect(got.length).toBeGreaterThan(0);
      }
    });

  it('positions follow idList after removals; refuses a bad threshold; stops at the signal', () => {
    const index = new CosineIndex(24);
    index.add(matrix(rows));
    index.remove([0, 1, 2]);
    const fresh = new CosineIndex(24);
    fresh.add(matrix(rows.slice(3)));
    // Positions are in idList's order; as ids, the pairs are those of an index built without the removed rows.
    const asIds = (list: number[], pairs: { a: number; b: number }[]) =>
      new Set(pairs.map(({ a, b }) => [list[a], list[b]].sort((x, y) => x - y).join()));
    const got = vectorDuplicates(index, { maxDistance: 0.004, k: 4 });
    expect(got.length).toBeGreaterThan(100);
    const shifted = fresh.idList().map((id) => id + 3);
    expect(asIds(index.idList(), got)).toEqual(asIds(shifted, vectorDuplicates(fresh, { maxDistance: 0.004 })));
    expect(() => vectorDuplicates(index, { maxDistance: -1 })).toThrow(CbirError);
    expect(() => vectorDuplicates(index, { maxDistance: NaN })).toThrow(/finite number >= 0, got NaN/);
    expect(() => vectorDuplicates(index, { maxDistance: 0.1, k: 0 })).toThrow(/k must be a whole number/);
    const stop = new AbortController();
    stop.abort();
    expect(() => vectorDuplicates(index, { maxDistance: 0.1, signal: stop.signal })).toThrow(AbortedError);
  });
});
