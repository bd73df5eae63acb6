#!/usr/bin/env bash
# The whole GPU benchmark in one go: Tiny, Micro and Nano (random weights, 10 s windows) at batch
# 1 and 16 on the GPU, and the same configs on the CPU for reference, as Markdown table rows for
# BENCHMARKS.md plus the raw JSON lines.
#
#   scripts/gpu-bench.sh                    # builds amtag (needs cargo and crates.io)
#   AMTAG=path/to/amtag scripts/gpu-bench.sh   # a prebuilt binary (machines without network)
#
# Env: ITERS (timed batches, default 20), OUT (JSON lines, default gpu-bench.jsonl),
# AMTAG_GPU_BENCH_CONFIGS (default "tiny micro nano"), BATCHES (default "1 16").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${AMTAG:-}" ]; then
  cargo build --release --locked -p amtag
  AMTAG=target/release/amtag
fi
ITERS="${ITERS:-20}"
OUT="${OUT:-gpu-bench.jsonl}"
CONFIGS="${AMTAG_GPU_BENCH_CONFIGS:-tiny micro nano}"
BATCHES="${BATCHES:-1 16}"
THREADS="$(nproc)"
[ -n "${XDG_RUNTIME_DIR:-}" ] || export NODEVICE_SELECT=1
: >"$OUT"

# A field of amtag's one-line JSON: a quoted string or a number.
field() { grep -oE "\"$1\":(\"[^\"]*\"|[^,}]*)" <<<"$2" | head -1 | cut -d: -f2- | tr -d '"'; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "| config | backend | batch | ms / window | windows / s | real-time factor |"
echo "| --- | --- | --- | --- | --- | --- |"
for c in $CONFIGS; do
  for b in $BATCHES; do
    line="$("$AMTAG" bench --config "$c" --backend gpu --batch "$b" --threads "$THREADS" --iters "$ITERS")"
    echo "$line" >>"$OUT"
    printf '| %s | %s | %s | %.2f | %.2f | %.1fx |\n' "$c" "$(field backend "$line")" "$b" \
      "$(field median_ms_per_window "$line")" "$(field windows_per_s "$line")" "$(field realtime_factor "$line")"
  done
  line="$("$AMTAG" bench --config "$c" --backend cpu --batch 1 --threads "$THREADS" --iters 5)"
  echo "$line" >>"$OUT"
  printf '| %s | cpu (%s threads) | 1 | %.2f | %.2f | %.1fx |\n' "$c" "$THREADS" \
    "$(field median_ms "$line")" "$(field windows_per_s "$line")" "$(field realtime_factor "$line")"
done
echo "raw results: $OUT"
