"""Self-knowledge figures against hand-computed values; bootstrap CIs through the eval stage's bootstrap."""

from __future__ import annotations

import pytest

from knowrl.recipes.self_knowledge.evaluate import read_label
from knowrl.recipes.self_knowledge.metrics import classification_figures, intrinsic_figures

F, N = "feasible", "infeasible"  # N: not feasible


def test_figures_hand_computed():
    gold = [N, N, N, N, F, F, F, F]
    pred = [N, N, N, F, F, F, N, None]   # infeasible: TP 3, FP 1, FN 1; feasible: TP 2, FP 1, FN 2
    figures = classification_figures(gold, pred, samples=200, seed=1)
    assert figures["accuracy"]["value"] == pytest.approx(100 * 5 / 8)
    assert figures["f1_infeasible"]["value"] == pytest.approx(100 * 2 * 3 / (2 * 3 + 1 + 1))       # 75
    assert figures["f1_feasible"]["value"] == pytest.approx(100 * 2 * 2 / (2 * 2 + 1 + 2))         # 57.14
    assert figures["macro_f1"]["value"] == pytest.approx((75 + 400 / 7) / 2)
    assert figures["unparseable"]["value"] == pytest.approx(12.5)
    for name, fig in figures.items():
        assert fig["ci_low"] <= fig["value"] <= fig["ci_high"], name


def test_degenerate_predictions():
    # everything called feasible: infeasible F1 is 0 (no TP), not undefined
    figures = classification_figures([N, F, N, F], [F, F, F, F], samples=50)
    assert figures["f1_infeasible"]["value"] == 0.0
    assert figures["accuracy"]["value"] == 50.0
    assert figures["f1_feasible"]["value"] == pytest.approx(100 * 4 / 6)
    perfect = classification_figures([N, F], [N, F], samples=50)
    assert perfect["macro_f1"]["value"] == perfect["macro_f1"]["ci_high"] == 100.0
    # a resample holding one class only scores the absent class's F1 as 0 (as zero_division=0 does)
    assert perfect["macro_f1"]["ci_low"] == 50.0


def test_intrinsic():
    records = [{"intended_label": F, "majority": F, "consensus": 1.0},
               {"intended_label": N, "majority": F, "consensus": 0.5},
               {"intended_label": N, "majority": None, "consensus": 0.0}]   # tie: no majority
    assert intrinsic_figures(records) == {"tasks": 3, "with_majority": 2, "intended_agreement": 50.0,
                                          "self_consistency": pytest.approx(50.0)}


READ_CASES = [
    ('infeasible", "answer', N),
    ("feasible", F),          # stopped at the quote (the stop string itself may be cut)
    ("feasib", None),         # too short a budget: unparseable, never completed by guessing
    ("yes", None),
]


@pytest.mark.parametrize(("text", "expected"), READ_CASES)
def test_read_label(text, expected):
    assert read_label(text) == expected
