"""The KB's sentence-transformers encoder, loaded only from a local folder, with a hashable identity."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from knowrl.errors import AssetError
from knowrl.files import sha256_file, sha256_json

EMBED_TEMPLATE = "{title}\n{text}"   # passages are embedded with their page title for context


@lru_cache(maxsize=8)
def folder_sha256(path: str) -> str:
    """sha256 over (relative path, file sha256) of every file: one digest naming the exact weights."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return sha256_json([[str(p.relative_to(root)), sha256_file(p)] for p in files])


class Embedder:
    """Thin wrapper: normalised float32 embeddings, batched, from a local model folder (never a hub name)."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", batch_size: int = 64):
        self.path = Path(path).resolve()
        if not (self.path / "modules.json").is_file() and not (self.path / "config.json").is_file():
            raise AssetError(f"embedding model folder {self.path} has no modules.json/config.json; "
                             "run `knowrl assets fetch embedder` or set kb.embedder to a local folder")
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            self._model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        return self._model

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def identity(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.path.name, "dim": self.dim,
                "max_seq_length": int(self.model.max_seq_length), "template": EMBED_TEMPLATE,
                "sha256": folder_sha256(str(self.path))}
