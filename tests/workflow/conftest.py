"""Workflow fixtures: a live single-node SLURM cluster (``.ci/slurm-cluster``) for the whole session."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / ".ci" / "slurm-cluster"
CANNOT_RUN = 3  # the script's exit code for "cannot run here" (not root, packages missing and no apt-get)


def cluster_script(verb: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLUSTER), verb], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def slurm_cluster():
    """Brings the cluster up (installing slurm-wlm, munge, slurmdbd, MariaDB with apt-get when missing: ~1.5 min on
    a fresh machine, ~15 s after) and takes it down at the end of the session, also when tests failed. A cluster
    that was already up is left up. Where it cannot run (not root, no apt-get) the tests skip with the script's
    reason; under CI=1 they fail instead: CI must run them."""
    already_up = cluster_script("status").returncode == 0
    started = cluster_script("up", timeout=1500)
    if started.returncode == CANNOT_RUN:
        reason = started.stderr.strip().splitlines()[-1]
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SLURM tests, but: {reason}")
        pytest.skip(reason)
    assert started.returncode == 0, f"slurm cluster did not come up:\n{started.stdout}\n{started.stderr}"
    try:
        yield {"dir": Path(os.environ.get("KNOWRL_SLURM_DIR", "/tmp/knowrl-slurm"))}
    finally:
        if not already_up:
            stopped = cluster_script("down", timeout=300)
            assert stopped.returncode == 0, stopped.stderr
