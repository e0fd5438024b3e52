#!/usr/bin/env bash
# Build two llama.cpp programs that versus uses from outside Rust:
#
#   llama-bench   llama.cpp's own benchmark, compiled against the SAME llama.cpp
#                 source that llama-cpp-sys-2 vendors (and with the same CMake
#                 options its build.rs passes), so that a benchmark compares our
#                 Rust code with llama.cpp's own speed on identical C++ code.
#   llama-server  the OpenAI-compatible server, built from the llama.cpp tree in
#                 the llama-cpp-python sdist; integration tests talk to it as a
#                 real server.
#   llama-perplexity, llama-quantize
#                 (--fidelity) the anchors of `versus fidelity`, built beside
#                 llama-bench from the same llama.cpp source and flags as
#                 versus: llama.cpp's own figures on identical arithmetic.
#
# Why the llama-cpp-python sdist: the crate's copy of llama.cpp ships only the
# libraries (tools/llama-bench and tools/server hold nothing but READMEs), there
# is no GitHub access here, but the sdist on PyPI carries llama.cpp's full tree.
#
# Everything lives outside the git clone, in
#   ${VERSUS_TOOLS_DIR:-$HOME/.cache/versus/llama-tools}
# A second run with everything built only checks that the binaries exist and that
# a stamp of the inputs still matches, so it returns in well under a second.
#
# Usage: scripts/build-llama-tools.sh [--bench-only | --server-only] [--fidelity]
# Stdout: LLAMA_BENCH=/abs/path and/or LLAMA_SERVER=/abs/path, and with
#         --fidelity LLAMA_PERPLEXITY= and LLAMA_QUANTIZE= (also written to
#         $VERSUS_TOOLS_DIR/paths.env); all progress goes to stderr.
#
# Environment:
#   VERSUS_TOOLS_DIR               cache dir (see above)
#   VERSUS_TOOLS_JOBS              parallel compile jobs (default: nproc)
#   VERSUS_TOOLS_NICE              nice increment for compiling (default: 10)
#   VERSUS_LLAMA_CPP_PYTHON_VERSION  sdist version (default below)
#   VERSUS_BENCH_BUILD_TYPE        CMake build type for llama-bench (default Release;
#                                  see the note at bench_cmake_args)
#   VERSUS_BENCH_CMAKE_ARGS        extra -D... for llama-bench, e.g. the GGML_* env
#                                  overrides the crate's build.rs would forward
#   LLAMA_CPP_SYS_DIR              llama-cpp-sys-2 crate dir (default: found in
#                                  $CARGO_HOME/registry/src via Cargo.lock's version)
set -euo pipefail

# llama-cpp-python 0.3.36 vendors llama.cpp 0c1e57098 (its CHANGELOG), which says
# LLAMA_VERSION 0.5.0 / ggml 0.25.3. llama-cpp-sys-2 0.1.161 vendors a slightly
# newer llama.cpp (0.6.0 / ggml 0.26.0; llama.h differs only in the session/state
# format versions). No sdist is newer, so this is the closest one.
LLAMA_CPP_PYTHON_VERSION="${VERSUS_LLAMA_CPP_PYTHON_VERSION:-0.3.36}"

TOOLS_DIR="${VERSUS_TOOLS_DIR:-$HOME/.cache/versus/llama-tools}"
JOBS="${VERSUS_TOOLS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
NICE="${VERSUS_TOOLS_NICE:-10}"
BENCH_BUILD_TYPE="${VERSUS_BENCH_BUILD_TYPE:-Release}"

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)"

log() { printf 'build-llama-tools: %s\n' "$*" >&2; }
die() { printf 'build-llama-tools: error: %s\n' "$*" >&2; exit 1; }

want_bench=1
want_server=1
want_fidelity=0
for arg in "$@"; do
    case "$arg" in
        --fidelity) want_fidelity=1 ;;
        --bench-only) want_server=0 ;;
        --server-only) want_bench=0 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
        *) die "unknown argument '$arg' (expected --bench-only, --server-only or --fidelity)" ;;
    esac
done
[[ $want_bench == 1 || $want_server == 1 ]] || die "--bench-only and --server-only exclude each other"

for tool in cmake c++ tar python3 sha256sum; do
    command -v "$tool" >/dev/null || die "'$tool' not found (on Debian: apt-get install cmake build-essential python3)"
done

mkdir -p "$TOOLS_DIR"
TOOLS_DIR="$(cd "$TOOLS_DIR" && pwd)"   # absolute, so the printed paths are too

# Two concurrent runs (say, test processes started together) must not build into
# the same directories at once; the second waits and then takes the fast path.
if command -v flock >/dev/null; then
    exec 9>"$TOOLS_DIR/.lock"
    flock 9
fi

# Ninja only when present: it is faster, but a fresh machine may lack it. The
# generator is part of the build dir's name because CMake refuses to switch the
# generator of an existing build dir.
if command -v ninja >/dev/null; then
    GENERATOR=Ninja; GEN_TAG=ninja
else
    GENERATOR="Unix Makefiles"; GEN_TAG=make
fi

# --- inputs ------------------------------------------------------------------

# The crate version comes from Cargo.lock so that the bench follows a crate bump.
crate_version() {
    local v=""
    if [[ -f "$REPO_ROOT/Cargo.lock" ]]; then
        v="$(awk '/^name = "llama-cpp-sys-2"$/ { getline; gsub(/^version = "|"$/, ""); print; exit }' "$REPO_ROOT/Cargo.lock")"
    fi
    echo "${v:-0.1.161}"
}

find_crate_dir() {
    if [[ -n "${LLAMA_CPP_SYS_DIR:-}" ]]; then
        [[ -f "$LLAMA_CPP_SYS_DIR/llama.cpp/CMakeLists.txt" ]] || die "LLAMA_CPP_SYS_DIR=$LLAMA_CPP_SYS_DIR has no llama.cpp/CMakeLists.txt"
        echo "$LLAMA_CPP_SYS_DIR"; return
    fi
    local ver d
    ver="$(crate_version)"
    for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-"$ver"; do
        if [[ -f "$d/llama.cpp/CMakeLists.txt" ]]; then echo "$d"; return; fi
    done
    die "llama-cpp-sys-2 $ver not found under ${CARGO_HOME:-$HOME/.cargo}/registry/src; run 'cargo fetch' in $REPO_ROOT first (or set LLAMA_CPP_SYS_DIR)"
}

SCRIPT_SHA="$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)"
COMPILER="$(c++ --version 2>/dev/null | head -n1)"
CMAKE_VERSION="$(cmake --version | head -n1)"
ARCH="$(uname -m)"

SDIST_NAME="llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION"
SDIST_TGZ="$TOOLS_DIR/downloads/$SDIST_NAME.tar.gz"
SDIST_LLAMA="$TOOLS_DIR/src/$SDIST_NAME/vendor/llama.cpp"

BIN_DIR="$TOOLS_DIR/bin"
BENCH_BIN="$BIN_DIR/llama-bench"
SERVER_BIN="$BIN_DIR/llama-server"
PERPLEXITY_BIN="$BIN_DIR/llama-perplexity"
QUANTIZE_BIN="$BIN_DIR/llama-quantize"

# --- CMake options -------------------------------------------------------------

# llama-bench mirrors what llama-cpp-sys-2's build.rs passes for a plain x86_64/
# aarch64 Linux build with llama-cpp-2's default features (openmp, common) and no
# `-C target-cpu` (checked against target/*/build/llama-cpp-sys-2-*/out/build/CMakeCache.txt):
#   GGML_NATIVE=OFF        build.rs sets it OFF unless target-cpu=native (native
#                          also crashed here: SIGILL in an AMX kernel).
#   GGML_AVX/AVX2/BMI2/FMA/F16C/SSE42 = ON, AVX512* = OFF:
#                          build.rs only turns on what CARGO_CFG_TARGET_FEATURE
#                          lists (fxsr,sse,sse2 by default, so nothing), and
#                          ggml's own defaults with GGML_NATIVE=OFF switch on
#                          exactly this AVX2-class set. Spelled out here so the
#                          intent is visible.
#   GGML_CPU_ARM_ARCH=armv8-a  aarch64 Linux only, as build.rs does.
#   GGML_OPENMP=ON         llama-cpp-2's default `openmp` feature.
#   BUILD_SHARED_LIBS=OFF  no `dynamic-link` feature: static libs, as the crate.
#   LLAMA_BUILD_COMMON=ON  `common` feature (llama-bench needs it anyway).
#   LLAMA_CURL=OFF, LLAMA_BUILD_{TESTS,EXAMPLES,SERVER,APP}=OFF  as build.rs.
#   C/CXX flags            what cc-rs/cmake-rs put in CMAKE_{C,CXX}_FLAGS.
#   CMAKE_BUILD_TYPE       build.rs uses Release unless cargo's DEBUG is "true"
#                          (then RelWithDebInfo). versus's dev/test profile has
#                          `debug = false` for dependencies, hence Release; a
#                          cargo profile with debug info on dependencies gives
#                          RelWithDebInfo (-O2) instead: pass
#                          VERSUS_BENCH_BUILD_TYPE=RelWithDebInfo to match it.
# LLAMA_BUILD_TOOLS=ON is the one addition: it pulls in our tools/CMakeLists.txt,
# which builds llama-bench only. LLAMA_BUILD_COMMIT/NUMBER only label the output.
# versus builds for the CPU level in .cargo/config.toml (x86-64-v3); build.rs
# then adds -march=<that level> to llama.cpp's flags, and so does this script.
# RUSTFLAGS, when set, replaces the config file's flags, as for cargo.
TARGET_CPU=$(printf '%s\n' "${RUSTFLAGS:-$(grep -v '^[[:space:]]*#' "$REPO_ROOT/.cargo/config.toml" 2>/dev/null | grep -o 'target-cpu=[^"]*' | head -1)}" |
    grep -o 'target-cpu=[^ "]*' | head -1 | cut -d= -f2)
cc_flags="-ffunction-sections -fdata-sections -fPIC"
bench_cmake_args=(
    -DCMAKE_BUILD_TYPE="$BENCH_BUILD_TYPE"
    -DGGML_NATIVE=OFF
    -DGGML_OPENMP=ON
    -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_BUILD_COMMON=ON
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_SERVER=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_CURL=OFF
)
case "$ARCH" in
    x86_64)
        cc_flags+=" -m64 -march=${TARGET_CPU:-x86-64} -w"
        bench_cmake_args+=(
            -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_SSE42=ON
            -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF
        )
        ;;
    aarch64|arm64)
        cc_flags+=" -w"
        bench_cmake_args+=(-DGGML_CPU_ARM_ARCH=armv8-a)
        ;;
    *) cc_flags+=" -w" ;;
esac
bench_cmake_args+=(-DCMAKE_C_FLAGS="$cc_flags" -DCMAKE_CXX_FLAGS="$cc_flags")
# Word-split on purpose: a list of -D options.
# shellcheck disable=SC2206
bench_cmake_args+=(${VERSUS_BENCH_CMAKE_ARGS:-})

# llama-server: CPU only and portable (GGML_NATIVE=OFF for the AMX crash above and
# so the binary survives a copied cache dir), static, no curl/OpenSSL (tests only
# talk plain HTTP on localhost), no tests/examples/app, and no web UI: the UI
# would otherwise be fetched from Hugging Face at build time.
server_cmake_args=(
    -DCMAKE_BUILD_TYPE=Release
    -DGGML_NATIVE=OFF
    -DBUILD_SHARED_LIBS=OFF
    -DLLAMA_CURL=OFF
    -DLLAMA_OPENSSL=OFF
    -DLLAMA_BUILD_COMMON=ON
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_SERVER=ON
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_UI=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
)

# --- stamps ------------------------------------------------------------------

stamp_text() { # $1 = bench|server|fidelity; the crate dir only matters to the bench's tree
    printf 'script=%s\ncompiler=%s\ncmake=%s\ngenerator=%s\narch=%s\nsdist=%s\n' \
        "$SCRIPT_SHA" "$COMPILER" "$CMAKE_VERSION" "$GENERATOR" "$ARCH" "$LLAMA_CPP_PYTHON_VERSION"
    if [[ $1 == bench || $1 == fidelity ]]; then
        printf 'crate=%s\nargs=%s\ncflags=%s\n' "$CRATE_DIR" "${bench_cmake_args[*]}" "$cc_flags"
    else
        printf 'args=%s\n' "${server_cmake_args[*]}"
    fi
}

up_to_date() { # $1 = bench|server, $2 = binary
    [[ -x "$2" && -f "$TOOLS_DIR/$1.stamp" ]] && [[ "$(cat "$TOOLS_DIR/$1.stamp")" == "$(stamp_text "$1")" ]]
}

# The bench stamp names the crate dir, so find it only when the bench is wanted
# or already built (for paths.env); a server-only run must not need the crate.
CRATE_DIR=""
if [[ $want_bench == 1 || -x "$BENCH_BIN" ]]; then
    if [[ $want_bench == 1 ]]; then CRATE_DIR="$(find_crate_dir)"; else CRATE_DIR="$(find_crate_dir 2>/dev/null || true)"; fi
fi

# --- sources -----------------------------------------------------------------

fetch_sdist() {
    [[ -f "$SDIST_LLAMA/CMakeLists.txt" ]] && return
    mkdir -p "$TOOLS_DIR/downloads" "$TOOLS_DIR/src"
    if [[ ! -f "$SDIST_TGZ" ]]; then
        log "downloading llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist from PyPI (~75 MB)"
        # pip checks the file against PyPI's hash. --no-binary :all: also makes pip
        # build llama-cpp-python's build backend from source to read its metadata;
        # if that fails, only the package itself needs to be an sdist.
        local tmp="$TOOLS_DIR/downloads/tmp.$$"
        rm -rf "$tmp"; mkdir -p "$tmp"
        if ! python3 -m pip download --quiet --no-deps --no-binary :all: \
                "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$tmp" >&2; then
            log "retrying with --no-binary llama-cpp-python only"
            python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python \
                "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$tmp" >&2 \
                || die "could not download the llama-cpp-python $LLAMA_CPP_PYTHON_VERSION sdist"
        fi
        [[ -f "$tmp/$SDIST_NAME.tar.gz" ]] || die "pip did not produce $SDIST_NAME.tar.gz (got: $(ls "$tmp"))"
        mv "$tmp/$SDIST_NAME.tar.gz" "$SDIST_TGZ"
        rm -rf "$tmp"
    fi
    log "unpacking vendor/llama.cpp from $SDIST_TGZ"
    rm -rf "$TOOLS_DIR/src/$SDIST_NAME"
    tar -xzf "$SDIST_TGZ" -C "$TOOLS_DIR/src" "$SDIST_NAME/vendor/llama.cpp" "$SDIST_NAME/CHANGELOG.md"
    # The submodule's .git file points at a gitdir the sdist does not contain; drop
    # it so CMake's git probing fails quietly (we pass the commit ourselves).
    rm -f "$SDIST_LLAMA/.git"
    [[ -f "$SDIST_LLAMA/tools/llama-bench/llama-bench.cpp" && -f "$SDIST_LLAMA/tools/server/server.cpp" ]] \
        || die "the sdist's vendor/llama.cpp lacks tools/llama-bench or tools/server"
}

# The llama.cpp commit the sdist vendors, from the first "update llama.cpp to
# ...@<sha>" line of its version's CHANGELOG section; empty if not found.
sdist_llama_commit() {
    awk -v ver="[$LLAMA_CPP_PYTHON_VERSION]" '
        index($0, "## " ver) == 1 { inside = 1; next }
        inside && /^## / { exit }
        inside && /llama\.cpp@[0-9a-f]+/ { match($0, /llama\.cpp@[0-9a-f]+/); print substr($0, RSTART + 10, RLENGTH - 10); exit }
    ' "$TOOLS_DIR/src/$SDIST_NAME/CHANGELOG.md" 2>/dev/null || true
}

# A copy of the crate's llama.cpp (never touch ~/.cargo) plus the sdist's
# tools/llama-bench, with a tools/CMakeLists.txt that adds llama-bench only: the
# crate's own one adds a dozen tool dirs whose sources it does not ship.
# cp -a keeps mtimes, so a re-copy does not force a full recompile.
prepare_bench_tree() {
    local dst="$TOOLS_DIR/src/bench-llama.cpp" tmp="$TOOLS_DIR/src/bench-llama.cpp.tmp.$$"
    rm -rf "$tmp"
    cp -a "$CRATE_DIR/llama.cpp" "$tmp"
    chmod -R u+w "$tmp"
    mkdir -p "$tmp/tools/llama-bench" "$tmp/tools/perplexity" "$tmp/tools/quantize"
    cp -p "$SDIST_LLAMA"/tools/llama-bench/{CMakeLists.txt,llama-bench.cpp,main.cpp} "$tmp/tools/llama-bench/"
    cp -p "$SDIST_LLAMA"/tools/perplexity/{CMakeLists.txt,perplexity.cpp,main.cpp} "$tmp/tools/perplexity/"
    cp -p "$SDIST_LLAMA"/tools/quantize/{CMakeLists.txt,quantize.cpp,main.cpp} "$tmp/tools/quantize/"
    cat >"$tmp/tools/CMakeLists.txt" <<'EOF'
# Written by versus scripts/build-llama-tools.sh: llama-bench and the
# anchors of `versus fidelity` only.
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(llama-bench)
add_subdirectory(perplexity)
add_subdirectory(quantize)
EOF
    rm -rf "$dst"
    mv "$tmp" "$dst"
    echo "$dst"
}

# $1 = source dir, $2 = build dir, $3 = target; rest = cmake args
cmake_build() {
    local src="$1" build="$2" target="$3"
    shift 3
    log "configuring $target ($GENERATOR) in $build"
    # Only called when the stamp changed: start from a fresh cache so that an
    # option dropped from the args does not linger in CMakeCache.txt. Object
    # files stay, and ninja/make recompile only what the new flags change.
    rm -f "$build/CMakeCache.txt"
    cmake -S "$src" -B "$build" -G "$GENERATOR" "$@" >"$build.configure.log" 2>&1 \
        || { tail -n 40 "$build.configure.log" >&2; die "cmake configure for $target failed (full log: $build.configure.log)"; }
    log "compiling $target with $JOBS job(s); this takes a while the first time"
    local start=$SECONDS
    nice -n "$NICE" cmake --build "$build" --target "$target" --parallel "$JOBS" >"$build.build.log" 2>&1 \
        || { tail -n 40 "$build.build.log" >&2; die "building $target failed (full log: $build.build.log)"; }
    log "built $target in $((SECONDS - start)) s"
}

build_bench() {
    fetch_sdist
    local src build="$TOOLS_DIR/build/bench-$GEN_TAG"
    log "llama-bench: crate llama.cpp from $CRATE_DIR, llama-bench.cpp from llama-cpp-python $LLAMA_CPP_PYTHON_VERSION"
    src="$(prepare_bench_tree)"
    mkdir -p "$build" "$BIN_DIR"
    cmake_build "$src" "$build" llama-bench "${bench_cmake_args[@]}" \
        -DLLAMA_BUILD_NUMBER=0 -DLLAMA_BUILD_COMMIT="llama-cpp-sys-2-$(basename "$CRATE_DIR" | sed 's/^llama-cpp-sys-2-//')"
    install -m 755 "$build/bin/llama-bench" "$BENCH_BIN"
    stamp_text bench >"$TOOLS_DIR/bench.stamp"
}

build_server() {
    fetch_sdist
    local build="$TOOLS_DIR/build/server-$GEN_TAG" commit
    commit="$(sdist_llama_commit)"
    log "llama-server: llama.cpp ${commit:-(commit unknown)} from llama-cpp-python $LLAMA_CPP_PYTHON_VERSION"
    mkdir -p "$build" "$BIN_DIR"
    cmake_build "$SDIST_LLAMA" "$build" llama-server "${server_cmake_args[@]}" \
        -DLLAMA_BUILD_NUMBER=0 -DLLAMA_BUILD_COMMIT="${commit:-unknown}"
    install -m 755 "$build/bin/llama-server" "$SERVER_BIN"
    stamp_text server >"$TOOLS_DIR/server.stamp"
}

# llama-perplexity and llama-quantize in llama-bench's tree and build dir:
# the crate's llama.cpp with its flags, so their figures come from the same
# kernels as versus's (the server's sdist tree, built without -march, rounds
# differently: 1.2 % apart in perplexity on the demo model's Q4_K tensors).
build_fidelity() {
    local build="$TOOLS_DIR/build/bench-$GEN_TAG"
    [[ -f "$build/CMakeCache.txt" && -f "$TOOLS_DIR/src/bench-llama.cpp/tools/perplexity/perplexity.cpp" ]] || build_bench
    nice -n "$NICE" cmake --build "$build" --target llama-perplexity llama-quantize --parallel "$JOBS" >"$build.fidelity.log" 2>&1 \
        || { tail -n 40 "$build.fidelity.log" >&2; die "building llama-perplexity/llama-quantize failed (full log: $build.fidelity.log)"; }
    install -m 755 "$build/bin/llama-perplexity" "$PERPLEXITY_BIN"
    install -m 755 "$build/bin/llama-quantize" "$QUANTIZE_BIN"
    stamp_text fidelity >"$TOOLS_DIR/fidelity.stamp"
}

# --- main --------------------------------------------------------------------

if [[ $want_bench == 1 ]]; then
    if up_to_date bench "$BENCH_BIN"; then log "llama-bench is up to date"; else build_bench; fi
fi
if [[ $want_server == 1 ]]; then
    if up_to_date server "$SERVER_BIN"; then log "llama-server is up to date"; else build_server; fi
fi

if [[ $want_fidelity == 1 ]]; then
    [[ -n "$CRATE_DIR" ]] || CRATE_DIR="$(find_crate_dir)"
    if up_to_date fidelity "$PERPLEXITY_BIN" && [[ -x $QUANTIZE_BIN ]]; then log "llama-perplexity and llama-quantize are up to date"; else build_fidelity; fi
fi

# paths.env lists every tool that is built and current, including one built by an
# earlier run when this run was --bench-only or --server-only.
paths=""
if [[ -n "$CRATE_DIR" ]] && up_to_date bench "$BENCH_BIN"; then paths+="LLAMA_BENCH=$BENCH_BIN"$'\n'; fi
if up_to_date server "$SERVER_BIN"; then paths+="LLAMA_SERVER=$SERVER_BIN"$'\n'; fi
if [[ -n "$CRATE_DIR" ]] && up_to_date fidelity "$PERPLEXITY_BIN" && [[ -x $QUANTIZE_BIN ]]; then
    paths+="LLAMA_PERPLEXITY=$PERPLEXITY_BIN"$'\n'"LLAMA_QUANTIZE=$QUANTIZE_BIN"$'\n'
fi
printf '%s' "$paths" >"$TOOLS_DIR/paths.env.tmp"
mv "$TOOLS_DIR/paths.env.tmp" "$TOOLS_DIR/paths.env"

# Stdout: just the requested paths, in the same KEY=path form.
[[ $want_bench == 1 ]] && echo "LLAMA_BENCH=$BENCH_BIN"
[[ $want_server == 1 ]] && echo "LLAMA_SERVER=$SERVER_BIN"
[[ $want_fidelity == 1 ]] && echo "LLAMA_PERPLEXITY=$PERPLEXITY_BIN" && echo "LLAMA_QUANTIZE=$QUANTIZE_BIN"
exit 0
