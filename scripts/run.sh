#!/usr/bin/env bash
# Quick start 1: install what is missing, build fkemu (Release) and run its main job on the
# embedded default: every bundled scenario through `fkemu run`, with a one-screen summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DFKEMU_TESTS=OFF >/dev/null
cmake --build build/release --target fkemu -j "$(nproc)"
exec build/release/apps/fkemu run scenarios "$@"
