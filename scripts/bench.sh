#!/usr/bin/env bash
# Run every benchmark and write docs/performance.md from their output.
# Builds llama-bench first (scripts/build-llama-tools.sh --bench-only).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Measure what a user gets by default, and the anchor likewise: libgomp's
# own wait policy (the engines bench adds a passive row for llama-bench).
unset OMP_WAIT_POLICY GOMP_SPINCOUNT
scripts/fetch-demo-model.sh >&2
eval "$(scripts/build-llama-tools.sh --bench-only | grep '^LLAMA_BENCH=')"
export LLAMA_BENCH
out=$(mktemp)
{
    echo "# Performance"
    echo
    echo "Measured by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, release build"
    echo "(x86-64-v3). Every figure is a ratio against an anchor measured in the same run where there is one;"
    echo "absolute numbers move with the machine and its load. Re-run the script to reproduce."
    echo
    for b in engines worker samples followup tui render discovery; do
        cargo bench --locked --bench "$b" 2>/dev/null
    done
} >"$out"
cat "$out" "${1:-docs/performance-notes.md}" >docs/performance.md 2>/dev/null || cp "$out" docs/performance.md
rm -f "$out"
echo "wrote docs/performance.md" >&2
