"""``knowrl selfknow eval``: base vs trained on the held-out labelled set (accuracy, infeasible-class F1,
macro-F1 with bootstrap 95% CIs), the intrinsic figures of the run's generated tasks, a Markdown table, bar and
per-iteration plots; per-item outputs kept for inspection. Sealed with provenance + SHA256SUMS."""

from __future__ import annotations

import logging
from pathlib import Path

from knowrl.errors import InputError
from knowrl.eval.plots import plot_benchmark_bars, plot_training_curves
from knowrl.eval.tables import Cell, Column, Table, render_markdown
from knowrl.files import read_json, read_jsonl, write_json_atomic, write_jsonl_atomic, write_text_atomic
from knowrl.recipes.self_knowledge import evaluate, metrics
from knowrl.recipes.self_knowledge.settings import SelfKnowledgeSettings
from knowrl.recipes.self_knowledge.tasks import load_tasks

log = logging.getLogger(__name__)
COLUMNS = (Column("accuracy", "accuracy %", "heldout", "accuracy"),
           Column("f1_infeasible", "F1 infeasible", "heldout", "f1_infeasible"),
           Column("macro_f1", "macro-F1", "heldout", "macro_f1"),
           Column("unparseable", "unparseable %", "heldout", "unparseable"))


def results_table(models: dict[str, dict]) -> Table:
    rows = tuple((name, tuple(Cell(figs[c.key]["value"], figs[c.key]["ci_low"], figs[c.key]["ci_high"])
                              for c in COLUMNS)) for name, figs in models.items())
    return Table("Self-knowledge on the held-out set (95% bootstrap CI)", COLUMNS, rows)


def run_intrinsic(run: Path, summary: dict) -> dict:
    """Intrinsic figures over every analysed generated task of the run's kept iterations."""
    records = [r for i in summary["iterations"] if i <= summary["final_iteration"]
               for r in read_jsonl(run / "iterations" / f"{i:03d}" / "tasks.jsonl") if "labels" in r]
    return metrics.intrinsic_figures(records)


def guard_plot(summary: dict, out: Path) -> Path:
    """Guard accuracy and the label ratio per iteration (the collapse guards), as training-curve panels."""
    from knowrl.eval.plots import _pyplot, _save

    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    guard = summary["guard"]
    left.plot([g["iteration"] for g in guard], [100 * g["accuracy"] for g in guard], marker="o")
    left.set(title="Guard accuracy (seed set)", xlabel="iteration", ylabel="%")
    steps = [s["iteration"] for s in summary["per_iteration"]]
    for label in ("feasible", "infeasible"):
        right.plot(steps, [s["label_ratio"][label] for s in summary["per_iteration"]], marker="o", label=label)
    right.set(title="Label ratio of self-analysis samples", xlabel="iteration", ylim=(0, 1))
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, plt, out)


def training_rows(run: Path, iterations: list[int]) -> list[dict]:
    """The GRPO updates' logged rows of every iteration, steps numbered across iterations (without the main
    recipe's ``policy/*`` answer metrics, which mean nothing for a JSON classification)."""
    rows, offset = [], 0
    for i in iterations:
        path = run / "iterations" / f"{i:03d}" / "metrics.jsonl"
        part = [r for r in read_jsonl(path) if "loss" in r] if path.is_file() else []
        rows += [{k: v for k, v in r.items() if not k.startswith("policy/")}
                 | {"step": r["step"] + offset, "iteration": i} for r in part]
        offset += max((r["step"] for r in part), default=0)
    return rows


def main(config: dict, run: str | Path, out: str | Path) -> dict:
    """Evaluate the base policy and the run's final adapter on the held-out set; write and seal ``out``."""
    from knowrl.train import checkpoints
    from knowrl.recipes.self_knowledge.update import load_policy

    run, out, settings = Path(run), Path(out), SelfKnowledgeSettings.from_config(config)
    if not (run / "summary.json").is_file():
        raise InputError(f"{run} holds no finished self-knowledge run (no summary.json)")
    summary = read_json(run / "summary.json")
    tasks = load_tasks(settings.heldout_set, "heldout")
    models = {}
    for name, adapter in (("base", None), ("trained", summary["final_adapter"])):
        policy = load_policy(config, run / adapter if adapter else None)
        figures, items = evaluate.evaluate(policy.model, policy.tokenizer, tasks, settings.eval,
                                           settings.batch_size, config["seed"])
        write_jsonl_atomic(out / f"items-{name}.jsonl", items)
        models[name] = figures
    table = results_table(models)
    result = {"heldout": models, "n_items": len(tasks), "final_iteration": summary["final_iteration"],
              "intrinsic": run_intrinsic(run, summary), "alarms": summary["alarms"], "stopped": summary["stopped"]}
    write_json_atomic(out / "summary.json", result)
    write_text_atomic(out / "table.md", render_markdown(table))
    plot_benchmark_bars(table, out / "heldout.png")
    if summary["per_iteration"]:
        guard_plot(summary, out / "guards.png")
    rows = training_rows(run, summary["iterations"])
    if rows:
        plot_training_curves(rows, out / "training_curves.png", title="Self-knowledge GRPO updates")
    checkpoints.seal(out, config, stage="self_knowledge_eval", run=str(run))
    print(render_markdown(table))
    return result
