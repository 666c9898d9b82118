#!/usr/bin/env bash
# docker-compose.yml must stay valid even though Docker does not run on the build machines.
set -u
root=${1:-.}
cd "$root" || exit 2
command -v docker-compose >/dev/null || { echo "docker-compose is not installed"; exit 1; }
docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml is valid"
