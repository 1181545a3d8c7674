# Sourced by run.sh and speed.sh: libfuzzer_options OUT TARGET prints, one per
# line, the [libfuzzer] key = value lines of OUT/fuzz_TARGET.options as
# -key=value flags (a dict path made absolute under OUT).
libfuzzer_options() {
  local out="$1" target="$2" k v
  while IFS='=' read -r k v; do
    k="$(echo "$k" | tr -d ' ')"; v="$(echo "$v" | tr -d ' ')"
    [ -n "$k" ] && [ -n "$v" ] && [[ "$k" != \[* ]] && [[ "$k" != \#* ]] || continue
    [ "$k" = dict ] && v="$out/$v"
    printf '%s\n' "-$k=$v"
  done < "$out/fuzz_$target.options"
}
