#!/usr/bin/env bash
# Two amtag builds timed against each other in one run, alternately (A, B, A, B ...), so that
# the machine's drift hits both: before/after numbers for BENCHMARKS.md. One line per run:
# "A|B label median_ms windows_per_s". Build the "before" binary from a worktree of the old
# commit, e.g.
#   git worktree add /tmp/before OLD && (cd /tmp/before && CARGO_TARGET_DIR=/tmp/before-target \
#     cargo build --release --locked -p amtag)
#   scripts/bench-ab.sh /tmp/before-target/release/amtag target/release/amtag
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: bench-ab.sh AMTAG_A AMTAG_B}
B=${2:?usage: bench-ab.sh AMTAG_A AMTAG_B}
ROUNDS=${ROUNDS:-6}
export NODEVICE_SELECT=1
shipped=weights/audio-mamba.safetensors
run() { # label amtag bench-args...
  local label=$1 bin=$2
  shift 2
  "$bin" bench "$@" | python3 -c 'import sys, json
d = json.load(sys.stdin)
print(sys.argv[1], d.get("median_ms", d.get("median_ms_per_window")), round(d["windows_per_s"], 2))' "$label"
}
for _ in $(seq "$ROUNDS"); do
  for side in A B; do
    bin=$A; [ $side = B ] && bin=$B
    run "$side shipped-1t" "$bin" --config $shipped --threads 1 --iters 60
    run "$side nano-10s-1t" "$bin" --config nano --threads 1 --iters 5
    run "$side tiny-10s-2t" "$bin" --config tiny --threads 2 --iters 3
    if [ -n "${GPU:-}" ]; then
      run "$side shipped-gpu-b8" "$bin" --config $shipped --backend gpu --batch 8 --iters 3
    fi
  done
done
