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
# 4. Decode and prompt speed of both engines on the GPU, and llama.cpp's own
#    llama-bench (built from the same tree, loading the same CUDA module).
set -uo pipefail
model=$1
out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
b=$here/target/cuda-bundle
versus=$b/dist/run-versus.sh
export OMP_WAIT_POLICY=passive HOME=${HOME:-/root}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.txt") 2>&1

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
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

echo "== speed on the GPU: decode 128 tokens after a short prompt, prompt of 512 tokens"
pp=$(python3 -c 'print(" the" * 511)')
for rep in 1 2; do
    run "tg$rep" -p "The" --temperature 0 --max-tokens 129 -m "$model@llama,n_gpu_layers=-1,ignore_eos=true" -m "$model@candle,device=cuda,ignore_eos=true"
    run "pp$rep" -p "$pp" --temperature 0 --max-tokens 1 -m "$model@llama,n_gpu_layers=-1" -m "$model@candle,device=cuda"
done
python3 - "$out" <<'PY'
import json, sys, glob
for kind, key in (("tg", "decode_tps"), ("pp", "prompt_tps")):
    for f in sorted(glob.glob(f"{sys.argv[1]}/{kind}*.jsonl")):
        for l in open(f):
            r = json.loads(l)
            if r.get("event") == "summary":
                s = r.get("stats") or {}
                print(f'{kind} {f[-8:]} {r["engine"]:7} {s.get(key, 0):10.1f} tok/s  prompt_tokens={s.get("prompt_tokens")} generated={s.get("generated_tokens")} {r.get("error") or ""}')
PY
echo "== llama-bench (anchor), same CUDA module"
bench=$(find "$b/build" -name llama-bench -type f -perm -u+x | head -1)
LD_LIBRARY_PATH=$(dirname "$bench") "$bench" -m "$model" -ngl 99 -p 512 -n 128 -r 3 -o md 2>&1 | tail -6
echo "== nvidia-smi after"
nvidia-smi --query-gpu=memory.used --format=csv,noheader
