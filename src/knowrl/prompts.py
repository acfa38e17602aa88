"""The policy prompt (METHOD 2), in our own words, as named variants shared by training and evaluation.

``default``: a system turn with the format contract and the bare question as the user turn, rendered with the
model's own chat template and ``add_generation_prompt=True``. ``paper``: the older variant, with the
instructions and a skeleton in the user turn and an assistant prefix that already opens ``<think>``.
"""

from __future__ import annotations

from typing import Any

SYSTEM_PROMPT = (
    "Answer in two parts. First reason step by step inside <think> </think>, checking each step against "
    "factual knowledge you are sure of. Then give the final answer inside <answer> </answer>. "
    "If you are genuinely unsure of the answer, write exactly I don't know. as the answer."
)

PAPER_USER_TEMPLATE = (
    "Think through the question step by step and verify every step with factual knowledge. Write your reasoning "
    "inside <think> </think> and then your final answer inside <answer> </answer>, like this:\n"
    "<think>\nyour reasoning\n</think>\n<answer>\nyour answer\n</answer>\n"
    "If you are genuinely unsure, the answer must be exactly: I don't know.\n\nQuestion: {question}"
)
PAPER_ASSISTANT_PREFIX = "<think>\n"

PROMPT_VARIANTS = ("default", "paper")
REFUSAL_ANSWER = "I don't know."


def policy_messages(question: str, variant: str = "default") -> list[dict[str, str]]:
    """Chat messages for one question (conversational dataset format, as TRL expects)."""
    if variant == "default":
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
    if variant == "paper":
        return [{"role": "user", "content": PAPER_USER_TEMPLATE.format(question=question)}]
    raise ValueError(f"unknown prompt variant {variant!r}; choose one of {PROMPT_VARIANTS}")


def render_prompt(tokenizer: Any, question: str, variant: str = "default") -> str:
    """Prompt text with the model's own chat template; the paper variant appends its assistant prefix."""
    text = tokenizer.apply_chat_template(policy_messages(question, variant), tokenize=False,
                                         add_generation_prompt=True)
    if variant == "paper":
        text += PAPER_ASSISTANT_PREFIX
    return text
