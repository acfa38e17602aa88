"""Local model servers as context managers: free loopback port, log file, readiness poll, process-group stop.

``ManagedServer`` runs any OpenAI-compatible server command; ``vllm_command`` and ``llamacpp_command`` build the
two the project ships. vLLM answers ``/health``; llama-cpp-python's server has none, so it is polled on
``/v1/models``. A server that dies or stays unready raises one line that quotes the tail of its log. The server
runs in its own process group, watched by ``watchdog.py``, which stops the group when the owning process dies,
even by SIGKILL, so no server (and no GPU memory) outlives its owner.
"""

from __future__ import annotations

import atexit
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from knowrl.errors import KnowRLError

HOST = "127.0.0.1"
WATCHDOG = Path(__file__).with_name("watchdog.py")


class JudgeServerError(KnowRLError):
    """A judge server could not be started or reached."""


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def log_tail(path: str | os.PathLike, lines: int = 8, width: int = 600) -> str:
    """Last non-empty lines of a log joined by `` | `` (fits in a one-line error)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])
    return (tail[-width:] if len(tail) > width else tail) or "(empty log)"


def probe(url: str, timeout_s: float = 2.0) -> bool:
    """True when ``GET url`` answers 200."""
    import httpx

    try:
        return httpx.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(url: str, timeout_s: float, alive: Callable[[], bool] = lambda: True,
                     interval_s: float = 0.5) -> bool:
    """Poll ``url`` until it answers 200 (True), the process dies or the time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if probe(url):
            return True
        if not alive():
            return False
        time.sleep(interval_s)
    return False


class ManagedServer:
    """Start a server command on a loopback port, wait for readiness, stop the whole process group on exit (or,
    through a watchdog process, when this process dies without exiting: SIGKILL, OOM killer)."""

    def __init__(self, name: str, argv_for_port: Callable[[int], list[str]], ready_path: str, *,
                 log_path: str | os.PathLike, startup_timeout_s: float = 600.0, port: int | None = None,
                 env: dict[str, str] | None = None):
        self.name, self.ready_path = name, ready_path
        self.argv_for_port = argv_for_port
        self.log_path = Path(log_path)
        self.startup_timeout_s = startup_timeout_s
        self.port = port or free_port()
        self.env = env
        self.process: subprocess.Popen | None = None
        self.watchdog: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def argv(self) -> list[str]:
        return self.argv_for_port(self.port)

    def start(self) -> "ManagedServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"$ {shlex.join(self.argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True,
                                                env={**os.environ, **(self.env or {})})
            except OSError as exc:
                raise JudgeServerError(f"cannot start the {self.name} server ({self.argv[0]}): {exc}") from None
            atexit.register(self.stop)  # an owner that exits without close() must not leave the server running
            self.watchdog = self._start_watchdog(log)
        if not wait_until_ready(self.url + self.ready_path, self.startup_timeout_s, self.alive):
            code = self.process.poll()
            self.stop()
            state = f"exited with code {code}" if code is not None else \
                f"was not ready within {self.startup_timeout_s:g} s"
            raise JudgeServerError(f"{self.name} server {state} (log {self.log_path}): {log_tail(self.log_path)}")
        return self

    def _start_watchdog(self, log: IO[bytes], grace_s: float = 5.0) -> subprocess.Popen:
        """The process that stops the server's group if this process dies (its own session: a signal to our
        group does not take it down with us)."""
        # -I: isolated, so the script's folder (which has a types.py) does not shadow the standard library
        argv = [sys.executable, "-I", str(WATCHDOG), str(os.getpid()), str(self.process.pid), str(grace_s)]
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as exc:
            self.stop()
            raise JudgeServerError(f"cannot start the {self.name} server's watchdog: {exc}") from None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after ``grace_s``; then end the watchdog."""
        if self.process is None:
            return
        atexit.unregister(self.stop)
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)  # the leader, if it ignored SIGTERM, and any worker it left in the group
        self.process.wait(timeout=grace_s)
        self.process = None
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait(timeout=grace_s)
            self.watchdog = None

    def kill(self) -> None:
        """SIGKILL at once (tests use it to simulate a crash mid-batch)."""
        if self.process is not None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "ManagedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def vllm_command(model: str, settings: dict, port: int) -> list[str]:
    """``vllm serve`` for a staged model with the flags of ``judge.vllm``."""
    argv = shlex.split(settings.get("executable") or "vllm") + [
        "serve", model, "--host", HOST, "--port", str(port),
        "--served-model-name", settings["served_name"],
        "--max-model-len", str(settings["max_model_len"]),
        "--gpu-memory-utilization", str(settings["gpu_memory_utilization"]),
        "--seed", str(settings["seed"]),
        "--tensor-parallel-size", str(settings["tensor_parallel_size"]),
    ]
    return argv + [str(a) for a in settings.get("extra_args") or []]


def llamacpp_command(model: str, settings: dict, port: int, seed: int,
                     python: Sequence[str] | None = None) -> list[str]:
    """``python -m llama_cpp.server`` (flags use underscores) for one GGUF file."""
    argv = list(python or [sys.executable]) + [
        "-m", "llama_cpp.server", "--model", model, "--model_alias", settings["served_name"],
        "--n_ctx", str(settings["n_ctx"]), "--seed", str(seed), "--host", HOST, "--port", str(port)]
    if settings.get("n_threads"):
        argv += ["--n_threads", str(settings["n_threads"])]
    return argv + [str(a) for a in settings.get("extra_args") or []]
