import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TopK } from '../../../src/compute/top-k.js';
import { Int16Scan } from '../../../src/indexes/exact-scan/int16-scan.js';
import { jsScan } from '../../../src/indexes/exact-scan/js-scan.js';
import { matMulScan } from '../../../src/indexes/exact-scan/matmul-scan.js';
import type { CandidateScan, ScanRows } from '../../../src/indexes/exact-scan/scan-rows.js';
import { simdScan } from '../../../src/indexes/exact-scan/simd-scan.js';
import { FlatStore } from '../../../src/indexes/flat-store.js';
import { Rng } from '../../../src/utils/rng.js';
import { useBackend } from '../../helpers/backends.js';

// Each first pass of the exact index, on its own, against a float64 oracle of the score it approximates,
// |x|^2 - 2 q.x: every score it offers is within the rounding bound it returns, and no row it passed over scores
// below what its heap kept by more than that bound (so the facade's exactness check, which trusts the bound, is sound).
// The int16 pass is checked for what it promises instead: every true neighbour among its candidates.

function rowsOf(n: number, dim: number, seed: number, scale = 1): ScanRows {
  const rng = new Rng(seed);
  const data = Float32Array.from({ length: n * dim }, () => rng.normal() * scale + 0.3);
  const store = new FlatStore(dim);
  store.append(
    { data, rows: n, cols: dim },
    Array.from({ length: n }, (_, i) => i),
  );
  const norms = new Float64Array(n);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) norms[r] += data[r * dim + j] ** 2;
  return { store, norms, dim, size: n, rankByDot: false };
}

function queriesOf(nq: number, dim: number, seed: number) {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: nq * dim }, () => rng.normal()), rows: nq, cols: dim };
}

/** |x_r|^2 - 2 q.x_r in float64. */
function score(rows: ScanRows, q: Float32Array, qi: number, r: number): number {
  let s = 0;
  for (let j = 0; j < rows.dim; j++) s += rows.store.data[r * rows.dim + j] * q[qi * rows.dim + j];
  return rows.norms[r] - 2 * s;
}

const SCANS: Record<string, CandidateScan> = { js: jsScan, simd: simdScan, matMul: matMulScan };
const SHAPES = [
  { n: 300, dim: 7, nq: 3 },
  { n: 520, dim: 300, nq: 9 }, // past the SIMD kernel's 256-column chunk
  { n: 70, dim: 4500, nq: 5 }, // past matMul's 4,096-column chunk
];

describe('the exact index first passes (exact-scan/), against a float64 oracle', () => {
  beforeAll(() => useBackend('cpu'));

  for (const [name, scan] of Object.entries(SCANS))
    for (const { n, dim, nq } of SHAPES)
      it(`${name}, ${n} rows of ${dim}: scores within its bound, nothing better passed over`, () => {
        const rows = rowsOf(n, dim, n + dim);
        if (name === 'simd' && !rows.store.simd) return expect(rows.store.simd).toBeUndefined();
        const queries = queriesOf(nq, dim, 7);
        const m = 20;
        const heaps = Array.from({ length: nq }, () => new TopK(m));
        const tensors = tf.memory().numTensors;
        const factor = scan(rows, queries, heaps);
        expect(tf.memory().numTensors).toBe(tensors);
        const maxNorm = Math.max(...rows.norms);
        for (let qi = 0; qi < nq; qi++) {
          let qn = 0;
          for (let j = 0; j < dim; j++) qn += queries.data[qi * dim + j] ** 2;
          const bound = factor * Math.sqrt(qn * maxNorm) + 2 ** -48 * (qn + maxNorm);
          const heap = heaps[qi];
          expect(heap.n).toBe(m);
          const kept = new Set(heap.items.subarray(0, heap.n));
          for (let i = 0; i < heap.n; i++)
            expect(Math.abs(heap.vals[i] - score(rows, queries.data, qi, heap.items[i]))).toBeLessThanOrEqual(bound);
          for (let r = 0; r < n; r++)
            if (!kept.has(r)) expect(score(rows, queries.data, qi, r)).toBeGreaterThanOrEqual(heap.worst - 2 * bound);
        }
      });

  it("int16: every query's true k nearest are among its candidates, on rows of any scale", () => {
    for (const scale of [1, 1e-3, 1e4]) {
      const rows = rowsOf(900, 24, 3, scale);
      if (!rows.store.simd) return expect(rows.store.simd).toBeUndefined();
      const queries = queriesOf(20, 24, 5);
      const k = 10;
      const candidates = new Int16Scan().candidates(rows, queries, k)!;
      expect(candidates).toHaveLength(20);
      for (let qi = 0; qi < 20; qi++) {
        const truth = Array.from({ length: 900 }, (_, r) => r)
          .sort((a, b) => score(rows, queries.data, qi, a) - score(rows, queries.data, qi, b))
          .slice(0, k);
        const got = new Set(candidates[qi] ?? Array.from({ length: 900 }, (_, r) => r));
        for (const r of truth) expect(got.has(r)).toBe(true);
        expect(got.size).toBeLessThan(900); // it prunes
      }
    }
  });

  it('int16: applies to batches on the SIMD engine over enough rows, and then to single queries while its copy holds', () => {
    const rows = rowsOf(4096, 8, 1);
    if (!rows.store.simd) return expect(rows.store.simd).toBeUndefined();
    const pass = new Int16Scan();
    expect(pass.applies(rows, 16, 'matMul')).toBe(false);
    expect(pass.applies(rowsOf(4095, 8, 1), 16, 'simd')).toBe(false);
    expect(pass.applies(rows, 1, 'simd')).toBe(false);
    expect(pass.applies(rows, 16, 'simd')).toBe(true);
    pass.candidates(rows, queriesOf(16, 8, 2), 5);
    expect(pass.applies(rows, 1, 'simd')).toBe(true);
  });
});
