"""Evaluation of the recipe: EM and F1 with bootstrap CIs and searches per question, with retrieval (the trained
protocol) and without it (the same model answering from memory: the baseline row); tables and bar plots from the
core's ``knowrl.eval`` (``Table``, ``render_markdown``, ``plot_benchmark_bars``).

Greedy decoding, the same rollout as training (turn cap, total budget, forced final turn). Per-item records (the
whole completion, the prediction, EM, F1, searches, turns) go to ``items.jsonl``; ``summary.json`` holds the
figures; the folder is sealed with ``provenance.json`` + ``SHA256SUMS``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from knowrl.files import read_json, write_json_atomic, write_jsonl_atomic
from knowrl.recipes.agentic_rag import protocol
from knowrl.recipes.agentic_rag.rewards import exact_match, final_answer, gold_list, token_f1, well_formed
from knowrl.recipes.agentic_rag.rollout import Rollout, render_prompts
from knowrl.recipes.agentic_rag.settings import RagSettings

FIGURES = ("em", "f1", "searches")


def score_items(records: list[dict], trajs: list, tokenizer: Any) -> list[dict]:
    """Per-item scores of finished trajectories."""
    items = []
    for record, t in zip(records, trajs, strict=True):
        text = tokenizer.decode(t.ids, skip_special_tokens=True)
        pred, golds = final_answer(text), gold_list(record["answers"])
        items.append({"id": record["id"], "question": record["question"], "answers": golds, "prediction": pred,
                      "em": exact_match(pred, golds), "f1": token_f1(pred, golds), "searches": len(t.searches),
                      "turns": t.turns, "well_formed": well_formed(text), "truncated": t.truncated,
                      "queries": t.searches, "completion": text})
    return items


def figures(items: list[dict], samples: int, seed: int) -> dict[str, dict[str, float]]:
    """``{figure: {value, ci_low, ci_high}}``: EM and F1 in %, searches per question (bootstrap over items)."""
    from knowrl.eval.metrics import bootstrap_ci

    out = {}
    for name in FIGURES:
        column = {name: [float(i[name]) for i in items]}
        scale = 1.0 if name == "searches" else 100.0
        statistic = lambda cols, name=name, scale=scale: scale * np.mean(cols[name], axis=-1)  # noqa: E731
        low, high = bootstrap_ci(column, statistic, samples=samples, seed=seed)
        out[name] = {"value": float(statistic({name: np.asarray(column[name])})), "ci_low": low, "ci_high": high}
    return out


def run_eval(config: dict, model: str, questions: str, out: str | Path, kb: str | None, adapter: str | None = None,
             retrieval: bool = True, label: str | None = None, batch_size: int = 8) -> dict:
    """Evaluate one model on one question file; returns the summary (also written to ``out/summary.json``)."""
    from transformers import GenerationConfig

    from knowrl.cli_common import progress
    from knowrl.eval.generation import TransformersPolicy
    from knowrl.recipes.agentic_rag.data import load_questions
    from knowrl.recipes.agentic_rag.generators import TransformersGenerator
    from knowrl.recipes.agentic_rag.retrieval import KBRetriever
    from knowrl.train.checkpoints import seal
    from knowrl.train.models import resolve_policy

    started, out = time.time(), Path(out)
    settings = RagSettings.from_config(config)
    if not retrieval:
        settings = dataclasses.replace(settings, max_turns=0)
    records, report = load_questions(questions, config["agentic_rag"]["eval"]["max_questions"])
    folder = resolve_policy(config, model)
    policy = TransformersPolicy(folder, adapter, source=model)
    tokenizer = policy.tokenizer
    greedy = GenerationConfig(do_sample=False, pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id)
    retriever = KBRetriever.open(kb, settings.mode, settings.k) if retrieval else None
    trajs: list = []
    try:
        runner = Rollout(TransformersGenerator(policy.model, tokenizer, greedy), retriever, tokenizer, settings)
        for start in progress(range(0, len(records), batch_size), desc=f"rag eval {label or ''}", unit="batch"):
            batch = records[start:start + batch_size]
            prompts = [protocol.prompt_messages(r["question"], retrieval) for r in batch]
            trajs += runner.run(render_prompts(tokenizer, prompts))
    finally:
        if retriever is not None:
            retriever.close()
    items = score_items(records, trajs, tokenizer)
    summary = {"label": label or Path(model).name, "retrieval": retrieval, "n": len(items),
               "figures": figures(items, config["agentic_rag"]["eval"]["bootstrap_samples"], config["seed"]),
               "skipped": dict(report.skipped), "layouts": dict(report.layouts), "model": policy.identity(),
               "settings": dataclasses.asdict(settings), "kb": str(kb) if retrieval else None,
               "time": {"generation_s": round(runner.clock["generation"], 3),
                        "retrieval_s": round(runner.clock["retrieval"], 3)}}
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out / "items.jsonl", items)
    write_json_atomic(out / "summary.json", summary)
    seal(out, config, stage="agentic_rag_eval", questions=str(questions), wall_time_s=round(time.time() - started, 3))
    return summary


def results_table(runs: dict[str, str | Path]):
    """A core ``Table`` (rows: label, columns: EM / F1 / searches per question) from eval folders."""
    from knowrl.eval.tables import Cell, Column, Table

    columns = (Column("em", "EM %", "rag", "em"), Column("f1", "F1 %", "rag", "f1"),
               Column("searches", "searches / question", "rag", "searches"))
    rows = []
    for label, folder in runs.items():
        figs = read_json(Path(folder) / "summary.json")["figures"]
        rows.append((label, tuple(Cell(figs[c.key]["value"], figs[c.key]["ci_low"], figs[c.key]["ci_high"])
                                  for c in columns)))
    return Table("Agentic retrieval RL, held-out questions", columns, tuple(rows))


def write_report(runs: dict[str, str | Path], out: str | Path) -> list[Path]:
    """``results.md``, ``results.csv`` and ``em_f1.png`` (bars with 95% CIs) for the eval folders."""
    from knowrl.eval.plots import plot_benchmark_bars
    from knowrl.eval.tables import Table, render_csv, render_markdown
    from knowrl.files import write_text_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = results_table(runs)
    write_text_atomic(out / "results.md", render_markdown(table))
    write_text_atomic(out / "results.csv", render_csv(table))
    answer_cols = Table(table.title + " (95% bootstrap CI)", table.columns[:2],
                        tuple((label, cells[:2]) for label, cells in table.rows))
    return [out / "results.md", out / "results.csv", plot_benchmark_bars(answer_cols, out / "em_f1.png")]
