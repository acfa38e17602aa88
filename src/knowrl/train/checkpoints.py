"""Checksummed checkpoints with provenance, and resume from the latest intact checkpoint.

Every checkpoint folder the trainer writes (``checkpoint-N/``) and the final output get ``provenance.json`` (git
commit, resolved config and its hash, data and KB hashes, reward card, package versions, seeds, hardware, step,
wall time) and then ``SHA256SUMS`` over every file, so ``knowrl verify DIR`` (or ``sha256sum -c``) detects any
change. Resuming goes through transformers' ``resume_from_checkpoint`` (model, optimizer, scheduler, RNG states,
step, data position) after the checkpoint's checksums have been verified.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from knowrl.artifact import provenance, verify_sums, write_sums
from knowrl.errors import InputError
from knowrl.config import config_hash
from knowrl.files import read_json, sha256_file, write_json_atomic

log = logging.getLogger(__name__)
PROVENANCE_NAME = "provenance.json"

try:  # the callback base class; transformers is a hard dependency of the train stage
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - keeps `knowrl --help` importable in a broken env
    TrainerCallback = object  # type: ignore[misc,assignment]


def file_hashes(paths: dict[str, str | os.PathLike | None]) -> dict[str, dict[str, str] | None]:
    """``{role: {path, sha256}}`` for data files (``None`` entries kept as ``None``)."""
    return {role: ({"path": str(p), "sha256": sha256_file(p)} if p else None) for role, p in paths.items()}


def seal(directory: str | os.PathLike, config: dict, **extra: Any) -> Path:
    """Write ``provenance.json`` then ``SHA256SUMS`` (covering it) into ``directory``."""
    directory = Path(directory)
    for adapter_config in directory.rglob("adapter_config.json"):
        canonical_adapter_config(adapter_config)
    write_json_atomic(directory / PROVENANCE_NAME, provenance(config, **extra))
    return write_sums(directory)


def canonical_adapter_config(path: Path) -> None:
    """Sort PEFT's ``target_modules``: PEFT keeps them as a set, so their written order depends on the string hash
    seed and two identical runs would differ in this file (and in SHA256SUMS) unless PYTHONHASHSEED was fixed."""
    record = read_json(path)
    if isinstance(record.get("target_modules"), list):
        record["target_modules"] = sorted(record["target_modules"])
    write_json_atomic(path, record)  # always: one canonical layout whatever order PEFT wrote


class ProvenanceCallback(TrainerCallback):
    """Seals every checkpoint right after the trainer wrote it (main process only, once all ranks have written their
    part: with several processes each rank saves its own ``rng_state_<rank>.pth``).

    ``extra`` is a callable returning the run-specific record (data/KB hashes, reward card, ...), evaluated at save
    time so that a reward card or judge statistics are current.
    """

    def __init__(self, config: dict, stage: str, extra: Callable[[], dict] | None = None):
        self.config, self.stage, self.extra = config, stage, extra or dict
        self.started = time.time()

    def on_save(self, args, state, control, **kwargs):
        barrier()  # every rank calls on_save; wait until all of them have finished writing the checkpoint
        if not state.is_world_process_zero:
            return control
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            seal(folder, self.config, stage=self.stage, global_step=state.global_step,
                 wall_time_s=round(time.time() - self.started, 3), seed=args.seed, **self.extra())
            log.info("checkpoint %s sealed (SHA256SUMS + provenance.json)", folder.name)
        return control


def barrier() -> None:
    """Wait for every training process (no-op in a single process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """Highest-numbered ``checkpoint-N`` folder in ``out_dir`` (None if there is none)."""
    from transformers.trainer_utils import get_last_checkpoint

    if not Path(out_dir).is_dir():
        return None
    found = get_last_checkpoint(str(out_dir))
    return Path(found) if found else None


RESUME_IF_UNCHANGED = "if-unchanged"


def resolve_resume(out_dir: str | os.PathLike, resume: str | None, config: dict | None = None,
                   data: dict | None = None) -> Path | None:
    """``resume`` = None (fresh run), ``auto`` (latest checkpoint in ``out_dir`` if any), ``if-unchanged`` or a
    checkpoint path.

    The checkpoint's SHA256SUMS must verify (a truncated or tampered checkpoint is refused, naming the file), and
    with ``config`` / ``data`` (:func:`file_hashes`) its provenance must record the same config hash and input
    hashes: no silent resume under changed settings or inputs. ``auto`` refuses such a checkpoint; ``if-unchanged``
    (what the workflow passes: a rule re-runs because its settings or inputs changed) moves the stale run aside to
    ``<out_dir>.superseded/<UTC time>/`` and starts afresh, so a changed config never trains on, nor loses, the old run.
    """
    if not resume:
        return None
    checkpoint = latest_checkpoint(out_dir) if resume in ("auto", RESUME_IF_UNCHANGED) else Path(resume)
    if checkpoint is None:
        log.info("no checkpoint in %s: starting a fresh run", out_dir)
        return None
    if not checkpoint.is_dir():
        raise InputError(f"checkpoint {checkpoint} does not exist")
    report = verify_sums(checkpoint)
    if not report.ok:
        raise InputError(f"refusing to resume from {checkpoint}: {report.summary()}")
    changed = _changes(read_json(checkpoint / PROVENANCE_NAME), config, data)
    if changed and resume == RESUME_IF_UNCHANGED:
        from knowrl.train.launch import is_main_process

        if is_main_process():  # every rank gets here; one moves the run, the others wait for it
            log.warning("%s was written under a different %s: moved the old run to %s; starting afresh",
                        checkpoint, changed, supersede(out_dir))
        barrier()
        return None
    if changed:
        raise InputError(f"refusing to resume from {checkpoint}: it was written under a different {changed}; "
                         f"use another --out (or --resume {RESUME_IF_UNCHANGED} to move the old run aside)")
    log.info("resuming from %s (%s)", checkpoint, report.summary())
    return checkpoint


def _changes(recorded: dict, config: dict | None, data: dict | None) -> str:
    """What differs between a checkpoint's provenance and this run ('' if nothing checked differs)."""
    if config is not None and recorded.get("config_sha256") != config_hash(config):
        return (f"config (sha256 {str(recorded.get('config_sha256'))[:12]} vs {config_hash(config)[:12]})")
    if data is not None and _digests(recorded.get("data")) != _digests(data):
        return f"input data ({', '.join(sorted(data))})"
    return ""


def _digests(hashes: dict | None) -> dict:
    return {role: entry and entry.get("sha256") for role, entry in (hashes or {}).items()}


def supersede(out_dir: str | os.PathLike) -> Path:
    """Move a whole run folder to ``<out_dir>.superseded/<UTC time>/`` (kept, outside the sealed output)."""
    out_dir = Path(out_dir)
    root, stamp = out_dir.with_name(out_dir.name + ".superseded"), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    root.mkdir(parents=True, exist_ok=True)
    aside, n = root / stamp, 1
    while aside.exists():
        aside, n = root / f"{stamp}-{n}", n + 1
    out_dir.rename(aside)
    out_dir.mkdir()
    return aside


def check_fresh_output(out_dir: str | os.PathLike, resume: str | None) -> None:
    """A fresh run must not silently mix with an earlier run's checkpoints."""
    if not resume and latest_checkpoint(out_dir) is not None:
        raise InputError(f"{out_dir} already holds checkpoints; pass --resume auto to continue that run "
                         "or choose another --out")
