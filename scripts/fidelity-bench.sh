#!/usr/bin/env bash
# versus fidelity against llama.cpp's own llama-perplexity --kl-divergence,
# the same files, text, chunk size and threads, alternated A B A B: tokens
# per second of the whole comparison (the reference's pass and the
# candidate's), and the figures of the last round side by side.
#
# Usage: scripts/fidelity-bench.sh [ROUNDS] [VERSUS_BINARY]
#   ROUNDS         alternated rounds (default 3)
#   VERSUS_BINARY  default: a release build (cargo build --release)
# Environment: VERSUS_DEMO_MODEL (the reference), FIDELITY_CTX (512),
#   FIDELITY_THREADS (2), FIDELITY_BYTES (text size, default 12000 bytes of
#   LICENSE-APACHE: about 2,300 tokens, four chunks of 512).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
versus="${2:-}"
if [[ -z $versus ]]; then
    cargo build --release --locked >&2
    versus=target/release/versus
fi
eval "$(scripts/build-llama-tools.sh --server-only --fidelity | grep -E '^LLAMA_(PERPLEXITY|QUANTIZE)=')"
model="${VERSUS_DEMO_MODEL:-${XDG_DATA_HOME:-$HOME/.local/share}/versus/models/gemma-3-270m-q4_k_m.gguf}"
ctx="${FIDELITY_CTX:-512}"
threads="${FIDELITY_THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -c "${FIDELITY_BYTES:-12000}" LICENSE-APACHE >"$work/text.txt"
"$LLAMA_QUANTIZE" --allow-requantize "$model" "$work/cand.gguf" Q4_0 "$threads" >"$work/quantize.log" 2>&1
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

anchor() {
    local t0 t1
    t0=$(now)
    "$LLAMA_PERPLEXITY" -m "$model" -f "$work/text.txt" -c "$ctx" -t "$threads" --kl-divergence-base "$work/base.kld" >"$work/anchor-base.log" 2>&1
    "$LLAMA_PERPLEXITY" -m "$work/cand.gguf" --kl-divergence-base "$work/base.kld" --kl-divergence -c "$ctx" -t "$threads" >"$work/anchor.log" 2>&1
    t1=$(now)
    rm -f "$work/base.kld"
    calc "$t1 - $t0"
}

ours() {
    local t0 t1
    t0=$(now)
    "$versus" fidelity "$model,threads=$threads" "$work/cand.gguf,threads=$threads" --file "$work/text.txt" --ctx "$ctx" --json >"$work/ours.json" 2>"$work/ours.log"
    t1=$(now)
    calc "$t1 - $t0"
}

chunks=$(( $("$versus" tokenize "$model" --json <"$work/text.txt" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))') / ctx ))
tokens=$(( 2 * chunks * ctx ))
echo "reference $(basename "$model"), candidate Q4_0 requantized; ctx $ctx, $chunks chunks, $threads threads; tokens/s over both passes"
printf '%-6s %12s %12s %8s\n' round llama-ppl versus ratio
ratios=()
for r in $(seq 1 "$rounds"); do
    a=$(anchor)
    b=$(ours)
    ra=$(calc "$tokens / $a")
    rb=$(calc "$tokens / $b")
    ratio=$(calc "$rb / $ra")
    ratios+=("$ratio")
    printf '%-6s %12.1f %12.1f %8.3f\n' "$r" "$ra" "$rb" "$ratio"
done
printf 'median ratio %s\n' "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
echo
echo "figures of the last round (llama-perplexity | versus):"
grep -E "Mean PPL\(Q\)|Mean PPL\(base\)|Mean +KLD|Same top p|RMS" "$work/anchor.log" || true
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("versus: PPL(Q) %.6f PPL(base) %.6f KLD %.6f ± %.6f same top p %.3f %% RMS dp %.3f %%" % (r["ppl"]["candidate"], r["ppl"]["reference"], r["kld"]["mean"], r["kld"]["stderr"], 100*r["same_top_p"], 100*r["rms_dp"]))' "$work/ours.json"
