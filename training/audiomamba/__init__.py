"""Audio Mamba: PyTorch reference implementation and tooling (docs/weights.md, docs/model.md).

Modules: config, frontend, scan, model, export, convert.
"""
