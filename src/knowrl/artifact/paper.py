"""Runs that claim the paper's settings: every input staged, never an embedded demo default.

A configuration says what it is in ``run.kind``: ``demo`` (embedded defaults: the smoke run, the CPU defaults),
``paper`` (the a800 profile) or ``rehearsal`` (the paper's rule graph and setting kinds at CPU scale, on staged
stand-ins). Why: a paper profile with nothing staged used to train the tiny model on demo data, grade with the
regex grader and print its table beside the paper's, without a word. Now such a run refuses to start with one
message listing every gap (:func:`check_run_inputs`, called by the workflow at startup and by ``knowrl stage``);
with ``run.allow_demo_inputs`` it starts, and every table says which inputs were demo ones (:func:`run_note`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from knowrl.errors import ConfigError

CLAIMS = ("paper", "rehearsal")
DEMO_DATA = Path("results") / "data" / "demo"   # what `knowrl data demo` writes in the workflow
BENCH_TITLES = {"simpleqa": "SimpleQA", "chinese_simpleqa": "ChineseSimpleQA", "truthfulqa": "TruthfulQA",
                "gpqa": "GPQA-Diamond", "aime25": "AIME 2025", "qa": "QA"}
MODEL_JUDGES = "vllm, llamacpp, openai or transformers"
KIND_NOTES = {
    "demo": "demo run: embedded defaults (tiny model, demo data); not the paper's setup",
    "rehearsal": "rehearsal: the paper's rule graph and setting kinds at CPU scale, on staged stand-ins; "
                 "not the paper's models or numbers",
    "paper": "the paper's settings (run.kind: paper) on staged inputs",
}


@dataclass(frozen=True)
class Gap:
    """One input a paper or rehearsal run lacks: the setting to fill, what it is, and why it does not count."""

    setting: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.setting} ({self.what}): {self.why}"


def _embedded(value: str, config: dict) -> str | None:
    """Why ``value`` is an embedded or demo input (inside the asset cache, or demo data), else None."""
    path = Path(value).resolve()
    caches = {Path(config["assets"]["cache_dir"]).resolve()}
    if os.environ.get("KNOWRL_ASSETS"):
        caches.add(Path(os.environ["KNOWRL_ASSETS"]).resolve())
    if any(path.is_relative_to(cache) for cache in caches):
        return "an embedded asset of the asset cache"
    if path.is_relative_to(DEMO_DATA.resolve()):
        return "demo data made by knowrl data demo"
    return None


def _path_gap(config: dict, setting: str, what: str, unset: str) -> list[Gap]:
    node = config
    for key in setting.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    if not node or node == "demo":
        return [Gap(setting, what, unset)]
    why = _embedded(str(node), config)
    return [Gap(setting, what, why)] if why else []


def _judge_gaps(config: dict) -> list[Gap]:
    judge = config["judge"]
    backend, served = judge["backend"], bool(judge.get("base_url"))
    if backend == "rule":
        return [Gap("judge.backend", "model judge", f"rule is the offline regex grader; set {MODEL_JUDGES} and "
                                                    "its model")]
    if backend == "llamacpp" and not served:
        return _path_gap(config, "judge.llamacpp.model", "model judge",
                         "unset, the embedded SmolLM2-135M GGUF, near chance as a judge")
    if backend in ("vllm", "transformers", "openai") and not (served and backend == "vllm"):
        return _path_gap(config, "judge.model", "model judge", f"unset, the {backend} judge has no model")
    return []


def _method_gaps(config: dict) -> list[Gap]:
    """Paper settings that would silently fall back to a model-free stand-in."""
    facts, gaps = config["facts"], []
    if facts["decomposer"] != "judge":
        gaps.append(Gap("facts.decomposer", "atomic-fact decomposer",
                        f"{facts['decomposer']} is the model-free splitter; the paper uses the judge"))
    verifier = facts["verifier"]
    if verifier["backend"] == "embedding":
        gaps.append(Gap("facts.verifier.backend", "fact verifier",
                        "embedding is a similarity proxy, not entailment; the paper verifies with llm or nli"))
    elif verifier["backend"] == "nli":
        gaps += _path_gap(config, "facts.verifier.model", "NLI verifier model", "unset")
    return gaps


def input_gaps(config: dict) -> list[Gap]:
    """Every input of the paper's pipeline that ``config`` leaves unset or points at an embedded demo default."""
    gaps = _path_gap(config, "model.policy", "policy model", "unset, the embedded SmolLM2-135M GGUF")
    gaps += _judge_gaps(config)
    gaps += _method_gaps(config)
    if config["facts"]["kb_path"] == "results/kb":  # the workflow builds it from kb.corpus
        gaps += _path_gap(config, "kb.corpus", "KB corpus, or a built KB in facts.kb_path",
                          "demo, the embedded 10,033 vital-article leads")
    gaps += _path_gap(config, "sft.data", "SFT data", "unset, demo traces")
    gaps += _path_gap(config, "grpo.data", "RL data", "unset, demo questions")
    for name in config["run"]["benchmarks"]:
        gaps += _path_gap(config, f"eval.benchmarks.{name}.path", f"{BENCH_TITLES[name]} file", "unset")
    return gaps


def check_run_inputs(config: dict) -> list[Gap]:
    """Refuse a paper or rehearsal run with gaps (one ConfigError naming all of them); return the gaps it may run
    with (``run.allow_demo_inputs``), [] for a demo run."""
    run = config["run"]
    if run["kind"] not in CLAIMS:
        return []
    gaps = input_gaps(config)
    if gaps and not run["allow_demo_inputs"]:
        raise ConfigError(f"run.kind {run['kind']} needs staged inputs; {len(gaps)} unset or demo: "
                          + "; ".join(map(str, gaps))
                          + ". Stage them (README: Staging models and data) or set run.allow_demo_inputs: true")
    return gaps


def run_note(config: dict) -> str:
    """One line for tables and reports: what kind of run produced them and, if allowed, its demo inputs."""
    run = config["run"]
    note = f"Run: {KIND_NOTES[run['kind']]}."
    gaps = input_gaps(config) if run["kind"] in CLAIMS else []
    if gaps:
        note += " Demo inputs (run.allow_demo_inputs): " + "; ".join(map(str, gaps)) + "."
    return note
