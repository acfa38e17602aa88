"""The llama.cpp backend against the real ``python -m llama_cpp.server`` on the embedded SmolLM2 GGUF.

The tiny model is near chance as a judge: these tests check plumbing (constrained replies parse, failures are
counted, the cache serves repeats), never grading quality. Kept small: 2 CPU cores are shared.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

import pytest

from knowrl.cli import main
from knowrl.judge import Grade, GradeItem, get_generator, get_judge
from knowrl.judge.servers import JudgeServerError, ManagedServer, llamacpp_command

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llamacpp

ITEMS = [
    GradeItem("What is the capital of France?", "Paris", "Paris"),
    GradeItem("Who wrote Hamlet?", "William Shakespeare", "Charles Dickens"),
    GradeItem("In which year did World War II end?", "1945", "I don't know."),
    GradeItem("What is the largest planet?", "Jupiter", "Jupiter, the gas giant"),
    GradeItem("Which element has symbol O?", "Oxygen", "Gold"),
    GradeItem("How many legs does a spider have?", "8", "eight"),
]


def _cfg(tmp_path, **extra) -> dict:
    return {"backend": "llamacpp", "cache": str(tmp_path / "cache.sqlite"), "log_dir": str(tmp_path / "logs"),
            "max_tokens": 48, "concurrency": 2, "startup_timeout_s": 120, **extra}


@pytest.fixture(scope="module")
def server(tiny_gguf, tmp_path_factory):
    """One shared server for the tests that reuse a running server by URL."""
    logs = tmp_path_factory.mktemp("llamacpp")
    settings = {"served_name": "judge", "n_ctx": 2048, "n_threads": 2}
    with ManagedServer("llamacpp", lambda port: llamacpp_command(str(tiny_gguf), settings, port, seed=42),
                       "/v1/models", log_path=logs / "server.log", startup_timeout_s=120) as srv:
        yield srv


def test_start_grade_decompose_stop(tiny_gguf, tmp_path):
    with get_judge(_cfg(tmp_path)) as judge:
        process = judge.server.process
        results = judge.grade(ITEMS[:3])
        facts = judge.decompose(["Paris is the capital of France. The Eiffel Tower is in Paris."])
        stats = judge.stats()
        identity = judge.identity()
    assert process.poll() is not None  # the server's process group is gone
    # grades: a grammar allows only A / B / C (one token each); facts: a JSON schema. Even this tiny model parses.
    assert all(isinstance(r.grade, Grade) for r in results), results
    assert facts[0].facts is not None, facts[0].reason
    assert stats["calls"] == 4 and stats["failed"] == 0 and stats["unparseable"] == 0
    assert stats["latency_p50_s"] > 0 and stats["completion_tokens"] > 0
    assert identity["decoding"]["output_mode"] == {"grade": "choice", "verify": "choice", "atomic_facts": "json"}
    assert identity["model"]["sha256"] == hashlib.sha256(tiny_gguf.read_bytes()).hexdigest()
    assert identity["templates"]["grade"] == "grade-v1"


def test_second_identical_batch_comes_from_the_cache(server, tmp_path):
    cfg = _cfg(tmp_path, base_url=server.url + "/v1")
    with get_judge(cfg) as judge:
        first = judge.grade(ITEMS[:3] + ITEMS[:1])  # a repeat inside the batch is sent once
        assert judge.stats()["calls"] == 3 and judge.stats()["deduplicated"] == 1
    with get_judge(cfg) as judge:  # a new judge (as a new process would) on the same cache file
        second = judge.grade(ITEMS[:3] + ITEMS[:1])
        stats = judge.stats()
    assert stats["calls"] == 0 and stats["cache_hits"] == 4
    assert [r.grade for r in second] == [r.grade for r in first]
    assert all(r.cached and r.grade is not None for r in second), second


def test_server_killed_mid_batch_then_restart_resumes(tmp_path):
    cfg = _cfg(tmp_path, concurrency=1, retries=1, backoff_s=0.01, breaker_threshold=2, timeout_s=30)
    judge = get_judge(cfg)
    server = judge.server

    batch = ITEMS[:4]
    graded, killed = threading.Event(), threading.Event()

    def kill_after_first_call(deadline_s: float = 120.0):
        """Kill the server once a first call has succeeded; give up when the batch ends or at the deadline."""
        deadline = time.monotonic() + deadline_s
        while judge.stats()["calls"] < 1:
            if graded.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.05)
        server.kill()
        killed.set()

    killer = threading.Thread(target=kill_after_first_call, daemon=True)
    killer.start()
    try:
        results = judge.grade(batch)
        stats = judge.stats()
    finally:
        graded.set()
        killer.join(timeout=30)
        judge.close()
    assert killed.is_set(), f"the server never answered a first call, so nothing was killed mid-batch: {results}"
    failed = [r for r in results if r.reason and r.reason.startswith("failed")]
    kept = [r for r in results if r.grade is not None]
    assert len(kept) >= 1 and failed, results
    assert stats["failed"] == len(failed) and set(stats["failures"]) <= {"connection", "circuit_open", "timeout"}

    with get_judge(cfg) as again:  # restart: a fresh server, the same cache
        resumed = again.grade(batch)
        stats = again.stats()
    assert stats["cache_hits"] == len(kept) and stats["calls"] == len(batch) - len(kept)
    assert [r.grade for r in resumed][:len(kept)] == [r.grade for r in results][:len(kept)]
    assert stats["failed"] == 0


def test_cli_grade_resume_and_agree(server, tmp_path, capsys):
    rows = [{"id": f"q{i}", "question": it.question, "gold": it.gold, "prediction": it.prediction}
            for i, it in enumerate(ITEMS[:3])]
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    out = tmp_path / "graded.jsonl"
    flags = ["--set", f"judge.base_url={server.url}/v1", "--set", f"judge.cache={tmp_path / 'c.sqlite'}",
             "--set", "judge.max_tokens=48"]
    assert main(["judge", "grade", "--backend", "llamacpp", "--input", str(items), "--output", str(out),
                 *flags]) == 0
    ungraded_before = sum(json.loads(line)["grade"] is None for line in out.read_text().splitlines())
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))  # one more item: only it (and any null) is graded
    capsys.readouterr()
    assert main(["judge", "grade", "--backend", "llamacpp", "--input", str(items), "--output", str(out),
                 *flags]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["items"] == 3 and summary["calls"] <= 1 + ungraded_before
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in graded] == ["q0", "q1", "q2"]
    assert all(g["grade"] in ("CORRECT", "INCORRECT", "NOT_ATTEMPTED") for g in graded), graded

    assert main(["judge", "agree", "--a", "rule", "--b", "llamacpp", "--input", str(items), *flags]) == 0
    printed = capsys.readouterr().out
    assert "Cohen's kappa" in printed and json.loads(printed.splitlines()[-1])["items"] == 3


def test_generator(server, tmp_path):
    with get_generator(_cfg(tmp_path, base_url=server.url + "/v1")) as gen:
        out = gen.generate([[{"role": "user", "content": "Say hello."}], "The sky is"], max_tokens=6,
                           temperature=0.8, n=2, seed=1)
        stats = gen.stats()
    assert [len(group) for group in out] == [2, 2] and all(t.strip() for group in out for t in group), out
    assert stats["calls"] == 4 and 4 <= stats["completion_tokens"] <= 4 * 6  # one request per sample (no n)


def test_bad_gguf_fails_with_the_log_tail(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(JudgeServerError, match=r"llamacpp server exited with code \d+ .*\|"):
        get_judge(_cfg(tmp_path, llamacpp={"model": str(bad)}))


def test_choice_mode_replies_are_one_allowed_word(server, tmp_path):
    """The grammar leaves the model no way to ramble: every grade and verdict is one allowed token or two."""
    from knowrl.judge import VerifyItem

    with get_judge(_cfg(tmp_path, base_url=server.url + "/v1", max_tokens=None)) as judge:
        grades = judge.grade(ITEMS)
        verdicts = judge.verify([VerifyItem("Paris is in France.", ["Paris is the capital of France."]),
                                 VerifyItem("The Moon is made of cheese.", ["The Moon is rocky."])])
        stats = judge.stats()
    assert all(isinstance(r.grade, Grade) for r in grades) and all(isinstance(v.supported, bool) for v in verdicts)
    assert stats["unparseable"] == 0 and stats["completion_tokens"] <= 2 * stats["calls"], stats
