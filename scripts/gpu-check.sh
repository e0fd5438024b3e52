#!/usr/bin/env bash
# The GPU verification, run on the GPU machine after
# target/cuda-bundle/build-on-gpu.sh (scripts/build-cuda.sh makes the bundle):
#
#   scripts/gpu-check.sh MODEL.gguf OUT_DIR
#
# 1. `versus doctor`: NVML sees the GPU, llama.cpp lists its CUDA device.
# 2. Greedy text of the demo model on the GPU (llama.cpp, all layers
#    offloaded; candle on CUDA) against the CPU, same binary, same machine.
# 3. GPU memory before loading, loaded, and after unloading each model.
#    With several GPUs: the demo model spread by layer, by rows, by
#    tensor_split 3/1 and on main_gpu 1, its greedy text and where it went.
# 4. Decode and prompt speed of both engines on the GPU, warm (later prompts
#    of one process, as llama-bench measures after its warm-up) and cold (the
#    first prompt after the load: what a user waits on), and llama.cpp's own
#    llama-bench (built from the same tree, loading the same CUDA module).
# 5. performance-gpu.md in OUT_DIR: the figures as docs/performance.md
#    takes them, with the device named.
#
# VERSUS=path/to/versus runs another binary (a dry run on a CPU machine:
# the CUDA columns then fail with their reason, the rest runs).
set -uo pipefail
model=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
b=$here/target/cuda-bundle
versus=${VERSUS:-$b/dist/run-versus.sh}
export OMP_WAIT_POLICY=passive HOME=${HOME:-/root}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.txt") 2>&1

echo "== machine"
nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version --format=csv,noheader || echo "no nvidia-smi"
nproc
echo "== versus doctor"
"$versus" doctor "$model"

run() { # name, then versus run arguments
    local name=$1; shift
    "$versus" run --json --raw "$@" > "$out/$name.jsonl" 2> "$out/$name.err"
    echo "exit $? for $name"
}
# A prompt whose greedy continuation has no near-tie in its first 20 tokens
# (every top-1 lead > 0.38 logits on the CPU): kernels with other rounding
# cannot flip a token, so any difference is a real one.
prompt="Monday, Tuesday, Wednesday,"
echo "== greedy, 20 tokens: GPU vs CPU"
run greedy -p "$prompt" --temperature 0 --max-tokens 20 \
    -m "$model@llama,n_gpu_layers=-1" -m "$model@candle,device=cuda" \
    -m "$model@llama,n_gpu_layers=0" -m "$model@candle,device=cpu"
python3 - "$out/greedy.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l]
for r in rows:
    s = r.get("stats") or {}
    print(f'{r["model"]["name"]:60} {r["status"]:9} {s.get("decode_tps", 0):8.1f} tok/s  '
          f'gpu MiB before/loaded/after {s.get("gpu_before_bytes",0)>>20}/{s.get("gpu_loaded_bytes",0)>>20}/{s.get("gpu_after_bytes",0)>>20}  '
          f'{r.get("error") or ""}')
    print("   ", repr(r["text"]))
t = [r["text"] for r in rows]
def agree(a, b):
    n = 0
    for x, y in zip(a.split(" "), b.split(" ")):
        if x != y: break
        n += 1
    return n
print("llama.cpp GPU == llama.cpp CPU:", t[0] == t[2])
print("candle CUDA == candle CPU:", t[1] == t[3])
print("llama.cpp GPU == candle CUDA:", t[0] == t[1])
print("(words in common from the start, llama GPU/CPU:", agree(t[0], t[2]), " candle GPU/CPU:", agree(t[1], t[3]), ")")
PY

gpus=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | wc -l)
if (( gpus >= 2 )); then
    echo "== several GPUs ($gpus): the same greedy text spread by layer, by rows, by 3/1, and on GPU 1 alone"
    # llama.cpp logs each device's buffer sizes: where the model really went.
    XDG_STATE_HOME="$out/multi-state" RUST_LOG=debug run multi -p "$prompt" --temperature 0 --max-tokens 20 \
        -m "$model@llama,split_mode=layer" -m "$model@llama,split_mode=row" \
        -m "$model@llama,tensor_split=3/1" -m "$model@llama,split_mode=none,main_gpu=1" \
        -m "$model@candle,device=cuda,main_gpu=1"
    python3 - "$out/multi.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l]
for r in rows:
    s = r.get("stats") or {}
    same = r["text"] == rows[0]["text"]
    print(f'{r["model"]["name"]:60} {r["status"]:9} loaded {s.get("gpu_loaded_bytes", 0) >> 20} MiB over all GPUs, '
          f'text {"==" if same else "!="} the first {r.get("error") or ""}')
PY
    echo "-- llama.cpp's buffers, model by model in the order above (one load each):"
    grep -h 'model buffer size\|KV buffer size' "$out"/multi-state/versus/*.log 2>/dev/null | sed 's/^.*\(CUDA[0-9]*\|CPU\)/\1/' | head -80
else
    echo "== several GPUs: skipped ($gpus GPU)"
fi

echo "== speed on the GPU: 4 prompts of 512 tokens and 4 decodes of 128 in one process each"
# Each prompt starts differently, so none reuses the cache of the one before.
python3 -c '
for w in ("Alpha", "Bravo", "Charlie", "Delta"):
    print(w + " the" * 510)' > "$out/pp-prompts.txt"
printf 'The\nA\nIn\nOnce\n' > "$out/tg-prompts.txt"
for e in "llama,n_gpu_layers=-1" "candle,device=cuda"; do
    name=${e%%,*}
    "$versus" run --raw --temperature 0 --max-tokens 1 -m "$model@$e" --prompts "$out/pp-prompts.txt" > "$out/pp-$name.jsonl" 2> "$out/pp-$name.err"
    echo "exit $? for pp-$name"
    "$versus" run --raw --temperature 0 --max-tokens 129 -m "$model@$e,ignore_eos=true" --prompts "$out/tg-prompts.txt" > "$out/tg-$name.jsonl" 2> "$out/tg-$name.err"
    echo "exit $? for tg-$name"
done
echo "== llama-bench (anchor), same CUDA module"
bench=$(find "$b/build" -name llama-bench -type f -perm -u+x 2>/dev/null | head -1)
if [[ -n $bench ]]; then
    LD_LIBRARY_PATH=$(dirname "$bench") "$bench" -m "$model" -ngl 99 -p 512 -n 128 -r 5 -o json > "$out/llama-bench.json" 2> "$out/llama-bench.err"
else
    echo "no llama-bench under $b/build" | tee "$out/llama-bench.err"
fi
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
python3 - "$out" "${device:-no GPU}" <<'PY'
import json, sys, statistics as st
out, device = sys.argv[1], sys.argv[2]
def rows(path, key):
    try:
        return [(json.loads(l).get("stats") or {}).get(key, 0.0) for l in open(path) if l.strip()]
    except (OSError, ValueError):
        return []
anchor = {}
try:
    for r in json.load(open(f"{out}/llama-bench.json")):
        anchor["pp" if r["n_gen"] == 0 else "tg"] = r["avg_ts"]
except (OSError, ValueError, KeyError):
    pass
lines = [f"## GPU: {device}", "",
         "`scripts/gpu-check.sh`: the demo model, all layers on the GPU. Warm: prompts 2-4 of one process",
         "(llama-bench measures after its own warm-up); cold: the first prompt after the load.", "",
         "| what | tokens/s | ratio to llama-bench |", "|---|---|---|"]
def ratio(v, k):
    return f"{v / anchor[k]:.3f}" if anchor.get(k) else "-"
for k, label in (("pp", "pp512"), ("tg", "tg128")):
    if anchor.get(k):
        lines.append(f"| llama-bench {label} | {anchor[k]:.1f} | 1 |")
    for engine in ("llama", "candle"):
        key = "prompt_tps" if k == "pp" else "decode_tps"
        v = rows(f"{out}/{k}-{engine}.jsonl", key)
        if not v or max(v) == 0:
            lines.append(f"| versus · {engine} · {label} | failed: see {k}-{engine}.err | - |")
            continue
        warm = st.mean(v[1:]) if len(v) > 1 else v[0]
        lines.append(f"| versus · {engine} · {label}, warm | {warm:.1f} | {ratio(warm, k)} |")
        if k == "pp":
            lines.append(f"| versus · {engine} · {label}, cold (first after the load) | {v[0]:.1f} | {ratio(v[0], k)} |")
text = "\n".join(lines) + "\n"
open(f"{out}/performance-gpu.md", "w").write(text)
print(text)
PY
echo "== GPU memory after every model was unloaded, per GPU"
nvidia-smi --query-gpu=index,memory.used --format=csv,noheader || true
exit 0
