// vmsg_fuzz_cov_all: every reference library linked whole and never run.
// fuzz/coverage.sh hands it to llvm-cov next to the replay binaries, so code
// that no fuzz target links still appears in the report (unexecuted) rather
// than silently leaving the denominator.
int main() { return 0; }
