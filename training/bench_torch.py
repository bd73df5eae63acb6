"""Times the PyTorch reference and the Rust engine on the same weights, input and threads, in
one run, and prints the ratio.

    python bench_torch.py --config nano --threads 1 [--iters 5] [--amtag ../target/release/amtag]
    python bench_torch.py --config tiny --device cuda --batch 16   # PyTorch CUDA vs amtag's wgpu

The reference runs in eval mode under torch.inference_mode(), with `--scan ref` (the plain
selective scan of model.md, the reference semantics) or `--scan chunked` (the parallel form used
for training, PyTorch's fastest); the engine runs `amtag bench` on the exported file.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audiomamba.config import Config  # noqa: E402
from audiomamba.export import export  # noqa: E402
from audiomamba.model import AudioMamba  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="nano", help="tiny | micro | nano | path to a config JSON")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--scan", choices=["ref", "chunked"], default="chunked")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda: then amtag runs its GPU backend")
    ap.add_argument("--batch", type=int, default=1, help="windows per forward pass")
    ap.add_argument("--amtag", default=os.path.join(os.path.dirname(__file__), "../target/release/amtag"))
    args = ap.parse_args()

    path = args.config
    if not path.endswith(".json"):
        path = os.path.join(os.path.dirname(__file__), "configs", f"{args.config}.json")
    with open(path) as f:
        config = Config.from_json(f.read())
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = AudioMamba(config, scan_impl=args.scan).eval()
    n = config.frontend.clip_samples
    t = torch.arange(n, dtype=torch.float32)
    wave = torch.stack([0.3 * (torch.sin(t * (0.013 + 0.001 * b)) + torch.sin(t * 0.0021)) for b in range(args.batch)])
    cuda = args.device == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "model.safetensors")
        export(model, config, weights)
        model = model.to(args.device)
        wave = wave.to(args.device)
        times = []
        with torch.inference_mode():
            model(wave)  # warm-up
            for _ in range(args.iters):
                sync()
                t0 = time.perf_counter()
                model(wave)
                sync()
                times.append(time.perf_counter() - t0)
        torch_ms = statistics.median(times) * 1e3 / args.batch
        cmd = [args.amtag, "bench", "--config", weights, "--threads", str(args.threads), "--iters", str(max(args.iters, 5))]
        if cuda:
            cmd += ["--backend", "gpu", "--batch", str(args.batch)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rust = json.loads(out.stdout)
        rust_ms = rust["median_ms_per_window"] if cuda else rust["median_ms"]
    print(json.dumps({
        "model": config.name,
        "threads": args.threads,
        "window_s": n / config.frontend.sample_rate,
        "torch_version": torch.__version__,
        "torch_scan": args.scan,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "rust_backend": rust.get("backend", "cpu"),
        "batch": args.batch,
        "torch_median_ms_per_window": round(torch_ms, 2),
        "rust_median_ms_per_window": round(rust_ms, 2),
        "speedup": round(torch_ms / rust_ms, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
