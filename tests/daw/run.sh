#!/usr/bin/env bash
# Audio Mamba inside a real DAW: headless Ardour 7 (see README.md here: not in CI yet).
#   tests/daw/run.sh [BUNDLE_DIR [FIXTURES_TOOL]]
# BUNDLE_DIR (default target/bundled, or $AUDIO_MAMBA_BUNDLE_DIR) holds audio-mamba.vst3;
# FIXTURES_TOOL (default target/release/daw-fixtures, or $AUDIO_MAMBA_DAW_FIXTURES) writes
# the clip, its onsets and the fixed-answer models. KEEP=1 keeps the work folder.
# Without Ardour it installs it (root + apt-get); if Ardour still cannot run it skips, or
# fails when CI=true.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle_dir=${1:-${AUDIO_MAMBA_BUNDLE_DIR:-$root/target/bundled}}
fixtures_tool=${2:-${AUDIO_MAMBA_DAW_FIXTURES:-$root/target/release/daw-fixtures}}
CLIP_POS=24000     # region at 0.5 s, so "aligned" means aligned with the region, not with 0
TAIL=96000         # bounce 2 s past the clip: more than the plugin's latency

unavailable() {
	if [[ ${CI:-} == true ]]; then echo "FAIL: $1 (CI=true: not skipping)"; exit 1; fi
	echo "SKIP: $1"; exit 0
}

if ! command -v ardour7-lua >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	echo "installing Ardour (apt-get)..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends ardour python3 >/dev/null \
		|| echo "apt-get install failed"
fi
command -v ardour7-lua >/dev/null || unavailable "ardour7-lua not found (Debian/Ubuntu: apt-get install ardour)"
command -v python3 >/dev/null || unavailable "python3 not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/audio-mamba-daw.XXXXXX")
cleanup() { if [[ ${KEEP:-0} == 1 ]]; then echo "work folder kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
# A private HOME and XDG folders: Ardour's config, plugin cache and ~/.vst3 are the test's own.
export HOME=$work/home XDG_CONFIG_HOME=$work/config XDG_CACHE_HOME=$work/cache
cfg=$XDG_CONFIG_HOME/ardour7
mkdir -p "$HOME" "$cfg/scripts" "$cfg/export" "$XDG_CACHE_HOME" "$work/fx" "$work/out"
cp "$here/capture.lua" "$cfg/scripts/"
cp "$here/export/"* "$cfg/export/"

{
	[[ -d $bundle_dir/audio-mamba.vst3 ]] || { echo "FAIL: no $bundle_dir/audio-mamba.vst3 (build the release bundle first)"; exit 1; }
	[[ -x $fixtures_tool ]] || { echo "FAIL: no fixtures tool $fixtures_tool (cargo build --release)"; exit 1; }
	"$fixtures_tool" "$work/fx" >/dev/null
	# the plugin loads the fixed-answer models: every onset is a kick (note 36, channel 1)
	export AUDIO_MAMBA_MODEL=$work/fx/tagger.safetensors AUDIO_MAMBA_HIT_MODEL=$work/fx/hits.safetensors
	# Ardour finds the bundle through its own VST3 scan of ~/.vst3
	mkdir -p "$HOME/.vst3"
	ln -s "$(cd "$bundle_dir" && pwd)/audio-mamba.vst3" "$HOME/.vst3/"
	# headless Ardour only reads the plugin cache; fill it with Ardour's own VST3 scanner (the
	# tool the GUI runs when it scans), into the private XDG_CACHE_HOME
	scanner=$(ls /usr/lib/ardour*/ardour-vst3-scanner 2>/dev/null | head -n 1)
	[[ -n $scanner ]] || unavailable "ardour-vst3-scanner not found"
	t_scan=$SECONDS
	LD_LIBRARY_PATH=$(dirname "$scanner") "$scanner" -f "$HOME/.vst3/audio-mamba.vst3" >"$work/scan.log" 2>&1 \
		|| { echo "FAIL: Ardour's VST3 scanner rejected the bundle:"; tail -n 20 "$work/scan.log"; KEEP=1; exit 1; }
	echo "info  VST3 scan by Ardour: $((SECONDS - t_scan)) s"
	export DAW_PLUGIN_TYPE=VST3 DAW_PLUGIN_NAME="Audio Mamba"
}

export DAW_SESSION_DIR=$work/session DAW_SESSION_NAME=mamba DAW_OUT=$work/out
export DAW_CLIP_POS=$CLIP_POS DAW_TAIL_SAMPLES=$TAIL DAW_PRESET=6a1d3c1e-6d0e-4d43-9a5e-a0d1a3c0f002
export DAW_CLIP_SAMPLES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["samples"])' "$work/fx/drums.json")
# non-default values to save and reload: Lua pattern on the name = value@min:max, in the
# plugin's units and range (plugin/src/params.rs); names depend on the model's labels
export DAW_PARAMS=${DAW_PARAMS:-"^Tag 1 .*threshold$=0.3@0.01:0.99;^MIDI channel$=10@1:16;^Tag 1 .*note$=35@-1:127"}

stage() { # STAGE [TRIES]: one session stage in a fresh ardour7-lua process; keep its "@" lines
	local log=$work/$1${DAW_RUN:-}.log try
	for ((try = 1; try <= ${2:-1}; try++)); do
		DAW_STAGE=$1 timeout 120 ardour7-lua "$here/session.lua" >"$log" 2>&1 || true
		if grep -q "^@done $1" "$log"; then grep '^@' "$log" >>"$work/results.log"; return; fi
		grep -q '^@error' "$log" && break # a test failure, not a crash: don't retry
		echo "note: ardour7-lua stage '$1' crashed (try $try): $(grep -v -e lilv -e manifest -e Ignored "$log" | tail -n 1)"
	done
	echo "FAIL: Ardour stage '$1' did not finish; last lines of its log:"; tail -n 15 "$log"
	KEEP=1; exit 1
}
t0=$SECONDS
stage create
python3 "$here/check.py" write-sources "$work/fx" "$DAW_SESSION_DIR"
# Ardour 7.3's exporter crashes now and then (heap corruption in ExportGraphBuilder, also in
# sessions without plugins); an export is a pure function of the saved session, so retry.
DAW_RUN=1 stage export 12
DAW_RUN=2 stage export 12
DAW_RUN=3 DAW_BYPASS=1 stage export 12
stage params
stage reopen
grep -E '^@(plugin|latency|export)' "$work/results.log" | sed 's/^@/info  /'
python3 "$here/check.py" check "$work/fx" "$work/out" "$CLIP_POS" "$work/results.log" || { KEEP=1; exit 1; }
echo "($((SECONDS - t0)) s in Ardour and checks)"
