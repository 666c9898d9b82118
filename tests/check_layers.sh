#!/usr/bin/env bash
# The layers include downward only: apps/ -> harness/ -> emulator/ -> core/ (docs/architecture.md).
# Every include of a project header, quoted or in angle brackets, is checked against the layer of
# the file that has it:
#   core/      may include core/
#   emulator/  may include core/ emulator/
#   harness/   may include core/ emulator/ harness/
#   apps/      may include all four
# tools/, bench/ and tests/ sit outside the layers and may include any of them. Run by the
# layer_check target in every build (so a wrong include fails the build) and by CTest.
set -u
root=${1:-.}
status=0
check() {
  local layer=$1 allowed=$2
  [ -d "$root/$layer" ] || return 0
  local hits
  hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](core|emulator|harness|apps)/' \
    "$root/$layer" --include='*.h' --include='*.cc' |
    grep -vE "#[[:space:]]*include[[:space:]]*[\"<]($allowed)/")
  if [ -n "$hits" ]; then
    echo "$layer/ includes a layer above it (allowed: $allowed):"
    echo "$hits" | sed "s#^$root/##"
    status=1
  fi
}
check core 'core'
check emulator 'core|emulator'
check harness 'core|emulator|harness'
check apps 'core|emulator|harness|apps'
# A header of a layer reached by a relative path would escape the check above.
rel=$(grep -rnE '#[[:space:]]*include[[:space:]]*["<]\.\./' "$root/core" "$root/emulator" "$root/harness" \
  "$root/apps" --include='*.h' --include='*.cc' 2>/dev/null)
if [ -n "$rel" ]; then
  echo "relative includes are not allowed (include from the source root):"
  echo "$rel" | sed "s#^$root/##"
  status=1
fi
[ $status -eq 0 ] && echo "layers: apps -> harness -> emulator -> core, downward only"
exit $status
