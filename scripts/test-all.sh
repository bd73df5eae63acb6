#!/usr/bin/env bash
# Runs every test of the project. As root on Debian it first installs missing system packages.
# CI calls this through .ci/run. PyTorch is never needed: the Rust tests compare against the
# committed golden vectors in tests/golden (regenerate them with training/make_golden.py).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    echo "missing system packages (run as root to install): ${need[*]}" >&2
  fi
fi

# One optimised build serves the tests, the CLI and (later) the plugin bundles.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo test --workspace --release --locked
