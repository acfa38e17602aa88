"""The locked Python stack as a folder of wheels: what containers/Containerfile installs with no network, and what an
air-gapped bundle carries (``knowrl stage --python-wheels``).

Layout of a wheel folder::

    DIR/*.whl              every distribution of the CPU lock (constraints.txt), wheels only (sdists built here)
    DIR/constraints.txt    the pins used: constraints.txt with torch pinned to its CPU build (``+cpu``)
    DIR/requirements.txt   ``name==version --hash=sha256:...`` per wheel: ``pip install --require-hashes --no-deps``
    DIR/SHA256SUMS         every file above (knowrl verify DIR)

The CPU torch is pinned explicitly: PyPI's default Linux torch is a CUDA build that pulls ~3 GB of nvidia-* wheels,
which the CPU images must not hold (a folder with any is refused). llama-cpp-python comes from the portable wheel
``make test`` compiles (.cache/wheels/llama-cpp-<machine>-portable-*), never from an sdist or a native build.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from knowrl.artifact.checksums import verify_sums, write_sums
from knowrl.config import PROJECT_ROOT
from knowrl.errors import KnowRLError
from knowrl.files import sha256_file, write_text_atomic

CPU_TORCH_LABEL = "+cpu"
CUDA_ONLY = re.compile(r"^(nvidia_|triton-|cuda_)", re.I)  # wheels a CPU image must never hold


def _pin(name: str) -> str:
    for line in (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.split("==")[0].strip().lower().replace("-", "_") == name:
            return line.split("==", 1)[1].strip()
    raise KnowRLError(f"constraints.txt pins no {name}")


def portable_llama_wheel(root: Path = PROJECT_ROOT) -> Path:
    """The portable llama-cpp-python wheel `make test` built for this machine type (the Makefile's folder)."""
    version = _pin("llama_cpp_python")
    found = sorted(root.glob(f".cache/wheels/llama-cpp-{platform.machine()}-portable-*/"
                             f"llama_cpp_python-{version}-*.whl"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise KnowRLError(f"no portable llama-cpp-python {version} wheel under {root}/.cache/wheels; run `make test` "
                          "(it compiles one) first")
    return found[-1]


def download(dest: str | os.PathLike) -> Path:
    """Connected side: ``pip wheel`` the CPU lock into ``dest`` (new or empty), then write requirements.txt and
    SHA256SUMS. Uses pip's own configuration (index, find-links); the CPU torch must be reachable there."""
    root = Path(dest)
    if root.exists() and any(root.iterdir()):
        raise KnowRLError(f"{root} is not empty; stage wheels into a new folder")
    root.mkdir(parents=True, exist_ok=True)
    torch = _pin("torch")
    pins = (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8")
    pins = pins.replace(f"\ntorch=={torch}\n", f"\ntorch=={torch.split('+')[0]}{CPU_TORCH_LABEL}\n")
    write_text_atomic(root / "constraints.txt", pins)
    llama = portable_llama_wheel()
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(root),
           "-c", str(root / "constraints.txt"), "--only-binary", "llama-cpp-python",
           "--find-links", str(llama.parent), f"{PROJECT_ROOT}[llamacpp]"]
    if subprocess.run(cmd).returncode != 0:
        raise KnowRLError("pip wheel of the locked CPU stack failed (see pip's message above); the CPU torch "
                          f"(torch=={torch.split('+')[0]}{CPU_TORCH_LABEL}) must be on pip's index or find-links")
    for own in root.glob("knowrl-*.whl"):  # the image and the bundle carry the checkout's code, not a copy
        own.unlink()
    return seal(root)


def seal(root: Path) -> Path:
    """Write ``requirements.txt`` (each wheel pinned with its sha256) and ``SHA256SUMS``; refuse CUDA wheels."""
    wheels = sorted(root.glob("*.whl"))
    cuda = [w.name for w in wheels if CUDA_ONLY.match(w.name)]
    if cuda:
        raise KnowRLError(f"{root} holds CUDA wheels ({', '.join(cuda[:3])}...): the CPU stack needs torch "
                          f"{CPU_TORCH_LABEL}; remove them and stage again")
    if not any(w.name.startswith(f"torch-{_pin('torch').split('+')[0]}{CPU_TORCH_LABEL}-") for w in wheels):
        raise KnowRLError(f"{root} has no CPU torch wheel (torch=={_pin('torch')}{CPU_TORCH_LABEL})")
    lines = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name}=={version} --hash=sha256:{sha256_file(wheel)}\n")
    write_text_atomic(root / "requirements.txt", "".join(lines))
    write_sums(root)
    return root


def check_sealed(source: str | os.PathLike) -> None:
    """A staged wheel folder must hold requirements.txt and match its SHA256SUMS."""
    if not (Path(source) / "requirements.txt").is_file():
        raise KnowRLError(f"{source} is not a sealed wheel folder (knowrl stage --only-python-wheels): "
                          "no requirements.txt")
    report = verify_sums(source)
    if not report.ok:
        raise KnowRLError(f"{source} is not a sealed wheel folder (knowrl stage --only-python-wheels): "
                          f"{report.summary()}")


def copy_verified(source: str | os.PathLike, dest: Path) -> None:
    """Copy a staged wheel folder after checking it."""
    check_sealed(source)
    shutil.copytree(source, dest)
