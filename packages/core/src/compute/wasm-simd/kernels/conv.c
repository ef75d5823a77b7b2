// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). The wasm backend's 2-D convolution (an
// implicit GEMM in 4 x 8 tiles) and its filter gradient.

// A 2-D convolution's geometry for conv2d_nhwc (laid out by the caller in the module's memory, as int32s).
typedef struct {
  const float *x; // input [n, h, w, ci]
  int n, h, w, ci;
  const float *f; // filter packed in blocks of 8 output channels: [ceil(co / 8)][kh][kw][ci][8], zero past co
  int kh, kw, co;
  int oh, ow, sy, sx, dy, dx, top, left; // output size, strides, dilations, padding before
  const float *bias;                     // [ceil(co / 8) * 8] (zeros when the convolution has none)
  int relu;
  const float *zero; // ci zeros: what a tap outside the input reads
  float *out;        // [n, oh, ow, co]
} Conv;

// Stores the first m (0..4) lanes of v at o.
static inline void store_lanes(float *o, v128_t v, int m) {
  if (m >= 4) {
    wasm_v128_store(o, v);
    return;
  }
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
static inline __attribute__((always_inline)) void tile_4x8(const float *q0, const float *q1, const float *q2,
                                                           const float *q3, int qs, const float *f, int fs, int len,
                                                           v128_t *a0, v128_t *a1, v128_t *b0, v128_t *b1, v128_t *c0,
                                                           v128_t *c1, v128_t *d0, v128_t *d1) {
  v128_t A0 = *a0, A1 = *a1, B0 = *b0, B1 = *b1, C0 = *c0, C1 = *c1, D0 = *d0, D1 = *d1;
  for (int t = 0; t < len; t++, q0 += qs, q1 += qs, q2 += qs, q3 += qs, f += fs) {
    const v128_t f0 = wasm_v128_load(f), f1 = wasm_v128_load(f + 4);
    v128_t v = wasm_v128_load32_splat(q0);
    A0 = conv_madd(A0, v, f0);
    A1 = conv_madd(A1, v, f1);
    v = wasm_v128_load32_splat(q1);
    B0 = conv_madd(B0, v, f0);
    B1 = conv_madd(B1, v, f1);
    v = wasm_v128_load32_splat(q2);
    C0 = conv_madd(C0, v, f0);
    C1 = conv_madd(C1, v, f1);
    v = wasm_v128_load32_splat(q3);
    D0 = conv_madd(D0, v, f0);
    D1 = conv_madd(D1, v, f1);
  }
  *a0 = A0;
  *a1 = A1;
  *b0 = B0;
  *b1 = B1;
  *c0 = C0;
  *c1 = C1;
  *d0 = D0;
  *d1 = D1;
}

// Output rows [r0, r1) of a convolution (row r is image r / oh, output row r % oh), NHWC:
// out[i, oy, ox, c] = act(bias[c] + sum_{ky, kx, ci} x[i, oy*sy - top + ky*dy, ox*sx - left + kx*dx, ci] f[ky, kx, ci,
// c]). An implicit GEMM: each tile of 4 output pixels x 8 channels is 8 SIMD accumulators (tile_4x8), and every input
// value is splatted against 8 filter values (the filter block of K x 8 stays in L1). Float32 sums, as XNNPACK and
// PyTorch.
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
        const int x2 = (ox + (px > 2 ? 2 : px - 1)) * p->sx - p->left,
                  x3 = (ox + (px > 3 ? 3 : px - 1)) * p->sx - p->left;
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
            tile_4x8(xrow + x0 * ci, xrow + x1 * ci, xrow + x2 * ci, xrow + x3 * ci, 1, fk, 8, p->kw * ci, &a0, &a1,
                     &b0, &b1, &c0v, &c1v, &d0, &d1);
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
  double *dw;       // [kh, kw, ci, co] in float64, zeroed by the caller
} ConvGrad;

// d[0..m) += the first m (1..8) lanes of (a, b), in float64.
static inline void add_lanes_f64(double *d, v128_t a, v128_t b, int m) {
  if (m == 8) {
    wasm_v128_store(d, wasm_f64x2_add(wasm_v128_load(d), wasm_f64x2_promote_low_f32x4(a)));
    wasm_v128_store(d + 2, wasm_f64x2_add(wasm_v128_load(d + 2),
                                          wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(a, a, 2, 3, 0, 1))));
    wasm_v128_store(d + 4, wasm_f64x2_add(wasm_v128_load(d + 4), wasm_f64x2_promote_low_f32x4(b)));
    wasm_v128_store(d + 6, wasm_f64x2_add(wasm_v128_load(d + 6),
                                          wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(b, b, 2, 3, 0, 1))));
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
// (float32, tile_4x8 with every dy value against 4 splatted x values), then added to dw in float64; the blocks are the
// outer loop, so that a block of x and dy stays in cache while every tile passes over it.
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
