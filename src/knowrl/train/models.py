"""Policy loading: a local HF folder, or a GGUF (the embedded SmolLM2 by default) converted once and cached by sha256.

transformers can load a GGUF straight into a model (dequantised) but refuses to ``save_pretrained`` it, and loading
takes ~20 s on 2 cores. :func:`resolve_policy` therefore rebuilds the model from its config without the GGUF
quantisation marker, loads the state dict and saves a plain HF folder under ``<cache>/<gguf sha256[:16]>-<conversion>/``; every
later run loads that folder. The chat template is always the model's own.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from knowrl.errors import AssetError, ConfigError
from knowrl.files import write_json_atomic

log = logging.getLogger(__name__)
CONVERTED_MARKER = "KNOWRL_CONVERTED.json"
CONVERSION = "c2"  # bump when the conversion changes: the cache key is <sha256[:16]>-<CONVERSION>


def embedded_gguf(config: dict) -> Path:
    """Path of the embedded tiny GGUF in the asset cache (``knowrl assets fetch tiny_lm`` puts it there)."""
    from knowrl.assets import AssetStore

    cache = os.environ.get("KNOWRL_ASSETS") or config.get("assets", {}).get("cache_dir")
    return AssetStore(cache).path("tiny_lm")


def resolve_policy(config: dict, policy: str | os.PathLike | None = None) -> Path:
    """An HF model folder for ``policy`` (default ``model.policy``; null = embedded GGUF), converting a GGUF once."""
    policy = policy if policy is not None else config["model"]["policy"]
    source = Path(policy) if policy else embedded_gguf(config)
    if source.is_dir():
        if not (source / "config.json").is_file():
            raise ConfigError(f"model folder {source} has no config.json (expected a Hugging Face model folder)")
        return source
    if source.suffix == ".gguf" and source.is_file():
        return convert_gguf(source, Path(config["model"]["cache_dir"]))
    raise ConfigError(f"policy {source} is neither a Hugging Face model folder nor a .gguf file")


def convert_gguf(gguf: Path, cache_dir: Path) -> Path:
    """Convert ``gguf`` into an fp32 HF folder ``cache_dir/<sha256[:16]>`` (atomic: built aside, then renamed)."""
    from knowrl.judge.model_identity import model_file_sha256

    digest = model_file_sha256(gguf)  # remembered per file version: not re-hashed by every job
    target = cache_dir / f"{digest[:16]}-{CONVERSION}"
    if (target / CONVERTED_MARKER).is_file():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a Hugging Face folder in %s (once)", gguf.name, target)
    staging = cache_dir / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - one-line error for a broken or unsupported GGUF
        raise AssetError(f"cannot load GGUF {gguf}: {exc}") from exc
    cfg = loaded.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    _align_special_tokens(tokenizer, loaded.generation_config)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    write_json_atomic(staging / CONVERTED_MARKER, {"gguf": gguf.name, "gguf_sha256": digest, "dtype": "float32",
                                                       "conversion": CONVERSION})
    try:
        os.replace(staging, target)
    except OSError:  # a concurrent conversion (another job) published first: keep its complete folder
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / CONVERTED_MARKER).is_file():
            raise
    return target


def _align_special_tokens(tokenizer: Any, generation_config: Any) -> None:
    """Take EOS / PAD from the GGUF's own metadata (the generation config).

    Some transformers versions map a GGUF's special tokens wrongly (SmolLM2: EOS read as ``<|im_start|>``), which
    would make generation stop at the start of a turn and SFT teach the wrong end-of-turn token.
    """
    eos_id = generation_config.eos_token_id
    eos_id = eos_id[0] if isinstance(eos_id, list) else eos_id
    if eos_id is not None and tokenizer.eos_token_id != eos_id:
        log.info("GGUF tokenizer EOS %r -> %r (from the GGUF metadata)", tokenizer.eos_token,
                 tokenizer.convert_ids_to_tokens(eos_id))
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    pad_id = generation_config.pad_token_id
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad_id) if pad_id is not None else tokenizer.eos_token


def torch_dtype(precision: str):
    """Weights dtype for a precision setting: fp32 on CPU; bf16/fp16 as named (auto = bf16 if supported)."""
    import torch

    name = resolve_precision(precision)
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 on a CUDA GPU that supports it, fp16 on older CUDA GPUs, fp32 on CPU."""
    import torch

    if precision != "auto":
        if precision in ("bf16", "fp16") and not torch.cuda.is_available():
            raise ConfigError(f"precision {precision} needs a CUDA GPU; use precision=auto or fp32 on CPU")
        return precision
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def load_tokenizer(path: str | os.PathLike, config: dict):
    """The model's own tokenizer and chat template; left padding for generation, a pad token guaranteed."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=config["model"]["trust_remote_code"])
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"tokenizer in {path} has no chat template; knowrl uses the model's own template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str | os.PathLike, config: dict, precision: str = "auto") -> Any:
    """A causal LM from an HF folder in the training dtype (``model.backend`` = transformers)."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch_dtype(precision),
                              "trust_remote_code": config["model"]["trust_remote_code"]}
    if config["model"]["attn_implementation"]:
        kwargs["attn_implementation"] = config["model"]["attn_implementation"]
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def require_unsloth() -> Any:
    """Import Unsloth or raise a one-line error: it needs an NVIDIA GPU and its own environment."""
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("model.backend=unsloth needs an NVIDIA GPU (CUDA is not available here); "
                          "use model.backend=transformers")
    try:
        import unsloth  # noqa: F401
        from unsloth import FastLanguageModel
    except ImportError as exc:
        raise ConfigError(f"model.backend=unsloth but Unsloth is not importable ({exc}); run in the "
                          "train-unsloth environment (envs/train-unsloth.yaml) or use model.backend=transformers") from None
    return FastLanguageModel


def load_unsloth(path: str | os.PathLike, config: dict, lora: dict, max_seq_length: int,
                 gradient_checkpointing: bool, seed: int) -> tuple[Any, Any]:
    """Model + tokenizer through Unsloth's FastLanguageModel with the LoRA adapter already attached."""
    fast = require_unsloth()
    model, tokenizer = fast.from_pretrained(model_name=str(path), max_seq_length=max_seq_length,
                                            dtype=None, load_in_4bit=False)
    model = fast.get_peft_model(model, r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                                target_modules=list(lora["target_modules"]), random_state=seed,
                                use_gradient_checkpointing="unsloth" if gradient_checkpointing else False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def lora_config(lora: dict) -> Any:
    """PEFT LoraConfig from a ``sft.lora`` / ``grpo.lora`` section."""
    from peft import LoraConfig

    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=list(lora["target_modules"]), bias="none", task_type="CAUSAL_LM")


def merge_adapter(base_path: str | os.PathLike, adapter_path: str | os.PathLike, out: str | os.PathLike,
                  config: dict) -> Path:
    """Merge a LoRA adapter into its base and save a plain HF folder (with the base's tokenizer)."""
    from peft import PeftModel

    base = load_model(base_path, config, precision="fp32" if not _cuda() else "auto")
    merged = PeftModel.from_pretrained(base, str(adapter_path)).merge_and_unload()
    out = Path(out)
    merged.save_pretrained(out)
    load_tokenizer(base_path, config).save_pretrained(out)
    return out


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
