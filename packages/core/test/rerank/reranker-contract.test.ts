import {
  buildReranker,
  CosineIndex,
  Retriever,
  ExactEuclideanIndex,
  restoreReranker,
  searchReranked,
  type Index,
  type Matrix,
  type Ranking,
  type Reranker,
} from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/utils/rng.js';

// What every re-ranker promises (the `Reranker` contract), for each kind `buildReranker` makes: its spec is JSON plus
// float32 state and comes back over the same index with the same rankings, also through the index file; a batch
// (`rerankMany`) ranks as the queries do one by one; rankings are sorted, hold no duplicate, and keep `k`.

const KINDS = ['diffusion', 'qe'] as const;

/** Three tight clusters of 20 points in 8-d (so the graph has structure), seeded. */
function clustered(rows: number, dim: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < dim; c++) data[r * dim + c] = (c === r % 3 ? 3 : 0) + 0.4 * (rng.next() * 2 - 1);
  return { data, rows, cols: dim };
}

const x = clustered(60, 8, 7);
const queries = clustered(5, 8, 99);
const row = (m: Matrix, i: number) => m.data.slice(i * m.cols, (i + 1) * m.cols);

function indexes(): [string, Index][] {
  const exact = new ExactEuclideanIndex(8);
  exact.add(x);
  const cosine = new CosineIndex(8);
  cosine.add(x);
  return [
    ['exact', exact],
    ['cosine', cosine],
  ];
}

function firstStage(index: Index, q: Float32Array, depth: number): Ranking {
  const r = index.search({ data: q, rows: 1, cols: index.dim }, depth);
  return { ids: r.ids, distances: r.distances };
}

const rankings = (reranker: Reranker, index: Index, k: number) =>
  Array.from({ length: queries.rows }, (_, i) => {
    const q = row(queries, i);
    const r = reranker.rerank(q, firstStage(index, q, Math.max(reranker.depth, k)), k);
    return { ids: Array.from(r.ids.subarray(0, k)), distances: Array.from(r.distances.subarray(0, k)) };
  });

for (const kind of KINDS)
  for (const [name, index] of indexes())
    describe(`Reranker contract: ${kind} over ${name}`, () => {
      const k = 10;

      it('ranks each query: k sorted results, no duplicate, ids from the index', () => {
        const reranker = buildReranker(index, kind);
        expect(reranker.kind).toBe(kind);
        expect(Number.isInteger(reranker.depth) && reranker.depth >= 1).toBe(true);
        const ids = new Set(index.idList());
        for (const r of rankings(reranker, index, k)) {
          expect(r.ids).toHaveLength(k);
          expect(new Set(r.ids).size).toBe(k);
          for (const id of r.ids) expect(ids.has(id)).toBe(true);
          for (let j = 1; j < k; j++) expect(r.distances[j]).toBeGreaterThanOrEqual(r.distances[j - 1]);
        }
      });

      it('comes back from its spec, in memory and through the index file, with the same rankings', () => {
        const reranker = buildReranker(index, kind);
        const spec = reranker.spec();
        expect(spec.kind).toBe(kind);
        expect(JSON.parse(JSON.stringify(spec.options))).toEqual(spec.options);
        for (const v of Object.values(spec.state ?? {})) expect(v).toBeInstanceOf(Float32Array);
        const want = rankings(reranker, index, k);
        expect(rankings(restoreReranker(index, spec), index, k)).toEqual(want);
        const back = Retriever.deserialize(
          new Retriever(index, { reranker: restoreReranker(index, spec) }).serialize(),
          `${name}.cbirindex`,
        );
        expect(back.reranker?.spec()).toEqual(spec);
        expect(rankings(back.reranker!, back.index as Index, k)).toEqual(want);
      });

      it('a batch (searchReranked, rerankMany where it has one) equals the queries one by one', () => {
        const reranker = buildReranker(index, kind);
        const batch = searchReranked(index, reranker, queries, k);
        const one = rankings(reranker, index, k);
        for (let i = 0; i < queries.rows; i++) {
          expect(Array.from(batch.ids.subarray(i * k, (i + 1) * k))).toEqual(one[i].ids);
          Array.from(batch.distances.subarray(i * k, (i + 1) * k)).forEach((d, j) =>
            expect(d).toBeCloseTo(one[i].distances[j], 6),
          );
        }
      });
    });
