"""Who gets the API key: ``judge.api_key_env`` goes only to the ``openai`` backend's URL; llama.cpp and vLLM
servers, reused by URL or by ``$KNOWRL_JUDGE_URL``, get an Authorization header only from their own key variable.
Checked on the wire: the stand-in server records the header of every completion request it receives."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from knowrl.judge import GradeItem, get_judge
from knowrl.judge.servers import ManagedServer, vllm_command

FAKE = Path(__file__).with_name("fake_vllm.py")
OPENAI_KEY, LOCAL_KEY = "sk-hosted-123", "sk-local-456"


@pytest.fixture(scope="module")
def recorder(tmp_path_factory):
    """A running stand-in server and the file where it appends each request's Authorization header."""
    folder = tmp_path_factory.mktemp("keys")
    headers = folder / "headers.jsonl"
    settings = {"executable": f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))}", "served_name": "judge",
                "max_model_len": 4096, "gpu_memory_utilization": 0.3, "seed": 1, "tensor_parallel_size": 1}
    with ManagedServer("vllm", lambda port: vllm_command("m", settings, port), "/health",
                       log_path=folder / "server.log", startup_timeout_s=20,
                       env={"FAKE_VLLM_HEADERS": str(headers)}) as server:
        yield server.url + "/v1", headers


CASES = [
    # the hosted API gets its key
    ("openai", {"model": "judge"}, False, f"Bearer {OPENAI_KEY}"),
    # a reused llama.cpp or vLLM server never gets the hosted API's key
    ("llamacpp", {}, False, None),
    ("vllm", {}, False, None),
    # ... nor when it is found through $KNOWRL_JUDGE_URL (what `knowrl judge run` exports)
    ("llamacpp", {}, True, None),
    ("vllm", {}, True, None),
    # a local server's own key variable is sent to it
    ("llamacpp", {"llamacpp": {"api_key_env": "T_LOCAL_KEY"}}, False, f"Bearer {LOCAL_KEY}"),
    ("vllm", {"vllm": {"api_key_env": "T_LOCAL_KEY"}}, True, f"Bearer {LOCAL_KEY}"),
    # its own variable named but unset: no header, not the hosted key
    ("llamacpp", {"llamacpp": {"api_key_env": "T_UNSET_KEY"}}, False, None),
]


@pytest.mark.parametrize("backend, extra, via_env, expected", CASES)
def test_authorization_header_on_the_wire(recorder, monkeypatch, backend, extra, via_env, expected):
    url, headers = recorder
    monkeypatch.setenv("T_OPENAI_KEY", OPENAI_KEY)
    monkeypatch.setenv("T_LOCAL_KEY", LOCAL_KEY)
    monkeypatch.delenv("T_UNSET_KEY", raising=False)
    if via_env:
        monkeypatch.setenv("KNOWRL_JUDGE_URL", url)
    else:
        monkeypatch.delenv("KNOWRL_JUDGE_URL", raising=False)
    cfg = {"backend": backend, "api_key_env": "T_OPENAI_KEY", "cache": None, "base_url": None if via_env else url,
           **extra}
    before = len(headers.read_text().splitlines()) if headers.is_file() else 0
    with get_judge(cfg) as judge:
        assert judge.server is None  # reused, nothing started
        assert judge.grade([GradeItem("Capital of France?", "Paris", "Paris")])[0].grade is not None
    seen = [json.loads(line) for line in headers.read_text().splitlines()[before:]]
    assert seen == [expected]
