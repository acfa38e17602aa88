"""Self-knowledge figures: accuracy, F1 of the infeasible class and macro-F1 over both classes, each with a
percentile bootstrap 95% CI over items (``knowrl.eval.metrics.bootstrap_ci``), plus the intrinsic figures of the
generated tasks (agreement of the consensus with the intended label, self-consistency).

A prediction that could not be parsed is wrong for accuracy and predicts neither class for F1 (so it is a miss
for its true class), and is counted in ``unparseable``. The F1 of a class with neither true nor predicted
members (a bootstrap resample can lack one) is 0, as scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from knowrl.eval.metrics import bootstrap_ci


def classification_columns(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, list[float]]:
    """Per-item 0/1 columns: correct, unparseable, and true/predicted membership of each class."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels for {len(predicted)} predictions")
    cols: dict[str, list[float]] = {
        "correct": [float(g == p) for g, p in zip(gold, predicted)],
        "unparseable": [float(p is None) for p in predicted]}
    for label in ("feasible", "infeasible"):
        cols[f"true_{label}"] = [float(g == label) for g in gold]
        cols[f"pred_{label}"] = [float(p == label) for p in predicted]
    return cols


def _f1(cols: Mapping[str, np.ndarray], label: str) -> np.ndarray:
    true, pred = cols[f"true_{label}"], cols[f"pred_{label}"]
    hits = np.sum(true * pred, axis=-1)
    denominator = np.sum(true, axis=-1) + np.sum(pred, axis=-1)
    return 100.0 * np.divide(2 * hits, denominator, out=np.zeros_like(hits, dtype=float), where=denominator > 0)


FIGURES = {
    "accuracy": lambda cols: 100.0 * np.mean(cols["correct"], axis=-1),
    "f1_infeasible": lambda cols: _f1(cols, "infeasible"),
    "f1_feasible": lambda cols: _f1(cols, "feasible"),
    "macro_f1": lambda cols: (_f1(cols, "infeasible") + _f1(cols, "feasible")) / 2.0,
    "unparseable": lambda cols: 100.0 * np.mean(cols["unparseable"], axis=-1),
}


def classification_figures(gold: Sequence[str], predicted: Sequence[str | None], samples: int = 1000,
                           seed: int = 0) -> dict[str, dict[str, float]]:
    """``{figure: {value, ci_low, ci_high}}`` in percent for the labelled set."""
    cols = {k: np.asarray(v, dtype=float) for k, v in classification_columns(gold, predicted).items()}
    out = {}
    for name, statistic in FIGURES.items():
        low, high = bootstrap_ci(cols, statistic, samples=samples, seed=seed)
        out[name] = {"value": float(statistic(cols)), "ci_low": low, "ci_high": high}
    return out


def intrinsic_figures(records: Sequence[dict]) -> dict[str, float | int]:
    """From analysed generated tasks (``intended_label``, ``majority``, ``consensus``): agreement of the majority
    with the intended label (tasks with a majority), mean self-consistency, and counts."""
    with_majority = [r for r in records if r.get("majority")]
    agree = sum(r["majority"] == r["intended_label"] for r in with_majority)
    return {"tasks": len(records), "with_majority": len(with_majority),
            "intended_agreement": 100.0 * agree / len(with_majority) if with_majority else float("nan"),
            "self_consistency": (100.0 * float(np.mean([r["consensus"] for r in records]))
                                 if records else float("nan"))}
