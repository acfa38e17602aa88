"""Judge stage: swappable judge backends for grading, atomic facts and verification (METHOD 3.2-3.3).

>>> from knowrl.judge import get_judge, GradeItem
>>> with get_judge({"backend": "rule", "cache": None}) as judge:
...     [r.grade.value for r in judge.grade([GradeItem("Capital of France?", "Paris", "It is Paris.")])]
['CORRECT']
"""

from __future__ import annotations

from typing import Protocol

from knowrl.errors import ConfigError
from knowrl.judge.base import Judge
from knowrl.judge.config import JudgeConfig
from knowrl.judge.rule_facts import split_facts
from knowrl.judge.refusal import is_june_refusal, is_plain_refusal, is_refusal
from knowrl.judge.rule_grader import keyword_prefilter, rule_grade
from knowrl.judge.types import Decomposition, Grade, GradeItem, GradeResult, VerifyItem, VerifyResult
from knowrl.registry import Registry

JUDGES: Registry[Judge] = Registry("judge backend", {
    "rule": "knowrl.judge.rule_backend:RuleJudge",
    "llamacpp": "knowrl.judge.http_backends:LlamaCppJudge",
    "vllm": "knowrl.judge.http_backends:VLLMJudge",
    "openai": "knowrl.judge.http_backends:OpenAICompatibleJudge",
    "transformers": "knowrl.judge.transformers_backend:TransformersJudge",
})


class Generator(Protocol):
    """Raw chat/text generation through a judge backend (evaluation uses it for the policy's answers)."""

    def generate(self, prompts: list[list[dict]] | list[str], max_tokens: int, temperature: float,
                 n: int = 1, seed: int | None = None) -> list[list[str]]: ...

    def identity(self) -> dict: ...

    def close(self) -> None: ...


def get_judge(judge_cfg: dict | JudgeConfig) -> Judge:
    """The judge named by ``judge_cfg["backend"]`` (managed servers are started here; close() stops them)."""
    cfg = judge_cfg if isinstance(judge_cfg, JudgeConfig) else JudgeConfig.from_dict(judge_cfg)
    return JUDGES.get(cfg.backend)(cfg)


def get_generator(cfg: dict | JudgeConfig) -> Generator:
    """A backend that can generate free text (llamacpp, vllm, openai, transformers; not rule)."""
    judge_cfg = cfg if isinstance(cfg, JudgeConfig) else JudgeConfig.from_dict(cfg)
    if judge_cfg.backend == "rule":
        raise ConfigError("the rule backend cannot generate text; choose llamacpp, vllm, openai or transformers")
    return get_judge(judge_cfg)  # type: ignore[return-value]


__all__ = ["JUDGES", "Decomposition", "Generator", "Grade", "GradeItem", "GradeResult", "Judge", "JudgeConfig",
           "VerifyItem", "VerifyResult", "get_generator", "get_judge", "is_june_refusal", "is_plain_refusal",
           "is_refusal", "keyword_prefilter", "rule_grade", "split_facts"]
