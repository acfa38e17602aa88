"""Policy generation for evaluation: the METHOD 2 prompt, batched, greedy plus Avg@k sampling.

Two generator paths share the judge contract ``generate(prompts, max_tokens, temperature, n, seed) ->
list[list[str]]``: :class:`TransformersPolicy` (in-process, a local HF model folder or GGUF file plus an optional
PEFT adapter: base, SFT and GRPO models by path) and any backend of ``knowrl.judge.get_generator`` (vLLM,
llama.cpp, OpenAI-compatible servers serving the policy).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowrl.errors import InputError
from knowrl.eval.benchmarks import Item
from knowrl.files import sha256_file
from knowrl.prompts import policy_messages, render_prompt

log = logging.getLogger(__name__)


def _dir_identity(path: Path) -> dict[str, Any]:
    """Name and a hash of the small config files (weights are hashed by the stage that wrote them)."""
    info: dict[str, Any] = {"path": str(path)}
    for name in ("adapter_config.json", "config.json", "SHA256SUMS"):
        if (path / name).is_file():
            info[f"{name}_sha256"] = sha256_file(path / name)
    return info


class TransformersPolicy:
    """In-process generation with a local HF model folder and an optional PEFT adapter (left-padded batches)."""

    def __init__(self, folder: str | os.PathLike, adapter: str | os.PathLike | None = None, device: str = "cpu",
                 dtype: str = "auto", source: str | os.PathLike | None = None):
        """``folder``: an HF model folder (``knowrl.train.models.resolve_policy`` turns a GGUF into one);
        ``source``: what the user named (a GGUF file, say), recorded in the identity."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_path, self.adapter = Path(source or folder), Path(adapter) if adapter else None
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype).to(device)
        if self.adapter is not None:
            if not (self.adapter / "adapter_config.json").is_file():
                raise InputError(f"not a PEFT adapter folder (no adapter_config.json): {self.adapter}")
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, self.adapter)
        self.model.eval()
        self.device = device

    def render(self, question: str, variant: str) -> str:
        return render_prompt(self.tokenizer, question, variant)

    def generate(self, prompts: Sequence[str], max_tokens: int, temperature: float = 0.0, n: int = 1,
                 seed: int | None = None) -> list[list[str]]:
        """``n`` completions per rendered prompt; temperature 0 is greedy (then n must be 1)."""
        import torch

        if temperature <= 0 and n != 1:
            raise ValueError("greedy decoding gives one completion per prompt; use temperature > 0 for n > 1")
        if seed is not None:
            torch.manual_seed(seed)
        batch = self.tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(self.device)
        # plain temperature sampling (no top-k/top-p truncation from the model's generation_config), or greedy
        sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": 0} if temperature > 0 \
            else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        with torch.no_grad():
            out = self.model.generate(**batch, max_new_tokens=max_tokens, num_return_sequences=n,
                                      pad_token_id=self.tokenizer.pad_token_id, **sampling)
        texts = self.tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        return [texts[i * n:(i + 1) * n] for i in range(len(prompts))]

    def identity(self) -> dict[str, Any]:
        info = {"backend": "transformers", "model": _dir_identity(self.model_path) if self.model_path.is_dir()
                else {"path": str(self.model_path), "sha256": sha256_file(self.model_path)}}
        info["adapter"] = _dir_identity(self.adapter) if self.adapter else None
        return info

    def close(self) -> None:
        self.model = None


class JudgeBackendPolicy:
    """A ``knowrl.judge`` generator (server backends); prompts go as chat messages, rendered by the server."""

    def __init__(self, judge_cfg: dict, model: str | None = None, adapter: str | None = None):
        if adapter:
            raise InputError("an adapter needs eval.backend=transformers (or serve the merged model)")
        from knowrl.judge import get_generator

        self.generator = get_generator(judge_cfg)
        self.model_path = model

    def render(self, question: str, variant: str) -> list[dict[str, str]]:
        if variant != "default":
            log.warning("prompt variant %r: server backends get chat messages without its assistant prefix", variant)
        return policy_messages(question, variant)

    def generate(self, prompts, max_tokens: int, temperature: float = 0.0, n: int = 1, seed: int | None = None):
        return self.generator.generate(list(prompts), max_tokens=max_tokens, temperature=temperature, n=n, seed=seed)

    def identity(self) -> dict[str, Any]:
        ident = getattr(self.generator, "identity", None)
        return {"backend": "judge", "generator": ident() if callable(ident) else type(self.generator).__name__,
                "model": self.model_path}

    def close(self) -> None:
        close = getattr(self.generator, "close", None)
        if callable(close):
            close()


def generate_records(policy, items: Sequence[Item], *, mode: str, max_tokens: int, temperature: float,
                     n: int, batch_size: int, variant: str, seed: int, bar=None) -> list[dict]:
    """One record per (item, sample): the stored fields a regrade needs, plus the response."""
    records = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        prompts = [policy.render(item.question, variant) for item in chunk]
        outputs = policy.generate(prompts, max_tokens=max_tokens, temperature=temperature, n=n,
                                  seed=seed + start)
        for item, responses in zip(chunk, outputs, strict=True):
            for sample, response in enumerate(responses):
                records.append({"id": item.id, "kind": item.kind, "question": item.question, "gold": item.answer,
                                "meta": item.meta, "mode": mode, "sample": sample, "temperature": temperature,
                                "response": response})
        if bar is not None:
            bar.update(len(chunk))
    return records
