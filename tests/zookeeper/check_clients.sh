#!/usr/bin/env bash
# ZooKeeper's own clients against `fkemu serve --zookeeper`: every ```python block of
# docs/zookeeper-protocol.md (kazoo, run as written with the server's port put in for 2181),
# a zkCli.sh session scripted through its stdin whose output must hold, in order, what
# ZooKeeper 3.8 prints for it, and Apache Curator's recipes with several clients
# (CuratorRecipes.java). Fails, never skips, when a client is missing.
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
# What ZooKeeper 3.8's zkCli prints for it, in order (zxids and times aside). Watch events are
# printed by zkCli's event thread while its main thread prints the commands' answers, so they
# are only required to be there, each once, not in their place.
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
[eph, es-0000000002, nodata, seq-0000000000]
Created /cli/x
Node does not exist: /cli/x
[app, zookeeper]
EXPECTED
cat >"$work/events.txt" <<'EVENTS'
WatchedEvent state:SyncConnected type:NodeDataChanged path:/cli
WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/cli
EVENTS
timeout 120 "$zkcli" -server "127.0.0.1:$port" <"$work/cli.txt" >"$work/cli.out" 2>&1
"$python" - "$work/expected.txt" "$work/events.txt" "$work/cli.out" <<'PY' ||
import sys
expected = [l.strip() for l in open(sys.argv[1]) if l.strip()]
events = [l.strip() for l in open(sys.argv[2]) if l.strip()]
got = [l.strip() for l in open(sys.argv[3], errors="replace")]
answers = [l for l in got if not l.startswith("WatchedEvent") and l != "WATCHER::"]
i = 0
for line in answers:
    if i < len(expected) and line == expected[i]:
        i += 1
problems = []
if i < len(expected):
    problems.append("missing, in order, from: " + expected[i])
for e in events:
    if got.count(e) != 1:
        problems.append("the event %r is there %d times, not once" % (e, got.count(e)))
if problems:
    print("\n".join(l for l in got if "INFO" not in l and "log4j" not in l))
    print("\n".join(problems))
    sys.exit(1)
PY
  fail "zkCli.sh's output (above) is not ZooKeeper's"
echo "ok: zkCli.sh session"

# 2b. zkCli.sh's addWatch: persistent and persistent recursive watches. The events, in their
#     order, are what ZooKeeper 3.8 sends for the same session. (zkCli keeps the -m of its last
#     addWatch: the second one is persistent too.)
cat >"$work/watch.txt" <<'CLI'
create /pv "a"
addWatch -m PERSISTENT /pv
create /pv/e ""
set /pv/e "x"
delete /pv/e
set /pv "b"
delete /pv
create /pv "again"
addWatch /rw
create /rw ""
create /rw/a ""
create /rw/a/b ""
set /rw/a/b "x"
delete /rw/a/b
get -w /rw
set /rw "y"
removewatches /rw
set /rw "z"
addWatch -m PERSISTENT_RECURSIVE /pv
create /pv/x ""
create /pv/x/y ""
set /pv/x/y "1"
delete /pv/x/y
quit
CLI
cat >"$work/watch-events.txt" <<'EVENTS'
WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/pv
WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/pv
WatchedEvent state:SyncConnected type:NodeDataChanged path:/pv
WatchedEvent state:SyncConnected type:NodeDeleted path:/pv
WatchedEvent state:SyncConnected type:NodeCreated path:/pv
WatchedEvent state:SyncConnected type:NodeCreated path:/rw
WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/rw
WatchedEvent state:SyncConnected type:NodeDataChanged path:/rw
WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/rw
WatchedEvent state:SyncConnected type:NodeCreated path:/pv/x
WatchedEvent state:SyncConnected type:NodeCreated path:/pv/x/y
WatchedEvent state:SyncConnected type:NodeDataChanged path:/pv/x/y
WatchedEvent state:SyncConnected type:NodeDeleted path:/pv/x/y
EVENTS
timeout 120 "$zkcli" -server "127.0.0.1:$port" <"$work/watch.txt" >"$work/watch.out" 2>&1
grep -a '^WatchedEvent state:SyncConnected type:[A-Z]' "$work/watch.out" | grep -v 'type:None' \
  >"$work/watch-got.txt"
diff "$work/watch-events.txt" "$work/watch-got.txt" >"$work/watch.diff" || {
  cat "$work/watch.diff"
  fail "zkCli.sh's addWatch events (diff above: expected, got) are not ZooKeeper's"
}
echo "ok: zkCli.sh addWatch session"

# 3. Curator: every check of CuratorRecipes.java (curator-cache on persistent recursive
#    watches, addWatch).
timeout 300 bash "$root/tests/zookeeper/run_curator.sh" "127.0.0.1:$port" "$work/curator" \
  >"$work/curator.out" 2>&1 || {
  cat "$work/curator.out"
  fail "Curator's recipes (above)"
}
grep -E '^(PASS|FAIL|#)' "$work/curator.out"
echo "ok: Curator's recipes"
