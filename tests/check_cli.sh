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
expect 2 "truncated.json: invalid JSON" -- "$fkemu" run "$dir/truncated.json"
expect 2 "no such file" -- "$fkemu" run "$dir/missing.json"
expect 2 "" -- "$fkemu" run
expect 2 "" -- "$fkemu" frobnicate
expect 0 "Execute scenarios" -- "$fkemu" run --help
expect 0 "fkemu" -- "$fkemu" --help
"$fkemu" run "$dir/ok.json" --history "$dir/h.jsonl" >/dev/null
if [ "$(wc -l <"$dir/h.jsonl")" != 4 ] || ! grep -q '"kind":"ok"' "$dir/h.jsonl"; then
  echo "FAIL: --history did not write the 4 history lines"
  fail=1
fi
[ $fail -eq 0 ] && echo "fkemu command: exit statuses and messages as documented"
exit $fail
