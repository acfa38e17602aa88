"""Content identity of model files and folders: the real sha256, hashed once per file version.

A judge's identity enters every cache key and every provenance record, so it must change when the bytes change:
it is never a pinned value matched by file name. Hashing a 15 GB GGUF takes tens of seconds, so a digest is
remembered per file version (resolved path, device, inode, size, mtime in ns) in memory and in a small JSON
record per file under ``$KNOWRL_HASH_CACHE`` (default ``~/.cache/knowrl/sha256``; empty = memory only), so the
many short processes of a workflow hash each file once. The inode catches a file renamed or copied over the
name (``shutil.copy2`` keeps size and mtime); any write changes the mtime. The record is only a shortcut: a
missing, stale or unreadable one means "hash again", never a wrong digest.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from knowrl.errors import KnowRLError
from knowrl.files import sha256_bytes, sha256_file, sha256_json, write_json_atomic

log = logging.getLogger(__name__)
HASH_CACHE_ENV = "KNOWRL_HASH_CACHE"
_memo: dict[tuple, str] = {}
_memo_lock = threading.Lock()


def hash_cache_dir() -> Path | None:
    """Folder of the persistent digest records; None when ``$KNOWRL_HASH_CACHE`` is set but empty."""
    value = os.environ.get(HASH_CACHE_ENV)
    if value is None:
        return Path.home() / ".cache" / "knowrl" / "sha256"
    return Path(value) if value else None


def file_version(path: str | os.PathLike) -> tuple:
    """What identifies one version of a file without reading it: (resolved path, device, inode, size, mtime_ns)."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return str(resolved), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def model_file_sha256(path: str | os.PathLike, attempts: int = 3) -> str:
    """sha256 of a file's bytes, streamed; re-hashed only when its version (see ``file_version``) changes."""
    for _ in range(attempts):
        version = file_version(path)
        with _memo_lock:
            if version in _memo:
                return _memo[version]
        record = _record_path(version)
        digest = _read_record(record, version) if record else None
        fresh = digest is None
        if fresh:
            digest = sha256_file(version[0])
        if file_version(path) != version:  # written while it was read: the digest may mix two versions
            continue
        if fresh and record:
            _write_record(record, version, digest)
        with _memo_lock:
            _memo[version] = digest
        return digest
    raise KnowRLError(f"{path} changed while it was hashed, {attempts} times in a row")


def folder_sha256(path: str | os.PathLike) -> str | None:
    """Content digest of a model folder: relative path and sha256 of every file (symlinks followed), hidden
    files and folders (``.cache/``, ``.git/``, lock files) excluded; None when ``path`` is not a local folder
    (a hub model name). Each file is hashed through ``model_file_sha256``, so a folder is read once."""
    root = Path(path)
    if not root.is_dir():
        return None
    files = sorted(p for p in root.rglob("*")
                   if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    return sha256_json([[p.relative_to(root).as_posix(), model_file_sha256(p)] for p in files])


def _record_path(version: tuple) -> Path | None:
    folder = hash_cache_dir()
    return folder / f"{sha256_bytes(version[0].encode())}.json" if folder else None


def _read_record(record: Path, version: tuple) -> str | None:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent or unreadable: hash again
    if not isinstance(data, dict) or data.get("version") != list(version):
        return None
    digest = data.get("sha256")
    return digest if isinstance(digest, str) and len(digest) == 64 else None


def _write_record(record: Path, version: tuple, digest: str) -> None:
    try:
        write_json_atomic(record, {"version": list(version), "sha256": digest})
    except OSError as exc:  # a read-only home only costs a re-hash in the next process
        log.info("cannot remember the sha256 of %s in %s: %s", version[0], record, exc)
