"""Evaluation (METHOD 8): benchmark loaders, generation, grading, metrics with bootstrap CIs, tables and plots.

Typical use (one folder per model label and benchmark, then tables over the labels)::

    knowrl eval run --benchmark simpleqa --data simple_qa_test_set.csv --label base --out results/eval/base/simpleqa
    knowrl eval run --benchmark simpleqa --checkpoint results/grpo --label knowrl --out results/eval/knowrl/simpleqa
    knowrl eval regrade results/eval/base/simpleqa --set judge.backend=llamacpp --out results/eval-llm/base/simpleqa
    knowrl eval table --run base=results/eval/base --run knowrl=results/eval/knowrl --out results/tables
    knowrl eval plot --metrics results/grpo/metrics.jsonl --out results/plots/training

In Python, ``load_benchmark(name, path)`` returns the validated items of a user-staged benchmark file.
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy re-exports: `knowrl --help` imports knowrl.eval.cli, which must not pull numpy or the metric libraries.
_EXPORTS = {
    "BENCHMARK_NAMES": "knowrl.eval.benchmarks", "Benchmark": "knowrl.eval.benchmarks",
    "Item": "knowrl.eval.benchmarks", "load_benchmark": "knowrl.eval.benchmarks",
    "subsample": "knowrl.eval.benchmarks", "bootstrap_ci": "knowrl.eval.metrics",
    "figures_with_ci": "knowrl.eval.metrics", "simpleqa_f": "knowrl.eval.metrics",
    "truthfulqa_scores": "knowrl.eval.metrics", "EvalConfig": "knowrl.eval.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'knowrl.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
