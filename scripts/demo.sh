#!/usr/bin/env bash
# The first command of the README: set up everything, build in release mode,
# and start versus with both demo models selected (a base model and an
# instruction-tuned one) and the prompt editor focused.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked
MODELS=${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}
exec target/release/versus -m "$MODELS/gemma-3-270m-q4_k_m.gguf" -m "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf" "$@"
