# Sourced by build.sh and run.sh: regression_inputs DIR prints, one per line,
# the inputs in a regressions/<t> directory: every file but README* and
# *.patch (the unfix patches of fuzz/regressions/prove.sh), the files
# replay_main.cpp skips too.
regression_inputs() {
  find "$1" -maxdepth 1 -type f ! -name 'README*' ! -name '*.patch' | sort
}
