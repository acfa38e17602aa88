"""The in-process ``transformers`` backend on a tiny randomly initialised Llama built in the test (seconds, offline).

A random model grades at random; what is checked is the plumbing: grade and verify replies are constrained to one
allowed token (always parseable), generated facts go through the strict parser (failures counted), generation
returns ``n`` strings per prompt, and results are cached.
"""

from __future__ import annotations

import hashlib

import pytest

from knowrl.files import sha256_json
from knowrl.judge import Grade, GradeItem, VerifyItem, get_generator, get_judge

CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "A", "B", "C", "True", "False", "-", "Paris", "is",
             "the", "capital", "of", "France", "system", "user", "assistant"] + [chr(c) for c in range(97, 123)]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="<|im_end|>", bos_token="<|im_start|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(words), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
                         pad_token_id=1, eos_token_id=3, bos_token_id=2)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def alone_choice(judge, task: str, inputs: dict, choices: list[str]) -> str:
    """The allowed first token the model ranks highest for one prompt, computed without batching or padding."""
    import torch

    from knowrl.judge.tasks import TASKS

    prompt = judge._render(TASKS[task].messages(inputs, "text"))
    ids = [judge.tokenizer.encode(c, add_special_tokens=False)[0] for c in choices]
    enc = judge.tokenizer([prompt], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        logits = judge.model(**enc).logits[0, -1, ids]
    return choices[int(logits.argmax())]


def test_grade_verify_decompose_generate(tiny_model, tmp_path):
    cfg = {"backend": "transformers", "model": str(tiny_model), "cache": str(tmp_path / "c.sqlite"),
           "max_tokens": 8, "transformers": {"batch_size": 3}}
    predictions = ("Paris", "Lyon is not the capital of France", "I don't know", "Paris")
    items = [GradeItem("Capital of France?", "Paris", p) for p in predictions]
    with get_judge(cfg) as judge:
        grades = judge.grade(items)
        # the batched one-token choice (prompts of different lengths, left-padded) is the model's own pick
        expected = [alone_choice(judge, "grade", {"question": it.question, "gold": it.gold,
                                                  "prediction": it.prediction}, ["A", "B", "C"]) for it in items]
        assert [r.grade for r in grades] == [Grade.from_letter(e) for e in expected]
        assert judge.stats()["deduplicated"] == 1
        fact, passages = "Paris is the capital of France", ["Paris is the capital of France"]
        verdicts = judge.verify([VerifyItem(fact, passages)])
        best = alone_choice(judge, "verify", {"fact": fact, "passages": passages}, ["True", "False"])
        assert verdicts[0].supported is (best == "True")
        facts = judge.decompose(["Paris is the capital of France."])
        assert judge.stats()["unparseable"] == (facts[0].facts is None)  # a failed parse is counted, once
        again = judge.grade(items)
        assert all(r.cached for r in again) and [r.grade for r in again] == [r.grade for r in grades]
        assert judge.identity()["model"]["sha256"] == sha256_json(
            [[p.relative_to(tiny_model).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest()]
             for p in sorted(tiny_model.rglob("*")) if p.is_file()])
    with get_generator(cfg) as gen:
        out = gen.generate([[{"role": "user", "content": "Paris is"}], "the capital"], max_tokens=4,
                           temperature=1.0, n=3, seed=3)
    assert len(out) == 2 and all(len(group) == 3 for group in out)
