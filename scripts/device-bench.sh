#!/usr/bin/env bash
# The real-GPU benchmark as one run on a lent GPU machine that has no network and no Rust: a
# stripped prebuilt amtag in .devbin/ and the Vulkan/GL loader packages in .gl/ travel with the
# tree (add /.devbin/, /.gl/ and /.whl/ to .git/info/exclude). Made on the dev machine with:
#   cargo build --release -p amtag && mkdir -p .devbin && strip -o .devbin/amtag target/release/amtag
#   (cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl librosa soundfile \
#     soxr audioread pooch decorator cffi platformdirs pycparser   (plus --platform manylinux tags)
# Prints the gpu-bench rows,
# the shipped model on the GPU, and PyTorch CUDA against amtag's wgpu on the same GPU in one run.
# Writes the raw JSON lines under $OUT (or ./device-bench/). PROFILE="tiny" first prints each
# kernel's share of one batch (amtag bench --profile). Python wheels in .whl/ (librosa and its
# needs, for the reference's mel filterbank) are installed first when present. AMTAG_BASELINE
# names another amtag build to profile beside it, for a before/after in one run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-device-bench}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
AMTAG="$PWD/.devbin/amtag"

# The image has the NVIDIA driver but not always the Vulkan loader.
if ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export NODEVICE_SELECT=1 AUDIO_MAMBA_REQUIRE_GPU=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nproc

if [ -n "${PROFILE:-}" ]; then
  for c in $PROFILE; do
    for b in 1 16; do
      for bin in "$AMTAG" ${AMTAG_BASELINE:-}; do
        "$bin" bench --config "$c" --backend gpu --profile --batch "$b" --threads "$(nproc)" |
          tee -a "$OUT/profile.jsonl"
      done
    done
  done
fi

if [ "${BENCH:-1}" = 1 ]; then
  AMTAG="$AMTAG" ITERS=20 BATCHES="1 16 64" OUT="$OUT/gpu-bench.jsonl" scripts/gpu-bench.sh

  echo "## shipped model (weights/audio-mamba.safetensors)"
  for b in 1 16; do
    "$AMTAG" bench --config weights/audio-mamba.safetensors --backend gpu --batch "$b" \
      --threads "$(nproc)" --iters 20 | tee -a "$OUT/shipped.jsonl"
  done
  "$AMTAG" bench --config weights/audio-mamba.safetensors --threads 1 --iters 20 | tee -a "$OUT/shipped.jsonl"
fi

echo "## PyTorch CUDA vs amtag wgpu, same GPU, same run"
cd training
for c in tiny micro; do
  for b in 1 16; do
    python3 bench_torch.py --config "$c" --device cuda --batch "$b" --threads "$(nproc)" --iters 20 \
      --amtag "$AMTAG" | tee -a "$OUT/torch-vs-wgpu.jsonl"
  done
done
