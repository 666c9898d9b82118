#!/usr/bin/env bash
# core/ is the protocol only: no wall clock, threads, OS randomness, Boost or SQLite (docs/architecture.md).
set -u
root=${1:-.}
hits=$(grep -rnE '#include <(boost/|sqlite3|thread>|chrono>|random>|mutex>|future>|condition_variable>|atomic>)|std::thread|std::chrono|system_clock|steady_clock|random_device|\btime\(|\brand\(|getenv|fopen|std::ifstream|std::ofstream' \
  "$root/core" --include='*.h' --include='*.cc')
if [ -n "$hits" ]; then
  echo "core/ reaches outside its interfaces:"
  echo "$hits"
  exit 1
fi
echo "core/ is pure: no clocks, threads, OS randomness, files, Boost or SQLite"
