#!/usr/bin/env bash
# Runs a command on lavapipe, mesa 25's software Vulkan driver, so that Dawn (the `webgpu` package) finds an adapter
# on a machine with no GPU: `scripts/gpu/software-vulkan.sh CMD ARGS...`. Debian 12's own lavapipe (mesa 22.3) lacks
# what Dawn requires (shaderUniform*ArrayDynamicIndexing); bookworm-backports has mesa 25. Its packages are downloaded
# and unpacked into a cache folder (CBIR_VULKAN_CACHE, default ~/.cache/cbir/vulkan): nothing is installed into the
# system except the Vulkan loader (libvulkan1, from Debian) when it is missing.
set -euo pipefail
cache=${CBIR_VULKAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cbir/vulkan}
icd=$cache/lvp-icd.json
lib=$cache/root/usr/lib/x86_64-linux-gnu

if [ ! -s "$icd" ]; then
  [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || { echo "software-vulkan.sh: needs Debian or Ubuntu on x86-64" >&2; exit 1; }
  if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    sudo -n true 2>/dev/null && SUDO=sudo || SUDO=
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libvulkan1 >/dev/null
  fi
  mkdir -p "$cache/debs" "$cache/lists/partial" "$cache/sources"
  # apt reads only this one source list, and keeps its indexes in the cache: the system's apt state is untouched.
  cat > "$cache/sources/backports.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$cache/sources" -o "Dir::State::Lists=$cache/lists")
  apt-get "${apt_opts[@]}" update -qq
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq \
    mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports)
  rm -rf "$cache/root"
  for deb in "$cache"/debs/*.deb; do dpkg-deb -x "$deb" "$cache/root"; done
  test -f "$lib/libvulkan_lvp.so" || { echo "software-vulkan.sh: the mesa package has no libvulkan_lvp.so" >&2; exit 1; }
  # The package's ICD file names the library by its system path; point it at the unpacked one.
  src=$(ls "$cache"/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -1)
  sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$lib/libvulkan_lvp.so\"|" "$src" > "$icd.tmp" && mv "$icd.tmp" "$icd"
fi

export VK_ICD_FILENAMES=$icd
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
exec "$@"
