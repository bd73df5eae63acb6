"""Tagging metrics as the field computes them (model.md section 5).

mAP  = mean over classes of sklearn average_precision_score (on sigmoid scores),
mAUC = mean over classes of ROC AUC, d' = sqrt(2) * Phi^-1(mAUC).
Classes without a positive (or without a negative, where AUC is undefined) are left out of both
means; `skipped` says how many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score


@dataclass
class TaggingMetrics:
    mAP: float
    mAUC: float
    d_prime: float
    classes_used: int
    skipped: int


def tagging_metrics(targets: np.ndarray, scores: np.ndarray) -> TaggingMetrics:
    """targets {0,1} [clips, classes]; scores (probabilities or logits) [clips, classes]."""
    targets = np.asarray(targets)
    scores = np.asarray(scores, dtype=np.float64)
    aps, aucs = [], []
    for k in range(targets.shape[1]):
        t = targets[:, k]
        pos = int(t.sum())
        if pos == 0 or pos == len(t):
            continue
        aps.append(average_precision_score(t, scores[:, k]))
        aucs.append(roc_auc_score(t, scores[:, k]))
    if not aps:
        raise ValueError("no class has both positives and negatives")
    m_auc = float(np.mean(aucs))
    return TaggingMetrics(
        mAP=float(np.mean(aps)),
        mAUC=m_auc,
        d_prime=float(np.sqrt(2.0) * norm.ppf(m_auc)),
        classes_used=len(aps),
        skipped=targets.shape[1] - len(aps),
    )
