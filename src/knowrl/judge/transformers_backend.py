"""The ``transformers`` backend: in-process batched generation from a local model folder (or a .gguf file).

No server and no JSON-schema support, so output is constrained differently: ``grade`` and ``verify`` pick the
most likely of their allowed first tokens (A/B/C, True/False) from one forward pass, which is a one-token reply
by construction; ``atomic_facts`` generates text that the strict parser then reads.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from knowrl.errors import ConfigError
from knowrl.judge.base import Judge, Outcome, parsed_outcome
from knowrl.judge.config import JudgeConfig
from knowrl.judge.model_identity import folder_sha256, model_file_sha256
from knowrl.judge.tasks import TASKS

CHOICES = {"grade": ["A", "B", "C"], "verify": ["True", "False"]}


def load_model(path: str, device: str = "cpu", dtype: str = "auto") -> tuple[Any, Any]:
    """Model and tokenizer from a local folder or GGUF file (offline); the tokenizer pads on the left."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = Path(path)
    if not target.exists():
        raise ConfigError(f"judge.model {path} does not exist (the transformers backend needs a local model)")
    kwargs: dict[str, Any] = {"gguf_file": target.name} if target.suffix == ".gguf" else {}
    folder = str(target.parent if kwargs else target)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, torch_dtype=dtype, **kwargs)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device).eval(), tokenizer


class TransformersJudge(Judge):
    name = "transformers"

    def __init__(self, cfg: JudgeConfig):
        super().__init__(cfg)
        if not cfg.model:
            raise ConfigError("judge.backend 'transformers' needs judge.model (a local model folder or .gguf)")
        settings = cfg.transformers
        self.device, self.batch_size = settings.get("device", "cpu"), int(settings.get("batch_size", 8))
        self.model, self.tokenizer = load_model(cfg.model, self.device, settings.get("dtype", "auto"))

    def model_identity(self) -> dict:
        path = str(self.cfg.model)
        digest = model_file_sha256(path) if Path(path).is_file() else folder_sha256(path)
        return {"path": Path(path).name, "sha256": digest}

    def output_mode(self, task: str | None = None) -> str:
        return "text"

    def _render(self, prompt: list[dict] | str) -> str:
        if isinstance(prompt, str):
            return prompt
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in prompt) + "\n\nassistant: "

    def _compute(self, task: str, inputs: list[dict]) -> list[Outcome]:
        prompts = [self._render(TASKS[task].messages(inp, "text")) for inp in inputs]
        replies: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            batch = prompts[start:start + self.batch_size]
            if task in CHOICES:
                replies += self._choose(batch, CHOICES[task])
            else:
                budget = self.cfg.max_tokens or TASKS[task].max_tokens
                replies += [r[0] for r in self._generate(batch, budget, self.cfg.temperature, 1, self.cfg.seed)]
        return [parsed_outcome(task, reply) for reply in replies]

    def _choose(self, prompts: list[str], choices: list[str]) -> list[str]:
        """The allowed first token with the highest logit after each prompt (one forward pass per batch)."""
        import torch

        ids = [self.tokenizer.encode(c, add_special_tokens=False)[0] for c in choices]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        start = time.perf_counter()
        with torch.no_grad():
            logits = self.model(**enc).logits[:, -1, :]
        self._stats.record_call(time.perf_counter() - start, int(enc["attention_mask"].sum()), len(prompts))
        picks = logits[:, ids].argmax(dim=-1).tolist()
        return [choices[i] for i in picks]

    def _generate(self, prompts: list[str], max_tokens: int, temperature: float, n: int,
                  seed: int) -> list[list[str]]:
        import torch

        torch.manual_seed(seed)
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        start = time.perf_counter()
        with torch.no_grad():
            out = self.model.generate(**enc, max_new_tokens=max_tokens, num_return_sequences=n,
                                      pad_token_id=self.tokenizer.pad_token_id, **sampling)
        new = out[:, enc["input_ids"].shape[1]:]
        pad = self.tokenizer.pad_token_id
        self._stats.record_call(time.perf_counter() - start, int(enc["attention_mask"].sum()),
                                int((new != pad).sum()))
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        return [texts[i * n:(i + 1) * n] for i in range(len(prompts))]

    def generate(self, prompts: list[list[dict]] | list[str], max_tokens: int, temperature: float, n: int = 1,
                 seed: int | None = None) -> list[list[str]]:
        """``n`` completions per prompt, batched ``transformers.batch_size`` prompts at a time."""
        rendered = [self._render(p) for p in prompts]
        seed = self.cfg.seed if seed is None else seed
        results: list[list[str]] = []
        for start in range(0, len(rendered), self.batch_size):
            results += self._generate(rendered[start:start + self.batch_size], max_tokens, temperature, n, seed)
        return results
