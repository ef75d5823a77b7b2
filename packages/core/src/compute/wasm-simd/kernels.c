// cbir's own WebAssembly SIMD kernels: the distance loops under the indexes and the clustering, and the wasm
// backend's convolutions and filter gradients (src/tfjs-kernels/wasm).
// Built by scripts/simd/build.sh (clang-19 --target=wasm32 -msimd128, and again with -mrelaxed-simd) into
// simd-binary.ts; no libc, no allocator: the caller lays out every buffer in the module's imported memory.
#include <wasm_simd128.h>
#include "elementwise.h"

// The kernels by domain, in this order (the order of the module's functions):
#include "kernels/distances.c"
#include "kernels/dots.c"
#include "kernels/int16-scan.c"
#include "kernels/rows.c"
#include "kernels/conv.c"
#include "kernels/winograd.c"
#include "kernels/diffusion.c"
#include "kernels/layouts.c"
