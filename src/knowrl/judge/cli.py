"""``knowrl judge serve|run|grade|agree|command``: judge servers and batch grading from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from knowrl.cli_common import add_config_arguments, resolve_config
from knowrl.errors import ConfigError, InputError

log = logging.getLogger(__name__)
BACKENDS = ("rule", "llamacpp", "vllm", "openai", "transformers")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("judge", help="judge backends: serve, grade, agreement",
                                   description="Local judges for grading answers and splitting atomic facts.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    serve = verbs.add_parser("serve", help="start the configured judge server and keep it up until interrupted")
    _common(serve)
    serve.set_defaults(handler=_serve)

    run = verbs.add_parser("run", help="hold a judge server while CMD runs (exports $KNOWRL_JUDGE_URL to it)")
    _common(run)
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...", help="command to run")
    run.set_defaults(handler=_run)

    grade = verbs.add_parser("grade", help="grade {id, question, gold, prediction} JSONL items (resumable)")
    _common(grade)
    grade.add_argument("--input", required=True, help="JSONL of {id, question, gold, prediction}")
    grade.add_argument("--output", required=True,
                       help="JSONL: each item plus grade and reason, in input order (written once, atomically; "
                            "OUTPUT.partial holds the rows of an unfinished run)")
    grade.add_argument("--chunk", type=int, default=256, help="items per batch between checkpoints")
    grade.add_argument("--stats", help="also write the judge's run statistics to this JSON file")
    grade.set_defaults(handler=_grade)

    agree = verbs.add_parser("agree", help="agreement and Cohen's kappa between two judge backends")
    add_config_arguments(agree)
    agree.add_argument("--a", required=True, choices=BACKENDS, help="first backend")
    agree.add_argument("--b", required=True, choices=BACKENDS, help="second backend")
    agree.add_argument("--input", required=True, help="JSONL of {id, question, gold, prediction}")
    agree.add_argument("--output", help="write the report as JSON here too")
    agree.set_defaults(handler=_agree)

    command = verbs.add_parser("command", help="print the exact server command line for a backend")
    _common(command)
    command.set_defaults(handler=_command)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--backend", choices=BACKENDS, help="overrides judge.backend")


def _judge_cfg(args: argparse.Namespace) -> dict:
    """The resolved ``judge`` section with ``--backend`` applied."""
    cfg = dict(resolve_config(args)["judge"])
    if getattr(args, "backend", None):
        cfg["backend"] = args.backend
    return cfg


def _stop_on_sigterm() -> None:
    """Turn SIGTERM (what Snakemake and SLURM send) into SystemExit so the server's process group is stopped."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _serve(args: argparse.Namespace) -> int:
    from knowrl.judge import get_judge

    cfg = _judge_cfg(args)
    if cfg["backend"] not in ("llamacpp", "vllm"):
        raise ConfigError(f"judge backend {cfg['backend']!r} has no server to start; use llamacpp or vllm")
    from knowrl.judge.config import JUDGE_URL_ENV

    cfg["base_url"] = None
    os.environ.pop(JUDGE_URL_ENV, None)  # serve always starts its own server
    _stop_on_sigterm()
    with get_judge(cfg) as judge:
        print(judge.base_url, flush=True)
        log.info("serving %s (log %s); Ctrl-C to stop", judge.base_url, judge.server.log_path)
        while judge.server.alive():
            time.sleep(1.0)
    log.error("the judge server exited on its own; see its log")
    return 1


def _run(args: argparse.Namespace) -> int:
    from knowrl.judge import get_judge
    from knowrl.judge.config import JUDGE_URL_ENV

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise ConfigError("knowrl judge run needs a command after --")
    cfg = _judge_cfg(args)
    if cfg["backend"] not in ("llamacpp", "vllm"):  # nothing to hold: run the command as it is
        return subprocess.run(cmd).returncode
    _stop_on_sigterm()
    with get_judge(cfg) as judge:
        log.info("judge server at %s held for: %s", judge.base_url, shlex.join(cmd))
        return subprocess.run(cmd, env={**os.environ, JUDGE_URL_ENV: judge.base_url}).returncode


def _read_items(path: str) -> list[dict]:
    from knowrl.files import read_jsonl

    try:
        rows = list(read_jsonl(path))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    for n, row in enumerate(rows, 1):
        missing = [k for k in ("question", "gold", "prediction") if not isinstance(row.get(k), str)]
        if missing:
            raise InputError(f"{path}: item {n} lacks string field(s) {', '.join(missing)}")
        row.setdefault("id", str(n))
    return rows


def _grade(args: argparse.Namespace) -> int:
    """Grade the items not yet graded. Each chunk's rows are appended to ``OUTPUT.partial`` and fsynced (a kill
    loses at most the chunk in flight); at the end OUTPUT is written once, atomically, in input order, and the
    journal removed. A rerun resumes from OUTPUT and the journal; an ungraded row (grade null) is graded again."""
    from knowrl.files import read_jsonl, write_json_atomic, write_jsonl_atomic
    from knowrl.judge import GradeItem, get_judge

    items = _read_items(args.input)
    config = resolve_config(args)
    output, journal = Path(args.output), Path(args.output + ".partial")
    rows = {str(r["id"]): r for r in read_jsonl(output)} if output.is_file() else {}
    resumed, dropped = _read_journal(journal)
    rows.update((str(r["id"]), r) for r in resumed)
    todo = [it for it in items if not rows.get(str(it["id"]), {}).get("grade")]
    log.info("%d items, %d already graded in %s, %d to grade", len(items), len(items) - len(todo),
             args.output, len(todo))
    judge_cfg = {**config["judge"], **({"backend": args.backend} if args.backend else {})}
    output.parent.mkdir(parents=True, exist_ok=True)
    with get_judge(judge_cfg) as judge, open(journal, "a", encoding="utf-8") as sink:
        size = max(1, args.chunk)
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            results = judge.grade([GradeItem(i["question"], i["gold"], i["prediction"], str(i["id"]))
                                   for i in chunk])
            graded = [{**item, "grade": res.grade.value if res.grade else None, "reason": res.reason}
                      for item, res in zip(chunk, results)]
            sink.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in graded))
            sink.flush()
            os.fsync(sink.fileno())
            rows.update((str(r["id"]), r) for r in graded)
        stats = {"identity": judge.identity(), "stats": judge.stats()}
    write_jsonl_atomic(output, [rows[str(i["id"])] for i in items if str(i["id"]) in rows])
    journal.unlink()
    if args.stats:
        from knowrl.artifact import provenance

        write_json_atomic(args.stats, provenance({**config, "judge": judge_cfg}, input=args.input, **stats))
    ungraded = sum(1 for i in items if not rows.get(str(i["id"]), {}).get("grade"))
    print(json.dumps({"items": len(items), "graded": len(items) - ungraded, "ungraded": ungraded,
                      "resumed_from_journal": len(resumed), "dropped_partial_line": dropped,
                      **{k: stats["stats"][k] for k in ("calls", "cache_hits", "unparseable", "failed")}}))
    return 0


def _read_journal(path: Path) -> tuple[list[dict], bool]:
    """Rows of an interrupted run's journal and whether its last line was cut off by a kill (then dropped, with a
    warning, and the file truncated to its last complete row). A malformed row elsewhere is corruption: an error."""
    if not path.is_file():
        return [], False
    data = path.read_bytes()
    complete = data[:data.rfind(b"\n") + 1]
    rows = []
    for n, line in enumerate(complete.decode("utf-8").splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: invalid JSON ({exc.msg}); delete the journal to grade again") from None
    dropped = len(complete) < len(data)
    if dropped:
        log.warning("%s: dropped an incomplete last row (%d bytes) left by an interrupted run; it is graded again",
                    path, len(data) - len(complete))
        with open(path, "r+b") as fh:
            fh.truncate(len(complete))
    return rows, dropped


def _agree(args: argparse.Namespace) -> int:
    from knowrl.files import write_json_atomic
    from knowrl.judge import GradeItem, get_judge
    from knowrl.judge.agreement import agreement_report

    items = [GradeItem(i["question"], i["gold"], i["prediction"], str(i["id"])) for i in _read_items(args.input)]
    config = resolve_config(args)
    grades = {}
    for side, backend in (("a", args.a), ("b", args.b)):
        with get_judge({**config["judge"], "backend": backend}) as judge:
            grades[side] = [r.grade.value if r.grade else None for r in judge.grade(items)]
    report = {"a": args.a, "b": args.b, **agreement_report(grades["a"], grades["b"])}
    if args.output:
        write_json_atomic(args.output, report)
    print(f"{args.a} vs {args.b}: {report['compared']}/{report['items']} items compared, "
          f"agreement {report['agreement']}, Cohen's kappa {report['kappa']}")
    print(json.dumps(report, sort_keys=True))
    return 0


def _command(args: argparse.Namespace) -> int:
    from knowrl.judge.servers import free_port, llamacpp_command, vllm_command

    cfg = _judge_cfg(args)
    port = cfg.get("port") or free_port()
    if cfg["backend"] == "vllm":
        if not cfg.get("model"):
            raise ConfigError("judge.model must name the staged model folder for the vllm backend")
        argv = vllm_command(cfg["model"], cfg["vllm"], port)
    elif cfg["backend"] == "llamacpp":
        from knowrl.judge.http_backends import LlamaCppJudge

        model = cfg["llamacpp"].get("model") or LlamaCppJudge.gguf_path_for(cfg["llamacpp"])
        argv = llamacpp_command(model, cfg["llamacpp"], port, seed=cfg["seed"])
    else:
        raise ConfigError(f"judge backend {cfg['backend']!r} runs no server; use llamacpp or vllm")
    print(shlex.join(argv))
    if not cfg.get("port"):
        print(f"(port {port} was free just now; set judge.port to fix it)", file=sys.stderr)
    return 0
