"""``knowrl eval table`` / ``plot``: tables and figures from run folders, with provenance and SHA256SUMS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from knowrl.artifact import provenance, write_sums
from knowrl.eval import tables
from knowrl.files import read_jsonl, sha256_file, write_json_atomic, write_text_atomic


def modes_of(summaries: dict[str, dict[str, dict]]) -> list[str]:
    """Generation modes present in any summary, ``main`` first."""
    found = {mode for by_bench in summaries.values() for doc in by_bench.values() for mode in doc.get("modes", {})}
    return sorted(found, key=lambda m: (m != "main", m))


def sources(runs: dict[str, str | Path], summaries: dict[str, dict[str, dict]]) -> list[dict[str, Any]]:
    """Model, data and grader identities behind every table cell."""
    listed = []
    for label, by_bench in summaries.items():
        for bench, doc in by_bench.items():
            path = Path(runs[label]) / bench / "summary.json"
            listed.append({"label": label, "benchmark": bench, "summary": str(path),
                           "summary_sha256": sha256_file(path), "model": doc.get("model"),
                           "data": doc.get("benchmark"), "grader": doc.get("grader")})
    return listed


def write_tables(runs: dict[str, str | Path], out: str | Path, paper_model: str | None = None,
                 config: dict | None = None) -> list[Path]:
    """Per generation mode: ``results[_mode].{md,csv,tex}`` (our rows; the Markdown adds what produced each row and,
    apart, the paper's published numbers), ``paper.{md,csv,tex}`` when a paper model is named; provenance.json and
    SHA256SUMS over the folder. With ``config``, the Markdown and LaTeX open with the kind of run (demo,
    rehearsal, paper) and any demo inputs it was allowed (knowrl.artifact.paper.run_note)."""
    from knowrl.artifact.paper import run_note

    out = Path(out)
    note = run_note(config) if config else None
    summaries = tables.collect_summaries(runs)
    written = []
    sources_md = tables.render_sources_markdown(tables.sources_rows(summaries))
    paper = tables.paper_table(paper_model) if paper_model else None
    for mode in modes_of(summaries):
        suffix = "" if mode == "main" else f"_{mode.replace('@', '')}"
        table = tables.build_table(summaries, mode=mode, title=f"This run ({mode})")
        for ext, render in tables.RENDERERS.items():
            text = render(table)
            if ext == "md":
                text += "\n" + sources_md + ("\n" + tables.render_markdown(paper) if paper else "")
            if note and ext in ("md", "tex"):
                text = (f"{note}\n\n" if ext == "md" else f"% {note}\n") + text
            path = out / f"results{suffix}.{ext}"
            write_text_atomic(path, text)
            written.append(path)
    if paper:
        for ext, render in tables.RENDERERS.items():
            write_text_atomic(out / f"paper.{ext}", render(paper))
            written.append(out / f"paper.{ext}")
    write_json_atomic(out / "provenance.json",
                      provenance(config, paper_model=paper_model, run=note, sources=sources(runs, summaries)))
    write_sums(out)
    return written


def write_plots(out: str | Path, runs: dict[str, str | Path] | None = None, metrics: str | Path | None = None,
                paper_model: str | None = None, config: dict | None = None) -> list[Path]:
    """Benchmark bars (from run folders) and/or training curves (from a metrics JSONL) as PNGs."""
    from knowrl.eval import plots

    out = Path(out)
    written = []
    if metrics:
        written.append(plots.plot_training_curves(list(read_jsonl(metrics)), out / "training_curves.png",
                                                  title=f"Training: {Path(metrics).parent.name}"))
    if runs:
        summaries = tables.collect_summaries(runs)
        for mode in modes_of(summaries):
            table = tables.build_table(summaries, mode=mode, title=f"This run ({mode}), 95% bootstrap CI")
            written.append(plots.plot_benchmark_bars(table, out / f"benchmarks_{mode.replace('@', '')}.png"))
    extra: dict[str, Any] = {"paper_model": paper_model, "metrics": str(metrics) if metrics else None}
    if metrics:
        extra["metrics_sha256"] = sha256_file(metrics)
    if runs:
        extra["sources"] = sources(runs, tables.collect_summaries(runs))
    write_json_atomic(out / "provenance.json", provenance(config, **extra))
    write_sums(out)
    return written
