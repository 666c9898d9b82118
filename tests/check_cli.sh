#!/usr/bin/env bash
# The fkemu command's exit status and messages: 0 success, 1 a failed expectation, 2 bad usage
# or unreadable input (with the file, step and problem named).
set -u
fkemu=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
expect() {  # expect STATUS PATTERN -- command...
  local want=$1 pattern=$2
  shift 3
  out=$("$@" 2>&1)
  got=$?
  if [ "$got" != "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $got (want $want), output:"
    echo "$out" | head -20
    fail=1
  fi
}
printf '{"sessions":["a"],"steps":[{"session":"a","op":"create","path":"/x","data":"1","expect":{"error":"NodeExists"}}]}' >"$dir/fails.json"
printf '{"sessions":["a"],"steps":[{"session":"a","op":"teleport","path":"/x"}]}' >"$dir/badop.json"
printf '{"sessions":["a"],"steps":[' >"$dir/truncated.json"
printf '{"sessions":["a"],"steps":[{"session":"a","op":"create","path":"/x","data":"1"},{"session":"a","op":"get_data","path":"/x","expect":{"data":"1"}}]}' >"$dir/ok.json"

expect 0 "1 passed, 0 failed" -- "$fkemu" run "$dir/ok.json"
expect 1 "expected error NodeExists, got ok" -- "$fkemu" run "$dir/fails.json"
expect 2 "badop.json: step 0: unknown op \"teleport\"" -- "$fkemu" run "$dir/badop.json"
expect 2 "truncated.json is not valid JSON: parse error" -- "$fkemu" run "$dir/truncated.json"
expect 2 "no such file" -- "$fkemu" run "$dir/missing.json"
expect 2 "" -- "$fkemu" run
expect 2 "unknown command \"frobnicate\" \(commands: run, " -- "$fkemu" frobnicate
expect 0 "Execute scenarios" -- "$fkemu" run --help
expect 0 "fkemu" -- "$fkemu" --help
"$fkemu" run "$dir/ok.json" --history "$dir/h.jsonl" >/dev/null
if [ "$(wc -l <"$dir/h.jsonl")" != 4 ] || ! grep -q '"kind":"ok"' "$dir/h.jsonl"; then
  echo "FAIL: --history did not write the 4 history lines"
  fail=1
fi
# bench predict and the bench report
expect 0 '"p50_ms":[0-9.]+.*"p90_ms".*"p95_ms".*"p99_ms".*"samples":50' -- \
  "$fkemu" bench predict --op set_data --size 4 --memory 2048 --samples 50 --json
expect 0 "p50 [0-9.]+ ms" -- "$fkemu" bench predict --op watch --watchers 3 --samples 9
expect 2 "--op must be set_data, get_data or watch, not \"delete\"" -- \
  "$fkemu" bench predict --op delete
expect 2 "function memory 3008 MB was not measured" -- "$fkemu" bench predict --memory 3008
expect 2 "--calibration: .*missing-table.json" -- \
  "$fkemu" bench predict --calibration "$dir/missing-table.json"
printf '{"study": "x"' >"$dir/bad-table.json"
expect 2 "bad-table.json" -- "$fkemu" bench predict --calibration "$dir/bad-table.json"
expect 2 "--latency: unknown latency model \"aws-2030\"" -- "$fkemu" serve --latency aws-2030
# fkemu serve refuses what cannot work, naming it (issue 13)
expect 2 "--session-timeout-ms abc: not a whole number" -- "$fkemu" serve --session-timeout-ms abc
expect 2 "--memory applies to the aws-2024 latency model only" -- "$fkemu" serve --memory 1024
expect 2 "the timeout must be at least 6000 ms" -- "$fkemu" serve --session-timeout-ms 2000 \
  --heartbeat-ms 3000
expect 2 "--listen \[::1: an IPv6 address opened with \[ is not closed" -- "$fkemu" serve \
  --listen "[::1"
: >"$dir/empty.db"
expect 1 "empty.db is empty, not an fkemu state file" -- "$fkemu" serve --data "$dir/empty.db" \
  --listen 127.0.0.1:0
expect 2 "--inspect reads a --data file" -- "$fkemu" serve --data :memory: --inspect
a=$("$fkemu" bench predict --size 1024 --samples 30 --seed 5 --json)
b=$("$fkemu" bench predict --size 1024 --samples 30 --seed 5 --json)
if [ "$a" != "$b" ]; then
  echo "FAIL: bench predict with one seed gave two answers"
  fail=1
fi
expect 0 "set_data 256 kB 512 MB" -- "$fkemu" bench --quick --no-speed --samples 20 \
  --plot "$dir/plot.svg" --json "$dir/report.json"
if ! head -c 4 "$dir/plot.svg" | grep -q '<svg' || ! grep -q '"watch"' "$dir/report.json"; then
  echo "FAIL: bench --plot/--json did not write the plot and the report"
  fail=1
fi
# The speed figures a script reads from --json: the ratios' rates, the explorer's schedules/s
# with faults (none of them a violation) and the memory per node.
expect 0 "explorer:" -- "$fkemu" bench --quick --no-zookeeper --seconds 0.05 --samples 10 \
  --json "$dir/speed.json"
if ! /usr/bin/python3 - "$dir/speed.json" <<'PY'; then
import json, sys
s = json.load(open(sys.argv[1]))["speed"]
assert s["explorer"]["schedules_per_s"] > 0 and s["explorer"]["findings"] == 0, s["explorer"]
assert s["memory"]["bytes_per_node"] > 0, s["memory"]
assert {r["op"] for r in s["rates"]} == {"set_data", "get_data"}, s["rates"]
PY
  echo "FAIL: bench --json lacks the explorer, memory or rate figures"
  fail=1
fi
[ $fail -eq 0 ] && echo "fkemu command: exit statuses and messages as documented"
exit $fail
