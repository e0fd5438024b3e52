#!/usr/bin/env bash
# `cargo install --path .` as a user runs it, from a clean target folder into
# a temporary root, then checks what was installed: the binary starts, its
# kernels are the level .cargo/config.toml asks for, the manual page and the
# completions render. About as long as a first build (15-25 min on 2 cores);
# not part of CI for that reason.
#
#   scripts/install-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CARGO_TARGET_DIR=$tmp/target cargo install --locked --path . --root "$tmp/root"
v=$tmp/root/bin/versus
"$v" --version
"$v" man "$tmp/man" && grep -q '^\.TH versus-run 1' "$tmp/man/versus-run.1" || { echo "no manual pages" >&2; exit 1; }
"$v" completions bash | grep -q '_versus' || { echo "no bash completions" >&2; exit 1; }
# Run from this folder, cargo read .cargo/config.toml: x86-64-v3 kernels.
kernels=$("$v" doctor | sed -n 's/^  kernels *//p')
echo "kernels: $kernels"
case $kernels in
    "built for x86-64-v3"* | "built for x86-64-v4"*) ;;
    *) echo "the installed binary was not built for x86-64-v3: $kernels" >&2; exit 1 ;;
esac
echo "install check passed"
