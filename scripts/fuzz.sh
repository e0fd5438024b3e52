#!/usr/bin/env bash
# Fuzz the parsers that read untrusted bytes: the GGUF header reader, the
# safetensors header, the config file, model specs and the event-stream
# reader (fuzz/fuzz_targets). Not part of CI: each target runs for
# SECONDS (default 600, the figure in docs/hardening.md).
#
#   scripts/fuzz.sh            # every target, 10 minutes each
#   scripts/fuzz.sh 60 sse     # one target, one minute
#
# A target stops at the first crash, timeout (10 s on one input) or
# allocation over the limits below; libFuzzer leaves the input in
# fuzz/artifacts/TARGET/ — add it to tests as a regression test.
# The corpora grow in fuzz/corpus/TARGET (kept in git, minimised at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors config spec sse)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Release speed with overflow checks and debug assertions on (-a): a wrap
# in a size computation is a crash here, not a silent wrong number.
cargo +nightly fuzz build -O -a
bin=fuzz/target/x86_64-unknown-linux-gnu/release

for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  echo "== $t: ${seconds}s"
  # The binary itself: `cargo fuzz run` would rebuild first, mid-session.
  "$bin/$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" 2>&1 | tee "fuzz/$t.log" | grep -E '^(#[0-9]+.*(pulse|DONE)|==|INFO: (Loaded|seed)|stat::|SUMMARY|Done)' || true
  if grep -qE 'ERROR: libFuzzer|SUMMARY: libFuzzer|panicked' "fuzz/$t.log"; then
    echo "== $t FAILED: see fuzz/$t.log and fuzz/artifacts/$t/" >&2
    exit 1
  fi
  # Keep the corpus small: only inputs that add coverage.
  mkdir -p "fuzz/corpus/$t.min"
  "$bin/$t" -merge=1 "fuzz/corpus/$t.min" "fuzz/corpus/$t" -max_len=65536 >/dev/null 2>&1
  rm -rf "fuzz/corpus/$t" && mv "fuzz/corpus/$t.min" "fuzz/corpus/$t"
done
