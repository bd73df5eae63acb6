#!/usr/bin/env bash
# Builds the plugin bundles and runs the host tests: the .clap in clack-host (release bundle,
# and a debug bundle built with assert_process_allocs, which aborts on any allocation in
# process()), the editor under Xvfb, the .vst3 in our own VST3 host, in pedalboard and in
# Ardour, and the stripped distribution copies. Called by scripts/test-all.sh after
# `cargo test`, whose release build the bundle reuses.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$root/$target ;; esac
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# xtask writes every bundle to $target/bundled: build the debug one first and keep a copy.
cargo xtask bundle audio-mamba --locked --features assert_process_allocs
rm -rf "$target/bundled-debug" && mkdir -p "$target/bundled-debug"
cp "$target/bundled/audio-mamba.clap" "$target/bundled-debug/"
cargo xtask bundle audio-mamba --locked --release

export AUDIO_MAMBA_BUNDLE_DIR=$target/bundled
AUDIO_MAMBA_DEBUG_BUNDLE_DIR=$target/bundled-debug \
  cargo test --release --locked -p audio-mamba-host-tests --test clap --test clap_learn -- --ignored
# The .vst3 in our own VST3 host: the MIDI in and out that pedalboard cannot show.
cargo test --release --locked -p audio-mamba-host-tests --test vst3 -- --ignored

# The editor on a virtual display (a real one when there is one), with the release bundle's
# embedded model playing the example clips.
gui_test=(cargo test --release --locked -p audio-mamba-host-tests --test gui -- --ignored)
if [ -n "${DISPLAY:-}" ]; then
  "${gui_test[@]}"
else
  xvfb-run -a -s "-screen 0 2600x2200x24" "${gui_test[@]}"
fi

venv=$target/plugin-test-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pedalboard==0.9.26 numpy==2.4.6 pytest==9.2.0
fi
AUDIO_MAMBA_MODEL=$root/tests/golden/golden-a.safetensors \
  "$venv/bin/python" -m pytest -q tests/host/python

# The stripped bundles and zips handed to users (target/dist).
./scripts/check-dist.sh

# A DAW people use: the release .vst3 in headless Ardour 7 (installs Ardour as root; fails in
# CI when it cannot run). daw-fixtures was built by `cargo test --workspace`.
tests/daw/run.sh "$target/bundled" "$target/release/daw-fixtures"
