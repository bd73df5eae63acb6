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
