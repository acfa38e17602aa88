"""Answer rewards for agentic retrieval RL as TRL reward functions ``f(prompts, completions, **columns)``.

Exact match of the last ``<answer>`` after SQuAD normalisation (lower-case, punctuation and articles removed,
whitespace collapsed), max over the gold answers; token F1 likewise; a format term (every model turn closes one
well-formed ``<search>`` or ``<answer>``, the last one an answer); Search-R1's combined variant (1 correct,
0.8 correct but malformed, 0.2 well-formed but wrong, 0 otherwise). A row without a usable gold answer cannot be
scored: every function returns ``None`` for it (TRL then masks the row) and it is counted.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from knowrl.recipes.agentic_rag.protocol import CORRECTION, PROTOCOL_VERSION

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_ENV_BLOCK = re.compile(r"<information>.*?</information>", re.DOTALL)
_TURN_END = re.compile(r"</(search|answer)>")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation.

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def model_text(text: str) -> str:
    """A completion without what the environment wrote (``<information>`` blocks, the correction note, which
    itself names the tags): only the policy's own answer and format count.

    >>> model_text("<search>q</search><information>x <answer>y</answer></information><answer>z</answer>")
    '<search>q</search>\\n<answer>z</answer>'
    """
    return _ENV_BLOCK.sub("\n", text.replace(CORRECTION.strip(), "\n"))


def final_answer(text: str) -> str | None:
    """The last ``<answer>`` the policy wrote (None: it never answered)."""
    found = _ANSWER.findall(model_text(text))
    return found[-1].strip() if found else None


def gold_list(answers: Any) -> list[str]:
    """Gold answers as a list of non-blank strings (a list, or one string; ``;``-joined strings are not split)."""
    items = answers if isinstance(answers, (list, tuple)) else [answers]
    return [str(a) for a in items if a is not None and normalize_answer(str(a))]


def exact_match(prediction: str | None, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str | None, golds: Sequence[str]) -> float:
    """SQuAD token F1, max over the gold answers."""
    if prediction is None:
        return 0.0
    best, pred = 0.0, normalize_answer(prediction).split()
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def well_formed(text: str) -> bool:
    """Every model turn (environment text removed) ends with one closed ``<search>`` or ``<answer>``, only the
    last one is an answer, each turn reasons in ``<think>`` first, and no turn needed the correction note.

    >>> well_formed("<think>a</think><search>q</search>\\n\\n<information>x</information>\\n\\n"
    ...             "<think>b</think><answer>Lima</answer>")
    True
    """
    if CORRECTION.strip() in text:  # a turn without a closed tag was corrected by the environment
        return False
    text = model_text(text).strip()
    turns = [t for t in re.split(r"(?<=</search>)|(?<=</answer>)", text) if t.strip()]
    if not turns or not turns[-1].rstrip().endswith("</answer>"):
        return False
    for i, turn in enumerate(turns):
        closes = _TURN_END.findall(turn)
        expected = "answer" if i == len(turns) - 1 else "search"
        if closes != [expected] or "<think>" not in turn or turn.find("</think>") > turn.find(f"<{expected}>"):
            return False
    return True


class RagRewards:
    """The configured reward functions plus the step metrics the GRPO trainer logs (the core's scorer hooks:
    ``reward_functions()``, ``step_metrics(gather)``, ``card()``, ``close()``)."""

    def __init__(self, variant: str = "em", format_weight: float = 0.2):
        self.variant, self.format_weight = variant, format_weight
        self._batch: dict[str, list[float]] = {"em": [], "f1": [], "well_formed": [], "answered": []}
        self.unscorable = 0

    def reward_functions(self) -> list[Callable]:
        table = {"em": [self.em_reward], "f1": [self.f1_reward], "em_format": [self.em_reward, self.format_reward],
                 "search_r1": [self.search_r1_reward]}
        return table[self.variant]

    def _score(self, completions: Sequence[Any], answers: Sequence[Any], record: bool) -> list[dict | None]:
        from knowrl.rewards.format import completion_text  # the core's reading of plain / chat completions

        rows = []
        for completion, gold in zip(completions, answers, strict=True):
            golds, text = gold_list(gold), completion_text(completion)
            if not golds:
                rows.append(None)
                self.unscorable += record
                continue
            pred = final_answer(text)
            row = {"em": exact_match(pred, golds), "f1": token_f1(pred, golds), "well_formed": float(well_formed(text)),
                   "answered": float(pred is not None)}
            rows.append(row)
            if record:
                for key, value in row.items():
                    self._batch[key].append(value)
        return rows

    def em_reward(self, prompts=None, completions=(), answers=(), **kwargs) -> list[float | None]:
        """1.0 for an exact match of the last answer (max over gold answers), else 0.0; records the step metrics."""
        return [None if r is None else r["em"] for r in self._score(completions, answers, record=True)]

    def f1_reward(self, prompts=None, completions=(), answers=(), **kwargs) -> list[float | None]:
        """Token F1 of the last answer (max over gold answers)."""
        return [None if r is None else r["f1"] for r in self._score(completions, answers, record=True)]

    def format_reward(self, prompts=None, completions=(), answers=(), **kwargs) -> list[float | None]:
        """+weight for well-formed turns, -weight otherwise (None where EM cannot be scored either)."""
        return [None if r is None else self.format_weight * (1.0 if r["well_formed"] else -1.0)
                for r in self._score(completions, answers, record=False)]

    def search_r1_reward(self, prompts=None, completions=(), answers=(), **kwargs) -> list[float | None]:
        """Search-R1: 1 correct, 0.8 correct but malformed, 0.2 well-formed but wrong, 0 otherwise."""
        table = {(1, 1): 1.0, (1, 0): 0.8, (0, 1): 0.2, (0, 0): 0.0}
        return [None if r is None else table[int(r["em"]), int(r["well_formed"])]
                for r in self._score(completions, answers, record=True)]

    def step_metrics(self, gather=None) -> dict[str, float]:
        """Means since the last call (over every rank with ``gather``), and the unscorable count."""
        batch = {k: [v for rank in gather(list(v)) for v in rank] if gather else v for k, v in self._batch.items()}
        unscorable = sum(gather(self.unscorable)) if gather else self.unscorable
        out = {f"rag/{k}": sum(v) / len(v) for k, v in batch.items() if v}
        out["reward/unscorable"] = float(unscorable)
        self._batch, self.unscorable = {k: [] for k in self._batch}, 0
        return out

    def card(self) -> dict:
        return {"recipe": "agentic_rag", "variant": self.variant, "format_weight": self.format_weight,
                "functions": [f.__name__ for f in self.reward_functions()], "protocol": PROTOCOL_VERSION,
                "normalisation": "squad", "unscorable": "no usable gold answer -> None from every function"}

    def close(self) -> None:
        """Nothing to release (the KB belongs to the retriever)."""
