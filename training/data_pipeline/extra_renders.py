"""Every GM program and every drum kit of the training soundfont families, rendered.

    python -m data_pipeline.extra_renders --out ../data      # after build_dataset.py; ~3 min

The fixed build renders phrases for the 15 melodic classes from a few programs each and drum
patterns from randomly drawn kits, so many of a font's 128 programs (harpsichord, clarinet,
accordion, sitar, synth pads, sound effects) and some kits are never heard in training. Here each
bank-0 program and each bank-128 kit of every font of a training-side family is rendered
`--per-program` times: a program of one of our classes is labelled with it (as in the build);
another melodic program is labelled Music only (what a tagger should answer for an instrument it
has no class for); programs 120-127 (fret noise, breath, seashore, birds, telephone, helicopter,
applause, gunshot) are sound effects with no label, so they serve as negatives for Music. Like
extra_speech, this writes its own items file for the training side only
(OUT/items_train_renders.jsonl) and leaves the fixed build's splits and clips untouched.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import time

import numpy as np

from . import render as R
from .config import DEFAULT_OUT, SOUNDFONTS
from .jobs import ItemWriter, _extent_event, _slug

SFX_PROGRAMS = range(120, 128)
# GM programs 112-119 are pitched or struck percussion; taiko, melodic tom and synth drum are drums
DRUM_PROGRAMS = {116, 117, 118}


def program_class(prog: int) -> str | None:
    """Our class for a GM program, 'Music' for other instruments, None for sound effects."""
    for cls, (progs, _) in R.MELODIC.items():
        if prog in progs:
            return cls
    if prog in SFX_PROGRAMS:
        return None
    if prog in DRUM_PROGRAMS:
        return "Drum"
    return "Music"


def _phrase(rng, cls: str | None, dur: float):
    # classes without their own pitch range play in the middle of the keyboard
    key_cls = cls if cls in R.MELODIC else "Piano"
    return [(a, b, 0, k, v) for a, b, k, v in R.gen_phrase(rng, key_cls, dur)]


def render_all_programs(w: ItemWriter, family: str, fonts, rng, per_program: int, dur: float, log=print):
    fl = R.Fluid(fonts)
    pkg = {"sf:fluid": "fluid-soundfont-gm", "sf:timgm": "timgm6mb-soundfont", "sf:opl3": "opl3-soundfont"}[family]
    n_prog = n_kit = 0
    for f in fonts:
        name = os.path.basename(f)
        for prog in range(128):
            if not fl.has(f, 0, prog):
                continue
            # OPL3 is FM synthesis: every program is a synthesizer (as in the build)
            cls = "Synthesizer" if family == "sf:opl3" else program_class(prog)
            for i in range(per_program):
                notes = _phrase(rng, cls, dur)
                x, q = fl.render(f, {0: (0, prog)}, notes, dur)
                ev = R.notes_to_events(q, {0: cls} if cls else {}, dur_s=dur)
                kind = "render" if cls else "background"
                if w.add(x, ev, family, pkg, [f"render:{name}:prog{prog}:all"], f"prog{prog}_{i}", kind=kind):
                    n_prog += 1
        if family == "sf:opl3":
            continue
        for preset in range(128):
            if not fl.has(f, 128, preset):
                continue
            pname = fl.preset_name(f, 128, preset)
            for i in range(per_program):
                sparse = rng.random() < 0.3
                hits = R.gen_drum_pattern(rng, list(R.DRUM_KEYS), dur, sparse)
                notes = [(t, t + 0.05, 9, int(rng.choice(R.DRUM_KEYS[c])), int(30 + 97 * v)) for t, c, v in hits]
                x, q = fl.render(f, {9: (128, preset)}, notes, dur)
                ev = R.notes_to_events(q, {}, dur_s=dur)
                if not sparse:
                    ev += _extent_event("Drum kit", ev, dur=dur)
                    if re.search(r"808|electr|tr-|techno|dance", pname, re.I):
                        ev += _extent_event("Drum machine", ev, dur=dur)
                if w.add(x, ev, family, pkg, [f"render:{name}:drums{preset}:all"], f"kit{preset}_{_slug(pname)}_{i}"):
                    n_kit += 1
    log(f"  {family}: {n_prog} program renders, {n_kit} kit renders")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--per-program", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each render")
    ap.add_argument("--seed", type=int, default=4321)
    a = ap.parse_args(argv)
    t = time.time()
    out = os.path.abspath(a.out)
    split_of = json.load(open(os.path.join(out, "splits.json")))["groups"]
    w = ItemWriter(out, "train")
    w.dir = os.path.join(out, "items", "train_all_programs")
    rng = np.random.default_rng(a.seed)
    for family in ("sf:fluid", "sf:timgm", "sf:opl3"):
        fonts = [f for f, g in SOUNDFONTS.items() if g == family and os.path.exists(f)]
        if split_of.get(family) != "train" or not fonts:
            continue
        render_all_programs(w, family, fonts, rng, a.per_program, a.seconds,
                            log=lambda m: print(time.strftime("%H:%M:%S"), m, flush=True))
    path = os.path.join(out, "items_train_renders.jsonl")
    with open(path, "w") as f:
        for it in w.items:
            f.write(json.dumps(it) + "\n")
    print(time.strftime("%H:%M:%S"), f"wrote {path}: {len(w.items)} items in {time.time() - t:.0f} s", flush=True)


if __name__ == "__main__":
    main()
