import { CosineIndex, ExactEuclideanIndex, Rng, type Matrix } from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backends.js';
import { setProductEngine } from '../helpers/internal.js';
import { clusteredMatrix, euclidean, oracle } from './index-contract.js';

// Batches of 16+ queries over 4,096+ rows take the int16 first pass (exact-scan/int16-scan.ts): exact integer products, a bound
// per row, every row whose lower bound reaches the k-th upper bound re-ranked in float64. These cases push the bound:
// clusters, large offsets with near-duplicates, two 256-column chunks, ties, and rows that cannot be told apart.
const cosine = (a: Float32Array, b: Float32Array) => {
  const unit = (v: Float32Array) => {
    const out = Float32Array.from(v);
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return out.map((x) => x / n);
  };
  const [ua, ub] = [unit(a), unit(b)];
  return 1 - ua.reduce((s, v, i) => s + v * ub[i], 0);
};

function rowsOf(m: Matrix, rows: number[]): Matrix {
  const data = new Float32Array(rows.length * m.cols);
  rows.forEach((r, i) => data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return { data, rows: rows.length, cols: m.cols };
}

function expectOracle(index: ExactEuclideanIndex, x: Matrix, ids: number[], q: Matrix, k: number, metric = euclidean) {
  const r = index.search(q, k);
  const want = oracle(x, ids, q, k, metric);
  for (let i = 0; i < q.rows; i++) {
    expect(Array.from(r.ids.subarray(i * k, (i + 1) * k))).toEqual(want[i].map((w) => w.id));
    want[i].forEach((w, j) => expect(r.distances[i * k + j]).toBeCloseTo(w.d, 9));
  }
}

const quantized = (index: ExactEuclideanIndex) =>
  (index as unknown as { int16: { quant?: object } }).int16.quant !== undefined;

describe('exact search: the int16 first pass', () => {
  beforeAll(async () => {
    await useBackend('cpu');
    setProductEngine('simd');
  });
  afterAll(() => setProductEngine(undefined));

  it.each([
    [5000, 37, 20, 10],
    [4200, 300, 17, 7],
    [4096, 8, 64, 1],
    [6000, 64, 70, 25],
  ])('equals the float64 oracle: clusters, n = %i, d = %i, %i queries, k = %i', (n, d, nq, k) => {
    const x = clusteredMatrix(n, d, n + d, 24, 3);
    const rng = new Rng(d);
    // Half the queries are rows of the collection (a distance of 0, and its duplicates' ties), half new points.
    const q = clusteredMatrix(nq, d, n * 7 + d, 24, 3);
    for (let i = 0; i < nq; i += 2)
      q.data.set(x.data.subarray(rng.int(n) * d, (rng.int(n) + 1) * d).subarray(0, d), i * d);
    const index = new ExactEuclideanIndex(d);
    index.add(x);
    expectOracle(index, x, [...Array(n).keys()], q, k);
    expect(quantized(index)).toBe(true);
  });

  it('stays exact with a large offset and near-duplicate rows (the centring and the bound at work)', () => {
    const d = 12;
    const n = 4500;
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < d; j++) data[i * d + j] = 1e4 + ((i * 7 + j) % 5) * 1e-3 + (i % 97) * 1e-4;
    const x = { data, rows: n, cols: d };
    const q = { data: Float32Array.from({ length: 16 * d }, (_, i) => 1e4 + (i % 3) * 1e-3), rows: 16, cols: d };
    const index = new ExactEuclideanIndex(d);
    index.add(x);
    expectOracle(index, x, [...Array(n).keys()], q, 20);
    expect(quantized(index)).toBe(true);
  });

  it('cosine: equals the oracle on unit rows', () => {
    const n = 4300;
    const d = 40;
    const x = clusteredMatrix(n, d, 5, 12, 2);
    const q = clusteredMatrix(18, d, 6, 12, 2);
    const index = new CosineIndex(d);
    index.add(x);
    expectOracle(index, x, [...Array(n).keys()], q, 9, cosine);
    expect(quantized(index)).toBe(true);
  });

  it('rebuilds its copy after add and remove, and then serves single queries from it', () => {
    const d = 24;
    const x = clusteredMatrix(5000, d, 11, 16, 3);
    const index = new ExactEuclideanIndex(d);
    index.add(rowsOf(x, [...Array(4500).keys()]));
    const q = clusteredMatrix(16, d, 12, 16, 3);
    index.search(q, 5);
    expect(quantized(index)).toBe(true);
    index.add(
      rowsOf(
        x,
        Array.from({ length: 500 }, (_, i) => 4500 + i),
      ),
    );
    const removed = [3, 4000, 4999, 17];
    index.remove(removed);
    const ids = [...Array(5000).keys()].filter((id) => !removed.includes(id));
    const kept = rowsOf(x, ids);
    // The rows moved (remove fills holes with the last row): the oracle ranks by id, as the index does.
    const check = (queries: Matrix) => {
      const r = index.search(queries, 6);
      const want = oracle(kept, ids, queries, 6, euclidean);
      for (let i = 0; i < queries.rows; i++)
        expect(Array.from(r.ids.subarray(i * 6, (i + 1) * 6))).toEqual(want[i].map((w) => w.id));
    };
    check(q);
    check(rowsOf(q, [0]));
    expect(quantized(index)).toBe(true);
  });

  it('ranks every row in float64 when a query cannot tell its rows apart (all rows equal)', () => {
    const n = 70_000;
    const d = 8;
    const x = { data: new Float32Array(n * d).fill(0.5), rows: n, cols: d };
    const q = { data: Float32Array.from({ length: 16 * d }, (_, i) => (i % 5) * 0.1), rows: 16, cols: d };
    const index = new ExactEuclideanIndex(d);
    index.add(x);
    const r = index.search(q, 3);
    for (let i = 0; i < 16; i++) {
      expect(Array.from(r.ids.subarray(i * 3, i * 3 + 3))).toEqual([0, 1, 2]);
      expect(r.distances[i * 3]).toBeCloseTo(euclidean(x.data.subarray(0, d), q.data.subarray(i * d, (i + 1) * d)), 12);
    }
  });
});
