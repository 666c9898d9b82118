#!/usr/bin/env bash
# check_layers.sh must refuse each kind of upward include, and accept a downward one.
set -u
check=$(dirname "$0")/check_layers.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect ok|refused FILE LINE
  rm -rf "$tmp/t" && mkdir -p "$tmp/t/core" "$tmp/t/emulator" "$tmp/t/harness" "$tmp/t/apps/x"
  mkdir -p "$(dirname "$tmp/t/$2")"
  printf '%s\n' "$3" >"$tmp/t/$2"
  if "$check" "$tmp/t" >"$tmp/out" 2>&1; then got=ok; else got=refused; fi
  if [ "$got" != "$1" ]; then
    echo "FAIL: $2 with '$3': expected $1, got $got"
    cat "$tmp/out"
    fail=1
  fi
}
expect refused core/a.h '#include "emulator/local_service.h"'
expect refused emulator/a.cc '#include "harness/scenario.h"'
expect refused emulator/a.cc '#include "apps/server/server.h"'
expect refused harness/a.cc '  #  include "apps/report/speed.h"'
expect refused harness/a.cc '#include "../apps/report/speed.h"'
expect ok harness/a.cc '#include "emulator/operation.h"'
expect ok apps/x/a.cc '#include "harness/checker.h"'
expect refused emulator/a.cc '#include <harness/scenario.h>'
expect refused core/a.cc '#include <../emulator/local_service.h>'
expect ok emulator/a.cc '#include <harnessing>'
expect ok emulator/a.cc '#include <boost/asio.hpp>'
[ $fail -eq 0 ] && echo "check_layers.sh refuses upward includes and accepts downward ones"
exit $fail
