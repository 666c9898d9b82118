#!/usr/bin/env bash
# Installs every Debian 12 package that fkemu's build, tests and benchmarks need.
# Idempotent: packages already present are left alone. Run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang clang-format
  nlohmann-json3-dev catch2 libbenchmark-dev libcli11-dev libfmt-dev
  libboost-dev libboost-system-dev libsqlite3-dev libedit-dev
  zookeeper libzookeeper-mt-dev default-jre-headless default-jdk-headless
  python3-kazoo python3-mock libcurator-recipes-java libcurator-framework-java
  libcurator-client-java libslf4j-java
  docker-compose python3 python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
