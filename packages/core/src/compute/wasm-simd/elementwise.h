// Element-wise kernels of the training step's backward pass, included by kernels.c (threads, on copies in cbir's
// memory) and by heap-kernels.c (in place, in tfjs's own wasm memory). No stack, no globals, no static data: see
// heap-kernels.c for why.
#include <wasm_simd128.h>

#define EXPORT __attribute__((visibility("default")))

// acc[j] += x[j] for j < d, in float64.
static inline void add_row_f64(double *acc, const float *x, int d) {
  int j = 0;
  for (; j + 4 <= d; j += 4) {
    v128_t xv = wasm_v128_load(x + j);
    wasm_v128_store(acc + j, wasm_f64x2_add(wasm_v128_load(acc + j), wasm_f64x2_promote_low_f32x4(xv)));
    wasm_v128_store(acc + j + 2, wasm_f64x2_add(wasm_v128_load(acc + j + 2),
                                                wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(xv, xv, 2, 3, 0, 1))));
  }
  for (; j < d; j++) acc[j] += x[j];
}

// sums[j] += sum_i x[i * d + j] in float64 (sums zeroed by the caller before the first rows).
static inline void column_sums(const float *x, int n, int d, double *sums) {
  for (int i = 0; i < n; i++) add_row_f64(sums, x + (long)i * d, d);
}

// out[i] = dy[i] * step(x[i]) for i < n: ReLU's gradient as tfjs computes it (step is 1 above zero, 0 at or below it,
// and NaN for NaN, so a NaN input poisons its gradient).
static inline void relu_grad(const float *dy, const float *x, int n, float *out) {
  const v128_t zero = wasm_f32x4_splat(0), one = wasm_f32x4_splat(1);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t xv = wasm_v128_load(x + i);
    v128_t s = wasm_v128_and(wasm_f32x4_gt(xv, zero), one);
    s = wasm_v128_or(s, wasm_v128_and(wasm_f32x4_ne(xv, xv), xv));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(dy + i), s));
  }
  for (; i < n; i++) out[i] = dy[i] * (x[i] > 0 ? 1.0f : x[i] == x[i] ? 0.0f : x[i]);
}

// The gradient of a 2 x 2 max pool with stride 2 and no padding (every window inside x [n, h, w, c]), output rows
// [r0, r1) (row r: image r / oh, output row r % oh): each dy value goes to the first maximum of its window in
// row-major order (ties as tfjs's cpu kernel and PyTorch break them; a NaN gets it only when it comes first, where
// PyTorch gives it to any NaN and tfjs's cpu kernel to none), the other three get +0, and
// so do x's rows and columns past the last window. Values are 0 + dy, as the kernels that add into zeros give them.
static inline void maxpool2_grad(const float *x, const float *dy, float *dx, int h, int w, int c, int oh, int ow,
                                 int r0, int r1) {
  const v128_t zero = wasm_f32x4_splat(0);
  const long row = (long)w * c;
  for (int r = r0; r < r1; r++) {
    const int i = r / oh, oy = r - i * oh;
    const float *x0 = x + ((long)i * h + 2 * oy) * row, *x1 = x0 + row;
    float *d0 = dx + ((long)i * h + 2 * oy) * row, *d1 = d0 + row;
    const float *g = dy + (long)r * ow * c;
    for (int ox = 0; ox < ow; ox++, g += c) {
      const long p = 2L * ox * c;
      int k = 0;
      if ((c & 3) == 0) {
        for (; k < c; k += 4) {
          const v128_t a = wasm_v128_load(x0 + p + k), b = wasm_v128_load(x0 + p + c + k);
          const v128_t e = wasm_v128_load(x1 + p + k), f = wasm_v128_load(x1 + p + c + k), gv = wasm_v128_load(g + k);
          const v128_t mb = wasm_f32x4_gt(b, a), best1 = wasm_v128_bitselect(b, a, mb);
          const v128_t me = wasm_f32x4_gt(e, best1), best2 = wasm_v128_bitselect(e, best1, me);
          const v128_t mf = wasm_f32x4_gt(f, best2);
          // The winner: f if it beats the best of the first three, else e if it beat the first two, else b, else a.
          const v128_t wf = mf, we = wasm_v128_andnot(me, mf), wb = wasm_v128_andnot(wasm_v128_andnot(mb, me), mf);
          const v128_t wa = wasm_v128_not(wasm_v128_or(wasm_v128_or(mb, me), mf));
          wasm_v128_store(d0 + p + k, wasm_f32x4_add(zero, wasm_v128_and(gv, wa)));
          wasm_v128_store(d0 + p + c + k, wasm_f32x4_add(zero, wasm_v128_and(gv, wb)));
          wasm_v128_store(d1 + p + k, wasm_f32x4_add(zero, wasm_v128_and(gv, we)));
          wasm_v128_store(d1 + p + c + k, wasm_f32x4_add(zero, wasm_v128_and(gv, wf)));
        }
      }
      for (; k < c; k++) {
        const float a = x0[p + k], b = x0[p + c + k], e = x1[p + k], f = x1[p + c + k];
        int at = 0;
        float best = a;
        if (b > best) best = b, at = 1;
        if (e > best) best = e, at = 2;
        if (f > best) at = 3;
        d0[p + k] = 0.0f + (at == 0 ? g[k] : 0.0f);
        d0[p + c + k] = 0.0f + (at == 1 ? g[k] : 0.0f);
        d1[p + k] = 0.0f + (at == 2 ? g[k] : 0.0f);
        d1[p + c + k] = 0.0f + (at == 3 ? g[k] : 0.0f);
      }
    }
    // Columns past the last window, then (after the image's last output row) rows past it: zeros.
    for (long j = 2L * ow * c; j < row; j++) d0[j] = d1[j] = 0;
    if (oy == oh - 1)
      for (long j = 2 * row; j < (long)(h - 2 * oy) * row; j++) d0[j] = 0;
  }
}
