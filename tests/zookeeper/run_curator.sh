#!/usr/bin/env bash
# Compiles tests/zookeeper/CuratorRecipes.java and runs it against a ZooKeeper server (fkemu's
# --zookeeper listener or a real ZooKeeper): Apache Curator's recipes (InterProcessMutex,
# LeaderLatch, DistributedQueue, NodeCache, CuratorCache) and basic CuratorFramework operations,
# one "PASS name" / "FAIL name: why" line per check.
#
# usage: run_curator.sh HOST:PORT [OUTDIR] [PROGRAM OPTIONS...]
#   OUTDIR     where the classes go (default: a temporary directory, removed at the end)
#   options    passed to the program: --no-container-parents (clients built with Curator's
#              dontUseContainerParents()), --only check,check
# environment:
#   JAVA_JARS   the directory of the jars (default /usr/share/java, as Debian installs them)
#   CURATOR_LOG an slf4j level (error, warn, info, debug): Curator's and ZooKeeper's log on
#               stderr through slf4j-simple; "debug" shows every request's header and reply
#               header (ClientCnxn "header:: XID,OPCODE replyHeader:: XID,ZXID,ERR"). Default:
#               no log (slf4j-nop).
# Exit status: the program's (0: every check passed, 1: a check failed, 2: usage); 3 when javac,
# java or a jar is missing or the compilation fails.
set -u

if [ $# -lt 1 ] || [[ "$1" == -* ]]; then
  echo "usage: $0 HOST:PORT [OUTDIR] [--no-container-parents] [--only check,check]" >&2
  exit 2
fi
target=$1
shift
outdir=
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  outdir=$1
  shift
fi

here=$(cd "$(dirname "$0")" && pwd)
jars_dir=${JAVA_JARS:-/usr/share/java}

for tool in javac java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$0: $tool not found (Debian: apt-get install openjdk-17-jdk-headless)" >&2
    exit 3
  fi
done

if [ -n "${CURATOR_LOG:-}" ]; then
  binding=slf4j-simple
else
  binding=slf4j-nop
fi
cp=
for jar in curator-client curator-framework curator-recipes zookeeper zookeeper-jute guava \
  slf4j-api "$binding"; do
  if [ ! -f "$jars_dir/$jar.jar" ]; then
    echo "$0: $jars_dir/$jar.jar is missing (Debian: apt-get install libcurator-recipes-java" \
      "libzookeeper-java libguava-java libslf4j-java)" >&2
    exit 3
  fi
  cp=$cp${cp:+:}$jars_dir/$jar.jar
done

if [ -n "$outdir" ]; then
  mkdir -p "$outdir" || exit 3
  classes=$outdir
else
  classes=$(mktemp -d)
  trap 'rm -rf "$classes"' EXIT
fi

if ! javac -Xlint:all,-deprecation,-processing,-path -cp "$cp" -d "$classes" \
  "$here/CuratorRecipes.java"; then
  echo "$0: compiling $here/CuratorRecipes.java failed" >&2
  exit 3
fi

props=()
if [ -n "${CURATOR_LOG:-}" ]; then
  props=(-Dorg.slf4j.simpleLogger.defaultLogLevel="$CURATOR_LOG"
    -Dorg.slf4j.simpleLogger.showDateTime=true
    -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS)
fi
java "${props[@]}" -cp "$classes:$cp" CuratorRecipes "$target" "$@"
