"""One-command dataset build: python -m data_pipeline.build [--scale S] [--no-install] ...

Stages (each timed, durations written to OUT/build_stats.json and DATASET.md):
install -> scan -> prepare (decode + fingerprint) -> dedup -> split -> render -> mix -> report.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import defaultdict

import numpy as np

from . import jobs, render as R
from .config import DEFAULT_CLIP_S, DEFAULT_OUT, DEFAULT_SEED, PKG_DIR, SPLITS
from .dedup import UnionFind, find_duplicates
from .install import ensure_sources
from .labels import mid, mid_to_name, write_labels_csv
from .mix import build_split
from .prepare import prepare_sources
from .scan import hydrogen_kits, scan_all
from .split import assign_splits


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


DRUM_CLASSES = list(R.DRUM_KEYS)


def render_groups(kits):
    """Leakage groups of rendered material and the classes each can produce."""
    g = defaultdict(set)
    for fam in ("sf:fluid", "sf:timgm", "sf:freepats"):
        g[fam] |= {mid(c) for c in list(R.MELODIC) + DRUM_CLASSES + ["Drum kit"]}
    for fam in ("sf:fluid", "sf:timgm"):
        g[fam].add(mid("Drum machine"))
    g["sf:opl3"].add(mid("Synthesizer"))
    g["author:glen_macarthur"] |= {mid(c) for c in DRUM_CLASSES + ["Drum kit"]}
    for k in kits:
        cl = {i["cls"] for i in k["instruments"] if i["cls"]}
        g[k["group"]] |= {mid(c) for c in cl}
        if {"Bass drum", "Snare drum", "Hi-hat"} <= cl:
            g[k["group"]].add(mid("Drum kit"))
        if k["machine"]:
            g[k["group"]].add(mid("Drum machine"))
    return g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 8000/800/1000 clips")
    ap.add_argument("--clip-seconds", type=float, default=DEFAULT_CLIP_S)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--no-install", action="store_true", help="only check sources, install nothing")
    ap.add_argument("--speech-cap", type=int, default=250, help="max files per speech language per package")
    ap.add_argument("--clean", action="store_true", help="delete OUT/items and OUT/clips first")
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    if a.clean:
        for d in ("items", "clips"):
            shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    T = {}
    t_all = time.time()
    t = time.time()
    status = ensure_sources(install=not a.no_install, log=log)
    T["install_check"] = time.time() - t

    t = time.time()
    rows = scan_all(cap_speech=a.speech_cap, log=log)
    kits = hydrogen_kits()
    T["scan"] = time.time() - t

    t = time.time()
    prep = prepare_sources(rows, out, log=log)
    for r in rows:
        p = prep.get(r.id, {})
        r.duration = round(p.get("dur", 0.0), 3)
    T["prepare_decode_fingerprint"] = time.time() - t

    # ---- dedup across packages + leakage-group union
    t = time.time()
    fps = [prep[r.id]["fp"] if r.id in prep else None for r in rows]
    pairs = find_duplicates(fps, [r.group for r in rows])
    uf = UnionFind()
    dup_log = []
    for i, j in pairs:
        rows[j].dup_of = rows[i].id
        if rows[i].group != rows[j].group:
            uf.union(rows[i].group, rows[j].group)
        dup_log.append({"kept": rows[i].id, "dup": rows[j].id, "kept_group": rows[i].group, "dup_group": rows[j].group})
    speaker_group = {}
    for r in rows:  # one speaker in several languages: link those language groups
        sp_ = r.extra.get("speaker")
        if sp_:
            if sp_ in speaker_group and speaker_group[sp_] != r.group:
                uf.union(speaker_group[sp_], r.group)
            speaker_group.setdefault(sp_, r.group)
    for r in rows:
        r.extra["original_group"] = r.group
        r.group = uf.find(r.group)
    for k in kits:
        k["group"] = uf.find(k["group"])
    dup_paths = {r.path for r in rows if r.dup_of and r.kind == "kit"}
    log(f"dedup: {len(pairs)} duplicates, {sum(1 for d in dup_log if d['kept_group'] != d['dup_group'])} across groups")
    T["dedup"] = time.time() - t

    # ---- split
    t = time.time()
    gcls = render_groups(kits)
    gsize = defaultdict(float)
    for r in rows:
        if r.dup_of or (prep.get(r.id, {}).get("item") is None and r.kind != "kit"):
            continue
        gcls[r.group] |= set(r.mids)
        gsize[r.group] += r.duration or 0
    gcls = {uf.find(g): v for g, v in gcls.items()}
    split_of = assign_splits(gcls, gsize, seed=a.seed)
    with open(os.path.join(out, "source_manifest.jsonl"), "w") as f:
        for r in rows:
            d = r.to_json()
            d["split"] = split_of.get(r.group)
            d["names"] = [mid_to_name().get(m, m) for m in r.mids]
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    merged = {r.extra["original_group"]: r.group for r in rows if r.extra["original_group"] != r.group}
    json.dump({"groups": split_of, "merged_groups": merged, "duplicates": dup_log}, open(os.path.join(out, "splits.json"), "w"), indent=1)
    T["split"] = time.time() - t

    # ---- items per split: real recordings + renders
    t = time.time()
    s = a.scale
    base = {"train": (50, 120, 120, 25), "validation": (14, 30, 30, 12), "test": (20, 40, 40, 15)}
    items = {sp: [] for sp in SPLITS}
    for r in rows:
        p = prep.get(r.id, {})
        sp = split_of.get(r.group)
        if r.dup_of or not p.get("item") or r.kind in ("kit", "note") or sp is None:
            continue
        ea, eb = p["extent"]
        items[sp].append({"id": r.id, "split": sp, "group": r.group, "package": r.package, "kind": r.kind,
                          "path": p["item"], "dur": p["dur"], "events": [
                              {"mid": m, "onset_s": round(ea, 4), "offset_s": round(eb, 4)} for m in r.mids],
                          "labels": list(r.mids), "weak": list(r.weak), "sources": [r.id],
                          "walk": mid("Walk, footsteps") in r.mids})
    scores = jobs.load_scores(os.path.join(out, "cache"), n=max(20, int(80 * min(1, s))), log=log)
    cache = R.SampleCache()
    rng_master = np.random.default_rng(a.seed)
    for sp in SPLITS:
        w = jobs.ItemWriter(out, sp)
        n_phr, n_sc, n_dr, n_kit = (max(2, int(round(v * s))) for v in base[sp])
        for fam in ("sf:fluid", "sf:timgm", "sf:freepats", "sf:opl3"):
            if split_of.get(fam) == sp:
                tt = time.time()
                jobs.render_family(w, fam, np.random.default_rng(rng_master.integers(2**31)), n_phr, n_sc, n_dr,
                                   scores, a.clip_seconds, log=log)
                T[f"render_{fam}"] = time.time() - tt
        tt = time.time()
        if split_of.get(uf.find("author:glen_macarthur")) == sp:
            jobs.render_avl(w, np.random.default_rng(rng_master.integers(2**31)), n_kit * 2, a.clip_seconds,
                            group=uf.find("author:glen_macarthur"))
        for k in kits:
            if split_of.get(k["group"]) == sp:
                jobs.render_hydrogen_kit(w, k, np.random.default_rng(rng_master.integers(2**31)), n_kit,
                                         a.clip_seconds, cache, dup_paths)
        for r in rows:
            if r.kind == "note" and not r.dup_of and split_of.get(r.group) == sp and prep.get(r.id, {}).get("item"):
                from .mix import read_item
                jobs.render_sampler(w, {"mids": r.mids, "group": r.group, "package": r.package, "id": r.id,
                                        "path": r.path}, read_item(prep[r.id]["item"]),
                                    np.random.default_rng(rng_master.integers(2**31)), max(2, int(round(8 * s))),
                                    a.clip_seconds)
        T[f"render_kits_samplers_{sp}"] = time.time() - tt
        items[sp] += w.items
        cache.c.clear()
        with open(os.path.join(out, f"items_{sp}.jsonl"), "w") as f:
            for it in items[sp]:
                f.write(json.dumps(it) + "\n")
        log(f"{sp}: {len(items[sp])} items")
    T["render_total"] = time.time() - t

    # ---- mixtures
    t = time.time()
    n_clips = {"train": int(8000 * s), "validation": int(800 * s), "test": int(1000 * s)}
    for sp in SPLITS:
        shutil.rmtree(os.path.join(out, "clips", sp), ignore_errors=True)
        tt = time.time()
        build_split(items[sp], sp, max(1, n_clips[sp]), out, a.clip_seconds, a.seed, log=log)
        T[f"mix_{sp}"] = time.time() - tt
        log(f"mixed {sp}: {n_clips[sp]} clips in {T[f'mix_{sp}']:.0f}s")
    T["mix_total"] = time.time() - t

    # ---- labels + report
    write_labels_csv(os.path.join(out, "labels.csv"))
    if os.path.abspath(out) == os.path.abspath(str(DEFAULT_OUT)):
        write_labels_csv(os.path.join(PKG_DIR, "labels.csv"))
    T["total"] = time.time() - t_all
    stats = {"args": vars(a), "timings_s": {k: round(v, 1) for k, v in T.items()}, "sources_status": status,
             "n_source_rows": len(rows), "n_duplicates": len(pairs)}
    json.dump(stats, open(os.path.join(out, "build_stats.json"), "w"), indent=1)
    from .report import write_report
    write_report(out, rows, split_of, items, stats, argv if argv is not None else sys.argv[1:])
    log(f"done in {T['total']:.0f}s")


if __name__ == "__main__":
    main()
