"""Per-class thresholds of the hit model: the chosen threshold is the best F's, and the calibrated
head says yes at 0.5 exactly where the original said yes at the threshold."""
import numpy as np
import torch

from audiomamba.config import Config
from audiomamba.model import AudioMamba
from calibrate_hits import GRID, calibrated_state, choose
from data_pipeline.hits import HIT_CLASSES


def test_calibrated_head_at_half_decides_as_the_threshold_did():
    torch.manual_seed(0)
    cfg = Config.load("configs/hits.json")
    m = AudioMamba(cfg).eval()
    x = torch.randn(16, cfg.clip_samples) * 0.1
    thresholds = [0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.75, 0.9, 0.95]
    with torch.no_grad():
        p = torch.sigmoid(m(x)["clip_logits"])
        m.load_state_dict(calibrated_state(m.state_dict(), thresholds))
        q = torch.sigmoid(m(x)["clip_logits"])
    t = torch.tensor(thresholds)
    assert torch.equal(p >= t, q >= 0.5) or ((p - t).abs() < 1e-6).any()
    logit = lambda v: torch.log(v / (1 - v))  # noqa: E731
    torch.testing.assert_close(logit(q) - logit(p), -logit(t).expand_as(p), rtol=0, atol=1e-4)


def test_the_best_mean_f_of_both_settings_is_chosen():
    counts = {}
    for s, best in (("drums alone", 0.3), ("with accompaniment", 0.3)):
        per = {}
        for c in HIT_CLASSES:
            rows = np.zeros((len(GRID), 3), np.int64)
            for g, t in enumerate(GRID):
                # 100 true hits; recall falls above `best`, false hits fall until `best`
                tp = 100 if t <= best else int(100 * (1 - (t - best)))
                fp = int(200 * max(0.0, best - t)) if t < best else 0
                rows[g] = (tp, tp + fp, 100)
            per[c] = rows
        counts[s] = per
    res = choose(counts)
    for c in HIT_CLASSES:
        assert res[c]["threshold"] == 0.3
        assert res[c]["mean_F"] == 1.0 and res[c]["mean_F_at_0.5"] < 1.0


def test_thresholds_rise_together_until_drumless_clips_are_within_budget():
    from calibrate_hits import drumless_rate, within_budget
    k = len(HIT_CLASSES)
    rng = np.random.default_rng(0)
    # 20 s of drumless material whose 30 onsets give the hi-hat class probabilities 0.05-0.6
    probs = np.zeros((30, k), np.float32)
    probs[:, HIT_CLASSES.index("Hi-hat")] = rng.uniform(0.05, 0.6, 30)
    clips = [{"drums": False, "seconds": 20.0, "probs": probs, "times": list(range(30)), "truth": {}},
             {"drums": True, "seconds": 10.0, "probs": np.ones((5, k), np.float32), "times": list(range(5)), "truth": {}}]
    start = [0.1] * k
    assert drumless_rate(clips, start) == 10.0 * int((probs[:, 2] >= 0.1).sum()) / 20.0  # drum clips do not count
    raised, step = within_budget(clips, start, budget=2.0)
    assert drumless_rate(clips, raised) <= 2.0 and step > 0
    assert len(set(np.round(np.log(np.array(raised) / (1 - np.array(raised))) - np.log(0.1 / 0.9), 6))) == 1  # one step for all
    lower = 1 / (1 + np.exp(-(np.log(0.1 / 0.9) + step - 0.1)))
    assert drumless_rate(clips, [lower] * k) > 2.0  # the smallest step that fits
    assert within_budget(clips, start, budget=100.0) == ([0.1] * k, 0.0)
