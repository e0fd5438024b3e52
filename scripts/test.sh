#!/usr/bin/env bash
# The second command of the README (and what CI runs): set up everything,
# then build and run the whole test suite, real-model tests included.
#
# CARGO_TARGET_DIR may point outside the clone so that a CI machine keeps
# its build between clean clones; a warm machine then rebuilds only what
# changed and fetches nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
# A real llama-server for the remote-engine tests, and llama-perplexity and
# llama-quantize for the fidelity anchors (built once, cached outside the
# clone in ~/.cache/versus/llama-tools).
eval "$(scripts/build-llama-tools.sh --server-only --fidelity | grep -E '^LLAMA_(SERVER|PERPLEXITY|QUANTIZE)=')"
export LLAMA_SERVER LLAMA_PERPLEXITY LLAMA_QUANTIZE
export VERSUS_DEMO_MODEL="${VERSUS_DEMO_MODEL:-${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}/gemma-3-270m-q4_k_m.gguf}"
# Tests run many processes at once on few cores, where OpenMP threads that
# sleep at once are steadier than spinning ones (docs/performance.md).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
# The test of what vendor/llama-cpp-2 adds to llama-cpp-2 (vendor/README.md).
if [ $# -eq 0 ]; then
    cargo test --locked -p llama-cpp-2 --lib tensor_split
fi
# lib, binary and integration tests (benches are run by scripts/bench.sh)
cargo test --locked --lib --bins --tests "$@"
