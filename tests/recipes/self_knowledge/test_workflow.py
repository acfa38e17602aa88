"""`recipe: self_knowledge` selects the recipe's rules: lint and dry runs of its profiles (from another directory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def snakemake(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_lint_is_clean():
    proc = snakemake("--lint", "--profile", "profiles/selfknow_smoke")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", ["selfknow_smoke", "selfknow_gpu"])
def test_dry_run_selects_the_recipe_rules(profile, tmp_path):
    proc = snakemake("-n", "-s", str(REPO / "Snakefile"), "--profile", f"profiles/{profile}",
                     "--directory", str(tmp_path))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "rule run_selfknow:" in out and "rule eval_selfknow:" in out
    assert "rule train_grpo:" not in out and "rule build_kb:" not in out   # the main recipe's rules are not run
    assert "knowrl selfknow run --out results/self_knowledge/run --resume --config results/config/selfknow-" in out
