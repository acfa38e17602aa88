"""Air-gapped staging: bundle, verify, move, localize, and the staged config resolves to the bundle."""

import shutil

import pytest

from knowrl.artifact.stage import staged_settings
from knowrl.cli import main
from knowrl.config import load_config
from knowrl.errors import KnowRLError


def test_staged_settings_follow_schema_annotations(tmp_path):
    corpus = tmp_path / "wiki.jsonl"
    corpus.write_text('{"title": "A", "text": "B."}\n')
    assert dict(staged_settings(load_config(overrides=[f"kb.corpus={corpus}"]))) == {"kb.corpus": str(corpus)}
    assert dict(staged_settings(load_config())) == {}  # "demo" is the embedded corpus, not a staged path


def test_bundle_round_trip(tmp_path, asset_store, capsys):
    corpus = tmp_path / "wiki.jsonl"
    corpus.write_text('{"title": "A", "text": "B."}\n')
    bundle = tmp_path / "bundle"
    args = ["stage", str(bundle), "--cache", str(asset_store.root), "--set", f"kb.corpus={corpus}"]
    assert main(args) == 0
    assert main(["verify", str(bundle)]) == 0
    moved = tmp_path / "cluster" / "bundle"
    shutil.copytree(bundle, moved)  # the transfer
    assert main(["stage", "--localize", str(moved)]) == 0
    cfg = load_config(files=[moved / "staged.yaml"])
    assert cfg["kb"]["corpus"] == str(moved / "inputs" / "kb.corpus" / "wiki.jsonl")
    assert cfg["assets"]["from_dir"] == str(moved / "assets" / "wheels")
    assert len(list((moved / "assets" / "wheels").glob("*.whl"))) == 3
    (moved / "inputs" / "kb.corpus" / "wiki.jsonl").write_text("tampered")
    with pytest.raises(KnowRLError, match="damaged"):
        from knowrl.artifact.stage import localize

        localize(moved)


def test_missing_staged_input_is_reported(tmp_path, capsys):
    assert main(["stage", str(tmp_path / "b"), "--set", "kb.corpus=/nope/wiki.jsonl"]) == 2
    assert "kb.corpus = /nope/wiki.jsonl does not exist" in capsys.readouterr().err


def test_a_judge_model_name_is_not_a_staged_path(tmp_path):
    cfg = load_config(overrides=["judge.backend=openai", "judge.model=gpt-4o-mini"])
    assert dict(staged_settings(cfg)) == {}
    folder = tmp_path / "judge-7b"
    folder.mkdir()
    cfg = load_config(overrides=["judge.backend=vllm", f"judge.model={folder}"])
    assert dict(staged_settings(cfg)) == {"judge.model": str(folder)}
