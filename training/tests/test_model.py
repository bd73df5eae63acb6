"""Model structure vs docs/weights.md, scan implementations, batching, training step, goldens."""

import glob
import math
import os

import pytest
import torch
from safetensors.torch import load_file

from audiomamba.config import Config
from audiomamba.export import load
from audiomamba.model import AudioMamba, expected_tensors
from make_golden import golden_configs, make_waveform

GOLDEN_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden"))


def doc_shapes(cfg: Config):
    """Tensor names and shapes written out from the table in docs/weights.md."""
    b = cfg.backbone
    K, N, M = 4, b.d_state, cfg.num_classes
    C0, p = b.dims, b.patch_size
    out = {}
    if b.patch_embed == "v1":
        out.update({"patch_embed.0.weight": [C0, 1, p, p], "patch_embed.0.bias": [C0],
                    "patch_embed.2.weight": [C0], "patch_embed.2.bias": [C0]})
    else:
        h = C0 // 2
        out.update({"patch_embed.0.weight": [h, 1, 3, 3], "patch_embed.0.bias": [h],
                    "patch_embed.2.weight": [h], "patch_embed.2.bias": [h],
                    "patch_embed.5.weight": [C0, h, 3, 3], "patch_embed.5.bias": [C0],
                    "patch_embed.7.weight": [C0], "patch_embed.7.bias": [C0]})
    n_st = len(b.depths)
    for i, depth in enumerate(b.depths):
        C = C0 * 2**i
        E = math.floor(b.ssm_ratio * C)
        R = math.ceil(C / 16) if b.dt_rank == "auto" else b.dt_rank
        H = math.floor(b.mlp_ratio * C)
        for j in range(depth):
            pre = f"layers.{i}.blocks.{j}."
            out.update({
                pre + "norm.weight": [C], pre + "norm.bias": [C],
                pre + "op.in_proj.weight": [2 * E if b.gate == "z" else E, C],
                pre + "op.conv2d.weight": [E, 1, 3, 3],
                pre + "op.x_proj_weight": [K, R + 2 * N, E],
                pre + "op.dt_projs_weight": [K, E, R],
                pre + "op.dt_projs_bias": [K, E],
                pre + "op.A_logs": [K * E, N],
                pre + "op.Ds": [K * E],
                pre + "op.out_norm.weight": [E], pre + "op.out_norm.bias": [E],
                pre + "op.out_proj.weight": [C, E],
            })
            if b.conv_bias:
                out[pre + "op.conv2d.bias"] = [E]
            if H > 0:
                out.update({pre + "norm2.weight": [C], pre + "norm2.bias": [C],
                            pre + "mlp.fc1.weight": [H, C], pre + "mlp.fc1.bias": [H],
                            pre + "mlp.fc2.weight": [C, H], pre + "mlp.fc2.bias": [C]})
        if i < n_st - 1:
            pre = f"layers.{i}.downsample."
            if b.downsample == "merge":
                out.update({pre + "norm.weight": [4 * C], pre + "norm.bias": [4 * C],
                            pre + "reduction.weight": [2 * C, 4 * C]})
            else:
                out.update({pre + "1.weight": [2 * C, C, 3, 3], pre + "1.bias": [2 * C],
                            pre + "3.weight": [2 * C], pre + "3.bias": [2 * C]})
    CL = C0 * 2 ** (n_st - 1)
    out.update({"classifier.norm.weight": [CL], "classifier.norm.bias": [CL]})
    if cfg.head.kind == "linear":
        out.update({"classifier.head.weight": [M, CL], "classifier.head.bias": [M]})
    else:
        hg = cfg.stages()[-1].height
        out.update({"tscam_conv.weight": [M, CL, hg // cfg.freq_ratio, 3], "tscam_conv.bias": [M]})
    if cfg.frontend.kind == "htsat":
        for k in ("weight", "bias", "running_mean", "running_var"):
            out[f"bn0.{k}"] = [cfg.frontend.n_mels]
    return out


GOLDEN = golden_configs()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_tensor_names_match_doc(name):
    cfg = GOLDEN[name]
    got = {k: list(v) for k, v in expected_tensors(AudioMamba(cfg)).items()}
    assert got == doc_shapes(cfg)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_ref_vs_chunked_and_batch(name):
    cfg = GOLDEN[name]
    torch.manual_seed(0)
    model = AudioMamba(cfg).eval()
    waves = torch.stack([torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=s))
                         for s in (11, 12)])
    with torch.no_grad():
        out_c = model(waves, return_intermediates=True)
        model.set_scan_impl("ref")
        out_r = model(waves[1:], return_intermediates=True)
    M = cfg.num_classes
    assert out_c["clip_logits"].shape == (2, M)
    assert out_c["features"].shape == (2,) + cfg.image_size
    if cfg.head.kind == "tscam":
        assert out_c["frame_logits"].shape == (2, cfg.frame_steps, M)
        torch.testing.assert_close(out_c["frame_logits"].mean(1), out_c["clip_logits"])
    else:
        assert out_c["frame_logits"] is None
    for k, v in out_r.items():
        if v is not None:
            torch.testing.assert_close(out_c[k][1:], v, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_fused_scan_model_matches_chunked(name):
    # the flip-free cross-scan of SS2D._scan_fused against the flipped chunked path: logits and
    # the gradient of every parameter
    cfg = GOLDEN[name]
    torch.manual_seed(0)
    model = AudioMamba(cfg).train()
    waves = torch.stack([torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=s))
                         for s in (3, 4)])
    img = model.features(waves).detach()
    grads, outs = {}, {}
    for impl in ("chunked", "fused"):
        model.set_scan_impl(impl)
        model.zero_grad()
        clip, frame = model.forward_image(img)
        loss = clip.square().sum() + (frame.square().mean() if frame is not None else 0.0)
        loss.backward()
        outs[impl] = clip.detach()
        grads[impl] = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    torch.testing.assert_close(outs["fused"], outs["chunked"], rtol=1e-4, atol=1e-5)
    assert grads["fused"].keys() == grads["chunked"].keys()
    assert any(".op.A_logs" in k for k in grads["fused"])
    for k, g in grads["chunked"].items():
        scale = g.abs().max().clamp_min(1e-6)
        assert ((grads["fused"][k] - g).abs().max() / scale).item() < 1e-3, k


def test_training_step():
    cfg = GOLDEN["golden-a"]
    torch.manual_seed(0)
    model = AudioMamba(cfg).train()
    waves = torch.stack([torch.from_numpy(make_waveform(cfg.clip_samples, cfg.sample_rate, seed=s))
                         for s in (1, 2)])
    target = torch.tensor([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        out = model(waves)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out["clip_logits"], target)
        opt.zero_grad()
        loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.bn0.num_batches_tracked.item() == 3


GOLDEN_FILES = sorted(glob.glob(os.path.join(GOLDEN_DIR, "*.golden.safetensors")))


@pytest.mark.skipif(not GOLDEN_FILES, reason="tests/golden not generated (python make_golden.py)")
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=os.path.basename)
def test_goldens_reproduce(path):
    expect = load_file(path)
    model = load(path.replace(".golden.safetensors", ".safetensors"), scan_impl="chunked")
    with torch.no_grad():
        out = model(expect["waveform"][None], return_intermediates=True)
    assert set(expect) == {"waveform"} | {k for k, v in out.items() if v is not None}
    for k, v in expect.items():
        if k != "waveform":
            torch.testing.assert_close(out[k][0], v, rtol=1e-4, atol=1e-4, msg=k)
