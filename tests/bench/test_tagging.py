"""The tagging benchmark's pure pieces: the per-label report that says where macro-F1 is lost."""

import numpy as np

from bench.tagging import per_label


def test_per_label_lists_the_rarest_label_first_with_its_own_f1():
    classes = ["common", "rare", "never_right"]
    Y = np.array([[1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
    P = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])

    report = per_label(Y, P, classes)

    assert list(report) == ["rare", "never_right", "common"]  # 1, 1 and 3 test papers
    assert report["rare"] == {"n": 1, "f1": 1.0}
    assert report["never_right"] == {"n": 1, "f1": 0.0}
    assert report["common"] == {"n": 3, "f1": 0.8}  # 2 of 3 found, no false alarm
