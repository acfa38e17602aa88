"""Generation backends for the rollout: transformers ``generate`` (CPU and GPU) and TRL's vLLM engine.

Both stop a turn at the first ``</search>`` / ``</answer>`` (transformers: ``stop_strings``; vLLM: ``stop`` in the
sampling parameters) and return at most each row's own cap; the rollout cuts again after the tag, so a backend that
overshoots cannot change what is trained.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from knowrl.recipes.agentic_rag.protocol import STOP_TAGS
from knowrl.recipes.agentic_rag.settings import RagSettings


class TransformersGenerator:
    """``model.generate`` on left-padded contexts, one call per round (rows finish at a stop tag or EOS)."""

    def __init__(self, model: Any, tokenizer: Any, generation_config: Any):
        self.model, self.tokenizer, self.config = model, tokenizer, generation_config

    def generate(self, contexts: list[list[int]], caps: list[int]) -> list[tuple[list[int], None]]:
        import torch

        width, pad = max(map(len, contexts)), self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(c)) + c for c in contexts])
        attention = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in contexts])
        config = copy.deepcopy(self.config)
        config.max_new_tokens, config.stop_strings = max(caps), list(STOP_TAGS)
        device = next(self.model.parameters()).device
        with torch.no_grad():
            out = self.model.generate(input_ids=ids.to(device), attention_mask=attention.to(device),
                                      generation_config=config, tokenizer=self.tokenizer)
        return [(row[:cap], None) for row, cap in zip(out[:, width:].tolist(), caps, strict=True)]


class VLLMGenerator:
    """TRL's ``vllm_generation`` (colocate or server) with the tag stops; returns the sampled tokens' logprobs.
    Written for the GPU path (not exercised on CPU)."""

    def __init__(self, vllm_generation: Any):
        self.engine = vllm_generation

    def generate(self, contexts: list[list[int]], caps: list[int]) -> list[tuple[list[int], list[float]]]:
        engine = self.engine
        saved = engine.max_completion_length, dict(engine.generation_kwargs)
        engine.max_completion_length = max(caps)
        engine.generation_kwargs.update(stop=list(STOP_TAGS), include_stop_str_in_output=True)
        try:
            _, completion_ids, logprobs, _ = engine.generate(prompts=contexts, images=None, num_generations=1)
        finally:
            engine.max_completion_length, engine.generation_kwargs = saved
        return [(ids[:cap], [lp[0] for lp in lps][:cap])
                for ids, lps, cap in zip(completion_ids, logprobs, caps, strict=True)]


@contextlib.contextmanager
def trainer_generator(trainer: Any, settings: RagSettings) -> Iterator[Any]:
    """The generator for one rollout inside a GRPO step: the trainer's vLLM engine, or its model unwrapped for
    generation (as TRL's own transformers path does)."""
    if trainer.use_vllm:
        yield VLLMGenerator(trainer.vllm_generation)
        return
    from trl.models import unwrap_model_for_generation

    with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator,
                                     gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                                     generation_kwargs=trainer.generation_kwargs,
                                     gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs) as model:
        yield TransformersGenerator(model, trainer.processing_class, trainer.generation_config)
