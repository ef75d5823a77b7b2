// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). Squared distances of float32 rows to
// float64 points, the nearest point, the argmin over dot products, and per-cluster sums: the clustering's and the exact
// indexes' float64 loops.

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
