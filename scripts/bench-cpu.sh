#!/usr/bin/env bash
# CPU engine benchmark table for BENCHMARKS.md: each config at 1 and 2 threads on a 10 s
# window, then Nano over 2.5-40 s windows (cost must grow linearly). One JSON line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p amtag >&2
amtag=./target/release/amtag
for cfg in nano micro tiny; do
  for t in 1 2; do
    $amtag bench --config "$cfg" --threads "$t" --iters "${ITERS:-7}"
  done
done
for s in 2.5 5 10 20 40; do
  $amtag bench --config nano --seconds "$s" --threads 1 --iters "${ITERS:-7}"
done
