"""Model identity is the real sha256 of the bytes, never a value matched by file name, and a changed file is
hashed again; the persistent digest records are only a shortcut for an unchanged file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

from knowrl.judge import model_identity
from knowrl.judge.model_identity import folder_sha256, model_file_sha256


@pytest.fixture(autouse=True)
def private_records(tmp_path, monkeypatch):
    """Digest records in this test's folder, and an empty in-memory memo."""
    monkeypatch.setenv(model_identity.HASH_CACHE_ENV, str(tmp_path / "records"))
    monkeypatch.setattr(model_identity, "_memo", {})
    return tmp_path / "records"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_embedded_gguf_hash_is_computed(tiny_gguf):
    assert model_file_sha256(tiny_gguf) == sha256(tiny_gguf)


@pytest.mark.parametrize("how", ["copy2", "rename"])
def test_another_file_under_the_pinned_name_has_its_own_hash(tiny_gguf, tmp_path, how):
    impostor = tmp_path / "other.bin"
    impostor.write_bytes(b"not the embedded model" * 100)
    pinned_name = tmp_path / tiny_gguf.name
    if how == "copy2":  # keeps the source's mtime
        shutil.copy2(impostor, pinned_name)
    else:
        os.replace(impostor, pinned_name)
    assert model_file_sha256(pinned_name) == hashlib.sha256(b"not the embedded model" * 100).hexdigest()
    assert model_file_sha256(pinned_name) != model_file_sha256(tiny_gguf)


@pytest.mark.parametrize("change", [
    "same_size_new_mtime",  # rewritten in place: same length, different bytes
    "new_size",             # appended to
    "same_size_same_mtime_new_inode",  # replaced by another file with identical size and mtime
])
def test_a_changed_file_is_hashed_again(tmp_path, change):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"A" * 4096)
    first = model_file_sha256(model)
    stat = model.stat()
    if change == "same_size_new_mtime":
        model.write_bytes(b"B" * 4096)
        os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    elif change == "new_size":
        with open(model, "ab") as fh:
            fh.write(b"A")
    else:
        other = tmp_path / "other"
        other.write_bytes(b"C" * 4096)
        os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(other, model)
    assert model_file_sha256(model) == sha256(model) != first


def test_digest_record_serves_an_unchanged_file_only(tmp_path, private_records, monkeypatch):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"weights" * 1000)
    real = model_file_sha256(model)
    [record] = private_records.glob("*.json")
    # Another process (an empty memo) reads the record instead of hashing: proved by a planted digest.
    planted = {**json.loads(record.read_text()), "sha256": "0" * 64}
    record.write_text(json.dumps(planted))
    monkeypatch.setattr(model_identity, "_memo", {})
    assert model_file_sha256(model) == "0" * 64
    # Once the file changes the record no longer matches its version and is ignored.
    monkeypatch.setattr(model_identity, "_memo", {})
    model.write_bytes(b"weights" * 1001)
    assert model_file_sha256(model) == sha256(model) != real
    record.write_text("{not json")  # an unreadable record means: hash again
    monkeypatch.setattr(model_identity, "_memo", {})
    assert model_file_sha256(model) == sha256(model)


def test_records_can_be_switched_off(tmp_path, monkeypatch, private_records):
    monkeypatch.setenv(model_identity.HASH_CACHE_ENV, "")
    model = tmp_path / "m.bin"
    model.write_bytes(b"x")
    assert model_file_sha256(model) == sha256(model) and not private_records.exists()


def test_folder_digest_follows_contents(tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "qwen2"}')
    (folder / "sub" / "weights.safetensors").write_bytes(b"1" * 64)
    first = folder_sha256(folder)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("hub bookkeeping")
    assert folder_sha256(folder) == first  # hidden files are not the model
    (folder / "sub" / "weights.safetensors").write_bytes(b"2" * 64)  # same names, same sizes, new weights
    assert folder_sha256(folder) != first
    assert folder_sha256(tmp_path / "missing") is None and folder_sha256("Qwen/Qwen2.5-7B-Instruct") is None
