"""PNG plots (matplotlib, Agg): training curves from the trainer's metrics JSONL and benchmark bars with CIs.

Column names differ between TRL versions and our trainer's extras, so curves are picked by pattern and every
group is optional: a missing column is skipped, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from knowrl.errors import InputError

# panel title -> regex over metric names
CURVE_GROUPS = (
    # the knowledgeable part: the fact reward's mean and spread and the share of facts the KB supports
    ("Fact reward", re.compile(r"^reward/(fact/(mean|std)|support_rate)$")),
    # the total and the project's per-component means (reward/format/mean, ...); not counters like reward/seconds
    ("Reward components", re.compile(r"^(reward|reward/[a-z_]+/mean)$")),
    ("Refusal rate", re.compile(r"refus|not_attempted|abstain")),
    ("KL", re.compile(r"(^|/)kl$|kl_div")),
    ("Completion length", re.compile(r"completion_length|length/mean|^length$|completions/mean_length")),
)
STEP_KEYS = ("step", "global_step", "train/global_step")
SMOOTHING_WINDOW = 10  # steps in the running mean drawn over the total reward


def curve_series(rows: Sequence[dict]) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """``{panel: {metric: (steps, values)}}``; rows without a step or with non-numeric values are skipped."""
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for row in rows:
        step = next((row[k] for k in STEP_KEYS if isinstance(row.get(k), (int, float))), None)
        if step is None:
            continue
        for key, value in row.items():
            if key in STEP_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            for title, pattern in CURVE_GROUPS:
                if pattern.search(key):
                    steps, values = panels.setdefault(title, {}).setdefault(key, ([], []))
                    steps.append(float(step))
                    values.append(float(value))
                    break
    return panels


def running_mean(values: Sequence[float], window: int) -> list[float]:
    """Mean of the last ``window`` values at each point (fewer at the start): a per-step GRPO reward depends on
    which few prompts the step drew, so its trend only shows once smoothed.

    >>> running_mean([0, 2, 4, 6], 2)
    [0.0, 1.0, 3.0, 5.0]
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training_curves(rows: Sequence[dict], out: str | Path, title: str = "Training") -> Path:
    """One panel per metric group found in ``rows`` (the trainer's per-step metrics)."""
    panels = curve_series(rows)
    if not panels:
        raise InputError("training metrics have no step-indexed reward, refusal, KL or length columns")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    for ax, (panel, series) in zip(axes[0], panels.items()):
        for name, (steps, values) in sorted(series.items()):
            ax.plot(steps, values, label=name, linewidth=1.2)
            if name == "reward" and len(values) >= 2 * SMOOTHING_WINDOW:
                ax.plot(steps, running_mean(values, SMOOTHING_WINDOW), "k--", linewidth=1.6,
                        label=f"reward, mean of last {SMOOTHING_WINDOW} steps")
        ax.set_title(panel)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(series) > 1 or panel == "Reward components":
            ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, plt, out)


def plot_benchmark_bars(table, out: str | Path) -> Path:
    """Grouped bars (one group per column, one bar per model) with 95% CI whiskers; ours only (the paper's
    published numbers are a table of their own, never drawn as if on the same scale)."""
    plt = _pyplot()
    import numpy as np

    n_models = max(len(table.rows), 1)
    width = 0.8 / n_models
    fig, ax = plt.subplots(figsize=(1.3 * len(table.columns) + 2, 3.8))
    x = np.arange(len(table.columns))
    for i, (label, cells) in enumerate(table.rows):
        values = np.array([c.value if c.value is not None else np.nan for c in cells], dtype=float)
        low = np.array([c.value - c.low if c.value is not None and c.low is not None else 0 for c in cells])
        high = np.array([c.high - c.value if c.value is not None and c.high is not None else 0 for c in cells])
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, values, width, yerr=[low, high], capsize=3, label=label)
    ax.set_xticks(x, [c.title for c in table.columns], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("%")
    ax.set_title(table.title or "Benchmarks (95% bootstrap CI)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, plt, out)


def _save(fig, plt, out: str | Path) -> Path:
    from knowrl.files import atomic_path

    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return out
