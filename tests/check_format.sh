#!/usr/bin/env bash
# Every C++ source of the project is formatted by clang-format with the repository's .clang-format.
set -u
root=${1:-.}
cd "$root" || exit 2
command -v clang-format >/dev/null || { echo "clang-format is not installed"; exit 1; }
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    bad=1
  fi
done < <(git ls-files '*.h' '*.cc' 2>/dev/null || find core emulator harness bench tests -name '*.h' -o -name '*.cc')
[ $bad -eq 0 ] && echo "all sources formatted"
exit $bad
