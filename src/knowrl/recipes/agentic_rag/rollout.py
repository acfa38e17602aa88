"""Multi-turn search rollouts (Search-R1 protocol) with loss masks and a total token budget, for TRL's
``rollout_func`` and for evaluation.

Per generation round every live trajectory gets one model turn (at most ``turn_tokens`` new tokens, cut after its
first ``</search>`` / ``</answer>``); all searches of the round go to the KB in **one** batched call (Knowledge-R1's
"fast agentic RAG"); the ``<information>`` block (passage text cut to ``observation_tokens``) is appended; after
``max_turns`` model turns a note forces the final answer. The completion (model + environment tokens) never exceeds
``budget`` tokens: one token is always kept free for the closing EOS, and an observation that does not fit is cut
or, when not even its tags fit, ends the trajectory as truncated. ``env_mask`` is 1 on sampled tokens and 0 on
everything the environment wrote (observations, notes, the EOS after ``</answer>``), exactly as long as the
completion.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from knowrl.recipes.agentic_rag import protocol
from knowrl.recipes.agentic_rag.settings import RagSettings


class Generator(Protocol):
    """Continues token contexts: ``generate(contexts, caps)`` -> ``[(new_ids, logprobs or None)]``, at most
    ``caps[i]`` new tokens each (it may stop earlier, at a stop tag or EOS; the rollout cuts again)."""

    def generate(self, contexts: list[list[int]], caps: list[int]) -> list[tuple[list[int], list[float] | None]]: ...


class Retriever(Protocol):
    def search(self, queries: list[str]) -> list[list[tuple[str, str]]]: ...


@dataclass
class Trajectory:
    """One completion being built: token ids, loss mask, sampled logprobs (None where the environment wrote)."""

    prompt_ids: list[int]
    ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    logprobs: list[float | None] = field(default_factory=list)
    turns: int = 0
    searches: list[str] = field(default_factory=list)
    invalid: int = 0
    observation_tokens: int = 0
    observations_cut: int = 0
    answered: bool = False
    forced: bool = False
    truncated: bool = False
    done: bool = False

    def add(self, ids: Sequence[int], model: bool, logprobs: Sequence[float] | None = None) -> None:
        self.ids += ids
        self.mask += [int(model)] * len(ids)
        self.logprobs += list(logprobs) if logprobs is not None else [None] * len(ids)


class Rollout:
    """Runs trajectories for a batch of tokenized prompts with one generator and one retriever."""

    def __init__(self, generator: Generator, retriever: Retriever | None, tokenizer: Any, settings: RagSettings):
        self.generator, self.retriever, self.tokenizer, self.settings = generator, retriever, tokenizer, settings
        self.eos_id = tokenizer.eos_token_id
        self.eos_ids = {self.eos_id}
        self.pad_id = tokenizer.pad_token_id
        self.clock = {"generation": 0.0, "retrieval": 0.0}
        self.retrieval_calls = 0

    def run(self, prompt_ids: Sequence[Sequence[int]]) -> list[Trajectory]:
        trajs = [Trajectory(list(p)) for p in prompt_ids]
        for turn in range(self.settings.max_turns + 1):
            live = [t for t in trajs if not t.done]
            if not live:
                break
            final = turn == self.settings.max_turns
            pending = self._model_turn(live, final)
            self._retrieve(pending)
            if turn + 1 == self.settings.max_turns:
                for t in (t for t in live if not t.done):
                    t.forced = self._insert(t, protocol.FINAL_TURN)
        for t in (t for t in trajs if not t.ids):  # TRL needs a last token; nothing sampled, nothing trained
            t.add([self.eos_id], model=False)
        return trajs

    def _model_turn(self, live: list[Trajectory], final: bool) -> list[tuple[Trajectory, str]]:
        """One generation call for every live trajectory; returns the searches to run."""
        caps = [min(self.settings.turn_tokens, self.settings.budget - len(t.ids) - 1) for t in live]
        began = time.perf_counter()
        outputs = self.generator.generate([t.prompt_ids + t.ids for t in live], caps)
        self.clock["generation"] += time.perf_counter() - began
        pending = []
        for t, cap, (new, logprobs) in zip(live, caps, outputs, strict=True):
            keep, ended = self.cut(new[:cap])
            t.add(new[:keep], model=True, logprobs=logprobs[:keep] if logprobs is not None else None)
            t.turns += 1
            action = protocol.parse_action(self.tokenizer.decode(new[:keep], skip_special_tokens=True))
            if action.kind == "answer":
                t.answered, t.done = True, True
                if not ended:
                    t.add([self.eos_id], model=False)  # the environment closes the episode
            elif ended or final:
                t.done = True
            elif len(t.ids) >= self.settings.budget - 1:
                t.done = t.truncated = True
            elif action.kind == "search":
                pending.append((t, action.content))
            else:
                t.invalid += 1
                self._insert(t, protocol.CORRECTION)
        return pending

    def cut(self, new: Sequence[int]) -> tuple[int, bool]:
        """(tokens to keep, ended by EOS) for one turn: through the first stop tag, the first EOS (kept) or up to
        the first padding token, whichever comes first."""
        end = next((i for i, tok in enumerate(new) if tok in self.eos_ids or tok == self.pad_id), len(new))
        ended = end < len(new) and new[end] in self.eos_ids
        text = self.tokenizer.decode(new[:end], skip_special_tokens=True)
        if protocol.stop_end(text) is not None:
            for k in range(1, end + 1):  # the shortest prefix holding the tag (turns are short: linear is fine)
                if protocol.stop_end(self.tokenizer.decode(new[:k], skip_special_tokens=True)) is not None:
                    return k, False
        return (end + 1, True) if ended else (end, False)

    def _retrieve(self, pending: list[tuple[Trajectory, str]]) -> None:
        if not pending:
            return
        if self.retriever is None:
            raise RuntimeError("a search was requested but the rollout has no retriever")
        began = time.perf_counter()
        results = self.retriever.search([query for _, query in pending])
        self.clock["retrieval"] += time.perf_counter() - began
        self.retrieval_calls += 1
        for (t, query), passages in zip(pending, results, strict=True):
            t.searches.append(query)
            self._observe(t, passages)

    def _observe(self, t: Trajectory, passages: list[tuple[str, str]]) -> None:
        """Append the <information> block, its passage text cut to the cap and to the budget left."""
        opening, body, closing = (self._tokens(s) for s in protocol.observation(passages))
        room = self.settings.budget - 1 - len(t.ids) - len(opening) - len(closing) - 1  # one model token after
        if room < 1:
            t.done = t.truncated = True
            return
        keep = min(len(body), self.settings.observation_tokens, room)
        t.observations_cut += keep < len(body)
        t.observation_tokens += keep
        t.add(opening + body[:keep] + closing, model=False)

    def _insert(self, t: Trajectory, text: str) -> bool:
        """Append an environment note whole, or end the trajectory as truncated when it does not fit."""
        tokens = self._tokens(text)
        if len(t.ids) + len(tokens) + 2 > self.settings.budget:
            t.done = t.truncated = True
            return False
        t.add(tokens, model=False)
        return True

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]


def summarize(trajs: Sequence[Trajectory]) -> dict[str, float]:
    """Per-batch rollout metrics: searches and turns per completion, truncation, observation tokens, ..."""
    n = max(len(trajs), 1)
    return {"rag/searches": sum(len(t.searches) for t in trajs) / n, "rag/turns": sum(t.turns for t in trajs) / n,
            "rag/answered": sum(t.answered for t in trajs) / n, "rag/forced": sum(t.forced for t in trajs) / n,
            "rag/truncated": sum(t.truncated for t in trajs) / n, "rag/invalid": sum(t.invalid for t in trajs) / n,
            "rag/observation_tokens": sum(t.observation_tokens for t in trajs) / n,
            "rag/observations_cut": sum(t.observations_cut for t in trajs) / n,
            "rag/env_tokens": sum(len(t.mask) - sum(t.mask) for t in trajs) / n,
            "rag/completion_tokens": sum(len(t.ids) for t in trajs) / n}


def trl_output(trajs: Sequence[Trajectory]) -> dict[str, list]:
    """The dict TRL's ``rollout_func`` must return; the extra keys reach the reward functions as columns."""
    sampled = any(lp is not None for t in trajs for lp in t.logprobs)
    return {"prompt_ids": [t.prompt_ids for t in trajs], "completion_ids": [t.ids for t in trajs],
            "logprobs": [[0.0 if lp is None else lp for lp in t.logprobs] for t in trajs] if sampled else None,
            "env_mask": [t.mask for t in trajs], "searches": [len(t.searches) for t in trajs],
            "turns": [t.turns for t in trajs], "rollout_truncated": [t.truncated for t in trajs]}


def render_prompts(tokenizer: Any, prompts: Sequence[Any]) -> list[list[int]]:
    """Token ids of conversational (or already rendered) prompts, with the model's own chat template."""
    out = []
    for prompt in prompts:
        text = prompt if isinstance(prompt, str) else tokenizer.apply_chat_template(
            prompt, add_generation_prompt=True, tokenize=False)
        out.append(tokenizer(text, add_special_tokens=False)["input_ids"])
    return out


def make_rollout_func(settings: RagSettings, retriever: Retriever,
                      wrap: Callable[[Generator, Any], Generator] | None = None) -> Callable:
    """TRL ``rollout_func(prompts, trainer)``: transformers generation on the trainer's own model (CPU or GPU), or
    the trainer's vLLM engine (colocate or server) when ``use_vllm``; rollout metrics go into the trainer's logs.
    ``wrap(generator, tokenizer)`` decorates the generator (the benchmark forces searches with it)."""
    from knowrl.recipes.agentic_rag.generators import trainer_generator

    def rollout_func(prompts: list, trainer: Any) -> dict[str, list]:
        tokenizer = trainer.processing_class
        with trainer_generator(trainer, settings) as generator:
            generator = wrap(generator, tokenizer) if wrap is not None else generator
            runner = Rollout(generator, retriever, tokenizer, settings)
            trajs = runner.run(render_prompts(tokenizer, prompts))
        mode = "train" if trainer.model.training else "eval"
        stats = {**summarize(trajs), "time/rollout_generation_s": runner.clock["generation"],
                 "time/retrieval_s": runner.clock["retrieval"], "rag/retrieval_calls": runner.retrieval_calls}
        for key, value in stats.items():
            trainer._metrics[mode][key].append(float(value))
        return trl_output(trajs)

    return rollout_func
