"""``knowrl judge grade|agree|command|run`` with the model-free rule backend, and ``grade`` killed mid-run
against the stand-in server (slowed down so the kill lands between chunks)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowrl.cli import main
from knowrl.judge.servers import ManagedServer, vllm_command

FAKE = Path(__file__).with_name("fake_vllm.py")
REPO = Path(__file__).resolve().parents[2]

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
    assert not (tmp_path / "out.jsonl.partial").exists()


@pytest.fixture
def slow_server(tmp_path):
    """The stand-in server answering each completion after 0.5 s."""
    settings = {"executable": f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))}", "served_name": "judge",
                "max_model_len": 4096, "gpu_memory_utilization": 0.3, "seed": 1, "tensor_parallel_size": 1}
    with ManagedServer("vllm", lambda port: vllm_command("m", settings, port), "/health",
                       log_path=tmp_path / "server.log", startup_timeout_s=20,
                       env={"FAKE_VLLM_DELAY_S": "0.5"}) as server:
        yield server.url + "/v1"


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def test_grade_killed_mid_run_resumes_from_its_journal(slow_server, tmp_path, capsys):
    rows = [{"id": f"q{i}", "question": f"Question {i}?", "gold": "Paris", "prediction": "Paris"} for i in range(8)]
    items, out = _write(tmp_path / "items.jsonl", rows), tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.partial"
    args = ["judge", "grade", "--backend", "vllm", "--input", str(items), "--output", str(out), "--chunk", "2",
            "--set", f"judge.base_url={slow_server}", "--set", "judge.cache=null"]
    run = subprocess.Popen([sys.executable, "-m", "knowrl", *args], cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_lines(journal)) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    run.kill()  # after its first chunk (or at the deadline: then the asserts below say so)
    run.wait(timeout=10)
    kept = _lines(journal)
    assert 2 <= len(kept) < 8 and len(kept) % 2 == 0, (kept, run.stderr.read().decode()[-2000:])
    assert not out.exists()  # the output appears once, complete
    with open(journal, "a") as fh:
        fh.write('{"id": "q7", "grade": "INCOR')  # what a kill in the middle of a write leaves
    capsys.readouterr()
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed_from_journal"] == len(kept) and summary["dropped_partial_line"] is True
    assert summary["calls"] == 8 - len(kept) and summary["graded"] == 8
    final = [json.loads(line) for line in _lines(out)]
    assert [r["id"] for r in final] == [f"q{i}" for i in range(8)] and {r["grade"] for r in final} == {"CORRECT"}
    assert not journal.exists()


def test_grade_refuses_a_corrupt_journal(tmp_path, capsys):
    items, out = _write(tmp_path / "items.jsonl", ROWS), tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_text('garbage\n{"id": "a", "grade": "CORRECT"}\n')
    assert main(["judge", "grade", "--backend", "rule", "--input", str(items), "--output", str(out)]) == 2
    assert "out.jsonl.partial:1: invalid JSON" in capsys.readouterr().err and not out.exists()


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
