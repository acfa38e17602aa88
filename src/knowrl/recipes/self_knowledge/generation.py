"""Batched sampling from the policy in process (transformers ``generate``), for introspection, self-analysis and
evaluation. The token ids of each completion are kept, so self-analysis samples can be trained on as they were
generated (TRL's ``rollout_func``), not re-sampled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowrl.cli_common import progress


@dataclass(frozen=True)
class Sample:
    text: str
    ids: tuple[int, ...]     # completion token ids, as generated (EOS included when the model ended the turn)
    truncated: bool          # hit max_new_tokens before a stop string or EOS


def _completion(ids: list[int], tokenizer: Any, stops: Sequence[str], max_new_tokens: int) -> Sample:
    """Cut a generated row at its first EOS/pad. With EOS == pad (SmolLM2) a row stopped by a stop string is
    padded with the EOS id: that EOS was never sampled and is dropped."""
    eos = tokenizer.eos_token_id
    end = ids.index(eos) if eos in ids else None
    if end is None and tokenizer.pad_token_id in ids:
        end = ids.index(tokenizer.pad_token_id)
    kept = ids if end is None else ids[:end]
    text = tokenizer.decode(kept, skip_special_tokens=True)
    stopped = any(text.endswith(stop) for stop in stops)
    if end is not None and not stopped and ids[end] == eos:
        kept = ids[:end + 1]  # the model ended its turn: train on that EOS too
    return Sample(text, tuple(kept), end is None and not stopped and len(ids) >= max_new_tokens)


def sample(model: Any, tokenizer: Any, prompts: Sequence[str], *, n: int, max_new_tokens: int,
           temperature: float, top_p: float = 1.0, stops: Sequence[str] = (), batch_size: int = 16,
           desc: str = "generate") -> list[list[Sample]]:
    """``n`` samples per prompt (greedy when ``temperature`` is 0); prompts are rendered text, left-padded."""
    import torch

    tokenizer.padding_side = "left"
    out: list[list[Sample]] = []
    was_training = model.training
    model.eval()
    try:
        for start in progress(range(0, len(prompts), batch_size), desc=desc, unit="batch",
                              disable=len(prompts) <= batch_size):
            chunk = list(prompts[start:start + batch_size])
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            kwargs = dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else \
                dict(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.no_grad():
                generated = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=n,
                                           stop_strings=list(stops) or None, tokenizer=tokenizer,
                                           pad_token_id=tokenizer.pad_token_id, **kwargs)
            rows = generated[:, enc["input_ids"].shape[1]:].tolist()
            for i in range(len(chunk)):
                out.append([_completion(rows[i * n + j], tokenizer, stops, max_new_tokens) for j in range(n)])
    finally:
        model.train(was_training)
    return out
