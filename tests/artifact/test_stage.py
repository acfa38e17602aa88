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


def test_localize_keeps_every_setting_of_the_users_config(tmp_path, asset_store, embedder_path):
    """What my-run.yaml says beyond paths (a judge backend, a benchmark's sha256, step counts) reaches the cluster;
    each staged path (the embedder too) points into the moved bundle."""
    corpus, bench, judge = tmp_path / "wiki.jsonl", tmp_path / "simple_qa_test_set.csv", tmp_path / "judge-7b"
    corpus.write_text('{"title": "A", "text": "B."}\n')
    bench.write_text("metadata,problem,answer\n")
    judge.mkdir()
    (judge / "config.json").write_text("{}")
    my_run = tmp_path / "my-run.yaml"
    my_run.write_text(f"""
kb: {{corpus: {corpus}, embedder: {embedder_path}}}
judge: {{backend: vllm, model: {judge}, vllm: {{gpu_memory_utilization: 0.2}}}}
eval: {{benchmarks: {{simpleqa: {{path: {bench}, sha256: {'ab' * 32}, n: 50}}}}}}
""")
    bundle = tmp_path / "bundle"
    assert main(["stage", str(bundle), "--cache", str(asset_store.root), "--config", str(my_run),
                 "--set", "grpo.max_steps=7"]) == 0
    moved = tmp_path / "cluster" / "bundle"
    moved.parent.mkdir()
    bundle.rename(moved)  # the transfer
    assert main(["stage", "--localize", str(moved)]) == 0
    cfg = load_config(files=[moved / "staged.yaml"])
    inputs = moved / "inputs"
    assert cfg["kb"]["corpus"] == str(inputs / "kb.corpus" / "wiki.jsonl")
    assert cfg["kb"]["embedder"] == str(inputs / "kb.embedder" / embedder_path.name)
    assert (inputs / "kb.embedder" / embedder_path.name / "config.json").is_file()
    assert cfg["judge"]["backend"] == "vllm" and cfg["judge"]["vllm"]["gpu_memory_utilization"] == 0.2
    assert cfg["judge"]["model"] == str(inputs / "judge.model" / "judge-7b")
    simpleqa = cfg["eval"]["benchmarks"]["simpleqa"]
    assert simpleqa == {"path": str(inputs / "eval.benchmarks.simpleqa.path" / bench.name), "sha256": "ab" * 32,
                        "n": 50}
    assert cfg["grpo"]["max_steps"] == 7


def test_a_paper_config_with_gaps_is_refused_before_copying(tmp_path, asset_store, capsys):
    bundle = tmp_path / "bundle"
    assert main(["stage", str(bundle), "--profile", "a800", "--cache", str(asset_store.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("knowrl: error: run.kind paper needs staged inputs; 10 unset or demo") and not bundle.exists()
