"""All the real speech of the training languages, beyond the per-language cap of the fixed build.

    python -m data_pipeline.extra_speech --out ../data      # after build_dataset.py; ~5 min

The fixed build caps speech at 250 files per language and package, and its split assignment
(which leans on group sizes) and its validation/test clips depend on that cap. To keep both
exactly as they are, the rest of the speech is added here, after the split, to the training
side only: every uncapped speech file whose (merged) language group the build put in train,
decoded and fingerprinted like the build's rows, and dropped if it duplicates any recording of
the build or of this pass (a copy shipped by two packages could otherwise cross splits).
Output: OUT/items_train_speech.jsonl (the item format of items_train.jsonl), for
`train.py --train-items items_train.jsonl,items_train_speech.jsonl`.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import time

from .config import DEFAULT_OUT
from .dedup import find_duplicates
from .prepare import prepare_sources
from .scan import scan_speech


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def new_duplicates(pairs, n_old: int) -> set:
    """Indices (among the new rows) to drop: of each duplicate pair (kept, dup) that involves a new
    row, the new copy goes, so no row of the fixed build is ever dropped."""
    drop = set()
    for i, j in pairs:
        new = j if j >= n_old else (i if i >= n_old else None)
        if new is not None:
            drop.add(new - n_old)
    return drop


def extra_train_speech(out: str) -> list:
    built = [json.loads(l) for l in open(os.path.join(out, "source_manifest.jsonl")) if l.strip()]
    known = {r["id"] for r in built}
    sp = json.load(open(os.path.join(out, "splits.json")))
    split_of, merged = sp["groups"], sp.get("merged_groups", {})
    rows = []
    for r in scan_speech(None):
        if r.id in known:
            continue
        g = merged.get(r.group, r.group)
        if split_of.get(g) != "train":
            continue
        r.extra["original_group"] = r.group
        r.group = g
        rows.append(r)
    log(f"extra speech: {len(rows)} uncapped files in training languages")
    prep = prepare_sources(rows, out, log=log)
    cache = pickle.load(open(os.path.join(out, "cache", "prepared.pkl"), "rb"))
    old_fps = [cache.get(r["id"], {}).get("fp") for r in built]
    fps = old_fps + [prep.get(r.id, {}).get("fp") for r in rows]
    groups = [r["group"] for r in built] + [r.group for r in rows]
    drop = new_duplicates(find_duplicates(fps, groups), len(built))
    items = []
    for k, r in enumerate(rows):
        p = prep.get(r.id, {})
        if k in drop or not p.get("item"):
            continue
        ea, eb = p["extent"]
        items.append({"id": r.id, "split": "train", "group": r.group, "package": r.package, "kind": r.kind,
                      "path": p["item"], "dur": p["dur"],
                      "events": [{"mid": m, "onset_s": round(ea, 4), "offset_s": round(eb, 4)} for m in r.mids],
                      "labels": list(r.mids), "weak": list(r.weak), "sources": [r.id], "walk": False})
    log(f"extra speech: {len(drop)} duplicates dropped, {len(items)} items")
    return items


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    a = ap.parse_args(argv)
    t = time.time()
    items = extra_train_speech(os.path.abspath(a.out))
    path = os.path.join(a.out, "items_train_speech.jsonl")
    with open(path, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    groups = sorted({it["group"] for it in items})
    log(f"wrote {path}: {len(items)} items from {len(groups)} languages in {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
