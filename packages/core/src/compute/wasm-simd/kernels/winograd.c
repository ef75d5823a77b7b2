// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). Winograd's F(4x4, 3x3) for stride-1 3x3
// convolutions: the forward pass, the filter transform and the gradients.

// A stride-1 3x3 convolution for conv3x3_winograd: Winograd's F(4x4, 3x3) (int32 fields in the module's memory).
typedef struct {
  const float *x; // input [n, h, w, ci], ci a multiple of 4
  int n, h, w, ci;
  const float *u; // transformed filter G g G^T, packed [36][ceil(co / 8)][ci][8], zero past co (wino_filter)
  int co, oh, ow, top, left;
  int blockTiles;    // tiles per block, a multiple of 4
  const float *bias; // [ceil(co / 8) * 8]
  int relu;
  float *scratch;    // per part: V [36][blockTiles][ci], M [36][blockTiles][ceil(co / 8) * 8], T [36][4]
  int scratchFloats; // floats of scratch per part
  float *out;        // [n, oh, ow, co]
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
static inline __attribute__((always_inline)) void wino_bt(v128_t d0, v128_t d1, v128_t d2, v128_t d3, v128_t d4,
                                                          v128_t d5, float *o, long os) {
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
static inline __attribute__((always_inline)) void wino_input(const float *img, int h, int w, int ci, int iy, int ix,
                                                             int c, float *v, long ps, float *T) {
  if (iy >= 0 && ix >= 0 && iy + 6 <= h && ix + 6 <= w) {
    // Inside the input: no bounds to check.
    const float *q = img + ((long)iy * w + ix) * ci + c;
    const long rs = (long)w * ci;
    for (int b = 0; b < 6; b++, q += ci)
      wino_bt(wasm_v128_load(q), wasm_v128_load(q + rs), wasm_v128_load(q + 2 * rs), wasm_v128_load(q + 3 * rs),
              wasm_v128_load(q + 4 * rs), wasm_v128_load(q + 5 * rs), T + 4 * b, 24);
  } else {
    for (int b = 0; b < 6; b++)
      wino_bt(wino_in(img, h, w, ci, iy, ix + b, c), wino_in(img, h, w, ci, iy + 1, ix + b, c),
              wino_in(img, h, w, ci, iy + 2, ix + b, c), wino_in(img, h, w, ci, iy + 3, ix + b, c),
              wino_in(img, h, w, ci, iy + 4, ix + b, c), wino_in(img, h, w, ci, iy + 5, ix + b, c), T + 4 * b, 24);
  }
  // Rows: T[a][b] = (B^T d)_ab; V[a][k] = (T B)_ak.
  for (int a = 0; a < 6; a++) {
    const float *t = T + 24 * a;
    wino_bt(wasm_v128_load(t), wasm_v128_load(t + 4), wasm_v128_load(t + 8), wasm_v128_load(t + 12),
            wasm_v128_load(t + 16), wasm_v128_load(t + 20), v + 6 * a * ps, ps);
  }
}

// A^T m along one axis, A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]: six vectors to four.
#define WINO_AT(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                                \
  const v128_t y0##_a = wasm_f32x4_add(m1, m2), y0##_b = wasm_f32x4_sub(m1, m2), y0##_c = wasm_f32x4_add(m3, m4),      \
               y0##_d = wasm_f32x4_sub(m3, m4);                                                                        \
  const v128_t y0 = wasm_f32x4_add(wasm_f32x4_add(m0, y0##_a), y0##_c),                                                \
               y1 = wasm_f32x4_add(y0##_b, mul_f32(y0##_d, 2));                                                        \
  const v128_t y2 = wasm_f32x4_add(y0##_a, mul_f32(y0##_c, 4)),                                                        \
               y3 = wasm_f32x4_add(wasm_f32x4_add(y0##_b, mul_f32(y0##_d, 8)), m5);

// The tile at index g of the n x ceil(oh / 4) x ceil(ow / 4) tiles, in that order: its image, tile row and column.
#define WINO_TILE(g, th, tw, i, ty, tx)                                                                                \
  const int i = (g) / ((th) * (tw)), ty = ((g) - i * (th) * (tw)) / (tw), tx = (g) - (i * (th) + ty) * (tw);

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
    // The input transform of every tile of the block (up to a multiple of 4, the last repeated: computed, never
    // stored).
    for (int t = 0; t < used; t++) {
      const int g = g0 + t < g1 ? g0 + t : g1 - 1;
      WINO_TILE(g, th, tw, i, ty, tx)
      const float *img = p->x + (long)i * h * w * ci;
      for (int c = 0; c < ci; c += 4)
        wino_input(img, h, w, ci, 4 * ty - p->top, 4 * tx - p->left, c, V + (long)t * ci + c, vs, T);
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
          wasm_v128_store(o, a0);
          wasm_v128_store(o + 4, a1);
          wasm_v128_store(o + cop, b0);
          wasm_v128_store(o + cop + 4, b1);
          wasm_v128_store(o + 2 * cop, c0);
          wasm_v128_store(o + 2 * cop + 4, c1);
          wasm_v128_store(o + 3 * cop, e0);
          wasm_v128_store(o + 3 * cop + 4, e1);
        }
      }
    }
    // Output transform Y = A^T M A, then bias and ReLU; outputs past the output's edge are not stored.
    for (int t = 0; t < g1 - g0; t++) {
      WINO_TILE(g0 + t, th, tw, i, ty, tx)
      const int oy0 = 4 * ty, rowsOut = oh - oy0 < 4 ? oh - oy0 : 4, ox0 = 4 * tx,
                colsOut = ow - ox0 < 4 ? ow - ox0 : 4;
      for (int c = 0; c < co; c += 4) {
        const float *m = M + (long)t * cop + c;
        // Along each row a of M: T[a][j] = (M A)_aj.
        for (int a = 0; a < 6; a++) {
          const float *ma = m + 6 * a * ps;
          WINO_AT(wasm_v128_load(ma), wasm_v128_load(ma + ps), wasm_v128_load(ma + 2 * ps), wasm_v128_load(ma + 3 * ps),
                  wasm_v128_load(ma + 4 * ps), wasm_v128_load(ma + 5 * ps), z0, z1, z2, z3)
          float *ta = T + 16 * a;
          wasm_v128_store(ta, z0);
          wasm_v128_store(ta + 4, z1);
          wasm_v128_store(ta + 8, z2);
          wasm_v128_store(ta + 12, z3);
        }
        const v128_t bias = wasm_v128_load(p->bias + c);
        const int lanes = co - c < 4 ? co - c : 4;
        const long rs = (long)ow * co;
        for (int j = 0; j < colsOut; j++) {
          const float *tj = T + 4 * j;
          WINO_AT(wasm_v128_load(tj), wasm_v128_load(tj + 16), wasm_v128_load(tj + 32), wasm_v128_load(tj + 48),
                  wasm_v128_load(tj + 64), wasm_v128_load(tj + 80), y0, y1, y2, y3)
          float *o = p->out + (((long)i * oh + oy0) * ow + ox0 + j) * co + c;
          v128_t s0 = wasm_f32x4_add(bias, y0), s1 = wasm_f32x4_add(bias, y1), s2 = wasm_f32x4_add(bias, y2),
                 s3 = wasm_f32x4_add(bias, y3);
          if (p->relu) {
            s0 = wasm_f32x4_max(s0, zero);
            s1 = wasm_f32x4_max(s1, zero);
            s2 = wasm_f32x4_max(s2, zero);
            s3 = wasm_f32x4_max(s3, zero);
          }
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
  const double r##0 = (a) / 4, r##1 = -((a) + (b) + (c)) / 6, r##2 = -((a) - (b) + (c)) / 6,                           \
               r##3 = (a) / 24 + (b) / 12 + (c) / 6, r##4 = (a) / 24 - (b) / 12 + (c) / 6, r##5 = (c);
// G^T applied to a 6-vector: s0..s2 = G^T (v0 .. v5).
#define WINO_GT6(v0, v1, v2, v3, v4, v5, s)                                                                            \
  const double s##0 = (v0) / 4 - (v1) / 6 - (v2) / 6 + (v3) / 24 + (v4) / 24,                                          \
               s##1 = -(v1) / 6 + (v2) / 6 + (v3) / 12 - (v4) / 12,                                                    \
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
      // clang-format off: statement macros, laid out by hand
#define ROW(y)                                                                                                         \
  {                                                                                                                    \
    WINO_G3(p##y, q##y, r##y, v)                                                                                       \
    uo[(6 * y) * pos] = (float)v0; uo[(6 * y + 1) * pos] = (float)v1; uo[(6 * y + 2) * pos] = (float)v2;             \
    uo[(6 * y + 3) * pos] = (float)v3; uo[(6 * y + 4) * pos] = (float)v4; uo[(6 * y + 5) * pos] = (float)v5;         \
  }
      ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
      // clang-format on
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
      // clang-format off: statement macros, laid out by hand
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
      // clang-format on
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
static inline __attribute__((always_inline)) void wino_a(v128_t g0, v128_t g1, v128_t g2, v128_t g3, float *o,
                                                         long os) {
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
      for (int c = 0; c < ci; c += 4)
        wino_input(img, h, w, ci, 4 * ty - p->top, 4 * tx - p->left, c, V + (long)t * ci + c, vs, T);
      // dM = A dY A^T of the 4 x 4 output-gradient tile (zeros past the output).
      float *m = M + (long)t * cop;
      for (int c = 0; c < cop; c += 4) {
        if (c >= co) {
          for (int pos = 0; pos < 36; pos++) wasm_v128_store(m + pos * ps + c, zero);
          continue;
        }
        // Columns: T[a][b] = (A g)_ab; then rows: dM[a][k] = (T A^T)_ak.
        for (int b = 0; b < 4; b++)
          wino_a(wino_dy(p, i, 4 * ty, 4 * tx + b, c), wino_dy(p, i, 4 * ty + 1, 4 * tx + b, c),
                 wino_dy(p, i, 4 * ty + 2, 4 * tx + b, c), wino_dy(p, i, 4 * ty + 3, 4 * tx + b, c), T + 4 * b, 16);
        for (int a = 0; a < 6; a++) {
          const float *ta = T + 16 * a;
          wino_a(wasm_v128_load(ta), wasm_v128_load(ta + 4), wasm_v128_load(ta + 8), wasm_v128_load(ta + 12),
                 m + 6 * a * ps + c, ps);
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
