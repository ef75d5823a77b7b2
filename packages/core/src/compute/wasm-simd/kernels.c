// cbir's own WebAssembly SIMD kernels: the distance loops under the indexes and the clustering, and the wasm
// backend's convolutions and filter gradients (src/tfjs-kernels/wasm).
// Built by scripts/simd/build.sh (clang-19 --target=wasm32 -msimd128, and again with -mrelaxed-simd) into simd-binary.ts; no libc, no allocator:
// the caller lays out every buffer in the module's imported memory.
#include <wasm_simd128.h>
#include "elementwise.h"

static inline double hsum_f64(v128_t v) { return wasm_f64x2_extract_lane(v, 0) + wasm_f64x2_extract_lane(v, 1); }
static inline double hsum_f32(v128_t v) {
  return ((double)wasm_f32x4_extract_lane(v, 0) + (double)wasm_f32x4_extract_lane(v, 1)) +
         ((double)wasm_f32x4_extract_lane(v, 2) + (double)wasm_f32x4_extract_lane(v, 3));
}

// Squared distance sum_j (x[j] - p[j])^2 in float64 for a float32 row and a float64 point (same order of
// summation for every pair, so equal inputs give equal outputs).
static inline double sqdist_row(const float *x, const double *p, int d) {
  v128_t a0 = wasm_f64x2_splat(0), a1 = wasm_f64x2_splat(0);
  int j = 0;
  for (; j + 4 <= d; j += 4) {
    v128_t xv = wasm_v128_load(x + j);
    v128_t lo = wasm_f64x2_promote_low_f32x4(xv);
    v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xv, xv, 2, 3, 0, 1));
    v128_t d0 = wasm_f64x2_sub(lo, wasm_v128_load(p + j));
    v128_t d1 = wasm_f64x2_sub(hi, wasm_v128_load(p + j + 2));
    a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(d0, d0));
    a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(d1, d1));
  }
  double s = hsum_f64(wasm_f64x2_add(a0, a1));
  for (; j < d; j++) {
    double t = (double)x[j] - p[j];
    s += t * t;
  }
  return s;
}

// out[i * m + c] = |x_i - p_c|^2 (float64), x: [n, d] float32, p: [m, d] float64, both row-major.
EXPORT void sqdist_f64(const float *x, int n, const double *p, int m, int d, double *out) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (long)i * d;
    for (int c = 0; c < m; c++) out[(long)i * m + c] = sqdist_row(xi, p + (long)c * d, d);
  }
}

// For each row of x, the nearest of the m points (lowest index on ties) and its squared distance (float64).
EXPORT void nearest_f64(const float *x, int n, const double *p, int m, int d, int *labels, double *dist2) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (long)i * d;
    int best = 0;
    double bestD = __builtin_inf();
    for (int c = 0; c < m; c++) {
      double s = sqdist_row(xi, p + (long)c * d, d);
      if (s < bestD) {
        bestD = s;
        best = c;
      }
    }
    labels[i] = best;
    dist2[i] = bestD;
  }
}

// For each row of dots ([n, m] float64), the column minimising pn[c] - 2 dots[i, c] (lowest on ties), and that value:
// with the GEMM form |x|^2 + |p|^2 - 2 x.p, the nearest point (|x|^2 is the same for every c).
EXPORT void argmin_dots(const double *dots, int n, int m, const double *pn, int *labels, double *vals) {
  for (int i = 0; i < n; i++) {
    const double *row = dots + (long)i * m;
    int best = 0;
    double bestV = __builtin_inf();
    for (int c = 0; c < m; c++) {
      double v = pn[c] - 2 * row[c];
      if (v < bestV) {
        bestV = v;
        best = c;
      }
    }
    labels[i] = best;
    vals[i] = bestV;
  }
}

// Sum of the rows of each cluster in float64: sums[labels[i] * d + j] += x[i * d + j] (sums zeroed by the caller).
EXPORT void cluster_sums_f64(const float *x, int n, int d, const int *labels, double *sums) {
  for (int i = 0; i < n; i++) add_row_f64(sums + (long)labels[i] * d, x + (long)i * d, d);
}

// Float32 products are summed in float32 over chunks of this many columns (each of the 4 SIMD lanes sums CHUNK / 4
// of them), then in float64: a dot product's rounding error is at most (CHUNK / 4 + 1) float32 units of roundoff
// times sum |x_j q_j|, whatever d is.
#define CHUNK 256

static inline v128_t madd(v128_t acc, v128_t a, v128_t b) { return wasm_f32x4_add(acc, wasm_f32x4_mul(a, b)); }
#ifdef __wasm_relaxed_simd__
static inline v128_t conv_madd(v128_t acc, v128_t a, v128_t b) { return wasm_f32x4_relaxed_madd(a, b, acc); }
#else
#define conv_madd madd
#endif

// out[i * nq + t] = x_i . q_t with x: [n, d], q: [nq, d] float32, row-major. Blocked for the cache: four rows of x
// and one chunk of columns (16 KB) stay in L1 while every query's chunk streams past them, two queries at a time.
// No arrays and no calls, so nothing is on the shadow stack (threads share one memory: see simd-threads in cbir-node).
static void dots_f32_ld(const float *x, int n, int ldx, const float *q, int nq, int ldq, int d, double *out) {
  for (long o = 0; o < (long)n * nq; o++) out[o] = 0;
  int d4 = d & ~3;
  for (int i = 0; i < n; i += 4) {
    int rows = n - i < 4 ? n - i : 4;
    // Rows past the end repeat row i (computed, never stored).
    const float *x0 = x + (long)i * ldx;
    const float *x1 = rows > 1 ? x0 + ldx : x0, *x2 = rows > 2 ? x0 + 2 * ldx : x0, *x3 = rows > 3 ? x0 + 3 * ldx : x0;
    double *o0 = out + (long)i * nq, *o1 = o0 + nq, *o2 = o1 + nq, *o3 = o2 + nq;
    for (int j0 = 0; j0 < d4; j0 += CHUNK) {
      int j1 = j0 + CHUNK < d4 ? j0 + CHUNK : d4;
      int t = 0;
      for (; t + 2 <= nq; t += 2) {
        const float *qa = q + (long)t * ldq, *qb = qa + ldq;
        v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int j = j0; j < j1; j += 4) {
          v128_t va = wasm_v128_load(qa + j), vb = wasm_v128_load(qb + j);
          v128_t v0 = wasm_v128_load(x0 + j), v1 = wasm_v128_load(x1 + j);
          v128_t v2 = wasm_v128_load(x2 + j), v3 = wasm_v128_load(x3 + j);
          a0 = madd(a0, v0, va); b0 = madd(b0, v0, vb);
          a1 = madd(a1, v1, va); b1 = madd(b1, v1, vb);
          a2 = madd(a2, v2, va); b2 = madd(b2, v2, vb);
          a3 = madd(a3, v3, va); b3 = madd(b3, v3, vb);
        }
        o0[t] += hsum_f32(a0); o0[t + 1] += hsum_f32(b0);
        if (rows > 1) { o1[t] += hsum_f32(a1); o1[t + 1] += hsum_f32(b1); }
        if (rows > 2) { o2[t] += hsum_f32(a2); o2[t + 1] += hsum_f32(b2); }
        if (rows > 3) { o3[t] += hsum_f32(a3); o3[t + 1] += hsum_f32(b3); }
      }
      for (; t < nq; t++) {
        const float *qa = q + (long)t * ldq;
        v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (int j = j0; j < j1; j += 4) {
          v128_t va = wasm_v128_load(qa + j);
          a0 = madd(a0, wasm_v128_load(x0 + j), va);
          a1 = madd(a1, wasm_v128_load(x1 + j), va);
          a2 = madd(a2, wasm_v128_load(x2 + j), va);
          a3 = madd(a3, wasm_v128_load(x3 + j), va);
        }
        o0[t] += hsum_f32(a0);
        if (rows > 1) o1[t] += hsum_f32(a1);
        if (rows > 2) o2[t] += hsum_f32(a2);
        if (rows > 3) o3[t] += hsum_f32(a3);
      }
    }
    if (d4 < d)
      for (int t = 0; t < nq; t++) {
        const float *qt = q + (long)t * ldq;
        for (int j = d4; j < d; j++) {
          o0[t] += (double)x0[j] * qt[j];
          if (rows > 1) o1[t] += (double)x1[j] * qt[j];
          if (rows > 2) o2[t] += (double)x2[j] * qt[j];
          if (rows > 3) o3[t] += (double)x3[j] * qt[j];
        }
      }
  }
}

// dots_f32_ld with rows of length d stored contiguously (ldx = ldq = d), the form cbir calls.
EXPORT void dots_f32(const float *x, int n, const float *q, int nq, int d, double *out) { dots_f32_ld(x, n, d, q, nq, d, d, out); }

// The candidates of an exact scan's block: for rows [0, n) of a [n, t] block of dot products, the scores
// v = norms[r] - 2 * dots[r * t + q] below thr[q] (query q's current worst kept score), written as (r, q, v) in order.
// Returns their count. Replaces a JS loop over every score (a quarter of a batched scan's time): JS then pushes only
// the few that can enter a query's top list.
EXPORT int select_below_f64(const double *dots, int n, int t, const double *norms, const double *thr, int *cand_r, int *cand_q, double *cand_v) {
  int c = 0;
  for (int r = 0; r < n; r++) {
    double nr = norms[r];
    const double *dr = dots + (long)r * t;
    for (int q = 0; q < t; q++) {
      double v = nr - 2 * dr[q];
      if (v < thr[q]) {
        cand_r[c] = r;
        cand_q[c] = q;
        cand_v[c] = v;
        c++;
      }
    }
  }
  return c;
}

// ---- The int16 first pass of a batched exact scan -------------------------------------------------------------
// A row c (the row minus the column means) is stored as a * c~ with c~ integers in [-Q16, Q16] (a = max |c_j| / Q16),
// the query q as b * q~. Then q.c = a b (q~.c~) + err with |err| <= a (b |c~|_1 + |q|_1) / 2 (each rounding is at most
// half a step), and q~.c~ is computed exactly in int32: i32x4.dot_i16x8_s does 8 multiply-adds per instruction where
// float32 needs two instructions for 4, on half the bytes. With Q16 = 4095 each product is below 2^24 and a lane sums
// at most CHUNK / 4 = 64 of them per chunk (below 2^30), so no int32 overflows.
#define Q16 4095

static inline double hsum_i32(v128_t v) {
  return ((double)wasm_i32x4_extract_lane(v, 0) + (double)wasm_i32x4_extract_lane(v, 1)) +
         ((double)wasm_i32x4_extract_lane(v, 2) + (double)wasm_i32x4_extract_lane(v, 3));
}

// Two values (float64 lanes) minus their mean, times inv, rounded to the nearest integer within [-Q16, Q16], as the
// low two int32 lanes.
static inline __attribute__((always_inline)) v128_t quant2(v128_t x, const double *mean, v128_t inv) {
  v128_t v = wasm_f64x2_nearest(wasm_f64x2_mul(wasm_f64x2_sub(x, wasm_v128_load(mean)), inv));
  return wasm_i32x4_trunc_sat_f64x2_zero(wasm_f64x2_pmin(wasm_f64x2_splat(Q16), wasm_f64x2_pmax(wasm_f64x2_splat(-Q16), v)));
}

// Quantises rows x [n, d] (float32) minus mean [d] (float64) into out [n, dp] int16 (dp >= d, a multiple of 8; the
// columns past d are zeros), with scale[i] = a and l1[i] = |c~_i|_1. Rounds half to even (any rounding to nearest
// keeps the error within half a step). Vectorised: a scalar version ran at 5 to 10 ns per value, two dependency chains deep.
EXPORT void quantize_i16(const float *x, int n, int d, const double *mean, int dp, short *out, double *scale, double *l1) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (long)i * d;
    short *o = out + (long)i * dp;
    v128_t m0 = wasm_f64x2_splat(0), m1 = m0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      v128_t xv = wasm_v128_load(xi + j);
      v128_t c0 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(xv), wasm_v128_load(mean + j));
      v128_t c1 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xv, xv, 2, 3, 0, 1)), wasm_v128_load(mean + j + 2));
      m0 = wasm_f64x2_pmax(m0, wasm_f64x2_abs(c0));
      m1 = wasm_f64x2_pmax(m1, wasm_f64x2_abs(c1));
    }
    v128_t mm = wasm_f64x2_pmax(m0, m1);
    double m = wasm_f64x2_extract_lane(mm, 0) > wasm_f64x2_extract_lane(mm, 1) ? wasm_f64x2_extract_lane(mm, 0) : wasm_f64x2_extract_lane(mm, 1);
    for (int t = j; t < d; t++) {
      double c = (double)xi[t] - mean[t];
      double a = c < 0 ? -c : c;
      if (a > m) m = a;
    }
    double inv = m > 0 ? Q16 / m : 0;
    v128_t vinv = wasm_f64x2_splat(inv), acc = wasm_i32x4_splat(0);
    j = 0;
    for (; j + 8 <= d; j += 8) {
      v128_t xa = wasm_v128_load(xi + j), xb = wasm_v128_load(xi + j + 4);
      v128_t r0 = quant2(wasm_f64x2_promote_low_f32x4(xa), mean + j, vinv);
      v128_t r1 = quant2(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xa, xa, 2, 3, 0, 1)), mean + j + 2, vinv);
      v128_t r2 = quant2(wasm_f64x2_promote_low_f32x4(xb), mean + j + 4, vinv);
      v128_t r3 = quant2(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xb, xb, 2, 3, 0, 1)), mean + j + 6, vinv);
      v128_t lo = wasm_i32x4_shuffle(r0, r1, 0, 1, 4, 5), hi = wasm_i32x4_shuffle(r2, r3, 0, 1, 4, 5);
      acc = wasm_i32x4_add(acc, wasm_i32x4_add(wasm_i32x4_abs(lo), wasm_i32x4_abs(hi)));
      wasm_v128_store(o + j, wasm_i16x8_narrow_i32x4(lo, hi));
    }
    double l = hsum_i32(acc);
    for (; j < d; j++) {
      double v = ((double)xi[j] - mean[j]) * inv;
      v = v > Q16 ? Q16 : v < -Q16 ? -Q16 : v;
      int r = (int)__builtin_nearbyint(v);
      o[j] = (short)r;
      l += r < 0 ? -r : r;
    }
    for (; j < dp; j++) o[j] = 0;
    scale[i] = m / Q16;
    l1[i] = l;
  }
}


static inline v128_t dot8(v128_t acc, v128_t a, v128_t b) { return wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(a, b)); }

// Row r's score s = base - 2 a b D for queries t and t + 1 at once (f64x2 lanes; D = da, db) and its bound e (see
// scan_i16); writes the pairs whose s - e <= thr as candidates (the second only when it is a query, tn > 1).
static inline __attribute__((always_inline)) int test2(const double *rv, double da, double db, v128_t qs, v128_t ql1, v128_t qsl, v128_t thr, int r,
                        int t, int tn, int c, int *cand_r, int *cand_q, double *cand_lo, double *cand_hi) {
  v128_t a = wasm_f64x2_splat(rv[0]);
  v128_t p = wasm_f64x2_mul(wasm_f64x2_mul(a, qs), wasm_f64x2_make(da, db));
  v128_t s = wasm_f64x2_sub(wasm_f64x2_splat(rv[2]), wasm_f64x2_add(p, p));
  v128_t e = wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_mul(qs, wasm_f64x2_splat(rv[1])), wasm_f64x2_mul(a, ql1)),
                            wasm_f64x2_add(wasm_f64x2_add(wasm_f64x2_splat(rv[3]), qsl),
                                           wasm_f64x2_mul(wasm_f64x2_abs(p), wasm_f64x2_splat(0x1p-48))));
  v128_t lo = wasm_f64x2_sub(s, e);
  v128_t hit = wasm_f64x2_le(lo, thr);
  if (!wasm_v128_any_true(hit)) return c;
  v128_t hi = wasm_f64x2_add(s, e);
  if (wasm_i64x2_extract_lane(hit, 0)) {
    cand_r[c] = r; cand_q[c] = t;
    cand_lo[c] = wasm_f64x2_extract_lane(lo, 0); cand_hi[c] = wasm_f64x2_extract_lane(hi, 0);
    c++;
  }
  if (tn > 1 && wasm_i64x2_extract_lane(hit, 1)) {
    cand_r[c] = r; cand_q[c] = t + 1;
    cand_lo[c] = wasm_f64x2_extract_lane(lo, 1); cand_hi[c] = wasm_f64x2_extract_lane(hi, 1);
    c++;
  }
  return c;
}

// The int16 scan of a block, with its selection fused in: for rows x [n, dp] (int16) and queries q [nq, dp] (int16;
// nq even, a zero query padding an odd count), the integer products D = x~_r . q~_t (four rows and two queries in
// registers, int32 within a chunk of CHUNK columns, float64 across chunks), then each pair's score
// s = base_r - 2 a_r b_t D and its bound e = b_t B_r + a_r L_t + S_r + S_t + 2^-48 |a_r b_t D|, where per row
// rv[4 r ..] = (a_r, B_r = a_r |x~_r|_1 (1 + 2^-20), base_r, S_r) and per query qs[t] = b_t, ql1[t] = L_t =
// |q_t|_1 (1 + 2^-20), qsl[t] = S_t. e bounds the quantisation error (a (b |x~|_1 + |q|_1), see Q16); the S terms and
// the last one cover float64 rounding, here and in the caller's exact distances. A pair is written as
// (r, t, s - e, s + e) when s - e <= thr[t] (query t's k-th smallest upper bound so far). Returns the count. Selecting
// here, as the products come out of the registers, costs a few vector operations per pair; a separate pass over a
// [n, nq] block of float64 products cost as much as the products themselves.
EXPORT int scan_i16(const short *x, int n, const short *q, int nq, int dp, const double *rv, const double *qs,
                    const double *ql1, const double *qsl, const double *thr, int *cand_r, int *cand_q, double *cand_lo,
                    double *cand_hi) {
  int c = 0;
  for (int i = 0; i < n; i += 4) {
    int rows = n - i < 4 ? n - i : 4;
    const short *x0 = x + (long)i * dp;
    const short *x1 = rows > 1 ? x0 + dp : x0, *x2 = rows > 2 ? x0 + 2 * dp : x0, *x3 = rows > 3 ? x0 + 3 * dp : x0;
    for (int t = 0; t < nq; t += 2) {
      const short *qa = q + (long)t * dp, *qb = qa + dp;
      double da0 = 0, da1 = 0, da2 = 0, da3 = 0, db0 = 0, db1 = 0, db2 = 0, db3 = 0;
      for (int j0 = 0; j0 < dp; j0 += CHUNK) {
        int j1 = j0 + CHUNK < dp ? j0 + CHUNK : dp;
        v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int j = j0; j < j1; j += 8) {
          v128_t va = wasm_v128_load(qa + j), vb = wasm_v128_load(qb + j);
          v128_t v0 = wasm_v128_load(x0 + j), v1 = wasm_v128_load(x1 + j);
          v128_t v2 = wasm_v128_load(x2 + j), v3 = wasm_v128_load(x3 + j);
          a0 = dot8(a0, v0, va); b0 = dot8(b0, v0, vb);
          a1 = dot8(a1, v1, va); b1 = dot8(b1, v1, vb);
          a2 = dot8(a2, v2, va); b2 = dot8(b2, v2, vb);
          a3 = dot8(a3, v3, va); b3 = dot8(b3, v3, vb);
        }
        da0 += hsum_i32(a0); db0 += hsum_i32(b0);
        da1 += hsum_i32(a1); db1 += hsum_i32(b1);
        da2 += hsum_i32(a2); db2 += hsum_i32(b2);
        da3 += hsum_i32(a3); db3 += hsum_i32(b3);
      }
      v128_t vqs = wasm_v128_load(qs + t), vql1 = wasm_v128_load(ql1 + t), vqsl = wasm_v128_load(qsl + t);
      v128_t vthr = wasm_v128_load(thr + t);
      int tn = nq - t;
      c = test2(rv + (long)i * 4, da0, db0, vqs, vql1, vqsl, vthr, i, t, tn, c, cand_r, cand_q, cand_lo, cand_hi);
      if (rows > 1) c = test2(rv + (long)(i + 1) * 4, da1, db1, vqs, vql1, vqsl, vthr, i + 1, t, tn, c, cand_r, cand_q, cand_lo, cand_hi);
      if (rows > 2) c = test2(rv + (long)(i + 2) * 4, da2, db2, vqs, vql1, vqsl, vthr, i + 2, t, tn, c, cand_r, cand_q, cand_lo, cand_hi);
      if (rows > 3) c = test2(rv + (long)(i + 3) * 4, da3, db3, vqs, vql1, vqsl, vthr, i + 3, t, tn, c, cand_r, cand_q, cand_lo, cand_hi);
    }
  }
  return c;
}

// ReLU's gradient (elementwise.h), split into rows by the SIMD threads on a copy in this module's memory.
EXPORT void relu_grad_f32(const float *dy, const float *x, int n, float *out) { relu_grad(dy, x, n, out); }

// dst[i * d + j] = src[idx[i] * d + j]: rows of a matrix gathered into a contiguous block.
EXPORT void gather_rows_f32(const float *src, const int *idx, int n, int d, float *dst) {
  for (int i = 0; i < n; i++) {
    const float *s = src + (long)idx[i] * d;
    float *o = dst + (long)i * d;
    int j = 0;
    for (; j + 4 <= d; j += 4) wasm_v128_store(o + j, wasm_v128_load(s + j));
    for (; j < d; j++) o[j] = s[j];
  }
}

// Column sums in float64 (elementwise.h), a thread's share of the rows.
EXPORT void column_sums_f64(const float *x, int n, int d, double *sums) { column_sums(x, n, d, sums); }

// dst = x - mean row by row in float32 (mean already rounded to float32), and norms[i] = |dst_i|^2 in float64.
EXPORT void centre_f32(const float *x, int n, int d, const float *mean, float *dst, double *norms) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (long)i * d;
    float *o = dst + (long)i * d;
    v128_t acc = wasm_f64x2_splat(0);
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      v128_t v = wasm_f32x4_sub(wasm_v128_load(xi + j), wasm_v128_load(mean + j));
      wasm_v128_store(o + j, v);
      v128_t lo = wasm_f64x2_promote_low_f32x4(v);
      v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
      acc = wasm_f64x2_add(acc, wasm_f64x2_add(wasm_f64x2_mul(lo, lo), wasm_f64x2_mul(hi, hi)));
    }
    double s = hsum_f64(acc);
    for (; j < d; j++) {
      float v = xi[j] - mean[j];
      o[j] = v;
      s += (double)v * v;
    }
    norms[i] = s;
  }
}

// scikit-learn's mini-batch centre update for the rows idx[i] of x (row i when idx is null) with labels[i]: each
// centre hit by the batch becomes (centre * count + sum of its rows) / (count + hits), in float64.
EXPORT void centre_update_f64(const float *x, const int *idx, int n, int d, const int *labels, int k, double *centres, double *counts, double *hits) {
  for (int c = 0; c < k; c++) hits[c] = 0;
  for (int i = 0; i < n; i++) hits[labels[i]]++;
  for (int c = 0; c < k; c++)
    if (hits[c] > 0)
      for (int j = 0; j < d; j++) centres[(long)c * d + j] *= counts[c];
  for (int i = 0; i < n; i++) add_row_f64(centres + (long)labels[i] * d, x + (long)(idx ? idx[i] : i) * d, d);
  for (int c = 0; c < k; c++) {
    if (hits[c] == 0) continue;
    counts[c] += hits[c];
    double alpha = 1 / counts[c];
    for (int j = 0; j < d; j++) centres[(long)c * d + j] *= alpha;
  }
}

// sum_i |x_i - centres[labels[i]]|^2 in float64 (scikit-learn's inertia), x float32, centres float64.
EXPORT double inertia_f64(const float *x, int n, int d, const int *labels, const double *centres) {
  double s = 0;
  for (int i = 0; i < n; i++) s += sqdist_row(x + (long)i * d, centres + (long)labels[i] * d, d);
  return s;
}

// out[i] = |x_{idx[i]} - q|^2 in float64 for the rows idx of x (x float32 [*, d], q float64 [d]), read in place.
EXPORT void sqdist_rows_f64(const float *x, const int *idx, int n, const double *q, int d, double *out) {
  for (int i = 0; i < n; i++) out[i] = sqdist_row(x + (long)idx[i] * d, q, d);
}

// out[i] = |x_{idx[i]} - q_{qi[i]}|^2 in float64 for pairs of a row of x (float32 [*, d]) and a query (float64
// [*, d]): candidates of many queries re-ranked in one call.
EXPORT void sqdist_pairs_f64(const float *x, const int *idx, int n, const double *q, const int *qi, int d, double *out) {
  for (int i = 0; i < n; i++) out[i] = sqdist_row(x + (long)idx[i] * d, q + (long)qi[i] * d, d);
}

// The index of the first NaN or infinity among x[0..n) (exponent bits all ones), plus base; -1 if there is none.
EXPORT int first_nonfinite_f32(const float *x, int n, int base) {
  const v128_t exp = wasm_i32x4_splat(0x7f800000);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a = wasm_i32x4_eq(wasm_v128_and(wasm_v128_load(x + i), exp), exp);
    v128_t b = wasm_i32x4_eq(wasm_v128_and(wasm_v128_load(x + i + 4), exp), exp);
    v128_t c = wasm_i32x4_eq(wasm_v128_and(wasm_v128_load(x + i + 8), exp), exp);
    v128_t d = wasm_i32x4_eq(wasm_v128_and(wasm_v128_load(x + i + 12), exp), exp);
    if (wasm_v128_any_true(wasm_v128_or(wasm_v128_or(a, b), wasm_v128_or(c, d)))) break;
  }
  for (; i < n; i++)
    if (x[i] - x[i] != 0) return base + i;
  return -1;
}

// A 2-D convolution's geometry for conv2d_nhwc (laid out by the caller in the module's memory, as int32s).
typedef struct {
  const float *x; // input [n, h, w, ci]
  int n, h, w, ci;
  const float *f; // filter packed in blocks of 8 output channels: [ceil(co / 8)][kh][kw][ci][8], zero past co
  int kh, kw, co;
  int oh, ow, sy, sx, dy, dx, top, left; // output size, strides, dilations, padding before
  const float *bias; // [ceil(co / 8) * 8] (zeros when the convolution has none)
  int relu;
  const float *zero; // ci zeros: what a tap outside the input reads
  float *out; // [n, oh, ow, co]
} Conv;

// Stores the first m (0..4) lanes of v at o.
static inline void store_lanes(float *o, v128_t v, int m) {
  if (m >= 4) { wasm_v128_store(o, v); return; }
  if (m > 0) o[0] = wasm_f32x4_extract_lane(v, 0);
  if (m > 1) o[1] = wasm_f32x4_extract_lane(v, 1);
  if (m > 2) o[2] = wasm_f32x4_extract_lane(v, 2);
}

// Finishes 8 channels of one output pixel: ReLU if asked, then the first m (1..8) channels stored at o.
static inline void store_pixel(float *o, v128_t a, v128_t b, int relu, int m) {
  if (relu) {
    a = wasm_f32x4_max(a, wasm_f32x4_splat(0));
    b = wasm_f32x4_max(b, wasm_f32x4_splat(0));
  }
  store_lanes(o, a, m);
  store_lanes(o + 4, b, m - 4);
}

// The inner loop of a 4 x 8 tile, shared by the convolution and its filter gradient: len times, the 4 values at
// q0..q3 (each splatted) against the 8 values at f, added to the 8 accumulators; then q0..q3 advance by qs and f by
// fs. Inlined: the accumulators stay in registers.
static inline __attribute__((always_inline)) void tile_4x8(const float *q0, const float *q1, const float *q2, const float *q3, int qs, const float *f, int fs, int len,
                                                           v128_t *a0, v128_t *a1, v128_t *b0, v128_t *b1, v128_t *c0, v128_t *c1, v128_t *d0, v128_t *d1) {
  v128_t A0 = *a0, A1 = *a1, B0 = *b0, B1 = *b1, C0 = *c0, C1 = *c1, D0 = *d0, D1 = *d1;
  for (int t = 0; t < len; t++, q0 += qs, q1 += qs, q2 += qs, q3 += qs, f += fs) {
    const v128_t f0 = wasm_v128_load(f), f1 = wasm_v128_load(f + 4);
    v128_t v = wasm_v128_load32_splat(q0);
    A0 = conv_madd(A0, v, f0); A1 = conv_madd(A1, v, f1);
    v = wasm_v128_load32_splat(q1);
    B0 = conv_madd(B0, v, f0); B1 = conv_madd(B1, v, f1);
    v = wasm_v128_load32_splat(q2);
    C0 = conv_madd(C0, v, f0); C1 = conv_madd(C1, v, f1);
    v = wasm_v128_load32_splat(q3);
    D0 = conv_madd(D0, v, f0); D1 = conv_madd(D1, v, f1);
  }
  *a0 = A0; *a1 = A1; *b0 = B0; *b1 = B1; *c0 = C0; *c1 = C1; *d0 = D0; *d1 = D1;
}

// Output rows [r0, r1) of a convolution (row r is image r / oh, output row r % oh), NHWC:
// out[i, oy, ox, c] = act(bias[c] + sum_{ky, kx, ci} x[i, oy*sy - top + ky*dy, ox*sx - left + kx*dx, ci] f[ky, kx, ci, c]).
// An implicit GEMM: each tile of 4 output pixels x 8 channels is 8 SIMD accumulators (tile_4x8), and every input value is
// splatted against 8 filter values (the filter block of K x 8 stays in L1). Float32 sums, as XNNPACK and PyTorch.
EXPORT void conv2d_nhwc(const Conv *p, int r0, int r1) {
  const int ci = p->ci, co = p->co, ow = p->ow, w = p->w;
  const int rowLen = w * ci, K = p->kh * p->kw * ci, blocks = (co + 7) >> 3;
  for (int r = r0; r < r1; r++) {
    const int i = r / p->oh, oy = r - i * p->oh;
    const float *img = p->x + (long)i * p->h * rowLen;
    float *orow = p->out + (long)r * ow * co;
    for (int bk = 0; bk < blocks; bk++) {
      const float *fb = p->f + (long)bk * K * 8;
      const int c0 = bk * 8, m = co - c0 < 8 ? co - c0 : 8;
      const v128_t bias0 = wasm_v128_load(p->bias + c0), bias1 = wasm_v128_load(p->bias + c0 + 4);
      for (int ox = 0; ox < ow; ox += 4) {
        const int px = ow - ox < 4 ? ow - ox : 4;
        // Pixels past the row's end repeat its last (computed, never stored).
        const int x0 = ox * p->sx - p->left, x1 = (ox + (px > 1)) * p->sx - p->left;
        const int x2 = (ox + (px > 2 ? 2 : px - 1)) * p->sx - p->left, x3 = (ox + (px > 3 ? 3 : px - 1)) * p->sx - p->left;
        v128_t a0 = bias0, a1 = bias1, b0 = bias0, b1 = bias1, c0v = bias0, c1v = bias1, d0 = bias0, d1 = bias1;
        const float *fk = fb;
        for (int ky = 0; ky < p->kh; ky++) {
          const int iy = oy * p->sy - p->top + ky * p->dy;
          if (iy < 0 || iy >= p->h) {
            fk += p->kw * ci * 8;
            continue;
          }
          const float *xrow = img + (long)iy * rowLen;
          if (p->dx == 1 && x0 >= 0 && x3 + p->kw <= w) {
            // Every tap of the row is inside the input: a pixel's kw taps are kw * ci contiguous values.
            tile_4x8(xrow + x0 * ci, xrow + x1 * ci, xrow + x2 * ci, xrow + x3 * ci, 1, fk, 8, p->kw * ci, &a0, &a1, &b0, &b1, &c0v, &c1v, &d0, &d1);
            fk += p->kw * ci * 8;
            continue;
          }
          for (int kx = 0; kx < p->kw; kx++, fk += ci * 8) {
            const int off = kx * p->dx;
            const float *q0 = (unsigned)(x0 + off) < (unsigned)w ? xrow + (x0 + off) * ci : p->zero;
            const float *q1 = (unsigned)(x1 + off) < (unsigned)w ? xrow + (x1 + off) * ci : p->zero;
            const float *q2 = (unsigned)(x2 + off) < (unsigned)w ? xrow + (x2 + off) * ci : p->zero;
            const float *q3 = (unsigned)(x3 + off) < (unsigned)w ? xrow + (x3 + off) * ci : p->zero;
            tile_4x8(q0, q1, q2, q3, 1, fk, 8, ci, &a0, &a1, &b0, &b1, &c0v, &c1v, &d0, &d1);
          }
        }
        float *o = orow + (long)ox * co + c0;
        store_pixel(o, a0, a1, p->relu, m);
        if (px > 1) store_pixel(o + co, b0, b1, p->relu, m);
        if (px > 2) store_pixel(o + 2 * co, c0v, c1v, p->relu, m);
        if (px > 3) store_pixel(o + 3 * co, d0, d1, p->relu, m);
      }
    }
  }
}

// A convolution's filter gradient for conv_filter_grad (int32 fields in the module's memory, as Conv).
typedef struct {
  const float *x; // input [n, h, w, ci], with 4 floats of slack after it
  int n, h, w, ci;
  const float *dy; // output gradient [n, oh, ow, co], with 8 floats of slack after it
  int oh, ow, co;
  int kh, kw, sy, sx, top, left;
  int rowsPerBlock; // output rows (of all images) per block of the reduction
  double *dw; // [kh, kw, ci, co] in float64, zeroed by the caller
} ConvGrad;

// d[0..m) += the first m (1..8) lanes of (a, b), in float64.
static inline void add_lanes_f64(double *d, v128_t a, v128_t b, int m) {
  if (m == 8) {
    wasm_v128_store(d, wasm_f64x2_add(wasm_v128_load(d), wasm_f64x2_promote_low_f32x4(a)));
    wasm_v128_store(d + 2, wasm_f64x2_add(wasm_v128_load(d + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1))));
    wasm_v128_store(d + 4, wasm_f64x2_add(wasm_v128_load(d + 4), wasm_f64x2_promote_low_f32x4(b)));
    wasm_v128_store(d + 6, wasm_f64x2_add(wasm_v128_load(d + 6), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b, b, 2, 3, 0, 1))));
    return;
  }
  if (m > 0) d[0] += wasm_f32x4_extract_lane(a, 0);
  if (m > 1) d[1] += wasm_f32x4_extract_lane(a, 1);
  if (m > 2) d[2] += wasm_f32x4_extract_lane(a, 2);
  if (m > 3) d[3] += wasm_f32x4_extract_lane(a, 3);
  if (m > 4) d[4] += wasm_f32x4_extract_lane(b, 0);
  if (m > 5) d[5] += wasm_f32x4_extract_lane(b, 1);
  if (m > 6) d[6] += wasm_f32x4_extract_lane(b, 2);
}

// Rows [r0, r1) of a convolution's filter gradient, row r being output channels 8 (r % ceil(co / 8)) .. + 8 of filter
// tap t and input channels 4 c .. 4 c + 4, where r / ceil(co / 8) = t ceil(ci / 4) + c:
// dw[ky, kx, c, o] = sum_{i, oy, ox} x[i, oy*sy - top + ky, ox*sx - left + kx, c] dy[i, oy, ox, o] (taps outside the
// input add nothing). Each tile of 4 input x 8 output channels is 8 SIMD accumulators over a block of output rows
// (float32, tile_4x8 with every dy value against 4 splatted x values), then added to dw in float64; the blocks are the outer loop,
// so that a block of x and dy stays in cache while every tile passes over it.
EXPORT void conv_filter_grad(const ConvGrad *p, int r0, int r1) {
  const int ci = p->ci, co = p->co, ow = p->ow, cb = (ci + 3) >> 2, coBlocks = (co + 7) >> 3;
  const int rows = p->n * p->oh;
  for (int b0 = 0; b0 < rows; b0 += p->rowsPerBlock) {
    const int b1 = b0 + p->rowsPerBlock < rows ? b0 + p->rowsPerBlock : rows;
    for (int r = r0; r < r1; r++) {
      const int tile = r / coBlocks, ob = r - tile * coBlocks;
      const int tap = tile / cb, c0 = (tile - tap * cb) * 4, ky = tap / p->kw, kx = tap - ky * p->kw;
      const int mc = ci - c0 < 4 ? ci - c0 : 4, o0 = ob * 8, m = co - o0 < 8 ? co - o0 : 8;
      // The output columns whose tap lands inside the input: ox*sx - left + kx in [0, w).
      const int d0 = p->left - kx;
      const int lo = d0 > 0 ? (d0 + p->sx - 1) / p->sx : 0;
      int hi = (p->w - 1 + d0) >= 0 ? (p->w - 1 + d0) / p->sx + 1 : 0;
      if (hi > ow) hi = ow;
      if (lo >= hi) continue;
      v128_t a0 = wasm_f32x4_splat(0), a1 = a0, b0v = a0, b1v = a0, e0 = a0, e1 = a0, g0 = a0, g1 = a0;
      const int xs = p->sx * ci;
      for (int row = b0; row < b1; row++) {
        const int i = row / p->oh, oy = row - i * p->oh;
        const int iy = oy * p->sy - p->top + ky;
        if (iy < 0 || iy >= p->h) continue;
        const float *xr = p->x + (((long)i * p->h + iy) * p->w + (lo * p->sx - d0)) * ci + c0;
        const float *dr = p->dy + ((long)row * ow + lo) * co + o0;
        tile_4x8(xr, xr + 1, xr + 2, xr + 3, xs, dr, co, hi - lo, &a0, &a1, &b0v, &b1v, &e0, &e1, &g0, &g1);
      }
      double *d = p->dw + ((long)tap * ci + c0) * co + o0;
      add_lanes_f64(d, a0, a1, m);
      if (mc > 1) add_lanes_f64(d + co, b0v, b1v, m);
      if (mc > 2) add_lanes_f64(d + 2 * co, e0, e1, m);
      if (mc > 3) add_lanes_f64(d + 3 * co, g0, g1, m);
    }
  }
}

// A stride-1 3x3 convolution for conv3x3_winograd: Winograd's F(4x4, 3x3) (int32 fields in the module's memory).
typedef struct {
  const float *x; // input [n, h, w, ci], ci a multiple of 4
  int n, h, w, ci;
  const float *u; // transformed filter G g G^T, packed [36][ceil(co / 8)][ci][8], zero past co (wino_filter)
  int co, oh, ow, top, left;
  int blockTiles; // tiles per block, a multiple of 4
  const float *bias; // [ceil(co / 8) * 8]
  int relu;
  float *scratch; // per part: V [36][blockTiles][ci], M [36][blockTiles][ceil(co / 8) * 8], T [36][4]
  int scratchFloats; // floats of scratch per part
  float *out; // [n, oh, ow, co]
} Wino;

// One 4-channel vector of the input at (iy, ix), or zeros outside the input.
static inline v128_t wino_in(const float *img, int h, int w, int ci, int iy, int ix, int c) {
  if ((unsigned)iy >= (unsigned)h || (unsigned)ix >= (unsigned)w) return wasm_f32x4_splat(0);
  return wasm_v128_load(img + ((long)iy * w + ix) * ci + c);
}

static inline v128_t mul_f32(v128_t a, float s) { return wasm_f32x4_mul(a, wasm_f32x4_splat(s)); }

// B^T d along one axis of a 6 x 6 patch, B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
// 0 2 -1 -2 1 0; 0 4 0 -5 0 1], the six vectors of one line (d0..d5) to the six at o + k * os. The products by 2, 4
// are exact, so each output is a float32 sum of at most 4 terms.
static inline __attribute__((always_inline)) void wino_bt(v128_t d0, v128_t d1, v128_t d2, v128_t d3, v128_t d4, v128_t d5, float *o, long os) {
  const v128_t t1 = wasm_f32x4_sub(d4, mul_f32(d2, 4)), t2 = wasm_f32x4_sub(d3, mul_f32(d1, 4));
  const v128_t t3 = wasm_f32x4_sub(d4, d2), t4 = mul_f32(wasm_f32x4_sub(d3, d1), 2);
  wasm_v128_store(o, wasm_f32x4_add(mul_f32(wasm_f32x4_sub(d0, d2), 4), t3));
  wasm_v128_store(o + os, wasm_f32x4_add(t1, t2));
  wasm_v128_store(o + 2 * os, wasm_f32x4_sub(t1, t2));
  wasm_v128_store(o + 3 * os, wasm_f32x4_add(t3, t4));
  wasm_v128_store(o + 4 * os, wasm_f32x4_sub(t3, t4));
  wasm_v128_store(o + 5 * os, wasm_f32x4_add(mul_f32(wasm_f32x4_sub(d1, d3), 4), wasm_f32x4_sub(d5, d3)));
}

// The input transform V = B^T d B of 4 channels (c .. c + 3) of the 6 x 6 patch at (iy, ix) (zeros outside the input),
// stored at v + pos * ps for the 36 positions; T (36 vectors of the part's scratch) holds B^T d between the passes.
static inline __attribute__((always_inline)) void wino_input(const float *img, int h, int w, int ci, int iy, int ix, int c, float *v, long ps, float *T) {
  if (iy >= 0 && ix >= 0 && iy + 6 <= h && ix + 6 <= w) {
    // Inside the input: no bounds to check.
    const float *q = img + ((long)iy * w + ix) * ci + c;
    const long rs = (long)w * ci;
    for (int b = 0; b < 6; b++, q += ci)
      wino_bt(wasm_v128_load(q), wasm_v128_load(q + rs), wasm_v128_load(q + 2 * rs), wasm_v128_load(q + 3 * rs),
              wasm_v128_load(q + 4 * rs), wasm_v128_load(q + 5 * rs), T + 4 * b, 24);
  } else {
    for (int b = 0; b < 6; b++)
      wino_bt(wino_in(img, h, w, ci, iy, ix + b, c), wino_in(img, h, w, ci, iy + 1, ix + b, c), wino_in(img, h, w, ci, iy + 2, ix + b, c),
              wino_in(img, h, w, ci, iy + 3, ix + b, c), wino_in(img, h, w, ci, iy + 4, ix + b, c), wino_in(img, h, w, ci, iy + 5, ix + b, c),
              T + 4 * b, 24);
  }
  // Rows: T[a][b] = (B^T d)_ab; V[a][k] = (T B)_ak.
  for (int a = 0; a < 6; a++) {
    const float *t = T + 24 * a;
    wino_bt(wasm_v128_load(t), wasm_v128_load(t + 4), wasm_v128_load(t + 8), wasm_v128_load(t + 12), wasm_v128_load(t + 16),
            wasm_v128_load(t + 20), v + 6 * a * ps, ps);
  }
}

// A^T m along one axis, A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]: six vectors to four.
#define WINO_AT(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                             \
  const v128_t y0##_a = wasm_f32x4_add(m1, m2), y0##_b = wasm_f32x4_sub(m1, m2), y0##_c = wasm_f32x4_add(m3, m4),   \
               y0##_d = wasm_f32x4_sub(m3, m4);                                                                     \
  const v128_t y0 = wasm_f32x4_add(wasm_f32x4_add(m0, y0##_a), y0##_c), y1 = wasm_f32x4_add(y0##_b, mul_f32(y0##_d, 2)); \
  const v128_t y2 = wasm_f32x4_add(y0##_a, mul_f32(y0##_c, 4)), y3 = wasm_f32x4_add(wasm_f32x4_add(y0##_b, mul_f32(y0##_d, 8)), m5);

// The tile at index g of the n x ceil(oh / 4) x ceil(ow / 4) tiles, in that order: its image, tile row and column.
#define WINO_TILE(g, th, tw, i, ty, tx) const int i = (g) / ((th) * (tw)), ty = ((g) - i * (th) * (tw)) / (tw), tx = (g) - (i * (th) + ty) * (tw);

// Tiles [4 r0, 4 r1) (of every image, row by row) in blocks of blockTiles, part `part` of the call (its scratch).
// Y = A^T [(G g G^T) . (B^T d B)] A per 4x4 output tile and channel (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", CVPR 2016): 36 multiplies per 16 outputs of a channel pair where the direct form takes 144, 4x
// fewer. The 36 element-wise products summed over ci are 36 GEMMs of [tiles, ci] x [ci, co] on the 4 x 8 tile of the
// direct convolution (tile_4x8); a block's tiles come from any rows and images, so that the filter (up to 9.4 MB at
// 256 channels) is read once per block and not per tile row. Transforms in float32 with the points 0, +-1, +-2 (B and
// A hold only small integers, exact; G's fractions are rounded once, in float64, by wino_filter). No arrays: the
// shared-memory build must not touch the shadow stack, which all threads share; intermediates go to the part's
// scratch.
EXPORT void conv3x3_winograd(const Wino *p, int r0, int r1, int part) {
  const int ci = p->ci, co = p->co, w = p->w, h = p->h, ow = p->ow, oh = p->oh;
  const int th = (oh + 3) >> 2, tw = (ow + 3) >> 2, tb = p->blockTiles, blocks = (co + 7) >> 3, cop = blocks * 8;
  const int total = p->n * th * tw, end = 4 * r1 < total ? 4 * r1 : total;
  float *V = p->scratch + (long)part * p->scratchFloats;
  float *M = V + 36L * tb * ci;
  float *T = M + 36L * tb * cop;
  const long vs = (long)tb * ci, ps = (long)tb * cop;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int g0 = 4 * r0; g0 < end; g0 += tb) {
    const int g1 = g0 + tb < end ? g0 + tb : end, used = (g1 - g0 + 3) & ~3;
    // The input transform of every tile of the block (up to a multiple of 4, the last repeated: computed, never stored).
    for (int t = 0; t < used; t++) {
      const int g = g0 + t < g1 ? g0 + t : g1 - 1;
      WINO_TILE(g, th, tw, i, ty, tx)
      const float *img = p->x + (long)i * h * w * ci;
      for (int c = 0; c < ci; c += 4) wino_input(img, h, w, ci, 4 * ty - p->top, 4 * tx - p->left, c, V + (long)t * ci + c, vs, T);
    }
    // The 36 GEMMs: M[pos][t][o] = sum_c V[pos][t][c] U[pos][c][o].
    for (int pos = 0; pos < 36; pos++) {
      const float *vp = V + pos * vs;
      float *mp = M + pos * ps;
      for (int bk = 0; bk < blocks; bk++) {
        const float *ub = p->u + ((long)pos * blocks + bk) * ci * 8;
        for (int t = 0; t < used; t += 4) {
          v128_t a0 = zero, a1 = zero, b0 = zero, b1 = zero, c0 = zero, c1 = zero, e0 = zero, e1 = zero;
          const float *q = vp + (long)t * ci;
          tile_4x8(q, q + ci, q + 2 * ci, q + 3 * ci, 1, ub, 8, ci, &a0, &a1, &b0, &b1, &c0, &c1, &e0, &e1);
          float *o = mp + (long)t * cop + bk * 8;
          wasm_v128_store(o, a0); wasm_v128_store(o + 4, a1);
          wasm_v128_store(o + cop, b0); wasm_v128_store(o + cop + 4, b1);
          wasm_v128_store(o + 2 * cop, c0); wasm_v128_store(o + 2 * cop + 4, c1);
          wasm_v128_store(o + 3 * cop, e0); wasm_v128_store(o + 3 * cop + 4, e1);
        }
      }
    }
    // Output transform Y = A^T M A, then bias and ReLU; outputs past the output's edge are not stored.
    for (int t = 0; t < g1 - g0; t++) {
      WINO_TILE(g0 + t, th, tw, i, ty, tx)
      const int oy0 = 4 * ty, rowsOut = oh - oy0 < 4 ? oh - oy0 : 4, ox0 = 4 * tx, colsOut = ow - ox0 < 4 ? ow - ox0 : 4;
      for (int c = 0; c < co; c += 4) {
        const float *m = M + (long)t * cop + c;
        // Along each row a of M: T[a][j] = (M A)_aj.
        for (int a = 0; a < 6; a++) {
          const float *ma = m + 6 * a * ps;
          WINO_AT(wasm_v128_load(ma), wasm_v128_load(ma + ps), wasm_v128_load(ma + 2 * ps), wasm_v128_load(ma + 3 * ps),
                  wasm_v128_load(ma + 4 * ps), wasm_v128_load(ma + 5 * ps), z0, z1, z2, z3)
          float *ta = T + 16 * a;
          wasm_v128_store(ta, z0); wasm_v128_store(ta + 4, z1); wasm_v128_store(ta + 8, z2); wasm_v128_store(ta + 12, z3);
        }
        const v128_t bias = wasm_v128_load(p->bias + c);
        const int lanes = co - c < 4 ? co - c : 4;
        const long rs = (long)ow * co;
        for (int j = 0; j < colsOut; j++) {
          const float *tj = T + 4 * j;
          WINO_AT(wasm_v128_load(tj), wasm_v128_load(tj + 16), wasm_v128_load(tj + 32), wasm_v128_load(tj + 48),
                  wasm_v128_load(tj + 64), wasm_v128_load(tj + 80), y0, y1, y2, y3)
          float *o = p->out + (((long)i * oh + oy0) * ow + ox0 + j) * co + c;
          v128_t s0 = wasm_f32x4_add(bias, y0), s1 = wasm_f32x4_add(bias, y1), s2 = wasm_f32x4_add(bias, y2), s3 = wasm_f32x4_add(bias, y3);
          if (p->relu) { s0 = wasm_f32x4_max(s0, zero); s1 = wasm_f32x4_max(s1, zero); s2 = wasm_f32x4_max(s2, zero); s3 = wasm_f32x4_max(s3, zero); }
          store_lanes(o, s0, lanes);
          if (rowsOut > 1) store_lanes(o + rs, s1, lanes);
          if (rowsOut > 2) store_lanes(o + 2 * rs, s2, lanes);
          if (rowsOut > 3) store_lanes(o + 3 * rs, s3, lanes);
        }
      }
    }
  }
}

// Winograd's G for F(4x4, 3x3) (interpolation points 0, +-1, +-2 and infinity) applied to a 3-vector: r0..r5 =
// G (a, b, c), G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], in float64
// (divisions, each correctly rounded). Named locals, as everywhere here: no arrays on the shared shadow stack.
#define WINO_G3(a, b, c, r)                                                                                            \
  const double r##0 = (a) / 4, r##1 = -((a) + (b) + (c)) / 6, r##2 = -((a) - (b) + (c)) / 6,                        \
               r##3 = (a) / 24 + (b) / 12 + (c) / 6, r##4 = (a) / 24 - (b) / 12 + (c) / 6, r##5 = (c);
// G^T applied to a 6-vector: s0..s2 = G^T (v0 .. v5).
#define WINO_GT6(v0, v1, v2, v3, v4, v5, s)                                                                            \
  const double s##0 = (v0) / 4 - (v1) / 6 - (v2) / 6 + (v3) / 24 + (v4) / 24,                                        \
               s##1 = -(v1) / 6 + (v2) / 6 + (v3) / 12 - (v4) / 12,                                                 \
               s##2 = -(v1) / 6 - (v2) / 6 + (v3) / 6 + (v4) / 6 + (v5);

// The filter transform U = G g G^T of input channels [c0, c1) of f [3][3][ci][co] (HWIO), in float64 and rounded once,
// into u packed for conv3x3_winograd, [36][ceil(co / 8)][ci][8] (the caller zeroes it: zero past co). Scalar: a few
// milliseconds at 256 x 256 channels on two threads, where the same loops in JS took 130 to 170 ms.
EXPORT void wino_filter(const float *f, int ci, int co, float *u, int c0, int c1) {
  const long tap = (long)ci * co, pos = (long)((co + 7) >> 3) * ci * 8;
  for (int c = c0; c < c1; c++) {
    for (int o = 0; o < co; o++) {
      const float *g = f + (long)c * co + o;
      float *uo = u + ((long)(o >> 3) * ci + c) * 8 + (o & 7);
      // The columns of G g (p, q, r: columns 0, 1, 2), then each row y of (G g) G^T.
      WINO_G3((double)g[0], (double)g[3 * tap], (double)g[6 * tap], p)
      WINO_G3((double)g[tap], (double)g[4 * tap], (double)g[7 * tap], q)
      WINO_G3((double)g[2 * tap], (double)g[5 * tap], (double)g[8 * tap], r)
#define ROW(y)                                                                                                         \
  {                                                                                                                    \
    WINO_G3(p##y, q##y, r##y, v)                                                                                       \
    uo[(6 * y) * pos] = (float)v0; uo[(6 * y + 1) * pos] = (float)v1; uo[(6 * y + 2) * pos] = (float)v2;             \
    uo[(6 * y + 3) * pos] = (float)v3; uo[(6 * y + 4) * pos] = (float)v4; uo[(6 * y + 5) * pos] = (float)v5;         \
  }
      ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
  }
}

// dU at position pos of one (input, output) channel pair: the sum of the parts' shares, duDoubles apart.
static inline double wino_du(const double *d, int parts, int duDoubles, long at) {
  double v = 0;
  for (int q = 0; q < parts; q++) v += d[(long)q * duDoubles + at];
  return v;
}

// The filter gradient's last step for input channels [c0, c1): dU = the sum of the parts' du (each [36][ci][cop] in
// float64), then dW = G^T dU G into dw [3][3][ci][co] (HWIO), in float64 and rounded once.
EXPORT void wino_filter_grad(const double *du, int parts, int duDoubles, int ci, int co, float *dw, int c0, int c1) {
  const long pos = (long)ci * (((co + 7) >> 3) * 8), tap = (long)ci * co;
  for (int c = c0; c < c1; c++) {
    for (int o = 0; o < co; o++) {
      const double *d = du + (long)c * (pos / ci) + o;
      // Each row a of dU G (h_a0 .. h_a2), then each column of G^T (dU G).
#define ROW(a)                                                                                                         \
  WINO_GT6(wino_du(d, parts, duDoubles, (6 * a) * pos), wino_du(d, parts, duDoubles, (6 * a + 1) * pos),               \
           wino_du(d, parts, duDoubles, (6 * a + 2) * pos), wino_du(d, parts, duDoubles, (6 * a + 3) * pos),           \
           wino_du(d, parts, duDoubles, (6 * a + 4) * pos), wino_du(d, parts, duDoubles, (6 * a + 5) * pos), h##a)
      ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
      float *out = dw + (long)c * co + o;
#define COL(x)                                                                                                         \
  {                                                                                                                    \
    WINO_GT6(h0##x, h1##x, h2##x, h3##x, h4##x, h5##x, s)                                                             \
    out[x * tap] = (float)s0; out[(3 + x) * tap] = (float)s1; out[(6 + x) * tap] = (float)s2;                          \
  }
      COL(0) COL(1) COL(2)
#undef COL
    }
  }
}

// The filter gradient of a stride-1 3x3 convolution for conv3x3_winograd_grad: F(4x4, 3x3) (int32 fields, as Wino).
typedef struct {
  const float *x; // input [n, h, w, ci], ci a multiple of 4
  int n, h, w, ci;
  const float *dy; // output gradient [n, oh, ow, co], co a multiple of 4
  int oh, ow, co, top, left;
  int blockTiles; // tiles per block of the reduction, a multiple of 4
  float *scratch; // per part: V [36][blockTiles][ci], dM [36][blockTiles][ceil(co / 8) * 8], T [36][4]
  int scratchFloats;
  double *du; // per part [36][ci][ceil(co / 8) * 8] in float64, zeroed by the caller
  int duDoubles;
} WinoGrad;

// One 4-channel vector of dy at (oy, ox), or zeros outside the output.
static inline v128_t wino_dy(const WinoGrad *p, int i, int oy, int ox, int c) {
  if (oy >= p->oh || ox >= p->ow) return wasm_f32x4_splat(0);
  return wasm_v128_load(p->dy + (((long)i * p->oh + oy) * p->ow + ox) * p->co + c);
}

// A g along one axis, A = (A^T)^T of conv3x3_winograd: four vectors to the six at o + k * os.
static inline __attribute__((always_inline)) void wino_a(v128_t g0, v128_t g1, v128_t g2, v128_t g3, float *o, long os) {
  const v128_t p = wasm_f32x4_add(g0, g2), q = wasm_f32x4_add(g1, g3);
  const v128_t p4 = wasm_f32x4_add(g0, mul_f32(g2, 4)), q8 = wasm_f32x4_add(mul_f32(g1, 2), mul_f32(g3, 8));
  wasm_v128_store(o, g0);
  wasm_v128_store(o + os, wasm_f32x4_add(p, q));
  wasm_v128_store(o + 2 * os, wasm_f32x4_sub(p, q));
  wasm_v128_store(o + 3 * os, wasm_f32x4_add(p4, q8));
  wasm_v128_store(o + 4 * os, wasm_f32x4_sub(p4, q8));
  wasm_v128_store(o + 5 * os, g3);
}

// Tiles [4 r0, 4 r1) (of every image, row by row) of the filter gradient, into part `part`'s dU: the forward pass is
// Y = A^T [U . V] A per tile, so dU = sum over tiles of V . (A dY A^T) (element-wise), 36 GEMMs [ci, tiles] x [tiles,
// co] over blocks of tiles on the 4 x 8 tile of the direct kernels (float32 within a block, float64 across blocks);
// wino_filter_grad then adds the parts and takes dW = G^T dU G. No arrays (no shadow stack: see conv3x3_winograd).
EXPORT void conv3x3_winograd_grad(const WinoGrad *p, int r0, int r1, int part) {
  const int ci = p->ci, co = p->co, w = p->w, h = p->h;
  const int th = (p->oh + 3) >> 2, tw = (p->ow + 3) >> 2, blocks = (co + 7) >> 3, cop = blocks * 8, bt = p->blockTiles;
  const int total = p->n * th * tw, end = 4 * r1 < total ? 4 * r1 : total;
  float *V = p->scratch + (long)part * p->scratchFloats;
  float *M = V + 36L * bt * ci;
  float *T = M + 36L * bt * cop;
  double *du = p->du + (long)part * p->duDoubles;
  const v128_t zero = wasm_f32x4_splat(0);
  const long vs = (long)bt * ci, ps = (long)bt * cop;
  for (int g0 = 4 * r0; g0 < end; g0 += bt) {
    const int g1 = g0 + bt < end ? g0 + bt : end, used = (g1 - g0 + 3) & ~3;
    int t = 0;
    for (; t < g1 - g0; t++) {
      WINO_TILE(g0 + t, th, tw, i, ty, tx)
      const float *img = p->x + (long)i * h * w * ci;
      for (int c = 0; c < ci; c += 4) wino_input(img, h, w, ci, 4 * ty - p->top, 4 * tx - p->left, c, V + (long)t * ci + c, vs, T);
      // dM = A dY A^T of the 4 x 4 output-gradient tile (zeros past the output).
      float *m = M + (long)t * cop;
      for (int c = 0; c < cop; c += 4) {
        if (c >= co) {
          for (int pos = 0; pos < 36; pos++) wasm_v128_store(m + pos * ps + c, zero);
          continue;
        }
        // Columns: T[a][b] = (A g)_ab; then rows: dM[a][k] = (T A^T)_ak.
        for (int b = 0; b < 4; b++)
          wino_a(wino_dy(p, i, 4 * ty, 4 * tx + b, c), wino_dy(p, i, 4 * ty + 1, 4 * tx + b, c), wino_dy(p, i, 4 * ty + 2, 4 * tx + b, c),
                 wino_dy(p, i, 4 * ty + 3, 4 * tx + b, c), T + 4 * b, 16);
        for (int a = 0; a < 6; a++) {
          const float *ta = T + 16 * a;
          wino_a(wasm_v128_load(ta), wasm_v128_load(ta + 4), wasm_v128_load(ta + 8), wasm_v128_load(ta + 12), m + 6 * a * ps + c, ps);
        }
      }
    }
    // Tiles past the block's last (up to a multiple of 4) add nothing.
    for (; t < used; t++) {
      for (int pos = 0; pos < 36; pos++) {
        for (int c = 0; c < ci; c += 4) wasm_v128_store(V + pos * vs + (long)t * ci + c, zero);
        for (int c = 0; c < cop; c += 4) wasm_v128_store(M + pos * ps + (long)t * cop + c, zero);
      }
    }
    for (int pos = 0; pos < 36; pos++) {
      const float *vp = V + pos * vs;
      const float *mp = M + pos * ps;
      double *dp = du + (long)pos * ci * cop;
      for (int c = 0; c < ci; c += 4) {
        for (int bk = 0; bk < blocks; bk++) {
          v128_t a0 = zero, a1 = zero, e0 = zero, e1 = zero, f0 = zero, f1 = zero, g0v = zero, g1v = zero;
          const float *q = vp + c;
          tile_4x8(q, q + 1, q + 2, q + 3, ci, mp + bk * 8, cop, used, &a0, &a1, &e0, &e1, &f0, &f1, &g0v, &g1v);
          double *d = dp + (long)c * cop + bk * 8;
          add_lanes_f64(d, a0, a1, 8);
          add_lanes_f64(d + cop, e0, e1, 8);
          add_lanes_f64(d + 2 * cop, f0, f1, 8);
          add_lanes_f64(d + 3 * cop, g0v, g1v, 8);
        }
      }
    }
  }
}

// Diffusion on a sparse graph for m seeds at once: solves (I - alpha W) F = Y by conjugate gradient, columns in
// lockstep, W in CSR (row_ptr[n + 1], cols, vals), Y and F row-major [n, m] in float64. A call solves columns
// [j0, j1) (threads take disjoint columns of the same arrays); work holds 3 * n * m + 4 * m doubles (R, P, AP, then
// per column rr, rr_new, step/beta, stop). The sparse-dense product, the whole cost, runs by slices of 8 columns
// summed in f64x2 registers. A column stops when its residual is below tol times its seed's norm (a zero seed at
// once). Returns the iterations of the slowest column.
typedef struct {
  double alpha, tol;
  const int *row_ptr, *cols;
  const double *vals, *y;
  double *f, *work;
  int n, m, max_iter;
} Diffusion;

EXPORT int diffusion_cg(const Diffusion *d, int j0, int j1) {
  const int *row_ptr = d->row_ptr, *cols = d->cols;
  const double *vals = d->vals, *y = d->y;
  double *f = d->f, alpha = d->alpha, tol = d->tol;
  int n = d->n, m = d->m;
  double *r = d->work, *p = d->work + (long)n * m, *ap = d->work + 2L * n * m;
  double *rr = d->work + 3L * n * m, *rr2 = rr + m, *step = rr + 2 * m, *stop = rr + 3 * m;
  for (int j = j0; j < j1; j++) rr[j] = 0;
  for (int i = 0; i < n; i++) {
    long o = (long)i * m;
    for (int j = j0; j < j1; j++) {
      f[o + j] = 0;
      r[o + j] = p[o + j] = y[o + j];
      rr[j] += y[o + j] * y[o + j];
    }
  }
  for (int j = j0; j < j1; j++) stop[j] = tol * tol * rr[j];
  int j8 = j0 + (j1 - j0) / 8 * 8;
  int it = 0;
  for (; it < d->max_iter; it++) {
    int active = 0;
    for (int j = j0; j < j1; j++) active |= rr[j] > stop[j];
    if (!active) break;
    // AP = W P, by slices of 8 columns: a slice of P (n x 64 bytes) stays in cache while every row gathers from it,
    // and each row's 8 sums stay in four f64x2 registers over its edges.
    for (int j = j0; j < j8; j += 8) {
      for (int i = 0; i < n; i++) {
        v128_t a0 = wasm_f64x2_splat(0), a1 = a0, a2 = a0, a3 = a0;
        for (int e = row_ptr[i]; e < row_ptr[i + 1]; e++) {
          const double *pc = p + (long)cols[e] * m + j;
          v128_t w = wasm_f64x2_splat(vals[e]);
          a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(w, wasm_v128_load(pc)));
          a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(w, wasm_v128_load(pc + 2)));
          a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(w, wasm_v128_load(pc + 4)));
          a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(w, wasm_v128_load(pc + 6)));
        }
        double *api = ap + (long)i * m + j;
        wasm_v128_store(api, a0);
        wasm_v128_store(api + 2, a1);
        wasm_v128_store(api + 4, a2);
        wasm_v128_store(api + 6, a3);
      }
    }
    for (int j = j8; j < j1; j++) {
      for (int i = 0; i < n; i++) {
        double a = 0;
        for (int e = row_ptr[i]; e < row_ptr[i + 1]; e++) a += vals[e] * p[(long)cols[e] * m + j];
        ap[(long)i * m + j] = a;
      }
    }
    // AP = P - alpha W P, and p . AP per column (the element-wise passes two columns per f64x2 lane too).
    v128_t va = wasm_f64x2_splat(alpha);
    int j2 = j0 + (j1 - j0) / 2 * 2;
    for (int j = j0; j < j1; j++) step[j] = 0;
    for (int i = 0; i < n; i++) {
      long o = (long)i * m;
      int j = j0;
      for (; j < j2; j += 2) {
        v128_t pv = wasm_v128_load(p + o + j);
        v128_t v = wasm_f64x2_sub(pv, wasm_f64x2_mul(va, wasm_v128_load(ap + o + j)));
        wasm_v128_store(ap + o + j, v);
        wasm_v128_store(step + j, wasm_f64x2_add(wasm_v128_load(step + j), wasm_f64x2_mul(pv, v)));
      }
      for (; j < j1; j++) {
        double v = p[o + j] - alpha * ap[o + j];
        ap[o + j] = v;
        step[j] += p[o + j] * v;
      }
    }
    // Step a_j = rr_j / (p_j . A p_j) for an active column, 0 for a converged one (its F, R and P stay as they are).
    for (int j = j0; j < j1; j++) {
      step[j] = rr[j] > stop[j] && step[j] > 0 ? rr[j] / step[j] : 0;
      rr2[j] = 0;
    }
    for (int i = 0; i < n; i++) {
      long o = (long)i * m;
      int j = j0;
      for (; j < j2; j += 2) {
        v128_t a = wasm_v128_load(step + j);
        wasm_v128_store(f + o + j, wasm_f64x2_add(wasm_v128_load(f + o + j), wasm_f64x2_mul(a, wasm_v128_load(p + o + j))));
        v128_t ri = wasm_f64x2_sub(wasm_v128_load(r + o + j), wasm_f64x2_mul(a, wasm_v128_load(ap + o + j)));
        wasm_v128_store(r + o + j, ri);
        wasm_v128_store(rr2 + j, wasm_f64x2_add(wasm_v128_load(rr2 + j), wasm_f64x2_mul(ri, ri)));
      }
      for (; j < j1; j++) {
        f[o + j] += step[j] * p[o + j];
        double ri = r[o + j] - step[j] * ap[o + j];
        r[o + j] = ri;
        rr2[j] += ri * ri;
      }
    }
    // beta_j into step (the step is spent), the new residual into rr.
    for (int j = j0; j < j1; j++) {
      double beta = step[j] != 0 ? rr2[j] / rr[j] : 0;
      if (step[j] != 0) rr[j] = rr2[j];
      step[j] = beta;
    }
    for (int i = 0; i < n; i++) {
      long o = (long)i * m;
      int j = j0;
      for (; j < j2; j += 2) wasm_v128_store(p + o + j, wasm_f64x2_add(wasm_v128_load(r + o + j), wasm_f64x2_mul(wasm_v128_load(step + j), wasm_v128_load(p + o + j))));
      for (; j < j1; j++) p[o + j] = r[o + j] + step[j] * p[o + j];
    }
  }
  return it;
}

// The structs' layouts, asserted when the kernels are created (KERNEL_STRUCTS in kernel-structs.ts): each writes
// the struct's size, then its fields' byte offsets in the order declared above. A struct changed here and not there
// (a field added, moved or retyped) fails the assertion with both layouts, instead of a kernel reading garbage.
#define AT(T, f) (int)__builtin_offsetof(T, f)
EXPORT void layout_Conv(int *o) {
  const int v[] = {sizeof(Conv), AT(Conv, x), AT(Conv, n), AT(Conv, h), AT(Conv, w), AT(Conv, ci), AT(Conv, f), AT(Conv, kh),
                   AT(Conv, kw), AT(Conv, co), AT(Conv, oh), AT(Conv, ow), AT(Conv, sy), AT(Conv, sx), AT(Conv, dy), AT(Conv, dx),
                   AT(Conv, top), AT(Conv, left), AT(Conv, bias), AT(Conv, relu), AT(Conv, zero), AT(Conv, out)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_ConvGrad(int *o) {
  const int v[] = {sizeof(ConvGrad), AT(ConvGrad, x), AT(ConvGrad, n), AT(ConvGrad, h), AT(ConvGrad, w), AT(ConvGrad, ci),
                   AT(ConvGrad, dy), AT(ConvGrad, oh), AT(ConvGrad, ow), AT(ConvGrad, co), AT(ConvGrad, kh), AT(ConvGrad, kw),
                   AT(ConvGrad, sy), AT(ConvGrad, sx), AT(ConvGrad, top), AT(ConvGrad, left), AT(ConvGrad, rowsPerBlock),
                   AT(ConvGrad, dw)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_Wino(int *o) {
  const int v[] = {sizeof(Wino), AT(Wino, x), AT(Wino, n), AT(Wino, h), AT(Wino, w), AT(Wino, ci), AT(Wino, u), AT(Wino, co),
                   AT(Wino, oh), AT(Wino, ow), AT(Wino, top), AT(Wino, left), AT(Wino, blockTiles), AT(Wino, bias), AT(Wino, relu), AT(Wino, scratch),
                   AT(Wino, scratchFloats), AT(Wino, out)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_WinoGrad(int *o) {
  const int v[] = {sizeof(WinoGrad), AT(WinoGrad, x), AT(WinoGrad, n), AT(WinoGrad, h), AT(WinoGrad, w), AT(WinoGrad, ci),
                   AT(WinoGrad, dy), AT(WinoGrad, oh), AT(WinoGrad, ow), AT(WinoGrad, co), AT(WinoGrad, top), AT(WinoGrad, left),
                   AT(WinoGrad, blockTiles), AT(WinoGrad, scratch), AT(WinoGrad, scratchFloats), AT(WinoGrad, du),
                   AT(WinoGrad, duDoubles)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_Diffusion(int *o) {
  const int v[] = {sizeof(Diffusion), AT(Diffusion, alpha), AT(Diffusion, tol), AT(Diffusion, row_ptr), AT(Diffusion, cols),
                   AT(Diffusion, vals), AT(Diffusion, y), AT(Diffusion, f), AT(Diffusion, work), AT(Diffusion, n),
                   AT(Diffusion, m), AT(Diffusion, max_iter)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
