import { describe, expect, it } from 'vitest';
import {
  ExactEuclideanIndex,
  Retriever,
  averagePrecision,
  evaluateRetrieval,
  evaluateSearch,
  precisionAtK,
  recallAtK,
} from 'cbir-core';
import { randomMatrix } from '../indexes/index-contract.js';

describe('retrieval metrics', () => {
  it('match a hand-computed case', () => {
    // Ranking: R N R N N R (R relevant), 4 relevant in the collection.
    const ranked = [1, 2, 3, 4, 5, 6];
    const rel = (id: number) => [1, 3, 6, 99].includes(id);
    expect(precisionAtK(ranked, rel, 1)).toBe(1);
    expect(precisionAtK(ranked, rel, 3)).toBeCloseTo(2 / 3, 15);
    expect(precisionAtK([1, -1], rel, 2)).toBe(0.5);
    // AP = (1/4) * (1/1 + 2/3 + 3/6)
    expect(averagePrecision(ranked, rel, 4)).toBeCloseTo((1 + 2 / 3 + 0.5) / 4, 15);
  });

  it('recallAtK counts the exact neighbours an approximate search found', () => {
    const exact = { nq: 2, k: 3, ids: Float64Array.from([1, 2, 3, 4, 5, 6]), distances: new Float64Array(6) };
    const approx = { nq: 2, k: 3, ids: Float64Array.from([3, 9, 1, 4, 5, 6]), distances: new Float64Array(6) };
    expect(recallAtK(approx, exact)).toBeCloseTo((2 / 3 + 1) / 2, 15);
  });

  it('evaluateRetrieval equals a float64 leave-one-out oracle on random labelled data', () => {
    const x = randomMatrix(60, 5, 11);
    const labels = Array.from({ length: 60 }, (_, i) => ['a', 'b', 'c'][(i * 7) % 3]);
    const ids = Array.from({ length: 60 }, (_, i) => i);
    const index = new ExactEuclideanIndex(5);
    index.add(x);
    const report = evaluateRetrieval(index, { matrix: x, ids, labels }, [1, 5, 10]);
    // Oracle: plain sorts in float64.
    let p5 = 0;
    let map = 0;
    for (let i = 0; i < 60; i++) {
      const d = ids
        .filter((j) => j !== i)
        .map((j) => ({
          j,
          d: Math.hypot(...Array.from({ length: 5 }, (_, c) => x.data[i * 5 + c] - x.data[j * 5 + c])),
        }))
        .sort((a, b) => a.d - b.d || a.j - b.j);
      const rel = d.map((e) => labels[e.j] === labels[i]);
      p5 += rel.slice(0, 5).filter(Boolean).length / 5;
      let hits = 0,
        s = 0;
      rel.forEach((r, r0) => {
        if (r) {
          hits++;
          s += hits / (r0 + 1);
        }
      });
      map += s / rel.filter(Boolean).length;
    }
    expect(report.queries).toBe(60);
    expect(report.precisionAtK[5]).toBeCloseTo(p5 / 60, 12);
    expect(report.meanAveragePrecision).toBeCloseTo(map / 60, 12);
    expect(Object.keys(report.perClass)).toEqual(['a', 'b', 'c']);
    expect(report.perClass.a.queries).toBe(20);
  });
});

describe('evaluateSearch', () => {
  it('over a filtered retriever equals evaluateRetrieval on an index of the rows the filter passes', async () => {
    const n = 120;
    const x = randomMatrix(n, 6, 21);
    const labels = Array.from({ length: n }, (_, i) => ['a', 'b', 'c', 'd'][i % 4]);
    const metadata = labels.map((label, i) => ({ label, width: 100 + (i % 7) * 50 }));
    const full = new ExactEuclideanIndex(6);
    full.add(x, undefined, metadata);
    const where = "label IN ('a', 'b', 'c') AND width >= 200";
    const keep = metadata
      .map((_, i) => i)
      .filter((i) => ['a', 'b', 'c'].includes(labels[i]) && metadata[i].width >= 200);
    const rows = (list: number[]) => {
      const data = new Float32Array(list.length * 6);
      list.forEach((r, j) => data.set(x.data.subarray(r * 6, (r + 1) * 6), j * 6));
      return { data, rows: list.length, cols: 6 };
    };
    const subset = { matrix: rows(keep), ids: keep, labels: keep.map((i) => labels[i]) };
    const oracle = new ExactEuclideanIndex(6);
    oracle.add(subset.matrix, keep);
    const want = evaluateRetrieval(oracle, subset, [1, 5, 10]);
    const retriever = new Retriever(full);
    const got = await evaluateSearch(
      (q, k, self) => retriever.search(q, k, { where, self }),
      subset,
      [1, 5, 10],
      keep.length,
    );
    expect(got.queries).toBe(keep.length);
    expect(got.precisionAtK).toEqual(want.precisionAtK);
    expect(got.meanAveragePrecision).toBeCloseTo(want.meanAveragePrecision, 12);
    expect(got.perClass).toEqual(want.perClass);
    // Unfiltered, it is evaluateRetrieval itself.
    const all = { matrix: x, ids: Array.from({ length: n }, (_, i) => i), labels };
    const plain = await evaluateSearch((q, k, self) => retriever.search(q, k, { self }), all, [5], n);
    expect(plain).toEqual(evaluateRetrieval(full, all, [5]));
    await expect(evaluateSearch((q, k) => full.search(q, k), all, [5], 0)).rejects.toThrow(/depth must be a positive/);
  });
});
