"""Managed servers die with their owner: a SIGKILLed parent leaves no server process group behind (no orphaned
GPU memory). ``fake_vllm.py`` stands in for vLLM, with a worker in its group as vLLM has; one test uses the real
llama.cpp server under ``knowrl judge run``."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowrl.judge.servers import ManagedServer, vllm_command

FAKE = Path(__file__).with_name("fake_vllm.py")
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads process groups from /proc")

# A parent that starts a managed stand-in server, reports the group, then waits to be killed.
PARENT = """
import json, os, sys, time
from knowrl.judge.servers import ManagedServer, vllm_command
settings, report, log = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
server = ManagedServer("vllm", lambda port: vllm_command("m", settings, port), "/health", log_path=log,
                       startup_timeout_s=20).start()
with open(report + ".tmp", "w") as fh:
    json.dump({"pgid": server.process.pid, "watchdog": server.watchdog.pid}, fh)
os.replace(report + ".tmp", report)
time.sleep(600)
"""


def live_members(pgid: int) -> list[int]:
    """Pids of the processes in group ``pgid`` that still run (zombies hold no memory and are left out)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.05) -> float:
    """Seconds until ``predicate()`` holds; fails the test with ``what`` after ``timeout_s``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"{what} not within {timeout_s:g} s")
        time.sleep(interval_s)
    return time.monotonic() - start


def fake_settings() -> dict:
    return {"executable": f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE))}", "served_name": "judge",
            "max_model_len": 4096, "gpu_memory_utilization": 0.3, "seed": 1, "tensor_parallel_size": 1}


def test_stop_ends_the_whole_group_and_the_watchdog(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_WORKER", str(tmp_path / "worker.pid"))
    server = ManagedServer("vllm", lambda port: vllm_command("m", fake_settings(), port), "/health",
                           log_path=tmp_path / "server.log", startup_timeout_s=20).start()
    pgid, watchdog = server.process.pid, server.watchdog
    wait_for(lambda: (tmp_path / "worker.pid").is_file(), 10, "the stand-in's worker")
    worker = int((tmp_path / "worker.pid").read_text())
    assert sorted(live_members(pgid)) == sorted([pgid, worker]) and running(watchdog.pid)
    server.stop()
    assert live_members(pgid) == []  # the worker too, though only the leader is our child
    assert watchdog.poll() is not None and server.watchdog is None


def test_sigkilled_parent_takes_the_server_group_with_it(tmp_path):
    report, worker_file = tmp_path / "report.json", tmp_path / "worker.pid"
    env = {**os.environ, "FAKE_VLLM_WORKER": str(worker_file)}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, json.dumps(fake_settings()), str(report),
                               str(tmp_path / "server.log")], env=env, cwd=REPO, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: report.is_file() or parent.poll() is not None, 30, "the parent's server")
        assert report.is_file(), parent.stderr.read().decode()[-2000:]
        started = json.loads(report.read_text())
        wait_for(worker_file.is_file, 10, "the stand-in's worker")
        worker = int(worker_file.read_text())
        assert sorted(live_members(started["pgid"])) == sorted([started["pgid"], worker])
        parent.kill()  # SIGKILL: no atexit, no finally, no signal handler runs in the parent
        parent.wait(timeout=10)
        gone_after = wait_for(lambda: not live_members(started["pgid"]), 15, "server group gone after SIGKILL")
        wait_for(lambda: not running(started["watchdog"]), 5, "watchdog exit")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
    assert gone_after < 10


@pytest.mark.llamacpp
@pytest.mark.timeout(300)
def test_sigkilled_judge_run_stops_its_llamacpp_server(tiny_gguf, tmp_path):
    pytest.importorskip("llama_cpp")
    report = tmp_path / "held.json"
    script = (f"import json, os, time; open({str(report)!r} + '.tmp', 'w').write(json.dumps("
              f"{{'url': os.environ['KNOWRL_JUDGE_URL'], 'pid': os.getpid()}})); "
              f"os.replace({str(report)!r} + '.tmp', {str(report)!r}); time.sleep(600)")
    knowrl = subprocess.Popen([sys.executable, "-m", "knowrl", "judge", "run", "--backend", "llamacpp",
                               "--set", f"judge.log_dir={tmp_path}", "--set", "judge.startup_timeout_s=120",
                               "--", sys.executable, "-c", script], cwd=REPO, stderr=subprocess.PIPE)
    command_pid = None
    try:
        wait_for(lambda: report.is_file() or knowrl.poll() is not None, 150, "the held llama.cpp server")
        assert report.is_file(), knowrl.stderr.read().decode()[-2000:]
        held = json.loads(report.read_text())
        command_pid = held["pid"]
        server_pid = next(int(p.parent.name) for p in Path("/proc").glob("[0-9]*/cmdline")
                          if b"llama_cpp.server" in _read(p) and _ppid(int(p.parent.name)) == knowrl.pid)
        assert live_members(server_pid) == [server_pid]  # its own group, led by the server
        knowrl.kill()
        knowrl.wait(timeout=10)
        gone_after = wait_for(lambda: not live_members(server_pid), 15, "llama.cpp server gone after SIGKILL")
    finally:
        if knowrl.poll() is None:
            knowrl.kill()
            knowrl.wait(timeout=10)
        if command_pid is not None and running(command_pid):
            os.kill(command_pid, signal.SIGKILL)  # the held command is the caller's business, not the server's
    assert gone_after < 10


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _ppid(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
