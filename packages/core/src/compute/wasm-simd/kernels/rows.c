// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). Row-wise kernels of clustering and
// training: ReLU's gradient, gathers, column sums, centring, the centre updates of MiniBatchKMeans, inertia, distances
// of chosen rows, the first non-finite value.

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
EXPORT void centre_update_f64(const float *x, const int *idx, int n, int d, const int *labels, int k, double *centres,
                              double *counts, double *hits) {
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
EXPORT void sqdist_pairs_f64(const float *x, const int *idx, int n, const double *q, const int *qi, int d,
                             double *out) {
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
