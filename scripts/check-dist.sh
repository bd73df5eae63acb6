#!/usr/bin/env bash
# Checks the distribution copies `cargo xtask bundle audio-mamba --release` wrote to
# $target/dist: each bundle stripped of its debug sections and symbols (much smaller than the tested
# one), each zip holding the bundle, the licences and the README with the binaries still
# executable, and the stripped .clap still working in the CLAP host. Called by test-plugin.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
# Absolute: the host test runs in its own crate's folder.
case $target in /*) ;; *) target=$PWD/$target ;; esac
dist=$target/dist
for f in "$dist/audio-mamba.clap" "$dist"/audio-mamba.vst3/Contents/*/audio-mamba.so; do
  if readelf -S "$f" | grep -qE '\.(debug_|symtab)'; then
    echo "not stripped: $f" >&2
    exit 1
  fi
done
# The entry points hosts look up are dynamic symbols and must survive the strip.
nm -D --defined-only "$dist/audio-mamba.clap" | grep -qw clap_entry
nm -D --defined-only "$dist"/audio-mamba.vst3/Contents/*/audio-mamba.so | grep -qw GetPluginFactory
python3 - "$target/bundled" "$dist" <<'PY'
import os, stat, sys, zipfile
bundled, dist = sys.argv[1:]
size = lambda p: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs) if os.path.isdir(p) else os.path.getsize(p)
for fmt in ("clap", "vst3"):
    zips = [z for z in os.listdir(dist) if z.endswith(f"-{fmt}.zip")]
    assert len(zips) == 1, (fmt, zips)
    z = zipfile.ZipFile(os.path.join(dist, zips[0]))
    names = z.namelist()
    for need in ("LICENSE-MIT", "LICENSE-APACHE", "README.md"):
        assert need in names, (zips[0], need, names)
    binaries = [i for i in z.infolist() if i.filename.endswith((".clap", ".so"))]
    assert binaries, (zips[0], names)
    for i in binaries:
        assert (i.external_attr >> 16) & stat.S_IXUSR, f"{i.filename} lost its executable bit"
    assert z.testzip() is None, zips[0]
    full, small = size(os.path.join(bundled, f"audio-mamba.{fmt}")), size(os.path.join(dist, f"audio-mamba.{fmt}"))
    assert small < full / 2, (fmt, full, small)
    print(f"dist {fmt}: bundle {full / 1e6:.1f} MB -> stripped {small / 1e6:.1f} MB, "
          f"{zips[0]} {os.path.getsize(os.path.join(dist, zips[0])) / 1e6:.1f} MB")
PY
AUDIO_MAMBA_BUNDLE_DIR=$dist cargo test --release --locked -p audio-mamba-host-tests --test clap \
  -- --ignored --exact drum_pattern_gives_kick_notes_on_the_hits_ccs_and_untouched_audio
