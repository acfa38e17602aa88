"""The NLI verifier with a small randomly initialised classifier saved to a temp dir: real loading and batching."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from knowrl.errors import ConfigError
from knowrl.facts import Evidence, VerifierSettings, build_verifier
from knowrl.files import sha256_json

WORDS = "the moon is earth only natural satellite paris capital of france tower built in".split()


@pytest.fixture(scope="module")
def nli_dir(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    out = tmp_path_factory.mktemp("nli")
    (out / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "."]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(out / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(WORDS) + 6, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=512, num_labels=3,
                        id2label={0: "CONTRADICTION", 1: "ENTAILMENT", 2: "NEUTRAL"},
                        label2id={"CONTRADICTION": 0, "ENTAILMENT": 1, "NEUTRAL": 2})
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def passages(*texts):
    return [Evidence(i, "T", t, 1.0) for i, t in enumerate(texts)]


def test_nli_loading_batching_and_threshold(nli_dir):
    settings = VerifierSettings(backend="nli", model=str(nli_dir), threshold=0.0, batch_size=2, device="cpu")
    verifier = build_verifier(settings)
    contents = [[p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in sorted(nli_dir.iterdir())
                if p.suffix in (".safetensors", ".json", ".txt")]  # config, weights, tokenizer, vocab
    assert verifier.entail == 1 and verifier.identity()["sha256"] == sha256_json(contents)
    assert verifier.identity()["measure"].startswith("entailment")
    items = [("the moon is a satellite", passages("the moon is earth only natural satellite", "paris")),
             ("paris is the capital", passages("paris capital of france", "tower built in", "the moon")),
             ("no evidence here", [])]
    verdicts = verifier.verify(items)
    assert [v.supported for v in verdicts] == [True, True, False] and verdicts[2].reason == "no_evidence"
    assert verifier.calls == 5
    pairs = [(p.text, fact) for fact, ps in items for p in ps]
    batched = verifier.entailment_probs(pairs)
    verifier.batch_size = 1
    assert np.allclose(batched, verifier.entailment_probs(pairs), atol=1e-5)   # padding does not change scores
    verifier.threshold = 1.01
    assert [v.supported for v in verifier.verify(items[:2])] == [False, False]


def test_nli_needs_model_and_entailment_label(tmp_path, nli_dir):
    with pytest.raises(ConfigError, match="needs facts.verifier.model"):
        build_verifier(VerifierSettings(backend="nli"))
    from knowrl.facts.nli import entailment_index
    with pytest.raises(ConfigError, match="no entailment label"):
        entailment_index({0: "LABEL_0", 1: "LABEL_1"})


def test_registry_entries_import():
    from knowrl.facts import VERIFIERS

    for name in VERIFIERS.names():
        assert VERIFIERS.get(name).name == name
