"""GPU memory plan for a training run: a pure estimate, printed before a GPU run, refusing a plan that cannot fit.

Estimates in GiB, deliberately simple and documented (upper bounds for full-length sequences):

- policy weights: parameters x bytes of the training dtype; the KL reference costs nothing extra because with LoRA
  TRL computes it by disabling the adapter on the same weights;
- LoRA: adapter parameters kept in fp32 (PEFT's default), their fp32 gradients, optimizer states (AdamW 8 B per
  parameter, 8-bit AdamW 2 B);
- activations: with gradient checkpointing, each layer's input (B x T x hidden) plus one layer recomputed at a time;
  without it, every layer's activations (the Megatron estimate ~34 x T x B x hidden bytes in 16-bit, flash/SDPA
  attention); plus the logits of the scored tokens (B x T_scored x vocab) and one fp32 row for the log-softmax;
- vLLM colocated: its share of the GPU must hold a copy of the weights plus the KV cache of at least one sequence;
- vLLM server mode (``trl vllm-serve`` on GPUs of its own): nothing of vLLM on the training GPUs; each server GPU's
  share must hold 1/tensor_parallel_size of the weights and of one sequence's KV cache;
- a vLLM judge that ``knowrl judge run`` starts for the GRPO job (``judge.backend: vllm`` without
  ``judge.base_url``) shares the GPU: its ``judge.vllm.gpu_memory_utilization`` is taken off the training budget,
  and with a staged judge folder its share must hold the judge's weights and one ``max_model_len`` sequence;
- extra: other judge / verifier / encoder models placed on the training GPU (``grpo.memory.extra_gb``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

GIB = float(1 << 30)
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ModelShape:
    """What the plan needs to know about a decoder-only transformer."""

    params: float
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int

    @classmethod
    def from_config(cls, cfg: dict, params: float | None = None) -> "ModelShape":
        """From an HF ``config.json`` dict; parameters counted from the shapes when not given."""
        shape = cls(params=0.0, layers=cfg["num_hidden_layers"], hidden=cfg["hidden_size"],
                    intermediate=cfg["intermediate_size"], heads=cfg["num_attention_heads"],
                    kv_heads=cfg.get("num_key_value_heads") or cfg["num_attention_heads"], vocab=cfg["vocab_size"])
        if params is None:
            per_layer = sum(i * o for i, o in (shape.dims(p) for p in PROJECTIONS)) + 2 * shape.hidden
            embeddings = shape.vocab * shape.hidden * (1 if cfg.get("tie_word_embeddings") else 2)
            params = shape.layers * per_layer + embeddings
        return cls(params, shape.layers, shape.hidden, shape.intermediate, shape.heads, shape.kv_heads, shape.vocab)

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def dims(self, module: str) -> tuple[int, int]:
        """(in, out) features of a projection."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        table = {"q_proj": (self.hidden, q), "k_proj": (self.hidden, kv), "v_proj": (self.hidden, kv),
                 "o_proj": (q, self.hidden), "gate_proj": (self.hidden, self.intermediate),
                 "up_proj": (self.hidden, self.intermediate), "down_proj": (self.intermediate, self.hidden)}
        if module not in table:
            raise ValueError(f"unknown LoRA target {module!r} for the memory plan; known: {', '.join(table)}")
        return table[module]

    def lora_params(self, r: int, targets: list[str] | tuple[str, ...]) -> float:
        return float(self.layers * sum(r * sum(self.dims(t)) for t in targets))


@dataclass
class MemoryPlan:
    items: dict[str, float]
    budget_gib: float
    gpu_gib: float
    vllm_gib: float = 0.0
    vllm_need_gib: float = 0.0
    server_gpus: int = 0            # vLLM server mode: GPUs of the server, and per GPU its share and its need
    server_gib: float = 0.0
    server_need_gib: float = 0.0
    judge_gib: float = 0.0          # a managed vLLM judge on the same GPU: its share, and what its model needs
    judge_need_gib: float | None = None
    advice: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_gib(self) -> float:
        return sum(self.items.values())

    @property
    def fits(self) -> bool:
        return self.advice is None

    def render(self) -> str:
        lines = [f"memory plan on a {self.gpu_gib:.1f} GiB GPU (training budget {self.budget_gib:.1f} GiB):"]
        lines += [f"  {name:<28} {gib:8.2f} GiB" for name, gib in self.items.items()]
        lines.append(f"  {'total (training)':<28} {self.total_gib:8.2f} GiB")
        if self.vllm_gib:
            lines.append(f"  {'vLLM share (weights + KV)':<28} {self.vllm_gib:8.2f} GiB (needs >= {self.vllm_need_gib:.2f})")
        if self.judge_gib:
            need = "size unknown" if self.judge_need_gib is None else f"needs >= {self.judge_need_gib:.2f}"
            lines.append(f"  {'vLLM judge share':<28} {self.judge_gib:8.2f} GiB ({need})")
        if self.server_gpus:
            lines.append(f"  {'vLLM server, per GPU':<28} {self.server_gib:8.2f} GiB on each of {self.server_gpus} "
                         f"server GPU(s) (needs >= {self.server_need_gib:.2f})")
        lines += [f"  note: {n}" for n in self.notes]
        lines.append("  verdict: fits" if self.fits else f"  verdict: DOES NOT FIT - {self.advice}")
        return "\n".join(lines)


def plan_memory(shape: ModelShape, *, section: str, weight_bytes: int, lora_r: int, lora_targets: list[str],
                optim: str, micro_batch: int, seq_len: int, scored_len: int, gradient_checkpointing: bool,
                gpu_gib: float, vllm_share: float = 0.0, headroom_gib: float = 2.0,
                extra_gib: float = 0.0, server: tuple[int, float] | None = None,
                judge: tuple[float, float | None] | None = None) -> MemoryPlan:
    """Estimate one run (per training GPU: with several processes each holds this much); ``section`` (sft/grpo)
    names the settings the advice points at; ``server`` = (tensor_parallel_size, gpu_memory_utilization) of a vLLM
    server on GPUs of its own; ``judge`` = (gpu_memory_utilization, GiB its model needs or None) of a vLLM judge
    on this GPU."""
    lora = shape.lora_params(lora_r, lora_targets)
    token_bytes = micro_batch * seq_len * weight_bytes
    if gradient_checkpointing:
        activations = shape.layers * token_bytes * shape.hidden + 17 * token_bytes * shape.hidden
    else:
        activations = shape.layers * 17 * token_bytes * shape.hidden
    items = {
        "policy weights": shape.params * weight_bytes / GIB,
        "LoRA weights + grads (fp32)": lora * 8 / GIB,
        "optimizer states": lora * (2 if "8bit" in optim else 8) / GIB,
        "activations": activations / GIB,
        "logits": (micro_batch * scored_len * shape.vocab * weight_bytes + scored_len * shape.vocab * 4) / GIB,
        "judge/verifier on this GPU": extra_gib,
    }
    vllm_gib = gpu_gib * vllm_share
    judge_gib = gpu_gib * judge[0] if judge else 0.0
    kv_per_seq = 2 * shape.layers * shape.kv_heads * shape.head_dim * seq_len * weight_bytes
    vllm_need = (shape.params * weight_bytes + kv_per_seq) / GIB if vllm_share else 0.0
    plan = MemoryPlan(items=items, budget_gib=gpu_gib - vllm_gib - judge_gib - headroom_gib, gpu_gib=gpu_gib,
                      vllm_gib=vllm_gib, vllm_need_gib=vllm_need, judge_gib=judge_gib,
                      judge_need_gib=judge[1] if judge else None)
    plan.notes.append("KL reference = the same weights with the adapter disabled (no second copy)")
    if server is not None:  # (tensor_parallel_size, gpu_memory_utilization) of a vLLM server on its own GPUs
        tp, utilization = server
        plan.server_gpus, plan.server_gib = tp, gpu_gib * utilization
        plan.server_need_gib = (shape.params * weight_bytes + kv_per_seq) / tp / GIB
    plan.advice = _advice(plan, section, gradient_checkpointing, optim, micro_batch)
    return plan


def _advice(plan: MemoryPlan, section: str, checkpointing: bool, optim: str, micro_batch: int) -> str | None:
    """None when the plan fits, else the one setting most worth changing."""
    if plan.server_gpus and plan.server_gib < plan.server_need_gib:
        return (f"the vLLM server's share per GPU ({plan.server_gib:.1f} GiB) cannot hold its part of the weights "
                f"and one sequence's KV cache; raise {section}.generation.vllm_server.tensor_parallel_size "
                f"(or its gpu_memory_utilization)")
    if plan.judge_need_gib is not None and plan.judge_gib < plan.judge_need_gib:
        return (f"the vLLM judge's share ({plan.judge_gib:.1f} GiB) cannot hold its model and one sequence's KV "
                "cache; raise judge.vllm.gpu_memory_utilization (or serve the judge elsewhere: judge.base_url)")
    if plan.vllm_gib and plan.vllm_gib < plan.vllm_need_gib:
        return (f"vLLM's share ({plan.vllm_gib:.1f} GiB) cannot hold the weights and one sequence's KV cache; "
                f"raise {section}.generation.vllm_gpu_memory_utilization")
    short = plan.total_gib - plan.budget_gib
    if short <= 0:
        return None
    items, need = plan.items, f"{short:.1f} GiB over budget"
    extra = items["judge/verifier on this GPU"]
    fixed_short = short - items["activations"] - items["logits"]   # what remains with no activations at all
    if extra >= min(short, max(fixed_short, 0.0) or short):
        return f"{need}; move the judge/verifier off the training GPU ({section}.memory.extra_gb)"
    if fixed_short > 0:                                              # weights + adapter states alone do not fit
        if "8bit" not in optim and items["optimizer states"] * 0.75 >= fixed_short:
            return f"{need}; set {section}.optim=adamw_bnb_8bit"
        if plan.vllm_gib and plan.vllm_gib - plan.vllm_need_gib >= short:
            return f"{need}; lower {section}.generation.vllm_gpu_memory_utilization"
        if plan.judge_gib and plan.judge_gib - (plan.judge_need_gib or plan.judge_gib) >= short:
            return f"{need}; lower judge.vllm.gpu_memory_utilization"
        if plan.judge_gib >= short:
            return f"{need}; lower judge.vllm.gpu_memory_utilization or serve the judge elsewhere (judge.base_url)"
        return f"{need}; the model does not fit this GPU at this precision (model.policy / {section}.precision)"
    if not checkpointing:
        return f"{need}; set {section}.gradient_checkpointing=true"
    if micro_batch > 1:
        return (f"{need}; lower {section}.per_device_batch_size (raise {section}.gradient_accumulation_steps "
                "to keep the effective batch)")
    length = "max_completion_length" if section == "grpo" else "max_length"
    return f"{need}; lower {section}.{length}"


def plan_for_run(config: dict, section: str, model_dir) -> MemoryPlan:
    """The plan of ``config[section]`` (sft or grpo) for the model in ``model_dir`` on the current (or set) GPU."""
    import json
    from pathlib import Path

    import torch

    settings, memory = config[section], config["grpo"]["memory"]
    shape = ModelShape.from_config(json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8")))
    gpu_gib = memory["gpu_gb"] or torch.cuda.get_device_properties(0).total_memory / GIB
    weight_bytes = 4 if settings["precision"] == "fp32" else 2  # auto plans a GPU run: bf16 / fp16
    if section == "grpo":
        generation = settings["generation"]
        colocate = generation["backend"] == "vllm" and generation["vllm_mode"] == "colocate"
        seq, scored = settings["max_prompt_length"] + settings["max_completion_length"], settings["max_completion_length"]
        vllm_share = generation["vllm_gpu_memory_utilization"] if colocate else 0.0
        served = generation["backend"] == "vllm" and generation["vllm_mode"] == "server"
        server = (generation["vllm_server"]["tensor_parallel_size"],
                  generation["vllm_server"]["gpu_memory_utilization"]) if served else None
    else:
        seq = scored = settings["max_length"]
        vllm_share, server = 0.0, None
    return plan_memory(shape, section=section, weight_bytes=weight_bytes,
                       lora_r=settings["lora"]["r"], lora_targets=settings["lora"]["target_modules"],
                       optim=settings["optim"], micro_batch=settings["per_device_batch_size"], seq_len=seq,
                       scored_len=scored, gradient_checkpointing=settings["gradient_checkpointing"],
                       gpu_gib=gpu_gib, vllm_share=vllm_share, headroom_gib=memory["headroom_gb"],
                       extra_gib=memory["extra_gb"] if section == "grpo" else 0.0, server=server,
                       judge=judge_share(config["judge"]) if section == "grpo" else None)


def judge_share(judge: dict) -> tuple[float, float | None] | None:
    """(GPU share, GiB needed or None) of the vLLM judge ``knowrl judge run`` starts beside the GRPO job; None when
    the judge is no managed vLLM server. The need (16-bit weights + one max_model_len sequence, split over its
    tensor-parallel GPUs) is known when judge.model is a staged folder with a config.json."""
    import json
    from pathlib import Path

    if judge["backend"] != "vllm" or judge.get("base_url"):
        return None
    vllm = judge["vllm"]
    found = Path(str(judge.get("model") or "")) / "config.json"
    if not judge.get("model") or not found.is_file():
        return vllm["gpu_memory_utilization"], None
    shape = ModelShape.from_config(json.loads(found.read_text(encoding="utf-8")))
    kv = 2 * shape.layers * shape.kv_heads * shape.head_dim * vllm["max_model_len"] * 2
    return vllm["gpu_memory_utilization"], (shape.params * 2 + kv) / vllm["tensor_parallel_size"] / GIB


def check_plan(config: dict, section: str, model_dir) -> MemoryPlan | None:
    """Print the plan before a GPU run; refuse (ConfigError naming the setting) when it cannot fit."""
    import logging

    import torch

    from knowrl.errors import ConfigError

    if not torch.cuda.is_available():
        return None
    plan = plan_for_run(config, section, model_dir)
    logging.getLogger(__name__).info("%s", plan.render())
    if not plan.fits and config["grpo"]["memory"]["check"]:
        raise ConfigError(f"memory plan does not fit: {plan.advice} (grpo.memory.check=false to try anyway)")
    return plan
