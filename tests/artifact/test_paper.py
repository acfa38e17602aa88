"""Runs that claim the paper's settings (run.kind paper / rehearsal) refuse unstaged and demo inputs, listing all."""

from __future__ import annotations

import pytest

from knowrl.artifact.paper import check_run_inputs, input_gaps, run_note
from knowrl.config import load_config
from knowrl.errors import ConfigError

BENCHMARKS = ("simpleqa", "chinese_simpleqa", "truthfulqa", "gpqa", "aime25")


@pytest.fixture()
def staged(tmp_path):
    """Every input of the paper's pipeline as a file or folder outside the asset cache, as overrides."""
    for name in ("policy", "judge"):
        (tmp_path / name).mkdir()
    for name in ("wiki.jsonl", "coldstart.json", "rl.json", *(f"{b}.csv" for b in BENCHMARKS)):
        (tmp_path / name).write_text("x")
    return [f"model.policy={tmp_path / 'policy'}", f"judge.model={tmp_path / 'judge'}",
            f"kb.corpus={tmp_path / 'wiki.jsonl'}", f"sft.data={tmp_path / 'coldstart.json'}",
            f"grpo.data={tmp_path / 'rl.json'}",
            *(f"eval.benchmarks.{b}.path={tmp_path / f'{b}.csv'}" for b in BENCHMARKS)]


def _without(overrides: list[str], *settings: str) -> list[str]:
    return [o for o in overrides if o.split("=")[0] not in settings]


@pytest.mark.parametrize("drop, extra, expected", [
    # everything staged: nothing to refuse
    ((), [], []),
    # nothing staged for the policy: the embedded tiny GGUF would be trained
    (("model.policy",), [], ["model.policy"]),
    # the vLLM judge without a model folder
    (("judge.model",), [], ["judge.model"]),
    # the offline regex grader is no model judge
    ((), ["judge.backend=rule"], ["judge.backend"]),
    # llama.cpp without its own GGUF serves the embedded tiny model
    ((), ["judge.backend=llamacpp"], ["judge.llamacpp.model"]),
    # a shared vLLM judge already served elsewhere needs no local model folder
    (("judge.model",), ["judge.base_url=http://127.0.0.1:8000/v1"], []),
    # the demo corpus, unless a built KB is named
    (("kb.corpus",), [], ["kb.corpus"]),
    (("kb.corpus",), ["facts.kb_path=/data/kb"], []),
    # SFT and RL data fall back to demo data
    (("sft.data", "grpo.data"), [], ["sft.data", "grpo.data"]),
    # a benchmark the run reports without its file
    (("eval.benchmarks.gpqa.path",), [], ["eval.benchmarks.gpqa.path"]),
    # ... unless the run does not report it
    (("eval.benchmarks.gpqa.path",), ["run.benchmarks=[simpleqa, chinese_simpleqa, truthfulqa, aime25]"], []),
    # model-free stand-ins for the paper's decomposer and verifier
    ((), ["facts.decomposer=rule", "facts.verifier.backend=embedding"], ["facts.decomposer",
                                                                          "facts.verifier.backend"]),
    # the NLI verifier without its staged model
    ((), ["facts.verifier.backend=nli"], ["facts.verifier.model"]),
])
def test_gaps_of_a_paper_config(staged, drop, extra, expected):
    config = load_config(profile="a800", overrides=[*_without(staged, *drop), *extra])
    assert [gap.setting for gap in input_gaps(config)] == expected


def test_a_path_into_the_asset_cache_is_a_demo_input(staged, tiny_gguf):
    config = load_config(profile="a800", overrides=[*staged, f"model.policy={tiny_gguf}"])
    (gap,) = input_gaps(config)
    assert gap.setting == "model.policy" and "embedded asset" in gap.why


def test_a800_with_nothing_staged_refuses_listing_everything():
    with pytest.raises(ConfigError) as refused:
        check_run_inputs(load_config(profile="a800"))
    message = str(refused.value)
    assert message.startswith("run.kind paper needs staged inputs; 10 unset or demo: ") and "\n" not in message
    for setting in ("model.policy", "judge.model", "kb.corpus", "sft.data", "grpo.data",
                    *(f"eval.benchmarks.{b}.path" for b in BENCHMARKS)):
        assert setting in message, setting


@pytest.mark.parametrize("profile, overrides, note", [
    # demo runs never refuse and say what they are
    (None, [], "Run: demo run"),
    ("smoke", [], "Run: demo run"),
    # an explicit opt-in: the run starts and the note lists its demo inputs
    ("a800", ["run.allow_demo_inputs=true"], "Demo inputs (run.allow_demo_inputs): model.policy (policy model)"),
])
def test_demo_runs_and_allowed_demo_inputs_are_named(profile, overrides, note):
    config = load_config(profile=profile, overrides=overrides)
    check_run_inputs(config)
    assert note in run_note(config)


def test_rehearsal_and_paper_notes(staged):
    paper = load_config(profile="a800", overrides=staged)
    assert check_run_inputs(paper) == [] and run_note(paper).startswith("Run: the paper's settings")
    assert "Demo inputs" not in run_note(paper)
    rehearsal = load_config(profile="rehearsal", overrides=[*staged, f"judge.llamacpp.model={staged[1].split('=')[1]}"])
    assert check_run_inputs(rehearsal) == [] and "rehearsal" in run_note(rehearsal)
