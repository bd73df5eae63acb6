#!/usr/bin/env python3
"""Build the Audio Mamba training dataset (see data_pipeline/DATASET.md).

    nice -n 19 python training/build_dataset.py --scale 1.0

On a fresh Debian 12 machine this one command installs what it needs (apt-get + pip; run as
root), unless --no-install is given, in which case it only checks and skips missing sources.
"""
import importlib.util
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# the pipeline modules import numpy/scipy/soundfile at the top: bootstrap them first
_BASE = {"numpy": "numpy", "scipy": "scipy", "soundfile": "soundfile"}
_missing = [dist for dist, mod in _BASE.items() if importlib.util.find_spec(mod) is None]
if _missing and "--no-install" not in sys.argv:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_missing], check=False)

from data_pipeline.build import main  # noqa: E402

if __name__ == "__main__":
    main()
