"""The ``vllm`` backend: exact command line, /health readiness, reuse by URL, start-up failures.

vLLM needs CUDA and cannot be installed here, so ``fake_vllm.py`` stands in for the server process (same CLI
shape and endpoints); the llama.cpp tests exercise the same client against a real server.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from pathlib import Path

import pytest

from knowrl.files import sha256_json
from knowrl.judge import GradeItem, get_generator, get_judge
from knowrl.judge.servers import JudgeServerError, ManagedServer, vllm_command

FAKE = Path(__file__).with_name("fake_vllm.py")


def _cfg(tmp_path: Path, **extra) -> dict:
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text('{"model_type": "qwen2"}')
    vllm = {"executable": f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))}", "served_name": "qwen-judge",
            "max_model_len": 8192, "gpu_memory_utilization": 0.25, "seed": 7, "tensor_parallel_size": 2,
            "extra_args": ["--enforce-eager"]}
    return {"backend": "vllm", "model": str(model), "cache": str(tmp_path / "cache.sqlite"),
            "log_dir": str(tmp_path / "logs"), "startup_timeout_s": 20, "vllm": vllm, **extra}


def test_command_line_is_exact():
    settings = {"served_name": "judge", "max_model_len": 4096, "gpu_memory_utilization": 0.3, "seed": 42,
                "tensor_parallel_size": 1, "extra_args": ["--dtype", "bfloat16"]}
    assert shlex.join(vllm_command("/models/Qwen2.5-7B-Instruct", settings, 8011)) == (
        "vllm serve /models/Qwen2.5-7B-Instruct --host 127.0.0.1 --port 8011 --served-model-name judge "
        "--max-model-len 4096 --gpu-memory-utilization 0.3 --seed 42 --tensor-parallel-size 1 --dtype bfloat16")


def test_starts_waits_for_health_grades_and_stops(tmp_path, monkeypatch):
    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("FAKE_VLLM_ARGV", str(argv_file))
    monkeypatch.setenv("FAKE_VLLM_READY_AFTER", "3")  # /health says 503 three times first
    monkeypatch.setenv("FAKE_VLLM_BODIES", str(tmp_path / "bodies.jsonl"))
    with get_judge(_cfg(tmp_path)) as judge:
        server = judge.server
        argv = json.loads(argv_file.read_text())
        assert argv[argv.index("--port") + 1] == str(server.port) and argv[:2] == ["serve", str(tmp_path / "model")]
        assert argv[argv.index("--tensor-parallel-size") + 1] == "2" and argv[-1] == "--enforce-eager"
        results = judge.grade([GradeItem("Capital of France?", "Paris", "Paris")] * 2)
        assert [r.grade.value for r in results] == ["CORRECT", "CORRECT"]
        assert judge.stats()["calls"] == 1 and judge.stats()["deduplicated"] == 1
        config_sha = hashlib.sha256(b'{"model_type": "qwen2"}').hexdigest()
        assert judge.identity()["model"]["sha256"] == sha256_json([["config.json", config_sha]])  # the contents
        process = server.process
    assert process.poll() is not None  # stopped with its process group
    [body] = [json.loads(line) for line in (tmp_path / "bodies.jsonl").read_text().splitlines()]
    assert body["structured_outputs"] == {"choice": ["A", "B", "C"]} and "response_format" not in body


def test_crash_at_startup_quotes_the_log(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_CRASH", "1")
    with pytest.raises(JudgeServerError, match=r"exited with code 1 .*no CUDA-capable device"):
        get_judge(_cfg(tmp_path))


def test_readiness_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_READY_AFTER", "100000")
    with pytest.raises(JudgeServerError, match=r"not ready within 2 s"):
        get_judge(_cfg(tmp_path, startup_timeout_s=2))


def test_missing_executable(tmp_path):
    cfg = _cfg(tmp_path)
    cfg["vllm"]["executable"] = "/nonexistent/vllm"
    with pytest.raises(JudgeServerError, match="cannot start the vllm server"):
        get_judge(cfg)


def test_reuses_a_running_server_by_url(tmp_path):
    cfg = _cfg(tmp_path)
    argv = lambda port: vllm_command(cfg["model"], cfg["vllm"], port)  # noqa: E731
    with ManagedServer("vllm", argv, "/health", log_path=tmp_path / "shared.log", startup_timeout_s=20) as server:
        with get_judge({**cfg, "base_url": server.url + "/v1"}) as judge:
            assert judge.server is None  # nothing started
            assert judge.grade([GradeItem("q", "Paris", "Paris")])[0].grade.value == "CORRECT"
        with get_generator({**cfg, "base_url": server.url + "/v1"}) as gen:
            out = gen.generate([[{"role": "user", "content": "hi"}]], max_tokens=32, temperature=0.7, n=3)
            assert len(out) == 1 and len(out[0]) == 3
        assert server.alive()
    with pytest.raises(JudgeServerError, match="no vllm server answers"):
        get_judge({**cfg, "base_url": server.url + "/v1", "startup_timeout_s": 1})
