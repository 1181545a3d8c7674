#!/usr/bin/env bash
# Checks that every unfix patch of fuzz/regressions/<t>/ still applies to the
# tree it sits in (git apply --check, from the repository root). prove.sh
# needs each of them to undo its fix; a patch that no longer applies means the
# fixed code moved and the patch must be made again (CTest
# fuzz.regressions.patches_apply). Exit 1 naming the stale patches.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$(dirname "$here")")"
stale=0
count=0
for p in "$here"/*/*.unfix.patch; do
  [ -e "$p" ] || continue
  count=$((count + 1))
  if ! out="$(cd "$root" && git apply --check "$p" 2>&1)"; then
    echo "stale: ${p#"$root"/}: $out"
    stale=$((stale + 1))
  fi
done
echo "patches_apply: $count unfix patches, $stale stale"
[ "$count" -gt 0 ] && [ "$stale" -eq 0 ]
