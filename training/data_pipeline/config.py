"""Paths and constants shared by all stages."""
from __future__ import annotations

import os
from pathlib import Path

PKG_DIR = Path(__file__).resolve().parent
ASSETS = PKG_DIR / "assets"
REPO_ROOT = PKG_DIR.parent.parent
DEFAULT_OUT = Path(os.environ.get("AUDIOMAMBA_DATA", REPO_ROOT / "data"))

SR = 32000            # output sample rate of every clip / item
FP_SR = 8000          # fingerprint sample rate
DEFAULT_CLIP_S = 10.0
DEFAULT_SEED = 1234
SPLITS = ("train", "validation", "test")

# Debian packages that hold real audio or renderers (bookworm, main).
# grandorgue-demo and warzone2100-data exist but ship no audio in bookworm.
DEBIAN_PACKAGES = [
    # renderers / tools
    "fluidsynth", "timidity", "ffmpeg",
    # soundfont families
    "fluid-soundfont-gm", "timgm6mb-soundfont", "csound-soundfont", "freepats", "opl3-soundfont",
    # drum kits and sampled instruments
    "hydrogen-drumkits", "hydrogen-data", "hydrogen-drumkits-effects", "avldrums.lv2-soundfont",
    "sonic-pi-samples", "lmms-common",
    # speech
    "tuxpaint-stamps-default", "fillets-ng-data-cs", "fillets-ng-data-nl", "klettres-data",
    "ktuberling-data", "gcin-voice", "alsa-utils",
    "asterisk-core-sounds-en-wav", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-it-wav", "asterisk-core-sounds-ru-wav",
    # games / everyday sounds / game music
    "minetest-data", "ufoai-sound", "hedgewars-data", "supertux-data", "wesnoth-1.16-data",
    "lincity-ng-data", "bucklespring-data", "sound-theme-freedesktop", "gcompris-qt-data",
]
PYPI_PACKAGES = ["pyfluidsynth", "music21", "mido", "soundfile", "scipy", "numpy"]
# import name for each PyPI distribution (for --no-install checks)
PYPI_IMPORT = {"pyfluidsynth": "fluidsynth", "music21": "music21", "mido": "mido",
               "soundfile": "soundfile", "scipy": "scipy", "numpy": "numpy"}

SOUNDFONTS = {
    # path: (family group, label)
    "/usr/share/sounds/sf2/FluidR3_GM.sf2": "sf:fluid",
    "/usr/share/sounds/sf2/TimGM6mb.sf2": "sf:timgm",
    "/usr/share/sounds/sf2/sf_GMbank.sf2": "sf:timgm",
    "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2": "sf:opl3",
}
FREEPATS_CFG = "/etc/timidity/freepats.cfg"
AVL_FONTS = ["/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2", "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2"]
HYDROGEN_DIRS = ["/usr/share/hydrogen/data/drumkits"]
