#!/usr/bin/env bash
# Stages what the GPU check carries to a machine that has a GPU, its driver and PyTorch, but no Node.js and no network:
#   bench/gpu/prepare.sh [OUT]   (default .gpucheck, which .gitignore lists; carry it to the GPU machine)
# OUT holds Node.js itself (this machine's node, xz), the check's bundle (bench/gpu/gpu-bench.ts with cbir and tfjs),
# the `webgpu` package with Dawn's dawn.node (xz), and the Vulkan loader's .deb in case that machine lacks one: about
# 35 MB. The repository's own files (fixtures, torch_gpu.py, scripts/fixtures/models.py) travel with the work tree.
# SMALL=1 skips Node.js and the loader (the small mode runs here, on this machine's).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.gpucheck}
mkdir -p "$out/webgpu"
# What device-check.sh unpacks (dawn.node, the loader) is made again there: not carried twice.
rm -rf "$out/node_modules" "$out/root"
webgpu=$(dirname "$(node -p "require.resolve('webgpu/package.json', { paths: ['packages/node'] })")")
cp "$webgpu/index.js" "$webgpu/package.json" "$out/webgpu/"
[ -s "$out/webgpu/dawn.node.xz" ] || xz -T0 -6 -c "$webgpu/dist/linux-x64/dawn.node" > "$out/webgpu/dawn.node.xz"
# One file: cbir-core, cbir-node's webgpu module and tfjs, bundled so that the GPU machine needs no node_modules.
# tfjs-backend-webgpu resolves from cbir-node's source, where it is a dev dependency.
node_modules/.bin/esbuild bench/gpu/gpu-bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --log-level=warning --outfile="$out/gpu-bench.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
if [ "${SMALL:-0}" != 1 ]; then
  [ -s "$out/node.xz" ] || xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
  mkdir -p "$out/deb"
  lists=$(mktemp -d)
  mkdir -p "$lists/partial"
  apt_opts=(-o APT::Architecture=amd64 -o "Dir::State::Lists=$lists")
  apt-get "${apt_opts[@]}" update -qq && (cd "$out/deb" && apt-get "${apt_opts[@]}" download -qq libvulkan1)
  rm -rf "$lists"
fi
du -sh "$out"
