// Part of kernels.c, which includes it (one translation unit, not built alone: the static inline helpers are
// shared across the parts, and the module is laid out as one file would be). The structs' layouts, asserted against
// kernel-structs.ts when the kernels are created.
}

// The structs' layouts, asserted when the kernels are created (KERNEL_STRUCTS in kernel-structs.ts): each writes
// the struct's size, then its fields' byte offsets in the order declared above. A struct changed here and not there
// (a field added, moved or retyped) fails the assertion with both layouts, instead of a kernel reading garbage.
#define AT(T, f) (int)__builtin_offsetof(T, f)
EXPORT void layout_Conv(int *o) {
  const int v[] = {sizeof(Conv),   AT(Conv, x),    AT(Conv, n),    AT(Conv, h),  AT(Conv, w),   AT(Conv, ci),
                   AT(Conv, f),    AT(Conv, kh),   AT(Conv, kw),   AT(Conv, co), AT(Conv, oh),  AT(Conv, ow),
                   AT(Conv, sy),   AT(Conv, sx),   AT(Conv, dy),   AT(Conv, dx), AT(Conv, top), AT(Conv, left),
                   AT(Conv, bias), AT(Conv, relu), AT(Conv, zero), AT(Conv, out)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_ConvGrad(int *o) {
  const int v[] = {sizeof(ConvGrad),
                   AT(ConvGrad, x),
                   AT(ConvGrad, n),
                   AT(ConvGrad, h),
                   AT(ConvGrad, w),
                   AT(ConvGrad, ci),
                   AT(ConvGrad, dy),
                   AT(ConvGrad, oh),
                   AT(ConvGrad, ow),
                   AT(ConvGrad, co),
                   AT(ConvGrad, kh),
                   AT(ConvGrad, kw),
                   AT(ConvGrad, sy),
                   AT(ConvGrad, sx),
                   AT(ConvGrad, top),
                   AT(ConvGrad, left),
                   AT(ConvGrad, rowsPerBlock),
                   AT(ConvGrad, dw)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_Wino(int *o) {
  const int v[] = {sizeof(Wino),
                   AT(Wino, x),
                   AT(Wino, n),
                   AT(Wino, h),
                   AT(Wino, w),
                   AT(Wino, ci),
                   AT(Wino, u),
                   AT(Wino, co),
                   AT(Wino, oh),
                   AT(Wino, ow),
                   AT(Wino, top),
                   AT(Wino, left),
                   AT(Wino, blockTiles),
                   AT(Wino, bias),
                   AT(Wino, relu),
                   AT(Wino, scratch),
                   AT(Wino, scratchFloats),
                   AT(Wino, out)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_WinoGrad(int *o) {
  const int v[] = {sizeof(WinoGrad),         AT(WinoGrad, x),        AT(WinoGrad, n),
                   AT(WinoGrad, h),          AT(WinoGrad, w),        AT(WinoGrad, ci),
                   AT(WinoGrad, dy),         AT(WinoGrad, oh),       AT(WinoGrad, ow),
                   AT(WinoGrad, co),         AT(WinoGrad, top),      AT(WinoGrad, left),
                   AT(WinoGrad, blockTiles), AT(WinoGrad, scratch),  AT(WinoGrad, scratchFloats),
                   AT(WinoGrad, du),         AT(WinoGrad, duDoubles)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
EXPORT void layout_Diffusion(int *o) {
  const int v[] = {sizeof(Diffusion),   AT(Diffusion, alpha), AT(Diffusion, tol), AT(Diffusion, row_ptr),
                   AT(Diffusion, cols), AT(Diffusion, vals),  AT(Diffusion, y),   AT(Diffusion, f),
                   AT(Diffusion, work), AT(Diffusion, n),     AT(Diffusion, m),   AT(Diffusion, max_iter)};
  for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++) o[i] = v[i];
}
