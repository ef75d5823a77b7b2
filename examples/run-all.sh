#!/usr/bin/env bash
# Runs every example in its small, fast mode (what CI does so none of them rots). Needs the built packages.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
for f in examples/[0-9][0-9]-*.mjs; do
  echo "== $f"
  node "$f" --quick --out "$out"
done
