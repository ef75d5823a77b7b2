import {
  CosineIndex,
  Retriever,
  DiffusionReranker,
  evaluateRetrieval,
  QueryExpansionReranker,
  restoreReranker,
  searchReranked,
  type Index,
  type Matrix,
} from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { setProductEngine } from '../../src/compute/engine.js';

/**
 * Two classes laid out as interleaved chains on the unit circle's neighbourhood in 8-d: each item is close to the
 * next of its own chain, while the chains' far ends are closer to the other chain's middle. Diffusion follows the
 * chains; a plain nearest-neighbour ranking does not.
 */
function chains(perChain = 30, seed = 3): { matrix: Matrix; labels: string[] } {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.02;
  const dim = 8;
  const data = new Float32Array(2 * perChain * dim);
  const labels: string[] = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < perChain; i++) {
      const t = (i / perChain) * Math.PI * 1.6 + c * 0.35;
      const row = (c * perChain + i) * dim;
      const v = [Math.cos(t), Math.sin(t), c ? 0.25 : -0.25, 0, 0, 0, 0, 0].map((x) => x + rand());
      const n = Math.hypot(...v);
      v.forEach((x, j) => (data[row + j] = x / n));
      labels.push(`chain${c}`);
    }
  }
  return { matrix: { data, rows: 2 * perChain, cols: dim }, labels };
}

/** (I - alpha W)^-1 e_q by Gauss-Jordan in float64, W built from the definition (the study's closed form). */
function denseDiffusion(m: Matrix, k: number, alpha: number, gamma: number, q: number): Float64Array {
  const n = m.rows;
  const S = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let c = 0; c < m.cols; c++) s += m.data[i * m.cols + c] * m.data[j * m.cols + c];
      return s;
    }),
  );
  const knn = S.map((row, i) =>
    row
      .map((v, j) => [v, j] as const)
      .filter(([, j]) => j !== i)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k)
      .map(([, j]) => j),
  );
  const W = S.map((row, i) =>
    row.map((v, j) => (knn[i].includes(j) && knn[j].includes(i) ? Math.max(v, 0) ** gamma : 0)),
  );
  const d = W.map((row) => row.reduce((a, b) => a + b, 0) || 1);
  const A = W.map((row, i) => [
    ...row.map((w, j) => (i === j ? 1 : 0) - (alpha * w) / Math.sqrt(d[i] * d[j])),
    i === q ? 1 : 0,
  ]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= n; j++) A[r][j] -= f * A[c][j];
    }
  }
  return Float64Array.from(A, (row, i) => row[n] / A[i][i]);
}

describe('DiffusionReranker', () => {
  const { matrix, labels } = chains();
  const index = new CosineIndex(matrix.cols);
  index.add(
    matrix,
    undefined,
    labels.map((label) => ({ label })),
  );

  it("solves (I - alpha W) f = e_q by conjugate gradient to the dense inverse's values (1e-6)", () => {
    const rr = DiffusionReranker.build(index, { k: 5, alpha: 0.9, gamma: 3, tol: 1e-10 });
    for (const q of [0, 17, 44]) {
      const y = new Float64Array(matrix.rows);
      y[q] = 1;
      const f = rr.scores(y);
      const oracle = denseDiffusion(matrix, 5, 0.9, 3, q);
      const max = Math.max(...oracle);
      for (let i = 0; i < matrix.rows; i++) expect(Math.abs(f[i] - oracle[i])).toBeLessThan(1e-6 * max);
    }
    expect(rr.edges).toBeGreaterThan(0);
    expect(rr.edges % 2).toBe(0); // mutual edges come in pairs
  });

  it('solves several seeds at once (the SIMD kernel, columns converging at their own pace) as one at a time in JS', () => {
    const m = 3;
    const ys = new Float64Array(matrix.rows * m);
    ys[5 * m] = 1; // an item as the seed
    for (const [node, w] of [
      [20, 0.9],
      [21, 0.4],
      [40, 0.2],
    ])
      ys[node * m + 1] = w; // a new query's affinities
    ys[59 * m + 2] = 1;
    const simd = DiffusionReranker.build(index, { k: 5, tol: 1e-10 }).scoresMany(ys, m);
    setProductEngine('js');
    try {
      const js = DiffusionReranker.build(index, { k: 5, tol: 1e-10 });
      for (let j = 0; j < m; j++) {
        const y = Float64Array.from({ length: matrix.rows }, (_, i) => ys[i * m + j]);
        const f = js.scores(y);
        const max = Math.max(...f);
        for (let i = 0; i < matrix.rows; i++) expect(Math.abs(simd[i * m + j] - f[i])).toBeLessThan(1e-7 * max);
      }
    } finally {
      setProductEngine(undefined);
    }
  });

  it('ranks by diffusion score, follows the chains, and beats the plain ranking in mAP', () => {
    const rr = DiffusionReranker.build(index, { k: 5 });
    const ids = index.idList();
    const plain = evaluateRetrieval(index, { matrix, ids, labels }, [10]);
    const diffused = evaluateRetrieval(index, { matrix, ids, labels }, [10], { reranker: rr });
    expect(diffused.meanAveragePrecision).toBeGreaterThan(plain.meanAveragePrecision + 0.05);
    const res = searchReranked(
      index,
      rr,
      { data: matrix.data.subarray(0, matrix.cols), rows: 1, cols: matrix.cols },
      10,
      [0],
    );
    const d = Array.from(res.distances);
    expect(d).toEqual([...d].sort((a, b) => a - b));
    expect(res.ids[0]).toBe(0); // the query item scores highest (it is the seed)
  });

  it('a new query is seeded by its affinities to its first-stage neighbours', () => {
    const rr = DiffusionReranker.build(index, { k: 5 });
    const q = matrix.data.slice(3 * matrix.cols, 4 * matrix.cols);
    const res = searchReranked(index, rr, { data: q, rows: 1, cols: matrix.cols }, 5);
    expect(Array.from(res.ids).every((id) => labels[id] === 'chain0')).toBe(true);
  });

  it('is saved with the index and restored over it; a changed index refuses the stale graph', () => {
    const rr = DiffusionReranker.build(index, { k: 5 });
    const back = Retriever.deserialize(new Retriever(index, { reranker: rr }).serialize(), 'chains.cbirindex')
      .index as Index;
    const spec = rr.spec();
    const again = restoreReranker(back, spec, 'chains.cbirindex');
    const q = { data: matrix.data.subarray(0, matrix.cols), rows: 1, cols: matrix.cols };
    expect(Array.from(searchReranked(back, again, q, 10, [0]).ids)).toEqual(
      Array.from(searchReranked(index, rr, q, 10, [0]).ids),
    );
    back.remove([7]);
    expect(() => restoreReranker(back, spec, 'chains.cbirindex')).toThrow(/rebuild the graph after adding or removing/);
    const broken = {
      ...rr.spec(),
      state: { ...rr.spec().state!, cols: new Float32Array(new Int32Array([999999]).buffer) },
    };
    expect(() => DiffusionReranker.restore(index, broken)).toThrow(/inconsistent/);
  });

  it('reports progress between batches and stops when aborted', () => {
    const big = chains(300);
    const bigIndex = new CosineIndex(big.matrix.cols);
    bigIndex.add(big.matrix);
    const events: { stage: string; done?: number; total?: number }[] = [];
    DiffusionReranker.build(bigIndex, { k: 5, onProgress: (e) => events.push(e) });
    expect(events).toEqual([
      { stage: 'index', done: 256, total: 600 },
      { stage: 'index', done: 512, total: 600 },
    ]);
    const controller = new AbortController();
    controller.abort();
    expect(() => DiffusionReranker.build(bigIndex, { k: 5, signal: controller.signal })).toThrow(
      expect.objectContaining({ code: 'ABORTED' }),
    );
  });

  it('checks its options', () => {
    expect(() => DiffusionReranker.build(index, { alpha: 1 })).toThrow(/alpha must be in \(0, 1\)/);
    expect(() => DiffusionReranker.build(index, { k: 0 })).toThrow(/k must be an integer/);
  });
});

describe('QueryExpansionReranker', () => {
  it('searches again with the normalised sum of the query and its k first neighbours', () => {
    const { matrix } = chains(10);
    const index = new CosineIndex(matrix.cols);
    index.add(matrix);
    const qe = new QueryExpansionReranker(index, { k: 3 });
    const q = matrix.data.slice(0, matrix.cols);
    const first = index.search({ data: q, rows: 1, cols: matrix.cols }, 4);
    const sum = Float64Array.from(q);
    for (const id of Array.from(first.ids)
      .filter((id) => id !== 0)
      .slice(0, 3))
      index.vector(id)!.forEach((v, c) => (sum[c] += v));
    const n = Math.hypot(...sum);
    const expected = index.search({ data: Float32Array.from(sum, (v) => v / n), rows: 1, cols: matrix.cols }, 5);
    const res = searchReranked(index, qe, { data: q, rows: 1, cols: matrix.cols }, 5, [0]);
    expect(Array.from(res.ids)).toEqual(Array.from(expected.ids));
    expect(qe.spec()).toEqual({ kind: 'qe', options: { k: 3, alpha: 0 } });
  });
});
