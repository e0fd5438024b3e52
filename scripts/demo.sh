#!/usr/bin/env bash
# The first command of the README: set up everything, build in release mode,
# and start versus with the demo model discovered.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --locked
exec target/release/versus "$@"
