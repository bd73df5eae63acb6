#!/usr/bin/env bash
# Main job: tag audio files with the default model embedded in amtag, then build the plugin
# bundles (when the plugin crate is present). Arguments: files or directories to tag
# (default: examples/). AMTAG_MODEL=path.safetensors selects another model file.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p amtag
inputs=("$@")
[ "${#inputs[@]}" -gt 0 ] || inputs=(examples)
./target/release/amtag tag ${AMTAG_MODEL:+--model "$AMTAG_MODEL"} "${inputs[@]}"
if [ -d plugin ]; then
  cargo xtask bundle audio-mamba --release
fi
