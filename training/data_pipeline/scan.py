"""Scan the installed packages into source rows (one per recording).

A row: id, path, member (entry inside a zip/pk3, or null), package, group (leakage group),
mids (direct labels, before ontology expansion), weak (MIDs present somewhere, no timing),
kind (oneshot | loop | speech | music | note | kit | background), licence.
Duration is filled in by the fingerprint pass (it decodes every file anyway).
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import asdict, dataclass, field

from .install import dpkg_installed, package_licence
from .labels import mid


@dataclass
class Source:
    id: str
    path: str
    package: str
    group: str
    mids: list
    kind: str
    member: str | None = None
    weak: list = field(default_factory=list)
    licence: str = ""
    duration: float | None = None
    dup_of: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self):
        return asdict(self)


def _sid(package: str, path: str, member: str | None = None) -> str:
    h = hashlib.sha1(f"{path}|{member}".encode()).hexdigest()[:10]
    base = os.path.splitext(os.path.basename(member or path))[0]
    base = re.sub(r"[^A-Za-z0-9]+", "_", base)[:40]
    return f"{package}:{base}:{h}"


def _cap(paths, cap, key=""):
    """Deterministic subset of at most cap paths (by hash), sorted."""
    paths = sorted(paths)
    if cap is None or len(paths) <= cap:
        return paths
    return sorted(sorted(paths, key=lambda p: hashlib.md5((key + p).encode()).hexdigest())[:cap])


NOT_SPEECH = re.compile(r"monkeys|tone|beep|confbridge[-_](join|leave|.*sound)|ding|dong|ring|click|music|silence", re.I)
AUDIO_RE = re.compile(r"\.(ogg|oga|wav|flac|mp3|opus)$", re.I)
M = mid  # shorthand


# ---------------------------------------------------------------- speech
def scan_speech(cap):
    rows = []

    def add(pkg, paths, lang_of):
        by_group = {}
        for p in paths:
            lang = lang_of(p)
            if lang:
                by_group.setdefault(f"lang:{lang}", []).append(p)
        for g, ps in by_group.items():
            for p in _cap(ps, cap, g):
                ex = {}
                m = re.search(r"/asterisk/sounds/[a-z]{2}_[A-Z]{2}_[fm]_([A-Za-z]+)/", p)
                if m:  # named IVR voice: the same speaker records several languages (Allison: en, es)
                    ex["speaker"] = "asterisk:" + m.group(1)
                rows.append(Source(_sid(pkg, p), p, pkg, g, [M("Speech")], "speech", extra=ex))

    def lang_norm(s):
        return s.split("_")[0].split("@")[0].lower()

    if dpkg_installed("tuxpaint-stamps-default"):
        ps = glob.glob("/usr/share/tuxpaint/stamps/**/*_desc_*.ogg", recursive=True)
        add("tuxpaint-stamps-default", ps,
            lambda p: lang_norm(re.search(r"_desc_([A-Za-z_@]+)\.ogg$", p).group(1)) if re.search(r"_desc_([A-Za-z_@]+)\.ogg$", p) else None)
    for lang in ("cs", "nl"):
        pkg = f"fillets-ng-data-{lang}"
        if dpkg_installed(pkg):
            add(pkg, glob.glob(f"/usr/share/games/fillets-ng/sound/*/{lang}/*.ogg"), lambda p, l=lang: l)
    if dpkg_installed("klettres-data"):
        add("klettres-data", [p for p in glob.glob("/usr/share/klettres/*/**/*.ogg", recursive=True)],
            lambda p: lang_norm(p.split("/")[4]))
    if dpkg_installed("ktuberling-data"):
        add("ktuberling-data", glob.glob("/usr/share/ktuberling/sounds/*/*.ogg"), lambda p: lang_norm(p.split("/")[5]))
    if dpkg_installed("gcin-voice"):
        add("gcin-voice", glob.glob("/usr/share/gcin-voice/ogg/**/*.ogg", recursive=True), lambda p: "zh")
    for lang in ("en", "es", "fr", "it", "ru"):
        pkg = f"asterisk-core-sounds-{lang}-wav"
        if dpkg_installed(pkg):
            # silence/N.wav are N seconds of silence; tones and beeps are not speech
            ast = [p for p in glob.glob("/usr/share/asterisk/sounds/*/**/*.wav", recursive=True)
                   if "/silence/" not in p and not NOT_SPEECH.search(os.path.basename(p))]
            add(pkg, ast,
                lambda p, l=lang: l if os.path.basename(os.path.dirname(p)).startswith(l) or f"/{l}_" in p else None)
    if dpkg_installed("alsa-utils"):
        add("alsa-utils", [p for p in glob.glob("/usr/share/sounds/alsa/*.wav") if "Noise" not in p], lambda p: "en")
    if dpkg_installed("sound-theme-freedesktop"):
        add("sound-theme-freedesktop", glob.glob("/usr/share/sounds/freedesktop/stereo/audio-channel-*.oga"), lambda p: "en")
    # asterisk packages share folders per voice; keep only rows whose package matches the folder language
    return rows


# ---------------------------------------------------------------- games: footsteps, music, background
def _zip_members(path, pattern):
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if re.search(pattern, n, re.I) and AUDIO_RE.search(n)]


def scan_games(cap_bg):
    rows = []
    fs = M("Walk, footsteps")
    mus = M("Music")
    bg_skip = re.compile(r"speech|voice|voices|sing|music|song|say|talk|laugh|audio-channel", re.I)

    def bg(pkg, group, paths):
        for p in _cap([p for p in paths if not bg_skip.search(p)], cap_bg, group):
            rows.append(Source(_sid(pkg, p), p, pkg, group, [], "background"))

    if dpkg_installed("minetest-data"):
        root = "/usr/share/games/minetest"
        allp = [p for p in glob.glob(root + "/**/*.ogg", recursive=True)]
        for p in allp:
            if re.search(r"footstep", p) and "water" not in p:
                rows.append(Source(_sid("minetest-data", p), p, "minetest-data", "game:minetest", [fs], "oneshot"))
        bg("minetest-data", "game:minetest", [p for p in allp if "footstep" not in p])
    if dpkg_installed("ufoai-sound"):
        pk3 = "/usr/share/games/ufoai/base/0snd.pk3"
        for n in _zip_members(pk3, r"."):
            if re.search(r"^sound/footsteps/(carpet|dirt|grass|gravel|linoleum|metal|sand|snow|stone|tile|wood)", n):
                rows.append(Source(_sid("ufoai-sound", pk3, n), pk3, "ufoai-sound", "game:ufoai", [fs], "oneshot", member=n))
        for n in _cap([n for n in _zip_members(pk3, r".") if "footsteps" not in n and not bg_skip.search(n)], cap_bg, "ufoai"):
            rows.append(Source(_sid("ufoai-sound", pk3, n), pk3, "ufoai-sound", "game:ufoai", [], "background", member=n))
    if dpkg_installed("hedgewars-data"):
        root = "/usr/share/games/hedgewars/Data"
        p = root + "/Sounds/steps.ogg"
        if os.path.exists(p):
            rows.append(Source(_sid("hedgewars-data", p), p, "hedgewars-data", "game:hedgewars", [fs], "loop"))
        for p in sorted(glob.glob(root + "/Music/*.ogg")):
            rows.append(Source(_sid("hedgewars-data", p), p, "hedgewars-data", "game:hedgewars", [mus], "music"))
        bg("hedgewars-data", "game:hedgewars", [p for p in glob.glob(root + "/Sounds/*.ogg") if "steps" not in p])
    if dpkg_installed("supertux-data"):
        root = "/usr/share/games/supertux2"
        for p in sorted(glob.glob(root + "/music/**/*.ogg", recursive=True)):
            rows.append(Source(_sid("supertux-data", p), p, "supertux-data", "game:supertux", [mus], "music"))
        bg("supertux-data", "game:supertux", [p for p in glob.glob(root + "/sounds/*") if AUDIO_RE.search(p)])
    if dpkg_installed("lincity-ng-data"):
        root = "/usr/share/games/lincity-ng"
        for p in sorted(glob.glob(root + "/music/**/*.ogg", recursive=True)):
            rows.append(Source(_sid("lincity-ng-data", p), p, "lincity-ng-data", "game:lincity", [mus], "music"))
        bg("lincity-ng-data", "game:lincity", [p for p in glob.glob(root + "/sounds/*") if AUDIO_RE.search(p)])
    if dpkg_installed("wesnoth-1.16-data"):
        ps = [p for p in glob.glob("/usr/share/games/wesnoth/1.16/**/sounds/**/*", recursive=True) if AUDIO_RE.search(p)]
        bg("wesnoth-1.16-data", "game:wesnoth", [p for p in ps if not re.search(r"human|elf|dwarf|orc|troll|die|hit|ugg|grunt|scream", p)])
    if dpkg_installed("bucklespring-data"):
        bg("bucklespring-data", "pkg:bucklespring", glob.glob("/usr/share/buckle/wav/*.wav"))
    if dpkg_installed("sound-theme-freedesktop"):
        bg("sound-theme-freedesktop", "pkg:freedesktop-theme", glob.glob("/usr/share/sounds/freedesktop/stereo/*.oga"))
    return rows


# ---------------------------------------------------------------- sample libraries
SONICPI_RULES = [
    (r"^bd_808", ["Bass drum", "Drum machine"], "oneshot"),
    (r"^bd_", ["Bass drum"], "oneshot"),
    (r"^sn_", ["Snare drum"], "oneshot"),
    (r"^drum_(bass|heavy_kick)", ["Bass drum"], "oneshot"),
    (r"^drum_snare", ["Snare drum"], "oneshot"),
    (r"^drum_cymbal_(closed|open|pedal)", ["Hi-hat"], "oneshot"),
    (r"^drum_(cymbal|splash)", ["Cymbal"], "oneshot"),
    (r"^drum_tom", ["Drum"], "oneshot"),
    (r"^drum_roll", ["Drum"], "oneshot"),
    (r"^drum_cowbell", ["Cowbell"], "oneshot"),
    (r"^elec_(hollow|soft)_kick", ["Bass drum", "Drum machine"], "oneshot"),
    (r"^elec_.*snare", ["Snare drum", "Drum machine"], "oneshot"),
    (r"^elec_cymbal", ["Cymbal", "Drum machine"], "oneshot"),
    (r"^elec_fuzz_tom", ["Drum", "Drum machine"], "oneshot"),
    (r"^guit_", ["Electric guitar"], "loop"),
    (r"^ambi_piano", ["Piano"], "loop"),
    (r"^ambi_choir", ["Choir"], "loop"),
    (r"^bass_", ["Synthesizer"], "oneshot"),
    (r"^tabla_", ["Drum"], "oneshot"),
    (r"^loop_tabla", ["Drum"], "loop"),
    (r"^loop_(amen|breakbeat)", ["Drum kit"], "loop"),
]
LMMS_RULES = [
    (r"drums/(bassdrum|kick)", ["Bass drum"], "oneshot"),
    (r"drums/(sidestick|rim|snare_rim|nasty_rim)", ["Rimshot"], "oneshot"),
    (r"drums/(snare|nasty_snare)", ["Snare drum"], "oneshot"),
    (r"drums/clap", ["Clapping"], "oneshot"),
    (r"drums/(crash|ride)", ["Cymbal"], "oneshot"),
    (r"drums/hihat", ["Hi-hat"], "oneshot"),
    (r"drums/tom", ["Drum"], "oneshot"),
    (r"beats/(909beat|electro_beat)", ["Drum kit", "Drum machine"], "loop"),
    (r"beats/(break|jungle|house_loop)", ["Drum kit"], "loop"),
    (r"beats/rave_hihat", ["Hi-hat"], "loop"),
    (r"beats/rave_kick", ["Bass drum"], "loop"),
    (r"beats/rave_snare", ["Snare drum"], "loop"),
    (r"instruments/piano", ["Piano"], "note"),
    (r"instruments/e_piano", ["Electric piano"], "note"),
    (r"instruments/(church_organ|e_organ)", ["Organ"], "note"),
    (r"instruments/cello", ["Cello"], "note"),
    (r"instruments/flute", ["Flute"], "note"),
    (r"instruments/trumpet", ["Trumpet"], "note"),
    (r"instruments/violin", ["Violin, fiddle"], "note"),
    (r"instruments/steel_guitar01", ["Acoustic guitar"], "note"),
    (r"instruments/steel_guitar_.*distorted", ["Electric guitar"], "note"),
    (r"instruments/bassslap", ["Bass guitar"], "note"),
    (r"(basses|bassloops)/.*(acid|synth|rave|303|techno|hard|punch|pluck|horror)", ["Synthesizer"], "loop"),
    (r"stringsnpads/(juno|korg|nord|space_strings)", ["Synthesizer"], "loop"),
    (r"stringsnpads/strings01", ["String section"], "loop"),
    (r"latin/latin_guitar", ["Acoustic guitar"], "loop"),
    (r"latin/latin_brass", ["Brass instrument"], "loop"),
]
# weak sub-labels of drum loops: present somewhere, timing unknown
LOOP_WEAK = {"Drum kit": ["Bass drum", "Snare drum"]}


def scan_libraries():
    rows = []
    if dpkg_installed("sonic-pi-samples"):
        for p in sorted(glob.glob("/usr/share/sonic-pi/samples/*.flac")):
            b = os.path.basename(p)
            for rx, names, kind in SONICPI_RULES:
                if re.search(rx, b):
                    weak = [M(w) for n in names for w in LOOP_WEAK.get(n, [])] if kind == "loop" else []
                    rows.append(Source(_sid("sonic-pi-samples", p), p, "sonic-pi-samples", "pkg:sonic-pi",
                                       [M(n) for n in names], kind, weak=weak))
                    break
    if dpkg_installed("lmms-common"):
        for p in sorted(glob.glob("/usr/share/lmms/samples/*/*")):
            if not AUDIO_RE.search(p):
                continue
            rel = "/".join(p.split("/")[-2:])
            for rx, names, kind in LMMS_RULES:
                if re.search(rx, rel):
                    weak = [M(w) for n in names for w in LOOP_WEAK.get(n, [])] if kind == "loop" else []
                    rows.append(Source(_sid("lmms-common", p), p, "lmms-common", "pkg:lmms",
                                       [M(n) for n in names], kind, weak=weak))
                    break
    rows += scan_gcompris()
    gs = "/usr/share/hydrogen/data/drumkits/belofilms_GuitarStrums"
    if os.path.isdir(gs):
        for p in sorted(glob.glob(gs + "/*.flac")):
            rows.append(Source(_sid("hydrogen-drumkits-effects", p), p, "hydrogen-drumkits-effects",
                               "author:belofilms", [M("Acoustic guitar")], "oneshot"))
    return rows


GCOMPRIS_INSTRUMENTS = {
    "violin": ["Violin, fiddle"], "cello": ["Cello"], "trumpet": ["Trumpet"], "horn": ["Brass instrument"],
    "tuba": ["Brass instrument"], "trombone": ["Brass instrument"], "piano": ["Piano"], "saxophone": ["Saxophone"],
    "electric_guitar": ["Electric guitar"], "guitar": ["Acoustic guitar"], "organ": ["Organ"],
    "drum_kit": ["Drum kit"], "snare_drum": ["Snare drum"], "tambourine": ["Tambourine"], "cymbal": ["Cymbal"],
    "flute_traversiere": ["Flute"], "timpani": ["Drum"],
}


def scan_gcompris():
    """Real instrument recordings inside gcompris-qt-data's Qt resource files."""
    rows = []
    if not dpkg_installed("gcompris-qt-data"):
        return rows
    from .rcc import read_rcc
    base = "/usr/share/gcompris-qt/rcc/"
    pkg, grp = "gcompris-qt-data", "pkg:gcompris"
    try:
        res = read_rcc(base + "instruments.rcc")
        for k in sorted(res):
            b = os.path.splitext(os.path.basename(k))[0]
            if b in GCOMPRIS_INSTRUMENTS and AUDIO_RE.search(k):
                rows.append(Source(_sid(pkg, base + "instruments.rcc", k), base + "instruments.rcc", pkg, grp,
                                   [M(n) for n in GCOMPRIS_INSTRUMENTS[b]], "loop", member=k))
        res = read_rcc(base + "explore_world_music.rcc")
        for k in sorted(res):
            if k.endswith(".ogg"):
                rows.append(Source(_sid(pkg, base + "explore_world_music.rcc", k), base + "explore_world_music.rcc",
                                   pkg, grp, [M("Music")], "music", member=k))
        res = read_rcc(base + "memory-sound.rcc")
        for k in sorted(res):
            if re.search(r"/guitar_(melody|son\d)\.ogg$", k):
                rows.append(Source(_sid(pkg, base + "memory-sound.rcc", k), base + "memory-sound.rcc", pkg, grp,
                                   [M("Acoustic guitar")], "loop", member=k))
    except (OSError, ValueError):
        pass
    return rows


# ---------------------------------------------------------------- hydrogen kits (rendered as patterns)
# kit folder -> leakage group (kit author, from /usr/share/doc/hydrogen-drumkits/copyright)
KIT_AUTHOR = {
    "ElectricEmpireKit": "author:artemio", "HardElectro1": "author:artemio", "VariBreaks": "author:artemio",
    "TR808EmulationKit": "author:artemio",
    "GMRockKit": "author:glen_macarthur", "Gimme A Hand 1.0": "author:glen_macarthur",
    "The Black Pearl 1.0": "author:glen_macarthur",
    "Millo-Drums_v.1": "author:emillo", "Millo_MultiLayered2": "author:emillo", "Millo_MultiLayered3": "author:emillo",
}
KIT_IS_MACHINE = {"ElectricEmpireKit", "HardElectro1", "TR808EmulationKit"}
KIT_SKIP = {"belofilms_GuitarStrums"}

# drum instrument name -> class (first match wins)
INSTR_RULES = [
    (r"clap", "Clapping"), (r"cowbell|cow bell", "Cowbell"), (r"tamb", "Tambourine"),
    (r"rim|stick", "Rimshot"), (r"kick|bass ?drum|\bbd\b|bassdrum", "Bass drum"),
    (r"snare|\bsd\b", "Snare drum"), (r"hat|\bhh\b|hihat", "Hi-hat"),
    (r"crash|ride|splash|china|cymbal|sabian|paiste|cym", "Cymbal"),
    (r"tom|conga|bongo|djembe|dununba|sangban|kenkeni|cajon|drum", "Drum"),
]


def classify_instrument(name: str):
    n = name.lower()
    if re.search(r"bell|shaker|maraca|clave|wood|snap|glass|zap|fx|click|agogo|guiro|cabasa|triangle", n) and \
            not re.search(r"cowbell|ride bell|paiste bell|bell hit|bell mute", n):
        # ride bells are cymbals; djembe 'bell' parts are bells (unlabelled)
        if re.search(r"ride|paiste", n):
            return "Cymbal"
        return None
    for rx, cls in INSTR_RULES:
        if re.search(rx, n):
            return cls
    return None


def parse_hydrogen_kit(kit_dir: str):
    """-> list of instruments: {name, cls, layers:[(file, vmin, vmax)]}"""
    tree = ET.parse(os.path.join(kit_dir, "drumkit.xml"))
    root = tree.getroot()
    ns = ""
    if root.tag.startswith("{"):
        ns = root.tag.split("}")[0] + "}"
    out = []
    for ins in root.iter(ns + "instrument"):
        name = (ins.findtext(ns + "name") or "").strip()
        layers = []
        for lay in ins.iter(ns + "layer"):
            fn = lay.findtext(ns + "filename")
            if fn:
                layers.append((os.path.join(kit_dir, fn), float(lay.findtext(ns + "min") or 0),
                               float(lay.findtext(ns + "max") or 1)))
        fn = ins.findtext(ns + "filename")  # old format
        if fn and not layers:
            layers.append((os.path.join(kit_dir, fn), 0.0, 1.0))
        layers = [l for l in layers if os.path.exists(l[0])]
        if name and layers:
            out.append({"name": name, "cls": classify_instrument(name), "layers": layers})
    return out


def hydrogen_kits():
    kits = []
    for base in ("/usr/share/hydrogen/data/drumkits",):
        for d in sorted(glob.glob(base + "/*/drumkit.xml")):
            kd = os.path.dirname(d)
            name = os.path.basename(kd)
            if name in KIT_SKIP:
                continue
            pkg = "hydrogen-data" if name in ("GMRockKit", "TR808EmulationKit") else "hydrogen-drumkits"
            try:
                ins = parse_hydrogen_kit(kd)
            except ET.ParseError:
                continue
            group = KIT_AUTHOR.get(name, "author:" + re.sub(r"[^a-z0-9]+", "_", name.lower()))
            kits.append({"name": name, "dir": kd, "package": pkg, "group": group, "instruments": ins,
                         "machine": name in KIT_IS_MACHINE})
    return kits


def scan_kits():
    rows = []
    for kit in hydrogen_kits():
        for ins in kit["instruments"]:
            for f, _, _ in ins["layers"]:
                mids = [M(ins["cls"])] if ins["cls"] else []
                if kit["machine"] and mids:
                    mids.append(M("Drum machine"))
                rows.append(Source(_sid(kit["package"], f), f, kit["package"], kit["group"], mids, "kit",
                                   extra={"kit": kit["name"], "instrument": ins["name"]}))
    return rows


def scan_all(cap_speech=250, cap_bg=120, log=print):
    rows = scan_speech(cap_speech) + scan_games(cap_bg) + scan_libraries() + scan_kits()
    # de-duplicate identical (path, member) rows (asterisk globbing etc.)
    seen, out = set(), []
    lic = {}
    for r in rows:
        k = (r.path, r.member)
        if k in seen:
            continue
        seen.add(k)
        if r.package not in lic:
            lic[r.package] = package_licence(r.package)
        r.licence = lic[r.package]
        out.append(r)
    log(f"scan: {len(out)} source rows from {len(lic)} packages")
    return out
