#!/usr/bin/env bash
# Resume the long training run (training/README.md, "The long run") on this machine, building
# what a fresh machine lacks first: the Python packages, the dataset and its two extra item
# files, the YAMNet teacher. The run goes to the background; its log is runs/$NAME/stdout.log.
# As root on a fresh Debian machine the dataset step takes about 35 minutes.
#
#   ./resume_long_run.sh            # NAME=plugin29-m
#
# STEPS is the cosine schedule's length. The run began with 40,000; on 2026-12-02 at step 6,400
# it became 12,000: validation had been flat at the peak learning rate for 3,000 steps
# (0.5097, 0.506, 0.508) and a session gives about 6,000 steps, so the decay that turns a
# plateau into a gain had to fit in one session to ship. At step 8,100 (validation 0.530 at
# 7,000, 0.536 at 8,000) it became 10,000, because the session's builds slowed the run and the
# decay had to end before the shipping step. On 2026-12-06 the run went on from step 9,000 with
# STEPS=17,000: a warm restart (the cosine at 9,000/17,000 gives 6.8e-4) whose decay fits in one
# session with the shipping step after it: with the machine to itself the run makes about 6,500
# steps an hour (13,500 was set first and changed at step 9,200, once that speed was measured).
# At step 12,100 it became 15,000 (lr 2.9e-4 -> 1.3e-4): the session's Rust builds slowed the
# run to about 4,500 steps an hour, and shipping needs the last 50 minutes of the session.
# Validation 0.5359 at 10,000 (0.536 before the restart). A lost session had done
# 9,000 -> 16,000 the same way, validation 0.5464 -> 0.5525, but its commits did not land.
# Step 14,000 (0.5556) shipped on 2026-12-06. Then a new cycle: STEPS=22,000 from step 15,000
# (a warm restart at 3.4e-4), begun at the end of that session with STOP_MINUTES=24, ended in
# the next (step 22,000; step 18,000, validation 0.5636, shipped). Resuming now needs a larger
# STEPS (a new warm restart): README, "Where the run stands".
set -euo pipefail
cd "$(dirname "$0")"
NAME=${NAME:-plugin29-m}
STEPS=${STEPS:-22000}
# Each committed checkpoint adds 35 MiB to the session's submission, which may hold at most
# 256 MiB of diffs: a run commits every 80 minutes (two or three times in a 3-hour session).
DATA=../data
python3 -c 'import torch, numba, onnxruntime, librosa' 2>/dev/null || pip install -q -r requirements.txt
[ -f "$DATA/items_train.jsonl" ] || nice -n 5 python3 build_dataset.py --scale 1.0 --clean
[ -f "$DATA/items_train_speech.jsonl" ] || nice -n 5 python3 -m data_pipeline.extra_speech --out "$DATA"
[ -f "$DATA/items_train_renders.jsonl" ] || nice -n 5 python3 -m data_pipeline.extra_renders --out "$DATA"
python3 -m audiomamba.teacher --fetch "$DATA/teacher" >/dev/null
mkdir -p "runs/$NAME"
if [ ! -f "runs/$NAME/last.pt" ] && [ -f "checkpoints/$NAME-last.pt" ]; then
  cp "checkpoints/$NAME-last.pt" "runs/$NAME/last.pt"
  cp "checkpoints/$NAME-train.log" "runs/$NAME/train.log"
fi
OMP_NUM_THREADS=1 nohup python3 -m torch.distributed.run --standalone --nproc_per_node 2 train.py \
  --config "configs/$NAME.json" \
  --train-items "$DATA/items_train.jsonl,$DATA/items_train_speech.jsonl,$DATA/items_train_renders.jsonl" \
  --val "$DATA/manifest_validation.jsonl" --root "$DATA" --out "runs/$NAME" \
  --batch 8 --lr 1.5e-3 --warmup 500 --steps "$STEPS" --eval-every 1000 --val-limit 400 \
  --threads 1 --backend gloo --teacher "$DATA/teacher" \
  --teacher-weights configs/teacher-weights-plugin29.json --teacher-share 0.5 \
  --commit-dir checkpoints --commit-minutes ${COMMIT_MINUTES:-80} --resume \
  ${STOP_MINUTES:+--stop-after-minutes $STOP_MINUTES} >>"runs/$NAME/stdout.log" 2>&1 &
echo "started: tail -f training/runs/$NAME/stdout.log"
