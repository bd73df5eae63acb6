"""Times the PyTorch reference and the Rust engine on the same weights, input and threads, in
one run, and prints the ratio.

    python bench_torch.py --config nano --threads 1 [--iters 5] [--amtag ../target/release/amtag]

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
    wave = (0.3 * (torch.sin(t * 0.013) + torch.sin(t * 0.0021)))[None]

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "model.safetensors")
        export(model, config, weights)
        times = []
        with torch.inference_mode():
            model(wave)  # warm-up
            for _ in range(args.iters):
                t0 = time.perf_counter()
                model(wave)
                times.append(time.perf_counter() - t0)
        torch_ms = statistics.median(times) * 1e3
        out = subprocess.run(
            [args.amtag, "bench", "--config", weights, "--threads", str(args.threads), "--iters", str(max(args.iters, 5))],
            check=True, capture_output=True, text=True,
        )
        rust = json.loads(out.stdout)
    print(json.dumps({
        "model": config.name,
        "threads": args.threads,
        "window_s": n / config.frontend.sample_rate,
        "torch_version": torch.__version__,
        "torch_scan": args.scan,
        "torch_median_ms": round(torch_ms, 1),
        "rust_median_ms": rust["median_ms"],
        "speedup": round(torch_ms / rust["median_ms"], 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
