"""MIDI-style rendering with exact onsets.

* pyfluidsynth, in process: every note event is quantised to the synth's 64-sample block and
  the audio is generated block-exactly up to it, so the recorded onset is the true onset.
* timidity + freepats (GUS patches): a MIDI file at 1 ms per tick (tempo 1 s/beat, 1000 ticks/beat).
* sample sequencer (Hydrogen kits, LMMS single-note instruments): samples placed sample-exactly.

Every render returns (audio float32 mono at SR, events [{mid, onset_s, offset_s}], info dict).
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile

import numpy as np

from .audio import load, resample
from .config import FREEPATS_CFG, SR
from .labels import mid

BLOCK = 64
DRUM_HIT_S = 0.10   # drum-hit events: onset exact, offset = onset + 100 ms (fixed)

# melodic class -> (GM programs, MIDI range)
MELODIC = {
    "Piano": ([0, 1, 2, 3], (36, 88)),
    "Electric piano": ([4, 5], (40, 84)),
    "Organ": ([16, 17, 18, 19, 20], (36, 84)),
    "Synthesizer": ([38, 39] + list(range(80, 96)), (36, 84)),
    "Acoustic guitar": ([24, 25], (40, 76)),
    "Electric guitar": ([26, 27, 28, 29, 30], (40, 79)),
    "Bass guitar": ([33, 34, 35, 36, 37], (28, 55)),
    "Violin, fiddle": ([40], (55, 93)),
    "Cello": ([42], (36, 69)),
    "String section": ([44, 48, 49], (40, 84)),
    "Brass instrument": ([57, 58, 60, 61], (36, 74)),
    "Trumpet": ([56, 59], (55, 82)),
    "Saxophone": ([64, 65, 66, 67], (44, 80)),
    "Flute": ([73], (60, 96)),
    "Choir": ([52, 53], (48, 79)),
}
POLY = {"Piano", "Electric piano", "Organ", "Synthesizer", "Acoustic guitar", "Electric guitar",
        "String section", "Choir", "Brass instrument"}
# GM percussion key -> class
GM_DRUMS = {35: "Bass drum", 36: "Bass drum", 37: "Rimshot", 38: "Snare drum", 40: "Snare drum",
            39: "Clapping", 41: "Drum", 43: "Drum", 45: "Drum", 47: "Drum", 48: "Drum", 50: "Drum",
            42: "Hi-hat", 44: "Hi-hat", 46: "Hi-hat", 49: "Cymbal", 57: "Cymbal", 55: "Cymbal",
            52: "Cymbal", 51: "Cymbal", 59: "Cymbal", 53: "Cymbal", 54: "Tambourine", 56: "Cowbell"}
DRUM_KEYS = {"Bass drum": [36, 35], "Snare drum": [38, 40], "Rimshot": [37], "Clapping": [39],
             "Hi-hat": [42, 44, 46], "Cymbal": [49, 51, 57, 55, 53], "Drum": [41, 43, 45, 47, 48, 50],
             "Tambourine": [54], "Cowbell": [56]}
SCALES = {"major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "penta": [0, 2, 4, 7, 9],
          "dorian": [0, 2, 3, 5, 7, 9, 10]}


# ------------------------------------------------------------------ note generators
def gen_phrase(rng, cls: str, dur_s: float):
    """Notes [(on_s, off_s, key, vel)] of a random phrase for a melodic class."""
    lo, hi = MELODIC[cls][1]
    bpm = rng.uniform(70, 150)
    beat = 60.0 / bpm
    root = int(rng.integers(0, 12))
    scale = SCALES[rng.choice(list(SCALES))]
    pitches = [p for p in range(lo, hi + 1) if (p - root) % 12 in scale]
    cur = int(rng.integers(len(pitches) // 4, 3 * len(pitches) // 4 + 1))
    t = float(rng.uniform(0, 0.5))
    notes = []
    poly = cls in POLY and rng.random() < 0.5
    legato = rng.uniform(0.6, 1.0)
    while t < dur_s - 0.2:
        d = beat * float(rng.choice([0.25, 0.5, 0.5, 1, 1, 1.5, 2, 3]))
        if rng.random() < 0.12:
            t += d
            continue
        cur = int(np.clip(cur + rng.integers(-3, 4), 0, len(pitches) - 1))
        vel = int(rng.integers(55, 120))
        off = min(t + d * legato, dur_s)
        keys = [pitches[cur]]
        if poly:
            keys += [pitches[i] for i in (cur - 2, cur - 4) if i >= 0]
        for k in keys:
            notes.append((t, off, k, vel))
        t += d
    return notes


def gen_drum_pattern(rng, classes_available: list, dur_s: float, sparse: bool):
    """Hits [(t_s, class, velocity 0..1)] of a groove (or a sparse 1-2 instrument rhythm)."""
    bpm = rng.uniform(75, 165)
    step = 60.0 / bpm / 4
    nsteps = int(dur_s / step)
    hits = []
    av = set(classes_available)
    if sparse:
        pick = list(rng.choice(sorted(av), size=min(len(av), int(rng.integers(1, 3))), replace=False))
        for c in pick:
            dens = rng.uniform(0.1, 0.5)
            for s in range(nsteps):
                if rng.random() < dens:
                    hits.append((s * step, c, float(rng.uniform(0.4, 1.0))))
        return hits
    hat_div = int(rng.choice([1, 2, 2, 4]))
    kick = [0, 8] + ([int(rng.choice([6, 10, 11, 14]))] if rng.random() < 0.6 else [])
    snare = [4, 12]
    extra = [c for c in ("Clapping", "Cowbell", "Tambourine", "Rimshot") if c in av and rng.random() < 0.3]
    ride = "Cymbal" in av and rng.random() < 0.3
    for s in range(nsteps):
        b, t = s % 16, s * step
        if b in kick and "Bass drum" in av:
            hits.append((t, "Bass drum", float(rng.uniform(0.7, 1.0))))
        if b in snare and "Snare drum" in av:
            hits.append((t, "Snare drum", float(rng.uniform(0.6, 1.0))))
        if s % hat_div == 0:
            if ride:
                hits.append((t, "Cymbal", float(rng.uniform(0.4, 0.8))))
            elif "Hi-hat" in av:
                hits.append((t, "Hi-hat", float(rng.uniform(0.3, 0.9))))
        if s % 64 == 0 and "Cymbal" in av and rng.random() < 0.5:
            hits.append((t, "Cymbal", 0.9))
        if b >= 13 and (s // 16) % 2 == 1 and "Drum" in av and rng.random() < 0.5:
            hits.append((t, "Drum", float(rng.uniform(0.6, 1.0))))
        for c in extra:
            if (c == "Clapping" and b in snare) or (c != "Clapping" and rng.random() < 0.25):
                hits.append((t, c, float(rng.uniform(0.5, 1.0))))
    if not hits and av:  # kits without kick/snare/hat (hand percussion): fall back to sparse
        return gen_drum_pattern(rng, classes_available, dur_s, True)
    return hits


# ------------------------------------------------------------------ fluidsynth
class Fluid:
    def __init__(self, sf2_paths):
        import fluidsynth
        self.fs = fluidsynth.Synth(samplerate=float(SR), gain=0.4)
        for k, v in (("synth.reverb.active", 0), ("synth.chorus.active", 0), ("synth.polyphony", 256)):
            try:
                self.fs.setting(k, v)
            except Exception:
                pass
        self.sfid = {p: self.fs.sfload(p) for p in sf2_paths}

    def has(self, sf2, bank, prog):
        return bool(self.fs.sfpreset_name(self.sfid[sf2], bank, prog))

    def preset_name(self, sf2, bank, prog):
        return self.fs.sfpreset_name(self.sfid[sf2], bank, prog) or ""

    def render(self, sf2, programs: dict, notes, dur_s: float, tail_s: float = 0.0):
        """programs: {chan: (bank, prog)}; notes: [(on_s, off_s, chan, key, vel)].
        Returns (audio, quantised notes). Onsets are multiples of 64 samples."""
        fs = self.fs
        for ch in range(16):
            fs.cc(ch, 123, 0)  # all notes off
            fs.cc(ch, 120, 0)  # all sound off
            fs.cc(ch, 121, 0)
        fs.get_samples(BLOCK * 8)  # flush
        for ch, (bank, prog) in programs.items():
            fs.program_select(ch, self.sfid[sf2], bank, prog)
        q = lambda t: int(round(t * SR / BLOCK)) * BLOCK
        evs = []
        qnotes = []
        for on, off, ch, key, vel in notes:
            a, b = q(on), max(q(off), q(on) + BLOCK)
            evs.append((a, 1, ch, key, vel))
            evs.append((b, 0, ch, key, 0))
            qnotes.append((a / SR, b / SR, ch, key, vel))
        evs.sort(key=lambda e: (e[0], e[1]))
        total = q(dur_s + tail_s)
        out = []
        pos = 0
        for s, kind, ch, key, vel in evs:
            s = min(s, total)
            if s > pos:
                out.append(fs.get_samples(s - pos))
                pos = s
            if kind:
                fs.noteon(ch, key, vel)
            else:
                fs.noteoff(ch, key)
        if total > pos:
            out.append(fs.get_samples(total - pos))
        st = np.concatenate(out).astype(np.float32).reshape(-1, 2) / 32768.0 if out else np.zeros((0, 2), np.float32)
        return st.mean(axis=1), qnotes


# ------------------------------------------------------------------ timidity / freepats
def freepats_programs(cfg=FREEPATS_CFG):
    """(melodic programs, drum keys) defined in the freepats config."""
    if not os.path.exists(cfg):
        return set(), set()
    mel, drums, mode = set(), set(), None
    for line in open(cfg):
        line = line.split("#")[0].strip()
        m = re.match(r"^(bank|drumset)\s+(\d+)", line)
        if m:
            mode = (m.group(1), int(m.group(2)))
            continue
        m = re.match(r"^(\d+)\s+\S+\.pat", line)
        if m and mode:
            (mel if mode == ("bank", 0) else drums if mode == ("drumset", 0) else set()).add(int(m.group(1)))
    return mel, drums


def timidity_render(programs: dict, notes, dur_s: float, cfg=FREEPATS_CFG):
    """Render with timidity. Ticks are 1 ms; onsets quantised to 1 ms."""
    import mido
    mf = mido.MidiFile(ticks_per_beat=1000)
    tr = mido.MidiTrack()
    mf.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
    for ch, (bank, prog) in programs.items():
        tr.append(mido.Message("control_change", channel=ch, control=0, value=0, time=0))
        if ch != 9:
            tr.append(mido.Message("program_change", channel=ch, program=prog, time=0))
    evs, qnotes = [], []
    for on, off, ch, key, vel in notes:
        a, b = int(round(on * 1000)), max(int(round(off * 1000)), int(round(on * 1000)) + 1)
        evs += [(a, 1, ch, key, vel), (b, 0, ch, key, 0)]
        qnotes.append((a / 1000, b / 1000, ch, key, vel))
    evs.sort(key=lambda e: (e[0], e[1]))
    last = 0
    for t, kind, ch, key, vel in evs:
        msg = "note_on" if kind else "note_off"
        tr.append(mido.Message(msg, channel=ch, note=key, velocity=vel, time=t - last))
        last = t
    end = int(dur_s * 1000)
    tr.append(mido.MetaMessage("end_of_track", time=max(0, end - last)))
    with tempfile.TemporaryDirectory() as td:
        mp, wp = os.path.join(td, "in.mid"), os.path.join(td, "out.wav")
        mf.save(mp)
        subprocess.run(["timidity", "-c", cfg, "-Ow", "--output-mono", "-s", str(SR), "-EFreverb=0",
                        "-EFchorus=0", "-A100", "--preserve-silence", "-o", wp, mp], capture_output=True, check=True, timeout=120)
        x = load(wp, SR)
    n = int(dur_s * SR)
    x = np.pad(x, (0, max(0, n - len(x))))[:n]
    return x, qnotes


# ------------------------------------------------------------------ sample sequencer
class SampleCache:
    def __init__(self):
        self.c = {}

    def get(self, path):
        if path not in self.c:
            self.c[path] = load(path, SR)
        return self.c[path]


def place(buf: np.ndarray, x: np.ndarray, start: int, gain: float = 1.0):
    if start >= len(buf):
        return
    n = min(len(x), len(buf) - start)
    buf[start:start + n] += gain * x[:n]


def pitch_shift(x: np.ndarray, semitones: float) -> np.ndarray:
    """Sampler-style repitch (changes duration), as a hardware sampler does."""
    if abs(semitones) < 1e-3:
        return x
    ratio = 2 ** (semitones / 12)
    return resample(x, int(round(SR * ratio)), SR) if ratio else x


# ------------------------------------------------------------------ events
def notes_to_events(qnotes, cls_of_chan: dict, drum_keys=None, dur_s=None):
    """Per-note events; drum hits get fixed DRUM_HIT_S length."""
    ev = []
    for on, off, ch, key, vel in qnotes:
        if dur_s is not None and on >= dur_s:
            continue
        if ch == 9 or (drum_keys is not None and ch in drum_keys):
            c = GM_DRUMS.get(key)
            if c:
                ev.append({"mid": mid(c), "onset_s": round(on, 5), "offset_s": round(on + DRUM_HIT_S, 5)})
        else:
            c = cls_of_chan.get(ch)
            if c:
                ev.append({"mid": mid(c), "onset_s": round(on, 5), "offset_s": round(min(off, dur_s or off), 5)})
    return ev
