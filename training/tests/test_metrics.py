import numpy as np

from audiomamba.metrics import tagging_metrics


def test_metrics():
    t = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.2, 0.1], [0.1, 0.8, 0.3], [0.7, 0.6, 0.2], [0.2, 0.1, 0.4]])
    m = tagging_metrics(t, s)
    assert m.skipped == 1 and m.classes_used == 2
    assert m.mAP == 1.0 and m.mAUC == 1.0 and np.isinf(m.d_prime)
    s[0, 0] = 0.05  # one positive of class 0 now ranked last
    m = tagging_metrics(t, s)
    assert 0.5 < m.mAUC < 1.0 and m.d_prime > 0
