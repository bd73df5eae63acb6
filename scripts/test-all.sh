#!/usr/bin/env bash
# Runs every test of the project. As root on Debian it first installs missing system packages.
# CI calls this through .ci/run. PyTorch is never needed: the Rust tests compare against the
# committed golden vectors in tests/golden (regenerate them with training/make_golden.py).
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
if [ "${CI:-}" = true ]; then export AMTAG_REQUIRE_GPU=1; fi
[ -n "${XDG_RUNTIME_DIR:-}" ] || export NODEVICE_SELECT=1

# One optimised build serves the tests, the CLI and (later) the plugin bundles.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo test --workspace --release --locked

# Dataset pipeline unit tests (synthetic data; no PyTorch). A private venv keeps the system
# Python untouched; the onset tests that need fluidsynth/timidity skip when those are absent.
venv=target/py-test-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy==2.4.6 scipy==1.17.1 soundfile==0.14.0 pytest==9.2.0
fi
"$venv/bin/python" -m pytest -q training/data_pipeline/tests

# The plugin: bundles (same release profile as above) and the CLAP/VST3 host tests.
./scripts/test-plugin.sh
