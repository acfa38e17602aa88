"""Training across processes: ``knowrl train sft|grpo`` relaunches itself through ``accelerate launch``.

With ``train.processes`` > 1 the command a user (or a workflow rule) typed runs again as
``python -m accelerate.commands.launch --config_file config/accelerate/<strategy>.yaml --num_processes N -m knowrl
<the same arguments>``; every rank resolves the same config, TRL/transformers shard the data, average the gradients
and (in GRPO) gather the rewards. Global batch = processes x per-device batch x accumulation. Under SLURM the job is
already one ``srun`` step holding the job's GPUs (the slurm-jobstep executor wraps every job in ``srun -n1
--gpus=N``), and accelerate starts the ranks inside it. A GRPO run with vLLM in server mode first starts ``trl
vllm-serve`` on the GPUs after the training ones, waits for its ``/health`` and stops its process group at the end.

Only rank 0 writes shared files (checkpoint seals, summary, merged model, metrics files, reward card); each rank
writes its own reward log file (``knowrl.rewards.log``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from knowrl.errors import ConfigError

log = logging.getLogger(__name__)
STRATEGIES = ("auto", "ddp", "fsdp", "zero2", "zero3", "cpu")
SERVER_URL_ENV = "KNOWRL_VLLM_SERVER_URL"  # the launcher's vLLM server, for every rank's GRPOConfig


@dataclass(frozen=True)
class LaunchSettings:
    """The ``train`` section (schema: config/config.schema.json)."""

    processes: int = 1
    strategy: str = "auto"
    accelerate_config: str | None = None
    main_process_port: int = 0

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ConfigError(f"train.processes must be >= 1 (got {self.processes})")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"train.strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}")

    @classmethod
    def from_config(cls, config: dict) -> "LaunchSettings":
        return cls(**config.get("train", {}))


@dataclass(frozen=True)
class ServerSettings:
    """``grpo.generation.vllm_server``: the ``trl vllm-serve`` process of a server-mode GRPO run."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    startup_timeout_s: float = 900.0
    executable: str = "trl"
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: dict) -> "ServerSettings":
        return cls(**config["grpo"]["generation"].get("vllm_server", {}))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """Global rank of this process (0 outside a launch)."""
    return int(os.environ.get("RANK", "0"))


def in_launch() -> bool:
    """True inside a process started by accelerate/torchrun (it sets LOCAL_RANK)."""
    return "LOCAL_RANK" in os.environ


def is_main_process() -> bool:
    return rank() == 0


@contextlib.contextmanager
def main_process_first() -> Iterator[None]:
    """Rank 0 runs the block first (a GGUF conversion or an adapter merge happens once), the other ranks after it
    (they then find the result). Initialises the process group early, as TRL's own scripts do."""
    if world_size() <= 1:
        yield
        return
    from accelerate import PartialState

    state = PartialState(cpu=os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true")
    with state.main_process_first():
        yield


def plain_cpu_device(trainer) -> None:
    """CPU ranks: accelerate gives each one the device ``cpu:<rank>``, transformers maps a resumed optimizer state to
    that device, and ``torch.load`` rejects "cpu:N" ("don't know how to restore data location"), so a two-process
    CPU run could not resume. Same device, without the index (tensors on "cpu" and "cpu:N" are the same memory)."""
    import torch

    device = trainer.args.device
    if device.type == "cpu" and device.index is not None:
        trainer.args.__dict__["_setup_devices"] = torch.device("cpu")  # the cached_property behind args.device


def global_batch(args) -> int:
    """Sequences (SFT) or completions (GRPO) per optimizer step over all processes."""
    return args.world_size * args.per_device_train_batch_size * args.gradient_accumulation_steps


def starts_vllm_server(config: dict, section: str) -> bool:
    """A GRPO run with vLLM in server mode and no server URL given: the launcher starts one."""
    gen = config["grpo"]["generation"]
    return (section == "grpo" and gen["backend"] == "vllm" and gen["vllm_mode"] == "server"
            and not gen["vllm_server_url"])


def needs_launch(config: dict, section: str) -> bool:
    """Relaunch through accelerate: more than one process, or a vLLM server to start first."""
    if in_launch():
        return False
    return LaunchSettings.from_config(config).processes > 1 or starts_vllm_server(config, section)


def gpus_per_job(config: dict, section: str, on_gpu: bool) -> int:
    """GPUs a training job asks the scheduler for: one per process (+ the vLLM server's), none on CPU."""
    if not on_gpu:
        return 0
    server = ServerSettings.from_config(config).tensor_parallel_size if starts_vllm_server(config, section) else 0
    return LaunchSettings.from_config(config).processes + server


def resolve_strategy(settings: LaunchSettings, cuda: bool) -> str:
    if settings.strategy == "auto":
        return "ddp" if cuda else "cpu"
    if settings.strategy != "cpu" and not cuda:
        raise ConfigError(f"train.strategy {settings.strategy} needs CUDA GPUs (none here); use train.strategy=cpu "
                          "(or auto) for processes on CPU")
    if settings.strategy in ("zero2", "zero3"):
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            raise ConfigError(f"train.strategy {settings.strategy} needs the deepspeed package in the training "
                              "environment (not installed); use train.strategy=ddp or fsdp") from None
    return settings.strategy


def accelerate_config_file(settings: LaunchSettings, strategy: str) -> Path:
    """``train.accelerate_config`` or the project's ``config/accelerate/<strategy>.yaml``."""
    from knowrl.config import config_dir

    path = Path(settings.accelerate_config) if settings.accelerate_config else \
        config_dir() / "accelerate" / f"{strategy}.yaml"
    if not path.is_file():
        raise ConfigError(f"accelerate config {path} not found (train.accelerate_config / train.strategy)")
    return path


def launch_command(program: list[str], settings: LaunchSettings, strategy: str, port: int) -> list[str]:
    """``accelerate launch`` of ``python <program>`` (``["-m", "knowrl", ...]``) on ``settings.processes``
    processes of this node."""
    return [sys.executable, "-m", "accelerate.commands.launch",
            "--config_file", str(accelerate_config_file(settings, strategy)),
            "--num_processes", str(settings.processes), "--num_machines", "1",
            "--main_process_port", str(port), *program]


def launch_env(strategy: str, train_gpus: list[str] | None) -> dict[str, str]:
    """Environment of the launch: CPU ranks (gloo) for the cpu strategy; the training GPUs when a server shares
    the job's GPUs."""
    env: dict[str, str] = {}
    if strategy == "cpu":
        env["ACCELERATE_USE_CPU"] = "true"  # see config/accelerate/cpu.yaml
    if train_gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(train_gpus)
    return env


def split_gpus(visible: list[str], processes: int, server: int) -> tuple[list[str], list[str]]:
    """The job's GPUs: the first ``processes`` train, the next ``server`` serve vLLM."""
    if len(visible) < processes + server:
        raise ConfigError(f"{processes} training process(es) + {server} vLLM server GPU(s) need "
                          f"{processes + server} GPUs; this job sees {len(visible)} ({','.join(visible) or 'none'})")
    return visible[:processes], visible[processes:processes + server]


def visible_gpus() -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES (set by SLURM for a job's GPUs) or all CUDA devices."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def vllm_server_command(settings: ServerSettings, model: str | os.PathLike, port: int, max_model_len: int,
                        host: str = "127.0.0.1") -> list[str]:
    """``trl vllm-serve`` for the GRPO policy (TRL 1.16 runs vLLM's own server with weight sync enabled)."""
    return [*shlex.split(settings.executable), "vllm-serve", "--model", str(model), "--host", host,
            "--port", str(port), "--tensor_parallel_size", str(settings.tensor_parallel_size),
            "--gpu_memory_utilization", str(settings.gpu_memory_utilization),
            "--max_model_len", str(max_model_len), *map(str, settings.extra_args)]


@contextlib.contextmanager
def vllm_server(settings: ServerSettings, model: str | os.PathLike, gpus: list[str], max_model_len: int,
                log_path: str | os.PathLike) -> Iterator[str]:
    """Start ``trl vllm-serve`` on ``gpus``, wait for ``/health`` (bounded), yield its URL, stop its process group."""
    from knowrl.judge.servers import JudgeServerError, ManagedServer

    server = ManagedServer("trl vllm-serve", lambda port: vllm_server_command(settings, model, port, max_model_len),
                           "/health", log_path=log_path, startup_timeout_s=settings.startup_timeout_s,
                           env={"CUDA_VISIBLE_DEVICES": ",".join(gpus)})
    try:
        server.start()
    except JudgeServerError as exc:  # same one-line message, named for what it is here
        raise ConfigError(str(exc)) from None
    log.info("vLLM server for GRPO generation at %s on GPU(s) %s", server.url, ",".join(gpus))
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def launch_context(config: dict, section: str, strategy: str, server_model: str | os.PathLike | None = None,
                   log_dir: str | os.PathLike = "logs/train") -> Iterator[dict[str, str]]:
    """The environment of a launch: CPU ranks for the cpu strategy; with a vLLM server to start, the server running
    on the GPUs after the training ones (serving ``server_model``), its URL and the training GPUs."""
    settings = LaunchSettings.from_config(config)
    if not starts_vllm_server(config, section):
        yield launch_env(strategy, None)
        return
    server = ServerSettings.from_config(config)
    train_gpus, server_gpus = split_gpus(visible_gpus(), settings.processes, server.tensor_parallel_size)
    length = config["grpo"]["max_prompt_length"] + config["grpo"]["max_completion_length"]
    with vllm_server(server, server_model, server_gpus, length,
                     Path(log_dir) / f"vllm-serve-{os.getpid()}.log") as url:
        yield {**launch_env(strategy, train_gpus), SERVER_URL_ENV: url}


def run(argv: list[str], config: dict, section: str, server_model: str | os.PathLike | None = None,
        log_dir: str | os.PathLike = "logs/train") -> int:
    """Launch ``knowrl <argv>`` on ``train.processes`` processes (after starting the vLLM server when the run needs
    one); returns the launch's exit code."""
    import torch

    from knowrl.judge.servers import free_port

    settings = LaunchSettings.from_config(config)
    strategy = resolve_strategy(settings, torch.cuda.is_available())
    command = launch_command(["-m", "knowrl", *argv], settings, strategy, settings.main_process_port or free_port())
    with launch_context(config, section, strategy, server_model, log_dir) as env:
        log.info("launching %d %s process(es): %s", settings.processes, strategy, shlex.join(command))
        return subprocess.run(command, env={**os.environ, **env}, check=False).returncode
