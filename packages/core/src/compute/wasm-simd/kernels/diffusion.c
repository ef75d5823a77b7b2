// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). Diffusion re-ranking's conjugate gradient
// on a sparse graph, several seeds at once.

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
        wasm_v128_store(f + o + j,
                        wasm_f64x2_add(wasm_v128_load(f + o + j), wasm_f64x2_mul(a, wasm_v128_load(p + o + j))));
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
      for (; j < j2; j += 2)
        wasm_v128_store(p + o + j, wasm_f64x2_add(wasm_v128_load(r + o + j),
                                                  wasm_f64x2_mul(wasm_v128_load(step + j), wasm_v128_load(p + o + j))));
      for (; j < j1; j++) p[o + j] = r[o + j] + step[j] * p[o + j];
    }
  }
  return it;
