#!/usr/bin/env bash
# The first command of the README: set up everything, build in release mode
# for the CPU it runs on, and start versus with both demo models selected (a
# base model and an instruction-tuned one) and the prompt editor focused.
#
# The build targets this machine's CPU by name (`-C target-cpu=znver4`,
# which llama-cpp-sys passes on to llama.cpp as -march): llama.cpp and
# candle get every kernel the CPU has (AVX-512 where there is one). Each CPU
# builds into its own folder (target/cpu-NAME), so a target folder copied or
# cached onto an older machine is never run there: that machine builds its
# own. VERSUS_CPU=x86-64-v3 builds for a level instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cpu=${VERSUS_CPU:-$(rustc --print target-cpus | sed -n 's/^ *native .*(currently \(.*\))\..*/\1/p')}
cpu=${cpu:-x86-64-v3}
export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=$cpu"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cpu-$cpu}"
echo "demo: building for this CPU ($cpu) in $CARGO_TARGET_DIR" >&2
cargo build --release --locked
MODELS=${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}
exec "$CARGO_TARGET_DIR/release/versus" -m "$MODELS/gemma-3-270m-q4_k_m.gguf" -m "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf" "$@"
