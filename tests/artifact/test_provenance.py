"""Provenance names the code's commit: from the git checkout, or inside a container from $KNOWRL_COMMIT."""

import pytest

from knowrl.artifact.provenance import git_commit


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
    assert record["source"] == (None if expected["commit"] is None else "$KNOWRL_COMMIT (image build)")


def test_a_checkout_wins_over_the_variable(monkeypatch):
    monkeypatch.setenv("KNOWRL_COMMIT", "f" * 40)
    record = git_commit()  # this repository
    assert record["source"] == "git" and len(record["commit"]) == 40 and record["commit"] != "f" * 40
