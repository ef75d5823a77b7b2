// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). Float32 dot products blocked for the cache
// (the exact scan's first step) and the selection of a block's candidates; `madd`/`conv_madd`, shared with the
// convolutions.

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
          a0 = madd(a0, v0, va);
          b0 = madd(b0, v0, vb);
          a1 = madd(a1, v1, va);
          b1 = madd(b1, v1, vb);
          a2 = madd(a2, v2, va);
          b2 = madd(b2, v2, vb);
          a3 = madd(a3, v3, va);
          b3 = madd(b3, v3, vb);
        }
        o0[t] += hsum_f32(a0);
        o0[t + 1] += hsum_f32(b0);
        if (rows > 1) {
          o1[t] += hsum_f32(a1);
          o1[t + 1] += hsum_f32(b1);
        }
        if (rows > 2) {
          o2[t] += hsum_f32(a2);
          o2[t + 1] += hsum_f32(b2);
        }
        if (rows > 3) {
          o3[t] += hsum_f32(a3);
          o3[t + 1] += hsum_f32(b3);
        }
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
EXPORT void dots_f32(const float *x, int n, const float *q, int nq, int d, double *out) {
  dots_f32_ld(x, n, d, q, nq, d, d, out);
}

// The candidates of an exact scan's block: for rows [0, n) of a [n, t] block of dot products, the scores
// v = norms[r] - 2 * dots[r * t + q] below thr[q] (query q's current worst kept score), written as (r, q, v) in order.
// Returns their count. Replaces a JS loop over every score (a quarter of a batched scan's time): JS then pushes only
// the few that can enter a query's top list.
EXPORT int select_below_f64(const double *dots, int n, int t, const double *norms, const double *thr, int *cand_r,
                            int *cand_q, double *cand_v) {
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
