"""``knowrl judge grade|agree|command|run`` with the model-free rule backend (no server needed)."""

from __future__ import annotations

import json
import sys

import pytest

from knowrl.cli import main

ROWS = [
    {"id": "a", "question": "Capital of France?", "gold": "Paris", "prediction": "Paris"},
    {"id": "b", "question": "Author of Hamlet?", "gold": "William Shakespeare", "prediction": "Dickens"},
    {"id": "c", "question": "End of WW2?", "gold": "1945", "prediction": "I don't know."},
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_grade_writes_grades_and_resumes(tmp_path, capsys):
    items, out = _write(tmp_path / "items.jsonl", ROWS[:2]), tmp_path / "out.jsonl"
    assert main(["judge", "grade", "--backend", "rule", "--input", str(items), "--output", str(out)]) == 0
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["grade"]) for r in first] == [("a", "CORRECT"), ("b", "INCORRECT")]
    assert first[0]["reason"] == "gold found"
    _write(items, ROWS)
    capsys.readouterr()
    stats = tmp_path / "stats.json"
    assert main(["judge", "grade", "--backend", "rule", "--input", str(items), "--output", str(out),
                 "--stats", str(stats)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["graded"] == 3 and json.loads(stats.read_text())["stats"]["items"] == 1  # only 'c' re-graded
    assert [json.loads(line)["grade"] for line in out.read_text().splitlines()] == \
        ["CORRECT", "INCORRECT", "NOT_ATTEMPTED"]


def test_grade_rejects_malformed_items(tmp_path, capsys):
    items = _write(tmp_path / "items.jsonl", [{"id": 1, "question": "q", "gold": "g"}])
    assert main(["judge", "grade", "--backend", "rule", "--input", str(items),
                 "--output", str(tmp_path / "o.jsonl")]) == 2
    assert "lacks string field(s) prediction" in capsys.readouterr().err


def test_agree_rule_with_itself(tmp_path, capsys):
    items = _write(tmp_path / "items.jsonl", ROWS)
    report_path = tmp_path / "agree.json"
    assert main(["judge", "agree", "--a", "rule", "--b", "rule", "--input", str(items),
                 "--output", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["agreement"] == 1.0 and report["kappa"] == 1.0 and report["compared"] == 3
    assert "Cohen's kappa 1.0" in capsys.readouterr().out


def test_command_prints_the_server_command(capsys):
    assert main(["judge", "command", "--backend", "vllm", "--set", "judge.model=/m/Qwen", "--set",
                 "judge.port=8123"]) == 0
    assert capsys.readouterr().out.strip() == (
        "vllm serve /m/Qwen --host 127.0.0.1 --port 8123 --served-model-name judge --max-model-len 4096 "
        "--gpu-memory-utilization 0.3 --seed 42 --tensor-parallel-size 1")
    assert main(["judge", "command", "--backend", "rule"]) == 2


def test_run_without_a_server_backend_just_runs(tmp_path):
    marker = tmp_path / "ran"
    code = main(["judge", "run", "--backend", "rule", "--", sys.executable, "-c",
                 f"open({str(marker)!r}, 'w').write('ok')"])
    assert code == 0 and marker.read_text() == "ok"


def test_serve_refuses_backends_without_a_server(capsys):
    assert main(["judge", "serve", "--backend", "rule"]) == 2
    assert "has no server" in capsys.readouterr().err


@pytest.mark.llamacpp
def test_run_holds_a_llamacpp_server_for_the_command(tiny_gguf, tmp_path):
    pytest.importorskip("llama_cpp")
    out = tmp_path / "url.txt"
    script = f"import os; open({str(out)!r}, 'w').write(os.environ['KNOWRL_JUDGE_URL'])"
    code = main(["judge", "run", "--backend", "llamacpp", "--set", f"judge.log_dir={tmp_path}", "--",
                 sys.executable, "-c", script])
    assert code == 0 and out.read_text().startswith("http://127.0.0.1:") and out.read_text().endswith("/v1")
