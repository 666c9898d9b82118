#!/usr/bin/env bash
# The exploration harness end to end, through the fkemu command:
#   1. every protocol mutant is caught on the bundled scenarios, and its shrunk trace replays
#      strictly and still shows the violation;
#   2. the correct protocol shows no violation over an exploration with every fault site on,
#      with random walks and PCT, each schedule run twice to compare trace hashes.
#   3. (generated) the same over a few hundred generated scenarios.
# usage: check_explore.sh FKEMU SCENARIO_DIR [mutants|generated]
set -u
fkemu=$1
scenarios=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

# explore_both WHAT ARGS...: random walks and PCT with every fault site on, each schedule run
# twice to compare trace hashes; any violation fails.
explore_both() {
  local what=$1
  shift
  for strategy in random pct; do
    out=$("$fkemu" explore "$@" --faults --strategy "$strategy" --seed 20261202 \
      --check-determinism --all --trace-dir "$dir" 2>&1)
    got=$?
    echo "$out" | head -12
    if [ "$got" != 0 ]; then
      echo "FAIL: the correct protocol violated a guarantee on $what under $strategy with faults"
      echo "$out" | tail -30
      fail=1
    fi
  done
}

if [ "${3:-}" = mutants ]; then
  "$fkemu" mutants "$scenarios" --json --trace-dir "$dir" >"$dir/mutants.json" 2>"$dir/summary.txt"
  status=$?
  cat "$dir/summary.txt"
  total=$(grep -c '"breaks"' "$dir/mutants.json")
  caught=$(grep -c '"caught_everywhere": true' "$dir/mutants.json")
  if [ "$status" != 0 ] || [ "$total" -lt 10 ] || [ "$caught" != "$total" ]; then
    echo "FAIL: fkemu mutants exit $status, $caught of $total mutants caught"
    fail=1
  fi
  for t in "$dir"/mutant-*.trace.json; do
    [ -e "$t" ] || continue
    out=$("$fkemu" replay "$t" 2>&1)
    got=$?
    if [ "$got" != 1 ] || ! grep -q "(identical)" <<<"$out" || ! grep -q "^violation of G" <<<"$out"; then
      echo "FAIL: the shrunk trace $(basename "$t") does not replay to its violation (exit $got):"
      echo "$out" | head -5
      fail=1
    fi
  done
elif [ "${3:-}" = generated ]; then
  explore_both "generated scenarios" --generate 300 --schedules 600 --jobs 2
else
  explore_both "the bundled scenarios" "$scenarios" --schedules 1000
fi
[ $fail -eq 0 ] && echo "exploration checks passed"
exit $fail
