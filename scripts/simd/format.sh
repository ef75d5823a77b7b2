#!/usr/bin/env bash
# Formats the SIMD kernels' C with clang-format-19 (.clang-format at the root); `--check` only reports, as CI runs it.
# Needs Debian's clang-format-19 (apt-get install clang-format-19). Formatting never changes the built module:
# scripts/simd/build.sh gives the same simd-binary.ts before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
files=(packages/core/src/compute/wasm-simd/*.c packages/core/src/compute/wasm-simd/*.h packages/core/src/compute/wasm-simd/kernels/*.c)
if [ "${1:-}" = --check ]; then
  clang-format-19 --dry-run --Werror "${files[@]}"
  echo "C formatting: ok (${#files[@]} files)"
else
  clang-format-19 -i "${files[@]}"
fi
