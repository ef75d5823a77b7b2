#!/usr/bin/env bash
# The GPU check: cbir's webgpu backend against PyTorch CUDA on the same card, from what bench/gpu/prepare.sh staged.
#   On a GPU machine (NVIDIA driver, CUDA and PyTorch; no Node.js, no network), from the repository root:
#     bash bench/gpu/device-check.sh [STAGED]          (default .gpucheck)
#   Small mode, on a machine with no GPU (CI: lavapipe, mesa's software Vulkan, with this machine's Node.js and a
#   CPU PyTorch): SMALL=1 scripts/gpu/software-vulkan.sh bash bench/gpu/device-check.sh
# Checks: the adapter is the NVIDIA GPU, not a fallback (small mode: any adapter); V2 training parity at 32 px with
# PyTorch's fixture; V2 training and encoding images/s at 128 and 512 px, batch 32 (small: 32 and 64 px, batch 4),
# cbir and PyTorch, with the ratios. Exit 0 when every check passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
staged=${1:-.gpucheck}
small=${SMALL:-0}
fail=0
[ -s "$staged/gpu-bench.mjs" ] || { echo "no $staged/gpu-bench.mjs: run bench/gpu/prepare.sh first"; exit 2; }

# Node.js: the staged one where this machine has none (or an older one).
node_bin=$(command -v node || true)
if [ "$small" != 1 ] && [ -s "$staged/node.xz" ]; then
  node_bin=/tmp/cbir-node && xz -dc "$staged/node.xz" > $node_bin && chmod +x $node_bin
fi
[ -n "$node_bin" ] || { echo "no Node.js: stage one with bench/gpu/prepare.sh"; exit 2; }
# The Vulkan loader, unpacked beside the check where the system has none.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' && ls "$staged"/deb/*.deb >/dev/null 2>&1; then
  for f in "$staged"/deb/*.deb; do dpkg-deb -x "$f" "$staged/root"; done
  export LD_LIBRARY_PATH="$PWD/$staged/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The webgpu package where the bundle looks for it: node_modules beside it, dawn.node under dist/linux-x64.
mkdir -p "$staged/node_modules/webgpu/dist/linux-x64"
cp "$staged/webgpu/index.js" "$staged/webgpu/package.json" "$staged/node_modules/webgpu/"
[ -s "$staged/node_modules/webgpu/dist/linux-x64/dawn.node" ] ||
  xz -dc "$staged/webgpu/dawn.node.xz" > "$staged/node_modules/webgpu/dist/linux-x64/dawn.node"
# NVIDIA's Vulkan driver: containers often carry its ICD file outside the loader's default folders.
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$icd" ] && export VK_ICD_FILENAMES=$icd && break
  done
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

echo "== machine"
$node_bin --version
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# The GPU machine's own python3 holds PyTorch with CUDA; in the small mode, Debian's (python3-torch).
py=${PYTHON:-python3}
[ "$small" = 1 ] && [ -z "${PYTHON:-}" ] && py=/usr/bin/python3
$py -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' || fail=1

if [ "$small" = 1 ]; then sizes=32,64; batch=4; steps=1; export CBIR_ALLOW_SOFTWARE_GPU=1
else sizes=128,512; batch=32; steps=3; export CBIR_REQUIRE_GPU=1; fi
log=$(mktemp)
echo "== cbir on webgpu: adapter, parity at 32 px, V2 at $sizes px, batch $batch"
SIZES=$sizes BATCH=$batch STEPS=$steps timeout 420 $node_bin "$staged/gpu-bench.mjs" | tee "$log" || fail=1
echo "== PyTorch on the same machine"
torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE) # the peer at its best
"${torch_env[@]}" timeout 240 $py bench/gpu/torch_gpu.py --sizes $sizes --batch $batch --steps $steps | tee -a "$log" || fail=1

$node_bin - "$log" "$small" <<'JS' || fail=1
const lines = require('fs').readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const adapter = lines.find((l) => l.kind === 'adapter');
const parity = lines.find((l) => l.kind === 'parity');
const f = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
console.log(`\nadapter: ${adapter ? `${adapter.vendor} ${adapter.architecture} (${adapter.description})${adapter.isFallbackAdapter ? ', a software fallback' : ''}` : 'none'}`);
console.log(parity ? `parity, V2 at 32 px, 10 Adam steps against PyTorch: loss ${parity.lossErr.toExponential(1)}, gradients ${parity.gradErr.toExponential(1)}, parameters ${parity.paramErr.toExponential(1)}: ${parity.ok ? 'ok' : 'FAILED'}` : 'parity: not run');
console.log('\n| V2 size | batch | cbir webgpu train img/s (micro-batch) | PyTorch train img/s | train ratio | cbir encode img/s | PyTorch encode img/s | encode ratio |');
console.log('|---|---|---|---|---|---|---|---|');
let ok = Boolean(adapter && parity?.ok);
for (const r of lines.filter((l) => l.kind === 'rate')) {
  const t = lines.find((l) => l.kind === 'torch' && l.size === r.size);
  if (!t) ok = false;
  console.log(`| ${r.size} | ${r.batch} | ${f(r.train)} (${r.microBatch}) | ${t ? f(t.train) : '-'} | ${t ? (r.train / t.train).toFixed(2) + 'x' : '-'} | ${f(r.encode)} | ${t ? f(t.encode) : '-'} | ${t ? (r.encode / t.encode).toFixed(2) + 'x' : '-'} |`);
}
const torch = lines.find((l) => l.kind === 'torch');
console.log(`\nPyTorch ${torch?.torch ?? '?'} on ${torch?.device ?? '?'}; float32, TF32 off.`);
process.exit(ok ? 0 : 1);
JS
[ $fail = 0 ] && echo "GPU check: passed" || echo "GPU check: FAILED"
exit $fail
