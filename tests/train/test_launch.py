"""Launching a training run across processes (``knowrl.train.launch``): when ``knowrl train`` relaunches itself, the
``accelerate launch`` command and environment, the GPUs a job asks for, the Accelerate config of every strategy, and
the ``trl vllm-serve`` server of a server-mode GRPO run against a stand-in (tests/train/fake_trl.py): command line,
readiness, crash, timeout, stop, and what the ranks receive. ~25 s (one two-rank launch)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowrl.config import load_config
from knowrl.errors import ConfigError
from knowrl.judge.servers import probe
from knowrl.train import launch

REPO = Path(__file__).resolve().parents[2]
FAKE_TRL = f"{sys.executable} {REPO / 'tests' / 'train' / 'fake_trl.py'}"
SERVER = ["grpo.generation.backend=vllm", "grpo.generation.vllm_mode=server",
          "grpo.generation.vllm_server.tensor_parallel_size=2"]


@pytest.fixture(autouse=True)
def _outside_a_launch(monkeypatch):
    for var in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("overrides, section, on_gpu, launches, gpus", [
    ([], "sft", False, False, 0),                                     # defaults: one CPU process, no launch
    ([], "sft", True, False, 1),                                      # one process of a GPU run: one GPU
    (["train.processes=2"], "sft", False, True, 0),                   # two CPU ranks: launched, no GPU asked
    (["train.processes=4"], "grpo", True, True, 4),                   # four GPU ranks
    (["train.processes=2", *SERVER], "grpo", True, True, 4),          # 2 training GPUs + a tensor-parallel-2 server
    (SERVER, "grpo", True, True, 3),                                  # one rank, but a server to start: launched
    ([*SERVER, "grpo.generation.vllm_server_url=http://127.0.0.1:8000"], "grpo", True, False, 1),  # external server
    (SERVER, "sft", True, False, 1),                                  # the vLLM server is GRPO's only
])
def test_launch_decision_and_gpus_per_job(overrides, section, on_gpu, launches, gpus):
    config = load_config(overrides=overrides)
    assert launch.needs_launch(config, section) is launches
    assert launch.gpus_per_job(config, section, on_gpu) == gpus


def test_no_relaunch_inside_a_launch(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "0")                             # set by accelerate / torchrun for every rank
    assert not launch.needs_launch(load_config(overrides=["train.processes=2", *SERVER]), "grpo")


@pytest.mark.parametrize("strategy, cuda, expected", [
    ("auto", False, "cpu"),                                           # no CUDA: gloo ranks
    ("auto", True, "ddp"),                                            # CUDA: DistributedDataParallel
    ("fsdp", True, "fsdp"),                                           # as configured
    ("cpu", True, "cpu"),                                             # CPU ranks even where CUDA exists
    ("ddp", False, "needs CUDA"),                                     # a GPU strategy without GPUs: refused
    ("zero3", False, "needs CUDA"),
    ("zero2", True, "deepspeed" if importlib.util.find_spec("deepspeed") is None else "zero2"),  # not installed here
])
def test_strategy_resolution(strategy, cuda, expected):
    settings = launch.LaunchSettings(processes=2, strategy=strategy)
    if expected in launch.STRATEGIES:
        assert launch.resolve_strategy(settings, cuda) == expected
    else:
        with pytest.raises(ConfigError, match=expected):
            launch.resolve_strategy(settings, cuda)


@pytest.mark.parametrize("strategy, distributed_type, extra", [
    ("ddp", "MULTI_GPU", {}),
    ("fsdp", "FSDP", {"fsdp_config": {"fsdp_version": 2, "fsdp_state_dict_type": "FULL_STATE_DICT"}}),
    ("zero2", "DEEPSPEED", {"deepspeed_config": {"zero_stage": 2}}),
    ("zero3", "DEEPSPEED", {"deepspeed_config": {"zero_stage": 3, "zero3_save_16bit_model": True}}),
    ("cpu", "MULTI_GPU", {"use_cpu": True}),                          # torchrun; ACCELERATE_USE_CPU does the rest
])
def test_accelerate_config_of_every_strategy(strategy, distributed_type, extra):
    from accelerate.commands.config.config_args import load_config_from_file

    path = launch.accelerate_config_file(launch.LaunchSettings(strategy=strategy), strategy)
    parsed = load_config_from_file(str(path))                         # accelerate's own reader accepts it
    assert parsed.distributed_type.value == distributed_type and parsed.mixed_precision == "no"
    for key, value in extra.items():
        got = getattr(parsed, key)
        assert (got.items() >= value.items()) if isinstance(value, dict) else got == value, (key, got)


def test_launch_command_and_environment():
    settings = launch.LaunchSettings(processes=2, strategy="cpu")
    command = launch.launch_command(["-m", "knowrl", "train", "sft", "--out", "o"], settings, "cpu", 29555)
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert command[command.index("--config_file") + 1].endswith("config/accelerate/cpu.yaml")
    flags = dict(zip(command[3::2], command[4::2]))
    assert (flags["--num_processes"], flags["--num_machines"], flags["--main_process_port"]) == ("2", "1", "29555")
    assert command[-6:] == ["-m", "knowrl", "train", "sft", "--out", "o"]
    assert launch.launch_env("cpu", None) == {"ACCELERATE_USE_CPU": "true"}
    assert launch.launch_env("ddp", ["0", "1"]) == {"CUDA_VISIBLE_DEVICES": "0,1"}
    with pytest.raises(ConfigError, match="not found"):
        launch.accelerate_config_file(launch.LaunchSettings(accelerate_config="/nonexistent.yaml"), "ddp")


def test_rank_arguments_reproduce_the_command():
    """Every rank re-parses the arguments `knowrl train` was given (and so resolves the same config)."""
    from knowrl.cli import build_parser
    from knowrl.train.cli import _launch_argv

    argv = ["-v", "train", "grpo", "--data", "d.json", "--init", "results/sft", "--out", "o", "--resume",
            "--config", "a.yaml", "--config", "b.yaml", "--profile", "smoke", "--set", "train.processes=2",
            "--set", "grpo.max_steps=3"]
    first = build_parser().parse_args(argv)
    again = build_parser().parse_args(_launch_argv("grpo", first))
    keep = ("data", "init", "out", "resume", "config", "profile", "overrides", "verbose", "quiet")
    assert {k: getattr(again, k) for k in keep} == {k: getattr(first, k) for k in keep}
    assert again.resume == "auto"


@pytest.mark.parametrize("visible, processes, server, expected", [
    (["0", "1", "2", "3"], 2, 2, (["0", "1"], ["2", "3"])),          # training first, then the server
    (["4", "5", "6"], 2, 1, (["4", "5"], ["6"])),                    # SLURM's ids are kept as given
    (["0", "1", "2", "3"], 1, 1, (["0"], ["1"])),                    # extra GPUs left unused
    (["0", "1"], 2, 1, "need 3 GPUs"),                               # too few: one-line error
])
def test_split_gpus(visible, processes, server, expected):
    if isinstance(expected, str):
        with pytest.raises(ConfigError, match=expected):
            launch.split_gpus(visible, processes, server)
    else:
        assert launch.split_gpus(visible, processes, server) == expected


def test_vllm_server_command_line():
    settings = launch.ServerSettings(tensor_parallel_size=2, gpu_memory_utilization=0.85, executable="trl",
                                     extra_args=["--enforce_eager"])
    assert launch.vllm_server_command(settings, "/m/policy", 8011, 1280) == [
        "trl", "vllm-serve", "--model", "/m/policy", "--host", "127.0.0.1", "--port", "8011",
        "--tensor_parallel_size", "2", "--gpu_memory_utilization", "0.85", "--max_model_len", "1280",
        "--enforce_eager"]


def _stand_in(timeout_s: float = 30) -> launch.ServerSettings:
    return launch.ServerSettings(tensor_parallel_size=2, startup_timeout_s=timeout_s, executable=FAKE_TRL)


def _gone(pid: int, within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_vllm_server_waits_for_health_then_stops(tmp_path, monkeypatch):
    record = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_TRL_RECORD", str(record))
    monkeypatch.setenv("FAKE_TRL_READY_AFTER", "2")                  # /health says 503 twice first
    with launch.vllm_server(_stand_in(), "/m/policy", ["2", "3"], 280, tmp_path / "serve.log") as url:
        assert probe(f"{url}/health")
        seen = json.loads(record.read_text())
        assert seen["CUDA_VISIBLE_DEVICES"] == "2,3"                  # the server's own GPUs
        assert seen["argv"][:3] == ["vllm-serve", "--model", "/m/policy"]
        assert seen["argv"][seen["argv"].index("--max_model_len") + 1] == "280"
    assert _gone(seen["pid"])                                         # process group stopped on exit


@pytest.mark.parametrize("knobs, timeout_s, message", [
    ({"FAKE_TRL_CRASH": "1"}, 30, r"exited with code 1 .*CUDA out of memory"),   # crash: the log tail is quoted
    ({"FAKE_TRL_READY_AFTER": "1000000"}, 2, "was not ready within 2 s"),          # never ready: bounded wait
])
def test_vllm_server_failures_are_one_line_errors(tmp_path, monkeypatch, knobs, timeout_s, message):
    for key, value in knobs.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        with launch.vllm_server(_stand_in(timeout_s), "/m/policy", ["1"], 280, tmp_path / "serve.log"):
            pass


@pytest.mark.timeout(300)
def test_server_mode_launch_gives_ranks_the_server_and_training_gpus(tmp_path, monkeypatch):
    """A server-mode GRPO launch of two ranks on a job holding GPUs 0-3: the stand-in server gets 2,3, the ranks get
    0,1 and the server's URL, which answers from inside each rank."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    config = load_config(overrides=["train.processes=2", *SERVER, f"grpo.generation.vllm_server.executable={FAKE_TRL}"])
    settings = launch.LaunchSettings.from_config(config)
    with launch.launch_context(config, "grpo", "cpu", "/m/policy", tmp_path / "logs") as env:
        assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["ACCELERATE_USE_CPU"] == "true"
        command = launch.launch_command(["-m", "tests.train.rank_env", str(tmp_path)], settings, "cpu", 0)
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240,
                              env={**os.environ, **env, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for record in ranks:
        assert record["WORLD_SIZE"] == "2" and record["CUDA_VISIBLE_DEVICES"] == "0,1"
        assert record["KNOWRL_VLLM_SERVER_URL"] == env[launch.SERVER_URL_ENV] and record["health"] == 200
    assert list((tmp_path / "logs").glob("vllm-serve-*.log"))         # the server's log, for a failed start
