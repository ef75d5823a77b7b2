// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). The int16 first pass of a batched exact
// scan: quantised rows and queries, the exact int32 dot products and their error bounds.

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
  return wasm_i32x4_trunc_sat_f64x2_zero(
      wasm_f64x2_pmin(wasm_f64x2_splat(Q16), wasm_f64x2_pmax(wasm_f64x2_splat(-Q16), v)));
}

// Quantises rows x [n, d] (float32) minus mean [d] (float64) into out [n, dp] int16 (dp >= d, a multiple of 8; the
// columns past d are zeros), with scale[i] = a and l1[i] = |c~_i|_1. Rounds half to even (any rounding to nearest
// keeps the error within half a step). Vectorised: a scalar version ran at 5 to 10 ns per value, two dependency chains
// deep.
EXPORT void quantize_i16(const float *x, int n, int d, const double *mean, int dp, short *out, double *scale,
                         double *l1) {
  for (int i = 0; i < n; i++) {
    const float *xi = x + (long)i * d;
    short *o = out + (long)i * dp;
    v128_t m0 = wasm_f64x2_splat(0), m1 = m0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
      v128_t xv = wasm_v128_load(xi + j);
      v128_t c0 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(xv), wasm_v128_load(mean + j));
      v128_t c1 = wasm_f64x2_sub(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xv, xv, 2, 3, 0, 1)),
                                 wasm_v128_load(mean + j + 2));
      m0 = wasm_f64x2_pmax(m0, wasm_f64x2_abs(c0));
      m1 = wasm_f64x2_pmax(m1, wasm_f64x2_abs(c1));
    }
    v128_t mm = wasm_f64x2_pmax(m0, m1);
    double m = wasm_f64x2_extract_lane(mm, 0) > wasm_f64x2_extract_lane(mm, 1) ? wasm_f64x2_extract_lane(mm, 0)
                                                                               : wasm_f64x2_extract_lane(mm, 1);
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
static inline __attribute__((always_inline)) int test2(const double *rv, double da, double db, v128_t qs, v128_t ql1,
                                                       v128_t qsl, v128_t thr, int r, int t, int tn, int c, int *cand_r,
                                                       int *cand_q, double *cand_lo, double *cand_hi) {
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
    cand_r[c] = r;
    cand_q[c] = t;
    cand_lo[c] = wasm_f64x2_extract_lane(lo, 0);
    cand_hi[c] = wasm_f64x2_extract_lane(hi, 0);
    c++;
  }
  if (tn > 1 && wasm_i64x2_extract_lane(hit, 1)) {
    cand_r[c] = r;
    cand_q[c] = t + 1;
    cand_lo[c] = wasm_f64x2_extract_lane(lo, 1);
    cand_hi[c] = wasm_f64x2_extract_lane(hi, 1);
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
          a0 = dot8(a0, v0, va);
          b0 = dot8(b0, v0, vb);
          a1 = dot8(a1, v1, va);
          b1 = dot8(b1, v1, vb);
          a2 = dot8(a2, v2, va);
          b2 = dot8(b2, v2, vb);
          a3 = dot8(a3, v3, va);
          b3 = dot8(b3, v3, vb);
        }
        da0 += hsum_i32(a0);
        db0 += hsum_i32(b0);
        da1 += hsum_i32(a1);
        db1 += hsum_i32(b1);
        da2 += hsum_i32(a2);
        db2 += hsum_i32(b2);
        da3 += hsum_i32(a3);
        db3 += hsum_i32(b3);
      }
      v128_t vqs = wasm_v128_load(qs + t), vql1 = wasm_v128_load(ql1 + t), vqsl = wasm_v128_load(qsl + t);
      v128_t vthr = wasm_v128_load(thr + t);
      int tn = nq - t;
      c = test2(rv + (long)i * 4, da0, db0, vqs, vql1, vqsl, vthr, i, t, tn, c, cand_r, cand_q, cand_lo, cand_hi);
      if (rows > 1)
        c = test2(rv + (long)(i + 1) * 4, da1, db1, vqs, vql1, vqsl, vthr, i + 1, t, tn, c, cand_r, cand_q, cand_lo,
                  cand_hi);
      if (rows > 2)
        c = test2(rv + (long)(i + 2) * 4, da2, db2, vqs, vql1, vqsl, vthr, i + 2, t, tn, c, cand_r, cand_q, cand_lo,
                  cand_hi);
      if (rows > 3)
        c = test2(rv + (long)(i + 3) * 4, da3, db3, vqs, vql1, vqsl, vthr, i + 3, t, tn, c, cand_r, cand_q, cand_lo,
                  cand_hi);
    }
  }
  return c;
}
