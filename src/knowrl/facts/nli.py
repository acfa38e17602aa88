"""The ``nli`` verifier: any local sequence-classification model folder (upstream: DeBERTa-v3 MNLI/FEVER/ANLI).

Premise = passage, hypothesis = fact, truncation to ``max_length`` (512) cutting the passage, never the fact.
The entailment class is found from ``config.id2label``; pairs are scored in batches sorted by length on an
explicit device (never the training GPU unless configured).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowrl.errors import ConfigError
from knowrl.facts.evidence import Evidence
from knowrl.facts.settings import VerifierSettings
from knowrl.facts.verify import Verdict, Verifier, best_verdict
from knowrl.files import sha256_file, sha256_json

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".json", ".model", ".txt")


def entailment_index(id2label: dict[Any, str]) -> int:
    """Index of the entailment class in a model's ``id2label``.

    >>> entailment_index({0: "ENTAILMENT", 1: "neutral", 2: "contradiction"})
    0
    """
    for idx, label in id2label.items():
        if str(label).strip().lower().startswith("entail"):
            return int(idx)
    raise ConfigError(f"NLI model has no entailment label in id2label {dict(id2label)}; "
                      "use an MNLI-style classifier")


def model_dir_sha256(path: str | Path) -> str:
    """One digest over the model folder's config, tokenizer and weight files (names + contents)."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    return sha256_json([[p.relative_to(root).as_posix(), sha256_file(p)] for p in files])


class NLIVerifier(Verifier):
    name = "nli"
    measure = "entailment (NLI model, P(entailment) >= threshold)"

    def __init__(self, model_dir: str | Path, threshold: float = 0.3, device: str = "cpu",
                 batch_size: int = 32, max_length: int = 512):
        super().__init__()
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise ConfigError(f"NLI model folder {self.model_dir} has no config.json")
        self.threshold, self.device = threshold, device
        self.batch_size, self.max_length = batch_size, max_length
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(self.model_dir).to(device).eval()
        self.entail = entailment_index(self.model.config.id2label)
        self._torch = torch
        self._sha256: str | None = None

    @classmethod
    def from_settings(cls, settings: VerifierSettings, *, kb: Any = None, judge: Any = None) -> "NLIVerifier":
        if not settings.model:
            raise ConfigError("facts.verifier.backend=nli needs facts.verifier.model (a local model folder)")
        return cls(settings.model, threshold=settings.resolved_threshold(), device=settings.device,
                   batch_size=settings.batch_size, max_length=settings.max_length)

    def entailment_probs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """P(entailment) for ``(premise, hypothesis)`` pairs, batched by similar length."""
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        probs = np.zeros(len(pairs), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = self.tokenizer([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], padding=True,
                                   truncation="only_first", max_length=self.max_length, return_tensors="pt")
            with self._torch.inference_mode():
                logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits
            probs[idx] = logits.float().softmax(-1)[:, self.entail].cpu().numpy()
        self.calls += len(pairs)
        return probs

    def verify(self, items: Sequence[tuple[str, Sequence[Evidence]]]) -> list[Verdict]:
        pairs = [(p.text, fact) for fact, passages in items for p in passages]
        probs = self.entailment_probs(pairs) if pairs else np.zeros(0)
        out, at = [], 0
        for _, passages in items:
            out.append(best_verdict(probs[at:at + len(passages)].tolist(), passages, self.threshold))
            at += len(passages)
        return out

    def identity(self) -> dict[str, Any]:
        if self._sha256 is None:
            self._sha256 = model_dir_sha256(self.model_dir)
        return {"backend": self.name, "measure": self.measure, "model": str(self.model_dir), "sha256": self._sha256,
                "threshold": self.threshold, "max_length": self.max_length, "device": self.device,
                "entailment_label": self.model.config.id2label[self.entail]}
