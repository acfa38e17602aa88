"""``knowrl data probe|demo``: the demo data with a knowledge boundary (``knowrl.train.demo``).

``probe`` asks the base model every demo question and writes its raw answers with the model's sha256 and the
probe settings (a *probe table*). ``demo`` labels the questions from such a table when it was made with the same
model and settings, and probes the model itself for any question the table lacks; the answers, not the labels,
are stored, so a grader change relabels without probing again. The repository ships the table of the embedded
model (``config/demo/probe-table.json``), so ``make run`` need not spend minutes probing.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from knowrl.cli_common import add_config_arguments, resolve_config
from knowrl.errors import InputError

log = logging.getLogger(__name__)
PROBE_VERSION = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="demo data with a knowledge boundary (probe, demo)")
    verbs = data.add_subparsers(dest="verb", metavar="VERB", required=True)

    probe = verbs.add_parser("probe", help="ask the base model every demo question; write its answers (probe table)")
    _common(probe)
    probe.add_argument("--out", required=True, help="probe table JSON to write")
    probe.set_defaults(handler=_probe)

    demo = verbs.add_parser("demo", help="cold-start traces, RL prompts and a held-out set on the model's knowledge "
                                         "boundary, plus the corpus of their pages")
    _common(demo)
    demo.add_argument("--out", required=True, help="output folder (coldstart.json, rl.json, heldout.json, "
                                                   "corpus.jsonl, manifest.json)")
    demo.add_argument("--probe-table", help="answers from `knowrl data probe`, used when model and settings match "
                                            "(default: demo.probe_table)")
    for flag, kind, what in (("--n-sft", int, "cold-start traces"), ("--n-rl", int, "RL prompts"),
                             ("--n-heldout", int, "held-out questions"),
                             ("--known-min", float, "probe accuracy from which a question is 'known'"),
                             ("--decline-share", float, "share of cold-start traces that decline")):
        demo.add_argument(flag, type=kind, help=f"{what} (default: demo.{flag[2:].replace('-', '_')})")
    demo.set_defaults(handler=_demo)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--corpus", help="corpus JSON/JSONL {title, text, description} (default: the demo corpus)")
    parser.add_argument("--policy", help="base model: HF folder or GGUF (default: model.policy / the embedded one)")
    parser.add_argument("--samples", type=int, help="probe answers per question (default: demo.samples)")
    parser.add_argument("--max-per-family", type=int,
                        help="questions per family, a seeded sample (default: demo.max_per_family)")
    parser.add_argument("--seed", type=int, help="default: the config's seed")


def _demo_settings(args: argparse.Namespace, config: dict) -> dict[str, Any]:
    """The ``demo`` config section with the command line's flags on top."""
    section = dict(config.get("demo") or {})
    for key in ("probe_table", "max_per_family", "samples", "known_min", "n_sft", "n_rl", "n_heldout",
                "decline_share"):
        if getattr(args, key, None) is not None:
            section[key] = getattr(args, key)
    return section


def _entries(args: argparse.Namespace) -> list[dict]:
    from knowrl.train.demo import corpus_entries

    corpus = args.corpus
    if not corpus:
        from knowrl.assets import AssetStore

        corpus = AssetStore().path("demo_corpus")
    return corpus_entries(corpus)


def _questions(entries: list[dict], per_family: int, seed: int) -> list:
    """The questions of each family, at most ``per_family`` of them (seeded sample, corpus order kept)."""
    import random

    from knowrl.train.demo import FAMILIES, build_questions

    questions = build_questions(entries)
    keep = []
    for family in FAMILIES:
        members = [q for q in questions if q.family == family]
        chosen = set(random.Random(f"{seed}-{family}").sample(range(len(members)), min(per_family, len(members))))
        keep += [q for i, q in enumerate(members) if i in chosen]
    return keep


def _settings(demo: dict, seed: int) -> dict[str, Any]:
    from knowrl.train.demo import PROBE_SYSTEM

    return {"version": PROBE_VERSION, "samples": demo["samples"], "max_new_tokens": 12, "temperature": 1.0,
            "batch_size": 64, "system": PROBE_SYSTEM, "seed": seed}


def _model(args: argparse.Namespace, config: dict) -> tuple[Path, dict]:
    """The HF folder to run, and the identity a probe table is matched on (the source file's sha256)."""
    from knowrl.judge.model_identity import folder_sha256, model_file_sha256
    from knowrl.train.models import embedded_gguf, resolve_policy

    source = Path(args.policy or config["model"]["policy"] or embedded_gguf(config))
    digest = model_file_sha256(source) if source.is_file() else folder_sha256(source)
    return resolve_policy(config, source), {"source": source.name, "sha256": digest}


def _run_probe(folder: Path, config: dict, questions: list, settings: dict) -> dict[str, list[str]]:
    from knowrl.train.demo import probe_model

    if not questions:
        return {}
    texts = [q.question for q in questions]
    answers = probe_model(folder, config, texts, samples=settings["samples"],
                          max_new_tokens=settings["max_new_tokens"], batch_size=settings["batch_size"],
                          seed=settings["seed"])
    return dict(zip(texts, answers))


def _resolve(args: argparse.Namespace) -> tuple[dict, dict, Path, dict, dict[str, Any]]:
    """What probe and demo share: config, demo settings, the base model and the probe settings (seeded)."""
    config = resolve_config(args)
    seed = args.seed if args.seed is not None else config["seed"]
    demo = _demo_settings(args, config)
    folder, identity = _model(args, config)
    return config, demo, folder, identity, _settings(demo, seed)


def _probe(args: argparse.Namespace) -> int:
    from knowrl.files import write_json_atomic

    config, demo, folder, identity, settings = _resolve(args)
    questions = _questions(_entries(args), demo["max_per_family"], settings["seed"])
    answers = _run_probe(folder, config, questions, settings)
    write_json_atomic(args.out, {"model": identity, "settings": settings, "answers": answers})
    print(json.dumps({"questions": len(answers), "model": identity, "out": args.out}))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from knowrl.train.demo import make_boundary_demo

    config, demo, folder, identity, settings = _resolve(args)
    seed = settings["seed"]
    entries = _entries(args)
    stored = _table_answers(demo["probe_table"], identity, settings)

    def probe(texts: list[str]) -> list[list[str]]:
        missing = [t for t in texts if t not in stored]
        if missing:
            log.info("probing the base model on %d questions the probe table lacks", len(missing))
            by_text = {q.question: q for q in _questions(entries, 10 ** 9, seed)}
            stored.update(_run_probe(folder, config, [by_text[t] for t in missing], settings))
        return [stored[t] for t in texts]

    wanted = {q.question for q in _questions(entries, demo["max_per_family"], seed)}
    result = make_boundary_demo(entries, args.out, probe, n_sft=demo["n_sft"], n_rl=demo["n_rl"],
                                n_heldout=demo["n_heldout"], known_min=demo["known_min"],
                                decline_share=demo["decline_share"], seed=seed,
                                identity={**identity, "probe": settings}, only=wanted)
    print(json.dumps({k: v for k, v in result.items() if k != "manifest"} | {"labelled": result["manifest"]["labelled"]},
                     indent=2))
    return 0


def _table_answers(path: str | None, identity: dict, settings: dict) -> dict[str, list[str]]:
    """The table's answers when it was made with this model and these settings; else nothing (probe live)."""
    if not path:
        return {}
    from knowrl.files import read_json

    try:
        table = read_json(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"probe table {path}: {exc}") from None
    if table.get("model", {}).get("sha256") != identity["sha256"] or table.get("settings") != settings:
        log.warning("probe table %s was made with another model or other settings; probing live", path)
        return {}
    return dict(table["answers"])
