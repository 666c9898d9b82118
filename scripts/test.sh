#!/usr/bin/env bash
# Quick start 2: install what is missing, build everything with warnings as errors and
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test (CTest over Catch2, the
# comparison with a real ZooKeeper started on loopback, and the repository checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DFKEMU_SANITIZE=ON -DFKEMU_WERROR=ON -DFKEMU_BENCH=ON -DFKEMU_MUTANTS=ON >/dev/null
cmake --build build/test -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build/test
ctest --output-on-failure -j "$(nproc)" "$@"
