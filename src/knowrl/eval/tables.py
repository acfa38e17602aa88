"""Result tables that say what produced them (METHOD 8 figures, 95% bootstrap CIs).

Three tables, never mixed: **ours** (rows = the models this run evaluated, columns = the figures of the benchmarks
it evaluated, per item group too where the data has groups), the **sources** of every row (model, what it was
trained on, grader, fact verifier), and the **published** numbers of the paper, labelled as such, as a separate
table (a 135M model on a demo split is not the paper's method at 7B; nothing here claims "same method").

Pure renderers (Markdown, CSV, LaTeX) over a :class:`Table`; :func:`collect_summaries` and the CLI do the I/O.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from knowrl.errors import InputError
from knowrl.files import read_json

# METHOD 8: paper results (v4), per paper model and method; keys are PAPER_COLUMNS keys.
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
PAPER_SETUP = ("published by Ren et al. (METHOD 8): 7B models, 300 items per hallucination benchmark, LLM-judged; "
               "not produced by this run")
MODEL_NAMES = {"base": "Base", "sft": "SFT", "knowrl": "KnowRL"}
BENCH_TITLES = {"simpleqa": "SimpleQA", "chinese_simpleqa": "ChineseSimpleQA", "truthfulqa": "TruthfulQA",
                "gpqa": "GPQA", "aime25": "AIME25", "qa": "QA"}
FIGURE_TITLES = {"correct": "correct %", "incorrect": "incorrect %", "not_attempted": "not attempted %",
                 "f_score": "F", "rouge_acc": "ROUGE acc", "bleu_acc": "BLEU acc", "accuracy": "accuracy %"}
FIGURES_BY_KIND = {"qa": ("correct", "incorrect", "not_attempted", "f_score"), "truthfulqa": ("rouge_acc", "bleu_acc"),
                   "mcq": ("accuracy",), "math": ("accuracy",)}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    benchmark: str
    figure: str
    group: str | None = None   # an item group of the benchmark (e.g. known / unknown), None = all items


PAPER_COLUMNS = (
    Column("truthfulqa_rouge", "TruthfulQA ROUGE", "truthfulqa", "rouge_acc"),
    Column("truthfulqa_bleu", "TruthfulQA BLEU", "truthfulqa", "bleu_acc"),
    Column("simpleqa_incorrect", "SimpleQA incorrect %", "simpleqa", "incorrect"),
    Column("chinese_simpleqa_incorrect", "ChineseSimpleQA incorrect %", "chinese_simpleqa", "incorrect"),
    Column("gpqa", "GPQA", "gpqa", "accuracy"),
    Column("aime25", "AIME25", "aime25", "accuracy"),
)


@dataclass(frozen=True)
class Cell:
    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    note: str = "value [95% bootstrap CI]"


def _mode_doc(doc: dict, mode: str) -> dict:
    return doc.get("modes", {}).get(mode, {})


def columns_for(summaries: dict[str, dict[str, dict]], mode: str = "main") -> tuple[Column, ...]:
    """The figures of every benchmark evaluated (in benchmark order), then per item group where there are groups."""
    found: dict[str, dict] = {}
    for by_bench in summaries.values():
        for bench, doc in by_bench.items():
            if _mode_doc(doc, mode):
                found.setdefault(bench, _mode_doc(doc, mode))
    columns = []
    for bench in sorted(found, key=lambda b: (list(BENCH_TITLES).index(b) if b in BENCH_TITLES else 99, b)):
        entry, title = found[bench], BENCH_TITLES.get(bench, bench)
        figures = FIGURES_BY_KIND.get(entry.get("kind", ""), tuple(entry.get("figures", {})))
        columns += [Column(f"{bench}_{fig}", f"{title} {FIGURE_TITLES.get(fig, fig)}", bench, fig) for fig in figures]
        for group in sorted({g for by in summaries.values() for g in _mode_doc(by.get(bench, {}), mode)
                             .get("groups", {})}):
            columns += [Column(f"{bench}_{group}_{fig}", f"{title} [{group}] {FIGURE_TITLES.get(fig, fig)}",
                               bench, fig, group) for fig in figures if fig != "f_score"]
    return tuple(columns)


def build_table(summaries: dict[str, dict[str, dict]], columns: tuple[Column, ...] | None = None,
                mode: str = "main", title: str = "") -> Table:
    """``summaries[label][benchmark]`` = a summary.json document; missing runs/figures give empty cells."""
    columns = columns_for(summaries, mode) if columns is None else columns
    rows = []
    for label, by_bench in summaries.items():
        cells = []
        for col in columns:
            entry = _mode_doc(by_bench.get(col.benchmark, {}), mode)
            if col.group is not None:
                entry = entry.get("groups", {}).get(col.group, {})
            fig = entry.get("figures", {}).get(col.figure)
            cells.append(Cell(fig["value"], fig["ci_low"], fig["ci_high"]) if fig else Cell())
        rows.append((label, tuple(cells)))
    return Table(title, tuple(columns), tuple(rows))


def paper_table(paper_model: str) -> Table:
    """The paper's published Base and KnowRL rows of ``paper_model``, as their own table."""
    if paper_model not in PAPER_RESULTS:
        raise InputError(f"unknown paper model {paper_model!r}; choose one of {', '.join(PAPER_RESULTS)}")
    rows = tuple((f"{paper_model} {MODEL_NAMES[method]}",
                  tuple(Cell(values.get(col.key)) for col in PAPER_COLUMNS))
                 for method, values in PAPER_RESULTS[paper_model].items())
    return Table(f"Published results (paper), {paper_model}", PAPER_COLUMNS, rows, PAPER_SETUP)


def sources_rows(summaries: dict[str, dict[str, dict]]) -> list[dict[str, str]]:
    """Per table row: the model, what it was trained on, the grader and the fact verifier (from provenance)."""
    rows = []
    for label, by_bench in summaries.items():
        doc = next(iter(by_bench.values()), {})
        model = doc.get("model") or {}
        trained = _training(model.get("checkpoint"))
        rows.append({"row": MODEL_NAMES.get(label, label), "model": _model_name(model), **trained,
                     "grader": _grader_name(doc.get("grader") or {}),
                     "data": ", ".join(sorted({f"{b}: {Path(str((d.get('benchmark') or {}).get('path', '?'))).name} "
                                               f"({(d.get('benchmark') or {}).get('evaluated', '?')} items)"
                                               for b, d in by_bench.items()}))})
    return rows


def _model_name(model: dict) -> str:
    """The model's folder or file name; for a checkpoint, the base model it was trained from + the checkpoint."""
    inner = model.get("model")
    ident = (inner.get("path") or inner.get("name")) if isinstance(inner, dict) else inner
    name = model.get("name") or model.get("path") or ident or "?"
    if model.get("checkpoint"):
        return f"{Path(str(_base_model(model['checkpoint']) or name)).name} + {model['checkpoint']}"
    return Path(str(name)).name


def _base_model(checkpoint: str, hops: int = 3) -> str | None:
    """The base policy of a training run (SFT: base_model; GRPO: that of its SFT start), from provenance.json."""
    path = Path(checkpoint) / "provenance.json"
    if hops == 0 or not path.is_file():
        return None
    record = read_json(path)
    return record.get("base_model") or (_base_model(record["sft_init"], hops - 1) if record.get("sft_init") else None)


def _grader_name(grader: dict) -> str:
    judge = grader.get("judge")
    if judge:
        model = judge.get("model") or {}
        ident = model.get("path") or model.get("name") or ""
        return f"{judge.get('backend', '?')} judge" + (f" ({Path(str(ident)).name})" if ident else "")
    return str(grader.get("name", "?"))


def _training(checkpoint: str | None) -> dict[str, str]:
    """What a checkpoint was trained on and, for GRPO, the fact verifier of its reward (its provenance.json)."""
    if not checkpoint or not (Path(checkpoint) / "provenance.json").is_file():
        return {"trained on": "-", "fact verifier": "-"}
    record = read_json(Path(checkpoint) / "provenance.json")
    data = record.get("data") or {}
    files = [f"{Path(str(v.get('path', k))).name}" for k, v in data.items()
             if isinstance(v, dict) and v.get("path") and not str(v["path"]).endswith("SHA256SUMS")]  # not the init
    card = record.get("reward_card") or {}
    facts = card.get("facts") or {}
    verifier = (facts.get("verifier") or {}).get("backend")
    measure = facts.get("support_measure")
    stage = record.get("stage", "?")
    reward = f", reward {card.get('variant')} (abstain {card.get('values', {}).get('abstain_value')})" if card else ""
    return {"trained on": f"{stage}: {', '.join(files) or '?'}{reward}",
            "fact verifier": f"{verifier} ({measure})" if verifier else "-"}


def _ours(cell: Cell, dash: str = "—") -> str:
    if cell.value is None:
        return dash
    if cell.low is None:
        return f"{cell.value:.2f}"
    return f"{cell.value:.2f} [{cell.low:.2f}, {cell.high:.2f}]"


def _row_name(label: str) -> str:
    return MODEL_NAMES.get(label, label)


def render_markdown(table: Table) -> str:
    head = ["Model", *(c.title for c in table.columns)]
    lines = [f"### {table.title}", ""] if table.title else []
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([_row_name(label), *(_ours(c) for c in cells)]) + " |" for label, cells in table.rows]
    return "\n".join(lines + ["", table.note]) + "\n"


def render_sources_markdown(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["### What produced each row", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h].replace("|", "/") for h in head) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def render_csv(table: Table) -> str:
    """One row per (model, column): machine-readable, with the CI bounds apart."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "column", "benchmark", "group", "figure", "value", "ci_low", "ci_high"])
    for label, cells in table.rows:
        for col, cell in zip(table.columns, cells, strict=True):
            writer.writerow([label, col.key, col.benchmark, col.group or "", col.figure, *(
                "" if v is None else f"{v:.2f}" for v in (cell.value, cell.low, cell.high))])
    return buffer.getvalue()


def _latex_escape(text: str) -> str:
    for char, repl in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, repl)
    return text


def render_latex(table: Table) -> str:
    """A booktabs tabular; cells as ``value {\\scriptsize[lo, hi]}``."""
    head = [_latex_escape(h) for h in ("Model", *(c.title for c in table.columns))]
    lines = [r"\begin{tabular}{l" + "r" * (len(head) - 1) + "}", r"\toprule", " & ".join(head) + r" \\",
             r"\midrule"]
    for label, cells in table.rows:
        row = [_latex_escape(_row_name(label))]
        for cell in cells:
            row.append("--" if cell.value is None else f"{cell.value:.2f}" if cell.low is None else
                       f"{cell.value:.2f} {{\\scriptsize[{cell.low:.2f}, {cell.high:.2f}]}}")
        lines.append(" & ".join(row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines.insert(0, f"% {table.note}")
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
