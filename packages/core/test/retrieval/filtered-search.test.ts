import { describe, expect, it } from 'vitest';
import {
  CosineIndex,
  ExactEuclideanIndex,
  LSHIndex,
  searchFiltered,
  whereFilter,
  type Index,
  type Matrix,
} from 'cbir-core';
import { Rng } from '../../src/utils/rng.js';

const DIM = 16;
const N = 3000;
const rng = new Rng(35);
const data = Float32Array.from({ length: N * DIM }, () => rng.next() * 2 - 1);
const labels = Array.from({ length: N }, (_, i) => ['beach', 'food', 'bus', 'horse'][(i * 7919) % 4]);
const bytes = Array.from({ length: N }, () => Math.floor(rng.next() * 10_000));
const queries: Matrix = { data: Float32Array.from({ length: 5 * DIM }, () => rng.next() * 2 - 1), rows: 5, cols: DIM };

/** The k nearest among `among` by a float64 scan: the oracle, ties by id. */
function oracle(among: number[], k: number, cosine: boolean) {
  return Array.from({ length: queries.rows }, (_, qi) => {
    const q = queries.data.subarray(qi * DIM, (qi + 1) * DIM);
    const scored = among.map((id) => {
      const x = data.subarray(id * DIM, (id + 1) * DIM);
      let [dot, qq, xx, sq] = [0, 0, 0, 0];
      for (let j = 0; j < DIM; j++) {
        dot += q[j] * x[j];
        qq += q[j] * q[j];
        xx += x[j] * x[j];
        sq += (q[j] - x[j]) ** 2;
      }
      return { id, d: cosine ? 1 - dot / Math.sqrt(qq * xx) : Math.sqrt(sq) };
    });
    return scored.sort((a, b) => a.d - b.d || a.id - b.id).slice(0, k);
  });
}

const build = (index: Index) => {
  index.add(
    { data, rows: N, cols: DIM },
    undefined,
    labels.map((label) => ({ label })),
  );
  return index;
};

describe('searchFiltered', () => {
  for (const [name, make, cosine] of [
    ['ExactEuclideanIndex', () => new ExactEuclideanIndex(DIM), false],
    ['CosineIndex', () => new CosineIndex(DIM), true],
  ] as const)
    it(`${name}: equals a float64 scan of the matching rows at 50%, 5% and 0.5% selectivity`, () => {
      const index = build(make());
      const selections: [string, number[]][] = [
        ['label IN (beach, food)', labels.flatMap((l, i) => (l === 'beach' || l === 'food' ? [i] : []))],
        ['bytes < 500', bytes.flatMap((b, i) => (b < 500 ? [i] : []))],
        ['every 200th', Array.from({ length: 15 }, (_, i) => i * 200)],
      ];
      for (const [what, among] of selections) {
        for (const k of [1, 10]) {
          const res = searchFiltered(index, queries, k, among);
          const want = oracle(among, k, cosine);
          for (let qi = 0; qi < queries.rows; qi++) {
            expect(Array.from(res.ids.subarray(qi * k, (qi + 1) * k)), what).toEqual(want[qi].map((w) => w.id));
            want[qi].forEach((w, j) => expect(res.distances[qi * k + j]).toBeCloseTo(w.d, 6));
          }
        }
      }
      // Fewer matches than k: padded; ids not in the index ignored; the unfiltered search is the filter of everything.
      const few = searchFiltered(index, queries, 4, [5, 7, 5, 99_999]);
      expect(Array.from(few.ids.subarray(0, 4)).slice(2)).toEqual([-1, -1]);
      expect(new Set(Array.from(few.ids.subarray(0, 2)))).toEqual(new Set([5, 7]));
      const all = searchFiltered(index, queries, 10, index.idList());
      expect(Array.from(all.ids)).toEqual(Array.from(index.search(queries, 10).ids));
    });

  it('each of the exact kinds three ways (rows scanned, rows gathered for a batch, the whole index searched deeper) equals the oracle', () => {
    // 20,000 rows, 20 queries: 22.5% of the rows are gathered into an index of their own (a batch over 4,096+ rows),
    // 40% search the whole index deeper, 1% are scanned one query at a time; a Set works as well as a list.
    const n = 20_000;
    const r = new Rng(7);
    const x = Float32Array.from({ length: n * DIM }, () => r.next() * 2 - 1);
    const q = Float32Array.from({ length: 20 * DIM }, () => r.next() * 2 - 1);
    const score = (qi: number, id: number, cosine: boolean) => {
      let [dot, qq, xx, sq] = [0, 0, 0, 0];
      for (let j = 0; j < DIM; j++) {
        const [a, b] = [q[qi * DIM + j], x[id * DIM + j]];
        dot += a * b;
        qq += a * a;
        xx += b * b;
        sq += (a - b) ** 2;
      }
      return cosine ? 1 - dot / Math.sqrt(qq * xx) : Math.sqrt(sq);
    };
    for (const [make, cosine] of [
      [() => new ExactEuclideanIndex(DIM), false],
      [() => new CosineIndex(DIM), true],
    ] as const) {
      const index = make();
      index.add({ data: x, rows: n, cols: DIM });
      for (const share of [0.225, 0.4, 0.01]) {
        const among = Array.from({ length: n }, (_, i) => i).filter((i) => (i * 7919) % 1000 < share * 1000);
        for (const given of [among, new Set(among)]) {
          const res = searchFiltered(index, { data: q, rows: 20, cols: DIM }, 10, given);
          for (let qi = 0; qi < 20; qi++) {
            const want = among
              .map((id) => ({ id, d: score(qi, id, cosine) }))
              .sort((a, b) => a.d - b.d || a.id - b.id)
              .slice(0, 10);
            expect(Array.from(res.ids.subarray(qi * 10, (qi + 1) * 10)), `${share}`).toEqual(want.map((w) => w.id));
            want.forEach((w, j) => expect(res.distances[qi * 10 + j]).toBeCloseTo(w.d, 6));
          }
        }
      }
      // The same set again reuses the rows gathered for it, until the rows change.
      const among = new Set(Array.from({ length: n }, (_, i) => i).filter((i) => (i * 7919) % 1000 < 225));
      const qs = { data: q, rows: 20, cols: DIM };
      const once = searchFiltered(index, qs, 10, among);
      expect(searchFiltered(index, qs, 10, among)).toEqual(once);
      const nearest = once.ids[0];
      index.remove([nearest]);
      const after = searchFiltered(index, qs, 10, among);
      expect(Array.from(after.ids)).not.toContain(nearest);
      expect(after.ids[0]).toBe(once.ids[1]);
    }
  });

  it('a where filter over the metadata, on an index without searchAmong (LSH): searches deeper, same answers', () => {
    const exact = build(new CosineIndex(DIM));
    const lsh = build(new LSHIndex({ hashSize: 4, inputDim: DIM, numHashtables: 1, seed: 1 }));
    expect(lsh.searchAmong).toBeUndefined();
    const filter = whereFilter("label = 'horse'", { label: 'string' });
    const among = exact.idList().filter((id) => filter.test({ ...exact.metadata(id) }));
    expect(among.length).toBe(labels.filter((l) => l === 'horse').length);
    const res = searchFiltered(lsh, queries, 10, among);
    for (let t = 0; t < res.ids.length; t++) expect(labels[res.ids[t]]).toBe('horse');
    // LSH's own ranking over its candidates, filtered: each row as the deepest unfiltered search ranks them.
    const deep = lsh.search(queries, N);
    for (let qi = 0; qi < queries.rows; qi++) {
      const want = Array.from(deep.ids.subarray(qi * N, (qi + 1) * N))
        .filter((id) => id >= 0 && labels[id] === 'horse')
        .slice(0, 10);
      expect(Array.from(res.ids.subarray(qi * 10, qi * 10 + want.length))).toEqual(want);
    }
  });
});
