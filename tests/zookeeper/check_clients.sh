#!/usr/bin/env bash
# ZooKeeper's own clients against `fkemu serve --zookeeper`: every ```python block of
# docs/zookeeper-protocol.md (kazoo, run as written with the server's port put in for 2181),
# and a zkCli.sh session scripted through its stdin whose output must hold, in order, what
# ZooKeeper 3.8 prints for it. Fails, never skips, when a client is missing.
# Usage: check_clients.sh FKEMU SOURCE_DIR
set -u
fkemu=$1
root=$2
zkcli=${FKEMU_ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
python=/usr/bin/python3
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  [ -f "$work/serve.log" ] && { echo "--- server log"; cat "$work/serve.log"; }
  exit 1
}

[ -x "$zkcli" ] || fail "zkCli.sh not found at $zkcli (Debian package zookeeper)"
"$python" -c "import kazoo" 2>/dev/null || fail "kazoo is not installed (Debian package python3-kazoo)"

"$fkemu" serve --data :memory: --listen 127.0.0.1:0 --zookeeper 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^fkemu serve: ZooKeeper clients on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the server did not say its ZooKeeper port"

# 1. The kazoo examples of the documentation.
awk -v dir="$work" '/^```python$/ {n++; f=dir "/example" n ".py"; inside=1; next}
                    /^```$/ {inside=0; next}
                    inside {print > f}' "$root/docs/zookeeper-protocol.md"
examples=$(ls "$work"/example*.py 2>/dev/null | wc -l)
[ "$examples" -ge 1 ] || fail "no python example in docs/zookeeper-protocol.md"
for f in "$work"/example*.py; do
  sed -i "s/127\.0\.0\.1:2181/127.0.0.1:$port/g" "$f"
  out=$(timeout 60 "$python" "$f" 2>&1) || fail "$(basename "$f") of docs/zookeeper-protocol.md: $out"
  echo "$out" | grep -qx ok || fail "$(basename "$f") did not print ok: $out"
done
echo "ok: $examples kazoo example(s) of docs/zookeeper-protocol.md"

# 2. zkCli.sh (after the example, which left /app): create (sequential, ephemeral, no data), ls, get, set, stat, watches, delete,
#    deleteall (a multi).
cat >"$work/cli.txt" <<'CLI'
create /cli "v1"
create -s /cli/seq- "a"
create -e /cli/eph "b"
create -s -e /cli/es- "c"
create /cli/nodata
ls /cli
get /cli
get /cli/nodata
set /cli "v2"
stat /cli
get -w /cli
set /cli "v3"
ls -w /cli
create /cli/x
delete /cli/x
get /cli/x
deleteall /cli
ls /
quit
CLI
# What ZooKeeper 3.8's zkCli prints for it, in order (zxids and times aside; zkCli prints a
# watch event from another thread, so "Created /cli/x" and the event before it may swap).
cat >"$work/expected.txt" <<'EXPECTED'
Created /cli
Created /cli/seq-0000000000
Created /cli/eph
Created /cli/es-0000000002
Created /cli/nodata
[eph, es-0000000002, nodata, seq-0000000000]
v1
null
cversion = 4
dataVersion = 1
ephemeralOwner = 0x0
dataLength = 2
numChildren = 4
v2
WatchedEvent state:SyncConnected type:NodeDataChanged path:/cli
[eph, es-0000000002, nodata, seq-0000000000]
WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/cli
Node does not exist: /cli/x
[app, zookeeper]
EXPECTED
timeout 120 "$zkcli" -server "127.0.0.1:$port" <"$work/cli.txt" >"$work/cli.out" 2>&1
"$python" - "$work/expected.txt" "$work/cli.out" <<'PY' || fail "zkCli.sh's output (above) misses a line"
import sys
expected = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
got = [l.rstrip("\n") for l in open(sys.argv[2], errors="replace")]
i = 0
for line in got:
    if i < len(expected) and line.strip() == expected[i]:
        i += 1
if i < len(expected):
    print("".join(l + "\n" for l in got if "INFO" not in l and "log4j" not in l))
    print("missing, in order, from:", expected[i])
    sys.exit(1)
PY
echo "ok: zkCli.sh session"
