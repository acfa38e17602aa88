"""Provenance records: what code, config, data and machine produced an output."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from knowrl.files import sha256_json

TRACKED_PACKAGES = (
    "knowrl", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "faiss-cpu",
    "sentence-transformers", "numpy", "snakemake", "llama_cpp_python", "vllm", "unsloth",
)


# Inside a container there is no git: the workflow exports the checkout's `git describe --always --dirty --abbrev=40`
# (rules/common.smk; Apptainer passes the environment on), `podman run -e` passes it by hand.
COMMIT_ENV = "KNOWRL_COMMIT"
# The image a job ran in: $KNOWRL_IMAGE (its digest, passed by the runner), Apptainer's own $APPTAINER_CONTAINER (the
# .sif path) and the flavour the image build set (containers/Containerfile).
IMAGE_ENVS = ("KNOWRL_IMAGE", "APPTAINER_CONTAINER", "KNOWRL_IMAGE_FLAVOUR")


def git_commit(cwd: str | os.PathLike | None = None) -> dict[str, Any]:
    """Commit hash and whether the tree had uncommitted changes, from the git checkout that holds the code; inside a
    container (no git there) from ``$KNOWRL_COMMIT`` as the runner passed it; ``None`` when neither says."""
    where = Path(cwd or Path(__file__).resolve().parent)
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
        return {"commit": head, "dirty": dirty, "source": "git"}
    except (OSError, subprocess.SubprocessError):
        baked = os.environ.get(COMMIT_ENV, "").strip()
        if baked and baked != "unknown":
            commit, dirty = baked.removesuffix("-dirty"), baked.endswith("-dirty")
            return {"commit": commit, "dirty": dirty, "source": f"${COMMIT_ENV} (no git checkout here)"}
        return {"commit": None, "dirty": None, "source": None}


def describe_commit(cwd: str | os.PathLike) -> str:
    """``git describe --always --dirty --abbrev=40`` of a checkout (the value $KNOWRL_COMMIT carries into
    containers); "unknown" outside a checkout."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=cwd, capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count(),
                            "python": platform.python_version(), "platform": platform.platform()}
    try:
        import torch

        if torch.cuda.is_available():
            info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def provenance(config: dict | None = None, **extra: Any) -> dict[str, Any]:
    """A provenance record; pass data/KB hashes, seeds and wall time as keyword arguments."""
    record: dict[str, Any] = {
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(),
        "packages": package_versions(),
        "hardware": hardware(),
    }
    container = {name: os.environ[name] for name in IMAGE_ENVS if os.environ.get(name)}
    if container:
        record["container"] = container
    if config is not None:
        record["config"] = config
        record["config_sha256"] = sha256_json(config)
    record.update(extra)
    return record
