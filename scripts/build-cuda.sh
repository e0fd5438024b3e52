#!/usr/bin/env bash
# CUDA build of versus for H100/H200 (sm_90), made on a machine that has no
# GPU and no CUDA install, finished on a GPU machine that has no Rust.
#
#   scripts/build-cuda.sh [toolkit|build|bundle|all]     (default: all)
#
#   toolkit  fetch CUDA 13.0 from PyPI wheels into ~/.cache/versus/cuda and lay
#            it out as a CUDA root (bin/nvcc, include/, lib/, lib/stubs/)
#   build    cargo build of versus with candle's CUDA backend and llama.cpp's
#            run-time loaded backends (target/cuda/release/versus)
#   bundle   target/cuda-bundle/: the stripped binary and its libraries, the
#            ggml sources of the exact llama.cpp tree the binary was built
#            from, and build-on-gpu.sh, which builds libggml-cuda.so there
#
# On the GPU machine (nvcc 13, CMake, ninja), with target/cuda-bundle carried
# there (it is git-ignored; about 30 MiB, the limit is 64 MiB):
#   bash target/cuda-bundle/build-on-gpu.sh     # libggml-cuda.so, 156 ninja
#                                               # steps, est. 2-5 min on 16 cores
#   target/cuda-bundle/dist/run-versus.sh doctor
# Carrying the bundle again replaces it there (and the built module with it).
#
# Why it is split this way
# * llama.cpp: versus' `cuda` feature turns on llama-cpp-2/cuda, which makes
#   llama-cpp-sys-2's CMake build compile libggml-cuda here (GGML_CUDA=ON;
#   ggml-cuda/CMakeLists.txt stops with "CUDA Toolkit not found" without
#   one) -- hundreds of nvcc jobs, far too slow for this machine.  Instead we
#   turn on llama-cpp-2/dynamic-backends (GGML_BACKEND_DL=ON, shared libs):
#   the binary links libllama/libggml/libggml-base dynamically and loads
#   backend modules (libggml-cpu-*.so, libggml-cuda.so) at run time.
#   llama_backend_init() calls ggml_backend_load_all(), which looks in the
#   compile-time GGML_BACKEND_DIR (an absolute path on this machine), the
#   executable's directory and the current directory.  So libggml-cuda.so,
#   built on the GPU machine from the same ggml tree, only has to be copied
#   next to the binary.  No versus code change is needed.
# * candle: candle-core/cuda needs nvcc at build time (candle-kernels compiles
#   PTX, embedded in the binary, and a static libmoe.a for sm_90a) and links
#   libcuda, libcublas, libcublasLt, libcurand, libnvrtc and libcudart at link
#   time (cudarc's `dynamic-linking` feature).  The PyPI wheels give all of
#   these except libcuda, for which we build a link-only stub.
#
# Consequences
# * The CUDA binary needs the NVIDIA driver (libcuda.so.1, R580+ for CUDA 13)
#   and the CUDA 13 runtime libraries at start-up; it does not run on a
#   machine without them.  dist/run-versus.sh finds the toolkit's lib dir.
# * versus' own `cuda` feature stays off (it would pull llama-cpp-2/cuda), so
#   the cfg!(feature = "cuda") labels in `versus doctor` and the history
#   store's device column read "CPU"/"cpu" even though CUDA is used.
#   Override the feature list with VERSUS_CUDA_FEATURES if Cargo.toml gains
#   a feature for this build.
#
# Knobs (environment):
#   VERSUS_CUDA_CACHE       wheel cache and CUDA root   (~/.cache/versus/cuda)
#   CUDA_COMPUTE_CAP        candle kernels' target      (90 -> sm_90a)
#   VERSUS_CUDA_TARGET_DIR  cargo target dir            (target/cuda)
#   VERSUS_CUDA_BUNDLE      bundle dir                  (target/cuda-bundle)
#   VERSUS_CUDA_FEATURES    cargo --features            (see FEATURES below)
#   CARGO_BUILD_JOBS, CUDAFORGE_THREADS   parallelism of cargo / candle's nvcc
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VERSUS_CUDA_CACHE:-$HOME/.cache/versus/cuda}
CAP=${CUDA_COMPUTE_CAP:-90}
TARGET_DIR=${VERSUS_CUDA_TARGET_DIR:-$REPO/target/cuda}
BUNDLE=${VERSUS_CUDA_BUNDLE:-$REPO/target/cuda-bundle}
FEATURES=${VERSUS_CUDA_FEATURES:-cuda-dl}

# CUDA 13.0 rather than the newest 13.x: cudarc 0.19.10 knows 13.0..13.4
# only (its build.rs panics on 13.5), the PTX that candle embeds must not be
# newer than what the GPU machine's driver can JIT, and the libraries we link
# against must not export symbols that an older 13.x runtime on the GPU
# machine lacks.  All sonames are .so.13 (curand .so.10), so any 13.x
# runtime there satisfies the binary.
CUDA_MM=13.0
CUDARC_VERSION=13000
WHEELS=(
    nvidia-cuda-nvcc==13.0.88      # bin/nvcc, ptxas, fatbinary, nvlink
    nvidia-cuda-crt==13.0.88       # include/crt (nvcc's host/device headers)
    nvidia-nvvm==13.0.88           # nvvm/bin/cicc, libdevice
    nvidia-cuda-runtime==13.0.96   # cuda_runtime.h, cuda_fp16.h, cuda.h, libcudart.so.13
    nvidia-cuda-cccl==13.0.85      # include/cccl: cub, thrust, libcu++ (candle's moe kernels)
    nvidia-cuda-nvrtc==13.0.88     # libnvrtc.so.13 (linked by cudarc/nvrtc)
    nvidia-curand==10.4.0.35       # libcurand.so.10 (linked by cudarc/curand)
    nvidia-cublas==13.0.0.19       # libcublas(Lt).so.13 (linked by cudarc); 420 MB
)
ROOT=$CACHE/cuda-$CUDA_MM

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# (a) CUDA root from PyPI wheels
# --------------------------------------------------------------------------
toolkit() {
    if [[ -f $ROOT/.complete ]]; then
        log "CUDA $CUDA_MM root: $ROOT (cached)"
        return
    fi
    command -v python3 >/dev/null || die "python3 is needed to fetch the CUDA wheels"
    python3 -m pip --version >/dev/null 2>&1 || die "pip is needed (apt-get install python3-pip)"
    command -v gcc >/dev/null || die "gcc is needed (nvcc's host compiler)"

    log "fetching CUDA $CUDA_MM wheels into $CACHE/wheels"
    mkdir -p "$CACHE/wheels"
    # --no-deps: the wheels' own requirements are all in the list above.
    # pip skips files already in the directory, so reruns are cheap.
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
        -d "$CACHE/wheels" "${WHEELS[@]%%#*}"

    log "laying out $ROOT"
    local tmp spec name ver whl
    tmp=$(mktemp -d "$CACHE/.layout.XXXXXX")
    for spec in "${WHEELS[@]}"; do
        name=${spec%%==*}; ver=${spec#*==}
        whl=$(ls "$CACHE/wheels/${name//-/_}-$ver-"*.whl 2>/dev/null | head -n1)
        [[ -n $whl ]] || die "wheel for $spec not found in $CACHE/wheels"
        # every wheel puts its files under nvidia/cu13/{bin,include,lib,nvvm}
        python3 -m zipfile -e "$whl" "$tmp"
    done
    rm -rf "$ROOT"
    mv "$tmp/nvidia/cu13" "$ROOT"
    rm -rf "$tmp"

    # zipfile drops the executable bits
    chmod +x "$ROOT"/bin/* "$ROOT"/nvvm/bin/*
    # cudaforge (candle-kernels) derives lib64/ from nvcc's location;
    # cudarc searches lib/, lib64/ and lib/stubs/ under $CUDA_HOME.
    ln -sfn lib "$ROOT/lib64"
    # wheels ship only the sonames; the linker's -lcublas needs libcublas.so
    local so
    for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13; do
        [[ -e $ROOT/lib/$so ]] || die "$so missing from the wheels"
        ln -sfn "$so" "$ROOT/lib/${so%%.so*}.so"
    done

    # libcuda.so belongs to the driver, not to any wheel.  cudarc links it
    # (-lcuda), so build a link-time stub with the driver's soname that
    # defines every cu* entry point named in cuda.h.  At run time the real
    # libcuda.so.1 of the GPU machine's driver is loaded instead.
    mkdir -p "$ROOT/lib/stubs"
    grep -ohE '\bcu[A-Z][A-Za-z0-9_]*' "$ROOT/include/cuda.h" | sort -u |
        sed 's/.*/void &(void) {}/' > "$ROOT/lib/stubs/libcuda-stub.c"
    gcc -shared -fPIC -Wl,-soname,libcuda.so.1 \
        -o "$ROOT/lib/stubs/libcuda.so" "$ROOT/lib/stubs/libcuda-stub.c"

    # smoke test: nvcc runs and compiles device code for the target
    "$ROOT/bin/nvcc" --version | grep -q "release $CUDA_MM" || die "unexpected nvcc version"
    printf '__global__ void k(float *x) { x[threadIdx.x] *= 2.0f; }\n' > "$ROOT/.smoke.cu"
    "$ROOT/bin/nvcc" --ptx -arch="sm_${CAP%a}" -o "$ROOT/.smoke.ptx" "$ROOT/.smoke.cu"
    touch "$ROOT/.complete"
    log "CUDA root ready: $("$ROOT/bin/nvcc" --version | sed -n 4p)"
}

cuda_env() {
    # PATH: cudarc runs `nvcc --version` (cuda-version-from-build-system),
    #       cudaforge finds nvcc on PATH.
    # CUDA_HOME/CUDA_PATH: cudarc's link search ($CUDA_HOME/lib, lib/stubs).
    # CUDARC_CUDA_VERSION: pins cudarc's bindings to 13.0 explicitly.
    # CUDA_COMPUTE_CAP: candle-kernels has no GPU (nvidia-smi) to ask here.
    export PATH="$ROOT/bin:$PATH"
    export CUDA_HOME="$ROOT" CUDA_PATH="$ROOT" NVCC="$ROOT/bin/nvcc"
    export CUDARC_CUDA_VERSION=$CUDARC_VERSION CUDA_COMPUTE_CAP=$CAP
    # cudarc adds the lib dirs of every one of these that is set
    unset CUDA_ROOT CUDA_TOOLKIT_ROOT_DIR CUDNN_LIB NVCC_CCBIN
}

# --------------------------------------------------------------------------
# (b) cargo build
# --------------------------------------------------------------------------
build() {
    [[ -f $ROOT/.complete ]] || toolkit
    cuda_env
    # llama-cpp-sys-2 passes every GGML_* and CMAKE_* variable to CMake; a
    # stray GGML_CUDA=ON would bring back the slow local CUDA build.
    if env | grep -q '^GGML_CUDA'; then
        die "unset GGML_CUDA* first: llama.cpp's CUDA backend is built on the GPU machine"
    fi
    log "cargo build (features: $FEATURES) into $TARGET_DIR"
    cd "$REPO"
    # A target dir of its own: different features and shared llama libs
    # must not evict the normal build.  `cargo rustc` adds the rpath to the
    # versus binary only (RUSTFLAGS would replace .cargo/config.toml's
    # target-cpu and rebuild every crate).  $ORIGIN: the llama/ggml shared
    # libraries sit next to the binary in the bundle; --disable-new-dtags
    # makes it DT_RPATH so it also serves libllama's own NEEDED entries.
    cargo rustc --release --locked --bin versus \
        --target-dir "$TARGET_DIR" --features "$FEATURES" \
        -- -C link-arg=-Wl,--disable-new-dtags -C 'link-arg=-Wl,-rpath,$ORIGIN'
    log "built $TARGET_DIR/release/versus"
}

# --------------------------------------------------------------------------
# (c) bundle for the GPU machine
# --------------------------------------------------------------------------
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

bundle() {
    local bin=$TARGET_DIR/release/versus out="" d
    [[ -x $bin ]] || die "$bin missing: run '$0 build' first"
    # llama-cpp-sys-2's OUT_DIR of this build: lib/ (libllama, libggml*),
    # backends/ (libggml-cpu-*.so, installed there via GGML_BACKEND_DIR),
    # build/ (CMake tree, CMakeCache.txt names the llama.cpp source)
    for d in $(ls -dt "$TARGET_DIR"/release/build/llama-cpp-sys-2-*/out 2>/dev/null); do
        if [[ -d $d/backends && -f $d/build/CMakeCache.txt ]]; then out=$d; break; fi
    done
    [[ -n $out ]] || die "no llama-cpp-sys-2 build with dynamic backends under $TARGET_DIR"
    local src
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$out/build/CMakeCache.txt")
    [[ -f $src/ggml/src/ggml-cuda/CMakeLists.txt ]] || die "llama.cpp source not found at '$src'"

    log "bundling into $BUNDLE"
    local stage
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"; trap - RETURN' RETURN
    mkdir -p "$stage/dist"
    cp "$bin" "$stage/dist/versus"
    strip "$stage/dist/versus"

    # Shared libraries the binary needs that this build made (libllama,
    # libggml, libggml-base, libllama-common...), found by soname under
    # OUT_DIR and copied through their symlinks.  Note: the hard links that
    # llama-cpp-sys-2 leaves in target/cuda/release/ are links to the
    # unversioned symlinks and dangle, so they are not used.
    local todo=("$stage/dist/versus") f n hit
    while ((${#todo[@]})); do
        f=${todo[0]}; todo=("${todo[@]:1}")
        for n in $(needed "$f"); do
            [[ -e $stage/dist/$n ]] && continue
            hit=$(find "$out" -name "$n" \( -type f -o -type l \) -print -quit)
            [[ -n $hit ]] || continue      # system or CUDA library
            cp -L "$hit" "$stage/dist/$n"
            strip --strip-unneeded "$stage/dist/$n"
            todo+=("$stage/dist/$n")
        done
    done
    # CPU backend variants; ggml scores them at load and keeps the best one
    cp -L "$out"/backends/libggml-*.so "$stage/dist/"
    strip --strip-unneeded "$stage"/dist/libggml-*.so

    cat > "$stage/dist/run-versus.sh" <<'EOF'
#!/bin/sh
# Start versus with the CUDA 13 runtime libraries on the loader path.
# libggml-cuda.so and the CPU backends are found next to the binary.
here=$(dirname "$(readlink -f "$0")")
add=""
nvcc=$(command -v nvcc 2>/dev/null || true)
for root in "${CUDA_HOME:-}" "${nvcc:+$(dirname "$(dirname "$(readlink -f "$nvcc")")")}" /usr/local/cuda /usr/local/cuda-13 /usr; do
    [ -n "$root" ] || continue
    for sub in lib64 lib targets/x86_64-linux/lib lib/x86_64-linux-gnu; do
        [ -e "$root/$sub/libcublas.so.13" ] && add="$add:$root/$sub"
    done
done
# The driver's libcuda.so.1, where the loader may not look (containers).
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1 '; then
    for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
        [ -e "$dir/libcuda.so.1" ] && add="$add:$dir" && break
    done
fi
LD_LIBRARY_PATH="$here$add${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/versus" "$@"
EOF
    chmod +x "$stage/dist/run-versus.sh"

    rm -rf "$BUNDLE"
    mkdir -p "$BUNDLE"
    # gzip: present everywhere; the binary's embedded PTX compresses well
    tar -C "$stage" -czf "$BUNDLE/payload.tar.gz" dist

    # llama.cpp sources for the GPU machine: the same tree the binary's ggml
    # was built from (the module and the binary must agree on ggml's structs;
    # ggml only checks GGML_BACKEND_API_VERSION when it loads a module), plus
    # llama-bench from scripts/build-llama-tools.sh's copy of that tree, so
    # the anchor runs the very same CUDA module. Only what the CMake build
    # below reads: about 4 MiB packed.
    local tools_src=${VERSUS_TOOLS_DIR:-$HOME/.cache/versus/llama-tools}/src/bench-llama.cpp
    [[ -f $tools_src/tools/llama-bench/llama-bench.cpp ]] || "$REPO/scripts/build-llama-tools.sh" --bench-only >/dev/null
    cmp -s "$src/ggml/src/ggml.c" "$tools_src/ggml/src/ggml.c" || die "$tools_src is not the tree $src"
    (cd "$tools_src" && {
        printf '%s\n' CMakeLists.txt LICENSE tools/CMakeLists.txt
        find cmake include src common vendor tools/llama-bench ggml/cmake ggml/include ggml/src/ggml-cpu ggml/src/ggml-cuda -type f
        find ggml -maxdepth 1 -type f
        find ggml/src -maxdepth 1 -type f
        find ggml/src -type f \( -name '*.h' -o -name '*.hpp' \)
    } | sort -u | tar -czf "$BUNDLE/llama-src.tar.gz" -T -)

    {
        echo "versus $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
        echo "llama.cpp source: $src"
        echo "ggml: $(sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\))/\2/p' "$src/ggml/CMakeLists.txt" | paste -sd.)"
        echo "candle kernels: sm_${CAP} via nvcc $("$ROOT/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
        echo "features: $FEATURES"
    } > "$BUNDLE/VERSIONS"

    cat > "$BUNDLE/build-on-gpu.sh" <<'EOF'
#!/usr/bin/env bash
# Runs on the GPU machine (nvcc 13, CMake >= 3.18, ninja; no Rust, no
# network): builds llama.cpp's CUDA backend module (and llama-bench, the
# anchor) from the bundled llama.cpp sources and puts the module next to the
# versus binary, where ggml_backend_load_all() finds it at start-up.
#   CUDA_ARCH (default 90-real: H100/H200 SASS only), JOBS (default 16)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
arch=${CUDA_ARCH:-90-real}
jobs=${JOBS:-16}
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
[ -x dist/versus ] || tar -xzf payload.tar.gz
[ -f src/CMakeLists.txt ] || { mkdir -p src && tar -xzf llama-src.tar.gz -C src; }
if [ ! -f dist/libggml-cuda.so ] || [ ! -x build/bin/llama-bench ]; then
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    # One CMake build of the tree the binary came from, with the switches
    # llama-cpp-sys-2 uses for dynamic-backends (shared libs, GGML_BACKEND_DL:
    # the module exports ggml_backend_init) plus CUDA; it makes the CUDA
    # module for versus and llama-bench, which loads that same module.
    cmake -S src -B build "${gen[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
        -DGGML_BACKEND_DL=ON -DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF \
        -DGGML_NATIVE=OFF -DGGML_CCACHE=OFF -DGGML_OPENMP=ON \
        -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DCMAKE_CUDA_ARCHITECTURES="$arch"
    time cmake --build build --target ggml-cuda ggml-cpu llama-bench -j "$jobs"
    # the build tree's copy keeps its RUNPATH to the toolkit's libraries
    cp "$(find build -name libggml-cuda.so | head -1)" dist/libggml-cuda.so
fi
# A loadable module exports ggml_backend_init (GGML_BACKEND_DL). Only a
# warning: some toolchains' nm print dynamic symbols differently; `versus
# doctor` listing a CUDA device is the real check.
nm -D dist/libggml-cuda.so 2>/dev/null | grep -q 'ggml_backend_init' ||
    echo "warning: could not see ggml_backend_init in libggml-cuda.so; check that versus doctor lists a CUDA device" >&2
echo "== dist/: $(du -sh dist | cut -f1)"
ls -la dist
echo "== libraries the binary does not find (CUDA ones are added by run-versus.sh):"
ldd dist/versus | grep 'not found' || echo "(none)"
echo "== try: $here/dist/run-versus.sh doctor"
EOF
    chmod +x "$BUNDLE/build-on-gpu.sh"

    log "bundle: $BUNDLE"
    ls -la "$BUNDLE"
    local total
    total=$(du -sm "$BUNDLE" | cut -f1)
    echo "bundle size: ${total} MiB (unpacked dist/: $(du -sm "$stage/dist" | cut -f1) MiB)"
    ((total <= 60)) || echo "warning: bundle over 60 MiB; the GPU machine accepts at most 64 MiB per command" >&2
}

case ${1:-all} in
    toolkit) toolkit ;;
    build) toolkit; build ;;
    bundle) bundle ;;
    all) toolkit; build; bundle ;;
    env) cuda_env; env | grep -E '^(PATH|CUDA_HOME|CUDA_PATH|NVCC|CUDARC_CUDA_VERSION|CUDA_COMPUTE_CAP)=' ;;
    *) die "usage: $0 [toolkit|build|bundle|all|env]" ;;
esac
