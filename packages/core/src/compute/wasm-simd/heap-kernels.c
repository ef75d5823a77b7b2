// Kernels that run in tfjs's own wasm memory, in place on its tensors: one thread (tfjs's memory is not shared) but no
// copies, for passes bound by memory, where copying the operands into cbir's kernels' memory and back cost more than
// the threads gained. The module is instantiated on tfjs's memory object, so it must not write anything of its own
// there: no stack (no arrays, no calls not inlined), no globals and no data segment (which instantiation would copy
// over tfjs's data). binary-rules.test.ts checks all three on the built binary.
#include "elementwise.h"

// ReLU's gradient (elementwise.h): out[i] = dy[i] * step(x[i]).
EXPORT void relu_grad_f32(const float *dy, const float *x, int n, float *out) { relu_grad(dy, x, n, out); }

// A 2 x 2, stride-2 max pool's gradient (elementwise.h), output rows [r0, r1).
EXPORT void maxpool2_grad_f32(const float *x, const float *dy, float *dx, int h, int w, int c, int oh, int ow, int r0,
                              int r1) {
  maxpool2_grad(x, dy, dx, h, w, c, oh, ow, r0, r1);
}

// Column sums in float64 (elementwise.h): a bias gradient's sum over the batch and the pixels.
EXPORT void column_sums_f64(const float *x, int n, int d, double *sums) { column_sums(x, n, d, sums); }
