#!/usr/bin/env bash
# Quick start 2: install what is missing, build everything with warnings as errors and
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test (CTest over Catch2, the
# comparison with a real ZooKeeper started on loopback, and the repository checks), then the
# libFuzzer targets for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -Og" -DFKEMU_SANITIZE=ON -DFKEMU_WERROR=ON -DFKEMU_BENCH=ON -DFKEMU_MUTANTS=ON >/dev/null
cmake --build build/test -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build/test && ctest --output-on-failure -j "$(nproc)" "$@")

# The libFuzzer targets (clang, tests/fuzz): the HTTP request handling of fkemu serve, its
# WebSocket message handling, its ZooKeeper listener and the scenario/operation parsing, each
# for a bounded time from a copy of its seed corpus.
cmake -S . -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" -DFKEMU_FUZZ=ON -DFKEMU_TESTS=OFF -DFKEMU_ZOOKEEPER=OFF >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target fuzz_http fuzz_ws fuzz_scenario fuzz_zk
rm -rf build/fuzz/corpus && mkdir -p build/fuzz/corpus/http build/fuzz/corpus/ws build/fuzz/corpus/scenario \
  build/fuzz/corpus/zk
cp tests/fuzz/corpus/http/* build/fuzz/corpus/http/
cp tests/fuzz/corpus/ws/* build/fuzz/corpus/ws/
cp tests/fuzz/corpus/zk/* build/fuzz/corpus/zk/
cp scenarios/*.json tests/fuzz/corpus/scenario/* build/fuzz/corpus/scenario/
for target in http ws scenario zk; do
  echo "fuzz_$target: ${FKEMU_FUZZ_SECONDS:-20} s"
  build/fuzz/tests/fuzz/fuzz_$target -max_total_time="${FKEMU_FUZZ_SECONDS:-20}" \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 build/fuzz/corpus/$target 2>&1 | tail -3
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz_$target failed"; exit 1; }
done
