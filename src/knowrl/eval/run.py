"""``knowrl eval run`` / ``regrade``: generate, grade, summarise; write items, summary, provenance, SHA256SUMS.

Output folder of one (model, benchmark) evaluation::

    items.jsonl      one record per (item, sample): question, gold, references, response, answer, scores
    summary.json     figures with bootstrap CIs per mode ("main", "avg@k") + model, data and grader identities
    provenance.json  resolved config, code version, packages, machine, wall time
    SHA256SUMS
"""

from __future__ import annotations

import importlib.metadata
import logging
import time
from pathlib import Path
from typing import Any

from knowrl.artifact import provenance, write_sums
from knowrl.errors import InputError
from knowrl.eval import grading
from knowrl.eval.benchmarks import Benchmark, load_benchmark, subsample
from knowrl.eval.settings import EvalConfig
from knowrl.files import read_jsonl, write_json_atomic, write_jsonl_atomic

log = logging.getLogger(__name__)

MAIN_MODE = "main"


def load_configured(ec: EvalConfig, name: str, path: str | None = None) -> Benchmark:
    """The benchmark ``name`` from ``path`` or the configured ``eval.benchmarks.<name>.path``."""
    entry = ec.benchmark(name)
    path = path or entry["path"]
    if not path:
        raise InputError(f"no file for benchmark {name!r}: pass --data or set eval.benchmarks.{name}.path")
    return load_benchmark(name, path, expected_sha256=entry["sha256"])


def make_policy(ec: EvalConfig, config: dict, model: str, adapter: str | None):
    from knowrl.eval.generation import JudgeBackendPolicy, TransformersPolicy

    if ec.backend == "transformers":
        from knowrl.train.models import resolve_policy

        folder = resolve_policy(config, model)
        return TransformersPolicy(folder, adapter, device=ec.device, dtype=ec.dtype, source=model or folder)
    generator_cfg = {**config.get("judge", {}), **ec.generator}
    if model:
        generator_cfg["model"] = model
    return JudgeBackendPolicy(generator_cfg, model, adapter)


def generate_all(policy, items, ec: EvalConfig) -> list[dict]:
    """The main pass (``ec.temperature``) plus ``ec.avg_k`` samples at ``ec.avg_temperature`` when avg_k > 0."""
    from knowrl.cli_common import progress
    from knowrl.eval.generation import generate_records

    passes = [(MAIN_MODE, ec.temperature, 1)]
    if ec.avg_k > 0:
        passes.append((f"avg@{ec.avg_k}", ec.avg_temperature, ec.avg_k))
    records: list[dict] = []
    for mode, temperature, n in passes:
        with progress(total=len(items), desc=f"generate {mode}", unit="q") as bar:
            records += generate_records(policy, items, mode=mode, max_tokens=ec.max_new_tokens,
                                        temperature=temperature, n=n, batch_size=ec.batch_size,
                                        variant=ec.prompt_variant, seed=ec.seed, bar=bar)
    return records


def grade_and_summarize(records: list[dict], ec: EvalConfig, config: dict) -> tuple[dict, dict]:
    """(summary by mode, grader identity); a judge is opened only for judged (``qa``) records."""
    if any(r["kind"] == "qa" for r in records):
        from knowrl.judge import get_judge

        with get_judge(config.get("judge", {})) as judge:
            grading.grade_records(records, judge, ec.truthfulqa_no_comment)
            grader = {"judge": judge.identity(), "stats": judge.stats()}
    else:
        grading.grade_records(records, None, ec.truthfulqa_no_comment)
        grader = local_grader_identity(records[0]["kind"], ec)
    summary = grading.summarize(records, ec.bootstrap_samples, ec.confidence, ec.seed)
    return summary, grader


def local_grader_identity(kind: str, ec: EvalConfig) -> dict[str, Any]:
    if kind == "truthfulqa":
        return {"name": "truthfulqa-bleu-rougeL", "no_comment_reference": ec.truthfulqa_no_comment,
                "bleu": {"package": "sacrebleu", "version": _version("sacrebleu"), "tokenize": "intl",
                         "smooth": "exp"},
                "rouge": {"package": "rouge-score", "version": _version("rouge-score"), "type": "rougeL"}}
    return {"name": {"mcq": "letter-exact-match", "math": "integer-exact-match"}[kind]}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def write_outputs(out: Path, records: list[dict], summary: dict, config: dict, **extra: Any) -> dict:
    """Write the run folder (atomically, file by file) and its SHA256SUMS; return summary.json's content."""
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out / "items.jsonl", records)
    document = {**extra, "modes": summary}
    write_json_atomic(out / "summary.json", document)
    write_json_atomic(out / "provenance.json", provenance(config, **extra))
    write_sums(out)
    return document


def run_eval(config: dict, benchmark: str, *, model: str | None, out: str | Path, label: str,
             adapter: str | None = None, checkpoint: str | None = None, data: str | None = None,
             n: int | None = None) -> dict:
    """Evaluate one model (``model`` + ``adapter``, or a train ``checkpoint`` folder) on one benchmark."""
    ec = EvalConfig.from_config(config)
    started = time.monotonic()
    if checkpoint:
        from knowrl.eval.checkpoints import resolve_checkpoint

        spec = resolve_checkpoint(checkpoint, model)
        model, adapter = spec.model, spec.adapter
    bench = load_configured(ec, benchmark, data)
    n = n if n is not None else ec.benchmark(benchmark)["n"]
    items = subsample(bench.items, n, ec.seed)
    policy = make_policy(ec, config, model, adapter)
    try:
        records = generate_all(policy, items, ec)
        model_identity = {**policy.identity(), "label": label, "checkpoint": checkpoint}
    finally:
        policy.close()
    for record in records:
        record["benchmark"] = benchmark
    summary, grader = grade_and_summarize(records, ec, config)
    data_identity = {**bench.identity(), "evaluated": len(items), "subsample_n": n, "subsample_seed": ec.seed}
    document = write_outputs(Path(out), records, summary, config, label=label, benchmark=data_identity,
                             model=model_identity, grader=grader, settings=_settings(ec),
                             wall_s=round(time.monotonic() - started, 2))
    log.info("%s on %s: %s", label, benchmark, _headline(summary))
    return document


def regrade(config: dict, run_dir: str | Path, out: str | Path) -> dict:
    """Re-grade a saved run's responses with the current grader settings into ``out``."""
    run_dir = Path(run_dir)
    items_path = run_dir / "items.jsonl" if run_dir.is_dir() else run_dir
    if not items_path.is_file():
        raise InputError(f"no items.jsonl at {items_path}")
    records = [{k: v for k, v in r.items() if k not in ("scores", "grade", "grade_reason", "parsed")}
               for r in read_jsonl(items_path)]
    if not records:
        raise InputError(f"{items_path}: no records")
    ec = EvalConfig.from_config(config)
    previous = {}
    if (items_path.parent / "summary.json").is_file():
        from knowrl.files import read_json

        previous = read_json(items_path.parent / "summary.json")
    summary, grader = grade_and_summarize(records, ec, config)
    keep = {k: previous[k] for k in ("label", "benchmark", "model", "settings") if k in previous}
    return write_outputs(Path(out), records, summary, config, **keep, grader=grader,
                         regraded_from=str(items_path))


def _settings(ec: EvalConfig) -> dict[str, Any]:
    return {k: getattr(ec, k) for k in ("backend", "prompt_variant", "temperature", "avg_k", "avg_temperature",
                                        "max_new_tokens", "batch_size", "bootstrap_samples", "confidence", "seed")}


def _headline(summary: dict) -> str:
    """Main figures, and how many answers were well formed (inside ``<answer>`` tags: what SFT teaches)."""
    main = summary.get(MAIN_MODE, {})
    text = ", ".join(f"{k} {v['value']:.2f}" for k, v in main.get("figures", {}).items()) or "no figures"
    sources = main.get("answer_sources") or {}
    if sources:
        text += f"; well formed (<answer> tag) {sources.get('tag', 0)} of {sum(sources.values())}"
    return text
