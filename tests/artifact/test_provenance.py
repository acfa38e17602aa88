"""Provenance names the code's commit: from the git checkout, or inside a container from $KNOWRL_COMMIT."""

import pytest

from knowrl.artifact.provenance import git_commit, provenance


@pytest.mark.parametrize("baked, expected", [
    # an image built from a clean tree (`git describe --always --dirty --abbrev=40`)
    ("0123456789abcdef0123456789abcdef01234567", {"commit": "0123456789abcdef0123456789abcdef01234567",
                                                  "dirty": False}),
    # an image built from a tree with uncommitted changes
    ("0123456789abcdef0123456789abcdef01234567-dirty", {"commit": "0123456789abcdef0123456789abcdef01234567",
                                                        "dirty": True}),
    # the build argument's default: not a commit
    ("unknown", {"commit": None, "dirty": None}),
    # nothing baked
    (None, {"commit": None, "dirty": None}),
])
def test_commit_outside_a_checkout_comes_from_the_image(tmp_path, monkeypatch, baked, expected):
    if baked is None:
        monkeypatch.delenv("KNOWRL_COMMIT", raising=False)
    else:
        monkeypatch.setenv("KNOWRL_COMMIT", baked)
    record = git_commit(cwd=tmp_path)  # no .git here, as in an image's site-packages
    assert {k: record[k] for k in ("commit", "dirty")} == expected
    assert record["source"] == (None if expected["commit"] is None else "$KNOWRL_COMMIT (no git checkout here)")


def test_a_checkout_wins_over_the_variable(monkeypatch):
    monkeypatch.setenv("KNOWRL_COMMIT", "f" * 40)
    record = git_commit()  # this repository
    assert record["source"] == "git" and len(record["commit"]) == 40 and record["commit"] != "f" * 40


@pytest.mark.parametrize("env, expected", [
    # podman run -e KNOWRL_IMAGE=<digest> in an image of containers/Containerfile (which sets the flavour)
    ({"KNOWRL_IMAGE": "sha256:ab12", "KNOWRL_IMAGE_FLAVOUR": "cpu"},
     {"KNOWRL_IMAGE": "sha256:ab12", "KNOWRL_IMAGE_FLAVOUR": "cpu"}),
    # Apptainer sets APPTAINER_CONTAINER to the .sif it runs
    ({"APPTAINER_CONTAINER": "/c/knowrl-kb.sif"}, {"APPTAINER_CONTAINER": "/c/knowrl-kb.sif"}),
    # on the host: no container entry at all
    ({}, None),
])
def test_provenance_names_the_image_a_job_ran_in(monkeypatch, env, expected):
    for name in ("KNOWRL_IMAGE", "APPTAINER_CONTAINER", "KNOWRL_IMAGE_FLAVOUR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert provenance().get("container") == expected
