#!/usr/bin/env bash
# Release tarballs, in target/package/:
#
#   scripts/package.sh [cpu|cuda|all]        (default: cpu)
#
#   cpu   versus-VERSION-x86_64-linux-cpu.tar.gz: one binary for any x86-64
#         CPU from x86-64-v2 (SSE4.2, 2009) on. llama.cpp's CPU backend is
#         built in every variant (feature cpu-variants: GGML_BACKEND_DL and
#         GGML_CPU_ALL_VARIANTS) and the best one for the CPU is loaded at
#         start, so GGUF runs about as fast as a native llama.cpp build. candle's
#         kernels are chosen at compile time: x86-64-v2 here, which
#         `versus doctor` reports (build from source for native candle).
#   cuda  versus-VERSION-x86_64-linux-cuda.tar.gz: scripts/build-cuda.sh's
#         bundle (the binary, its libraries and build-on-gpu.sh, which builds
#         libggml-cuda.so on the GPU machine from the same ggml sources).
#
# Each tarball has README.md, the licences, config.example.toml, shell
# completions (bash, zsh, fish) and the manual pages (versus.1 and one per
# subcommand, from the same clap definition as --help). The libraries sit beside the binary: ggml looks
# for its backends in the executable's folder, and the binary's rpath is
# $ORIGIN. A symlink to the binary on PATH works (both resolve the real path).
#
# Knobs: VERSUS_PACKAGE_TARGET_DIR (target/package-cpu), CARGO_BUILD_JOBS.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
OUT=$REPO/target/package
mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# README, licences, example config, completions and man page into $1.
docs() {
    local dir=$1 bin=$2
    cp README.md LICENSE-MIT LICENSE-APACHE config.example.toml "$dir/"
    mkdir -p "$dir/completions" "$dir/man"
    "$bin" completions bash > "$dir/completions/versus.bash"
    "$bin" completions zsh > "$dir/completions/_versus"
    "$bin" completions fish > "$dir/completions/versus.fish"
    "$bin" man "$dir/man"
}

cpu() {
    local target=${VERSUS_PACKAGE_TARGET_DIR:-$REPO/target/package-cpu}
    local name=versus-$VERSION-x86_64-linux-cpu
    log "cargo build (cpu-variants, x86-64-v2) into $target"
    # RUSTFLAGS replaces .cargo/config.toml's x86-64-v3: the binary must start
    # on any x86-64-v2 CPU; llama.cpp's variants bring the speed back.
    RUSTFLAGS="-C target-cpu=x86-64-v2" cargo rustc --release --locked --bin versus \
        --target-dir "$target" --features cpu-variants \
        -- -C link-arg=-Wl,--disable-new-dtags -C 'link-arg=-Wl,-rpath,$ORIGIN'
    local bin=$target/release/versus out="" d
    for d in $(ls -dt "$target"/release/build/llama-cpp-sys-2-*/out 2>/dev/null); do
        if [[ -d $d/backends ]]; then out=$d; break; fi
    done
    [[ -n $out ]] || die "no llama-cpp-sys-2 build with run-time backends under $target"
    local stage=$OUT/$name
    rm -rf "$stage" && mkdir -p "$stage"
    cp "$bin" "$stage/versus"
    strip "$stage/versus"
    # The shared libraries the binary links, and every CPU variant.
    find "$out" -name 'lib*.so*' \( -name 'libllama*' -o -name 'libggml*' \) -exec cp -P {} "$stage/" \;
    cp "$out"/backends/libggml-cpu-*.so "$stage/" 2>/dev/null || cp "$out"/lib*/libggml-cpu-*.so "$stage/" 2>/dev/null || true
    ls "$stage"/libggml-cpu-*.so >/dev/null 2>&1 || die "no libggml-cpu-*.so variants found under $out"
    docs "$stage" "$stage/versus"
    # The packaged binary starts from its own folder, with nothing else set,
    # and llama.cpp loads a CPU variant from beside it (doctor names it).
    local doctor
    doctor=$(cd / && env -i HOME="$(mktemp -d)" PATH=/usr/bin:/bin "$stage/versus" doctor) || die "the packaged binary does not start"
    grep -q "CPU backend" <<<"$doctor" || die "no llama.cpp CPU variant was loaded: $(grep kernels <<<"$doctor")"
    grep "kernels" <<<"$doctor" >&2
    tar -C "$OUT" -czf "$OUT/$name.tar.gz" "$name"
    log "$OUT/$name.tar.gz ($(du -h "$OUT/$name.tar.gz" | cut -f1)); variants: $(cd "$stage" && ls libggml-cpu-*.so | sed 's/libggml-cpu-//; s/\.so//' | tr '\n' ' ')"
}

cuda() {
    local name=versus-$VERSION-x86_64-linux-cuda
    scripts/build-cuda.sh all
    local bundle=${VERSUS_CUDA_BUNDLE:-$REPO/target/cuda-bundle}
    [[ -d $bundle ]] || die "$bundle missing after scripts/build-cuda.sh"
    local stage=$OUT/$name
    rm -rf "$stage" && mkdir -p "$stage"
    cp -a "$bundle"/. "$stage/"
    # Completions and the page come from any build of the same source.
    cargo build --release --locked --bin versus
    docs "$stage" "$REPO/target/release/versus"
    tar -C "$OUT" -czf "$OUT/$name.tar.gz" "$name"
    log "$OUT/$name.tar.gz ($(du -h "$OUT/$name.tar.gz" | cut -f1)); on the GPU machine: bash $name/build-on-gpu.sh"
}

case ${1:-cpu} in
    cpu) cpu ;;
    cuda) cuda ;;
    all) cpu; cuda ;;
    *) die "usage: $0 [cpu|cuda|all]" ;;
esac
