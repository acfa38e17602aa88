"""The CPU image built for real and run offline: Podman (installed by .ci/podman-images as root), a Debian base made
with debootstrap (no registry), the image built with --network none from the staged wheels of the CPU lock, then the
smoke jobs run inside it with --network none beside the same jobs on the host: every data file must be identical.

Measured from nothing (2 cores, load average ~5-7): 607 s = up 168 s (debootstrap + import; apt-get adds ~20 s from
a local apt cache) + wheels 81 s + build 215 s + jobs 138 s; ~3 min when base, wheels and layers are cached. The wheel folder is cached under .cache/containers/ keyed by the lock's content (a fresh CI machine builds it), the
image by Podman's own layers (its first layer is keyed by the hashed requirements.txt).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowrl.artifact.checksums import verify_sums

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "podman-images"
SLICE = 60  # vital articles in the KB built on both sides
QUERY = "capital city of France"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _cannot(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message + " (CI=1: this test must run)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def timings() -> dict[str, float]:
    """Seconds per step, printed at the end of the module (the README's figures come from this output)."""
    record: dict[str, float] = {}
    yield record
    print("\npodman timings (s): " + json.dumps(record))


def _timed(record: dict, name: str, cmd: list[str], limit: int, **kwargs) -> subprocess.CompletedProcess:
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, **kwargs)
    record[name] = round(time.monotonic() - start, 1)
    return proc


@pytest.fixture(scope="module")
def podman(timings):
    """Podman + the debootstrap'ed base image (exit 3 of the script: cannot run here)."""
    proc = _timed(timings, "up", [str(SCRIPT), "up"], 1500)
    if proc.returncode == 3:
        _cannot(proc.stderr.strip().splitlines()[-1])
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def wheels(timings) -> Path:
    """The CPU lock as wheels (knowrl stage --only-python-wheels), cached by the content that decides them."""
    from knowrl.artifact.wheels import portable_llama_wheel

    try:
        llama = portable_llama_wheel()
    except Exception as error:  # noqa: BLE001 - a KnowRLError naming `make test`
        _cannot(str(error))
    key = hashlib.sha256(b"".join(p.read_bytes() for p in (REPO / "constraints.txt", REPO / "pyproject.toml", llama)))
    folder = REPO / ".cache" / "containers" / f"wheels-{key.hexdigest()[:16]}"
    if folder.is_dir() and verify_sums(folder).ok:
        timings["wheels"] = 0.0
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    proc = _timed(timings, "wheels", [str(Path(sys.executable).parent / "knowrl"), "stage", str(partial),
                                      "--only-python-wheels"], 1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    for stale in folder.parent.glob("wheels-*"):  # the cache keeps one lock's wheels (~0.5 GB)
        if stale != folder:
            shutil.rmtree(stale)
    return folder


@pytest.fixture(scope="module")
def image(podman, wheels, timings) -> str:
    tag = f"localhost/knowrl-cpu:{wheels.name.removeprefix('wheels-')}"
    tags = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/knowrl-cpu"],
                          capture_output=True, text=True).stdout.split()
    for stale in {t for t in tags if re.fullmatch(r"localhost/knowrl-cpu:[0-9a-f]{16}", t)} - {tag}:
        # this test's images of earlier locks (~2 GB each); a user's knowrl-cpu:latest stays
        subprocess.run(["podman", "rmi", stale], capture_output=True, timeout=300)
    proc = _timed(timings, "build", [str(SCRIPT), "build", str(wheels), tag], 1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True,
                          text=True, check=True).stdout.strip()
    timings["image_bytes"] = int(size)
    return tag


def _podman_run(image: str, workdir: Path, command: str, env: dict[str, str]) -> list[str]:
    """podman run with no network; the checkout read-only and the job's folder bound at their own paths."""
    assets = os.environ["KNOWRL_ASSETS"]
    flags = ["--rm", "--network", "none", "-v", f"{REPO}:{REPO}:ro", "-v", f"{assets}:{assets}:ro",
             "-v", f"{workdir}:{workdir}", "-w", str(workdir), "-e", f"KNOWRL_SOURCE={REPO}",
             "-e", f"KNOWRL_ASSETS={assets}"]
    for name, value in env.items():
        flags += ["-e", f"{name}={value}"]
    return [str(SCRIPT), "run", *flags, image, "bash", "-c", command]


def _pin(line: str) -> tuple[str, str]:
    name, version = line.split("==")
    return re.sub(r"[-_.]+", "_", name).lower(), version


def test_image_holds_exactly_the_cpu_lock(image, wheels):
    """pip inside the image lists the staged requirements, CPU torch, and no CUDA wheel; no network to reach."""
    proc = subprocess.run([str(SCRIPT), "run", "--rm", "--network", "none", image, "bash", "-c",
                           "python -m pip list --format freeze --exclude pip; "
                           "python -c 'import urllib.request as u; u.urlopen(\"http://deb.debian.org\", timeout=5)'"],
                          capture_output=True, text=True, timeout=300)
    installed = dict(_pin(line) for line in proc.stdout.splitlines() if "==" in line)
    staged = dict(_pin(line.split()[0]) for line in (wheels / "requirements.txt").read_text().splitlines())
    assert installed == staged, set(installed.items()) ^ set(staged.items())
    assert installed["torch"].endswith("+cpu") and not any(n.startswith("nvidia") for n in installed)
    assert proc.returncode != 0 and "urlopen error" in proc.stderr, proc.stderr[-1500:]   # --network none holds


def _jobs(workdir: Path, vital_jsonl: Path) -> str:
    """Assets verify, a KB build on a slice and a search: one script for both sides."""
    with vital_jsonl.open(encoding="utf-8") as src:
        (workdir / "slice.jsonl").write_text("".join(next(src) for _ in range(SLICE)), encoding="utf-8")
    return "\n".join(["set -euo pipefail", "knowrl assets verify > assets.txt",
                      "knowrl kb build --input slice.jsonl --out kb --no-progress > kb.log 2>&1",
                      f"knowrl kb search --kb kb --k 3 --query {shlex.quote(QUERY)} > search.jsonl"])


def _smoke_eval(workdir: Path, images: Path | None) -> list[str]:
    """The smoke workflow's evaluation job (base model, the qa benchmark on a two-question fixture), run by Snakemake;
    with ``images``: --use-singularity, images from that folder."""
    config = [f"eval={{benchmarks: {{qa: {{path: {REPO}/tests/eval/fixtures/qa.json}}}}}}",
              f"assets={{cache_dir: {os.environ['KNOWRL_ASSETS']}}}"]
    if images:
        config.append(f"containers={{image_dir: {images}}}")
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--profile", "profiles/smoke", "--cores", "1", "results/eval/base/qa/summary.json", "--config", *config,
            *(["--use-singularity"] if images else [])]


def _apptainer(tmp_path: Path, image: str) -> tuple[dict[str, str], Path, Path]:
    """PATH with the Podman-backed `apptainer` first, its call log, and a folder of stand-in .sif files (each holds
    the Podman tag of the image Apptainer would convert) for the roles the smoke graph names."""
    bin_dir, images = tmp_path / "bin", tmp_path / "images"
    bin_dir.mkdir()
    images.mkdir()
    (bin_dir / "apptainer").write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).parent / 'podman_apptainer.py'}"
                                       ' "$@"\n')
    (bin_dir / "apptainer").chmod(0o755)
    for role in ("kb", "train", "eval"):
        (images / f"knowrl-{role}.sif").write_text(image)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1", "PODMAN_APPTAINER_LOG": str(tmp_path / "calls.jsonl")}
    return env, images, tmp_path / "calls.jsonl"


def _data_sums(workdir: Path) -> dict[str, str]:
    """sha256 of every output file that records data, not the run (times, Python, image: compared below)."""
    files = ["assets.txt", "search.jsonl", "kb/index.faiss", "kb/kb.sqlite", "kb/vectors.f16",
             "results/eval/base/qa/items.jsonl"]
    return {name: hashlib.sha256((workdir / name).read_bytes()).hexdigest() for name in files}


def test_smoke_jobs_in_the_image_match_the_host(image, tmp_path, vital_jsonl, asset_store, timings):
    """Both sides run the same jobs at the same time (2 cores: one each); the container has no network. The
    evaluation job runs through Snakemake on both sides: in the image by --use-singularity, with the binds the
    workflow derives from the config (checkout, asset cache, benchmark file) and nothing else mounted."""
    host, pod = tmp_path / "host", tmp_path / "pod"
    host.mkdir()
    script = _jobs(host, vital_jsonl)
    shutil.copytree(host, pod)   # the same slice on both sides
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.strip()
    digest = subprocess.run(["podman", "image", "inspect", "--format", "{{.Digest}}", image], capture_output=True,
                            text=True, check=True).stdout.strip()
    env, images, calls = _apptainer(tmp_path, image)
    host_jobs = f"{script}\ncd {shlex.quote(str(REPO))}\n{shlex.join(_smoke_eval(host, None))}"  # profiles: from REPO
    start = time.monotonic()
    on_host = subprocess.Popen(["bash", "-c", host_jobs], cwd=host, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        in_pod = subprocess.run(_podman_run(image, pod, script, {"OMP_NUM_THREADS": "1", "KNOWRL_COMMIT": commit,
                                                                 "KNOWRL_IMAGE": digest}),
                                capture_output=True, text=True, timeout=900)
        assert in_pod.returncode == 0, in_pod.stdout[-3000:] + in_pod.stderr[-3000:] + _tail(pod / "kb.log")
        workflow = subprocess.run(_smoke_eval(pod, images), cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=900)
        host_out = on_host.communicate(timeout=900)[0]
    finally:
        if on_host.poll() is None:
            on_host.kill()
    timings["jobs"] = round(time.monotonic() - start, 1)
    assert on_host.returncode == 0, host_out[-3000:] + _tail(host / "kb.log")
    assert workflow.returncode == 0, workflow.stderr[-3000:] + _tail(pod / "logs/eval/base/qa.log")
    (call,) = [json.loads(line) for line in calls.read_text().splitlines() if "exec" in line]
    binds = {call[i + 1] for i, arg in enumerate(call) if arg == "--bind" and "snakemake/source-cache" not in call[i + 1]}
    assert binds == {str(REPO), os.environ["KNOWRL_ASSETS"], str(REPO / "tests/eval/fixtures/qa.json")}, call
    assert _data_sums(pod) == _data_sums(host)
    assert "OK: 3 assets verified" in (pod / "assets.txt").read_text()
    assert json.loads((pod / "search.jsonl").read_text().splitlines()[0])["rank"] == 1
    kb_host, kb_pod = (json.loads((d / "kb" / "manifest.json").read_text()) for d in (host, pod))
    assert kb_pod["files"] == kb_host["files"] and kb_pod["counts"]["documents"] == SLICE
    assert kb_pod["provenance"]["container"]["KNOWRL_IMAGE"] == digest
    _same_but_the_run(host / "results/eval/base/qa", pod / "results/eval/base/qa", commit,
                      {"APPTAINER_CONTAINER": str(images / "knowrl-eval.sif"), "KNOWRL_IMAGE_FLAVOUR": "cpu"})


def _tail(path: Path) -> str:
    return path.read_text()[-2000:] if path.is_file() else f"(no {path.name})"


def _same_but_the_run(host: Path, pod: Path, commit: str, container: dict[str, str]) -> None:
    """The evaluation's summary and provenance differ from the host's only where they describe the run: its wall
    time and creation time, the Python patch release (the image's Debian 3.11.2), how the commit was found, and the
    image; both folders pass their own SHA256SUMS."""
    assert verify_sums(host).ok and verify_sums(pod).ok
    summary = [json.loads((d / "summary.json").read_text()) for d in (host, pod)]
    for doc in summary:
        doc.pop("wall_s")
    assert summary[0] == summary[1]
    prov_host, prov_pod = (json.loads((d / "provenance.json").read_text()) for d in (host, pod))
    assert prov_pod.pop("container") == container
    assert prov_pod["git"]["commit"] == prov_host["git"]["commit"] == commit.removesuffix("-dirty")
    assert prov_pod["git"]["source"] == "$KNOWRL_COMMIT (no git checkout here)" and prov_host["git"]["source"] == "git"
    assert prov_pod["hardware"].pop("python").startswith("3.11.")
    for doc in (prov_host, prov_pod):
        for key in ("created_utc", "wall_s", "git"):
            doc.pop(key)
        doc["hardware"].pop("python", None)
    assert prov_pod == prov_host
