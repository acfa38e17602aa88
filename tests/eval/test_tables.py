"""Table renderers against golden files, table assembly, the write_tables/write_plots folders and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from knowrl.artifact import verify_sums
from knowrl.cli import main
from knowrl.errors import InputError
from knowrl.eval import tables
from knowrl.eval.report import write_plots, write_tables

GOLDEN = Path(__file__).parent / "fixtures" / "golden"
UPDATE = os.environ.get("KNOWRL_UPDATE_GOLDEN") == "1"  # regenerate after an intended format change


def _fig(value, low, high):
    return {"value": value, "ci_low": low, "ci_high": high}


def _summary(kind, figures, avg=None):
    modes = {"main": {"kind": kind, "figures": figures}}
    if avg:
        modes["avg@5"] = {"kind": kind, "figures": avg}
    return {"label": "x", "modes": modes, "model": {"path": "m"}, "grader": {"name": "g"},
            "benchmark": {"sha256": "0" * 64}}


SUMMARIES = {
    "base": {
        "simpleqa": _summary("qa", {"correct": _fig(12.0, 8.5, 15.5), "incorrect": _fig(80.0, 75.25, 84.5),
                                    "not_attempted": _fig(8.0, 5.0, 11.0), "f_score": _fig(12.5, 9.0, 16.0)},
                             avg={"incorrect": _fig(81.2, 77.0, 85.0)}),
        "truthfulqa": _summary("truthfulqa", {"rouge_acc": _fig(50.0, 44.0, 56.0), "bleu_acc": _fig(47.333, 41.0, 53.0)}),
    },
    "sft": {"gpqa": _summary("mcq", {"accuracy": _fig(35.0, 28.0, 42.0)})},
    "knowrl": {
        "simpleqa": _summary("qa", {"correct": _fig(14.0, 10.0, 18.0), "incorrect": _fig(60.0, 54.0, 66.0),
                                    "not_attempted": _fig(26.0, 21.0, 31.0), "f_score": _fig(17.9, 13.0, 22.0)}),
        "aime25": _summary("math", {"accuracy": _fig(30.0, 13.33, 46.67)}),
    },
}


@pytest.mark.parametrize("ext", ["md", "csv", "tex"])
def test_renderers_match_golden(ext):
    table = tables.build_table(SUMMARIES, title="Results")
    text = tables.RENDERERS[ext](table)
    golden = GOLDEN / f"results.{ext}"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_build_table_cells_and_columns_follow_what_was_evaluated():
    table = tables.build_table(SUMMARIES)
    assert [label for label, _ in table.rows] == ["base", "sft", "knowrl"]
    keys = [c.key for c in table.columns]
    assert keys == ["simpleqa_correct", "simpleqa_incorrect", "simpleqa_not_attempted", "simpleqa_f_score",
                    "truthfulqa_rouge_acc", "truthfulqa_bleu_acc", "gpqa_accuracy", "aime25_accuracy"]
    base = dict(zip(keys, table.rows[0][1]))
    assert base["simpleqa_incorrect"] == tables.Cell(80.0, 75.25, 84.5)
    assert base["gpqa_accuracy"] == tables.Cell()                 # base did not run GPQA: empty, never a paper value
    assert "paper" not in tables.render_markdown(table).lower()   # published numbers live in their own table


def test_item_groups_get_their_own_columns():
    grouped = {"knowrl": {"qa": _summary("qa", {"incorrect": _fig(30.0, 20.0, 40.0)})}}
    grouped["knowrl"]["qa"]["modes"]["main"]["groups"] = {
        "known": {"items": 10, "figures": {"correct": _fig(70.0, 40.0, 90.0), "incorrect": _fig(20.0, 0.0, 40.0),
                                           "not_attempted": _fig(10.0, 0.0, 30.0), "f_score": _fig(1, 0, 2)}},
        "unknown": {"items": 10, "figures": {"incorrect": _fig(40.0, 10.0, 70.0)}}}
    table = tables.build_table(grouped)
    titles = [c.title for c in table.columns]
    assert "QA [known] correct %" in titles and "QA [unknown] incorrect %" in titles
    assert not any("[known] F" in t for t in titles)                                  # F needs both rates
    cells = dict(zip(titles, table.rows[0][1]))
    assert cells["QA [known] correct %"] == tables.Cell(70.0, 40.0, 90.0)
    assert cells["QA [unknown] correct %"] == tables.Cell()


def test_paper_table_is_separate_and_labelled():
    paper = tables.paper_table("Skywork-OR1-7B-Preview")
    assert [label for label, _ in paper.rows] == ["Skywork-OR1-7B-Preview Base", "Skywork-OR1-7B-Preview KnowRL"]
    assert dict(zip([c.key for c in paper.columns], paper.rows[0][1]))["gpqa"] == tables.Cell(37.37)
    text = tables.render_markdown(paper)
    assert "not produced by this run" in text and "same method" not in text
    with pytest.raises(InputError, match="unknown paper model"):
        tables.paper_table("GPT-5")


def _run_folders(root: Path) -> dict[str, str]:
    runs = {}
    for label, by_bench in SUMMARIES.items():
        for bench, doc in by_bench.items():
            folder = root / label / bench
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps(doc), encoding="utf-8")
        runs[label] = str(root / label)
    return runs


def test_write_tables_folder(tmp_path):
    runs = _run_folders(tmp_path / "runs")
    written = write_tables(runs, tmp_path / "tables", "DeepSeek-R1-Distill-Qwen-7B")
    names = sorted(p.name for p in written)
    assert "results.md" in names and "results_avg5.tex" in names and "paper.csv" in names
    assert verify_sums(tmp_path / "tables").ok
    text = (tmp_path / "tables" / "results.md").read_text()
    assert text.index("### This run (main)") < text.index("### What produced each row") \
        < text.index("### Published results (paper), DeepSeek-R1-Distill-Qwen-7B")
    prov = json.loads((tmp_path / "tables" / "provenance.json").read_text())
    assert {s["label"] for s in prov["sources"]} == {"base", "sft", "knowrl"}
    assert all(len(s["summary_sha256"]) == 64 and "grader" in s for s in prov["sources"])


def test_write_plots(tmp_path):
    runs = _run_folders(tmp_path / "runs")
    metrics = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "reward": 0.1 * s, "rewards/format_reward/mean": 1.0, "kl": 0.01 * s,
             "completion_length": 30 + s, "refusal_rate": 0.5} for s in range(1, 6)]
    rows.append({"step": 6, "reward": 0.7})  # later rows may lack columns
    metrics.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    written = write_plots(tmp_path / "plots", runs, metrics, "DeepSeek-R1-Distill-Qwen-7B")
    assert {p.name for p in written} == {"training_curves.png", "benchmarks_main.png", "benchmarks_avg5.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)
    assert verify_sums(tmp_path / "plots").ok


def test_curve_series_tolerates_missing_columns():
    from knowrl.eval.plots import curve_series

    panels = curve_series([{"step": 1, "kl": 0.1}, {"loss": 3.0}, {"step": 2, "reward": "n/a", "kl": 0.2}])
    assert panels == {"KL": {"kl": ([1.0, 2.0], [0.1, 0.2])}}


def test_running_mean_smooths_the_reward_trend():
    from knowrl.eval.plots import running_mean

    noisy = [1.0, -1.0] * 10 + [2.0, 1.0] * 10     # flat, then higher
    smooth = running_mean(noisy, 10)
    assert smooth[:3] == [1.0, 0.0, pytest.approx(1 / 3)] and smooth[19] == 0.0 and smooth[-1] == 1.5
    with pytest.raises(ValueError):
        running_mean(noisy, 0)


def test_training_curves_draw_the_smoothed_reward(tmp_path, monkeypatch):
    from knowrl.eval import plots

    drawn = []
    monkeypatch.setattr(plots, "running_mean", lambda values, window: drawn.append(window) or list(values))
    rows = [{"step": i, "reward": float(i % 3), "reward/refusal_rate": 0.1} for i in range(1, 21)]
    out = plots.plot_training_curves(rows, tmp_path / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and drawn == [plots.SMOOTHING_WINDOW]
    plots.plot_training_curves(rows[:5], tmp_path / "short.png")   # too few steps to smooth: plain curve only
    assert drawn == [plots.SMOOTHING_WINDOW]


def test_cli_table_and_errors(tmp_path, capsys):
    runs = _run_folders(tmp_path / "runs")
    args = ["eval", "table", "--out", str(tmp_path / "t")] + [f"--run={k}={v}" for k, v in runs.items()]
    assert main(args) == 0
    assert (tmp_path / "t" / "results.md").is_file()
    assert main(["eval", "table", "--out", str(tmp_path / "t2"), "--run", "base"]) == 2
    assert "is not LABEL=DIR" in capsys.readouterr().err
    assert main(["eval", "plot", "--out", str(tmp_path / "p")]) == 2


def test_reward_panel_holds_components_not_counters():
    from knowrl.eval.plots import curve_series

    row = {"step": 1, "reward": -0.5, "reward/format/mean": 0.5, "reward/fact/mean": 0.2,
           "reward/seconds": 0.3, "reward/completions": 4.0, "reward/cache_hit_rate": 0.0}
    panels = curve_series([row])
    assert set(panels["Reward components"]) == {"reward", "reward/format/mean"}
    assert set(panels["Fact reward"]) == {"reward/fact/mean"}


def test_examples_show_transitions_and_each_kind(tmp_path):
    from knowrl.eval.examples import render_examples

    def records(grades):
        return {f"q{i}": {"id": f"q{i}", "question": f"Question {i}?", "gold": "G", "answer": f"a{i}", "grade": g,
                          "meta": {"group": "unknown" if i % 2 else "known"}} for i, g in enumerate(grades)}

    before = records(["INCORRECT", "INCORRECT", "CORRECT", "CORRECT", "NOT_ATTEMPTED"])
    after = records(["NOT_ATTEMPTED", "INCORRECT", "CORRECT", "NOT_ATTEMPTED", "NOT_ATTEMPTED"])
    text = render_examples(before, after, ("SFT", "KnowRL"), k=1)
    assert "| INCORRECT | 0 | 1 | 1 |" in text            # one guess now declined, one still wrong
    assert "| CORRECT | 1 | 0 | 1 |" in text
    assert "#### Now declines (was a wrong answer): 1" in text and "Question 0?" in text
    assert "#### No longer answers correctly: 1" in text and "Question 3? (unknown to the base model)" in text
    with pytest.raises(InputError, match="share no graded items"):
        render_examples(before, {}, ("SFT", "KnowRL"))
