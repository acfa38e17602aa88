"""The recipe in the workflow: `recipe: agentic_rag` selects its rules; a dry run of each of its profiles."""

from __future__ import annotations

import pytest

from tests.workflow.test_workflow import REPO, jobs_of, snakemake


@pytest.mark.parametrize("profile, expected", [
    # the cold start is on in the smoke profile (grpo.init): base / sft / rag x with / without retrieval
    ("rag_smoke", {"make_rag_demo": 1, "build_kb": 1, "train_sft": 1, "train_rag_grpo": 1, "eval_rag": 6,
                   "report_rag": 1}),
    # the GPU profile: no SFT (grpo.init null), base / rag x with / without retrieval; none of the knowrl rules
    ("rag_gpu", {"make_rag_demo": 1, "build_kb": 1, "train_rag_grpo": 1, "eval_rag": 4, "report_rag": 1,
                 "train_sft": None, "train_grpo": None, "eval_benchmark": None}),
])
def test_dry_run_of_the_recipe_profiles(profile, expected, tmp_path):
    proc = snakemake("-s", str(REPO / "Snakefile"), "-n", "--profile", f"profiles/{profile}",
                     "--directory", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = jobs_of(proc.stdout + proc.stderr)
    for rule, count in expected.items():
        assert jobs.get(rule) == count, (rule, jobs)


def test_lint_of_the_recipe_is_clean():
    proc = snakemake("--lint", "--profile", "profiles/rag_smoke")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "good condition" in proc.stdout + proc.stderr
