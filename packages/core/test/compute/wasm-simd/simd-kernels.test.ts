import { describe, expect, it } from 'vitest';
import { SimdKernels } from '../../helpers/internal.js';

// Each kernel of src/simd/kernels.c against a plain float64 JS oracle, on shapes that hit every edge: rows not a
// multiple of the 4-row block, queries not a multiple of 2, columns not a multiple of 4, and across the 256-column
// float32 chunk.
const SHAPES = [
  [1, 1, 1],
  [3, 2, 3],
  [5, 3, 4],
  [9, 5, 7],
  [4, 1, 256],
  [7, 4, 257],
  [6, 3, 1000],
] as const;

let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const k = SimdKernels.create()!;

function put32(values: ArrayLike<number>) {
  const b = k.alloc(values.length, 4);
  k.f32(b).set(values);
  return b;
}
function put64(values: ArrayLike<number>) {
  const b = k.alloc(values.length, 8);
  k.f64(b).set(values);
  return b;
}

describe('cbir SIMD kernels against float64 oracles', () => {
  it('is available in Node', () => expect(SimdKernels.available).toBe(true));

  it.each(SHAPES)('dots_f32, sqdist_f64, nearest_f64 and argmin_dots: n = %i, m = %i, d = %i', (n, m, d) => {
    k.reset();
    const x = Float32Array.from({ length: n * d }, rand);
    const q = Float32Array.from({ length: m * d }, rand);
    const p = Float64Array.from(q);
    const xb = put32(x);
    const qb = put32(q);
    const pb = put64(p);
    const dots = k.alloc(n * m, 8);
    const sq = k.alloc(n * m, 8);
    const lb = k.alloc(n, 4);
    const db = k.alloc(n, 8);
    k.k.dots_f32(xb.ptr, n, qb.ptr, m, d, dots.ptr);
    k.k.sqdist_f64(xb.ptr, n, pb.ptr, m, d, sq.ptr);
    k.k.nearest_f64(xb.ptr, n, pb.ptr, m, d, lb.ptr, db.ptr);
    const D = k.f64(dots);
    const S = k.f64(sq);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 0; c < m; c++) {
        let dot = 0;
        let abs = 0;
        let s2 = 0;
        for (let j = 0; j < d; j++) {
          dot += x[i * d + j] * q[c * d + j];
          abs += Math.abs(x[i * d + j] * q[c * d + j]);
          s2 += (x[i * d + j] - p[c * d + j]) ** 2;
        }
        // float32 sums over at most 256 / 4 products per lane: the documented bound.
        expect(Math.abs(D[i * m + c] - dot)).toBeLessThanOrEqual((Math.min(d, 256) / 4 + 2) * 2 ** -24 * abs + 1e-12);
        expect(Math.abs(S[i * m + c] - s2)).toBeLessThanOrEqual(1e-12 * (1 + s2));
        if (s2 < S[i * m + best] - 1e-12) best = c;
      }
      expect(k.i32(lb)[i]).toBe(best);
      expect(k.f64(db)[i]).toBe(S[i * m + best]);
    }
    // argmin over |p|^2 - 2 x.p gives the same centre.
    const pn = put64(
      Array.from({ length: m }, (_, c) => q.subarray(c * d, (c + 1) * d).reduce((s, v) => s + v * v, 0)),
    );
    const vb = k.alloc(n, 8);
    k.k.argmin_dots(dots.ptr, n, m, pn.ptr, lb.ptr, vb.ptr);
    for (let i = 0; i < n; i++) {
      const vals = Array.from({ length: m }, (_, c) => k.f64(pn)[c] - 2 * k.f64(dots)[i * m + c]);
      expect(k.i32(lb)[i]).toBe(vals.indexOf(Math.min(...vals)));
    }
  });

  it.each(SHAPES)('gather, centring, sums, inertia and the mini-batch update: n = %i, k = %i, d = %i', (n, m, d) => {
    k.reset();
    const x = Float32Array.from({ length: n * d }, rand);
    const idx = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % n);
    const labels = Int32Array.from({ length: n }, (_, i) => i % m);
    const centres = Float64Array.from({ length: m * d }, rand);
    const counts = Float64Array.from({ length: m }, (_, c) => c + 1);
    const xb = put32(x);
    const ib = k.alloc(n, 4);
    k.i32(ib).set(idx);
    const lb = k.alloc(n, 4);
    k.i32(lb).set(labels);
    const gb = k.alloc(n * d, 4);
    k.k.gather_rows_f32(xb.ptr, ib.ptr, n, d, gb.ptr);
    for (let i = 0; i < n; i++)
      expect(Array.from(k.f32(gb).subarray(i * d, (i + 1) * d))).toEqual(
        Array.from(x.subarray(idx[i] * d, (idx[i] + 1) * d)),
      );

    const mean = Float32Array.from({ length: d }, rand);
    const mb = put32(mean);
    const cb = k.alloc(n * d, 4);
    const nb = k.alloc(n, 8);
    k.k.centre_f32(xb.ptr, n, d, mb.ptr, cb.ptr, nb.ptr);
    for (let i = 0; i < n; i++) {
      const row = Array.from({ length: d }, (_, j) => Math.fround(x[i * d + j] - mean[j]));
      expect(Array.from(k.f32(cb).subarray(i * d, (i + 1) * d))).toEqual(row);
      expect(Math.abs(k.f64(nb)[i] - row.reduce((s, v) => s + v * v, 0))).toBeLessThan(1e-12 * d);
    }

    const sums = put64(new Float64Array(m * d));
    const cols = put64(new Float64Array(d));
    k.k.cluster_sums_f64(xb.ptr, n, d, lb.ptr, sums.ptr);
    k.k.column_sums_f64(xb.ptr, n, d, cols.ptr);
    const ctr = put64(centres);
    const inertia = k.k.inertia_f64(xb.ptr, n, d, lb.ptr, ctr.ptr);
    let want = 0;
    for (let c = 0; c < m; c++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) if (labels[i] === c) s += x[i * d + j];
        expect(Math.abs(k.f64(sums)[c * d + j] - s)).toBeLessThan(1e-12);
      }
    }
    for (let j = 0; j < d; j++)
      expect(Math.abs(k.f64(cols)[j] - x.filter((_, t) => t % d === j).reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) want += (x[i * d + j] - centres[labels[i] * d + j]) ** 2;
    expect(Math.abs(inertia - want)).toBeLessThan(1e-12 * (1 + want));

    // scikit-learn's update: (centre * count + sum of its rows) / (count + hits) for the rows idx.
    const cnt = put64(counts);
    const hits = k.alloc(m, 8);
    k.k.centre_update_f64(xb.ptr, ib.ptr, n, d, lb.ptr, m, ctr.ptr, cnt.ptr, hits.ptr);
    for (let c = 0; c < m; c++) {
      const mine = labels.reduce((a, l) => a + (l === c ? 1 : 0), 0);
      expect(k.f64(cnt)[c]).toBe(counts[c] + mine);
      for (let j = 0; j < d; j++) {
        let s = centres[c * d + j] * counts[c];
        for (let i = 0; i < n; i++) if (labels[i] === c) s += x[idx[i] * d + j];
        const expected = mine ? s / (counts[c] + mine) : centres[c * d + j];
        expect(Math.abs(k.f64(ctr)[c * d + j] - expected)).toBeLessThan(1e-12);
      }
    }
  });

  it('sqdist_rows_f64 reads rows in place; first_nonfinite_f32 finds the first NaN or infinity', () => {
    k.reset();
    const d = 37;
    const x = Float32Array.from({ length: 50 * d }, rand);
    const q = Float64Array.from({ length: d }, rand);
    const rows = [49, 0, 17, 17, 3];
    const xb = put32(x);
    const ib = k.alloc(rows.length, 4);
    k.i32(ib).set(rows);
    const qb = put64(q);
    const ob = k.alloc(rows.length, 8);
    k.k.sqdist_rows_f64(xb.ptr, ib.ptr, rows.length, qb.ptr, d, ob.ptr);
    rows.forEach((r, i) =>
      expect(Math.abs(k.f64(ob)[i] - q.reduce((s, v, j) => s + (x[r * d + j] - v) ** 2, 0))).toBeLessThan(1e-12),
    );

    expect(k.k.first_nonfinite_f32(xb.ptr, x.length, 0)).toBe(-1);
    for (const [at, bad] of [
      [0, NaN],
      [15, Infinity],
      [16, -Infinity],
      [1000, NaN],
      [x.length - 1, Infinity],
    ] as const) {
      const f = k.f32(xb);
      const keep = f[at];
      f[at] = bad;
      if (at > 3) f[at + 3 < f.length ? at + 3 : at] = at + 3 < f.length ? NaN : bad; // a later one must not win
      expect(k.k.first_nonfinite_f32(xb.ptr, x.length, 100)).toBe(100 + at);
      f.set(x);
      f[at] = keep;
    }
  });

  it('keeps data across memory growth, frees scratch on release, and refuses more than wasm32 holds', () => {
    const s = SimdKernels.create()!;
    const a = s.alloc(1000, 4);
    s.f32(a).fill(7);
    s.mark();
    const big = s.alloc(8 << 20, 4); // grows the memory: old views detach, the data stays
    expect(s.f32(a)[999]).toBe(7);
    expect(big.ptr).toBeGreaterThan(a.ptr);
    s.release();
    expect(s.alloc(4, 4).ptr).toBe(big.ptr);
    expect(() => s.alloc(2 ** 31, 4)).toThrow(RangeError);
    expect(SimdKernels.fits(2 ** 33)).toBe(false);
  });

  it.each(SHAPES)(
    'quantize_i16 and scan_i16: every exact score lies within the kernel bounds (n = %i, nq = %i, d = %i)',
    (n, nq, d) => {
      k.reset();
      const dp = Math.ceil(d / 8) * 8;
      // An offset and a spread of scales between rows, so that the centring and the per-row scales matter.
      const xs = Array.from({ length: n * d }, (_, i) => 5 + rand() * (1 + (Math.floor(i / d) % 3)));
      const qs = Array.from({ length: nq * d }, () => 5 + rand() * 2);
      const mean = Array.from({ length: d }, () => 5 + rand() * 0.1);
      const x = put32(xs);
      const q = put32(qs);
      const xq = k.alloc((n * dp) / 2 + 4, 4);
      const qq = k.alloc(((nq + 1) * dp) / 2 + 4, 4);
      const xScale = k.alloc(n, 8),
        xL1 = k.alloc(n, 8),
        qScale = k.alloc(nq + 1, 8),
        qL1 = k.alloc(nq + 1, 8);
      const m = put64(mean);
      const zeros = put64(new Array(d).fill(0));
      k.k.quantize_i16(x.ptr, n, d, m.ptr, dp, xq.ptr, xScale.ptr, xL1.ptr);
      k.k.quantize_i16(q.ptr, nq, d, zeros.ptr, dp, qq.ptr, qScale.ptr, qL1.ptr);
      const f32x = k.f32(x),
        f32q = k.f32(q);
      // The quantised row: each value within half a step of the centred one, and |x~|_1 as stored.
      const x16 = new Int16Array(k.f32(xq).buffer, xq.ptr, n * dp);
      for (let r = 0; r < n; r++) {
        const a = k.f64(xScale)[r];
        let l1 = 0;
        for (let j = 0; j < d; j++) {
          const c = f32x[r * d + j] - mean[j];
          expect(Math.abs(c - a * x16[r * dp + j])).toBeLessThanOrEqual(a / 2 + 1e-12 * Math.abs(c));
          expect(Math.abs(x16[r * dp + j])).toBeLessThanOrEqual(4095);
          l1 += Math.abs(x16[r * dp + j]);
        }
        for (let j = d; j < dp; j++) expect(x16[r * dp + j]).toBe(0);
        expect(k.f64(xL1)[r]).toBe(l1);
      }
      // scan_i16 with every threshold infinite writes every pair; the exact score |x|^2 - 2 q.(x - mean) is within.
      const rv = new Float64Array(n * 4);
      // Sums over the float32 values the kernels read: row r's (or query t's) f(v) summed.
      const rowSum = (v: Float32Array, r: number, f: (x: number) => number) =>
        v.subarray(r * d, (r + 1) * d).reduce((s, x) => s + f(x), 0);
      const norms = Array.from({ length: n }, (_, r) => rowSum(f32x, r, (v) => v * v));
      for (let r = 0; r < n; r++) {
        const a = k.f64(xScale)[r];
        rv.set([a, a * k.f64(xL1)[r] * (1 + 2 ** -20), norms[r], (d + 16) * norms[r] * 2 ** -50], r * 4);
      }
      const rvb = put64(rv);
      // One more entry each for the zero query that pads an odd count.
      const perQuery = (f: (t: number) => number) => put64([...Array.from({ length: nq }, (_, t) => f(t)), 0]);
      const ql1 = perQuery((t) => rowSum(f32q, t, Math.abs) * (1 + 2 ** -20));
      const qsl = perQuery((t) => (d + 16) * rowSum(f32q, t, (v) => v * v) * 2 ** -50);
      const thr = put64(new Array(nq + 1).fill(Infinity));
      const cr = k.alloc(n * nq, 4),
        cq = k.alloc(n * nq, 4),
        lo = k.alloc(n * nq, 8),
        hi = k.alloc(n * nq, 8);
      const count = k.k.scan_i16(
        xq.ptr,
        n,
        qq.ptr,
        nq,
        dp,
        rvb.ptr,
        qScale.ptr,
        ql1.ptr,
        qsl.ptr,
        thr.ptr,
        cr.ptr,
        cq.ptr,
        lo.ptr,
        hi.ptr,
      );
      expect(count).toBe(n * nq);
      let widest = 0;
      for (let c = 0; c < count; c++) {
        const r = k.i32(cr)[c],
          t = k.i32(cq)[c];
        let dot = 0;
        for (let j = 0; j < d; j++) dot += f32q[t * d + j] * (f32x[r * d + j] - mean[j]);
        const s = norms[r] - 2 * dot;
        expect(k.f64(lo)[c]).toBeLessThanOrEqual(s);
        expect(k.f64(hi)[c]).toBeGreaterThanOrEqual(s);
        widest = Math.max(widest, (k.f64(hi)[c] - k.f64(lo)[c]) / Math.max(1, Math.abs(s)));
      }
      // And the bounds are tight enough to be useful: 13 bits per value.
      expect(widest).toBeLessThan(0.05);
    },
  );
});
