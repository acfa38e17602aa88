"""Result tables in the paper's layout (METHOD 8): rows = models, our figures with 95% CIs beside the paper's.

Pure renderers (Markdown, CSV, LaTeX) over a :class:`Table`; :func:`collect_summaries` and the CLI do the I/O.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from knowrl.errors import InputError
from knowrl.files import read_json

# METHOD 8: paper results (v4), per paper model and method; keys are our column keys.
PAPER_RESULTS: dict[str, dict[str, dict[str, float]]] = {
    "DeepSeek-R1-Distill-Qwen-7B": {
        "base": {"truthfulqa_rouge": 53.33, "truthfulqa_bleu": 51.00, "simpleqa_incorrect": 78.00,
                 "chinese_simpleqa_incorrect": 68.33, "gpqa": 40.91, "aime25": 30.00},
        "knowrl": {"truthfulqa_rouge": 57.33, "truthfulqa_bleu": 51.60, "simpleqa_incorrect": 57.67,
                   "chinese_simpleqa_incorrect": 58.33, "gpqa": 36.87, "aime25": 33.33},
    },
    "Skywork-OR1-7B-Preview": {
        "base": {"truthfulqa_rouge": 56.67, "truthfulqa_bleu": 55.33, "simpleqa_incorrect": 76.33,
                 "chinese_simpleqa_incorrect": 67.00, "gpqa": 37.37, "aime25": 26.67},
        "knowrl": {"truthfulqa_rouge": 57.67, "truthfulqa_bleu": 54.33, "simpleqa_incorrect": 60.33,
                   "chinese_simpleqa_incorrect": 52.33, "gpqa": 42.42, "aime25": 36.67},
    },
}
MODEL_NAMES = {"base": "Base", "sft": "SFT", "knowrl": "KnowRL"}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    benchmark: str
    figure: str


PAPER_COLUMNS = (
    Column("truthfulqa_rouge", "TruthfulQA ROUGE", "truthfulqa", "rouge_acc"),
    Column("truthfulqa_bleu", "TruthfulQA BLEU", "truthfulqa", "bleu_acc"),
    Column("simpleqa_incorrect", "SimpleQA incorrect %", "simpleqa", "incorrect"),
    Column("chinese_simpleqa_incorrect", "ChineseSimpleQA incorrect %", "chinese_simpleqa", "incorrect"),
    Column("gpqa", "GPQA", "gpqa", "accuracy"),
    Column("aime25", "AIME25", "aime25", "accuracy"),
)
DETAIL_COLUMNS = tuple(
    Column(f"{bench}_{fig}", f"{title} {fig_title}", bench, fig)
    for bench, title in (("simpleqa", "SimpleQA"), ("chinese_simpleqa", "ChineseSimpleQA"))
    for fig, fig_title in (("correct", "correct %"), ("incorrect", "incorrect %"),
                           ("not_attempted", "not attempted %"), ("f_score", "F"))
)


@dataclass(frozen=True)
class Cell:
    value: float | None = None
    low: float | None = None
    high: float | None = None
    paper: float | None = None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    paper_model: str | None = None

    @property
    def with_paper(self) -> bool:
        return self.paper_model is not None


def build_table(summaries: dict[str, dict[str, dict]], columns=PAPER_COLUMNS, mode: str = "main",
                paper_model: str | None = None, title: str = "") -> Table:
    """``summaries[label][benchmark]`` = a summary.json document; missing runs/figures give empty cells."""
    if paper_model is not None and paper_model not in PAPER_RESULTS:
        raise InputError(f"unknown paper model {paper_model!r}; choose one of {', '.join(PAPER_RESULTS)}")
    paper = PAPER_RESULTS.get(paper_model or "", {})
    rows = []
    for label, by_bench in summaries.items():
        cells = []
        for col in columns:
            fig = by_bench.get(col.benchmark, {}).get("modes", {}).get(mode, {}).get("figures", {}).get(col.figure)
            ref = paper.get(label, {}).get(col.key)
            cells.append(Cell(fig["value"], fig["ci_low"], fig["ci_high"], ref) if fig else Cell(paper=ref))
        rows.append((label, tuple(cells)))
    return Table(title, tuple(columns), tuple(rows), paper_model)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _ours(cell: Cell, dash: str = "—") -> str:
    if cell.value is None:
        return dash
    return f"{cell.value:.2f} [{cell.low:.2f}, {cell.high:.2f}]"


def _header(table: Table) -> list[str]:
    head = ["Model"]
    for col in table.columns:
        head.append(col.title)
        if table.with_paper:
            head.append(f"{col.title} (paper)")
    return head


def _row_texts(table: Table, dash: str = "—") -> list[list[str]]:
    lines = []
    for label, cells in table.rows:
        row = [MODEL_NAMES.get(label, label)]
        for cell in cells:
            row.append(_ours(cell, dash))
            if table.with_paper:
                row.append(_num(cell.paper) or dash)
        lines.append(row)
    return lines


def render_markdown(table: Table) -> str:
    head = _header(table)
    lines = [f"### {table.title}", ""] if table.title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in _row_texts(table)]
    note = "Ours: value [95% bootstrap CI]."
    if table.with_paper:
        note += f" Paper: published numbers for {table.paper_model}, same method (METHOD 8)."
    return "\n".join(lines + ["", note]) + "\n"


def render_csv(table: Table) -> str:
    """One row per (model, column): machine-readable, with the CI bounds and the paper value apart."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "column", "benchmark", "figure", "value", "ci_low", "ci_high", "paper"])
    for label, cells in table.rows:
        for col, cell in zip(table.columns, cells, strict=True):
            writer.writerow([label, col.key, col.benchmark, col.figure, _num(cell.value), _num(cell.low),
                             _num(cell.high), _num(cell.paper)])
    return buffer.getvalue()


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, repl)
    return text


def render_latex(table: Table) -> str:
    """A booktabs tabular; our cells as ``value {\\scriptsize[lo, hi]}``, paper cells beside them."""
    head = [_latex_escape(h) for h in _header(table)]
    lines = [r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}", r"\toprule", " & ".join(head) + r" \\",
             r"\midrule"]
    for label, cells in table.rows:
        row = [_latex_escape(MODEL_NAMES.get(label, label))]
        for cell in cells:
            row.append("--" if cell.value is None else
                       f"{cell.value:.2f} {{\\scriptsize[{cell.low:.2f}, {cell.high:.2f}]}}")
            if table.with_paper:
                row.append(_num(cell.paper) or "--")
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.with_paper:
        lines.insert(0, f"% paper columns: published numbers for {table.paper_model} (METHOD 8)")
    if table.title:
        lines.insert(0, f"% {table.title}")
    return "\n".join(lines) + "\n"


RENDERERS = {"md": render_markdown, "csv": render_csv, "tex": render_latex}


def collect_summaries(runs: dict[str, str | Path]) -> dict[str, dict[str, dict]]:
    """``{label: {benchmark: summary}}`` from run folders holding ``<benchmark>/summary.json``."""
    found: dict[str, dict[str, dict]] = {}
    for label, folder in runs.items():
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"run folder for {label!r} not found: {folder}")
        found[label] = {p.parent.name: read_json(p) for p in sorted(folder.glob("*/summary.json"))}
        if not found[label]:
            raise InputError(f"run folder {folder} has no <benchmark>/summary.json")
    return found
