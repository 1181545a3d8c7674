#!/usr/bin/env bash
# Proves that every regression input still needs its fix: for each
# fuzz/regressions/<t>/<input>.unfix.patch (the smallest change that undoes
# the fix the input was kept for, in the harness or in reference/), in a
# scratch worktree of HEAD:
#   1. apply the patch, build vmsg_replay_<t> (incrementally), replay <input>:
#      it must FAIL (non-zero exit: an oracle abort, a crash, a timeout);
#   2. undo the patch, build again, replay <input>: it must PASS.
# One line per input; exit status 1 unless every input says yes/yes (2 on a
# setup error). An input without a patch is listed as "no fix recorded".
#
#   fuzz/regressions/prove.sh [TARGET | TARGET/INPUT | INPUT]...   (default: all)
#
# Environment:
#   KEEP=1    keep the scratch tree ($WORK/src, a detached worktree), its build
#             ($WORK/build) and the logs ($WORK/logs); by default all removed at exit
#   WORK=DIR  where they live (default: a new mktemp -d); a tree kept there by
#             KEEP=1 is reused, so the next run only rebuilds what changed
#   REV=REV   the commit to prove (default HEAD); patches and inputs are read
#             from this checkout, so uncommitted ones are proved against REV
#   JOBS      build parallelism (default 2)
#   TIMEOUT   seconds per replay (default 120)
#   MEM_KB    address-space limit of each replay, ulimit -v (default 4194304:
#             the blk regression without its fix allocates until it fails)
# The build is ci/setup.sh's (Release, -O2 -DNDEBUG, Ninja if present), run the
# way CTest's fuzz.replay.<t> runs it (the replay binary, the input as its
# argument), except warnings are not errors: a patch is a deliberate bug.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)" || exit 2
. "$here/../inputs.sh"  # regression_inputs
rev="$(git -C "$root" rev-parse --verify "${REV:-HEAD}^{commit}")" || exit 2
jobs="${JOBS:-2}"
limit="${TIMEOUT:-120}"
mem="${MEM_KB:-4194304}"

# The inputs asked for, as target/input.
wanted=()
for d in "$here"/*/; do
  t="$(basename "$d")"
  while read -r f; do
    [ -n "$f" ] || continue
    i="$(basename "$f")"
    if [ "$#" -eq 0 ]; then
      wanted+=("$t/$i")
    else
      for a in "$@"; do
        if [ "$a" = "$t" ] || [ "$a" = "$t/$i" ] || [ "$a" = "$i" ]; then wanted+=("$t/$i"); break; fi
      done
    fi
  done < <(regression_inputs "$d")
done
if [ "${#wanted[@]}" -eq 0 ]; then
  echo "prove.sh: no regression input matches: $*" >&2
  exit 2
fi

work="${WORK:-}"
[ -n "$work" ] || work="$(mktemp -d "${TMPDIR:-/tmp}/vmsg-prove.XXXXXX")" || exit 2
mkdir -p "$work/logs" || exit 2
work="$(cd "$work" && pwd)"
src="$work/src"
build="$work/build"
cleanup() {
  [ "${KEEP:-0}" = 1 ] && { echo "kept: $src (worktree), $build, $work/logs"; return; }
  git -C "$root" worktree remove --force "$src" 2>/dev/null
  rm -rf "$build" "$work/logs"
  rmdir "$work" 2>/dev/null
}
trap cleanup EXIT

# The scratch tree: a detached worktree at $rev (a kept one is moved there).
if [ -e "$src/.git" ]; then
  git -C "$src" checkout -q -f --detach "$rev" && git -C "$src" clean -fdq || exit 2
else
  git -C "$root" worktree add -q --detach "$src" "$rev" || exit 2
fi
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if ! cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DVMSG_BUILD_TESTS=OFF -DVMSG_BUILD_BENCH=OFF -DVMSG_BUILD_PYTHON=OFF -DVMSG_BUILD_FUZZ_REPLAY=ON \
    -DVMSG_WERROR=OFF >"$work/logs/configure.log" 2>&1; then
  echo "prove.sh: configuring $build failed, see $work/logs/configure.log" >&2
  KEEP=1
  exit 2
fi

# replay TARGET INPUT LOG: builds vmsg_replay_TARGET from the tree as it is and
# replays INPUT. Sets `result` to pass, fail, or "build failed"; `why` to
# what made it fail (the oracle's file:line and message, or the exit).
replay() {
  local t="$1" input="$2" log="$3" rc
  if ! cmake --build "$build" -j "$jobs" --target "vmsg_replay_$t" >"$log.build" 2>&1; then
    result="build failed"; why="$(grep -a -m1 'error' "$log.build" | cut -c1-120)"; return
  fi
  touch "$build/.prove-built"
  # (the braces keep bash's "Aborted" job message out of the table)
  { (ulimit -v "$mem"; exec timeout "$limit" "$build/fuzz/vmsg_replay_$t" "$input") >"$log" 2>&1; } 2>/dev/null
  rc=$?
  if [ "$rc" -eq 0 ]; then result=pass; why=""; return; fi
  result=fail
  local at what
  at="$(grep -a -m1 -o 'ORACLE FAILURE at .*' "$log" | sed 's|ORACLE FAILURE at .*/||')"
  what="$(grep -a -m1 '^==vmsg-fuzz==   what:' "$log" | sed 's/^==vmsg-fuzz==   what: *//')"
  if [ -n "$at" ]; then why="oracle $at: $what"
  elif [ "$rc" -eq 124 ]; then why="timeout after ${limit}s"
  elif [ "$rc" -gt 128 ]; then why="signal $((rc - 128)): $(grep -a -v '^replay:' "$log" | grep -a -m1 . | cut -c1-100)"
  else why="exit $rc: $(grep -a -v '^replay:' "$log" | grep -a -m1 . | cut -c1-100)"
  fi
}

bad=0
start=$SECONDS
fresh=""
[ -f "$build/.prove-built" ] || fresh=" (a whole build first)"
echo "prove.sh: ${#wanted[@]} inputs, tree $src at ${rev:0:12}, build $build$fresh"
for ti in "${wanted[@]}"; do
  t="${ti%%/*}"
  i="${ti#*/}"
  input="$here/$t/$i"
  patch="$input.unfix.patch"
  log="$work/logs/$t.$i"
  if [ ! -f "$patch" ]; then
    printf '%-10s %-44s no fix recorded\n' "$t" "$i"
    continue
  fi
  without="no" with="no" note=""
  if ! git -C "$src" apply "$patch" 2>"$log.apply"; then
    note="the patch does not apply: $(head -1 "$log.apply")"
  else
    replay "$t" "$input" "$log.without"
    if [ "$result" = fail ]; then without="yes"; note="$why"; else note="without its fix: $result${why:+ ($why)}"; fi
    git -C "$src" checkout -q -- . && git -C "$src" clean -fdq
  fi
  replay "$t" "$input" "$log.with"
  if [ "$result" = pass ]; then with="yes"; else note="$note; with it: $result${why:+ ($why)}"; fi
  [ "$without/$with" = yes/yes ] || bad=1
  printf '%-10s %-44s fails without its fix: %-3s  passes with it: %-3s  (%s)\n' "$t" "$i" "$without" "$with" "$note"
done
verdict=""
[ "$bad" = 0 ] || verdict=", NOT PROVED (the logs: $work/logs, kept with KEEP=1)"
echo "prove.sh: ${#wanted[@]} inputs, $((SECONDS - start))s$verdict"
exit "$bad"
