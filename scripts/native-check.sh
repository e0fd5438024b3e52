#!/usr/bin/env bash
# One build, fast on any machine: the CPU package (scripts/package.sh cpu,
# llama.cpp's CPU variants picked at run time) against llama-bench built
# natively for this machine (GGML_NATIVE=ON, -march=native), on the demo
# model with the same threads. Rounds alternate the two so that the
# machine's drift hits both; prints a Markdown table of the ratios.
#
#   scripts/native-check.sh [ROUNDS] [PACKAGE_DIR]
#
# THREADS=n sets the threads of both (default: nproc). Not part of CI: the
# native llama-bench is a llama.cpp build of its own (a few minutes, once).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
pkg=${2:-$(ls -d target/package/versus-*-x86_64-linux-cpu 2>/dev/null | head -1 || true)}
[[ -x $pkg/versus ]] || { echo "no package: run scripts/package.sh cpu first (or pass its folder)" >&2; exit 1; }
threads=${THREADS:-$(nproc)}
scripts/fetch-demo-model.sh >&2
model=${VERSUS_DEMO_MODEL:-${VERSUS_MODELS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models}/gemma-3-270m-q4_k_m.gguf}
eval "$(VERSUS_TOOLS_DIR="$HOME/.cache/versus/llama-tools-native" VERSUS_BENCH_CMAKE_ARGS=-DGGML_NATIVE=ON \
    RUSTFLAGS="-C target-cpu=native" scripts/build-llama-tools.sh --bench-only | grep '^LLAMA_BENCH=')"
# Measure what a user gets by default, the anchor likewise (docs/performance.md).
unset OMP_WAIT_POLICY GOMP_SPINCOUNT
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Six prompts of 512 tokens, each starting differently so that none reuses
# the cache of the one before; the first is the cold one.
python3 -c '
for w in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"):
    print(w + " the" * 510)' >"$tmp/pp.txt"
printf 'The\nA\nIn\nOnce\n' >"$tmp/tg.txt"
"$pkg/versus" doctor | grep -E '^  (kernels|CPU)' >&2 || true
for r in $(seq 1 "$rounds"); do
    echo "round $r of $rounds" >&2
    "$LLAMA_BENCH" -m "$model" -t "$threads" -p 512 -n 128 -r 3 -o json >"$tmp/lb-$r.json"
    "$pkg/versus" run --raw --temperature 0 --max-tokens 1 --threads "$threads" -m "$model" --prompts "$tmp/pp.txt" >"$tmp/pp-$r.jsonl"
    "$pkg/versus" run --raw --temperature 0 --max-tokens 129 --threads "$threads" -m "$model,ignore_eos=true" --prompts "$tmp/tg.txt" >"$tmp/tg-$r.jsonl"
done
python3 - "$tmp" "$rounds" "$threads" <<'PY'
import json, statistics as st, sys
tmp, rounds, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def stats(path, key):
    return [(json.loads(l).get("stats") or {}).get(key, 0.0) for l in open(path) if l.strip()]
print(f"| round | llama-bench native pp512 | versus prompt, warm (ratio) | versus prompt, cold | llama-bench native tg128 | versus decode, greedy (ratio) |")
print("|---|---|---|---|---|---|")
pp_r, tg_r = [], []
for r in range(1, rounds + 1):
    lb = {("pp" if x["n_gen"] == 0 else "tg"): x["avg_ts"] for x in json.load(open(f"{tmp}/lb-{r}.json"))}
    pp = stats(f"{tmp}/pp-{r}.jsonl", "prompt_tps")
    tg = stats(f"{tmp}/tg-{r}.jsonl", "decode_tps")
    pp_warm, tg_warm = st.mean(pp[1:]), st.mean(tg[1:])
    pp_r.append(pp_warm / lb["pp"]); tg_r.append(tg_warm / lb["tg"])
    print(f"| {r} | {lb['pp']:.1f} | {pp_warm:.1f} ({pp_r[-1]:.3f}) | {pp[0]:.1f} | {lb['tg']:.1f} | {tg_warm:.1f} ({tg_r[-1]:.3f}) |")
print()
print(f"Median over {rounds} rounds, {threads} threads: prompt {st.median(pp_r):.3f}, decode {st.median(tg_r):.3f} of the native llama-bench.")
PY
